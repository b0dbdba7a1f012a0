/* selector.c - Kubernetes label selectors (k8s.h): the string syntax of a Scale's
 * status.selector, parsed and matched the way apimachinery's pkg/labels does it.
 *
 * The parser follows labels.Parse step by step, quirks included, so that a selector the
 * API server accepts is accepted here and means the same: a lexer turns the string into
 * tokens first (identifiers are runs of anything but blanks and = ! ( ) , > <; "in" and
 * "notin" are keywords only where an operator is expected), then a recursive descent reads
 * requirements. In a value list "(a,)" holds "a" and "", "()" holds "" alone, "(a,,)" is an
 * error - all as in apimachinery. Keys are validated as qualified names, values as label
 * values, Gt/Lt values as int64.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s-client.h"

enum tok {
	T_END,
	T_ID,
	T_IN,
	T_NOTIN,
	T_EQ,    /* = */
	T_DEQ,   /* == */
	T_NE,    /* != */
	T_NOT,   /* ! */
	T_GT,    /* > */
	T_LT,    /* < */
	T_OPEN,  /* ( */
	T_CLOSE, /* ) */
	T_COMMA,
};

enum op { OP_EXISTS, OP_NOT_EXISTS, OP_EQ, OP_DEQ, OP_NE, OP_IN, OP_NOTIN, OP_GT, OP_LT };

struct token {
	enum tok t;
	size_t pos, len; /* in the input */
};

struct req {
	const char *key;
	enum op op;
	const char **values; /* sorted, distinct */
	size_t n;
	long long num; /* OP_GT, OP_LT */
};

struct k8s_selector {
	struct req *r;
	size_t n;
	char *arena;         /* keys and values, NUL-terminated */
	const char **values; /* every requirement's values, one array */
};

struct parser {
	const char *s;
	struct token *tok;
	size_t ntok, i;
	char *arena;
	size_t used;
	k8s_selector_t *sel;
	size_t nvalues;
	char *err;
	size_t errsz;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Tokens of s; the last is T_END. Returns the count (at most strlen + 1). */
static size_t lex(const char *s, struct token *out)
{
	size_t i = 0, n = 0;

	for (;;) {
		while (blank(s[i]))
			i++;
		out[n].pos = i;
		if (!s[i]) {
			out[n++].t = T_END;
			out[n - 1].len = 0;
			return n;
		}
		if (special(s[i])) {
			char c = s[i];

			out[n].len = 1;
			if ((c == '=' || c == '!') && s[i + 1] == '=') {
				out[n].t = c == '=' ? T_DEQ : T_NE;
				out[n].len = 2;
			} else {
				out[n].t = c == '=' ? T_EQ : c == '!' ? T_NOT : c == '(' ? T_OPEN :
					   c == ')' ? T_CLOSE : c == ',' ? T_COMMA : c == '>' ? T_GT :
										      T_LT;
			}
			i += out[n].len;
			n++;
			continue;
		}
		while (s[i] && !blank(s[i]) && !special(s[i]))
			i++;
		out[n].len = i - out[n].pos;
		out[n].t = T_ID;
		if (out[n].len == 2 && !memcmp(s + out[n].pos, "in", 2))
			out[n].t = T_IN;
		else if (out[n].len == 5 && !memcmp(s + out[n].pos, "notin", 5))
			out[n].t = T_NOTIN;
		n++;
	}
}

/* The token, with "in" and "notin" read as identifiers except where an operator is due
 * (apimachinery's Values context). */
static enum tok look(const struct parser *p, bool op_context)
{
	enum tok t = p->tok[p->i].t;

	if (!op_context && (t == T_IN || t == T_NOTIN))
		return T_ID;
	return t;
}

static enum tok take(struct parser *p, bool op_context)
{
	enum tok t = look(p, op_context);

	if (p->tok[p->i].t != T_END)
		p->i++;
	return t;
}

/* The literal of token i, quoted for a message: printable ASCII, cut at 64 bytes. */
static void literal(const struct parser *p, size_t i, char *buf, size_t size)
{
	const struct token *t = &p->tok[i];
	size_t n = t->len < 64 ? t->len : 64, o = 0;

	for (size_t k = 0; k < n && o + 1 < size; k++) {
		unsigned char c = (unsigned char)p->s[t->pos + k];

		buf[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[o] = '\0';
	if (n < t->len && o + 4 < size)
		snprintf(buf + o, size - o, "...");
}

static int fail_at(struct parser *p, size_t i, const char *expected)
{
	char lit[80];

	literal(p, i, lit, sizeof(lit));
	http_errf(p->err, p->errsz, "label selector: at byte %zu: found '%s', expected: %s",
		 p->tok[i].pos, lit, expected);
	return -EINVAL;
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 bytes; empty allowed when asked. */
static bool qname_part(const char *s, size_t n, bool empty_ok)
{
	if (!n)
		return empty_ok;
	if (n > 63 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A DNS-1123 subdomain: at most 253 of [a-z0-9-.], dot-separated labels each starting and
 * ending with [a-z0-9]. */
static bool dns_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			char c = s[i];

			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return false;
			continue;
		}
		/* one label: s[start, i) */
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static const char *key_problem(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);

	if (slash) {
		size_t pn = (size_t)(slash - s);

		if (memchr(slash + 1, '/', n - pn - 1))
			return "a qualified name must consist of alphanumeric characters, '-', "
			       "'_' or '.', with an optional DNS subdomain prefix and '/'";
		if (!pn)
			return "prefix part must be non-empty";
		if (!dns_subdomain(s, pn))
			return "prefix part must be a lowercase RFC 1123 subdomain of at most 253 "
			       "characters";
		s = slash + 1;
		n -= pn + 1;
	}
	if (!n)
		return "name part must be non-empty";
	if (n > 63)
		return "name part must be no more than 63 characters";
	if (!qname_part(s, n, false))
		return "name part must consist of alphanumeric characters, '-', '_' or '.', and "
		       "must start and end with an alphanumeric character";
	return NULL;
}

/* A copy of token i's text (or "" when i is SIZE_MAX) in the arena. */
static const char *save(struct parser *p, size_t i)
{
	char *d = p->arena + p->used;
	size_t n = i == SIZE_MAX ? 0 : p->tok[i].len;

	if (n)
		memcpy(d, p->s + p->tok[i].pos, n);
	d[n] = '\0';
	p->used += n + 1;
	return d;
}

/* Checked decimal int64 as strconv.ParseInt(s, 10, 64) reads it. */
static bool parse_int64(const char *s, long long *ret)
{
	bool neg = false;
	unsigned long long v = 0, lim;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return false;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (lim - (unsigned long long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	*ret = neg ? (v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v) :
		     (long long)v;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds value token i (SIZE_MAX: "") to requirement r; its label value is checked. */
static int add_value(struct parser *p, struct req *r, size_t i)
{
	const char *v = save(p, i);
	size_t n = strlen(v);

	if (n > 63 || !qname_part(v, n, true)) {
		char lit[80];

		literal(p, i, lit, sizeof(lit));
		http_errf(p->err, p->errsz,
			 "label selector: at byte %zu: invalid value '%s' for key '%s': a label "
			 "value must be empty or at most 63 alphanumeric characters, '-', '_' or "
			 "'.', starting and ending with an alphanumeric character",
			 p->tok[i].pos, lit, r->key);
		return -EINVAL;
	}
	r->values[r->n++] = v;
	p->nvalues++;
	return 0;
}

/* value-set: '(' [values] ')' after in/notin, apimachinery's parseValues and
 * parseIdentifiersList. */
static int parse_values(struct parser *p, struct req *r)
{
	size_t at = p->i;
	int rc;

	if (take(p, false) != T_OPEN)
		return fail_at(p, at, "'('");
	switch (look(p, false)) {
	case T_CLOSE:
		take(p, false);
		return add_value(p, r, SIZE_MAX);
	case T_ID:
	case T_COMMA:
		break;
	default:
		return fail_at(p, p->i, "',', ')' or identifier");
	}
	for (;;) {
		at = p->i;
		switch (take(p, false)) {
		case T_ID:
			if ((rc = add_value(p, r, at)) < 0)
				return rc;
			if (look(p, false) == T_COMMA)
				continue;
			if (look(p, false) == T_CLOSE) {
				take(p, false);
				return 0;
			}
			return fail_at(p, p->i, "',' or ')'");
		case T_COMMA:
			if (!r->n && (rc = add_value(p, r, SIZE_MAX)) < 0)
				return rc;
			if (look(p, false) == T_CLOSE) {
				take(p, false);
				return add_value(p, r, SIZE_MAX);
			}
			if (look(p, false) == T_COMMA) {
				take(p, false);
				if ((rc = add_value(p, r, SIZE_MAX)) < 0)
					return rc;
			}
			break;
		default:
			return fail_at(p, at, "',', or identifier");
		}
	}
}

static int parse_requirement(struct parser *p, struct req *r)
{
	const char *problem;
	size_t at = p->i, key_at;
	enum tok t;
	int rc;

	t = take(p, false);
	r->op = OP_EXISTS;
	if (t == T_NOT) {
		r->op = OP_NOT_EXISTS;
		at = p->i;
		t = take(p, false);
	}
	if (t != T_ID)
		return fail_at(p, at, "identifier");
	key_at = at;
	if ((problem = key_problem(p->s + p->tok[at].pos, p->tok[at].len))) {
		char lit[80];

		literal(p, at, lit, sizeof(lit));
		http_errf(p->err, p->errsz, "label selector: at byte %zu: invalid key '%s': %s",
			 p->tok[at].pos, lit, problem);
		return -EINVAL;
	}
	r->key = save(p, key_at);
	if (r->op == OP_NOT_EXISTS)
		return 0;
	t = look(p, false);
	if (t == T_END || t == T_COMMA)
		return 0; /* exists */
	at = p->i;
	switch (take(p, true)) {
	case T_IN: r->op = OP_IN; break;
	case T_NOTIN: r->op = OP_NOTIN; break;
	case T_EQ: r->op = OP_EQ; break;
	case T_DEQ: r->op = OP_DEQ; break;
	case T_NE: r->op = OP_NE; break;
	case T_GT: r->op = OP_GT; break;
	case T_LT: r->op = OP_LT; break;
	default:
		return fail_at(p, at, "in, notin, =, ==, !=, gt, lt");
	}
	r->values = p->sel->values + p->nvalues;
	if (r->op == OP_IN || r->op == OP_NOTIN) {
		if ((rc = parse_values(p, r)) < 0)
			return rc;
	} else {
		t = look(p, false);
		at = p->i;
		if (t == T_END || t == T_COMMA) {
			rc = add_value(p, r, SIZE_MAX);
		} else if (take(p, false) == T_ID) {
			rc = add_value(p, r, at);
		} else {
			return fail_at(p, at, "identifier");
		}
		if (rc < 0)
			return rc;
		if ((r->op == OP_GT || r->op == OP_LT) && !parse_int64(r->values[0], &r->num)) {
			http_errf(p->err, p->errsz, "label selector: at byte %zu: for 'Gt', 'Lt' "
						   "operators, the value must be an integer",
				 p->tok[at].pos);
			return -EINVAL;
		}
	}
	/* a set: sorted, distinct */
	qsort(r->values, r->n, sizeof(*r->values), cmp_str);
	if (r->n > 1) {
		size_t w = 1;

		for (size_t k = 1; k < r->n; k++)
			if (strcmp(r->values[k], r->values[w - 1]))
				r->values[w++] = r->values[k];
		r->n = w;
	}
	return 0;
}

static int cmp_req(const void *a, const void *b)
{
	const struct req *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (int)x->op - (int)y->op;
}

int k8s_selector_parse(const char *s, k8s_selector_t **ret, char *err, size_t errsz)
{
	struct parser p = { .s = s, .err = err, .errsz = errsz };
	size_t len;
	int rc = -ENOMEM;

	if (!s || !ret) {
		http_errf(err, errsz, "label selector: none given");
		return -EINVAL;
	}
	len = strlen(s);
	if (len > K8S_SELECTOR_MAX) {
		http_errf(err, errsz, "label selector: %zu bytes, more than the %d allowed", len,
			 K8S_SELECTOR_MAX);
		return -E2BIG;
	}
	/* every token, requirement and value is at most one per input byte (plus one); a
	 * saved text needs its bytes plus a NUL, an empty value one byte */
	p.tok = malloc((len + 1) * sizeof(*p.tok));
	p.sel = calloc(1, sizeof(*p.sel));
	if (!p.tok || !p.sel || !(p.sel->r = calloc(len + 1, sizeof(*p.sel->r))) ||
	    !(p.sel->values = calloc(len + 2, sizeof(*p.sel->values))) ||
	    !(p.arena = p.sel->arena = malloc(2 * len + 4)))
		goto oom;
	p.ntok = lex(s, p.tok);
	for (;;) {
		enum tok t = look(&p, false);

		if (t == T_END)
			break;
		if (t != T_ID && t != T_NOT) {
			rc = fail_at(&p, p.i, "!, identifier, or 'end of string'");
			goto out;
		}
		if ((rc = parse_requirement(&p, &p.sel->r[p.sel->n])) < 0)
			goto out;
		p.sel->n++;
		t = take(&p, false);
		if (t == T_END)
			break;
		if (t != T_COMMA) {
			rc = fail_at(&p, p.i - 1, "',' or 'end of string'");
			goto out;
		}
		t = look(&p, false);
		if (t != T_ID && t != T_NOT) {
			rc = fail_at(&p, p.i, "identifier after ','");
			goto out;
		}
	}
	qsort(p.sel->r, p.sel->n, sizeof(*p.sel->r), cmp_req);
	free(p.tok);
	*ret = p.sel;
	return 0;
oom:
	http_errf(err, errsz, "label selector: out of memory");
	rc = -ENOMEM;
out:
	free(p.tok);
	k8s_selector_free(p.sel);
	return rc;
}

k8s_selector_t *k8s_selector_free(k8s_selector_t *sel)
{
	if (!sel)
		return NULL;
	free(sel->r);
	free(sel->values);
	free(sel->arena);
	free(sel);
	return NULL;
}

bool k8s_selector_empty(const k8s_selector_t *sel)
{
	return !sel || !sel->n;
}

static const char *lookup(const k8s_label_t *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(labels[i].key, key))
			return labels[i].value ? labels[i].value : "";
	return NULL;
}

static bool has_value(const struct req *r, const char *v)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

bool k8s_selector_matches(const k8s_selector_t *sel, const k8s_label_t *labels, size_t n)
{
	if (!sel)
		return true;
	for (size_t i = 0; i < sel->n; i++) {
		const struct req *r = &sel->r[i];
		const char *v = lookup(labels, n, r->key);
		long long num;
		bool ok;

		switch (r->op) {
		case OP_EXISTS: ok = v != NULL; break;
		case OP_NOT_EXISTS: ok = v == NULL; break;
		case OP_EQ:
		case OP_DEQ:
		case OP_IN: ok = v && has_value(r, v); break;
		case OP_NE:
		case OP_NOTIN: ok = !v || !has_value(r, v); break;
		case OP_GT:
		case OP_LT:
			ok = v && parse_int64(v, &num) && (r->op == OP_GT ? num > r->num : num < r->num);
			break;
		default: ok = false; break;
		}
		if (!ok)
			return false;
	}
	return true;
}

int k8s_selector_format(const k8s_selector_t *sel, char *buf, size_t size)
{
	static const char *const ops[] = { [OP_EQ] = "=", [OP_DEQ] = "==", [OP_NE] = "!=",
					    [OP_IN] = " in ", [OP_NOTIN] = " notin ",
					    [OP_GT] = ">", [OP_LT] = "<" };
	size_t o = 0;

#define PUT(...)                                                                         \
	do {                                                                             \
		int n_ = snprintf(buf + o, o < size ? size - o : 0, __VA_ARGS__);        \
		o += n_ > 0 ? (size_t)n_ : 0;                                            \
	} while (0)

	if (!buf || !size)
		return -ENOBUFS;
	buf[0] = '\0';
	for (size_t i = 0; sel && i < sel->n; i++) {
		const struct req *r = &sel->r[i];
		bool set = r->op == OP_IN || r->op == OP_NOTIN;

		PUT("%s%s%s", i ? "," : "", r->op == OP_NOT_EXISTS ? "!" : "", r->key);
		if (r->op == OP_EXISTS || r->op == OP_NOT_EXISTS)
			continue;
		PUT("%s%s", ops[r->op], set ? "(" : "");
		for (size_t k = 0; k < r->n; k++)
			PUT("%s%s", k ? "," : "", r->values[k]);
		if (set)
			PUT(")");
	}
#undef PUT
	return o < size ? 0 : -ENOBUFS;
}
