/* engine-vectors.h - the engine's conformance tables: DESIGN.md sections 4 and 5 by hand.
 *
 * Every expected value below was worked out from DESIGN's text, never taken from a run of
 * the engine; the comment on each row is that arithmetic. test-engine.c parses the rows
 * and runs them through the public API (and through its own literal model of DESIGN).
 *
 * Policy strings, space-separated key=value (unset keys keep these defaults):
 *   min=1 max=100 T=1 type=avg tol=0 wup=0s wdown=0s C=0s
 *   up=max:pods/100000/1s down=max:pct/100/1s   (rate limits that never bind)
 *   empty=hold nan=zero fb=off gpn=0 gpr=1 pool=1 nodes=off unneeded=600s delay=600s
 *   type=value|avg, tol= sets tolup= and toldown=, fb=FAILURES/REPLICAS,
 *   up=/down= SELECT[:TYPE/VALUE/PERIOD,...] with SELECT max|min|disabled, TYPE pods|pct,
 *   nodes=MIN/MAX turns node autoscaling on. Durations carry a unit: ms, s, m, h.
 * With the defaults (type=avg, T=1, tol=0, status = current) the raw recommendation is
 * r = ceil(value): within the band only when value == current, and then r = status = cur.
 *
 * Steps:
 *   "S TIME FROM->TO"  engine_record_scale (a scale that succeeded)
 *   "T TIME cur=N v=V [ready=N] [status=N] [pool=N] => DESIRED|EINVAL [nodes=N] [raw=N|raw=-]
 *    [Reason]"  one engine_tick; V is a number, null (query failed), NaN, +Inf, -Inf or
 *   empty; ready/status/pool default to -1 (= current / the engine's own). Unlisted
 *   expectations are not checked, except nodes, which must be -1 without node autoscaling.
 */
#ifndef AUTOSCALERD_ENGINE_VECTORS_H
#define AUTOSCALERD_ENGINE_VECTORS_H

#define SCENARIO_MAX_STEPS 24

struct scenario {
	const char *name;
	const char *policy;
	const char *steps[SCENARIO_MAX_STEPS];
};

/* HPA's default behavior (pods 4/15s + percent 100/15s, select max; down percent 100/15s). */
#define HPA_DEFAULT "up=max:pods/4/15s,pct/100/15s down=max:pct/100/15s"
/* r = ceil(value * 1) = value with ready = 1 (tolerance 0): the vector's "desired". */
#define HPA_DIRECT "type=value T=1 tol=0 max=1000 "

/* ---- Kubernetes HPA unit-test vectors (pkg/controller/podautoscaler/horizontal_test.go) --
 * "now" is 1000 s; events at now-100 s, now-60 s, now-20 s. */
static const struct scenario hpa_vectors[] = {
	{ "hpa: scale up, default behavior", HPA_DIRECT HPA_DEFAULT,
	  { /* start 10: pods 10+4 = 14, percent ceil(10*2.0) = 20; max 20 < max_eff 1000 */
	    "T 1000s cur=10 v=50 ready=1 => 20 raw=50 ScaleUpLimit" } },
	{ "hpa: scale up, pods 100/60s + percent 100/60s",
	  HPA_DIRECT "up=max:pods/100/60s,pct/100/60s",
	  { /* pods 10+100 = 110, percent ceil(10*2.0) = 20; max 110 */
	    "T 1000s cur=10 v=500 ready=1 => 110 raw=500 ScaleUpLimit" } },
	{ "hpa: scale down, pods 20/60s + percent 1/60s",
	  HPA_DIRECT "down=max:pods/20/60s,pct/1/60s",
	  { /* pods 100-20 = 80, percent trunc(100*0.99) = 99; min of them 80 > min 1 */
	    "T 1000s cur=100 v=2 ready=1 => 80 raw=2 ScaleDownLimit" } },
	{ "hpa: scale down, percent 50/120s after down events 2, 4, 6",
	  HPA_DIRECT "down=max:pct/50/120s",
	  { "S 900s 120->118", "S 940s 118->114", "S 980s 114->108",
	    /* r = ceil(0*1) = 0; start 100 + 2+4+6 = 112; trunc(112*0.5) = 56 */
	    "T 1000s cur=100 v=0 ready=1 => 56 raw=0 ScaleDownLimit" } },
	{ "hpa: scale up, percent 300/300s after up 4 and down 2",
	  HPA_DIRECT "up=max:pct/300/300s",
	  { "S 940s 2->6", "S 940s 6->4",
	    /* start 6 - 4 + 2 = 4; ceil(4*4.0) = 16 */
	    "T 1000s cur=6 v=24 ready=1 => 16 raw=24 ScaleUpLimit" } },
	{ "hpa: scale up, pods 5/120s after up events 1, 5, 9", HPA_DIRECT "up=max:pods/5/120s",
	  { "S 900s 96->97", "S 940s 97->102", "S 980s 102->111",
	    /* start 100 - 15 = 85; 85+5 = 90 < cur: limit = cur = 100 */
	    "T 1000s cur=100 v=500 ready=1 => 100 raw=500 ScaleUpLimit" } },
	{ "hpa: scale-down stabilization {4 @ -2m, 5 @ -1m}", HPA_DIRECT HPA_DEFAULT " wdown=180s",
	  { /* first tick: R = (880,4) from step 1, (880,4) = r */
	    "T 880s cur=4 v=4 ready=1 => 4 raw=4",
	    /* r 5; up = 5 (W_up 0); down = max(5,4,4) = 5; s 5; limit max(8,8); not applied */
	    "T 940s cur=4 v=5 ready=1 => 5 raw=5 ScaleUp",
	    /* r 3; down = max(3, 4@880, 4@880, 5@940) = 5 (880 > 820); s = 5; percent 100:
	     * limit trunc(100*0) = 0; max(5, max(1, 0)) = 5 = s */
	    "T 1000s cur=100 v=3 ready=1 => 5 raw=3 ScaleDown" } },
	{ "hpa: scale-up stabilization {4 @ -2m, 5 @ -1m}", HPA_DIRECT HPA_DEFAULT " wup=300s",
	  { "T 880s cur=4 v=4 ready=1 => 4 raw=4",
	    /* r 5; up = min(5,4,4) = 4; down = 5; s = 4 = cur, s != r */
	    "T 940s cur=4 v=5 ready=1 => 4 raw=5 Stabilized",
	    /* r 7; up = min(7,4,4,5) = 4; s = 4; limit max(1+4, ceil(1*2.0)) = 5 */
	    "T 1000s cur=1 v=7 ready=1 => 4 raw=7 ScaleUp" } },
	{ "hpa: scale-up stabilization {10 @ -100m, 9 @ -3m, 5 @ -2m, 6 @ -1m}",
	  HPA_DIRECT HPA_DEFAULT " wup=300s wdown=300s",
	  { /* now = 10000 s; first tick at -100m */
	    "T 4000s cur=10 v=10 ready=1 => 10 raw=10",
	    /* 4000 <= 9820-300: out of both windows; up = down = 9; limit 0 -> 9 */
	    "T 9820s cur=10 v=9 ready=1 => 9 raw=9 ScaleDown",
	    /* up = min(5,9) = 5; down = max(5,9) = 9; s = 9 */
	    "T 9880s cur=10 v=5 ready=1 => 9 raw=5 ScaleDown",
	    /* up = min(6,9,5) = 5; down = max(6,9,5) = 9; s = 9 */
	    "T 9940s cur=10 v=6 ready=1 => 9 raw=6 ScaleDown",
	    /* up = min(100, 9, 5, 6) = 5; s = 5; limit max(1+4, 2) = 5: min(5, 5) = 5 = s */
	    "T 10000s cur=1 v=100 ready=1 => 5 raw=100 ScaleUp" } },
	{ "hpa: scale-down stabilization {10 @ -10m, 9 @ -3m, 5 @ -2m, 4 @ -1m}",
	  HPA_DIRECT HPA_DEFAULT " wdown=300s",
	  { "T 400s cur=10 v=10 ready=1 => 10 raw=10",
	    /* 400 <= 820-300: out; down = 9 */
	    "T 820s cur=10 v=9 ready=1 => 9 raw=9 ScaleDown",
	    "T 880s cur=10 v=5 ready=1 => 9 raw=5 ScaleDown",
	    "T 940s cur=10 v=4 ready=1 => 9 raw=4 ScaleDown",
	    /* down = max(3, 9@820, 5@880, 4@940) = 9 (400 <= 700 out); limit 0; 9 */
	    "T 1000s cur=100 v=3 ready=1 => 9 raw=3 ScaleDown" } },
	{ "hpa: external metric 8.6, value target 6.666",
	  "type=value T=6.666 tol=0.1 max=1000 " HPA_DEFAULT,
	  { /* m 8600, Tm 6666: ratio 1.290129 > 1.1; ceil(1.290129*3 = 3.8704) = 4; limit 7 */
	    "T 1000s cur=3 v=8.6 => 4 raw=4 ScaleUp" } },
	{ "hpa: external metric 8.6, average_value target 2.222",
	  "type=avg T=2.222 tol=0.1 max=1000 " HPA_DEFAULT,
	  { /* ratio 8600/(2222*3) = 1.290129 > 1.1; r = ceil(8600/2222 = 3.8704) = 4 */
	    "T 1000s cur=3 v=8.6 => 4 raw=4 ScaleUp" } },
};

/* ---- sections 4 and 5, rule by rule -------------------------------------------------- */
static const struct scenario rule_tables[] = {
	/* D1: the readiness base, and ready == 0 holds. */
	{ "D1: ready replicas are the base; none ready holds", "type=value T=1 tol=0.1",
	  { /* ratio 2 > 1.1, ready 0: held (HPA would compute 0) */
	    "T 0s cur=4 v=2 ready=0 => 4 raw=- NoReadyReplicas",
	    /* ratio 1.05 within [0.9, 1.1]: r = cur, ready does not matter */
	    "T 15s cur=4 v=1.05 ready=0 => 4 raw=4 WithinTolerance",
	    "T 30s cur=4 v=0.5 ready=0 => 4 raw=- NoReadyReplicas",
	    /* ceil(3*2) = 6: ready, not current, is the base */
	    "T 45s cur=4 v=3 ready=2 => 6 raw=6 ScaleUp",
	    /* ceil(0.5*3 = 1.5) = 2 */
	    "T 60s cur=4 v=0.5 ready=3 => 2 raw=2 ScaleDown",
	    /* ready unknown = current: ceil(2*4) = 8 */
	    "T 75s cur=4 v=2 => 8 raw=8 ScaleUp" } },
	{ "D1: a NoReadyReplicas tick records nothing and resets failures",
	  "type=value T=1 tol=0.1 wdown=100s fb=2/9",
	  { /* first tick: R (0,4); r = ceil(0.5*4) = 2; down = max(2,4) = 4; s = 4 */
	    "T 0s cur=4 v=0.5 => 4 raw=2 Stabilized",
	    "T 10s cur=4 v=null => 4 raw=- MetricUnavailable",		 /* failures 1 */
	    "T 50s cur=4 v=0.5 ready=0 => 4 raw=- NoReadyReplicas",	 /* data: failures 0 */
	    "T 60s cur=4 v=null => 4 raw=- MetricUnavailable",		 /* failures 1 < 2 */
	    /* (0,·) <= 100-100: out; nothing from 10, 50, 60 s: down = 2; s = 2 */
	    "T 100s cur=4 v=0.5 => 2 raw=2 ScaleDown" } },

	/* D2: cooldown. */
	{ "D2: no scale-down within the cooldown after a scale-up", "C=60s",
	  { "S 0s 1->5", /* last_up = 0 */
	    /* r 1, s 1, limit 0 -> desired 1 < 5 and 1 s - 0 < 60 s */
	    "T 1s cur=5 v=1 => 5 raw=1 Cooldown", "T 59999ms cur=5 v=1 => 5 Cooldown",
	    /* t - last_up == C: allowed */
	    "T 60s cur=5 v=1 => 1 ScaleDown" } },
	{ "D2: a scale-up restarts the cooldown, a scale-down does not", "C=60s",
	  { "S 0s 1->5",
	    /* cooldown holds only scale-downs */
	    "T 10s cur=5 v=8 => 8 ScaleUp", "S 10s 5->8",
	    /* 60 - 10 = 50 < 60 */
	    "T 60s cur=8 v=2 => 8 Cooldown", "T 70s cur=8 v=2 => 2 ScaleDown", "S 70s 8->2",
	    "T 80s cur=2 v=1 => 1 ScaleDown" } },
	{ "D2: a no-op scale is no scale-up", "C=60s",
	  { "S 0s 5->5", "T 1s cur=5 v=1 => 1 ScaleDown" } },
	{ "D2: cooldown 0", "C=0s", { "S 0s 1->5", "T 1ms cur=5 v=1 => 1 ScaleDown" } },
	{ "D2: cooldown wins over the rate limit", "C=60s down=max:pods/1/10s",
	  { "S 0s 1->5", /* the limit gives 4, the cooldown keeps 5 */
	    "T 30s cur=5 v=1 => 5 Cooldown" } },
	{ "D2: a fallback scale-down waits for the cooldown too", "C=60s fb=1/1",
	  { "S 0s 1->5", /* failures 1 >= 1: r = 1; s = 1; 1 < 5 inside the cooldown */
	    "T 1s cur=5 v=null => 5 raw=1 Cooldown" } },
	{ "D2: step 2 is not held by the cooldown", "C=60s max=4",
	  { "S 0s 2->6", /* cur 6 > max_eff 4: step 2 goes to 8, skipping 7 */
	    "T 1s cur=6 v=6 => 4 raw=- TooManyReplicas" } },

	/* D3: max_eff. */
	{ "D3: max_eff from the pool caps step 2 and step 6", "gpn=2 gpr=1 pool=2 max=10",
	  { /* rpn 2, max_eff min(10, 2*2) = 4 < max: NodeCapacity */
	    "T 0s cur=6 v=6 => 4 raw=- NodeCapacity",
	    /* s 8; limit 100002; allowed = max_eff 4 (4 > limit? no): min(8, 4) = 4 */
	    "T 10s cur=2 v=8 => 4 raw=8 NodeCapacity", "T 20s cur=4 v=9 => 4 NodeCapacity" } },
	{ "D3: without GPUs per node max_eff = max", "max=5",
	  { "T 0s cur=7 v=7 => 5 raw=- TooManyReplicas", "T 10s cur=3 v=9 => 5 TooManyReplicas" } },
	{ "D3: node autoscaling: max_eff from max_nodes", "gpn=8 gpr=3 nodes=1/3 max=10",
	  { /* rpn floor(8/3) = 2, max_eff min(10, 3*2) = 6; nodes ceil(6/2) = 3 */
	    "T 0s cur=1 v=20 pool=1 => 6 nodes=3 NodeCapacity" } },
	{ "D3: the rate limit against max_eff",
	  "gpn=2 gpr=1 pool=2 max=10 up=max:pods/2/60s",
	  { /* limit 1+2 = 3 < max_eff 4: ScaleUpLimit */
	    "T 0s cur=1 v=9 => 3 ScaleUpLimit",
	    /* limit 2+2 = 4 = max_eff: max_eff > limit fails -> NodeCapacity */
	    "T 10s cur=2 v=9 => 4 NodeCapacity" } },
	{ "D3: the rate limit against max", "max=4 up=max:pods/2/60s",
	  { "T 0s cur=1 v=9 => 3 ScaleUpLimit", "T 10s cur=2 v=9 => 4 TooManyReplicas" } },
	{ "step 2 and step 6 against min", "min=3",
	  { "T 0s cur=1 v=1 => 3 raw=- TooFewReplicas", "T 10s cur=0 v=5 => 3 TooFewReplicas",
	    /* s 1; limit 0 < min: allowed = min 3; 3 != s */
	    "T 20s cur=5 v=1 => 3 raw=1 TooFewReplicas" } },
	{ "step 6 down: limit against min", "min=3 down=max:pods/1/60s",
	  { /* limit 5-1 = 4 > min 3: ScaleDownLimit */
	    "T 0s cur=5 v=1 => 4 ScaleDownLimit",
	    /* limit 4-1 = 3 = min: min < limit fails -> TooFewReplicas */
	    "T 10s cur=4 v=1 => 3 TooFewReplicas" } },

	/* D4: missing data. */
	{ "D4: missing data holds; NaN is zero by default", "",
	  { "T 0s cur=3 v=null => 3 raw=- MetricUnavailable",
	    "T 10s cur=3 v=+Inf => 3 raw=- MetricUnavailable",
	    "T 20s cur=3 v=-Inf => 3 raw=- MetricUnavailable",
	    "T 30s cur=3 v=empty => 3 raw=- MetricUnavailable",
	    /* NaN -> 0: r = ceil(0/1000) = 0; s 0; limit 0 < min: allowed 1 != s */
	    "T 40s cur=3 v=NaN => 1 raw=0 TooFewReplicas" } },
	{ "D4: on_empty_result zero, on_nan hold", "empty=zero nan=hold",
	  { "T 0s cur=3 v=empty => 1 raw=0 TooFewReplicas",
	    "T 10s cur=3 v=NaN => 3 raw=- MetricUnavailable" } },
	{ "D4: fallback after exactly failure_threshold missing ticks", "fb=3/7",
	  { "T 0s cur=2 v=null => 2 MetricUnavailable",		/* failures 1 */
	    "T 10s cur=2 v=empty => 2 MetricUnavailable",	/* 2 */
	    "T 20s cur=2 v=+Inf => 7 raw=7 Fallback",		/* 3 >= 3: r = 7 */
	    "T 30s cur=7 v=null => 7 raw=7 Fallback",		/* 4: fallback again */
	    "T 40s cur=7 v=2 => 2 raw=2 ScaleDown",		/* data: 0 */
	    "T 50s cur=2 v=null => 2 MetricUnavailable",	/* 1 */
	    "T 60s cur=2 v=-Inf => 2 MetricUnavailable",	/* 2 */
	    "T 70s cur=2 v=2 => 2 raw=2 WithinTolerance",	/* data: 0 */
	    "T 80s cur=2 v=null => 2 MetricUnavailable",	/* 1 */
	    "T 90s cur=2 v=null => 2 MetricUnavailable",	/* 2 */
	    "T 100s cur=2 v=null => 7 raw=7 Fallback" } },	/* 3 */
	{ "D4: step-2 ticks leave failures as they are", "fb=3/7 max=10",
	  { "T 0s cur=2 v=null => 2 MetricUnavailable",		/* failures 1 */
	    "T 10s cur=12 v=null => 10 raw=- TooManyReplicas",	/* step 2: stays 1 */
	    "T 20s cur=2 v=null => 2 MetricUnavailable",	/* 2 */
	    "T 30s cur=12 v=5 => 10 raw=- TooManyReplicas",	/* step 2: stays 2, no reset */
	    "T 40s cur=2 v=null => 7 raw=7 Fallback" } },	/* 3 */
	{ "D4: NaN under on_nan zero is data and resets failures", "fb=2/7",
	  { "T 0s cur=3 v=null => 3 MetricUnavailable",		/* 1 */
	    "T 10s cur=3 v=NaN => 1 raw=0 TooFewReplicas",	/* data: 0 */
	    "T 20s cur=1 v=null => 1 MetricUnavailable",	/* 1 */
	    "T 30s cur=1 v=null => 7 raw=7 Fallback" } },	/* 2 */
	{ "D4: the fallback goes through stabilization and the rate limit",
	  "fb=1/20 wdown=100s up=max:pods/4/15s",
	  { /* first tick: R (0,2); r = 20; up 20; down max(20, 2) = 20; s 20; limit 2+4 */
	    "T 0s cur=2 v=null => 6 raw=20 ScaleUpLimit",
	    /* r 3; down = max(3, 2@0, 20@0) = 20: the fallback's r was recorded; s = 6 */
	    "T 10s cur=6 v=3 => 6 raw=3 Stabilized" } },
	{ "D4: fallback replicas capped by max and min", "min=2 max=5 fb=1/9",
	  { "T 0s cur=2 v=null => 5 raw=9 TooManyReplicas" } },
	{ "D4: fallback replicas below min", "min=2 max=5 fb=1/0",
	  { /* r 0; s 0; limit 0: allowed min 2 */
	    "T 0s cur=3 v=null => 2 raw=0 TooFewReplicas" } },
	{ "D4: without fallback missing data holds for ever", "",
	  { "T 0s cur=3 v=null => 3 MetricUnavailable", "T 1h cur=3 v=null => 3 MetricUnavailable",
	    "T 2h cur=3 v=empty => 3 MetricUnavailable", "T 3h cur=3 v=+Inf => 3 MetricUnavailable",
	    "T 4h cur=3 v=null => 3 MetricUnavailable" } },

	/* D5: value against average_value. */
	{ "D5: value type scales a fraction past ceil(1/T)", "type=value T=0.5 tol=0.1",
	  { /* m 900, Tm 500: ratio 1.8; ceil(1.8*2 = 3.6) = 4 */
	    "T 0s cur=2 v=0.9 => 4 raw=4 ScaleUp",
	    /* ratio 2; ceil(2*4) = 8 */
	    "T 10s cur=4 v=1 => 8 raw=8 ScaleUp",
	    /* ratio 1 within: r = cur; status plays no part */
	    "T 20s cur=4 v=0.5 status=9 ready=4 => 4 raw=4 WithinTolerance" } },
	{ "D5: average_value: ceil(value / T), tolerance against status",
	  "type=avg T=0.5 tol=0.1",
	  { /* ratio 900/(500*2) = 0.9 within: r = status = 2 */
	    "T 0s cur=2 v=0.9 => 2 raw=2 WithinTolerance",
	    /* ratio 1: a fraction never goes past ceil(1/0.5) = 2 */
	    "T 10s cur=2 v=1 => 2 raw=2 WithinTolerance",
	    /* ratio 1500/(500*3) = 1 within: r = status 3, not cur */
	    "T 20s cur=4 v=1.5 status=3 => 3 raw=3 ScaleDown",
	    /* ratio 3000/(500*4) = 1.5; r = ceil(3000/500) = 6; ready 0 plays no part */
	    "T 30s cur=4 v=3 ready=0 => 6 raw=6 ScaleUp",
	    /* status 0 = cur 6: ratio 3000/(500*6) = 1: r = 6 */
	    "T 40s cur=6 v=3 status=0 => 6 raw=6 WithinTolerance" } },

	/* Tolerance: inclusive on both sides, in milli-units. */
	{ "tolerance 0.1, edges exactly at 0.9 and 1.1", "type=value T=1 tol=0.1",
	  { /* 900/1000 = 0.9 >= 1 - 0.1 (the same double) */
	    "T 0s cur=10 v=0.9 => 10 raw=10 WithinTolerance",
	    /* 1100/1000 = 1.1 <= 1 + 0.1 */
	    "T 10s cur=10 v=1.1 => 10 raw=10 WithinTolerance",
	    /* 0.899: ceil(8.99) = 9 */
	    "T 20s cur=10 v=0.899 => 9 raw=9 ScaleDown",
	    /* 1.101: ceil(11.01) = 12 */
	    "T 30s cur=10 v=1.101 => 12 raw=12 ScaleUp",
	    /* m = llround(899.6) = 900: inside */
	    "T 40s cur=10 v=0.8996 => 10 raw=10 WithinTolerance",
	    /* m = llround(1100.4) = 1100: inside */
	    "T 50s cur=10 v=1.1004 => 10 raw=10 WithinTolerance",
	    /* m = 899: ceil(8.99) = 9 */
	    "T 60s cur=10 v=0.8994 => 9 raw=9 ScaleDown" } },
	{ "tolerance edges with T = 0.5", "type=value T=0.5 tol=0.1",
	  { "T 0s cur=10 v=0.45 => 10 raw=10 WithinTolerance",  /* 450/500 = 0.9 */
	    "T 10s cur=10 v=0.55 => 10 raw=10 WithinTolerance", /* 550/500 = 1.1 */
	    "T 20s cur=10 v=0.449 => 9 raw=9 ScaleDown",	/* 0.898: ceil(8.98) */
	    "T 30s cur=10 v=0.551 => 12 raw=12 ScaleUp" } },	/* 1.102: ceil(11.02) */
	{ "tolerance_up 0.5, tolerance_down 0.05", "type=value T=1 tolup=0.5 toldown=0.05",
	  { "T 0s cur=20 v=1.5 => 20 raw=20 WithinTolerance", /* 1.5 <= 1.5 */
	    "T 10s cur=20 v=1.501 => 31 raw=31 ScaleUp",      /* ceil(30.02) */
	    "T 20s cur=20 v=0.95 => 20 raw=20 WithinTolerance", /* 0.95 >= 1 - 0.05 */
	    "T 30s cur=20 v=0.949 => 19 raw=19 ScaleDown",    /* ceil(18.98) */
	    "T 40s cur=20 v=1.3 => 20 raw=20 WithinTolerance" } },
	{ "tolerance 0", "type=value T=1 tol=0",
	  { "T 0s cur=10 v=1 => 10 raw=10 WithinTolerance",
	    "T 10s cur=10 v=1.001 => 11 raw=11 ScaleUp",	/* ceil(10.01) */
	    "T 20s cur=10 v=0.999 => 10 raw=10",		/* ceil(9.99) = 10 */
	    "T 30s cur=10 v=0.98 => 10 raw=10",			/* ceil(9.8) = 10 */
	    "T 40s cur=10 v=0.89 => 9 raw=9 ScaleDown" } },	/* ceil(8.9) */
	{ "average_value tolerance edges", "type=avg T=1 tol=0.1",
	  { "T 0s cur=10 v=9 => 10 raw=10 WithinTolerance",	/* 9000/10000 = 0.9 */
	    "T 10s cur=10 v=11 => 10 raw=10 WithinTolerance",	/* 1.1 */
	    "T 20s cur=10 v=8.999 => 9 raw=9 ScaleDown",	/* 0.8999; ceil(8.999) */
	    "T 30s cur=10 v=11.001 => 12 raw=12 ScaleUp" } },	/* ceil(11.001) */

	/* Stabilization windows and the first tick. */
	{ "first tick: (t, cur) holds a scale-down for W_down", "wdown=60s",
	  { /* R (0,5) then (0,2): down = max(2, 5) = 5; s 5 */
	    "T 0s cur=5 v=2 => 5 raw=2 Stabilized",
	    "T 30s cur=5 v=2 => 5 Stabilized",		/* down = max(2, 5@0, 2@0) */
	    /* records at exactly t - W_down = 0 no longer count; (30,2): down 2 */
	    "T 60s cur=5 v=2 => 2 ScaleDown" } },
	{ "first tick: (t, cur) holds a scale-up for W_up", "wup=60s",
	  { "T 0s cur=2 v=5 => 2 raw=5 Stabilized",	/* up = min(5, 2@0) */
	    "T 59999ms cur=2 v=5 => 2 Stabilized",	/* 0 > -1 ms: still inside */
	    "T 60s cur=2 v=5 => 5 ScaleUp" } },		/* up = min(5, 5@59.999) */
	{ "first tick: recorded even when step 2 decides it", "wdown=60s max=5",
	  { "T 0s cur=7 v=1 => 5 raw=- TooManyReplicas",	/* R (0,7) only */
	    "T 10s cur=5 v=1 => 5 raw=1 Stabilized",		/* down = max(1, 7) = 7; s 5 */
	    /* up 9; down = max(9, 7, 1) = 9; s 9; allowed max_eff 5 */
	    "T 20s cur=5 v=9 => 5 raw=9 TooManyReplicas" } },
	{ "first tick: recorded even when held", "wdown=60s",
	  { "T 0s cur=5 v=null => 5 MetricUnavailable",	/* R (0,5) */
	    "T 10s cur=5 v=1 => 5 Stabilized",		/* down = max(1, 5@0) */
	    "T 60s cur=5 v=1 => 1 ScaleDown" } },	/* (0,5) out; (10,1): down 1 */
	{ "windows of 0 follow r at once", "wup=0s wdown=0s",
	  { "T 0s cur=5 v=2 => 2 ScaleDown", "T 1ms cur=2 v=9 => 9 ScaleUp",
	    "T 2ms cur=9 v=1 => 1 ScaleDown" } },
	{ "only the first tick of a fresh state records (t, cur)", "wup=60s wdown=60s",
	  { "T 0s cur=5 v=5 => 5 raw=5 WithinTolerance",
	    /* a gap: nothing inside either window, and no new (t, cur) record: down 2 */
	    "T 1h cur=5 v=2 => 2 raw=2 ScaleDown",
	    /* up = min(9, 2@1h) = 2 */
	    "T 3600001ms cur=2 v=9 => 2 raw=9 Stabilized" } },
	{ "a gap longer than every window, period and cooldown",
	  "wdown=120s C=300s up=max:pods/2/600s down=max:pct/100/600s",
	  { "T 0s cur=3 v=3 => 3 WithinTolerance",
	    /* up 9 (W_up 0); down = max(9, 3, 3) = 9; s 9; limit 3+2 = 5 */
	    "T 10s cur=3 v=9 => 5 ScaleUpLimit", "S 10s 3->5",
	    /* start 5 - 2 = 3; 3+2 = 5 = cur */
	    "T 20s cur=5 v=9 => 5 ScaleUpLimit",
	    /* down = max(1, 3@0, 3@0, 9@10, 9@20) = 9; s = 5 = cur */
	    "T 30s cur=5 v=1 => 5 raw=1 Stabilized",
	    /* 30 h later: R has nothing inside 120 s; U (10,2) is older than 600 s: start 5 */
	    "T 30h cur=5 v=9 => 7 ScaleUpLimit", "S 30h 5->7",
	    /* another hour: down window empty; 3600 s since last_up >= 300 s */
	    "T 31h cur=7 v=1 => 1 ScaleDown" } },

	/* Rate limits. */
	{ "up period cutoff is strict", "up=max:pods/4/60s",
	  { "S 0s 10->14",
	    /* start 14 - 4 = 10; 10+4 = 14 = cur */
	    "T 59999ms cur=14 v=30 => 14 ScaleUpLimit",
	    /* the event at exactly t - 60 s no longer counts: start 14 */
	    "T 60s cur=14 v=30 => 18 ScaleUpLimit" } },
	{ "down period cutoff is strict", "down=max:pods/2/60s",
	  { "S 0s 12->10",
	    "T 59999ms cur=10 v=1 => 10 ScaleDownLimit",	/* start 12; 12-2 = 10 */
	    "T 60s cur=10 v=1 => 8 ScaleDownLimit" } },		/* start 10 */
	{ "percent rounding: ceil up, trunc down", "up=max:pct/10/60s down=max:pct/10/60s",
	  { "T 0s cur=15 v=100 => 17 ScaleUpLimit",	/* ceil(15*1.1 = 16.5) */
	    "T 1s cur=15 v=1 => 13 ScaleDownLimit",	/* trunc(15*0.9 = 13.5) */
	    "T 2s cur=3 v=100 => 4 ScaleUpLimit",	/* ceil(3.3) */
	    "T 3s cur=3 v=1 => 2 ScaleDownLimit" } },	/* trunc(2.7) */
	{ "select min", "up=min:pods/4/60s,pct/100/60s down=min:pods/2/60s,pct/50/60s",
	  { "T 0s cur=10 v=100 => 14 ScaleUpLimit",	/* min(14, 20) */
	    "T 1s cur=10 v=1 => 8 ScaleDownLimit" } },	/* max(8, 5) */
	{ "select max", "up=max:pods/4/60s,pct/100/60s down=max:pods/2/60s,pct/50/60s",
	  { "T 0s cur=10 v=100 => 20 ScaleUpLimit",	/* max(14, 20) */
	    "T 1s cur=10 v=1 => 5 ScaleDownLimit" } },	/* min(8, 5) */
	{ "select disabled", "up=disabled down=disabled",
	  { "T 0s cur=10 v=100 => 10 ScaleUpLimit",	 /* limit = cur < max_eff */
	    "T 1s cur=10 v=1 => 10 ScaleDownLimit",	 /* limit = cur > min */
	    "T 2s cur=100 v=200 => 100 TooManyReplicas", /* limit = cur = max_eff */
	    "T 3s cur=1 v=0 => 1 TooFewReplicas" } },	 /* limit = cur = min */
	{ "Corrino's one pod per period; a down period counts the ups in it",
	  "up=max:pods/1/60s down=max:pods/1/90s",
	  { "T 0s cur=1 v=4 => 2 ScaleUpLimit", "S 0s 1->2",
	    "T 15s cur=2 v=4 => 2 ScaleUpLimit",	/* start 2-1 = 1; 1+1 = 2 */
	    "T 60s cur=2 v=4 => 3 ScaleUpLimit",	/* (0,1) at t - 60: out */
	    "S 60s 2->3",
	    /* down: start = 3 - (1+1) + 0 = 1 (both ups inside 90 s); 1-1 = 0; min 1: s = 1 */
	    "T 75s cur=3 v=1 => 1 ScaleDown" } },

	/* Section 5: nodes (rpn 2 everywhere below). */
	{ "nodes: grow at once, shrink after scale_down_unneeded_time",
	  "gpn=2 gpr=1 nodes=1/4 unneeded=600s delay=600s",
	  { "T 0s cur=1 v=1 pool=1 => 1 nodes=1",	/* required ceil(1/2) = 1 */
	    "T 10s cur=1 v=5 => 5 nodes=3",		/* 3 > 1: grow; last_add 10 */
	    "T 20s cur=5 v=1 => 1 nodes=3",		/* 1 < 3: unneeded_since 20 */
	    "T 619999ms cur=1 v=1 => 1 nodes=3",	/* 599.999 s < 600 s */
	    "T 620s cur=1 v=1 => 1 nodes=1" } },	/* 600 >= 600; 610 >= 600 */
	{ "nodes: scale_down_delay_after_add", "gpn=2 gpr=1 nodes=1/4 unneeded=60s delay=600s",
	  { "T 0s cur=1 v=1 pool=1 => 1 nodes=1",
	    "T 10s cur=1 v=5 => 5 nodes=3",		/* last_add 10 */
	    "T 20s cur=5 v=1 => 1 nodes=3",		/* unneeded_since 20 */
	    "T 80s cur=1 v=1 => 1 nodes=3",		/* 60 >= 60, but 70 < 600 */
	    "T 609999ms cur=1 v=1 => 1 nodes=3",	/* 599.999 s after the add */
	    "T 610s cur=1 v=1 => 1 nodes=1" } },
	{ "nodes: unneeded_since resets when required == size",
	  "gpn=2 gpr=1 nodes=1/4 unneeded=60s delay=600s",
	  { "T 0s cur=6 v=6 pool=3 => 6 nodes=3",	/* size from the pool; required 3 */
	    "T 10s cur=6 v=2 => 2 nodes=3",		/* unneeded_since 10 */
	    "T 30s cur=2 v=6 => 6 nodes=3",		/* required 3 == size: reset */
	    "T 40s cur=6 v=2 => 2 nodes=3",		/* unneeded_since 40 */
	    "T 70s cur=2 v=2 => 2 nodes=3",		/* 30 < 60 (60 without the reset) */
	    "T 99999ms cur=2 v=2 => 2 nodes=3",
	    /* 60 >= 60; last_add none (the first size is no add, or 600 s would block) */
	    "T 100s cur=2 v=2 => 2 nodes=1" } },
	{ "nodes: shrink to required, clamp to min_nodes",
	  "gpn=2 gpr=1 nodes=2/4 unneeded=0s delay=0s",
	  { "T 0s cur=8 v=8 pool=4 => 8 nodes=4",
	    "T 10s cur=8 v=5 => 5 nodes=3",		/* 3 < 4; 0 >= 0 at once */
	    "T 20s cur=5 v=1 => 1 nodes=2",		/* clamp(1, 2, 4) = 2 */
	    "T 30s cur=1 v=7 => 7 nodes=4", "T 40s cur=7 v=1 => 1 nodes=2" } },
	{ "nodes: the observed pool size overrides", "gpn=2 gpr=1 nodes=1/4 unneeded=60s delay=0s",
	  { "T 0s cur=2 v=2 => 2 nodes=1",		/* no pool given: min_nodes */
	    "T 10s cur=2 v=2 pool=3 => 2 nodes=3",	/* 1 < 3: unneeded_since 10 */
	    "T 40s cur=2 v=2 => 2 nodes=3",
	    "T 70s cur=2 v=2 pool=4 => 2 nodes=1",	/* 60 >= 60: shrink to 1 */
	    "T 80s cur=2 v=2 pool=0 => 2 nodes=1",	/* 0 < 1: grow */
	    "T 90s cur=6 v=6 pool=2 => 6 nodes=3" } },
	{ "nodes: the node step runs on held ticks", "gpn=2 gpr=1 nodes=1/4 unneeded=30s delay=0s",
	  { "T 0s cur=5 v=null pool=1 => 5 nodes=3 MetricUnavailable",	/* ceil(5/2) */
	    "T 10s cur=1 v=null => 1 nodes=3 MetricUnavailable",	/* since 10 */
	    "T 40s cur=1 v=+Inf => 1 nodes=1 MetricUnavailable",	/* 30 >= 30 */
	    /* step 2: max_eff min(100, 4*2) = 8: ceil(8/2) = 4 */
	    "T 50s cur=9 v=null => 8 nodes=4 NodeCapacity" } },
	{ "nodes: NoReadyReplicas ticks too", "type=value T=1 tol=0.1 gpn=2 gpr=1 nodes=1/4",
	  { "T 0s cur=7 v=3 ready=0 pool=1 => 7 nodes=4 NoReadyReplicas" } },
	{ "nodes: none without node autoscaling", "gpn=2 gpr=1 pool=3",
	  { "T 0s cur=1 v=1 pool=5 => 1 nodes=-1" } },

	/* Invalid ticks leave the state as it was. */
	{ "a tick not after the previous one, or with current < 0, is refused", "",
	  { "T 10s cur=2 v=2 => 2", "T 10s cur=2 v=5 => EINVAL", "T 9s cur=2 v=5 => EINVAL",
	    "T 11s cur=-1 v=5 => EINVAL", "T 11s cur=2 v=5 => 5 ScaleUp" } },
	{ "a refused first tick leaves the state fresh", "wdown=60s",
	  { "T 0s cur=-1 v=1 => EINVAL",
	    /* still the first tick, and t = 0 is not "after" anything yet */
	    "T 0s cur=5 v=2 => 5 Stabilized" } },
};

#endif
