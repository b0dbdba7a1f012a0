#!/usr/bin/env bash
# demo.sh - what `make demo` shows until the sandbox cluster lands: `autoscalerd check` on
# every bundled policy file (config/examples/*.yaml) and `autoscalerd import-recipe` on every
# bundled Corrino recipe (config/examples/recipes/*.json), each imported policy then checked.
# Each check prints the normalized policy, its capacity plan and its warnings.
#
# Examples named invalid-*.yaml are there to show error messages: they must fail with exit
# status 1. Any other failure makes the demo exit 1.
#
#   AUTOSCALERD   the binary (default build/autoscalerd/autoscalerd)
set -euo pipefail

cd "$(dirname "$0")/.."

AUTOSCALERD=${AUTOSCALERD:-build/autoscalerd/autoscalerd}
if [ ! -x "$AUTOSCALERD" ]; then
	echo "demo.sh: $AUTOSCALERD not built; run make demo" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/autoscalerd-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
examples=(config/examples/*.yaml)
recipes=(config/examples/recipes/*.json)
if [ ${#examples[@]} -eq 0 ] && [ ${#recipes[@]} -eq 0 ]; then
	echo "demo.sh: no examples in config/examples/" >&2
	exit 1
fi

failed=()

heading() {
	echo
	echo "=================================================================="
	echo "== $*"
	echo "=================================================================="
}

# run EXPECTED_STATUS COMMAND...: show the command (on stderr: stdout may be redirected),
# run it, compare its exit status.
run() {
	local want=$1 status=0
	shift
	echo "\$ $*" >&2
	"$@" || status=$?
	if [ "$status" -ne "$want" ]; then
		echo "demo.sh: '$*' exited $status, expected $want" >&2
		failed+=("$*")
		return 1
	fi
	return 0
}

"$AUTOSCALERD" version || failed+=("$AUTOSCALERD version")

for f in "${examples[@]}"; do
	case $(basename "$f") in
	invalid-*)
		heading "check $f (invalid on purpose: the errors, exit status 1)"
		run 1 "$AUTOSCALERD" check --config "$f" || true
		;;
	*)
		heading "check $f"
		run 0 "$AUTOSCALERD" check --config "$f" || true
		;;
	esac
done

for r in "${recipes[@]}"; do
	yaml="$tmp/$(basename "$r" .json).yaml"
	heading "import-recipe $r"
	if ! run 0 "$AUTOSCALERD" import-recipe "$r" >"$yaml"; then
		continue
	fi
	cat "$yaml"
	heading "check of the imported $r"
	run 0 "$AUTOSCALERD" check --config "$yaml" || true
done

# The engine on a recorded load: the Corrino guide's fast-scaling example and the defaults,
# the same step in slow requests (idle, 5 minutes of overload, idle again). Only the ticks
# where the replica or node count changes are shown.
for p in fast-step defaults-step; do
	heading "replay $p: tests/replay/corrino/$p.jsonl (changes only)"
	if run 0 "$AUTOSCALERD" replay --config tests/replay/corrino/policies.yaml --policy "$p" \
		--input "tests/replay/corrino/$p.jsonl" >"$tmp/$p.out"; then
		awk -F'[:,]' '{ key = $6 "/" $10 } key != last { print; last = key }' "$tmp/$p.out"
	fi
done

echo
if [ ${#failed[@]} -ne 0 ]; then
	echo "demo.sh: FAILED:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "demo: ${#examples[@]} policy files checked, ${#recipes[@]} recipes imported and checked, 2 replays."
