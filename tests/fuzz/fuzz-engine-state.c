/* fuzz-engine-state.c - libFuzzer target for engine_state_load, the parser of the state the
 * daemon keeps across restarts (a file or a ConfigMap anyone with access could edit).
 *
 * Besides "no crash, no leak, no hang": a state that loads must save to text that loads
 * again and saves to the same text, and must be able to tick (its invariants hold, or the
 * windows' answers would be wrong without any crash to show it).
 */
#include <errno.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/fuzz/fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	engine_state_t *s = NULL, *again = NULL;
	char *text = NULL, *text2 = NULL;
	size_t n = 0, n2 = 0;
	int line = 0, r;

	r = engine_state_load((const char *)data, size, &s, &line);
	REQUIRE(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r < 0) {
		REQUIRE(s == NULL);
		return 0;
	}
	REQUIRE(engine_state_save(s, &text, &n) == 0);
	REQUIRE(engine_state_load(text, n, &again, &line) == 0);
	REQUIRE(engine_state_save(again, &text2, &n2) == 0);
	REQUIRE(n == n2 && memcmp(text, text2, n) == 0);

	{
		engine_policy_t p = { .min_replicas = 1, .max_replicas = 10, .threshold = 0.5,
				      .tol_up = 0.1, .tol_down = 0.1, .window_up = 60000,
				      .window_down = 120000, .gpus_per_replica = 1, .pool_size = 1 };
		engine_observation_t o = ENGINE_OBSERVATION(ENGINE_MAX_TIME, 3);
		engine_decision_t d;

		p.up = (engine_rules_t){ ENGINE_SELECT_MAX, 1, { { ENGINE_RATE_PODS, 1, 60000 } } };
		p.down = (engine_rules_t){ ENGINE_SELECT_MAX, 1, { { ENGINE_RATE_PODS, 1, 60000 } } };
		o.kind = ENGINE_VALUE_NUMBER;
		o.value = 0.9;
		r = engine_tick(&p, s, &o, &d);
		REQUIRE(r == 0 || r == -EINVAL);
		if (r == 0)
			REQUIRE(d.desired >= 1 && d.desired <= 10);
	}
	free(text);
	free(text2);
	engine_state_free(again);
	engine_state_free(s);
	return 0;
}
