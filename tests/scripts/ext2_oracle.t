#!/bin/bash
# The ext2 oracle: e2fsprogs judge what Pith's ext2 driver wrote.
#
# For each mke2fs variant: build a host tree, make an image of it with
# `mke2fs -d`, let Pith (tests/sys/ext2_test.t --ops) check the image
# against the tree and apply the same random operations to both, then
# require `e2fsck -fn` to find the image clean and debugfs's view of it
# (rdump of the whole tree, and cat and ls of single files) to equal the
# host tree.  Skips when e2fsprogs are absent.
BUILD=${BUILD:-build}
T=$BUILD/tests/sys/ext2_test.t
MKE2FS=/usr/sbin/mke2fs
E2FSCK=/usr/sbin/e2fsck
DEBUGFS=/usr/sbin/debugfs
. "$(dirname "$0")/tap.sh"

variants=("" "-b 1024" "-b 2048" "-b 4096" "-I 128" "-I 256"
	"-O ^dir_index,^resize_inode" "-r 0")
per=5
echo "1..$((${#variants[@]} * per))"
if [ ! -x $MKE2FS ] || [ ! -x $E2FSCK ] || [ ! -x $DEBUGFS ]; then
	for ((i = 1; i <= ${#variants[@]} * per; i++)); do
		echo "ok $i # SKIP e2fsprogs not installed"
	done
	exit 0
fi
if [ ! -x "$T" ]; then
	for ((i = 1; i <= ${#variants[@]} * per; i++)); do
		echo "not ok $i - $T missing: make $T"
	done
	exit 1
fi

dir=$(mktemp -d /tmp/pith-ext2o-XXXXXX)
trap 'rm -rf "$dir"' EXIT

# A host tree: nested dirs, files of many sizes, sparse, links, a fifo.
mktree() {
	local t=$1 seed=$2 i
	RANDOM=$seed
	rm -rf "$t"
	mkdir -p "$t/a/b/c" "$t/d" "$t/e/empty"
	for i in $(seq 1 40); do
		head -c $((RANDOM * (RANDOM % 7 + 1) % 400000)) /dev/urandom \
			>"$t/$(printf 'a/b/c\nd\ne\n.\na' | sed -n "$((i % 5 + 1))p")/f$i"
	done
	truncate -s 3000000 "$t/d/sparse"
	printf 'middle' | dd of="$t/d/sparse" bs=1 seek=1500000 conv=notrunc status=none
	ln -s f1 "$t/a/short"
	ln -s "$(printf 'long/%.0s' $(seq 1 30))target" "$t/a/long"
	ln "$(find "$t" -type f -name 'f*' | sort | head -1)" "$t/a/hard"
	mkfifo "$t/e/fifo"
	chmod 750 "$t/a/b"
	chmod 4711 "$t/d/sparse"
}

seed=1
for v in "${variants[@]}"; do
	img=$dir/img
	tree=$dir/tree
	mktree "$tree" $seed
	rm -f "$img"
	if ! $MKE2FS -q -F -t ext2 $v -d "$tree" "$img" 24M >/dev/null 2>&1; then
		for ((i = 0; i < per; i++)); do notok "[$v] mke2fs failed"; done
		continue
	fi
	if out=$("$T" --ops "$img" "$tree" $seed 250 2>&1); then
		ok "[$v] Pith reads the image and 250 operations agree with the host"
	else
		notok "[$v] Pith disagrees with the host"
		echo "$out" | head -20 | sed 's/^/# /'
	fi
	if fsck=$($E2FSCK -fn "$img" 2>&1); then
		ok "[$v] e2fsck -fn clean"
	else
		notok "[$v] e2fsck -fn found problems"
		echo "$fsck" | head -20 | sed 's/^/# /'
	fi
	rm -rf "$dir/out" && mkdir "$dir/out"
	$DEBUGFS -R "rdump / $dir/out" "$img" >/dev/null 2>&1
	rm -rf "$dir/out/lost+found"
	# rdump skips FIFOs: drop "Only in DIR: NAME" lines naming one.
	d=$(diff -r --no-dereference "$tree" "$dir/out" 2>&1 |
		while IFS= read -r line; do
			case $line in
			"Only in $tree"*)
				p=${line#Only in }
				[ -p "${p%%: *}/${p#*: }" ] && continue;;
			esac
			echo "$line"
		done)
	if [ -z "$d" ]; then
		ok "[$v] debugfs rdump equals the host tree"
	else
		notok "[$v] debugfs rdump differs from the host tree"
		echo "$d" | head -20 | sed 's/^/# /'
	fi
	# One file by cat, and the modes of a directory by ls -l.
	f=$(cd "$tree" && find . -type f -size +1 | head -1)
	if [ -n "$f" ] && cmp -s "$tree/$f" <($DEBUGFS -R "cat /${f#./}" "$img" 2>/dev/null); then
		ok "[$v] debugfs cat ${f#./}"
	else
		notok "[$v] debugfs cat ${f#./} differs"
	fi
	want=$(cd "$tree" && stat -c '%a %n' * | sort)
	got=$($DEBUGFS -R "ls -l /" "$img" 2>/dev/null | awk 'NF >= 9 && $NF != "." && $NF != ".." && $NF != "lost+found" { m = substr($2, length($2) - 3); sub(/^0+/, "", m); print (m == "" ? "0" : m) " " $NF }' | sort)
	if [ "$want" = "$got" ]; then
		ok "[$v] debugfs ls -l modes match"
	else
		notok "[$v] debugfs ls -l modes differ"
		diff <(echo "$want") <(echo "$got") | head -10 | sed 's/^/# /'
	fi
	seed=$((seed + 1))
done
exit $fail
