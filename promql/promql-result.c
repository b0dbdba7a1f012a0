/* promql-result.c - /api/v1/query responses: parsing, reduction to one number, the rules of
 * DESIGN section 3. Pure: no I/O, no globals.
 *
 * The response shape (Prometheus's web/api/v1):
 *   {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},
 *    "value":[1700000000.123,"0.5"]}]},"warnings":["..."],"infos":["..."]}
 *   {"status":"error","errorType":"bad_data","error":"1:5: parse error: ..."}
 * A matrix series has "values": [[t,"v"],...]; a scalar or string result is one [t,"v"].
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "promql/promql-private.h"
#include "promql/promql.h"

void promql_one_line(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* Up to max bytes of s for a message, quoted Go-style, non-printables as \xNN. */
static void quote_excerpt(char *buf, size_t size, const char *s, size_t len, size_t max)
{
	size_t o = 0, i;

	if (size < 8)
		return;
	buf[o++] = '"';
	for (i = 0; i < len && i < max && o + 6 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (i < len && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

void promql_result_clear(promql_result_t *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->n_series; i++) {
		promql_series_t *s = &r->series[i];

		for (j = 0; j < s->n_labels; j++) {
			free(s->labels[j].name);
			free(s->labels[j].value);
		}
		free(s->labels);
		for (j = 0; j < s->n_points; j++)
			free(s->points[j].text);
		free(s->points);
	}
	free(r->series);
	free(r->string);
	for (i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	memset(r, 0, sizeof(*r));
}

int promql_parse_value(const char *s, double *ret)
{
	const char *p = s;
	char *end;
	double v;

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "NaN")) {
		*ret = NAN;
		return 0;
	}
	if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
		*ret = INFINITY;
		return 0;
	}
	if (!strcmp(s, "-Inf")) {
		*ret = -INFINITY;
		return 0;
	}
	/* A decimal number only: strtod alone would take " 1", "0x10", "nan", "infinity". */
	if (*p == '-' || *p == '+')
		p++;
	if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
		return -EINVAL;
	if (*p == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || (errno == ERANGE && isinf(v)))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The parse of one response; path names the place of a problem. */
struct parse {
	promql_result_t *r;
	size_t points; /* all series */
	char *err;
	size_t errsz;
	int rc;
};

static int malformed(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int malformed(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err && ps->errsz) {
		va_start(ap, fmt);
		vsnprintf(ps->err, ps->errsz, fmt, ap);
		va_end(ap);
	}
	ps->rc = -EPROTO;
	return -1;
}

static int oom(struct parse *ps)
{
	http_errf(ps->err, ps->errsz, "out of memory parsing the response");
	ps->rc = -ENOMEM;
	return -1;
}

/* One [time, "value"] at `where` ("data.result[2].value"); a string result's value is any
 * string, a sample's must be a number as Prometheus writes them. */
static int parse_point(struct parse *ps, const cJSON *j, promql_point_t *pt, const char *where,
		       bool sample)
{
	const cJSON *t, *v;

	if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 2)
		return malformed(ps, "%s: expected [time, \"value\"]", where);
	t = j->child;
	v = t->next;
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble))
		return malformed(ps, "%s[0]: expected a timestamp (a number)", where);
	if (!cJSON_IsString(v))
		return malformed(ps, "%s[1]: expected a string, found %s", where,
				 cJSON_IsNumber(v) ? "a number" : "another type");
	pt->v = NAN;
	if (sample && promql_parse_value(v->valuestring, &pt->v) < 0) {
		char q[64];

		quote_excerpt(q, sizeof(q), v->valuestring, strlen(v->valuestring), 40);
		return malformed(ps, "%s[1]: %s is not a sample value", where, q);
	}
	pt->t = t->valuedouble;
	if (!(pt->text = strdup(v->valuestring)))
		return oom(ps);
	return 0;
}

static int parse_labels(struct parse *ps, const cJSON *m, promql_series_t *s, size_t i)
{
	const cJSON *l;
	size_t n = 0;

	if (!m)
		return 0;
	if (!cJSON_IsObject(m))
		return malformed(ps, "data.result[%zu].metric: expected an object", i);
	for (l = m->child; l; l = l->next)
		n++;
	if (!n)
		return 0;
	if (!(s->labels = calloc(n, sizeof(*s->labels))))
		return oom(ps);
	for (l = m->child; l; l = l->next) {
		promql_label_t *lb = &s->labels[s->n_labels];

		if (!cJSON_IsString(l))
			return malformed(ps, "data.result[%zu].metric.%.64s: expected a string", i,
					 l->string);
		lb->name = strdup(l->string);
		lb->value = strdup(l->valuestring);
		s->n_labels++;
		if (!lb->name || !lb->value)
			return oom(ps);
	}
	return 0;
}

static int parse_series(struct parse *ps, const cJSON *j, promql_series_t *s, size_t i,
			bool matrix)
{
	const cJSON *vals, *p;
	size_t n = 0, k = 0;
	char where[96];

	if (!cJSON_IsObject(j))
		return malformed(ps, "data.result[%zu]: expected an object", i);
	if (parse_labels(ps, cJSON_GetObjectItemCaseSensitive(j, "metric"), s, i) < 0)
		return -1;
	if (!matrix) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");

		if (!v && cJSON_GetObjectItemCaseSensitive(j, "histogram"))
			return malformed(ps, "data.result[%zu]: a native histogram sample, not a "
					 "number (wrap the query in histogram_fraction() or "
					 "similar)", i);
		if (!v)
			return malformed(ps, "data.result[%zu]: no \"value\"", i);
		if (!(s->points = calloc(1, sizeof(*s->points))))
			return oom(ps);
		s->n_points = 1;
		snprintf(where, sizeof(where), "data.result[%zu].value", i);
		return parse_point(ps, v, &s->points[0], where, true);
	}
	vals = cJSON_GetObjectItemCaseSensitive(j, "values");
	if (!vals && cJSON_GetObjectItemCaseSensitive(j, "histograms"))
		return malformed(ps, "data.result[%zu]: native histogram samples, not numbers", i);
	if (!cJSON_IsArray(vals))
		return malformed(ps, "data.result[%zu].values: expected an array", i);
	for (p = vals->child; p; p = p->next)
		n++;
	if (n > PROMQL_MAX_POINTS - ps->points) {
		http_errf(ps->err, ps->errsz, "the result has more than %d points",
			PROMQL_MAX_POINTS);
		ps->rc = -E2BIG;
		return -1;
	}
	ps->points += n;
	if (n && !(s->points = calloc(n, sizeof(*s->points))))
		return oom(ps);
	for (p = vals->child; p; p = p->next, k++) {
		s->n_points++;
		snprintf(where, sizeof(where), "data.result[%zu].values[%zu]", i, k);
		if (parse_point(ps, p, &s->points[k], where, true) < 0)
			return -1;
	}
	return 0;
}

static int parse_data(struct parse *ps, const cJSON *data)
{
	promql_result_t *r = ps->r;
	const cJSON *rt, *res, *j;
	size_t n = 0, i = 0;

	if (!cJSON_IsObject(data))
		return malformed(ps, "data: expected an object");
	rt = cJSON_GetObjectItemCaseSensitive(data, "resultType");
	res = cJSON_GetObjectItemCaseSensitive(data, "result");
	if (!cJSON_IsString(rt))
		return malformed(ps, "data.resultType: expected a string");
	if (!strcmp(rt->valuestring, "vector"))
		r->type = PROMQL_TYPE_VECTOR;
	else if (!strcmp(rt->valuestring, "matrix"))
		r->type = PROMQL_TYPE_MATRIX;
	else if (!strcmp(rt->valuestring, "scalar"))
		r->type = PROMQL_TYPE_SCALAR;
	else if (!strcmp(rt->valuestring, "string"))
		r->type = PROMQL_TYPE_STRING;
	else {
		char q[64];

		quote_excerpt(q, sizeof(q), rt->valuestring, strlen(rt->valuestring), 32);
		return malformed(ps, "data.resultType: unknown type %s", q);
	}

	if (r->type == PROMQL_TYPE_SCALAR || r->type == PROMQL_TYPE_STRING) {
		promql_point_t pt = { 0 };

		if (parse_point(ps, res, &pt, "data.result", r->type == PROMQL_TYPE_SCALAR) < 0) {
			free(pt.text);
			return -1;
		}
		if (r->type == PROMQL_TYPE_STRING) {
			r->string = pt.text;
			r->string_t = pt.t;
			return 0;
		}
		if (!(r->series = calloc(1, sizeof(*r->series))) ||
		    !(r->series->points = malloc(sizeof(pt)))) {
			free(pt.text);
			return oom(ps);
		}
		r->n_series = 1;
		r->series->points[0] = pt;
		r->series->n_points = 1;
		return 0;
	}

	if (!cJSON_IsArray(res))
		return malformed(ps, "data.result: expected an array");
	for (j = res->child; j; j = j->next)
		n++;
	if (n > PROMQL_MAX_SERIES) {
		http_errf(ps->err, ps->errsz, "the result has %zu series, more than %d", n,
			PROMQL_MAX_SERIES);
		ps->rc = -E2BIG;
		return -1;
	}
	if (n && !(r->series = calloc(n, sizeof(*r->series))))
		return oom(ps);
	for (j = res->child; j; j = j->next, i++) {
		r->n_series++;
		if (parse_series(ps, j, &r->series[i], i, r->type == PROMQL_TYPE_MATRIX) < 0)
			return -1;
	}
	return 0;
}

static int parse_warnings(struct parse *ps, const cJSON *w, const char *key)
{
	promql_result_t *r = ps->r;
	const cJSON *j;

	if (!w)
		return 0;
	if (!cJSON_IsArray(w))
		return malformed(ps, "%s: expected an array of strings", key);
	for (j = w->child; j; j = j->next) {
		if (!cJSON_IsString(j))
			return malformed(ps, "%s: expected an array of strings", key);
		if (r->n_warnings >= PROMQL_MAX_WARNINGS) {
			r->dropped_warnings++;
			continue;
		}
		if (!r->warnings && !(r->warnings = calloc(PROMQL_MAX_WARNINGS, sizeof(char *))))
			return oom(ps);
		if (!(r->warnings[r->n_warnings] = strdup(j->valuestring)))
			return oom(ps);
		r->n_warnings++;
	}
	return 0;
}

int promql_parse_response(long status, const char *body, size_t len, promql_result_t *ret,
			  promql_failure_t *why, char *error_type, char *err, size_t errsz)
{
	promql_result_t r = { 0 };
	struct parse ps = { .r = &r, .err = err, .errsz = errsz, .rc = 0 };
	const cJSON *st, *et, *em;
	cJSON *root;
	promql_failure_t fail = PROMQL_FAIL_MALFORMED;
	int rc;

	if (error_type)
		error_type[0] = '\0';
	if (why)
		*why = PROMQL_FAIL_NONE;
	if (!body || !len) {
		http_errf(err, errsz, "HTTP %ld: empty body, not a Prometheus API response", status);
		rc = -EPROTO;
		goto fail;
	}
	root = cJSON_ParseWithLength(body, len);
	if (!root || !cJSON_IsObject(root)) {
		char q[96];

		quote_excerpt(q, sizeof(q), body, len, 60);
		http_errf(err, errsz, "HTTP %ld: %s, not a Prometheus API response: %s", status,
			root ? "a JSON value but not an object" : "not JSON", q);
		cJSON_Delete(root);
		rc = -EPROTO;
		goto fail;
	}
	st = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (cJSON_IsString(st) && !strcmp(st->valuestring, "error")) {
		char q[32] = "", m[PROMQL_ERROR_MAX / 2];

		et = cJSON_GetObjectItemCaseSensitive(root, "errorType");
		em = cJSON_GetObjectItemCaseSensitive(root, "error");
		if (cJSON_IsString(et)) {
			snprintf(q, sizeof(q), "%s", et->valuestring);
			promql_one_line(q);
			if (error_type)
				snprintf(error_type, 32, "%s", q);
		}
		snprintf(m, sizeof(m), "%s",
			 cJSON_IsString(em) && em->valuestring[0] ? em->valuestring :
								    "(no error message)");
		http_errf(err, errsz, "%s%s%s", q, q[0] ? ": " : "", m);
		cJSON_Delete(root);
		fail = PROMQL_FAIL_API;
		rc = -EPROTO;
		goto fail;
	}
	if (!cJSON_IsString(st) || strcmp(st->valuestring, "success")) {
		malformed(&ps, "HTTP %ld: status: expected \"success\" or \"error\"", status);
	} else if (parse_data(&ps, cJSON_GetObjectItemCaseSensitive(root, "data")) == 0 &&
		   parse_warnings(&ps, cJSON_GetObjectItemCaseSensitive(root, "warnings"),
				  "warnings") == 0) {
		parse_warnings(&ps, cJSON_GetObjectItemCaseSensitive(root, "infos"), "infos");
	}
	cJSON_Delete(root);
	rc = ps.rc;
	if (rc == 0) {
		promql_result_clear(ret);
		*ret = r;
		return 0;
	}
	if (rc == -E2BIG)
		fail = PROMQL_FAIL_LIMIT;
fail:
	promql_result_clear(&r);
	if (err && errsz)
		promql_one_line(err);
	if (why)
		*why = rc == -ENOMEM ? PROMQL_FAIL_NONE : fail;
	return rc;
}

/* ---- reduction and rules ------------------------------------------------------------------ */

static promql_value_kind_t kind_of(double v)
{
	if (isnan(v))
		return PROMQL_VALUE_NAN;
	if (isinf(v))
		return v > 0 ? PROMQL_VALUE_POS_INF : PROMQL_VALUE_NEG_INF;
	return PROMQL_VALUE_NUMBER;
}

static bool has_label(const promql_series_t *s, const promql_label_t *l)
{
	for (size_t i = 0; s && i < s->n_labels; i++)
		if (!strcmp(s->labels[i].name, l->name) && !strcmp(s->labels[i].value, l->value))
			return true;
	return false;
}

/* '{pod="a"}' of a series for an error message: the labels that tell it from `other` (all
 * but __name__ when other is NULL), at most size - 1 bytes, cut with "...}". */
static size_t series_name(char *buf, size_t size, const promql_series_t *s,
			  const promql_series_t *other)
{
	char tmp[512];
	size_t o = 0, i;
	bool first = true;

	o += (size_t)snprintf(tmp, sizeof(tmp), "{");
	for (i = 0; i < s->n_labels && o < sizeof(tmp); i++) {
		if (!strcmp(s->labels[i].name, "__name__") || has_label(other, &s->labels[i]))
			continue;
		o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%s%s=\"%s\"", first ? "" : ",",
				      s->labels[i].name, s->labels[i].value);
		first = false;
	}
	if (o < sizeof(tmp))
		o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "}");
	if (o >= size && size > 5)
		snprintf(tmp + size - 5, 5, "...}");
	o = strnlen(tmp, size - 1);
	memcpy(buf, tmp, o);
	buf[o] = '\0';
	return o;
}

void promql_reduce(const promql_result_t *r, promql_aggregation_t agg, promql_value_t *ret)
{
	double acc = 0, maxv = NAN;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->kind = PROMQL_VALUE_ERROR;
	ret->value = NAN;
	ret->n_series = r->n_series;
	switch (r->type) {
	case PROMQL_TYPE_VECTOR:
	case PROMQL_TYPE_SCALAR:
		break;
	case PROMQL_TYPE_MATRIX:
		snprintf(ret->error, sizeof(ret->error),
			 "the query returns a range vector (matrix); it must return an instant "
			 "vector or a scalar");
		return;
	default:
		snprintf(ret->error, sizeof(ret->error),
			 "the query returns a %s; it must return an instant vector or a scalar",
			 r->type == PROMQL_TYPE_STRING ? "string" : "result of no known type");
		return;
	}
	if (r->n_series == 0) {
		ret->kind = PROMQL_VALUE_EMPTY;
		return;
	}
	for (i = 0; i < r->n_series; i++) {
		if (r->series[i].n_points != 1) {
			snprintf(ret->error, sizeof(ret->error),
				 "series %zu has %zu values in an instant result", i,
				 r->series[i].n_points);
			return;
		}
	}
	if (r->n_series > 1 && agg == PROMQL_AGG_NONE) {
		size_t o = (size_t)snprintf(ret->error, sizeof(ret->error),
					    "%zu series and no series_aggregation (sum, max or avg) "
					    "to combine them, e.g. ",
					    r->n_series);

		for (i = 0; i < r->n_series && i < 2 && o + 8 < sizeof(ret->error); i++) {
			if (i)
				o += (size_t)snprintf(ret->error + o, sizeof(ret->error) - o, ", ");
			o += series_name(ret->error + o, (sizeof(ret->error) - o - 6) < 80 ?
								 sizeof(ret->error) - o - 6 :
								 80,
					 &r->series[i], &r->series[1 - i]);
		}
		if (r->n_series > 2 && o + 6 < sizeof(ret->error))
			snprintf(ret->error + o, sizeof(ret->error) - o, ", ...");
		promql_one_line(ret->error); /* label values may hold anything */
		return;
	}
	for (i = 0; i < r->n_series; i++) {
		double v = r->series[i].points[0].v;

		acc += v;
		if (!isnan(v) && (isnan(maxv) || v > maxv))
			maxv = v;
	}
	if (r->n_series == 1 || agg == PROMQL_AGG_SUM)
		ret->value = r->n_series == 1 ? r->series[0].points[0].v : acc;
	else if (agg == PROMQL_AGG_MAX)
		ret->value = maxv;
	else
		ret->value = acc / (double)r->n_series;
	ret->kind = kind_of(ret->value);
}

bool promql_apply(const promql_value_t *v, promql_on_empty_t on_empty, promql_on_nan_t on_nan,
		  double *ret, char *why, size_t whysz)
{
	switch (v->kind) {
	case PROMQL_VALUE_NUMBER:
		http_errf(why, whysz, "%.17g", v->value);
		*ret = v->value;
		return true;
	case PROMQL_VALUE_NAN:
		if (on_nan == PROMQL_NAN_ZERO) {
			http_errf(why, whysz, "NaN (no requests in the window): on_nan: zero gives 0");
			*ret = 0;
			return true;
		}
		http_errf(why, whysz, "NaN (no requests in the window): on_nan: hold, no scaling");
		return false;
	case PROMQL_VALUE_EMPTY:
		if (on_empty == PROMQL_EMPTY_ZERO) {
			http_errf(why, whysz,
				"empty result (the series are gone): on_empty_result: zero gives 0");
			*ret = 0;
			return true;
		}
		http_errf(why, whysz,
			"empty result (the series are gone): on_empty_result: hold, no scaling");
		return false;
	case PROMQL_VALUE_POS_INF:
	case PROMQL_VALUE_NEG_INF:
		http_errf(why, whysz, "%s: missing data, no scaling",
			v->kind == PROMQL_VALUE_POS_INF ? "+Inf" : "-Inf");
		return false;
	case PROMQL_VALUE_ERROR:
	default:
		http_errf(why, whysz, "%s: missing data, no scaling", v->error);
		if (why && whysz)
			promql_one_line(why);
		return false;
	}
}
