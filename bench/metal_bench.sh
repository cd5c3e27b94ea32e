#!/bin/bash
# make bench, issue 5: the bare-metal Pith kernel against Linux, both
# under the same QEMU with software emulation (TCG, -cpu max), running
# the same static program (bench/metal/vmbench.c, musl-gcc -static).
#
# Linux is Debian's linux-image-amd64 kernel: its vmlinuz is taken from
# the package (apt-get download, dpkg-deb; never installed) into a cache
# ($METAL_BENCH_CACHE, default /var/tmp/pith-bench-linux), with a minimal
# initramfs written here: /init is the program, plus /dev/console and the
# virtio and ext4 modules the disk figure needs (Debian builds them as
# modules).  Pith runs build/metal/pith-kernel.elf with the program as
# its multiboot module.
#
# Figures, as "FIGURE<TAB>name<TAB>pith<TAB>linux<TAB>unit<TAB>ratio"
# (bench/run.sh holds the targets), or "SKIP<TAB>name<TAB>reason":
#   metal: first output       QEMU start to the program's first output
#                             (best of 3, both with -m 256M), ratio
#                             pith/linux
#   metal: image size         kernel + hello, MiB (Pith: pith bake of the
#                             kernel without debug information or
#                             symbols but _end; Linux:
#                             vmlinuz + gzipped initramfs)
#   metal: smallest -m        the least memory (MiB, bisected; Linux's to
#                             8 MiB) with which hello runs
#   metal: getpid x1M         1,000,000 getpid calls timed in the VM
#                             (best of 3), ratio pith/linux
#   metal: getpid instructions  guest instructions per getpid, the same
#                             loop under -icount shift=0 (one virtual ns
#                             per instruction), ratio pith/linux: the
#                             figure that does not move with host load
#   metal: 256 MiB write+read on an ext2 virtio disk, MB/s, ratio
#                             pith/linux throughput
# Each QEMU run is bounded; the whole script by bench/run.sh's timeout.
BUILD=${BUILD:-build}
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${METAL_BENCH_CACHE:-/var/tmp/pith-bench-linux}
LIMIT=${METAL_BENCH_QEMU_TIMEOUT:-120}
MIB=${METAL_BENCH_MIB:-256}
FIGS=("metal: first output" "metal: image size" "metal: smallest -m"
	"metal: getpid x1M" "metal: getpid instructions" "metal: 256 MiB write+read")

skip_all() {
	local f
	for f in "${FIGS[@]}"; do printf 'SKIP\t%s\t%s\n' "$f" "$1"; done
	exit 0
}
skip_rest() {	# reason: every figure not printed yet
	local f
	for f in "${FIGS[@]}"; do
		[ -n "${DONE[$f]}" ] || printf 'SKIP\t%s\t%s\n' "$f" "$1"
	done
	exit 0
}
declare -A DONE
figure() {	# name pith linux unit ratio
	printf 'FIGURE\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5"
	DONE[$1]=1
}
skip() { printf 'SKIP\t%s\t%s\n' "$1" "$2"; DONE[$1]=1; }
log() { echo "metal_bench: $*" >&2; }

command -v qemu-system-x86_64 >/dev/null 2>&1 || skip_all "qemu-system-x86_64 not installed"
command -v musl-gcc >/dev/null 2>&1 || skip_all "musl-gcc not installed (Debian: musl-tools)"
command -v cc >/dev/null 2>&1 || skip_all "no C compiler"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
musl-gcc -static -O2 -o "$tmp/vmbench" "$REPO/bench/metal/vmbench.c" || skip_all "vmbench does not build"
cc -O2 -D_GNU_SOURCE -o "$tmp/firstout" "$REPO/bench/metal/firstout.c" || skip_all "firstout does not build"
MARK=PITH-BENCH-FIRST-OUTPUT

# --- Linux: the kernel from Debian's package, cached -----------------------
linux_fetch() {
	local pkg deb
	mkdir -p "$CACHE" || return 1
	VMLINUZ=$(ls "$CACHE"/vmlinuz-* 2>/dev/null | head -1)
	[ -n "$VMLINUZ" ] && [ -d "$CACHE/modules" ] && return 0
	command -v apt-get >/dev/null 2>&1 || { log "no apt-get"; return 1; }
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || { log "apt-cache knows no linux-image-amd64"; return 1; }
	log "downloading $pkg (once, into $CACHE)"
	(cd "$CACHE" && timeout 300 apt-get download "$pkg" >/dev/null 2>&1) || { log "apt-get download $pkg failed (network?)"; return 1; }
	deb=$(ls "$CACHE"/"$pkg"_*.deb | head -1)
	rm -rf "$CACHE/x" && mkdir "$CACHE/x" &&
	    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$CACHE/x" --wildcards './boot/vmlinuz-*' \
	    '*/virtio.ko' '*/virtio_ring.ko' '*/virtio_pci_legacy_dev.ko' '*/virtio_pci_modern_dev.ko' \
	    '*/virtio_pci.ko' '*/virtio_blk.ko' '*/crc16.ko' '*/crc32c_generic.ko' '*/mbcache.ko' \
	    '*/jbd2.ko' '*/ext4.ko' || return 1
	mv "$CACHE"/x/boot/vmlinuz-* "$CACHE"/ || return 1
	mkdir -p "$CACHE/modules"
	# Load order: each module after what it needs.
	local i=10 m
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
	    crc16 crc32c_generic mbcache jbd2 ext4; do
		find "$CACHE/x" -name "$m.ko" -exec cp {} "$CACHE/modules/$i-$m.ko" \; || return 1
		i=$((i + 1))
	done
	rm -rf "$CACHE/x" "$deb"
	VMLINUZ=$(ls "$CACHE"/vmlinuz-* | head -1)
}

# newc archive writer in shell: entry NAME MODE RDEVMAJ RDEVMIN [FILE]
newc_ino=1
newc() {
	local name=$1 mode=$2 rmaj=$3 rmin=$4 file=$5 size=0 nsz pad
	[ -n "$file" ] && size=$(stat -c %s "$file")
	nsz=$(( ${#name} + 1 ))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
	    $newc_ino $mode 0 0 1 0 $size 0 0 $rmaj $rmin $nsz 0
	printf '%s\0' "$name"
	pad=$(( (4 - (110 + nsz) % 4) % 4 ))
	head -c $pad /dev/zero
	if [ -n "$file" ]; then
		cat "$file"
		head -c $(( (4 - size % 4) % 4 )) /dev/zero
	fi
	newc_ino=$((newc_ino + 1))
}
# initramfs OUT [modules]: /init = vmbench, /dev/console, optionally /m/*.ko.
initramfs() {
	local m
	{
		newc dev $((0040755)) 0 0
		newc dev/console $((0020600)) 5 1
		newc init $((0100755)) 0 0 "$tmp/vmbench"
		if [ -n "$2" ]; then
			newc m $((0040755)) 0 0
			for m in "$CACHE"/modules/*.ko; do
				newc "m/$(basename "$m")" $((0100644)) 0 0 "$m"
			done
		fi
		newc TRAILER!!! 0 0 0
	} | gzip -9 >"$1"
}

QEMU_COMMON=(-display none -vga none -nic none -monitor none -no-reboot -accel tcg -cpu max)
QEMU_EXTRA=()	# more QEMU options for both kernels (-icount)

# run_linux MEM ARGS...: boot Linux with vmbench ARGS; sets first, status, out.
run_linux() {
	local mem=$1 rd=$tmp/linux.cpio.gz extra=()
	shift
	[ "$1" = -m ] && rd=$tmp/linux-mods.cpio.gz
	[ -n "$DISK" ] && extra=(-drive "file=$DISK,if=virtio,format=raw")
	set -- $("$tmp/firstout" "$MARK" "$LIMIT" "$tmp/out" -- qemu-system-x86_64 "${QEMU_COMMON[@]}" \
	    -m "$mem" -kernel "$VMLINUZ" -initrd "$rd" -serial stdio "${extra[@]}" "${QEMU_EXTRA[@]}" \
	    -append "console=ttyS0 quiet panic=-1 rdinit=/init -- -p $*")
	first=$2 status=$4
	tr -d '\r' <"$tmp/out" >"$tmp/out.txt"
}

# run_pith MEM ARGS...: the same on Pith.
run_pith() {
	local mem=$1 extra=() words=() w
	shift
	[ -n "$DISK" ] && extra=(-drive "file=$DISK,if=virtio,format=raw")
	set -- $("$tmp/firstout" "$MARK" "$LIMIT" "$tmp/out" -- qemu-system-x86_64 "${QEMU_COMMON[@]}" \
	    -m "$mem" -kernel "$PITHK" -initrd "$tmp/vmbench" -serial stdio -serial "file:$tmp/status" \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${extra[@]}" "${QEMU_EXTRA[@]}" -append "-- vmbench $*")
	first=$2 status=$4
	tr -d '\r' <"$tmp/out" >"$tmp/out.txt"
}
result() { awk -v k="$1" '$1 == "RESULT" && $2 == k { print $3; exit }' "$tmp/out.txt"; }
ok_run() { grep -q "^RESULT status 0" "$tmp/out.txt"; }

have_linux=1
linux_fetch || have_linux=0
if [ $have_linux = 1 ]; then
	initramfs "$tmp/linux.cpio.gz"
	initramfs "$tmp/linux-mods.cpio.gz" mods
fi
PITHK=$REPO/$BUILD/metal/pith-kernel.elf
[ -n "$PITH_KERNEL" ] && PITHK=$PITH_KERNEL
have_pith=1
[ -f "$PITHK" ] || have_pith=0
[ $have_pith = 1 ] || log "$PITHK not built (the user-mode kernel, issue 5)"
if [ $have_linux = 0 ] && [ $have_pith = 0 ]; then
	skip_all "neither Linux (download failed) nor pith-kernel.elf available"
fi
why_none() {	# pith-value linux-value: why a figure has no ratio
	if [ $have_pith = 0 ]; then echo "pith-kernel.elf not built"
	elif [ "$1" = - ] || [ -z "$1" ]; then echo "the Pith run failed (see make bench's stderr)"
	elif [ $have_linux = 0 ]; then echo "Linux kernel not available (download failed)"
	else echo "the Linux run failed (see make bench's stderr)"; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.3f", a / b }'; }

# --- first output (best of 3) ----------------------------------------------
best() {	# runner: best first_ms of three hello runs, or -
	local b=- i
	for i in 1 2 3; do
		"$1" 256M hello
		if [ "$first" != - ] && { [ "$b" = - ] || awk -v x="$first" -v y="$b" 'BEGIN { exit !(x < y) }'; }; then
			b=$first
		fi
	done
	echo "$b"
}
lf=- pf=-
[ $have_linux = 1 ] && { log "Linux: first output"; lf=$(best run_linux); }
[ $have_pith = 1 ] && { log "Pith: first output"; pf=$(best run_pith); }
if [ "$lf" != - ] && [ "$pf" != - ]; then
	figure "metal: first output" "$pf" "$lf" ms "$(ratio "$pf" "$lf")"
else
	skip "metal: first output" "$(why_none "$pf" "$lf") (pith $pf ms, linux $lf ms)"
fi

# --- image size ----------------------------------------------------------------
if [ $have_pith = 1 ] && [ -x "$REPO/$BUILD/pith" ]; then
	# Neither debug information nor symbols are loaded or read at boot
	# (backtraces use the table linked into the image); pith bake reads
	# _end alone.
	strip -s -K _end -o "$tmp/k.elf" "$PITHK"
	if "$REPO/$BUILD/pith" bake --kernel "$tmp/k.elf" -o "$tmp/app.elf" "$tmp/vmbench" hello 2>/dev/null; then
		ps=$(stat -c %s "$tmp/app.elf")
		if [ $have_linux = 1 ]; then
			ls=$(( $(stat -c %s "$VMLINUZ") + $(stat -c %s "$tmp/linux.cpio.gz") ))
			figure "metal: image size" "$(ratio "$ps" 1048576)" "$(ratio "$ls" 1048576)" MiB "$(ratio "$ps" 1048576)"
		else
			figure "metal: image size" "$(ratio "$ps" 1048576)" 0 MiB "$(ratio "$ps" 1048576)"
		fi
	else
		skip "metal: image size" "pith bake failed"
	fi
else
	skip "metal: image size" "$(why_none -)"
fi

# --- smallest -m ----------------------------------------------------------------
smallest() {	# lo hi step runner: least MiB in (lo, hi] (to step) with which hello runs
	local lo=$1 hi=$2 step=$3 mid
	"$4" "${hi}M" hello
	ok_run || { echo -; return; }
	while [ $((hi - lo)) -gt "$step" ]; do
		mid=$(( (lo + hi) / 2 ))
		"$4" "${mid}M" hello
		if ok_run; then hi=$mid; else lo=$mid; fi
	done
	echo "$hi"
}
LIMIT_SAVE=$LIMIT
LIMIT=${METAL_BENCH_MEM_TIMEOUT:-30}	# too little memory may hang instead of failing
lm=- pm=-
# Linux to 8 MiB only: each of its boots takes many seconds under TCG.
[ $have_linux = 1 ] && { log "Linux: smallest -m"; lm=$(smallest 16 128 8 run_linux); }
[ $have_pith = 1 ] && { log "Pith: smallest -m"; pm=$(smallest 0 64 1 run_pith); }
LIMIT=$LIMIT_SAVE
if [ "$pm" != - ]; then
	figure "metal: smallest -m" "$pm" "${lm/-/0}" MiB "$pm"
else
	skip "metal: smallest -m" "$(why_none "$pm" "$lm")"
fi

# --- getpid ---------------------------------------------------------------------
getpid_best() {	# runner mem runs: the least getpid_ns of that many runs, or -
	local b=- i v
	for ((i = 0; i < $3; i++)); do
		"$1" "$2" getpid 1000000
		v=$(result getpid_ns)
		case $v in ''|*[!0-9]*) continue ;; esac
		if [ "$b" = - ] || [ "$v" -lt "$b" ]; then b=$v; fi
	done
	echo "$b"
}
lg=- pg=-
[ $have_linux = 1 ] && { log "Linux: getpid (best of 3)"; lg=$(getpid_best run_linux 128M 3); }
[ $have_pith = 1 ] && { log "Pith: getpid (best of 3)"; pg=$(getpid_best run_pith 64M 3); }
if [ "$lg" != - ] && [ "$pg" != - ]; then
	figure "metal: getpid x1M" "$(ratio "$pg" 1000000)" "$(ratio "$lg" 1000000)" ms "$(ratio "$pg" "$lg")"
else
	skip "metal: getpid x1M" "$(why_none "$pg" "$lg") (pith '$pg' ns, linux '$lg' ns)"
fi
QEMU_EXTRA=(-icount shift=0)
li=- pi=-
[ $have_linux = 1 ] && { log "Linux: getpid instructions"; li=$(getpid_best run_linux 128M 1); }
[ $have_pith = 1 ] && { log "Pith: getpid instructions"; pi=$(getpid_best run_pith 64M 1); }
QEMU_EXTRA=()
if [ "$li" != - ] && [ "$pi" != - ]; then
	figure "metal: getpid instructions" "$(ratio "$pi" 1000000)" "$(ratio "$li" 1000000)" instr/call "$(ratio "$pi" "$li")"
else
	skip "metal: getpid instructions" "$(why_none "$pi" "$li") (pith '$pi', linux '$li' virtual ns)"
fi

# --- 256 MiB write + read on ext2 over virtio-blk ------------------------------
disk_run() {	# runner device: MB/s of write+read, or -
	local w r
	DISK=$tmp/disk.img
	rm -f "$DISK"
	/usr/sbin/mke2fs -q -F -t ext2 "$DISK" $((MIB + 64))M >/dev/null 2>&1 || { echo -; return; }
	if [ "$1" = run_linux ]; then
		run_linux 512M -m /m disk "$2" ext2 "$MIB"
	else
		run_pith 512M disk "$2" ext2 "$MIB"
	fi
	DISK=
	w=$(result write_ns) r=$(result read_ns)
	if ok_run && [ -n "$w" ] && [ -n "$r" ]; then
		awk -v w="$w" -v r="$r" -v m="$MIB" 'BEGIN { printf "%.1f", 2 * m * 1.048576 / ((w + r) / 1e9) }'
	else
		grep -v '^$' "$tmp/out.txt" | tail -3 | sed 's/^/metal_bench:   /' >&2
		echo -
	fi
}
ld=- pd=-
if [ -x /usr/sbin/mke2fs ]; then
	[ $have_linux = 1 ] && { log "Linux: $MIB MiB write+read"; ld=$(disk_run run_linux /dev/vda); }
	[ $have_pith = 1 ] && { log "Pith: $MIB MiB write+read"; pd=$(disk_run run_pith vda); }
fi
if [ "$ld" != - ] && [ "$pd" != - ]; then
	figure "metal: 256 MiB write+read" "$pd" "$ld" MB/s "$(ratio "$pd" "$ld")"
else
	skip "metal: 256 MiB write+read" "$(why_none "$pd" "$ld") (pith $pd MB/s, linux $ld MB/s)"
fi
# Linux's side alone, for the record, when Pith's is missing.
[ $have_pith = 0 ] && log "Linux alone: first output $lf ms, smallest -m $lm MiB, getpid x1M $lg ns, disk $ld MB/s"
exit 0
