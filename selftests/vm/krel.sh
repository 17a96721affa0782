#!/bin/sh
# krel.sh [NAME]: print the release of the guest kernel NAME (default
# generic; kernels.sh lists them), e.g. 6.1.0-56-amd64.
# krel.sh --list: print the names of the guest kernels.
# generic: the one whose headers the installed linux-headers-amd64
# meta-package depends on, so the module we build and the kernel we boot
# always match. Others: the one their meta-package in the archive depends on
# (guest-kernel.sh then fetches that image and its headers).
set -eu

die() {
	echo "krel.sh: $*" >&2
	exit 1
}

name=${1:-generic}
# shellcheck source-path=SCRIPTDIR source=kernels.sh
. "$(dirname "$0")/kernels.sh"
if [ "$name" = --list ]; then
	echo "$KERNEL_NAMES"
	exit 0
fi
kernel_select "$name"

if [ "$name" = generic ]; then
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null) ||
		die "linux-headers-amd64 is not installed"
	# "linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56-amd64"
	krel=$(printf '%s\n' "$dep" | sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p')
	[ -n "$krel" ] || die "cannot parse linux-headers-amd64 Depends: '$dep'"
elif [ "$name" = debug ]; then
	ver=$(kernel_apt apt-cache show --no-all-versions "$KERNEL_META" 2>/dev/null | sed -n 's/^Version: //p')
	[ -n "$ver" ] || die "$KERNEL_META is not in the package lists (apt-get update?)"
	krel=$ver-nestdebug
else
	dep=$(kernel_apt apt-cache depends --important "$KERNEL_META") ||
		die "$KERNEL_META is not in the package lists${KERNEL_SUITE:+ of $KERNEL_SUITE} (apt-get update?)"
	# "  Depends: linux-image-6.1.0-57-rt-amd64" -> "6.1.0-57-rt-amd64"
	krel=$(printf '%s\n' "$dep" | sed -n 's/^ *Depends: linux-image-\([^ ]*\)$/\1/p' | head -n 1)
	[ -n "$krel" ] || die "cannot parse the dependencies of $KERNEL_META: '$dep'"
	case $name in
	6.12)
		case $krel in
		6.12.*) ;;
		*) die "$KERNEL_SUITE's $KERNEL_META is now $krel, not 6.12: rename the guest in kernels.sh" ;;
		esac
		;;
	esac
fi
printf '%s\n' "$krel"
