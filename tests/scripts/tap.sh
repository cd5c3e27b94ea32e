# Sourced by the tests/scripts/*.t: the TAP counters and reporters they
# share.  ok/notok/skip print one numbered line; check runs a command and
# reports its status; notok prints any further arguments as comments; client numbers the "ok - x" lines of a test program
# (tests/client, tests/static) into this script's stream, then its
# "exit N" line.  $fail tells the caller's cleanup whether to show logs.
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {	# notok WHAT [DIAGNOSTIC...]: each diagnostic as "# " lines
	n=$((n + 1)); fail=1; echo "not ok $n - $1"; shift
	local l; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
client() {
	local prefix=$1 line; shift
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "$prefix: ${line#ok - }" ;;
		"not ok - "*) notok "$prefix: ${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		esac
	done < <("$@" 2>&1; echo "exit $?")
}
