/* promql-template.c - query templates: placeholders filled and escaped for where they land.
 *
 * The template is scanned with just enough of PromQL's lexical rules to know, at each
 * placeholder, whether it sits outside any string, inside a "..." or '...' literal (where
 * backslash escapes apply) or a `...` raw one, and whether that string is the operand of a
 * =~ or !~ matcher (a regular expression). Comments (# to the end of the line) are skipped
 * like Prometheus's lexer does, so a quote inside one does not open a string.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql-private.h"
#include "promql/promql.h"

static const double vllm_buckets[] = {
	0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
	120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
};

bool promql_is_vllm_bucket(double v)
{
	size_t i;

	if (isinf(v) && v > 0)
		return true;
	for (i = 0; i < sizeof(vllm_buckets) / sizeof(vllm_buckets[0]); i++)
		if (v == vllm_buckets[i])
			return true;
	return false;
}

int promql_format_le(double v, char *buf, size_t size)
{
	char digits[40], *e;
	int prec, exp10, n;
	size_t nd;

	if (isnan(v))
		return snprintf(buf, size, "NaN");
	if (isinf(v))
		return snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return snprintf(buf, size, signbit(v) ? "-0.0" : "0.0");
	/* Python's repr: the shortest digits that read back as v ... */
	for (prec = 0; prec < 17; prec++) {
		snprintf(digits, sizeof(digits), "%.*e", prec, v);
		if (strtod(digits, NULL) == v)
			break;
	}
	e = strchr(digits, 'e');
	exp10 = atoi(e + 1);
	*e = '\0';
	/* ... as d.ddd without the point: */
	{
		char *p = digits, *q = digits;

		for (; *p; p++)
			if (*p != '.')
				*q++ = *p;
		*q = '\0';
	}
	{
		const char *sign = digits[0] == '-' ? "-" : "";
		const char *d = digits + (sign[0] ? 1 : 0);

		nd = strlen(d);
		/* ... then positional when -4 <= exponent < 16, else scientific. */
		if (exp10 < -4 || exp10 >= 16) {
			n = snprintf(buf, size, "%s%c%s%.*s%se%c%02d", sign, d[0], nd > 1 ? "." : "",
				     (int)(nd > 1 ? nd - 1 : 0), d + 1, "", exp10 < 0 ? '-' : '+',
				     abs(exp10));
		} else if (exp10 < 0) {
			n = snprintf(buf, size, "%s0.%0*d%s", sign, -exp10 - 1, 0, d);
			if (exp10 == -1) /* "%0*d" of width 0 still prints "0" */
				n = snprintf(buf, size, "%s0.%s", sign, d);
		} else if ((size_t)exp10 + 1 >= nd) {
			n = snprintf(buf, size, "%s%s%0*d.0", sign, d, (int)((size_t)exp10 + 1 - nd),
				     0);
			if ((size_t)exp10 + 1 == nd)
				n = snprintf(buf, size, "%s%s.0", sign, d);
		} else {
			n = snprintf(buf, size, "%s%.*s.%s", sign, exp10 + 1, d, d + exp10 + 1);
		}
	}
	return n;
}

int promql_format_duration(int64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "y", 365LL * 24 * 3600 * 1000 }, { "w", 7LL * 24 * 3600 * 1000 },
		{ "d", 24LL * 3600 * 1000 },       { "h", 3600LL * 1000 },
		{ "m", 60LL * 1000 },              { "s", 1000 },
		{ "ms", 1 },
	};
	size_t o = 0, i;

	if (size)
		buf[0] = '\0';
	if (ms <= 0)
		return snprintf(buf, size, "0s");
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		int64_t q = ms / units[i].ms;
		int n;

		if (!q)
			continue;
		ms -= q * units[i].ms;
		n = snprintf(o < size ? buf + o : NULL, o < size ? size - o : 0, "%lld%s",
			     (long long)q, units[i].unit);
		o += (size_t)n;
	}
	return (int)o;
}

/* ---- filling ------------------------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, cap;
	int rc;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->rc)
		return;
	if (n > PROMQL_MAX_LEN - o->len) {
		o->rc = -E2BIG;
		return;
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *p;

		while (cap < o->len + n + 1)
			cap *= 2;
		if (!(p = realloc(o->p, cap))) {
			o->rc = -ENOMEM;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* Where a placeholder lands. */
struct ctx {
	char quote; /* 0 outside a string, else '"', '\'' or '`' */
	bool regex; /* the string is the operand of =~ or !~ */
};

/* Appends value escaped for ctx; -EINVAL when it cannot be written there. */
static int put_value(struct out *o, const char *v, struct ctx c)
{
	static const char meta[] = "\\.+*?()|[]{}^$";
	char buf[8];

	for (; *v; v++) {
		size_t n = 0;

		if (c.regex && strchr(meta, *v))
			buf[n++] = '\\';
		buf[n++] = *v;
		if (c.quote == '"' || c.quote == '\'') {
			/* a string literal: escape backslashes (the regex's too), the quote, and
			 * the control characters Go's strconv would not take raw */
			char lit[16];
			size_t k, m = 0;

			for (k = 0; k < n; k++) {
				char ch = buf[k];

				if (ch == '\\' || ch == c.quote) {
					lit[m++] = '\\';
					lit[m++] = ch;
				} else if (ch == '\n') {
					lit[m++] = '\\';
					lit[m++] = 'n';
				} else if ((unsigned char)ch < 0x20) {
					m += (size_t)snprintf(lit + m, sizeof(lit) - m, "\\x%02x",
							      (unsigned char)ch);
				} else {
					lit[m++] = ch;
				}
			}
			put(o, lit, m);
		} else {
			if (c.quote == '`' && *v == '`')
				return -EINVAL;
			put(o, buf, n);
		}
	}
	return 0;
}

static const char *const names[] = { "namespace", "deployment", "window", "latency_slo",
				     "selector" };
enum { PH_NAMESPACE, PH_DEPLOYMENT, PH_WINDOW, PH_LATENCY, PH_SELECTOR, PH_COUNT };

static int fill(const char *t, const promql_vars_t *vars, bool in_selector, struct out *o,
		char *err, size_t errsz);

static int placeholder(const char *t, const char *p, const char **end, int *ret, bool in_selector,
		       char *err, size_t errsz)
{
	const char *close = strstr(p + 2, "}}");
	const char *what = in_selector ? "metric_selector" : "query";
	size_t n;
	int i;

	if (!close) {
		http_errf(err, errsz, "%s: \"{{\" at offset %zu is not closed by \"}}\"", what,
		    (size_t)(p - t));
		return -EINVAL;
	}
	n = (size_t)(close - (p + 2));
	for (i = 0; i < PH_COUNT; i++)
		if (strlen(names[i]) == n && !strncmp(p + 2, names[i], n))
			break;
	if (i == PH_COUNT) {
		http_errf(err, errsz, "%s: unknown placeholder {{%.*s}} at offset %zu (known: "
				"{{namespace}}, {{deployment}}, {{window}}, {{latency_slo}}, "
				"{{selector}})",
		    what, (int)(n > 40 ? 40 : n), p + 2, (size_t)(p - t));
		return -EINVAL;
	}
	if (i == PH_SELECTOR && in_selector) {
		http_errf(err, errsz, "metric_selector: {{selector}} cannot be used inside the selector");
		return -EINVAL;
	}
	*end = close + 2;
	*ret = i;
	return 0;
}

static int fill(const char *t, const promql_vars_t *vars, bool in_selector, struct out *o,
		char *err, size_t errsz)
{
	struct ctx c = { 0, false };
	char last[2] = { 0, 0 }; /* the last two significant characters outside strings */
	const char *p = t;
	int rc;

	while (*p && !o->rc) {
		char val[64];
		const char *end;
		int ph;

		if (p[0] == '{' && p[1] == '{') {
			if ((rc = placeholder(t, p, &end, &ph, in_selector, err, errsz)) < 0)
				return rc;
			switch (ph) {
			case PH_NAMESPACE:
			case PH_DEPLOYMENT:
				rc = put_value(o, ph == PH_NAMESPACE ? vars->namespace_ : vars->deployment,
					       c);
				break;
			case PH_WINDOW:
				promql_format_duration(vars->window_ms, val, sizeof(val));
				rc = put_value(o, val, c);
				break;
			case PH_LATENCY:
				promql_format_le(vars->latency_slo, val, sizeof(val));
				rc = put_value(o, val, c);
				break;
			default:
				if (c.quote) {
					http_errf(err, errsz, "query: {{selector}} at offset %zu is inside a "
							"string literal; it holds label matchers",
					    (size_t)(p - t));
					return -EINVAL;
				}
				rc = fill(vars->selector ? vars->selector : PROMQL_DEFAULT_SELECTOR,
					  vars, true, o, err, errsz);
				if (rc < 0)
					return rc;
				last[0] = last[1] = 0;
				break;
			}
			if (rc < 0) {
				http_errf(err, errsz, "%s: the value of {{%s}} contains a ` and cannot go "
						"into the raw string at offset %zu",
				    in_selector ? "metric_selector" : "query", names[ph],
				    (size_t)(p - t));
				return rc;
			}
			p = end;
			continue;
		}
		if (c.quote) {
			if (*p == '\\' && c.quote != '`' && p[1]) {
				put(o, p, 2);
				p += 2;
				continue;
			}
			if (*p == c.quote)
				c.quote = 0;
		} else if (*p == '"' || *p == '\'' || *p == '`') {
			c.quote = *p;
			c.regex = last[1] == '~' && (last[0] == '=' || last[0] == '!');
		} else if (*p == '#') {
			const char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);

			put(o, p, n);
			p += n;
			continue;
		} else if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			last[0] = last[1];
			last[1] = *p;
		}
		put(o, p, 1);
		p++;
	}
	return 0;
}

int promql_fill(const char *tmpl, const promql_vars_t *vars, char **ret, char *err, size_t errsz)
{
	struct out o = { 0 };
	int rc;

	if (!vars || !vars->namespace_ || !vars->deployment || vars->window_ms <= 0) {
		http_errf(err, errsz, "query: namespace, deployment and a window are required");
		return -EINVAL;
	}
	rc = fill(tmpl ? tmpl : PROMQL_DEFAULT_QUERY, vars, false, &o, err, errsz);
	if (!rc && !o.rc)
		put(&o, "", 0); /* an empty template still gives a string */
	if (!rc)
		rc = o.rc;
	if (rc == -E2BIG)
		http_errf(err, errsz, "query: longer than %d bytes once filled", PROMQL_MAX_LEN);
	else if (rc == -ENOMEM)
		http_errf(err, errsz, "out of memory filling the query");
	if (rc) {
		free(o.p);
		return rc;
	}
	if (!o.p && !(o.p = strdup(""))) {
		http_errf(err, errsz, "out of memory filling the query");
		return -ENOMEM;
	}
	*ret = o.p;
	return 0;
}
