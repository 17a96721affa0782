"""perf-based latency profiling: the start/end tracepoints and nestiommu-perf.

On the host: every bad option of tools/perf/nestiommu-perf exits 2 with a
one-line message; a missing, unreadable, corrupt or truncated file exits
3, a perf.data of another workload (sched:sched_switch) 4; record without
the module exits 1; profile runs nestiommu-profile from the wrapper's
directory with its arguments and status, or says it is missing.

In one guest with the module loaded: for a fixed nestload mix, `perf
stat` counts every *_start event equal to its end event and both equal to
what nestload and the driver counted (DMA calls, HWPT_INVALIDATE batches,
IOAS_MAP and IOAS_UNMAP calls, page-table walks, page request records
read by the handler), and the walk pair fires only where the caches
missed. Then one `nestiommu-perf record -- nestload` of the same mix, with
iommutop -j running, is reported three ways (JSON by device sorted by
count with --hist and --top, CSV sorted by p99, text by fault reason):
the counts equal nestload's, the driver's and iommutop's exactly; the
page-request percentiles equal those recomputed from the raw
nest_page_response latency_ns values of the same perf.data (perf script)
and fall within one log2 bucket of iommutop's histogram; rows are in the
documented order; JSON and CSV parse with the documented columns. A
recording in which no operation happened exits 4.

Run with /usr/bin/python3 -m pytest -v selftests/test_perf.py.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import run

# The guest fixture (conftest.py) loads the module; this fails a test during
# which the guest console showed kernel errors.
pytestmark = pytest.mark.usefixtures("_no_kernel_errors")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NESTLOAD = "build/tools/nestload"  # the guest's cwd is the repo root
IOMMUTOP = "build/tools/iommutop"
NPERF_REL = "tools/perf/nestiommu-perf"
NPERF = os.path.join(REPO, NPERF_REL)
GUEST_MEM = "2G"  # for conftest.py's guest fixture
GUEST_NEEDS = (NESTLOAD, IOMMUTOP)

# The report's columns (tools/perf/README.md) and kinds.
CSV_COLUMNS = ["count", "total_ns", "time_pct", "min_ns", "mean_ns", "p50_ns", "p90_ns",
               "p99_ns", "max_ns"]
KINDS = ["dma", "walk", "invalidate", "map", "unmap", "page_request", "pr_queue", "pr_handle"]

# Two PRI devices x two PASIDs on two threads: IOTLB hits and misses, page
# requests, stage-1 changes with invalidations, map/unmap churn.
MIX = ("--ops 800 --devices 2 --pasids 2 --threads 2 --fault-pct 25"
       " --s1-change-every 40 --churn-every 50 --seed 3")


def nestload_json(output):
    """nestload's --json summary: the one line of OUTPUT that is an object."""
    lines = [line for line in output.splitlines() if line.startswith("{")]
    assert len(lines) == 1, f"expected one JSON line:\n{output}"
    return json.loads(lines[0])


def perf_stat_counts(output):
    """[(event, count)] of `perf stat -x,` OUTPUT, in the order of its -e
    options (an event counted twice, with and without a filter, twice)."""
    return [(m.group(2), int(m.group(1))) for m in
            re.finditer(r"^(\d+),[^,]*,nestiommu:(\w+)", output, re.M)]


def test_perf_stat_pairs_match_nestload(guest):
    events = ["nest_dma_start", "nest_dma", "nest_invalidate_start", "nest_invalidate_end",
              "nest_invalidate", "nest_map_start", "nest_map_end", "nest_unmap_start",
              "nest_unmap_end", "nest_walk_start", "nest_walk_end", "nest_fault",
              "nest_page_request", "nest_page_request_read"]
    opts = " ".join(f"-e nestiommu:{e}" for e in events)
    # Last: the translations a walk made (source 0, NESTIOMMU_XLATE_WALK).
    opts += " -e nestiommu:nest_translate --filter 'source == 0'"
    r = run(guest, f"perf stat -x, {opts} -- {NESTLOAD} -q --json {MIX}")
    assert r.rc == 0, f"perf stat or nestload failed (rc {r.rc}):\n{r.output}"
    got = perf_stat_counts(r.output)
    assert [e for e, _ in got] == events + ["nest_translate"], r.output
    c = dict(got[:-1])
    walked = got[-1][1]
    load = nestload_json(r.output)
    drv, pri = load["driver"], load["pri"]
    assert load["dma_ops"] == 800 and load["invalidations"] > 0 and load["unmaps"] > 0
    assert pri["pages"] > 0 and drv["faults"] > 0 and drv["iotlb_hits"] > 0, load

    assert c["nest_dma_start"] == c["nest_dma"] == load["dma_ops"] == drv["dma_ops"]
    # One HWPT_INVALIDATE per nestload invalidation, one nest_invalidate per entry.
    assert c["nest_invalidate_start"] == c["nest_invalidate_end"] == load["invalidations"]
    assert c["nest_invalidate"] == load["inv_entries"]
    assert c["nest_map_start"] == c["nest_map_end"] == load["maps"] == drv["map_ops"]
    assert c["nest_unmap_start"] == c["nest_unmap_end"] == load["unmaps"] == drv["unmapped_areas"]
    # A walk for each miss of both caches, whether it translated or faulted
    # (no fault is injected here, and every PASID has its HWPT).
    assert c["nest_walk_start"] == c["nest_walk_end"] == drv["walks"] == walked + c["nest_fault"]
    assert drv["walks"] == drv["translations"] - drv["iotlb_hits"] - drv["devtlb_hits"]
    # Every page request record reached the handler.
    assert c["nest_page_request_read"] == c["nest_page_request"] == pri["pages"]


# ---- the statistics, recomputed --------------------------------------------------


def nearest_rank(ordered, pct):
    """The smallest sample with at least PCT % of the samples at or below it."""
    n = len(ordered)
    rank = max(1, -(-pct * n // 100))  # ceil(pct * n / 100)
    return ordered[rank - 1]


def stats(values):
    o = sorted(values)
    return {"count": len(o), "total_ns": sum(o), "min_ns": o[0], "max_ns": o[-1],
            "p50_ns": nearest_rank(o, 50), "p90_ns": nearest_rank(o, 90),
            "p99_ns": nearest_rank(o, 99)}


def top_slot(ns):
    """iommutop's latency slot of NS (bpf/iommutop.h): 0 for 0 and 1 ns,
    else k with 2^(k-1) < ns <= 2^k."""
    return 0 if ns <= 1 else (ns - 1).bit_length()


# ---- host: the wrapper's errors ---------------------------------------------------


def nperf(*args, cwd=None, path=NPERF):
    return subprocess.run([path, *args], capture_output=True, text=True, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=120)


BAD_USAGE = [
    ([], "no subcommand"),
    (["frob"], "unknown subcommand 'frob'"),
    (["record", "-x"], "record: unknown option '-x'"),
    (["record", "-o"], "-o needs a value"),
    (["record", "-o", ""], "-o: empty file name"),
    (["record", "--duration", "0"], "--duration: '0' is not a number of seconds"),
    (["record", "--duration", "soon"], "--duration: 'soon' is not a number of seconds"),
    (["record", "--duration", "nan"], "--duration: 'nan' is not a number of seconds"),
    (["record", "--duration", "2", "--", "true"], "--duration is for system-wide recording"),
    (["record", "-a"], "-a is for a CMD"),
    (["record", "--"], "no CMD after --"),
    (["report", "--by", "ioas"], "argument --by: invalid choice: 'ioas'"),
    (["report", "--by"], "argument --by: expected one argument"),
    (["report", "--sort", "p95"], "argument --sort: invalid choice: 'p95'"),
    (["report", "--top", "0"], "argument --top: '0' is not a number 1..1000000"),
    (["report", "--top", "ten"], "argument --top: 'ten' is not a number 1..1000000"),
    (["report", "--json", "--csv"], "argument --csv: not allowed with argument --json"),
    (["report", "--csv", "--hist"], "--hist and --top have no CSV form"),
    (["report", "--csv", "--top", "3"], "--hist and --top have no CSV form"),
    (["report", "--js"], "unrecognized arguments: --js"),
    (["report", "extra"], "unrecognized arguments: extra"),
    (["report", "-i"], "-i needs a value"),
]


@pytest.mark.parametrize("args,message", BAD_USAGE, ids=[" ".join(a) or "none" for a, _ in BAD_USAGE])
def test_bad_usage(args, message, tmp_path):
    # The options are checked first: no file is read or written.
    r = nperf(*args, cwd=tmp_path)
    assert r.returncode == 2, r
    assert r.stdout == "" and r.stderr.count("\n") == 1, r
    assert r.stderr.startswith("nestiommu-perf: ") and message in r.stderr, r.stderr
    assert r.stderr.rstrip().endswith("(see nestiommu-perf --help)"), r.stderr
    assert os.listdir(tmp_path) == []


def test_help_names_every_option_and_exit_status():
    r = nperf("--help")
    assert r.returncode == 0 and r.stderr == "", r
    for word in ("record", "report", "profile", "-o FILE", "-a", "--duration S", "-- CMD ARGS",
                 "-i FILE", "--by dev|pasid|hwpt|reason", "--sort total|count|p99", "--top N",
                 "--hist", "--json", "--csv", "nearest", "Exit status", "nestiommu-profile"):
        assert word in r.stdout, word
    for kind in KINDS:
        assert kind in r.stdout, kind
    assert nperf("report", "--help").stdout == r.stdout


@pytest.fixture(scope="module")
def sched_data(tmp_path_factory):
    """A perf.data of another workload, recorded on the host."""
    path = tmp_path_factory.mktemp("sched") / "sched.data"
    r = subprocess.run(["perf", "record", "-q", "-o", str(path), "-e", "sched:sched_switch",
                        "--", "sh", "-c", "sleep 0.05"], capture_output=True, text=True)
    assert r.returncode == 0 and path.exists(), r
    return path


def test_report_of_another_workload(sched_data):
    r = nperf("report", "-i", str(sched_data))
    assert r.returncode == 4, r
    assert r.stdout == "" and r.stderr.count("\n") == 1, r
    assert re.fullmatch(
        f"nestiommu-perf: {sched_data} holds none of the nestiommu events the report reads "
        r"\(it recorded sched:sched_switch(, dummy:HG)?\): record with nestiommu-perf record\n",
        r.stderr), r.stderr


def test_report_of_missing_and_corrupt_files(sched_data, tmp_path):
    r = nperf("report", cwd=tmp_path)  # the default file
    assert r.returncode == 3 and r.stderr == (
        "nestiommu-perf: nestiommu-perf.data: no such file (record one with nestiommu-perf record)\n"), r
    garbage = tmp_path / "garbage.data"
    garbage.write_bytes(b"not a perf file\n" * 100)
    truncated = tmp_path / "truncated.data"
    truncated.write_bytes(sched_data.read_bytes()[:2000])
    for path in (garbage, truncated):
        r = nperf("report", "-i", str(path))
        assert r.returncode == 3 and r.stdout == "", r
        assert r.stderr.startswith(f"nestiommu-perf: {path}: not a perf.data file perf can read ("), r
        assert r.stderr.count("\n") == 1, r.stderr
    r = nperf("report", "-i", str(tmp_path))
    assert r.returncode == 3 and r.stderr == f"nestiommu-perf: {tmp_path}: cannot be read\n", r


@pytest.mark.skipif(os.path.isdir("/sys/module/nestiommu"), reason="the module is loaded here")
def test_record_without_module(tmp_path):
    r = nperf("record", "--", "true", cwd=tmp_path)
    assert r.returncode == 1, r
    assert r.stderr == ("nestiommu-perf: the nestiommu module is not loaded: "
                        "run insmod kernel/nestiommu.ko\n"), r.stderr
    assert os.listdir(tmp_path) == []


def test_profile_runs_nestiommu_profile_beside_it(tmp_path):
    # A copy of tools/perf without nestiommu-profile, then with one that
    # shows what it was given.
    for f in ("nestiommu-perf", "nestiommu_perf_report.py"):
        shutil.copy2(os.path.join(REPO, "tools", "perf", f), tmp_path)
    wrapper = str(tmp_path / "nestiommu-perf")
    r = nperf("profile", "--", "true", path=wrapper)
    assert r.returncode == 1 and r.stderr == (
        f"nestiommu-perf: profile needs {tmp_path}/nestiommu-profile, which is missing: "
        "it comes with nestiommu's tools/perf\n"), r
    prof = tmp_path / "nestiommu-profile"
    prof.write_text('#!/bin/sh\necho "profile: $*"\nexit 7\n')
    prof.chmod(0o755)
    # Through a symlink elsewhere: the wrapper's own directory is the real one.
    link = tmp_path / "bin"
    link.mkdir()
    (link / "nestiommu-perf").symlink_to(wrapper)
    r = nperf("profile", "-g", "--", "nestload", "--ops 5", path=str(link / "nestiommu-perf"))
    assert r.returncode == 7 and r.stdout == "profile: -g -- nestload --ops 5\n", r


# ---- guest: one recorded run, reported three ways ---------------------------------


@pytest.fixture(scope="module")
def recorded(guest):
    """nestiommu-perf record of nestload's MIX while iommutop -j runs, then
    the reports and the raw events of that perf.data, in the results dir."""
    res = guest.results_dir
    data = "/tmp/nperf.data"
    rep = f"{NPERF_REL} report -i {data}"
    script = f"""
        {IOMMUTOP} -j -d 0.5 > {res}/top.jsonl 2> {res}/top.err & top=$!
        end=$(($(date +%s) + 60))
        until grep -q '^{{"event":"attached"' {res}/top.jsonl; do
            kill -0 $top && [ $(date +%s) -lt $end ] || {{ cat {res}/top.err; exit 90; }}
            sleep 0.1
        done
        {NPERF_REL} record -o {data} -- {NESTLOAD} -q --json {MIX} > {res}/nestload.json || exit 91
        kill -INT $top; wait $top || exit 92
        {rep} --json --by dev --sort count --hist --top 3 > {res}/by_dev.json || exit 93
        {rep} --csv --sort p99 > {res}/rows.csv || exit 94
        {rep} --by reason --top 2 --hist > {res}/by_reason.txt || exit 95
        perf script -i {data} -F tid,event,trace > {res}/raw.txt 2> /dev/null || exit 96
    """
    r = run(guest, script, timeout=600)
    assert r.rc == 0, f"the recording or a report failed (rc {r.rc}):\n{r.output[-3000:]}"

    def read(name):
        with open(os.path.join(res, name)) as f:
            return f.read()

    tops = [json.loads(line) for line in read("top.jsonl").splitlines() if line.strip()]
    return {
        "load": json.loads(read("nestload.json")),
        "top": tops[-1],
        "by_dev": json.loads(read("by_dev.json")),
        "csv": read("rows.csv"),
        "text": read("by_reason.txt"),
        "raw": read("raw.txt"),
    }


def raw_events(raw, event):
    """[{key: value}] of EVENT's lines in perf script's raw output."""
    out = []
    for line in raw.splitlines():
        m = re.search(rf"\snestiommu:{event}:\s+(.*)$", line)
        if m:
            out.append(dict(re.findall(r"(\w+)=(\S*)", m.group(1))))
    return out


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def kind_counts(rows):
    out = {}
    for row in rows:
        out[row["kind"]] = out.get(row["kind"], 0) + int(row["count"])
    return out


def test_report_counts_match_nestload_driver_and_iommutop(recorded):
    load, top = recorded["load"], recorded["top"]
    drv, pri = load["driver"], load["pri"]
    tot, ioas = top["summary"]["total"], top["summary"]["ioas_total"]
    assert load["dma_ops"] == 800 and pri["groups"] > 0 and load["unmaps"] > 0, load
    expected = {
        "dma": load["dma_ops"],
        "walk": drv["walks"],
        "invalidate": load["invalidations"],
        "map": load["maps"],
        "unmap": load["unmaps"],
        "page_request": pri["groups"],
        "pr_queue": pri["groups"],    # every group read by nestload's handler...
        "pr_handle": pri["groups"],   # ... and answered by it
    }
    assert drv["dma_ops"] == tot["dma_ops"] == expected["dma"]
    assert drv["map_ops"] == ioas["maps"] == expected["map"]
    assert drv["unmapped_areas"] == expected["unmap"]
    assert drv["pri_groups"] == tot["pr_responses"] == expected["page_request"]
    assert kind_counts(recorded["by_dev"]["rows"]) == expected
    assert kind_counts(csv_rows(recorded["csv"])) == expected
    assert not recorded["by_dev"]["unpaired"]
    # Every DMA ended well: errno 0 (a page request answered SUCCESS included).
    dmas = raw_events(recorded["raw"], "nest_dma")
    assert len(dmas) == 800 and {d["errno"] for d in dmas} == {"0"}


def test_page_request_latency_equals_raw_events(recorded):
    raw = raw_events(recorded["raw"], "nest_page_response")
    assert len(raw) == recorded["load"]["pri"]["groups"]
    lat = [int(e["latency_ns"]) for e in raw]
    [row] = [r for r in csv_rows(recorded["csv"]) if r["kind"] == "page_request"]
    want = stats(lat)
    assert {k: int(row[k]) for k in want} == want, (row, want)
    assert float(row["mean_ns"]) == round(sum(lat) / len(lat), 1)
    # Per device, in the JSON report by device.
    by_dev = {r["dev"]: r for r in recorded["by_dev"]["rows"] if r["kind"] == "page_request"}
    devs = sorted({int(e["dev"]) for e in raw})
    assert sorted(by_dev) == devs and len(devs) == 2
    for dev in devs:
        want = stats([int(e["latency_ns"]) for e in raw if int(e["dev"]) == dev])
        assert {k: by_dev[dev][k] for k in want} == want, dev


def test_page_request_latency_agrees_with_iommutop(recorded):
    hist = recorded["top"]["latency_hist"]
    counts = {}
    for b in hist:
        slot = 47 if b["le_s"] is None else top_slot(round(b["le_s"] * 1e9))
        counts[slot] = b["total"]
    n = sum(counts.values())
    [row] = [r for r in csv_rows(recorded["csv"]) if r["kind"] == "page_request"]
    assert n == int(row["count"])
    for pct in (50, 90, 99):
        # The slot where iommutop's cumulative count reaches the rank.
        rank, seen = max(1, -(-pct * n // 100)), 0
        for slot in sorted(counts):
            seen += counts[slot]
            if seen >= rank:
                break
        mine = top_slot(int(row[f"p{pct}_ns"]))
        assert abs(mine - slot) <= 1, f"p{pct}: report {row[f'p{pct}_ns']} ns (slot {mine}), iommutop slot {slot}"


def test_rows_in_documented_order(recorded):
    def check(rows, key, by):
        # Largest first; ties in the order of the kinds, then by the --by value.
        order = [(-r[key], KINDS.index(r["kind"]),
                  r[by] is None if by else 0, r[by] if by and r[by] is not None else 0) for r in rows]
        assert order == sorted(order), [(r["kind"], r.get(by), r[key]) for r in rows]

    by_dev = recorded["by_dev"]
    assert by_dev["by"] == "dev" and by_dev["sort"] == "count"
    check(by_dev["rows"], "count", "dev")
    # Kinds without a device: one row each, dev null.
    for r in by_dev["rows"]:
        assert (r["dev"] is None) == (r["kind"] in ("invalidate", "map", "unmap")), r
    rows = [{**r, **{k: float(r[k]) for k in CSV_COLUMNS}} for r in csv_rows(recorded["csv"])]
    check(rows, "p99_ns", None)


def test_json_and_csv_columns(recorded):
    text = recorded["csv"]
    header = text.splitlines()[0]
    assert header == ",".join(["kind"] + CSV_COLUMNS)
    rows = csv_rows(text)
    assert sorted(r["kind"] for r in rows) == sorted(KINDS)
    for r in rows:
        assert int(r["min_ns"]) <= int(r["p50_ns"]) <= int(r["p90_ns"]) <= int(r["p99_ns"]) \
            <= int(r["max_ns"]), r
    assert abs(sum(float(r["time_pct"]) for r in rows) - 100) < 0.1
    doc = recorded["by_dev"]
    assert set(doc) == {"by", "sort", "rows", "top", "unpaired"}
    for r in doc["rows"]:
        assert set(r) == {"kind", "dev", "hist"} | set(CSV_COLUMNS), r
        # The log2 histogram holds every sample, in [2^k, 2^(k+1)) buckets.
        assert sum(b["count"] for b in r["hist"]) == r["count"]
        for b in r["hist"]:
            assert b["hi_ns"] == 2 * b["lo_ns"] or (b["lo_ns"], b["hi_ns"]) == (0, 1), b
        assert r["hist"][0]["lo_ns"] <= r["min_ns"] < r["hist"][-1]["hi_ns"] > r["max_ns"]
    # --top 3: the three slowest of each kind, slowest first, the slowest the max.
    top = doc["top"]
    for kind in KINDS:
        ops = [op for op in top if op["kind"] == kind]
        assert len(ops) == 3, kind
        times = [op["time_ns"] for op in ops]
        assert times == sorted(times, reverse=True)
        assert times[0] == max(r["max_ns"] for r in doc["rows"] if r["kind"] == kind)
    dma = next(op for op in top if op["kind"] == "dma")
    assert dma["comm"] == "nestload" and dma["args"]["access"] in ("R", "W"), dma
    assert {"dev_id", "pasid", "iova", "length", "bytes_done", "err"} <= set(dma["args"])


def test_text_report_by_reason(recorded):
    lines = recorded["text"].splitlines()
    assert lines[0].startswith("# nestiommu-perf report: ") and "sorted by total" in lines[0]
    assert lines[1].split() == ["KIND", "REASON", "COUNT", "TOTAL", "TIME%", "MIN", "MEAN",
                                "P50", "P90", "P99", "MAX"]
    rows = []
    for line in lines[2:]:
        if not line or line.startswith("#"):
            break
        rows.append(line.split())
    totals = [float(r[3]) for r in rows]
    assert totals == sorted(totals, reverse=True)
    walks = {r[1]: int(r[2]) for r in rows if r[0] == "walk"}
    drv = recorded["load"]["driver"]
    # nestload's faults are all stage-1 not-present PTEs, found by walks.
    assert walks == {"none": drv["walks"] - drv["faults"], "pte_fetch": drv["faults"]}, walks
    assert {r[1] for r in rows if r[0] != "walk"} == {"-"}
    text = recorded["text"]
    assert "walk reason=pte_fetch: log2 histogram of the times in ns" in text
    assert "# the 2 slowest operations of each kind" in text
    assert re.search(r"^walk\s+[\d.]+\s+[\d.]+\s+\d+\s+nestload\s+dev_id=\d+ pasid=0x\d+ hwpt_id=\d+ "
                     r"access=[RW] iova=0x[0-9a-f]+ reason=\w+ levels=\d+ mem_refs=\d+$", text, re.M), text


def test_recording_without_operations(guest):
    r = run(guest, f"{NPERF_REL} record -o /tmp/none.data -- true && "
                   f"{NPERF_REL} report -i /tmp/none.data; echo rc=$?")
    assert r.output.splitlines()[-2:] == [
        "nestiommu-perf: no nestiommu operation in this perf.data: its events were recorded "
        "but none ended while recording", "rc=4"], r.output


def test_readme_report_recipe(guest):
    """README's "nestiommu-perf report" example runs as printed and gives
    the table it shows: every kind, nestload's 2000 DMA calls."""
    from test_tracing import readme_recipe
    r = run(guest, readme_recipe("perf-report"), timeout=600)
    assert r.rc == 0, f"the recipe failed (rc {r.rc}):\n{r.output[-3000:]}"
    lines = r.output.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("# nestiommu-perf report: "))
    assert lines[head + 1].split() == ["KIND", "COUNT", "TOTAL", "TIME%", "MIN", "MEAN",
                                       "P50", "P90", "P99", "MAX"], r.output
    rows = {w[0]: int(w[1]) for w in (line.split() for line in lines[head + 2:]) if len(w) == 10}
    assert set(rows) == {"dma", "page_request", "pr_queue", "pr_handle", "walk", "map",
                         "unmap", "invalidate"}, r.output
    assert rows["dma"] == 2000, rows
    assert rows["page_request"] == rows["pr_queue"] == rows["pr_handle"] > 0, rows
