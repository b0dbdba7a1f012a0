#!/bin/bash
# run.sh - `autoscalerd replay` on the cases of tests/replay/, whole outputs compared.
#
# usage: run.sh PATH/TO/autoscalerd   (meson passes it; AUTOSCALERD_SRCDIR is the source root)
#
# A case is a directory tests/replay/DIR/ holding
#   policies.yaml  several policies: DIR/NAME.jsonl replays the policy named NAME;
#   policy.yaml    one policy: every DIR/NAME.jsonl replays it;
# and per case NAME.jsonl (the ticks) with
#   NAME.out       the expected stdout, whole: exit status 0 (with NAME.err: 2), or
#   NAME.err       an error case: exit status 2, stderr holds every line of NAME.err
#                  (fixed strings; they name the file and line, e.g. "NAME.jsonl:7: error:").
# The .out files are what tests/replay/model.py computes from DESIGN sections 4-5 (README.md
# says how to regenerate them; tests/replay/diff.py checks they still agree with the model).
# Then the command line itself: usage errors, policy selection, stdin, streaming.
set -u

bin=$1
src=${AUTOSCALERD_SRCDIR:?}
dir=$src/tests/replay
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"

same() { # same NAME EXPECTED-FILE: $tmp/out must equal it
	if ! cmp -s "$2" "$tmp/out"; then
		fail "$1: output differs from $(basename "$2") (- expected, + replay):"
		diff -u "$2" "$tmp/out" | sed 1,2d | head -60
	fi
}

# --- the cases ----------------------------------------------------------------------------
cases=0
for d in "$dir"/*/; do
	d=${d%/}
	if [ -f "$d/policies.yaml" ]; then
		config=$d/policies.yaml
	elif [ -f "$d/policy.yaml" ]; then
		config=$d/policy.yaml
	else
		continue
	fi
	for in in "$d"/*.jsonl; do
		[ -e "$in" ] || continue
		name=$(basename "$in" .jsonl)
		case_name="$(basename "$d")/$name"
		args=(replay --config "$config" --input "$in")
		[ "$config" = "$d/policies.yaml" ] && args+=(--policy "$name")
		cases=$((cases + 1))
		if [ -f "$d/$name.err" ]; then
			if run "$case_name" 2 "$bin" "${args[@]}"; then
				while IFS= read -r want; do
					[ -n "$want" ] && has "$case_name" "$tmp/err" "$want"
				done <"$d/$name.err"
				if [ -f "$d/$name.out" ]; then
					same "$case_name" "$d/$name.out"
				elif [ -s "$tmp/out" ]; then
					fail "$case_name: unexpected output: $(head -3 "$tmp/out")"
				fi
			fi
		elif [ -f "$d/$name.out" ]; then
			run "$case_name" 0 "$bin" "${args[@]}" && same "$case_name" "$d/$name.out"
		else
			fail "$case_name: neither $name.out nor $name.err"
		fi
	done
done
[ "$cases" -ge 40 ] || fail "only $cases cases found in $dir"

# --- generated inputs: limits the case files cannot hold ------------------------------------
one=$dir/errors/policy.yaml
# A line of exactly 1 MiB (blank: skipped) passes; one byte more is an error.
head -c 1048576 /dev/zero | tr '\0' ' ' >"$tmp/big.jsonl"
printf '\n{"t": 0, "value": 0}\n' >>"$tmp/big.jsonl"
run "1 MiB line" 0 "$bin" replay --config "$one" --input "$tmp/big.jsonl" &&
	has "1 MiB line" "$tmp/out" '{"t":0,'
{ printf '{"t": 0, "value": 0}\n'; head -c 1048577 /dev/zero | tr '\0' ' '; printf '\n'; } >"$tmp/huge.jsonl"
run "over 1 MiB" 2 "$bin" replay --config "$one" --input "$tmp/huge.jsonl" &&
	{ has "over 1 MiB" "$tmp/err" "$tmp/huge.jsonl:2: error: line is longer than 1048576 bytes"; has "over 1 MiB" "$tmp/out" '{"t":0,'; }
printf '{"t": 0, "value": 0}\r\n\r\n{"t": 1, "value": 0}' >"$tmp/crlf.jsonl"
if run "CRLF, no final newline" 0 "$bin" replay --config "$one" --input "$tmp/crlf.jsonl"; then
	[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "CRLF: expected 2 lines: $(cat "$tmp/out")"
fi
printf '{"t": 0, "value": 0}\n{"t": 1,\001 "value": 0}\n' >"$tmp/ctl.jsonl"
run "control byte" 2 "$bin" replay --config "$one" --input "$tmp/ctl.jsonl" &&
	has "control byte" "$tmp/err" "$tmp/ctl.jsonl:2: error: control character 0x01 at column 9"
printf '{"t": 0, "value": 0}\n{"t": 1, "value": 0}\000\n' >"$tmp/nul.jsonl"
run "NUL byte" 2 "$bin" replay --config "$one" --input "$tmp/nul.jsonl" &&
	has "NUL byte" "$tmp/err" "$tmp/nul.jsonl:2: error: control character 0x00 at column 21"
: >"$tmp/empty.jsonl"
run "empty input" 0 "$bin" replay --config "$one" --input "$tmp/empty.jsonl" &&
	{ [ ! -s "$tmp/out" ] || fail "empty input: output $(cat "$tmp/out")"; }

# --- stdin, and the command line ------------------------------------------------------------
printf '\n{"t": 0, "value": 0}\n{"t": 0, "value": 0}\n' >"$tmp/dup.jsonl"
run "stdin" 2 "$bin" replay --config "$one" <"$tmp/dup.jsonl" &&
	{ has stdin "$tmp/err" "<stdin>:3: error: \"t\": 0 is not after the previous tick's 0"; has stdin "$tmp/out" '{"t":0,'; }
run "stdin -" 2 "$bin" replay --config "$one" --input - <"$tmp/dup.jsonl" &&
	has "stdin -" "$tmp/err" "<stdin>:3: error:"
run "--opt=value" 0 "$bin" replay --config="$one" --input="$tmp/crlf.jsonl"
run "short options" 0 "$bin" replay -c "$one" -i "$tmp/crlf.jsonl"
run "no --config" 2 "$bin" replay --input "$tmp/crlf.jsonl" && has "no --config" "$tmp/err" "usage: autoscalerd replay"
run "--config without value" 2 "$bin" replay --config && has "--config without value" "$tmp/err" "missing value for \"--config\""
run "unexpected argument" 2 "$bin" replay --config "$one" extra && has "unexpected argument" "$tmp/err" "unexpected argument \"extra\""
run "missing input" 1 "$bin" replay --config "$one" --input "$tmp/none.jsonl" &&
	has "missing input" "$tmp/err" "$tmp/none.jsonl: error: cannot read: No such file or directory"
run "missing config" 1 "$bin" replay --config "$tmp/none.yaml" --input "$tmp/crlf.jsonl" &&
	has "missing config" "$tmp/err" "cannot read $tmp/none.yaml"
cat >"$tmp/bad.yaml" <<'EOF'
policies:
  - name: bad
    target: {deployment: bad}
    recipe_pod_autoscaling_params:
      max_replicas: 4
      scaling_cooldown: 5x
EOF
run "bad config" 1 "$bin" replay --config "$tmp/bad.yaml" --input "$tmp/crlf.jsonl" &&
	{ has "bad config" "$tmp/err" "$tmp/bad.yaml:6:25: error: policies[0].recipe_pod_autoscaling_params.scaling_cooldown: expected a duration"; [ ! -s "$tmp/out" ] || fail "bad config: output"; }
hpa=$dir/hpa/policies.yaml
run "several policies, no --policy" 2 "$bin" replay --config "$hpa" --input "$tmp/crlf.jsonl" &&
	has "several policies" "$tmp/err" "policies: name one with --policy: \"up-default\", \"up-pods-percent\","
run "unknown policy" 1 "$bin" replay --config "$hpa" --policy nope --input "$tmp/crlf.jsonl" &&
	has "unknown policy" "$tmp/err" "no policy \"nope\"; the policies are: \"up-default\", \"up-pods-percent\","
run "help lists replay" 0 "$bin" help && has "help" "$tmp/out" "replay --config FILE [--policy NAME] [--input TICKS.jsonl]"

# --- streaming: each line is answered before the next one is written -----------------------
n=$((n + 1))
wait_s=10
[ "${AUTOSCALERD_VALGRIND:-0}" = 1 ] && wait_s=120
coproc REPLAY { "$bin" replay --config "$one" 2>"$tmp/stream.err"; }
# bash unsets REPLAY and REPLAY_PID once the coprocess ends: keep copies.
pid=$REPLAY_PID
to=${REPLAY[1]}
from=${REPLAY[0]}
streamed=0
for t in 0 10 20; do
	printf '{"t": %s, "value": 0}\n' "$t" >&"$to"
	if IFS= read -r -t "$wait_s" line <&"$from" && [ "${line#\{\"t\":$t,}" != "$line" ]; then
		streamed=$((streamed + 1))
	else
		break
	fi
done
exec {to}>&-
wait "$pid"
status=$?
[ "$streamed" -eq 3 ] && [ "$status" -eq 0 ] ||
	fail "streaming: $streamed of 3 lines answered before the next was written, exit $status: $(cat "$tmp/stream.err")"

echo "$cases cases, $n commands, $fails failures"
[ "$fails" -eq 0 ]
