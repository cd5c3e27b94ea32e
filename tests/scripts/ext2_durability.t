#!/bin/bash
# Durability: `pith cp -r` killed with SIGKILL at random moments.
#
# Batch A is copied into a fresh image by a `pith cp -r` that finishes.
# Then, trial after trial on the same image, `pith cp -r` of batch B is
# killed (timeout -s KILL after a random 0.02-0.92 s; the previous
# trial's partial copy is removed first with `pith rm -r`).  After each kill
# `e2fsck -fy` must make the image consistent (exit 0 or 1, and a second
# `e2fsck -fn` finds nothing), and batch A -- written by a command that
# finished -- must be intact: copied out by `pith cp -r` and compared byte
# for byte, and one file read by debugfs.  Skips without e2fsprogs or
# without $BUILD/pith.  DURABILITY_TRIALS sets the number of kills.
BUILD=${BUILD:-build}
PITH=$BUILD/pith
MKE2FS=/usr/sbin/mke2fs
E2FSCK=/usr/sbin/e2fsck
DEBUGFS=/usr/sbin/debugfs
TRIALS=${DURABILITY_TRIALS:-6}
per=4
total=$((1 + TRIALS * per))
. "$(dirname "$0")/tap.sh"
notok() { n=$((n + 1)); echo "not ok $n - $1"; }

echo "1..$total"
skipall() {
	for ((i = 1; i <= total; i++)); do echo "ok $i # SKIP $1"; done
	exit 0
}
[ -x $MKE2FS ] && [ -x $E2FSCK ] && [ -x $DEBUGFS ] ||
	skipall "e2fsprogs not installed"
[ -x "$PITH" ] || skipall "$PITH not built (make $PITH)"

dir=$(mktemp -d /tmp/pith-durable-XXXXXX)
trap 'rm -rf "$dir"' EXIT
img=$dir/disk.img

# Batch A: small and varied.  Batch B: big enough that a kill lands in
# the middle of it (a few seconds of copying).
mkdir -p "$dir/A/sub/deeper" "$dir/B"
for i in $(seq 1 60); do
	head -c $(((i * 7919) % 150000)) /dev/urandom >"$dir/A/sub/f$i"
done
head -c 3000000 /dev/urandom >"$dir/A/sub/deeper/big"
ln -s sub/f1 "$dir/A/link"
for d in $(seq 1 30); do
	mkdir -p "$dir/B/d$d"
	for i in $(seq 1 60); do
		head -c $(((d * 1000 + i * 4099) % 40000)) /dev/urandom \
			>"$dir/B/d$d/g$i"
	done
done
head -c 8000000 /dev/urandom >"$dir/B/large"

$MKE2FS -q -F -t ext2 -b 1024 "$img" 1G >/dev/null 2>&1
if "$PITH" cp -r "$dir/A" "$img:/A" && $E2FSCK -fn "$img" >/dev/null 2>&1; then
	ok "batch A copied by a finished pith cp -r; e2fsck clean"
else
	notok "batch A copy failed"
	exit 1
fi

killed=0
for ((t = 1; t <= TRIALS; t++)); do
	# The previous trial's partial copy goes, so the image never fills.
	# (It may be absent: what a killed copy had not flushed is gone, and
	# e2fsck moves the orphans it finds to /lost+found.)
	[ $t -gt 1 ] && "$PITH" rm -r "$img:/B$((t - 1))" 2>/dev/null
	ms=$((20 + (RANDOM * 32768 + RANDOM) % 900))
	# In a subshell that outlives the kill, so bash reports nothing.
	(timeout -s KILL "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))" \
		"$PITH" cp -r "$dir/B" "$img:/B$t" >/dev/null 2>"$dir/b.err"
		echo $? >"$dir/rc") 2>/dev/null
	rc=$(cat "$dir/rc")
	[ $rc -ne 0 ] && [ $rc -ne 137 ] && head -n 3 "$dir/b.err" | sed 's/^/# pith: /'
	[ $rc -eq 137 ] && killed=$((killed + 1))
	$E2FSCK -fy "$img" >"$dir/fsck.out" 2>&1
	fy=$?
	if [ $fy -le 1 ]; then
		ok "trial $t (kill after ${ms} ms, pith exit $rc): e2fsck -fy exit $fy"
	else
		notok "trial $t (kill after ${ms} ms): e2fsck -fy exit $fy"
		sed 's/^/#   /' "$dir/fsck.out" | head -n 20
	fi
	if $E2FSCK -fn "$img" >"$dir/fsck.out" 2>&1; then
		ok "trial $t: consistent after repair"
	else
		notok "trial $t: e2fsck -fn still finds problems"
		sed 's/^/#   /' "$dir/fsck.out" | head -n 20
	fi
	rm -rf "$dir/out"
	if "$PITH" cp -r "$img:/A" "$dir/out" 2>"$dir/cp.err" &&
	    diff -r "$dir/A" "$dir/out" >"$dir/diff.out" 2>&1; then
		ok "trial $t: batch A intact (pith cp -r out, diff -r)"
	else
		notok "trial $t: batch A damaged"
		cat "$dir/cp.err" "$dir/diff.out" | head -n 10 | sed 's/^/#   /'
	fi
	if $DEBUGFS -R "cat /A/sub/deeper/big" "$img" 2>/dev/null |
	    cmp -s - "$dir/A/sub/deeper/big"; then
		ok "trial $t: debugfs reads batch A's largest file intact"
	else
		notok "trial $t: debugfs reads batch A's largest file differently"
	fi
done
echo "# $killed of $TRIALS copies were killed before they finished"
