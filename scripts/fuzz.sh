#!/usr/bin/env bash
# fuzz.sh - build the libFuzzer targets with clang and run each for FUZZ_SECONDS.
#
# Builds in build-fuzz/ (ASan+UBSan, -Dfuzz=true, no unit tests), then runs every
# tests/fuzz/fuzz-NAME.c target on a scratch copy of its seed corpus tests/fuzz/corpus/NAME/
# (the committed seeds are never written to), with tests/fuzz/NAME.dict when present.
# Prints each target's execs and coverage; exits 1 if any target found a crash, leak,
# timeout or OOM, after printing the input (path and bytes in hex) and the report.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_JOBS      targets fuzzed at once (default: the number of CPUs)
#   FUZZ_BUILD     build directory (default build-fuzz)
#
# Inputs the run added live in build-fuzz/fuzz-work/NAME/corpus/; to keep the useful ones,
#   build-fuzz/tests/fuzz/fuzz-NAME -merge=1 tests/fuzz/corpus/NAME build-fuzz/fuzz-work/NAME/corpus
set -euo pipefail

cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}
BUILD=${FUZZ_BUILD:-build-fuzz}
HEX_MAX=4096 # bytes of a finding printed in hex

case $FUZZ_SECONDS in
'' | *[!0-9]*)
	echo "fuzz.sh: FUZZ_SECONDS must be a whole number of seconds, not '$FUZZ_SECONDS'" >&2
	exit 2
	;;
esac
case $FUZZ_JOBS in
'' | *[!0-9]* | 0)
	echo "fuzz.sh: FUZZ_JOBS must be a whole number above 0, not '$FUZZ_JOBS'" >&2
	exit 2
	;;
esac
if [ "$FUZZ_SECONDS" -lt 1 ]; then
	echo "fuzz.sh: FUZZ_SECONDS must be at least 1" >&2
	exit 2
fi
if ! command -v clang >/dev/null; then
	echo "fuzz.sh: clang not found; run scripts/install-deps.sh (or make deps)" >&2
	exit 2
fi

if [ ! -f "$BUILD/build.ninja" ]; then
	echo "CC=clang meson setup $BUILD -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false"
	CC=clang meson setup "$BUILD" -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false
fi
meson compile -C "$BUILD"

# A UBSan report is a finding, not a warning; leaks are findings too.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1

shopt -s nullglob
sources=(tests/fuzz/fuzz-*.c)
if [ ${#sources[@]} -eq 0 ]; then
	echo "fuzz.sh: no tests/fuzz/fuzz-*.c targets" >&2
	exit 2
fi

# One target: fuzz it, then write what it found to $work/report (printed later, in order)
# and "ok LINE" or "FAIL LINE" to $work/result.
fuzz_one() {
	local src=$1 target name exe seeds work args dict status last execs rate cov ft corp
	local line artifacts a size
	target=$(basename "$src" .c)
	name=${target#fuzz-}
	exe="$BUILD/tests/fuzz/$target"
	seeds="tests/fuzz/corpus/$name"
	work="$BUILD/fuzz-work/$name"

	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	exec >"$work/report" 2>&1
	echo
	echo "=== $target: ${FUZZ_SECONDS}s ==="
	if [ ! -x "$exe" ]; then
		echo "fuzz.sh: $exe was not built (is $target listed in tests/fuzz/meson.build?)"
		echo "FAIL  $target (not built)" >"$work/result"
		return
	fi
	if [ -d "$seeds" ]; then
		cp -R "$seeds/." "$work/corpus/"
	else
		echo "fuzz.sh: warning: no seed corpus $seeds, starting empty"
	fi

	args=(-max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$work/artifacts/")
	for dict in "tests/fuzz/$name.dict" "tests/fuzz/$target.dict"; do
		if [ -f "$dict" ]; then
			args+=(-dict="$dict")
			break
		fi
	done
	echo "$exe ${args[*]} $work/corpus"

	# libFuzzer stops itself after max_total_time; the outer limit only catches a target
	# that never returns control to it (it would otherwise hang CI).
	status=0
	timeout -k 10 $((FUZZ_SECONDS + 300)) \
		"$exe" "${args[@]}" "$work/corpus" >"$work/log" 2>&1 || status=$?

	# The last "#N DONE|pulse|NEW|REDUCE ... cov: ... ft: ..." line, and the final stats.
	last=$(grep -E '^#[0-9]+[[:space:]]' "$work/log" | tail -n 1 || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
	line="$target: execs ${execs:-?} (${rate:-?}/s), cov: ${cov:-?} ft: ${ft:-?} corp: ${corp:-?}"
	echo "$line"
	echo "last: ${last:-<no status line>}"

	artifacts=("$work"/artifacts/*)
	if [ "$status" -eq 0 ] && [ ${#artifacts[@]} -eq 0 ]; then
		echo "ok    $line" >"$work/result"
		return
	fi

	echo "FAIL  $line" >"$work/result"
	echo "--- $target FAILED (exit status $status); end of its log ($work/log):"
	tail -n 80 "$work/log"
	for a in "${artifacts[@]}"; do
		size=$(wc -c <"$a")
		echo "--- finding: $a ($size bytes), hex:"
		head -c "$HEX_MAX" "$a" | od -An -tx1 -v
		if [ "$size" -gt "$HEX_MAX" ]; then
			echo "    ... (first $HEX_MAX of $size bytes shown)"
		fi
		echo "    reproduce: $exe $a"
	done
}

# FUZZ_JOBS targets at a time (each libFuzzer run is one process on one core): the time
# per target stays FUZZ_SECONDS, the wall time shrinks.
running=0
for src in "${sources[@]}"; do
	if [ "$running" -ge "$FUZZ_JOBS" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	fuzz_one "$src" &
	running=$((running + 1))
done
wait

failed=()
summary=()
for src in "${sources[@]}"; do
	target=$(basename "$src" .c)
	work="$BUILD/fuzz-work/${target#fuzz-}"
	cat "$work/report" 2>/dev/null || echo "fuzz.sh: $target left no report"
	result=$(cat "$work/result" 2>/dev/null || echo "FAIL  $target (no result)")
	summary+=("$result")
	case $result in
	ok*) ;;
	*) failed+=("$target") ;;
	esac
done

echo
echo "=== fuzz summary (${FUZZ_SECONDS}s per target) ==="
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	echo "fuzz.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
