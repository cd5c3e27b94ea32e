#!/bin/bash
# The ext4 oracle: images that mke2fs -t ext4 makes (default features and
# variants), read by Pith's ext2 driver through the whole kernel.
#
# For each variant: build a host tree (files of many sizes, a multi-MB
# file, a sparse file, deep directories, short and long symlinks, hard
# links, a directory of 2,000 entries that gets an htree), make an image
# of it with `mke2fs -d`, copy everything out with
# `tests/sys/ext4_test.t --copy`, and require: diff -r equal; names,
# types, modes, sizes, link counts and mtimes equal; a read-write mount
# refused with EROFS; the image's sha256 unchanged.  Then corruption: an
# inode checksum broken gives EIO on that file only, a superblock checksum
# broken refuses the mount, an extent block and a directory block broken
# give EIO.  Last, a stand-in for a Linux root file system image (/etc and
# /usr/share/doc) is copied out and compared.
#
# BUILD=build-san runs it on the sanitizer build.  Skips without
# e2fsprogs.
BUILD=${BUILD:-build}
T=$BUILD/tests/sys/ext4_test.t
MKE2FS=/usr/sbin/mke2fs
DEBUGFS=/usr/sbin/debugfs
. "$(dirname "$0")/tap.sh"
check() { if eval "$2"; then ok "$1"; else notok "$1"; return 1; fi; }

variants=("" "-b 1024" "-b 2048" "-I 128" "-I 512" "-O ^metadata_csum,uninit_bg"
	"-O ^64bit" "-O metadata_csum_seed" "-O ^has_journal,^flex_bg"
	"-O ^resize_inode,meta_bg" "-b 1024 -O ^metadata_csum,^uninit_bg")
per=5
extra=10
total=$((${#variants[@]} * per + extra))
echo "1..$total"
if [ ! -x $MKE2FS ] || [ ! -x $DEBUGFS ]; then
	for ((i = 1; i <= total; i++)); do
		echo "ok $i # SKIP e2fsprogs not installed"
	done
	exit 0
fi
if [ ! -x "$T" ]; then
	for ((i = 1; i <= total; i++)); do
		echo "not ok $i - $T missing: make $T"
	done
	exit 1
fi

dir=$(mktemp -d /tmp/pith-ext4o-XXXXXX)
trap 'rm -rf "$dir"' EXIT

mktree() {
	local t=$1 i d
	rm -rf "$t"
	mkdir -p "$t/deep" "$t/many" "$t/files" "$t/empty"
	d=$t/deep
	for i in $(seq 1 30); do d=$d/level$i; done
	mkdir -p "$d"
	echo bottom >"$d/file"
	for i in 0 1 100 1023 1024 1025 4095 4096 4097 12288 49153 65536 \
		200000 1048577; do
		head -c $i /dev/urandom >"$t/files/size$i"
	done
	head -c 7340035 /dev/urandom >"$t/files/multi-mb"
	truncate -s 300000000 "$t/files/sparse"
	printf 'middle' | dd of="$t/files/sparse" bs=1 seek=150000000 \
		conv=notrunc status=none
	printf 'end' | dd of="$t/files/sparse" bs=1 seek=299999997 \
		conv=notrunc status=none
	truncate -s 2000000 "$t/files/islands"  # > 4 extents: a tree of depth 1
	for i in $(seq 1 12); do
		printf 'island' | dd of="$t/files/islands" bs=1 \
			seek=$((i * 150000)) conv=notrunc status=none
	done
	for i in $(seq 1 2000); do : >"$t/many/entry-with-a-longer-name-$i"; done
	echo content >"$t/many/entry-with-a-longer-name-77"
	ln -s size1 "$t/files/short-link"
	ln -s "$(printf 'long-link-component/%.0s' $(seq 1 40))target" \
		"$t/files/long-link"
	ln -s ../files "$t/deep/dirlink"
	ln "$t/files/size4096" "$t/hard1"
	ln "$t/files/size4096" "$t/deep/hard2"
	mkfifo "$t/files/fifo"
	chmod 750 "$t/deep"
	chmod 4711 "$t/files/size1"
	chmod 0600 "$t/files/size100"
	chmod 1777 "$t/empty"
	touch -d '2001-02-03 04:05:06.123456789' "$t/files/size0"
}

# Everything find sees, modes, sizes, link counts, mtimes (dirs' sizes
# and mtimes differ by nature and are left out; mke2fs -d keeps whole
# seconds only).
listing() {
	(cd "$1" && find . ! -name lost+found -printf \
		'%p %y %m %n %l|%s %T@\n' | sed 's/\.[0-9]*$//;
		s/^\(.* d [0-9]* [0-9]* |\).*/\1/' |
		sort)
}

tree=$dir/tree
mktree "$tree"
img=$dir/img
for v in "${variants[@]}"; do
	name="ext4${v:+ $v}"
	out=$dir/out
	rm -rf "$out" "$img"
	if ! $MKE2FS -q -F -t ext4 $v -d "$tree" "$img" 256M >"$dir/mkfs" 2>&1
	then
		notok "$name: mke2fs failed: $(head -2 "$dir/mkfs" | tr '\n' ' ')"
		for ((i = 1; i < per; i++)); do notok "$name: no image"; done
		continue
	fi
	sum1=$(sha256sum <"$img")
	check "$name: copied out" "$T --copy '$img' '$out' 2>'$dir/err'" ||
		sed 's/^/# /' "$dir/err" | head -5
	check "$name: diff -r equal" \
		"diff -r --no-dereference '$tree' '$out' 2>&1 | grep -v 'is a fifo while' >'$dir/diff'; [ ! -s '$dir/diff' ]" ||
		sed 's/^/# /' "$dir/diff" | head -5
	listing "$tree" >"$dir/l1"
	listing "$out" >"$dir/l2"
	check "$name: types, modes, sizes, links, times equal" \
		"cmp -s '$dir/l1' '$dir/l2'" ||
		diff "$dir/l1" "$dir/l2" | sed 's/^/# /' | head -6
	check "$name: read-write mount refused (EROFS)" \
		"$T --rw '$img' 2>'$dir/err' >/dev/null && grep -q 'read-only here\|needs journal' '$dir/err'"
	check "$name: image unchanged" "[ \"\$(sha256sum <'$img')\" = \"$sum1\" ]"
done

# --- hashed directories with checksums (dx tails): e2fsck -D builds them ----
E2FSCK=/usr/sbin/e2fsck
for v in "" "-b 1024"; do
	rm -rf "$img" "$dir/out"
	$MKE2FS -q -F -t ext4 $v -d "$tree" "$img" 256M >/dev/null 2>&1
	$E2FSCK -fyD "$img" >/dev/null 2>&1
	check "ext4 $v after e2fsck -D (htree, dx tails): copied out, equal" \
		"$DEBUGFS -R 'stat /many' '$img' 2>/dev/null | grep -q 'Flags: 0x81000' &&
		$T --copy '$img' '$dir/out' 2>'$dir/err' &&
		! diff -r --no-dereference '$tree' '$dir/out' 2>&1 | grep -qv 'is a fifo while'" ||
		sed 's/^/# /' "$dir/err" | head -5
done

# --- corruption (default ext4, 4 KiB blocks) ---------------------------------
rm -f "$img"
$MKE2FS -q -F -t ext4 -b 4096 -d "$tree" "$img" 256M >/dev/null 2>&1
ino_off() {     # byte offset of inode $1 of $img
	$DEBUGFS -R "imap <$1>" "$img" 2>/dev/null |
		sed -n 's/.*located at block \([0-9]*\), offset 0x\([0-9a-f]*\).*/\1 \2/p' |
		(read b o; echo $((b * 4096 + 0x$o)))
}
inum() { $DEBUGFS -R "stat $1" "$img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }
flip() {        # flip one byte of copy $1 at offset $2
	local c
	c=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %o $(((c ^ 0x55) & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
bad=$dir/bad

cp "$img" "$bad"
flip "$bad" $(($(ino_off "$(inum /files/size65536)") + 0x1c))
r1=$($T --cat "$bad" files/size65536 2>/dev/null)
r2=$($T --cat "$bad" files/size1025 2>/dev/null)
check "inode checksum broken: EIO, other files read" \
	"[ '$r1' = 'Input/output error' ] && [ '$r2' = OK ]"

cp "$img" "$bad"
flip "$bad" $((1024 + 0x78))
check "superblock checksum broken: mount refused" \
	"! $T --mount '$bad' >/dev/null 2>'$dir/err' && grep -q 'superblock checksum' '$dir/err'"

# An extent tree block: the multi-MB file of a 1 KiB-block image has one.
rm -f "$img"
$MKE2FS -q -F -t ext4 -b 1024 -d "$tree" "$img" 256M >/dev/null 2>&1
eblk=$($DEBUGFS -R "ex /files/islands" "$img" 2>/dev/null |
	awk '$1 == "0/" && $2 == "1" { print $8; exit }')
cp "$img" "$bad"
[ -n "$eblk" ] && flip "$bad" $((eblk * 1024 + 40))
r1=$($T --cat "$bad" files/islands 2>/dev/null)
check "extent block checksum broken: EIO (block ${eblk:-none})" \
	"[ -n '$eblk' ] && [ '$r1' = 'Input/output error' ]"

dblk=$($DEBUGFS -R "blocks /deep" "$img" 2>/dev/null | awk '{ print $1 }')
cp "$img" "$bad"
[ -n "$dblk" ] && flip "$bad" $((dblk * 1024 + 30))
r1=$($T --copy "$bad" "$dir/outbad" 2>&1 | grep -c 'Input/output error')
check "directory block checksum broken: EIO (block ${dblk:-none})" \
	"[ -n '$dblk' ] && [ '$r1' -ge 1 ]"
rm -rf "$dir/outbad"

# --- random corruption: without metadata_csum nothing catches it first ------
rm -rf "$img" "$dir/ftree"
cp -a "$tree" "$dir/ftree"
rm -f "$dir/ftree/files/multi-mb" "$dir/ftree/files/sparse"
$MKE2FS -q -F -t ext4 -O ^metadata_csum -b 1024 -d "$dir/ftree" "$img" 16M \
	>/dev/null 2>&1
itab=$($DEBUGFS -R "imap <2>" "$img" 2>/dev/null |
	sed -n 's/.*located at block \([0-9]*\),.*/\1/p')
regions=("2 1" "${itab:-2} 64" "$($DEBUGFS -R 'blocks /' "$img" 2>/dev/null |
	awk '{ print $1 }') 1")
RANDOM=4
crashes=0
for i in $(seq 1 40); do
	cp "$img" "$bad"
	for k in 1 2 3 4 5; do
		set -- ${regions[$((RANDOM % ${#regions[@]}))]}
		off=$(($1 * 1024 + (RANDOM * 32768 + RANDOM) % ($2 * 1024)))
		printf "\\$(printf %o $((RANDOM % 256)))" |
			dd of="$bad" bs=1 seek=$off conv=notrunc status=none
	done
	rm -rf "$dir/outbad"
	EXT4_TEST_MAXREAD=16777216 timeout 60 $T --copy "$bad" "$dir/outbad" \
		>/dev/null 2>"$dir/err"
	rc=$?
	if [ $rc -gt 2 ] || grep -q 'Sanitizer\|runtime error\|panic' "$dir/err"
	then
		crashes=$((crashes + 1))
		echo "# image $i: exit $rc"; sed 's/^/#   /' "$dir/err" | tail -5
		cp "$bad" "/tmp/pith-ext4-crash-$i.img"
	fi
done
rm -rf "$dir/outbad"
check "random metadata corruption (40 images): no crash, hang, report" \
	"[ $crashes = 0 ]"

# --- inline_data (not a default): files are read, inline directories EIO -----
rm -rf "$dir/itree" "$dir/iout" "$img"
mkdir -p "$dir/itree"
echo tiny >"$dir/itree/tiny"
head -c 150 /dev/urandom >"$dir/itree/mid"      # past i_block: system.data
head -c 10000 /dev/urandom >"$dir/itree/big"    # not inline
$MKE2FS -q -F -t ext4 -O inline_data -d "$dir/itree" "$img" 32M >/dev/null 2>&1
check "inline_data: inline files read" \
	"$T --copy '$img' '$dir/iout' 2>'$dir/err' && diff -r '$dir/itree' '$dir/iout'"

# --- a Linux root file system stand-in ---------------------------------------
root=$dir/root
mkdir -p "$root/usr/share"
cp -a /etc "$root/etc" 2>/dev/null
cp -a /usr/share/doc "$root/usr/share/doc" 2>/dev/null
find "$root" \( -type s -o -type b -o -type c \) -delete 2>/dev/null
rm -f "$img"
$MKE2FS -q -F -t ext4 -d "$root" "$img" 512M >/dev/null 2>&1
sum1=$(sha256sum <"$img")
rm -rf "$dir/out"
check "root image: copied out" "$T --copy '$img' '$dir/out' 2>'$dir/err'" ||
	sed 's/^/# /' "$dir/err" | head -5
check "root image: equal, unchanged" \
	"! diff -r --no-dereference '$root' '$dir/out' 2>&1 | grep -qv 'is a fifo while' &&
	[ \"\$(listing '$root')\" = \"\$(listing '$dir/out')\" ] &&
	[ \"\$(sha256sum <'$img')\" = \"$sum1\" ]"
exit $fail
