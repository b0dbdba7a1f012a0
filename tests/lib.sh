# lib.sh - what the shell test runners share (sourced, not run). The runner sets $tmp (a
# scratch directory it removes) before calling these; they count into $n and $fails.
# shellcheck shell=bash disable=SC2154

fails=0
n=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run NAME EXPECTED_STATUS CMD... : stdout in $tmp/out, stderr in $tmp/err
run() {
	local name=$1 want=$2
	shift 2
	n=$((n + 1))
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$name: exit $got, expected $want"
		sed 's/^/  stdout: /' "$tmp/out" | head -20
		sed 's/^/  stderr: /' "$tmp/err" | head -20
		return 1
	fi
	return 0
}

has() { # has NAME FILE FIXED-STRING
	grep -qF -- "$3" "$2" || { fail "$1: no \"$3\" in $(basename "$2")"; sed 's/^/  | /' "$2" | head -30; }
}

hasnt() { # hasnt NAME FILE FIXED-STRING
	! grep -qF -- "$3" "$2" || fail "$1: unexpected \"$3\" in $(basename "$2")"
}
