/* values.c - strict scalar parsers and formatters for policy values.
 *
 * YAML 1.1 reads "0x10", "1_000", ".inf" and "yes" as numbers and booleans; a policy file
 * is clearer without them, so each parser accepts one plain spelling and nothing else.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-private.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int config_parse_int(const char *s, long long *ret)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '+' || *p == '-')
		p++;
	if (!is_digit(*p))
		return -EINVAL;
	while (is_digit(*p))
		p++;
	if (*p)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int config_parse_double(const char *s, double *ret)
{
	const char *p = s;
	bool digits = false;
	char *end;
	double v;

	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (is_digit(*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return -EINVAL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return -EINVAL;
		while (is_digit(*p))
			p++;
	}
	if (*p)
		return -EINVAL;
	/* The grammar above is what strtod reads in the C locale, which the daemon never
	 * leaves (it calls no setlocale). */
	errno = 0;
	v = strtod(s, &end);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE && (isinf(v) || v != 0))
		return -ERANGE;
	*ret = v;
	return 0;
}

int config_parse_duration(const char *s, engine_ms_t *ret)
{
	static const struct {
		const char *name;
		engine_ms_t ms;
	} units[] = {
		/* Longest first so "ms" is not read as "m" followed by "s". */
		{ "d", 86400000 }, { "h", 3600000 }, { "ms", 1 }, { "m", 60000 }, { "s", 1000 },
	};
	/* Rank of each unit in the order Prometheus requires: d, h, m, s, ms. */
	static const int rank[] = { 0, 1, 4, 2, 3 };
	const char *p = s;
	engine_ms_t total = 0;
	int last = -1;

	if (!is_digit(*p))
		return -EINVAL;
	/* Integer seconds. */
	{
		long long v;

		if (config_parse_int(s, &v) == 0) {
			if (v < 0)
				return -EINVAL;
			if (v > INT64_MAX / 1000)
				return -ERANGE;
			*ret = (engine_ms_t)v * 1000;
			return 0;
		}
	}
	while (*p) {
		engine_ms_t n = 0;
		size_t u;

		if (!is_digit(*p))
			return -EINVAL;
		while (is_digit(*p)) {
			if (n > (INT64_MAX - 9) / 10)
				return -ERANGE;
			n = n * 10 + (*p++ - '0');
		}
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strncmp(p, units[u].name, strlen(units[u].name)) == 0)
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		if (rank[u] <= last)
			return -EINVAL;
		last = rank[u];
		p += strlen(units[u].name);
		if (n > (INT64_MAX - total) / units[u].ms)
			return -ERANGE;
		total += n * units[u].ms;
	}
	*ret = total;
	return 0;
}

int config_parse_bool(const char *s, bool *ret)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

void config_format_duration(engine_ms_t ms, char *buf, size_t size)
{
	static const struct {
		const char *name;
		engine_ms_t ms;
	} units[] = {
		{ "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (ms <= 0) {
		snprintf(buf, size, "%s", ms == 0 ? "0s" : "-");
		return;
	}
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]) && ms > 0; u++) {
		engine_ms_t n = ms / units[u].ms;
		int w;

		if (n == 0)
			continue;
		ms -= n * units[u].ms;
		w = snprintf(buf + used, size - used, "%lld%s", (long long)n, units[u].name);
		if (w < 0 || (size_t)w >= size - used)
			return;
		used += (size_t)w;
	}
}

void config_format_double(double v, char *buf, size_t size)
{
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	/* Plain decimals read better than "1e+01" for the values a policy holds. */
	if (strpbrk(buf, "eE") && isfinite(v) && fabs(v) >= 1e-6 && fabs(v) < 1e15) {
		for (prec = 0; prec <= 24; prec++) {
			snprintf(buf, size, "%.*f", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
	/* Keep it reading as a number with a fraction ("5.0", as vLLM labels its buckets). */
	if (isfinite(v) && !strpbrk(buf, ".eE") && strlen(buf) + 2 < size)
		strcat(buf, ".0");
}
