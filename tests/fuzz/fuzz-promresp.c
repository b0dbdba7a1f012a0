/* fuzz-promresp.c - libFuzzer target for promql_parse_response() and what follows it in the
 * daemon: promql_reduce() and promql_apply().
 *
 * The first byte picks the HTTP status the body came with; the rest is the body, handed
 * over in a buffer of exactly its size (no NUL), so an over-read shows up under ASan.
 * Besides "no crash, no leak, no hang" the target holds the code to promql.h:
 *   - the parser returns 0, -EPROTO, -E2BIG or -ENOMEM, with *why agreeing (-EPROTO: API
 *     or MALFORMED, -E2BIG: LIMIT) and err one NUL-terminated, non-empty line;
 *   - a result has a known type, at most PROMQL_MAX_SERIES series and PROMQL_MAX_WARNINGS
 *     warnings, one labelless point for a scalar, one point per vector sample, a string
 *     only for a string result, and every point's text parses (promql_parse_value) to its
 *     value;
 *   - promql_reduce gives a kind that fits the value and the result type, promql_apply
 *     a finite number when it returns true, and a reason.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/promresp/, dictionary
 * promresp.dict.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql.h"
#include "tests/fuzz/fuzz-common.h"

static const long statuses[] = { 200, 400, 422, 503, 499, 500, 404, 429, 502, 204, 401, 501 };

static bool same_double(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return a == b;
}

static void check_text(const char *s, size_t size)
{
	REQUIRE(memchr(s, '\0', size) != NULL);
	REQUIRE(s[0] != '\0');
}

/* promql.h promises a parser's err one line. */
static void check_line(const char *s, size_t size)
{
	check_text(s, size);
	REQUIRE(strchr(s, '\n') == NULL);
}

static void check_result(const promql_result_t *r)
{
	REQUIRE(r->type == PROMQL_TYPE_VECTOR || r->type == PROMQL_TYPE_SCALAR ||
		r->type == PROMQL_TYPE_MATRIX || r->type == PROMQL_TYPE_STRING);
	REQUIRE(r->n_series <= PROMQL_MAX_SERIES);
	REQUIRE(r->n_warnings <= PROMQL_MAX_WARNINGS);
	for (size_t i = 0; i < r->n_warnings; i++)
		REQUIRE(r->warnings[i] != NULL);
	REQUIRE((r->string != NULL) == (r->type == PROMQL_TYPE_STRING));
	if (r->type == PROMQL_TYPE_SCALAR)
		REQUIRE(r->n_series == 1 && r->series[0].n_points == 1 &&
			r->series[0].n_labels == 0);
	for (size_t i = 0; i < r->n_series; i++) {
		const promql_series_t *s = &r->series[i];

		if (r->type == PROMQL_TYPE_VECTOR)
			REQUIRE(s->n_points == 1);
		for (size_t l = 0; l < s->n_labels; l++)
			REQUIRE(s->labels[l].name && s->labels[l].value);
		for (size_t p = 0; p < s->n_points; p++) {
			double v;

			REQUIRE(s->points[p].text != NULL);
			REQUIRE(promql_parse_value(s->points[p].text, &v) == 0);
			REQUIRE(same_double(v, s->points[p].v));
			fprintf(sink, "%s\n", s->points[p].text);
		}
	}
}

static void check_value(const promql_result_t *r, const promql_value_t *v)
{
	REQUIRE(memchr(v->error, '\0', sizeof(v->error)) != NULL);
	REQUIRE(!strchr(v->error, '\n')); /* one line, promql.h */
	REQUIRE(v->n_series == r->n_series);
	switch (v->kind) {
	case PROMQL_VALUE_NUMBER:
		REQUIRE(isfinite(v->value));
		break;
	case PROMQL_VALUE_NAN:
		REQUIRE(isnan(v->value));
		break;
	case PROMQL_VALUE_POS_INF:
		REQUIRE(isinf(v->value) && v->value > 0);
		break;
	case PROMQL_VALUE_NEG_INF:
		REQUIRE(isinf(v->value) && v->value < 0);
		break;
	case PROMQL_VALUE_EMPTY:
		REQUIRE(r->type == PROMQL_TYPE_VECTOR && r->n_series == 0);
		break;
	case PROMQL_VALUE_ERROR:
		REQUIRE(v->error[0] != '\0');
		break;
	default:
		REQUIRE(!"unknown kind");
	}
	if (r->type == PROMQL_TYPE_MATRIX || r->type == PROMQL_TYPE_STRING)
		REQUIRE(v->kind == PROMQL_VALUE_ERROR);
	if (r->type == PROMQL_TYPE_VECTOR && r->n_series == 0)
		REQUIRE(v->kind == PROMQL_VALUE_EMPTY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const promql_aggregation_t aggs[] = { PROMQL_AGG_NONE, PROMQL_AGG_SUM,
						     PROMQL_AGG_MAX, PROMQL_AGG_AVG };
	promql_result_t r = { 0 };
	promql_failure_t why = PROMQL_FAIL_NONE;
	char etype[32], err[PROMQL_ERROR_MAX];
	long status;
	char *body;
	int rv;

	if (size < 1)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	body = malloc(size - 1 ? size - 1 : 1);
	if (!body)
		return 0;
	memcpy(body, data + 1, size - 1);

	rv = promql_parse_response(status, body, size - 1, &r, &why, etype, err, sizeof(err));
	REQUIRE(rv == 0 || rv == -EPROTO || rv == -E2BIG || rv == -ENOMEM);
	if (rv != 0) {
		check_line(err, sizeof(err));
		REQUIRE(memchr(etype, '\0', sizeof(etype)) != NULL);
		if (rv == -EPROTO)
			REQUIRE(why == PROMQL_FAIL_API || why == PROMQL_FAIL_MALFORMED);
		if (rv == -E2BIG)
			REQUIRE(why == PROMQL_FAIL_LIMIT);
		if (why == PROMQL_FAIL_MALFORMED)
			REQUIRE(etype[0] == '\0');
		fprintf(sink, "%s: %s\n", etype, err);
		free(body);
		return 0;
	}
	check_result(&r);
	for (size_t a = 0; a < sizeof(aggs) / sizeof(aggs[0]); a++) {
		promql_value_t v;

		promql_reduce(&r, aggs[a], &v);
		check_value(&r, &v);
		for (int e = 0; e < 2; e++)
			for (int n = 0; n < 2; n++) {
				char why_text[256];
				double out = 0.0;

				if (promql_apply(&v, e ? PROMQL_EMPTY_ZERO : PROMQL_EMPTY_HOLD,
						 n ? PROMQL_NAN_HOLD : PROMQL_NAN_ZERO, &out, why_text,
						 sizeof(why_text)))
					REQUIRE(isfinite(out));
				check_line(why_text, sizeof(why_text)); /* one line, promql.h */
			}
	}
	promql_result_clear(&r);
	promql_result_clear(&r);
	free(body);
	return 0;
}
