#!/bin/bash
# Static binaries under `pith exec`: pithload runs them with Linux's
# syscall user dispatch, so their system calls follow the shim's rule
# without a libc to interpose.  A musl program (tests/static/static_test.c)
# checks its own calls, tests/static/threads_test.c threads (built with musl
# and, where libc.a is installed, glibc: eight threads, a robust mutex, a
# signal on a blocked thread, fork); Debian's busybox-static runs ls, cat, cp, tar,
# sha256sum and sh (fork, exec, redirections).  Skips without musl-gcc,
# a static busybox, or a kernel with syscall user dispatch.
BUILD=${BUILD:-build}
PITHD=$PWD/$BUILD/pithd
PITH=$PWD/$BUILD/pith
LOAD=$PWD/$BUILD/pithload
BB=/bin/busybox
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pithd.sh"

if [ ! -x "$PITHD" ] || [ ! -x "$PITH" ] || [ ! -x "$LOAD" ]; then
	echo "1..0 # SKIP $BUILD/pithd, pith or pithload not built"
	exit 0
fi
if ! command -v musl-gcc >/dev/null; then
	echo "1..0 # SKIP no musl-gcc (apt-get install musl-tools)"
	exit 0
fi
if [ ! -x $BB ] || ! file -L $BB 2>/dev/null | grep -q 'statically linked'; then
	echo "1..0 # SKIP no static $BB (apt-get install busybox-static)"
	exit 0
fi
pithd_workdir pithd_static_t
export PITH_SERVER=$S
if ! musl-gcc -static -O2 -o "$W/st" tests/static/static_test.c; then
	echo "1..0 # SKIP musl-gcc cannot build a static program"
	exit 0
fi
musl-gcc -static -O2 -o "$W/tm" tests/static/threads_test.c -lpthread ||
	rm -f "$W/tm"
gcc -static -O2 -o "$W/tg" tests/static/threads_test.c -lpthread 2>/dev/null ||
	rm -f "$W/tg"
# The kernel must have syscall user dispatch (x86-64 Linux 5.11+).
if ! "$LOAD" $BB true 2>/dev/null; then
	echo "1..0 # SKIP pithload cannot run a static program here"
	exit 0
fi

check "server starts" start

# out NAME EXPECTED CMD...: CMD through pith exec prints EXPECTED.
out() {
	local name=$1 want=$2 got
	shift 2
	got=$(timeout 60 "$PITH" exec -- "$@" 2>&1)
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		notok "$name"
		echo "# expected: $(echo "$want" | tr '\n' '|')"
		echo "# got:      $(echo "$got" | tr '\n' '|')"
	fi
}

timeout 60 "$PITH" exec -- mkdir /pith/s
client "musl" timeout 60 "$PITH" exec -- "$W/st" /pith/s
for v in tm:musl tg:glibc; do
	timeout 60 "$PITH" exec -- mkdir /pith/${v%:*}
	if [ -x "$W/${v%:*}" ]; then
		# A hang (a thread never released) shows as the exit status.
		timeout 60 "$PITH" exec -- "$W/${v%:*}" /pith/${v%:*} >"$W/out" 2>&1
		rc=$?
		client "threads, ${v#*:}" cat "$W/out"
		check "threads, ${v#*:}: exit 0" test $rc = 0
	else
		ok "threads, ${v#*:} # SKIP cannot link it statically"
	fi
done
check "exit status passes through" bash -c \
	"'$PITH' exec -- $BB sh -c 'exit 7'; [ \$? = 7 ]"
out "busybox sh: echo > file; cat" "hi" $BB sh -c 'echo hi > /pith/f; cat /pith/f'
out "busybox ls -l" "-rw-r--r-- 3 /pith/f" \
	$BB sh -c "ls -l /pith/f | awk '{ print \$1, \$5, \$9 }'"
out "busybox cat of a host file" "$(cat /etc/passwd)" $BB cat /etc/passwd
out "busybox cp, sha256sum" "same" $BB sh -c \
	'cp /etc/passwd /pith/pw && [ "$(sha256sum < /pith/pw)" = "$(sha256sum < /etc/passwd)" ] && echo same'
out "busybox tar c | tar t" "passwd" $BB sh -c \
	'tar cf /pith/t.tar -C /etc passwd && tar tf /pith/t.tar'
out "busybox sh: fork keeps descriptors" "$(printf 'a\nb\nc')" $BB sh -c \
	'exec 3>/pith/g; echo a >&3; (echo b >&3); echo c >&3; cat /pith/g'
out "busybox sh: exec keeps descriptors" "$(printf 'a\nb\nc')" $BB sh -c \
	'exec 4>/pith/h; echo a >&4; busybox sh -c "echo b >&4"; sh -c "echo c >&4"; cat /pith/h'
out "busybox sh: cd into the prefix, a pipeline" "$(printf '/pith/s\n1')" $BB sh -c \
	'cd /pith/s && pwd && echo x > y && ls | grep -c y'
out "a dynamic shell runs a static program" "$(printf 'a\nb')" sh -c \
	'exec 4>/pith/d; echo a >&4; busybox sh -c "echo b >&4"; busybox cat /pith/d'
out "a static shell runs a dynamic program" "$(printf 'a\nb')" $BB sh -c \
	'exec 4>/pith/e; echo a >&4; /bin/sh -c "echo b >&4"; /bin/cat /pith/e'
out "busybox find" "$(printf '/pith/s\n/pith/s/y')" $BB find /pith/s
out "busybox rm -r" "gone" $BB sh -c 'rm -r /pith/s && ! test -e /pith/s && echo gone'

kill -TERM $SPID
check "SIGTERM: exit 0" wait $SPID
SPID=
echo "1..$n"
exit $fail
