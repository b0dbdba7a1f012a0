/* engine.h - the smoothing engine's public API.
 *
 * The engine turns one observation of one policy into a replica and node decision
 * (DESIGN.md sections 4 and 5). It is pure: no I/O, no clock, no globals; time is an
 * argument in milliseconds on any monotonic origin the caller picks.
 *
 * This header holds the policy description that config/ fills and the capacity arithmetic
 * of D3; the tick, state and serialization entry points come with the engine itself.
 */
#ifndef AUTOSCALERD_ENGINE_H
#define AUTOSCALERD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

/* Times and durations, in milliseconds. */
typedef int64_t engine_ms_t;

#define ENGINE_MS_PER_S ((engine_ms_t)1000)
/* Windows and periods are at most 24 h: this bounds the state the engine keeps. */
#define ENGINE_MAX_SPAN (24 * 3600 * ENGINE_MS_PER_S)
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

#endif
