# SPDX-License-Identifier: GPL-2.0
"""faultinject: host unit tests of its rule language.

build/tools/faultinject_rules_test (KTAP, ASan + UBSan; each case is a
pytest case): every action and filter read into its field, canonical text
read back to the same rule, rules files with comments, and every malformed
word, value, filter, conflict and file named in a one-line error.

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
    if not os.access(RULES_TEST, os.X_OK):
        pytest.fail(f"{RULES_TEST} is not built: run make tools")
    r = subprocess.run([RULES_TEST], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    return r, ktap.parse(r.stdout)


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
    (["record"], "unknown subcommand 'record'"),
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


def inject(guest, rules, cmd, opts=""):
    """Run faultinject -j with RULES (a list) over CMD in the guest: (exit
    status, its JSON table, CMD's key=value output as a dict, stderr)."""
    out, err = os.path.join(guest.results_dir, "fi.out"), os.path.join(guest.results_dir, "fi.err")
    quoted = " ".join(f"'{r}'" for r in rules)
    r = run(guest, f"{GFI} inject {quoted} -j {opts} -- {cmd} > {out} 2> {err}; echo rc=$?")
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
# shows in no event (a failed MAP, a lost response).
ACTIONS = [
    ("at=translate fault=permission stage=2 pasid=2 nth=5", NL, 0, (100, 1, 1),
     {"driver.injected_faults": 1, "driver.faults": 1, "driver.faults_s2": 1, "dma_faults": 1}),
    ("at=translate fault=pte-fetch stage=1 every=50", NL, 0, (200, 4, 4),
     {"driver.injected_faults": 4, "driver.faults_s1": 4, "dma_faults": 4}),
    ("at=translate page-request every=10 times=3", NL, 0, (203, 3, 3),
     {"driver.pri_groups": 3, "driver.pri_success": 3, "driver.injected_faults": 0, "dma_faults": 0}),
    ("at=page-request drop nth=2", NL_PRI + " --pri-timeout-ms 100", 0, (101, 1, 1),
     {"driver.pri_timeouts": 1, "driver.pri_groups": 101, "dma_faults": 1}),
    ("at=page-request duplicate nth=3", NL_PRI, 0, (101, 1, 1), {"driver.pri_groups": 101}),
    ("at=page-request clear-last nth=1", NL_PRI + " --pri-timeout-ms 100", 0, (101, 1, 1),
     {"driver.pri_timeouts": 1}),
    # FAILURE turns PRI off: the device asks no more.
    ("at=page-response code=failure pasid=1 nth=2", NL_PRI, 0, (2, 1, 1), {"driver.pri_failure": 1}),
    ("at=page-response code=invalid nth=4", NL_PRI, 0, (101, 1, 1),
     {"driver.pri_invalid": 1, "dma_faults": 1}),
    ("at=page-response delay=20ms times=2", NL_PRI, 0, (101, 2, 2),
     {"driver.pri_success": 101, "dma_faults": 0}),
    ("at=page-response drop nth=1", NL_PRI + " --pri-timeout-ms 100", 0, (101, 1, None),
     {"driver.pri_timeouts": 1}),
    ("at=invalidate drop every=10", "build/selftests/dmaloop -n 100 -i 1", 0, (100, 10, 10),
     {"invalidations": 100}),
    ("at=invalidate errno=EIO nth=5", "build/selftests/dmaloop -n 100 -i 1", 1, (5, 1, 1), {}),
    ("at=map errno=ENOMEM nth=3", "build/selftests/maploop -n 5", 1, (3, 1, None), {}),
]


@pytest.mark.parametrize("rule, cmd, status, counts, reported", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_each_action(guest, rule, cmd, status, counts, reported):
    rc, table, kv, err = inject(guest, [rule], cmd)
    assert rc == status and table["status"] == status, err
    assert table["rules"][0]["rule"] == rule
    assert rule_counts(table) == counts, (table, kv)
    for key, want in reported.items():
        assert int(kv.get(key, -1)) == want, f"{key}: {kv.get(key)} (want {want}); {kv}"
