"""Host unit tests of kernel/core (built in user space), as pytest cases.

Builds selftests/host with make, runs the KTAP unit test binary once and
turns each KTAP case into a pytest case (names collected with --list at
collection time), plus one case for the bounded libFuzzer run of the
stage-1 walker. No VM needed. Run with /usr/bin/python3 -m pytest.
"""

import os
import re
import subprocess

import pytest

SELFTESTS = os.path.dirname(os.path.abspath(__file__))
HOST = os.path.join(SELFTESTS, "host")
BUILD = os.path.join(os.path.dirname(SELFTESTS), "build", "host")
TEST_BIN = os.path.join(BUILD, "test_core")
FUZZ_BIN = os.path.join(BUILD, "fuzz_s1_walk")
FUZZ_RUNS = int(os.environ.get("NEST_FUZZ_RUNS", "200000"))


def _make(*targets):
    return subprocess.run(["make", "-C", HOST, f"O={BUILD}", *targets],
                          capture_output=True, text=True)


def _list_cases():
    """Build and list the KTAP case names; [] (one failing case) on error."""
    r = _make("all")
    if r.returncode != 0:
        return None, r.stdout + r.stderr
    r = subprocess.run([TEST_BIN, "--list"], capture_output=True, text=True)
    return r.stdout.split(), r.stderr


CASES, BUILD_LOG = _list_cases()


def parse_ktap(text):
    """{name: (ok, [diag lines])} from one flat KTAP run."""
    results, diags = {}, []
    for line in text.splitlines():
        if line.startswith("#"):
            diags.append(line)
            continue
        m = re.match(r"(not )?ok \d+ (\S+)", line)
        if m:
            results[m.group(2)] = (m.group(1) is None, diags)
            diags = []
    return results, diags


@pytest.fixture(scope="module")
def ktap_run():
    r = subprocess.run([TEST_BIN], capture_output=True, text=True,
                       timeout=120)
    results, trailing = parse_ktap(r.stdout)
    return results, r, trailing


def test_build():
    assert CASES is not None, f"build failed:\n{BUILD_LOG}"


@pytest.mark.parametrize("case", CASES or [])
def test_core(ktap_run, case):
    results, proc, trailing = ktap_run
    if case not in results:
        pytest.fail(f"{case}: no KTAP result (exit {proc.returncode})\n"
                    f"{''.join(trailing)}\n{proc.stderr[-4000:]}")
    ok, diags = results[case]
    assert ok, "\n".join(diags) + "\n" + proc.stderr[-4000:]


def test_run_clean(ktap_run):
    """The binary exits 0 (no sanitizer report after the last case)."""
    _, proc, _ = ktap_run
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_fuzz_s1_walk_bounded(tmp_path):
    assert CASES is not None, f"build failed:\n{BUILD_LOG}"
    r = subprocess.run([FUZZ_BIN, f"-runs={FUZZ_RUNS}", "-max_len=65600",
                        "-timeout=5", "-seed=1", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-4000:]
    assert f"Done {FUZZ_RUNS} runs" in r.stderr
