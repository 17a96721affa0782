#!/usr/bin/env python3
"""Old against new: `make bench-compare BASE=REV` runs this twice.

  compare.py host  --old BENCH_CORE --new BENCH_CORE [--rounds N]
  compare.py guest --old TREE --new TREE [--rounds N] [--ops N] [--prs N]

host: the two builds of bench_core (kernel/core natively) run in turns; per
translation kind, the best (lowest) and the median over the rounds of each
run's median ns, and new/old of those medians.

guest (root, in the test guest, nestiommu not loaded): the two trees'
modules are loaded in turns (the order flips every round, so a slow moment
hits both alike), and each runs its own nestload (trace_cost's mix, DMA
ops/s) and pri_bench (page-request round trip and a mapped DMA, median us);
the best round (highest ops/s, lowest us) and the median of each.

The machines are shared and noisy: compare the medians' ratio, and run again
when the two builds' minima and medians tell different stories.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trace_cost import MIX  # noqa: E402  (the same workload as `make bench`)

BENCH_ROW = re.compile(r"^(\S.*?)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+$")
PRI_ROWS = (("page-request round trip us", re.compile(r"^page-request round trip .*median ([\d.]+) us")),
            ("mapped DMA us", re.compile(r"^same DMA, page mapped.*median ([\d.]+) us")))


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"compare: {' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
    return res.stdout


def host_round(binary):
    """One bench_core run: {kind: its median ns}."""
    med = {}
    for line in run([binary]).splitlines():
        m = BENCH_ROW.match(line)
        if m:
            med[f"{m.group(1)} ns"] = float(m.group(3))
    if not med:
        sys.exit(f"compare: no benchmark rows in the output of {binary}")
    return med


def guest_round(tree, ops, prs):
    """Load TREE's module, run its nestload and pri_bench: {metric: value}."""
    run(["insmod", os.path.join(tree, "kernel/nestiommu.ko")])
    try:
        got = {}
        out = run([os.path.join(tree, "build/tools/nestload"), "--ops", str(ops)] + MIX)
        rate = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("ops_per_s=")]
        if not rate:
            sys.exit(f"compare: no ops_per_s from {tree}'s nestload:\n{out}")
        got["nestload DMA ops/s"] = float(rate[0])
        out = run([os.path.join(tree, "build/selftests/pri_bench"), "-n", str(prs)])
        for name, pattern in PRI_ROWS:
            m = next(filter(None, map(pattern.match, out.splitlines())), None)
            if not m:
                sys.exit(f"compare: no '{name}' in {tree}'s pri_bench output:\n{out}")
            got[name] = float(m.group(1))
        return got
    finally:
        run(["rmmod", "nestiommu"])


def report(title, rounds, old, new):
    """OLD and NEW: {metric: [values]}; print one row per metric."""
    print(f"{title} ({rounds} rounds each, taking turns)")
    print(f"{'':<34} {'old best':>10} {'old med':>10} {'new best':>10} {'new med':>10} {'new/old':>8}")
    for k in old:
        if k not in new:
            print(f"{k:<34} (only in the old build)")
            continue
        om, nm = statistics.median(old[k]), statistics.median(new[k])
        # For ops/s the best round is the highest, for times the lowest.
        best = max if "/s" in k else min
        print(f"{k:<34} {best(old[k]):>10.1f} {om:>10.1f} {best(new[k]):>10.1f} {nm:>10.1f} "
              f"{nm / om:>8.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("where", choices=("host", "guest"))
    p.add_argument("--old", required=True, help="old bench_core (host) or tree (guest)")
    p.add_argument("--new", required=True, help="new bench_core (host) or tree (guest)")
    p.add_argument("--rounds", type=int, default=5, help="runs of each build (default 5)")
    p.add_argument("--ops", type=int, default=60000, help="nestload DMA ops per run (default 60000)")
    p.add_argument("--prs", type=int, default=2000, help="pri_bench page requests per run (default 2000)")
    args = p.parse_args()
    if min(args.rounds, args.ops, args.prs) < 1:
        p.error("--rounds, --ops and --prs must be at least 1")

    old, new = {}, {}
    for r in range(args.rounds):
        order = ((old, args.old), (new, args.new))
        for acc, what in order if r % 2 == 0 else reversed(order):
            if args.where == "host":
                got = host_round(what)
            else:
                got = guest_round(what, args.ops, args.prs)
            for k, v in got.items():
                acc.setdefault(k, []).append(v)
            print(f"  round {r + 1}: {'old' if acc is old else 'new'} done", file=sys.stderr)
    report("kernel/core natively: ns per translation" if args.where == "host"
           else "in the guest (TCG)", args.rounds, old, new)


if __name__ == "__main__":
    main()
