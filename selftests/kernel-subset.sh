#!/bin/bash
# kernel-subset.sh BUILD_DIR NAME...: the kernel subset of `make test` on
# the guest kernels NAME (README "Guest kernels"), all of them at once:
# each builds its module (and fetches its kernel) and runs SUBSET_TESTS in
# its own pytest, into BUILD_DIR/test-subset-NAME.log. Then each log is
# printed whole, one after the other, and the kernels that failed are named.
#
# The subset: the kernel boots, loads its module with BTF and builds it
# without warnings (test_kernels.py); perf counts the driver's map, unmap,
# translation and fault events exactly, the module has BTF, and rmmod is
# refused while the device is open (test_driver.py); iommutop, in each
# attach mode, counts what nestload did (DMA through both stages, page
# requests, invalidations, faults); faultinject injects each action at
# each hook point. The tools are the CO-RE builds every kernel runs.
set -u

SUBSET_TESTS=(
	selftests/test_kernels.py
	selftests/test_driver.py::test_perf_counts_maps
	selftests/test_driver.py::test_perf_counts_translation_events
	selftests/test_driver.py::test_perf_counts_fault_queue_overflow
	selftests/test_driver.py::test_module_btf
	selftests/test_driver.py::test_rmmod_refused_while_open
	selftests/test_iommutop.py::test_batch_json_attach_modes
	selftests/test_faultinject.py::test_each_action
)
# Not on every kernel: the dry run of `make test` checks the Makefile, the
# same whatever the kernel, and needs generic's module built.
SUBSET_SKIP='not test_dry_run_of_make_test'

die() {
	echo "kernel-subset.sh: $*" >&2
	exit 2
}

[ $# -ge 2 ] || die "usage: kernel-subset.sh BUILD_DIR NAME..."
build=$1
shift
[ -d "$build" ] || die "$build: not a directory"
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=vm/kernels.sh
. "$root/selftests/vm/kernels.sh"
seen=" "
for name in "$@"; do
	kernel_select "$name"
	case "$seen" in
	*" $name "*) die "$name: named twice" ;;
	esac
	seen="$seen$name "
done

cd "$root" || exit 2
echo "kernel subset on $* at once (logs: $build/test-subset-NAME.log)"
declare -A pid
for name in "$@"; do
	{
		make --no-print-directory GUEST="$name" module &&
			/usr/bin/python3 -m pytest -v -p no:cacheprovider \
				"${SUBSET_TESTS[@]}" -k "$SUBSET_SKIP" --guest "$name"
	} >"$build/test-subset-$name.log" 2>&1 &
	pid[$name]=$!
done

failed=
for name in "$@"; do
	wait "${pid[$name]}" || failed="$failed $name"
	echo "==== kernel subset on $name ===="
	cat "$build/test-subset-$name.log"
done
if [ -n "$failed" ]; then
	echo "kernel subset: failed on:$failed" >&2
	exit 1
fi
echo "kernel subset: passed on $*"
