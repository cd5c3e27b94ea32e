#!/bin/bash
# Children of shimmed programs (issue 6): every child a program makes
# under `pith exec` -- posix_spawn(p), system, popen, vfork, clone, a
# shell's fork, Python's subprocess -- is a process of the server's
# kernel with a copy of its parent's, so it has the parent's server
# descriptors (offsets shared) and working directory, and /pith paths in
# posix_spawn's file actions reach the server.  tests/shim/spawn does the
# C cases; each leaves files that it checks itself.  Skips when the
# binaries are not built.
BUILD=${BUILD:-build}
PITHD=$PWD/$BUILD/pithd
PITH=$PWD/$BUILD/pith
SHIM=$PWD/$BUILD/libpithshim.so
PROG=$PWD/$BUILD/tests/shim/spawn
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pithd.sh"

if [ ! -x "$PITHD" ] || [ ! -x "$PITH" ] || [ ! -f "$SHIM" ] ||
    [ ! -x "$PROG" ]; then
	echo "1..0 # SKIP $BUILD/pithd, pith, libpithshim.so or tests/shim/spawn not built"
	exit 0
fi
pithd_workdir shim_spawn_t

# pex PROGRAM ARGS...: through the shim, output and errors together.
pex() { timeout 60 "$PITH" exec --server "$S" -- "$@" 2>&1; }
# is WHAT WANT PROGRAM ARGS...: its output is WANT.
is() {
	local what=$1 want=$2 got
	shift 2
	got=$(pex "$@")
	if [ "$got" = "$want" ]; then
		ok "$what"
	else
		notok "$what" "wanted: $want" "got: $got"
	fi
}
# cprog CASE: tests/shim/spawn CASE in a fresh server directory.
cprog() {
	local out
	pex sh -c "mkdir /pith/$1 && echo input > /pith/$1/in" >/dev/null
	if out=$(pex "$PROG" "$1" "/pith/$1"); then
		ok "$2"
	else
		notok "$2" "$out"
	fi
}

check "server starts" start
cprog actions "posix_spawn: open, dup2, chdir, close, closefrom, fchdir in the server; errors"
cprog spawnp "posix_spawnp: PATH, setsid, sigmask; the child shares a server descriptor"
cprog system "system: cd into the server; an inherited descriptor; status"
cprog popen "popen r, w and re; pclose's status; an inherited descriptor"
cprog vfork "vfork+exec with a server descriptor as stdout"
cprog clone "clone without CLONE_VM: a copy of the kernel process"
cprog freopen "freopen of stdout and stdin onto server files; a child at 1"
cprog threads "posix_spawn from four threads at once, one shared descriptor"

pex sh -c 'mkdir /pith/x && touch /pith/x/a /pith/x/b /pith/x/c' >/dev/null
for sh in dash bash; do
	if ! command -v $sh >/dev/null; then
		skip "no $sh"
		skip "no $sh"
		skip "no $sh"
		continue
	fi
	is "$sh: cd /pith/x && ls | wc -l > /pith/y" 3 \
	    $sh -c "cd /pith/x && ls | wc -l > /pith/y.$sh && cat /pith/y.$sh"
	# A redirected compound command: the shell holds the server file at
	# 1 and forks each child, which is pumped at its exec.
	is "$sh: a loop's output redirected into the server" "a
b
c" $sh -c "cd /pith/x && for f in *; do /bin/echo \$f; done > ../loop.$sh; cat /pith/loop.$sh"
	# stdio on server descriptors at 0-2, then a pipeline of them.
	is "$sh: stdio programs reading and writing server files" "c
b
a" $sh -c "ls /pith/x > /pith/ls.$sh && sort -r < /pith/ls.$sh > /pith/sorted.$sh && cat < /pith/sorted.$sh | cat"
done

# A pumped program (stdout a server file) leaves a background child
# holding the pipe: the shell sees the program's end at once, and the
# file still gets what the child writes later.
bgstart=$(date +%s%N)
pex sh -c 'sh -c "(sleep 4; echo late) & echo early" > /pith/bg' >/dev/null
bgms=$(( ($(date +%s%N) - bgstart) / 1000000 ))
if [ $bgms -lt 3000 ]; then
	ok "a pumped program's end is not held up by its background child"
else
	notok "a pumped program's end is not held up by its background child" \
	    "took $bgms ms"
fi
sleep 4.5
is "the background child's output reaches the file" "early
late" cat /pith/bg

# The program's copy of the kernel process does not keep the pumped
# descriptors (it has pipes at 0-2 and could never reach them).
pex sh -c 'sleep 3 > /pith/x/f1 2> /pith/x/f2' >/dev/null &
pumped=$!
for i in $(seq 20); do
	fds=$("$PITH" ps --server "$S" | awk '$5 == "sleep" { print $4 }')
	[ -n "$fds" ] && break
	sleep 0.1
done
wait $pumped
if [ "$fds" = 0 ]; then
	ok "a pumped program holds no server descriptors"
else
	notok "a pumped program holds no server descriptors" "sleep has '$fds'"
fi

if command -v python3 >/dev/null; then
	# subprocess uses vfork (or posix_spawn); its child gets the cwd
	# and a server file as stdout; os.posix_spawn opens a /pith file
	# as a file action.
	is "python3 subprocess and os.posix_spawn" "py-run
py-out
spawned" python3 -c '
import os, subprocess, sys
subprocess.run(["sh", "-c", "echo py-run > r"], cwd="/pith/x", check=True)
print(open("/pith/x/r").read(), end="")
with open("/pith/x/o", "w") as f:
    subprocess.run(["echo", "py-out"], stdout=f, check=True)
print(open("/pith/x/o").read(), end="")
pid = os.posix_spawn("/bin/echo", ["echo", "spawned"], os.environ,
    file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/pith/x/ps", os.O_WRONLY | os.O_CREAT, 0o644)])
os.waitpid(pid, 0)
print(open("/pith/x/ps").read(), end="")
'
	is "python3 subprocess.check_output of a server file" "input" \
	    python3 -c 'import subprocess; print(subprocess.check_output(["cat", "/pith/actions/in"]).decode(), end="")'
else
	skip "no python3"
	skip "no python3"
fi

# Every child was a process of the server: none left once all are done.
check "no kernel processes left over" bash -c \
	"sleep 0.5; '$PITH' ps --server '$S' | grep -q KPID && [ \"\$('$PITH' ps --server '$S' | grep -vc KPID)\" = 0 ]"
check "SIGTERM: exit 0" stop

echo "1..$n"
exit $fail
