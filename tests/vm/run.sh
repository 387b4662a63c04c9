#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The DAHDI VM test (tests/vm/README.md): boot Debian's kernel under qemu with
# DAHDI's modules (dahdi-dkms), four local dynamic spans, trunkrecd and trunksim,
# and run /test/NAME.sh inside.
#
#   run.sh BUILDDIR [NAME]      NAME: guest (default, the test) or bench (docs/dahdi.md)
#
# Exit 0 pass, 1 fail, 77 skipped: this machine cannot run it (the reason is printed).
# The initramfs base (busybox, DAHDI modules and tools, their libraries) is cached in
# $TRUNKREC_VM_CACHE (default /var/cache/trunkrec-vm), keyed by what went into it.
set -eu
build=$(cd "$1" && pwd)
test=${2:-guest}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${TRUNKREC_VM_CACHE:-/var/cache/trunkrec-vm}

skip() {
	echo "dahdi vm: SKIPPED: $*"
	exit 77
}

# --- can this machine run it? ---
command -v qemu-system-x86_64 > /dev/null || skip "no qemu-system-x86_64 (tests/vm/setup.sh installs it; it needs root)"
command -v cpio > /dev/null || skip "no cpio"
[ -x /bin/busybox ] || skip "no /bin/busybox (busybox-static)"
case "$(ldd /bin/busybox 2>&1 || true)" in *"not a dynamic"*) ;; *) skip "/bin/busybox is not static (install busybox-static)" ;; esac
kver=$(ls /lib/modules 2> /dev/null | grep -- '-amd64$' | sort -V | tail -1 || true)
[ -n "$kver" ] && [ -f "/boot/vmlinuz-$kver" ] || skip "no Debian amd64 kernel in /boot (linux-image-amd64)"
mods=/lib/modules/$kver/updates/dkms
[ -f "$mods/dahdi_dynamic_loc.ko" ] || skip "no DAHDI modules for $kver (dahdi-dkms builds them when linux-headers-amd64 is there)"
command -v dahdi_cfg > /dev/null || skip "no dahdi_cfg (package dahdi)"
[ -r /boot/vmlinuz-"$kver" ] || skip "/boot/vmlinuz-$kver is not readable"
for b in trunkrecd trunksim trunkrec; do
	[ -x "$build/tools/$b" ] || skip "$build/tools/$b not built"
done
grep -q TRUNKREC_HAVE_DAHDI "$build/build.ninja" || skip "this build has no DAHDI driver (dahdi/user.h missing: install dahdi-source)"

work=$(mktemp -d "${TMPDIR:-/tmp}/trunkrec-vm.XXXXXX")
qemu_pid=""
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2> /dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "dahdi vm: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

# Copy binaries and every library they load into root $1.
add_bins() {
	root=$1
	dest=$2
	shift 2
	mkdir -p "$root$dest"
	for b in "$@"; do
		cp "$b" "$root$dest/"
		ldd "$b" 2> /dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]*ld-linux/ { print $1 }'
	done | sort -u | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# --- the base: kernel side and tools, cached ---
versions=$(dpkg-query -W -f='${Package}=${Version}\n' dahdi-dkms dahdi busybox-static opus-tools 2> /dev/null || true)
key=$(printf '%s\n%s\n' "$kver" "$versions" | cat - "$here/system.conf" "$here/init" "$0" | sha256sum | cut -c1-16)
base=$cache/base-$key.cpio.gz
if [ ! -f "$base" ]; then
	mkdir -p "$cache" 2> /dev/null || { cache=$work/cache; mkdir -p "$cache"; base=$cache/base-$key.cpio.gz; }
	r=$work/base
	mkdir -p "$r/bin" "$r/modules" "$r/etc/dahdi" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/test"
	cp /bin/busybox "$r/bin/busybox"
	for m in dahdi dahdi_dynamic dahdi_dynamic_loc; do cp "$mods/$m.ko" "$r/modules/"; done
	tools="$(command -v dahdi_cfg)"
	command -v opusinfo > /dev/null && tools="$tools $(command -v opusinfo)"
	# shellcheck disable=SC2086
	add_bins "$r" /usr/sbin $tools
	cp "$here/system.conf" "$r/etc/dahdi/system.conf"
	cp "$here/init" "$r/init"
	chmod +x "$r/init"
	(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$base.tmp"
	mv "$base.tmp" "$base"
	rm -f "$cache"/base-*.cpio.gz.old
	for old in "$cache"/base-*.cpio.gz; do [ "$old" = "$base" ] || rm -f "$old"; done
fi

# --- this build: trunkrecd, trunksim, trunkrec, the checks ---
r=$work/overlay
mkdir -p "$r/test"
add_bins "$r" /usr/bin "$build/tools/trunkrecd" "$build/tools/trunksim" "$build/tools/trunkrec" \
	"$build/tests/integration/toneprobe"
[ -x "$build/bench/dahdi_reads" ] && add_bins "$r" /usr/bin "$build/bench/dahdi_reads"
cp "$here/guest.sh" "$here/bench.sh" "$src/tests/integration/checkcalls.sh" "$r/test/"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/overlay.cpio.gz"
# The kernel unpacks concatenated archives in order: the overlay adds to the base.
cat "$base" "$work/overlay.cpio.gz" > "$work/initrd.gz"

# --- boot: software emulation (KVM hangs a stock kernel on these machines: docs/dahdi.md) ---
# BENCH_SECS and BENCH_METHODS reach bench.sh through the kernel command line: the
# kernel hands NAME=VALUE words it does not know to /init as its environment.
extra=""
for v in BENCH_SECS BENCH_METHODS; do
	eval "val=\${$v:-}"
	if [ -n "$val" ]; then extra="$extra $v=$val"; fi
done
start=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -m 768 -smp 2 -nographic -no-reboot \
	-kernel "/boot/vmlinuz-$kver" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet vmtest=$test$extra" > "$work/console.log" 2>&1 &
qemu_pid=$!
wait "$qemu_pid" || true
qemu_pid=""
# The serial console ends lines with \r.
tr -d '\r' < "$work/console.log" | grep -a '^VMTEST' > "$work/vmtest.log" || true
cat "$work/vmtest.log"
echo "dahdi vm: $(( $(date +%s) - start )) s in the VM (kernel $kver)"
if grep -q '^VMTEST RESULT: PASS' "$work/vmtest.log"; then
	exit 0
fi
grep -q '^VMTEST RESULT' "$work/vmtest.log" || { echo "--- console (tail)"; tr -d '\r' < "$work/console.log" | tail -30; }
exit 1
