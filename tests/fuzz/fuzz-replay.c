/* fuzz-replay.c - libFuzzer target for `autoscalerd replay`'s input: the JSONL line parser
 * (replay_parse_line) and, behind it, the ticks it feeds the engine (replay_step).
 *
 * The input is split at newlines like cmd-replay.c does; each line is handed over in a
 * buffer of exactly its length, not NUL-terminated, so an over-read shows up under ASan.
 * Besides "no crash, no leak, no hang" the target holds the code to replay.h:
 *   - the parser returns 0, 1 (blank) or -EINVAL, with a message exactly when it fails;
 *   - an accepted line is within the documented bounds (t finite, |t| <= REPLAY_MAX_T,
 *     t_ms = llround(t * 1000), counts -1 or 0..REPLAY_MAX_COUNT, a finite number value);
 *   - t prints in a form that reads back as the same double;
 *   - every tick decides within [min_replicas, max_eff], and a rejected t leaves the
 *     replay where it was.
 * Two policies, picked by the input's length: one with node autoscaling and a fallback, one
 * average_value on a fixed pool with rate-limit behavior rules.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/replay/, dictionary replay.dict.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/replay.h"
#include "config/config.h"
#include "tests/fuzz/fuzz-common.h"

static const char policies_yaml[] =
	"policies:\n"
	"  - name: nodes\n"
	"    target: {deployment: nodes}\n"
	"    recipe_node_shape: VM.GPU.A10.2\n"
	"    recipe_replica_count: 2\n"
	"    recipe_pod_autoscaling_params:\n"
	"      min_replicas: 1\n"
	"      max_replicas: 8\n"
	"      scaling_threshold: 0.4\n"
	"      scaling_cooldown: 30\n"
	"      stabilization_window_down: 60\n"
	"      scaling_period_down: 30\n"
	"      stabilization_window_up: 30\n"
	"      scaling_period_up: 15\n"
	"      on_empty_result: zero\n"
	"      fallback: {failure_threshold: 2, replicas: 3}\n"
	"    recipe_node_autoscaling_params:\n"
	"      min_nodes: 1\n"
	"      max_nodes: 4\n"
	"      scale_down_unneeded_time: 30s\n"
	"      scale_down_delay_after_add: 20s\n"
	"  - name: average\n"
	"    target: {deployment: average}\n"
	"    gpus_per_node: 8\n"
	"    recipe_nvidia_gpu_count: 2\n"
	"    recipe_node_pool_size: 3\n"
	"    recipe_pod_autoscaling_params:\n"
	"      min_replicas: 2\n"
	"      max_replicas: 20\n"
	"      query: sum(x)\n"
	"      metric_type: average_value\n"
	"      scaling_threshold: 10\n"
	"      tolerance_up: 0.2\n"
	"      tolerance_down: 0\n"
	"      scaling_cooldown: 0\n"
	"      stabilization_window_up: 0\n"
	"      stabilization_window_down: 10\n"
	"      on_nan: hold\n"
	"      behavior:\n"
	"        scale_up: {select: min, policies: [{type: pods, value: 4, period: 15}, "
	"{type: percent, value: 100, period: 15}]}\n"
	"        scale_down: {policies: [{type: percent, value: 50, period: 20}]}\n";

static config_t *config;

static void check_line(const replay_line_t *l)
{
	char buf[REPLAY_T_SIZE];

	REQUIRE(isfinite(l->t) && fabs(l->t) <= REPLAY_MAX_T);
	REQUIRE(l->t_ms == (engine_ms_t)llround(l->t * 1000));
	REQUIRE(l->kind >= ENGINE_VALUE_NUMBER && l->kind <= ENGINE_VALUE_EMPTY);
	REQUIRE(l->kind != ENGINE_VALUE_NUMBER || isfinite(l->value));
	REQUIRE(l->current >= -1 && l->current <= REPLAY_MAX_COUNT);
	REQUIRE(l->ready >= -1 && l->ready <= REPLAY_MAX_COUNT);
	REQUIRE(l->status >= -1 && l->status <= REPLAY_MAX_COUNT);
	REQUIRE(l->pool_size >= -1 && l->pool_size <= REPLAY_MAX_COUNT);
	replay_format_t(l->t, buf, sizeof(buf));
	REQUIRE(strlen(buf) > 0 && strlen(buf) < sizeof(buf));
	REQUIRE(strtod(buf, NULL) == l->t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const config_policy_t *p;
	replay_t rp;
	size_t start = 0;

	if (!config) {
		config_diags_t diags = { 0 };

		REQUIRE(config_load_buffer(policies_yaml, sizeof(policies_yaml) - 1, &config,
					   &diags) == 0);
		config_diags_clear(&diags);
		REQUIRE(config->n_policies == 2);
	}
	p = &config->policies[size % 2];
	if (replay_init(&rp, p) < 0)
		return 0;

	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = (nl ? (size_t)(nl - data) : size) - start;
		char err[REPLAY_ERR_SIZE], out[REPLAY_OUT_SIZE];
		char *line = malloc(len ? len : 1);
		replay_line_t l;
		replay_result_t res;
		int r;

		if (!line)
			break;
		memcpy(line, data + start, len);
		start += len + 1;

		memset(err, 'x', sizeof(err));
		r = replay_parse_line(line, len, &l, err, sizeof(err));
		free(line);
		REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);
		REQUIRE(r == 0 || r == 1 || r == -EINVAL);
		REQUIRE((r < 0) == (err[0] != '\0'));
		fprintf(sink, "%s\n", err);
		if (r != 0)
			continue;
		check_line(&l);

		{
			replay_t before = rp;

			r = replay_step(&rp, &l, &res, err, sizeof(err));
			if (r == -ENOMEM)
				break;
			REQUIRE(r == 0 || r == -EINVAL);
			REQUIRE((r < 0) == (err[0] != '\0'));
			if (r < 0) {
				REQUIRE(rp.last_ms == before.last_ms && rp.started == before.started &&
					rp.next_current == before.next_current &&
					rp.next_pool == before.next_pool);
				continue;
			}
		}
		REQUIRE(res.decision.desired >= p->engine.min_replicas);
		REQUIRE(res.decision.desired <= engine_max_eff(&p->engine));
		REQUIRE(p->engine.nodes ? res.decision.nodes >= 0 : res.decision.nodes == -1);
		REQUIRE(replay_format(&res, out, sizeof(out)) < sizeof(out) - 1);
		fprintf(sink, "%s\n", out);
	}
	replay_done(&rp);
	return 0;
}
