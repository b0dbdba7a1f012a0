/* replay.c - the JSONL side of `autoscalerd replay`: parse a line, run its tick, format the
 * result (DESIGN.md section 4, "Replay").
 *
 * cJSON parses each line, but it is lenient where the contract is not: it keeps both
 * copies of a repeated key, stops at the end of the first value without complaint, treats
 * every control byte as whitespace and reads numbers too large for a double as infinity.
 * Each of those is checked here, so that a malformed line is an error naming what is
 * wrong instead of a tick the operator did not write.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "autoscalerd/replay.h"

enum field {
	F_T,
	F_VALUE,
	F_CURRENT,
	F_READY,
	F_STATUS,
	F_POOL_SIZE,
	F_N,
};

static const char *const field_names[F_N] = {
	[F_T] = "t",
	[F_VALUE] = "value",
	[F_CURRENT] = "current",
	[F_READY] = "ready",
	[F_STATUS] = "status",
	[F_POOL_SIZE] = "pool_size",
};

#define VALUE_FORMS "a number, null, \"NaN\", \"+Inf\", \"-Inf\" or \"empty\""

static void msg(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void msg(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

/* s as a quoted string for a message: at most 32 bytes, anything unprintable escaped. */
static void quote(const char *s, char *buf, size_t size)
{
	size_t n = 0, i;

	if (size < 8)
		return;
	buf[n++] = '"';
	for (i = 0; s[i] && n + 6 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 32) {
			n += (size_t)snprintf(buf + n, size - n, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n++] = '"';
	buf[n] = '\0';
}

/* What a JSON value is, for "expected ..., found ..." messages; size >= REPLAY_T_SIZE. */
static void describe(const cJSON *v, char *buf, size_t size)
{
	if (cJSON_IsNumber(v))
		replay_format_t(v->valuedouble, buf, size);
	else if (cJSON_IsString(v))
		quote(v->valuestring, buf, size);
	else if (cJSON_IsNull(v))
		snprintf(buf, size, "null");
	else if (cJSON_IsTrue(v))
		snprintf(buf, size, "true");
	else if (cJSON_IsFalse(v))
		snprintf(buf, size, "false");
	else if (cJSON_IsArray(v))
		snprintf(buf, size, "an array");
	else
		snprintf(buf, size, "an object");
}

static int parse_count(const cJSON *v, const char *name, int32_t *ret, char *err, size_t size)
{
	char found[64];

	describe(v, found, sizeof(found));
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0) {
		msg(err, size, "\"%s\": expected a non-negative integer, found %s", name, found);
		return -EINVAL;
	}
	if (v->valuedouble > REPLAY_MAX_COUNT) {
		msg(err, size, "\"%s\": %s is above the largest count, %d", name, found,
		    REPLAY_MAX_COUNT);
		return -EINVAL;
	}
	*ret = (int32_t)v->valuedouble;
	return 0;
}

static int parse_value(const cJSON *v, replay_line_t *l, char *err, size_t size)
{
	static const struct {
		const char *name;
		engine_value_kind_t kind;
	} words[] = {
		{ "NaN", ENGINE_VALUE_NAN },
		{ "+Inf", ENGINE_VALUE_POS_INF },
		{ "-Inf", ENGINE_VALUE_NEG_INF },
		{ "empty", ENGINE_VALUE_EMPTY },
	};
	char found[64];

	l->value = 0;
	if (cJSON_IsNumber(v)) {
		if (!isfinite(v->valuedouble)) {
			msg(err, size, "\"value\": the number is too large for a double "
				       "(write \"+Inf\" or \"-Inf\" for an infinity)");
			return -EINVAL;
		}
		l->kind = ENGINE_VALUE_NUMBER;
		l->value = v->valuedouble;
		return 0;
	}
	if (cJSON_IsNull(v)) {
		l->kind = ENGINE_VALUE_FAILED;
		return 0;
	}
	if (cJSON_IsString(v))
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (!strcmp(v->valuestring, words[i].name)) {
				l->kind = words[i].kind;
				return 0;
			}
	describe(v, found, sizeof(found));
	msg(err, size, "\"value\": expected " VALUE_FORMS ", found %s", found);
	return -EINVAL;
}

static int parse_t(const cJSON *v, replay_line_t *l, char *err, size_t size)
{
	char found[64];

	describe(v, found, sizeof(found));
	if (!cJSON_IsNumber(v)) {
		msg(err, size, "\"t\": expected a number of seconds, found %s", found);
		return -EINVAL;
	}
	if (!isfinite(v->valuedouble) || fabs(v->valuedouble) > REPLAY_MAX_T) {
		msg(err, size, "\"t\": %s is out of range (at most %g seconds either side of 0)",
		    isfinite(v->valuedouble) ? found : "the number", REPLAY_MAX_T);
		return -EINVAL;
	}
	l->t = v->valuedouble;
	l->t_ms = (engine_ms_t)llround(l->t * 1000);
	return 0;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

int replay_parse_line(const char *line, size_t len, replay_line_t *ret, char *err,
		      size_t err_size)
{
	replay_line_t l = { .current = -1, .ready = -1, .status = -1, .pool_size = -1 };
	const cJSON *seen[F_N] = { 0 };
	const char *end = NULL;
	cJSON *root = NULL, *child;
	int r = -EINVAL;

	err[0] = '\0';
	if (len > REPLAY_MAX_LINE) {
		msg(err, err_size, "line is longer than %zu bytes", REPLAY_MAX_LINE);
		return -EFBIG;
	}
	if (blank(line, len))
		return 1;
	/* JSON allows no raw control bytes (tab and CR only as whitespace); cJSON would skip
	 * them all as whitespace. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 && c != '\t' && c != '\r') {
			msg(err, err_size, "control character 0x%02x at column %zu", c, i + 1);
			return -EINVAL;
		}
	}

	root = cJSON_ParseWithLengthOpts(line, len, &end, false);
	if (!root) {
		/* cJSON sets end to where it gave up (or NULL when it could not allocate). */
		if (end && end >= line && end <= line + len)
			msg(err, err_size, "not JSON (column %zu)", (size_t)(end - line) + 1);
		else
			msg(err, err_size, "not JSON");
		goto out;
	}
	while (end < line + len && (*end == ' ' || *end == '\t' || *end == '\r'))
		end++;
	if (end < line + len) {
		msg(err, err_size, "unexpected text after the JSON value (column %zu)",
		    (size_t)(end - line) + 1);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		char found[64];

		describe(root, found, sizeof(found));
		msg(err, err_size, "expected a JSON object such as {\"t\": 0, \"value\": 0.5}, "
				   "found %s", found);
		goto out;
	}

	/* One pass over the members: unknown and repeated names are errors, so the walk is
	 * linear however many members a hostile line has. */
	for (child = root->child; child; child = child->next) {
		int f;

		for (f = 0; f < F_N; f++)
			if (!strcmp(child->string, field_names[f]))
				break;
		if (f == F_N) {
			char name[64];

			quote(child->string, name, sizeof(name));
			msg(err, err_size, "unknown field %s (the fields are t, value, current, "
					   "ready, status and pool_size)", name);
			goto out;
		}
		if (seen[f]) {
			msg(err, err_size, "duplicate field \"%s\"", field_names[f]);
			goto out;
		}
		seen[f] = child;
	}

	if (!seen[F_T]) {
		msg(err, err_size, "missing field \"t\" (seconds)");
		goto out;
	}
	if (!seen[F_VALUE]) {
		msg(err, err_size, "missing field \"value\" (" VALUE_FORMS ")");
		goto out;
	}
	if (parse_t(seen[F_T], &l, err, err_size) < 0 ||
	    parse_value(seen[F_VALUE], &l, err, err_size) < 0 ||
	    (seen[F_CURRENT] &&
	     parse_count(seen[F_CURRENT], "current", &l.current, err, err_size) < 0) ||
	    (seen[F_READY] && parse_count(seen[F_READY], "ready", &l.ready, err, err_size) < 0) ||
	    (seen[F_STATUS] &&
	     parse_count(seen[F_STATUS], "status", &l.status, err, err_size) < 0) ||
	    (seen[F_POOL_SIZE] &&
	     parse_count(seen[F_POOL_SIZE], "pool_size", &l.pool_size, err, err_size) < 0))
		goto out;

	*ret = l;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

void replay_format_t(double t, char *buf, size_t size)
{
	/* Integers print as integers ("-0" as "0"); |t| <= REPLAY_MAX_T fits a long long. */
	if (t == floor(t) && fabs(t) <= REPLAY_MAX_T) {
		snprintf(buf, size, "%lld", (long long)t);
		return;
	}
	/* The fewest significant digits that read back as t: printf rounds correctly, so
	 * this is the shortest round-trip form. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, t);
		if (strtod(buf, NULL) == t)
			return;
	}
}

int replay_init(replay_t *r, const config_policy_t *p)
{
	engine_state_t *s = engine_state_new();

	if (!s)
		return -ENOMEM;
	*r = (replay_t){
		.policy = p,
		.state = s,
		.next_current = p->replica_count,
		.next_pool = p->initial_pool_size,
	};
	return 0;
}

void replay_done(replay_t *r)
{
	r->state = engine_state_free(r->state);
}

int replay_step(replay_t *r, const replay_line_t *l, replay_result_t *ret, char *err,
		size_t err_size)
{
	const engine_policy_t *p = &r->policy->engine;
	engine_observation_t obs;
	engine_decision_t d;
	int k;

	err[0] = '\0';
	if (r->started && l->t_ms <= r->last_ms) {
		char now[REPLAY_T_SIZE], prev[REPLAY_T_SIZE];

		replay_format_t(l->t, now, sizeof(now));
		replay_format_t(r->last_t, prev, sizeof(prev));
		if (l->t > r->last_t)
			msg(err, err_size, "\"t\": %s falls in the same millisecond as the previous "
					   "tick's %s (ticks are kept in milliseconds)", now, prev);
		else
			msg(err, err_size, "\"t\": %s is not after the previous tick's %s (t must "
					   "increase strictly)", now, prev);
		return -EINVAL;
	}

	obs = ENGINE_OBSERVATION(l->t_ms, l->current >= 0 ? l->current : r->next_current);
	obs.kind = l->kind;
	obs.value = l->value;
	obs.ready = l->ready;
	obs.status = l->status;
	/* Replay has no pool to observe: the line's pool_size, else the previous decision. */
	if (p->nodes)
		obs.pool_size = l->pool_size >= 0 ? l->pool_size : r->next_pool;

	k = engine_tick(p, r->state, &obs, &d);
	if (k == 0 && d.desired != obs.current)
		k = engine_record_scale(p, r->state, obs.t, obs.current, d.desired);
	if (k < 0) {
		msg(err, err_size, "%s", k == -ENOMEM ? "out of memory" : "the engine refused the tick");
		return k;
	}

	r->started = true;
	r->last_t = l->t;
	r->last_ms = l->t_ms;
	r->next_current = d.desired;
	if (p->nodes)
		r->next_pool = d.nodes;
	*ret = (replay_result_t){ .t = l->t, .current = obs.current, .decision = d };
	return 0;
}

size_t replay_format(const replay_result_t *res, char *buf, size_t size)
{
	char t[REPLAY_T_SIZE], nodes[16] = "null";
	int n;

	replay_format_t(res->t, t, sizeof(t));
	if (res->decision.nodes >= 0)
		snprintf(nodes, sizeof(nodes), "%d", res->decision.nodes);
	n = snprintf(buf, size, "{\"t\":%s,\"current\":%d,\"desired\":%d,\"reason\":\"%s\",\"nodes\":%s}",
		     t, res->current, res->decision.desired,
		     engine_reason_name(res->decision.reason), nodes);
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}
