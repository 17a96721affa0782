"""iommutop: host unit tests of its model, and the tool itself in a guest.

On the host (no VM):
  - build/tools/iommutop_model_test (KTAP; each case is a pytest case): rates,
    percentages, percentiles, sorting, filtering, the header's totals and
    cost, the screen's keys, option helpers, the preflight checks;
  - what its rendering cases write (--out-dir) parsed here: both metric
    exposition formats, a JSON sample, a CSV log;
  - the binary is static; every malformed option exits 2 naming it.

In one guest (2 GiB; the module is loaded, unloaded or swapped for a copy
without BTF by each test as it needs):
  - the errors: module not loaded, module without BTF, no privilege;
  - batch JSON while nestload runs (with tp_btf and with raw_tp): the
    cumulative counts equal nestload's own counts and the driver's
    GET_STATS exactly, every rate times its interval is that interval's
    count; dmaloop's exact event counts (test_driver.py's
    dmaloop_expected) and its 24-reference nested walks;
  - the attached line: first, in each mode, and every event after it is
    counted; a SIGHUP while iommutop starts; started again and again over a
    busy PRI workload, no page request stays outstanding;
  - the CSV log across a SIGHUP reopen;
  - the exporter scraped over loopback in both formats, validated, and
    every metric family documented in tools/iommutop/README.md;
  - the interactive screen driven through a pty: start, sort, filter,
    screens, help, quit, with the screen text asserted; what it refuses
    stays said on the status line; the latency bars after the workload.

Run with /usr/bin/python3 -m pytest selftests/test_iommutop.py.
"""

import csv
import functools
import json
import math
import os
import re
import shlex
import subprocess

import pytest

import conftest
import ktap
from conftest import MODULE

# This fails a test during which the guest console showed kernel errors.
pytestmark = pytest.mark.usefixtures("_no_kernel_errors")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(REPO, "build", "tools")
TOP = os.path.join(TOOLS, "iommutop")
MODEL_TEST = os.path.join(TOOLS, "iommutop_model_test")
NESTLOAD = os.path.join(TOOLS, "nestload")
DMALOOP = os.path.join(REPO, "build", "selftests", "dmaloop")
README = os.path.join(REPO, "tools", "iommutop", "README.md")

NOT_LOADED = "iommutop: nestiommu module not loaded: run insmod kernel/nestiommu.ko (or modprobe nestiommu)\n"


def require(path, how="make tools"):
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run {how}")


# ---- the model's unit tests (host) ---------------------------------------

MODEL_CASES = ktap.list_cases(MODEL_TEST)


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    """One run of every model case, writing its renderings to a directory:
    (CompletedProcess, parsed KTAP, the directory)."""
    require(MODEL_TEST)
    out = tmp_path_factory.mktemp("iommutop-render")
    r = subprocess.run([MODEL_TEST, "--out-dir", str(out)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    return r, ktap.parse(r.stdout), out


@pytest.mark.parametrize("case", MODEL_CASES if MODEL_CASES is not None
                         else [pytest.param(None, id="NOT-BUILT")])
def test_model(model_run, case):
    if case is None:
        pytest.fail(f"{MODEL_TEST} is missing or its --list failed: run make tools")
    r, results, _ = model_run
    ktap.check_case(results, case, "iommutop_model_test", r.returncode, r.stdout)


def test_model_run_clean(model_run):
    r, _, _ = model_run
    assert r.returncode == 0, r.stdout[-4000:]


# ---- the exposition format ------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        assert m, f"bad labels {{{text}}} at {text[pos:]!r}"
        assert m.group(1) not in labels, f"label {m.group(1)} twice in {{{text}}}"
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse_exposition(text, openmetrics):
    """Validate TEXT (Prometheus 0.0.4, or OpenMetrics 1.0.0) and return
    {family: {"type", "help", "samples": [(name, labels, value)]}}.

    Checked: HELP then TYPE open every family, once; every sample belongs to
    the family open above it, under the name its type allows; values are
    numbers; histograms have cumulative buckets ending at +Inf equal to
    _count, and _sum; OpenMetrics ends with "# EOF".
    """
    assert text.endswith("\n"), "the exposition must end with a newline"
    lines = text[:-1].split("\n")
    if openmetrics:
        assert lines[-1] == "# EOF", f"OpenMetrics must end with # EOF, ends with {lines[-1]!r}"
        lines = lines[:-1]
        assert "# EOF" not in lines, "# EOF before the end"
    families, fam = {}, None
    for i, line in enumerate(lines):
        where = f"line {i + 1}: {line!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in families, f"{where}: family {name} opened twice"
            assert help_text.strip(), f"{where}: empty HELP"
            fam = families[name] = {"help": help_text, "type": None, "samples": []}
            fam["name"] = name
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert fam and fam["name"] == name and fam["type"] is None, \
                f"{where}: TYPE must follow the HELP of its family"
            assert typ in ("counter", "gauge", "histogram"), f"{where}: type {typ}"
            fam["type"] = typ
        else:
            assert not line.startswith("#"), f"{where}: unexpected comment"
            m = _SAMPLE.match(line)
            assert m, f"{where}: not a sample"
            name, labels, value = m.group(1), parse_labels(m.group(2) or ""), m.group(3)
            assert fam and fam["type"], f"{where}: sample before HELP/TYPE"
            base, typ = fam["name"], fam["type"]
            if typ == "counter":
                allowed = {base + "_total"} if openmetrics else {base}
                if not openmetrics:
                    assert base.endswith("_total"), f"{where}: counter {base} without _total"
            elif typ == "gauge":
                allowed = {base}
            else:
                allowed = {base + "_bucket", base + "_count", base + "_sum"}
            assert name in allowed, f"{where}: sample {name} in family {base} ({typ})"
            v = float(value)
            assert not math.isnan(v), f"{where}: NaN"
            if typ == "counter":
                assert v >= 0, f"{where}: negative counter"
            fam["samples"].append((name, labels, v))
    for name, fam in families.items():
        assert name.startswith("nestiommu_"), f"family {name} is not nestiommu_*"
        assert fam["type"], f"family {name} has no TYPE"
        if fam["type"] == "histogram":
            check_histogram(fam)
    return families


def check_histogram(fam):
    base = fam["name"]
    series = {}
    for name, labels, v in fam["samples"]:
        key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if name == base + "_bucket":
            assert "le" in labels, f"{base} bucket without le"
            s["buckets"].append((float(labels["le"]), v, labels["le"]))
        elif name == base + "_count":
            s["count"] = v
        else:
            s["sum"] = v
    for key, s in series.items():
        b = s["buckets"]
        assert b, f"{base}{dict(key)}: no buckets"
        les = [x[0] for x in b]
        assert les == sorted(les) and len(set(les)) == len(les), f"{base}{dict(key)}: le not ascending"
        assert b[-1][2] == "+Inf", f"{base}{dict(key)}: the last bucket is not +Inf"
        counts = [x[1] for x in b]
        assert counts == sorted(counts), f"{base}{dict(key)}: buckets not cumulative {counts}"
        assert s["count"] is not None and s["sum"] is not None, f"{base}{dict(key)}: no _count or _sum"
        assert b[-1][1] == s["count"], f"{base}{dict(key)}: +Inf {b[-1][1]} != _count {s['count']}"


def documented_families():
    with open(README) as f:
        return set(re.findall(r"^\| `(nestiommu_[a-z0-9_]+)` \|", f.read(), re.M))


def test_rendered_exposition_valid(model_run):
    _, results, out = model_run
    for fname, om in (("metrics.prom", False), ("metrics.om", True)):
        path = out / fname
        assert path.exists(), f"the model test wrote no {fname}"
        fams = parse_exposition(path.read_text(), om)
        names = {n[:-len("_total")] if not om and f["type"] == "counter" else n
                 for n, f in fams.items()}
        assert names == documented_families(), \
            f"families vs README: missing in README {names - documented_families()}, " \
            f"not exported {documented_families() - names}"
        lat = fams["nestiommu_device_page_response_latency_seconds"]
        counts = [v for n, l, v in lat["samples"] if n.endswith("_count") and l["dev"] == "1"]
        assert counts == [2.0], lat["samples"]


def test_dashboard_queries_exported_metrics(model_run):
    """dashboards/nestiommu.json queries only series the exporter emits."""
    _, _, out = model_run
    fams = parse_exposition((out / "metrics.prom").read_text(), False)
    series = set()
    for name, f in fams.items():
        for sample, _, _ in f["samples"]:
            series.add(sample)
    with open(os.path.join(REPO, "dashboards", "nestiommu.json")) as fh:
        dash = json.load(fh)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
    assert len(exprs) >= 15, exprs
    for expr in exprs:
        used = set(re.findall(r"\bnestiommu_[a-z0-9_]+", expr))
        assert used, f"no nestiommu metric in {expr!r}"
        assert used <= series, f"{expr!r} queries {used - series}, not exported"


def test_rendered_json_and_csv(model_run):
    _, _, out = model_run
    j = json.loads((out / "sample.json").read_text())
    assert j["attach"] == "raw_tp" and j["interval_s"] == 1.0
    devs = {(d["dev"], d["pasid"]): d for d in j["devices"]}
    assert set(devs) == {(1, 1), (2, None)}, devs.keys()
    d = devs[(1, 1)]
    assert d["hwpt"] == 3 and d["rate"]["dma_ops"] == 10 and d["total"]["dma_bytes"] == 640
    assert d["devtlb_hit_pct"] == 50 and d["walk_refs"] == 24 and d["pr_outstanding"] == 1
    assert devs[(2, None)]["hwpt"] is None and devs[(2, None)]["iotlb_hit_pct"] is None
    assert j["summary"]["total"]["faults_no_hwpt"] == 1
    assert sorted(f["reason"] for f in j["faults"]) == ["pasid_invalid", "pte_fetch"]
    assert sum(b["total"] for b in j["latency_hist"]) == 2
    assert j["cost"] == {"bpf_cpu_pct": 0.0005, "bpf_avg_ns": 500, "rate": {"bpf_runs": 10, "events_lost": 0},
                         "total": {"bpf_runs": 10, "bpf_run_ns": 5000, "events_lost": 0}}, j["cost"]

    rows = list(csv.DictReader((out / "sample.csv").read_text().splitlines()))
    assert [r["dev"] for r in rows] == ["1", "2", "all"], rows
    assert rows[1]["pasid"] == "rid" and rows[1]["hwpt"] == ""
    assert float(rows[2]["translations"]) == 13 and float(rows[0]["dma_ops"]) == 10


# ---- the binary and its options (host) ----------------------------------------


def test_binary_is_static():
    require(TOP)
    r = subprocess.run(["readelf", "-l", TOP], capture_output=True, text=True, check=True)
    assert "INTERP" not in r.stdout and "DYNAMIC" not in r.stdout, \
        f"{TOP} is not statically linked:\n{r.stdout}"


BAD_OPTIONS = [
    (["-d", "x"], "-d: 'x' is not a number of seconds from 0.1 to 3600"),
    (["-d", "0"], "-d: '0' is not a number of seconds"),
    (["-d", "0.05"], "-d: '0.05' is not a number of seconds"),
    (["-d", "4000"], "-d: '4000' is not a number of seconds"),
    (["-d", "nan"], "-d: 'nan' is not a number of seconds"),
    (["-d", "1s"], "-d: '1s' is not a number of seconds"),
    (["-d"], "option -d needs an argument"),
    (["-n", "0"], "-n: '0' is not a number from 1 to 1000000000"),
    (["-n", "-3"], "-n: '-3' is not a number"),
    (["-n", "1e3"], "-n: '1e3' is not a number"),
    (["-n", "99999999999999999999"], "is not a number from 1 to"),
    (["-s", "bogus"], "-s: no column 'bogus'"),
    (["--sort", "DMA/s"], "-s: no column 'DMA/s'"),
    (["-L", ""], "-L: the file name is empty"),
    (["--listen", "9464"], "--listen: '9464' is not HOST:PORT"),
    (["--listen", "127.0.0.1:0"], "--listen: '127.0.0.1:0' is not HOST:PORT"),
    (["--listen", "127.0.0.1:65536"], "is not HOST:PORT"),
    (["--listen", "metrics.example:80"], "--listen: 'metrics.example:80' is not HOST:PORT"),
    (["--listen"], "option --listen needs an argument"),
    (["--dev", "x"], "--dev: 'x' is not a device ID"),
    (["--dev", "-1"], "--dev: '-1' is not a device ID"),
    (["--pasid", "y"], "--pasid: 'y' is not a PASID or rid"),
    (["--pasid", "4294967295"], "--pasid: '4294967295' is not a PASID or rid"),
    (["--attach", "kprobe"], "--attach: 'kprobe' is not auto, tp_btf or raw_tp"),
    (["-q"], "-q needs --listen or -L"),
    (["-q", "-j", "-L", "/tmp/iommutop.csv"], "-q shows nothing: it cannot go with -b or -j"),
    (["-x"], "unknown option -x"),
    (["--bogus"], "unknown option --bogus"),
    (["stray"], "unexpected argument 'stray'"),
]


@pytest.mark.parametrize("args, message", BAD_OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_options(args, message):
    require(TOP)
    r = subprocess.run([TOP, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, f"exit status {r.returncode}; stderr: {r.stderr}"
    assert r.stderr.startswith("iommutop: ") and message in r.stderr.splitlines()[0], r.stderr
    assert "usage: iommutop" in r.stderr
    assert r.stdout == ""  # nothing ran


def test_help():
    require(TOP)
    r = subprocess.run([TOP, "-h"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("usage: iommutop") and r.stderr == ""
    for opt in ("--batch", "--json", "--iterations", "--delay", "--sort", "--log", "--listen", "--attach"):
        assert opt in r.stdout, f"{opt} missing from --help"


# ---- the guest ------------------------------------------------------------------


# The iommutop tests load and unload the module themselves (set_module).
GUEST_LOAD_MODULE = False
# The exporter test scrapes over loopback, which starts down.
GUEST_SETUP = "ip link set lo up"
GUEST_NEEDS = ("build/tools/iommutop", "build/tools/nestload", "build/selftests/dmaloop")
# A command in the guest that takes longer has hung (unless it says otherwise).
run = functools.partial(conftest.run, timeout=120)


# What each state of the module needs; insmod is retried (the module file
# may be rebuilt under us).
_MODULE_STATES = {
    "absent": "if test -e /sys/module/nestiommu; then rmmod nestiommu || exit 1; fi",
    "loaded": "if test -e /sys/module/nestiommu && ! test -e /sys/kernel/btf/nestiommu; then "
              "rmmod nestiommu || exit 1; fi; "
              "for i in 1 2 3; do test -e /sys/module/nestiommu && break; "
              "insmod {module} || sleep 1; done; test -e /sys/kernel/btf/nestiommu",
    "nobtf": "if test -e /sys/module/nestiommu; then rmmod nestiommu || exit 1; fi; "
             "insmod {nobtf} && test -e /sys/module/nestiommu && ! test -e /sys/kernel/btf/nestiommu",
}


def set_module(guest, state):
    nobtf = os.path.join(guest.results_dir, "nestiommu-nobtf.ko")
    if state == "nobtf" and not os.path.exists(nobtf):
        # The same module without its .BTF section: /sys/module/nestiommu
        # appears, /sys/kernel/btf/nestiommu does not.
        subprocess.run(["objcopy", "--remove-section=.BTF", os.path.join(REPO, MODULE), nobtf], check=True)
    r = run(guest, _MODULE_STATES[state].format(module=MODULE, nobtf=nobtf))
    assert r.rc == 0, f"cannot get the module {state} (rc {r.rc}):\n{r.output}"


def results(guest, name):
    return os.path.join(guest.results_dir, name)


def read_json_lines(path):
    """The samples of a -j run, after checking that its first line says
    the programs are attached."""
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    assert lines and lines[0].get("event") == "attached", lines[:1]
    assert all("event" not in x for x in lines[1:]), "more than one attached line"
    return lines[1:]


# A shell snippet: wait until OUT holds iommutop's attached line (text or
# JSON), for at most 60 s, and stop waiting if the process PID died.
def wait_attached(out, pid="$top"):
    return (f"end=$(($(date +%s) + 60)); "
            f"until grep -q -e '^iommutop: attached ' -e '^{{\"event\":\"attached\"' {out} 2>/dev/null; do "
            f"kill -0 {pid} 2>/dev/null && [ $(date +%s) -lt $end ] || break; sleep 0.1; done\n")


# A shell snippet: start iommutop with ARGS writing to OUT, and wait until it
# says every program is attached, so it counts all of the workload.
def start_top(args, out, err):
    return f"{TOP} {args} > {out} 2> {err} & top=$!\n" + wait_attached(out)


# The last word: SIGINT makes a batch iommutop print the partial interval.
STOP_TOP = "kill -INT $top; wait $top; echo top_rc=$?\n"

ATTACHED_TEXT = re.compile(r"^iommutop: attached (\d+) programs \((tp_btf|raw_tp)\)$")
# Every handler of bpf/iommutop.bpf.c in one mode, and map and unmap.
PROGRAMS = 15


# ---- errors (guest) -------------------------------------------------------------


def test_error_module_not_loaded(guest):
    set_module(guest, "absent")
    r = run(guest, f"{TOP} -b -n 1")
    assert r.rc == 1, r.output
    assert r.output == NOT_LOADED


def test_error_module_without_btf(guest):
    set_module(guest, "nobtf")
    r = run(guest, f"{TOP} -b -n 1")
    set_module(guest, "absent")
    assert r.rc == 1, r.output
    assert r.output.startswith("iommutop: the nestiommu module has no BTF "
                               "(/sys/kernel/btf/nestiommu is missing): rebuild it with 'make module'"), r.output
    assert r.output.count("\n") == 1, r.output


@pytest.mark.parametrize("how", [
    "setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all",
    # root, but without CAP_SYS_ADMIN (CAP_BPF and CAP_PERFMON kept)
    "setpriv --inh-caps=-all --bounding-set=-sys_admin",
], ids=["nobody", "root-without-sys_admin"])
def test_error_no_privilege(guest, how):
    set_module(guest, "loaded")
    r = run(guest, f"{how} {TOP} -b -n 1")
    assert r.rc == 1, r.output
    assert r.output == ("iommutop: permission denied: iommutop loads BPF programs against the module's BTF, "
                        "which needs CAP_SYS_ADMIN: run it as root\n"), r.output


# ---- batch JSON, cross-checked (guest) ----------------------------------------------

NESTLOAD_ARGS = ("--devices 2 --pasids 2 --duration 1.5 --fault-pct 10 --ats "
                 "--s1-change-every 50 --churn-every 100 --json -q")
DELAY = 0.3


def check_rates(samples, key_total, key_rate, what):
    """Every sample's rate times its interval is the growth of the count
    since the previous sample (the first: since iommutop started)."""
    prev = 0
    for i, s in enumerate(samples):
        total, rate = key_total(s), key_rate(s)
        grown = total - prev
        assert abs(rate * s["interval_s"] - grown) <= 1e-4 * max(1, grown) + 0.01, \
            f"{what}: sample {i}: rate {rate} x {s['interval_s']} s != {grown} counted"
        prev = total


def test_batch_json_cross_check_nestload(guest):
    set_module(guest, "loaded")
    out, err, nl = results(guest, "nl.jsonl"), results(guest, "nl.err"), results(guest, "nestload.json")
    script = start_top(f"-b -j -d {DELAY}", out, err) + f"{NESTLOAD} {NESTLOAD_ARGS} > {nl}\n" + STOP_TOP
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output, r.output
    with open(err) as f:
        assert f.read() == ""
    with open(nl) as f:
        load = json.load(f)
    samples = read_json_lines(out)
    check_cross(samples, load, "tp_btf")


@pytest.mark.parametrize("mode", ["tp_btf", "raw_tp"])
def test_batch_json_attach_modes(guest, mode):
    set_module(guest, "loaded")
    out, err, nl = (results(guest, f"{mode}.jsonl"), results(guest, f"{mode}.err"),
                    results(guest, f"{mode}-nestload.json"))
    args = NESTLOAD_ARGS.replace("--duration 1.5", "--ops 1500")
    script = start_top(f"-j -d {DELAY} --attach {mode}", out, err) + f"{NESTLOAD} {args} > {nl}\n" + STOP_TOP
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output, r.output
    with open(nl) as f:
        load = json.load(f)
    samples = read_json_lines(out)
    check_cross(samples, load, mode)
    assert load["dma_ops"] == 1500


def check_cross(samples, load, mode):
    assert len(samples) >= 2, f"{len(samples)} samples"
    assert {s["attach"] for s in samples} == {mode}
    last = samples[-1]
    tot, hw, io, ev = (last["summary"]["total"], last["summary"]["hwpt_total"],
                       last["summary"]["ioas_total"], last["summary"]["events"])
    drv, pri = load["driver"], load["pri"]

    # nestload's own counts
    assert tot["dma_ops"] == load["dma_ops"] == drv["dma_ops"] == ev["nest_dma"]
    assert tot["dma_bytes"] == load["dma_bytes"] == drv["dma_bytes"]
    assert tot["dma_faulted"] == load["dma_faults"]
    assert hw["inv_entries"] == load["inv_entries"] == ev["nest_invalidate"]
    # the driver's GET_STATS of nestload's objects
    for key in ("translations", "iotlb_hits", "devtlb_hits", "walk_mem_refs"):
        assert tot[key] == drv[key], f"{key}: iommutop {tot[key]}, driver {drv[key]}"
    # The driver's walks include the walks that faulted.
    assert tot["walks"] + tot["faults"] - tot["faults_injected"] - tot["faults_no_hwpt"] == drv["walks"]
    assert tot["faults"] == drv["faults"] == ev["nest_fault"]
    assert tot["page_requests"] == drv["pri_page_requests"] == pri["pages"] == ev["nest_page_request"]
    assert tot["pr_groups"] == drv["pri_groups"] == pri["groups"]
    assert tot["pr_success"] == drv["pri_success"] and tot["pr_responses"] == drv["pri_groups"]
    assert tot["pr_invalid"] == drv["pri_invalid"] + drv["pri_auto_invalid"]
    assert tot["pr_auto"] == drv["pri_auto_invalid"]
    for key in ("inv_iotlb", "inv_dev_iotlb", "inv_pasid", "inv_dropped"):
        assert hw[key] == drv[key], f"{key}: iommutop {hw[key]}, driver {drv[key]}"
    assert io["maps"] == drv["map_ops"]
    # nestload's teardown removes what was still mapped at its GET_STATS.
    assert io["unmaps"] == drv["unmapped_areas"] + drv["mappings"]
    assert last["summary"]["pr_outstanding"] == 0 and last["summary"]["pr_oldest_s"] is None
    assert last["cost"]["total"]["events_lost"] == 0
    # Every event ran exactly one program, and the run-time statistics saw it.
    assert last["cost"]["total"]["bpf_runs"] == sum(ev.values())
    assert sum(b["total"] for b in last["latency_hist"]) == tot["pr_responses"]

    # the rows: 2 devices x PASIDs 1 and 2, and their sums
    devs = last["devices"]
    assert len(devs) == 4 and sorted(d["pasid"] for d in devs) == [1, 1, 2, 2], devs
    assert len({d["dev"] for d in devs}) == 2
    for key in ("dma_ops", "translations", "page_requests"):
        assert sum(d["total"][key] for d in devs) == tot[key]
    assert sum(h["total"]["translations"] for h in last["hwpts"]) == tot["translations"]
    if tot["pr_responses"]:
        assert last["summary"]["lat_p50_s"] is None or last["summary"]["lat_p50_s"] > 0

    # rates: each interval's rate x interval is the interval's count
    check_rates(samples, lambda s: s["summary"]["total"]["dma_ops"],
                lambda s: s["summary"]["rate"]["dma_ops"], "dma_ops")
    check_rates(samples, lambda s: s["summary"]["total"]["translations"],
                lambda s: s["summary"]["rate"]["translations"], "translations")
    check_rates(samples, lambda s: s["summary"]["total"]["page_requests"],
                lambda s: s["summary"]["rate"]["page_requests"], "page_requests")
    check_rates(samples, lambda s: s["summary"]["hwpt_total"]["inv_entries"],
                lambda s: s["summary"]["rate"]["invalidations"], "invalidations")
    for d in devs:
        key = (d["dev"], d["pasid"])

        def row(s, key=key):
            return next((x for x in s["devices"] if (x["dev"], x["pasid"]) == key),
                        {"total": {"dma_bytes": 0}, "rate": {"dma_bytes": 0}})
        check_rates(samples, lambda s: row(s)["total"]["dma_bytes"],
                    lambda s: row(s)["rate"]["dma_bytes"], f"dma_bytes of {key}")
    # Samples come in time order. (How late they may be depends on the
    # machine: the deadline grid itself is the model's samples_stay_on_their_grid.)
    times = [s["time"] for s in samples]
    assert times == sorted(times) and len(set(times)) == len(times), times


def dmaloop_events(n, every):
    """The events of `dmaloop -n N -i EVERY -s`: test_driver.py's
    dmaloop_expected(n, every), plus the IOAS's one map and its unmap at
    close."""
    return {"nest_translate": n + 2, "nest_dma": n + 3, "nest_fault": 1,
            "nest_invalidate": n // every, "nest_attach": 1, "nest_detach": 1,
            "nest_stale_translation": 1, "nest_map": 1, "nest_unmap": 1,
            "nest_fault_queue_overflow": 0, "nest_page_request": 0,
            "nest_page_response": 0, "nest_page_request_timeout": 0,
            "nest_map_error": 0, "nest_fail_site": 0}


def test_batch_json_dmaloop_exact_events(guest):
    set_module(guest, "loaded")
    n, every = 500, 50
    out, err = results(guest, "dmaloop.jsonl"), results(guest, "dmaloop.err")
    script = start_top(f"-j -d {DELAY}", out, err) + f"{DMALOOP} -n {n} -i {every} -s\n" + STOP_TOP
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output, r.output
    assert f"dmas={n + 3} invalidations={n // every} faults=1 stale=1" in r.output
    last = read_json_lines(out)[-1]
    ev = last["summary"]["events"]
    assert ev == dmaloop_events(n, every)
    [dev] = last["devices"]
    t = dev["total"]
    assert dev["pasid"] == 1 and dev["hwpt"] is None  # detached at the end
    assert (t["dma_ops"], t["dma_faulted"], t["translations"], t["faults"], t["stale"]) == (n + 3, 1, n + 3, 1, 1)
    assert t["dma_bytes"] == 64 * (n + 2)
    assert t["devtlb_hits"] + t["iotlb_hits"] + t["walks"] + t["faults"] == t["translations"]
    # Every walk of a 4-level stage 1 over a 4-level stage 2: (4+1)x(4+1)-1.
    assert t["walks"] > 0 and t["walk_mem_refs"] == 24 * t["walks"]
    [hwpt] = [h for h in last["hwpts"] if h["total"]["inv_entries"]]
    inv = hwpt["total"]
    assert (inv["inv_entries"], inv["inv_iotlb"], inv["inv_dev_iotlb"], inv["inv_pasid"]) == (n // every,) * 4
    assert inv["stale"] == 1 and inv["faults"] == 1
    [fault] = last["faults"]
    assert (fault["dev"], fault["pasid"], fault["hwpt"], fault["stage"], fault["reason"], fault["origin"],
            fault["total"]["faults"]) == (dev["dev"], 1, hwpt["hwpt"], 1, "pte_fetch", "organic", 1)


def test_in_kernel_filter(guest):
    set_module(guest, "loaded")
    out, err, nl = results(guest, "filter.jsonl"), results(guest, "filter.err"), results(guest, "filter-nl.json")
    args = "--devices 2 --pasids 2 --ops 800 --json -q"
    script = (start_top(f"-j -d {DELAY} --pasid 2", out, err) + f"{NESTLOAD} {args} > {nl}\n" + STOP_TOP
              + f"{TOP} -b -n 1 -d 0.1 --dev 7 --pasid rid | head -2\n")
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output, r.output
    first, header = r.output.splitlines()[-2:]
    assert ATTACHED_TEXT.match(first) and header.startswith("iommutop "), r.output
    assert re.search(r"^iommutop .* collecting dev=7 pasid=rid$", header), r.output
    with open(nl) as f:
        load = json.load(f)
    last = read_json_lines(out)[-1]
    devs = last["devices"]
    # Only PASID 2 is counted; the event totals see everything.
    assert len(devs) == 2 and {d["pasid"] for d in devs} == {2}, devs
    assert last["summary"]["events"]["nest_dma"] == load["dma_ops"] == 800
    assert 0 < last["summary"]["total"]["dma_ops"] < 800


# ---- the attached line, and starting over a workload (guest) ---------------------


def test_attached_line_comes_first(guest):
    """-b and -j: the first line says every program is attached, in which
    mode; the samples follow."""
    set_module(guest, "loaded")
    r = run(guest, f"{TOP} -b -n 1 -d 0.1 | head -2; {TOP} -j -n 1 -d 0.1 --attach raw_tp | head -2")
    assert r.rc == 0, r.output
    text, header, attached, sample = r.output.splitlines()[-4:]
    m = ATTACHED_TEXT.match(text)
    assert m and m.groups() == (str(PROGRAMS), "tp_btf"), r.output
    assert header.startswith("iommutop "), r.output
    j = json.loads(attached)
    assert sorted(j) == ["attach", "event", "programs", "time"], j
    assert (j["event"], j["attach"], j["programs"]) == ("attached", "raw_tp", PROGRAMS), j
    assert "interval_s" in json.loads(sample) and "event" not in json.loads(sample)


def test_attached_line_means_counting(guest):
    """A script that waits for the attached line and then runs its workload
    gets every event, with no sample before it (-d 3600): the last sample
    (SIGINT) has dmaloop's exact counts."""
    set_module(guest, "loaded")
    n, every = 200, 50
    out, err = results(guest, "attached.jsonl"), results(guest, "attached.err")
    script = start_top("-j -d 3600", out, err) + f"{DMALOOP} -n {n} -i {every} -s\n" + STOP_TOP
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output, r.output
    [sample] = read_json_lines(out)
    assert sample["summary"]["events"] == dmaloop_events(n, every)


def test_sighup_while_starting(guest):
    """A SIGHUP while iommutop starts (its programs not attached yet) neither
    kills it nor is lost: the log is reopened and gets every sample.

    No race with the start-up: -L names a symlink to a FIFO, whose open
    cannot return before a reader opens it, and iommutop opens its log
    before it loads its programs. Once iommutop sleeps in that openat (the
    only open that can sleep here), the symlink is pointed at a regular
    file, the SIGHUP is sent, and a reader opens the FIFO: the start-up goes
    on, and the reopen for the SIGHUP, after the attach, opens the file."""
    set_module(guest, "loaded")
    fifo = "/tmp/iommutop-start.fifo"  # the guest's tmpfs: a FIFO on 9p does not work
    link = "/tmp/iommutop-start.csv"
    before, after = results(guest, "start.0.csv"), results(guest, "start.1.csv")
    out, nl = results(guest, "start.jsonl"), results(guest, "start-nl.json")
    script = (f"rm -f {fifo} {link} {before} {after}; mkfifo {fifo}; ln -s {fifo} {link}\n"
              f"{TOP} -j -d {DELAY} -L {link} > {out} & top=$!\n"
              f"i=0; until [ \"$(cut -d' ' -f1 /proc/$top/syscall 2>/dev/null)\" = 257 ] && "
              f"[ \"$(cut -d' ' -f3 /proc/$top/stat)\" = S ] || [ $i -gt 1200 ]; do "
              f"sleep 0.05; i=$((i + 1)); done\n"
              f"ln -sfn {after} {link}\n"
              f"kill -HUP $top\n"
              f"grep -q attached {out} && echo attached_before_sighup\n"
              f"cat {fifo} > {before}\n"
              + wait_attached(out) +
              f"kill -0 $top && echo alive\n"
              f"{NESTLOAD} --devices 1 --pasids 2 --ops 300 --json -q > {nl}\n"
              + STOP_TOP)
    r = run(guest, script)
    assert "attached_before_sighup" not in r.output, "the SIGHUP did not come during the start-up"
    assert r.rc == 0 and "alive" in r.output and "top_rc=0" in r.output, r.output
    with open(before) as f:
        assert f.read().count("\n") == 1, "the log before the SIGHUP has only its header"
    with open(after) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith("time,interval_s,dev,pasid,"), lines[:2]
    rows = list(csv.DictReader(lines))
    dma = sum(float(x["dma_ops"]) * float(x["interval_s"]) for x in rows if x["dev"] == "all")
    assert abs(dma - 300) < 0.01 * 300, f"the reopened log counts {dma} DMAs, nestload did 300"
    assert read_json_lines(out)[-1]["summary"]["total"]["dma_ops"] == 300


# A busy PRI workload that runs until SIGINT: pages of the working set go
# missing again and again, so page requests never stop.
BUSY_PRI = ("--devices 2 --pasids 2 --threads 1 --working-set 16 --fault-pct 50 "
            "--refault-every 32 --duration 3600 --json")


@pytest.mark.parametrize("mode, starts", [("tp_btf", 10), ("raw_tp", 6)])
def test_no_phantom_outstanding_requests(guest, mode, starts):
    """iommutop started STARTS times, one after the other, over a busy PRI
    workload: once the workload has ended (every group answered: its
    process is gone), every one of them shows no outstanding page request,
    and no device attached. Attaching page_request before page_response
    left a group answered in between outstanding for ever."""
    set_module(guest, "loaded")
    prefix, nl, nl_err = results(guest, f"starts-{mode}"), results(guest, "busy.json"), results(guest, "busy.err")
    loop = "".join(f"{TOP} -j -d 3600 --attach {mode} > {prefix}.{i} 2>&1 & top=$!; tops=\"$tops $top\"\n"
                   + wait_attached(f"{prefix}.{i}") for i in range(starts))
    script = (f"{NESTLOAD} {BUSY_PRI} > {nl} 2> {nl_err} & load=$!\n"
              # busy: its first progress line counts page request groups
              f"i=0; until grep -q ' [1-9][0-9]* page request groups' {nl_err}; do "
              f"kill -0 $load && [ $i -lt 600 ] || break; sleep 0.1; i=$((i + 1)); done\n"
              "tops=\n" + loop +
              "kill -INT $load; wait $load; echo load_rc=$?\n"
              "for top in $tops; do kill -INT $top; wait $top; echo top_rc=$?; done\n")
    r = run(guest, script, timeout=900)
    assert r.rc == 0 and "load_rc=0" in r.output, r.output
    assert r.output.count("top_rc=0") == starts, r.output
    with open(nl) as f:
        load = json.load(f)
    assert load["interrupted"] and load["pri"]["groups"] > 0, load
    seen, wrong = [], []
    for i in range(starts):
        last = read_json_lines(f"{prefix}.{i}")[-1]
        summ, ev = last["summary"], last["summary"]["events"]
        seen.append(summ["total"]["page_requests"])
        if (summ["pr_outstanding"], summ["pr_outstanding_groups"], summ["pr_oldest_s"]) != (0, 0, None):
            wrong.append(f"start {i}: {summ['pr_outstanding_groups']} groups outstanding ({summ['pr_outstanding']} "
                         f"pages, oldest {summ['pr_oldest_s']} s); nest_page_request {ev['nest_page_request']}, "
                         f"nest_page_response {ev['nest_page_response']}, nest_page_request_timeout {ev['nest_page_request_timeout']}")
        wrong += [f"start {i}: device row {d}" for d in last["devices"]
                  if d["pr_outstanding"] or d["hwpt"] is not None]
    assert not wrong, f"{mode}, {starts} starts:\n" + "\n".join(wrong)
    # Each start but the last ran while page requests were flowing.
    assert all(seen[:-1]), seen


# ---- the CSV log across SIGHUP (guest) -------------------------------------------


def test_csv_log_reopened_on_sighup(guest):
    set_module(guest, "loaded")
    log, rotated = results(guest, "log.csv"), results(guest, "log.1.csv")
    nl1, nl2 = results(guest, "csv-nl1.json"), results(guest, "csv-nl2.json")
    out = results(guest, "log.out")
    args = "--devices 1 --pasids 2 --ops {} --json -q"
    # Each log gets at least one sample (a condition, waited for).
    script = (f"rm -f {log} {rotated}\n"
              f"{TOP} -q -d {DELAY} -L {log} > {out} & top=$!\n"
              + wait_attached(out) +
              f"{NESTLOAD} {args.format(800)} > {nl1}\n"
              f"i=0; while [ $(cat {log} 2>/dev/null | wc -l) -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n"
              f"mv {log} {rotated}; kill -HUP $top\n"
              f"i=0; while [ $(cat {log} 2>/dev/null | wc -l) -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n"
              f"{NESTLOAD} {args.format(500)} > {nl2}\n"
              + STOP_TOP)
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output, r.output
    with open(out) as f:
        assert ATTACHED_TEXT.match(f.read().rstrip("\n")), "-q prints only the attached line"
    dma = 0
    for path in (rotated, log):
        with open(path) as f:
            text = f.read()
        lines = text.splitlines()
        assert lines[0].startswith("time,interval_s,dev,pasid,hwpt,dma_ops,"), lines[:2]
        assert text.count("time,interval_s") == 1, f"{path}: more than one header"
        rows = list(csv.DictReader(lines))
        assert rows and rows[-1]["dev"] == "all", rows[-3:]
        dma += sum(float(x["dma_ops"]) * float(x["interval_s"]) for x in rows if x["dev"] == "all")
    with open(nl1) as f1, open(nl2) as f2:
        want = json.load(f1)["dma_ops"] + json.load(f2)["dma_ops"]
    # Nothing is lost or counted twice across the reopen.
    assert abs(dma - want) < 0.01 * want, f"the logs count {dma} DMAs, nestload did {want}"


# ---- the exporter (guest) ----------------------------------------------------------

PORT = 9464
# Runs in the guest, after the workload: GET /metrics plain and asking for
# OpenMetrics, and a path that does not exist. A bare HTTP/1.1 client on a
# socket: importing urllib takes seconds under TCG.
SCRAPE = r'''
import json, socket, sys
port, out = int(sys.argv[1]), sys.argv[2]

def get(path, accept):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: %s\r\n"
               "Connection: close\r\n\r\n" % (path, accept)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(l.split(": ", 1) for l in lines[1:])
    assert int(headers["Content-Length"]) == len(body), "Content-Length is not the body's"
    return int(lines[0].split()[1]), headers.get("Content-Type"), body.decode()

meta = {}
for name, accept in (("prom", "text/plain"),
                     ("om", "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5")):
    status, ctype, body = get("/metrics", accept)
    meta[name] = {"status": status, "type": ctype}
    open("%s.%s" % (out, name), "w").write(body)
meta["404"] = get("/nothing", "*/*")[0]
json.dump(meta, open(out + ".meta", "w"))
'''


def sum_samples(fams, sample, **labels):
    """The sum of the samples named SAMPLE with LABELS (of any family)."""
    return sum(v for fam in fams.values() for n, l, v in fam["samples"]
               if n == sample and all(l.get(k) == x for k, x in labels.items()))


def test_exporter_scraped_over_loopback(guest):
    set_module(guest, "loaded")
    scrape, out = results(guest, "scrape.py"), results(guest, "metrics")
    nl, top_out = results(guest, "exporter-nl.json"), results(guest, "exporter.out")
    with open(scrape, "w") as f:
        f.write(SCRAPE)
    # The attached line comes once the exporter listens too.
    script = (f"{TOP} -q --listen 127.0.0.1:{PORT} > {top_out} & top=$!\n"
              + wait_attached(top_out) +
              f"{NESTLOAD} --devices 2 --pasids 1 --ops 600 --fault-pct 20 --json -q > {nl}\n"
              f"python3 {scrape} {PORT} {out}; echo scrape_rc=$?\n"
              + STOP_TOP)
    r = run(guest, script)
    assert r.rc == 0 and "top_rc=0" in r.output and "scrape_rc=0" in r.output, r.output
    with open(out + ".meta") as f:
        meta = json.load(f)
    assert meta["prom"] == {"status": 200, "type": "text/plain; version=0.0.4; charset=utf-8"}
    assert meta["om"] == {"status": 200, "type": "application/openmetrics-text; version=1.0.0; charset=utf-8"}
    assert meta["404"] == 404
    with open(nl) as f:
        load = json.load(f)
    for ext, om in (("prom", False), ("om", True)):
        with open(f"{out}.{ext}") as f:
            fams = parse_exposition(f.read(), om)
        names = {n[:-len("_total")] if not om and f["type"] == "counter" else n for n, f in fams.items()}
        assert names == documented_families(), \
            f"{ext}: undocumented {names - documented_families()}, not exported {documented_families() - names}"

        assert sum_samples(fams, "nestiommu_device_dma_ops_total") == load["dma_ops"] == 600
        assert sum_samples(fams, "nestiommu_device_translations_total") == load["driver"]["translations"]
        assert sum_samples(fams, "nestiommu_faults_total", origin="organic", stage="1",
                           reason="pte_fetch") == load["driver"]["faults"] > 0
        lat = "nestiommu_device_page_response_latency_seconds"
        assert sum_samples(fams, lat + "_count") == load["pri"]["groups"] > 0
        assert sum_samples(fams, lat + "_bucket", le="+Inf") == load["pri"]["groups"]
        assert sum_samples(fams, "nestiommu_events_total", event="nest_dma") == 600
        assert sum_samples(fams, "nestiommu_iommutop_attach_mode", mode="tp_btf") == 1
        assert sum_samples(fams, "nestiommu_device_page_requests_outstanding") == 0
        assert sum_samples(fams, "nestiommu_iommutop_bpf_runs_total") > 0
        dma = "nestiommu_device_dma_ops" + ("" if om else "_total")
        devs = {(l["dev"], l["pasid"]) for n, l, v in fams[dma]["samples"]}
        assert len(devs) == 2 and {p for _, p in devs} == {"1"}, devs


# ---- the interactive screen through a pty (guest) ----------------------------------

# Runs in the guest: starts iommutop on a pty, plays the steps (keys, then a
# regex the screen must match within 15 s; "@later:REGEX": a whole frame drawn
# after the step began, with no key pressed, so a sample's redraw, must
# match), keeps a plain-text copy of the screen with a minimal terminal (the
# sequences iommutop may use) and writes the screens, whether each step
# matched, the exit status and the escape sequences seen as JSON.
PTY_DRIVER = r'''
import fcntl, json, os, pty, re, select, signal, struct, subprocess, sys, termios, time

top, nestload, out = sys.argv[1].split(), sys.argv[2], sys.argv[3]
ROWS, COLS = 40, 200
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
proc = subprocess.Popen(top, stdin=slave, stdout=slave, stderr=slave,
                        start_new_session=True, env=dict(os.environ, TERM="vt100"))
os.close(slave)
screen = [[" "] * COLS for _ in range(ROWS)]
cur = [0, 0]
raw = b""
seqs = set()
pending = b""
complete = False  # the last byte seen ended a frame (CSI J)
frames = 0  # frames ended so far

def feed(data):
    global pending, complete, frames
    data = pending + data
    pending = b""
    i = 0
    while i < len(data):
        c = data[i]
        if c == 0x1b:
            m = re.match(rb"\x1b\[([0-9;?]*)([A-Za-z])", data[i:])
            if not m:
                if len(data) - i < 16:
                    pending = data[i:]
                    return
                seqs.add("ESC" + chr(data[i + 1]))
                i += 2
                continue
            params, final = m.group(1).decode(), m.group(2).decode()
            seqs.add("?" + final if params.startswith("?") else final)
            if final == "H":
                p = [int(x) if x else 1 for x in params.split(";")] if params else [1, 1]
                cur[0], cur[1] = min(p[0], ROWS) - 1, (min(p[1], COLS) - 1 if len(p) > 1 else 0)
            elif final == "K":
                for x in range(cur[1], COLS):
                    screen[cur[0]][x] = " "
            elif final == "J":
                complete = True
                frames += 1
                start = 0 if params == "2" else cur[0] + 1
                if params != "2":
                    for x in range(cur[1], COLS):
                        screen[cur[0]][x] = " "
                for y in range(start, ROWS):
                    screen[y] = [" "] * COLS
            i += m.end()
            continue
        complete = False
        if c == 0x0d:
            cur[1] = 0
            i += 1
        elif c == 0x0a:
            if cur[0] == ROWS - 1:
                screen.pop(0)
                screen.append([" "] * COLS)
            else:
                cur[0] += 1
            i += 1
        else:
            if c >= 0x20 and cur[1] < COLS:
                screen[cur[0]][cur[1]] = chr(c)
                cur[1] += 1
            i += 1

def text():
    return "\n".join("".join(r).rstrip() for r in screen)

def pump(timeout):
    global raw
    r, _, _ = select.select([master], [], [], timeout)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:
            return False
        raw += data
        feed(data)
        return bool(data)
    return True

def wait_for(regex, timeout=15, after=0):
    """Until a whole frame on screen, past the first AFTER, matches REGEX."""
    end = time.time() + timeout
    while time.time() < end:
        if complete and frames > after and re.search(regex, text(), re.M):
            return True
        if not pump(0.1) and proc.poll() is not None:
            break
    return bool(re.search(regex, text(), re.M))

steps = json.loads(sys.argv[4])
result = {"steps": []}
dev = None
for keys, regex in steps:
    if keys == "@workload":
        subprocess.run(nestload.split(), check=True)
        keys = ""
    if dev is None:
        m = re.search(r"^\s*(\d+)\s+\d+\s+", text().split("DMAB/s", 1)[-1], re.M)
        dev = m.group(1) if m else None
    keys = keys.replace("{dev}", dev or "?")
    regex = regex.replace("{dev}", dev or "?")
    if keys:
        os.write(master, keys.encode())
    if regex.startswith("@later:"):
        ok = wait_for(regex[len("@later:"):], after=frames)
    elif regex == "@exit":
        end = time.time() + 15
        while proc.poll() is None and time.time() < end:
            pump(0.1)
        ok = proc.poll() is not None
    else:
        ok = wait_for(regex)
    result["steps"].append({"keys": keys, "regex": regex, "matched": ok, "screen": text()})
    if not ok:
        break
if proc.poll() is None:
    proc.kill()
    proc.wait()
while pump(0.2):
    if not select.select([master], [], [], 0)[0]:
        break
result["rc"] = proc.returncode
result["dev"] = dev
result["seqs"] = sorted(seqs)
result["tail"] = raw[-64:].decode("latin-1")
json.dump(result, open(out, "w"))
'''

# iommutop sorts by a column the HWPT screen has and the others do not.
PTY_TOP = "-d 0.3 -s invalidations"
NO_SORT_COLUMN = "no column 'invalidations' on the {} screen: sorted by {}"
# (keys, regex the screen must then match); {dev} is the first device row's.
PTY_STEPS = [
    ("", r"^iommutop .* devices 0"),
    ("", "@later:" + NO_SORT_COLUMN.format("devices", "XLATE/s")),
    ("@workload", r"devices 4 "),
    ("spasid\r", r"\*PASID"),
    ("r", r"\*PASID.*\n\s*\d+\s+2\s"),
    ("/pasid=1\r", r"filter: pasid=1"),
    ("c/dev={dev}\r", r"filter: dev={dev}$"),
    ("c", r"devices 4  hwpts \d+  ioas \d+$"),
    # What the screen refuses stays said over the samples' redraws.
    ("/dev=x\r", r"^bad filter 'dev=x'"),
    ("", r"@later:^bad filter 'dev=x'"),
    ("sbogus\r", r"^no column 'bogus' on this screen"),
    ("", r"@later:^no column 'bogus' on this screen"),
    ("/dev=99999\r", r"no row passes the filter"),
    ("c", r"devices 4  hwpts \d+  ioas \d+$"),
    ("2", r"HWPT\s+\*?XLATE/s"),
    ("3", "@later:" + NO_SORT_COLUMN.format("faults", "FLT/s")),
    # The workload is over: once an interval has no response, the bars
    # show the distribution since start (INTERVAL 0, TOTAL n, bar).
    ("4", r"DISTRIBUTION \(since start\)\n(\s+[\d.]+[mun]?s\s+0\s+[1-9]\d*\s+#+\n?)+"),
    ("1h", r"Columns of the devices screen"),
    ("x", r"\[devices\] q quit"),
    ("q", "@exit"),
]


def device_rows(screen):
    """(dev, pasid) of the device table's rows, in screen order."""
    body = screen.split("DMAB/s", 1)[1].splitlines()[1:]
    rows = []
    for line in body:
        m = re.match(r"^\s*(\d+)\s+(\d+|rid)\s", line)
        if not m:
            break
        rows.append((m.group(1), m.group(2)))
    return rows


def test_interactive_screen_through_pty(guest):
    set_module(guest, "loaded")
    driver, out = results(guest, "pty_driver.py"), results(guest, "pty.json")
    with open(driver, "w") as f:
        f.write(PTY_DRIVER)
    workload = f"{NESTLOAD} --devices 2 --pasids 2 --ops 400 --fault-pct 10 -q"
    top = shlex.quote(f"{TOP} {PTY_TOP}")
    r = run(guest, f"python3 {driver} {top} {shlex.quote(workload)} {out} {shlex.quote(json.dumps(PTY_STEPS))}")
    assert r.rc == 0, r.output
    with open(out) as f:
        res = json.load(f)
    steps = res["steps"]
    for s in steps:
        assert s["matched"], f"after keys {s['keys']!r} the screen never matched {s['regex']!r}:\n{s['screen']}"
    assert len(steps) == len(PTY_STEPS)
    by_keys = {s["keys"]: s["screen"] for s in steps}

    # the device screen after the workload: 4 rows, header and cost lines
    screen = steps[2]["screen"]
    assert len(device_rows(screen)) == 4, screen
    assert re.search(r"^cost: BPF [\d.]+% CPU", screen, re.M), screen
    assert re.search(r"^\s*DEV\s+PASID\s+HWPT\s+DMA/s\s+DMAB/s\s+\*XLATE/s", screen, re.M), screen
    # sorted by PASID (ties by device), then reversed
    rows = device_rows(by_keys["spasid\r"])
    assert [p for _, p in rows] == ["1", "1", "2", "2"] and int(rows[0][0]) < int(rows[1][0]), rows
    rows_r = device_rows(by_keys["r"])
    assert [p for _, p in rows_r] == ["2", "2", "1", "1"] and int(rows_r[0][0]) < int(rows_r[1][0]), rows_r
    # filtered by PASID, then by device
    assert {p for _, p in device_rows(by_keys["/pasid=1\r"])} == {"1"}
    assert len(device_rows(by_keys["/pasid=1\r"])) == 2
    dev_rows = device_rows(steps[6]["screen"])
    assert len(dev_rows) == 2 and {d for d, _ in dev_rows} == {res["dev"]}, dev_rows
    assert len(device_rows(steps[7]["screen"])) == 4
    assert device_rows(by_keys["/dev=99999\r"]) == []
    # the other screens
    assert "IOAS" in by_keys["2"] and re.search(r"^\s*IOAS\s+\*?MAP/s", by_keys["2"], re.M)
    # -s invalidations sorts the HWPTs, and the HWPT screen says nothing
    assert re.search(r"^\s*HWPT\s+XLATE/s.*\*INV/s", by_keys["2"], re.M), by_keys["2"]
    assert "no column" not in by_keys["2"] and "[hwpts] q quit" in by_keys["2"]
    assert re.search(r"pte_fetch\s+organic", by_keys["3"]), by_keys["3"]
    assert re.search(r"^\s+[\d.]+[mun]?s\s+\d+\s+\d+\s+#+", by_keys["4"], re.M), by_keys["4"]
    assert "dma_ops" in by_keys["1h"] and "sort by a column, by name" in by_keys["1h"]
    # q quits cleanly, the cursor comes back; only the plain sequences
    assert res["rc"] == 0, res
    assert "\x1b[?25h" in res["tail"], repr(res["tail"])
    assert set(res["seqs"]) <= {"H", "K", "J", "m", "?l", "?h"}, res["seqs"]
