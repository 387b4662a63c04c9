#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what the DAHDI VM test needs (tests/vm/README.md), from Debian's packages only:
# Debian 12's kernel and headers (the guest kernel; dahdi-dkms builds the DAHDI modules for
# it in its post-install step), qemu, busybox, the DAHDI tools. Idempotent: installs nothing
# when everything is there. Needs root (or sudo). Nothing is loaded into the host's kernel.
# Exit 0: ready; exit 1: could not install (the VM test then skips and says why).
set -eu

packages="linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static cpio dkms kmod
dahdi-dkms dahdi dahdi-source libpri-dev"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || {
		echo "vm setup: not root and no password-less sudo; cannot install:$missing" >&2
		exit 1
	}
	SUDO="sudo -n"
fi
echo "vm setup: installing:$missing (about 100 MB to download, 600 MB on disk, 1.5 minutes)" >&2
export DEBIAN_FRONTEND=noninteractive
log=${TMPDIR:-/tmp}/trunkrec-vm-setup.log
# The kernel first: dahdi-dkms builds its modules for every kernel whose headers are there.
# shellcheck disable=SC2086
if ! { $SUDO apt-get update -q &&
	$SUDO apt-get install -y -q --no-install-recommends linux-image-amd64 linux-headers-amd64 \
		qemu-system-x86 busybox-static cpio dkms build-essential kmod &&
	$SUDO apt-get install -y -q --no-install-recommends dahdi-dkms dahdi dahdi-source libpri-dev; } >"$log" 2>&1; then
	echo "vm setup: apt-get failed; see $log" >&2
	tail -5 "$log" >&2
	exit 1
fi
