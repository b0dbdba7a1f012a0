/* bench-engine.c - ticks per second of one policy with full windows.
 *
 * usage: bench-engine [TICKS]   (default 5,000,000 per scenario)
 * Each scenario feeds one policy a noisy metric with its windows and periods full of
 * records and events (every tick's decision is applied and recorded, as the daemon does),
 * then prints ticks per second, ns per tick and the largest deque the state held (from
 * the saved state's size). Not a test: figures go in closing notes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int scenario(const char *name, engine_policy_t *p, engine_ms_t step, long ticks)
{
	engine_state_t *s = engine_state_new();
	engine_decision_t d;
	int32_t cur = p->min_replicas;
	size_t saved = 0;
	double t0, dt;
	char *text;

	if (!s)
		return 1;
	t0 = now();
	for (long i = 0; i < ticks; i++) {
		engine_observation_t o = ENGINE_OBSERVATION((engine_ms_t)i * step, cur);

		o.kind = ENGINE_VALUE_NUMBER;
		/* A slow sine of load plus noise, so recommendations move both ways. */
		o.value = p->threshold * (0.3 + 1.4 * uniform() * (1 + (i / 500) % 3));
		if (engine_tick(p, s, &o, &d) < 0)
			return 1;
		if (d.desired != cur && engine_record_scale(p, s, o.t, cur, d.desired) < 0)
			return 1;
		cur = d.desired;
	}
	dt = now() - t0;
	if (engine_state_save(s, &text, &saved) == 0)
		free(text);
	printf("%-34s %9.0f ticks/s  %6.1f ns/tick  saved state %zu bytes\n", name, ticks / dt,
	       dt / ticks * 1e9, saved);
	engine_state_free(s);
	return 0;
}

static engine_policy_t corrino(void)
{
	engine_policy_t p = { 0 };

	p.min_replicas = 1;
	p.max_replicas = 64;
	p.threshold = 0.5;
	p.tol_up = p.tol_down = 0.1;
	p.window_up = 120000;
	p.window_down = 180000;
	p.cooldown = 60000;
	p.up = (engine_rules_t){ ENGINE_SELECT_MAX, 1, { { ENGINE_RATE_PODS, 1, 60000 } } };
	p.down = (engine_rules_t){ ENGINE_SELECT_MAX, 1, { { ENGINE_RATE_PODS, 1, 90000 } } };
	p.gpus_per_node = 8;
	p.gpus_per_replica = 1;
	p.pool_size = 1;
	p.nodes = true;
	p.min_nodes = 1;
	p.max_nodes = 8;
	p.node_unneeded_time = 600000;
	p.node_delay_after_add = 600000;
	p.node_provision_time = 1500000;
	return p;
}

int main(int argc, char **argv)
{
	long ticks = argc > 1 ? atol(argv[1]) : 5000000;
	engine_policy_t p = corrino();
	int rc = 0;

	if (ticks < 1)
		ticks = 1;
	rc |= scenario("corrino defaults, 15 s ticks", &p, 15000, ticks);
	rc |= scenario("corrino defaults, 100 ms ticks", &p, 100, ticks);
	p.window_up = p.window_down = ENGINE_MAX_SPAN;
	p.up = (engine_rules_t){ ENGINE_SELECT_MAX, 2, { { ENGINE_RATE_PODS, 4, 3600000 },
							 { ENGINE_RATE_PERCENT, 100, ENGINE_MAX_SPAN } } };
	p.down = (engine_rules_t){ ENGINE_SELECT_MIN, 2, { { ENGINE_RATE_PODS, 2, 600000 },
							   { ENGINE_RATE_PERCENT, 10, ENGINE_MAX_SPAN } } };
	p.cooldown = 0;
	rc |= scenario("24 h windows and periods, 1 s ticks", &p, 1000, ticks);
	return rc;
}
