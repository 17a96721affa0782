#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One ioctl fuzzer run in the guest, from the repository root, as root:
# load the module, run build/selftests/ioctl_fuzz with the arguments given,
# then check that nothing stays pinned or accounted once it has closed
# everything and that the module unloads. Prints the fuzzer's summary, then
#   pinned_pages=N objects=N page_requests_outstanding=N
#   rmmod=ok|failed
# Exit status: the fuzzer's if not 0, else 1 if a check failed, else 0.
# NEST_MODULE names the module to load (default: the generic kernel's).
set -u
D=/sys/kernel/debug/nestiommu

insmod "${NEST_MODULE:-kernel/nestiommu.ko}" || exit 1
build/selftests/ioctl_fuzz "$@"
rc=$?
# Work the fuzzer left (a page-request timeout in a kworker) may still be
# finishing: wait until the counters read 0, for 10 s at most.
i=0
while [ $i -lt 100 ] && [ "$(cat $D/pinned_pages $D/objects $D/page_requests_outstanding)" != "$(printf '0\n0\n0')" ]; do
	sleep 0.1
	i=$((i + 1))
done
counts=
for f in pinned_pages objects page_requests_outstanding; do
	v=$(cat $D/$f)
	counts="$counts $f=$v"
	[ "$v" = 0 ] || [ $rc -ne 0 ] || rc=1
done
echo "${counts# }"
if rmmod nestiommu; then
	echo rmmod=ok
else
	echo rmmod=failed
	[ $rc -ne 0 ] || rc=1
fi
exit $rc
