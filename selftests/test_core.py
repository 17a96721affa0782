"""Host unit tests of kernel/core (built in user space), as pytest cases.

This file builds nothing: the top-level `make` (or `make -C selftests/host`)
builds build/host/ first, as `make test` does. The KTAP unit test binary
test_core runs once and each of its cases (names listed with --list at
collection time) becomes a pytest case, e.g. test_core[s2_huge_pages]; a
missing build is collected as one failing case, test_core[NOT-BUILT].
Plus: the run exits cleanly, the --seed/--layouts options reach the
random-layout test, and a bounded libFuzzer run of the stage-1 walker.
No VM needed. Run with /usr/bin/python3 -m pytest selftests/test_core.py.
"""

import os
import subprocess

import pytest

import ktap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build", "host")
TEST_BIN = os.path.join(BUILD, "test_core")
FUZZ_BIN = os.path.join(BUILD, "fuzz_s1_walk")
FUZZ_CORPUS = os.path.join(BUILD, "fuzz-corpus")  # shared with make -C selftests/host test/fuzz
FUZZ_RUNS = int(os.environ.get("NEST_FUZZ_RUNS", "200000"))

CASES = ktap.list_cases(TEST_BIN)


def require_built(path):
    if not os.access(path, os.X_OK):
        pytest.fail(f"build/host/{os.path.basename(path)} is missing: run make "
                    f"(or make -C selftests/host)")


def run_test_core(*args):
    """Run test_core; its stderr (sanitizer reports) is merged into the KTAP
    output, so a report shows among the diagnostics of its case."""
    return subprocess.run([TEST_BIN, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120)


@pytest.fixture(scope="module")
def ktap_run():
    """(the CompletedProcess, its parsed KTAP) of one run of every case."""
    require_built(TEST_BIN)
    r = run_test_core()
    return r, ktap.parse(r.stdout)


# Not built (or --list failed): one case that fails, so it is never silent.
@pytest.mark.parametrize("case", CASES if CASES is not None else [pytest.param(None, id="NOT-BUILT")])
def test_core(request, case):
    if case is None:
        require_built(TEST_BIN)
        pytest.fail(f"{TEST_BIN} --list failed: run it to see why")
    r, results = request.getfixturevalue("ktap_run")
    ktap.check_case(results, case, "test_core", r.returncode, r.stdout)


def test_run_clean(request):
    """The binary exits 0: no case failed, no sanitizer report at exit."""
    require_built(TEST_BIN)
    r, _ = request.getfixturevalue("ktap_run")
    assert r.returncode == 0, f"test_core exited with status {r.returncode}:\n{r.stdout[-4000:]}"


def test_seed_and_layouts_options():
    """--seed and --layouts reach ref_random_layouts, which prints them."""
    require_built(TEST_BIN)
    r = run_test_core("-t", "ref_random_layouts", "--seed", "7", "--layouts", "50")
    results = ktap.parse(r.stdout)
    ktap.check_case(results, "ref_random_layouts", "test_core", r.returncode, r.stdout)
    assert r.returncode == 0, r.stdout[-4000:]
    assert list(results) == ["ref_random_layouts"], r.stdout[-4000:]
    assert any(line.endswith(": seed 7 layouts 50") for line in results["ref_random_layouts"].diag), \
        f"no seed diagnostic:\n{r.stdout[-4000:]}"


def test_fuzz_s1_walk_bounded():
    require_built(FUZZ_BIN)
    os.makedirs(FUZZ_CORPUS, exist_ok=True)
    # -timeout catches a hanging input; an ASan build of a large input on a
    # loaded machine may take seconds, so it is generous.
    r = subprocess.run([FUZZ_BIN, f"-runs={FUZZ_RUNS}", "-max_len=65600", "-timeout=30",
                        "-seed=1", f"-artifact_prefix={BUILD}/", FUZZ_CORPUS],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-4000:]
    assert f"Done {FUZZ_RUNS} runs" in r.stderr
