#!/bin/bash
# run.sh - the autoscalerd binary on the bundled examples: `check`, `import-recipe`,
# `config-reference`, exit statuses and the compiler-style diagnostics.
#
# usage: run.sh PATH/TO/autoscalerd   (meson passes it; AUTOSCALERD_SRCDIR is the source root)
set -u

bin=$1
src=${AUTOSCALERD_SRCDIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/lib.sh
. "$src/tests/lib.sh"

policy() { # policy FILE: write a one-policy file from stdin
	cat >"$1"
}

# --- check on the bundled examples: valid, no warnings -------------------------------------
for f in "$src"/config/examples/*.yaml; do
	if run "check $(basename "$f")" 0 "$bin" check --config "$f"; then
		has "check $f" "$tmp/out" "max_replicas_effective:"
		has "check $f" "$tmp/out" "valid:"
		case $f in
		*/a10-fixed-pool.yaml)
			has "check $f" "$tmp/err" "$f:12:7: warning: policies[0].recipe_pod_autoscaling_params.max_replicas: max_replicas 8 is above the 2 replicas the node pool can host (1 node x 2 per node, no node autoscaling): the extra 6 replicas would stay Pending"
			;;
		*)
			[ ! -s "$tmp/err" ] || fail "check $f: unexpected diagnostics: $(cat "$tmp/err")"
			;;
		esac
	fi
done

# --- the capacity examples of issue 2 -----------------------------------------------------
policy "$tmp/h100.yaml" <<'EOF'
policies:
  - name: h100
    target: {deployment: h100}
    recipe_node_shape: BM.GPU.H100.8
    recipe_nvidia_gpu_count: 2
    recipe_pod_autoscaling_params: {min_replicas: 1, max_replicas: 8}
    recipe_node_autoscaling_params: {min_nodes: 1, max_nodes: 2}
EOF
if run "h100" 0 "$bin" check --config "$tmp/h100.yaml"; then
	has h100 "$tmp/out" "gpus_per_node: 8  # BM.GPU.H100.8, nvidia.com/gpu (shape table)"
	has h100 "$tmp/out" "replicas_per_node: 4"
	has h100 "$tmp/out" "hostable_replicas: 8"
	has h100 "$tmp/out" "max_replicas_effective: 8"
	hasnt h100 "$tmp/err" "warning"
fi

policy "$tmp/a10.yaml" <<'EOF'
policies:
  - name: a10
    target: {deployment: a10}
    recipe_node_shape: VM.GPU.A10.2
    recipe_nvidia_gpu_count: 1
    recipe_node_pool_size: 1
    recipe_pod_autoscaling_params:
      max_replicas: 8
EOF
if run "a10" 0 "$bin" check --config "$tmp/a10.yaml"; then
	has a10 "$tmp/err" "$tmp/a10.yaml:8:7: warning: policies[0].recipe_pod_autoscaling_params.max_replicas: max_replicas 8 is above the 2 replicas the node pool can host"
	has a10 "$tmp/err" "the extra 6 replicas would stay Pending"
	has a10 "$tmp/out" "hostable_replicas: 2"
	has a10 "$tmp/out" "max_replicas_effective: 2"
fi

policy "$tmp/idle.yaml" <<'EOF'
policies:
  - name: idle
    target: {deployment: idle}
    recipe_node_shape: BM.GPU.H100.8
    recipe_nvidia_gpu_count: 3
    recipe_pod_autoscaling_params: {max_replicas: 2}
EOF
if run "idle" 0 "$bin" check --config "$tmp/idle.yaml"; then
	has idle "$tmp/err" "$tmp/idle.yaml:5:5: warning: policies[0].recipe_nvidia_gpu_count: 2 GPUs per node stay idle"
	has idle "$tmp/out" "idle_gpus_per_node: 2"
fi

# --- errors: compiler form, exit 1, nothing on stdout --------------------------------------
policy "$tmp/bad.yaml" <<'EOF'
policies:
  - name: bad
    target: {deployment: bad}
    recipe_pod_autoscaling_params:
      max_replicas: 4
      scaling_cooldown: 5x
      min_replica: 1
EOF
if run "bad" 1 "$bin" check --config "$tmp/bad.yaml"; then
	has bad "$tmp/err" "$tmp/bad.yaml:6:25: error: policies[0].recipe_pod_autoscaling_params.scaling_cooldown: expected a duration"
	has bad "$tmp/err" "$tmp/bad.yaml:7:7: error: policies[0].recipe_pod_autoscaling_params: unknown key \"min_replica\" (did you mean \"min_replicas\"?)"
	[ ! -s "$tmp/out" ] || fail "bad: stdout not empty"
fi
# --- the queries, filled and checked as Prometheus would ----------------------------------
policy "$tmp/queries.yaml" <<'EOF'
policies:
  - name: a
    target: {namespace: default, deployment: llama.8b}
    recipe_pod_autoscaling_params:
      max_replicas: 4
      latency_slo_seconds: 4
  - name: b
    target: {namespace: default, deployment: b}
    recipe_pod_autoscaling_params:
      max_replicas: 4
      query: 'sum(rate(x{ {{selector}} }[{{window}}])'
  - name: c
    target: {namespace: default, deployment: c}
    recipe_pod_autoscaling_params:
      max_replicas: 4
      query: 'x[{{window}}]'
  - name: d
    target: {namespace: default, deployment: d}
    recipe_pod_autoscaling_params:
      max_replicas: 4
      metric_selector: 'namespace="{{namespace}}",pod=~"{{deployment}}-.+",job=~"a)"'
EOF
if run "queries" 1 "$bin" check --config "$tmp/queries.yaml"; then
	has queries "$tmp/err" "$tmp/queries.yaml:6:7: warning: policies[0].recipe_pod_autoscaling_params.latency_slo_seconds: 4.0 is not a bucket bound of vLLM's vllm:e2e_request_latency_seconds histogram, so le=\"4.0\" matches no series"
	has queries "$tmp/err" "$tmp/queries.yaml:11:7: error: policies[1].recipe_pod_autoscaling_params.query: Prometheus would refuse the filled query: 1:51: parse error: unclosed left parenthesis; the query: sum(rate(x{ namespace=\"default\",pod=~\"b-.+\" }[5m])"
	has queries "$tmp/err" "$tmp/queries.yaml:16:7: error: policies[2].recipe_pod_autoscaling_params.query: the query gives a range vector; it must give an instant vector or a scalar"
	has queries "$tmp/err" "$tmp/queries.yaml:21:7: error: policies[3].recipe_pod_autoscaling_params.metric_selector: Prometheus would refuse the filled query: "
	has queries "$tmp/err" "invalid: 3 errors, 1 warning"
fi
# A dotted Deployment name is quoted inside the pod regular expression.
policy "$tmp/dotted.yaml" <<'EOF'
policies:
  - name: a
    target: {namespace: default, deployment: llama.8b}
    recipe_pod_autoscaling_params: {max_replicas: 4, latency_slo_seconds: 0.5}
EOF
run "dotted" 0 "$bin" check --config "$tmp/dotted.yaml" && hasnt dotted "$tmp/err" "warning"

run "missing file" 1 "$bin" check --config "$tmp/nope.yaml" && has "missing file" "$tmp/err" "error: cannot read $tmp/nope.yaml: No such file or directory"
run "no --config" 2 "$bin" check
run "bad option" 2 "$bin" check --conf x
run "unknown command" 2 "$bin" frobnicate
run "version" 0 "$bin" version && has version "$tmp/out" "autoscalerd "

# --- import-recipe: every bundled recipe imports and `check` accepts it unchanged ----------
for f in "$src"/config/examples/recipes/*.json; do
	name=$(basename "$f" .json)
	if run "import $name" 0 "$bin" import-recipe "$f"; then
		cp "$tmp/out" "$tmp/$name.yaml"
		cp "$tmp/err" "$tmp/$name.err"
		if run "check imported $name" 0 "$bin" check --config "$tmp/$name.yaml"; then
			hasnt "check imported $name" "$tmp/err" "error"
		fi
	fi
done
# The guide's example with the advanced pod parameters in the node block: imported, with a
# warning per key naming the right place.
f="$src/config/examples/recipes/pod-node-a10-fast-misplaced.json"
if run "misplaced" 0 "$bin" import-recipe "$f"; then
	has misplaced "$tmp/err" "warning"
	has misplaced "$tmp/err" "recipe_pod_autoscaling_params.scaling_threshold"
	has misplaced "$tmp/out" "scaling_threshold: 0.4"
	cp "$tmp/out" "$tmp/misplaced.yaml"
	if run "misplaced check" 0 "$bin" check --config "$tmp/misplaced.yaml"; then
		has "misplaced check" "$tmp/out" "    scaling_threshold: 0.4
"
		has "misplaced check" "$tmp/out" "stabilization_window_up: 30s"
		has "misplaced check" "$tmp/out" "max_replicas_effective: 8"
	fi
fi
run "import overrides" 0 "$bin" import-recipe "$src/config/examples/recipes/pod-min.json" --namespace ml --deployment llama &&
	{ has "import overrides" "$tmp/out" "namespace: \"ml\""; has "import overrides" "$tmp/out" "deployment: \"llama\""; }
printf '{\n  "deployment_name": "x",\n  "recipe_pod_autoscaling_params": {"max_replicas": 4,}\n}\n' >"$tmp/bad.json"
run "bad json" 1 "$bin" import-recipe "$tmp/bad.json" && has "bad json" "$tmp/err" "$tmp/bad.json:3:"
run "import no file" 2 "$bin" import-recipe
run "import unreadable" 1 "$bin" import-recipe "$tmp/none.json"

# --- the reference in docs/ is the one the table prints ------------------------------------
if run "config-reference" 0 "$bin" config-reference; then
	cmp -s "$tmp/out" "$src/docs/configuration.md" ||
		fail "docs/configuration.md is stale: regenerate with 'autoscalerd config-reference > docs/configuration.md'"
fi

echo "$n commands, $fails failures"
[ "$fails" -eq 0 ]
