# SPDX-License-Identifier: GPL-2.0
"""The ioctl fuzzer (build/selftests/ioctl_fuzz, selftests/fuzz/).

On the host: every bad option gets one line and exit status 2, -h the
usage. In one guest, for each of SEEDS, a bounded run through
selftests/fuzz/fuzz_check.sh (the module loaded before and unloaded after
each seed): the run ends normally, every ioctl was called (so the fuzzer
cannot silently test nothing), the fuzzer's VmPin is 0 once it has closed
everything, the module's debugfs counters (pinned_pages, objects,
page_requests_outstanding) are back to 0, the module unloads, and the
console shows no kernel error.

Run with /usr/bin/python3 -m pytest selftests/test_fuzz.py.
`make fuzz-ioctl SECONDS=... SEED=...` runs it longer.
"""

import os
import re
import subprocess

import pytest

import conftest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(REPO, "build", "selftests", "ioctl_fuzz")

# Four seeds of 20 s each: about two minutes of guest time in all.
SEEDS = [1, 2, 3, 4]
SECONDS = 20
THREADS = 4

IOCTLS = ["DESTROY", "IOAS_ALLOC", "IOAS_MAP", "IOAS_UNMAP", "IOAS_IOVA_RANGES",
          "GET_STATS", "OPTION", "IOAS_COPY", "HWPT_ALLOC", "HWPT_INVALIDATE",
          "HWPT_SET_DIRTY_TRACKING", "HWPT_GET_DIRTY_BITMAP", "DEVICE_CREATE",
          "DEVICE_ATTACH", "DEVICE_DETACH", "GET_HW_INFO", "DMA", "TRANSLATE",
          "FAULT_QUEUE_ALLOC", "DEVICE_RESET"]
OTHER_OPS = ["open", "close", "dup", "fork", "read", "write", "munmap", "mremap",
             "madvise", "mprotect", "s1_write"]

GUEST_NEEDS = ["build/selftests/ioctl_fuzz"]
GUEST_LOAD_MODULE = False  # fuzz_check.sh loads and unloads it for each seed


def require_fuzzer():
    if not os.access(FUZZ, os.X_OK):
        pytest.fail(f"{FUZZ} is not built: run make")


# ---- bad usage (host: options are checked before the device is opened) -----

BAD_USAGE = [
    (["--seed", "x"], "--seed: 'x' is not a number"),
    (["--seed", "-1"], "--seed: '-1' is not a number"),
    (["--seed", ""], "--seed: '' is not a number"),
    (["--seconds", "0"], "--seconds: '0' is not a number of seconds from 1 to 604800"),
    (["--seconds", "1s"], "--seconds: '1s' is not a number of seconds"),
    (["--seconds", "604801"], "--seconds: '604801' is not a number of seconds"),
    (["--ops", "0"], "--ops: '0' is not a positive number"),
    (["--ops", "1e3"], "--ops: '1e3' is not a positive number"),
    (["--threads", "0"], "--threads: '0' is not a number from 1 to 32"),
    (["--threads", "33"], "--threads: '33' is not a number from 1 to 32"),
    (["--threads"], "option --threads needs an argument"),
    (["-x"], "unknown option -x"),
    (["--bogus"], "unknown option --bogus"),
    (["extra"], "unexpected argument 'extra'"),
]


@pytest.mark.parametrize("args, message", BAD_USAGE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_usage(args, message):
    require_fuzzer()
    r = subprocess.run([FUZZ, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith(f"ioctl_fuzz: {message}"), r.stderr
    assert r.stderr.endswith(" (ioctl_fuzz -h for help)\n") and r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""


def test_help():
    require_fuzzer()
    r = subprocess.run([FUZZ, "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("usage: ioctl_fuzz ")
    for opt in ("--seed", "--seconds", "--ops", "--threads", "-v"):
        assert f"  {opt} " in r.stdout, r.stdout


# ---- runs in the guest --------------------------------------------------------


def parse_summary(out):
    """The fuzzer's summary and fuzz_check.sh's checks:
    (totals, {name: (kind, calls, {result: count})}, {check: value})."""
    first = re.search(r"^seed=\d+ .*$", out, re.M)
    totals = dict(re.findall(r"(\w+)=(\S+)", first.group(0))) if first else {}
    ops = {}
    for kind, name, calls, results in re.findall(r"^(ioctl|op) +(\w+) +(\d+)  (.*)$", out, re.M):
        ops[name] = (kind, int(calls), {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", results)})
    checks = dict(re.findall(r"\b(vmpin_kb|pinned_pages|objects|page_requests_outstanding|rmmod)=(\S+)", out))
    return totals, ops, checks


@pytest.mark.parametrize("seed", SEEDS)
def test_fuzz_seed(guest, seed):
    cmd = f"NEST_MODULE={conftest.MODULE} selftests/fuzz/fuzz_check.sh --seed {seed} --seconds {SECONDS} --threads {THREADS}"
    r = conftest.run(guest, cmd, timeout=SECONDS + 240)
    totals, ops, checks = parse_summary(r.output)
    tail = r.output[-6000:]
    assert totals.get("seed") == str(seed), f"no summary:\n{tail}"
    assert r.rc == 0, f"`{cmd}` failed (rc {r.rc}):\n{tail}"
    missing = [n for n in IOCTLS + OTHER_OPS if ops.get(n, (None, 0))[1] == 0]
    assert not missing, f"never called: {missing}\n{tail}"
    for name in IOCTLS:
        assert ops[name][0] == "ioctl" and "POSITIVE" not in ops[name][2], f"{name}: {ops[name]}"
    # every result is counted once: ok plus the errnos make the calls
    for name, (kind, calls, results) in ops.items():
        assert sum(results.values()) == calls, f"{name}: {calls} != {results}"
    assert int(totals["calls"]) == sum(c for _, c, _ in ops.values())
    assert checks.get("vmpin_kb") == "0", f"the fuzzer's VmPin after closing everything:\n{tail}"
    for counter in ("pinned_pages", "objects", "page_requests_outstanding"):
        assert checks.get(counter) == "0", f"debugfs {counter} after the run:\n{tail}"
    assert checks.get("rmmod") == "ok", f"the module did not unload:\n{tail}"
