# SPDX-License-Identifier: GPL-2.0
"""faultinject: host unit tests of its rule language, and the tool.

build/tools/faultinject_rules_test (KTAP, ASan + UBSan; each case is a
pytest case): every action and filter read into its field, canonical text
read back to the same rule, rules files with comments, and every malformed
word, value, filter, conflict and file named in a one-line error.

build/tools/faultinject: on the host, every bad option and rule (exit 2,
one line, CMD never started), -h and list. In one guest (the module
loaded): each action of each hook point, the "when" words at exactly the
documented positions (nest_invalidate traced through tracefs), prob= by
seed, rule order, filters, level= in the traced nest_fault, CMD's status
and signals, scope, system-wide runs and the preflight errors.

Run with /usr/bin/python3 -m pytest selftests/test_faultinject.py.
"""

import os
import subprocess

import pytest

import ktap

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES_TEST = os.path.join(REPO, "build", "tools", "faultinject_rules_test")

RULES_CASES = ktap.list_cases(RULES_TEST)


@pytest.fixture(scope="module")
def rules_run():
    """One run of every rules case: (CompletedProcess, parsed KTAP)."""
    return ktap.run_host(RULES_TEST)


@pytest.mark.parametrize("case", RULES_CASES if RULES_CASES is not None
                         else [pytest.param(None, id="NOT-BUILT")])
def test_rules(rules_run, case):
    if case is None:
        pytest.fail(f"{RULES_TEST} is missing or its --list failed: run make tools")
    r, results = rules_run
    ktap.check_case(results, case, "faultinject_rules_test", r.returncode, r.stdout)


def test_rules_run_clean(rules_run):
    r, _ = rules_run
    assert r.returncode == 0, r.stdout[-4000:]


# ---- the tool: usage errors (host: they come before anything is loaded) ----------

import functools  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402

import conftest  # noqa: E402

FI = os.path.join(REPO, "build", "tools", "faultinject")


def require(path):
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tools")


# Every malformed invocation: exit 2 and one line naming what is wrong.
BAD_USAGE = [
    ([], "usage: faultinject"),
    (["bogus"], "unknown subcommand 'bogus'"),
    (["list", "x"], "list: unexpected argument 'x'"),
    (["inject"], "inject: no rule"),
    (["inject", "at=map"], "argument 1: rule 'at=map': no action for at=map"),
    (["inject", "at=map errno=EIO", "at=bogus drop"], "argument 2: rule 'at=bogus drop': bad value in 'at=bogus'"),
    (["inject", "at=map errno=EIO dev=1"], "rule 'at=map errno=EIO dev=1': dev= does not apply at=map"),
    (["inject", "at=map errno=EIO drop"], "'drop' conflicts with 'errno=EIO'"),
    (["inject", "at=map errno=999"], "bad value in 'errno=999'"),
    (["inject", "at=invalidate drop nth=2 every=3"], "nth= conflicts with every="),
    (["inject", "at=page-response delay=2s"], "bad value in 'delay=2s'"),
    (["inject", "at=translate fault=permission"], "needs stage=1 or stage=2"),
    (["inject", "at=fail-site site=x"], "bad value in 'site=x'"),
    (["inject", "at=map errno=EIO", "--seed", "x"], "--seed: 'x' is not a number"),
    (["inject", "at=map errno=EIO", "--seed", "-1"], "--seed: '-1' is not a number"),
    (["inject", "at=map errno=EIO", "--duration", "0"], "--duration: '0' is not a number of seconds"),
    (["inject", "at=map errno=EIO", "--duration", "1", "--", "true"], "--duration applies only without -- CMD"),
    (["inject", "at=map errno=EIO", "--"], "nothing after --"),
    (["inject", "at=map errno=EIO", "-f"], "option -f needs an argument"),
    (["inject", "at=map errno=EIO", "-f", "/nonexistent/rules"], "/nonexistent/rules: No such file or directory"),
    (["inject", "at=map errno=EIO", "-x"], "unknown option -x"),
    (["inject", "at=map errno=EIO", "--bogus"], "unknown option --bogus"),
]


@pytest.mark.parametrize("args, message", BAD_USAGE, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_usage(args, message, tmp_path):
    require(FI)
    marker = tmp_path / "ran"
    # A CMD that would leave a mark: it must never start.
    if "--" not in args and args[:1] == ["inject"]:
        args = args + ["--", "touch", str(marker)]
    r = subprocess.run([FI, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    if args:
        assert r.stderr.startswith("faultinject: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr, r.stderr
    assert r.stdout == "" and not marker.exists()


def test_bad_rules_file_names_the_line(tmp_path):
    require(FI)
    rules = tmp_path / "rules.txt"
    rules.write_text("# a comment\nat=map errno=EIO\n\nat=invalidate drop cache=tlb\n")
    r = subprocess.run([FI, "inject", "-f", str(rules), "--", "true"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr == (f"faultinject: {rules}:4: rule 'at=invalidate drop cache=tlb': bad value in "
                        "'cache=tlb': iotlb, devtlb, pasid joined by commas (faultinject -h for help)\n")


def test_help_and_list():
    require(FI)
    r = subprocess.run([FI, "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("usage: faultinject list") and r.stderr == ""
    for opt in ("--file", "--seed", "--duration", "--json", "-- CMD"):
        assert opt in r.stdout
    r = subprocess.run([FI, "list"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for word in ("translate", "page-request", "page-response", "invalidate", "map",
                 "fault=REASON stage=1|2", "duplicate", "clear-last", "code=CODE", "delay=DURATION",
                 "errno=E", "nth=N every=N after=N times=N prob=P", "pte-fetch", "oor-address",
                 "success invalid failure"):
        assert word in r.stdout, f"{word} missing from list"


def test_binary_is_static():
    require(FI)
    r = subprocess.run(["file", FI], capture_output=True, text=True, timeout=30)
    assert "statically linked" in r.stdout, r.stdout


# ---- the tool in a guest ------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("_no_kernel_errors")
GUEST_NEEDS = ("build/tools/faultinject", "build/tools/nestload", "build/selftests/dmaloop",
               "build/selftests/maploop")
run = functools.partial(conftest.run, timeout=180)

GFI = "build/tools/faultinject"
# One DMA thread, 2 PASIDs, the same IOVAs every run: the same events in the same order.
NL = ("build/tools/nestload -q --ops 200 --devices 1 --pasids 2 --working-set 16 "
      "--pattern seq --read-pct 0 --seed 1")
NL_PRI = NL + " --fault-pct 50"
NL_IOVA = 0x40000000000


def inject(guest, rules, cmd, opts="", pre="", post=""):
    """Run faultinject -j with RULES (a list) over CMD in the guest, between
    the shell commands PRE and POST: (exit status, its JSON table, CMD's
    key=value output as a dict, stderr)."""
    out, err = os.path.join(guest.results_dir, "fi.out"), os.path.join(guest.results_dir, "fi.err")
    quoted = " ".join(f"'{r}'" for r in rules)
    r = run(guest, f"{pre}{GFI} inject {quoted} -j {opts} -- {cmd} > {out} 2> {err}; echo rc=$?; {post}")
    m = re.search(r"rc=(\d+)", r.output)
    assert m, r.output
    with open(out) as f:
        lines = f.read().splitlines()
    with open(err) as f:
        stderr = f.read()
    assert lines and lines[-1].startswith("{"), f"no table; stdout {lines}, stderr {stderr}"
    table = json.loads(lines[-1])
    kv = {}
    for line in lines[:-1]:
        for word in line.split():
            if "=" in word:
                k, v = word.split("=", 1)
                kv[k] = v
    return int(m.group(1)), table, kv, stderr


def rule_counts(table, i=0):
    r = table["rules"][i]
    return r["matched"], r["injected"], r["marked"]


# Each hook point and action: (rule, CMD, CMD's exit status, the table's
# (matched, injected, marked), what CMD reports). marked None: the outcome
# shows in no event (a lost response). The PRI timeouts are long enough that
# only the group a rule drops or leaves incomplete times out, however slow a
# busy host makes the PRI handler.
ACTIONS = [
    ("at=translate fault=permission stage=2 pasid=2 nth=5", NL, 0, (100, 1, 1),
     {"driver.injected_faults": 1, "driver.faults": 1, "driver.faults_s2": 1, "dma_faults": 1}),
    ("at=translate fault=pte-fetch stage=1 every=50", NL, 0, (200, 4, 4),
     {"driver.injected_faults": 4, "driver.faults_s1": 4, "dma_faults": 4}),
    ("at=translate page-request every=10 times=3", NL, 0, (203, 3, 3),
     {"driver.pri_groups": 3, "driver.pri_success": 3, "driver.injected_faults": 0, "dma_faults": 0}),
    ("at=page-request drop nth=2", NL_PRI + " --pri-timeout-ms 1000", 0, (101, 1, 1),
     {"driver.pri_timeouts": 1, "driver.pri_groups": 101, "dma_faults": 1}),
    ("at=page-request duplicate nth=3", NL_PRI, 0, (101, 1, 1), {"driver.pri_groups": 101}),
    ("at=page-request clear-last nth=1", NL_PRI + " --pri-timeout-ms 1000", 0, (101, 1, 1),
     {"driver.pri_timeouts": 1}),
    # FAILURE turns PRI off: the device asks no more.
    ("at=page-response code=failure pasid=1 nth=2", NL_PRI, 0, (2, 1, 1), {"driver.pri_failure": 1}),
    ("at=page-response code=invalid nth=4", NL_PRI, 0, (101, 1, 1),
     {"driver.pri_invalid": 1, "dma_faults": 1}),
    ("at=page-response delay=20ms times=2", NL_PRI, 0, (101, 2, 2),
     {"driver.pri_success": 101, "dma_faults": 0}),
    ("at=page-response drop nth=1", NL_PRI + " --pri-timeout-ms 1000", 0, (101, 1, None),
     {"driver.pri_timeouts": 1}),
    ("at=invalidate drop every=10", "build/selftests/dmaloop -n 100 -i 1", 0, (100, 10, 10),
     {"invalidations": 100}),
    ("at=invalidate errno=EIO nth=5", "build/selftests/dmaloop -n 100 -i 1", 1, (5, 1, 1), {}),
    ("at=map errno=ENOMEM nth=3", "build/selftests/maploop -n 5", 1, (3, 1, 1), {}),
]


@pytest.mark.parametrize("rule, cmd, status, counts, reported", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_each_action(guest, rule, cmd, status, counts, reported):
    rc, table, kv, err = inject(guest, [rule], cmd)
    assert rc == status and table["status"] == status, err
    assert table["rules"][0]["rule"] == rule
    assert rule_counts(table) == counts, (table, kv)
    for key, want in reported.items():
        assert int(kv.get(key, -1)) == want, f"{key}: {kv.get(key)} (want {want}); {kv}"


# ---- "when": exact positions in the event stream ------------------------------------

DMALOOP_INV = "build/selftests/dmaloop -n 100 -i 1"  # 100 invalidations, one thread


def inject_traced(guest, rules, cmd, opts=""):
    """inject() with nestiommu:nest_invalidate traced through tracefs: also
    the 1-based positions of the invalidations injected (dropped)."""
    t = "/sys/kernel/tracing"
    ev = f"{t}/events/nestiommu/nest_invalidate/enable"
    marks = os.path.join(guest.results_dir, "marks")
    res = inject(guest, rules, cmd, opts,
                 pre=f"echo 0 > {t}/tracing_on; echo > {t}/trace; echo 1 > {ev}; echo 1 > {t}/tracing_on; ",
                 post=f"echo 0 > {t}/tracing_on; echo 0 > {ev}; grep -o 'injected_drop=[01]' {t}/trace > {marks}")
    with open(marks) as f:
        drops = [line.strip().endswith("1") for line in f]
    return res, [i + 1 for i, d in enumerate(drops) if d], len(drops)


def splitmix64(x):
    m = (1 << 64) - 1
    x = (x + 0x9e3779b97f4a7c15) & m
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & m
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & m
    return x ^ (x >> 31)


def prob_picks(seed, rule, prob, n):
    """The matches 1..n that prob=PROB of rule index RULE injects with --seed
    SEED, as tools/faultinject/README.md documents it."""
    p = round(prob * (1 << 32))
    return [m for m in range(1, n + 1) if splitmix64(splitmix64(seed + rule) ^ m) >> 32 < p]


WHEN = [
    ("nth=7", [7]),
    ("every=10", list(range(10, 101, 10))),
    ("after=90", list(range(91, 101))),
    ("after=10 every=5 times=3", [15, 20, 25]),
    ("times=4", [1, 2, 3, 4]),
    ("every=7 after=3", list(range(10, 101, 7))),
]


@pytest.mark.parametrize("when, picks", WHEN, ids=[w[0] for w in WHEN])
def test_when_words(guest, when, picks):
    (rc, table, _, err), got, n = inject_traced(guest, [f"at=invalidate drop {when}"], DMALOOP_INV)
    assert rc == 0, err
    assert n == 100
    assert got == picks
    assert rule_counts(table) == (100, len(picks), len(picks))


def test_prob_same_seed_same_events(guest):
    rule = "at=invalidate drop prob=0.3"
    runs = [inject_traced(guest, [rule], DMALOOP_INV, f"--seed {s}") for s in (7, 7, 8)]
    (_, t7, _, _), p7, _ = runs[0]
    (_, t7b, _, _), p7b, _ = runs[1]
    (_, t8, _, _), p8, _ = runs[2]
    assert p7 == p7b == prob_picks(7, 0, 0.3, 100)
    assert p8 == prob_picks(8, 0, 0.3, 100) and p8 != p7
    assert t7 == t7b and rule_counts(t7) == (100, len(p7), len(p7))
    assert t7["seed"] == 7 and t8["seed"] == 8


def test_first_rule_wins_later_rules_count(guest):
    (rc, table, _, err), got, _ = inject_traced(
        guest, ["at=invalidate drop every=2", "at=invalidate drop every=3"], DMALOOP_INV)
    assert rc == 0, err
    assert got == [m for m in range(1, 101) if m % 2 == 0 or m % 3 == 0]
    assert rule_counts(table, 0) == (100, 50, 50)
    assert rule_counts(table, 1) == (100, 17, 17)  # odd multiples of 3


# ---- filters ----------------------------------------------------------------------------

FILTERS = [
    # 100 DMAs per PASID through 16 pages in order: page 0 seven times each.
    (f"iova={NL_IOVA:#x}-{NL_IOVA + 0xfff:#x}", 14),
    (f"iova={NL_IOVA + 0x1000:#x}", 14),
    ("pasid=1", 100),
    ("access=w", 200),
    ("access=r", 0),
    ("access=w,priv", 0),
    ("comm=nestload", 200),
    ("comm=nestloa", 0),
    ("pasid=2 iova=0x0-0x3ffffffffff", 0),
]


@pytest.mark.parametrize("filt, n", FILTERS, ids=[f[0] for f in FILTERS])
def test_filters(guest, filt, n):
    rc, table, kv, err = inject(guest, [f"at=translate fault=access stage=1 {filt}"], NL)
    assert rc == 0, err
    assert rule_counts(table) == (n, n, n)
    assert int(kv["driver.injected_faults"]) == n and int(kv["dma_faults"]) == n


# ---- CMD: status, signals, scope -------------------------------------------------------

RULE = "at=map errno=EIO"


@pytest.mark.parametrize("cmd, status", [
    ("sh -c 'exit 7'", 7),
    ("sh -c 'kill -TERM $$'", 128 + 15),
    ("sh -c 'kill -KILL $$'", 128 + 9),
    ("build/selftests/maploop -n 1", 1),
], ids=["exit-7", "sigterm", "sigkill", "maploop-fails"])
def test_cmd_status(guest, cmd, status):
    rc, table, _, err = inject(guest, [RULE], cmd)
    assert rc == status and table["status"] == status, err


def test_cmd_not_found(guest):
    rc, table, _, err = inject(guest, [RULE], "/nonexistent/cmd")
    assert rc == 127 and table["status"] == 127
    assert err == "faultinject: cannot run /nonexistent/cmd: No such file or directory\n"


def test_signal_goes_to_cmd(guest):
    """SIGTERM to faultinject goes on to CMD, and faultinject still prints
    its table and exits with CMD's status."""
    out = os.path.join(guest.results_dir, "sig.out")
    script = (f"rm -f /tmp/started; {GFI} inject '{RULE}' -j -- sh -c 'touch /tmp/started; exec sleep 600' "
              f"> {out} & fi=$!; until test -e /tmp/started; do sleep 0.1; done; "
              "kill -TERM $fi; wait $fi; echo rc=$?")
    r = run(guest, script)
    assert "rc=143" in r.output, r.output
    with open(out) as f:
        assert json.loads(f.read().splitlines()[-1])["status"] == 143


def test_system_wide_until_signal_or_duration(guest):
    out, err = os.path.join(guest.results_dir, "sw.out"), os.path.join(guest.results_dir, "sw.err")
    script = (f"{GFI} inject '{RULE}' -j > {out} 2> {err} & fi=$!; "
              f"until grep -q attached {err}; do kill -0 $fi || break; sleep 0.1; done; "
              f"build/selftests/maploop -n 1; echo maploop=$?; kill -INT $fi; wait $fi; echo rc=$?; "
              f"{GFI} inject '{RULE}' --duration 0.5; echo rc2=$?")
    r = run(guest, script)
    assert "maploop=1" in r.output and "rc=0" in r.output and "rc2=0" in r.output, r.output
    with open(err) as f:
        assert f.read() == f"faultinject: attached 1 rules system-wide: SIGINT or SIGTERM ends\n"
    with open(out) as f:
        table = json.loads(f.read())
    assert "status" not in table and rule_counts(table) == (1, 1, 1)
    assert re.search(r"\n1 +0 +0 +0 +at=map errno=EIO\n", r.output), r.output


def test_scope_is_cmd_tree(guest):
    """A rule scoped to CMD fails CMD's child's MAP and not the MAP of a
    process outside, made while CMD runs (FIFOs order the two)."""
    outside = os.path.join(guest.results_dir, "outside")
    script = (f"rm -f /tmp/go /tmp/done; mkfifo /tmp/go /tmp/done; "
              f"(read x < /tmp/go; build/selftests/maploop -n 2 > /dev/null; echo $? > {outside}; "
              f"echo > /tmp/done) & "
              f"{GFI} inject '{RULE}' -j -- sh -c 'echo > /tmp/go; read x < /tmp/done; "
              f"build/selftests/maploop -n 1' > {outside}.fi 2>&1; echo rc=$?")
    r = run(guest, script)
    assert "rc=1" in r.output, r.output
    with open(outside) as f:
        assert f.read().strip() == "0"
    with open(f"{outside}.fi") as f:
        table = json.loads(f.read().splitlines()[-1])
    assert rule_counts(table) == (1, 1, 1)


# ---- errors before anything is attached (guest) ---------------------------------------


LEVELS = [
    ("at=translate fault=permission stage=1 level=2 pasid=1 nth=3", "stage=1 level=2 reason=permission"),
    ("at=translate fault=pte-fetch stage=2 level=4 pasid=2 nth=5", "stage=2 level=4 reason=pte_fetch"),
]


@pytest.mark.parametrize("rule, fields", LEVELS, ids=[lv[1] for lv in LEVELS])
def test_level_in_the_fault(guest, rule, fields):
    """level=N: the injected fault (nest_fault, traced through tracefs) has
    that level, stage and reason, on the rule's PASID; no other fault."""
    t = "/sys/kernel/tracing"
    ev = f"{t}/events/nestiommu/nest_fault/enable"
    faults = os.path.join(guest.results_dir, "faults")
    rc, table, kv, err = inject(
        guest, [rule], NL,
        pre=f"echo 0 > {t}/tracing_on; echo > {t}/trace; echo 1 > {ev}; echo 1 > {t}/tracing_on; ",
        post=f"echo 0 > {t}/tracing_on; echo 0 > {ev}; grep -o 'nest_fault: .*' {t}/trace > {faults}")
    assert rc == 0 and rule_counts(table) == (100, 1, 1), (table, err)
    with open(faults) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1, lines
    pasid = re.search(r"pasid=(\d+)", rule).group(1)
    assert fields in lines[0] and f"pasid=0x{pasid} " in lines[0], lines[0]
    flags = int(re.search(r"flags=(0x[0-9a-f]+)", lines[0]).group(1), 16)
    assert flags & 0x10, lines[0]  # NESTIOMMU_FAULT_F_INJECTED
    assert int(kv["driver.injected_faults"]) == 1


NOT_LOADED = ("faultinject: nestiommu module not loaded: run insmod kernel/nestiommu.ko "
              "(or modprobe nestiommu)\n")


def test_errors_module_btf_privilege(guest):
    nobtf = os.path.join(guest.results_dir, "nestiommu-nobtf.ko")
    subprocess.run(["objcopy", "--remove-section=.BTF", os.path.join(REPO, conftest.MODULE), nobtf], check=True)
    cmd = f"{GFI} inject '{RULE}' -- touch /tmp/ran"
    r = run(guest, f"rm -f /tmp/ran; rmmod nestiommu && {cmd}; echo rc=$?; "
                   f"insmod {nobtf} && {cmd}; echo rc=$?; rmmod nestiommu; insmod {conftest.MODULE} && "
                   f"setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all {cmd}; echo rc=$?; "
                   "test -e /tmp/ran && echo ran")
    lines = r.output.splitlines()
    assert lines[0] + "\n" == NOT_LOADED and lines[1] == "rc=1", r.output
    assert lines[2].startswith("faultinject: the nestiommu module has no BTF (/sys/kernel/btf/nestiommu "
                               "is missing)") and lines[3] == "rc=1", r.output
    assert lines[4] == ("faultinject: permission denied: faultinject loads BPF programs against the "
                        "module's BTF, which needs CAP_SYS_ADMIN: run it as root") and lines[5] == "rc=1"
    assert len(lines) == 6, r.output
