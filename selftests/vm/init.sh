#!/bin/sh
# /init of the nestiommu test VM (busybox sh; packed into the initramfs by
# guest-kernel.sh, driven by vmrun.py).
#
# The host shares two 9p file systems:
#   hostroot  the host's / (read-only), mounted at /host and used as the root
#             of every command (chroot), so the host's tools and the project's
#             freshly built binaries run in the guest;
#   results   a writable host directory, mounted over /host$VM_RESULTS so the
#             same absolute path works on the host and in the guest.
#
# Parameters come from $VM_RESULTS/.vm/conf (sourced; written by the host):
#   VM_MODE     run | shell | agent
#   VM_RESULTS  absolute host path of the results share
#   VM_CWD      absolute path commands start in
#   VM_TERM     TERM for commands
#   VM_STDIN    run mode: "tty" (stdin is /dev/ttyS1) or "null" (/dev/null)
#   VM_ROWS, VM_COLS  the host terminal's size (run with a tty, shell; optional)
#   VM_BIN      a host folder put first on commands' PATH: poweroff, halt and
#               reboot that work in the chroot (optional)
#
# Files of the control folder $VM_RESULTS/.vm (host path == guest path):
#   run mode:   run.cmd (the command line), run.rc (exit status; "unfinished"
#               until the command ends). Command stdio is on /dev/ttyS1.
#   agent mode: ready (agent is up), N.cmd for N = 1, 2, ... (the host writes
#               them atomically), N.out (stdout + stderr), N.rc (exit status,
#               renamed into place last), poweroff (ends the loop).
# Commands run as root in a clean environment: PATH (the usual one after
# $VM_BIN), HOME=/tmp, TERM, LANG=C.UTF-8, NESTIOMMU_GUEST=1 and
# NESTIOMMU_RESULTS=$VM_RESULTS; those without a terminal on stdin also get
# PAGER=cat (and perf's, git's, man's, systemd's), since their stdout may be
# the serial line, a tty on which perf and others would start a pager that
# waits for keys nobody can type.
# Every mode ends with sync; poweroff -f (letting /init exit panics the kernel).
#
# No `set -e`: this is PID 1, and its exit would panic the kernel; failures are
# handled explicitly (fail) and commands' statuses are reported, not fatal.
# shellcheck disable=SC2016 # the '$1' snippets are expanded by the inner sh
export PATH=/bin

# What commands see: the host's usual PATH, a clean environment.
GUEST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "nestiommu-init: $*"; }

shutdown() {
	sync
	poweroff -f
}

fail() {
	say "FATAL: $*"
	shutdown
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node, so the kernel could not give us one.
exec </dev/console >/dev/console 2>&1

while read -r m; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </lib/modules/load-order

p9opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$p9opts,ro" hostroot /host || fail "cannot mount the 9p share 'hostroot'"
mount -t 9p -o "$p9opts" results /results || fail "cannot mount the 9p share 'results'"
[ -f /results/.vm/conf ] || fail "no .vm/conf in the results share"
# shellcheck disable=SC1091 # written by the host at boot
. /results/.vm/conf

h=/host
mount -t proc proc $h/proc
mount -t sysfs sysfs $h/sys
mount -t devtmpfs devtmpfs $h/dev
mkdir -p $h/dev/pts $h/dev/shm
mount -t devpts -o ptmxmode=0666 devpts $h/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $h/dev/shm
# The guest's /tmp is its own tmpfs, but a working directory below the
# host's /tmp (a CI clone made with mktemp -d, say) stays visible: keep a
# bind mount of it across the tmpfs mount and move it back on top.
case "$VM_CWD" in
/tmp/*)
	mkdir -p /keep/cwd
	mount --bind "$h$VM_CWD" /keep/cwd || fail "cannot bind $VM_CWD"
	mount -t tmpfs -o mode=1777 tmpfs $h/tmp
	mkdir -p "$h$VM_CWD"
	mount --move /keep/cwd "$h$VM_CWD" || fail "cannot move $VM_CWD back"
	;;
*)
	mount -t tmpfs -o mode=1777 tmpfs $h/tmp
	;;
esac
mount -t tmpfs -o mode=755 tmpfs $h/run
mount -t debugfs debugfs $h/sys/kernel/debug
mount -t tracefs tracefs $h/sys/kernel/tracing
mount -t bpf bpf $h/sys/fs/bpf
# Below the guest's own /tmp the mount point may have to be made first.
[ -d "$h$VM_RESULTS" ] || mkdir -p "$h$VM_RESULTS" ||
	fail "$VM_RESULTS does not exist in the host root"
mount --move /results "$h$VM_RESULTS" || fail "cannot move the results share to $VM_RESULTS"
ctl=$h$VM_RESULTS/.vm

# Report a task blocked (D state, not scheduled once) for 20 s, checked every
# 2 s (a task still blocked is reported again at each check, 10 reports in
# all, the default). Waits in our tests are short:
# with 10 s and no memory debugging, the only report in the 287 guest console
# logs of 2026-12-06 was a real deadlock; 20 s leaves room for slub_debug's
# slower allocations and a loaded host; a real hang stays blocked for good.
# Never turn a WARN into a panic (the host detects and reports WARNs from the
# console log instead).
hung=/proc/sys/kernel/hung_task
if [ -f ${hung}_timeout_secs ]; then
	echo 20 >${hung}_timeout_secs
	echo 2 >${hung}_check_interval_secs
fi
echo 0 >/proc/sys/kernel/panic_on_warn

# in_host [-c] SCRIPT [ARG...]: run the sh snippet SCRIPT (with ARGs as $1...)
# chrooted into the host root, in $VM_CWD, with a clean environment.
# -c: in a new session whose controlling tty is stdin (job control, ^C);
# without it nobody can answer a pager, so pagers are off.
in_host() {
	session=
	pagers="PAGER=cat PERF_PAGER=cat GIT_PAGER=cat MANPAGER=cat SYSTEMD_PAGER=cat"
	if [ "$1" = -c ]; then
		session="/bin/setsid -c"
		pagers=
		shift
	fi
	script=$1
	shift
	# shellcheck disable=SC2086 # $pagers and $session are words
	env -i PATH="${VM_BIN:+$VM_BIN:}$GUEST_PATH" HOME=/tmp TERM="${VM_TERM:-dumb}" LANG=C.UTF-8 \
		NESTIOMMU_GUEST=1 NESTIOMMU_RESULTS="$VM_RESULTS" $pagers \
		$session /bin/chroot /host /bin/sh -c "cd \"\$1\" || exit 125; shift; $script" sh "$VM_CWD" "$@" 3>&-
}

# The host terminal's size, for full-screen programs on ttyS1. Keep ttyS1 open:
# its settings (and size) are forgotten whenever nobody has it open.
exec 3<>/dev/ttyS1
if [ -n "${VM_ROWS:-}" ] && [ -n "${VM_COLS:-}" ]; then
	stty -F /dev/ttyS1 rows "$VM_ROWS" cols "$VM_COLS"
fi

case "$VM_MODE" in
run)
	# Default status first, so a crash during the command is never lost.
	echo unfinished >"$ctl/run.rc"
	sync
	# Host-side newline translation (if any) is the host tty's business.
	stty -F /dev/ttyS1 -onlcr
	if [ "$VM_STDIN" = tty ]; then
		in_host -c 'exec /bin/sh "$1"' "$VM_RESULTS/.vm/run.cmd" \
			</dev/ttyS1 >/dev/ttyS1 2>&1
	else
		in_host 'exec /bin/sh "$1"' "$VM_RESULTS/.vm/run.cmd" </dev/null >/dev/ttyS1 2>&1
	fi
	rc=$?
	echo "$rc" >"$ctl/run.rc.tmp" && mv "$ctl/run.rc.tmp" "$ctl/run.rc"
	;;
shell)
	# The setup file (vmrun.py --shell COMMAND) is sourced, so what it
	# exports (PATH, ...) reaches the interactive shell.
	in_host -c 'export ENV="$1"; if [ -x /bin/bash ]; then exec /bin/bash --rcfile "$1" -i; else exec /bin/sh -i; fi' \
		"$VM_RESULTS/.vm/shell.setup" </dev/ttyS1 >/dev/ttyS1 2>&1
	;;
agent)
	n=1
	touch "$ctl/ready"
	while :; do
		if [ -e "$ctl/$n.cmd" ]; then
			in_host 'exec /bin/sh "$1"' "$VM_RESULTS/.vm/$n.cmd" </dev/null >"$ctl/$n.out" 2>&1
			echo "$?" >"$ctl/$n.rc.tmp" && mv "$ctl/$n.rc.tmp" "$ctl/$n.rc"
			n=$((n + 1))
		elif [ -e "$ctl/poweroff" ]; then
			break
		else
			sleep 0.05
		fi
	done
	;;
*)
	fail "unknown VM_MODE '$VM_MODE'"
	;;
esac
shutdown
