/* engine.c - the smoothing engine: one observation in, one replica and node decision out.
 *
 * Design (DESIGN.md sections 4 and 5 are the contract; this is how it is met).
 *
 * A tick runs a fixed pipeline, each stage only narrowing what the previous one proposed:
 *
 *   raw recommendation -> stabilization -> rate limit -> cooldown -> nodes
 *
 *   raw:    the metric against the threshold, in integer milli-units so that 0.1 + 0.2
 *           style noise cannot move a replica; inside the tolerance band nothing changes.
 *   stabilization: scale up only to the lowest recommendation of the up window, down only
 *           to the highest of the down window. This is what makes a spike, or a dip, too
 *           short to matter. The windows are kept as a monotonic min-deque and max-deque
 *           of the recommendations: a record that a newer, smaller (resp. larger) one
 *           dominates can never be a window's extreme again, so it is dropped, and the
 *           extreme of a window is the oldest kept record inside it. Both deques hold
 *           every record younger than the longer window, so a shortened or lengthened
 *           window after a reload still sees what it should (up to that longer window).
 *   rate limit: HPA's behavior policies, counted from the replicas at the start of each
 *           policy's period; scale events carry running sums so that "replicas added in
 *           the last period" is one binary search, not a scan.
 *   cooldown (D2): no scale-down for scaling_cooldown after a scale-up, which is what
 *           Corrino's users mean by it (KEDA's cooldownPeriod only acts at zero).
 *   nodes:  section 5 on every tick, held ticks included, so a node pool shrinks after
 *           scale_down_unneeded_time even while the metric is missing.
 *
 * The engine records recommendations itself but a scale only when told it happened
 * (engine_record_scale), so a failed API call never counts against a rate limit.
 * All arithmetic is IEEE double or int64 in the order DESIGN writes it; counts that a
 * hostile metric could blow up are clamped before they are converted.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* ---- capacity (D3) ------------------------------------------------------------------- */

int engine_replicas_per_node(const engine_policy_t *p)
{
	if (p->gpus_per_node <= 0 || p->gpus_per_replica <= 0)
		return -1;
	return p->gpus_per_node / p->gpus_per_replica;
}

int engine_nodes_max(const engine_policy_t *p)
{
	return p->nodes ? p->max_nodes : p->pool_size;
}

int engine_max_eff(const engine_policy_t *p)
{
	int rpn = engine_replicas_per_node(p);
	int64_t hostable;

	if (rpn < 0)
		return p->max_replicas;
	/* Bounded by ENGINE_MAX_NODES * ENGINE_MAX_GPUS: no overflow, but keep it 64-bit. */
	hostable = (int64_t)engine_nodes_max(p) * rpn;
	return hostable < p->max_replicas ? (int)hostable : p->max_replicas;
}

const char *engine_reason_name(engine_reason_t r)
{
	static const char *const names[] = {
		[ENGINE_REASON_WITHIN_TOLERANCE] = "WithinTolerance",
		[ENGINE_REASON_SCALE_UP] = "ScaleUp",
		[ENGINE_REASON_SCALE_DOWN] = "ScaleDown",
		[ENGINE_REASON_SCALE_UP_LIMIT] = "ScaleUpLimit",
		[ENGINE_REASON_SCALE_DOWN_LIMIT] = "ScaleDownLimit",
		[ENGINE_REASON_TOO_MANY_REPLICAS] = "TooManyReplicas",
		[ENGINE_REASON_TOO_FEW_REPLICAS] = "TooFewReplicas",
		[ENGINE_REASON_STABILIZED] = "Stabilized",
		[ENGINE_REASON_COOLDOWN] = "Cooldown",
		[ENGINE_REASON_METRIC_UNAVAILABLE] = "MetricUnavailable",
		[ENGINE_REASON_NO_READY_REPLICAS] = "NoReadyReplicas",
		[ENGINE_REASON_NODE_CAPACITY] = "NodeCapacity",
		[ENGINE_REASON_FALLBACK] = "Fallback",
	};

	if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
		return "Unknown";
	return names[r];
}

/* ---- records in time order: one ring buffer for both kinds ---------------------------- */

/* A recommendation (x = r) or a scale event (x = replicas changed, cum = running sum). */
struct item {
	engine_ms_t t;
	int64_t x;
	int64_t cum;
};

/* Items in time order; cap is 0 or a power of two. base is the cum of the last item
 * dropped from the front, so running sums survive the drop. */
struct ring {
	struct item *v;
	size_t cap, head, n;
	int64_t base;
};

static struct item *ring_at(const struct ring *q, size_t i)
{
	return &q->v[(q->head + i) & (q->cap - 1)];
}

/* Room for `more` pushes without allocating. */
static int ring_reserve(struct ring *q, size_t more)
{
	struct item *v;
	size_t cap;

	if (q->n + more <= q->cap)
		return 0;
	cap = q->cap ? q->cap : 8;
	while (cap < q->n + more) {
		if (cap > SIZE_MAX / 2 / sizeof(*v))
			return -ENOMEM;
		cap *= 2;
	}
	v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < q->n; i++)
		v[i] = *ring_at(q, i);
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return 0;
}

static void ring_drop_until(struct ring *q, engine_ms_t cutoff)
{
	while (q->n > 0 && q->v[q->head].t <= cutoff) {
		q->base = q->v[q->head].cum;
		q->head = (q->head + 1) & (q->cap - 1);
		q->n--;
	}
}

/* Index of the oldest item with t > cutoff, or q->n when there is none. */
static size_t ring_first_after(const struct ring *q, engine_ms_t cutoff)
{
	size_t lo = 0, hi = q->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring_at(q, mid)->t > cutoff)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Recommendations: append, first dropping the records the new one dominates: for the
 * min-deque (keep_min) those not smaller than it, for the max-deque those not larger.
 * Capacity is reserved. */
static void dq_push(struct ring *q, engine_ms_t t, int64_t r, bool keep_min)
{
	while (q->n > 0) {
		int64_t back = ring_at(q, q->n - 1)->x;

		if (keep_min ? back < r : back > r)
			break;
		q->n--;
	}
	*ring_at(q, q->n) = (struct item){ t, r, 0 };
	q->n++;
}

/* Scale events: a running sum makes "replicas changed since cutoff" one binary search. */
static int64_t ev_total(const struct ring *q)
{
	return q->n ? ring_at(q, q->n - 1)->cum : q->base;
}

static void ev_push(struct ring *q, engine_ms_t t, int64_t n)
{
	*ring_at(q, q->n) = (struct item){ t, n, ev_total(q) + n };
	q->n++;
}

/* Sum of the events strictly younger than cutoff (an event at exactly t - period no
 * longer counts). */
static int64_t ev_sum_after(const struct ring *q, engine_ms_t cutoff)
{
	size_t i = ring_first_after(q, cutoff);

	return ev_total(q) - (i == 0 ? q->base : ring_at(q, i - 1)->cum);
}

/* ---- state ---------------------------------------------------------------------------- */

struct engine_state {
	bool started; /* a tick happened: the next one is not the first */
	engine_ms_t last_t;
	struct ring lo;      /* min-deque: the up window's lowest recommendation */
	struct ring hi;      /* max-deque: the down window's highest recommendation */
	struct ring up, down; /* scale events */
	bool has_last_up;
	engine_ms_t last_up;
	int32_t failures;
	int32_t size; /* node pool size; -1 before the first tick */
	bool has_unneeded;
	engine_ms_t unneeded_since;
	bool has_last_add;
	engine_ms_t last_add;
};

engine_state_t *engine_state_new(void)
{
	engine_state_t *s = calloc(1, sizeof(*s));

	if (s)
		s->size = -1;
	return s;
}

engine_state_t *engine_state_free(engine_state_t *s)
{
	if (!s)
		return NULL;
	free(s->lo.v);
	free(s->hi.v);
	free(s->up.v);
	free(s->down.v);
	free(s);
	return NULL;
}

/* ---- the tick ------------------------------------------------------------------------- */

static bool time_ok(engine_ms_t t)
{
	return t >= -ENGINE_MAX_TIME && t <= ENGINE_MAX_TIME;
}

static engine_ms_t max_ms(engine_ms_t a, engine_ms_t b)
{
	return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* A replica count from a double that a hostile metric may have made huge. Every limit
 * downstream is far below 2^40, so clamping there changes no decision. */
static int64_t to_count(double x)
{
	if (x != x)
		return 0;
	if (x > 1e12)
		return (int64_t)1e12;
	if (x < -1e12)
		return -(int64_t)1e12;
	return (int64_t)x;
}

/* llround(x * 1000) with x clamped where llround is defined (|x| beyond 1e15 is no
 * metric anyone scales on). */
static long long milli(double x)
{
	double y = x * 1000.0;

	if (y > 9e18)
		y = 9e18;
	if (y < -9e18)
		y = -9e18;
	return llround(y);
}

/* The longest period of any rate policy: events older than it never count again. */
static engine_ms_t longest_period(const engine_policy_t *p)
{
	engine_ms_t m = 0;

	for (int i = 0; i < p->up.n; i++)
		m = max_ms(m, p->up.p[i].period);
	for (int i = 0; i < p->down.n; i++)
		m = max_ms(m, p->down.p[i].period);
	return m;
}

/* Replicas at the start of one policy's period: what was added in it is taken back,
 * what was removed is given back. */
static int64_t period_start(const engine_state_t *s, engine_ms_t t, int64_t cur,
			    const engine_rate_policy_t *rp)
{
	return cur - ev_sum_after(&s->up, t - rp->period) + ev_sum_after(&s->down, t - rp->period);
}

/* Step 6's limit for one direction: each policy proposes a count from the start of its
 * period; select max takes the largest change (the highest count up, the lowest down),
 * select min the smallest. Percent rounds up when scaling up, truncates when scaling down. */
static int64_t rate_limit(const engine_policy_t *p, const engine_state_t *s, engine_ms_t t,
			  int64_t cur, bool up)
{
	const engine_rules_t *rules = up ? &p->up : &p->down;
	const bool highest = (rules->select == ENGINE_SELECT_MAX) == up;
	int64_t limit = highest ? INT64_MIN : INT64_MAX;

	if (rules->select == ENGINE_SELECT_DISABLED || rules->n == 0)
		return cur;
	for (int i = 0; i < rules->n; i++) {
		const engine_rate_policy_t *rp = &rules->p[i];
		int64_t start = period_start(s, t, cur, rp), prop;

		if (rp->type == ENGINE_RATE_PODS)
			prop = up ? start + rp->value : start - rp->value;
		else if (up)
			prop = to_count(ceil((double)start * (1 + rp->value / 100.0)));
		else
			prop = to_count(trunc((double)start * (1 - rp->value / 100.0)));
		limit = highest ? max64(limit, prop) : min64(limit, prop);
	}
	return limit;
}

/* Section 5: the node pool size this tick asks for. */
static int32_t node_step(const engine_policy_t *p, engine_state_t *s, engine_ms_t t,
			 int64_t desired, int32_t observed)
{
	int64_t rpn = engine_replicas_per_node(p), required;

	if (observed >= 0)
		s->size = observed;
	else if (s->size < 0)
		s->size = p->min_nodes;
	/* config/ guarantees rpn >= 1 with node autoscaling; without it, ask for the most. */
	required = rpn > 0 ? (desired + rpn - 1) / rpn : p->max_nodes;
	if (required < p->min_nodes)
		required = p->min_nodes;
	if (required > p->max_nodes)
		required = p->max_nodes;

	if (required > s->size) {
		s->size = (int32_t)required;
		s->has_last_add = true;
		s->last_add = t;
		s->has_unneeded = false;
	} else if (required < s->size) {
		if (!s->has_unneeded) {
			s->has_unneeded = true;
			s->unneeded_since = t;
		}
		if (t - s->unneeded_since >= p->node_unneeded_time &&
		    (!s->has_last_add || t - s->last_add >= p->node_delay_after_add)) {
			s->size = (int32_t)required;
			s->has_unneeded = false;
		}
	} else {
		s->has_unneeded = false;
	}
	return s->size;
}

int engine_tick(const engine_policy_t *p, engine_state_t *s, const engine_observation_t *obs,
		engine_decision_t *ret)
{
	const engine_ms_t t = obs->t;
	const int64_t cur = obs->current, max_eff = engine_max_eff(p);
	engine_decision_t d = { .nodes = -1 };
	int64_t desired = cur, r = 0, stab = cur;
	bool fallback = false, limited = false;
	engine_reason_t limit_reason = ENGINE_REASON_WITHIN_TOLERANCE;
	double v = obs->value;
	bool have;

	if (obs->current < 0 || !time_ok(t) || (s->started && t <= s->last_t))
		return -EINVAL;
	/* The first tick records (t, cur) and (t, r): after this nothing allocates, so an
	 * error leaves the state as it was. */
	if (ring_reserve(&s->lo, 2) < 0 || ring_reserve(&s->hi, 2) < 0)
		return -ENOMEM;

	/* Step 1. */
	if (!s->started) {
		dq_push(&s->lo, t, cur, true);
		dq_push(&s->hi, t, cur, false);
	}
	s->started = true;
	s->last_t = t;
	ring_drop_until(&s->up, t - longest_period(p));
	ring_drop_until(&s->down, t - longest_period(p));

	/* Step 2: outside [min, max_eff], go straight there. */
	if (cur > max_eff) {
		desired = max_eff;
		d.reason = max_eff < p->max_replicas ? ENGINE_REASON_NODE_CAPACITY :
						       ENGINE_REASON_TOO_MANY_REPLICAS;
		goto nodes;
	}
	if (cur < p->min_replicas) {
		desired = p->min_replicas;
		d.reason = ENGINE_REASON_TOO_FEW_REPLICAS;
		goto nodes;
	}

	/* Step 3: what counts as data (D4). */
	switch (obs->kind) {
	case ENGINE_VALUE_NUMBER:
		have = isfinite(v);
		if (isnan(v)) {
			have = p->on_nan == ENGINE_NAN_ZERO;
			v = 0;
		}
		break;
	case ENGINE_VALUE_NAN:
		have = p->on_nan == ENGINE_NAN_ZERO;
		v = 0;
		break;
	case ENGINE_VALUE_EMPTY:
		have = p->on_empty == ENGINE_EMPTY_ZERO;
		v = 0;
		break;
	default: /* failed, +Inf, -Inf */
		have = false;
		break;
	}
	if (!have) {
		if (s->failures < INT32_MAX)
			s->failures++;
		if (p->fallback && s->failures >= p->fallback_failures) {
			r = p->fallback_replicas;
			fallback = true;
			goto stabilize;
		}
		d.reason = ENGINE_REASON_METRIC_UNAVAILABLE;
		goto nodes;
	}
	s->failures = 0;

	/* Step 4: the raw recommendation, in milli-units. */
	{
		const long long m = milli(v), tm = llround(p->threshold * 1000);
		const int64_t ready = obs->ready < 0 ? cur : obs->ready;
		const int64_t status = obs->status <= 0 ? cur : obs->status;
		double ratio;

		if (p->metric_type == ENGINE_METRIC_VALUE) {
			ratio = (double)m / (double)tm;
			if (1 - p->tol_down <= ratio && ratio <= 1 + p->tol_up) {
				r = cur;
			} else if (ready == 0) {
				/* D1: HPA would compute 0 and scale down a Deployment that is only
				 * starting; hold instead. */
				d.reason = ENGINE_REASON_NO_READY_REPLICAS;
				goto nodes;
			} else {
				r = to_count(ceil(ratio * (double)ready));
			}
		} else {
			ratio = (double)m / ((double)tm * (double)status);
			if (1 - p->tol_down <= ratio && ratio <= 1 + p->tol_up) {
				r = status;
			} else {
				r = to_count(ceil((double)m / (double)tm));
			}
		}
	}

stabilize:
	/* Step 5: scale up only to the lowest, down only to the highest recommendation of
	 * the windows. */
	{
		int64_t up = r, down = r;
		size_t i;

		i = ring_first_after(&s->lo, t - p->window_up);
		if (i < s->lo.n)
			up = min64(up, ring_at(&s->lo, i)->x);
		i = ring_first_after(&s->hi, t - p->window_down);
		if (i < s->hi.n)
			down = max64(down, ring_at(&s->hi, i)->x);
		stab = cur;
		if (stab < up)
			stab = up;
		if (stab > down)
			stab = down;
		dq_push(&s->lo, t, r, true);
		dq_push(&s->hi, t, r, false);
		ring_drop_until(&s->lo, t - max_ms(p->window_up, p->window_down));
		ring_drop_until(&s->hi, t - max_ms(p->window_up, p->window_down));
	}

	/* Step 6: rate limits, then [min, max_eff]. */
	desired = stab;
	if (stab > cur) {
		int64_t limit = rate_limit(p, s, t, cur, true), allowed = max_eff;

		if (limit < cur)
			limit = cur;
		limit_reason = max_eff < p->max_replicas ? ENGINE_REASON_NODE_CAPACITY :
							   ENGINE_REASON_TOO_MANY_REPLICAS;
		if (allowed > limit) {
			allowed = limit;
			limit_reason = ENGINE_REASON_SCALE_UP_LIMIT;
		}
		if (stab > allowed) {
			desired = allowed;
			limited = true;
		}
	} else if (stab < cur) {
		int64_t limit = rate_limit(p, s, t, cur, false), allowed = p->min_replicas;

		if (limit > cur)
			limit = cur;
		limit_reason = ENGINE_REASON_TOO_FEW_REPLICAS;
		if (allowed < limit) {
			allowed = limit;
			limit_reason = ENGINE_REASON_SCALE_DOWN_LIMIT;
		}
		if (stab < allowed) {
			desired = allowed;
			limited = true;
		}
	}

	/* Step 7 (D2): no scale-down within the cooldown after a scale-up. */
	if (desired < cur && s->has_last_up && t - s->last_up < p->cooldown) {
		desired = cur;
		d.reason = ENGINE_REASON_COOLDOWN;
	} else if (limited) {
		d.reason = limit_reason;
	} else if (fallback) {
		d.reason = ENGINE_REASON_FALLBACK;
	} else if (desired > cur) {
		d.reason = ENGINE_REASON_SCALE_UP;
	} else if (desired < cur) {
		d.reason = ENGINE_REASON_SCALE_DOWN;
	} else if (stab != r) {
		d.reason = ENGINE_REASON_STABILIZED;
	} else {
		d.reason = ENGINE_REASON_WITHIN_TOLERANCE;
	}
	d.has_raw = true;
	d.raw = r;

nodes:
	/* Step 9: the node step, on every tick, with this tick's desired. */
	if (p->nodes)
		d.nodes = node_step(p, s, t, desired, obs->pool_size);
	d.desired = (int32_t)desired;
	*ret = d;
	return 0;
}

int engine_record_scale(const engine_policy_t *p, engine_state_t *s, engine_ms_t t,
			int32_t from, int32_t to)
{
	struct ring *q = to > from ? &s->up : &s->down;

	(void)p;
	if (from == to)
		return 0;
	if (!time_ok(t) || (q->n > 0 && t < ring_at(q, q->n - 1)->t))
		return -EINVAL;
	if (ring_reserve(q, 1) < 0)
		return -ENOMEM;
	ev_push(q, t, to > from ? (int64_t)to - from : (int64_t)from - to);
	if (to > from && (!s->has_last_up || t > s->last_up)) {
		s->has_last_up = true;
		s->last_up = t;
	}
	return 0;
}

/* ---- save and load -------------------------------------------------------------------- */

#define STATE_MAGIC "autoscalerd-engine-state 1"
/* More records than any window of 24 h at 1 ms could hold: a corrupt count, not a state. */
#define STATE_MAX_RECORDS 100000000

struct buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)w < b->cap - b->n) {
			b->n += (size_t)w;
			return;
		}
		{
			size_t cap = b->cap * 2 + (size_t)w + 1;
			char *np = realloc(b->p, cap);

			if (!np) {
				b->oom = true;
				return;
			}
			b->p = np;
			b->cap = cap;
		}
	}
}

static void put_opt(struct buf *b, const char *name, bool has, engine_ms_t t)
{
	if (has)
		bprintf(b, "%s %" PRId64 "\n", name, t);
	else
		bprintf(b, "%s -\n", name);
}

int engine_state_save(const engine_state_t *s, char **ret, size_t *ret_len)
{
	struct buf b = { .p = malloc(256), .cap = 256 };

	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';
	bprintf(&b, STATE_MAGIC "\n");
	put_opt(&b, "last_t", s->started, s->last_t);
	bprintf(&b, "failures %" PRId32 "\n", s->failures);
	put_opt(&b, "last_up", s->has_last_up, s->last_up);
	bprintf(&b, "size %" PRId32 "\n", s->size);
	put_opt(&b, "unneeded_since", s->has_unneeded, s->unneeded_since);
	put_opt(&b, "last_add", s->has_last_add, s->last_add);
	bprintf(&b, "lo %zu\n", s->lo.n);
	for (size_t i = 0; i < s->lo.n; i++)
		bprintf(&b, "%" PRId64 " %" PRId64 "\n", ring_at(&s->lo, i)->t, ring_at(&s->lo, i)->x);
	bprintf(&b, "hi %zu\n", s->hi.n);
	for (size_t i = 0; i < s->hi.n; i++)
		bprintf(&b, "%" PRId64 " %" PRId64 "\n", ring_at(&s->hi, i)->t, ring_at(&s->hi, i)->x);
	bprintf(&b, "up %zu %" PRId64 "\n", s->up.n, s->up.base);
	for (size_t i = 0; i < s->up.n; i++)
		bprintf(&b, "%" PRId64 " %" PRId64 "\n", ring_at(&s->up, i)->t, ring_at(&s->up, i)->x);
	bprintf(&b, "down %zu %" PRId64 "\n", s->down.n, s->down.base);
	for (size_t i = 0; i < s->down.n; i++)
		bprintf(&b, "%" PRId64 " %" PRId64 "\n", ring_at(&s->down, i)->t,
			ring_at(&s->down, i)->x);
	bprintf(&b, "end\n");
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*ret = b.p;
	*ret_len = b.n;
	return 0;
}

/* A cursor over the saved text, one line at a time. */
struct reader {
	const char *p, *end;
	int line;
	char cur[128];
};

/* The next line into r->cur; false at the end or on a line too long to be ours. */
static bool next_line(struct reader *r)
{
	const char *nl;
	size_t n;

	/* Counted before it is read: at the end, the line at fault is the missing one. */
	r->line++;
	if (r->p >= r->end)
		return false;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	if (!nl)
		return false; /* every line we write ends in '\n' */
	n = (size_t)(nl - r->p);
	if (n >= sizeof(r->cur) || memchr(r->p, '\0', n))
		return false;
	memcpy(r->cur, r->p, n);
	r->cur[n] = '\0';
	r->p = nl + 1;
	return true;
}

/* Strict signed decimal: digits only, no spaces, in range. */
static bool parse_i64(const char *s, int64_t *ret)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p || v > (uint64_t)INT64_MAX)
		return false;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

/* "name VALUE" or "name -". */
static bool read_opt(struct reader *r, const char *name, bool *has, int64_t *v)
{
	size_t n = strlen(name);

	if (!next_line(r) || strncmp(r->cur, name, n) || r->cur[n] != ' ')
		return false;
	if (!strcmp(r->cur + n + 1, "-")) {
		*has = false;
		*v = 0;
		return true;
	}
	*has = true;
	return parse_i64(r->cur + n + 1, v);
}

/* An optional time: also within ENGINE_MAX_TIME. */
static bool read_time(struct reader *r, const char *name, bool *has, engine_ms_t *t)
{
	return read_opt(r, name, has, t) && (!*has || time_ok(*t));
}

static bool read_int(struct reader *r, const char *name, int64_t *v)
{
	bool has;

	return read_opt(r, name, &has, v) && has;
}

/* "name COUNT [BASE]" then COUNT lines "T X". */
static bool read_header(struct reader *r, const char *name, int64_t *count, int64_t *base)
{
	size_t n = strlen(name);
	char *sp;

	if (!next_line(r) || strncmp(r->cur, name, n) || r->cur[n] != ' ')
		return false;
	sp = strchr(r->cur + n + 1, ' ');
	if (!base != !sp)
		return false;
	if (sp)
		*sp = '\0';
	if (!parse_i64(r->cur + n + 1, count) || *count < 0 || *count > STATE_MAX_RECORDS)
		return false;
	return !sp || parse_i64(sp + 1, base);
}

static bool read_pair(struct reader *r, int64_t *a, int64_t *b)
{
	char *sp;

	if (!next_line(r) || !(sp = strchr(r->cur, ' ')))
		return false;
	*sp = '\0';
	return parse_i64(r->cur, a) && parse_i64(sp + 1, b);
}

/* One deque: time never goes back, and values keep the deque's order (strictly rising
 * for the min-deque, falling for the max-deque), or the windows' answers would be wrong. */
static int read_deque(struct reader *r, const char *name, struct ring *q, bool keep_min)
{
	int64_t count, t, x;

	if (!read_header(r, name, &count, NULL))
		return -EINVAL;
	for (int64_t i = 0; i < count; i++) {
		if (!read_pair(r, &t, &x) || !time_ok(t))
			return -EINVAL;
		if (q->n > 0) {
			const struct item *back = ring_at(q, q->n - 1);

			if (t < back->t || (keep_min ? x <= back->x : x >= back->x))
				return -EINVAL;
		}
		if (ring_reserve(q, 1) < 0)
			return -ENOMEM;
		*ring_at(q, q->n) = (struct item){ t, x, 0 };
		q->n++;
	}
	return 0;
}

static int read_events(struct reader *r, const char *name, struct ring *q)
{
	int64_t count, base, t, n;

	if (!read_header(r, name, &count, &base) || base < 0 || base > INT64_MAX / 2)
		return -EINVAL;
	q->base = base;
	for (int64_t i = 0; i < count; i++) {
		if (!read_pair(r, &t, &n) || !time_ok(t) || n <= 0 || n > INT32_MAX)
			return -EINVAL;
		if (q->n > 0 && t < ring_at(q, q->n - 1)->t)
			return -EINVAL;
		if (ev_total(q) > INT64_MAX / 2)
			return -EINVAL;
		if (ring_reserve(q, 1) < 0)
			return -ENOMEM;
		ev_push(q, t, n);
	}
	return 0;
}

int engine_state_load(const char *text, size_t len, engine_state_t **ret, int *err_line)
{
	struct reader r = { .p = text, .end = text + len };
	engine_state_t *s = engine_state_new();
	int64_t v;
	int rc = -EINVAL;

	if (!s)
		return -ENOMEM;
	if (!next_line(&r) || strcmp(r.cur, STATE_MAGIC))
		goto out;
	if (!read_time(&r, "last_t", &s->started, &s->last_t))
		goto out;
	if (!read_int(&r, "failures", &v) || v < 0 || v > INT32_MAX)
		goto out;
	s->failures = (int32_t)v;
	if (!read_time(&r, "last_up", &s->has_last_up, &s->last_up))
		goto out;
	if (!read_int(&r, "size", &v) || v < -1 || v > ENGINE_MAX_NODES)
		goto out;
	s->size = (int32_t)v;
	if (!read_time(&r, "unneeded_since", &s->has_unneeded, &s->unneeded_since) ||
	    !read_time(&r, "last_add", &s->has_last_add, &s->last_add))
		goto out;
	if ((rc = read_deque(&r, "lo", &s->lo, true)) < 0 ||
	    (rc = read_deque(&r, "hi", &s->hi, false)) < 0 ||
	    (rc = read_events(&r, "up", &s->up)) < 0 ||
	    (rc = read_events(&r, "down", &s->down)) < 0)
		goto out;
	rc = -EINVAL;
	if (!next_line(&r) || strcmp(r.cur, "end") || r.p != r.end)
		goto out;
	/* Nothing recorded may be newer than the last tick. */
	if (s->started) {
		if ((s->lo.n && ring_at(&s->lo, s->lo.n - 1)->t > s->last_t) ||
		    (s->hi.n && ring_at(&s->hi, s->hi.n - 1)->t > s->last_t))
			goto out;
	} else if (s->lo.n || s->hi.n) {
		goto out;
	}
	*ret = s;
	s = NULL;
	rc = 0;
out:
	if (rc < 0 && err_line)
		*err_line = r.line;
	engine_state_free(s);
	return rc;
}
