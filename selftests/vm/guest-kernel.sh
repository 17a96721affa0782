#!/bin/sh
# guest-kernel.sh KREL OUTDIR
#
# Prepare everything needed to boot Debian's own linux-image-KREL under QEMU,
# without installing that kernel on the host:
#   OUTDIR/root/                 the unpacked .deb (modules, config, System.map),
#                                with depmod run so `modprobe -d OUTDIR/root` works
#   OUTDIR/vmlinuz               the bzImage to boot
#   OUTDIR/vmlinux               the ELF kernel with .BTF (for pahole --btf_base);
#                                vmrun.py boots it directly (PVH entry), which
#                                skips the slow decompressor under TCG
#   OUTDIR/initramfs.cpio.gz     busybox + virtio/9p modules + init.sh as /init
#   OUTDIR/.done                 stamp of the kernel part
#   OUTDIR/.initramfs-hash       hash of the inputs the initramfs was packed from
#
# Idempotent: quick when already done. The kernel part is built in a temporary
# directory and renamed into place, and the initramfs is repacked (atomically)
# whenever init.sh or this script changes, so an interrupted run never leaves a
# half-built tree behind. Concurrent runs serialise on OUTDIR.lock.
set -eu

die() { echo "guest-kernel.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: guest-kernel.sh KREL OUTDIR"
krel=$1
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)

# The virtio + 9p chain the initramfs loads, in dependency order.
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p"

for tool in dpkg apt-get xz readelf depmod cpio gzip flock sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool"
done
[ -x /bin/busybox ] || die "missing /bin/busybox (install busybox-static)"

mkdir -p "$(dirname "$outdir")"
outdir=$(cd "$(dirname "$outdir")" && pwd)/$(basename "$outdir")

exec 9>"$outdir.lock"
flock 9
# Leftovers of a killed run (none of ours can be running: we hold the lock).
rm -rf "$outdir".tmp.* "$outdir"/initramfs.tmp.*
# Let the EXIT traps below clean up on signals too.
trap 'exit 130' INT TERM HUP

build_kernel() {
	tmp=$(mktemp -d "$outdir.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod 755 "$tmp"

	echo "guest-kernel.sh: fetching linux-image-$krel" >&2
	mkdir "$tmp/deb"
	# As root, apt would drop to the _apt user, which cannot write to our
	# private temp dir; download as the invoking user instead.
	if ! (cd "$tmp/deb" && apt-get -q -o APT::Sandbox::User=root download "linux-image-$krel" >&2); then
		echo "guest-kernel.sh: download failed, running apt-get update once" >&2
		apt-get -q update >&2 || die "apt-get update failed"
		(cd "$tmp/deb" && apt-get -q -o APT::Sandbox::User=root download "linux-image-$krel" >&2) ||
			die "cannot download linux-image-$krel (is it still in the archive?)"
	fi
	dpkg -x "$tmp"/deb/linux-image-"$krel"_*.deb "$tmp/root" || die "dpkg -x failed"
	rm -rf "$tmp/deb"

	[ -f "$tmp/root/boot/vmlinuz-$krel" ] || die "no boot/vmlinuz-$krel in the package"
	cp "$tmp/root/boot/vmlinuz-$krel" "$tmp/vmlinuz"

	# The bzImage payload is an xz stream; the ELF vmlinux inside still has
	# its .BTF section. xz complains about the data after the stream (the
	# bzImage trailer), so its exit status is ignored and the ELF checked.
	off=$(LC_ALL=C grep -obUaP '\xFD\x37\x7A\x58\x5A\x00' "$tmp/vmlinuz" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || die "no xz stream in $tmp/vmlinuz"
	tail -c +"$((off + 1))" "$tmp/vmlinuz" | xz -dc >"$tmp/vmlinux" 2>/dev/null || true
	readelf -S "$tmp/vmlinux" 2>/dev/null | grep -q '\.BTF' ||
		die "extracted vmlinux is not an ELF with a .BTF section"

	depmod -b "$tmp/root" "$krel" || die "depmod failed"

	touch "$tmp/.done"
	rm -rf "$outdir"
	mv "$tmp" "$outdir"
	trap - EXIT
}

pack_initramfs() {
	tmp=$(mktemp -d "$outdir/initramfs.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/tree/bin" "$tmp/tree/lib/modules" "$tmp/tree/dev" \
		"$tmp/tree/proc" "$tmp/tree/sys" "$tmp/tree/host" "$tmp/tree/results"
	cp /bin/busybox "$tmp/tree/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$tmp/tree/bin/$applet"
	done
	moddir=$outdir/root/lib/modules/$krel
	for m in $MODULES; do
		ko=$(find "$moddir/kernel" -name "$m.ko" | head -n 1)
		[ -n "$ko" ] || die "module $m.ko not found under $moddir (compressed modules are not supported)"
		cp "$ko" "$tmp/tree/lib/modules/"
	done
	# shellcheck disable=SC2086 # one module per line
	printf '%s\n' $MODULES >"$tmp/tree/lib/modules/load-order"
	cp "$here/init.sh" "$tmp/tree/init"
	chmod 755 "$tmp/tree/init"
	(cd "$tmp/tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$tmp/initramfs.cpio.gz"
	mv "$tmp/initramfs.cpio.gz" "$outdir/initramfs.cpio.gz"
	printf '%s\n' "$1" >"$outdir/.initramfs-hash"
	rm -rf "$tmp"
	trap - EXIT
}

[ -f "$outdir/.done" ] || build_kernel

hash=$(cat "$here/init.sh" "$here/guest-kernel.sh" | sha256sum | cut -d' ' -f1)
if [ ! -f "$outdir/initramfs.cpio.gz" ] || [ "$(cat "$outdir/.initramfs-hash" 2>/dev/null)" != "$hash" ]; then
	pack_initramfs "$hash"
fi
