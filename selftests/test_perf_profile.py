# SPDX-License-Identifier: GPL-2.0
"""nestiommu-perf profile and nestiommu-hist (tools/perf/).

On the host: every bad usage of both (exit 2, one line; CMD never
started). In one guest (the module loaded): the call-graph profile of a DMA
workload names the driver's DMA path and walker functions and nothing
outside the module; the hist triggers count exactly the DMA calls and page
responses the driver counted, stop leaves tracefs as it was, and the
errors (already started, not started, module not loaded, no tracefs).

Run with /usr/bin/python3 -m pytest selftests/test_perf_profile.py.
"""

import functools
import os
import re
import subprocess

import pytest

import conftest
from test_tracing import readme_recipe

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILE = "tools/perf/nestiommu-profile"
HIST = "tools/perf/nestiommu-hist"

# ---- bad usage (host: both check their arguments first) -------------------------------

PROFILE_BAD = [
    ([], "no command to profile"),
    (["--"], "no command to profile"),
    (["-o"], "option -o needs an argument"),
    (["-o", "", "--", "true"], "option -o needs a file name"),
    (["--top"], "option --top needs an argument"),
    (["--top", "0", "--", "true"], "--top: '0' is not a number from 1 to 1000"),
    (["--top", "x", "--", "true"], "--top: 'x' is not a number from 1 to 1000"),
    (["--top", "1001", "--", "true"], "--top: '1001' is not a number from 1 to 1000"),
    (["--bogus", "--", "true"], "unknown option --bogus"),
    (["-o", "/nonexistent/p.data", "--", "true"], "-o /nonexistent/p.data: no directory /nonexistent"),
    (["-x", "true"], "unknown option -x"),
]


@pytest.mark.parametrize("args, message", PROFILE_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_profile_bad_usage(args, message, tmp_path):
    marker = tmp_path / "ran"
    # A CMD that would leave a mark: it must never start.
    args = [a if a != "true" else "touch" for a in args]
    if "touch" in args:
        args.append(str(marker))
    r = subprocess.run([os.path.join(REPO, PROFILE), *args], capture_output=True, text=True,
                       timeout=30, cwd=tmp_path)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith("nestiommu-perf profile: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr, r.stderr
    assert r.stdout == "" and not marker.exists() and os.listdir(tmp_path) == []


HIST_BAD = [
    ([], "usage: nestiommu-hist start|show|stop"),
    (["bogus"], "nestiommu-hist: unknown subcommand 'bogus'"),
    (["start", "now"], "nestiommu-hist: unexpected argument 'now'"),
    (["--now"], "nestiommu-hist: unknown option --now"),
]


@pytest.mark.parametrize("args, message", HIST_BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_hist_bad_usage(args, message):
    r = subprocess.run([os.path.join(REPO, HIST), *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_help():
    r = subprocess.run([os.path.join(REPO, PROFILE), "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("usage: nestiommu-perf profile [-o FILE] [--top N] -- CMD")
    for opt in ("--output FILE", "--top N", "perf_event_paranoid", "kptr_restrict"):
        assert opt in r.stdout
    r = subprocess.run([os.path.join(REPO, HIST), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("usage: nestiommu-hist start|show|stop")
    for word in ("nest_dma_latency", "nest_pr_latency", "Exit status"):
        assert word in r.stdout


# ---- in the guest -----------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("_no_kernel_errors")
GUEST_NEEDS = ("build/tools/nestload", "build/selftests/dmaloop")
run = functools.partial(conftest.run, timeout=300)

WALKER = ("nest_xlate_walk", "s1_walk_once", "nest_s1_walk")
NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups"


def module_functions(guest):
    path = os.path.join(guest.results_dir, "kallsyms")
    r = run(guest, f"grep '\\[nestiommu\\]' /proc/kallsyms > {path}")
    assert r.rc == 0, r.output
    with open(path) as f:
        return {line.split()[2] for line in f if line.split()[1] in "tT"}


def parse_profile(text):
    """(total, in driver, in DMA path, [(children, self, function)], {outside
    function: self}) from the tool's output."""
    lines = text.splitlines()
    m = re.fullmatch(r"(\d+) samples of CMD: (\d+) \(([\d.]+)%\) in nestiommu, "
                     r"(\d+) \(([\d.]+)%\) in its DMA path \(nest_dma_ioctl\)", lines[0])
    assert m, lines[:3]
    assert lines[1].split() == ["children", "self", "function", "(nestiommu", "only,", "%", "of",
                                "all", "samples)"]
    assert lines[-1].startswith("DMA path outside nestiommu (self): "), lines[-1]
    outside = {f: float(v) for f, v in (re.fullmatch(r"(\S+) ([\d.]+)%", w).groups()
                                        for w in lines[-1].split(": ", 1)[1].split(", "))}
    rows = [re.fullmatch(r" *([\d.]+)% +([\d.]+)%  (\S+)", line) for line in lines[2:-1]]
    assert rows and all(rows), lines
    return (int(m[1]), int(m[2]), int(m[4]),
            [(float(r[1]), float(r[2]), r[3]) for r in rows], outside)


def test_profile_readme_recipe(guest):
    """The README's profile of nestload: the driver's functions only, the
    DMA path and the walker among them, children in order."""
    r = run(guest, readme_recipe("profile-dma"))
    assert r.rc == 0, r.output
    total, in_driver, in_dma, rows, outside = parse_profile(r.output)
    assert 0 < in_dma <= in_driver <= total
    assert len(rows) == 10
    funcs = [f for _, _, f in rows]
    mine = module_functions(guest)
    assert set(funcs) <= mine, set(funcs) - mine
    assert outside and not set(outside) & mine, outside
    assert "nest_dma_ioctl" in funcs and "nest_xlate_begin" in funcs, funcs
    assert set(WALKER) & set(funcs), funcs
    children = [c for c, _, _ in rows]
    assert children == sorted(children, reverse=True)
    assert all(s <= c for c, s, _ in rows)
    # The DMA entry point's children are the DMA-path samples.
    dma = {f: c for c, _, f in rows}["nest_dma_ioctl"]
    assert abs(dma - 100.0 * in_dma / total) < 0.01
    assert sum(outside.values()) <= dma


def test_profile_status_and_unwritable_file(guest):
    """CMD's exit status is the tool's."""
    out = os.path.join(guest.results_dir, "profile.out")
    r = run(guest, f"{PROFILE} -o /tmp/status.data -- sh -c 'build/selftests/dmaloop -n 200 > /dev/null; "
            f"exit 3' > {out}; echo rc=$?")
    assert "rc=3" in r.output, r.output
    with open(out) as f:
        assert re.match(r"\d+ samples of CMD: ", f.read())
    # A file in the read-only repository: refused before CMD starts.
    r = run(guest, f"{PROFILE} -o README.md -- touch /tmp/ran; echo rc=$?; ls /tmp/ran")
    assert r.output.splitlines()[:2] == ["nestiommu-perf profile: -o README.md: cannot write in .", "rc=2"], r.output
    assert "No such file" in r.output, r.output


def tracefs_state(guest, name):
    """Every synthetic event and every trigger and enable file of the
    nestiommu and synthetic events, as text."""
    path = os.path.join(guest.results_dir, name)
    r = run(guest, "T=/sys/kernel/tracing; grep -H '' $T/synthetic_events $T/events/nestiommu/*/trigger "
            f"$T/events/nestiommu/*/enable $T/events/synthetic/*/trigger $T/events/synthetic/*/enable "
            f"> {path} 2> /dev/null; test -s {path}")
    assert r.rc == 0, r.output
    with open(path) as f:
        return f.read()


def hist_totals(text, event):
    """(hits, [(dev_id, pasid, log2 bucket, hitcount)]) of EVENT's histogram in show's output."""
    part = text.split(f"# {event}: ", 1)[1].split("\nTotals:", 1)
    rows = [tuple(int(v) for v in m) for m in
            re.findall(r"^\{ dev_id: +(\d+), pasid: +(\d+), lat_ns: ~ 2\^(\d+) +\} hitcount: +(\d+)$",
                       part[0], re.M)]
    return int(re.search(r"Hits: (\d+)", part[1])[1]), rows


def test_hist_readme_recipe(guest):
    """The README's recipe: the histograms count exactly nestload's DMA
    calls and the driver's page request groups, in order; stop leaves
    tracefs as it was."""
    before = tracefs_state(guest, "before")
    r = run(guest, readme_recipe("hist-latency"))
    assert r.rc == 0, r.output
    kv = dict(re.findall(r"^([a-z_.]+)=(\d+)$", r.output, re.M))
    assert int(kv["dma_ops"]) == 1000 and int(kv["driver.pri_groups"]) > 0, kv
    for event, want in (("nest_dma_latency", 1000), ("nest_pr_latency", int(kv["driver.pri_groups"]))):
        hits, rows = hist_totals(r.output, event)
        assert hits == want == sum(n for *_, n in rows), (event, hits, want)
        assert {(d, p) for d, p, _, _ in rows} == {(rows[0][0], 1), (rows[0][0], 2)}, rows
        assert rows == sorted(rows), rows
    assert "Dropped: 0" in r.output
    assert tracefs_state(guest, "after") == before


def test_hist_errors(guest):
    h = HIST
    r = run(guest, f"{h} start; {h} start; echo rc=$?; {h} stop; {h} stop; echo rc=$?; "
            f"{h} show; echo rc=$?; {NOBODY} {h} start; echo rc=$?; "
            f"unshare -m sh -c 'umount /sys/kernel/tracing && umount /sys/kernel/debug && {h} start'; "
            f"echo rc=$?; rmmod nestiommu && {{ {h} start; echo rc=$?; {PROFILE} -o /tmp/x -- true; "
            f"echo rc=$?; insmod {conftest.MODULE}; }}; {NOBODY} {PROFILE} -o /tmp/x -- true; echo rc=$?")
    assert r.output.splitlines()[1:] == [
        "nestiommu-hist: already started (nestiommu-hist stop removes it)", "rc=1",
        "nestiommu-hist: not started: nothing to stop", "rc=1",
        "nestiommu-hist: not started: nestiommu-hist start", "rc=1",
        "nestiommu-hist: cannot read /sys/kernel/tracing: run as root", "rc=1",
        "nestiommu-hist: no tracefs at /sys/kernel/tracing: mount -t tracefs nodev /sys/kernel/tracing", "rc=1",
        "nestiommu-hist: module not loaded (no nestiommu events in /sys/kernel/tracing): "
        "run modprobe nestiommu", "rc=1",
        "nestiommu-perf profile: module not loaded: run modprobe nestiommu", "rc=1",
        "nestiommu-perf profile: kernel.perf_event_paranoid is 3: kernel samples need root or a value <= 1",
        "rc=1"], r.output
