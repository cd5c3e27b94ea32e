#!/bin/bash
# pithd's processes: fork gives a client's child a copy of its kernel
# process (shared open files), execve keeps the process and its
# descriptors without close-on-exec, the tokens behind both are single
# use and bound to the uid; `pith ps`, `pith kill` and `pith stop`, and
# that only the server's owner may use them.  Skips when the binaries are
# not built.
BUILD=${BUILD:-build}
PITHD=$PWD/$BUILD/pithd
PITH=$PWD/$BUILD/pith
SHIM=$PWD/$BUILD/libpithshim.so
CT=$PWD/$BUILD/tests/client/client_test
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pithd.sh"

if [ ! -x "$PITHD" ] || [ ! -x "$PITH" ] || [ ! -f "$SHIM" ] || [ ! -x "$CT" ]; then
	echo "1..0 # SKIP $BUILD/pithd, pith, libpithshim.so or client_test not built"
	exit 0
fi
pithd_workdir pithd_proc_t
BG=
cleanup() {
	[ -n "$BG" ] && kill -9 $BG 2>/dev/null
	pithd_cleanup
}
trap cleanup EXIT
export PITH_SERVER=$S

start() {
	"$PITHD" --foreground --socket "$S" --socket-mode 0666 "$@" 2>>"$W/log" &
	SPID=$!
	for i in $(seq 100); do
		# Other users reach the socket through its directory.
		[ -S "$S" ] && chmod 711 "$W/sock" && return 0
		sleep 0.05
	done
	return 1
}
# The server's exit status, waiting 10 s at most.
server_exit() {
	for i in $(seq 200); do
		kill -0 $SPID 2>/dev/null || break
		sleep 0.05
	done
	kill -0 $SPID 2>/dev/null && return 99
	wait $SPID
}
# out NAME EXPECTED CMD: CMD in sh through the shim prints EXPECTED.
out() {
	local got
	got=$(timeout 60 "$PITH" exec -- sh -c "$3" 2>&1)
	if [ "$got" = "$2" ]; then
		ok "$1"
	else
		notok "$1"
		echo "# expected: $(echo "$2" | tr '\n' '|')"
		echo "# got:      $(echo "$got" | tr '\n' '|')"
	fi
}
# Lines of `pith ps` other than the header.
psl() { "$PITH" ps | tail -n +2; }
waitps() {	# until ps shows nothing (the clients are gone), 5 s at most
	for i in $(seq 100); do [ -z "$(psl)" ] && return 0; sleep 0.05; done
	return 1
}

check "server starts" start
client "fork" "$CT" "$S" fork /tmp
client "tokens" "$CT" "$S" tokens

out "fork: a subshell writes to its parent's descriptor" "$(printf 'a\nb\nc')" \
	'exec 3>/pith/f; echo a >&3; (echo b >&3); echo c >&3; cat /pith/f'
out "exec: a program inherits a descriptor" "$(printf 'a\nb')" \
	'exec 4>/pith/g; echo a >&4; sh -c "echo b >&4"; cat /pith/g'
out "exec: the exec builtin keeps it" "$(printf 'x\ny')" \
	'exec 4>/pith/h; echo x >&4; exec sh -c "echo y >&4; cat /pith/h"'
out "a group's output into the prefix, programs included" "$(printf 'a\n1\n2\nz')" \
	'{ echo a; seq 2; echo z; } > /pith/grp; cat /pith/grp'
out "a loop's output, programs included" "$(printf '1\nx1\n2\nx2')" \
	'for i in 1 2; do echo $i; /bin/echo x$i; done > /pith/loop; cat /pith/loop'
out "a program's child shares the descriptor (offset)" "$(printf 'p\nq\nr')" \
	'exec 5>/pith/off; echo p >&5; sh -c "echo q >&5; (echo r >&5)"; cat /pith/off'
out "the cwd crosses fork and exec" "/pith/d" \
	'mkdir -p /pith/d && cd /pith/d && (sh -c pwd)'
out "umask crosses fork and exec" "600" \
	'umask 077; (sh -c ": > /pith/um"); stat -c %a /pith/um'
check "no client processes left" waitps

# ps lists a client's process: its cwd and descriptors.
"$PITH" exec -- sh -c 'cd /pith/d && exec 3>/pith/d/x && exec sleep 30' &
BG=$!
for i in $(seq 100); do psl | grep -q sleep && break; sleep 0.05; done
check "pith ps: the client, its cwd and descriptor" \
	bash -c "'$PITH' ps | awk '\$5 == \"sleep\" && \$6 == \"/d\" && \$4 == 1 && \$2 == $BG' | grep -q ."
check "pith ps: a header" bash -c "'$PITH' ps | head -1 | grep -q '^ *KPID'"
K=$(psl | awk '$5 == "sleep" { print $1 }')
check "pith kill KPID" "$PITH" kill "$K"
check "it is gone from ps" bash -c "! '$PITH' ps | grep -q sleep"
check "pith kill KPID again: an error" bash -c "! '$PITH' kill $K 2>$W/err && grep -q 'no such client process' $W/err"
kill $BG 2>/dev/null; wait $BG 2>/dev/null; BG=
check "pith kill without a pid: usage" bash -c "'$PITH' kill 2>&1 | grep -q usage && ! '$PITH' kill 2>/dev/null"
check "pith kill 1: refused" bash -c "! '$PITH' kill 1 2>/dev/null"
check "pith ps --help" bash -c "'$PITH' ps --help | grep -q '^usage: pith ps'"
check "pith ps without a server: an error" bash -c "! env -u PITH_SERVER '$PITH' ps 2>/dev/null"
check "pith ps on a missing socket: an error" bash -c "! '$PITH' ps --server $W/none 2>/dev/null"

# A blocked client, killed from outside.
coproc HANG { "$CT" "$S" hang; }
HP=$HANG_PID	# bash unsets HANG_PID when the coproc ends
read -r -u "${HANG[0]}" line
K=$(psl | awk '$5 == "client_test" { print $1 }')
check "pith kill ends a client blocked in a call" bash -c "[ -n '$K' ] && '$PITH' kill $K"
check "no client processes left" waitps
kill $HP 2>/dev/null; wait $HP 2>/dev/null

# A client killed while blocked in a call nothing would wake: the server
# interrupts the call and its thread ends (the SIGUSR1 line counts the
# connections still there).
nclients() {
	kill -USR1 $SPID; sleep 0.1
	grep 'clients, kernel' "$W/log" | tail -1 | sed 's/^pithd: \([0-9]*\) clients.*/\1/'
}
for kind in poll nanosleep epoll; do
	coproc BLK { exec "$CT" "$S" block $kind; }
	BP=$BLK_PID
	read -r -u "${BLK[0]}" line
	sleep 0.1
	kill -9 $BP; wait $BP 2>/dev/null
	for i in $(seq 20); do [ "$(nclients)" = 0 ] && break; done
	check "a client killed in $kind with nothing to wake it: its thread ends" \
		test "$(nclients)" = 0
done

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	check "another user: pith ps is refused" bash -c \
		"! setpriv --reuid 1000 --regid 1000 --clear-groups '$PITH' ps 2>$W/err && grep -q 'not permitted' $W/err"
	check "another user: pith stop is refused" bash -c \
		"! setpriv --reuid 1000 --regid 1000 --clear-groups '$PITH' stop 2>/dev/null && [ -S '$S' ]"
	check "another user's fork and exec work" bash -c \
		"[ \"\$(setpriv --reuid 1000 --regid 1000 --clear-groups '$PITH' exec -- sh -c 'exec 3>/pith/tmp/u; echo a >&3; sh -c \"echo b >&3\"; (echo c >&3); cat /pith/tmp/u' | tr '\n' ' ')\" = 'a b c ' ]"
else
	skip "not root (or no setpriv): cannot run a client as another user"
	skip "not root (or no setpriv)"
	skip "not root (or no setpriv)"
fi

# --root: the server's tree is /, but for the host's programs and libraries.
rx() { timeout 60 "$PITH" exec --root -- sh -c "$1" 2>&1; }
check "--root: ls / lists the server's root" bash -c \
	"[ \"\$(timeout 60 '$PITH' exec --root -- ls /)\" = \"\$(timeout 60 '$PITH' exec -- ls /pith/)\" ]"
check "--root: write and read back at /" bash -c \
	"[ \"\$(timeout 60 '$PITH' exec --root -- sh -c 'echo hi > /rootfile; cat /rootfile')\" = hi ] && \
	 [ \"\$(timeout 60 '$PITH' exec -- cat /pith/rootfile)\" = hi ]"
check "--root: it starts in the server's /" bash -c \
	"[ \"\$(cd /usr && timeout 60 '$PITH' exec --root -- pwd)\" = / ]"
check "--root: the host's /etc is not seen" bash -c \
	"! timeout 60 '$PITH' exec --root -- cat /etc/hostname 2>/dev/null"
check "--root: /dev/null is the server's" bash -c \
	"timeout 60 '$PITH' exec --root -- sh -c 'echo x > /dev/null && test -c /dev/null'"
check "--root and --prefix: refused" bash -c \
	"! '$PITH' exec --root --prefix /x -- true 2>/dev/null"

check "pith stop: exit 0" "$PITH" stop
check "the server exited 0" server_exit
SPID=
check "the socket is removed" test ! -e "$S"
check "the server logged a clean stop" grep -q "pithd: stopped" "$W/log"

echo "1..$n"
exit $fail
