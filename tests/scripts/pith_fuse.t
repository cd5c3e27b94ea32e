#!/bin/bash
# pith mount: an ext2 image served through FUSE by Pith's own driver.
# Ordinary tools work through the mount (cp, ls, mkdir, rm, mv, ln, chmod);
# after `fusermount3 -u` and the server's exit, e2fsck -fn finds the image
# clean and both `pith cat` and debugfs read what was written.  Needs
# /dev/fuse and a working fusermount3 (root in CI); skips otherwise.
BUILD=${BUILD:-build}
PITH=$PWD/$BUILD/pith
MKE2FS=/usr/sbin/mke2fs
E2FSCK=/usr/sbin/e2fsck
DEBUGFS=/usr/sbin/debugfs
PLAN=26
. "$(dirname "$0")/tap.sh"

skip_all() { echo "1..0 # SKIP $1"; exit 0; }
[ -x "$PITH" ] || skip_all "$BUILD/pith not built"
[ -x $MKE2FS ] && [ -x $E2FSCK ] || skip_all "e2fsprogs not installed"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"
command -v fusermount3 >/dev/null || skip_all "fusermount3 not installed"
W=$(mktemp -d /tmp/pith_fuse.XXXXXX)
cleanup() {
	fusermount3 -u -z "$W/mnt" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
mkdir mnt tree tree/d
echo hello >tree/hello
head -c 200000 /dev/urandom >tree/d/blob
ln -s hello tree/link
$MKE2FS -q -F -t ext2 -d tree img 64M >/dev/null 2>&1

# Can this machine mount FUSE at all?  Try, and skip if not.
if ! "$PITH" mount img mnt 2>mount.err; then
	skip_all "cannot mount FUSE here: $(head -1 mount.err)"
fi
echo "1..$PLAN"

# The server exits after fusermount3 -u; until then it holds its lock on
# the image, and a read-only pith command fails with EBUSY.
wait_server() {
	local i
	for ((i = 0; i < 100; i++)); do
		"$PITH" df img >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

check "mount shows the tree" test "$(ls mnt | tr '\n' ' ')" = "d hello link lost+found "
check "read through the mount" cmp mnt/d/blob tree/d/blob
check "readlink through the mount" test "$(readlink mnt/link)" = hello
check "stat through the mount" test "$(stat -c %s mnt/d/blob)" = 200000
check "df through the mount" bash -c "df mnt | grep -q img"
mkdir -p src/x/y
head -c 1000000 /dev/urandom >src/x/big
echo small >src/x/y/small
check "cp -r into the mount" cp -r src mnt/src
check "mkdir" mkdir mnt/newdir
check "mv" mv mnt/src/x/y/small mnt/newdir/moved
check "ln -s" ln -s /a/b mnt/newdir/sym
check "ln" ln mnt/newdir/moved mnt/newdir/hard
check "chmod" chmod 751 mnt/newdir
check "rm -r" rm -r mnt/d
check "write and append" bash -c "echo one >mnt/f && echo two >>mnt/f && test \"\$(cat mnt/f)\" = \"one
two\""
check "truncate" bash -c "truncate -s 3 mnt/f && test \"\$(cat mnt/f)\" = one"
# A file with holes (in the middle and at the end) and one of several
# MiB, for the read-only mount below to read back.
head -c 5000000 /dev/urandom >big5
truncate -s 6000000 sparse
echo middle | dd of=sparse bs=1 seek=3000000 conv=notrunc 2>/dev/null
check "sparse and big files written through the mount" bash -c \
	"cp big5 mnt/big5 && truncate -s 6000000 mnt/sparse &&
	echo middle | dd of=mnt/sparse bs=1 seek=3000000 conv=notrunc 2>/dev/null"
check "ls -l sees the changes" bash -c "ls -l mnt/newdir | grep -q 'sym -> /a/b'"
check "fusermount3 -u" fusermount3 -u mnt
check "server exits and releases the image" wait_server
fsck_clean() { $E2FSCK -fn img >fsck.out 2>&1; }
check "e2fsck clean after the mount" fsck_clean
check "pith cat reads what the mount wrote" \
	cmp <("$PITH" cat img:/src/x/big) src/x/big
check "pith ls sees the changes" \
	bash -c "'$PITH' ls -ld img:/newdir | grep -q '^drwxr-x--x'"
if [ -x $DEBUGFS ]; then
	check "debugfs reads what the mount wrote" \
		cmp <($DEBUGFS -R 'cat /newdir/moved' img 2>/dev/null) src/x/y/small
else
	ok "# SKIP debugfs missing"
fi

# Read-only and foreground: nothing written, the image's bytes unchanged.
before=$(sha256sum img)
"$PITH" mount -r -f img mnt &
pid=$!
for ((i = 0; i < 50; i++)); do
	mountpoint -q mnt && break
	sleep 0.1
done
ls mnt >/dev/null
touch mnt/nope 2>/dev/null
r=$?
# Reads here skip OPEN and take blocks from the image file directly.
check "read-only mount reads files back" bash -c \
	"cmp mnt/big5 big5 && cmp mnt/src/x/big src/x/big &&
	cmp mnt/newdir/moved src/x/y/small &&
	test \"\$(cat mnt/f)\" = one"
check "read-only mount reads holes as zeros" cmp mnt/sparse sparse
fusermount3 -u mnt
wait $pid
check "read-only foreground mount refuses writes, leaves the image unchanged" \
	test $r -ne 0 -a "$(sha256sum img)" = "$before"

# SIGTERM ends a foreground mount: unmounted, the write reached the image.
"$PITH" mount -f img mnt &
pid=$!
for ((i = 0; i < 50; i++)); do
	mountpoint -q mnt && break
	sleep 0.1
done
echo term >mnt/term
kill -TERM $pid
for ((i = 0; i < 50; i++)); do
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
check "SIGTERM unmounts a foreground mount and writes the image" bash -c \
	"! kill -0 $pid 2>/dev/null && ! mountpoint -q mnt &&
	$E2FSCK -fn img >/dev/null 2>&1 &&
	test \"\$('$PITH' cat img:/term)\" = term"
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
exit $fail
