/* fuzz-promfill.c - libFuzzer target for the query templates of promql.h: promql_fill(),
 * promql_format_duration() and promql_format_le(), checked against promql_check().
 *
 * Input layout: byte 0 picks the target's names, bytes 1-8 the window, byte 9 the latency
 * SLO; the rest is a template and a metric_selector, split at the first NUL (without one,
 * in halves). Besides "no crash, no leak, no hang" the target holds the code to promql.h:
 *   - promql_fill returns 0, -EINVAL, -E2BIG or -ENOMEM; on success a query of at most
 *     PROMQL_MAX_LEN bytes that promql_check either accepts or rejects with an error; on
 *     failure a message in err and *ret untouched;
 *   - values are escaped for where they land: with the default query and selector, any
 *     printable ASCII namespace and Deployment give a query promql_check accepts;
 *   - a window is a Prometheus duration that parses back to its milliseconds, and an `le`
 *     (Python's repr) parses back to the same double.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/promfill/, dictionary
 * promfill.dict.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql-check.h"
#include "promql/promql.h"
#include "tests/fuzz/fuzz-common.h"

#define HEAD 10
#define MAX_NAME 253 /* a Kubernetes object name */

static const char *const names[][2] = {
	{ "default", "llama-8b" },
	{ "default", "llama.8b" },
	{ "ml-serving", "mistral-7b-instruct-v0.3" },
	{ "a\"b", "c\\d" },
	{ "it's", "x|y(z)" },
};

static const double slos[] = { 0.3, 0.5, 5.0, 7680.0, INFINITY, 0.05, 1e-3, 0.1 + 0.2, 1e22,
			       3.0 };

/* Prometheus 2.x durations: [0-9]+ with units y w d h m s ms, in that order, each once.
 * Milliseconds, or -1. */
static int64_t duration_ms(const char *s)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "y", 31536000000 }, { "w", 604800000 }, { "d", 86400000 },
		      { "h", 3600000 },	    { "ms", 1 },	 { "m", 60000 },
		      { "s", 1000 } };
	static const int rank[] = { 0, 1, 2, 3, 6, 4, 5 }; /* of units[], in Prometheus's order */
	int next = 0;
	int64_t total = 0;

	if (!*s)
		return -1;
	while (*s) {
		int64_t n = 0;
		size_t u;

		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			if (n > INT64_MAX / 10)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strncmp(s, units[u].unit, strlen(units[u].unit)) == 0)
				break;
		if (u == sizeof(units) / sizeof(units[0]) || rank[u] < next)
			return -1;
		next = rank[u] + 1;
		total += n * units[u].ms;
		s += strlen(units[u].unit);
	}
	return total;
}

static void fill_and_check(const char *tmpl, const promql_vars_t *v, bool must_succeed)
{
	char err[512], *out = NULL;
	int rv;

	memset(err, 'x', sizeof(err));
	rv = promql_fill(tmpl, v, &out, err, sizeof(err));
	REQUIRE(rv == 0 || rv == -EINVAL || rv == -E2BIG || rv == -ENOMEM);
	if (rv != 0) {
		REQUIRE(out == NULL);
		REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);
		REQUIRE(err[0] != '\0' && !strchr(err, '\n')); /* which and where, one line */
		REQUIRE(!must_succeed || rv == -E2BIG || rv == -ENOMEM);
		fprintf(sink, "%s\n", err);
		return;
	}
	REQUIRE(out != NULL);
	{
		size_t len = strlen(out);
		promql_error_t e;
		int c;

		REQUIRE(len <= PROMQL_MAX_LEN);
		c = promql_check(out, len, NULL, &e);
		REQUIRE(c == 0 || c == -EINVAL || c == -ENOMEM);
		if (must_succeed && c != 0) {
			fprintf(stderr, "rejected: %s\n%u:%u: %s\n", out, e.line, e.col, e.msg);
			REQUIRE(c == 0);
		}
	}
	free(out);
}

/* The printable ASCII bytes of s[0..n), at most MAX_NAME of them. */
static void printable(char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o < MAX_NAME; i++)
		if (s[i] >= 0x20 && s[i] < 0x7f)
			dst[o++] = s[i];
	dst[o] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	promql_vars_t v = { 0 };
	uint64_t w = 0;
	char *tmpl, *sel, buf[64], ns[MAX_NAME + 1], dep[MAX_NAME + 1];
	const uint8_t *nul;
	size_t n, split, skip;
	int len;

	if (size < HEAD)
		return 0;
	for (int i = 0; i < 8; i++)
		w = w << 8 | data[1 + i];
	v.namespace_ = names[data[0] % (sizeof(names) / sizeof(names[0]))][0];
	v.deployment = names[data[0] % (sizeof(names) / sizeof(names[0]))][1];
	v.window_ms = 1 + (int64_t)(w % (10ULL * 31536000000ULL)); /* up to ten years */
	v.latency_slo = slos[data[9] % (sizeof(slos) / sizeof(slos[0]))];

	/* the window and the `le` parse back */
	len = promql_format_duration(v.window_ms, buf, sizeof(buf));
	REQUIRE(len > 0 && (size_t)len == strlen(buf));
	REQUIRE(duration_ms(buf) == v.window_ms);
	memcpy(&v.latency_slo, data + 1, sizeof(double)); /* any bits, for promql_format_le */
	if (isfinite(v.latency_slo)) {
		len = promql_format_le(v.latency_slo, buf, sizeof(buf));
		REQUIRE(len > 0 && (size_t)len == strlen(buf));
		REQUIRE(strtod(buf, NULL) == v.latency_slo);
	}
	v.latency_slo = slos[data[9] % (sizeof(slos) / sizeof(slos[0]))];

	/* template and selector: NUL-terminated copies */
	n = size - HEAD;
	nul = memchr(data + HEAD, '\0', n);
	split = nul ? (size_t)(nul - data - HEAD) : n / 2;
	tmpl = malloc(split + 1);
	sel = malloc(n - split + 1);
	if (!tmpl || !sel) {
		free(tmpl);
		free(sel);
		return 0;
	}
	memcpy(tmpl, data + HEAD, split);
	tmpl[split] = '\0';
	skip = nul ? 1 : 0;
	memcpy(sel, data + HEAD + split + skip, n - split - skip);
	sel[n - split - skip] = '\0';

	fill_and_check(tmpl, &v, false);
	v.selector = sel;
	fill_and_check(tmpl, &v, false);
	fill_and_check(NULL, &v, false);

	/* any printable namespace and Deployment fit the default query */
	printable(ns, tmpl, strlen(tmpl));
	printable(dep, sel, strlen(sel));
	v.namespace_ = ns;
	v.deployment = dep;
	v.selector = NULL;
	fill_and_check(NULL, &v, true);
	free(tmpl);
	free(sel);
	return 0;
}
