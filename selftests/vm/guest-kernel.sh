#!/bin/sh
# guest-kernel.sh [-g NAME] KREL OUTDIR
#
# Prepare everything needed to boot Debian's own linux-image-KREL under QEMU,
# without installing that kernel on the host. NAME is the guest kernel
# (kernels.sh: generic, the default, rt, 6.12), KREL its release (krel.sh):
#   OUTDIR/root/                 the unpacked .deb (modules, config, System.map),
#                                with depmod run so `modprobe -d OUTDIR/root` works
#   OUTDIR/vmlinuz               the bzImage to boot
#   OUTDIR/vmlinux               the ELF kernel with .BTF (for pahole --btf_base);
#                                vmrun.py boots it directly (PVH entry), which
#                                skips the slow decompressor under TCG
#   OUTDIR/headers/              (not generic) the unpacked linux-headers-KREL
#                                and the linux-headers/linux-kbuild packages
#                                it depends on
#   OUTDIR/build                 the headers to build modules against: the
#                                installed /lib/modules/KREL/build for generic
#                                (make deps installs them), else in headers/
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

usage="usage: guest-kernel.sh [-g NAME] KREL OUTDIR"
name=generic
while getopts g: opt; do
	case $opt in
	g) name=$OPTARG ;;
	*) die "$usage" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || die "$usage"
krel=$1
outdir=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=kernels.sh
. "$here/kernels.sh"
kernel_select "$name"

# What the initramfs loads to mount the 9p shares; modprobe adds what they
# depend on, in order, and leaves out what the kernel has built in.
MODULES="virtio_pci 9pnet_virtio 9p"

for tool in dpkg apt-get apt-cache xz zstd readelf depmod modprobe cpio gzip flock sha256sum; do
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

# download_debs DIR PACKAGE...: the packages' candidate .debs into DIR.
download_debs() {
	dir=$1
	shift
	# As root, apt would drop to the _apt user, which cannot write to our
	# private temp dir; download as the invoking user instead.
	(cd "$dir" && kernel_apt apt-get -q -o APT::Sandbox::User=root download "$@" >&2)
}

# build_debug_kernel TMP: build the debug kernel from Debian's source into
# TMP (vmlinuz, vmlinux, root/ with its modules and config, src/: the tree
# after `make clean`, which keeps what external modules build against).
build_debug_kernel() {
	pkgver=${krel%-nestdebug}
	src=$1/src
	echo "guest-kernel.sh: fetching linux-source-6.1 and linux-config-6.1 $pkgver" >&2
	mkdir "$1/deb"
	download_debs "$1/deb" "linux-source-6.1=$pkgver" "linux-config-6.1=$pkgver" ||
		die "cannot download linux-source-6.1 $pkgver (apt-get update, then make again)"
	for deb in "$1"/deb/*.deb; do
		dpkg -x "$deb" "$1/pkg" || die "dpkg -x $deb failed"
	done
	tar -xJf "$1/pkg/usr/src/linux-source-6.1.tar.xz" -C "$1" || die "cannot unpack the kernel source"
	mv "$1/linux-source-6.1" "$src"
	xz -dc "$1/pkg/usr/src/linux-config-6.1/config.amd64_none_amd64.xz" >"$src/.config" ||
		die "no amd64 config in linux-config-6.1"
	rm -rf "$1/deb" "$1/pkg"

	start=$(date +%s)
	# Drop the modules the guest never loads (their options take the
	# defaults: no answer is given); then the debugging options.
	yes '' | make -s -C "$src" LSMOD="$here/debug-modules.txt" localmodconfig >"$1/config.log" 2>&1 ||
		die "localmodconfig failed: $(tail -n 20 "$1/config.log")"
	frag=$1/debug.config
	{ cat "$here/debug.config"; echo "CONFIG_LOCALVERSION=\"-${pkgver#*-}-nestdebug\""; } >"$frag"
	(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$frag" && make -s olddefconfig) \
		>>"$1/config.log" 2>&1 || die "merging debug.config failed: $(tail -n 20 "$1/config.log")"
	grep '^CONFIG_' "$frag" | while IFS= read -r opt; do
		grep -qxF "$opt" "$src/.config" || die "the kernel's config lost $opt (see debug.config)"
	done
	echo "guest-kernel.sh: building the debug kernel $krel on $(nproc) CPUs (about an hour on 2)" >&2
	make -s -C "$src" -j"$(nproc)" bzImage modules >"$1/build.log" 2>&1 ||
		die "the kernel build failed: $(tail -n 30 "$1/build.log")"
	got=$(make -s -C "$src" kernelrelease)
	[ "$got" = "$krel" ] || die "the kernel built is $got, not $krel"
	make -s -C "$src" INSTALL_MOD_PATH="$1/root" INSTALL_MOD_STRIP=1 modules_install >>"$1/build.log" 2>&1 ||
		die "modules_install failed: $(tail -n 20 "$1/build.log")"
	rm -f "$1/root/lib/modules/$krel/build" "$1/root/lib/modules/$krel/source"
	mkdir -p "$1/root/boot"
	cp "$src/.config" "$1/root/boot/config-$krel"
	cp "$src/System.map" "$1/root/boot/System.map-$krel"
	cp "$src/arch/x86/boot/bzImage" "$1/vmlinuz"
	cp "$src/vmlinux" "$1/vmlinux"
	make -s -C "$src" clean >>"$1/build.log" 2>&1 || die "make clean failed"
	echo "guest-kernel.sh: built $krel in $((($(date +%s) - start + 59) / 60)) min on $(nproc) CPUs" |
		tee "$1/build-time" >&2
}

# fetch_debian_kernel: Debian's linux-image-KREL (and, but for generic, its
# headers) into $tmp: root/, vmlinuz, vmlinux, headers/.
fetch_debian_kernel() {
	pkgs=linux-image-$krel
	if [ "$name" != generic ]; then
		# The headers and the packages of their tree: the common headers
		# and kbuild (the compiler is generic's, from make deps).
		hdeps=$(kernel_apt apt-cache depends --important "linux-headers-$krel") ||
			die "linux-headers-$krel is not in the package lists"
		hdeps=$(printf '%s\n' "$hdeps" | sed -n 's/^ *Depends: \(linux-\(headers\|kbuild\)-[^ ]*\)$/\1/p' | tr '\n' ' ')
		pkgs="$pkgs linux-headers-$krel ${hdeps% }"
	fi
	echo "guest-kernel.sh: fetching $pkgs" >&2
	mkdir "$tmp/deb"
	# shellcheck disable=SC2086 # one package per word
	if ! download_debs "$tmp/deb" $pkgs; then
		echo "guest-kernel.sh: download failed, running apt-get update once" >&2
		kernel_apt apt-get -q -o APT::Sandbox::User=root update >&2 || die "apt-get update failed"
		# shellcheck disable=SC2086
		download_debs "$tmp/deb" $pkgs ||
			die "cannot download $pkgs (no longer in the archive? then run make again: it takes the new release)"
	fi
	dpkg -x "$tmp"/deb/linux-image-"$krel"_*.deb "$tmp/root" || die "dpkg -x failed"
	if [ "$name" != generic ]; then
		for deb in "$tmp"/deb/linux-headers-*.deb "$tmp"/deb/linux-kbuild-*.deb; do
			dpkg -x "$deb" "$tmp/headers" || die "dpkg -x $deb failed"
		done
		# Its Makefile includes the common headers' by their installed
		# path: make it relative, as kbuild's links are (make -C runs
		# it in its own directory), so the tree works where it is.
		mk=$tmp/headers/usr/src/linux-headers-$krel/Makefile
		sed -i 's|^include /usr/src/|include ../|' "$mk"
		grep -q '^include \.\./' "$mk" || die "unexpected $mk: $(cat "$mk")"
	fi
	rm -rf "$tmp/deb"

	[ -f "$tmp/root/boot/vmlinuz-$krel" ] || die "no boot/vmlinuz-$krel in the package"
	cp "$tmp/root/boot/vmlinuz-$krel" "$tmp/vmlinuz"

	# The bzImage payload is an xz (6.1) or zstd (6.12) stream; the ELF
	# vmlinux inside still has its .BTF section. The decompressor complains
	# about the data after the stream (the bzImage trailer), so its exit
	# status is ignored and the ELF checked.
	config=$tmp/root/boot/config-$krel
	if grep -q '^CONFIG_KERNEL_XZ=y' "$config"; then
		magic='\xFD\x37\x7A\x58\x5A\x00' unpack="xz -dc"
	elif grep -q '^CONFIG_KERNEL_ZSTD=y' "$config"; then
		magic='\x28\xB5\x2F\xFD' unpack="zstd -dc"
	else
		die "$krel's bzImage is neither xz nor zstd compressed (see $config)"
	fi
	off=$(LC_ALL=C grep -obUaP "$magic" "$tmp/vmlinuz" | head -n 1 | cut -d: -f1)
	[ -n "$off" ] || die "no ${unpack%% *} stream in $tmp/vmlinuz"
	tail -c +"$((off + 1))" "$tmp/vmlinuz" | $unpack >"$tmp/vmlinux" 2>/dev/null || true
	readelf -S "$tmp/vmlinux" 2>/dev/null | grep -q '\.BTF' ||
		die "extracted vmlinux is not an ELF with a .BTF section"
}

# build_kernel: the kernel part of OUTDIR, made in a temporary directory and
# renamed into place.
build_kernel() {
	tmp=$(mktemp -d "$outdir.tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	chmod 755 "$tmp"

	if [ "$name" = debug ]; then
		build_debug_kernel "$tmp"
	else
		fetch_debian_kernel
	fi
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
	# shellcheck disable=SC2086 # one module per word
	deps=$(modprobe -d "$outdir/root" -S "$krel" --show-depends -a $MODULES) ||
		die "modprobe cannot resolve $MODULES in $outdir/root"
	# "insmod PATH" lines, a module again for each module that needs it.
	for ko in $(printf '%s\n' "$deps" | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'); do
		m=$(basename "$ko")
		m=${m%.xz}
		m=${m%.ko}
		case $ko in
		*.ko) cp "$ko" "$tmp/tree/lib/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$ko" >"$tmp/tree/lib/modules/$m.ko" ;;
		*) die "cannot unpack the module $ko" ;;
		esac
		echo "$m" >>"$tmp/tree/lib/modules/load-order"
	done
	cp "$here/init.sh" "$tmp/tree/init"
	chmod 755 "$tmp/tree/init"
	(cd "$tmp/tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$tmp/initramfs.cpio.gz"
	mv "$tmp/initramfs.cpio.gz" "$outdir/initramfs.cpio.gz"
	printf '%s\n' "$1" >"$outdir/.initramfs-hash"
	rm -rf "$tmp"
	trap - EXIT
}

[ -f "$outdir/.done" ] || build_kernel

if [ "$name" = generic ]; then
	build=/lib/modules/$krel/build
elif [ "$name" = debug ]; then
	build=src
else
	build=headers/usr/src/linux-headers-$krel
fi
[ "$(readlink "$outdir/build" 2>/dev/null)" = "$build" ] || ln -sfn "$build" "$outdir/build"

hash=$(cat "$here/init.sh" "$here/guest-kernel.sh" | sha256sum | cut -d' ' -f1)
if [ ! -f "$outdir/initramfs.cpio.gz" ] || [ "$(cat "$outdir/.initramfs-hash" 2>/dev/null)" != "$hash" ]; then
	pack_initramfs "$hash"
fi
