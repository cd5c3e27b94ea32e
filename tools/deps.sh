#!/bin/sh
# Install what Pith's build and tests need on Debian 12 (bookworm).
# Uses sudo when not already root.  Safe to run again.
set -e
PKGS="build-essential clang lld llvm binutils perl pkg-config valgrind e2fsprogs libfuse3-dev fuse3 e2tools fuse2fs libclang-rt-14-dev qemu-system-x86"
# musl and busybox-static: static programs for pithd (issue 6) and bare
# metal (issue 5); cpio, GRUB and xorriso: pith run --dir and bake --iso
PKGS="$PKGS musl-tools busybox-static cpio grub-pc-bin grub-common xorriso mtools"
# unmodified programs the pith exec oracle tests run (shim.t, shim_spawn.t)
PKGS="$PKGS sqlite3 python3"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
else
	echo "deps: all present"
fi
