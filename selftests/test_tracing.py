"""Tracing: the events' symbolic fields in every consumer, and their numbers.

The events print reasons, codes, caches, granularities, access bits and
injected marks by name (__print_symbolic / __print_flags in kernel/trace.h).
The kernel's trace file evaluates those tables itself; perf and trace-cmd
read them from the format files, so the format files must hold numbers.
In one guest with the module loaded, these tests check the format files,
then drive every event with the workloads (maploop, dmaloop, nestload and
hook_test's page-request injection cases) under the trace file, perf
record + perf script and trace-cmd record + report, and check that every
symbolic field prints names only. On the host: README.md's table of the
numbers equals what tools/scripts/trace_values.py generates; in the guest
README.md's recipes, run as printed, find the one fault they promise (an
event filter) and count the faults by reason, stage and level (a hist
trigger).

Run with /usr/bin/python3 -m pytest -v selftests/test_tracing.py.
"""

import importlib.util
import os
import re
import subprocess

import pytest

from conftest import run

# The guest fixture (conftest.py) loads the module; this fails a test during
# which the guest console showed kernel errors.
pytestmark = pytest.mark.usefixtures("_no_kernel_errors")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "tools", "scripts", "trace_values.py")
README = os.path.join(REPO, "README.md")
EVENTS_DIR = "/sys/kernel/tracing/events/nestiommu"
# For conftest.py's guest fixture.
GUEST_MEM = "2G"
GUEST_NEEDS = ("build/selftests/maploop", "build/selftests/dmaloop",
               "build/selftests/hook_test", "build/tools/nestload")

# hook_test cases whose BPF programs mark page requests and responses
# (forced, dropped, duplicated, last_cleared; code, delayed) and answer
# INVALID and FAILURE.
HOOK_CASES = (
    "prihook.pasid.forced_page_request_answered_invalid",
    "prihook.pasid.dropped_group_answered_by_timeout",
    "prihook.pasid.duplicated_group_records_queued_twice",
    "prihook.pasid.cleared_last_page_group",
    "prihook.pasid.set_code_failure_disables_pri_until_reset",
    "prihook.pasid.delayed_response_delivered_late",
    "fail.tlb.sweep",
    "map.injected_error_fails_map_and_pins_nothing",
    "map.organic_failure_traced_not_injected",
)

# Every event: maploop (nest_map, nest_unmap, nest_hook_map), dmaloop with the auditor (an
# ATS device: walks and device-TLB hits, PASID invalidations, one stage-1
# PTE_FETCH fault, one stale translation), nestload (IOTLB hits, reads,
# page requests answered SUCCESS, ADDR invalidations), then the hook cases.
# The workload's own output goes to WORKLOAD_LOG in the guest, printed
# only when something failed (WORKLOAD_FAILED, with $rc set), so a failure
# says which part.
WORKLOAD_LOG = "/tmp/workload.log"
WORKLOAD_FAILED = f'{{ echo "workload or tracer failed (rc $rc):"; tail -n 60 {WORKLOAD_LOG}; exit $rc; }}'
WORKLOAD = " && ".join([
    "build/selftests/maploop -n 2",
    "build/selftests/dmaloop -n 20 -p 4 -i 5 -s",
    "build/tools/nestload --ops 300 --devices 1 --pasids 2 --fault-pct 50"
    " --s1-change-every 25 -q",
    "build/selftests/hook_test " + " ".join(f"-t {c}" for c in HOOK_CASES),
])

# Lines each consumer must show: (event, {printed key: value}), all of the
# keys on one line.
EXPECTED = [
    ("nest_map", {"prot": "R|W"}),
    ("nest_unmap", {"prot": "R|W"}),
    ("nest_translate", {"iova": "0x10000000", "access": "W", "source": "walk"}),
    ("nest_translate", {"iova": "0x10000000", "access": "W", "source": "devtlb"}),
    ("nest_translate", {"access": "R", "source": "iotlb"}),
    ("nest_dma", {"access": "W"}),
    ("nest_dma", {"access": "R"}),
    ("nest_dma_start", {"access": "W"}),
    ("nest_walk_start", {"iova": "0x10200000", "access": "W"}),
    ("nest_walk_end", {"iova": "0x10000000", "reason": "none"}),
    ("nest_walk_end", {"iova": "0x10200000", "reason": "pte_fetch"}),
    ("nest_fault", {"iova": "0x10200000", "access": "W", "stage": "1", "level": "2",
                    "reason": "pte_fetch"}),
    ("nest_stale_translation", {"iova": "0x10000000", "source": "devtlb",
                                "walk_fault": "none"}),
    ("nest_invalidate", {"cache": "iotlb|dev_iotlb|pasid", "granu": "pasid"}),
    ("nest_invalidate", {"cache": "iotlb", "granu": "addr"}),
    ("nest_hook_invalidate", {"cache": "iotlb|dev_iotlb|pasid", "granu": "pasid"}),
    ("nest_hook_invalidate", {"cache": "iotlb", "granu": "addr"}),
    ("nest_hook_translate", {"iova": "0x10000000", "access": "W"}),
    ("nest_hook_translate", {"access": "R"}),
    ("nest_page_request", {"perm": "R", "injected": ""}),
    ("nest_page_request", {"perm": "W", "injected": ""}),
    ("nest_page_request", {"injected": "forced"}),
    ("nest_page_request", {"injected": "dropped"}),
    ("nest_page_request", {"injected": "duplicated"}),
    ("nest_page_request", {"injected": "last_cleared"}),
    ("nest_page_response", {"code": "success", "auto": "0", "injected": ""}),
    ("nest_page_response", {"code": "invalid", "auto": "0"}),
    ("nest_page_response", {"code": "invalid", "auto": "1"}),
    ("nest_page_response", {"code": "failure", "injected": "code"}),
    ("nest_page_response", {"code": "success", "injected": "delayed"}),
    ("nest_hook_page_response", {"code": "success"}),
    ("nest_hook_fail_site", {"site": "object"}),
    ("nest_fail_site", {"site": "tlb", "errno": "-12"}),
    ("nest_map_error", {"errno": "-1", "injected": "1"}),
    ("nest_map_error", {"errno": "-17", "injected": "0"}),
]


def trace_values():
    spec = importlib.util.spec_from_file_location("trace_values", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def symbolic_fields():
    """{event: {printed key: (kind, {names})}} from the generated table."""
    out = {}
    for row in trace_values().table():
        names = {name for _, name, _ in row["values"]}
        for use in row["uses"]:
            out.setdefault(use["event"], {})[use["key"]] = (row["kind"], names)
    return out


# ---- the generated table (host) ------------------------------------------------


def test_readme_table_is_generated():
    r = subprocess.run([SCRIPT, "--check", README], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_table_covers_reasons_stages_codes_caches_granularities_access():
    rows = {row["source"]: row for row in trace_values().table()}
    for enum in ("nestiommu_fault_reason", "nestiommu_fault_stage",
                 "nestiommu_page_response_code", "nestiommu_inv_cache",
                 "nestiommu_inv_granularity", "nestiommu_access"):
        assert enum in rows, f"no rows for {enum}"
    reasons = {c: v for v, _, c in rows["nestiommu_fault_reason"]["values"]}
    assert reasons["NESTIOMMU_FAULT_REASON_PTE_FETCH"] == 5
    assert "NESTIOMMU_FAULT_REASON_NR" not in reasons
    codes = {name: v for v, name, _ in rows["nestiommu_page_response_code"]["values"]}
    assert codes == {"success": 0, "invalid": 1, "failure": 15}


def test_script_rejects_a_stale_readme(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(open(README).read().replace("| pte_fetch |", "| pte_fetch_old |"))
    r = subprocess.run([SCRIPT, "--check", str(stale)], capture_output=True, text=True)
    assert r.returncode == 1 and "out of date" in r.stderr, r.stderr
    r = subprocess.run([SCRIPT, "--update", str(stale)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert stale.read_text() == open(README).read()


# ---- the guest -------------------------------------------------------------------


@pytest.fixture(scope="module")
def formats(guest):
    """{event: the arguments of its print fmt (after the format string)}."""
    r = run(guest, f"cd {EVENTS_DIR} && for e in */; do "
                   f"echo \"${{e%/}} $(grep '^print fmt:' $e/format)\"; done")
    assert r.rc == 0, r.output
    out = {}
    for line in r.output.splitlines():
        m = re.fullmatch(r'(\w+) print fmt: "(?:[^"\\]|\\.)*"(.*)', line)
        assert m, f"unexpected format line: {line}"
        out[m.group(1)] = m.group(2)
    assert {"nest_fault", "nest_page_response", "nest_invalidate", "nest_hook_invalidate"} <= set(out), \
        out.keys()
    return out


def test_format_files_hold_no_identifiers(formats):
    # What libtraceevent cannot resolve: any name left in a print table.
    bad = {}
    for event, args in formats.items():
        names = set(re.findall(r"\b[A-Za-z_]\w*", re.sub(r'"[^"]*"|REC->\w+', "", args)))
        names -= {"__print_symbolic", "__print_flags"}
        if names:
            bad[event] = sorted(names)
    assert not bad, f"identifiers in print fmt: {bad}"


def test_format_tables_are_the_generated_table(formats):
    """The tables the format files give user space are the README's."""
    mod = trace_values()

    def value(expr):
        try:
            return mod.eval_c(expr, {})
        except (KeyError, ValueError):
            return expr  # a name libtraceevent cannot resolve either

    seen = {}
    for event, args in formats.items():
        for kind, field, table in re.findall(
                r'__print_(symbolic|flags)\(REC->(\w+),(?: "\|",)?((?: \{ [^{}]+ \},?)+)\)', args):
            pairs = re.findall(r'\{ ([^{}]+), "([^"]*)" \}', table)
            seen[(event, field)] = (kind, {value(v): n for v, n in pairs})
    want = {}
    for row in mod.table():
        if row["kind"] == "number":
            continue
        for use in row["uses"]:
            want[(use["event"], use["field"])] = (row["kind"], {v: n for v, n, _ in row["values"]})
    assert seen == want


def event_lines(output, events):
    """[(event, {key: value})] of the event lines of a consumer's OUTPUT."""
    line_re = re.compile(rf"\s(?:nestiommu:)?({'|'.join(sorted(events, key=len, reverse=True))}):"
                         r"\s+(\w+=.*)$")
    out = []
    for line in output.splitlines():
        m = line_re.search(line)
        if m:
            out.append((m.group(1), dict(re.findall(r"(\w+)=(\S*)", m.group(2)))))
    return out


def check_symbolic(output, events, what):
    lines = event_lines(output, events)
    fields = symbolic_fields()
    bad = []
    for event, kv in lines:
        for key, (kind, names) in fields.get(event, {}).items():
            value = kv.get(key)
            if kind == "number":
                ok = value is not None and value.isdigit()
            elif kind == "flags":
                ok = value is not None and "0x" not in value and \
                    (value == "" or set(value.split("|")) <= names)
            else:
                ok = value in names
            if not ok:
                bad.append(f"{event}: {key}={value}")
    assert not bad, f"{what}: symbolic fields printed as numbers or unknown names " \
                    f"(first of {len(bad)}): {sorted(set(bad))[:20]}"
    seen = {e for e, _ in lines}
    assert set(fields) <= seen, f"{what}: no lines of {sorted(set(fields) - seen)}"
    missing = [(e, want) for e, want in EXPECTED
               if not any(e == ev and want.items() <= kv.items() for ev, kv in lines)]
    assert not missing, f"{what}: no line with {missing}"


def test_trace_file_prints_names(guest, formats):
    t = "/sys/kernel/tracing"
    r = run(guest, f"""
        echo 0 > {t}/tracing_on && echo > {t}/trace && echo 8192 > {t}/buffer_size_kb &&
        echo 1 > {EVENTS_DIR}/enable && echo 1 > {t}/tracing_on || exit 99
        ( {WORKLOAD} ) > {WORKLOAD_LOG} 2>&1; rc=$?
        echo 0 > {t}/tracing_on; echo 0 > {EVENTS_DIR}/enable
        [ $rc = 0 ] || {WORKLOAD_FAILED}
        cat {t}/trace; echo > {t}/trace
    """, timeout=900)
    assert r.rc == 0, f"workload failed (rc {r.rc}):\n{r.output[-3000:]}"
    check_symbolic(r.output, formats, "trace file")


def test_perf_script_prints_names(guest, formats):
    r = run(guest, f"""
        export PAGER=cat
        perf record -a -q -m 4M -o /tmp/nest.data -e 'nestiommu:*' -- \
            sh -c '( {WORKLOAD} ) > {WORKLOAD_LOG} 2>&1' || {{ rc=$?; {WORKLOAD_FAILED}; }}
        perf script -i /tmp/nest.data; rc=$?; rm -f /tmp/nest.data; exit $rc
    """, timeout=900)
    assert r.rc == 0, f"perf record or script failed (rc {r.rc}):\n{r.output[-3000:]}"
    check_symbolic(r.output, formats, "perf script")


def test_trace_cmd_report_prints_names(guest, formats):
    r = run(guest, f"""
        trace-cmd record -q -b 8192 -o /tmp/nest.dat -e nestiommu \
            sh -c '( {WORKLOAD} ) > {WORKLOAD_LOG} 2>&1' > /dev/null || {{ rc=$?; {WORKLOAD_FAILED}; }}
        trace-cmd report -i /tmp/nest.dat; rc=$?; rm -f /tmp/nest.dat; exit $rc
    """, timeout=900)
    assert r.rc == 0, f"trace-cmd record or report failed (rc {r.rc}):\n{r.output[-3000:]}"
    check_symbolic(r.output, formats, "trace-cmd report")


# ---- the README's recipe -----------------------------------------------------------


def readme_recipe(name):
    """The sh block that follows <!-- recipe: NAME --> in README.md."""
    text = open(README).read()
    m = re.search(rf"<!-- recipe: {name} -->\s*```sh\n(.*?)```", text, re.S)
    assert m, f"README.md has no recipe {name}"
    return m.group(1)


def test_readme_find_one_fault_recipe(guest):
    recipe = readme_recipe("find-one-fault")
    r = run(guest, "export PAGER=cat\n" + recipe, timeout=900)
    assert r.rc == 0, f"the recipe failed (rc {r.rc}):\n{r.output[-3000:]}"
    faults = [kv for e, kv in event_lines(r.output, ["nest_fault"]) if e == "nest_fault"]
    # dmaloop's DMA past its stage-1 table, and nothing else.
    assert len(faults) == 1, f"{len(faults)} faults found:\n{r.output[-3000:]}"
    want = {"iova": "0x10200000", "stage": "1", "level": "2", "reason": "pte_fetch"}
    assert want.items() <= faults[0].items(), faults[0]
    # The filter chose it: without it the same workload records more faults.
    unfiltered = re.sub(r"--filter '[^']*'", "", recipe)
    assert unfiltered != recipe, "the recipe has no --filter"
    r = run(guest, "export PAGER=cat\n" + unfiltered, timeout=900)
    assert r.rc == 0, f"the recipe without its filter failed (rc {r.rc}):\n{r.output[-3000:]}"
    n = sum(e == "nest_fault" for e, _ in event_lines(r.output, ["nest_fault"]))
    assert n > 1, f"without the filter only {n} faults:\n{r.output[-3000:]}"


def test_readme_count_faults_recipe(guest):
    r = run(guest, readme_recipe("count-faults"), timeout=900)
    assert r.rc == 0, f"the recipe failed (rc {r.rc}):\n{r.output[-3000:]}"
    hist = {tuple(int(v) for v in m.groups()[:3]): int(m.group(4)) for m in re.finditer(
        r"^\{ reason:\s+(\d+), stage:\s+(\d+), level:\s+(\d+) \} hitcount:\s+(\d+)$",
        r.output, re.M)}
    # dmaloop's one fault, and nestload's page-request faults at level 1.
    assert hist.pop((5, 1, 2), None) == 1, r.output[-3000:]
    assert list(hist) == [(5, 1, 1)] and hist[(5, 1, 1)] > 1, r.output[-3000:]
    r = run(guest, "cat /sys/kernel/tracing/events/nestiommu/nest_fault/trigger")
    assert "hist:" not in r.output, f"the recipe left its trigger:\n{r.output}"
