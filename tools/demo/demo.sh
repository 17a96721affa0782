#!/bin/sh
# The body of `make demo`; runs inside the guest with the repository as the
# working directory (selftests/vm/vmrun.py shares the host's files).
set -eu

. tools/demo/mix.sh
step() { printf '\n== %s\n' "$*"; }

step "load the driver"
# NEST_MODULE: the module of another guest kernel (make demo GUEST=NAME).
insmod "${NEST_MODULE:-kernel/nestiommu.ko}"
ls -l /dev/nestiommu
echo "module BTF: $(ls /sys/kernel/btf/nestiommu)"

step "faultinject: a stage-1 PERMISSION fault at every 400th translation of PASID 3, for 26 s"
rule='at=translate pasid=3 fault=permission stage=1 every=400'
echo "build/tools/faultinject inject '$rule' --duration 26"
build/tools/faultinject inject "$rule" --duration 26 >/tmp/faultinject.out 2>&1 &
inject=$!
# Its rules apply from the moment it says so.
until grep -q '^faultinject: attached' /tmp/faultinject.out; do
	kill -0 "$inject" || { cat /tmp/faultinject.out; exit 1; }
	sleep 0.1
done

step "nestload: a VMM's devices DMA through nested HWPTs for 24 s"
echo "build/tools/nestload --duration 24 $NESTLOAD_DEMO_MIX"
# shellcheck disable=SC2086 # the mix is words
build/tools/nestload --duration 24 $NESTLOAD_DEMO_MIX -q >/tmp/nestload.out &
load=$!

step "iommutop -b -d 2 -n 10: what the BPF programs count, every 2 s (faults: injected ones apart)"
build/tools/iommutop -b -d 2 -n 10

wait "$load"
wait "$inject"
step "faultinject's table: what its rule matched and injected"
cat /tmp/faultinject.out
step "nestload's summary (its own counts, then the driver's statistics)"
grep -E '^(elapsed_s|dma_ops|dma_faults|ops_per_s|mb_per_s|invalidations|s1_changes|refaults|maps|unmaps|pri\.(groups|pages)|driver\.(iotlb_hits|iotlb_misses|faults|injected_faults|pri_groups|pri_success|pri_outstanding))=' \
	/tmp/nestload.out
step "pages still pinned by nestiommu: $(cat /sys/kernel/debug/nestiommu/pinned_pages)"
