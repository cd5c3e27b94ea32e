#!/bin/sh
# The main job's second half: a disk image without root.  Makes an ext2
# image with mke2fs, copies a tree (this repository's docs/) into it with
# `pith cp -r`, lists it with `pith ls -lR` and `pith df`, and lets
# e2fsck judge the result.  Usage: examples/image.sh [BUILD-DIR]
set -e
BUILD=${1:-build}
PITH=$BUILD/pith
MKE2FS=$(command -v mke2fs || echo /usr/sbin/mke2fs)
E2FSCK=$(command -v e2fsck || echo /usr/sbin/e2fsck)
if [ ! -x "$MKE2FS" ]; then
	echo "image.sh: mke2fs not found (apt-get install e2fsprogs)" >&2
	exit 1
fi
W=$(mktemp -d /tmp/pith-image.XXXXXX)
trap 'rm -rf "$W"' EXIT
IMG=$W/disk.img

echo "== mke2fs -t ext2 disk.img 32M"
"$MKE2FS" -q -t ext2 -F "$IMG" 32M
echo "== pith mkdir -p disk.img:/srv   pith cp -r docs disk.img:/srv/docs"
"$PITH" mkdir -p "$IMG:/srv"
"$PITH" cp -r docs "$IMG:/srv/docs"
echo "== pith ls -l disk.img:/srv/docs"
"$PITH" ls -l "$IMG:/srv/docs"
echo "== pith cat disk.img:/srv/docs/tree.md | head -3"
"$PITH" cat "$IMG:/srv/docs/tree.md" | head -3
echo "== pith df disk.img"
"$PITH" df "$IMG"
echo "== e2fsck -fn disk.img"
"$E2FSCK" -fn "$IMG"
