#!/bin/bash
# ext2 image figures for make bench (issue 4): one tree of 20,000 files
# and 1.1 GiB, generated once under /tmp (EXT2_BENCH_TREE), copied
#
#   into a fresh image: `mke2fs` + `pith cp -r` against `mke2fs -d`,
#       against `e2cp` (e2tools: one invocation per directory, with every
#       file of that directory, after `e2mkdir`), and against `cp -r` into
#       a `fuse2fs` mount (the time includes `fusermount -u`);
#   out of the image: `pith cp -r` against `debugfs -R rdump` and
#       against `cp -r` out of a read-only `fuse2fs` mount;
#   through FUSE: `cp -r` into and out of a `pith mount` against the same
#       through `fuse2fs` (pith mount runs in the foreground and its exit
#       after `fusermount -u`, when the image is written, is waited for);
#
# and the peak memory (max RSS) of `pith cp -r` into the image.
#
# The machine may be shared and noisy: the rows against mke2fs -d and
# debugfs rdump (a second or two each) are run EXT2_BENCH_REPS times
# (default 3), the two sides alternating so that both meet the same
# moments, and each side's fastest run counts; the slow rows run once.
# Prints lines "FIGURE<TAB>name<TAB>pith<TAB>other<TAB>unit<TAB>ratio"
# (ratio: other's time / pith's time, so > 1 means Pith is faster) that
# bench/run.sh puts in its table; a row whose tool is missing is skipped
# with a reason on stderr.  Images go to a temporary directory, removed
# at the end.
BUILD=${BUILD:-build}
PITH=$BUILD/pith
TREE=${EXT2_BENCH_TREE:-/tmp/pith-bench-tree}
MKE2FS=/usr/sbin/mke2fs
DEBUGFS=/usr/sbin/debugfs
IMGSIZE=3G
REPS=${EXT2_BENCH_REPS:-3}
MKFS_OPTS="-q -F -t ext2 -b 4096 -N 65536"

say() { echo "ext2_bench: $*" >&2; }
now() { date +%s.%N; }
# Each timed step starts with the host's dirty pages written back.
start() { sync; now; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
minof() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
figure() {	# name pith other unit
	awk -v n="$1" -v p="$2" -v o="$3" -v u="$4" 'BEGIN {
		printf "FIGURE\t%s\t%s\t%s\t%s\t%.2f\n", n, p, o, u, (p > 0 ? o / p : 0) }'
}

if [ ! -x "$PITH" ] || [ ! -x $MKE2FS ] || [ ! -x $DEBUGFS ]; then
	say "skipped: needs $PITH and e2fsprogs"
	for f in "ext2 in: vs mke2fs -d" "ext2 in: vs e2cp" \
	    "ext2 in: vs fuse2fs cp -r" "ext2 out: vs debugfs rdump" \
	    "ext2 out: vs fuse2fs cp -r" "ext2 pith cp -r peak RSS" \
	    "ext2 pith mount in: vs fuse2fs" "ext2 pith mount out: vs fuse2fs"; do
		printf 'SKIP\t%s\tneeds %s and e2fsprogs\n' "$f" "$PITH"
	done
	exit 0
fi

# --- the tree: 20,000 files in 400 directories, 1.1 GiB -------------------
mktree() {
	rm -rf "$TREE.tmp"
	python3 - "$TREE.tmp" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(4)
pool = os.urandom(64 << 20)
def put(path, size):
    with open(path, "wb") as f:
        while size > 0:
            n = min(size, 1 << 20)
            off = rnd.randrange(0, len(pool) - n)
            f.write(pool[off:off + n])
            size -= n
total = 0
for d in range(400):
    dp = os.path.join(root, "g%02d" % (d % 20), "d%03d" % d)
    os.makedirs(dp, exist_ok=True)
    for i in range(50):
        if d % 4 == 0 and i == 0:
            size = rnd.randrange(4 << 20, 16 << 20)     # 100 big files
        else:
            size = int(rnd.expovariate(1 / 9000.0))     # small ones
        put(os.path.join(dp, "f%02d.dat" % i), size)
        total += size
    if d % 10 == 0:
        os.symlink("f00.dat", os.path.join(dp, "link"))
print(total, file=sys.stderr)
EOF
	[ $? -eq 0 ] && mv "$TREE.tmp" "$TREE"
}
if [ ! -d "$TREE" ]; then
	say "generating the tree in $TREE (once) ..."
	mktree
fi
nfiles=$(find "$TREE" -type f | wc -l)
bytes=$(du -sb "$TREE" | cut -f1)
say "tree: $nfiles files, $((bytes >> 20)) MiB"
cat "$TREE"/g*/d*/* >/dev/null 2>&1     # the same warm page cache for all

# Images and copies out go to /dev/shm when it has room, so that the host
# disk's write-back stalls do not decide the figures (the same for every
# tool either way).
base=/tmp
[ "$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt \
	$((6 * 1024 * 1024)) ] 2>/dev/null && base=/dev/shm
W=$(mktemp -d $base/pith-ext2bench-XXXXXX)
MNT=$W/mnt
mkdir -p "$MNT"
PMPID=
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && fusermount -u "$MNT"
	[ -n "$PMPID" ] && wait $PMPID 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# --- into a fresh image ---------------------------------------------------
TIMEV=()
[ -x /usr/bin/time ] && TIMEV=(/usr/bin/time -f %M -a -o "$W/rss")
t_pith_in= t_mkfs=
for ((rep = 1; rep <= REPS; rep++)); do
	rm -f "$W/pith.img"
	t0=$(start)
	$MKE2FS $MKFS_OPTS "$W/pith.img" $IMGSIZE >/dev/null &&
		"${TIMEV[@]}" "$PITH" cp -r "$TREE" "$W/pith.img:/t"
	rc=$?
	t=$(since "$t0")
	[ $rc -eq 0 ] || say "pith cp -r into the image failed (exit $rc)"
	say "pith cp -r in: $t s"
	t_pith_in=$(minof "$t_pith_in" "$t")

	t0=$(start)
	$MKE2FS $MKFS_OPTS -d "$TREE" "$W/mkfs.img" $IMGSIZE >/dev/null
	t=$(since "$t0")
	say "mke2fs -d: $t s"
	t_mkfs=$(minof "$t_mkfs" "$t")
	rm -f "$W/mkfs.img"
done
figure "ext2 in: vs mke2fs -d" "$t_pith_in" "$t_mkfs" s

if command -v e2cp >/dev/null && command -v e2mkdir >/dev/null; then
	$MKE2FS $MKFS_OPTS "$W/e2cp.img" $IMGSIZE >/dev/null
	t0=$(start)
	(cd "$TREE" && find . -type d | sort | while read -r d; do
		e2mkdir "$W/e2cp.img:/t/${d#./}" 2>/dev/null
		files=()
		while IFS= read -r -d '' f; do files+=("$f"); done < \
			<(find "$d" -maxdepth 1 -type f -print0)
		[ ${#files[@]} -gt 0 ] && e2cp "${files[@]}" "$W/e2cp.img:/t/${d#./}"
	done)
	t_e2cp=$(since "$t0")
	say "e2cp: $t_e2cp s"
	rm -f "$W/e2cp.img"
	figure "ext2 in: vs e2cp" "$t_pith_in" "$t_e2cp" s
else
	say "e2cp row skipped: e2tools not installed (apt-get install e2tools)"
	printf 'SKIP\text2 in: vs e2cp\te2tools not installed\n'
fi

fuse_ok=0
if command -v fuse2fs >/dev/null && [ -r /dev/fuse ] && [ -w /dev/fuse ]; then
	fuse_ok=1
fi
if [ $fuse_ok = 1 ]; then
	$MKE2FS $MKFS_OPTS "$W/fuse.img" $IMGSIZE >/dev/null
	t0=$(start)
	if fuse2fs "$W/fuse.img" "$MNT" -o fakeroot >/dev/null 2>&1; then
		cp -r "$TREE" "$MNT/t"
		fusermount -u "$MNT"
		t_fuse_in=$(since "$t0")
		say "cp -r into fuse2fs: $t_fuse_in s"
		figure "ext2 in: vs fuse2fs cp -r" "$t_pith_in" "$t_fuse_in" s
	else
		say "fuse2fs rows skipped: fuse2fs could not mount"
		fuse_ok=0
		fuse_why="fuse2fs could not mount"
	fi
	rm -f "$W/fuse.img"
else
	say "fuse2fs rows skipped: fuse2fs or /dev/fuse (root) unavailable"
	fuse_why="no fuse2fs or no /dev/fuse access"
fi
if [ $fuse_ok = 0 ]; then
	printf 'SKIP\text2 in: vs fuse2fs cp -r\t%s\n' "$fuse_why"
	printf 'SKIP\text2 out: vs fuse2fs cp -r\t%s\n' "$fuse_why"
	printf 'SKIP\text2 pith mount in: vs fuse2fs\t%s\n' "$fuse_why"
	printf 'SKIP\text2 pith mount out: vs fuse2fs\t%s\n' "$fuse_why"
fi

# pithmount [-r] IMG: `pith mount -f` on $MNT in the background ($PMPID);
# 0 once mounted.  pithumount: unmount and wait for the process to end.
pithmount() {
	"$PITH" mount -f "$@" "$MNT" 2>>"$W/pithmount.log" &
	PMPID=$!
	for i in $(seq 200); do
		mountpoint -q "$MNT" && return 0
		kill -0 $PMPID 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}
pithumount() { fusermount3 -u "$MNT" 2>/dev/null || fusermount -u "$MNT"; wait $PMPID; }
if [ $fuse_ok = 1 ]; then
	$MKE2FS $MKFS_OPTS "$W/pmnt.img" $IMGSIZE >/dev/null
	t0=$(start)
	if pithmount "$W/pmnt.img"; then
		cp -r "$TREE" "$MNT/t"
		pithumount
		t_pmnt_in=$(since "$t0")
		say "cp -r into pith mount: $t_pmnt_in s"
		figure "ext2 pith mount in: vs fuse2fs" "$t_pmnt_in" "$t_fuse_in" s
	else
		say "pith mount rows skipped: pith mount failed ($(tail -1 "$W/pithmount.log"))"
		printf 'SKIP\text2 pith mount in: vs fuse2fs\tpith mount failed\n'
		printf 'SKIP\text2 pith mount out: vs fuse2fs\tpith mount failed\n'
	fi
	rm -f "$W/pmnt.img"
fi

# --- out of the image (the one pith filled) -------------------------------
t_pith_out= t_rdump=
for ((rep = 1; rep <= REPS; rep++)); do
	t0=$(start)
	"$PITH" cp -r "$W/pith.img:/t" "$W/out-pith"
	t=$(since "$t0")
	say "pith cp -r out: $t s"
	t_pith_out=$(minof "$t_pith_out" "$t")
	[ $rep -eq 1 ] && ! diff -r "$TREE" "$W/out-pith" >/dev/null 2>&1 &&
		say "warning: the tree copied out by pith differs from the original"
	rm -rf "$W/out-pith"

	mkdir -p "$W/out-debugfs"
	t0=$(start)
	$DEBUGFS -R "rdump /t $W/out-debugfs" "$W/pith.img" >/dev/null 2>&1
	t=$(since "$t0")
	say "debugfs rdump: $t s"
	t_rdump=$(minof "$t_rdump" "$t")
	rm -rf "$W/out-debugfs"
done
figure "ext2 out: vs debugfs rdump" "$t_pith_out" "$t_rdump" s

if [ $fuse_ok = 1 ]; then
	t0=$(start)
	if fuse2fs "$W/pith.img" "$MNT" -o ro,fakeroot >/dev/null 2>&1; then
		cp -r "$MNT/t" "$W/out-fuse"
		fusermount -u "$MNT"
		t_fuse_out=$(since "$t0")
		say "cp -r out of fuse2fs: $t_fuse_out s"
		figure "ext2 out: vs fuse2fs cp -r" "$t_pith_out" "$t_fuse_out" s
	fi
	rm -rf "$W/out-fuse"
	t0=$(start)
	if [ -n "$t_pmnt_in" ] && pithmount -r "$W/pith.img"; then
		cp -r "$MNT/t" "$W/out-pmnt"
		pithumount
		t_pmnt_out=$(since "$t0")
		say "cp -r out of pith mount: $t_pmnt_out s"
		figure "ext2 pith mount out: vs fuse2fs" "$t_pmnt_out" "$t_fuse_out" s
	elif [ -n "$t_pmnt_in" ]; then
		printf 'SKIP\text2 pith mount out: vs fuse2fs\tpith mount -r failed\n'
	fi
	rm -rf "$W/out-pmnt"
fi

if [ -s "$W/rss" ]; then	# the largest of the runs
	awk -v k="$(sort -n "$W/rss" | tail -1)" 'BEGIN {
		printf "FIGURE\text2 pith cp -r peak RSS\t%.1f\t0\tMiB\t%.1f\n", k / 1024, k / 1024 }'
fi
exit 0
