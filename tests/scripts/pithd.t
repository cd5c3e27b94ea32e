#!/bin/bash
# pithd and libpithclient: a server on a temporary socket, clients of
# tests/client/client_test doing file calls through it, two at once, one as
# an unprivileged user, some killed mid-call, hostile requests, a refused
# protocol version, an ext2 image served and checked by e2fsck, and a clean
# SIGTERM.  Skips when the binaries are not built.
BUILD=${BUILD:-build}
PITHD=$PWD/$BUILD/pithd
CT=$PWD/$BUILD/tests/client/client_test
MKE2FS=/usr/sbin/mke2fs
E2FSCK=/usr/sbin/e2fsck
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/pithd.sh"

if [ ! -x "$PITHD" ] || [ ! -x "$CT" ]; then
	echo "1..0 # SKIP $BUILD/pithd or client_test not built"
	exit 0
fi
pithd_workdir pithd_t

# The kernel's memory once no client is left (the server's SIGUSR1 line).
kmem() {
	local line
	for i in $(seq 50); do
		kill -USR1 $SPID; sleep 0.1
		line=$(grep 'kernel memory' "$W/log" | tail -1)
		case $line in "pithd: 0 clients"*) break ;; esac
	done
	echo "$line" | sed 's/.*memory \([0-9]*\) bytes/\1/'
}

check "pithd --help" bash -c "'$PITHD' --help | grep -q '^usage: pithd'"
check "pithd without --socket fails with a message" bash -c \
	"! '$PITHD' --foreground 2>/dev/null && '$PITHD' --foreground 2>&1 | grep -q '^pithd: .*--socket'"
mkdir -m 777 "$W/open"
check "refuses a world-writable non-sticky dir" bash -c \
	"'$PITHD' --foreground --socket '$W/open/s' 2>&1 | grep -q 'world-writable'"

check "server starts" start --socket-mode 0666
check "socket directory created 0700" test "$(stat -c %a "$W/sock")" = 700
check "socket is 0666 as asked" test "$(stat -c %a "$S")" = 666
chmod 711 "$W/sock"
check "a second server on a live socket is refused" bash -c \
	"'$PITHD' --foreground --socket '$S' 2>&1 | grep -q 'already listening'"

client basic "$CT" "$S" basic /d1

# Two clients at once, each with its own cwd and descriptors.
"$CT" "$S" cwd /c1 one >"$W/c1" 2>&1 & p1=$!
"$CT" "$S" cwd /c2 two >"$W/c2" 2>&1 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
client "client 1" cat "$W/c1"
client "client 2" cat "$W/c2"
check "both clients exited 0" test $r1 = 0 -a $r2 = 0

# Credentials: a root-only file, read by an unprivileged client.
client root "$CT" "$S" mkroot /secret
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	client "uid 1000" setpriv --reuid 1000 --regid 1000 --clear-groups "$CT" "$S" eacces /secret
else
	skip "not root (or no setpriv): cannot run a client as another user"
fi

client hostile "$CT" "$S" hostile
client badversion "$CT" "$S" badversion
check "server logged the refusal" grep -q "refused client.*999" "$W/log"

# Clients killed mid-call: the server keeps serving and its memory is steady.
killround() {
	"$CT" "$S" hang >"$W/hang" & local h=$!
	"$CT" "$S" stream /stream >"$W/stream" & local s=$!
	for i in $(seq 100); do grep -qs ready "$W/hang" && grep -qs ready "$W/stream" && break; sleep 0.02; done
	sleep 0.05
	kill -9 $h $s; wait $h $s 2>/dev/null
}
killround; killround
sleep 0.3
# Caches may settle in the first rounds; after that nothing may grow.
m0=$(kmem)
for i in $(seq 10); do killround; done
m1=$(kmem)
for i in $(seq 10); do killround; done
m2=$(kmem)
echo "# kernel memory: $m0 at first, $m1 after 20 killed clients, $m2 after 40"
if [ -n "$m1" ] && [ "$m1" = "$m2" ]; then
	ok "kernel memory steady after killed clients"
elif [ "$BUILD" = build-san ]; then
	# Known: the sanitizer kernel grows ~200 bytes per killed client
	# (freed at pith_fini: no leak report); the normal build is steady.
	n=$((n + 1)); echo "not ok $n - kernel memory steady after killed clients # TODO sanitizer build grows"
else
	notok "kernel memory steady after killed clients"
fi
check "no clients left over" bash -c "grep 'clients, kernel' '$W/log' | tail -1 | grep -q '^pithd: 0 clients'"
client "after kills" "$CT" "$S" write /after 64

check "SIGTERM: exit 0" stop
check "socket removed" test ! -e "$S"
check "stopped cleanly" grep -q "pithd: stopped" "$W/log"

# An ext2 image served, written by a client, clean after SIGTERM.
if [ -x $MKE2FS ] && [ -x $E2FSCK ]; then
	$MKE2FS -q -t ext2 -b 1024 "$W/img" 8M >/dev/null 2>&1
	check "server with an ext2 image" start --image "$W/img:/mnt"
	client ext2 "$CT" "$S" write /mnt/data 1000
	client ext2b "$CT" "$S" basic /mnt/dir
	check "SIGTERM with the image: exit 0" stop
	check "e2fsck -fn clean" bash -c "$E2FSCK -fn '$W/img' >/dev/null 2>&1"
else
	skip "no e2fsprogs"
fi

# Detached mode: returns once serving.
check "daemon mode returns when ready" bash -c "'$PITHD' --socket '$S' 2>>'$W/log'"
check "daemon is serving" bash -c "'$CT' '$S' write /d 1 | grep -q 'ok - size'"
DPID=$(ps -eo pid,args | awk -v s="$S" '$0 ~ "pithd --socket " s {print $1}' | head -1)
check "daemon stops on SIGTERM" bash -c "kill -TERM $DPID && for i in \$(seq 100); do [ -e '$S' ] || exit 0; sleep 0.05; done; exit 1"

echo "1..$n"
exit $fail
