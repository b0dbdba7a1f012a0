/* test-promql-client.c - promql.h from its contract: the parser of /api/v1/query responses,
 * promql_reduce() and promql_apply() (DESIGN section 3's rules), the query templates, the
 * `le` and duration formats, and the asynchronous client against fake servers on loopback
 * ports chosen at run time (tests/fakes/fake-http.h's canned responder, fake-raw.h's broken
 * servers).
 *
 * Written from promql.h alone, not from the implementation. Every body handed to the
 * parser sits in a buffer of exactly its length, without a NUL, so that an over-read shows
 * up under valgrind. Results fed to promql_reduce() are built by hand (and never given to
 * promql_result_clear()), so that those tests do not depend on the parser. No assertion is
 * on an upper bound of a duration; the guard timer only stops a test that would hang.
 */
#include <check.h>
#include <errno.h>
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "autoscalerd/ev-glue.h"
#include "http/http.h"
#include "promql/promql-check.h"
#include "promql/promql.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-http.h"
#include "tests/fakes/fake-raw.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers: the parser ---------------------------------------------------------------- */

/* promql_parse_response on a copy of body[0..len) in a buffer of exactly len bytes. */
static int parse_n(long status, const char *body, size_t len, promql_result_t *r,
		   promql_failure_t *why, char *etype, char *err, size_t errsz)
{
	char *buf = malloc(len ? len : 1);
	int rv;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, body, len);
	rv = promql_parse_response(status, buf, len, r, why, etype, err, errsz);
	free(buf);
	return rv;
}

static int parse(long status, const char *body, promql_result_t *r, promql_failure_t *why,
		 char *etype, char *err, size_t errsz)
{
	return parse_n(status, body, strlen(body), r, why, etype, err, errsz);
}

/* One line, NUL-terminated within its buffer, not empty. */
static void assert_one_line(const char *s, size_t size, const char *what)
{
	ck_assert_msg(memchr(s, '\0', size) != NULL, "%s: not NUL-terminated", what);
	ck_assert_msg(s[0] != '\0', "%s: empty", what);
	ck_assert_msg(strchr(s, '\n') == NULL && strchr(s, '\r') == NULL,
		      "%s: more than one line: %s", what, s);
}

static bool same_double(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	return a == b;
}

#define OK_BODY(type, result)                                                               \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"" type "\",\"result\":" result  \
	"}}"

/* ---- promql_parse_response: results ----------------------------------------------------- */

START_TEST(test_parse_vector_empty)
{
	promql_result_t r = { 0 };
	promql_failure_t why = PROMQL_FAIL_LIMIT;
	char etype[32], err[PROMQL_ERROR_MAX];

	ck_assert_int_eq(parse(200, OK_BODY("vector", "[]"), &r, &why, etype, err, sizeof(err)),
			 0);
	ck_assert_int_eq(r.type, PROMQL_TYPE_VECTOR);
	ck_assert_uint_eq(r.n_series, 0);
	ck_assert_ptr_null(r.string);
	ck_assert_uint_eq(r.n_warnings, 0);
	ck_assert_uint_eq(r.dropped_warnings, 0);
	promql_result_clear(&r);
	promql_result_clear(&r); /* r stays usable: clearing twice is fine */
	ck_assert_uint_eq(r.n_series, 0);
}
END_TEST

START_TEST(test_parse_vector_one)
{
	static const char body[] = OK_BODY(
		"vector", "[{\"metric\":{\"__name__\":\"up\",\"job\":\"prometheus\","
			  "\"instance\":\"localhost:9090\"},\"value\":[1700000000.123,\"0.25\"]}]");
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX];
	const promql_series_t *s;

	ck_assert_int_eq(parse(200, body, &r, &why, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(r.type, PROMQL_TYPE_VECTOR);
	ck_assert_uint_eq(r.n_series, 1);
	s = &r.series[0];
	ck_assert_uint_eq(s->n_labels, 3);
	/* in the order received */
	ck_assert_str_eq(s->labels[0].name, "__name__");
	ck_assert_str_eq(s->labels[0].value, "up");
	ck_assert_str_eq(s->labels[1].name, "job");
	ck_assert_str_eq(s->labels[1].value, "prometheus");
	ck_assert_str_eq(s->labels[2].name, "instance");
	ck_assert_str_eq(s->labels[2].value, "localhost:9090");
	ck_assert_uint_eq(s->n_points, 1);
	ck_assert_double_eq_tol(s->points[0].t, 1700000000.123, 1e-6);
	ck_assert_double_eq(s->points[0].v, 0.25);
	ck_assert_str_eq(s->points[0].text, "0.25");
	promql_result_clear(&r);
}
END_TEST

/* Three samples, and the values Prometheus writes, kept both ways. */
START_TEST(test_parse_vector_three)
{
	static const char body[] = OK_BODY(
		"vector",
		"[{\"metric\":{\"pod\":\"a\"},\"value\":[1700000000,\"0.25\"]},"
		"{\"metric\":{},\"value\":[1700000000,\"NaN\"]},"
		"{\"metric\":{\"pod\":\"c\",\"namespace\":\"default\"},\"value\":[1700000000,\"+Inf\"]}]");
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX];

	ck_assert_int_eq(parse(200, body, &r, &why, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(r.type, PROMQL_TYPE_VECTOR);
	ck_assert_uint_eq(r.n_series, 3);
	ck_assert_uint_eq(r.series[0].n_labels, 1);
	ck_assert_str_eq(r.series[0].labels[0].value, "a");
	ck_assert_uint_eq(r.series[1].n_labels, 0);
	ck_assert_uint_eq(r.series[2].n_labels, 2);
	ck_assert_str_eq(r.series[2].labels[1].name, "namespace");
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(r.series[i].n_points, 1);
		ck_assert_double_eq(r.series[i].points[0].t, 1700000000.0);
	}
	ck_assert_double_eq(r.series[0].points[0].v, 0.25);
	ck_assert(isnan(r.series[1].points[0].v));
	ck_assert_str_eq(r.series[1].points[0].text, "NaN");
	ck_assert(isinf(r.series[2].points[0].v) && r.series[2].points[0].v > 0);
	ck_assert_str_eq(r.series[2].points[0].text, "+Inf");
	promql_result_clear(&r);
}
END_TEST

/* Each value as a one-sample vector: the double and the text as written. */
START_TEST(test_parse_values_in_vector)
{
	static const struct {
		const char *text;
		double v;
	} t[] = {
		{ "0.25", 0.25 }, { "NaN", NAN },     { "+Inf", INFINITY }, { "-Inf", -INFINITY },
		{ "1e-3", 1e-3 }, { "0", 0.0 },	      { "-1.5", -1.5 },	    { "42", 42.0 },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char body[256], err[PROMQL_ERROR_MAX];
		promql_result_t r = { 0 };
		promql_failure_t why;
		int rv;

		snprintf(body, sizeof(body),
			 OK_BODY("vector", "[{\"metric\":{},\"value\":[1700000000.5,\"%s\"]}]"),
			 t[i].text);
		rv = parse(200, body, &r, &why, NULL, err, sizeof(err));
		ck_assert_msg(rv == 0, "%s: %d %s", t[i].text, rv, err);
		ck_assert_uint_eq(r.n_series, 1);
		ck_assert_msg(same_double(r.series[0].points[0].v, t[i].v), "%s: %g", t[i].text,
			      r.series[0].points[0].v);
		ck_assert_str_eq(r.series[0].points[0].text, t[i].text);
		promql_result_clear(&r);
	}
}
END_TEST

START_TEST(test_parse_scalar)
{
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX];

	ck_assert_int_eq(parse(200, OK_BODY("scalar", "[1700000000.123,\"0.5\"]"), &r, &why, NULL,
			       err, sizeof(err)),
			 0);
	ck_assert_int_eq(r.type, PROMQL_TYPE_SCALAR);
	ck_assert_uint_eq(r.n_series, 1);
	ck_assert_uint_eq(r.series[0].n_labels, 0);
	ck_assert_uint_eq(r.series[0].n_points, 1);
	ck_assert_double_eq_tol(r.series[0].points[0].t, 1700000000.123, 1e-6);
	ck_assert_double_eq(r.series[0].points[0].v, 0.5);
	ck_assert_str_eq(r.series[0].points[0].text, "0.5");
	ck_assert_ptr_null(r.string);
	promql_result_clear(&r);
}
END_TEST

START_TEST(test_parse_matrix)
{
	static const char body[] = OK_BODY(
		"matrix", "[{\"metric\":{\"pod\":\"a\"},\"values\":[[1700000000,\"1\"],"
			  "[1700000015,\"2\"],[1700000030,\"NaN\"]]},"
			  "{\"metric\":{\"pod\":\"b\"},\"values\":[[1700000000,\"4\"],"
			  "[1700000015,\"+Inf\"],[1700000030,\"6.5\"]]}]");
	static const double want[2][3] = { { 1, 2, NAN }, { 4, INFINITY, 6.5 } };
	static const char *const text[2][3] = { { "1", "2", "NaN" }, { "4", "+Inf", "6.5" } };
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX];

	ck_assert_int_eq(parse(200, body, &r, &why, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(r.type, PROMQL_TYPE_MATRIX);
	ck_assert_uint_eq(r.n_series, 2);
	ck_assert_str_eq(r.series[0].labels[0].value, "a");
	ck_assert_str_eq(r.series[1].labels[0].value, "b");
	for (size_t s = 0; s < 2; s++) {
		ck_assert_uint_eq(r.series[s].n_points, 3);
		for (size_t p = 0; p < 3; p++) {
			const promql_point_t *pt = &r.series[s].points[p];

			ck_assert_double_eq(pt->t, 1700000000.0 + 15.0 * (double)p);
			ck_assert_msg(same_double(pt->v, want[s][p]), "[%zu][%zu] %g", s, p, pt->v);
			ck_assert_str_eq(pt->text, text[s][p]);
		}
	}
	promql_result_clear(&r);
}
END_TEST

START_TEST(test_parse_string)
{
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX];

	int rv = parse(200, OK_BODY("string", "[1700000000.25,\"hello \\\"w\\\"\"]"), &r, &why,
		       NULL, err, sizeof(err));

	ck_assert_msg(rv == 0, "%d %s", rv, err);
	ck_assert_int_eq(r.type, PROMQL_TYPE_STRING);
	ck_assert_ptr_nonnull(r.string);
	ck_assert_str_eq(r.string, "hello \"w\"");
	ck_assert_double_eq(r.string_t, 1700000000.25);
	promql_result_clear(&r);
	ck_assert_ptr_null(r.string);
}
END_TEST

START_TEST(test_parse_warnings)
{
	static const char body[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]},"
		"\"warnings\":[\"w one\",\"w two\"],\"infos\":[\"i one\"]}";
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX], big[8192];
	size_t n;

	ck_assert_int_eq(parse(200, body, &r, &why, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.n_warnings, 3);
	ck_assert_str_eq(r.warnings[0], "w one");
	ck_assert_str_eq(r.warnings[1], "w two");
	ck_assert_str_eq(r.warnings[2], "i one");
	ck_assert_uint_eq(r.dropped_warnings, 0);

	/* 40 warnings: PROMQL_MAX_WARNINGS kept in order, the rest counted. Parsing into a
	 * result that holds something clears it first. */
	n = (size_t)snprintf(big, sizeof(big), "{\"status\":\"success\",\"warnings\":[");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"w%d\"", i ? "," : "", i);
	snprintf(big + n, sizeof(big) - n,
		 "],\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"2\"]}}");
	ck_assert_int_eq(parse(200, big, &r, &why, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(r.type, PROMQL_TYPE_SCALAR);
	ck_assert_uint_eq(r.n_warnings, PROMQL_MAX_WARNINGS);
	ck_assert_uint_eq(r.dropped_warnings, 40 - PROMQL_MAX_WARNINGS);
	for (size_t i = 0; i < PROMQL_MAX_WARNINGS; i++) {
		char w[16];

		snprintf(w, sizeof(w), "w%zu", i);
		ck_assert_str_eq(r.warnings[i], w);
	}
	promql_result_clear(&r);
	ck_assert_uint_eq(r.n_warnings, 0);
}
END_TEST

/* ---- promql_parse_response: refusals and garbage ---------------------------------------- */

START_TEST(test_parse_api_errors)
{
	static const struct {
		long status;
		const char *type, *error;
	} t[] = {
		{ 400, "bad_data", "1:5: parse error: unexpected end of input" },
		{ 422, "execution", "query processing would load too many samples into memory in "
				    "query execution" },
		{ 503, "timeout", "query timed out in expression evaluation" },
		{ 499, "canceled", "context canceled" },
		{ 200, "execution", "expanding series: found duplicate series" },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char body[512], etype[64], err[PROMQL_ERROR_MAX];
		promql_result_t r = { 0 };
		promql_failure_t why = PROMQL_FAIL_NONE;
		int rv;

		snprintf(body, sizeof(body),
			 "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":\"%s\"}", t[i].type,
			 t[i].error);
		memset(etype, 'j', sizeof(etype));
		rv = parse(t[i].status, body, &r, &why, etype, err, sizeof(err));
		ck_assert_msg(rv == -EPROTO, "%s: %d", t[i].type, rv);
		ck_assert_int_eq(why, PROMQL_FAIL_API);
		ck_assert_str_eq(etype, t[i].type);
		assert_one_line(err, sizeof(err), t[i].type);
		/* "bad_data: 1:12: parse error: unexpected ...": the type, then the message */
		ck_assert_msg(strstr(err, t[i].type) && strstr(err, t[i].error) &&
				      strstr(err, t[i].type) < strstr(err, t[i].error),
			      "%s: err: %s", t[i].type, err);
		ck_assert_uint_eq(r.n_series, 0);
	}
}
END_TEST

/* err is one line even when Prometheus's message is not, and says something when
 * Prometheus said nothing. */
START_TEST(test_parse_api_error_odd_text)
{
	static const struct {
		const char *body, *has[2];
	} t[] = {
		{ "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"first\\nsecond\"}",
		  { "first", "second" } },
		{ "{\"status\":\"error\",\"errorType\":\"bad\\r\\ndata\",\"error\":\"x\"}",
		  { "bad", "data" } },
		{ "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"\"}",
		  { "timeout", NULL } },
		{ "{\"status\":\"error\",\"errorType\":\"\",\"error\":\"\"}", { NULL, NULL } },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char etype[64], err[PROMQL_ERROR_MAX];
		promql_result_t r = { 0 };
		promql_failure_t why = PROMQL_FAIL_NONE;

		ck_assert_int_eq(parse(503, t[i].body, &r, &why, etype, err, sizeof(err)), -EPROTO);
		ck_assert_int_eq(why, PROMQL_FAIL_API);
		assert_one_line(err, sizeof(err), t[i].body);
		for (size_t h = 0; h < 2; h++)
			if (t[i].has[h])
				ck_assert_msg(strstr(err, t[i].has[h]), "[%zu] err: %s", i, err);
	}
}
END_TEST

static const struct {
	long status;
	const char *body;
	const char *where; /* err must contain it; NULL: any message */
} malformed[] = {
	{ 200, "", NULL },
	{ 200, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
	  "not JSON" },
	{ 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[", NULL },
	{ 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric"
	       "\":{},\"value\":[1700000000,\"0.5\"]}", NULL },
	{ 200, "[{\"status\":\"success\"}]", NULL },
	{ 200, "null", NULL },
	{ 200, "42", NULL },
	{ 200, "\"success\"", NULL },
	{ 200, "{}", NULL },
	{ 200, "{\"data\":{\"resultType\":\"vector\",\"result\":[]}}", NULL },
	{ 200, "{\"status\":\"maybe\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", NULL },
	{ 200, "{\"status\":\"success\"}", "data" },
	{ 200, "{\"status\":\"success\",\"data\":[]}", "data" },
	{ 200, "{\"status\":\"success\",\"data\":{\"result\":[]}}", "resultType" },
	{ 200, OK_BODY("histogram", "[]"), "resultType" },
	{ 200, "{\"status\":\"success\",\"data\":{\"resultType\":7,\"result\":[]}}",
	  "resultType" },
	{ 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\"}}", "data.result" },
	{ 200, OK_BODY("vector", "{}"), "data.result" },
	{ 200, OK_BODY("vector", "\"x\""), "data.result" },
	{ 200, OK_BODY("vector", "[1]"), "data.result[0]" },
	{ 200, OK_BODY("vector", "[{\"metric\":{}}]"), "data.result[0]" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[1700000000]}]"),
	  "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[1700000000,\"1\",\"2\"]}]"),
	  "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":\"1\"}]"), "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[1700000000,0.5]}]"),
	  "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[1700000000,\"abc\"]}]"),
	  "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[1700000000,\"1.5x\"]}]"),
	  "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[\"now\",\"1\"]}]"),
	  "data.result[0].value" },
	{ 200, OK_BODY("vector", "[{\"metric\":{\"pod\":1},\"value\":[1700000000,\"1\"]}]"),
	  "data.result[0].metric" },
	{ 200, OK_BODY("vector", "[{\"metric\":[],\"value\":[1700000000,\"1\"]}]"),
	  "data.result[0].metric" },
	/* the contract's own example: the third sample's value is not a string */
	{ 200, OK_BODY("vector", "[{\"metric\":{},\"value\":[1,\"1\"]},{\"metric\":{},\"value\":"
				 "[1,\"2\"]},{\"metric\":{},\"value\":[1,3]}]"),
	  "data.result[2].value[1]" },
	{ 200, OK_BODY("matrix", "[{\"metric\":{},\"values\":[[1,\"1\"]]},{\"metric\":{},"
				 "\"values\":[[1,\"1\"],[2,\"2\"],[3,\"x\"]]}]"),
	  "data.result[1].values[2]" },
	{ 200, OK_BODY("matrix", "[{\"metric\":{},\"values\":\"no\"}]"), "data.result[0].values" },
	{ 200, OK_BODY("scalar", "\"0.5\""), "data.result" },
	{ 200, OK_BODY("scalar", "[1700000000,\"zero\"]"), "data.result" },
	{ 200, OK_BODY("string", "[1700000000,5]"), "data.result" },
	{ 200, "{\"status\":\"error\"}", NULL }, /* status error, no errorType nor error */
};

START_TEST(test_parse_malformed)
{
	char etype[64], err[PROMQL_ERROR_MAX];
	promql_result_t r = { 0 };
	promql_failure_t why = PROMQL_FAIL_NONE;
	int rv;

	memset(etype, 'j', sizeof(etype));
	memset(err, 'j', sizeof(err));
	rv = parse(malformed[_i].status, malformed[_i].body, &r, &why, etype, err, sizeof(err));
	ck_assert_msg(rv == -EPROTO, "[%d] %s: %d", _i, malformed[_i].body, rv);
	/* A status:error without errorType may count as an API refusal; everything else is
	 * not an API response. */
	if (strcmp(malformed[_i].body, "{\"status\":\"error\"}") != 0) {
		ck_assert_msg(why == PROMQL_FAIL_MALFORMED, "[%d] %s: why %d", _i,
			      malformed[_i].body, (int)why);
		ck_assert_msg(strcmp(etype, "") == 0, "[%d] error_type \"%.32s\"", _i, etype);
	} else {
		ck_assert(why == PROMQL_FAIL_MALFORMED || why == PROMQL_FAIL_API);
	}
	assert_one_line(err, sizeof(err), malformed[_i].body);
	if (malformed[_i].where)
		ck_assert_msg(strstr(err, malformed[_i].where), "[%d] %s: err \"%s\" lacks \"%s\"",
			      _i, malformed[_i].body, err, malformed[_i].where);
	ck_assert_uint_eq(r.n_series, 0);
	ck_assert_ptr_null(r.series);
}
END_TEST

/* The contract's example: "HTTP 200: not JSON: \"<html><head>...\"". */
START_TEST(test_parse_html_message)
{
	static const char html[] = "<html><head><title>Sign in</title></head>\n<body>...</body>"
				   "</html>\n";
	char err[PROMQL_ERROR_MAX];
	promql_result_t r = { 0 };
	promql_failure_t why;

	ck_assert_int_eq(parse(200, html, &r, &why, NULL, err, sizeof(err)), -EPROTO);
	ck_assert_int_eq(why, PROMQL_FAIL_MALFORMED);
	assert_one_line(err, sizeof(err), "html");
	ck_assert_msg(strstr(err, "HTTP 200") && strstr(err, "not JSON") && strstr(err, "<html>"),
		      "err: %s", err);

	/* A small err buffer gets a cut, terminated message. */
	{
		char small[16];

		memset(small, 'x', sizeof(small));
		ck_assert_int_eq(parse(200, html, &r, &why, NULL, small, sizeof(small)), -EPROTO);
		ck_assert_ptr_nonnull(memchr(small, '\0', sizeof(small)));
	}
	/* err, why and error_type may be NULL... err may be NULL at least with errsz 0. */
	ck_assert_int_eq(parse(200, html, &r, &why, NULL, NULL, 0), -EPROTO);
}
END_TEST

/* Outputs are written only on success: a failed parse leaves the previous result. */
START_TEST(test_parse_failure_keeps_result)
{
	promql_result_t r = { 0 };
	promql_failure_t why;
	char err[PROMQL_ERROR_MAX];

	ck_assert_int_eq(parse(200, OK_BODY("scalar", "[1,\"7\"]"), &r, &why, NULL, err,
			       sizeof(err)),
			 0);
	ck_assert_int_eq(parse(200, "<html>", &r, &why, NULL, err, sizeof(err)), -EPROTO);
	ck_assert_int_eq(parse(400, "{\"status\":\"error\",\"errorType\":\"bad_data\","
				    "\"error\":\"x\"}",
			       &r, &why, NULL, err, sizeof(err)),
			 -EPROTO);
	ck_assert_int_eq(r.type, PROMQL_TYPE_SCALAR);
	ck_assert_uint_eq(r.n_series, 1);
	ck_assert_double_eq(r.series[0].points[0].v, 7.0);
	promql_result_clear(&r);
}
END_TEST

/* 10,000 levels of nesting are refused, not recursed into. */
START_TEST(test_parse_deep_nesting)
{
	static const char *const heads[] = { "[", "{\"a\":",
					     ("{\"status\":\"success\",\"data\":{\"resultType\":"
					      "\"vector\",\"result\":[{\"metric\":{\"a\":") };
	const size_t depth = 10000;

	for (size_t h = 0; h < N_ELEMS(heads); h++) {
		size_t hl = strlen(heads[h]);
		char *body = malloc(hl * depth + 1);
		char err[PROMQL_ERROR_MAX];
		promql_result_t r = { 0 };
		promql_failure_t why;

		ck_assert_ptr_nonnull(body);
		if (h < 2) {
			for (size_t i = 0; i < depth; i++)
				memcpy(body + i * hl, heads[h], hl);
			body[hl * depth] = '\0';
		} else {
			memcpy(body, heads[h], hl);
			memset(body + hl, '[', depth);
			body[hl + depth] = '\0';
		}
		ck_assert_int_eq(parse(200, body, &r, &why, NULL, err, sizeof(err)), -EPROTO);
		ck_assert_int_eq(why, PROMQL_FAIL_MALFORMED);
		assert_one_line(err, sizeof(err), "nesting");
		free(body);
	}
}
END_TEST

/* A native histogram sample has "histogram" where a float sample has "value": no number
 * for a policy, and the message says why. */
START_TEST(test_parse_native_histogram)
{
	static const char *const bodies[] = {
		OK_BODY("vector", "[{\"metric\":{\"__name__\":\"rpc\"},\"histogram\":[1700000000,"
				  "{\"count\":\"10\",\"sum\":\"3.5\",\"buckets\":[[0,\"0.1\","
				  "\"0.2\",\"10\"]]}]}]"),
		OK_BODY("matrix", "[{\"metric\":{},\"histograms\":[[1700000000,{\"count\":\"1\","
				  "\"sum\":\"1\"}]]}]"),
	};

	for (size_t i = 0; i < N_ELEMS(bodies); i++) {
		char err[PROMQL_ERROR_MAX];
		promql_result_t r = { 0 };
		promql_failure_t why = PROMQL_FAIL_NONE;
		int rv = parse(200, bodies[i], &r, &why, NULL, err, sizeof(err));

		ck_assert_msg(rv == -EPROTO, "[%zu] %d", i, rv);
		ck_assert_int_eq(why, PROMQL_FAIL_MALFORMED);
		assert_one_line(err, sizeof(err), "histogram");
		ck_assert_msg(strstr(err, "histogram"), "err: %s", err);
		ck_assert_msg(strstr(err, "data.result[0]"), "err: %s", err);
	}
}
END_TEST

static char *series_body(size_t n, size_t *len)
{
	static const char head[] = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
				   "\"result\":[";
	static const char one[] = "{\"metric\":{},\"value\":[1,\"1\"]}";
	size_t cap = sizeof(head) + n * sizeof(one) + 8, at;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	memcpy(b, head, sizeof(head) - 1);
	at = sizeof(head) - 1;
	for (size_t i = 0; i < n; i++) {
		if (i)
			b[at++] = ',';
		memcpy(b + at, one, sizeof(one) - 1);
		at += sizeof(one) - 1;
	}
	memcpy(b + at, "]}}", 4);
	*len = at + 3;
	return b;
}

START_TEST(test_parse_series_limit)
{
	char err[PROMQL_ERROR_MAX];
	promql_result_t r = { 0 };
	promql_failure_t why = PROMQL_FAIL_NONE;
	size_t len;
	char *b = series_body(PROMQL_MAX_SERIES, &len);

	ck_assert_int_eq(parse_n(200, b, len, &r, &why, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.n_series, PROMQL_MAX_SERIES);
	promql_result_clear(&r);
	free(b);

	b = series_body(PROMQL_MAX_SERIES + 1, &len);
	ck_assert_int_eq(parse_n(200, b, len, &r, &why, NULL, err, sizeof(err)), -E2BIG);
	ck_assert_int_eq(why, PROMQL_FAIL_LIMIT);
	assert_one_line(err, sizeof(err), "limit");
	ck_assert_uint_eq(r.n_series, 0);
	free(b);
}
END_TEST

/* More than PROMQL_MAX_POINTS in a matrix. Hundreds of MB of cJSON nodes: not under
 * valgrind. */
START_TEST(test_parse_points_limit)
{
	static const char head[] = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
				   "\"result\":[{\"metric\":{},\"values\":[";
	const size_t n = PROMQL_MAX_POINTS + 1;
	size_t cap = sizeof(head) + n * 8 + 8, at = sizeof(head) - 1;
	char *b, err[PROMQL_ERROR_MAX];
	promql_result_t r = { 0 };
	promql_failure_t why = PROMQL_FAIL_NONE;

	if (getenv("AUTOSCALERD_VALGRIND"))
		return;
	b = malloc(cap);
	ck_assert_ptr_nonnull(b);
	memcpy(b, head, at);
	for (size_t i = 0; i < n; i++) {
		memcpy(b + at, i ? ",[1,\"1\"]" : "[1,\"1\"]", i ? 8 : 7);
		at += i ? 8 : 7;
	}
	memcpy(b + at, "]}]}}", 5);
	at += 5;
	ck_assert_int_eq(parse_n(200, b, at, &r, &why, NULL, err, sizeof(err)), -E2BIG);
	ck_assert_int_eq(why, PROMQL_FAIL_LIMIT);
	free(b);
}
END_TEST

/* ---- promql_parse_value ----------------------------------------------------------------- */

START_TEST(test_parse_value)
{
	static const struct {
		const char *s;
		int rv;
		double v;
	} t[] = {
		{ "0", 0, 0.0 },	  { "-1.5", 0, -1.5 },	     { "1e-3", 0, 1e-3 },
		{ "0.25", 0, 0.25 },	  { "NaN", 0, NAN },	     { "+Inf", 0, INFINITY },
		{ "-Inf", 0, -INFINITY }, { "Inf", 0, INFINITY },    { "1700000000.123", 0, 1700000000.123 },
		{ "", -EINVAL, 0 },	  { "abc", -EINVAL, 0 },     { "1.5x", -EINVAL, 0 },
		{ "nan", -EINVAL, 0 },	  { "0x10", -EINVAL, 0 },    { " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },	  { "+Inf ", -EINVAL, 0 },   { "NaNa", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },	  { "1e", -EINVAL, 0 },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		double v = 12345.0;
		int rv = promql_parse_value(t[i].s, &v);

		ck_assert_msg(rv == t[i].rv, "\"%s\": %d", t[i].s, rv);
		if (rv == 0)
			ck_assert_msg(same_double(v, t[i].v), "\"%s\": %.17g", t[i].s, v);
		else
			ck_assert_msg(v == 12345.0, "\"%s\": output written on failure", t[i].s);
	}
}
END_TEST

/* ---- promql_reduce ---------------------------------------------------------------------- */

/* Results built by hand: n series of one point each (a vector), owned by the test. */
struct built {
	promql_result_t r;
	promql_series_t series[8];
	promql_point_t points[8];
	promql_label_t labels[8];
	char names[8][24];
};

static void build(struct built *b, promql_type_t type, const double *v, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->r.type = type;
	b->r.series = n ? b->series : NULL;
	b->r.n_series = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(b->names[i], sizeof(b->names[i]), "p%zu", i);
		b->labels[i] = (promql_label_t){ "pod", b->names[i] };
		b->points[i] = (promql_point_t){ 1700000000.0, v[i], "?" };
		b->series[i].labels = type == PROMQL_TYPE_SCALAR ? NULL : &b->labels[i];
		b->series[i].n_labels = type == PROMQL_TYPE_SCALAR ? 0 : 1;
		b->series[i].points = &b->points[i];
		b->series[i].n_points = 1;
	}
}

static void reduce_one(const double *v, size_t n, promql_aggregation_t agg, promql_value_t *out)
{
	struct built b;

	build(&b, PROMQL_TYPE_VECTOR, v, n);
	memset(out, 0x5a, sizeof(*out));
	promql_reduce(&b.r, agg, out);
}

START_TEST(test_reduce_kinds)
{
	static const struct {
		double v;
		promql_value_kind_t kind;
	} t[] = {
		{ 0.25, PROMQL_VALUE_NUMBER },	     { 0.0, PROMQL_VALUE_NUMBER },
		{ -3.0, PROMQL_VALUE_NUMBER },	     { NAN, PROMQL_VALUE_NAN },
		{ INFINITY, PROMQL_VALUE_POS_INF }, { -INFINITY, PROMQL_VALUE_NEG_INF },
	};
	static const promql_aggregation_t aggs[] = { PROMQL_AGG_NONE, PROMQL_AGG_SUM,
						     PROMQL_AGG_MAX, PROMQL_AGG_AVG };

	for (size_t i = 0; i < N_ELEMS(t); i++)
		for (size_t a = 0; a < N_ELEMS(aggs); a++) {
			promql_value_t out;

			/* one series is that series, whatever the aggregation */
			reduce_one(&t[i].v, 1, aggs[a], &out);
			ck_assert_msg(out.kind == t[i].kind, "%g agg %d: kind %d", t[i].v,
				      (int)aggs[a], (int)out.kind);
			ck_assert_msg(same_double(out.value, t[i].v), "%g: value %g", t[i].v,
				      out.value);
			ck_assert_uint_eq(out.n_series, 1);
		}
}
END_TEST

START_TEST(test_reduce_empty)
{
	static const promql_aggregation_t aggs[] = { PROMQL_AGG_NONE, PROMQL_AGG_SUM,
						     PROMQL_AGG_MAX, PROMQL_AGG_AVG };

	for (size_t a = 0; a < N_ELEMS(aggs); a++) {
		promql_value_t out;

		reduce_one(NULL, 0, aggs[a], &out);
		ck_assert_int_eq(out.kind, PROMQL_VALUE_EMPTY);
		ck_assert(isnan(out.value));
		ck_assert_uint_eq(out.n_series, 0);
	}
}
END_TEST

START_TEST(test_reduce_several)
{
	static const double v126[] = { 1, 2, 6 };
	promql_value_t out;

	reduce_one(v126, 3, PROMQL_AGG_NONE, &out);
	ck_assert_int_eq(out.kind, PROMQL_VALUE_ERROR);
	ck_assert(isnan(out.value));
	ck_assert_uint_eq(out.n_series, 3);
	ck_assert_ptr_nonnull(memchr(out.error, '\0', sizeof(out.error)));
	ck_assert_msg(strstr(out.error, "3 series"), "error: %s", out.error);

	reduce_one(v126, 3, PROMQL_AGG_SUM, &out);
	ck_assert_int_eq(out.kind, PROMQL_VALUE_NUMBER);
	ck_assert_double_eq(out.value, 9.0);
	ck_assert_uint_eq(out.n_series, 3);
	reduce_one(v126, 3, PROMQL_AGG_MAX, &out);
	ck_assert_int_eq(out.kind, PROMQL_VALUE_NUMBER);
	ck_assert_double_eq(out.value, 6.0);
	reduce_one(v126, 3, PROMQL_AGG_AVG, &out);
	ck_assert_int_eq(out.kind, PROMQL_VALUE_NUMBER);
	ck_assert_double_eq(out.value, 3.0);
}
END_TEST

/* NaN and the infinities among several series. */
START_TEST(test_reduce_special)
{
	static const struct {
		double v[3];
		size_t n;
		promql_aggregation_t agg;
		promql_value_kind_t kind;
		double want;
	} t[] = {
		{ { 1, NAN, 2 }, 3, PROMQL_AGG_SUM, PROMQL_VALUE_NAN, NAN },
		{ { 1, NAN, 2 }, 3, PROMQL_AGG_AVG, PROMQL_VALUE_NAN, NAN },
		{ { NAN, 2 }, 2, PROMQL_AGG_MAX, PROMQL_VALUE_NUMBER, 2 },
		{ { 2, NAN }, 2, PROMQL_AGG_MAX, PROMQL_VALUE_NUMBER, 2 },
		{ { NAN, NAN, NAN }, 3, PROMQL_AGG_MAX, PROMQL_VALUE_NAN, NAN },
		{ { 1, INFINITY }, 2, PROMQL_AGG_SUM, PROMQL_VALUE_POS_INF, INFINITY },
		{ { 1, INFINITY }, 2, PROMQL_AGG_MAX, PROMQL_VALUE_POS_INF, INFINITY },
		{ { -INFINITY, 1 }, 2, PROMQL_AGG_AVG, PROMQL_VALUE_NEG_INF, -INFINITY },
		{ { -INFINITY, 1 }, 2, PROMQL_AGG_MAX, PROMQL_VALUE_NUMBER, 1 },
		{ { INFINITY, -INFINITY }, 2, PROMQL_AGG_SUM, PROMQL_VALUE_NAN, NAN },
		{ { -5, -1, -3 }, 3, PROMQL_AGG_MAX, PROMQL_VALUE_NUMBER, -1 },
		{ { 0.5, 0.25 }, 2, PROMQL_AGG_AVG, PROMQL_VALUE_NUMBER, 0.375 },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		promql_value_t out;

		reduce_one(t[i].v, t[i].n, t[i].agg, &out);
		ck_assert_msg(out.kind == t[i].kind && same_double(out.value, t[i].want),
			      "[%zu]: kind %d value %g", i, (int)out.kind, out.value);
		ck_assert_uint_eq(out.n_series, t[i].n);
	}
}
END_TEST

START_TEST(test_reduce_types)
{
	static const double one = 0.5, nan1 = NAN, two[] = { 1, 2 };
	struct built b;
	promql_value_t out;
	static const promql_aggregation_t aggs[] = { PROMQL_AGG_NONE, PROMQL_AGG_SUM,
						     PROMQL_AGG_MAX, PROMQL_AGG_AVG };

	build(&b, PROMQL_TYPE_SCALAR, &one, 1);
	promql_reduce(&b.r, PROMQL_AGG_NONE, &out);
	ck_assert_int_eq(out.kind, PROMQL_VALUE_NUMBER);
	ck_assert_double_eq(out.value, 0.5);
	build(&b, PROMQL_TYPE_SCALAR, &nan1, 1);
	promql_reduce(&b.r, PROMQL_AGG_NONE, &out);
	ck_assert_int_eq(out.kind, PROMQL_VALUE_NAN);

	for (size_t a = 0; a < N_ELEMS(aggs); a++) {
		/* a matrix, even of one series of one point, is not a number */
		build(&b, PROMQL_TYPE_MATRIX, &one, 1);
		memset(&out, 0, sizeof(out));
		promql_reduce(&b.r, aggs[a], &out);
		ck_assert_int_eq(out.kind, PROMQL_VALUE_ERROR);
		ck_assert(out.error[0] != '\0');
		ck_assert_ptr_nonnull(memchr(out.error, '\0', sizeof(out.error)));
		build(&b, PROMQL_TYPE_MATRIX, two, 2);
		promql_reduce(&b.r, aggs[a], &out);
		ck_assert_int_eq(out.kind, PROMQL_VALUE_ERROR);

		build(&b, PROMQL_TYPE_STRING, NULL, 0);
		b.r.string = "hello";
		memset(&out, 0, sizeof(out));
		promql_reduce(&b.r, aggs[a], &out);
		ck_assert_int_eq(out.kind, PROMQL_VALUE_ERROR);
		ck_assert(out.error[0] != '\0');
	}
}
END_TEST

/* ---- promql_apply ----------------------------------------------------------------------- */

START_TEST(test_apply_rules)
{
	static const struct {
		promql_value_kind_t kind;
		double value;
	} kinds[] = {
		{ PROMQL_VALUE_NUMBER, 0.25 },	    { PROMQL_VALUE_NAN, NAN },
		{ PROMQL_VALUE_POS_INF, INFINITY }, { PROMQL_VALUE_NEG_INF, -INFINITY },
		{ PROMQL_VALUE_EMPTY, NAN },	    { PROMQL_VALUE_ERROR, NAN },
	};
	static const promql_on_empty_t empties[] = { PROMQL_EMPTY_HOLD, PROMQL_EMPTY_ZERO };
	static const promql_on_nan_t nans[] = { PROMQL_NAN_ZERO, PROMQL_NAN_HOLD };

	for (size_t k = 0; k < N_ELEMS(kinds); k++)
		for (size_t e = 0; e < 2; e++)
			for (size_t n = 0; n < 2; n++) {
				promql_value_t v = { .kind = kinds[k].kind, .value = kinds[k].value };
				bool want_ok;
				double want = 0.0, got = -777.0;
				char why[256];
				bool ok;

				v.n_series = kinds[k].kind == PROMQL_VALUE_EMPTY ? 0 : 1;
				if (kinds[k].kind == PROMQL_VALUE_ERROR) {
					v.n_series = 3;
					snprintf(v.error, sizeof(v.error),
						 "3 series and no series_aggregation");
				}
				switch (kinds[k].kind) {
				case PROMQL_VALUE_NUMBER:
					want_ok = true;
					want = 0.25;
					break;
				case PROMQL_VALUE_NAN:
					want_ok = nans[n] == PROMQL_NAN_ZERO;
					break;
				case PROMQL_VALUE_EMPTY:
					want_ok = empties[e] == PROMQL_EMPTY_ZERO;
					break;
				default:
					want_ok = false;
				}
				memset(why, 'x', sizeof(why));
				ok = promql_apply(&v, empties[e], nans[n], &got, why, sizeof(why));
				ck_assert_msg(ok == want_ok, "kind %d empty %d nan %d: %d (%s)",
					      (int)kinds[k].kind, (int)empties[e], (int)nans[n], ok,
					      why);
				assert_one_line(why, sizeof(why), "why");
				if (ok)
					ck_assert_msg(got == want, "kind %d: %g", (int)kinds[k].kind,
						      got);
				else
					ck_assert_msg(got == -777.0,
						      "kind %d: *ret written when holding: %g",
						      (int)kinds[k].kind, got);
				/* the rule that decided is named */
				if (kinds[k].kind == PROMQL_VALUE_NAN)
					ck_assert_msg(strstr(why, "on_nan"), "why: %s", why);
				if (kinds[k].kind == PROMQL_VALUE_EMPTY)
					ck_assert_msg(strstr(why, "on_empty_result"), "why: %s", why);
				if (kinds[k].kind == PROMQL_VALUE_NUMBER)
					ck_assert_msg(strstr(why, "0.25"), "why: %s", why);
				if (kinds[k].kind == PROMQL_VALUE_POS_INF ||
				    kinds[k].kind == PROMQL_VALUE_NEG_INF)
					ck_assert_msg(strstr(why, "Inf"), "why: %s", why);
				/* why is optional */
				ck_assert(promql_apply(&v, empties[e], nans[n], &got, NULL, 0) ==
					  want_ok);
			}
}
END_TEST

/* why is cut to whysz, terminated, and nothing is written past it. */
START_TEST(test_apply_small_why)
{
	promql_value_t v = { .kind = PROMQL_VALUE_NAN, .value = NAN, .n_series = 1 };
	char why[16];
	double got;

	memset(why, 'x', sizeof(why));
	ck_assert(promql_apply(&v, PROMQL_EMPTY_HOLD, PROMQL_NAN_ZERO, &got, why, 8));
	ck_assert_double_eq(got, 0.0);
	ck_assert_ptr_nonnull(memchr(why, '\0', 8));
	for (size_t i = 8; i < sizeof(why); i++)
		ck_assert_int_eq(why[i], 'x');
}
END_TEST

/* ---- templates -------------------------------------------------------------------------- */

#define DEFAULT_LLAMA                                                                       \
	"1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"5.0\",namespace=\"default\"," \
	"pod=~\"llama-8b-.+\"}[5m])) / sum(rate(vllm:e2e_request_latency_seconds_bucket{"        \
	"le=\"+Inf\",namespace=\"default\",pod=~\"llama-8b-.+\"}[5m])))"

static promql_vars_t vars(const char *ns, const char *dep)
{
	promql_vars_t v = { .namespace_ = ns,
			    .deployment = dep,
			    .window_ms = 300000,
			    .latency_slo = 5.0,
			    .selector = NULL };

	return v;
}

/* Fills, expecting success, and returns the query (to free). */
static char *fill_ok(const char *tmpl, const promql_vars_t *v)
{
	char err[512] = "", *out = NULL;
	int rv = promql_fill(tmpl, v, &out, err, sizeof(err));

	ck_assert_msg(rv == 0, "fill \"%s\": %d %s", tmpl ? tmpl : "(default)", rv, err);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(test_fill_default)
{
	promql_vars_t v = vars("default", "llama-8b");
	char *q = fill_ok(NULL, &v);

	ck_assert_str_eq(q, DEFAULT_LLAMA);
	free(q);
	/* The macro is the same template. */
	q = fill_ok(PROMQL_DEFAULT_QUERY, &v);
	ck_assert_str_eq(q, DEFAULT_LLAMA);
	free(q);
	/* An explicit default selector is the same too. */
	v.selector = PROMQL_DEFAULT_SELECTOR;
	q = fill_ok(NULL, &v);
	ck_assert_str_eq(q, DEFAULT_LLAMA);
	free(q);
}
END_TEST

START_TEST(test_fill_escaping)
{
	static const struct {
		const char *tmpl, *ns, *dep, *sel;
		double slo;
		const char *want;
	} t[] = {
		/* a "." in a Deployment name must not match "-": regex-quoted, then the
		 * backslash escaped for the PromQL string */
		{ NULL, "default", "llama.8b", NULL, 5.0,
		  "1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"5.0\","
		  "namespace=\"default\",pod=~\"llama\\\\.8b-.+\"}[5m])) / "
		  "sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\","
		  "namespace=\"default\",pod=~\"llama\\\\.8b-.+\"}[5m])))" },
		{ "up{a=~\"{{deployment}}\"}", "ns", "llama.8b", NULL, 5.0,
		  "up{a=~\"llama\\\\.8b\"}" },
		{ "up{a!~\"{{deployment}}\"}", "ns", "llama.8b", NULL, 5.0,
		  "up{a!~\"llama\\\\.8b\"}" },
		{ "up{a=~'{{deployment}}-.+'}", "ns", "llama.8b", NULL, 5.0,
		  "up{a=~'llama\\\\.8b-.+'}" },
		{ "up{a=~`{{deployment}}`}", "ns", "llama.8b", NULL, 5.0,
		  "up{a=~`llama\\.8b`}" },
		{ "up{a=~\"x|{{deployment}}|y\"}", "ns", "a.b", NULL, 5.0,
		  "up{a=~\"x|a\\\\.b|y\"}" },
		/* a plain string is not a regex */
		{ "up{a=\"{{deployment}}\"}", "ns", "llama.8b", NULL, 5.0, "up{a=\"llama.8b\"}" },
		{ "label_replace(up, \"d\", \"{{deployment}}\", \"s\", \"\")", "ns", "llama.8b",
		  NULL, 5.0, "label_replace(up, \"d\", \"llama.8b\", \"s\", \"\")" },
		/* quotes and backslashes inside the string they land in */
		{ "up{a=\"{{namespace}}\"}", "a\"b", "d", NULL, 5.0, "up{a=\"a\\\"b\"}" },
		{ "up{a=\"{{namespace}}\"}", "a\\b", "d", NULL, 5.0, "up{a=\"a\\\\b\"}" },
		{ "up{a='{{namespace}}'}", "a'b", "d", NULL, 5.0, "up{a='a\\'b'}" },
		{ "up{a='{{namespace}}'}", "a\\b", "d", NULL, 5.0, "up{a='a\\\\b'}" },
		{ "up{a=`{{namespace}}`}", "default", "d", NULL, 5.0, "up{a=`default`}" },
		/* a value is data, not a template */
		{ "up{a=\"{{namespace}}\"}", "{{deployment}}", "d", NULL, 5.0,
		  "up{a=\"{{deployment}}\"}" },
		/* a custom selector gets its own placeholders filled */
		{ NULL, "prod", "llama-8b", "namespace=\"{{namespace}}\",app=\"{{deployment}}\"", 5.0,
		  "1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"5.0\","
		  "namespace=\"prod\",app=\"llama-8b\"}[5m])) / "
		  "sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\","
		  "namespace=\"prod\",app=\"llama-8b\"}[5m])))" },
		{ NULL, "prod", "llama.8b", "instance=~\"recipe-{{deployment}}\\\\.default:80\"", 0.3,
		  "1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"0.3\","
		  "instance=~\"recipe-llama\\\\.8b\\\\.default:80\"}[5m])) / "
		  "sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\","
		  "instance=~\"recipe-llama\\\\.8b\\\\.default:80\"}[5m])))" },
		{ "x{le=\"{{latency_slo}}\"}", "ns", "d", NULL, INFINITY, "x{le=\"+Inf\"}" },
		{ "x{le=\"{{latency_slo}}\"}", "ns", "d", NULL, 1920.0, "x{le=\"1920.0\"}" },
		{ "rate(x[{{window}}])", "ns", "d", NULL, 5.0, "rate(x[5m])" },
		/* no placeholder: verbatim, single braces included */
		{ "sum by (a) (up{a=\"}}\"})", "ns", "d", NULL, 5.0, "sum by (a) (up{a=\"}}\"})" },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		promql_vars_t v = vars(t[i].ns, t[i].dep);
		char *q;

		v.selector = t[i].sel;
		v.latency_slo = t[i].slo;
		q = fill_ok(t[i].tmpl, &v);
		ck_assert_msg(strcmp(q, t[i].want) == 0, "[%zu]\n got: %s\nwant: %s", i, q,
			      t[i].want);
		free(q);
	}
}
END_TEST

/* Regular-expression metacharacters of a Deployment name, in a =~ string. */
START_TEST(test_fill_regex_meta)
{
	promql_vars_t v = vars("ns", "a+b(c)|d");
	char *q = fill_ok("up{pod=~\"{{deployment}}\"}", &v);

	ck_assert_str_eq(q, "up{pod=~\"a\\\\+b\\\\(c\\\\)\\\\|d\"}");
	ck_assert_int_eq(promql_check(q, strlen(q), NULL, NULL), 0);
	free(q);
}
END_TEST

START_TEST(test_fill_errors)
{
	static const struct {
		const char *tmpl, *sel, *ns;
		int rv;
		const char *says; /* err contains it; NULL: any message */
	} t[] = {
		{ "up{a=\"{{foo}}\"}", NULL, "default", -EINVAL, "foo" },
		{ "up{a=\"{{}}\"}", NULL, "default", -EINVAL, NULL },
		{ "rate(x[{{window", NULL, "default", -EINVAL, NULL },
		{ "rate(x[{{window]) / {{namespace}}", NULL, "default", -EINVAL, NULL },
		{ "up{a=\"{{namespace}}\"} {{", NULL, "default", -EINVAL, NULL },
		{ NULL, "a=\"{{selector}}\"", "default", -EINVAL, "selector" },
		{ NULL, "a=\"{{nope}}\"", "default", -EINVAL, "nope" },
		{ NULL, "a=\"{{namespace\"", "default", -EINVAL, NULL },
		{ "up{a=`{{namespace}}`}", NULL, "a`b", -EINVAL, NULL },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		promql_vars_t v = vars(t[i].ns, "llama-8b");
		char err[512], *out = (char *)"untouched";
		int rv;

		v.selector = t[i].sel;
		memset(err, 0, sizeof(err));
		rv = promql_fill(t[i].tmpl, &v, &out, err, sizeof(err));
		ck_assert_msg(rv == t[i].rv, "[%zu] %s: %d", i, t[i].tmpl ? t[i].tmpl : t[i].sel, rv);
		ck_assert_str_eq(out, "untouched");
		assert_one_line(err, sizeof(err), "fill err");
		if (t[i].says)
			ck_assert_msg(strstr(err, t[i].says), "[%zu] err: %s", i, err);
	}
}
END_TEST

START_TEST(test_fill_too_long)
{
	size_t n = PROMQL_MAX_LEN / 2 + 16;
	char *dep = malloc(n + 1), err[512], *out = (char *)"untouched";
	promql_vars_t v;

	ck_assert_ptr_nonnull(dep);
	memset(dep, 'a', n);
	dep[n] = '\0';
	v = vars("default", dep); /* twice in the default query */
	ck_assert_int_eq(promql_fill(NULL, &v, &out, err, sizeof(err)), -E2BIG);
	ck_assert_str_eq(out, "untouched");
	assert_one_line(err, sizeof(err), "too long");
	/* Just under: fine. */
	dep[PROMQL_MAX_LEN / 4] = '\0';
	out = fill_ok(NULL, &v);
	ck_assert_uint_le(strlen(out), PROMQL_MAX_LEN);
	free(out);
	free(dep);
}
END_TEST

/* The filled default query is valid PromQL (promql-check.h) for any sensible target, and
 * an instant vector. */
START_TEST(test_fill_default_checks)
{
	static const char *const deps[] = { "llama-8b", "llama.8b", "a", "x-y-z.1",
					     "mistral-7b-instruct-v0.3", "q" };
	static const char *const nss[] = { "default", "ml-serving", "a.b" };
	static const int64_t windows[] = { 15000, 90000, 300000, 3600000, 1500 };
	static const double slos[] = { 0.3, 5.0, 7680.0, INFINITY, 0.05 };

	for (size_t d = 0; d < N_ELEMS(deps); d++)
		for (size_t n = 0; n < N_ELEMS(nss); n++)
			for (size_t w = 0; w < N_ELEMS(windows); w++) {
				promql_vars_t v = vars(nss[n], deps[d]);
				promql_type_t type = PROMQL_TYPE_NONE;
				promql_error_t e;
				char *q;

				v.window_ms = windows[w];
				v.latency_slo = slos[(d + n + w) % N_ELEMS(slos)];
				q = fill_ok(NULL, &v);
				ck_assert_msg(promql_check(q, strlen(q), &type, &e) == 0,
					      "%s: %u:%u: %s", q, e.line, e.col, e.msg);
				ck_assert_int_eq(type, PROMQL_TYPE_VECTOR);
				free(q);
			}
}
END_TEST

/* Hostile printable values still give valid PromQL: the escaping is complete. */
START_TEST(test_fill_hostile_values)
{
	static const char *const vals[] = { "a\"b", "a\\b", "a'b", "\\", "\"", "x\\\"y", "a.b*c?",
					    "(x)|[y]{2}^$", "{{", "}}", "a b", "\\d+" };

	for (size_t i = 0; i < N_ELEMS(vals); i++)
		for (size_t j = 0; j < N_ELEMS(vals); j += 3) {
			promql_vars_t v = vars(vals[j], vals[i]);
			promql_error_t e;
			char *q = fill_ok(NULL, &v);

			ck_assert_msg(promql_check(q, strlen(q), NULL, &e) == 0, "%s: %u:%u: %s", q,
				      e.line, e.col, e.msg);
			free(q);
			q = fill_ok("up{a='{{namespace}}',b=~'{{deployment}}'}", &v);
			ck_assert_msg(promql_check(q, strlen(q), NULL, &e) == 0, "%s: %u:%u: %s", q,
				      e.line, e.col, e.msg);
			free(q);
		}
}
END_TEST

/* ---- durations and `le` ----------------------------------------------------------------- */

START_TEST(test_format_duration)
{
	static const struct {
		int64_t ms;
		const char *want;
	} t[] = {
		{ 300000, "5m" },  { 90000, "1m30s" }, { 5400000, "1h30m" }, { 1500, "1s500ms" },
		{ 1000, "1s" },	   { 60000, "1m" },    { 3600000, "1h" },    { 500, "500ms" },
		{ 15000, "15s" },  { 1, "1ms" },       { 3661001, "1h1m1s1ms" },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char buf[64];
		int n = promql_format_duration(t[i].ms, buf, sizeof(buf));

		ck_assert_msg(strcmp(buf, t[i].want) == 0, "%lld: %s", (long long)t[i].ms, buf);
		ck_assert_int_eq(n, (int)strlen(t[i].want));
	}
	/* Through a template too. */
	{
		promql_vars_t v = vars("ns", "d");
		char *q;

		v.window_ms = 90000;
		q = fill_ok("rate(x[{{window}}])", &v);
		ck_assert_str_eq(q, "rate(x[1m30s])");
		free(q);
		v.window_ms = 5400000;
		q = fill_ok("rate(x[{{window}}])", &v);
		ck_assert_str_eq(q, "rate(x[1h30m])");
		free(q);
		v.window_ms = 1500;
		q = fill_ok("rate(x[{{window}}])", &v);
		ck_assert_str_eq(q, "rate(x[1s500ms])");
		free(q);
	}
	/* snprintf-like: the length of the whole text, cut and terminated to size */
	{
		char small[4];

		memset(small, 'x', sizeof(small));
		ck_assert_int_eq(promql_format_duration(5400000, small, sizeof(small)), 5);
		ck_assert_str_eq(small, "1h3");
	}
}
END_TEST

/* Prometheus 2.x's duration syntax: ((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?
 * ((\d+)ms)?, not empty. Returns milliseconds or -1. */
static int64_t prom_duration_ms(const char *s)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "y", 365LL * 86400000 }, { "w", 7LL * 86400000 }, { "d", 86400000 },
		      { "h", 3600000 },		 { "ms", 1 },		      { "m", 60000 },
		      { "s", 1000 } };
	/* the order units must come in */
	static const char *const order[] = { "y", "w", "d", "h", "m", "s", "ms" };
	size_t next = 0;
	int64_t total = 0;

	if (!*s)
		return -1;
	while (*s) {
		int64_t n = 0;
		size_t u, o;
		bool digits = false;

		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (*s++ - '0');
			digits = true;
		}
		if (!digits)
			return -1;
		for (u = 0; u < N_ELEMS(units); u++)
			if (strncmp(s, units[u].unit, strlen(units[u].unit)) == 0)
				break;
		if (u == N_ELEMS(units))
			return -1;
		for (o = next; o < N_ELEMS(order); o++)
			if (strcmp(order[o], units[u].unit) == 0)
				break;
		if (o == N_ELEMS(order))
			return -1; /* out of order or repeated */
		next = o + 1;
		total += n * units[u].ms;
		s += strlen(units[u].unit);
	}
	return total;
}

/* Whatever form a duration takes, Prometheus parses it back to the same milliseconds. */
START_TEST(test_format_duration_parses_back)
{
	static const int64_t t[] = { 1,	       999,	  1000,	       1500,	    59999,
				     60000,    90000,	  3599999,     3600000,	    5400000,
				     86400000, 90061001,  604800000,   31536000000, 63072000001 };

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char buf[64], expr[128];
		promql_error_t e;
		int n = promql_format_duration(t[i], buf, sizeof(buf));

		ck_assert_int_eq(n, (int)strlen(buf));
		ck_assert_msg(prom_duration_ms(buf) == t[i], "%lld ms -> \"%s\"", (long long)t[i],
			      buf);
		snprintf(expr, sizeof(expr), "rate(x[%s])", buf);
		ck_assert_msg(promql_check(expr, strlen(expr), NULL, &e) == 0, "%s: %s", expr,
			      e.msg);
	}
}
END_TEST

START_TEST(test_format_le)
{
	static const struct {
		double v;
		const char *want; /* Python's repr(float(v)) */
	} t[] = {
		{ 5.0, "5.0" },	     { 0.3, "0.3" },	   { 1920, "1920.0" },
		{ 0.05, "0.05" },    { 1e-3, "0.001" },	   { INFINITY, "+Inf" },
		{ 0.5, "0.5" },	     { 1, "1.0" },	   { 2.5, "2.5" },
		{ 7680, "7680.0" },  { 100, "100.0" },	   { 0.0, "0.0" },
		{ -0.5, "-0.5" },    { 0.0001, "0.0001" }, { 1e-5, "1e-05" },
		{ 123456.0, "123456.0" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 1e16, "1e+16" },   { 1.0 / 3.0, "0.3333333333333333" },
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char buf[64];
		int n = promql_format_le(t[i].v, buf, sizeof(buf));

		ck_assert_msg(strcmp(buf, t[i].want) == 0, "%.17g: \"%s\", want \"%s\"", t[i].v,
			      buf, t[i].want);
		ck_assert_int_eq(n, (int)strlen(t[i].want));
	}
	{
		char small[3];

		ck_assert_int_eq(promql_format_le(1920.0, small, sizeof(small)), 6);
		ck_assert_str_eq(small, "19");
	}
}
END_TEST

START_TEST(test_is_vllm_bucket)
{
	static const double yes[] = { 0.3,  0.5,  0.8,	1.0,   1.5,   2.0,   2.5,    5.0,
				      10.0, 15.0, 20.0, 30.0,  40.0,  50.0,  60.0,   120.0,
				      240.0, 480.0, 960.0, 1920.0, 7680.0, INFINITY };
	static const double no[] = { 4.0, 0.25, 3.0, 0.0, -INFINITY, 3840.0, 0.1 + 0.2, 5.000001,
				     NAN };

	for (size_t i = 0; i < N_ELEMS(yes); i++)
		ck_assert_msg(promql_is_vllm_bucket(yes[i]), "%g", yes[i]);
	for (size_t i = 0; i < N_ELEMS(no); i++)
		ck_assert_msg(!promql_is_vllm_bucket(no[i]), "%.17g", no[i]);
}
END_TEST

/* ---- the client: fixture ---------------------------------------------------------------- */

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *http;
static fake_http_t *srv;
static fake_raw_t *raw;
static promql_client_t *pc;
static bool in_query; /* promql_query() is running */
static char tmpdir[64];

static void setup(void)
{
	static const char *const proxies[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
					       "all_proxy",  "ALL_PROXY",   "no_proxy",
					       "NO_PROXY" };
	http_client_opts_t o = { 0 };

	/* The tests talk to 127.0.0.1: a proxy from the environment would get in the way. */
	for (size_t i = 0; i < N_ELEMS(proxies); i++)
		unsetenv(proxies[i]);
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	o.seed = 42;
	ck_assert_int_eq(http_client_new(&o, &http), 0);
	ev_glue_attach(&glue, http);
	ck_assert_int_eq(fake_http_start(false, &srv), 0);
	in_query = false;
}

static void teardown(void)
{
	pc = promql_client_free(pc);
	http = http_client_free(http);
	ev_glue_stop(&glue);
	if (loop)
		ev_loop_destroy(loop);
	loop = NULL;
	srv = fake_http_stop(srv);
	raw = fake_raw_stop(raw);
}

static void tmp_setup(void)
{
	check_tmpdir(tmpdir, sizeof(tmpdir), "test-promql");
}

static void tmp_teardown(void)
{
	test_rm_tree(tmpdir);
}

/* ---- the client: helpers ---------------------------------------------------------------- */

struct rec {
	int done;
	bool inside_query; /* the callback ran inside promql_query() */
	http_outcome_t outcome;
	char error[2048], error_type[64];
	bool error_null;
	promql_failure_t failure;
	http_cause_t cause;
	long status;
	bool has_result;
	promql_type_t type;
	size_t n_series, n_warnings;
	double v;
	char text[64], warning[64];
	int attempts;
	int64_t elapsed_ms;
	size_t pending_in_callback;
	/* what the callback does */
	promql_query_t *self;
	bool cancel_self;
	promql_query_t *cancel_other;
	const char *then_query;
	struct rec *then_rec;
	promql_query_t *then_q;
};

static void on_reply(const promql_reply_t *reply, void *ud);

static int try_query(const char *q, double at, const char *label, struct rec *r,
		     promql_query_t **ret, char *err, size_t errsz)
{
	int rv;

	in_query = true;
	rv = promql_query(pc, q, at, label, on_reply, r, ret, err, errsz);
	in_query = false;
	return rv;
}

static promql_query_t *send_query(const char *q, double at, const char *label, struct rec *r)
{
	promql_query_t *qq = NULL;
	char err[512] = "";
	int rv = try_query(q, at, label, r, &qq, err, sizeof(err));

	ck_assert_msg(rv == 0, "promql_query: %d %s", rv, err);
	ck_assert_ptr_nonnull(qq);
	ck_assert_int_eq(r->done, 0); /* never called from inside promql_query() */
	r->self = qq;
	return qq;
}

static void on_reply(const promql_reply_t *reply, void *ud)
{
	struct rec *r = ud;

	r->done++;
	r->inside_query |= in_query;
	r->outcome = reply->outcome;
	r->error_null = !reply->error || !reply->error_type;
	snprintf(r->error, sizeof(r->error), "%s", reply->error ? reply->error : "(null)");
	snprintf(r->error_type, sizeof(r->error_type), "%s",
		 reply->error_type ? reply->error_type : "(null)");
	r->failure = reply->failure;
	r->cause = reply->cause;
	r->status = reply->status;
	r->attempts = reply->attempts;
	r->elapsed_ms = reply->elapsed_ms;
	r->has_result = reply->result != NULL;
	if (reply->result) {
		const promql_result_t *res = reply->result;

		r->type = res->type;
		r->n_series = res->n_series;
		r->n_warnings = res->n_warnings;
		if (res->n_warnings)
			snprintf(r->warning, sizeof(r->warning), "%s", res->warnings[0]);
		if (res->n_series && res->series[0].n_points) {
			r->v = res->series[0].points[0].v;
			snprintf(r->text, sizeof(r->text), "%s", res->series[0].points[0].text);
		}
	}
	r->pending_in_callback = promql_client_pending(pc);
	if (r->cancel_self)
		promql_cancel(pc, r->self); /* a no-op from inside its own callback */
	if (r->cancel_other)
		promql_cancel(pc, r->cancel_other);
	if (r->then_query) {
		char err[256];
		bool was = in_query;
		int rv;

		in_query = true;
		rv = promql_query(pc, r->then_query, 0, "then", on_reply, r->then_rec, &r->then_q,
				  err, sizeof(err));
		in_query = was;
		ck_assert_msg(rv == 0, "query from a callback: %d %s", rv, err);
		r->then_rec->self = r->then_q;
	}
}

static double guard_seconds(void)
{
	return getenv("AUTOSCALERD_VALGRIND") ? 600.0 : 60.0;
}

static void on_timer_flag(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	*(bool *)w->data = true;
}

/* Runs the loop until *count reaches want; fails the test if that takes absurdly long. */
static void run_until(const int *count, int want)
{
	bool fired = false;
	ev_timer guard;

	ev_timer_init(&guard, on_timer_flag, guard_seconds(), 0.0);
	guard.data = &fired;
	ev_timer_start(loop, &guard);
	while (*count < want && !fired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
	ck_assert_msg(!fired, "gave up waiting for %d callbacks (have %d)", want, *count);
}

/* Runs the loop for ms milliseconds (to see that nothing more happens). */
static void run_for(double ms)
{
	bool fired = false;
	ev_timer t;

	ev_timer_init(&t, on_timer_flag, ms / 1000.0, 0.0);
	t.data = &fired;
	ev_timer_start(loop, &t);
	while (!fired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
}

/* One query through the loop to its reply; the callback ran once, from the loop. */
static void fetch(const char *q, double at, const char *label, struct rec *r)
{
	send_query(q, at, label, r);
	run_until(&r->done, 1);
	ck_assert_int_eq(r->done, 1);
	ck_assert_msg(!r->inside_query, "callback called from inside promql_query()");
	ck_assert_msg(!r->error_null, "reply->error or error_type is NULL");
}

static char *base_url(char *buf, size_t size, uint16_t port, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%u%s", (unsigned)port, path);
	return buf;
}

/* A client on srv's port (path "/canned" unless given), with opts' other fields. */
static void new_client(promql_client_opts_t *o, const char *path)
{
	char u[256], err[512] = "";
	int rv;

	if (!o->url)
		o->url = base_url(u, sizeof(u), fake_http_port(srv), path ? path : "/canned");
	rv = promql_client_new(http, o, &pc, err, sizeof(err));
	ck_assert_msg(rv == 0, "promql_client_new %s: %d %s", o->url, rv, err);
	ck_assert_ptr_nonnull(pc);
	ck_assert_uint_eq(promql_client_pending(pc), 0);
}

static void canned(int status, const char *type, const char *body)
{
	ck_assert_int_eq(fake_http_set_canned(srv, status, type, body, strlen(body)), 0);
}

static struct fake_http_seen *last_seen(void)
{
	static struct fake_http_seen seen;

	fake_http_last_canned(srv, &seen);
	return &seen;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of key in an application/x-www-form-urlencoded string (a URL's query or a form
 * body), decoded the way Prometheus (Go's url.ParseQuery) decodes it: %XX and '+' as a
 * space. Returns how many times key occurs; out gets the first value. -1 on a bad %. */
static int form_get(const char *qs, size_t len, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key), i = 0;
	int found = 0;

	while (i < len) {
		size_t end = i;

		while (end < len && qs[end] != '&')
			end++;
		if (end - i > klen && strncmp(qs + i, key, klen) == 0 && qs[i + klen] == '=') {
			if (!found++) {
				size_t o = 0;

				for (size_t j = i + klen + 1; j < end && o + 1 < size; j++) {
					char c = qs[j];

					if (c == '+') {
						c = ' ';
					} else if (c == '%') {
						int hi, lo;

						if (j + 2 >= end)
							return -1;
						hi = hexval(qs[j + 1]);
						lo = hexval(qs[j + 2]);
						if (hi < 0 || lo < 0)
							return -1;
						c = (char)(hi * 16 + lo);
						j += 2;
					}
					out[o++] = c;
				}
				out[o] = '\0';
			}
		} else if (end - i == klen && strncmp(qs + i, key, klen) == 0) {
			if (!found++)
				out[0] = '\0';
		}
		i = end + 1;
	}
	return found;
}

/* The query string of a request target ("" when none) and its path, split. */
static const char *target_query(const char *target, char *path, size_t size)
{
	const char *q = strchr(target, '?');
	size_t n = q ? (size_t)(q - target) : strlen(target);

	snprintf(path, size, "%.*s", (int)n, target);
	return q ? q + 1 : "";
}

/* Prometheus's `timeout` and `time` parameters: float seconds or a duration / an RFC 3339
 * time. Returns milliseconds / seconds, or a negative number when neither. */
static double param_seconds(const char *s)
{
	char *end;
	double d;
	int64_t ms;

	errno = 0;
	d = strtod(s, &end);
	if (*s && !*end && !errno)
		return d;
	ms = prom_duration_ms(s);
	if (ms >= 0)
		return (double)ms / 1000.0;
	{
		struct tm tm = { 0 };
		const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
		double frac = 0.0;

		if (!rest)
			return -1;
		if (*rest == '.') {
			frac = strtod(rest, &end);
			rest = end;
		}
		if (strcmp(rest, "Z") != 0)
			return -1;
		return (double)timegm(&tm) + frac;
	}
}

static const char ok_body[] =
	"{\"status\":\"success\",\"warnings\":[\"careful\"],\"data\":{\"resultType\":\"vector\","
	"\"result\":[{\"metric\":{\"pod\":\"llama-8b-1\"},\"value\":[1700000000.5,\"0.25\"]}]}}";

/* ---- the client: requests --------------------------------------------------------------- */

START_TEST(test_client_bad_urls)
{
	static const char *const bad[] = { "",
					   "ftp://127.0.0.1/",
					   "127.0.0.1:9090",
					   "http://127.0.0.1:9090/prefix?x=1",
					   "http://127.0.0.1:9090/#frag",
					   "prometheus",
					   "http://" };
	static const char *const good[] = { "http://127.0.0.1:9090", "http://localhost",
					    "https://prometheus.example/prefix",
					    ("http://prometheus-server.cluster-tools.svc.cluster.local"
					     ":9090/prom/") };

	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		promql_client_opts_t o = { .url = bad[i] };
		promql_client_t *c = NULL;
		char err[512] = "";

		ck_assert_msg(promql_client_new(http, &o, &c, err, sizeof(err)) == -EINVAL, "%s",
			      bad[i]);
		ck_assert_ptr_null(c);
		assert_one_line(err, sizeof(err), bad[i]);
	}
	for (size_t i = 0; i < N_ELEMS(good); i++) {
		promql_client_opts_t o = { .url = good[i] };
		promql_client_t *c = NULL;
		char err[512] = "";

		ck_assert_msg(promql_client_new(http, &o, &c, err, sizeof(err)) == 0, "%s: %s",
			      good[i], err);
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_null(promql_client_free(c));
	}
	ck_assert_ptr_null(promql_client_free(NULL));
}
END_TEST

/* GET /api/v1/query under the prefix, the query URL-encoded so that it decodes back
 * exactly ('+', '&', '#', '%', quotes, UTF-8), the default timeout, no time; the reply. */
START_TEST(test_client_get)
{
	static const char query[] =
		"sum(rate(x{le=\"+Inf\",a=~\"b.*&c=d\",e='#f%20'}[5m])) / 2 + vector(1) # caf\xc3\xa9";
	promql_client_opts_t o = { 0 };
	struct rec r = { 0 };
	struct fake_http_seen *s;
	char path[256], value[4096];
	const char *qs;

	canned(200, "application/json", ok_body);
	new_client(&o, NULL);
	fetch(query, 0, "llama-8b", &r);

	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert_str_eq(r.error, "");
	ck_assert_str_eq(r.error_type, "");
	ck_assert_int_eq(r.failure, PROMQL_FAIL_NONE);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_NONE);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_ge(r.elapsed_ms, 0);
	ck_assert(r.has_result);
	ck_assert_int_eq(r.type, PROMQL_TYPE_VECTOR);
	ck_assert_uint_eq(r.n_series, 1);
	ck_assert_double_eq(r.v, 0.25);
	ck_assert_str_eq(r.text, "0.25");
	ck_assert_uint_eq(r.n_warnings, 1);
	ck_assert_str_eq(r.warning, "careful");
	ck_assert_uint_eq(promql_client_pending(pc), 0);

	s = last_seen();
	ck_assert_int_eq(s->count, 1);
	ck_assert_str_eq(s->method, "GET");
	qs = target_query(s->target, path, sizeof(path));
	ck_assert_str_eq(path, "/canned/api/v1/query");
	ck_assert_msg(form_get(qs, strlen(qs), "query", value, sizeof(value)) == 1, "target: %s",
		      s->target);
	ck_assert_msg(strcmp(value, query) == 0, "target %s decodes to %s", s->target, value);
	ck_assert_msg(form_get(qs, strlen(qs), "timeout", value, sizeof(value)) == 1,
		      "target: %s", s->target);
	ck_assert_msg(param_seconds(value) == 5.0, "timeout=%s", value); /* 0: 5 s */
	ck_assert_msg(form_get(qs, strlen(qs), "time", value, sizeof(value)) == 0,
		      "time <= 0 sends no time: %s", s->target);

	/* The same client again: the state of one query does not leak into the next. */
	memset(&r, 0, sizeof(r));
	fetch("up", -1, NULL, &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	s = last_seen();
	ck_assert_int_eq(s->count, 2);
	qs = target_query(s->target, path, sizeof(path));
	ck_assert_int_eq(form_get(qs, strlen(qs), "query", value, sizeof(value)), 1);
	ck_assert_str_eq(value, "up");
	ck_assert_int_eq(form_get(qs, strlen(qs), "time", value, sizeof(value)), 0);
}
END_TEST

/* time > 0 is sent; timeout_ms is sent as `timeout`. */
START_TEST(test_client_time_and_timeout)
{
	promql_client_opts_t o = { .timeout_ms = 2500 };
	struct rec r = { 0 };
	struct fake_http_seen *s;
	char path[256], value[256];
	const char *qs;

	canned(200, "application/json", ok_body);
	new_client(&o, NULL);
	fetch("up", 1700000000.5, "t", &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	s = last_seen();
	qs = target_query(s->target, path, sizeof(path));
	ck_assert_msg(form_get(qs, strlen(qs), "time", value, sizeof(value)) == 1, "%s",
		      s->target);
	ck_assert_msg(fabs(param_seconds(value) - 1700000000.5) < 1e-3, "time=%s", value);
	ck_assert_msg(form_get(qs, strlen(qs), "timeout", value, sizeof(value)) == 1, "%s",
		      s->target);
	ck_assert_msg(param_seconds(value) == 2.5, "timeout=%s", value);
}
END_TEST

/* A URL over post_over becomes a form POST: the query in the body, not in the URL. */
START_TEST(test_client_post)
{
	static const struct {
		size_t post_over, query_len;
	} t[] = {
		{ 0, 5000 }, /* PROMQL_DEFAULT_POST_OVER */
		{ 64, 100 },
		{ 0, 20000 },
	};

	canned(200, "application/json", ok_body);
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		promql_client_opts_t o = { .post_over = t[i].post_over };
		size_t n = t[i].query_len;
		char *query = malloc(n + 1), *value = malloc(n + 64), path[256];
		struct rec r = { 0 };
		struct fake_http_seen *s;
		const char *qs;

		ck_assert_ptr_nonnull(query);
		ck_assert_ptr_nonnull(value);
		/* sum(up{a="xxx...+&"}) */
		memset(query, 'x', n);
		memcpy(query, "sum(up{a=\"", 10);
		memcpy(query + n - 5, "+&\"})", 5);
		query[n] = '\0';
		new_client(&o, NULL);
		fetch(query, 1700000000, "long", &r);
		ck_assert_msg(r.outcome == HTTP_SUCCESS, "[%zu] %s", i, r.error);
		s = last_seen();
		ck_assert_str_eq(s->method, "POST");
		ck_assert_msg(strncmp(s->content_type, "application/x-www-form-urlencoded", 33) ==
				      0,
			      "Content-Type: %s", s->content_type);
		ck_assert(!s->truncated);
		ck_assert_msg(form_get(s->body, s->body_len, "query", value, n + 64) == 1,
			      "body: %.200s", s->body);
		ck_assert_msg(strcmp(value, query) == 0, "[%zu] the form's query differs", i);
		qs = target_query(s->target, path, sizeof(path));
		ck_assert_str_eq(path, "/canned/api/v1/query");
		ck_assert_msg(form_get(qs, strlen(qs), "query", value, n + 64) == 0,
			      "the query is in the URL too");
		/* the other parameters, in the form or the URL */
		ck_assert_msg(form_get(s->body, s->body_len, "timeout", value, n + 64) == 1 ||
				      form_get(qs, strlen(qs), "timeout", value, n + 64) == 1,
			      "no timeout");
		ck_assert_msg(param_seconds(value) == 5.0, "timeout=%s", value);
		ck_assert_msg(form_get(s->body, s->body_len, "time", value, n + 64) == 1 ||
				      form_get(qs, strlen(qs), "time", value, n + 64) == 1,
			      "no time");
		ck_assert_msg(param_seconds(value) == 1700000000.0, "time=%s", value);
		pc = promql_client_free(pc);
		free(query);
		free(value);
	}
}
END_TEST

/* The profile's credentials and headers reach Prometheus; the client keeps its own
 * reference. */
START_TEST(test_client_profile_bearer)
{
	static const http_header_t h = { "X-Scope-OrgID", "team-a" };
	http_profile_opts_t po = { .headers = &h, .n_headers = 1 };
	promql_client_opts_t o = { 0 };
	http_profile_t *p = NULL;
	struct rec r = { 0 };
	char path[128], err[512], value[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/token", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("tok-one\n", f);
	ck_assert_int_eq(fclose(f), 0);
	po.bearer_token_file = path;
	ck_assert_int_eq(http_profile_new(&po, &p, err, sizeof(err)), 0);
	o.profile = p;
	new_client(&o, NULL);
	p = http_profile_unref(p); /* the client took a reference */
	canned(200, "application/json", ok_body);
	fetch("up", 0, "auth", &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert(fake_http_seen_header(last_seen(), "Authorization", value, sizeof(value)));
	ck_assert_str_eq(value, "Bearer tok-one");
	ck_assert(fake_http_seen_header(last_seen(), "X-Scope-OrgID", value, sizeof(value)));
	ck_assert_str_eq(value, "team-a");
}
END_TEST

START_TEST(test_client_profile_basic)
{
	static const http_header_t h = { "X-Scope-OrgID", "team-a" };
	http_profile_opts_t po = { .basic_user = "alice",
				   .basic_password = "s3cret",
				   .headers = &h,
				   .n_headers = 1 };
	promql_client_opts_t o = { 0 };
	http_profile_t *p = NULL;
	struct rec r = { 0 };
	char err[512], value[256];

	ck_assert_int_eq(http_profile_new(&po, &p, err, sizeof(err)), 0);
	o.profile = p;
	new_client(&o, NULL);
	canned(400, "application/json",
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"nope\"}");
	fetch("up", 0, "basic", &r);
	ck_assert(fake_http_seen_header(last_seen(), "Authorization", value, sizeof(value)));
	ck_assert_str_eq(value, "Basic YWxpY2U6czNjcmV0"); /* alice:s3cret */
	ck_assert(fake_http_seen_header(last_seen(), "X-Scope-OrgID", value, sizeof(value)));
	ck_assert_str_eq(value, "team-a");
	/* no secret in the error line */
	ck_assert_ptr_null(strstr(r.error, "s3cret"));
	ck_assert_ptr_null(strstr(r.error, "YWxpY2U6czNjcmV0"));
	http_profile_unref(p);
}
END_TEST

/* Prometheus refusing a query: outcome by errorType and status, its words in the error. */
START_TEST(test_client_api_errors)
{
	static const struct {
		int status;
		const char *type, *error;
		http_outcome_t outcome;
	} t[] = {
		{ 400, "bad_data", "1:5: parse error: unexpected end of input", HTTP_PERMANENT },
		{ 422, "execution", "query processing would load too many samples into memory",
		  HTTP_PERMANENT },
		{ 503, "timeout", "query timed out in expression evaluation", HTTP_RETRYABLE },
		{ 499, "canceled", "context canceled", HTTP_RETRYABLE },
		{ 503, "unavailable", "TSDB not ready", HTTP_RETRYABLE },
		{ 500, "internal", "something broke", HTTP_RETRYABLE },
		{ 200, "execution", "found duplicate series", HTTP_PERMANENT },
	};
	promql_client_opts_t o = { 0 };

	new_client(&o, NULL);
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		char body[512];
		struct rec r = { 0 };

		snprintf(body, sizeof(body),
			 "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":\"%s\"}", t[i].type,
			 t[i].error);
		canned(t[i].status, "application/json", body);
		fetch("sum(rate(", 0, "llama-8b", &r);
		ck_assert_msg(r.outcome == t[i].outcome, "%d %s: %s", t[i].status, t[i].type,
			      http_outcome_name(r.outcome));
		ck_assert_int_eq(r.status, t[i].status);
		ck_assert_int_eq(r.failure, PROMQL_FAIL_API);
		ck_assert_str_eq(r.error_type, t[i].type);
		ck_assert(!r.has_result);
		assert_one_line(r.error, sizeof(r.error), t[i].type);
		ck_assert_msg(strstr(r.error, t[i].type) && strstr(r.error, t[i].error) &&
				      strstr(r.error, "llama-8b"),
			      "error: %s", r.error);
		if (t[i].status != 200) {
			char code[16];

			snprintf(code, sizeof(code), "%d", t[i].status);
			ck_assert_int_eq(r.cause, HTTP_CAUSE_STATUS);
			ck_assert_msg(strstr(r.error, code), "error: %s", r.error);
		}
	}
}
END_TEST

/* Answers that are not Prometheus's. */
START_TEST(test_client_not_prometheus)
{
	static const char html[] = "<html><head><title>Welcome</title></head><body>"
				   "</body></html>\n";
	static const struct {
		int status;
		const char *type, *body;
		http_outcome_t outcome;
		const char *says;
	} t[] = {
		{ 200, "text/html", html, HTTP_PERMANENT, "not JSON" },
		{ 200, "application/json", "{\"status\":\"success\"}", HTTP_PERMANENT, NULL },
		{ 200, "application/json", "{\"status\":\"success\",\"data\":{\"resultType\":"
					   "\"vector\",\"result\":[{\"metric\":{},\"value\":[1,3]}]}}",
		  HTTP_PERMANENT, "data.result[0].value" },
		{ 502, "text/html", html, HTTP_RETRYABLE, NULL },
		{ 429, "text/plain", "slow down\n", HTTP_RETRYABLE, NULL },
		{ 401, "text/plain", "Unauthorized\n", HTTP_PERMANENT, NULL },
		{ 501, "text/plain", "Not Implemented\n", HTTP_PERMANENT, NULL },
		{ 200, NULL, "", HTTP_PERMANENT, NULL },
	};
	promql_client_opts_t o = { 0 };

	new_client(&o, NULL);
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		struct rec r = { 0 };

		canned(t[i].status, t[i].type, t[i].body);
		fetch("up", 0, "q", &r);
		ck_assert_msg(r.outcome == t[i].outcome, "[%zu] %d: %s: %s", i, t[i].status,
			      http_outcome_name(r.outcome), r.error);
		ck_assert_int_eq(r.status, t[i].status);
		ck_assert(!r.has_result);
		assert_one_line(r.error, sizeof(r.error), "error");
		ck_assert_str_eq(r.error_type, "");
		if (t[i].status == 200)
			ck_assert_int_eq(r.failure, PROMQL_FAIL_MALFORMED);
		if (t[i].says)
			ck_assert_msg(strstr(r.error, t[i].says), "[%zu] error: %s", i, r.error);
	}
}
END_TEST

/* A wrong prefix: Prometheus's 404 page. */
START_TEST(test_client_404)
{
	promql_client_opts_t o = { 0 };
	struct rec r = { 0 };

	new_client(&o, "/nowhere");
	fetch("up", 0, "q", &r);
	ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_STATUS);
	ck_assert_msg(strstr(r.error, "404"), "error: %s", r.error);
}
END_TEST

/* A body over the ceiling fails without holding it. */
START_TEST(test_client_too_large)
{
	static const struct {
		const char *path;
		size_t max;
	} t[] = {
		{ "/big/20971520", 1 << 20 },
		{ "/bigchunked/20971520", 1 << 20 },
		{ "/bigchunked/20971520", 0 }, /* HTTP_DEFAULT_MAX_RESPONSE */
	};

	for (size_t i = 0; i < N_ELEMS(t); i++) {
		promql_client_opts_t o = { .max_response = t[i].max };
		struct rec r = { 0 };
		http_stats_t st;

		new_client(&o, t[i].path); /* -> /big/20971520/api/v1/query: 20 MiB of 'x' */
		fetch("up", 0, "big", &r);
		ck_assert_msg(r.outcome == HTTP_PERMANENT, "%s: %s", t[i].path, r.error);
		ck_assert_int_eq(r.cause, HTTP_CAUSE_TOO_LARGE);
		ck_assert(!r.has_result);
		assert_one_line(r.error, sizeof(r.error), "error");
		http_client_stats(http, &st);
		ck_assert_uint_le(st.peak_body, (t[i].max ? t[i].max : HTTP_DEFAULT_MAX_RESPONSE) + 1);
		pc = promql_client_free(pc);
	}
}
END_TEST

/* More than PROMQL_MAX_SERIES series: a permanent failure, LIMIT. */
START_TEST(test_client_series_limit)
{
	promql_client_opts_t o = { 0 };
	struct rec r = { 0 };
	size_t len;
	char *b = series_body(PROMQL_MAX_SERIES + 1, &len);

	ck_assert_int_eq(fake_http_set_canned(srv, 200, "application/json", b, len), 0);
	free(b);
	new_client(&o, NULL);
	fetch("up", 0, "many", &r);
	ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(r.failure, PROMQL_FAIL_LIMIT);
	ck_assert(!r.has_result);
}
END_TEST

/* A server that never answers: Prometheus's timeout plus a second, then retryable. */
START_TEST(test_client_hang_timeout)
{
	promql_client_opts_t o = { .timeout_ms = 300 };
	struct rec r = { 0 };
	char u[128];

	ck_assert_int_eq(fake_raw_start(FAKE_RAW_HANG, &raw), 0);
	o.url = base_url(u, sizeof(u), fake_raw_port(raw), "");
	new_client(&o, NULL);
	fetch("up", 0, "hang", &r);
	ck_assert_int_eq(r.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_TIMEOUT);
	ck_assert_int_eq(r.status, 0);
	ck_assert(!r.has_result);
	assert_one_line(r.error, sizeof(r.error), "error");
	ck_assert_msg(strstr(r.error, "hang"), "error: %s", r.error);
	/* the attempt had timeout_ms + 1 s */
	ck_assert_msg(r.elapsed_ms >= 1250, "gave up after %lld ms", (long long)r.elapsed_ms);
}
END_TEST

static const struct {
	fake_raw_mode_t mode;
	http_cause_t cause;
	int outcome; /* -1: not a success, either of the other two */
} broken[] = {
	{ FAKE_RAW_CLOSE, HTTP_CAUSE_CLOSED, HTTP_RETRYABLE },
	{ FAKE_RAW_GARBAGE, HTTP_CAUSE_PROTOCOL, -1 },
	{ FAKE_RAW_TRUNCATED, HTTP_CAUSE_CLOSED, HTTP_RETRYABLE },
	{ FAKE_RAW_MIDCLOSE, HTTP_CAUSE_CLOSED, HTTP_RETRYABLE },
};

START_TEST(test_client_broken_server)
{
	promql_client_opts_t o = { 0 };
	struct rec r = { 0 };
	char u[128];

	ck_assert_int_eq(fake_raw_start(broken[_i].mode, &raw), 0);
	o.url = base_url(u, sizeof(u), fake_raw_port(raw), "/prom");
	new_client(&o, NULL);
	fetch("up", 0, "broken", &r);
	if (broken[_i].outcome >= 0)
		ck_assert_msg(r.outcome == (http_outcome_t)broken[_i].outcome, "mode %d: %s: %s",
			      (int)broken[_i].mode, http_outcome_name(r.outcome), r.error);
	else
		ck_assert_msg(r.outcome != HTTP_SUCCESS, "mode %d", (int)broken[_i].mode);
	ck_assert_msg(r.cause == broken[_i].cause, "mode %d: cause %s: %s", (int)broken[_i].mode,
		      http_cause_name(r.cause), r.error);
	ck_assert(!r.has_result);
	assert_one_line(r.error, sizeof(r.error), "error");
}
END_TEST

START_TEST(test_client_refused)
{
	promql_client_opts_t o = { 0 };
	struct rec r = { 0 };
	uint16_t port;
	char u[128];

	ck_assert_int_eq(fake_closed_port(&port), 0);
	o.url = base_url(u, sizeof(u), port, "");
	new_client(&o, NULL);
	fetch("up", 0, "conn-test", &r);
	ck_assert_int_eq(r.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_CONNECT);
	ck_assert_int_eq(r.status, 0);
	ck_assert(!r.has_result);
	assert_one_line(r.error, sizeof(r.error), "error");
	ck_assert_msg(strstr(r.error, "conn-test"), "error: %s", r.error);
}
END_TEST

/* The retry policy applies per query. */
START_TEST(test_client_retry)
{
	promql_client_opts_t o = { .retry = { .max_attempts = 3, .base_ms = 1, .cap_ms = 1 } };
	struct rec r = { 0 };

	canned(503, "application/json",
	       "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"not ready\"}");
	new_client(&o, NULL);
	fetch("up", 0, "retry", &r);
	ck_assert_int_eq(r.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_eq(last_seen()->count, 3);
	ck_assert_str_eq(r.error_type, "unavailable");

	/* default: no retries */
	pc = promql_client_free(pc);
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	new_client(&o, NULL);
	fetch("up", 0, "retry", &r);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_eq(last_seen()->count, 4);
}
END_TEST

/* An empty query fails at once, without a callback. */
START_TEST(test_client_refuses_empty_query)
{
	promql_client_opts_t o = { 0 };
	struct rec r = { 0 };
	promql_query_t *q = NULL;
	char err[512] = "";

	new_client(&o, NULL);
	ck_assert_int_eq(try_query("", 0, "empty", &r, &q, err, sizeof(err)), -EINVAL);
	assert_one_line(err, sizeof(err), "err");
	ck_assert_uint_eq(promql_client_pending(pc), 0);
	run_for(50);
	ck_assert_int_eq(r.done, 0);
	ck_assert_int_eq(last_seen()->count, 0);
}
END_TEST

/* ---- the client: lifetimes -------------------------------------------------------------- */

START_TEST(test_client_pending_and_elapsed)
{
	promql_client_opts_t o = { 0 };
	struct rec r[3] = { { 0 } };

	canned(200, "application/json", ok_body);
	fake_http_set_canned_delay(srv, 200, NULL);
	new_client(&o, NULL);
	for (size_t i = 0; i < 3; i++) {
		send_query("up", 0, "p", &r[i]);
		ck_assert_uint_eq(promql_client_pending(pc), i + 1);
	}
	for (size_t i = 0; i < 3; i++)
		run_until(&r[i].done, 1);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].done, 1);
		ck_assert(!r[i].inside_query);
		ck_assert_int_eq(r[i].outcome, HTTP_SUCCESS);
		ck_assert_msg(r[i].elapsed_ms >= 200, "elapsed %lld", (long long)r[i].elapsed_ms);
	}
	ck_assert_uint_eq(promql_client_pending(pc), 0);
	run_for(50);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(r[i].done, 1); /* exactly once */
}
END_TEST

START_TEST(test_client_cancel)
{
	promql_client_opts_t o = { 0 };
	struct rec gone = { 0 }, kept = { 0 };
	promql_query_t *q;

	canned(200, "application/json", ok_body);
	fake_http_set_canned_delay(srv, 150, NULL);
	new_client(&o, NULL);
	q = send_query("up", 0, "gone", &gone);
	send_query("up", 0, "kept", &kept);
	ck_assert_uint_eq(promql_client_pending(pc), 2);
	promql_cancel(pc, q);
	ck_assert_uint_eq(promql_client_pending(pc), 1);
	run_until(&kept.done, 1);
	run_for(300); /* past the server's answer to the cancelled one */
	ck_assert_int_eq(gone.done, 0);
	ck_assert_int_eq(kept.done, 1);
	ck_assert_int_eq(kept.outcome, HTTP_SUCCESS);
	ck_assert_uint_eq(promql_client_pending(pc), 0);

	/* Cancelled once it had been sent, while the answer is on its way. */
	memset(&gone, 0, sizeof(gone));
	q = send_query("up", 0, "gone", &gone);
	run_for(50);
	promql_cancel(pc, q);
	ck_assert_uint_eq(promql_client_pending(pc), 0);
	run_for(300);
	ck_assert_int_eq(gone.done, 0);
}
END_TEST

/* How long the "slow_marker" queries take at the server: long enough for a quick query
 * sent alongside to be answered first, even under valgrind. */
static long slow_ms(void)
{
	return getenv("AUTOSCALERD_VALGRIND") ? 4000 : 1000;
}

/* Runs the loop until the canned responder has seen count requests. */
static void run_until_seen(long count)
{
	bool fired = false;
	ev_timer guard;

	ev_timer_init(&guard, on_timer_flag, guard_seconds(), 0.0);
	guard.data = &fired;
	ev_timer_start(loop, &guard);
	while (last_seen()->count < count && !fired)
		run_for(5);
	ev_timer_stop(loop, &guard);
	ck_assert_msg(!fired, "the server never saw %ld requests", count);
}

/* From a callback: cancelling itself is a no-op, cancelling another query stops it, and a
 * new query may be sent (its callback comes later, from the loop). */
START_TEST(test_client_callback_actions)
{
	promql_client_opts_t o = { 0 };
	struct rec first = { 0 }, other = { 0 }, then = { 0 };

	canned(200, "application/json", ok_body);
	fake_http_set_canned_delay(srv, slow_ms(), "slow_marker"); /* other only */
	new_client(&o, NULL);
	first.cancel_self = true;
	first.then_query = "vector(1)";
	first.then_rec = &then;
	send_query("up", 0, "first", &first);
	first.cancel_other = send_query("slow_marker", 0, "other", &other);
	ck_assert_uint_eq(promql_client_pending(pc), 2);
	run_until(&first.done, 1);
	ck_assert_int_eq(first.outcome, HTTP_SUCCESS);
	ck_assert_msg(other.done == 0, "other: %s after %lld ms: %s",
		      http_outcome_name(other.outcome), (long long)other.elapsed_ms, other.error);
	ck_assert_ptr_nonnull(first.then_q);
	ck_assert_int_eq(then.done, 0); /* not from inside the promql_query() of the callback */
	ck_assert_uint_eq(promql_client_pending(pc), 1); /* then; other was cancelled */
	run_until(&then.done, 1);
	ck_assert(!then.inside_query);
	ck_assert_int_eq(then.outcome, HTTP_SUCCESS);
	run_for((double)slow_ms() + 200); /* past the slow answer to other */
	ck_assert_int_eq(first.done, 1);
	ck_assert_int_eq(then.done, 1);
	ck_assert_int_eq(other.done, 0);
	ck_assert_uint_eq(promql_client_pending(pc), 0);
}
END_TEST

static void on_submit_timer(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	send_query("up", 0, "fast", w->data);
}

/* One slow query does not hold up the others to the same Prometheus: a query sent while
 * a slow one runs is answered first (http.h: requests to one destination run up to
 * max_in_flight at a time). */
START_TEST(test_client_slow_query_blocks_none)
{
	promql_client_opts_t o = { 0 };
	struct rec slow = { 0 }, fast = { 0 };
	ev_timer t;

	canned(200, "application/json", ok_body);
	fake_http_set_canned_delay(srv, slow_ms(), "slow_marker");
	new_client(&o, NULL);
	send_query("slow_marker", 0, "slow", &slow);
	run_until_seen(1); /* the slow one is at the server */
	ev_timer_init(&t, on_submit_timer, 0.05, 0.0);
	t.data = &fast;
	ev_timer_start(loop, &t);
	run_until(&fast.done, 1);
	ck_assert_msg(slow.done == 0, "the fast query waited for the slow one (%lld ms)",
		      (long long)fast.elapsed_ms);
	run_until(&slow.done, 1);
	ck_assert_int_eq(slow.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(fast.outcome, HTTP_SUCCESS);
}
END_TEST

/* Freeing the client with queries running calls no callback, stops their transfers and
 * leaks nothing (valgrind). */
START_TEST(test_client_free_pending)
{
	promql_client_opts_t o = { 0 };
	struct rec r[4] = { { 0 } };
	http_stats_t st;
	char u[128];

	ck_assert_int_eq(fake_raw_start(FAKE_RAW_HANG, &raw), 0);
	o.url = base_url(u, sizeof(u), fake_raw_port(raw), "");
	new_client(&o, NULL);
	for (size_t i = 0; i < 3; i++)
		send_query("up", 0, "hang", &r[i]);
	run_for(50); /* connected and sent */
	ck_assert_uint_eq(promql_client_pending(pc), 3);
	pc = promql_client_free(pc);
	ck_assert_ptr_null(pc);
	http_client_stats(http, &st);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.waiting_retry, 0);
	run_for(100);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(r[i].done, 0);

	/* And queries that never left (freed right after promql_query). */
	canned(200, "application/json", ok_body);
	memset(&o, 0, sizeof(o));
	new_client(&o, NULL);
	send_query("up", 0, "never", &r[3]);
	pc = promql_client_free(pc);
	run_for(100);
	ck_assert_int_eq(r[3].done, 0);
}
END_TEST

/* The error line has no credential of the URL. */
START_TEST(test_client_error_redacted)
{
	promql_client_opts_t o = { 0 };
	promql_client_t *c = NULL;
	struct rec r = { 0 };
	char u[256], err[512];

	snprintf(u, sizeof(u), "http://bob:hunter2@127.0.0.1:%u/canned",
		 (unsigned)fake_http_port(srv));
	o.url = u;
	/* userinfo is outside "http(s)://host[:port][/prefix]": refusing it is fine too, as
	 * long as the refusal does not quote the password */
	if (promql_client_new(http, &o, &c, err, sizeof(err)) != 0) {
		ck_assert_ptr_null(strstr(err, "hunter2"));
		return;
	}
	pc = c;
	canned(400, "application/json",
	       "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"bad\"}");
	fetch("up", 0, "redact", &r);
	ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
	ck_assert_msg(!strstr(r.error, "hunter2"), "error: %s", r.error);
}
END_TEST

/* ---- the suite -------------------------------------------------------------------------- */

static Suite *promql_client_suite(void)
{
	Suite *s = suite_create("promql-client");
	TCase *tc = tcase_create("parse");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_parse_vector_empty);
	tcase_add_test(tc, test_parse_vector_one);
	tcase_add_test(tc, test_parse_vector_three);
	tcase_add_test(tc, test_parse_values_in_vector);
	tcase_add_test(tc, test_parse_scalar);
	tcase_add_test(tc, test_parse_matrix);
	tcase_add_test(tc, test_parse_string);
	tcase_add_test(tc, test_parse_warnings);
	tcase_add_test(tc, test_parse_api_errors);
	tcase_add_test(tc, test_parse_api_error_odd_text);
	tcase_add_loop_test(tc, test_parse_malformed, 0, (int)N_ELEMS(malformed));
	tcase_add_test(tc, test_parse_html_message);
	tcase_add_test(tc, test_parse_failure_keeps_result);
	tcase_add_test(tc, test_parse_deep_nesting);
	tcase_add_test(tc, test_parse_native_histogram);
	tcase_add_test(tc, test_parse_series_limit);
	tcase_add_test(tc, test_parse_points_limit);
	tcase_add_test(tc, test_parse_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("reduce-apply");
	tcase_add_test(tc, test_reduce_kinds);
	tcase_add_test(tc, test_reduce_empty);
	tcase_add_test(tc, test_reduce_several);
	tcase_add_test(tc, test_reduce_special);
	tcase_add_test(tc, test_reduce_types);
	tcase_add_test(tc, test_apply_rules);
	tcase_add_test(tc, test_apply_small_why);
	suite_add_tcase(s, tc);

	tc = tcase_create("template");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fill_default);
	tcase_add_test(tc, test_fill_escaping);
	tcase_add_test(tc, test_fill_regex_meta);
	tcase_add_test(tc, test_fill_errors);
	tcase_add_test(tc, test_fill_too_long);
	tcase_add_test(tc, test_fill_default_checks);
	tcase_add_test(tc, test_fill_hostile_values);
	tcase_add_test(tc, test_format_duration);
	tcase_add_test(tc, test_format_duration_parses_back);
	tcase_add_test(tc, test_format_le);
	tcase_add_test(tc, test_is_vllm_bucket);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_client_bad_urls);
	tcase_add_test(tc, test_client_get);
	tcase_add_test(tc, test_client_time_and_timeout);
	tcase_add_test(tc, test_client_post);
	tcase_add_test(tc, test_client_profile_bearer);
	tcase_add_test(tc, test_client_profile_basic);
	tcase_add_test(tc, test_client_api_errors);
	tcase_add_test(tc, test_client_not_prometheus);
	tcase_add_test(tc, test_client_404);
	tcase_add_test(tc, test_client_too_large);
	tcase_add_test(tc, test_client_series_limit);
	tcase_add_test(tc, test_client_hang_timeout);
	tcase_add_loop_test(tc, test_client_broken_server, 0, (int)N_ELEMS(broken));
	tcase_add_test(tc, test_client_refused);
	tcase_add_test(tc, test_client_retry);
	tcase_add_test(tc, test_client_refuses_empty_query);
	tcase_add_test(tc, test_client_pending_and_elapsed);
	tcase_add_test(tc, test_client_cancel);
	tcase_add_test(tc, test_client_callback_actions);
	tcase_add_test(tc, test_client_slow_query_blocks_none);
	tcase_add_test(tc, test_client_free_pending);
	tcase_add_test(tc, test_client_error_redacted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(promql_client_suite(), CK_ENV);
}
