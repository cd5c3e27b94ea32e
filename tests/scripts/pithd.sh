# Sourced (after tap.sh) by the .t scripts that run a pithd: a private
# work directory $W (mode 0711, removed on exit, the server's log shown
# when a check failed), the socket path $S, and start/stop for a server
# in the foreground whose pid is $SPID.  pithd_workdir NAME sets it up.
pithd_workdir() {
	W=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 711 "$W"
	SPID=
	trap pithd_cleanup EXIT
	S=$W/sock/p.sock
}
pithd_cleanup() {
	[ -n "$SPID" ] && kill -9 $SPID 2>/dev/null
	[ $fail = 0 ] || tail -50 "$W/log" | sed 's/^/# log: /'
	rm -rf "$W"
}
# start [PITHD OPTIONS...]: 0 once the socket exists (5 s at most).
start() {
	"$PITHD" --foreground --socket "$S" "$@" 2>>"$W/log" &
	SPID=$!
	for i in $(seq 100); do [ -S "$S" ] && return 0; sleep 0.05; done
	return 1
}
# stop: SIGTERM, and the server's exit status.
stop() {
	kill -TERM $SPID
	wait $SPID
	local st=$?
	SPID=
	return $st
}
