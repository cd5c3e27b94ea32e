#!/bin/bash
# Unmodified static Linux programs on bare metal (issue 5): `make metal`
# builds build/metal/pith-kernel.elf, QEMU boots it under software
# emulation with a musl-built test program (tests/metal/*.c) as the
# multiboot module (-initrd) and its argv after `--` on the command line.
# The program's output comes back on COM1, the run's status record
# ("exit N", "signal N", "panic", "error") on COM2.  Checks: argv/envp/auxv, a
# static-PIE, 8 pthreads and timer preemption, the memory calls, fork/
# exec/vfork/posix_spawn/wait4/pipes, signal handlers, faults (NULL,
# executing data, an invalid instruction) ending in a signal with a
# diagnostic, EFAULT for bad pointers, out of memory as ENOMEM, on-demand
# stack growth, the PVH entry, and Debian's busybox-static running
# `sh -c 'echo ok; ls /; cat /etc/x'` and a script with a background job,
# `wait`, a pipeline and a subshell's status.
# Skips without qemu-system-x86_64 or musl-gcc (tools/deps.sh installs
# both), and on sanitizer builds.
BUILD=${BUILD:-build}
. "$(dirname "$0")/tap.sh"

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed (tools/deps.sh installs qemu-system-x86)"
	exit 0
fi
if ! command -v musl-gcc >/dev/null 2>&1; then
	echo "1..0 # SKIP musl-gcc not installed (tools/deps.sh installs musl-tools)"
	exit 0
fi
case $BUILD in
*san*|*fuzz*)
	echo "1..0 # SKIP bare metal is not built with sanitizers ($BUILD)"
	exit 0 ;;
esac

echo "1..28"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if make -s BUILD="$BUILD" metal >"$tmp/log" 2>&1 && [ -f "$BUILD/metal/pith-kernel.elf" ]; then
	ok "make metal builds $BUILD/metal/pith-kernel.elf"
else
	notok "make metal failed" "$(tail -20 "$tmp/log")"
	exit 1
fi
KERNEL=$BUILD/metal/pith-kernel.elf

# The anykernel property for this image too: kernel.o's globals, unchanged.
want=$(nm -S -g --defined-only "$BUILD/kernel.o" | awk 'NF == 4 { print $4, $3, $2 }' | sort)
have=$(nm -S -g --defined-only "$KERNEL" | awk 'NF == 4 { print $4, $3, $2 }' | sort)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
if [ -n "$want" ] && [ -z "$missing" ]; then
	ok "pith-kernel.elf holds kernel.o's $(echo "$want" | wc -l) globals unchanged"
else
	notok "pith-kernel.elf differs from kernel.o" "$(echo "$missing" | head -5)"
fi
# musl's own objects for the static-PIE link (musl-gcc has no -static-pie).
MUSL=$(sed -n 's|.*-L\(/[^ ]*musl[^ ]*\).*|\1|p' "$(sed -n 's/.*-specs "\(.*\)".*/\1/p' "$(command -v musl-gcc)")" 2>/dev/null | head -1)
[ -f "$MUSL/rcrt1.o" ] || MUSL=/usr/lib/x86_64-linux-musl

cc() { musl-gcc -static -O2 -o "$tmp/$1" "tests/metal/${1%-n}.c" "${@:2}" 2>>"$tmp/cc.log"; }
cc hello && cc signals && cc hello-n -Wl,-n -Wl,--no-warn-rwx-segments && cc threads -lpthread && cc memstress && cc faults && cc child &&
    cc forkexec -DCHILD="\"$tmp/child\"" &&
    musl-gcc -fPIE -O2 -c tests/metal/hello.c -o "$tmp/pie.o" 2>>"$tmp/cc.log" &&
    musl-gcc -static-pie -nostartfiles -nodefaultlibs -Wl,--no-dynamic-linker \
	-o "$tmp/hello-pie" "$MUSL/rcrt1.o" "$MUSL/crti.o" "$tmp/pie.o" \
	"$MUSL/libc.a" "$(gcc -print-libgcc-file-name)" "$MUSL/crtn.o" 2>>"$tmp/cc.log"
if [ $? -ne 0 ]; then
	notok "building the test programs with musl-gcc" "$(tail -5 "$tmp/cc.log")"
	exit 1
fi

# run PROG CMDLINE [MEM]: console in $out, status record in $status.
out=$tmp/out
run() {
	rm -f "$tmp/status"
	timeout 120 qemu-system-x86_64 -kernel "$KERNEL" -initrd "$tmp/$1" \
	    -append "$2" -m "${3:-64M}" -cpu max -nographic -monitor none \
	    -serial stdio -serial "file:$tmp/status" -no-reboot \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 |
	    tr -d '\r' >"$out"
	status=$(cat "$tmp/status" 2>/dev/null)
}
has() { grep -q -F -x -- "$1" "$out"; }
show() { sed -n '/pith metal: booting/,$p' "$out" | tail -12; }

# argv (with an escaped space), envp, auxv, the exit status.
run hello 'env=FOO=bar env=E=\x3d -- hello a\x20b exit=3'
if [ "$status" = "exit 3" ] && has "argv[0]=hello" && has "argv[1]=a b" &&
    has "argv[2]=exit=3" && has "env FOO=bar" && has "env E==" &&
    has "pagesz 4096, AT_RANDOM set, AT_EXECFN hello" && has "stack aligned 1"; then
	ok "static hello: argv, envp, auxv, 16-byte stack, exit status 3"
else
	notok "static hello: status '$status'" "$(show)"
fi

run hello-pie '-- pie x'
if [ "$status" = "exit 0" ] && has "argv[1]=x" && has "stack aligned 1"; then
	ok "static-PIE hello relocates itself and runs"
else
	notok "static-PIE hello: status '$status'" "$(show)"
fi

# ld -n: one RWX segment not page-aligned, program headers outside it
# (they come along with its first page, as Linux maps file pages).
run hello-n '-- hn'
if [ "$status" = "exit 0" ] && has "argv[0]=hn" && has "stack aligned 1"; then
	ok "an -n (nmagic) hello: unaligned segment, headers outside it"
else
	notok "nmagic hello: status '$status'" "$(show)"
fi

run threads ''
if [ "$status" = "exit 0" ] && has "counter 160000 (want 160000)" &&
    has "spinner stopped after the main thread slept" &&
    has "cond_timedwait: ETIMEDOUT after >= 20 ms: yes" &&
    has "exiting with a thread blocked in a condition wait"; then
	ok "8 pthreads, mutex counter exact; a spinning thread is preempted; futex timeout"
else
	notok "threads: status '$status'" "$(show)"
fi

# The same threads program linked statically against glibc (8 MiB thread
# stacks, clone3 falling back to clone, rseq refused).
if gcc -static -O2 -o "$tmp/threads-glibc" tests/metal/threads.c -lpthread 2>>"$tmp/cc.log"; then
	run threads-glibc ''
	if [ "$status" = "exit 0" ] && has "counter 160000 (want 160000)" &&
	    has "exiting with a thread blocked in a condition wait"; then
		ok "the threads program built with glibc -static"
	else
		notok "glibc threads: status '$status'" "$(show)"
	fi
else
	skip "no static glibc (libc6-dev's libc.a) to build with"
fi

run memstress ''
if [ "$status" = "exit 0" ] && has "memstress ok"; then
	ok "brk, mmap, munmap, mprotect, mremap, MAP_FIXED, malloc churn"
else
	notok "memstress: status '$status'" "$(show)"
fi

run forkexec ''
if [ "$status" = "exit 0" ] && has "forkexec ok" &&
    [ "$(grep -c '^child pid [0-9]* ppid [0-9]* argc 3 argv\[1\] one' "$out")" -eq 4 ] &&
    has "execve with a second thread: child exited 5" &&
    has "writer to a broken pipe: killed by SIGPIPE" &&
    has "waitid: child exited 9, then reaped" && has "one CPU; prctl name renamed" &&
    has "exec closed the O_CLOEXEC descriptor only" &&
    has "MAP_SHARED seen across fork, MAP_PRIVATE not"; then
	ok "fork, fork+execve, vfork+execve, pipe, posix_spawn, threaded execve, close-on-exec, SIGPIPE, wait4, waitid, MAP_SHARED"
else
	notok "forkexec: status '$status'" "$(show)"
fi

run signals ''
if [ "$status" = "exit 0" ] && has "signals ok" &&
    has "interval timer: SIGALRM twice; alarm" &&
    has "fast-path calls: SIGALRM in a getpid loop, SIGUSR1 on unblocking" &&
    has "syscall 1000, -1 and 335: ENOSYS" &&
    has "SIGSEGV handler got si_addr 0x1234 and jumped out"; then
	ok "signals: handlers, masks, sigsuspend, sigaltstack, default actions, pause, timers, fast-path delivery"
else
	notok "signals: status '$status'" "$(show)"
fi

run faults '-- faults null'
if [ "$status" = "signal 11" ] &&
    grep -q 'killed by SIGSEGV: page fault: address not mapped at address 0x0000000000000000 (read)' "$out" &&
    grep -q ' rip 0x' "$out"; then
	ok "NULL dereference: SIGSEGV diagnostic and registers, status signal 11"
else
	notok "NULL dereference: status '$status'" "$(show)"
fi

run faults '-- faults exec'
if [ "$status" = "signal 11" ] && grep -q 'killed by SIGSEGV: page fault: executing a no-execute page' "$out"; then
	ok "executing data: NX fault, status signal 11"
else
	notok "executing data: status '$status'" "$(show)"
fi

kern_ok=1
for m in kread kdmap textwrite; do
	run faults "-- faults $m"
	if [ "$status" != "signal 11" ] || ! grep -q 'killed by SIGSEGV: page fault: protection violation' "$out"; then
		kern_ok=0
		notok "faults $m: status '$status'" "$(show)"
		break
	fi
done
[ $kern_ok -eq 1 ] && ok "kernel image and direct map are supervisor-only, text read-only: SIGSEGV"

run faults '-- faults ud'
if [ "$status" = "signal 4" ] && grep -q 'killed by SIGILL: invalid opcode' "$out"; then
	ok "invalid instruction: SIGILL, status signal 4"
else
	notok "invalid instruction: status '$status'" "$(show)"
fi

run faults '-- faults spin'
if [ "$status" = "signal 14" ]; then
	ok "a program spinning without system calls is ended by its SIGALRM"
else
	notok "spin with a timer: status '$status'" "$(show)"
fi

run faults '-- faults badptr'
if [ "$status" = "exit 0" ] && has "write unmapped: EFAULT" &&
    has "write kernel image: EFAULT" && has "read into kernel image: EFAULT" &&
    has "open unmapped path: EFAULT" && has "writev unmapped buffer: EFAULT"; then
	ok "unmapped buffers and kernel addresses given to system calls: EFAULT"
else
	notok "bad pointers: status '$status'" "$(show)"
fi

run faults '-- faults partial'
if [ "$status" = "signal 11" ] && grep -q 'system call given a bad address 0x' "$out" &&
    ! has "partial read survived"; then
	ok "a read running past its mapping: the program dies, the kernel lives"
else
	notok "partial read: status '$status'" "$(show)"
fi

run faults '-- faults oom' 32M
if [ "$status" = "exit 1" ] && grep -q '^malloc failed after [0-9]* MiB$' "$out"; then
	ok "out of memory: malloc gets NULL, the program says so and exits 1"
else
	notok "out of memory: status '$status'" "$(show)"
fi

run faults '-- faults oomtouch' 32M
if [ "$status" = "signal 9" ] && has "16 mappings of 8 MiB made" &&
    grep -q 'killed: out of memory' "$out"; then
	ok "touching more memory than there is: the program is killed (SIGKILL), the kernel lives"
else
	notok "oom by touching: status '$status'" "$(show)"
fi

run faults '-- faults stack'
if [ "$status" = "exit 0" ] && has "deep 1" &&
    has "read into the stack below its mapped part: ok"; then
	ok "deep recursion, and a read(2) into unmapped stack: the stack grows"
else
	notok "deep recursion: status '$status'" "$(show)"
fi

run hello '-- hello' 4M
if [ "$status" = "exit 0" ] && has "argv[0]=hello"; then
	ok "hello runs with -m 4M"
else
	notok "hello with -m 4M: status '$status'" "$(show)"
fi

printf 'echo not a program\n' >"$tmp/text"
run text '-- text'
if [ "$status" = "exit 127" ] &&
    grep -q 'cannot run the program: not a static x86-64 Linux program: no ELF header' "$out"; then
	ok "a module that is not an ELF file: a clear error, exit 127"
else
	notok "non-ELF module: status '$status'" "$(show)"
fi
musl-gcc -O2 -o "$tmp/dynamic" tests/metal/hello.c 2>>"$tmp/cc.log"
run dynamic '-- dynamic'
if [ "$status" = "exit 127" ] && grep -q 'dynamically linked' "$out"; then
	ok "a dynamically linked program: told to build with -static, exit 127"
else
	notok "dynamic program: status '$status'" "$(show)"
fi

run hello 'bogus=1 -- hello'
if [ "$status" = "error" ] && grep -q "unknown boot option 'bogus=1'" "$out"; then
	ok "an unknown boot option is a boot error naming it"
else
	notok "unknown boot option: status '$status'" "$(show)"
fi

# The PVH entry (Xen, Firecracker; QEMU given a copy without the multiboot
# magic, which it would try first) reaches the same boot: the module, the
# command line, and a heap beside the initrd QEMU puts at the top of RAM.
cp "$KERNEL" "$tmp/pvh.elf"
off=$(LC_ALL=C grep -obUaP '\x02\xb0\xad\x1b' "$tmp/pvh.elf" | head -1 | cut -d: -f1)
[ -n "$off" ] && printf '\0\0\0\0' | dd of="$tmp/pvh.elf" bs=1 seek="$off" conv=notrunc status=none
mbkernel=$KERNEL
KERNEL=$tmp/pvh.elf
run hello 'env=FOO=bar -- hello a exit=5' 16M
KERNEL=$mbkernel
if [ -n "$off" ] && [ "$status" = "exit 5" ] && has "pith metal: entered through PVH" &&
    has "argv[1]=a" && has "env FOO=bar"; then
	ok "PVH entry: program module, command line and heap as under multiboot"
else
	notok "PVH entry: status '$status'" "$(show)"
fi

if [ -x /bin/busybox ] && readelf -h /bin/busybox >/dev/null 2>&1 &&
    ! readelf -l /bin/busybox 2>/dev/null | grep -q INTERP; then
	cc bbinit -DBUSYBOX='"/bin/busybox"'
	run bbinit '-- bbinit echo\x20ok;\x20ls\x20/;\x20cat\x20/etc/x'
	if [ "$status" = "exit 0" ] && has "ok" && has "etc" && has "bin" &&
	    has "contents of x"; then
		ok "busybox-static: sh -c 'echo ok; ls /; cat /etc/x'"
	else
		notok "busybox: status '$status'" "$(show)"
	fi
	run bbinit '-- bbinit (echo\x20sub)\x20&\x20wait;\x20echo\x20waited;\x20for\x20i\x20in\x201\x202;\x20do\x20echo\x20n$i;\x20done\x20|\x20cat;\x20(exit\x203);\x20echo\x20st=$?;\x20printf\x20"#!/bin/cat\x5cnline2\x5cn"\x20>/tmp/c;\x20chmod\x20+x\x20/tmp/c;\x20/tmp/c;\x20exit\x204'
	if [ "$status" = "exit 4" ] && has "sub" && has "waited" && has "n1" &&
	    has "n2" && has "st=3" && has "#!/bin/cat" && has "line2"; then
		ok "busybox-static: background job, wait (SIGCHLD), pipeline, statuses, #! script"
	else
		notok "busybox script: status '$status'" "$(show)"
	fi
	run bbinit '-- bbinit (while\x20true;\x20do\x20:;\x20done)\x20&\x20echo\x20left\x20one\x20running;\x20exit\x202'
	if [ "$status" = "exit 2" ] && has "left one running"; then
		ok "busybox-static: the run ends with the first program, a busy orphan or not"
	else
		notok "busybox orphan: status '$status'" "$(show)"
	fi
else
	for i in 1 2 3; do
		skip "busybox-static not installed (apt-get install busybox-static)"
	done
fi
exit $fail
