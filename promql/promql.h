/* promql.h - the Prometheus HTTP API client, its results, and the query templates.
 *
 * DESIGN.md sections 3 and 7. One query is `GET /api/v1/query?query=...&timeout=...` (a
 * form POST when the URL would be long) through the asynchronous client of http/; the reply
 * is parsed with cJSON into a promql_result_t: every result type (vector, scalar, matrix,
 * string), values kept as Prometheus wrote them ("NaN", "+Inf", "-Inf" included) and as
 * doubles, the response's warnings, and for a refused query Prometheus's errorType and
 * error in the message.
 *
 * A result then becomes the one number a policy needs in two steps, both pure:
 *
 *   promql_reduce()  result -> a number, NaN, +Inf, -Inf, "empty" or an error; several
 *                    series are an error unless the policy names an aggregation (sum, max,
 *                    avg); a matrix or a string is an error;
 *   promql_apply()   the rules of section 3: empty -> no data (hold) or 0 (zero), NaN -> 0
 *                    (zero) or no data (hold), +Inf/-Inf and errors -> no data. It says in
 *                    words which rule decided ("NaN (no requests in the window): on_nan:
 *                    zero gives 0"), for `doctor` and the log.
 *
 * Templates. A policy's query is a template with the placeholders {{namespace}},
 * {{deployment}}, {{window}}, {{latency_slo}} and {{selector}}; promql_fill() writes the
 * query. Values are escaped for where they land: inside a "..." or '...' string literal
 * the quote and backslash are escaped, inside the string of a =~ or !~ matcher regular
 * expression metacharacters are quoted too (a Deployment "llama.8b" must not match
 * "llama-8b"), {{latency_slo}} is written the way vLLM labels its buckets ("5.0", "0.3",
 * "+Inf") and {{window}} as a Prometheus duration ("5m", "90s", "1h30m").
 *
 * Nothing here logs. Functions return 0 or a negative errno; outputs are written only on
 * success, except err, which is written on failure when not NULL.
 */
#ifndef AUTOSCALERD_PROMQL_H
#define AUTOSCALERD_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "promql/promql-check.h"

#define PROMQL_MAX_SERIES 100000  /* in one result; more is an error */
#define PROMQL_MAX_POINTS 1000000 /* in one matrix result, all series */
#define PROMQL_MAX_WARNINGS 32    /* kept; the rest are counted */
#define PROMQL_DEFAULT_POST_OVER 4096 /* URLs longer than this become a form POST */
#define PROMQL_ERROR_MAX 1024     /* bytes of a reply's error message, NUL included */

/* Corrino's query (the default of DESIGN section 3), a template. */
#define PROMQL_DEFAULT_QUERY                                                                  \
	"1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"{{latency_slo}}\","      \
	"{{selector}}}[{{window}}])) / sum(rate(vllm:e2e_request_latency_seconds_bucket{"    \
	"le=\"+Inf\",{{selector}}}[{{window}}])))"
/* The default {{selector}}: the labels Prometheus's Kubernetes pod discovery gives each
 * replica of the Deployment. */
#define PROMQL_DEFAULT_SELECTOR "namespace=\"{{namespace}}\",pod=~\"{{deployment}}-.+\""

/* ---- results ---------------------------------------------------------------------------- */

typedef struct promql_label {
	char *name, *value;
} promql_label_t;

typedef struct promql_point {
	double t;     /* seconds since the epoch */
	double v;     /* the value; NaN and the infinities as such */
	char *text;   /* the value as Prometheus wrote it: "0.25", "NaN", "+Inf" */
} promql_point_t;

typedef struct promql_series {
	promql_label_t *labels; /* sorted as received; none for a scalar */
	size_t n_labels;
	promql_point_t *points; /* one for a vector sample or a scalar, any number in a matrix */
	size_t n_points;
} promql_series_t;

typedef struct promql_result {
	promql_type_t type; /* PROMQL_TYPE_VECTOR, _SCALAR, _MATRIX or _STRING */
	promql_series_t *series; /* a scalar is one series of one point, without labels */
	size_t n_series;
	char *string;       /* a string result's value; NULL otherwise */
	double string_t;
	char **warnings;    /* "warnings" and "infos" of the response, in order */
	size_t n_warnings;
	size_t dropped_warnings; /* past PROMQL_MAX_WARNINGS */
} promql_result_t;

void promql_result_clear(promql_result_t *r); /* frees what r holds; r stays usable */

/* Why a response is not a result. */
typedef enum promql_failure {
	PROMQL_FAIL_NONE,
	PROMQL_FAIL_API,       /* Prometheus answered "status":"error": errorType and error */
	PROMQL_FAIL_MALFORMED, /* not a Prometheus API response (HTML, garbage, wrong shape) */
	PROMQL_FAIL_LIMIT,     /* more than PROMQL_MAX_SERIES / _POINTS */
} promql_failure_t;

/* Parses the body of an /api/v1/query response that came with HTTP status `status` (any
 * bytes, len of them). Returns 0 for "status":"success" with a well-formed result, which
 * replaces what *ret held (cleared); otherwise *ret is untouched and the return is -EPROTO
 * (PROMQL_FAIL_API or _MALFORMED), -E2BIG (_LIMIT) or -ENOMEM (_NONE), with *why set
 * and err holding one line (control characters as spaces): for an API error
 * "bad_data: 1:12: parse error: unexpected ...", for a malformed one what was wrong and
 * where ("HTTP 200: not JSON: \"<html><head>...\"", "data.result[2].value[1]: expected a
 * string"). error_type (when not NULL, at least 32 bytes) gets Prometheus's errorType or
 * "". Thread-safe. */
int promql_parse_response(long status, const char *body, size_t len, promql_result_t *ret,
			  promql_failure_t *why, char *error_type, char *err, size_t errsz);

/* A sample value as Prometheus writes it: a decimal number, "NaN", "+Inf", "-Inf" (and
 * "Inf"). Returns 0 or -EINVAL. */
int promql_parse_value(const char *s, double *ret);

/* ---- from a result to a number ----------------------------------------------------------- */

typedef enum promql_aggregation {
	PROMQL_AGG_NONE, /* several series are an error */
	PROMQL_AGG_SUM,
	PROMQL_AGG_MAX,
	PROMQL_AGG_AVG,
} promql_aggregation_t;

typedef enum promql_value_kind {
	PROMQL_VALUE_NUMBER, /* finite, in .value */
	PROMQL_VALUE_NAN,
	PROMQL_VALUE_POS_INF,
	PROMQL_VALUE_NEG_INF,
	PROMQL_VALUE_EMPTY,  /* an empty vector: the series are gone */
	PROMQL_VALUE_ERROR,  /* unusable: several series, a matrix, a string (see .error) */
} promql_value_kind_t;

typedef struct promql_value {
	promql_value_kind_t kind;
	double value;    /* NUMBER: the value; otherwise NaN or the infinity it stands for */
	size_t n_series; /* in the result */
	char error[256]; /* ERROR: why, one line, e.g. "3 series and no series_aggregation ..." */
} promql_value_t;

/* One number from a result: a vector's one sample or a scalar; several series combined by
 * agg (sum and avg of a NaN are NaN, max ignores NaN unless every value is NaN, +Inf and
 * -Inf follow IEEE arithmetic), or an error that lists a few of them when agg is NONE. */
void promql_reduce(const promql_result_t *r, promql_aggregation_t agg, promql_value_t *ret);

typedef enum promql_on_empty {
	PROMQL_EMPTY_HOLD, /* default: never scale on lost series */
	PROMQL_EMPTY_ZERO,
} promql_on_empty_t;

typedef enum promql_on_nan {
	PROMQL_NAN_ZERO, /* default: no requests = nothing is slow */
	PROMQL_NAN_HOLD,
} promql_on_nan_t;

/* Applies DESIGN section 3's rules: returns true with *ret the value to scale on, or false
 * (missing data: hold). why (when not NULL) gets the rule in words, one line, e.g. "0.25",
 * "NaN (no requests in the window): on_nan: zero gives 0", "empty result (the series are
 * gone): on_empty_result: hold, no scaling", "+Inf: missing data". */
bool promql_apply(const promql_value_t *v, promql_on_empty_t on_empty, promql_on_nan_t on_nan,
		  double *ret, char *why, size_t whysz);

/* ---- templates --------------------------------------------------------------------------- */

typedef struct promql_vars {
	const char *namespace_;  /* of the target */
	const char *deployment;
	int64_t window_ms;       /* collect_metrics_timespan, > 0 */
	double latency_slo;      /* latency_slo_seconds; +Inf allowed */
	const char *selector;    /* metric_selector; NULL: PROMQL_DEFAULT_SELECTOR. Its own
				    {{namespace}} and {{deployment}} are filled too */
} promql_vars_t;

/* Fills the template (NULL: PROMQL_DEFAULT_QUERY) into *ret (malloc'd, the caller frees).
 * -EINVAL for an unknown or unclosed placeholder, {{selector}} inside the selector, a value
 * that cannot be written where it lands (a ` in a raw string); -E2BIG when the query would
 * be longer than PROMQL_MAX_LEN; -ENOMEM. err says which and where, on one line. */
int promql_fill(const char *tmpl, const promql_vars_t *vars, char **ret, char *err,
		size_t errsz);

/* 5.0 -> "5.0", 0.3 -> "0.3", 1920 -> "1920.0", +Inf -> "+Inf": Python's repr of a float,
 * which is how vLLM (prometheus_client) writes its `le` labels. Returns the length, like
 * snprintf. */
int promql_format_le(double v, char *buf, size_t size);

/* 300000 -> "5m", 90000 -> "1m30s", 5400000 -> "1h30m", 1500 -> "1s500ms": a duration
 * Prometheus 2.x parses. ms > 0. Returns the length, like snprintf. */
int promql_format_duration(int64_t ms, char *buf, size_t size);

/* True when v is one of the `le` bounds of vLLM's vllm:e2e_request_latency_seconds
 * histogram (0.3 ... 7680.0, +Inf): a {{latency_slo}} that is not matches no bucket. */
bool promql_is_vllm_bucket(double v);

/* ---- the client -------------------------------------------------------------------------- */

typedef struct promql_client promql_client_t;
typedef struct promql_query promql_query_t;

typedef struct promql_client_opts {
	const char *url;          /* http(s)://host[:port][/prefix], no query or fragment */
	http_profile_t *profile;  /* TLS and credentials; optional; the client takes a ref */
	int64_t timeout_ms;       /* sent as Prometheus's `timeout`; the HTTP attempt gets
				     1 s more so Prometheus's own timeout error arrives first;
				     0: 5 s */
	http_retry_t retry;       /* per query; default none: the next poll is the retry */
	size_t max_response;      /* body ceiling; 0: HTTP_DEFAULT_MAX_RESPONSE */
	size_t post_over;         /* 0: PROMQL_DEFAULT_POST_OVER */
} promql_client_opts_t;

/* -EINVAL (bad URL, with err), -ENOMEM. */
int promql_client_new(http_client_t *h, const promql_client_opts_t *opts, promql_client_t **ret,
		      char *err, size_t errsz);
/* Cancels every query still running (their callbacks are never called). NULL-safe;
 * returns NULL. Not from inside a promql_done_fn. */
promql_client_t *promql_client_free(promql_client_t *c);

typedef struct promql_reply {
	http_outcome_t outcome; /* SUCCESS: result is set */
	const char *error;      /* "" on success; else one line: "query llama-8b: HTTP 400:
				   bad_data: 1:5: parse error: ..." (the URL redacted) */
	const char *error_type; /* Prometheus's errorType, "" when none */
	promql_failure_t failure; /* for a response that came and was not a result */
	http_cause_t cause;     /* of the transport, as http/ classified it */
	long status;            /* 0 when no response arrived */
	const promql_result_t *result; /* SUCCESS only; valid during the callback */
	int attempts;
	int64_t elapsed_ms;     /* from promql_query() to the reply */
} promql_reply_t;

typedef void promql_done_fn(const promql_reply_t *reply, void *userdata);

/* Sends one instant query. time <= 0: the server's now; otherwise seconds since the epoch.
 * done is called exactly once, from the loop (never from here), unless the query is
 * cancelled or the client freed first. Outcome: SUCCESS when Prometheus answered a result;
 * RETRYABLE for transport failures, 429, 5xx but 501, and errorType timeout, canceled or
 * unavailable; PERMANENT otherwise (bad_data, execution, 4xx, a malformed or oversized
 * body). label (may be NULL) names the query in the error line. Fails without calling
 * done: -EINVAL (empty query), -E2BIG, -ENOBUFS, -ENOMEM (see http_submit). */
int promql_query(promql_client_t *c, const char *query, double time, const char *label,
		 promql_done_fn *done, void *userdata, promql_query_t **ret, char *err,
		 size_t errsz);

/* Cancels a query; its callback is never called. No-op from inside its own callback. */
void promql_cancel(promql_client_t *c, promql_query_t *q);

/* Queries running, for metrics and tests. */
size_t promql_client_pending(const promql_client_t *c);

#endif
