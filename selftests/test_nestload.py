"""nestload tests: the workload generator's own counts against the driver's.

nestload (tools/nestload, built by `make -C tools/nestload` into
build/tools/nestload) prints what it did and, next to it, the driver's
GET_STATS of its objects. These tests run it in one guest booted for this
module and check that the two agree exactly where they must, that the
tracepoints see the same counts (perf stat), that --duration and SIGINT end
a run cleanly, and, on the host (the parser runs before the device is
opened), that every bad option is refused with exit status 2 and a message
naming it.

Run with /usr/bin/python3 -m pytest -v selftests/test_nestload.py.
"""

import json
import os
import re
import subprocess

import pytest

from conftest import run

# The guest fixture (conftest.py) loads the module; this fails a test during
# which the guest console showed kernel errors.
pytestmark = pytest.mark.usefixtures("_no_kernel_errors")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESTLOAD_REL = "build/tools/nestload"  # the guest's cwd is the repo root
NESTLOAD = os.path.join(REPO, NESTLOAD_REL)

# nestload's guest RAM is small by default (a few MiB); 2G leaves room for
# the larger workloads a user may try from the same fixture.
GUEST_MEM = "2G"  # for conftest.py's guest fixture
GUEST_NEEDS = (NESTLOAD_REL,)


def require_nestload():
    if not os.access(NESTLOAD, os.X_OK):
        pytest.fail(f"{NESTLOAD} is not built: run make -C tools/nestload")


# ---- parsing the summary ------------------------------------------------------


def flatten(obj, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}: the JSON summary as text keys."""
    out = {}
    for k, v in obj.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def parse_text(output):
    """The key=value summary lines of OUTPUT, in order, values as numbers
    where they are numbers."""
    summary = {}
    for line in output.splitlines():
        m = re.fullmatch(r"([a-z0-9_.]+)=(\S+)", line)
        if not m:
            continue
        key, val = m.groups()
        assert key not in summary, f"key {key} printed twice:\n{output}"
        if re.fullmatch(r"\d+", val):
            val = int(val)
        elif re.fullmatch(r"\d+\.\d+", val):
            val = float(val)
        summary[key] = val
    return summary


def parse_json(output):
    """The JSON summary line of OUTPUT, flattened."""
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert len(lines) == 1, f"expected one JSON line:\n{output}"
    return flatten(json.loads(lines[0]))


def nestload(guest, args, timeout=120, json_out=True):
    """Run nestload ARGS (quiet) in the guest; return its summary."""
    fmt = " --json" if json_out else ""
    r = run(guest, f"{NESTLOAD_REL} -q{fmt} {args}", timeout=timeout)
    assert r.rc == 0, f"nestload {args} failed (rc {r.rc}):\n{r.output}"
    return parse_json(r.output) if json_out else parse_text(r.output)


def check_counts(s):
    """What must hold after any run nobody injected faults into."""
    msg = "\n".join(f"{k}={v}" for k, v in s.items())
    # Every DMA nestload issued is one the driver counted, and every byte.
    assert s["dma_ops"] == s["driver.dma_ops"], msg
    assert s["dma_bytes"] == s["driver.dma_bytes"], msg
    assert s["dma_ops"] == s["dma_reads"] + s["dma_writes"], msg
    # No DMA stopped at a fault: every page request was answered SUCCESS.
    assert s["dma_faults"] == 0 and s["recoveries"] == 0, msg
    assert s["dma_bytes"] == s["dma_ops"] * s["config.dma_size"], msg
    # The handler answered every group and page the devices sent.
    assert s["pri.groups"] == s["driver.pri_groups"], msg
    assert s["pri.pages"] == s["driver.pri_page_requests"], msg
    assert s["pri.success"] == s["driver.pri_success"] == s["pri.groups"], msg
    assert s["driver.pri_outstanding"] == 0 and s["driver.pri_auto_invalid"] == 0, msg
    assert s["pri.pages"] == s["pri.pages_mapped"] + s["pri.pages_present"], msg
    assert s["pri.pages_refused"] == 0 and s["pri.fault_records"] == 0, msg
    assert s["driver.queue_queued"] == s["pri.pages"] and s["driver.queue_dropped"] == 0, msg
    # Each fault the driver counted became a page request group.
    assert s["driver.faults"] == s["driver.faults_s1"] == s["driver.pri_groups"], msg
    # Every invalidation entry names the IOTLB; every map and unmap counts.
    assert s["inv_entries"] == s["driver.inv_iotlb"], msg
    assert s["maps"] == s["driver.map_ops"], msg
    assert s["unmaps"] == s["driver.unmapped_areas"], msg
    # Churn areas are unmapped again at the end: only the guest RAM is left.
    assert s["maps"] == s["unmaps"] + 1 and s["driver.mappings"] == 1, msg
    # Without ATS every translation is an IOTLB hit or miss.
    if not s["config.ats"]:
        assert s["driver.translations"] == s["driver.iotlb_hits"] + s["driver.iotlb_misses"], msg


# ---- (a) nestload's counts against the driver's -------------------------------

# (id, options, threads, wide): fixed --ops workloads with page requests;
# wide: every refault invalidates with one PASID-wide entry.
WORKLOADS = [
    ("random-2threads",
     "--ops 3000 --devices 2 --pasids 2 --threads 2 --fault-pct 20 --dma-size 6000"
     " --s1-change-every 50 --churn-every 100 --audit --recover", 2, False),
    ("seq-ats-multipage",
     "--ops 2000 --devices 3 --pasids 2 --threads 3 --pattern seq --read-pct 30"
     " --fault-pct 40 --dma-size 20000 --working-set 32 --ats --iotlb-entries 16"
     " --refault-every 25 --s1-change-every 30 --audit", 3, False),
    # Hundreds of scattered fault pages per refault: more runs than one
    # HWPT_INVALIDATE lists, so each refault sends one PASID-wide entry.
    ("wide-refault",
     "--ops 4000 --devices 1 --pasids 1 --working-set 1024 --fault-pct 50"
     " --refault-every 1000 --s1-change-every 500 --audit", 1, True),
]


@pytest.mark.parametrize("args, threads, wide", [w[1:] for w in WORKLOADS],
                         ids=[w[0] for w in WORKLOADS])
def test_counts_match_driver_stats(guest, args, threads, wide):
    s = nestload(guest, args)
    check_counts(s)
    msg = "\n".join(f"{k}={v}" for k, v in s.items())
    ops = s["config.ops"]
    assert s["dma_ops"] == ops, msg
    # The fault pages made page requests, and the handler mapped them.
    assert s["pri.groups"] > 0 and s["pri.pages_mapped"] > 0, msg
    assert s["refaults"] > 0 and s["refault_pages"] > 0, msg
    # Periodic actions count each thread's own DMA ops.
    per_thread = [ops // threads + (t < ops % threads) for t in range(threads)]
    every = s["config.s1_change_every"]
    assert s["s1_changes"] == sum(n // every for n in per_thread), msg
    if s["config.churn_every"]:
        events = [n // s["config.churn_every"] for n in per_thread]
        # Map on odd events, unmap on even ones, unmap at the end if mapped.
        assert s["maps"] == 1 + sum((e + 1) // 2 for e in events), msg
    # A stage-1 change invalidates one page; a refault at least one entry.
    assert s["invalidations"] == s["s1_changes"] + s["refaults"], msg
    assert s["inv_entries"] >= s["invalidations"], msg
    if wide:
        assert s["inv_entries"] == s["invalidations"], msg
    # nestload invalidates everything it changes: the auditor finds nothing.
    assert s["config.audit"] == 1 and s["driver.stale_translations"] == 0, msg
    if s["config.ats"]:
        assert s["driver.inv_dev_iotlb"] == s["inv_entries"], msg
        assert s["config.iotlb_entries"] == 16, msg


def test_same_seed_same_counts_text_and_json(guest):
    # One thread: every count is a function of the options and the seed, so
    # the text run and the JSON run agree on all but the timings.
    args = "--ops 1500 --fault-pct 15 --s1-change-every 40 --churn-every 70 --seed 7"
    text = nestload(guest, args, json_out=False)
    js = nestload(guest, args)
    assert list(text) == list(js), "text and JSON keys differ (or their order)"
    timing = {"elapsed_s", "ops_per_s", "mb_per_s"}
    diff = {k: (text[k], js[k]) for k in text if k not in timing and text[k] != js[k]}
    assert not diff, f"same seed, different counts: {diff}"
    check_counts(js)
    other = nestload(guest, args.replace("--seed 7", "--seed 8"))
    assert other["dma_reads"] != js["dma_reads"] or other["pri.pages"] != js["pri.pages"], \
        "another seed gave the same run"


# ---- (b) the tracepoints see what nestload counted ----------------------------


def test_perf_counts_match_nestload(guest):
    events = ("nest_dma", "nest_page_request", "nest_invalidate", "nest_map")
    args = ("--ops 2000 --devices 2 --pasids 3 --threads 2 --fault-pct 25 --dma-size 9000"
            " --s1-change-every 40 --churn-every 90")
    perf = " ".join(f"-e nestiommu:{e}" for e in events)
    r = run(guest, f"perf stat -x, {perf} -- {NESTLOAD_REL} -q {args}")
    assert r.rc == 0, f"perf stat or nestload failed (rc {r.rc}):\n{r.output}"
    counts = {m.group(2): int(m.group(1)) for m in
              re.finditer(r"^(\d+),[^,]*,nestiommu:(\w+)", r.output, re.M)}
    s = parse_text(r.output)
    check_counts(s)
    assert s["pri.pages"] > 0 and s["invalidations"] > 0 and s["maps"] > 1, r.output
    expected = {
        "nest_dma": s["dma_ops"],
        "nest_page_request": s["pri.pages"],  # one event per page of a group
        "nest_invalidate": s["inv_entries"],  # one event per entry
        "nest_map": s["maps"],
    }
    assert counts == expected, f"perf stat {counts}, nestload {expected}:\n{r.output}"


# ---- (c) --duration and signals ------------------------------------------------


def test_duration_ends_and_reports(guest):
    duration = 1.5
    # The guest command's timeout is what "it must finish" means.
    s = nestload(guest, f"--duration {duration} --threads 2 --fault-pct 10 --churn-every 200",
                 timeout=90)
    check_counts(s)
    assert s["config.ops"] == 0 and s["config.duration_s"] == duration
    assert s["elapsed_s"] >= duration, s
    assert s["interrupted"] == 0 and s["dma_ops"] > 0, s


def test_sigint_stops_cleanly(guest):
    # A run of an hour, interrupted after a second: it stops after the DMAs
    # in flight, prints its summary and the counts still agree.
    script = (f"{NESTLOAD_REL} -q --duration 3600 --threads 2 --fault-pct 30 > /tmp/nl.out & "
              "p=$!; sleep 1; kill -INT $p; wait $p; echo rc=$?; cat /tmp/nl.out")
    r = run(guest, script, timeout=90)
    assert "rc=0" in r.output.splitlines(), r.output
    s = parse_text(r.output)
    check_counts(s)
    assert s["interrupted"] == 1 and s["dma_ops"] > 0, r.output
    assert s["elapsed_s"] < 3600, r.output


# ---- (e) --recover: what a VMM must do after a FAILURE response ---------------

FAULTINJECT_REL = "build/tools/faultinject"
# One PRI device, PASIDs 1 and 2; half of the pages start not present and go
# missing again every 16 DMAs, so page requests keep coming.
RECOVER_MIX = ("--ops 2000 --devices 1 --pasids 2 --fault-pct 50 --working-set 16"
               " --pattern seq --read-pct 0")
RECOVER_RULE = "at=page-response code=failure pasid=2 nth=3"


def test_recover_resets_device_after_failure(guest):
    """The device gets FAILURE for one group (faultinject) although the
    handler answered SUCCESS: its PRI is off. Without --recover, every later
    not-present page stops its DMA; with it, nestload resets the device once
    and page requests flow again."""
    got = {}
    for rec in ("", "--recover"):
        r = run(guest, f"{FAULTINJECT_REL} inject '{RECOVER_RULE}' -- "
                       f"{NESTLOAD_REL} -q --json {RECOVER_MIX} {rec}", timeout=180)
        assert r.rc == 0, r.output
        got[rec] = parse_json(r.output)
    off, on = got[""], got["--recover"]
    for s in (off, on):
        msg = "\n".join(f"{k}={v}" for k, v in s.items())
        assert s["driver.pri_failure"] == 1 and s["pri.failure"] == 0, msg
        # The handler answered SUCCESS for the group the device got FAILURE for.
        assert s["pri.success"] == s["driver.pri_success"] + 1, msg
    assert off["config.recover"] == 0 and off["recoveries"] == 0, off
    assert off["dma_faults"] > 100 and off["driver.faults"] > off["driver.pri_groups"], off
    # Only the DMA whose group got FAILURE stopped; every later fault asked.
    assert on["config.recover"] == 1 and on["recoveries"] == 1, on
    assert on["dma_faults"] == 1 and on["driver.faults"] == on["driver.pri_groups"], on


# ---- (d) bad options (on the host: no device needed) ---------------------------

BAD_OPTIONS = [
    # every numeric option malformed and out of range
    (["--devices", "0"], "--devices: '0' is not in 1..256"),
    (["--devices", "257"], "--devices: '257' is not in 1..256"),
    (["--devices", "2x"], "--devices: '2x' is not a number"),
    (["--pasids", "0"], "--pasids: '0' is not in 1..1024"),
    (["--pasids", "-1"], "--pasids: '-1' is not a number"),
    (["--pasids", " 3"], "--pasids: ' 3' is not a number"),
    (["--ops", "0"], "--ops: '0' is not in 1..1000000000000"),
    (["--ops", "1e3"], "--ops: '1e3' is not a number"),
    (["--ops", "99999999999999999999999"], "--ops: '99999999999999999999999' is not in"),
    (["--ops", "0x"], "--ops: '0x' is not a number"),
    (["--ops", ""], "--ops: '' is not a number"),
    (["--duration", "0"], "--duration: '0' is not in 0.001..86400"),
    (["--duration", "86401"], "--duration: '86401' is not in 0.001..86400"),
    (["--duration", "1.5s"], "--duration: '1.5s' is not a number of seconds"),
    (["--duration", ".5"], "--duration: '.5' is not a number of seconds"),
    (["--threads", "0"], "--threads: '0' is not in 1..64"),
    (["--threads", "65"], "--threads: '65' is not in 1..64"),
    (["--threads", "two"], "--threads: 'two' is not a number"),
    (["--pattern", "stride"], "--pattern: 'stride' is not seq or random"),
    (["--read-pct", "101"], "--read-pct: '101' is not in 0..100"),
    (["--read-pct", "50%"], "--read-pct: '50%' is not a number"),
    (["--working-set", "0"], "--working-set: '0' is not in 1..262144"),
    (["--working-set", "262145"], "--working-set: '262145' is not in 1..262144"),
    (["--working-set", "1k"], "--working-set: '1k' is not a number"),
    (["--dma-size", "0"], "--dma-size: '0' is not in 1..1048576"),
    (["--dma-size", "1048577"], "--dma-size: '1048577' is not in 1..1048576"),
    (["--dma-size", "4K"], "--dma-size: '4K' is not a number"),
    (["--iotlb-entries", "100"], "--iotlb-entries: '100' is not a power of two in 16..65536"),
    (["--iotlb-entries", "8"], "--iotlb-entries: '8' is not a power of two in 16..65536"),
    (["--iotlb-entries", "131072"], "--iotlb-entries: '131072' is not a power of two"),
    (["--iotlb-entries", "x"], "--iotlb-entries: 'x' is not a number"),
    (["--ats", "--devtlb-entries", "2"], "--devtlb-entries: '2' is not a power of two in 4..4096"),
    (["--ats", "--devtlb-entries", "6"], "--devtlb-entries: '6' is not a power of two"),
    (["--fault-pct", "101"], "--fault-pct: '101' is not in 0..100"),
    (["--fault-pct", "ten"], "--fault-pct: 'ten' is not a number"),
    (["--fault-pct", "5", "--refault-every", "-2"], "--refault-every: '-2' is not a number"),
    (["--s1-change-every", "1000000000001"], "--s1-change-every: '1000000000001' is not in 0..1000000000000"),
    (["--s1-change-every", "1.5"], "--s1-change-every: '1.5' is not a number"),
    (["--churn-every", "abc"], "--churn-every: 'abc' is not a number"),
    (["--churn-every", "1000000000001"], "--churn-every: '1000000000001' is not in"),
    (["--pri-timeout-ms", "3600001"], "--pri-timeout-ms: '3600001' is not in 0..3600000"),
    (["--pri-timeout-ms", "1s"], "--pri-timeout-ms: '1s' is not a number"),
    (["--seed", "18446744073709551616"], "--seed: '18446744073709551616' is not in 0..18446744073709551615"),
    (["--seed", "0x1g"], "--seed: '0x1g' is not a number"),
    # conflicts
    (["--ops", "5", "--duration", "1"], "--ops and --duration cannot be used together"),
    (["--devices", "8", "--pasids", "1024"], "--pasids: 8 devices x 1024 PASIDs is more than 4096"),
    (["--threads", "5"], "--threads: '5' is more than the 4 (device, PASID) pairs"),
    (["--working-set", "1", "--dma-size", "4097"], "--dma-size: '4097' is more than the working set"),
    (["--devtlb-entries", "64"], "--devtlb-entries: needs --ats"),
    (["--refault-every", "10"], "--refault-every: needs --fault-pct above 0"),
    (["--fault-pct", "100", "--s1-change-every", "5"],
     "--s1-change-every: --fault-pct 100 leaves no present page"),
    (["--devices", "16", "--pasids", "16", "--working-set", "65536"],
     "--working-set: 16 devices x 16 PASIDs x 65536 pages need"),
    # option syntax
    (["--ops"], "--ops: needs an argument"),
    (["--json=yes"], "--json: takes no value"),
    (["--recover=1"], "--recover: takes no value"),
    (["--frobnicate"], "unknown or ambiguous option '--frobnicate'"),
    (["--d", "3"], "unknown or ambiguous option '--d'"),
    (["-x"], "unknown option '-x'"),
    (["stray"], "unexpected argument 'stray'"),
]


@pytest.mark.parametrize("args, message", BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_bad_option(args, message):
    require_nestload()
    r = subprocess.run([NESTLOAD, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    first = r.stderr.splitlines()[0] if r.stderr else ""
    assert first.startswith("nestload: ") and message in first, r.stderr
    assert r.stdout == ""  # nothing ran, nothing was printed


def test_help():
    require_nestload()
    r = subprocess.run([NESTLOAD, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.startswith("usage: nestload")
    # Every long option is documented.
    for opt in ("--devices", "--pasids", "--ops", "--duration", "--threads", "--pattern",
                "--read-pct", "--working-set", "--dma-size", "--iotlb-entries", "--ats",
                "--devtlb-entries", "--fault-pct", "--refault-every", "--s1-change-every",
                "--churn-every", "--pri-timeout-ms", "--audit", "--seed", "--quiet", "--json"):
        assert opt in r.stdout, f"{opt} missing from --help"
