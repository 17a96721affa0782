# SPDX-License-Identifier: GPL-2.0
"""faultinject's failure sites and sweep.

On the host: every bad sweep invocation (exit 2, one line, CMD never
started) and sweep -h. In one guest (the module loaded, debugfs mounted):
`faultinject list` names the driver's sites; an at=fail-site rule fails
exactly the n-th hit (the call's errno, debugfs fail_sites, the table);
`sweep --at all --unload` over a workload that reaches every site
(hook_test's fail_workload_runs_clean) fails each hit of each site in turn
with no violation and the module unloads; a sweep reports a violation when
CMD leaves a context with pinned pages behind, and a hang when CMD never
ends; iommutop -j, running beside the actions of faultinject, counts each
one's outcome as injected and not as organic.

Run with /usr/bin/python3 -m pytest selftests/test_faultinject_sweep.py.
"""

import functools
import json
import os
import re
import subprocess

import pytest

import conftest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FI = os.path.join(REPO, "build", "tools", "faultinject")
GFI = "build/tools/faultinject"
DEBUGFS = "/sys/kernel/debug/nestiommu"
SWEEP_EXIT_VIOLATION = 3

GUEST_NEEDS = ("build/tools/faultinject", "build/tools/nestload", "build/selftests/maploop",
               "build/selftests/hook_test")
run = functools.partial(conftest.run, timeout=600)
no_kernel_errors = pytest.mark.usefixtures("_no_kernel_errors")


def require(path):
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tools")


# ---- bad usage (host) ---------------------------------------------------------------

BAD_SWEEP = [
    (["sweep"], "sweep: --at SITE or --at all is required"),
    (["sweep", "--at", "pin"], "sweep: give the workload after --"),
    (["sweep", "--at", "pin", "--"], "sweep: give the workload after --"),
    (["sweep", "--at", "nowhere", "--", "CMD"], "sweep: --at: 'nowhere' is not a failure site or all"),
    (["sweep", "--at"], "sweep: option --at needs an argument"),
    (["sweep", "--at", "pin", "--max", "0", "--", "CMD"], "sweep: --max: '0' is not a number of runs from 1"),
    (["sweep", "--at", "pin", "--max", "x", "--", "CMD"], "sweep: --max: 'x' is not a number"),
    (["sweep", "--at", "pin", "--max", "-3", "--", "CMD"], "sweep: --max: '-3' is not a number"),
    (["sweep", "--at", "pin", "--max", "99999999999", "--", "CMD"], "sweep: --max: '99999999999'"),
    (["sweep", "--at", "pin", "--timeout", "0", "--", "CMD"], "sweep: --timeout: '0' is not a number of seconds"),
    (["sweep", "--at", "pin", "--timeout", "soon", "--", "CMD"], "sweep: --timeout: 'soon'"),
    (["sweep", "--at", "pin", "--bogus", "--", "CMD"], "sweep: unknown option --bogus"),
    (["sweep", "--at", "pin", "-x", "--", "CMD"], "sweep: unknown option -x"),
    (["sweep", "--at", "pin", "extra", "--", "CMD"], "sweep: unexpected argument 'extra'"),
]


@pytest.mark.parametrize("args, message", BAD_SWEEP, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_sweep_bad_usage(args, message, tmp_path):
    require(FI)
    marker = tmp_path / "ran"
    args = [str(marker) if a == "CMD" else a for a in args]
    r = subprocess.run([FI, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith("faultinject: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr, r.stderr
    assert r.stdout == "" and not marker.exists()


def test_sweep_help():
    require(FI)
    r = subprocess.run([FI, "sweep", "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.startswith("usage: faultinject sweep --at SITE|all")
    r = subprocess.run([FI, "-h"], capture_output=True, text=True, timeout=30)
    assert "faultinject sweep --at SITE|all" in r.stdout


# ---- in the guest --------------------------------------------------------------------

def fail_sites(guest):
    """debugfs fail_sites: {name: failures injected}, in the driver's order."""
    r = run(guest, f"cat {DEBUGFS}/fail_sites")
    return {name: int(n) for name, n in (line.split() for line in r.output.splitlines())}


@no_kernel_errors
def test_list_names_the_drivers_sites(guest):
    r = run(guest, f"{GFI} list")
    assert r.rc == 0, r.output
    listed = re.findall(r"^  (\w+) +.*ENOMEM", r.output.split("failure sites (site=)")[1], re.M)
    assert listed == list(fail_sites(guest)), r.output
    assert len(listed) == 18


def guest_json(guest, cmd):
    """Run CMD (whose stdout goes to a file) in the guest: (exit status, the
    last stdout line as JSON, the rest of stdout, stderr)."""
    out, err = os.path.join(guest.results_dir, "fs.out"), os.path.join(guest.results_dir, "fs.err")
    r = run(guest, f"{cmd} > {out} 2> {err}; echo rc=$?")
    m = re.search(r"rc=(\d+)", r.output)
    assert m, r.output
    with open(out) as f:
        lines = f.read().splitlines()
    with open(err) as f:
        stderr = f.read()
    assert lines and lines[-1].startswith("{"), f"no JSON; stdout {lines}, stderr {stderr}"
    return int(m.group(1)), json.loads(lines[-1]), lines[:-1], stderr


@no_kernel_errors
def test_fail_site_rule_fails_the_nth_hit(guest):
    """Each MAP allocates one area: the second MAP fails with ENOMEM, once."""
    before = fail_sites(guest)
    rc, table, _, err = guest_json(
        guest, f"{GFI} inject 'at=fail-site site=area nth=2' -j -- build/selftests/maploop -n 5")
    assert rc == 1 and table["status"] == 1, err
    assert re.search(r"maploop: IOAS_MAP #\d+ \(length 0x1000\): Cannot allocate memory", err), err
    rule = table["rules"][0]
    assert (rule["at"], rule["matched"], rule["injected"], rule["marked"]) == ("fail-site", 2, 1, 1), table
    after = fail_sites(guest)
    assert after["area"] == before["area"] + 1
    assert {k: v for k, v in after.items() if k != "area"} == {k: v for k, v in before.items() if k != "area"}
    # Another process's hits are not CMD's: nothing fails, nothing is counted.
    rc, table, _, err = guest_json(
        guest, f"{GFI} inject 'at=fail-site site=area pid=1' -j -- build/selftests/maploop -n 5")
    assert rc == 0 and table["rules"][0]["matched"] == 0, (table, err)
    assert fail_sites(guest) == after


def test_sweep_reports_leftover_pins(guest):
    """CMD leaves a nestload running (a context with pinned pages): every
    invariant of what was left behind fails, and the module is still held."""
    cmd = ("sh -c 'build/tools/nestload -q --duration 3600 --devices 1 --pasids 1 --working-set 4 "
           ">/dev/null 2>&1 & echo $! > /tmp/bg; "
           f"until [ \"$(cat {DEBUGFS}/pinned_pages)\" != 0 ]; do sleep 0.02; done'")
    try:
        rc, res, _, err = guest_json(guest, f"{GFI} sweep --at dirty_bitmap -j -- {cmd}")
    finally:
        run(guest, f"kill $(cat /tmp/bg); while [ \"$(cat {DEBUGFS}/objects)\" != 0 ]; do sleep 0.02; done")
    assert rc == SWEEP_EXIT_VIOLATION, err
    assert res["runs_total"] == 1 and res["violations"] == 1 and not res["module_released"], res
    r = res["runs"][0]
    assert (r["site"], r["n"], r["injected"], r["status"], r["hung"], r["ok"]) == \
        ("dirty_bitmap", 1, 0, 0, False, False), r
    assert r["pinned_pages"][1] > r["pinned_pages"][0] and r["objects"][1] > r["objects"][0], r
    assert r["vmpin_kb"] > 0 and r["page_requests_outstanding"][0] == r["page_requests_outstanding"][1], r
    assert "module is still held" in res["module"], res


@no_kernel_errors
def test_sweep_reports_a_hang(guest):
    """CMD blocks on a FIFO nobody writes: killed at --timeout, reported."""
    cmd = "sh -c 'rm -f /tmp/ff; mkfifo /tmp/ff; cat /tmp/ff'"
    rc, res, _, err = guest_json(guest, f"{GFI} sweep --at dma_bounce --timeout 1 -j -- {cmd}")
    assert rc == SWEEP_EXIT_VIOLATION, err
    r = res["runs"][0]
    assert res["runs_total"] == 1 and res["violations"] == 1 and res["module_released"], res
    assert r["hung"] and r["status"] == 128 + 9 and not r["ok"], r
    # Its process group went with it.
    assert run(guest, "pgrep -x cat || echo none").output.strip() == "none"


def test_sweep_reports_kernel_log_lines(guest):
    """A kernel log line of the console check's list during a run is a
    violation (planted through /dev/kmsg; guest.run, as the console shows it
    too and conftest.run would fail on it)."""
    out = os.path.join(guest.results_dir, "kmsg.out")
    cmd = "sh -c 'echo \"faultinject sweep test: WARNING: planted\" > /dev/kmsg'"
    r = guest.run(f"{GFI} sweep --at dma_bounce -j -- {cmd} > {out}; echo rc=$?", timeout=120)
    assert f"rc={SWEEP_EXIT_VIOLATION}" in r.output, r.output
    with open(out) as f:
        res = json.loads(f.read().splitlines()[-1])
    run0 = res["runs"][0]
    assert res["violations"] == 1 and run0["kmsg_bad"] == 1 and not run0["ok"], res
    assert run0["kmsg_first"] == "faultinject sweep test: WARNING: planted", run0
    assert [e for e in r.kernel_errors if "planted" in e], r.kernel_errors


@no_kernel_errors
def test_sweep_all_sites_clean_and_unload(guest):
    """Every hit of every site failed in turn over a workload that reaches
    them all: each run checks out, every site was failed at least once, and
    the module unloads at the end."""
    cmd = "build/selftests/hook_test -t fail_workload_runs_clean"
    try:
        rc, res, _, err = guest_json(guest, f"{GFI} sweep --at all --timeout 60 --unload -j -- {cmd}")
        gone = run(guest, "test -e /sys/module/nestiommu && echo loaded || echo gone").output.strip()
    finally:
        conftest.load_module(guest)
    bad = [r for r in res["runs"] if not r["ok"]]
    assert rc == 0 and res["violations"] == 0 and not bad, (bad, err)
    assert res["module_released"] and res["module"] == "the module unloaded" and gone == "gone", res
    sites = {}
    for r in res["runs"]:
        sites.setdefault(r["site"], []).append(r)
    assert len(sites) == 18, sorted(sites)
    for site, runs in sites.items():
        # n = 1, 2, ...: each failed its hit once, the last failed nothing.
        assert [r["n"] for r in runs] == list(range(1, len(runs) + 1)), site
        assert [r["injected"] for r in runs] == [1] * (len(runs) - 1) + [0], (site, runs)
        assert len(runs) >= 2, f"{site} was never hit"
        assert runs[-1]["status"] == 0, (site, runs[-1])
        assert all(r["hits"] >= r["n"] for r in runs[:-1]), (site, runs)


# ---- iommutop shows what faultinject does as injected, never as organic -------------

TOP = "build/tools/iommutop"
# One DMA thread, 2 PASIDs: as test_faultinject.py's NL.
NL = ("build/tools/nestload -q --ops 200 --devices 1 --pasids 2 --working-set 16 "
      "--pattern seq --read-pct 0 --seed 1")
NL_PRI = NL + " --fault-pct 50"
DMALOOP_INV = "build/selftests/dmaloop -n 100 -i 1"


# (rule, CMD, faultinject's exit status (CMD's),
#  {where in iommutop's summary: how much the action adds there}). What a
# rule injects shows in iommutop's injected counts, and the organic counts
# of the same kind stay at what the workload does by itself (0 here). The
# timeouts are long enough that only the group a rule drops or leaves
# incomplete times out, however slow a busy host makes the PRI handler.
TOP_ACTIONS = [
    ("at=translate fault=permission stage=2 pasid=2 nth=5", NL, 0,
     {("total", "faults"): 1, ("total", "faults_injected"): 1}),
    ("at=translate page-request every=10 times=3", NL, 0,
     # The fault that makes the device ask is the injected one.
     {("total", "pr_injected"): 3, ("total", "pr_groups"): 3, ("total", "faults_injected"): 3,
      ("total", "faults"): 3}),
    ("at=page-request drop nth=2", NL_PRI + " --pri-timeout-ms 1000", 0,
     {("total", "pr_injected"): 1, ("total", "pr_timeouts"): 1}),
    ("at=page-request clear-last nth=1", NL_PRI + " --pri-timeout-ms 1000", 0,
     {("total", "pr_injected"): 1}),
    ("at=page-response code=invalid nth=4", NL_PRI, 0,
     {("total", "pr_resp_injected"): 1, ("total", "pr_invalid"): 1}),
    ("at=page-response delay=20ms times=2", NL_PRI, 0, {("total", "pr_resp_injected"): 2}),
    ("at=invalidate drop every=10", DMALOOP_INV, 0,
     {("hwpt_total", "inv_injected_drops"): 10, ("hwpt_total", "inv_injected_errors"): 0}),
    ("at=invalidate errno=EIO nth=5", DMALOOP_INV, 1,
     {("hwpt_total", "inv_injected_errors"): 1, ("hwpt_total", "inv_injected_drops"): 0}),
    ("at=map errno=ENOMEM nth=3", "build/selftests/maploop -n 5", 1,
     {("ioas_total", "map_errors"): 1, ("ioas_total", "map_errors_injected"): 1}),
    ("at=fail-site site=area nth=2", "build/selftests/maploop -n 5", 1,
     {("events", "nest_fail_site"): 1, ("ioas_total", "map_errors"): 1,
      ("ioas_total", "map_errors_injected"): 1}),
]


def organic_faults(sample):
    return sum(row["total"]["faults"] for row in sample["faults"] if row["origin"] == "organic")


@no_kernel_errors
def test_iommutop_shows_injected(guest):
    """One iommutop watches every action in turn: after each, the first
    sample read wholly after it ended (the second line written after it)
    shows what the action added, against the sample before."""
    d = guest.results_dir
    top_out, top_err = os.path.join(d, "top.jsonl"), os.path.join(d, "top.err")
    script = [f"{TOP} -b -j -d 0.25 > {top_out} 2> {top_err} & top=$!",
              f"end=$(($(date +%s) + 60)); until grep -q '^{{\"event\":\"attached\"' {top_out} 2>/dev/null; do "
              "kill -0 $top 2>/dev/null && [ $(date +%s) -lt $end ] || break; sleep 0.1; done",
              # The line count once the second line after now is written.
              f"snap() {{ n=$(($(wc -l < {top_out}) + 2)); "
              f"until [ $(wc -l < {top_out}) -ge $n ]; do kill -0 $top || break; sleep 0.05; done; "
              "echo snap=$n; }", "snap"]
    for i, (rule, cmd, _, _) in enumerate(TOP_ACTIONS):
        script.append(f"{GFI} inject '{rule}' -j -- {cmd} > {d}/fi.{i} 2>/dev/null; echo fi_rc=$?; snap")
    script.append("kill -INT $top; wait $top; echo top_rc=$?")
    r = run(guest, "\n".join(script) + "\n")
    assert re.findall(r"fi_rc=(\d+)", r.output) == [str(a[2]) for a in TOP_ACTIONS], r.output
    assert "top_rc=0" in r.output, r.output
    with open(top_out) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    assert lines[0].get("event") == "attached", lines[:1]
    snaps = [lines[int(n) - 1] for n in re.findall(r"snap=(\d+)", r.output)]
    assert len(snaps) == len(TOP_ACTIONS) + 1, r.output
    for i, (rule, cmd, _, shown) in enumerate(TOP_ACTIONS):
        with open(f"{d}/fi.{i}") as f:
            fi = json.loads(f.read().splitlines()[-1])["rules"][0]
        assert fi["injected"] > 0, (rule, fi)
        before, after = snaps[i]["summary"], snaps[i + 1]["summary"]
        got = {k: after[k[0]][k[1]] - before[k[0]][k[1]] for k in shown}
        assert got == shown, (rule, got, fi)
        if cmd == NL:
            # The workload faults by itself nowhere: no fault is organic.
            assert organic_faults(snaps[i + 1]) == organic_faults(snaps[i]), (rule, snaps[i + 1]["faults"])
