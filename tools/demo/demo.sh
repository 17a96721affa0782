#!/bin/sh
# The body of `make demo`; runs inside the guest with the repository as the
# working directory (selftests/vm/vmrun.py shares the host's files).
set -eu

. tools/demo/mix.sh
step() { printf '\n== %s\n' "$*"; }

step "load the driver"
insmod kernel/nestiommu.ko
ls -l /dev/nestiommu
echo "module BTF: $(ls /sys/kernel/btf/nestiommu)"

step "nestload: a VMM's devices DMA through nested HWPTs for 24 s"
echo "build/tools/nestload --duration 24 $NESTLOAD_DEMO_MIX"
# shellcheck disable=SC2086 # the mix is words
build/tools/nestload --duration 24 $NESTLOAD_DEMO_MIX -q >/tmp/nestload.out &
load=$!

step "iommutop -b -d 2 -n 10: what the BPF programs count, every 2 s"
build/tools/iommutop -b -d 2 -n 10

wait "$load"
step "nestload's summary (its own counts, then the driver's statistics)"
grep -E '^(elapsed_s|dma_ops|ops_per_s|mb_per_s|invalidations|s1_changes|refaults|maps|unmaps|pri\.(groups|pages)|driver\.(iotlb_hits|iotlb_misses|faults|pri_groups|pri_success|pri_outstanding))=' \
	/tmp/nestload.out
step "pages still pinned by nestiommu: $(cat /sys/kernel/debug/nestiommu/pinned_pages)"
