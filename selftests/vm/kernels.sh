# shellcheck shell=sh disable=SC2034 # KERNEL_* are for the scripts that source this
# The guest kernels `make test GUEST=NAME` boots, all from Debian's archive.
# Sourced by krel.sh, guest-kernel.sh and ../kernel-subset.sh (which uses
# kernel_select only); the caller defines die().
#
#   NAME     meta-package          suite               headers
#   generic  linux-image-amd64     the machine's       installed (make deps)
#   rt       linux-image-rt-amd64  the machine's       unpacked into the cache
#   6.12     linux-image-amd64     bookworm-backports  unpacked into the cache
#   debug    linux-source-6.1      the machine's       its own build tree
#
# debug is built from Debian's linux-source-6.1 with Debian's config
# (linux-config-6.1) cut to the modules the guest loads (debug-modules.txt)
# plus memory and lock debugging (debug.config): guest-kernel.sh builds it
# once into the cache. Its release is the package's version plus
# -nestdebug, e.g. 6.1.192-3-nestdebug, so a new package makes a new kernel.
# Other kernels' release (KREL) is the one their meta-package depends on; for
# generic, the installed linux-headers-amd64's (krel.sh).
#
# An extra suite is added for apt only through the project's own apt
# configuration in .cache/apt/SUITE/ (its sources.list, package lists and
# download cache; the machine's /etc/apt is never changed). Its mirror is the
# one the machine's sources use for bookworm.

KERNEL_NAMES="generic rt 6.12 debug"
KERNEL_APT_ROOT=$(cd "$(dirname "$0")/../.." && pwd)/.cache/apt

# kernel_select NAME: set KERNEL_META and KERNEL_SUITE (empty: the machine's
# own apt sources) for the guest kernel NAME.
kernel_select() {
	KERNEL_SUITE=
	case $1 in
	generic) KERNEL_META=linux-image-amd64 ;;
	rt) KERNEL_META=linux-image-rt-amd64 ;;
	6.12)
		KERNEL_META=linux-image-amd64
		KERNEL_SUITE=bookworm-backports
		;;
	debug) KERNEL_META=linux-source-6.1 ;;
	*) die "unknown guest kernel '$1' (one of: $KERNEL_NAMES)" ;;
	esac
}

# kernel_apt apt-get|apt-cache ARG...: run apt with the selected kernel's
# sources. For an extra suite, the first call fetches its package lists.
kernel_apt() {
	if [ -z "$KERNEL_SUITE" ]; then
		"$@"
		return
	fi
	kernel_apt_dir=$KERNEL_APT_ROOT/$KERNEL_SUITE
	if [ ! -f "$kernel_apt_dir/lists/.updated" ]; then
		mkdir -p "$KERNEL_APT_ROOT"
		# Concurrent first calls: one fetches, the others wait.
		(
			flock 8
			[ -f "$kernel_apt_dir/lists/.updated" ] || kernel_apt_update "$kernel_apt_dir"
		) 8>"$kernel_apt_dir.lock" || exit 1
	fi
	kernel_apt_in "$kernel_apt_dir" "$@"
}

# kernel_apt_in DIR PROGRAM ARG...: PROGRAM (apt-get, apt-cache) with the
# apt configuration in DIR.
kernel_apt_in() {
	kernel_apt_cfg=$1
	kernel_apt_prog=$2
	shift 2
	"$kernel_apt_prog" -o "Dir::Etc::sourcelist=$kernel_apt_cfg/sources.list" \
		-o "Dir::Etc::sourceparts=$kernel_apt_cfg/sources.list.d" \
		-o "Dir::State::lists=$kernel_apt_cfg/lists" -o "Dir::State::status=$kernel_apt_cfg/status" \
		-o "Dir::Cache=$kernel_apt_cfg/cache" -o Acquire::Languages=none "$@"
}

# kernel_apt_update DIR: write the suite's apt configuration into DIR and
# fetch its package lists.
kernel_apt_update() {
	# shellcheck disable=SC2016 # $(REPO_URI) is apt's, not ours
	mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Created-By: Packages' 'Release: bookworm' | head -n 1)
	[ -n "$mirror" ] || die "no bookworm entry in the machine's apt sources to take the mirror from"
	mkdir -p "$1/sources.list.d" "$1/lists/partial" "$1/cache/archives/partial"
	: >"$1/status"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $KERNEL_SUITE main" \
		>"$1/sources.list"
	echo "kernels.sh: fetching the package lists of $KERNEL_SUITE" >&2
	# As root, apt would drop to the _apt user, which cannot write here.
	kernel_apt_in "$1" apt-get -q -o APT::Sandbox::User=root update >&2 ||
		die "apt-get update of $KERNEL_SUITE failed"
	touch "$1/lists/.updated"
}
