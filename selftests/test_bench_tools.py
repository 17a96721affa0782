# SPDX-License-Identifier: GPL-2.0
"""`make bench-compare` and its scripts: bad input gets a clear error.

The measuring itself runs only in `make bench-compare` (figures are never
asserted in tests); here the parts that decide what to build and run.
"""

import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_BASE = os.path.join(ROOT, "tools/bench/build-base.sh")
COMPARE = os.path.join(ROOT, "tools/bench/compare.py")
TRACE_COST = os.path.join(ROOT, "tools/bench/trace_cost.py")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)


def test_bench_compare_without_base_says_so():
    res = run(["make", "-s", "bench-compare", "BASE="])
    assert res.returncode != 0
    assert "set BASE=<git revision>" in res.stderr


def test_build_base_rejects_a_revision_that_is_not_a_commit(tmp_path):
    res = run([BUILD_BASE, "no-such-revision-xyz", str(tmp_path)])
    assert res.returncode == 2
    assert "'no-such-revision-xyz' is not a commit" in res.stderr
    assert os.listdir(tmp_path) == []


def test_build_base_needs_two_arguments():
    res = run([BUILD_BASE, "HEAD"])
    assert res.returncode == 2
    assert "usage: build-base.sh REV OUTDIR" in res.stderr


def test_compare_rejects_bad_options(tmp_path):
    for args in (["host", "--old", "a"],                      # --new missing
                 ["nowhere", "--old", "a", "--new", "b"],     # unknown side
                 ["host", "--old", "a", "--new", "b", "--rounds", "0"],
                 ["guest", "--old", "a", "--new", "b", "--ops", "x"]):
        res = run(["python3", COMPARE] + args)
        assert res.returncode == 2, args
        assert "usage: compare.py" in res.stderr, args


def test_compare_host_names_a_benchmark_that_prints_no_rows(tmp_path):
    fake = tmp_path / "bench_core"
    fake.write_text("#!/bin/sh\necho nothing to see\n")
    fake.chmod(0o755)
    res = run(["python3", COMPARE, "host", "--old", str(fake), "--new", str(fake),
               "--rounds", "1"])
    assert res.returncode == 1
    assert f"no benchmark rows in the output of {fake}" in res.stderr


@pytest.mark.parametrize("args, error", [
    (["--ops", "0"], "--ops and --rounds must be at least 1"),
    (["--rounds", "0"], "--ops and --rounds must be at least 1"),
    (["--rounds", "x"], "argument --rounds: invalid int value: 'x'"),
    (["--modes", "none,iommutopp"], "--modes: unknown mode 'iommutopp'"),
    (["--modes", "iommutop,none"], "--modes: 'none' first"),
    (["--modes", "none,iommutop,iommutop"], "--modes: 'none' first (the ratios are to it), each mode once"),
])
def test_trace_cost_rejects_bad_options(args, error):
    """Refused before anything runs: no module or root needed."""
    res = run(["python3", TRACE_COST, *args])
    assert res.returncode == 2, res.stderr
    assert error in res.stderr
