"""`make demo`'s script (tools/demo/demo.sh) in a guest: it runs to the end,
iommutop shows the faults faultinject injects apart from the organic ones,
and faultinject's table, nestload's counts and the driver's statistics
agree on how many there were."""

import re

import pytest

import conftest
from conftest import repo_guest


@pytest.fixture(scope="module")
def guest(guest_kernel_dir):
    with repo_guest(guest_kernel_dir) as g:
        yield g


def summary(output):
    return {k: int(v) for k, v in re.findall(r"^([a-z_.]+)=(\d+)$", output, re.M)}


def test_demo_shows_injected_faults_apart(guest):
    r = guest.run(f"NEST_MODULE={conftest.MODULE} tools/demo/demo.sh", timeout=600)
    assert r.rc == 0, r.output
    assert not r.kernel_errors, r.kernel_errors
    rule = re.search(r"^1\s+(\d+)\s+(\d+)\s+(\d+)\s+at=translate pasid=3 ", r.output, re.M)
    assert rule, r.output
    matched, injected, marked = map(int, rule.groups())
    s = summary(r.output)
    assert injected > 0 and matched >= injected * 400, r.output
    assert injected == marked == s["dma_faults"] == s["driver.injected_faults"], r.output
    # iommutop's fault rows: PASID 3's injected PERMISSION faults apart,
    # and no organic fault of that reason anywhere.
    rows = re.findall(r"^\s*\d+\s+(\d+)\s+\d+\s+1\s+(\w+)\s+(injected|organic)\s", r.output, re.M)
    assert ("3", "permission", "injected") in rows, r.output
    assert all(not (reason == "permission" and origin == "organic") for _, reason, origin in rows), r.output
    assert all(pasid == "3" for pasid, _, origin in rows if origin == "injected"), r.output
    assert "pages still pinned by nestiommu: 0" in r.output, r.output
