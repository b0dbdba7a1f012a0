/* test-engine.c - the engine against DESIGN.md sections 4 and 5.
 *
 * Four kinds of test:
 *   - the capacity arithmetic (D3) as a table;
 *   - conformance tables (engine-vectors.h): the Kubernetes HPA unit-test vectors and one
 *     table per rule, every expectation worked out by hand from DESIGN's text;
 *   - a literal model of DESIGN's steps 1-9 (lists scanned in full, no deques, no running
 *     sums), itself held to the hand tables, against which the engine runs thousands of
 *     random policies and tick streams, with invariants checked on every tick from the
 *     test's own bookkeeping;
 *   - the saved state: round trips that continue identically, and text that must be
 *     refused without a crash.
 * Random tests print their seed on failure; AUTOSCALERD_SEED=N replays one, and
 * AUTOSCALERD_VALGRIND=1 (set by the valgrind setup) makes them shorter.
 */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/fakes/check-util.h"

#include "engine-vectors.h"

#define S_ ENGINE_MS_PER_S
#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Check's ck_assert_* reports every passing assertion to the parent process; in the loops
 * that run millions of times only a failure may cost anything. */
#define REQUIRE(cond, ...)                                                                   \
	do {                                                                                 \
		if (!(cond))                                                                 \
			ck_abort_msg(__VA_ARGS__);                                           \
	} while (0)
#define REQUIRE_EQ(a, b)                                                                     \
	do {                                                                                 \
		long long a_ = (a), b_ = (b);                                                \
		if (a_ != b_)                                                                \
			ck_abort_msg("%s == %s: %lld != %lld", #a, #b, a_, b_);              \
	} while (0)

/* ---- capacity (D3) -------------------------------------------------------------------- */

static const struct {
	int gpn, gpr, nodes, min_nodes, max_nodes, pool, max;
	int rpn, nodes_max, max_eff;
} cases[] = {
	/* H100.8, 2 GPUs, node autoscaling to 2 nodes: 4 per node, 8 hostable. */
	{ 8, 2, 1, 1, 2, 1, 8, 4, 2, 8 },
	/* A10.2, 1 GPU, no node autoscaling, pool 1: 2 hostable of 8. */
	{ 2, 1, 0, 0, 0, 1, 8, 2, 1, 2 },
	/* 3 GPUs on an 8-GPU shape: 2 per node (2 GPUs idle). */
	{ 8, 3, 1, 1, 3, 1, 10, 2, 3, 6 },
	/* Replica larger than the node: nothing fits. */
	{ 2, 4, 0, 0, 0, 5, 4, 0, 5, 0 },
	/* GPUs per node unknown: max_eff = max. */
	{ 0, 1, 0, 0, 0, 1, 7, -1, 1, 7 },
	/* Pool size without node autoscaling: 3 nodes x 4. */
	{ 4, 1, 0, 0, 0, 3, 100, 4, 3, 12 },
	/* Node autoscaling ignores the pool size. */
	{ 4, 1, 1, 1, 4, 3, 100, 4, 4, 16 },
	/* The largest counts the schema allows stay in range. */
	{ ENGINE_MAX_GPUS, 1, 1, 1, ENGINE_MAX_NODES, 1, ENGINE_MAX_REPLICAS, ENGINE_MAX_GPUS,
	  ENGINE_MAX_NODES, ENGINE_MAX_REPLICAS },
};

START_TEST(test_capacity)
{
	engine_policy_t p = { 0 };

	p.gpus_per_node = cases[_i].gpn;
	p.gpus_per_replica = cases[_i].gpr;
	p.nodes = cases[_i].nodes;
	p.min_nodes = cases[_i].min_nodes;
	p.max_nodes = cases[_i].max_nodes;
	p.pool_size = cases[_i].pool;
	p.max_replicas = cases[_i].max;
	p.min_replicas = 1;
	ck_assert_int_eq(engine_replicas_per_node(&p), cases[_i].rpn);
	ck_assert_int_eq(engine_nodes_max(&p), cases[_i].nodes_max);
	ck_assert_int_eq(engine_max_eff(&p), cases[_i].max_eff);
}
END_TEST

/* ---- reasons -------------------------------------------------------------------------- */

/* DESIGN section 4's list, spelled as there. */
static const struct {
	engine_reason_t r;
	const char *name;
} reason_names[] = {
	{ ENGINE_REASON_WITHIN_TOLERANCE, "WithinTolerance" },
	{ ENGINE_REASON_SCALE_UP, "ScaleUp" },
	{ ENGINE_REASON_SCALE_DOWN, "ScaleDown" },
	{ ENGINE_REASON_SCALE_UP_LIMIT, "ScaleUpLimit" },
	{ ENGINE_REASON_SCALE_DOWN_LIMIT, "ScaleDownLimit" },
	{ ENGINE_REASON_TOO_MANY_REPLICAS, "TooManyReplicas" },
	{ ENGINE_REASON_TOO_FEW_REPLICAS, "TooFewReplicas" },
	{ ENGINE_REASON_STABILIZED, "Stabilized" },
	{ ENGINE_REASON_COOLDOWN, "Cooldown" },
	{ ENGINE_REASON_METRIC_UNAVAILABLE, "MetricUnavailable" },
	{ ENGINE_REASON_NO_READY_REPLICAS, "NoReadyReplicas" },
	{ ENGINE_REASON_NODE_CAPACITY, "NodeCapacity" },
	{ ENGINE_REASON_FALLBACK, "Fallback" },
};

static const char *rname(engine_reason_t r)
{
	for (size_t i = 0; i < N_ELEM(reason_names); i++)
		if (reason_names[i].r == r)
			return reason_names[i].name;
	return "(not a reason)";
}

START_TEST(test_reason_names)
{
	const char *got = engine_reason_name(reason_names[_i].r);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, reason_names[_i].name);
}
END_TEST

/* ---- policies and steps as text (engine-vectors.h) ------------------------------------- */

static void base_policy(engine_policy_t *p)
{
	memset(p, 0, sizeof(*p));
	p->min_replicas = 1;
	p->max_replicas = 100;
	p->threshold = 1;
	p->metric_type = ENGINE_METRIC_AVERAGE_VALUE;
	p->up = (engine_rules_t){ ENGINE_SELECT_MAX, 1, { { ENGINE_RATE_PODS, 100000, S_ } } };
	p->down = (engine_rules_t){ ENGINE_SELECT_MAX, 1, { { ENGINE_RATE_PERCENT, 100, S_ } } };
	p->on_empty = ENGINE_EMPTY_HOLD;
	p->on_nan = ENGINE_NAN_ZERO;
	p->fallback_failures = 1;
	p->gpus_per_replica = 1;
	p->pool_size = 1;
	p->min_nodes = 1;
	p->max_nodes = 1;
	p->node_unneeded_time = 600 * S_;
	p->node_delay_after_add = 600 * S_;
	p->node_provision_time = 1500 * S_;
}

/* "90s", "59999ms", "-1h", "1.5m": a unit is required. */
static int parse_ms(const char *s, engine_ms_t *ret)
{
	char *end;
	double x = strtod(s, &end);
	double mult;

	if (end == s)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else
		return -EINVAL;
	*ret = (engine_ms_t)llround(x * mult);
	return 0;
}

static int parse_int(const char *s, int32_t *ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end)
		return -EINVAL;
	*ret = (int32_t)v;
	return 0;
}

static int parse_dbl(const char *s, double *ret)
{
	char *end;

	*ret = strtod(s, &end);
	return end == s || *end ? -EINVAL : 0;
}

/* "max:pods/4/15s,pct/100/15s", "min:...", "disabled" */
static int parse_rules(char *s, engine_rules_t *r)
{
	char *colon = strchr(s, ':'), *save = NULL, *tok;

	memset(r, 0, sizeof(*r));
	if (colon)
		*colon = '\0';
	if (!strcmp(s, "max"))
		r->select = ENGINE_SELECT_MAX;
	else if (!strcmp(s, "min"))
		r->select = ENGINE_SELECT_MIN;
	else if (!strcmp(s, "disabled"))
		r->select = ENGINE_SELECT_DISABLED;
	else
		return -EINVAL;
	if (!colon)
		return r->select == ENGINE_SELECT_DISABLED ? 0 : -EINVAL;
	for (tok = strtok_r(colon + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *a = strchr(tok, '/'), *b;
		engine_rate_policy_t *rp;

		if (r->n == ENGINE_MAX_RATE_POLICIES || !a || !(b = strchr(a + 1, '/')))
			return -EINVAL;
		*a++ = '\0';
		*b++ = '\0';
		rp = &r->p[r->n++];
		if (!strcmp(tok, "pods"))
			rp->type = ENGINE_RATE_PODS;
		else if (!strcmp(tok, "pct"))
			rp->type = ENGINE_RATE_PERCENT;
		else
			return -EINVAL;
		if (parse_int(a, &rp->value) < 0 || parse_ms(b, &rp->period) < 0)
			return -EINVAL;
	}
	return 0;
}

static int parse_policy(const char *spec, engine_policy_t *p)
{
	char buf[512], *save = NULL, *tok;
	int rc = 0;

	base_policy(p);
	if (strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	for (tok = strtok_r(buf, " ", &save); tok && rc == 0; tok = strtok_r(NULL, " ", &save)) {
		char *v = strchr(tok, '=');

		if (!v)
			return -EINVAL;
		*v++ = '\0';
		if (!strcmp(tok, "min"))
			rc = parse_int(v, &p->min_replicas);
		else if (!strcmp(tok, "max"))
			rc = parse_int(v, &p->max_replicas);
		else if (!strcmp(tok, "T"))
			rc = parse_dbl(v, &p->threshold);
		else if (!strcmp(tok, "type") && !strcmp(v, "value"))
			p->metric_type = ENGINE_METRIC_VALUE;
		else if (!strcmp(tok, "type") && !strcmp(v, "avg"))
			p->metric_type = ENGINE_METRIC_AVERAGE_VALUE;
		else if (!strcmp(tok, "tol")) {
			rc = parse_dbl(v, &p->tol_up);
			p->tol_down = p->tol_up;
		} else if (!strcmp(tok, "tolup"))
			rc = parse_dbl(v, &p->tol_up);
		else if (!strcmp(tok, "toldown"))
			rc = parse_dbl(v, &p->tol_down);
		else if (!strcmp(tok, "wup"))
			rc = parse_ms(v, &p->window_up);
		else if (!strcmp(tok, "wdown"))
			rc = parse_ms(v, &p->window_down);
		else if (!strcmp(tok, "C"))
			rc = parse_ms(v, &p->cooldown);
		else if (!strcmp(tok, "up"))
			rc = parse_rules(v, &p->up);
		else if (!strcmp(tok, "down"))
			rc = parse_rules(v, &p->down);
		else if (!strcmp(tok, "empty") && !strcmp(v, "hold"))
			p->on_empty = ENGINE_EMPTY_HOLD;
		else if (!strcmp(tok, "empty") && !strcmp(v, "zero"))
			p->on_empty = ENGINE_EMPTY_ZERO;
		else if (!strcmp(tok, "nan") && !strcmp(v, "hold"))
			p->on_nan = ENGINE_NAN_HOLD;
		else if (!strcmp(tok, "nan") && !strcmp(v, "zero"))
			p->on_nan = ENGINE_NAN_ZERO;
		else if (!strcmp(tok, "fb")) {
			p->fallback = true;
			rc = sscanf(v, "%" SCNd32 "/%" SCNd32, &p->fallback_failures,
				    &p->fallback_replicas) == 2 ? 0 : -EINVAL;
		} else if (!strcmp(tok, "gpn"))
			rc = parse_int(v, &p->gpus_per_node);
		else if (!strcmp(tok, "gpr"))
			rc = parse_int(v, &p->gpus_per_replica);
		else if (!strcmp(tok, "pool"))
			rc = parse_int(v, &p->pool_size);
		else if (!strcmp(tok, "nodes")) {
			p->nodes = true;
			rc = sscanf(v, "%" SCNd32 "/%" SCNd32, &p->min_nodes, &p->max_nodes) == 2
				     ? 0 : -EINVAL;
		} else if (!strcmp(tok, "unneeded"))
			rc = parse_ms(v, &p->node_unneeded_time);
		else if (!strcmp(tok, "delay"))
			rc = parse_ms(v, &p->node_delay_after_add);
		else
			return -EINVAL;
	}
	return rc;
}

#define UNCHECKED INT32_MIN

struct step {
	char op; /* 'T' tick, 'S' record_scale */
	engine_observation_t obs;
	int32_t from, to;	/* 'S' */
	bool einval;		/* 'T': the tick must be refused */
	int32_t desired, nodes; /* UNCHECKED when not given */
	int reason;		/* -1 when not given */
	int raw;		/* 0 not given, 1 "raw=-", 2 raw = raw_v */
	int64_t raw_v;
};

static int parse_value(const char *v, engine_observation_t *o)
{
	o->value = 0;
	if (!strcmp(v, "null"))
		o->kind = ENGINE_VALUE_FAILED;
	else if (!strcmp(v, "NaN"))
		o->kind = ENGINE_VALUE_NAN;
	else if (!strcmp(v, "+Inf"))
		o->kind = ENGINE_VALUE_POS_INF;
	else if (!strcmp(v, "-Inf"))
		o->kind = ENGINE_VALUE_NEG_INF;
	else if (!strcmp(v, "empty"))
		o->kind = ENGINE_VALUE_EMPTY;
	else {
		o->kind = ENGINE_VALUE_NUMBER;
		return parse_dbl(v, &o->value);
	}
	return 0;
}

static int parse_step(const char *text, struct step *st)
{
	char buf[256], *save = NULL, *tok;
	bool after = false;
	engine_ms_t t;

	memset(st, 0, sizeof(*st));
	st->desired = st->nodes = UNCHECKED;
	st->reason = -1;
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	tok = strtok_r(buf, " ", &save);
	if (!tok || strlen(tok) != 1 || (tok[0] != 'T' && tok[0] != 'S'))
		return -EINVAL;
	st->op = tok[0];
	tok = strtok_r(NULL, " ", &save);
	if (!tok || parse_ms(tok, &t) < 0)
		return -EINVAL;
	if (st->op == 'S') {
		tok = strtok_r(NULL, " ", &save);
		if (!tok || sscanf(tok, "%" SCNd32 "->%" SCNd32, &st->from, &st->to) != 2)
			return -EINVAL;
		st->obs.t = t;
		return strtok_r(NULL, " ", &save) ? -EINVAL : 0;
	}
	st->obs = ENGINE_OBSERVATION(t, -1);
	for (tok = strtok_r(NULL, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *v = strchr(tok, '=');
		int rc = 0;

		if (!strcmp(tok, "=>")) {
			after = true;
			tok = strtok_r(NULL, " ", &save);
			if (!tok)
				return -EINVAL;
			if (!strcmp(tok, "EINVAL"))
				st->einval = true;
			else if (parse_int(tok, &st->desired) < 0)
				return -EINVAL;
			continue;
		}
		if (!v) {
			size_t i;

			for (i = 0; i < N_ELEM(reason_names); i++)
				if (!strcmp(tok, reason_names[i].name))
					break;
			if (!after || i == N_ELEM(reason_names))
				return -EINVAL;
			st->reason = (int)reason_names[i].r;
			continue;
		}
		*v++ = '\0';
		if (!after && !strcmp(tok, "cur"))
			rc = parse_int(v, &st->obs.current);
		else if (!after && !strcmp(tok, "v"))
			rc = parse_value(v, &st->obs);
		else if (!after && !strcmp(tok, "ready"))
			rc = parse_int(v, &st->obs.ready);
		else if (!after && !strcmp(tok, "status"))
			rc = parse_int(v, &st->obs.status);
		else if (!after && !strcmp(tok, "pool"))
			rc = parse_int(v, &st->obs.pool_size);
		else if (after && !strcmp(tok, "nodes"))
			rc = parse_int(v, &st->nodes);
		else if (after && !strcmp(tok, "raw") && !strcmp(v, "-"))
			st->raw = 1;
		else if (after && !strcmp(tok, "raw")) {
			int32_t x = 0;

			rc = parse_int(v, &x);
			st->raw = 2;
			st->raw_v = x;
		} else
			return -EINVAL;
		if (rc < 0)
			return rc;
	}
	return after ? 0 : -EINVAL;
}

/* ---- the literal model of DESIGN sections 4 and 5 ------------------------------------- */

struct rec {
	engine_ms_t t;
	int64_t x;
};

struct list {
	struct rec *v;
	size_t n, cap;
};

static void list_push(struct list *l, engine_ms_t t, int64_t x)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		REQUIRE(l->v, "out of memory");
	}
	l->v[l->n++] = (struct rec){ t, x };
}

/* Records with ts <= cutoff can never count again (time only moves forward): drop them. */
static void list_drop(struct list *l, engine_ms_t cutoff)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].t > cutoff)
			l->v[k++] = l->v[i];
	l->n = k;
}

/* Sum of the records with ts > cutoff: "in period", strict. */
static int64_t list_sum_after(const struct list *l, engine_ms_t cutoff)
{
	int64_t sum = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].t > cutoff)
			sum += l->v[i].x;
	return sum;
}

struct model {
	bool started;		/* a tick happened: step 1 is done */
	engine_ms_t last_t;
	struct list R, U, D;
	bool has_last_up;
	engine_ms_t last_up;
	int64_t failures;
	bool has_size, has_unneeded, has_last_add;
	int32_t size;
	engine_ms_t unneeded_since, last_add;
};

static void model_free(struct model *m)
{
	free(m->R.v);
	free(m->U.v);
	free(m->D.v);
	memset(m, 0, sizeof(*m));
}

static int64_t model_rpn(const engine_policy_t *p)
{
	return p->gpus_per_node > 0 ? p->gpus_per_node / p->gpus_per_replica : -1;
}

static int64_t model_max_eff(const engine_policy_t *p)
{
	int64_t rpn = model_rpn(p), hostable;

	if (rpn < 0)
		return p->max_replicas;
	hostable = (int64_t)(p->nodes ? p->max_nodes : p->pool_size) * rpn;
	return hostable < p->max_replicas ? hostable : p->max_replicas;
}

static engine_ms_t longest_period(const engine_policy_t *p)
{
	engine_ms_t m = 0;

	for (int i = 0; i < p->up.n; i++)
		m = p->up.p[i].period > m ? p->up.p[i].period : m;
	for (int i = 0; i < p->down.n; i++)
		m = p->down.p[i].period > m ? p->down.p[i].period : m;
	return m;
}

/* Step 6's limit for one direction, from the model's own event lists. */
static int64_t model_limit(const engine_policy_t *p, const struct model *m, engine_ms_t t,
			   int64_t cur, bool up)
{
	const engine_rules_t *rules = up ? &p->up : &p->down;
	int64_t limit = 0;

	if (rules->select == ENGINE_SELECT_DISABLED)
		return cur;
	for (int i = 0; i < rules->n; i++) {
		const engine_rate_policy_t *rp = &rules->p[i];
		int64_t start = cur - list_sum_after(&m->U, t - rp->period) +
				list_sum_after(&m->D, t - rp->period);
		int64_t prop;
		bool take;

		if (rp->type == ENGINE_RATE_PODS)
			prop = up ? start + rp->value : start - rp->value;
		else if (up)
			prop = (int64_t)ceil(start * (1 + rp->value / 100.0));
		else
			prop = (int64_t)trunc(start * (1 - rp->value / 100.0));
		/* up: max of proposals (min for select min); down: min (max for select min) */
		if (i == 0)
			take = true;
		else if (up == (rules->select == ENGINE_SELECT_MAX))
			take = prop > limit;
		else
			take = prop < limit;
		if (take)
			limit = prop;
	}
	return limit;
}

/* Whether the tick has a value after on_nan / on_empty_result, and which. */
static bool obs_value(const engine_policy_t *p, const engine_observation_t *o, double *v)
{
	switch (o->kind) {
	case ENGINE_VALUE_NUMBER:
		*v = o->value;
		return true;
	case ENGINE_VALUE_NAN:
		*v = 0;
		return p->on_nan == ENGINE_NAN_ZERO;
	case ENGINE_VALUE_EMPTY:
		*v = 0;
		return p->on_empty == ENGINE_EMPTY_ZERO;
	default:
		return false;
	}
}

static int model_tick(const engine_policy_t *p, struct model *m, const engine_observation_t *o,
		      engine_decision_t *d)
{
	engine_ms_t t = o->t, wmax;
	int64_t cur = o->current, ready, status, max_eff = model_max_eff(p);
	int64_t r = 0, s = 0, desired, up, down;
	bool used_fallback = false, limited = false;
	engine_reason_t reason = ENGINE_REASON_WITHIN_TOLERANCE;
	double value;

	if (cur < 0 || (m->started && t <= m->last_t))
		return -EINVAL;
	ready = o->ready < 0 ? cur : o->ready;
	status = o->status <= 0 ? cur : o->status;
	memset(d, 0, sizeof(*d));

	/* 1 */
	if (!m->started)
		list_push(&m->R, t, cur);
	m->started = true;
	m->last_t = t;

	/* 2 */
	if (cur > max_eff) {
		desired = max_eff;
		reason = max_eff < p->max_replicas ? ENGINE_REASON_NODE_CAPACITY
						   : ENGINE_REASON_TOO_MANY_REPLICAS;
		goto step8;
	}
	if (cur < p->min_replicas) {
		desired = p->min_replicas;
		reason = ENGINE_REASON_TOO_FEW_REPLICAS;
		goto step8;
	}

	/* 3 */
	if (!obs_value(p, o, &value)) {
		m->failures++;
		if (p->fallback && m->failures >= p->fallback_failures) {
			r = p->fallback_replicas;
			used_fallback = true;
			goto step5;
		}
		desired = cur;
		reason = ENGINE_REASON_METRIC_UNAVAILABLE;
		goto step9;
	}
	m->failures = 0;

	/* 4 */
	{
		long long mm = llround(value * 1000), tm = llround(p->threshold * 1000);
		double ratio;

		if (p->metric_type == ENGINE_METRIC_VALUE) {
			ratio = (double)mm / (double)tm;
			if (1 - p->tol_down <= ratio && ratio <= 1 + p->tol_up) {
				r = cur;
			} else if (ready == 0) {
				desired = cur;
				reason = ENGINE_REASON_NO_READY_REPLICAS;
				goto step9;
			} else {
				r = (int64_t)ceil(ratio * ready);
			}
		} else {
			ratio = (double)mm / ((double)tm * status);
			if (1 - p->tol_down <= ratio && ratio <= 1 + p->tol_up)
				r = status;
			else
				r = (int64_t)ceil((double)mm / (double)tm);
		}
	}

step5:
	d->has_raw = true;
	d->raw = r;
	up = down = r;
	for (size_t i = 0; i < m->R.n; i++) {
		if (m->R.v[i].t > t - p->window_up && m->R.v[i].x < up)
			up = m->R.v[i].x;
		if (m->R.v[i].t > t - p->window_down && m->R.v[i].x > down)
			down = m->R.v[i].x;
	}
	s = cur;
	if (s < up)
		s = up;
	if (s > down)
		s = down;
	list_push(&m->R, t, r);
	wmax = p->window_up > p->window_down ? p->window_up : p->window_down;
	list_drop(&m->R, t - wmax);

	/* 6, with HPA's reasons (normalizeDesiredReplicasWithBehaviors) */
	if (s > cur) {
		int64_t limit = model_limit(p, m, t, cur, true), allowed = max_eff;
		engine_reason_t lr = max_eff < p->max_replicas ? ENGINE_REASON_NODE_CAPACITY
							       : ENGINE_REASON_TOO_MANY_REPLICAS;

		if (limit < cur)
			limit = cur;
		if (allowed > limit) {
			allowed = limit;
			lr = ENGINE_REASON_SCALE_UP_LIMIT;
		}
		desired = s < allowed ? s : allowed;
		if (desired != s) {
			limited = true;
			reason = lr;
		}
	} else if (s < cur) {
		int64_t limit = model_limit(p, m, t, cur, false), allowed = p->min_replicas;
		engine_reason_t lr = ENGINE_REASON_TOO_FEW_REPLICAS;

		if (limit > cur)
			limit = cur;
		if (allowed < limit) {
			allowed = limit;
			lr = ENGINE_REASON_SCALE_DOWN_LIMIT;
		}
		desired = s > allowed ? s : allowed;
		if (desired != s) {
			limited = true;
			reason = lr;
		}
	} else {
		desired = s;
	}

	/* 7 */
	if (desired < cur && m->has_last_up && t - m->last_up < p->cooldown) {
		desired = cur;
		reason = ENGINE_REASON_COOLDOWN;
	} else if (!limited) {
		if (used_fallback)
			reason = ENGINE_REASON_FALLBACK;
		else if (desired > cur)
			reason = ENGINE_REASON_SCALE_UP;
		else if (desired < cur)
			reason = ENGINE_REASON_SCALE_DOWN;
		else if (s != r)
			reason = ENGINE_REASON_STABILIZED;
		else
			reason = ENGINE_REASON_WITHIN_TOLERANCE;
	}

step8: /* the scale itself is recorded by model_record_scale, as the daemon does */
step9:
	d->desired = (int32_t)desired;
	d->reason = reason;
	d->nodes = -1;
	if (p->nodes) {
		int64_t rpn = model_rpn(p);
		int64_t req = (desired + rpn - 1) / rpn;

		if (o->pool_size >= 0)
			m->size = o->pool_size;
		else if (!m->has_size)
			m->size = p->min_nodes;
		m->has_size = true;
		if (req < p->min_nodes)
			req = p->min_nodes;
		if (req > p->max_nodes)
			req = p->max_nodes;
		if (req > m->size) {
			m->size = (int32_t)req;
			m->has_last_add = true;
			m->last_add = t;
			m->has_unneeded = false;
		} else if (req < m->size) {
			if (!m->has_unneeded) {
				m->has_unneeded = true;
				m->unneeded_since = t;
			}
			if (t - m->unneeded_since >= p->node_unneeded_time &&
			    (!m->has_last_add || t - m->last_add >= p->node_delay_after_add)) {
				m->size = (int32_t)req;
				m->has_unneeded = false;
			}
		} else {
			m->has_unneeded = false;
		}
		d->nodes = m->size;
	}
	/* events older than every period never count again */
	list_drop(&m->U, t - longest_period(p));
	list_drop(&m->D, t - longest_period(p));
	return 0;
}

static void model_record_scale(struct model *m, engine_ms_t t, int32_t from, int32_t to)
{
	if (to > from) {
		list_push(&m->U, t, to - from);
		m->has_last_up = true;
		m->last_up = t;
	} else if (to < from) {
		list_push(&m->D, t, from - to);
	}
}

/* ---- running the tables ---------------------------------------------------------------- */

static char *save_text(const engine_state_t *s)
{
	char *text = NULL;
	size_t len = 0;

	REQUIRE_EQ(engine_state_save(s, &text, &len), 0);
	REQUIRE_EQ(strlen(text), len);
	return text;
}

/* Compares one decision against the row; who says which side ("engine", "model"). */
static void check_row(const struct scenario *sc, int k, const char *who,
		      const engine_policy_t *p, const struct step *st, const engine_decision_t *d)
{
	const char *row = sc->steps[k];

	REQUIRE(d->desired == st->desired, "%s: [%s] step %d \"%s\": desired %d, %s gave %d",
		who, sc->name, k, row, st->desired, who, d->desired);
	if (st->nodes != UNCHECKED || !p->nodes) {
		int32_t want = st->nodes != UNCHECKED ? st->nodes : -1;

		REQUIRE(d->nodes == want, "%s: [%s] step %d \"%s\": nodes %d, %s gave %d", who,
			sc->name, k, row, want, who, d->nodes);
	}
	if (st->reason >= 0)
		REQUIRE((int)d->reason == st->reason,
			"%s: [%s] step %d \"%s\": reason %s, %s gave %s", who, sc->name, k,
			row, rname((engine_reason_t)st->reason), who, rname(d->reason));
	if (st->raw == 1)
		REQUIRE(!d->has_raw, "%s: [%s] step %d \"%s\": no raw, %s gave raw %" PRId64,
			who, sc->name, k, row, who, d->raw);
	if (st->raw == 2)
		REQUIRE(d->has_raw && d->raw == st->raw_v,
			"%s: [%s] step %d \"%s\": raw %" PRId64 ", %s gave %s%" PRId64, who,
			sc->name, k, row, st->raw_v, who, d->has_raw ? "" : "no raw, ", d->raw);
}

/* Runs one scenario through the engine (use_model false) or the model (true); with
 * reload, the engine's state is saved and loaded again before every step. */
static void run_scenario_ex(const struct scenario *sc, bool use_model, bool reload)
{
	const char *who = use_model ? "model" : reload ? "engine, reloaded" : "engine";
	engine_policy_t p;
	engine_state_t *s = engine_state_new();
	struct model m = { 0 };

	REQUIRE(s, "out of memory");
	REQUIRE(parse_policy(sc->policy, &p) == 0, "[%s] bad policy \"%s\"", sc->name,
		sc->policy);
	for (int k = 0; k < SCENARIO_MAX_STEPS && sc->steps[k]; k++) {
		struct step st;
		engine_decision_t d;
		int rc;

		REQUIRE(parse_step(sc->steps[k], &st) == 0, "[%s] bad step \"%s\"", sc->name,
			sc->steps[k]);
		if (reload && !use_model) {
			char *text = save_text(s);
			engine_state_t *n = NULL;
			int line = 0;

			REQUIRE(engine_state_load(text, strlen(text), &n, &line) == 0,
				"[%s] step %d: the saved state does not load (line %d):\n%s",
				sc->name, k, line, text);
			free(text);
			engine_state_free(s);
			s = n;
		}
		if (st.op == 'S') {
			if (use_model)
				model_record_scale(&m, st.obs.t, st.from, st.to);
			else
				REQUIRE_EQ(
					engine_record_scale(&p, s, st.obs.t, st.from, st.to), 0);
			continue;
		}
		if (use_model) {
			rc = model_tick(&p, &m, &st.obs, &d);
		} else {
			char *before = save_text(s), *after;

			memset(&d, 0x5a, sizeof(d));
			rc = engine_tick(&p, s, &st.obs, &d);
			after = save_text(s);
			if (rc < 0)
				REQUIRE(!strcmp(before, after),
					"engine: [%s] step %d \"%s\": a refused tick changed "
					"the state", sc->name, k, sc->steps[k]);
			free(before);
			free(after);
		}
		if (st.einval) {
			REQUIRE(rc == -EINVAL, "%s: [%s] step %d \"%s\": want -EINVAL, got %d",
				who, sc->name, k, sc->steps[k], rc);
			continue;
		}
		REQUIRE(rc == 0, "%s: [%s] step %d \"%s\": tick returned %d", who, sc->name, k,
			sc->steps[k], rc);
		check_row(sc, k, who, &p, &st, &d);
	}
	model_free(&m);
	engine_state_free(s);
}

static void run_scenario(const struct scenario *sc, bool use_model)
{
	run_scenario_ex(sc, use_model, false);
}

START_TEST(test_hpa_vectors)
{
	run_scenario(&hpa_vectors[_i], false);
}
END_TEST

START_TEST(test_rules)
{
	run_scenario(&rule_tables[_i], false);
}
END_TEST

/* The same tables with the state saved and loaded before every step. */
START_TEST(test_hpa_vectors_reloaded)
{
	run_scenario_ex(&hpa_vectors[_i], false, true);
}
END_TEST

START_TEST(test_rules_reloaded)
{
	run_scenario_ex(&rule_tables[_i], false, true);
}
END_TEST

/* The model used by the random tests must itself agree with the hand tables. */
START_TEST(test_model_hpa_vectors)
{
	run_scenario(&hpa_vectors[_i], true);
}
END_TEST

START_TEST(test_model_rules)
{
	run_scenario(&rule_tables[_i], true);
}
END_TEST

/* ---- random policies and streams -------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t next_u64(struct rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static int64_t rnd(struct rng *g, int64_t n)
{
	return n <= 1 ? 0 : (int64_t)(next_u64(g) % (uint64_t)n);
}

/* True with probability pct / 100. */
static bool chance(struct rng *g, int pct)
{
	return rnd(g, 100) < pct;
}

static uint64_t base_seed(void)
{
	const char *e = getenv("AUTOSCALERD_SEED");

	return e && *e ? strtoull(e, NULL, 0) : 0x5eed2026ULL;
}

static bool under_valgrind(void)
{
	const char *e = getenv("AUTOSCALERD_VALGRIND");

	return e && !strcmp(e, "1");
}

static engine_ms_t rnd_span(struct rng *g)
{
	switch (rnd(g, 6)) {
	case 0:
		return 0;
	case 1:
		return 1 + rnd(g, 50); /* a few ms: tick bursts straddle it */
	case 2:
		return (1 + rnd(g, 12)) * 15 * S_;
	case 3:
		return rnd(g, 600 * S_ + 1);
	case 4:
		return 30 * S_ * (1 + rnd(g, 20));
	default:
		return chance(g, 10) ? ENGINE_MAX_SPAN : rnd(g, 600 * S_ + 1);
	}
}

static void rnd_rules(struct rng *g, engine_rules_t *r)
{
	int sel = (int)rnd(g, 100);

	memset(r, 0, sizeof(*r));
	r->select = sel < 60 ? ENGINE_SELECT_MAX : sel < 85 ? ENGINE_SELECT_MIN
							      : ENGINE_SELECT_DISABLED;
	if (r->select == ENGINE_SELECT_DISABLED && chance(g, 50))
		return;
	r->n = 1 + (int)rnd(g, chance(g, 70) ? 1 : 3);
	for (int i = 0; i < r->n; i++) {
		engine_rate_policy_t *rp = &r->p[i];

		rp->type = chance(g, 55) ? ENGINE_RATE_PODS : ENGINE_RATE_PERCENT;
		rp->value = rp->type == ENGINE_RATE_PODS
				    ? (int32_t)(1 + rnd(g, chance(g, 80) ? 6 : 200))
				    : (int32_t)(1 + rnd(g, chance(g, 80) ? 100 : 400));
		rp->period = rnd_span(g);
		if (rp->period == 0)
			rp->period = 1 + rnd(g, 30 * S_);
	}
}

static const double thresholds[] = { 0.001, 0.1, 0.3, 0.4, 0.5, 1, 2.222, 6.666, 100 };
static const double tolerances[] = { 0, 0, 0.05, 0.1, 0.1, 0.2, 0.5 };

static void rnd_policy(struct rng *g, engine_policy_t *p)
{
	int64_t max_eff;

	base_policy(p);
	p->min_replicas = (int32_t)(1 + rnd(g, chance(g, 70) ? 3 : 20));
	p->max_replicas = p->min_replicas + (int32_t)rnd(g, chance(g, 80) ? 30 : 2000);
	p->threshold = chance(g, 70) ? thresholds[rnd(g, N_ELEM(thresholds))]
				     : (double)(1 + rnd(g, 5000)) / 1000;
	p->metric_type = chance(g, 60) ? ENGINE_METRIC_VALUE : ENGINE_METRIC_AVERAGE_VALUE;
	p->tol_up = tolerances[rnd(g, N_ELEM(tolerances))];
	p->tol_down = chance(g, 60) ? p->tol_up : tolerances[rnd(g, N_ELEM(tolerances))];
	p->window_up = rnd_span(g);
	p->window_down = rnd_span(g);
	p->cooldown = chance(g, 30) ? 0 : rnd_span(g);
	rnd_rules(g, &p->up);
	rnd_rules(g, &p->down);
	p->on_empty = chance(g, 50) ? ENGINE_EMPTY_HOLD : ENGINE_EMPTY_ZERO;
	p->on_nan = chance(g, 70) ? ENGINE_NAN_ZERO : ENGINE_NAN_HOLD;
	p->fallback = chance(g, 35);
	p->fallback_failures = (int32_t)(1 + rnd(g, 4));
	p->fallback_replicas = (int32_t)rnd(g, p->max_replicas + 3);
	if (chance(g, 55)) {
		static const int gpns[] = { 1, 2, 4, 8 };

		p->gpus_per_node = gpns[rnd(g, N_ELEM(gpns))];
		p->gpus_per_replica = (int32_t)(1 + rnd(g, p->gpus_per_node));
		p->pool_size = (int32_t)(1 + rnd(g, 4));
		if (chance(g, 70)) {
			p->nodes = true;
			p->min_nodes = (int32_t)(1 + rnd(g, 2));
			p->max_nodes = p->min_nodes + (int32_t)rnd(g, 6);
			p->node_unneeded_time = chance(g, 20) ? 0 : rnd(g, 900 * S_ + 1);
			p->node_delay_after_add = chance(g, 20) ? 0 : rnd(g, 900 * S_ + 1);
		}
	}
	/* config/ rejects min_replicas > max_eff; so do we */
	max_eff = model_max_eff(p);
	if (p->min_replicas > max_eff)
		p->min_replicas = (int32_t)max_eff;
}

static engine_ms_t rnd_gap(struct rng *g)
{
	int k = (int)rnd(g, 100);

	if (k < 40)
		return 15 * S_;
	if (k < 60)
		return 1 + rnd(g, 30 * S_);
	if (k < 75)
		return 1 + rnd(g, 10); /* bursts 1 ms apart */
	if (k < 85)
		return 1 + rnd(g, 100);
	if (k < 95)
		return 30 * S_ + rnd(g, 90 * S_);
	return ENGINE_MAX_SPAN + rnd(g, 6 * 3600 * S_); /* longer than every window */
}

/* A value around the threshold, biased to the tolerance edges and to missing data. */
static void rnd_value(struct rng *g, const engine_policy_t *p, int32_t cur, bool outage,
		      engine_observation_t *o)
{
	int k = (int)rnd(g, 100);
	double base = p->metric_type == ENGINE_METRIC_VALUE ? p->threshold
							    : p->threshold * (cur > 0 ? cur : 1);

	o->kind = ENGINE_VALUE_NUMBER;
	o->value = 0;
	if (outage || k < 12) {
		static const engine_value_kind_t missing[] = {
			ENGINE_VALUE_FAILED, ENGINE_VALUE_NAN,	   ENGINE_VALUE_POS_INF,
			ENGINE_VALUE_NEG_INF, ENGINE_VALUE_EMPTY,
		};

		o->kind = missing[rnd(g, N_ELEM(missing))];
	} else if (k < 20) {
		o->value = base * (chance(g, 50) ? 1 - p->tol_down : 1 + p->tol_up);
	} else if (k < 25) {
		o->value = 0;
	} else if (k < 28) {
		o->value = -base * (double)rnd(g, 3000) / 1000;
	} else if (k < 32) {
		o->value = base * (double)rnd(g, 50000) / 1000;
	} else {
		o->value = base * (double)rnd(g, 3000) / 1000;
	}
}

/* The driver's own bookkeeping for the invariants: applied scales and failures. */
struct book {
	struct list up, down; /* (t, n) of every applied scale */
	bool has_last_up;
	engine_ms_t last_up;
	int64_t failures;
};

static int64_t sum_in(const struct list *l, engine_ms_t t, engine_ms_t period)
{
	return list_sum_after(l, t - period);
}

struct run_ctx {
	int iter, tick;
};

/* The whole run is deterministic in AUTOSCALERD_SEED: the message says how to replay it. */
#define PROP(ctx, cond, fmt, ...)                                                            \
	REQUIRE(cond, "AUTOSCALERD_SEED=0x%" PRIx64 " (iteration %d, tick %d): " fmt,         \
		base_seed(), (ctx)->iter, (ctx)->tick, __VA_ARGS__)

/* The invariants of one decision, checked from what the driver saw, not from the model. */
static void check_invariants(const struct run_ctx *c, const engine_policy_t *p,
			     const struct book *b, const engine_observation_t *o,
			     const engine_decision_t *d, bool fallback_due)
{
	int64_t max_eff = model_max_eff(p), cur = o->current;
	bool in_range = cur >= p->min_replicas && cur <= max_eff;
	double v;

	/* desired within [min, max_eff] always: in range it may only move inside it, out of
	 * range step 2 brings it to the nearest bound; a held tick keeps cur, in range */
	PROP(c, d->desired >= p->min_replicas && d->desired <= max_eff,
	     "desired %d outside [%d, %" PRId64 "] (cur %" PRId64 ")", d->desired,
	     p->min_replicas, max_eff, cur);
	if (!in_range)
		PROP(c, d->desired == (cur > max_eff ? max_eff : p->min_replicas),
		     "cur %" PRId64 " out of range but desired %d", cur, d->desired);
	/* no data, no fallback due: nothing moves */
	if (in_range && !obs_value(p, o, &v) && !fallback_due)
		PROP(c, d->desired == cur && d->reason == ENGINE_REASON_METRIC_UNAVAILABLE,
		     "a tick without data moved %" PRId64 " -> %d (%s)", cur, d->desired,
		     rname(d->reason));
	if (!in_range)
		return;
	/* never down within the cooldown after a scale-up */
	if (d->desired < cur)
		PROP(c, !b->has_last_up || o->t - b->last_up >= p->cooldown,
		     "scale-down %" PRId64 " -> %d %" PRId64 " ms after a scale-up "
		     "(cooldown %" PRId64 ")",
		     cur, d->desired, o->t - b->last_up, p->cooldown);
	/* never more than the policies allow per period */
	for (int dir = 0; dir < 2; dir++) {
		const engine_rules_t *rules = dir ? &p->down : &p->up;
		bool moving = dir ? d->desired < cur : d->desired > cur;
		int64_t bound = 0;

		if (!moving)
			continue;
		PROP(c, rules->select != ENGINE_SELECT_DISABLED, "moved %" PRId64 " -> %d with "
		     "select disabled", cur, d->desired);
		for (int i = 0; i < rules->n; i++) {
			const engine_rate_policy_t *rp = &rules->p[i];
			int64_t added = sum_in(&b->up, o->t, rp->period);
			int64_t removed = sum_in(&b->down, o->t, rp->period);
			int64_t start = cur - added + removed, prop;
			/* up: select max takes the largest proposal; down: the smallest */
			bool take_larger = dir ? rules->select == ENGINE_SELECT_MIN
					       : rules->select == ENGINE_SELECT_MAX;

			if (rp->type == ENGINE_RATE_PODS)
				prop = dir ? start - rp->value : start + rp->value;
			else
				prop = dir ? (int64_t)trunc(start * (1 - rp->value / 100.0))
					   : (int64_t)ceil(start * (1 + rp->value / 100.0));
			if (i == 0 || (take_larger ? prop > bound : prop < bound))
				bound = prop;
			/* the plain form: with one pods policy (or select min, where each binds),
			 * net replicas added in any period never exceed its value */
			if (!dir && rp->type == ENGINE_RATE_PODS &&
			    (rules->n == 1 || rules->select == ENGINE_SELECT_MIN))
				PROP(c, (d->desired - cur) + added - removed <= rp->value,
				     "added %" PRId64 " net in %" PRId64 " ms, policy allows %d",
				     (d->desired - cur) + added - removed, rp->period, rp->value);
			if (dir && rp->type == ENGINE_RATE_PODS &&
			    (rules->n == 1 || rules->select == ENGINE_SELECT_MIN))
				PROP(c, (cur - d->desired) + removed - added <= rp->value,
				     "removed %" PRId64 " net in %" PRId64 " ms, policy allows %d",
				     (cur - d->desired) + removed - added, rp->period, rp->value);
		}
		if (!dir)
			PROP(c, d->desired <= bound, "up %" PRId64 " -> %d past the limit %" PRId64,
			     cur, d->desired, bound);
		else
			PROP(c, d->desired >= bound,
			     "down %" PRId64 " -> %d past the limit %" PRId64, cur, d->desired,
			     bound);
	}
}

static void check_nodes(const struct run_ctx *c, const engine_policy_t *p,
			const engine_observation_t *o, const engine_decision_t *d)
{
	int64_t rpn, need;

	if (!p->nodes) {
		PROP(c, d->nodes == -1, "nodes %d without node autoscaling", d->nodes);
		return;
	}
	rpn = model_rpn(p);
	need = (d->desired + rpn - 1) / rpn;
	if (need > p->max_nodes)
		need = p->max_nodes;
	if (need < p->min_nodes)
		need = p->min_nodes;
	PROP(c, d->nodes >= need, "nodes %d below what %d replicas need (%" PRId64 ")", d->nodes,
	     d->desired, need);
	/* observed sizes are drawn within [0, max_nodes] */
	PROP(c, d->nodes >= p->min_nodes && d->nodes <= p->max_nodes,
	     "nodes %d outside [%d, %d]", d->nodes, p->min_nodes, p->max_nodes);
	(void)o;
}

static void cmp_decision(const struct run_ctx *c, const engine_observation_t *o,
			 const engine_decision_t *e, const engine_decision_t *m)
{
	PROP(c,
	     e->desired == m->desired && e->nodes == m->nodes && e->reason == m->reason &&
		     e->has_raw == m->has_raw && (!m->has_raw || e->raw == m->raw),
	     "t %" PRId64 " cur %d kind %d value %.17g ready %d status %d pool %d: DESIGN gives "
	     "desired %d nodes %d %s raw %s%" PRId64 ", engine desired %d nodes %d %s raw "
	     "%s%" PRId64,
	     o->t, o->current, (int)o->kind, o->value, o->ready, o->status, o->pool_size,
	     m->desired, m->nodes, rname(m->reason), m->has_raw ? "" : "-", m->raw, e->desired,
	     e->nodes, rname(e->reason), e->has_raw ? "" : "-", e->raw);
}

static void describe_policy(const engine_policy_t *p, char *buf, size_t n)
{
	snprintf(buf, n,
		 "min %d max %d T %g type %d tol %g/%g W %" PRId64 "/%" PRId64 " C %" PRId64
		 " up sel %d n %d down sel %d n %d empty %d nan %d fb %d %d/%d gpn %d gpr %d "
		 "pool %d nodes %d %d/%d unneeded %" PRId64 " delay %" PRId64,
		 p->min_replicas, p->max_replicas, p->threshold, (int)p->metric_type, p->tol_up,
		 p->tol_down, p->window_up, p->window_down, p->cooldown, (int)p->up.select, p->up.n,
		 (int)p->down.select, p->down.n, (int)p->on_empty, (int)p->on_nan, p->fallback,
		 p->fallback_failures, p->fallback_replicas, p->gpus_per_node, p->gpus_per_replica,
		 p->pool_size, p->nodes, p->min_nodes, p->max_nodes, p->node_unneeded_time,
		 p->node_delay_after_add);
}

/* One random policy and stream: engine against model on every tick, invariants, and (when
 * reload is set) the engine's state saved and loaded again at random points. */
static void run_random(uint64_t seed, int iter, int ticks, bool reload)
{
	struct rng g = { seed };
	struct run_ctx c = { iter, -1 };
	engine_policy_t p;
	engine_state_t *s = engine_state_new();
	struct model m = { 0 };
	struct book b = { 0 };
	engine_ms_t t = chance(&g, 50) ? 0 : rnd(&g, (int64_t)1 << 40) - ((int64_t)1 << 39);
	int32_t cur, nodes = -1, outage = 0;
	int64_t max_eff;
	char desc[512];

	REQUIRE(s, "out of memory");
	rnd_policy(&g, &p);
	max_eff = model_max_eff(&p);
	cur = (int32_t)(chance(&g, 80) ? p.min_replicas + rnd(&g, max_eff - p.min_replicas + 1)
				       : rnd(&g, max_eff + 4));
	describe_policy(&p, desc, sizeof(desc));
	for (c.tick = 0; c.tick < ticks; c.tick++) {
		engine_observation_t o;
		engine_decision_t de, dm;
		bool fallback_due;
		double v;
		int rc;

		t += rnd_gap(&g);
		o = ENGINE_OBSERVATION(t, cur);
		if (outage > 0)
			outage--;
		else if (chance(&g, 3))
			outage = (int)rnd(&g, 8);
		rnd_value(&g, &p, cur, outage > 0, &o);
		o.ready = chance(&g, 60) ? -1 : chance(&g, 20) ? 0 : (int32_t)rnd(&g, cur + 3);
		o.status = chance(&g, 60) ? (int32_t)rnd(&g, 2) - 1 : (int32_t)rnd(&g, cur + 4);
		o.pool_size = chance(&g, 75) ? -1
			      : chance(&g, 60) ? nodes
					       : (int32_t)rnd(&g, p.max_nodes + 1);

		/* the driver's failure count, for "no change without data unless fallback" */
		if (cur >= p.min_replicas && cur <= max_eff)
			b.failures = obs_value(&p, &o, &v) ? 0 : b.failures + 1;
		fallback_due = p.fallback && b.failures >= p.fallback_failures;

		memset(&de, 0x5a, sizeof(de));
		rc = engine_tick(&p, s, &o, &de);
		PROP(&c, rc == 0, "tick returned %d; policy %s", rc, desc);
		REQUIRE_EQ(model_tick(&p, &m, &o, &dm), 0);
		if (!(de.desired == dm.desired && de.nodes == dm.nodes && de.reason == dm.reason &&
		      de.has_raw == dm.has_raw && (!dm.has_raw || de.raw == dm.raw)))
			fprintf(stderr, "policy: %s\n", desc);
		cmp_decision(&c, &o, &de, &dm);
		check_invariants(&c, &p, &b, &o, &de, fallback_due);
		check_nodes(&c, &p, &o, &de);
		nodes = de.nodes;

		/* apply the decision as the daemon would: most scales succeed */
		if (de.desired != cur && !chance(&g, 5)) {
			REQUIRE_EQ(engine_record_scale(&p, s, t, cur, de.desired), 0);
			model_record_scale(&m, t, cur, de.desired);
			if (de.desired > cur) {
				list_push(&b.up, t, de.desired - cur);
				b.has_last_up = true;
				b.last_up = t;
			} else {
				list_push(&b.down, t, cur - de.desired);
			}
			cur = de.desired;
		}
		/* someone else scales the Deployment now and then */
		if (chance(&g, 3))
			cur = (int32_t)rnd(&g, max_eff + 4);
		if (reload && chance(&g, 5)) {
			char *text = save_text(s);
			engine_state_t *n = NULL;
			int line = 0;

			rc = engine_state_load(text, strlen(text), &n, &line);
			PROP(&c, rc == 0, "reloading a saved state failed: %d at line %d", rc,
			     line);
			engine_state_free(s);
			s = n;
			free(text);
		}
	}
	engine_state_free(s);
	model_free(&m);
	free(b.up.v);
	free(b.down.v);
}

static int iterations(int normal, int valgrind)
{
	return under_valgrind() ? valgrind : normal;
}

START_TEST(test_random_streams)
{
	uint64_t seed = base_seed();
	int n = iterations(4000, 600);

	for (int i = 0; i < n; i++)
		run_random(seed + (uint64_t)i * 0x1000193ULL, i, 40 + (i % 10) * 40, false);
}
END_TEST

START_TEST(test_random_streams_reloaded)
{
	uint64_t seed = base_seed() ^ 0xa5a5a5a5ULL;
	int n = iterations(1500, 200);

	for (int i = 0; i < n; i++)
		run_random(seed + (uint64_t)i * 0x1000193ULL, i, 200, true);
}
END_TEST

/* Ticks 1 ms apart for longer than both windows: the windows see every record. */
START_TEST(test_dense_ticks)
{
	struct rng g = { base_seed() + 7 };
	struct run_ctx c = { 0, 0 };
	engine_policy_t p;
	engine_state_t *s = engine_state_new();
	struct model m = { 0 };
	int32_t cur = 5;
	int n = iterations(6000, 3000);

	REQUIRE_EQ(parse_policy("type=avg T=1 tol=0 wup=700ms wdown=1500ms max=1000 "
				      "up=max:pods/3/200ms down=max:pct/20/300ms C=50ms",
				      &p),
			 0);
	for (c.tick = 0; c.tick < n; c.tick++) {
		engine_observation_t o = ENGINE_OBSERVATION(1000 + c.tick, cur);
		engine_decision_t de, dm;

		o.kind = ENGINE_VALUE_NUMBER;
		/* a noisy load that drifts: every record may be an extreme for a while */
		o.value = (double)(1 + rnd(&g, 40) + (c.tick / 500) * 7 % 60);
		REQUIRE_EQ(engine_tick(&p, s, &o, &de), 0);
		REQUIRE_EQ(model_tick(&p, &m, &o, &dm), 0);
		cmp_decision(&c, &o, &de, &dm);
		if (de.desired != cur) {
			REQUIRE_EQ(engine_record_scale(&p, s, o.t, cur, de.desired), 0);
			model_record_scale(&m, o.t, cur, de.desired);
			cur = de.desired;
		}
	}
	engine_state_free(s);
	model_free(&m);
}
END_TEST

/* The time origin is the caller's: the same stream shifted gives the same decisions. */
START_TEST(test_time_origin)
{
	static const engine_ms_t shifts[] = { 0, -((engine_ms_t)1 << 50), (engine_ms_t)1 << 50,
					      -1, 123456789 };
	int n = iterations(200, 50);

	for (int i = 0; i < n; i++) {
		uint64_t seed = base_seed() + 0x777ULL * (uint64_t)i;
		struct rng pg = { seed };
		struct run_ctx c = { i, 0 };
		engine_policy_t p;
		engine_decision_t first[120];

		rnd_policy(&pg, &p);
		for (size_t k = 0; k < N_ELEM(shifts); k++) {
			struct rng g = { seed ^ 0x1234 };
			engine_state_t *s = engine_state_new();
			engine_ms_t t = shifts[k];
			int32_t cur = p.min_replicas;

			for (c.tick = 0; c.tick < (int)N_ELEM(first); c.tick++) {
				engine_observation_t o;
				engine_decision_t d;

				t += rnd_gap(&g);
				o = ENGINE_OBSERVATION(t, cur);
				rnd_value(&g, &p, cur, false, &o);
				REQUIRE_EQ(engine_tick(&p, s, &o, &d), 0);
				if (k == 0)
					first[c.tick] = d;
				else
					PROP(&c, d.desired == first[c.tick].desired &&
							 d.nodes == first[c.tick].nodes &&
							 d.reason == first[c.tick].reason,
					     "origin %" PRId64 " gives %d/%d/%s, origin 0 %d/%d/%s",
					     shifts[k], d.desired, d.nodes, rname(d.reason),
					     first[c.tick].desired, first[c.tick].nodes,
					     rname(first[c.tick].reason));
				if (d.desired != cur) {
					REQUIRE_EQ(engine_record_scale(&p, s, t, cur, d.desired),
							 0);
					cur = d.desired;
				}
			}
			engine_state_free(s);
		}
	}
}
END_TEST

/* Values and counts no metric should give: no crash, no overflow (UBSan), and the bounds
 * hold. Not compared with the model, whose conversions would overflow. */
START_TEST(test_hostile_values)
{
	static const double values[] = { 1e300, -1e300, DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324,
					 1e18, -1e18, 9.2e15, -0.0, 0.0005, 0.0004999, 4e12 };
	static const int32_t counts[] = { 0, 1, 2, INT32_MAX, ENGINE_MAX_REPLICAS };
	int n = iterations(300, 60);

	for (int i = 0; i < n; i++) {
		uint64_t seed = base_seed() + 0x99ULL * (uint64_t)i;
		struct rng g = { seed };
		struct run_ctx c = { i, 0 };
		engine_policy_t p;
		engine_state_t *s = engine_state_new();
		int32_t cur;
		int64_t max_eff;

		rnd_policy(&g, &p);
		max_eff = model_max_eff(&p);
		cur = p.min_replicas;
		for (c.tick = 0; c.tick < 60; c.tick++) {
			engine_observation_t o = ENGINE_OBSERVATION(c.tick * 1000 + 1, cur);
			engine_decision_t d;

			o.kind = ENGINE_VALUE_NUMBER;
			o.value = values[rnd(&g, N_ELEM(values))];
			o.ready = counts[rnd(&g, N_ELEM(counts))];
			o.status = counts[rnd(&g, N_ELEM(counts))];
			o.pool_size = chance(&g, 30) ? INT32_MAX : -1;
			if (chance(&g, 10))
				o.current = counts[rnd(&g, N_ELEM(counts))];
			REQUIRE_EQ(engine_tick(&p, s, &o, &d), 0);
			PROP(&c, d.desired >= p.min_replicas && d.desired <= max_eff,
			     "value %g ready %d status %d: desired %d outside [%d, %" PRId64 "]",
			     o.value, o.ready, o.status, d.desired, p.min_replicas, max_eff);
			if (d.desired != o.current) {
				REQUIRE_EQ(
					engine_record_scale(&p, s, o.t, o.current, d.desired), 0);
			}
			cur = d.desired;
		}
		engine_state_free(s);
	}
}
END_TEST

/* ---- the saved state ------------------------------------------------------------------- */

/* A state after a random stream, with its policy, the last time and current. */
static engine_state_t *stream_state(uint64_t seed, int ticks, engine_policy_t *p,
				    engine_ms_t *t, int32_t *cur)
{
	struct rng g = { seed };
	engine_state_t *s = engine_state_new();

	REQUIRE(s, "out of memory");
	rnd_policy(&g, p);
	*t = 0;
	*cur = p->min_replicas;
	for (int k = 0; k < ticks; k++) {
		engine_observation_t o;
		engine_decision_t d;

		*t += rnd_gap(&g);
		o = ENGINE_OBSERVATION(*t, *cur);
		rnd_value(&g, p, *cur, false, &o);
		REQUIRE_EQ(engine_tick(p, s, &o, &d), 0);
		if (d.desired != *cur) {
			REQUIRE_EQ(engine_record_scale(p, s, *t, *cur, d.desired), 0);
			*cur = d.desired;
		}
	}
	return s;
}

/* Saved, loaded, and both continue alike; saving the loaded state gives the same text. */
START_TEST(test_save_load_continues)
{
	int n = iterations(400, 100);

	for (int i = 0; i < n; i++) {
		uint64_t seed = base_seed() + 0x51ULL * (uint64_t)i;
		struct run_ctx c = { i, 0 };
		engine_policy_t p;
		engine_ms_t t;
		int32_t cur;
		engine_state_t *a = stream_state(seed, (int)(i % 5) * 25, &p, &t, &cur), *b = NULL;
		char *text = save_text(a), *again;
		struct rng g = { seed ^ 0xfeed };
		int line = 0;

		PROP(&c, engine_state_load(text, strlen(text), &b, &line) == 0,
		     "load of a saved state failed at line %d:\n%s", line, text);
		again = save_text(b);
		PROP(&c, !strcmp(text, again), "saved again differs:\n%s\n---\n%s", text, again);
		free(again);
		for (c.tick = 0; c.tick < 80; c.tick++) {
			engine_observation_t o;
			engine_decision_t da, db;

			t += rnd_gap(&g);
			o = ENGINE_OBSERVATION(t, cur);
			rnd_value(&g, &p, cur, false, &o);
			o.pool_size = chance(&g, 10) ? (int32_t)rnd(&g, p.max_nodes + 1) : -1;
			REQUIRE_EQ(engine_tick(&p, a, &o, &da), 0);
			REQUIRE_EQ(engine_tick(&p, b, &o, &db), 0);
			PROP(&c, da.desired == db.desired && da.nodes == db.nodes &&
					 da.reason == db.reason && da.has_raw == db.has_raw &&
					 (!da.has_raw || da.raw == db.raw),
			     "original %d/%d/%s, loaded %d/%d/%s; saved:\n%s", da.desired, da.nodes,
			     rname(da.reason), db.desired, db.nodes, rname(db.reason), text);
			if (da.desired != cur) {
				REQUIRE_EQ(engine_record_scale(&p, a, t, cur, da.desired), 0);
				REQUIRE_EQ(engine_record_scale(&p, b, t, cur, da.desired), 0);
				cur = da.desired;
			}
		}
		{
			char *ta = save_text(a), *tb = save_text(b);

			PROP(&c, !strcmp(ta, tb), "states drifted apart:\n%s\n---\n%s", ta, tb);
			free(ta);
			free(tb);
		}
		free(text);
		engine_state_free(a);
		engine_state_free(b);
	}
}
END_TEST

/* A fresh state saved and loaded is still fresh: its first tick records (t, cur). */
START_TEST(test_save_load_fresh)
{
	engine_policy_t p;
	engine_state_t *a = engine_state_new(), *b = NULL;
	char *text = save_text(a);
	engine_observation_t o = ENGINE_OBSERVATION(-5 * S_, 5);
	engine_decision_t d;

	REQUIRE_EQ(parse_policy("wdown=60s", &p), 0);
	REQUIRE_EQ(engine_state_load(text, strlen(text), &b, NULL), 0);
	o.kind = ENGINE_VALUE_NUMBER;
	o.value = 2;
	/* first tick: down = max(2, 5@t) = 5 */
	REQUIRE_EQ(engine_tick(&p, b, &o, &d), 0);
	REQUIRE_EQ(d.desired, 5);
	REQUIRE_EQ(d.reason, ENGINE_REASON_STABILIZED);
	ck_assert_ptr_null(engine_state_free(a));
	ck_assert_ptr_null(engine_state_free(b));
	ck_assert_ptr_null(engine_state_free(NULL));
	free(text);
}
END_TEST

/* Loads a private copy of exactly len bytes (no NUL after it: ASan and valgrind see an
 * over-read). Returns the result; a state that loads is ticked and freed. */
static int try_load(const char *text, size_t len, int *line)
{
	char *copy = malloc(len ? len : 1);
	engine_state_t *s = (engine_state_t *)(uintptr_t)1;
	int rc;

	REQUIRE(copy, "out of memory");
	memcpy(copy, text, len);
	*line = -12345;
	rc = engine_state_load(copy, len, &s, line);
	free(copy);
	REQUIRE(rc == 0 || rc == -EINVAL, "load returned %d", rc);
	if (rc == 0) {
		engine_policy_t p;
		engine_observation_t o = ENGINE_OBSERVATION(INT64_MAX / 4, 3);
		engine_decision_t d;
		char *again = NULL;
		size_t again_len;

		base_policy(&p);
		p.nodes = true;
		p.gpus_per_node = 2;
		p.max_nodes = 4;
		p.window_up = p.window_down = ENGINE_MAX_SPAN;
		o.kind = ENGINE_VALUE_NUMBER;
		o.value = 1;
		/* a loaded last tick may be later than this one: then -EINVAL, no harm */
		rc = engine_tick(&p, s, &o, &d);
		REQUIRE(rc == 0 || rc == -EINVAL, "tick on a loaded state returned %d", rc);
		REQUIRE_EQ(engine_state_save(s, &again, &again_len), 0);
		free(again);
		engine_state_free(s);
		rc = 0;
	} else {
		REQUIRE(s == (engine_state_t *)(uintptr_t)1, "*ret written on failure");
	}
	return rc;
}

/* A state with something in every part: records, events both ways, node timers. */
static char *rich_text(void)
{
	engine_policy_t p;
	engine_state_t *s = engine_state_new();
	static const char *steps[] = {
		"T 0s cur=2 v=2 pool=1", "T 10s cur=2 v=7", "S 10s 2->7", "T 20s cur=7 v=3",
		"S 20s 7->4", "T 30s cur=4 v=6", "S 30s 4->5", "T 40s cur=5 v=1", "T 50s cur=5 v=5",
	};
	char *text;

	REQUIRE_EQ(parse_policy("gpn=2 gpr=1 nodes=1/4 wup=100s wdown=100s "
				      "up=max:pods/3/60s down=max:pods/3/60s",
				      &p),
			 0);
	for (size_t i = 0; i < N_ELEM(steps); i++) {
		char row[64];
		struct step st;
		engine_decision_t d;

		snprintf(row, sizeof(row), "%s%s", steps[i], steps[i][0] == 'T' ? " => 0" : "");
		REQUIRE_EQ(parse_step(row, &st), 0);
		if (st.op == 'S')
			REQUIRE_EQ(engine_record_scale(&p, s, st.obs.t, st.from, st.to), 0);
		else
			REQUIRE_EQ(engine_tick(&p, s, &st.obs, &d), 0);
	}
	text = save_text(s);
	engine_state_free(s);
	return text;
}

static int count_lines(const char *text)
{
	int n = 0;

	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* The 1-based number of the first line starting with prefix, 0 if none. */
static int find_line(const char *text, const char *prefix)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		if (!strncmp(p, prefix, strlen(prefix)))
			return line;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return 0;
}

/* text with line `line` (1-based) replaced by `with` (no newline), malloc'd. */
static char *replace_line(const char *text, int line, const char *with)
{
	const char *a = text, *b;
	char *out;

	for (int i = 1; i < line; i++) {
		a = strchr(a, '\n');
		ck_assert_ptr_nonnull(a);
		a++;
	}
	b = strchr(a, '\n');
	ck_assert_ptr_nonnull(b);
	out = malloc(strlen(text) + strlen(with) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, (size_t)(a - text));
	strcpy(out + (a - text), with);
	strcat(out, b);
	return out;
}

static void expect_refused(const char *what, const char *text, int want_line)
{
	int line;

	REQUIRE(try_load(text, strlen(text), &line) == -EINVAL, "%s: loaded:\n%s", what,
		text);
	if (want_line > 0)
		REQUIRE(line == want_line, "%s: error at line %d, want %d:\n%s", what, line,
			want_line, text);
	else
		REQUIRE(line >= 1 && line <= count_lines(text) + 1,
			"%s: error line %d out of the text", what, line);
}

/* These edit single lines of engine.c's text form (its field names, the version at the end
 * of the first line): the format is the engine's own, DESIGN does not fix it. */
START_TEST(test_load_refuses)
{
	char *text = rich_text(), *bad;
	int lo = find_line(text, "lo "), up = find_line(text, "up "), nl = count_lines(text);
	int line;

	REQUIRE_EQ(try_load(text, strlen(text), &line), 0);
	/* the cases below need two records in lo and two events in up */
	REQUIRE(lo > 0 && up > 0 && atoi(strstr(text, "\nlo ") + 4) >= 2 &&
			atoi(strstr(text, "\nup ") + 4) >= 2,
		"the rich state is not rich:\n%s", text);

	expect_refused("one newline", "\n", 1);
	expect_refused("garbage", "hello world\n", 1);
	expect_refused("binary", "\x01\x02\xff\xfe\n\n", 1);

	/* wrong version: the first line names the format and its version */
	{
		char first[128];
		size_t n = strcspn(text, "\n");

		ck_assert_uint_lt(n, sizeof(first) - 4);
		memcpy(first, text, n);
		first[n] = '\0';
		REQUIRE(n > 0 && first[n - 1] >= '0' && first[n - 1] <= '9',
			"first line \"%s\" ends in no version", first);
		first[n - 1] = first[n - 1] == '9' ? '8' : (char)(first[n - 1] + 1);
		bad = replace_line(text, 1, first);
		expect_refused("next version", bad, 1);
		free(bad);
		strcat(first, "0");
		bad = replace_line(text, 1, first);
		expect_refused("version x10", bad, 1);
		free(bad);
	}
	/* huge counts */
	bad = replace_line(text, lo, "lo 99999999999999999999");
	expect_refused("count past int64", bad, lo);
	free(bad);
	bad = replace_line(text, lo, "lo 9223372036854775807");
	expect_refused("count INT64_MAX", bad, lo);
	free(bad);
	bad = replace_line(text, lo, "lo -1");
	expect_refused("negative count", bad, lo);
	free(bad);
	bad = replace_line(text, lo, "lo 99999999");
	expect_refused("count larger than the lines", bad, 0);
	free(bad);
	bad = replace_line(text, up, "up 4000000000 0");
	expect_refused("huge event count", bad, up);
	free(bad);

	/* times going back inside a list */
	{
		char row[64];

		snprintf(row, sizeof(row), "%" PRId64 " 1", (engine_ms_t)-1000000);
		bad = replace_line(text, lo + 2, row);
		/* the first record stays; the second is older than it */
		expect_refused("record older than the one before", bad, lo + 2);
		free(bad);
		snprintf(row, sizeof(row), "%" PRId64 " 1", (engine_ms_t)-1000000);
		bad = replace_line(text, up + 2, row);
		expect_refused("event older than the one before", bad, up + 2);
		free(bad);
		snprintf(row, sizeof(row), "%" PRId64 " 1", (engine_ms_t)1000000000);
		bad = replace_line(text, lo + 1, row);
		expect_refused("record newer than the last tick", bad, 0);
		free(bad);
	}
	/* event sizes */
	bad = replace_line(text, up + 1, "10000 0");
	expect_refused("event of 0 replicas", bad, up + 1);
	free(bad);
	bad = replace_line(text, up + 1, "10000 -5");
	expect_refused("negative event", bad, up + 1);
	free(bad);
	/* numbers */
	bad = replace_line(text, find_line(text, "failures "), "failures -1");
	expect_refused("negative failures", bad, find_line(text, "failures "));
	free(bad);
	bad = replace_line(text, find_line(text, "failures "), "failures 1x");
	expect_refused("junk after a number", bad, find_line(text, "failures "));
	free(bad);
	bad = replace_line(text, find_line(text, "failures "), "failures  1");
	expect_refused("two spaces", bad, find_line(text, "failures "));
	free(bad);
	bad = replace_line(text, find_line(text, "size "), "size 99999999");
	expect_refused("pool size out of range", bad, find_line(text, "size "));
	free(bad);

	/* after the end */
	bad = malloc(strlen(text) + 8);
	strcpy(bad, text);
	strcat(bad, "extra\n");
	expect_refused("a line after the end", bad, 0);
	free(bad);

	(void)nl;
	free(text);
}
END_TEST

/* Every truncation, at a line boundary or not, is refused, naming the line it stops in. */
START_TEST(test_load_truncated)
{
	char *text = rich_text();
	int line;

	for (size_t n = 0; n < strlen(text); n++) {
		int want = 1; /* the line the text stops in, or the missing one after it */

		for (size_t k = 0; k < n; k++)
			want += text[k] == '\n';
		REQUIRE(try_load(text, n, &line) == -EINVAL, "a prefix of %zu bytes of %zu "
			"loaded", n, strlen(text));
		REQUIRE(line == want, "a prefix of %zu bytes: error at line %d, it stops in "
			"line %d", n, line, want);
	}
	free(text);
}
END_TEST

/* Times at the ends of int64 are well-formed numbers. The text may not be trusted: either
 * they are refused, or the next tick decides as DESIGN does, without overflowing t - x. */
START_TEST(test_load_extreme_times)
{
	static const char text[] = "autoscalerd-engine-state 1\n"
				   "last_t -9223372036854775807\n"
				   "failures 0\n"
				   "last_up -9223372036854775807\n"
				   "size 4\n"
				   "unneeded_since -9223372036854775807\n"
				   "last_add -9223372036854775807\n"
				   "lo 0\n"
				   "hi 0\n"
				   "up 1 0\n"
				   "-9223372036854775807 5\n"
				   "down 0 0\n"
				   "end\n";
	engine_policy_t p;
	engine_state_t *s = NULL;
	engine_observation_t o = ENGINE_OBSERVATION(1000 * S_, 3);
	engine_decision_t d;
	int line = 0, rc;

	ck_assert_int_eq(parse_policy("type=value T=1 tol=0 max=10 wup=60s wdown=60s C=60s "
				      "up=max:pods/1/60s down=max:pods/1/60s gpn=2 gpr=1 "
				      "nodes=1/4 unneeded=600s delay=600s",
				      &p),
			 0);
	rc = engine_state_load(text, strlen(text), &s, &line);
	ck_assert_msg(rc == 0 || rc == -EINVAL, "load returned %d", rc);
	if (rc < 0)
		return;
	o.kind = ENGINE_VALUE_NUMBER;
	o.value = 0.1;
	ck_assert_int_eq(engine_tick(&p, s, &o, &d), 0);
	/* r = ceil(0.1 * 3) = 1; nothing in the windows: s = 1; the up event is ages old:
	 * start 3, limit 3-1 = 2; last_up is ages ago: no cooldown. Nodes: required
	 * ceil(2/2) = 1 < 4, unneeded and added ages ago: shrink to 1. */
	ck_assert_msg(d.desired == 2 && d.nodes == 1 && d.reason == ENGINE_REASON_SCALE_DOWN_LIMIT,
		      "desired %d nodes %d %s; DESIGN gives 2, 1, ScaleDownLimit", d.desired,
		      d.nodes, rname(d.reason));
	engine_state_free(s);
}
END_TEST

/* Random damage: never a crash, and a state that loads is a usable one. */
START_TEST(test_load_mutations)
{
	char *text = rich_text();
	size_t len = strlen(text);
	struct rng g = { base_seed() + 99 };
	int n = iterations(20000, 4000), loaded = 0, line;
	char *buf = malloc(len * 2 + 64);

	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < n; i++) {
		size_t m = len;
		int edits = 1 + (int)rnd(&g, 3);

		memcpy(buf, text, len);
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rnd(&g, (int64_t)m);
			static const char alphabet[] = "0123456789- \n\x00" "abelnoptudwx9";

			switch (rnd(&g, 4)) {
			case 0: /* overwrite */
				buf[at] = chance(&g, 50) ? alphabet[rnd(&g, sizeof(alphabet) - 1)]
							 : (char)rnd(&g, 256);
				break;
			case 1: /* delete */
				memmove(buf + at, buf + at + 1, m - at - 1);
				m--;
				break;
			case 2: /* insert */
				memmove(buf + at + 1, buf + at, m - at);
				buf[at] = alphabet[rnd(&g, sizeof(alphabet) - 1)];
				m++;
				break;
			default: /* duplicate a digit run: bigger numbers */
				if (m + 8 < len * 2 + 64) {
					memmove(buf + at + 8, buf + at, m - at);
					memcpy(buf + at, "99999999", 8);
					m += 8;
				}
				break;
			}
			if (m == 0)
				break;
		}
		if (try_load(buf, m, &line) == 0) {
			loaded++;
		} else {
			int lines = 0;

			for (size_t k = 0; k < m; k++)
				lines += buf[k] == '\n';
			REQUIRE(line >= 1 && line <= lines + 1, "error line %d of %d", line,
				lines);
		}
	}
	free(buf);
	free(text);
	(void)loaded;
}
END_TEST

/* engine_record_scale from == to is a no-op: no event, no last_up. */
START_TEST(test_record_noop)
{
	engine_policy_t p;
	engine_state_t *a = engine_state_new(), *b = engine_state_new();
	char *ta, *tb;

	REQUIRE_EQ(parse_policy("C=60s", &p), 0);
	REQUIRE_EQ(engine_record_scale(&p, a, 0, 5, 5), 0);
	ta = save_text(a);
	tb = save_text(b);
	ck_assert_str_eq(ta, tb);
	free(ta);
	free(tb);
	engine_state_free(a);
	engine_state_free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine");
	TCase *tc;

	tc = tcase_create("capacity");
	tcase_add_loop_test(tc, test_capacity, 0, N_ELEM(cases));
	tcase_add_loop_test(tc, test_reason_names, 0, N_ELEM(reason_names));
	suite_add_tcase(s, tc);

	tc = tcase_create("tables");
	tcase_add_loop_test(tc, test_hpa_vectors, 0, N_ELEM(hpa_vectors));
	tcase_add_loop_test(tc, test_rules, 0, N_ELEM(rule_tables));
	tcase_add_loop_test(tc, test_model_hpa_vectors, 0, N_ELEM(hpa_vectors));
	tcase_add_loop_test(tc, test_model_rules, 0, N_ELEM(rule_tables));
	tcase_add_test(tc, test_record_noop);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_streams);
	tcase_add_test(tc, test_random_streams_reloaded);
	tcase_add_test(tc, test_dense_ticks);
	tcase_add_test(tc, test_time_origin);
	tcase_add_test(tc, test_hostile_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_hpa_vectors_reloaded, 0, N_ELEM(hpa_vectors));
	tcase_add_loop_test(tc, test_rules_reloaded, 0, N_ELEM(rule_tables));
	tcase_add_test(tc, test_save_load_continues);
	tcase_add_test(tc, test_save_load_fresh);
	tcase_add_test(tc, test_load_refuses);
	tcase_add_test(tc, test_load_truncated);
	tcase_add_test(tc, test_load_extreme_times);
	tcase_add_test(tc, test_load_mutations);
	suite_add_tcase(s, tc);

	return check_run(s, CK_NORMAL);
}
