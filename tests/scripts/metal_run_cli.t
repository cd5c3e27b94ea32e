#!/bin/bash
# pith run and pith bake (issue 5), under QEMU with software emulation.
#
# Part 1 needs only the platform: build/metal/bootargs-probe.elf is the
# kernel with a stand-in program (tests/metal/bootargs_probe.c) that prints
# the argv, environment and files the boot arguments gave it.  It checks
# the command line pith run writes (escapes, empty words, env), the cpio
# archive of --dir (read back in the VM, and by the host's cpio(1) from a
# baked image), the exit-status relay over COM2, baked images under
# `qemu -kernel` and GRUB ISOs under `qemu -cdrom`, the refusals, --timeout,
# SIGINT and the clean-up of temporary files.
#
# Part 2 runs real static programs (musl-gcc -static) on
# build/metal/pith-kernel.elf, the kernel with user mode; and --disk with
# an ext2 image checked by e2fsck and debugfs afterwards.  Each part skips,
# saying why, when QEMU, musl-gcc, grub-mkrescue, the user-mode kernel or
# its virtio disk driver is missing.
BUILD=${BUILD:-build}
. "$(dirname "$0")/tap.sh"
check() { if eval "$1"; then ok "$2"; else notok "$2" "${@:3}"; fi; }
skipn() { local k; for ((k = 0; k < $1; k++)); do n=$((n + 1)); echo "ok $n # SKIP $2"; done; }

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed (tools/deps.sh installs qemu-system-x86)"
	exit 0
fi
case $BUILD in
*san*|*fuzz*)
	echo "1..0 # SKIP bare metal is not built with sanitizers ($BUILD)"
	exit 0 ;;
esac
REPO=$(pwd)
tmp=$(mktemp -d)
qpid=
trap '[ -n "$qpid" ] && kill $qpid 2>/dev/null; rm -rf "$tmp"' EXIT
if ! make -s BUILD="$BUILD" "$BUILD/pith" metal-probe >"$tmp/make.log" 2>&1; then
	echo "1..1"
	notok "make pith metal-probe" "$(tail -20 "$tmp/make.log")"
	exit 1
fi
PITH=$(realpath "$BUILD/pith")
PROBE=$(realpath "$BUILD/metal/bootargs-probe.elf")
export TMPDIR=$tmp/t	# pith run's own temporary files, checked at the end
mkdir -p "$TMPDIR"
cd "$tmp" || exit 1

# A program for part 1: any static x86-64 ELF will do (the probe only
# looks at it); a dynamic one for the refusals.
cat >p.c <<'EOF'
int main(void) { return 0; }
EOF
have_musl=0
if command -v musl-gcc >/dev/null 2>&1; then
	have_musl=1
	musl-gcc -static -O2 -o prog p.c
	musl-gcc -static -O2 -Wall -o runtool "$REPO/tests/metal/run/runtool.c"
else
	gcc -static -O2 -o prog p.c 2>/dev/null || cp "$PROBE" prog
fi
gcc -O2 -o dynprog p.c

echo "1..47"

# run ARGS...: pith run on the probe; output in out (CRs dropped), status in st.
run() {
	timeout 120 "$PITH" run --no-kvm --kernel "$PROBE" "$@" </dev/null >out.raw 2>err
	st=$?
	tr -d '\r' <out.raw >out
}

# 1-4. argv and env come through the escaped command line byte for byte.
run --env 'PROBE_EXIT=7' --env 'SP=a b\c' ./prog 'a b' '' "$(printf 'tab\there')" 'back\slash' 'é' '--' '-x'
check '[ $st -eq 7 ]' "exit status relayed from COM2 (7)" "status $st" "$(tail -3 err)"
check 'grep -qx "probe: argv\[0\]=\[./prog\]" out && grep -qx "probe: argv\[1\]=\[a b\]" out && grep -qx "probe: argv\[2\]=\[\]" out' \
	"argv[0] as given; a space inside a word; an empty word" "$(grep argv out)"
check 'grep -qxF "probe: argv[3]=[tab\x09here]" out && grep -qxF "probe: argv[4]=[back\slash]" out && grep -qxF "probe: argv[5]=[\xc3\xa9]" out && grep -qxF "probe: argv[6]=[--]" out && grep -qxF "probe: argv[7]=[-x]" out && ! grep -q "argv\[8\]" out' \
	"tab, backslash, UTF-8, '--' and '-x' after the program" "$(grep argv out)"
check 'grep -qxF "probe: env[0]=[PROBE_EXIT=7]" out && grep -qxF "probe: env[1]=[SP=a b\c]" out' \
	"--env values with spaces and backslashes" "$(grep env out)"

# 5. 0 is 0.
run ./prog
check '[ $st -eq 0 ]' "exit 0" "status $st" "$(tail -3 err)"

# 6. A fault's "signal N" becomes 128+N, with a message.
run --env PROBE_SIGNAL=11 ./prog
check '[ $st -eq 139 ] && grep -q "killed by signal 11" err' "signal 11 -> status 139 and a message" "status $st: $(cat err)"

# 7-10. --dir: the tree is in the VM's root: contents, modes, times, links.
mkdir -p root/etc root/sub/deep root/empty
printf 'x file\n' >root/etc/x
chmod 0640 root/etc/x
touch -d @1234567890 root/etc/x
printf 'deep\n' >root/sub/deep/y
ln -s ../etc/x root/sub/lnk
printf '#!/bin/sh\n' >root/sub/exe
chmod 0751 root/sub/exe
run --dir root ./prog cat:/etc/x cat:/sub/deep/y cat:/sub/lnk stat:/etc/x stat:/sub/exe stat:/empty
check 'grep -qxF "probe: cat /etc/x=[x file\x0a]" out && grep -qxF "probe: cat /sub/deep/y=[deep\x0a]" out' \
	"--dir: files readable in the VM" "$(grep cat out)"
check 'grep -qxF "probe: cat /sub/lnk=[x file\x0a]" out' "--dir: symbolic links kept" "$(grep lnk out)"
check 'grep -q "probe: stat /etc/x mode=0x00000000000081a0 size=7 mtime=1234567890" out && grep -q "probe: stat /sub/exe mode=0x00000000000081e9" out' \
	"--dir: modes and mtimes kept" "$(grep stat out)"
check 'grep -q "probe: stat /empty mode=0x00000000000041ed" out' "--dir: empty directories kept" "$(grep stat out)"

# 11. The archive pith writes, read by the host's cpio(1): pith bake
# --dir puts it in the .pith.cpio section.
"$PITH" bake --kernel "$PROBE" --dir root -o baked.elf ./prog >/dev/null 2>err
if command -v cpio >/dev/null 2>&1 && command -v readelf >/dev/null 2>&1; then
	mkdir x
	# The section is not loaded by ELF loaders (no SHF_ALLOC): cut it out by offset.
	read -r off size < <(readelf -SW baked.elf | sed 's/\[ */[/' | awk '$2 == ".pith.cpio" { print $5, $6 }')
	dd if=baked.elf of=arc.cpio bs=4096 iflag=skip_bytes,count_bytes skip=$((16#$off)) count=$((16#$size)) 2>/dev/null
	(cd x && cpio -idm --quiet <../arc.cpio) 2>cpio.err
	check 'diff -r root x >/dev/null && [ "$(stat -c %a x/sub/exe)" = 751 ] && [ "$(stat -c %Y x/etc/x)" = 1234567890 ] && [ -L x/sub/lnk ]' \
		"host cpio -idm reads pith's newc archive back identical" "$(diff -r root x | head -3) $(cat cpio.err)"
else
	skipn 1 "cpio or readelf not installed"
fi

# 12-15. Bad boot arguments: the kernel names the word, status "error".
boot() {	# ELF append...
	local elf=$1; shift
	timeout 60 qemu-system-x86_64 -kernel "$elf" -append "$*" -initrd prog -display none -vga none \
	    -nic none -monitor none -serial stdio -serial file:status -no-reboot -m 64M \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 | tr -d '\r' >out
}
boot "$PROBE" "bogus=1 -- p"
check 'grep -q "unknown boot option .bogus=1." out && [ "$(cat status)" = error ]' \
	"unknown boot option named; status 'error'" "$(grep pith: out) / $(cat status)"
boot "$PROBE" "mount=vda -- p"
check 'grep -q "mount=vda.: want mount=SOURCE:/DIR:FSTYPE" out && [ "$(cat status)" = error ]' \
	"malformed mount= named" "$(grep pith: out)"
boot "$PROBE" 'env=A=1 -- a\qb'
check 'grep -qF "bad escape in boot word" out && grep -qF "a\qb" out' "bad escape named" "$(grep pith: out)"
printf 'not a cpio archive at all, just some bytes' >junk
timeout 60 qemu-system-x86_64 -kernel "$PROBE" -append "-- p" -initrd "prog,junk" -display none -vga none \
    -nic none -monitor none -serial stdio -serial file:status -no-reboot -m 64M \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 | tr -d '\r' >out
check 'grep -q "root file archive: cpio: header at byte 0: bad magic" out && [ "$(cat status)" = error ]' \
	"a malformed cpio module refused with a message" "$(grep pith: out)"

# 16. pith run turns "error" into 125 with a message of its own.
PITH_KERNEL=$PROBE timeout 60 "$PITH" run --no-kvm --mount 'vda:/m:nosuchfs' ./prog </dev/null >out 2>err
st=$?
check '[ $st -eq 125 ] && grep -q "refused its boot arguments" err && grep -q "ENODEV" out' \
	"a failing mount: kernel message, status 125 (PITH_KERNEL honoured)" "status $st: $(cat err)"

# 17-19. pith bake: plain `qemu -kernel app.elf` runs the baked argv, env
# and files; a command line given to QEMU overrides the baked one.
"$PITH" bake --kernel "$PROBE" --dir root --env PROBE_EXIT=4 -o app.elf ./prog baked 'with space' cat:/etc/x 2>err
st=$?
check '[ $st -eq 0 ] && [ -s app.elf ] && readelf -S app.elf 2>/dev/null | grep -q "\.pith\.app" && readelf -S app.elf 2>/dev/null | grep -q "\.pith\.cmdline" && [ -z "$(readelf -a app.elf 2>&1 >/dev/null)" ]' \
	"pith bake writes an ELF with .pith.* sections that readelf reads without a warning" "status $st: $(cat err) $(readelf -a app.elf 2>&1 >/dev/null | head -3)"
timeout 60 qemu-system-x86_64 -kernel app.elf -display none -vga none -nic none -monitor none \
    -serial stdio -serial file:status -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 | tr -d '\r' >out
check 'grep -qxF "probe: argv[1]=[baked]" out && grep -qxF "probe: argv[2]=[with space]" out && grep -qxF "probe: cat /etc/x=[x file\x0a]" out && [ "$(cat status)" = "exit 4" ]' \
	"qemu -kernel app.elf: baked argv, env and files; exit 4" "$(grep probe: out | head -5) / $(cat status)"
timeout 60 qemu-system-x86_64 -kernel app.elf -append "env=PROBE_EXIT=9 -- over ride" -display none -vga none -nic none -monitor none \
    -serial stdio -serial file:status -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 | tr -d '\r' >out
check 'grep -qxF "probe: argv[0]=[over]" out && [ "$(cat status)" = "exit 9" ]' \
	"-append overrides the baked command line" "$(grep probe: out | head -3)"

# 20. --iso: GRUB boots it from a CD.
if command -v grub-mkrescue >/dev/null 2>&1 && command -v xorriso >/dev/null 2>&1; then
	"$PITH" bake --iso --kernel "$PROBE" --env PROBE_EXIT=5 -o app.iso ./prog from-iso 2>err
	timeout 120 qemu-system-x86_64 -cdrom app.iso -display none -vga none -nic none -monitor none \
	    -serial stdio -serial file:status -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 | tr -d '\r' >out
	check 'grep -qxF "probe: argv[1]=[from-iso]" out && [ "$(cat status)" = "exit 5" ]' \
		"pith bake --iso boots under qemu -cdrom (GRUB), exit 5" "$(cat err; tail -3 out) / $(cat status)"
else
	skipn 1 "grub-mkrescue or xorriso not installed (Debian: grub-pc-bin grub-common xorriso mtools)"
fi

# 21-31. Refusals, each with a message and status 125 (bake: 1).
refuse() {	# want-status pattern description pith-args...
	local want=$1 pat=$2 what=$3; shift 3
	timeout 60 "$PITH" "$@" </dev/null >out 2>err
	st=$?
	check '[ $st -eq $want ] && grep -q -- "$pat" err' "$what" "status $st: $(cat err)"
}
refuse 125 "dynamically linked.*link it with -static" "a dynamic program refused: link with -static" run --kernel "$PROBE" ./dynprog
refuse 125 "not an ELF executable" "a non-ELF refused" run --kernel "$PROBE" ./p.c
refuse 125 "nosuch: No such file" "a missing program refused" run --kernel "$PROBE" ./nosuch
refuse 125 "no program given" "no program" run --kernel "$PROBE"
refuse 125 "NAME=VALUE" "--env without '='" run --kernel "$PROBE" --env FOO ./prog
refuse 125 "SOURCE:/DIR:FSTYPE" "a malformed --mount" run --kernel "$PROBE" --mount vda:mnt:ext2 ./prog
refuse 125 "size such as 64M" "a malformed --mem" run --kernel "$PROBE" --mem lots ./prog
refuse 125 "kernel ./nokernel" "a missing --kernel" run --kernel ./nokernel ./prog
refuse 125 "not a directory" "--dir on a file" run --kernel "$PROBE" --dir p.c ./prog
refuse 1 "dynamically linked" "pith bake refuses a dynamic program too" bake --kernel "$PROBE" -o x.elf ./dynprog
refuse 1 "no multiboot header" "pith bake refuses a kernel that is no Pith image" bake --kernel ./dynprog -o x.elf ./prog

# 32. No QEMU on PATH: say which package.
timeout 30 env PATH=/nonexistent "$PITH" run --kernel "$PROBE" ./prog >out 2>err
st=$?
check '[ $st -eq 125 ] && grep -q "qemu-system-x86_64 not found (Debian: apt-get install qemu-system-x86)" err' \
	"QEMU missing: the package is named" "status $st: $(cat err)"

# 33. --help is pith run's before PROGRAM, the program's after it.
"$PITH" run --help >help.out 2>&1
hst=$?
run --env PROBE_EXIT=3 ./prog --help
check '[ $hst -eq 0 ] && grep -q "usage: pith run" help.out && ! grep -q "usage: pith run" out && grep -qxF "probe: argv[1]=[--help]" out && [ $st -eq 3 ]' \
	"--help: before PROGRAM pith's, after it the program's" "$(head -3 help.out) / $(grep argv out)"

# 34. --timeout ends a machine that never ends (QEMU waiting for gdb).
# --gdb listens on the fixed port 1234: when something else on the
# machine holds it, QEMU cannot start and 34-35 cannot test anything.
if command -v ss >/dev/null 2>&1 && ss -ltn 2>/dev/null | grep -q ':1234 '; then
	skipn 2 "TCP port 1234 (pith run --gdb's) is in use on this machine"
else
start=$(date +%s)
timeout 60 "$PITH" run --no-kvm --kernel "$PROBE" --gdb --timeout 2 ./prog </dev/null >out 2>err
st=$?
check '[ $st -eq 124 ] && grep -q "timed out" err && [ $(( $(date +%s) - start )) -lt 30 ]' \
	"--timeout 2: QEMU stopped, status 124" "status $st: $(cat err)"

# 35. SIGINT stops QEMU and pith run, status 130.
"$PITH" run --no-kvm --kernel "$PROBE" --gdb ./prog </dev/null >out 2>err &
ppid=$!
sleep 1
qpid=$(pgrep -P $ppid qemu-system-x86 || true)
kill -INT $ppid
wait $ppid
st=$?
sleep 0.2
check '[ $st -eq 130 ] && [ -n "$qpid" ] && ! kill -0 $qpid 2>/dev/null' "SIGINT: QEMU ended, status 130" \
	"status $st, qemu pid '$qpid': $(cat err)"
qpid=
fi

# 36. Every temporary file is gone.
check '[ -z "$(ls -A "$TMPDIR")" ]' "no temporary files left behind" "$(ls -A "$TMPDIR")"

# --- part 2: real programs on the kernel with user mode -------------------
(cd "$REPO" && make -s BUILD="$BUILD" metal >/dev/null 2>&1)
KERNEL=$REPO/$BUILD/metal/pith-kernel.elf
if [ $have_musl -eq 0 ]; then
	skipn 7 "musl-gcc not installed (Debian: musl-tools)"
	exit $fail
fi
if [ ! -f "$KERNEL" ]; then
	skipn 7 "$KERNEL not built: the kernel with user mode (issue 5, metal-core) is not in this tree"
	exit $fail
fi

# 37. hello, arguments, environment, exit status.
timeout 120 "$PITH" run --no-kvm --kernel "$KERNEL" --env RT_X='a b' ./runtool 'x y' '' exit:42 </dev/null 2>err | tr -d '\r' >out
st=${PIPESTATUS[0]}
check '[ $st -eq 42 ] && grep -qxF "argv[1]=[x y]" out && grep -qxF "argv[2]=[]" out && grep -qxF "env=[RT_X=a b]" out' \
	"a musl static program: argv, env, exit status 42" "status $st: $(tail -5 out) $(cat err)"

# 38. --dir files are visible to the program.
timeout 120 "$PITH" run --no-kvm --kernel "$KERNEL" --dir root ./runtool cat:/etc/x cat:/sub/lnk </dev/null 2>err | tr -d '\r' >out
st=${PIPESTATUS[0]}
check '[ $st -eq 0 ] && grep -qxF "cat /etc/x=[x file\x0a]" out && grep -qxF "cat /sub/lnk=[x file\x0a]" out' \
	"--dir: the program reads the files" "status $st: $(tail -5 out) $(cat err)"

# 39. A baked program under plain QEMU.
"$PITH" bake --kernel "$KERNEL" -o rt.elf ./runtool baked exit:3 2>err
timeout 120 qemu-system-x86_64 -kernel rt.elf -display none -vga none -nic none -monitor none -m 64M \
    -serial stdio -serial file:status -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 | tr -d '\r' >out
check 'grep -qxF "argv[1]=[baked]" out && [ "$(cat status)" = "exit 3" ]' "pith bake: the program runs under qemu -kernel" \
	"$(tail -3 out) / $(cat status)"

# 40. A static-PIE program.  musl-gcc's -static-pie still asks for an
# interpreter, so it is linked by hand from musl's own objects.
MUSL=$(sed -n 's|.*-L\(/[^ ]*musl[^ ]*\).*|\1|p' "$(sed -n 's/.*-specs "\(.*\)".*/\1/p' "$(command -v musl-gcc)")" 2>/dev/null | head -1)
[ -f "$MUSL/rcrt1.o" ] || MUSL=/usr/lib/x86_64-linux-musl
if musl-gcc -fPIE -O2 -c "$REPO/tests/metal/run/runtool.c" -o pie.o 2>/dev/null &&
    musl-gcc -static-pie -nostartfiles -nodefaultlibs -Wl,--no-dynamic-linker -o runtool-pie \
	"$MUSL/rcrt1.o" "$MUSL/crti.o" pie.o "$MUSL/libc.a" "$(gcc -print-libgcc-file-name)" "$MUSL/crtn.o" 2>/dev/null &&
    readelf -h runtool-pie | grep -q 'DYN' && ! readelf -l runtool-pie | grep -q INTERP; then
	timeout 120 "$PITH" run --no-kvm --kernel "$KERNEL" ./runtool-pie pie exit:5 </dev/null 2>err | tr -d '\r' >out
	st=${PIPESTATUS[0]}
	check '[ $st -eq 5 ] && grep -qxF "argv[1]=[pie]" out' "a static-PIE program runs" "status $st: $(tail -3 out)"
else
	skipn 1 "cannot link a static-PIE program with musl here"
fi

# 41. Not only musl: Debian's busybox-static, with a --dir file read by
# the shell itself (the VM has no other programs).
if [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
	timeout 120 "$PITH" run --no-kvm --kernel "$KERNEL" --dir root /bin/busybox sh -c \
	    'echo ok; read l </etc/x; echo "got $l"; exit 7' </dev/null 2>err | tr -d '\r' >out
	st=${PIPESTATUS[0]}
	check '[ $st -eq 7 ] && grep -qx ok out && grep -qx "got x file" out' \
		"busybox sh -c '...' reads a --dir file, exit 7" "status $st: $(tail -4 out) $(cat err)"
else
	skipn 1 "busybox-static not installed (Debian: busybox-static)"
fi

# 42-43. --disk: the program writes on an ext2 image; after power-off the
# host's e2fsck finds it clean and debugfs reads the files.
if ! command -v mke2fs >/dev/null 2>&1 && [ ! -x /usr/sbin/mke2fs ]; then
	skipn 2 "e2fsprogs not installed"
elif ! nm "$KERNEL" 2>/dev/null | grep -qw vblk_probe; then
	skipn 2 "the kernel has no virtio-blk driver yet (issue 5, dev)"
else
	/usr/sbin/mke2fs -q -F -t ext2 disk.img 16M
	timeout 120 "$PITH" run --no-kvm --kernel "$KERNEL" --disk disk.img --mount vda:/mnt:ext2 \
	    ./runtool mkdir:/mnt/d write:/mnt/d/f:hello write:/mnt/g:world </dev/null 2>err | tr -d '\r' >out
	st=${PIPESTATUS[0]}
	check '[ $st -eq 0 ] && /usr/sbin/e2fsck -fn disk.img >fsck.out 2>&1' "--disk: the program's writes leave the image clean (e2fsck -fn)" \
		"status $st: $(tail -3 out) $(cat err) $(tail -3 fsck.out 2>/dev/null)"
	check '[ "$(/usr/sbin/debugfs -R "cat /d/f" disk.img 2>/dev/null)" = hello ] && [ "$(/usr/sbin/debugfs -R "cat /g" disk.img 2>/dev/null)" = world ]' \
		"--disk: debugfs reads the files the program wrote" "$(/usr/sbin/debugfs -R 'ls -l /' disk.img 2>&1 | head -5)"
fi

# 44-46. KVM that opens but does not work (here /dev/null stands in for
# the device on any machine): a one-line notice, then software
# emulation; --kvm refuses; no device at all is silent.
PITH_KVM_DEVICE=/dev/null PITH_RUN_DEBUG=1 timeout 120 "$PITH" run --kernel "$PROBE" ./prog </dev/null >out 2>err
st=$?
check '[ $st -eq 0 ] && [ "$(grep -c "KVM not usable" err)" = 1 ] && grep -q "/dev/null: Inappropriate ioctl" err && grep -q "'"'-accel' 'tcg'"'" err' \
	"KVM device unusable: one notice, then TCG" "status $st: $(cat err)"
PITH_KVM_DEVICE=/dev/null timeout 120 "$PITH" run --kvm --kernel "$PROBE" ./prog </dev/null >out 2>err
st=$?
check '[ $st -eq 125 ] && grep -q "kvm: KVM does not work here (/dev/null" err' \
	"--kvm with an unusable device: status 125 and why" "status $st: $(cat err)"
PITH_KVM_DEVICE=$tmp/no-such-kvm PITH_RUN_DEBUG=1 timeout 120 "$PITH" run --kernel "$PROBE" ./prog </dev/null >out 2>err
st=$?
check '[ $st -eq 0 ] && ! grep -q "KVM" err && grep -q "'"'-accel' 'tcg'"'" err' \
	"no KVM device: TCG without a notice" "status $st: $(cat err)"
# 47. The real device, where there is one: either KVM runs the program
# or the probes turned it down with the notice and TCG did.
if [ -e /dev/kvm ]; then
	PITH_RUN_DEBUG=1 timeout 120 "$PITH" run --kernel "$PROBE" ./prog </dev/null >out 2>err
	st=$?
	check '[ $st -eq 0 ] && { grep -q "'"'-accel' 'kvm'"'" err || { grep -q "KVM not usable (/dev/kvm" err && grep -q "'"'-accel' 'tcg'"'" err; }; }' \
		"/dev/kvm: KVM runs the program, or a notice and TCG" "status $st: $(cat err)"
else
	skipn 1 "no /dev/kvm"
fi
exit $fail
