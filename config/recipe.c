/* recipe.c - Corrino (OCI AI Blueprints) recipe JSON -> policy YAML (DESIGN.md section 3).
 *
 * A recipe is the whole payload of Corrino's POST /deployment: image, storage, probes and,
 * among them, the autoscaling keys. The import keeps those and drops the rest, then writes
 * one policy in the YAML syntax of config.c, which does all the semantic validation when
 * the result is loaded; this file only checks what the YAML cannot say for it: JSON syntax
 * (with exact positions), the type of every imported value, and keys in the two
 * autoscaling blocks that the policy schema does not know.
 *
 * How it reads the JSON: a strict RFC 8259 scanner runs first. It gives a line and column
 * for every syntax error (cJSON reports only an approximate pointer), rejects what cannot
 * travel through YAML or a C string (invalid UTF-8, \u0000), bounds nesting, and accepts
 * nothing that cJSON would refuse; cJSON then builds the tree. cJSON keeps no positions,
 * so the checks walk the tree and the text side by side: the members of an object come in
 * the same order in both, which gives each value its position without any searching.
 *
 * Decisions taken where the recipe format is loose:
 *   - scaler_type, server_address and scaling_metric are accepted at the top level (as
 *     DESIGN lists them) and inside recipe_pod_autoscaling_params, where the blueprint
 *     JSON schema of OCI AI Blueprints puts them; the block's value wins if both are set.
 *   - scaler_type must be "prometheus": it is the only scaler autoscalerd speaks.
 *   - server_address becomes prometheus.url. KEDA (which Corrino feeds it to) needs a full
 *     URL; one without a scheme gets "http://" with a warning, since Corrino's in-cluster
 *     Prometheus is plain HTTP. Schemes other than http/https are an error.
 *   - scaling_metric names a vLLM metric ("e2e_request_latency_seconds_bucket" in the
 *     schema's example) that Corrino hands to KEDA as a label; the value it scales on comes
 *     from `query`, or the default latency query, in both Corrino and autoscalerd. There is
 *     no faithful mapping, so it is kept as a YAML comment, with a warning.
 *   - The guide's "scale very quickly" example puts the advanced pod parameters in
 *     recipe_node_autoscaling_params; they are moved to the pod block, one warning each.
 *     When the pod block sets the same key, its value wins.
 *   - recipe_amd_gpu_count stands for recipe_nvidia_gpu_count (GPUs per replica) when the
 *     latter is absent: the policy key counts GPUs of either vendor.
 *   - --deployment replaces deployment_name as both the policy name and the target.
 *   - null is a wrong type like any other, not "unset".
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config/config-private.h"

/* cJSON copies a number into a 64-byte buffer before strtod: longer ones it cannot read. */
#define MAX_NUMBER_LEN 63
/* Longest excerpt of a string value quoted in a message. */
#define MAX_QUOTED 40

/* ---- positions -------------------------------------------------------------------- */

struct text {
	const unsigned char *b;
	size_t len;
	size_t bom; /* 3 when the text starts with a UTF-8 byte order mark, else 0 */
	/* Last position computed: diagnostics come mostly in text order, so counting lines
	 * resumes from here instead of from the start. */
	size_t c_off;
	int c_line, c_col;
};

static config_mark_t mark_at(struct text *t, size_t off)
{
	config_mark_t m;
	size_t i;

	if (off > t->len)
		off = t->len;
	if (off < t->c_off || t->c_line == 0) {
		t->c_off = t->bom;
		t->c_line = 1;
		t->c_col = 1;
	}
	for (i = t->c_off; i < off; i++) {
		if (t->b[i] == '\n') {
			t->c_line++;
			t->c_col = 1;
		} else if ((t->b[i] & 0xc0) != 0x80) {
			/* Columns count characters, not bytes: continuation bytes add nothing. */
			t->c_col++;
		}
	}
	t->c_off = off;
	m.line = t->c_line;
	m.col = t->c_col;
	return m;
}

/* ---- the strict scanner ----------------------------------------------------------- */

struct scan {
	struct text *t;
	size_t pos;
	int depth;
	size_t values; /* bounds the tree cJSON builds, as CONFIG_MAX_NODES bounds YAML's */
	size_t err_pos;
	char err[128];
};

/* Length of the valid UTF-8 sequence at p (at most n bytes available), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	uint32_t cp;

	while (n > 0) {
		size_t k = utf8_seq(p, n, &cp);

		if (k == 0)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

static int scan_fail(struct scan *s, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int scan_fail(struct scan *s, size_t pos, const char *fmt, ...)
{
	va_list ap;

	s->err_pos = pos;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "unexpected character 'x'" or "unexpected end of input" at s->pos, then what was
 * expected there. */
static int scan_unexpected(struct scan *s, const char *expected)
{
	const unsigned char *p = s->t->b + s->pos;
	size_t n = s->t->len - s->pos;
	uint32_t cp;

	if (n == 0)
		return scan_fail(s, s->pos, "unexpected end of input (expected %s)", expected);
	if (*p > 0x20 && *p < 0x7f)
		return scan_fail(s, s->pos, "unexpected character '%c' (expected %s)", *p,
				 expected);
	if (utf8_seq(p, n, &cp) == 0)
		return scan_fail(s, s->pos, "invalid UTF-8 byte 0x%02x (expected %s)", *p,
				 expected);
	return scan_fail(s, s->pos, "unexpected character U+%04X (expected %s)", (unsigned)cp,
			 expected);
}

static void skip_ws(struct scan *s)
{
	while (s->pos < s->t->len) {
		unsigned char c = s->t->b[s->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		s->pos++;
	}
}

static int hex4(const unsigned char *p, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int scan_string(struct scan *s)
{
	const unsigned char *b = s->t->b;
	size_t len = s->t->len;
	size_t start = s->pos++;

	for (;;) {
		uint32_t cp, lo;
		size_t k;

		if (s->pos >= len)
			return scan_fail(s, start, "unterminated string");
		if (b[s->pos] == '"') {
			s->pos++;
			return 0;
		}
		if (b[s->pos] < 0x20)
			return scan_fail(s, s->pos,
					 "control character U+%04X in a string (escape it)",
					 b[s->pos]);
		if (b[s->pos] != '\\') {
			k = utf8_seq(b + s->pos, len - s->pos, &cp);
			if (k == 0)
				return scan_fail(s, s->pos, "invalid UTF-8 byte 0x%02x in a string",
						 b[s->pos]);
			s->pos += k;
			continue;
		}
		if (s->pos + 1 >= len)
			return scan_fail(s, start, "unterminated string");
		if (strchr("\"\\/bfnrt", b[s->pos + 1]) && b[s->pos + 1] != '\0') {
			s->pos += 2;
			continue;
		}
		if (b[s->pos + 1] != 'u') {
			if (b[s->pos + 1] > 0x20 && b[s->pos + 1] < 0x7f)
				return scan_fail(s, s->pos, "invalid escape '\\%c' in a string",
						 b[s->pos + 1]);
			return scan_fail(s, s->pos, "invalid escape in a string");
		}
		if (len - s->pos < 6 || hex4(b + s->pos + 2, &cp) < 0)
			return scan_fail(s, s->pos, "invalid \\u escape (expected 4 hex digits)");
		if (cp == 0)
			return scan_fail(s, s->pos, "\\u0000 (NUL) in a string is not supported");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return scan_fail(s, s->pos, "unpaired UTF-16 surrogate \\u%04X",
					 (unsigned)cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (len - s->pos < 12 || b[s->pos + 6] != '\\' || b[s->pos + 7] != 'u' ||
			    hex4(b + s->pos + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
				return scan_fail(s, s->pos, "unpaired UTF-16 surrogate \\u%04X",
						 (unsigned)cp);
			s->pos += 6;
		}
		s->pos += 6;
	}
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int scan_number(struct scan *s)
{
	const unsigned char *b = s->t->b;
	size_t len = s->t->len;
	size_t start = s->pos;

	if (b[s->pos] == '-')
		s->pos++;
	if (s->pos >= len || !is_digit(b[s->pos]))
		return scan_unexpected(s, "a digit");
	if (b[s->pos] == '0')
		s->pos++;
	else
		while (s->pos < len && is_digit(b[s->pos]))
			s->pos++;
	if (s->pos < len && b[s->pos] == '.') {
		s->pos++;
		if (s->pos >= len || !is_digit(b[s->pos]))
			return scan_unexpected(s, "a digit after '.'");
		while (s->pos < len && is_digit(b[s->pos]))
			s->pos++;
	}
	if (s->pos < len && (b[s->pos] == 'e' || b[s->pos] == 'E')) {
		s->pos++;
		if (s->pos < len && (b[s->pos] == '+' || b[s->pos] == '-'))
			s->pos++;
		if (s->pos >= len || !is_digit(b[s->pos]))
			return scan_unexpected(s, "a digit in the exponent");
		while (s->pos < len && is_digit(b[s->pos]))
			s->pos++;
	}
	if (s->pos - start > MAX_NUMBER_LEN)
		return scan_fail(s, start, "number longer than %d characters", MAX_NUMBER_LEN);
	return 0;
}

static int scan_value(struct scan *s);

/* Objects and arrays: one function, since only the key differs. */
static int scan_container(struct scan *s)
{
	const unsigned char *b = s->t->b;
	bool object = b[s->pos] == '{';
	char close = object ? '}' : ']';
	bool first = true;
	int r;

	if (s->depth >= CONFIG_MAX_DEPTH)
		return scan_fail(s, s->pos, "nesting deeper than %d levels", CONFIG_MAX_DEPTH);
	s->depth++;
	s->pos++;
	for (;;) {
		skip_ws(s);
		if (first && s->pos < s->t->len && b[s->pos] == close) {
			s->pos++;
			break;
		}
		if (object) {
			if (s->pos >= s->t->len || b[s->pos] != '"')
				return scan_unexpected(s, first ? "a string key or '}'" :
								  "a string key");
			r = scan_string(s);
			if (r < 0)
				return r;
			skip_ws(s);
			if (s->pos >= s->t->len || b[s->pos] != ':')
				return scan_unexpected(s, "':' after the key");
			s->pos++;
		}
		r = scan_value(s);
		if (r < 0)
			return r;
		skip_ws(s);
		if (s->pos < s->t->len && b[s->pos] == ',') {
			s->pos++;
			first = false;
			continue;
		}
		if (s->pos < s->t->len && b[s->pos] == close) {
			s->pos++;
			break;
		}
		return scan_unexpected(s, object ? "',' or '}'" : "',' or ']'");
	}
	s->depth--;
	return 0;
}

static int scan_value(struct scan *s)
{
	static const char *const words[] = { "true", "false", "null" };
	const unsigned char *b = s->t->b;
	size_t len = s->t->len;
	size_t start, n;

	skip_ws(s);
	if (s->pos >= len)
		return scan_unexpected(s, "a value");
	if (++s->values > CONFIG_MAX_NODES)
		return scan_fail(s, s->pos, "more than %d JSON values", CONFIG_MAX_NODES);
	switch (b[s->pos]) {
	case '{':
	case '[':
		return scan_container(s);
	case '"':
		return scan_string(s);
	default:
		break;
	}
	if (b[s->pos] == '-' || is_digit(b[s->pos]))
		return scan_number(s);
	start = s->pos;
	while (s->pos < len && ((b[s->pos] >= 'a' && b[s->pos] <= 'z') ||
				(b[s->pos] >= 'A' && b[s->pos] <= 'Z') || is_digit(b[s->pos])))
		s->pos++;
	n = s->pos - start;
	if (n == 0)
		return scan_unexpected(s, "a value");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (n == strlen(words[i]) && memcmp(b + start, words[i], n) == 0)
			return 0;
	return scan_fail(s, start,
			 "unexpected word '%.*s' (expected a value; strings need double quotes)",
			 n > 20 ? 20 : (int)n, (const char *)b + start);
}

static int scan_document(struct scan *s)
{
	int r;

	s->pos = s->t->bom;
	s->depth = 0;
	s->values = 0;
	r = scan_value(s);
	if (r < 0)
		return r;
	skip_ws(s);
	if (s->pos < s->t->len)
		return scan_unexpected(s, "the end of input after the JSON value");
	return 0;
}

/* ---- walking the text beside the tree --------------------------------------------- */

/* The text has passed scan_document, so none of these can fail. `pos` is a cursor inside
 * one container: its opening bracket at first, then the end of the last value read. */
static size_t skip_value_at(struct scan *s, size_t p)
{
	s->pos = p;
	s->depth = 0;
	s->values = 0;
	(void)scan_value(s);
	return s->pos;
}

static size_t ws_at(struct scan *s, size_t p)
{
	s->pos = p;
	skip_ws(s);
	return s->pos;
}

static void next_member(struct scan *s, size_t *pos, size_t *key, size_t *val)
{
	size_t p = ws_at(s, ws_at(s, *pos) + 1); /* past '{' or ',' */

	*key = p;
	p = ws_at(s, skip_value_at(s, p)) + 1; /* past ':' */
	*val = ws_at(s, p);
	*pos = skip_value_at(s, *val);
}

static void next_element(struct scan *s, size_t *pos, size_t *val)
{
	*val = ws_at(s, ws_at(s, *pos) + 1); /* past '[' or ',' */
	*pos = skip_value_at(s, *val);
}

/* ---- output ----------------------------------------------------------------------- */

struct out {
	char *p;
	size_t n, cap;
	int err; /* -ENOMEM or -EFBIG once anything failed */
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (n >= CONFIG_MAX_FILE_SIZE - o->n) {
		o->err = -EFBIG;
		return;
	}
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 1024;
		char *p;

		while (cap < o->n + n + 1)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->err = -ENOMEM;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Only keys, numbers and fixed text come through here: they fit. */
	assert(n >= 0 && (size_t)n < sizeof(buf));
	out_add(o, buf, (size_t)n);
}

static void out_indent(struct out *o, int n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		int k = n < (int)sizeof(spaces) - 1 ? n : (int)sizeof(spaces) - 1;

		out_add(o, spaces, (size_t)k);
		n -= k;
	}
}

/* A YAML double-quoted scalar holding exactly s (valid UTF-8, no NUL). Escaped: '"', '\',
 * every C0 and C1 control and DEL (libyaml refuses them raw), NEL, LS and PS (line breaks
 * to YAML, which would fold them), and U+FEFF, U+FFFE, U+FFFF (not printable to YAML).
 * When max is not 0, at most max bytes between the quotes (whole characters and escapes),
 * then "...". */
static void out_quoted(struct out *o, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, run = 0, shown = 0;

	out_str(o, "\"");
	while (i < n) {
		char esc[16];
		uint32_t cp;
		size_t k = utf8_seq(s + i, n - i, &cp);

		if (k == 0) {
			/* Cannot happen on validated input; keep the output valid anyway. */
			k = 1;
			cp = 0xfffd;
			snprintf(esc, sizeof(esc), "\\uFFFD");
		} else if (cp == '"' || cp == '\\') {
			snprintf(esc, sizeof(esc), "\\%c", (char)cp);
		} else if (cp == '\n') {
			snprintf(esc, sizeof(esc), "\\n");
		} else if (cp == '\t') {
			snprintf(esc, sizeof(esc), "\\t");
		} else if (cp == '\r') {
			snprintf(esc, sizeof(esc), "\\r");
		} else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			snprintf(esc, sizeof(esc), "\\x%02X", (unsigned)cp);
		} else if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe ||
			   cp == 0xffff) {
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned)cp);
		} else {
			esc[0] = '\0';
		}
		if (max && shown + (esc[0] ? strlen(esc) : k) > max) {
			out_add(o, (const char *)s + i - run, run);
			out_str(o, "...\"");
			return;
		}
		shown += esc[0] ? strlen(esc) : k;
		if (esc[0]) {
			out_add(o, (const char *)s + i - run, run);
			out_add(o, esc, strlen(esc));
			run = 0;
		} else {
			run += k;
		}
		i += k;
	}
	out_add(o, (const char *)s + i - run, run);
	out_str(o, "\"");
}

/* ---- the keys it imports ---------------------------------------------------------- */

/* The policy schema (config_policy_scope, and config_rate_scope inside a list of rate
 * policies) says which keys each JSON object takes and what it holds: the keys of an
 * object are the last steps of the rows one level below it. By the row's type, the JSON
 * is: INT an integral number in int range; DOUBLE any finite number; DURATION integral
 * seconds or a duration string ("90s", "5m"); STRING and ENUM a string (the policy parser
 * checks the names); BOOL a boolean; BLOCK an object; RATES a list of objects, at most
 * ENGINE_MAX_RATE_POLICIES. At the top of a policy only Corrino's keys, named recipe_*,
 * are read: name, target and the rest are autoscalerd's, and a recipe's are ignored. */

#define POD_BLOCK "recipe_pod_autoscaling_params"
#define NODE_BLOCK "recipe_node_autoscaling_params"

/* Keys of the recipe format that the policy schema does not have (see the top). */
enum {
	X_DEPLOYMENT_NAME,
	X_AMD_GPU_COUNT,
	X_SCALING_METRIC,
	X_SCALER_TYPE,
	X_SERVER_ADDRESS,
	X_POD_SCALING_METRIC,
	X_POD_SCALER_TYPE,
	X_POD_SERVER_ADDRESS,
	N_X
};

static const config_row_t recipe_rows[N_X] = {
	[X_DEPLOYMENT_NAME] = { .key = "deployment_name", .type = CONFIG_V_STRING },
	[X_AMD_GPU_COUNT] = { .key = "recipe_amd_gpu_count", .type = CONFIG_V_INT },
	[X_SCALING_METRIC] = { .key = "scaling_metric", .type = CONFIG_V_STRING },
	[X_SCALER_TYPE] = { .key = "scaler_type", .type = CONFIG_V_STRING },
	[X_SERVER_ADDRESS] = { .key = "server_address", .type = CONFIG_V_STRING },
	[X_POD_SCALING_METRIC] = { .key = POD_BLOCK ".scaling_metric", .type = CONFIG_V_STRING },
	[X_POD_SCALER_TYPE] = { .key = POD_BLOCK ".scaler_type", .type = CONFIG_V_STRING },
	[X_POD_SERVER_ADDRESS] = { .key = POD_BLOCK ".server_address", .type = CONFIG_V_STRING },
};

static const config_scope_t recipe_scope = { "recipe", recipe_rows, N_X };

/* One value read at the top or in one of the two blocks, and where it came from. */
typedef struct slot {
	const cJSON *v; /* NULL: absent, or a wrong value */
	size_t key_off, val_off;
	bool seen;       /* in its own place, even with a wrong value: duplicates */
	bool seen_moved; /* the same for a pod key in recipe_node_autoscaling_params */
	bool moved;      /* v comes from there */
} slot_t;

typedef struct import {
	struct text t;
	struct scan s;
	config_diags_t *d;
	slot_t pol[CONFIG_MAX_ROWS]; /* by row of config_policy_scope */
	slot_t rec[N_X];
	char url[CONFIG_MAX_SCALAR + 16];
} import_t;

static void diag(import_t *im, config_severity_t sev, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag(import_t *im, config_severity_t sev, size_t off, const char *fmt, ...)
{
	config_mark_t m = { 0, 0 };
	va_list ap;

	/* Past the cap only counters move: spare the line counting. */
	if (off != SIZE_MAX && im->d->n < CONFIG_MAX_DIAGS)
		m = mark_at(&im->t, off);
	va_start(ap, fmt);
	config_diag_addv(im->d, sev, m, fmt, ap);
	va_end(ap);
}

/* The last step of `key` when it is one level below `block` ("" for the top), else NULL. */
static const char *child_name(const char *key, const char *block)
{
	size_t n = strlen(block);

	if (n > 0) {
		if (strncmp(key, block, n) != 0 || key[n] != '.')
			return NULL;
		key += n + 1;
	}
	return strchr(key, '.') ? NULL : key;
}

static const config_row_t *child_row(const config_scope_t *sc, const char *block,
				     const char *name)
{
	for (size_t i = 0; i < sc->n; i++) {
		const char *c = child_name(sc->rows[i].key, block);

		if (c && strcmp(c, name) == 0)
			return &sc->rows[i];
	}
	return NULL;
}

/* A key read at the top or in a block: a policy row, else one of recipe_rows. */
static const config_row_t *recipe_row(const char *block, const char *name)
{
	const config_row_t *row = child_row(&config_policy_scope, block, name);

	if (row && !*block && strncmp(name, "recipe_", strlen("recipe_")) != 0)
		row = NULL;
	return row ? row : child_row(&recipe_scope, block, name);
}

static slot_t *slot_of(import_t *im, const config_row_t *row)
{
	for (size_t i = 0; i < N_X; i++)
		if (row == &recipe_rows[i])
			return &im->rec[i];
	return &im->pol[row - config_policy_scope.rows];
}

/* The slot of a policy key the import itself names. */
static slot_t *policy_slot(import_t *im, const char *key)
{
	const config_row_t *row = child_row(&config_policy_scope, "", key);

	assert(row);
	return slot_of(im, row);
}

/* A key of the input is named as a path step when it is a plain word, else quoted. */
static void unknown_key(import_t *im, size_t off, const char *path, const char *key,
			const char *why)
{
	bool plain = *key != '\0' && strlen(key) <= 64;
	struct out o = { 0 };

	for (const char *p = key; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || is_digit(*p) ||
			*p == '_' || *p == '-';
	if (plain) {
		diag(im, CONFIG_ERROR, off, "%s.%s: unknown key%s", path, key, why);
		return;
	}
	out_quoted(&o, key, MAX_QUOTED);
	diag(im, CONFIG_ERROR, off, "%s: unknown key %s%s", path, o.err ? "" : o.p, why);
	free(o.p);
}

/* A whole number. No floor(): the library links without libm. */
static bool integral(double d)
{
	if (!isfinite(d))
		return false;
	/* Past 2^53 every double is whole, and past 2^63 the cast would overflow. */
	if (d <= -1e18 || d >= 1e18)
		return true;
	return (double)(long long)d == d;
}

/* How a wrong value is shown: `string "four"`, `number 1.5`, `an object`. */
static void describe(const cJSON *v, char *buf, size_t size)
{
	if (cJSON_IsString(v)) {
		struct out o = { 0 };

		out_quoted(&o, v->valuestring, MAX_QUOTED);
		snprintf(buf, size, "string %s", o.err ? "" : o.p);
		free(o.p);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (!isfinite(d))
			snprintf(buf, size, "a number out of range");
		else if (integral(d) && d > -1e15 && d < 1e15)
			snprintf(buf, size, "number %.0f", d);
		else {
			char num[64];

			config_format_double(d, num, sizeof(num));
			snprintf(buf, size, "number %s", num);
		}
	} else if (cJSON_IsBool(v)) {
		snprintf(buf, size, "boolean %s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsNull(v)) {
		snprintf(buf, size, "null");
	} else if (cJSON_IsArray(v)) {
		snprintf(buf, size, "an array");
	} else {
		snprintf(buf, size, "an object");
	}
}

static bool is_int(const cJSON *v)
{
	return cJSON_IsNumber(v) && integral(v->valuedouble) && v->valuedouble >= INT_MIN &&
	       v->valuedouble <= INT_MAX;
}

static int check_value(import_t *im, const cJSON *v, size_t off, const config_row_t *row,
		       const char *path);

/* The members of an object: each the last step of a row of `sc` one level below `block`,
 * at most once. */
static int check_object(import_t *im, const cJSON *obj, size_t off, const config_scope_t *sc,
			const char *block, const char *path)
{
	uint64_t seen = 0;
	size_t cur = off, key, val;
	int r = 0;

	for (const cJSON *c = obj->child; c; c = c->next) {
		const config_row_t *row = child_row(sc, block, c->string);
		char sub[256];
		uint64_t bit;

		next_member(&im->s, &cur, &key, &val);
		if (!row) {
			unknown_key(im, key, path, c->string, "");
			r = -EINVAL;
			continue;
		}
		snprintf(sub, sizeof(sub), "%s.%s", path, c->string);
		bit = UINT64_C(1) << (row - sc->rows);
		if (seen & bit) {
			diag(im, CONFIG_ERROR, key, "%s: duplicate key", sub);
			r = -EINVAL;
			continue;
		}
		seen |= bit;
		if (check_value(im, c, val, row, sub) < 0)
			r = -EINVAL;
	}
	return r;
}

static int check_value(import_t *im, const cJSON *v, size_t off, const config_row_t *row,
		       const char *path)
{
	char found[128];
	engine_ms_t ms;
	size_t cur = off, val;
	int i, r = 0;

	switch (row->type) {
	case CONFIG_V_INT:
		if (is_int(v))
			return 0;
		describe(v, found, sizeof(found));
		if (cJSON_IsNumber(v) && integral(v->valuedouble))
			diag(im, CONFIG_ERROR, off,
			     "%s: expected an integer between %d and %d, found %s", path, INT_MIN,
			     INT_MAX, found);
		else
			diag(im, CONFIG_ERROR, off, "%s: expected an integer, found %s", path,
			     found);
		return -EINVAL;
	case CONFIG_V_DOUBLE:
		if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
			return 0;
		describe(v, found, sizeof(found));
		diag(im, CONFIG_ERROR, off, "%s: expected a number, found %s", path, found);
		return -EINVAL;
	case CONFIG_V_DURATION:
		if ((is_int(v) && v->valuedouble >= 0) ||
		    (cJSON_IsString(v) && config_parse_duration(v->valuestring, &ms) == 0))
			return 0;
		describe(v, found, sizeof(found));
		diag(im, CONFIG_ERROR, off,
		     "%s: expected a duration (integer seconds, or a string like \"90s\", "
		     "\"5m\", \"1h30m\"), found %s",
		     path, found);
		return -EINVAL;
	case CONFIG_V_STRING:
	case CONFIG_V_ENUM:
		if (!cJSON_IsString(v)) {
			describe(v, found, sizeof(found));
			diag(im, CONFIG_ERROR, off, "%s: expected a string, found %s", path, found);
			return -EINVAL;
		}
		if (strlen(v->valuestring) >= CONFIG_MAX_SCALAR) {
			diag(im, CONFIG_ERROR, off, "%s: string longer than %u bytes", path,
			     CONFIG_MAX_SCALAR - 1);
			return -EINVAL;
		}
		return 0;
	case CONFIG_V_BOOL:
		if (cJSON_IsBool(v))
			return 0;
		describe(v, found, sizeof(found));
		diag(im, CONFIG_ERROR, off, "%s: expected a boolean, found %s", path, found);
		return -EINVAL;
	case CONFIG_V_BLOCK:
		if (!cJSON_IsObject(v)) {
			describe(v, found, sizeof(found));
			diag(im, CONFIG_ERROR, off, "%s: expected an object, found %s", path,
			     found);
			return -EINVAL;
		}
		/* Only the policy scope has blocks. */
		return check_object(im, v, off, &config_policy_scope, row->key, path);
	case CONFIG_V_RATES:
		if (!cJSON_IsArray(v)) {
			describe(v, found, sizeof(found));
			diag(im, CONFIG_ERROR, off, "%s: expected an array, found %s", path, found);
			return -EINVAL;
		}
		i = 0;
		for (const cJSON *c = v->child; c; c = c->next, i++) {
			char sub[256];

			next_element(&im->s, &cur, &val);
			snprintf(sub, sizeof(sub), "%s[%d]", path, i);
			if (i == ENGINE_MAX_RATE_POLICIES) {
				diag(im, CONFIG_ERROR, val, "%s: at most %d entries", path,
				     ENGINE_MAX_RATE_POLICIES);
				return -EINVAL;
			}
			if (!cJSON_IsObject(c)) {
				describe(c, found, sizeof(found));
				diag(im, CONFIG_ERROR, val, "%s: expected an object, found %s", sub,
				     found);
				r = -EINVAL;
				continue;
			}
			if (check_object(im, c, val, &config_rate_scope, "", sub) < 0)
				r = -EINVAL;
		}
		return r;
	case CONFIG_V_HEADERS:
	case CONFIG_V_POLICIES:
		break;
	}
	/* No row of a policy has these types. */
	diag(im, CONFIG_ERROR, off, "%s: cannot be imported", path);
	return -EINVAL;
}

/* ---- reading the recipe ----------------------------------------------------------- */

/* The top level (block ""), then the pod block, then the node block, where a pod parameter
 * is moved unless the pod block has it. Keys unknown at the top are the deployment's. */
static int read_level(import_t *im, const cJSON *obj, size_t off, const char *block)
{
	bool top = !*block, node = strcmp(block, NODE_BLOCK) == 0;
	size_t cur = off, key, val;
	int r = 0;

	for (const cJSON *c = obj->child; c; c = c->next) {
		const config_row_t *row = recipe_row(block, c->string);
		bool moved = false;
		char path[256];
		slot_t *s;

		next_member(&im->s, &cur, &key, &val);
		if (!row && node) {
			row = recipe_row(POD_BLOCK, c->string);
			moved = true;
		}
		if (!row && top)
			continue;
		if (!row) {
			unknown_key(im, key, block, c->string,
				    node ? " (not a node autoscaling parameter)" :
					   " (not a pod autoscaling parameter)");
			r = -EINVAL;
			continue;
		}
		snprintf(path, sizeof(path), "%s%s%s", block, top ? "" : ".", c->string);
		s = slot_of(im, row);
		if (moved ? s->seen_moved : s->seen) {
			diag(im, CONFIG_ERROR, key, "%s: duplicate key", path);
			r = -EINVAL;
			continue;
		}
		*(moved ? &s->seen_moved : &s->seen) = true;
		if (moved && s->v) {
			diag(im, CONFIG_WARNING, key,
			     "%s: pod autoscaling parameter in the wrong block; ignored, since "
			     "%s is set too",
			     path, row->key);
			continue;
		}
		/* The blocks are read after the top, in a fixed order. */
		if (!(top && row->type == CONFIG_V_BLOCK && cJSON_IsObject(c)) &&
		    check_value(im, c, val, row, path) < 0) {
			r = -EINVAL;
			continue;
		}
		if (moved)
			diag(im, CONFIG_WARNING, key,
			     "%s: pod autoscaling parameter in the wrong block; imported as %s",
			     path, row->key);
		s->v = c;
		s->key_off = key;
		s->val_off = val;
		s->moved = moved;
	}
	return r;
}

static int read_recipe(import_t *im, const cJSON *root, size_t root_off)
{
	const slot_t *pod = policy_slot(im, POD_BLOCK), *node = policy_slot(im, NODE_BLOCK);
	int r = read_level(im, root, root_off, "");

	if (pod->v && read_level(im, pod->v, pod->val_off, POD_BLOCK) < 0)
		r = -EINVAL;
	if (node->v && read_level(im, node->v, node->val_off, NODE_BLOCK) < 0)
		r = -EINVAL;
	return r;
}

/* scaler_type, server_address, scaling_metric: the pod block's, else the top level's; as
 * an index of recipe_rows, or -1. */
static int recipe_key(import_t *im, int top, int pod)
{
	if (im->rec[pod].v && im->rec[top].v)
		diag(im, CONFIG_WARNING, im->rec[top].key_off, "%s: also set as %s, which is used",
		     recipe_rows[top].key, recipe_rows[pod].key);
	if (im->rec[pod].v)
		return pod;
	if (im->rec[top].v)
		return top;
	return -1;
}

static int check_recipe(import_t *im, const char *deployment)
{
	const slot_t *dn = &im->rec[X_DEPLOYMENT_NAME];
	int st, sa, r = 0;

	if (!policy_slot(im, POD_BLOCK)->seen) {
		diag(im, CONFIG_ERROR, SIZE_MAX,
		     "recipe has no " POD_BLOCK ": nothing to autoscale");
		r = -EINVAL;
	}
	if (!deployment && !dn->seen) {
		diag(im, CONFIG_ERROR, SIZE_MAX,
		     "recipe has no deployment_name; pass --deployment NAME");
		r = -EINVAL;
	} else if (!deployment && dn->v && !*dn->v->valuestring) {
		diag(im, CONFIG_ERROR, dn->key_off,
		     "deployment_name: empty; pass --deployment NAME");
		r = -EINVAL;
	}

	st = recipe_key(im, X_SCALER_TYPE, X_POD_SCALER_TYPE);
	if (st >= 0 && strcmp(im->rec[st].v->valuestring, "prometheus") != 0) {
		struct out o = { 0 };

		out_quoted(&o, im->rec[st].v->valuestring, MAX_QUOTED);
		diag(im, CONFIG_ERROR, im->rec[st].key_off,
		     "%s: expected \"prometheus\" (the only scaler autoscalerd speaks), found %s",
		     recipe_rows[st].key, o.err ? "" : o.p);
		free(o.p);
		r = -EINVAL;
	}

	sa = recipe_key(im, X_SERVER_ADDRESS, X_POD_SERVER_ADDRESS);
	if (sa >= 0) {
		const char *u = im->rec[sa].v->valuestring;
		const char *sep = strstr(u, "://");
		const char *name = recipe_rows[sa].key;
		size_t off = im->rec[sa].key_off;

		if (!*u) {
			diag(im, CONFIG_ERROR, off, "%s: empty URL", name);
			r = -EINVAL;
		} else if (strlen(u) + strlen("http://") >= CONFIG_MAX_SCALAR) {
			diag(im, CONFIG_ERROR, off, "%s: URL too long", name);
			r = -EINVAL;
		} else if (!sep) {
			snprintf(im->url, sizeof(im->url), "http://%s", u);
			diag(im, CONFIG_WARNING, off,
			     "%s: no scheme; imported as prometheus.url with http://", name);
		} else if ((sep - u == 4 && strncasecmp(u, "http", 4) == 0) ||
			   (sep - u == 5 && strncasecmp(u, "https", 5) == 0)) {
			/* Schemes are case-insensitive; the policy file wants them lower. */
			snprintf(im->url, sizeof(im->url), "%s%s", sep - u == 4 ? "http" : "https",
				 sep);
		} else {
			struct out o = { 0 };

			out_quoted(&o, u, MAX_QUOTED);
			diag(im, CONFIG_ERROR, off,
			     "%s: expected an http:// or https:// URL, found %s", name,
			     o.err ? "" : o.p);
			free(o.p);
			r = -EINVAL;
		}
	}

	if (im->rec[X_AMD_GPU_COUNT].v && policy_slot(im, "recipe_nvidia_gpu_count")->v)
		diag(im, CONFIG_WARNING, im->rec[X_AMD_GPU_COUNT].key_off,
		     "recipe_amd_gpu_count: ignored, recipe_nvidia_gpu_count gives the GPUs "
		     "per replica");
	return r;
}

/* ---- writing the policy ----------------------------------------------------------- */

static void emit_scalar(struct out *o, const cJSON *v, config_vtype_t type)
{
	char num[64];

	switch (type) {
	case CONFIG_V_INT:
	case CONFIG_V_DURATION:
		if (cJSON_IsString(v))
			out_quoted(o, v->valuestring, 0);
		else
			out_printf(o, "%d", (int)v->valuedouble);
		break;
	case CONFIG_V_DOUBLE:
		config_format_double(v->valuedouble, num, sizeof(num));
		out_add(o, num, strlen(num));
		break;
	case CONFIG_V_BOOL:
		out_str(o, cJSON_IsTrue(v) ? "true" : "false");
		break;
	default:
		out_quoted(o, v->valuestring, 0);
		break;
	}
}

/* "key: value" in the order of the schema, blocks in block style, rate policies in flow
 * style. */
static void emit_key(struct out *o, int indent, const config_row_t *row, const cJSON *v,
		     const char *comment)
{
	const config_scope_t *sc = &config_policy_scope, *rates = &config_rate_scope;
	bool block = row->type == CONFIG_V_BLOCK, list = row->type == CONFIG_V_RATES;
	const char *dot = strrchr(row->key, '.');
	const cJSON *c;

	out_indent(o, indent);
	out_printf(o, "%s:", dot ? dot + 1 : row->key);
	if (!(block || list) || !v->child) {
		out_str(o, " ");
		if (block || list)
			out_str(o, block ? "{}" : "[]");
		else
			emit_scalar(o, v, row->type);
		if (comment)
			out_printf(o, "  # %s", comment);
		out_str(o, "\n");
		return;
	}
	if (comment)
		out_printf(o, "  # %s", comment);
	out_str(o, "\n");
	if (block) {
		for (size_t i = 0; i < sc->n; i++) {
			const char *name = child_name(sc->rows[i].key, row->key);

			c = name ? cJSON_GetObjectItemCaseSensitive(v, name) : NULL;
			if (c)
				emit_key(o, indent + 2, &sc->rows[i], c, NULL);
		}
		return;
	}
	cJSON_ArrayForEach(c, v) {
		bool first = true;

		out_indent(o, indent + 2);
		out_str(o, "- {");
		for (size_t i = 0; i < rates->n; i++) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, rates->rows[i].key);

			if (!e)
				continue;
			out_printf(o, "%s%s: ", first ? "" : ", ", rates->rows[i].key);
			emit_scalar(o, e, rates->rows[i].type);
			first = false;
		}
		out_str(o, "}\n");
	}
}

/* One of the two blocks: its header, then its keys in the order of the schema. */
static void emit_block(import_t *im, struct out *o, const char *block, const slot_t *sm)
{
	const config_scope_t *sc = &config_policy_scope;
	bool any = false;

	for (size_t i = 0; i < sc->n; i++)
		any = any || (im->pol[i].v && child_name(sc->rows[i].key, block));
	out_printf(o, "    %s:%s", block, any || sm ? "\n" : " {}\n");
	if (sm) {
		/* Not a key: the YAML schema has no place for it (see the top of the file). */
		out_str(o, "      # scaling_metric: ");
		out_quoted(o, sm->v->valuestring, 0);
		out_str(o, " (from the recipe; not used)\n");
		if (!any)
			out_str(o, "      {}\n");
	}
	for (size_t i = 0; i < sc->n; i++)
		if (im->pol[i].v && child_name(sc->rows[i].key, block))
			emit_key(o, 6, &sc->rows[i], im->pol[i].v,
				 im->pol[i].moved ? "from " NODE_BLOCK : NULL);
}

/* sm: the index in recipe_rows of the scaling_metric used, or -1. */
static void emit_policy(import_t *im, struct out *o, const char *namespace_,
			const char *deployment, int sm)
{
	const config_scope_t *sc = &config_policy_scope;
	const slot_t *amd = &im->rec[X_AMD_GPU_COUNT];
	const slot_t *nvidia = policy_slot(im, "recipe_nvidia_gpu_count");
	const char *name = deployment ? deployment : im->rec[X_DEPLOYMENT_NAME].v->valuestring;

	out_str(o, "# imported from a Corrino recipe by autoscalerd import-recipe\n");
	if (im->url[0]) {
		out_str(o, "prometheus:\n  url: ");
		out_quoted(o, im->url, 0);
		out_str(o, "\n");
	}
	out_str(o, "policies:\n  - name: ");
	out_quoted(o, name, 0);
	out_str(o, "\n    target:\n      namespace: ");
	out_quoted(o, namespace_ ? namespace_ : "default", 0);
	out_str(o, "\n      deployment: ");
	out_quoted(o, name, 0);
	out_str(o, "\n");

	for (size_t i = 0; i < sc->n; i++) {
		const slot_t *s = &im->pol[i];

		if (sc->rows[i].type == CONFIG_V_BLOCK || !child_name(sc->rows[i].key, ""))
			continue;
		if (s == nvidia && !s->v && amd->v)
			emit_key(o, 4, &sc->rows[i], amd->v, "from recipe_amd_gpu_count");
		else if (s->v)
			emit_key(o, 4, &sc->rows[i], s->v, NULL);
	}
	emit_block(im, o, POD_BLOCK, sm >= 0 ? &im->rec[sm] : NULL);
	if (policy_slot(im, NODE_BLOCK)->v)
		emit_block(im, o, NODE_BLOCK, NULL);
}

/* ---- the entry point -------------------------------------------------------------- */

/* config.h promises diagnostics in input order; the checks across keys run after the walk.
 * A stable insertion sort of this import's own (at most CONFIG_MAX_DIAGS), unplaced last. */
static void sort_diags(config_diags_t *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		config_diag_t e = d->v[i];
		long key = e.mark.line ? (long)e.mark.line << 20 | e.mark.col : LONG_MAX;
		size_t j = i;

		for (; j > from; j--) {
			const config_mark_t *m = &d->v[j - 1].mark;

			if ((m->line ? (long)m->line << 20 | m->col : LONG_MAX) <= key)
				break;
			d->v[j] = d->v[j - 1];
		}
		d->v[j] = e;
	}
}

static int check_arg(config_diags_t *d, const char *what, const char *s)
{
	if (!s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			goto bad;
	if (utf8_valid(s) && strlen(s) < CONFIG_MAX_SCALAR)
		return 0;
bad:
	config_diag_add(d, CONFIG_ERROR, (config_mark_t){ 0, 0 },
			"%s: not a valid name (control characters, invalid UTF-8 or too long)",
			what);
	return -EINVAL;
}

int config_import_recipe(const char *json, size_t len, const char *namespace_,
			 const char *deployment, char **ret_yaml, config_diags_t *diags)
{
	import_t *im = NULL;
	cJSON *root = NULL;
	char *copy = NULL;
	struct out o = { 0 };
	const char *end = NULL;
	size_t root_off, first = diags->n;
	int r, sm;

	if (len > CONFIG_MAX_FILE_SIZE) {
		config_diag_add(diags, CONFIG_ERROR, (config_mark_t){ 0, 0 },
				"recipe larger than %u bytes", CONFIG_MAX_FILE_SIZE);
		return -EFBIG;
	}
	r = check_arg(diags, "--namespace", namespace_);
	if (check_arg(diags, "--deployment", deployment) < 0)
		r = -EINVAL;
	if (r < 0)
		return r;

	im = calloc(1, sizeof(*im));
	/* cJSON reads up to its length, but a terminator makes any slip harmless. */
	copy = malloc(len + 1);
	if (!im || !copy) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(copy, json, len);
	copy[len] = '\0';
	im->d = diags;
	im->t.b = (const unsigned char *)copy;
	im->t.len = len;
	im->t.bom = len >= 3 && memcmp(copy, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	im->s.t = &im->t;

	r = scan_document(&im->s);
	if (r < 0) {
		diag(im, CONFIG_ERROR, im->s.err_pos, "invalid JSON: %s", im->s.err);
		goto out;
	}
	/* The scanner accepts nothing cJSON refuses, so a failure here is out of memory. The
	 * byte order mark stays out: cJSON skips one only when 5 bytes follow the start. */
	root = cJSON_ParseWithLengthOpts(copy + im->t.bom, len - im->t.bom, &end, 0);
	if (!root) {
		r = -ENOMEM;
		goto out;
	}
	root_off = ws_at(&im->s, im->t.bom);
	if (!cJSON_IsObject(root)) {
		char found[128];

		describe(root, found, sizeof(found));
		diag(im, CONFIG_ERROR, root_off, "a recipe is a JSON object, found %s", found);
		r = -EINVAL;
		goto out;
	}

	r = read_recipe(im, root, root_off);
	if (check_recipe(im, deployment) < 0)
		r = -EINVAL;
	if (r < 0)
		goto out;

	sm = recipe_key(im, X_SCALING_METRIC, X_POD_SCALING_METRIC);
	if (sm >= 0)
		diag(im, CONFIG_WARNING, im->rec[sm].key_off,
		     "%s: not used; autoscalerd scales on the value of `query` (default: the vLLM "
		     "latency query), so it is kept as a comment",
		     recipe_rows[sm].key);

	emit_policy(im, &o, namespace_, deployment, sm);
	if (o.err) {
		r = o.err;
		if (r == -EFBIG)
			config_diag_add(diags, CONFIG_ERROR, (config_mark_t){ 0, 0 },
					"imported policy larger than %u bytes",
					CONFIG_MAX_FILE_SIZE);
		goto out;
	}
	*ret_yaml = o.p;
	o.p = NULL;
	r = 0;
out:
	sort_diags(diags, first);
	free(o.p);
	cJSON_Delete(root);
	free(copy);
	free(im);
	return r;
}
