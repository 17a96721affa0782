"""How make test spreads the suite over pytest-xdist workers (conftest.py):
a test module whole, each C selftest binary of test_driver.py apart, the
longest units first."""

import collections
import os
import re
import subprocess

import pytest

from conftest import REPO, guest_scope, next_scope


@pytest.mark.parametrize("nodeid, scope", [
    ("selftests/test_iommutop.py::test_help", "selftests/test_iommutop.py"),
    ("selftests/test_iommutop.py::test_bad_usage[-x-unknown option]", "selftests/test_iommutop.py"),
    ("selftests/test_driver.py::test_selftest[hwpt_test:pri.pasid.unknown_and_duplicate_cookies_einval]",
     "selftests/test_driver.py::hwpt_test"),
    ("selftests/test_driver.py::test_selftest[ioas_test:ioas.map_overlap_eexist-rt]",
     "selftests/test_driver.py::ioas_test"),
    ("selftests/test_driver.py::test_selftest[hook_test:NOT-BUILT]", "selftests/test_driver.py::hook_test"),
    ("selftests/test_driver.py::test_perf_counts_maps", "selftests/test_driver.py"),
    ("selftests/test_driver.py::test_perf_counts_maps[6.12]", "selftests/test_driver.py"),
    ("test_driver.py::test_selftest[res_test:memlock_user_forked_children]", "test_driver.py::res_test"),
])
def test_guest_scope(nodeid, scope):
    assert guest_scope(nodeid) == scope


def test_next_scope_hands_out_the_longest_first():
    scopes = ["selftests/test_core.py", "selftests/test_driver.py::hwpt_test", "selftests/test_driver.py",
              "selftests/test_vm_runner.py"]
    order = []
    while scopes:
        order.append(next_scope(scopes))
        scopes.remove(order[-1])
    assert order == ["selftests/test_vm_runner.py", "selftests/test_driver.py::hwpt_test",
                     "selftests/test_core.py", "selftests/test_driver.py"]


def test_workers_take_a_module_whole():
    """Two workers, two host-only modules: each module's tests all run on
    one worker, and both workers are used."""
    tests = [os.path.join("selftests", f) for f in ("test_kernels.py", "test_bench_tools.py")]
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-v", "-p", "no:cacheprovider", "-n", "2",
                        *tests, "-k", "refuse or rejects or krel or base"],
                       capture_output=True, text=True, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "scheduling tests via GuestScopeScheduling" in r.stdout, r.stdout[-4000:]
    workers = collections.defaultdict(set)
    for worker, path in re.findall(r"^\[(gw\d+)\] \[ *\d+%\] PASSED (selftests/test_\w+\.py)::", r.stdout, re.M):
        workers[path].add(worker)
    assert set(workers) == set(tests), r.stdout[-4000:]
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
    assert len(set.union(*workers.values())) == 2, dict(workers)
