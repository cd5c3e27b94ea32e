#!/bin/bash
# Bare-metal devices (issue 5): PCI, virtio-pci (modern and legacy),
# virtio-blk behind the block hypercalls, virtio-rng, the memory map and
# the PVH entry.  build/metal/devtest.elf (tests/metal/devtest.c) boots
# under QEMU with virtio disks; in the VM it mounts an ext2 image the host
# made with mke2fs, reads the file the host put there with debugfs,
# writes files and directories, syncs and unmounts, and drives the block
# hypercalls on a scratch disk.  After power-off the host checks the
# image with e2fsck -fn and debugfs, and the scratch disk byte by byte.
#
# Four boots: multiboot with transitional (modern) disks and a
# virtio-rng; PVH with a legacy-only and a modern-only disk and no rng;
# a read-only disk (which refuses writable opens) behind a PCI bridge with
# its registers above 4 GiB; and the q35 machine with PCI Express.  QEMU tries
# multiboot first when an image has both entries, so the PVH boot uses a
# copy of the image whose multiboot magic is zeroed.
# Skips without qemu-system-x86_64 or e2fsprogs, and on sanitizer builds.
BUILD=${BUILD:-build}
. "$(dirname "$0")/tap.sh"
check() { if eval "$2"; then ok "$1"; else notok "$1" "${@:3}"; fi; }

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed (tools/deps.sh installs qemu-system-x86)"
	exit 0
fi
for t in mke2fs debugfs e2fsck; do
	if ! command -v $t >/dev/null 2>&1 && [ ! -x /sbin/$t ] && [ ! -x /usr/sbin/$t ]; then
		echo "1..0 # SKIP $t not installed (tools/deps.sh installs e2fsprogs)"
		exit 0
	fi
done
PATH=$PATH:/sbin:/usr/sbin
case $BUILD in
*san*|*fuzz*)
	echo "1..0 # SKIP bare metal is not built with sanitizers ($BUILD)"
	exit 0 ;;
esac

echo "1..21"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if make -s BUILD="$BUILD" "$BUILD/metal/devtest.elf" >"$tmp/log" 2>&1; then
	ok "make builds $BUILD/metal/devtest.elf"
else
	notok "make $BUILD/metal/devtest.elf failed" "$(tail -20 "$tmp/log")"
	exit 1
fi
ELF=$BUILD/metal/devtest.elf

# The PVH copy: the same image without the multiboot magic.
cp "$ELF" "$tmp/pvh.elf"
off=$(LC_ALL=C grep -obUaP '\x02\xb0\xad\x1b' "$tmp/pvh.elf" | head -1 | cut -d: -f1)
[ -n "$off" ] && printf '\0\0\0\0' | dd of="$tmp/pvh.elf" bs=1 seek="$off" conv=notrunc status=none

# The pattern devtest.c's pattern() writes, seed $1, $2 bytes.
pattern() {
	perl -e 'my ($s, $n) = @ARGV; my $x = ($s * 2654435761 + 1) & 0xffffffff;
	    my $o = ""; for (1 .. $n) { $x = ($x * 1103515245 + 12345) & 0xffffffff;
	    $o .= chr(($x >> 16) & 0xff); } print $o;' "$1" "$2"
}

# newdisk IMG: a 128 MiB ext2 image with /host.txt in it.
newdisk() {
	truncate -s 128M "$1"
	mke2fs -q -F -t ext2 -b 1024 "$1" >/dev/null
	printf 'written by the host with debugfs\n' >"$tmp/host.txt"
	debugfs -w -R "write $tmp/host.txt host.txt" "$1" >/dev/null 2>&1
}

# boot ELF CMDLINE QEMU-ARGS...: console in $out (CRs dropped), status $st.
out=$tmp/out
boot() {
	local elf=$1 cmd=$2
	shift 2
	timeout 120 qemu-system-x86_64 -kernel "$elf" -append "$cmd" \
	    -nographic -serial stdio -monitor none -no-reboot -m 256M \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" </dev/null 2>&1 |
	    tr -d '\r' >"$out"
	st=${PIPESTATUS[0]}
}

# The devtest's own TAP: a plan, that many ok, no "not ok".
tap_ok() {
	local plan oks bad
	plan=$(grep -m1 -E '^1\.\.[0-9]+$' "$out" | cut -d. -f3)
	oks=$(grep -c -E '^ok [0-9]+ - ' "$out")
	bad=$(grep -c -E '^not ok ' "$out")
	[ "$st" -eq 33 ] && [ -n "$plan" ] && [ "$oks" -eq "$plan" ] && [ "$bad" -eq 0 ]
}
show() { grep -E '^not ok|^pith metal|^metal|bench' "$out" | head -20; echo "status $st"; }

# --- 1. Multiboot, transitional (modern) disks, virtio-rng ---------------
newdisk "$tmp/a.img"
truncate -s 128M "$tmp/s.img"
boot "$ELF" "devtest=rw rng=1 bench=64" \
    -drive file="$tmp/a.img",if=virtio,format=raw \
    -drive file="$tmp/s.img",if=virtio,format=raw -device virtio-rng-pci
sed -n '/^# devtest/,$p' "$out" | grep -E '^(ok|not ok|#)' | sed 's/^/#   /'
check "multiboot boot: the in-VM device tests pass" tap_ok "$(show)"
check "multiboot image entered through multiboot, not PVH" \
    "grep -q '^pith metal: booting' '$out' && ! grep -q 'entered through PVH' '$out'"
check "two modern virtio-blk disks found" \
    "[ \$(grep -c '^pith metal: vd[ab]: virtio-blk, .* modern' '$out') -eq 2 ]" "$(grep virtio "$out")"
grep '^# bench' "$out" | sed 's/^# bench/# timing (64 MiB, TCG, informative only)/'
mb_mem=$(sed -n 's/^pith metal: memory \([0-9]*\) KiB free.*/\1/p' "$out")
if e2fsck -fn "$tmp/a.img" >"$tmp/fsck" 2>&1; then ok "e2fsck -fn: the image the VM wrote is clean"
else notok "e2fsck -fn reports problems" "$(head -20 "$tmp/fsck")"; fi
check "debugfs: /f holds what the VM wrote" \
    "[ \"\$(debugfs -R 'cat /f' '$tmp/a.img' 2>/dev/null)\" = 'written in the VM through virtio-blk' ]"
check "debugfs: /dir/sub is a directory with mode 0700" \
    "debugfs -R 'stat /dir/sub' '$tmp/a.img' 2>/dev/null | grep -q 'Mode:  0700'"
pattern 42 $((1024 * 1024 + 4096 + 17)) >"$tmp/big.want"
debugfs -R "dump /dir/big $tmp/big.got" "$tmp/a.img" >/dev/null 2>&1
check "debugfs: /dir/big (1 MiB + 4113 bytes) matches byte for byte" \
    "cmp -s '$tmp/big.want' '$tmp/big.got'"
# The scratch disk: 70000 bytes at 1000, "edge" at 3, zeros around.
pattern 7 70000 >"$tmp/s.want"
check "scratch disk: the unaligned 70000-byte write landed at offset 1000" \
    "dd if='$tmp/s.img' bs=1000 skip=1 count=70 status=none | cmp -s - '$tmp/s.want'"
check "scratch disk: the 4-byte write at offset 3 changed only its bytes" \
    "dd if='$tmp/s.img' bs=1 count=1000 status=none | cmp -s - <(printf '\\0\\0\\0edge'; head -c 993 /dev/zero)"

# --- 2. PVH, a legacy-only disk and a modern-only one, no rng ------------
newdisk "$tmp/b.img"
truncate -s 4M "$tmp/t.img"
boot "$tmp/pvh.elf" "devtest=rw rng=0" \
    -drive file="$tmp/b.img",if=none,id=d0,format=raw \
    -device virtio-blk-pci,drive=d0,disable-modern=on \
    -drive file="$tmp/t.img",if=none,id=d1,format=raw \
    -device virtio-blk-pci,drive=d1,disable-legacy=on,queue-size=8
check "PVH boot: the in-VM device tests pass" tap_ok "$(show)"
check "the PVH copy entered through PVH" "grep -q '^pith metal: entered through PVH' '$out'"
check "legacy virtio-blk for vda, modern for vdb" \
    "grep -q '^pith metal: vda: virtio-blk, .* legacy' '$out' && grep -q '^pith metal: vdb: virtio-blk, .* modern' '$out'" \
    "$(grep virtio "$out")"
pvh_mem=$(sed -n 's/^pith metal: memory \([0-9]*\) KiB free.*/\1/p' "$out")
# Same RAM, same image: the PVH memory map gives the heap what multiboot
# gave it.  The heap starts above the loader's structures, and QEMU's
# multiboot puts its information and command line in pages after the
# image (PVH's are copied into the image): they may differ by those pages.
check "PVH memory map: heap as large as under multiboot ($pvh_mem vs $mb_mem KiB)" \
    "[ -n '$pvh_mem' ] && [ -n '$mb_mem' ] && d=\$(( $pvh_mem - $mb_mem )) && [ \${d#-} -le 64 ]"
if e2fsck -fn "$tmp/b.img" >"$tmp/fsck" 2>&1; then ok "e2fsck -fn: clean after the legacy-transport writes"
else notok "e2fsck -fn reports problems" "$(head -20 "$tmp/fsck")"; fi
debugfs -R "dump /dir/big $tmp/big.got" "$tmp/b.img" >/dev/null 2>&1
check "debugfs: /dir/big written over the legacy transport matches" \
    "cmp -s '$tmp/big.want' '$tmp/big.got'"

# --- 3. A read-only disk behind a PCI-to-PCI bridge -----------------------
# ivshmem's 2 GiB BAR fills the firmware's 32-bit window, so the disk's
# 64-bit BAR lands above 4 GiB, outside the boot page tables' identity map.
newdisk "$tmp/c.img"
sum=$(md5sum <"$tmp/c.img")
boot "$ELF" "devtest=ro rng=0" \
    -object memory-backend-ram,id=hm,size=2G -device ivshmem-plain,memdev=hm \
    -device pci-bridge,id=br1,chassis_nr=1 \
    -drive file="$tmp/c.img",if=none,id=d0,format=raw,readonly=on \
    -device virtio-blk-pci,drive=d0,bus=br1,addr=3,disable-legacy=on
check "read-only disk: writable opens refused, read-only mount reads" tap_ok "$(show)"
check "read-only disk behind a bridge: found, reported read-only" \
    "grep -q '^pith metal: vda: virtio-blk, .*read-only' '$out'" "$(grep virtio "$out")"
check "its registers above 4 GiB, mapped uncached on demand" \
    "grep -q '^pith metal: vda: virtio-blk, .* modern, registers at 0x00000000*[1-9a-f][0-9a-f]\\{8\\},' '$out'" \
    "$(grep virtio "$out")"
check "read-only disk: the image is unchanged" "[ \"\$(md5sum <'$tmp/c.img')\" = '$sum' ]"

# --- 4. q35: PCI Express root port, virtio-rng ------------------------------
newdisk "$tmp/d.img"
boot "$ELF" "devtest=ro rng=1" -machine q35 \
    -device pcie-root-port,id=rp1,chassis=1 \
    -drive file="$tmp/d.img",if=none,id=d0,format=raw,readonly=on \
    -device virtio-blk-pci,drive=d0,bus=rp1 -device virtio-rng-pci
check "q35 machine, disk behind a PCIe root port: the device tests pass" tap_ok "$(show)"
exit $fail
