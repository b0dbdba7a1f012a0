#!/bin/bash
# run.sh - `autoscalerd promql-check` against `promtool check rules` (Prometheus 2.42, from
# Debian's prometheus package) on every expression of corpus.txt, after a few checks of the
# command line itself (output, exit statuses, stdin, usage errors).
#
# For each expression: our verdict (exit 0 valid, 1 invalid, anything else is a crash), and
# promtool's on a rules file holding the expression as a recording rule (one group, a fixed
# valid rule name, the expression as a double-quoted YAML scalar, so any text survives).
# Agreement, false accepts (we accept, promtool rejects) and false rejects are counted
# separately; where both reject, whether the messages are identical too is counted (not
# required). A disagreement fails the test unless the expression is listed in
# known-differences.txt with its reason. The corpus must hold at least 300 expressions,
# at least 40% of them invalid.
#
# corpus.txt: one expression per line, taken verbatim; blank lines and lines starting with
# "//" are skipped; a line starting with "@@ " is decoded with printf %b (\n, \t, \r), for
# expressions that span lines.
# known-differences.txt: "EXPRESSION<TAB>reason" per line, "//" comments.
#
# usage: run.sh PATH/TO/autoscalerd   (meson passes it; AUTOSCALERD_SRCDIR is the source
# root). Without promtool it exits 77 (skipped). Under AUTOSCALERD_VALGRIND=1 (meson test
# --setup=valgrind) every 10th expression runs; promtool is started through sh, which
# valgrind does not trace.
# Environment: PROMQL_CORPUS (default tests/promql/corpus.txt), PROMQL_VERBOSE=1 prints
# every differing message.
set -u

bin=$1
src=${AUTOSCALERD_SRCDIR:?}
corpus=${PROMQL_CORPUS:-$src/tests/promql/corpus.txt}
known=$src/tests/promql/known-differences.txt
verbose=${PROMQL_VERBOSE:-0}
step=1
[ "${AUTOSCALERD_VALGRIND:-0}" = 1 ] && step=10

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"

# --- the command line, with or without promtool ---------------------------------------------
run "valid" 0 "$bin" promql-check 'sum by (pod) (rate(vllm:e2e_request_latency_seconds_count[5m]))' &&
	has "valid" "$tmp/out" "valid: instant vector"
run "scalar" 0 "$bin" promql-check '1 - 0.5' && has "scalar" "$tmp/out" "valid: scalar"
run "range" 0 "$bin" promql-check 'up[5m]' && has "range" "$tmp/out" "valid: range vector"
run "invalid" 1 "$bin" promql-check 'sum(rate(foo[5m]) by (x)' &&
	{ [ "$(cat "$tmp/err")" = '1:19: parse error: unexpected <by> in aggregation' ] ||
		fail "invalid: stderr is \"$(cat "$tmp/err")\""; }
run "--" 0 "$bin" promql-check -- '-up' && has "--" "$tmp/out" "valid: instant vector"
printf 'sum(up)\n  /\n count(up) +' >"$tmp/multi"
run "stdin" 1 "$bin" promql-check - <"$tmp/multi" &&
	has "stdin" "$tmp/err" "3:13: parse error: unexpected end of input"
printf -v long '%70000s' ''
printf '%s' "${long// /x}" >"$tmp/long"
run "stdin too long" 1 "$bin" promql-check - <"$tmp/long" &&
	has "stdin too long" "$tmp/err" "longer than the 65536 bytes"
run "no EXPR" 2 "$bin" promql-check && has "no EXPR" "$tmp/err" "usage: autoscalerd promql-check"
run "two EXPRs" 2 "$bin" promql-check up up && has "two EXPRs" "$tmp/err" "one EXPR only"
run "--help" 0 "$bin" promql-check --help && has "--help" "$tmp/out" "usage: autoscalerd promql-check"
run "help lists it" 0 "$bin" help && has "help lists it" "$tmp/out" "promql-check [--] EXPR"

# --- the corpus against promtool ------------------------------------------------------------
if ! command -v promtool >/dev/null 2>&1; then
	echo "$n command-line checks, $fails failures"
	[ "$fails" -eq 0 ] || exit 1
	echo "promtool not found (Debian package prometheus; scripts/install-deps.sh installs it): skipped"
	exit 77
fi

declare -A allowed=()
if [ -f "$known" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in '' | //*) continue ;; esac
		allowed[${line%%	*}]=${line#*	}
	done <"$known"
fi

# The expression as a double-quoted YAML scalar.
yaml_quote() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	printf '"%s"' "$s"
}

total=0 agree=0 false_accept=0 false_reject=0 known_diff=0 invalid=0 same_msg=0
lineno=0 index=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case $line in '' | //*) continue ;; esac
	expr=$line
	if [ "${line:0:3}" = "@@ " ]; then
		printf -v expr '%b' "${line:3}"
	fi
	index=$((index + 1))
	[ $(((index - 1) % step)) -eq 0 ] || continue
	total=$((total + 1))

	"$bin" promql-check -- "$expr" >"$tmp/ours.out" 2>"$tmp/ours.err"
	ours=$?
	if [ "$ours" -gt 1 ]; then
		fail "line $lineno: promql-check exited $ours: $expr"
		sed 's/^/  | /' "$tmp/ours.err"
		continue
	fi

	{
		printf 'groups:\n  - name: corpus\n    rules:\n      - record: corpus:expr\n'
		printf '        expr: %s\n' "$(yaml_quote "$expr")"
	} >"$tmp/rules.yml"
	sh -c 'exec promtool check rules "$1"' sh "$tmp/rules.yml" >"$tmp/pt.out" 2>&1
	theirs=$?
	if [ "$theirs" -eq 1 ] && ! grep -q 'could not parse expression: ' "$tmp/pt.out"; then
		fail "line $lineno: promtool rejected the rules file for another reason: $expr"
		sed 's/^/  | /' "$tmp/pt.out"
		continue
	fi
	if [ "$theirs" -gt 1 ]; then
		fail "line $lineno: promtool exited $theirs"
		sed 's/^/  | /' "$tmp/pt.out"
		continue
	fi

	[ "$theirs" -eq 1 ] && invalid=$((invalid + 1))
	if [ "$ours" -eq "$theirs" ]; then
		agree=$((agree + 1))
		if [ "$theirs" -eq 1 ]; then
			want=$(sed -n 's/.*could not parse expression: //p' "$tmp/pt.out")
			got=$(cat "$tmp/ours.err")
			if [ "$want" = "$got" ]; then
				same_msg=$((same_msg + 1))
			elif [ "$verbose" = 1 ]; then
				echo "message differs, line $lineno: $expr"
				echo "  promtool: $want"
				echo "  ours:     $got"
			fi
		fi
		continue
	fi

	if [ "$ours" -eq 0 ]; then
		kind="FALSE ACCEPT"
		false_accept=$((false_accept + 1))
	else
		kind="FALSE REJECT"
		false_reject=$((false_reject + 1))
	fi
	if [ -n "${allowed[$expr]+x}" ]; then
		known_diff=$((known_diff + 1))
		echo "known difference ($kind), line $lineno: $expr: ${allowed[$expr]}"
		continue
	fi
	fail "$kind, line $lineno: $expr"
	echo "  promtool: $(sed -n 's/.*could not parse expression: //p' "$tmp/pt.out")"
	echo "  ours:     $(cat "$tmp/ours.err" "$tmp/ours.out")"
done <"$corpus"

echo "promql corpus: $total expressions, $invalid invalid per promtool" \
	"($((total ? invalid * 100 / total : 0))%)"
echo "promql corpus: agreement $agree/$total; false accepts $false_accept, false rejects" \
	"$false_reject ($known_diff of them known differences)"
echo "promql corpus: identical error messages $same_msg/$invalid invalid"
if [ "$step" -eq 1 ]; then
	[ "$total" -ge 300 ] || fail "the corpus has $total expressions, at least 300 wanted"
	[ $((invalid * 100)) -ge $((total * 40)) ] ||
		fail "$invalid of $total expressions are invalid, at least 40% wanted"
fi
echo "$((n + total - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
