#!/bin/bash
# The pith command on ext2 images made by mke2fs: every command, its output,
# its errors, and the oracles -- e2fsck -fn must find the image clean after
# every writing command, and read-only commands must leave the image's
# bytes (sha256) unchanged.  Skips when e2fsprogs or the binary are absent.
BUILD=${BUILD:-build}
PITH=$PWD/$BUILD/pith
MKE2FS=/usr/sbin/mke2fs
E2FSCK=/usr/sbin/e2fsck
DEBUGFS=/usr/sbin/debugfs
. "$(dirname "$0")/tap.sh"

if [ ! -x $MKE2FS ] || [ ! -x $E2FSCK ] || [ ! -x "$PITH" ]; then
	echo "1..0 # SKIP e2fsprogs or $BUILD/pith missing"
	exit 0
fi
W=$(mktemp -d /tmp/pith_cli.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

fsck_clean() { $E2FSCK -fn "$1" >fsck.out 2>&1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# A tree with every kind of thing cp must keep.
mkdir -p tree/dir/sub tree/empty
echo hello >tree/hello.txt
printf 'second\n' >tree/dir/two
head -c 300000 /dev/urandom >tree/dir/sub/blob
ln tree/dir/two tree/dir/two.hard
ln -s ../hello.txt tree/dir/link
ln -s /nonexistent/target tree/dangling
chmod 750 tree/dir
chmod 600 tree/dir/two
chmod 4755 tree/hello.txt
truncate -s 5M tree/sparse
echo end >>tree/sparse
touch -h -d '2001-02-03 04:05:06' tree/dir/sub/blob tree/dir/link

$MKE2FS -q -F -t ext2 -d tree img 64M >/dev/null 2>&1
$MKE2FS -q -F -t ext2 empty.img 64M >/dev/null 2>&1

# --- help, version, errors --------------------------------------------------
check "--help exits 0 and lists commands" \
	bash -c "'$PITH' --help | grep -q 'mount'"
check "--version" bash -c "'$PITH' --version | grep -q '^pith '"
check "ls --help exits 0" bash -c "'$PITH' ls --help | grep -q usage"
"$PITH" cat img:/missing >cat.out 2>err
rc=$?
check "missing file: exit 1" test $rc -eq 1
check "missing file: message format" \
	grep -qx 'pith: img:/missing: No such file or directory' err
"$PITH" frobnicate >/dev/null 2>&1
check "unknown command fails" test $? -eq 1
"$PITH" ls >/dev/null 2>&1
check "missing operand fails" test $? -eq 1

# --- read-only commands -----------------------------------------------------
before=$(sha img)
"$PITH" ls img:/ >ls.out
check "ls names" diff -u <(printf 'dangling\ndir\nempty\nhello.txt\nlost+found\nsparse\n') ls.out
"$PITH" ls -l img:/dir >lsl.out
check "ls -l mode and links" grep -q '^-rw------- 2 .* two$' lsl.out
check "ls -l symlink target" grep -q 'link -> ../hello.txt$' lsl.out
check "ls -l directory mode" \
	bash -c "'$PITH' ls -ld img:/dir | grep -q '^drwxr-x--- '"
check "ls -la shows dot entries" \
	bash -c "'$PITH' ls -a img:/empty | grep -qx '\.\.'"
check "ls -R recurses" bash -c "'$PITH' ls -R img:/ | grep -qx 'img:/dir/sub:'"
check "ls -l setuid" bash -c "'$PITH' ls -l img:/hello.txt | grep -q '^-rwsr-xr-x'"
check "cat content" bash -c "'$PITH' cat img:/hello.txt | grep -qx hello"
check "cat binary" cmp <("$PITH" cat img:/dir/sub/blob) tree/dir/sub/blob
"$PITH" stat img:/dir/two >stat.out
check "stat size and links" grep -q 'Size: 7 .*Links: 2' <(tr -s ' \t' ' ' <stat.out | paste -sd' ')
check "stat mode" grep -q 'Access: (0600/-rw-------)' stat.out
"$PITH" df img >df.out
check "df shows the image" grep -q '^img ' df.out
check "df sizes" bash -c "awk 'NR==2 { exit !(\$2 > 50000 && \$6 > 1000) }' df.out"
"$PITH" cp -rp img:/ out >/dev/null 2>cp.err
check "cp -rp out of an image" test $? -eq 0
check "read-only commands leave the image unchanged" test "$(sha img)" = "$before"
check "copied-out tree equals the original" diff -r --no-dereference -x lost+found tree out
check "cp -p out keeps modes" \
	test "$(stat -c %a out/dir out/dir/two out/hello.txt)" = "$(stat -c %a tree/dir tree/dir/two tree/hello.txt)"
check "cp -p out keeps mtime" \
	test "$(stat -c %Y out/dir/sub/blob)" = "$(stat -c %Y tree/dir/sub/blob)"
check "cp out keeps hard links" \
	test "$(stat -c %i out/dir/two)" = "$(stat -c %i out/dir/two.hard)"
check "cp out keeps sparse files sparse" \
	test "$(stat -c %b out/sparse)" -lt 1000
# A copy out whose writes fail (a file size limit, SIGXFSZ ignored: EFBIG)
# says so and exits 1, also when the worker threads meet the error.
bash -c "trap '' XFSZ; ulimit -f 50; exec '$PITH' cp -r img:/ lim" 2>lim.err
check "cp out: a failing write is an error (exit 1)" test $? -eq 1
check "... naming the file and the reason" grep -q 'lim/dir/sub/blob: File too large' lim.err
# The copy out goes around the kernel's reads (FS_IOC_FIEMAP, then the
# host copies from the image file): into another host file system it
# must fall back from copy_file_range to reads and writes.
other=
for d in /dev/shm /run; do
	if [ -d $d ] && [ -w $d ] && [ "$(stat -c %d $d)" != "$(stat -c %d .)" ]; then
		other=$(mktemp -d $d/pith_cli.XXXXXX) && break
	fi
done
if [ -n "$other" ]; then
	"$PITH" cp -rp img:/ "$other/out" 2>/dev/null
	check "cp -rp out into another file system equals the original" \
		diff -r --no-dereference -x lost+found tree "$other/out"
	check "... keeps mtime there" \
		test "$(stat -c %Y "$other/out/dir/sub/blob")" = "$(stat -c %Y tree/dir/sub/blob)"
	rm -rf "$other"
else
	ok "# SKIP no other writable host file system"
	ok "# SKIP no other writable host file system"
fi

# --- cp in --------------------------------------------------------------------
"$PITH" cp -rp tree empty.img:/t 2>cp.err
check "cp -rp into an image" test $? -eq 0
check "e2fsck clean after cp -r in" fsck_clean empty.img
"$PITH" cp -rp empty.img:/t back >/dev/null 2>&1
check "round trip: tree equal" diff -r --no-dereference tree back
check "round trip: modes equal" \
	test "$(cd tree && find . | sort | xargs stat -c '%n %a %h')" = "$(cd back && find . | sort | xargs stat -c '%n %a %h')"
check "round trip: symlink kept" test "$(readlink back/dir/link)" = ../hello.txt
check "round trip: hard link kept" \
	test "$(stat -c %i back/dir/two)" = "$(stat -c %i back/dir/two.hard)"
if [ -x $DEBUGFS ]; then
	check "debugfs reads what pith wrote" \
		cmp <($DEBUGFS -R 'cat /t/dir/sub/blob' empty.img 2>/dev/null) tree/dir/sub/blob
else
	ok "# SKIP debugfs missing"
fi
"$PITH" cp tree/hello.txt empty.img:/single 2>/dev/null
check "cp one file in" bash -c "'$PITH' cat empty.img:/single | grep -qx hello"
"$PITH" cp empty.img:/single img:/copied 2>/dev/null
check "cp image to image" bash -c "'$PITH' cat img:/copied | grep -qx hello"
check "e2fsck clean after image to image" fsck_clean img
"$PITH" cp tree/dir empty.img:/nodir >/dev/null 2>&1
check "cp of a directory without -r fails" test $? -eq 1
mkdir -p ltree/d
echo x >ltree/d/f
ln -s d ltree/ld
"$PITH" cp -rL ltree empty.img:/lt 2>/dev/null
check "cp -rL follows a link to a directory" \
	bash -c "'$PITH' cat empty.img:/lt/ld/f | grep -qx x"
"$PITH" cp -r ltree empty.img:/lp 2>/dev/null
check "cp -r copies it as a link" \
	bash -c "'$PITH' ls -l empty.img:/lp | grep -q 'ld -> d$'"

# --- writing commands -------------------------------------------------------------
"$PITH" mkdir -p empty.img:/a/b/c
check "mkdir -p" bash -c "'$PITH' ls -d empty.img:/a/b/c >/dev/null"
check "e2fsck clean after mkdir -p" fsck_clean empty.img
"$PITH" mkdir -m 700 empty.img:/private
check "mkdir -m" bash -c "'$PITH' ls -ld empty.img:/private | grep -q '^drwx------ '"
"$PITH" mkdir empty.img:/a 2>err
check "mkdir existing: File exists" grep -q 'empty.img:/a: File exists' err
"$PITH" touch empty.img:/a/b/c/file
check "touch creates" bash -c "'$PITH' ls empty.img:/a/b/c | grep -qx file"
"$PITH" mv empty.img:/a/b/c/file empty.img:/a/moved
check "mv" bash -c "'$PITH' ls empty.img:/a | grep -qx moved"
check "e2fsck clean after mv" fsck_clean empty.img
"$PITH" mkdir empty.img:/into && "$PITH" mv empty.img:/a/moved empty.img:/into &&
	"$PITH" mv empty.img:/into/moved empty.img:/a/
check "mv into a directory" bash -c "'$PITH' ls empty.img:/a | grep -qx moved"
"$PITH" cp -r empty.img:/a empty.img:/into/acopy
check "cp -r within one image" bash -c "'$PITH' ls empty.img:/into/acopy/b | grep -qx c"
"$PITH" mv empty.img:/a img:/a 2>err
check "mv between images is refused" grep -q 'cross-device' err
"$PITH" ln -s /some/where empty.img:/a/sym
check "ln -s" bash -c "'$PITH' ls -l empty.img:/a/sym | grep -q -- '-> /some/where$'"
"$PITH" ln empty.img:/a/moved empty.img:/a/hard
check "ln (hard)" bash -c "'$PITH' stat empty.img:/a/hard | grep -q 'Links: 2'"
"$PITH" chmod 640 empty.img:/a/moved
check "chmod octal" bash -c "'$PITH' ls -l empty.img:/a/moved | grep -q '^-rw-r----- '"
"$PITH" chmod u+x,o+r empty.img:/a/moved
check "chmod symbolic" bash -c "'$PITH' ls -l empty.img:/a/moved | grep -q '^-rwxr--r-- '"
"$PITH" chown 1234:5678 empty.img:/a/moved
check "chown" bash -c "'$PITH' ls -l empty.img:/a/moved | grep -q ' 1234 5678 '"
check "e2fsck clean after ln, chmod, chown" fsck_clean empty.img
"$PITH" rm empty.img:/a 2>err
check "rm of a directory without -r fails" grep -q 'Is a directory' err
"$PITH" rm -r empty.img:/a
check "rm -r" bash -c "! '$PITH' ls empty.img:/a >/dev/null 2>&1"
check "e2fsck clean after rm -r" fsck_clean empty.img
"$PITH" rm -f empty.img:/never
check "rm -f of a missing file succeeds" test $? -eq 0
"$PITH" rm -r empty.img:/t empty.img:/into empty.img:/lt empty.img:/lp
"$PITH" df empty.img >df2.out
check "space comes back after rm -r" \
	test "$(awk 'NR==2 { print $7 }' df2.out)" -le 14
check "e2fsck clean at the end" fsck_clean empty.img

# --- images that must not be written ---------------------------------------------
cp img errs.img
if [ -x $DEBUGFS ] && $DEBUGFS -w -R 'ssv state 2' errs.img >/dev/null 2>&1; then
	before=$(sha errs.img)
	"$PITH" mkdir errs.img:/x 2>err
	check "an image with errors is refused for writing" test $? -eq 1
	check "... naming the reason" grep -q 'errors' err
	check "... and still reads" bash -c "'$PITH' cat errs.img:/hello.txt | grep -qx hello"
	check "... unchanged" test "$(sha errs.img)" = "$before"
else
	for i in 1 2 3 4; do ok "# SKIP debugfs cannot set the error state"; done
fi
$MKE2FS -q -F -t ext4 -d tree e4.img 64M >/dev/null 2>&1
before=$(sha e4.img)
"$PITH" mkdir e4.img:/x 2>/dev/null
check "an ext4 image is refused for writing" test $? -eq 1
check "ext4: cp -r out equals the tree" \
	bash -c "'$PITH' cp -r e4.img:/ e4out 2>/dev/null && diff -r --no-dereference -x lost+found tree e4out"
check "ext4: bytes unchanged" test "$(sha e4.img)" = "$before"

# --- partitions -----------------------------------------------------------------
# An MBR written by hand: partition 1 at sector 2048 (20 MiB),
# partition 2 at sector 43008 (30 MiB), signature 55 aa.
le32() {
	printf '\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}
mbr_entry() { printf "\x00\x00\x00\x00\x83\x00\x00\x00$(le32 $1)$(le32 $2)"; }
truncate -s 80M disk
{ mbr_entry 2048 40960; mbr_entry 43008 61440; } |
	dd of=disk bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of=disk bs=1 seek=510 conv=notrunc status=none
$MKE2FS -q -F -t ext2 -d tree -E offset=$((43008 * 512)) disk 30M >/dev/null 2>&1
check "ls of partition 2" bash -c "'$PITH' ls disk@2:/ | grep -qx hello.txt"
"$PITH" mkdir disk@2:/newdir
check "mkdir in partition 2" bash -c "'$PITH' ls -d disk@2:/newdir >/dev/null"
dd if=disk of=part2 bs=512 skip=43008 count=61440 status=none
check "e2fsck clean on partition 2" fsck_clean part2
"$PITH" ls disk@1:/ >/dev/null 2>err
check "partition 1 (no file system) is refused" test $? -eq 1
"$PITH" cp -rp disk@2:/ p2out 2>/dev/null
check "cp -rp out of partition 2 equals the tree" \
	diff -r --no-dereference -x lost+found -x newdir tree p2out

# The plan comes last: the count is whatever ran.
echo "1..$n"
exit $fail
