# SPDX-License-Identifier: GPL-2.0
"""nestiommu-perf report: the latency of every nestiommu operation, from a
perf.data file, like `perf kvm stat report`.

A perf script (run by `nestiommu-perf report`, or directly):

  perf script -i nestiommu-perf.data -s tools/perf/nestiommu_perf_report.py -- [OPTIONS]

It pairs each operation's start and end events (kernel/trace.h) in the
thread that emitted them: DMA calls, page-table walks, HWPT_INVALIDATE
batches, IOAS_MAP and IOAS_UNMAP calls. A page request group is timed by
its nest_page_response's latency_ns (since the group was sent), and split
by cookie into queueing (nest_page_request -> the last nest_page_request_read
of the group, i.e. until the handler has read it) and handling (that read
-> nest_page_response). nestiommu-perf imports this file for its options
(parse_args), so they are checked before perf reads anything.
"""

import argparse
import csv
import heapq
import json
import os
import sys

# perf's helpers (symbol_str, flag_str) name the values of symbolic fields
# from the format files in the perf.data; perf calls their define_* when it
# first meets an event. Absent when nestiommu-perf imports this file.
try:
    sys.path.append(os.environ["PERF_EXEC_PATH"] +
                    "/scripts/python/Perf-Trace-Util/lib/Perf/Trace")
    from Core import *  # noqa: F401,F403
except (KeyError, ImportError):
    pass

SYSTEM = "nestiommu"

# Start and end events of the operations timed by pairing, per thread.
PAIRS = {
    "dma": ("nest_dma_start", "nest_dma"),
    "walk": ("nest_walk_start", "nest_walk_end"),
    "invalidate": ("nest_invalidate_start", "nest_invalidate_end"),
    "map": ("nest_map_start", "nest_map_end"),
    "unmap": ("nest_unmap_start", "nest_unmap_end"),
}
PR_EVENTS = ("nest_page_request", "nest_page_request_read", "nest_page_response")
# Every event the report reads: what `nestiommu-perf record` records.
EVENTS = tuple(e for pair in PAIRS.values() for e in pair) + PR_EVENTS
# The kinds, in the order ties are broken.
KINDS = tuple(PAIRS) + ("page_request", "pr_queue", "pr_handle")

# --by: the event field that holds the key.
BY_FIELDS = {"dev": "dev_id", "pasid": "pasid", "hwpt": "hwpt_id", "reason": "reason"}
SORTS = ("total", "count", "p99")
PERCENTILES = (50, 90, 99)
COLUMNS = ("count", "total_ns", "time_pct", "min_ns", "mean_ns", "p50_ns",
           "p90_ns", "p99_ns", "max_ns")
# Fields shown in hexadecimal in --top's arguments, as the events print them.
HEX_FIELDS = {"pasid", "iova", "length", "addr", "bytes_done", "unmapped", "flags"}
FLAG_FIELDS = {"access", "perm"}
SYMBOL_FIELDS = {"reason", "code"}

# Exit statuses, documented in nestiommu-perf --help and tools/perf/README.md.
EXIT_USAGE = 2
EXIT_NO_EVENTS = 4


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def positive_int(text):
    try:
        n = int(text, 10)
    except ValueError:
        n = 0
    if n < 1 or n > 1000000:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number 1..1000000")
    return n


def parse_args(argv):
    """The report's options (not -i FILE: that is perf's). Raises
    UsageError with a one-line message."""
    p = _Parser(prog="nestiommu-perf report", add_help=False, allow_abbrev=False)
    p.add_argument("--by", choices=tuple(BY_FIELDS))
    p.add_argument("--sort", choices=SORTS, default="total")
    p.add_argument("--top", type=positive_int, default=0)
    p.add_argument("--hist", action="store_true")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    opts = p.parse_args(argv)
    if opts.csv and (opts.hist or opts.top):
        raise UsageError("--hist and --top have no CSV form: use --json or the text report")
    return opts


# ---- statistics ----------------------------------------------------------------


def percentile(ordered, pct):
    """Nearest rank: the smallest sample with at least PCT % of the samples
    at or below it (exact, from all samples; ORDERED is sorted)."""
    return ordered[max(0, (pct * len(ordered) + 99) // 100 - 1)]


def log2_bucket(ns):
    """[lo, hi) of ns's bucket: [0, 1), then [2^k, 2^(k+1))."""
    if ns <= 0:
        return 0, 1
    k = ns.bit_length() - 1
    return 1 << k, 1 << (k + 1)


def row_stats(times):
    ordered = sorted(times)
    total = sum(ordered)
    out = {"count": len(ordered), "total_ns": total, "min_ns": ordered[0],
           "mean_ns": round(total / len(ordered), 1)}
    for pct in PERCENTILES:
        out[f"p{pct}_ns"] = percentile(ordered, pct)
    out["max_ns"] = ordered[-1]
    hist = {}
    for t in ordered:
        b = log2_bucket(t)
        hist[b] = hist.get(b, 0) + 1
    out["hist"] = [{"lo_ns": lo, "hi_ns": hi, "count": n} for (lo, hi), n in sorted(hist.items())]
    return out


# ---- the events ------------------------------------------------------------------


class Report:
    def __init__(self, opts):
        self.opts = opts
        self.open = {}          # (kind, tid) -> (start ns, fields)
        self.times = {}         # (kind, key) -> [ns]
        self.top = {}           # kind -> heap of (ns, seq, op)
        self.seq = 0
        self.sent = {}          # cookie -> ns of its first page request
        self.read = {}          # cookie -> ns of its latest record read
        self.unpaired = {}      # kind -> {"starts": n, "ends": n}

    def key(self, fields):
        if not self.opts.by:
            return None
        return fields.get(BY_FIELDS[self.opts.by])

    def add(self, kind, ns, fields, start_ns, tid, comm):
        self.times.setdefault((kind, self.key(fields)), []).append(ns)
        if not self.opts.top:
            return
        self.seq += 1
        op = {"kind": kind, "time_ns": ns, "start_ns": start_ns, "tid": tid,
              "comm": comm, "args": fields}
        heap = self.top.setdefault(kind, [])
        if len(heap) < self.opts.top:
            heapq.heappush(heap, (ns, -self.seq, op))
        else:
            heapq.heappushpop(heap, (ns, -self.seq, op))

    def unpair(self, kind, what):
        u = self.unpaired.setdefault(kind, {"starts": 0, "ends": 0})
        u[what] += 1

    def event(self, name, fields):
        ts = fields["common_s"] * 1000000000 + fields["common_ns"]
        tid, comm = fields["common_pid"], fields["common_comm"]
        args = {k: named(name, k, v) for k, v in fields.items() if not k.startswith("common_")}
        if name in STARTS:
            kind = STARTS[name]
            if (kind, tid) in self.open:
                self.unpair(kind, "starts")
            self.open[(kind, tid)] = (ts, args)
        elif name in ENDS:
            kind = ENDS[name]
            start = self.open.pop((kind, tid), None)
            if start is None:
                self.unpair(kind, "ends")
                return
            merged = dict(start[1], **args)
            self.add(kind, ts - start[0], merged, start[0], tid, comm)
        elif name == "nest_page_request":
            self.sent.setdefault(args["cookie"], ts)
        elif name == "nest_page_request_read":
            self.read[args["cookie"]] = ts
        elif name == "nest_page_response":
            cookie = args["cookie"]
            sent, read = self.sent.pop(cookie, None), self.read.pop(cookie, None)
            self.add("page_request", args["latency_ns"], args, ts - args["latency_ns"], tid, comm)
            if sent is not None and read is not None:
                self.add("pr_queue", read - sent, args, sent, tid, comm)
                self.add("pr_handle", ts - read, args, read, tid, comm)

    def finish(self):
        for kind, _ in self.open:
            self.unpair(kind, "starts")
        self.open.clear()

    def rows(self):
        rows = []
        for (kind, key), times in self.times.items():
            row = {"kind": kind}
            if self.opts.by:
                row[self.opts.by] = key
            row.update(row_stats(times))
            rows.append(row)
        grand = sum(r["total_ns"] for r in rows) or 1
        for r in rows:
            r["time_pct"] = round(100.0 * r["total_ns"] / grand, 2)
        sort = {"total": "total_ns", "count": "count", "p99": "p99_ns"}[self.opts.sort]
        by = self.opts.by

        def tie(r):
            k = r.get(by) if by else None
            return (KINDS.index(r["kind"]), k is None, str(k) if isinstance(k, str) else "",
                    k if isinstance(k, int) else 0)
        rows.sort(key=tie)
        rows.sort(key=lambda r: r[sort], reverse=True)
        return rows

    def slowest(self):
        out = []
        for kind in KINDS:
            for ns, _, op in sorted(self.top.get(kind, ()), key=lambda x: (-x[0], -x[1])):
                out.append(op)
        return out


STARTS = {start: kind for kind, (start, _) in PAIRS.items()}
ENDS = {end: kind for kind, (_, end) in PAIRS.items()}


def named(event, field, value):
    """A field's VALUE as EVENT prints it where it prints a name: access
    bits (R|W), the fault reason, the response code; else VALUE."""
    if field in FLAG_FIELDS:
        return flag_str(f"{SYSTEM}__{event}", field, value)  # noqa: F405
    if field in SYMBOL_FIELDS:
        return symbol_str(f"{SYSTEM}__{event}", field, value) or str(value)  # noqa: F405
    return value


# ---- output -------------------------------------------------------------------------


def key_text(by, key):
    if key is None:
        return "-"
    if by == "pasid":
        return f"0x{key:x}"
    return str(key)


def us(ns):
    return f"{ns / 1000:.3f}"


def arg_text(name, value):
    if name in HEX_FIELDS and isinstance(value, int):
        return f"0x{value:x}"
    return str(value)


def hist_label(n):
    for suffix, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift:
            return f"{n >> shift}{suffix}"
    return str(n)


def print_text(rep, rows, out):
    by = rep.opts.by
    n = sum(r["count"] for r in rows)
    out.write(f"# nestiommu-perf report: {n} operations in {len(rows)} rows; "
              f"times in microseconds; sorted by {rep.opts.sort}\n")
    head = ["KIND"] + ([by.upper()] if by else []) + \
        ["COUNT", "TOTAL", "TIME%", "MIN", "MEAN", "P50", "P90", "P99", "MAX"]
    table = [head]
    for r in rows:
        table.append([r["kind"]] + ([key_text(by, r[by])] if by else []) +
                     [str(r["count"]), us(r["total_ns"]), f"{r['time_pct']:.2f}",
                      us(r["min_ns"]), us(r["mean_ns"])] +
                     [us(r[f"p{p}_ns"]) for p in PERCENTILES] + [us(r["max_ns"])])
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    nleft = 2 if by else 1
    for line in table:
        cells = [c.ljust(w) if i < nleft else c.rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths))]
        out.write("  ".join(cells).rstrip() + "\n")
    if rep.opts.hist:
        for r in rows:
            what = r["kind"] + (f" {by}={key_text(by, r[by])}" if by else "")
            out.write(f"\n{what}: log2 histogram of the times in ns (K = 2^10, M = 2^20)\n")
            peak = max(b["count"] for b in r["hist"])
            for b in r["hist"]:
                bar = "@" * max(1, round(40 * b["count"] / peak))
                label = f"[{hist_label(b['lo_ns'])}, {hist_label(b['hi_ns'])})"
                out.write(f"  {label:<14} {b['count']:>8} |{bar:<40}|\n")
    if rep.opts.top:
        out.write(f"\n# the {rep.opts.top} slowest operations of each kind\n")
        table = [["KIND", "TIME", "START(s)", "TID", "COMM", "ARGS"]]
        for op in rep.slowest():
            args = " ".join(f"{k}={arg_text(k, v)}" for k, v in op["args"].items())
            table.append([op["kind"], us(op["time_ns"]), f"{op['start_ns'] / 1e9:.6f}",
                          str(op["tid"]), op["comm"], args])
        widths = [max(len(line[i]) for line in table) for i in range(5)]
        for line in table:
            cells = [line[0].ljust(widths[0])] + \
                [c.rjust(w) for c, w in zip(line[1:4], widths[1:4])] + \
                [line[4].ljust(widths[4]), line[5]]
            out.write("  ".join(cells).rstrip() + "\n")
    for kind in KINDS:
        u = rep.unpaired.get(kind)
        if u:
            out.write(f"# {kind}: {u['starts']} starts and {u['ends']} ends without their "
                      "other half (the recording began or ended during them), not counted\n")


def print_json(rep, rows, out):
    doc = {"by": rep.opts.by, "sort": rep.opts.sort, "rows": []}
    for r in rows:
        row = {k: v for k, v in r.items() if k != "hist"}
        if rep.opts.hist:
            row["hist"] = r["hist"]
        doc["rows"].append(row)
    if rep.opts.top:
        doc["top"] = [{"kind": op["kind"], "time_ns": op["time_ns"], "start_ns": op["start_ns"],
                       "tid": op["tid"], "comm": op["comm"], "args": op["args"]}
                      for op in rep.slowest()]
    doc["unpaired"] = rep.unpaired
    json.dump(doc, out)
    out.write("\n")


def print_csv(rep, rows, out):
    by = rep.opts.by
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["kind"] + ([by] if by else []) + list(COLUMNS))
    for r in rows:
        w.writerow([r["kind"]] + ([key_text(by, r[by]) if r[by] is not None else ""]
                                  if by else []) + [r[c] for c in COLUMNS])
    for kind in KINDS:
        u = rep.unpaired.get(kind)
        if u:
            print(f"nestiommu-perf: {kind}: {u['starts']} starts and {u['ends']} ends "
                  "without their other half, not counted", file=sys.stderr)


# ---- perf's entry points --------------------------------------------------------------

REPORT = None


def trace_unhandled(event_name, context, fields):
    system, _, event = event_name.partition("__")
    if system == SYSTEM:
        REPORT.event(event, fields)


def trace_end():
    REPORT.finish()
    rows = REPORT.rows()
    if not rows:
        print("nestiommu-perf: no nestiommu operation in this perf.data: its events were "
              "recorded but none ended while recording", file=sys.stderr)
        sys.exit(EXIT_NO_EVENTS)
    if REPORT.opts.json:
        print_json(REPORT, rows, sys.stdout)
    elif REPORT.opts.csv:
        print_csv(REPORT, rows, sys.stdout)
    else:
        print_text(REPORT, rows, sys.stdout)
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        REPORT = Report(parse_args(sys.argv[1:]))
    except UsageError as e:
        print(f"nestiommu-perf report: {e}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
