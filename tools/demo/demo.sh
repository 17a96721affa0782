#!/bin/sh
# The body of `make demo`; runs inside the guest with the repository as the
# working directory (selftests/vm/vmrun.py shares the host's files).
set -eu

step() { printf '\n== %s\n' "$*"; }

step "load the driver"
insmod kernel/nestiommu.ko
ls -l /dev/nestiommu
echo "module BTF: $(ls /sys/kernel/btf/nestiommu)"

step "three map/unmap cycles as the nestiommu tracepoints record them"
tracefs=/sys/kernel/tracing
echo 1 > $tracefs/events/nestiommu/enable
build/selftests/maploop -n 3 -l 0x200000
echo 0 > $tracefs/events/nestiommu/enable
grep -E 'nestiommu|map:|unmap:' $tracefs/trace | sed 's/^ *//' | tail -n 6

step "10000 map/unmap cycles of 64 KiB while perf counts the tracepoints"
perf stat -e nestiommu:map -e nestiommu:unmap -- \
	build/selftests/maploop -n 10000 -l 0x10000

step "a device DMAs through a nested HWPT: the translation events of a short run"
echo 1 > $tracefs/events/nestiommu/enable
build/selftests/dmaloop -n 4 -p 2 -i 2 -s
echo 0 > $tracefs/events/nestiommu/enable
grep -E ' (attach|translate|invalidate|stale_translation|fault|detach):' \
	$tracefs/trace | sed 's/^ *//' | tail -n 16

step "100000 DMAs over 64 pages while perf counts the translation events"
perf stat -e nestiommu:translate -e nestiommu:dma -e nestiommu:invalidate \
	-e nestiommu:fault -- build/selftests/dmaloop -n 100000 -p 64 -i 1000

step "pages still pinned by nestiommu: $(cat /sys/kernel/debug/nestiommu/pinned_pages)"
