#!/usr/bin/env python3
"""What tracing costs nestload: `make bench` runs this in the guest.

nestload's throughput (DMA ops/s) with no tracing, with iommutop attached,
with the equivalent bpftrace script (tools/bench/iommutop.bt), with
`perf record` on the same tracepoints, under `nestiommu-perf record`
(perf record of the start and end events its latency report reads),
under faultinject with a rule at
every hook point that matches nothing (what loaded rules cost), and under
`faultinject record` (what recording every fault, page request and
response with its logical position costs). The modes take turns, ROUNDS times,
and each figure is the median of its rounds, so a slow moment of the
machine hits every mode alike. Run from the repository root, as root, with
the module loaded.

`make bench` runs it in a guest booted with `vmrun.py --icount 2 --smp 1`:
the guest's clock then counts instructions, so ops/s and their ratios do
not depend on how busy the host is (rounds agree to 0.1 %), and on one
vCPU a tool's own work (iommutop refreshing, record formatting) slows
nestload as it would on a busy machine.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

BUILD = "build/tools"
NESTLOAD = os.path.join(BUILD, "nestload")
IOMMUTOP = os.path.join(BUILD, "iommutop")
FAULTINJECT = os.path.join(BUILD, "faultinject")
NESTIOMMU_PERF = "tools/perf/nestiommu-perf"
# A rule at each hook point, for IDs nestload never has: every event is
# checked against a rule and none matches.
NO_MATCH_RULES = ("at=translate dev=999999 fault=pte_fetch stage=1",
                  "at=page-request dev=999999 drop",
                  "at=page-response dev=999999 code=failure",
                  "at=invalidate hwpt=999999 drop",
                  "at=map ioas=999999 errno=EIO")
BPFTRACE_SCRIPT = "tools/bench/iommutop.bt"
# The tracepoints iommutop and the bpftrace script read.
EVENTS = ("nest_dma", "nest_translate", "nest_map", "nest_unmap",
          "nest_invalidate", "nest_fault", "nest_page_request",
          "nest_page_response")
# IOTLB misses, page requests, stage-1 changes and map churn. One DMA
# thread: under TCG, threads that wake each other make the figures swing by
# 2x from run to run.
MIX = ["--devices", "2", "--pasids", "4", "--threads", "1",
       "--working-set", "512", "--fault-pct", "5", "--s1-change-every", "500",
       "--churn-every", "1000", "-q"]
# Untraced rounds further apart than this factor make a run meaningless.
NOISY_SPREAD = 1.5
READY_TIMEOUT = 600  # s; bpftrace alone may take minutes to load its LLVM over 9p under TCG


def ops_per_s(cmd):
    """Run CMD, which ends in a nestload run; return nestload's ops/s."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("ops_per_s="):
            return float(line.split("=", 1)[1])
    sys.exit(f"trace_cost: no ops_per_s in the output of {cmd[0]}:\n{out}")


def nestload(ops):
    """Run nestload; return its ops/s."""
    return ops_per_s([NESTLOAD, "--ops", str(ops)] + MIX)


def wait_ready(proc, path, marker):
    """Wait until the tracer wrote MARKER to PATH."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(path) as f:
                sys.exit(f"trace_cost: {proc.args[0]} exited ({proc.returncode}):\n{f.read()}")
        with open(path) as f:
            text = f.read()
        if marker in text:
            return
        time.sleep(0.1)
    sys.exit(f"trace_cost: {proc.args[0]} did not attach in {READY_TIMEOUT} s")


def with_tracer(cmd, marker, ops):
    """Run nestload while CMD (a tracer started first) runs; return ops/s."""
    path = "/tmp/trace_cost.out"
    with open(path, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(proc, path, marker)
        return nestload(ops)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_none(ops):
    return nestload(ops)


def run_iommutop(ops):
    # Batch mode refreshing every second, as a person would watch it.
    return with_tracer([IOMMUTOP, "-b", "-d", "1", "-n", "1000000"], "iommutop: attached", ops)


def run_bpftrace(ops):
    return with_tracer(["bpftrace", BPFTRACE_SCRIPT], "ready", ops)


def run_perf_record(ops):
    events = []
    for e in EVENTS:
        events += ["-e", f"nestiommu:{e}"]
    return ops_per_s(["perf", "record", "-q", "-a", "-o", "/tmp/trace_cost.perf.data"] +
                     events + ["--", NESTLOAD, "--ops", str(ops)] + MIX)


def run_nestiommu_perf_record(ops):
    return ops_per_s([NESTIOMMU_PERF, "record", "-o", "/tmp/trace_cost.nestiommu-perf.data", "--",
                      NESTLOAD, "--ops", str(ops)] + MIX)


def run_faultinject_no_match(ops):
    return ops_per_s([FAULTINJECT, "inject", *NO_MATCH_RULES, "--",
                      NESTLOAD, "--ops", str(ops)] + MIX)


def run_faultinject_record(ops):
    return ops_per_s([FAULTINJECT, "record", "-o", "/tmp/trace_cost.rec", "--",
                      NESTLOAD, "--ops", str(ops)] + MIX)


MODES = (("none", run_none), ("iommutop", run_iommutop),
         ("bpftrace script", run_bpftrace), ("perf record", run_perf_record),
         ("nestiommu-perf record", run_nestiommu_perf_record),
         ("faultinject no-match", run_faultinject_no_match),
         ("faultinject record", run_faultinject_record))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=60000, help="DMA ops per run (default 60000)")
    p.add_argument("--rounds", type=int, default=5, help="runs of each mode (default 5)")
    p.add_argument("--modes", default=",".join(name for name, _ in MODES),
                   help="the modes to run, comma-separated, 'none' first (default: all of "
                        + ", ".join(name for name, _ in MODES) + ")")
    args = p.parse_args()
    if args.ops < 1 or args.rounds < 1:
        p.error("--ops and --rounds must be at least 1")
    known = dict(MODES)
    modes = [m.strip() for m in args.modes.split(",")]
    for m in modes:
        if m not in known:
            p.error(f"--modes: unknown mode {m!r}")
    if modes[0] != "none" or len(set(modes)) != len(modes):
        p.error("--modes: 'none' first (the ratios are to it), each mode once")
    run_modes = [(m, known[m]) for m in modes]

    got = {name: [] for name, _ in run_modes}
    for r in range(args.rounds):
        for name, fn in run_modes:
            got[name].append(fn(args.ops))
            print(f"  round {r + 1}: {name}: {got[name][-1]:.0f} ops/s", file=sys.stderr)
    base = statistics.median(got["none"])
    print(f"nestload under tracing (TCG guest: compare the ratios of the medians; "
          f"{args.rounds} runs of {args.ops} DMA ops each per mode)")
    print(f"{'tracing':<22} {'min ops/s':>10} {'median':>10} {'max':>10} {'vs none':>8} {'cost':>7}")
    for name, _ in run_modes:
        m = statistics.median(got[name])
        print(f"{name:<22} {min(got[name]):>10.0f} {m:>10.0f} {max(got[name]):>10.0f} "
              f"{m / base:>8.2f} {(1 - m / base) * 100:>6.1f}%")
    # The same untraced workload should not vary much between rounds; when
    # it does, the machine was busy and the ratios mean nothing.
    lo, hi = min(got["none"]), max(got["none"])
    if hi > NOISY_SPREAD * lo:
        print(f"warning: untraced runs varied from {lo:.0f} to {hi:.0f} ops/s: the machine "
              f"was too busy for these ratios to mean anything; run again")

if __name__ == "__main__":
    main()
