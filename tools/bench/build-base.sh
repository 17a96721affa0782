#!/bin/sh
# build-base.sh REV OUTDIR
#
# Build what `make bench-compare` measures (the module, nestload, pri_bench
# and the host bench_core) from git revision REV of this repository, in
# OUTDIR/<commit>/ (an exported tree, no git state), and point OUTDIR/current
# at it. Quick when that commit is built already. Only the pieces measured
# are built, straight from their own Makefiles, so the shared guest-kernel
# cache (.cache/) is only read.
set -eu

die() { echo "build-base.sh: $*" >&2; exit 2; }

[ $# -eq 2 ] || die "usage: build-base.sh REV OUTDIR"
root=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$root" rev-parse --verify -q "$1^{commit}") ||
	die "'$1' is not a commit of $root"
mkdir -p "$2"
out=$(cd "$2" && pwd)
dir=$out/$commit
krel=$("$root/selftests/vm/krel.sh")

if [ ! -e "$dir/.built" ]; then
	echo "  BASE    $1 ($commit) in $dir"
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$root" archive "$commit" | tar -x -C "$dir"
	make -s -C "/lib/modules/$krel/build" M="$dir/kernel" modules
	make -s -C "$dir/tools/nestload" O="$dir/build"
	make -s -C "$dir/selftests/guest" O="$dir/build" \
		"$dir/build/selftests/pri_bench"
	make -s -C "$dir/selftests/host" O="$dir/build/host" \
		"$dir/build/host/bench_core"
	touch "$dir/.built"
fi
ln -sfn "$commit" "$out/current"
