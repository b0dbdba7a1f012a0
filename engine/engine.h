/* engine.h - the smoothing engine's public API.
 *
 * The engine turns one observation of one policy into a replica and node decision
 * (DESIGN.md sections 4 and 5). It is pure: no I/O, no clock, no globals; time is an
 * argument in milliseconds on any origin the caller picks, as long as it only moves
 * forward. The caller owns the policy (config/ fills and validates it) and the state.
 */
#ifndef AUTOSCALERD_ENGINE_H
#define AUTOSCALERD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Times and durations, in milliseconds. */
typedef int64_t engine_ms_t;

#define ENGINE_MS_PER_S ((engine_ms_t)1000)
/* Windows and periods are at most 24 h: this bounds the state the engine keeps. */
#define ENGINE_MAX_SPAN (24 * 3600 * ENGINE_MS_PER_S)
/* Times beyond +/- 2^61 ms (73 million years) are refused, so differences never overflow. */
#define ENGINE_MAX_TIME ((engine_ms_t)1 << 61)
/* Most rate policies per direction (HPA's behavior API has no limit; 8 is plenty). */
#define ENGINE_MAX_RATE_POLICIES 8
/* Largest replica and node counts a policy may name; keeps every product in range. */
#define ENGINE_MAX_REPLICAS 100000
#define ENGINE_MAX_NODES 1000
#define ENGINE_MAX_GPUS 1024

typedef enum engine_metric_type {
	ENGINE_METRIC_VALUE,         /* ratio = value / threshold, times ready replicas (D5) */
	ENGINE_METRIC_AVERAGE_VALUE, /* KEDA's AverageValue: ceil(value / threshold) */
} engine_metric_type_t;

typedef enum engine_select {
	ENGINE_SELECT_MAX,
	ENGINE_SELECT_MIN,
	ENGINE_SELECT_DISABLED,
} engine_select_t;

typedef enum engine_rate_type {
	ENGINE_RATE_PODS,
	ENGINE_RATE_PERCENT,
} engine_rate_type_t;

/* What a tick does with a missing or NaN value (DESIGN section 3, D4). */
typedef enum engine_on_empty {
	ENGINE_EMPTY_HOLD,
	ENGINE_EMPTY_ZERO,
} engine_on_empty_t;

typedef enum engine_on_nan {
	ENGINE_NAN_ZERO,
	ENGINE_NAN_HOLD,
} engine_on_nan_t;

typedef struct engine_rate_policy {
	engine_rate_type_t type;
	int32_t value;      /* pods, or percent; >= 1 */
	engine_ms_t period; /* > 0, <= ENGINE_MAX_SPAN */
} engine_rate_policy_t;

/* One direction of HPA's behavior: how fast replicas may change. */
typedef struct engine_rules {
	engine_select_t select;
	int n; /* 0..ENGINE_MAX_RATE_POLICIES; >= 1 unless select is disabled */
	engine_rate_policy_t p[ENGINE_MAX_RATE_POLICIES];
} engine_rules_t;

/* Everything the engine needs to know about one policy. Plain data; config/ fills it and
 * validates it, the engine trusts it. */
typedef struct engine_policy {
	int32_t min_replicas; /* >= 1 */
	int32_t max_replicas; /* >= min_replicas */
	double threshold;     /* T, >= 0.001 */
	engine_metric_type_t metric_type;
	double tol_up, tol_down; /* inclusive tolerance around ratio 1 */
	engine_ms_t window_up, window_down; /* stabilization windows, may be 0 */
	engine_ms_t cooldown;               /* no scale-down this long after a scale-up (D2) */
	engine_rules_t up, down;
	engine_on_empty_t on_empty;
	engine_on_nan_t on_nan;
	bool fallback;            /* replicas after failure_threshold ticks without data */
	int32_t fallback_failures; /* >= 1 */
	int32_t fallback_replicas;

	/* Capacity (D3). gpus_per_node 0 = unknown, then max_eff = max_replicas. */
	int32_t gpus_per_node;
	int32_t gpus_per_replica; /* >= 1 */
	int32_t pool_size;        /* nodes without node autoscaling */

	/* Node autoscaling (section 5); the fields below matter only when nodes is true. */
	bool nodes;
	int32_t min_nodes, max_nodes;
	engine_ms_t node_unneeded_time;   /* scale_down_unneeded_time */
	engine_ms_t node_delay_after_add; /* scale_down_delay_after_add */
	engine_ms_t node_provision_time;  /* max_node_provision_time */
} engine_policy_t;

/* floor(gpus_per_node / gpus_per_replica), or -1 when GPUs per node are unknown. */
int engine_replicas_per_node(const engine_policy_t *p);

/* Nodes the policy may use: max_nodes with node autoscaling, pool_size without. */
int engine_nodes_max(const engine_policy_t *p);

/* max_eff of D3: min(max_replicas, nodes_max * replicas_per_node) when GPUs per node are
 * known, else max_replicas. May be 0 (no replica fits): config/ rejects such policies. */
int engine_max_eff(const engine_policy_t *p);

/* ---- ticks ------------------------------------------------------------------------------ */

/* What the metric query gave (DESIGN section 3). */
typedef enum engine_value_kind {
	ENGINE_VALUE_NUMBER, /* a finite number in .value */
	ENGINE_VALUE_FAILED, /* the query failed (replay: null) */
	ENGINE_VALUE_NAN,
	ENGINE_VALUE_POS_INF,
	ENGINE_VALUE_NEG_INF,
	ENGINE_VALUE_EMPTY, /* an empty result: the series are gone */
} engine_value_kind_t;

/* One observation of one policy. */
typedef struct engine_observation {
	engine_ms_t t;       /* strictly increasing from tick to tick */
	int32_t current;     /* spec.replicas, >= 0 */
	engine_value_kind_t kind;
	double value;        /* when kind is ENGINE_VALUE_NUMBER */
	int32_t ready;       /* Ready pods; < 0: unknown, taken as current */
	int32_t status;      /* status.replicas; <= 0: taken as current */
	int32_t pool_size;   /* observed node pool size; < 0: the engine's own */
} engine_observation_t;

/* Initialise an observation with only t and current known. */
#define ENGINE_OBSERVATION(t_, current_)                                                   \
	((engine_observation_t){ .t = (t_), .current = (current_), .kind = ENGINE_VALUE_FAILED, \
				 .ready = -1, .status = -1, .pool_size = -1 })

/* Which rule decided a tick (informative; DESIGN section 4). */
typedef enum engine_reason {
	ENGINE_REASON_WITHIN_TOLERANCE,
	ENGINE_REASON_SCALE_UP,
	ENGINE_REASON_SCALE_DOWN,
	ENGINE_REASON_SCALE_UP_LIMIT,
	ENGINE_REASON_SCALE_DOWN_LIMIT,
	ENGINE_REASON_TOO_MANY_REPLICAS,
	ENGINE_REASON_TOO_FEW_REPLICAS,
	ENGINE_REASON_STABILIZED,
	ENGINE_REASON_COOLDOWN,
	ENGINE_REASON_METRIC_UNAVAILABLE,
	ENGINE_REASON_NO_READY_REPLICAS,
	ENGINE_REASON_NODE_CAPACITY,
	ENGINE_REASON_FALLBACK,
} engine_reason_t;

/* "WithinTolerance", "ScaleUp", ... as DESIGN section 4 spells them. */
const char *engine_reason_name(engine_reason_t r);

typedef struct engine_decision {
	int32_t desired;        /* replicas to set; = current when held */
	int32_t nodes;          /* node pool size wanted; -1 without node autoscaling */
	engine_reason_t reason;
	bool has_raw;           /* a raw recommendation was computed this tick */
	int64_t raw;            /* that recommendation (step 4, or fallback replicas) */
} engine_decision_t;

/* The memory of one policy: recommendations, scale events, cooldown, failures and the
 * node timers. Opaque; its size grows with the records inside the longest window or
 * period and no further. */
typedef struct engine_state engine_state_t;

/* A fresh state (the next tick is a "first tick"). NULL when out of memory. */
engine_state_t *engine_state_new(void);
engine_state_t *engine_state_free(engine_state_t *s);

/* One tick of DESIGN sections 4 and 5: the replica decision, then the node step. Records
 * the recommendation; records no scale (see engine_record_scale). Returns 0 and fills
 * *ret, or -EINVAL when obs->t is not after the previous tick, |obs->t| exceeds
 * ENGINE_MAX_TIME or obs->current < 0 (the state is then unchanged), or -ENOMEM (the state stays usable; the tick did not happen). */
int engine_tick(const engine_policy_t *p, engine_state_t *s, const engine_observation_t *obs,
		engine_decision_t *ret);

/* Step 8: the scale from `from` to `to` replicas at time t succeeded (the daemon calls it
 * after a 2xx; replay after every tick that changed the count). A no-op when from == to.
 * Events of one direction are recorded in time order: t before the last one recorded in
 * that direction, or beyond ENGINE_MAX_TIME, is -EINVAL. Returns 0, -EINVAL or -ENOMEM (state unchanged on error). */
int engine_record_scale(const engine_policy_t *p, engine_state_t *s, engine_ms_t t,
			int32_t from, int32_t to);

/* The state as text (a versioned line format) for the daemon's state file. *ret is
 * malloc'd and NUL-terminated; the caller frees. Returns 0 or -ENOMEM. */
int engine_state_save(const engine_state_t *s, char **ret, size_t *ret_len);

/* Parse what engine_state_save wrote. Returns 0 and a new state in *ret, or -EINVAL when
 * the text is not a state this version can read (then *err_line, when not NULL, is the
 * 1-based line at fault), or -ENOMEM. Never trusts the text: counts, times and orders are
 * checked. */
int engine_state_load(const char *text, size_t len, engine_state_t **ret, int *err_line);

#endif
