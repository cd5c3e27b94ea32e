#!/bin/bash
# The bare-metal platform (issue 5, first slice): `make metal` links the
# very kernel object of libpith.a with platform/metal and the self-test
# program (tests/metal/selftest.c) into a multiboot image, which QEMU boots
# under software emulation.  The self-test's TAP lines come back over the
# serial console and the machine powers off through isa-debug-exit:
# status 33 is "passed" ((0x10 << 1) | 1), 35 "failed", 1 a panic.
# Skips without qemu-system-x86_64, and on sanitizer builds (the
# sanitizers' runtimes need a host).
BUILD=${BUILD:-build}
. "$(dirname "$0")/tap.sh"

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed (tools/deps.sh installs qemu-system-x86)"
	exit 0
fi
case $BUILD in
*san*|*fuzz*)
	echo "1..0 # SKIP bare metal is not built with sanitizers ($BUILD)"
	exit 0 ;;
esac

echo "1..10"
log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$log" "$out" "$out.ar"' EXIT

# 1. The image builds (with libpith.a, so that both hold the same kernel.o).
if make -s BUILD="$BUILD" "$BUILD/libpith.a" metal >"$log" 2>&1 && [ -f "$BUILD/metal/pith.elf" ]; then
	ok "make metal builds $BUILD/metal/pith.elf"
else
	notok "make metal failed" "$(tail -20 "$log")"
	for i in 2 3 4 5 6 7 8 9 10; do echo "not ok $i - skipped: no image"; done
	exit 1
fi
ELF=$BUILD/metal/pith.elf

# 2. It boots and powers off with the "passed" status.
# boot [cmdline]: run the image, console in $out, QEMU's status in $st.
boot() {
	timeout 60 qemu-system-x86_64 -kernel "$ELF" -append "$1" \
	    -nographic -serial stdio -monitor none -no-reboot -m 64M \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null >"$out" 2>&1
	st=$?
}
boot ""
tr -d '\r' <"$out" >"$out.ar" && mv "$out.ar" "$out"
sed -n '/^1\.\./,$p' "$out" | sed 's/^/#   /'
if [ "$st" -eq 33 ]; then ok "QEMU exits with status 33 (self-test passed)"
else notok "QEMU exit status $st, want 33 (124: timeout, 1: panic, 35: a test failed)" "$(tail -5 "$out")"; fi

# 3. The self-test's own TAP: a plan, that many "ok", no "not ok".
plan=$(grep -m1 -E '^1\.\.[0-9]+$' "$out" | cut -d. -f3)
oks=$(grep -c -E '^ok [0-9]+ - ' "$out")
bad=$(grep -c -E '^not ok ' "$out")
if [ -n "$plan" ] && [ "$plan" -gt 0 ] && [ "$oks" -eq "$plan" ] && [ "$bad" -eq 0 ]; then
	ok "serial console: $oks of $plan self-tests ok"
else
	notok "serial console: plan '${plan}', $oks ok, $bad not ok" "$(grep -E '^not ok' "$out")"
fi

# 4. The kernel booted and shut down in order.
if grep -q '^pith metal: booting' "$out" && grep -q '^ok 1 - pith_kinit' "$out" &&
    grep -q 'pith_fini returns' "$out" && grep -q 'program returned 0, powering off' "$out"; then
	ok "boot, pith_kinit, pith_fini and power-off on the console"
else
	notok "boot sequence incomplete" "$(head -5 "$out")"
fi

# 5. pith_fini handed every byte back and joined every kernel thread.
if grep -q '^pith metal: heap in use 0 bytes, threads 1$' "$out"; then
	ok "after pith_fini: heap empty, only the boot thread left"
else
	notok "after pith_fini: $(grep 'heap in use' "$out")"
fi

# 6. The anykernel property: libpith.a's kernel.o is the build's kernel.o.
if ar p "$BUILD/libpith.a" kernel.o | cmp -s - "$BUILD/kernel.o"; then
	ok "kernel.o in libpith.a is byte-identical to $BUILD/kernel.o"
else
	notok "libpith.a holds a different kernel.o"
fi

# 7. ...and it is the one linked into pith.elf: every global the object
# defines is in the image with the same type and size.
want=$(nm -S -g --defined-only "$BUILD/kernel.o" | awk 'NF == 4 { print $4, $3, $2 }' | sort)
have=$(nm -S -g --defined-only "$ELF" | awk 'NF == 4 { print $4, $3, $2 }' | sort)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
if [ -n "$want" ] && [ -z "$missing" ]; then
	ok "pith.elf holds kernel.o's $(echo "$want" | wc -l) globals unchanged"
else
	notok "pith.elf differs from kernel.o" "$(echo "$missing" | head -5)"
fi

# 8-9. The failure paths end the machine with status 1 and say why: a
# NULL dereference (page 0 is unmapped) and hyp_panic.
boot "selftest=fault"
if [ "$st" -eq 1 ] && grep -q 'CPU exception 14 .*cr2 0x0000000000000000' "$out"; then
	ok "NULL dereference: page fault reported, QEMU status 1"
else
	notok "NULL dereference: status $st" "$(tail -3 "$out")"
fi
# 10 (below). A kernel thread that overflows its stack hits the guard page
# and the double fault, on its own stack, reports it.
boot "selftest=stack"
if [ "$st" -eq 1 ] && grep -q 'CPU exception 8 (double fault)' "$out" &&
    [ "$(grep -c 'CPU exception' "$out")" -eq 1 ] && grep -q '<overflow' "$out"; then
	st_stack=ok
else
	st_stack="status $st: $(tail -3 "$out" | tr '\n' ' ')"
fi
boot "selftest=panic"
if [ "$st" -eq 1 ] && grep -q 'metal: panic' "$out" && grep -q '<main+[0-9]*>' "$out"; then
	ok "hyp_panic: reported with a symbolic backtrace, QEMU status 1"
else
	notok "hyp_panic: status $st" "$(tail -3 "$out")"
fi
if [ "$st_stack" = ok ]; then
	ok "stack overflow in a kernel thread: guard page, double fault reported, status 1"
else
	notok "stack overflow: $st_stack"
fi
exit $fail
