#!/bin/bash
# The foundation's system-call tests inside the VM (issue 5): tests/sys/
# programs that run hosted against libpith (make check) are built again
# with musl-gcc -static, every pith_sys_X being the `syscall` instruction
# (tests/metal/sysabi/), and run as the program of pith-kernel.elf under
# QEMU; each must print its TAP plan with every test ok (or skipped with
# a reason: tests/lib/host.h, for what only a hosted kernel has) and
# exit 0.  Tests that compare Pith with Linux (ORACLE below) run hosted
# first with PITH_ORACLE=FILE, and the Linux answers they record are
# compiled into the VM's program (tests/lib/oracle.h), which compares
# with them.  The VM has 32 MiB, 128 MiB for the tests that fill tmpfs or
# the vnode cache.  Skips without qemu-system-x86_64 or musl-gcc, and on
# sanitizer builds.
BUILD=${BUILD:-build}
TESTS="pipe fd dev poll kern mount vfs_stress vcache fdlight sc_threads tmpfs vfs rename mknod perm syscall"
ORACLE="vfs rename mknod perm syscall"
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

echo "1..$(( $(echo $TESTS | wc -w) + 1 ))"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if make -s BUILD="$BUILD" metal "$BUILD/include/pith/pith_sys.h" \
    $(for t in $ORACLE; do echo "$BUILD/tests/sys/${t}_test.t"; done) >"$tmp/log" 2>&1 &&
    { cat tests/metal/sysabi/sysabi.c &&
    awk -v wrap=lib/pith/wrap.c -f tests/metal/sysabi/gensysabi.awk \
	"$BUILD/include/pith/pith_sys.h"; } >"$tmp/sysabi.c" &&
    musl-gcc -static -O2 -Wall -Werror -Itests/metal/sysabi -I"$BUILD/include" \
	-c "$tmp/sysabi.c" -o "$tmp/sysabi.o" >>"$tmp/log" 2>&1 &&
    musl-gcc -static -O2 -Wall -Werror -DPITH_SYSABI -Itests/metal/sysabi \
	-I"$BUILD/include" -c lib/pith/wrap.c -o "$tmp/wrap.o" >>"$tmp/log" 2>&1; then
	ok "pith-kernel.elf, and pith_sys_* as system calls for musl"
else
	notok "building the kernel or the system-call wrappers" "$(tail -10 "$tmp/log")"
	exit 1
fi

# Linux's answers for test $1, as a header defining oracle_text; prints the
# compiler flag that includes it.  The hosted run's own result is make
# check's business; here only its record counts.
record_oracle() {
	rm -f "$tmp/$1.oracle"
	PITH_ORACLE="$tmp/$1.oracle" "./$BUILD/tests/sys/${1}_test.t" >"$tmp/$1.hosted" 2>&1
	[ -s "$tmp/$1.oracle" ] || return 1
	{ echo 'static const char oracle_text[] ='
	  sed 's/.*/"&\\n"/' "$tmp/$1.oracle"
	  echo ';'; } >"$tmp/$1.oracle.h"
	echo "-DPITH_ORACLE_H=\"$tmp/$1.oracle.h\""
}

for t in $TESTS; do
	oflag=
	case " $ORACLE " in
	*" $t "*)
		if ! oflag=$(record_oracle "$t"); then
			# perm_test compares only as root: no host, no record.
			if grep -q '^1\.\.0 # SKIP' "$tmp/$t.hosted"; then
				skip "${t}_test: hosted: $(sed -n 's/^1\.\.0 # SKIP //p' "$tmp/$t.hosted")"
			else
				notok "${t}_test records Linux's answers hosted" "$(tail -5 "$tmp/$t.hosted")"
			fi
			continue
		fi ;;
	esac
	if ! musl-gcc -static -O2 -D_GNU_SOURCE -DPITH_METAL $oflag -Itests/metal/sysabi -I"$BUILD/include" -Itests \
	    -o "$tmp/$t" "tests/sys/${t}_test.c" tests/lib/tap.c "$tmp/sysabi.o" "$tmp/wrap.o" -lpthread \
	    >"$tmp/cc.log" 2>&1; then
		notok "tests/sys/${t}_test.c builds with musl-gcc -static" "$(tail -5 "$tmp/cc.log")"
		continue
	fi
	case $t in tmpfs|vcache) mem=128M ;; *) mem=32M ;; esac
	rm -f "$tmp/status"
	timeout 120 qemu-system-x86_64 -kernel "$BUILD/metal/pith-kernel.elf" -initrd "$tmp/$t" \
	    -append "-- $t" -m $mem -cpu max -display none -vga none -nic none -monitor none \
	    -serial stdio -serial "file:$tmp/status" -no-reboot \
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null 2>&1 |
	    tr -d '\r' >"$tmp/$t.out"
	status=$(cat "$tmp/status" 2>/dev/null)
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tmp/$t.out" | head -1)
	oks=$(grep -c '^ok [0-9]' "$tmp/$t.out")
	bad=$(grep -c '^not ok' "$tmp/$t.out")
	skips=$(grep -c '^ok [0-9]* # skip' "$tmp/$t.out")
	if [ "$status" = "exit 0" ] && [ -n "$plan" ] && [ "$plan" -gt 0 ] &&
	    [ "$oks" -eq "$plan" ] && [ "$bad" -eq 0 ]; then
		ok "${t}_test in the VM: $oks of $plan ($skips skipped)"
	else
		notok "${t}_test in the VM: status '$status', $oks ok of ${plan:-no plan}" \
		    "$(grep -A2 '^not ok\|^Bail\|^pith' "$tmp/$t.out" | head -12)"
	fi
done
exit $fail
