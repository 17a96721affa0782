# SPDX-License-Identifier: GPL-2.0
"""faultinject record and replay.

build/tools/faultinject_recording_test (KTAP, ASan + UBSan; each case is
a pytest case): every kind of event written and read back, the lost line
rewritten in place, hand-written lines, and every malformed recording
named in a one-line error.

build/tools/faultinject on the host: every bad option and recording
(exit 2, one line, CMD never started, an existing -o file untouched). In
one guest (the module loaded): a nestload mix with faults, page requests
and responses of every code recorded and replayed with every event
reproduced; invalidation drops, a MAP failure and a crafted fail-site hit
replayed; a scenario crafted by hand replayed as written; a line deleted
makes --strict fail at the first divergence; the same --seed gives the
same recorded stream and another seed another; a system-wide record
ended by SIGINT; a one-page ring overflowing for certain (record
stopped), its losses counted exactly and the recording refused; the
preflight errors.

Run with /usr/bin/python3 -m pytest selftests/test_faultinject_replay.py.
"""

import difflib
import functools
import json
import os
import re
import subprocess

import pytest

import conftest
import ktap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REC_TEST = os.path.join(REPO, "build", "tools", "faultinject_recording_test")
FI = os.path.join(REPO, "build", "tools", "faultinject")

REC_CASES = ktap.list_cases(REC_TEST)


@pytest.fixture(scope="module")
def rec_run():
    """One run of every recording case: (CompletedProcess, parsed KTAP)."""
    return ktap.run_host(REC_TEST)


@pytest.mark.parametrize("case", REC_CASES if REC_CASES is not None
                         else [pytest.param(None, id="NOT-BUILT")])
def test_recording_format(rec_run, case):
    if case is None:
        pytest.fail(f"{REC_TEST} is missing or its --list failed: run make tools")
    r, results = rec_run
    ktap.check_case(results, case, "faultinject_recording_test", r.returncode, r.stdout)


def test_recording_format_run_clean(rec_run):
    r, _ = rec_run
    assert r.returncode == 0, r.stdout[-4000:]


# ---- bad usage and bad recordings: exit 2, one line, nothing started -------------

HEADER = "version 1\nkernel 6.1.0-test\nmodule btf-0123\n"
GOOD = HEADER + "lost 0\nfault dev=1 pasid=0 pos=3 reason=permission stage=2 origin=injected\nend\n"

BAD_RECORDINGS = [
    # (file text, the error after "FILE:")
    (GOOD[:-4], "6: truncated: no 'end' line"),
    (GOOD[:-20], "5: truncated: the last line has no newline"),
    ("version 2\n" + GOOD[10:], "1: unsupported version '2' (this faultinject reads 1)"),
    ("kernel 6.1\n", "1: missing header: 'version 1' must come first"),
    (GOOD.replace("fault ", "faults "), "5: unknown event 'faults' (fault, page-request, "
     "page-response, invalidate, map, fail-site)"),
    (GOOD.replace("pos=3", "pos=3 when=now"), "5: unknown key 'when' for fault"),
    (GOOD.replace("stage=2", "stage=9"), "5: bad value in 'stage=9'"),
    (GOOD.replace("reason=permission", "reason=sunspots"), "5: bad value in 'reason=sunspots'"),
    (GOOD.replace("pos=3 ", ""), "5: fault without pos="),
]


@pytest.mark.parametrize("text, message", BAD_RECORDINGS, ids=[m for _, m in BAD_RECORDINGS])
def test_bad_recording(text, message, tmp_path):
    rec, marker = tmp_path / "rec", tmp_path / "ran"
    rec.write_text(text)
    r = subprocess.run([FI, "replay", str(rec), "--", "touch", str(marker)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"faultinject: replay: {rec}:{message} (faultinject -h for help)\n"
    assert r.stdout == "" and not marker.exists()


def test_recording_with_losses_is_refused(tmp_path):
    rec, marker = tmp_path / "rec", tmp_path / "ran"
    rec.write_text(GOOD.replace("lost 0", "lost 7                  "))
    r = subprocess.run([FI, "replay", str(rec), "--", "touch", str(marker)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stderr == (
        f"faultinject: replay: {rec} lost 7 events while recording: it cannot be replayed exactly "
        "(--allow-loss replays it anyway) (faultinject -h for help)\n"), r.stderr
    assert not marker.exists()
    # --allow-loss goes on: to the preflight checks, which the host fails.
    r = subprocess.run([FI, "replay", "--allow-loss", str(rec), "--", "touch", str(marker)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 2, r.stderr


BAD_USAGE = [
    (["record"], "record: no output (give -o FILE)"),
    (["record", "-o"], "record: option -o needs an argument"),
    (["record", "-o", "/nonexistent/dir/rec"], "record: cannot write /nonexistent/dir/rec: No such file or directory"),
    (["record", "-o", "OUT", "stray"], "record: unexpected argument 'stray' (CMD goes after --)"),
    (["record", "-o", "OUT", "--strict"], "record: unknown option --strict"),
    (["record", "-o", "OUT", "--duration", "0"], "--duration: '0' is not a number of seconds above 0"),
    (["record", "-o", "OUT", "--duration", "1", "--", "true"], "record: --duration applies only without -- CMD"),
    (["record", "-o", "OUT", "--"], "record: nothing after --: give CMD"),
    (["record", "-o", "OUT", "--ring-size"], "record: option --ring-size needs an argument"),
    (["replay", "a", "--ring-size"], "replay: option --ring-size needs an argument"),
]
NOT_A_SIZE = "is not a size (bytes, or with K or M: 64K, 4M)"
NOT_IN_RANGE = "is not a power of two from 4K (a page) to 256M"
BAD_USAGE += [(["record", "-o", "OUT", "--ring-size", v], f"record: --ring-size: '{v}' {why}") for v, why in (
    ("", NOT_A_SIZE), ("big", NOT_A_SIZE), ("-4096", NOT_A_SIZE), ("4k", NOT_A_SIZE), ("4KB", NOT_A_SIZE),
    ("4G", NOT_A_SIZE), ("0x1000", NOT_A_SIZE), ("1.5M", NOT_A_SIZE), ("0", NOT_IN_RANGE),
    ("2048", NOT_IN_RANGE), ("2K", NOT_IN_RANGE), ("4097", NOT_IN_RANGE), ("12K", NOT_IN_RANGE),
    ("512M", NOT_IN_RANGE), ("99999999999999999999K", NOT_IN_RANGE))]
BAD_USAGE += [
    (["replay", "a", "--ring-size", "3M"], f"replay: --ring-size: '3M' {NOT_IN_RANGE}"),
    (["replay"], "replay: no recording (give FILE)"),
    (["replay", "a", "b"], "replay: unexpected argument 'b' (one FILE; CMD goes after --)"),
    (["replay", "a", "--duration", "1"], "replay: unknown option --duration"),
    (["replay", "a", "-x"], "replay: unknown option -x"),
    (["replay", "/nonexistent/rec"], "replay: /nonexistent/rec: No such file or directory"),
]


@pytest.mark.parametrize("args, message", BAD_USAGE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_usage(args, message, tmp_path):
    marker = tmp_path / "ran"
    out = tmp_path / "out"
    args = [str(out) if a == "OUT" else a for a in args]
    if "--" not in args:
        args = args + ["--", "touch", str(marker)]
    r = subprocess.run([FI, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith("faultinject: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr, r.stderr
    assert r.stdout == "" and not marker.exists()


def test_failed_record_loses_nothing(tmp_path):
    """A record that fails before recording (here: no module on the host)
    leaves an existing -o file as it was, and creates none."""
    out, new = tmp_path / "rec", tmp_path / "new"
    out.write_text(GOOD)
    for path in (out, new):
        r = subprocess.run([FI, "record", "-o", str(path), "--", "true"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and r.stderr.startswith("faultinject: "), r.stderr
    assert out.read_text() == GOOD and not new.exists()


def test_help():
    r = subprocess.run([FI, "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for words in ("faultinject record -o FILE [--ring-size SIZE]",
                  "faultinject replay FILE [--strict] [--allow-loss] [--ring-size SIZE]",
                  "--output FILE", "--strict", "--allow-loss", "--ring-size SIZE"):
        assert words in r.stdout


# ---- in a guest ----------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("_no_kernel_errors")
GUEST_NEEDS = ("build/tools/faultinject", "build/tools/nestload", "build/selftests/dmaloop",
               "build/selftests/maploop")
run = functools.partial(conftest.run, timeout=300)

GFI = "build/tools/faultinject"
# One DMA thread, 2 PASIDs, the same IOVAs every run, half the pages not
# present (page requests answered SUCCESS): the same events in the same order.
# The timeout answers only the group a rule drops: long enough that no
# answer of a handler slowed down by a busy host comes after it.
NL_NO_PRI = ("build/tools/nestload -q --ops 200 --devices 1 --pasids 2 --working-set 16 "
             "--pattern seq --read-pct 0 --seed 1")
NL = NL_NO_PRI + " --fault-pct 50"
NL_PRI = NL + " --pri-timeout-ms 1000"
# Every code, a timeout, a delay, a forced page request and forced faults.
MIX_RULES = ["at=page-response code=invalid nth=4", "at=translate fault=permission stage=2 pasid=2 nth=5",
             "at=page-request drop nth=7", "at=page-response delay=20ms nth=9",
             "at=translate page-request nth=20", "at=page-response code=failure pasid=1 nth=30"]
DRIVER_KEYS = ("driver.injected_faults", "driver.faults", "driver.faults_s2", "driver.pri_groups",
               "driver.pri_success", "driver.pri_invalid", "driver.pri_failure", "driver.pri_timeouts")


def quoted(words):
    return " ".join(f"'{w}'" for w in words)


def kv_of(path):
    kv = {}
    with open(path) as f:
        for line in f:
            for word in line.split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    kv[k] = v
    return kv


def events(path):
    """The event lines of a recording."""
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("# faultinject recording") and lines[1] == "version 1", lines[:5]
    assert lines[-1] == "end", lines[-3:]
    return [ln for ln in lines if ln.split(" ", 1)[0] in
            ("fault", "page-request", "page-response", "invalidate", "map", "fail-site")]


def last_json(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines and lines[-1].startswith("{"), lines
    return json.loads(lines[-1])


def rcs(output):
    return [int(x) for x in re.findall(r"rc=(\d+)", output)]


@pytest.fixture(scope="module")
def mix(guest):
    """The nestload mix recorded (inject's rules during the run) and replayed:
    paths of the recording, both nestload outputs and replay's JSON."""
    d = guest.results_dir
    p = {k: os.path.join(d, f"mix.{k}") for k in ("rec", "nl1", "nl2", "rep", "err1", "err2")}
    r = run(guest,
            f"{GFI} record -o {p['rec']} -- {GFI} inject {quoted(MIX_RULES)} -- {NL_PRI} "
            f"> {p['nl1']} 2> {p['err1']}; echo rc=$?; "
            f"{GFI} replay {p['rec']} --strict -j -- {NL_PRI} > {p['nl2']} 2> {p['err2']}; echo rc=$?; "
            f"cat /sys/module/nestiommu/srcversion 2>/dev/null || echo no-srcversion")
    return p, rcs(r.output), r.output


def test_record_replay_reproduces_every_event(mix):
    p, rc, out = mix
    assert rc == [0, 0], (out, open(p["err1"]).read(), open(p["err2"]).read())
    ev = events(p["rec"])
    text = "\n".join(ev)
    # The mix has what it should: every code, a timeout, a delay, forced and organic.
    for want in ("code=success by=user", "code=invalid by=user", "code=failure by=user",
                 "code=invalid by=timeout", "inj=delayed", "inj=dropped", "inj=forced", "inj=code",
                 "reason=permission stage=2", "origin=organic", "origin=injected"):
        assert want in text, f"{want} not recorded:\n{text}"
    with open(p["rec"]) as f:
        head = f.read().splitlines()[:5]
    assert head[2].startswith("kernel 6.1") and head[3].startswith("module ") and head[4].split() == ["lost", "0"]
    rep = last_json(p["nl2"])
    assert rep == {"file": p["rec"], "status": 0, "recorded": len(ev), "reproduced": len(ev),
                   "diverged": 0, "unexpected": 0, "first_divergence": None}, rep
    # The driver counted the same injected outcomes in both runs.
    kv1, kv2 = kv_of(p["nl1"]), kv_of(p["nl2"])
    assert int(kv1["driver.pri_failure"]) == 1 and int(kv1["driver.pri_timeouts"]) == 1
    for k in DRIVER_KEYS:
        assert kv1[k] == kv2[k], (k, kv1[k], kv2[k])


def test_record_summary(mix):
    p, _, _ = mix
    # record's own summary goes to stdout after nestload's lines
    lines = open(p["nl1"]).read().splitlines()
    n = len(events(p["rec"]))
    assert any(ln.startswith(f"recorded {n} events to {p['rec']} (fault ") and ln.endswith(", 0 lost")
               for ln in lines), lines[-3:]


def edit(src, dst, fn):
    with open(src) as f:
        lines = f.read().splitlines()
    with open(dst, "w") as f:
        f.write("\n".join(fn(lines)) + "\n")


def test_deleted_line_replays_as_edited_and_strict_fails(guest, mix):
    """Deleting the dropped page request: its group is answered by the VMM,
    not by the timeout, and --strict stops at that response."""
    p, _, _ = mix
    d = guest.results_dir
    edited, out, err = (os.path.join(d, f"deleted.{k}") for k in ("rec", "out", "err"))
    with open(p["rec"]) as f:
        lines = f.read().splitlines()
    drop = next(i for i, ln in enumerate(lines) if "inj=dropped" in ln)
    ident = " ".join(lines[drop].split()[1:4])   # dev= pasid= hwpt=
    dev_pasid = " ".join(lines[drop].split()[1:3])
    pos = lines[drop].split()[4]
    resp = next(i for i, ln in enumerate(lines) if ln.startswith(f"page-response {dev_pasid} {pos} "))
    assert "by=timeout" in lines[resp], (ident, lines[resp])
    edit(p["rec"], edited, lambda ls: ls[:drop] + ls[drop + 1:])
    r = run(guest, f"{GFI} replay {edited} --strict -- {NL_PRI} > {out} 2> {err}; echo rc=$?")
    assert rcs(r.output) == [3], (r.output, open(err).read())
    kv = kv_of(out)
    assert kv["driver.pri_timeouts"] == "0"
    text = open(out).read()
    # The response's line number in the edited file: one less than before.
    m = re.search(rf"^first divergence: {re.escape(edited)}:{resp}: expected '(.*)', observed '(.*)'$",
                  text, re.M)
    assert m, text
    assert "by=timeout" in m.group(1) and "by=user" in m.group(2), m.groups()


def test_crafted_scenario_replays_as_written(guest):
    """QA writes a recording by hand: a stage-2 fault at the 5th translation
    of PASID 2 and a FAILURE answer to the 2nd page request of PASID 1."""
    d = guest.results_dir
    rec, out, err = (os.path.join(d, f"crafted.{k}") for k in ("rec", "out", "err"))
    with open(rec, "w") as f:
        f.write("# crafted by hand\nversion 1\nkernel any\nmodule any\nlost 0\n"
                "fault dev=4 pasid=2 pos=5 reason=permission stage=2 origin=injected\n"
                "page-response dev=4 pasid=1 pos=2 code=failure by=user inj=code\n"
                "end\n")
    r = run(guest, f"{GFI} replay {rec} -j -- {NL_PRI} > {out} 2> {err}; echo rc=$?")
    assert rcs(r.output) == [0], (r.output, open(err).read())
    rep = last_json(out)
    assert rep["recorded"] == 2 and rep["reproduced"] == 2 and rep["diverged"] == 0, rep
    assert rep["unexpected"] > 0   # the organic events nobody wrote down
    kv = kv_of(out)
    assert (kv["driver.injected_faults"], kv["driver.faults_s2"], kv["driver.pri_failure"],
            kv["driver.pri_invalid"]) == ("1", "1", "1", "0"), kv


def test_invalidate_map_fail_site_replayed(guest):
    d = guest.results_dir
    p = {k: os.path.join(d, f"other.{k}") for k in ("inv", "map", "site", "o1", "o2", "o3", "o4", "o5")}
    with open(p["site"], "w") as f:
        # The first MAP's area allocation, by the name faultinject list prints.
        f.write("version 1\nkernel any\nmodule any\nlost 0\nfail-site site=area pos=1 errno=ENOMEM\nend\n")
    r = run(guest,
            f"{GFI} record -o {p['inv']} -- {GFI} inject 'at=invalidate drop every=10' "
            f"'at=invalidate errno=EIO nth=95' -- build/selftests/dmaloop -n 100 -i 1 > {p['o1']} 2>&1; "
            f"echo rc=$?; "
            f"{GFI} replay {p['inv']} --strict -j -- build/selftests/dmaloop -n 100 -i 1 > {p['o2']} 2>&1; "
            f"echo rc=$?; "
            f"{GFI} record -o {p['map']} -- {GFI} inject 'at=map errno=ENOMEM nth=3' -- "
            f"build/selftests/maploop -n 5 > {p['o3']} 2>&1; echo rc=$?; "
            f"{GFI} replay {p['map']} --strict -j -- build/selftests/maploop -n 5 > {p['o4']} 2>&1; "
            f"echo rc=$?; "
            f"{GFI} replay {p['site']} -j -- build/selftests/maploop -n 1 > {p['o5']} 2>&1; echo rc=$?")
    assert rcs(r.output) == [1, 1, 1, 1, 1], r.output
    inv = events(p["inv"])
    assert len(inv) == 10 and sum("drop=1" in ln for ln in inv) == 9 and \
        sum("errno=EIO" in ln for ln in inv) == 1, inv
    rep = last_json(p["o2"])
    assert (rep["status"], rep["recorded"], rep["reproduced"], rep["first_divergence"]) == (1, 10, 10, None), rep
    mp = events(p["map"])
    assert len(mp) == 1 and re.fullmatch(r"map ioas=\d+ pos=3 iova=0x[0-9a-f]+ length=0x[0-9a-f]+ "
                                         r"errno=ENOMEM origin=injected", mp[0]), mp
    rep = last_json(p["o4"])
    assert (rep["status"], rep["recorded"], rep["reproduced"], rep["first_divergence"]) == (1, 1, 1, None), rep
    rep = last_json(p["o5"])
    assert (rep["status"], rep["recorded"], rep["reproduced"], rep["diverged"]) == (1, 1, 1, 0), rep


def test_same_seed_same_stream(guest):
    """prob= by seed: two recordings with --seed 7 are the same stream of
    events (cookies and latencies aside), --seed 8 another."""
    d = guest.results_dir
    recs = [os.path.join(d, f"seed{i}.rec") for i in range(3)]
    cmds = "; ".join(
        f"{GFI} record -o {rec} -- {GFI} inject 'at=translate fault=pte-fetch stage=1 prob=0.3' "
        f"'at=page-response code=invalid prob=0.3' --seed {seed} -- {NL} > /dev/null; echo rc=$?"
        for rec, seed in zip(recs, (7, 7, 8)))
    r = run(guest, cmds)
    assert rcs(r.output) == [0, 0, 0], r.output

    def stream(path):
        return [" ".join(w for w in ln.split() if not w.startswith(("cookie=", "latency=", "delay=")))
                for ln in events(path)]
    a, b, c = (stream(x) for x in recs)
    assert sum("origin=injected" in ln for ln in a) > 5 and sum("inj=code" in ln for ln in a) > 5, a
    assert a == b, "\n".join(difflib.unified_diff(a, b, lineterm=""))
    assert a != c


def test_errors_module_btf_privilege(guest):
    nobtf = os.path.join(guest.results_dir, "nestiommu-nobtf.ko")
    subprocess.run(["objcopy", "--remove-section=.BTF", os.path.join(REPO, conftest.MODULE), nobtf],
                   check=True)
    cmd = f"{GFI} record -o /tmp/r.rec -- touch /tmp/ran"
    good = os.path.join(guest.results_dir, "good.rec")
    with open(good, "w") as f:
        f.write(GOOD)
    rep = f"{GFI} replay {good} -- touch /tmp/ran"
    r = run(guest, f"rm -f /tmp/ran /tmp/r.rec; rmmod nestiommu && {cmd}; echo rc=$?; {rep}; echo rc=$?; "
                   f"insmod {nobtf} && {cmd}; echo rc=$?; rmmod nestiommu; "
                   f"insmod {conftest.MODULE} && setpriv --reuid 65534 --regid 65534 --clear-groups "
                   f"--inh-caps=-all {cmd}; echo rc=$?; test -e /tmp/ran && echo ran; "
                   "test -e /tmp/r.rec && echo left")
    lines = r.output.splitlines()
    not_loaded = ("faultinject: nestiommu module not loaded: run insmod kernel/nestiommu.ko "
                  "(or modprobe nestiommu)")
    assert lines[:4] == [not_loaded, "rc=1", not_loaded, "rc=1"], r.output
    assert lines[4].startswith("faultinject: the nestiommu module has no BTF (/sys/kernel/btf/nestiommu "
                               "is missing)") and lines[5] == "rc=1", r.output
    assert lines[6].startswith("faultinject: permission denied: ") and lines[7] == "rc=1", r.output
    assert len(lines) == 8, r.output


def test_system_wide_until_signal(guest):
    """Without CMD: everything, until SIGINT (once attached, record says so
    on stderr: the workload starts after that line)."""
    d = guest.results_dir
    rec, err, out = (os.path.join(d, f"wide.{k}") for k in ("rec", "err", "out"))
    r = run(guest, f"{GFI} record -o {rec} --duration 600 > {out} 2> {err} & P=$!; "
                   f"until grep -q 'recording system-wide' {err}; do sleep 0.1; done; "
                   f"{GFI} inject 'at=map errno=ENOMEM nth=2' -- build/selftests/maploop -n 3 "
                   "> /dev/null 2>&1; echo rc=$?; kill -INT $P; wait $P; echo rc=$?")
    assert rcs(r.output) == [1, 0], (r.output, open(err).read())
    ev = events(rec)
    assert len(ev) == 1 and re.fullmatch(r"map ioas=\d+ pos=2 .* errno=ENOMEM origin=injected", ev[0]), ev
    assert open(out).read().startswith("recorded 1 events to ")


def test_ring_overflow_counted_and_refused(guest):
    """A one-page ring that certainly overflows: record is stopped
    (SIGSTOP) while a workload forces a fault at every other translation,
    so the ring fills and the rest is lost. Every fault the driver counted
    is either a line of the recording or in its lost count; replay refuses
    the recording, and with --allow-loss reproduces the lines it has."""
    d = guest.results_dir
    rec, err, out, nl, rep, reperr = (os.path.join(d, f"ovf.{k}") for k in
                                      ("rec", "err", "out", "nl", "rep", "reperr"))
    # Faults only (no page requests): the driver's fault count is every event.
    inj = f"{GFI} inject 'at=translate fault=permission stage=2 every=2' -- {NL_NO_PRI}"
    r = run(guest, f"{GFI} record --ring-size 4K -o {rec} > {out} 2> {err} & P=$!; "
                   f"until grep -q 'recording system-wide' {err}; do sleep 0.1; done; kill -STOP $P; "
                   f"{inj} > {nl} 2>&1; echo rc=$?; kill -CONT $P; kill -INT $P; wait $P; echo rc=$?; "
                   f"{GFI} replay {rec} -- true 2> {reperr}; echo rc=$?; "
                   f"{GFI} replay {rec} --allow-loss --strict -j -- {NL_NO_PRI} > {rep} 2>&1; echo rc=$?")
    assert rcs(r.output) == [0, 0, 2, 0], (r.output, open(err).read(), open(reperr).read())
    produced = int(kv_of(nl)["driver.faults"])
    with open(rec) as f:
        head = f.read().splitlines()[:5]
    lost = int(head[4].split()[1])
    ev = events(rec)
    # 4K holds at most 32 events of 128 bytes.
    assert head[4].split()[0] == "lost" and lost > 0 and 0 < len(ev) <= 32, (head, len(ev))
    assert len(ev) + lost == produced, (len(ev), lost, produced)
    assert all(ln.startswith("fault ") and "origin=injected" in ln for ln in ev), ev
    assert open(out).read().startswith(f"recorded {len(ev)} events to {rec} ")
    assert f"faultinject: record: {lost} events lost (the ring buffer was full)" in open(err).read()
    assert open(reperr).read() == (
        f"faultinject: replay: {rec} lost {lost} events while recording: it cannot be replayed exactly "
        "(--allow-loss replays it anyway) (faultinject -h for help)\n")
    # Only what was recorded is forced again: all of it, and nothing else faults.
    res = last_json(rep)
    assert (res["recorded"], res["reproduced"], res["diverged"], res["unexpected"]) == \
        (len(ev), len(ev), 0, 0), res
    assert int(kv_of(rep)["driver.injected_faults"]) == len(ev)
