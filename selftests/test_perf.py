"""perf-based latency profiling: the start/end tracepoints and nestiommu-perf.

In one guest with the module loaded: for a fixed nestload mix, `perf stat`
counts every *_start event equal to its end event and both equal to what
nestload and the driver counted (DMA calls, HWPT_INVALIDATE batches,
IOAS_MAP and IOAS_UNMAP calls, page-table walks, page request records
read by the handler), and the walk pair fires only where the caches
missed.

Run with /usr/bin/python3 -m pytest -v selftests/test_perf.py.
"""

import json
import re

import pytest

from conftest import run

# The guest fixture (conftest.py) loads the module; this fails a test during
# which the guest console showed kernel errors.
pytestmark = pytest.mark.usefixtures("_no_kernel_errors")

NESTLOAD = "build/tools/nestload"  # the guest's cwd is the repo root
GUEST_MEM = "2G"  # for conftest.py's guest fixture
GUEST_NEEDS = (NESTLOAD,)

# Two PRI devices x two PASIDs on two threads: IOTLB hits and misses, page
# requests, stage-1 changes with invalidations, map/unmap churn.
MIX = ("--ops 800 --devices 2 --pasids 2 --threads 2 --fault-pct 25"
       " --s1-change-every 40 --churn-every 50 --seed 3")


def nestload_json(output):
    """nestload's --json summary: the one line of OUTPUT that is an object."""
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert len(lines) == 1, f"expected one JSON line:\n{output}"
    return json.loads(lines[0])


def perf_stat_counts(output):
    """[(event, count)] of `perf stat -x,` OUTPUT, in the order of its -e
    options (an event counted twice, with and without a filter, twice)."""
    return [(m.group(2), int(m.group(1))) for m in
            re.finditer(r"^(\d+),[^,]*,nestiommu:(\w+)", output, re.M)]


def test_perf_stat_pairs_match_nestload(guest):
    events = ["nest_dma_start", "nest_dma", "nest_invalidate_start", "nest_invalidate_end",
              "nest_invalidate", "nest_map_start", "nest_map_end", "nest_unmap_start",
              "nest_unmap_end", "nest_walk_start", "nest_walk_end", "nest_fault",
              "nest_page_request", "nest_page_request_read"]
    opts = " ".join(f"-e nestiommu:{e}" for e in events)
    # Last: the translations a walk made (source 0, NESTIOMMU_XLATE_WALK).
    opts += " -e nestiommu:nest_translate --filter 'source == 0'"
    r = run(guest, f"perf stat -x, {opts} -- {NESTLOAD} -q --json {MIX}")
    assert r.rc == 0, f"perf stat or nestload failed (rc {r.rc}):\n{r.output}"
    got = perf_stat_counts(r.output)
    assert [e for e, _ in got] == events + ["nest_translate"], r.output
    c = dict(got[:-1])
    walked = got[-1][1]
    load = nestload_json(r.output)
    drv, pri = load["driver"], load["pri"]
    assert load["dma_ops"] == 800 and load["invalidations"] > 0 and load["unmaps"] > 0
    assert pri["pages"] > 0 and drv["faults"] > 0 and drv["iotlb_hits"] > 0, load

    assert c["nest_dma_start"] == c["nest_dma"] == load["dma_ops"] == drv["dma_ops"]
    # One HWPT_INVALIDATE per nestload invalidation, one nest_invalidate per entry.
    assert c["nest_invalidate_start"] == c["nest_invalidate_end"] == load["invalidations"]
    assert c["nest_invalidate"] == load["inv_entries"]
    assert c["nest_map_start"] == c["nest_map_end"] == load["maps"] == drv["map_ops"]
    assert c["nest_unmap_start"] == c["nest_unmap_end"] == load["unmaps"] == drv["unmapped_areas"]
    # A walk for each miss of both caches, whether it translated or faulted
    # (no fault is injected here, and every PASID has its HWPT).
    assert c["nest_walk_start"] == c["nest_walk_end"] == drv["walks"] == walked + c["nest_fault"]
    assert drv["walks"] == drv["translations"] - drv["iotlb_hits"] - drv["devtlb_hits"]
    # Every page request record reached the handler.
    assert c["nest_page_request_read"] == c["nest_page_request"] == pri["pages"]
