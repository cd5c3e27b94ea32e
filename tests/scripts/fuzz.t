#!/bin/bash
# A short libFuzzer run of every target in tests/fuzz (today: ext2 mount
# and walk of a mutated image), from the seed corpus in
# tests/fuzz/corpus/NAME.  Builds them with `make fuzz` (clang, into
# build-fuzz/) when missing.  New inputs the fuzzer finds go to a
# temporary directory, never into the committed corpus; a crash leaves its
# input in /tmp/pith-fuzz-*.  Skips when clang or its libFuzzer runtime is
# absent.  FUZZ_TIME (seconds per target, default 20) sets the length.
FUZZ_TIME=${FUZZ_TIME:-20}
targets=()
for src in tests/fuzz/*.c; do
	[ -e "$src" ] && targets+=("$(basename "$src" .c)")
done
echo "1..$((${#targets[@]} + 1))"

rt=$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
	$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a \
	2>/dev/null | head -1)
if ! command -v clang >/dev/null 2>&1 || [ -z "$rt" ]; then
	for ((i = 1; i <= ${#targets[@]} + 1; i++)); do
		echo "ok $i # SKIP clang's libFuzzer runtime (libclang-rt-dev) is not installed"
	done
	exit 0
fi

log=$(mktemp /tmp/pith-fuzz-build-XXXXXX)
if make -s -j"$(nproc)" fuzz >"$log" 2>&1; then
	echo "ok 1 - make fuzz builds the targets"
else
	echo "not ok 1 - make fuzz failed:"
	tail -n 20 "$log" | sed 's/^/#   /'
fi
rm -f "$log"

n=1
for t in "${targets[@]}"; do
	n=$((n + 1))
	bin=build-fuzz/tests/fuzz/$t
	corpus=tests/fuzz/corpus/${t%%_*}
	[ -d "$corpus" ] || corpus=
	if [ ! -x "$bin" ]; then
		echo "not ok $n - $t: $bin was not built"
		continue
	fi
	work=$(mktemp -d /tmp/pith-fuzz-XXXXXX)
	out=$work/log
	if timeout -s KILL $((FUZZ_TIME + 60)) "$bin" -max_total_time="$FUZZ_TIME" \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$work/" "$work" ${corpus:+"$corpus"} >"$out" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")
		echo "ok $n - $t: ${runs:-?} runs in ${FUZZ_TIME}s, no crash, leak or sanitizer report"
		rm -rf "$work"
	else
		echo "not ok $n - $t: failed; the input is kept in $work"
		grep -E 'ERROR|SUMMARY|panic|runtime error|Test unit written' "$out" |
			head -n 10 | sed 's/^/#   /'
	fi
done
