/* promql-check.c - the PromQL parser and type checker (see promql-check.h).
 *
 * Design. Prometheus parses with a yacc (LALR) grammar, collects errors as it goes and
 * reports the first; the type checks (checkAST) run only when parsing found none. This
 * is a recursive-descent parser for the same grammar that stops at the first error, so
 * the question is only which error comes first and how it reads. Three things decide it,
 * and the code keeps to them:
 *
 *  - Order in time. Errors come from the lexer (when a token is read), from the grammar
 *    (when a token cannot continue the input), and from the actions that build a node
 *    (unknown function, bad duration, bad regex, "offset may not be set multiple times",
 *    ...). yacc reads a lookahead token only when a state needs one, so an action that
 *    completes a construct ending in a closing token runs before the next token is read,
 *    and one that has to look (an aggregation without a trailing "by", a binary operand)
 *    runs after. Here a token is read (peek) only where yacc would read it, and each
 *    action runs where yacc's reduction does.
 *
 *  - The context of "unexpected X in CONTEXT, expected Y". yacc recovers at the innermost
 *    state that can shift the "error" token; those are the rules with an error
 *    alternative: inside an aggregation ("in aggregation"), a grouping list ("grouping
 *    opts"), a label matcher list ("label matching"), offset, @ and [range:step]. States
 *    with such an alternative never take a default reduction, which is why, for example,
 *    "group_left )" complains about grouping opts and not about the operand. The
 *    aggregation context spans its whole argument list, through nested calls and
 *    parentheses (agg_depth); the others are leaf contexts, named at their call sites.
 *
 *  - Precedence: postfix [range], offset and @ bind to the nearest operand, unary minus
 *    binds tighter than * and looser than ^, ^ is right-associative, and the comparison,
 *    set and arithmetic levels are those of Prometheus.
 *
 * After parsing, check_node() is checkAST: the same traversal order, the same messages.
 * Every node carries its type, its byte range and its height; recursion is bounded by
 * PROMQL_MAX_DEPTH while parsing and by PROMQL_MAX_HEIGHT while checking.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promql/promql-check.h"
#include "promql/promql-private.h"

/* ---- an arena for the syntax tree: freed at once at the end ------------------------- */

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	void *r;

	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!c || c->size - c->used < n) {
		size_t size = n > 16384 ? n : 16384;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->size = size;
		a->head = c;
	}
	r = (char *)c->data + c->used;
	c->used += n;
	memset(r, 0, n);
	return r;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
}

/* ---- functions (Prometheus 2.42's promql/parser/functions.go) ------------------------ */

#define S PROMQL_TYPE_SCALAR
#define V PROMQL_TYPE_VECTOR
#define M PROMQL_TYPE_MATRIX
#define STR PROMQL_TYPE_STRING

static const struct function {
	const char *name;
	promql_type_t args[5];
	int nargs;
	int variadic; /* 0; n: up to n optional trailing arguments; -1: any number */
	promql_type_t ret;
} functions[] = {
	{ "abs", { V }, 1, 0, V },
	{ "absent", { V }, 1, 0, V },
	{ "absent_over_time", { M }, 1, 0, V },
	{ "acos", { V }, 1, 0, V },
	{ "acosh", { V }, 1, 0, V },
	{ "asin", { V }, 1, 0, V },
	{ "asinh", { V }, 1, 0, V },
	{ "atan", { V }, 1, 0, V },
	{ "atanh", { V }, 1, 0, V },
	{ "avg_over_time", { M }, 1, 0, V },
	{ "ceil", { V }, 1, 0, V },
	{ "changes", { M }, 1, 0, V },
	{ "clamp", { V, S, S }, 3, 0, V },
	{ "clamp_max", { V, S }, 2, 0, V },
	{ "clamp_min", { V, S }, 2, 0, V },
	{ "cos", { V }, 1, 0, V },
	{ "cosh", { V }, 1, 0, V },
	{ "count_over_time", { M }, 1, 0, V },
	{ "days_in_month", { V }, 1, 1, V },
	{ "day_of_month", { V }, 1, 1, V },
	{ "day_of_week", { V }, 1, 1, V },
	{ "day_of_year", { V }, 1, 1, V },
	{ "deg", { V }, 1, 0, V },
	{ "delta", { M }, 1, 0, V },
	{ "deriv", { M }, 1, 0, V },
	{ "exp", { V }, 1, 0, V },
	{ "floor", { V }, 1, 0, V },
	{ "histogram_count", { V }, 1, 0, V },
	{ "histogram_fraction", { S, S, V }, 3, 0, V },
	{ "histogram_quantile", { S, V }, 2, 0, V },
	{ "histogram_sum", { V }, 1, 0, V },
	{ "holt_winters", { M, S, S }, 3, 0, V },
	{ "hour", { V }, 1, 1, V },
	{ "idelta", { M }, 1, 0, V },
	{ "increase", { M }, 1, 0, V },
	{ "irate", { M }, 1, 0, V },
	{ "label_join", { V, STR, STR, STR }, 4, -1, V },
	{ "label_replace", { V, STR, STR, STR, STR }, 5, 0, V },
	{ "last_over_time", { M }, 1, 0, V },
	{ "ln", { V }, 1, 0, V },
	{ "log10", { V }, 1, 0, V },
	{ "log2", { V }, 1, 0, V },
	{ "max_over_time", { M }, 1, 0, V },
	{ "min_over_time", { M }, 1, 0, V },
	{ "minute", { V }, 1, 1, V },
	{ "month", { V }, 1, 1, V },
	{ "pi", { 0 }, 0, 0, S },
	{ "predict_linear", { M, S }, 2, 0, V },
	{ "present_over_time", { M }, 1, 0, V },
	{ "quantile_over_time", { S, M }, 2, 0, V },
	{ "rad", { V }, 1, 0, V },
	{ "rate", { M }, 1, 0, V },
	{ "resets", { M }, 1, 0, V },
	{ "round", { V, S }, 2, 1, V },
	{ "scalar", { V }, 1, 0, S },
	{ "sgn", { V }, 1, 0, V },
	{ "sin", { V }, 1, 0, V },
	{ "sinh", { V }, 1, 0, V },
	{ "sort", { V }, 1, 0, V },
	{ "sort_desc", { V }, 1, 0, V },
	{ "sqrt", { V }, 1, 0, V },
	{ "stddev_over_time", { M }, 1, 0, V },
	{ "stdvar_over_time", { M }, 1, 0, V },
	{ "sum_over_time", { M }, 1, 0, V },
	{ "tan", { V }, 1, 0, V },
	{ "tanh", { V }, 1, 0, V },
	{ "time", { 0 }, 0, 0, S },
	{ "timestamp", { V }, 1, 0, V },
	{ "vector", { S }, 1, 0, V },
	{ "year", { V }, 1, 1, V },
};

#undef S
#undef V
#undef M
#undef STR

static const struct function *find_function(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (strlen(functions[i].name) == len && !memcmp(functions[i].name, name, len))
			return &functions[i];
	return NULL;
}

/* ---- the syntax tree ---------------------------------------------------------------- */

enum node_kind {
	N_NUMBER,
	N_STRING,
	N_VECTOR,
	N_MATRIX,
	N_SUBQUERY,
	N_PAREN,
	N_UNARY,
	N_BINARY,
	N_CALL,
	N_AGG,
};

enum card { CARD_ONE_TO_ONE, CARD_MANY_TO_ONE, CARD_ONE_TO_MANY, CARD_MANY_TO_MANY };

/* A label of a grouping list: a token's text. */
struct label {
	struct label *next;
	size_t pos;
	size_t len;
};

struct node {
	enum node_kind kind;
	promql_type_t type;
	size_t start; /* byte range, for positions in messages */
	size_t end;
	int height;
	struct node *next; /* in an argument list */
	union {
		struct {
			bool has_name;   /* a metric name outside the braces */
			size_t name_pos;
			size_t name_len;
			bool nonempty;   /* a matcher that does not match "" */
			bool has_dup;    /* a __name__ matcher inside the braces */
			const char *dup; /* its value (unquoted) */
			size_t dup_len;
			bool offset;
			bool at;         /* @ timestamp, start() or end() */
			bool at_ts;      /* @ timestamp */
		} vs;
		struct {
			struct node *vs;
		} matrix;
		struct {
			struct node *expr;
			bool offset;
			bool at;
		} sub;
		struct {
			struct node *expr;
		} paren;
		struct {
			struct node *expr;
		} unary;
		struct {
			enum promql_tok op;
			struct node *lhs;
			struct node *rhs;
			bool ret_bool;
			bool on;
			enum card card;
			struct label *matching;
			size_t n_matching;
			struct label *include;
		} bin;
		struct {
			const struct function *fn;
			struct node *args;
			size_t nargs;
		} call;
		struct {
			enum promql_tok op;
			struct node *expr;
			struct node *param;
		} agg;
	};
};

/* ---- the parser --------------------------------------------------------------------- */

struct parser {
	const char *in;
	size_t len;
	struct promql_lexer lex;
	struct promql_token tok; /* the lookahead, valid when have_tok */
	bool have_tok;
	bool failed;
	int code; /* -EINVAL or -ENOMEM once failed */
	size_t err_pos;
	char err_msg[PROMQL_ERROR_MSG_SIZE];
	int agg_depth; /* aggregations whose arguments are being parsed */
	int depth;
	struct arena arena;
	locale_t c_locale;
};

/* Starts the message of the first error; after it, messages go nowhere. */
static struct promql_buf error_begin(struct parser *p, size_t pos)
{
	struct promql_buf b;

	if (p->failed) {
		promql_buf_init(&b, NULL, 0);
		return b;
	}
	p->failed = true;
	p->code = -EINVAL;
	p->err_pos = pos;
	promql_buf_init(&b, p->err_msg, sizeof(p->err_msg));
	return b;
}

static void error_at(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void error_at(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	p->code = -EINVAL;
	p->err_pos = pos;
	va_start(ap, fmt);
	vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
	va_end(ap);
}

static void out_of_memory(struct parser *p)
{
	if (p->failed)
		return;
	p->failed = true;
	p->code = -ENOMEM;
	p->err_pos = 0;
	snprintf(p->err_msg, sizeof(p->err_msg), "out of memory");
}

static void *alloc(struct parser *p, size_t n)
{
	void *r = arena_alloc(&p->arena, n);

	if (!r)
		out_of_memory(p);
	return r;
}

/* The lookahead token (comments skipped); NULL after a lexer error, which it reports. */
static const struct promql_token *peek(struct parser *p)
{
	if (p->failed)
		return NULL;
	if (!p->have_tok) {
		do
			promql_lex_next(&p->lex, &p->tok);
		while (p->tok.type == TOK_COMMENT);
		p->have_tok = true;
		if (p->tok.type == TOK_ERROR) {
			struct promql_buf b = error_begin(p, p->tok.pos);

			promql_buf_str(&b, p->lex.msg);
			return NULL;
		}
	}
	return &p->tok;
}

static void consume(struct parser *p)
{
	p->have_tok = false;
}

/* How Prometheus names a token in "unexpected ..." (Item.desc()). */
static void describe(struct parser *p, struct promql_buf *b, const struct promql_token *t)
{
	const char *text = p->in + t->pos;
	size_t n = t->len;

	switch (t->type) {
	case TOK_EOF:
		promql_buf_str(b, "end of input");
		return;
	case TOK_IDENTIFIER:
		promql_buf_str(b, "identifier ");
		promql_buf_quote(b, text, n, 0);
		return;
	case TOK_METRIC_IDENTIFIER:
		promql_buf_str(b, "metric identifier ");
		promql_buf_quote(b, text, n, 0);
		return;
	case TOK_NUMBER:
	case TOK_STRING:
	case TOK_DURATION:
		promql_buf_str(b, t->type == TOK_NUMBER ? "number " :
				  t->type == TOK_STRING ? "string " : "duration ");
		promql_buf_quote(b, text, n, n > 10 ? 10 : 0);
		if (n > 10)
			promql_buf_str(b, "...");
		return;
	case TOK_AT:
		/* no name in Prometheus 2.42's table: its number stands in */
		promql_buf_str(b, "\"<Item 57385>\" <op:@>");
		return;
	default:
		break;
	}
	if (TOK_IS_KEYWORD(t->type)) {
		promql_buf_str(b, "<");
		promql_buf_add(b, text, n);
		promql_buf_str(b, ">");
	} else if (TOK_IS_OPERATOR(t->type)) {
		promql_buf_str(b, "<op:");
		promql_buf_add(b, text, n);
		promql_buf_str(b, ">");
	} else if (TOK_IS_AGGREGATOR(t->type)) {
		promql_buf_str(b, "<aggr:");
		promql_buf_add(b, text, n);
		promql_buf_str(b, ">");
	} else {
		promql_buf_quote(b, text, n, 0);
	}
}

/* A syntax error at token t: "unexpected T[ in CONTEXT][, expected EXPECTED]". */
static void unexpected(struct parser *p, const struct promql_token *t, const char *context,
		       const char *expected)
{
	struct promql_buf b;

	if (p->failed)
		return;
	b = error_begin(p, t->pos);
	promql_buf_str(&b, "unexpected ");
	describe(p, &b, t);
	if (context) {
		promql_buf_str(&b, " in ");
		promql_buf_str(&b, context);
	}
	if (expected) {
		promql_buf_str(&b, ", expected ");
		promql_buf_str(&b, expected);
	}
}

/* A syntax error inside an expression: the context is the enclosing aggregation's. */
static void unexpected_in_expr(struct parser *p, const struct promql_token *t)
{
	unexpected(p, t, p->agg_depth > 0 ? "aggregation" : NULL, NULL);
}

static struct node *new_node(struct parser *p, enum node_kind kind, size_t start, size_t end,
			     int child_height)
{
	struct node *n;

	if (child_height + 1 > PROMQL_MAX_HEIGHT) {
		error_at(p, start, "expression nests too deeply (a syntax tree deeper than %d)",
			 PROMQL_MAX_HEIGHT);
		return NULL;
	}
	n = alloc(p, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = kind;
	n->start = start;
	n->end = end;
	n->height = child_height + 1;
	return n;
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

/* Tokens that name a metric when an expression starts with them. */
static bool is_metric_identifier(enum promql_tok t)
{
	switch (t) {
	case TOK_IDENTIFIER:
	case TOK_METRIC_IDENTIFIER:
	case TOK_BY:
	case TOK_WITHOUT:
	case TOK_LAND:
	case TOK_LOR:
	case TOK_LUNLESS:
	case TOK_OFFSET:
	case TOK_START:
	case TOK_END:
		return true;
	default:
		return TOK_IS_AGGREGATOR(t);
	}
}

static bool can_start_expr(enum promql_tok t)
{
	switch (t) {
	case TOK_NUMBER:
	case TOK_STRING:
	case TOK_LEFT_PAREN:
	case TOK_LEFT_BRACE:
	case TOK_ADD:
	case TOK_SUB:
		return true;
	default:
		return is_metric_identifier(t);
	}
}

/* Tokens accepted as a label name in by (...), on (...) and the like. */
static bool is_maybe_label(enum promql_tok t)
{
	switch (t) {
	case TOK_BOOL:
	case TOK_BY:
	case TOK_GROUP_LEFT:
	case TOK_GROUP_RIGHT:
	case TOK_IDENTIFIER:
	case TOK_IGNORING:
	case TOK_LAND:
	case TOK_LOR:
	case TOK_LUNLESS:
	case TOK_METRIC_IDENTIFIER:
	case TOK_OFFSET:
	case TOK_ON:
	case TOK_START:
	case TOK_END:
	case TOK_ATAN2:
		return true;
	default:
		return TOK_IS_AGGREGATOR(t);
	}
}

/* ---- literals ------------------------------------------------------------------------ */

static char *token_text(struct parser *p, const struct promql_token *t)
{
	char *s = alloc(p, t->len + 1);

	if (s)
		memcpy(s, p->in + t->pos, t->len);
	return s;
}

/* A NUMBER token's value, as strconv.ParseInt(s, 0, 64) or else ParseFloat(s, 64) gives
 * it; false (and the error) when both fail. */
static bool number_value(struct parser *p, const struct promql_token *t, double *ret)
{
	const char *s = p->in + t->pos;
	size_t n = t->len, i;
	struct promql_buf b;
	bool hex = n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *why = "invalid syntax";
	char *text, *end;
	double v;

	if (hex || (n > 1 && s[0] == '0') || (n > 0 && s[0] >= '1' && s[0] <= '9')) {
		/* ParseInt with base prefix: hex, octal (leading 0) or decimal */
		int base = hex ? 16 : s[0] == '0' ? 8 : 10;
		uint64_t u = 0;
		bool ok = true;

		i = hex ? 2 : 0;
		if (i == n)
			ok = false;
		for (; i < n && ok; i++) {
			int d = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
				s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 :
				s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : 99;

			if (d >= base || u > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
				ok = false;
			else
				u = u * (uint64_t)base + (uint64_t)d;
		}
		if (ok && u <= (uint64_t)INT64_MAX) {
			*ret = (double)(int64_t)u;
			return true;
		}
		if (hex) /* ParseFloat wants a p exponent in hex */
			goto bad;
	}
	if (n == 3 && !strncasecmp(s, "inf", 3)) {
		*ret = INFINITY;
		return true;
	}
	if (n == 3 && !strncasecmp(s, "nan", 3)) {
		*ret = NAN;
		return true;
	}
	/* digits [. digits] [e [+-] digits]: the lexer saw to all but the exponent digits */
	for (i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++)
		;
	if (i < n) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == n)
			goto bad;
	}
	if (!p->c_locale) {
		p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
		if (!p->c_locale) {
			out_of_memory(p);
			return false;
		}
	}
	text = token_text(p, t);
	if (!text)
		return false;
	v = strtod_l(text, &end, p->c_locale);
	if (*end != '\0')
		goto bad;
	if (isinf(v)) {
		why = "value out of range";
		goto bad;
	}
	*ret = v;
	return true;
bad:
	b = error_begin(p, t->pos);
	promql_buf_str(&b, "error parsing number: strconv.ParseFloat: parsing ");
	promql_buf_quote(&b, s, n, 0);
	promql_buf_str(&b, ": ");
	promql_buf_str(&b, why);
	return false;
}

/* A DURATION token, as Prometheus's model.ParseDuration and then "> 0" check it:
 * [Ny][Nw][Nd][Nh][Nm][Ns][Nms], each unit at most once and in this order. The
 * arithmetic is Go's: int64 nanoseconds, wrapping, with its overflow tests. */
static bool duration_value(struct parser *p, const struct promql_token *t)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{ "y", 1000LL * 60 * 60 * 24 * 365 }, { "w", 1000LL * 60 * 60 * 24 * 7 },
		{ "d", 1000LL * 60 * 60 * 24 },       { "h", 1000LL * 60 * 60 },
		{ "m", 1000LL * 60 },                 { "s", 1000 },
		{ "ms", 1 },
	};
	const char *s = p->in + t->pos, *e = s + t->len;
	uint64_t dur = 0;
	bool overflow = false;
	size_t next_unit = 0;
	struct promql_buf b;

	while (s < e) {
		const char *digits = s;
		size_t u, ulen;
		int64_t n = 0;

		while (s < e && *s >= '0' && *s <= '9')
			s++;
		if (s == digits || s == e)
			goto invalid;
		for (u = next_unit; u < sizeof(units) / sizeof(units[0]); u++) {
			ulen = strlen(units[u].unit);
			if ((size_t)(e - s) >= ulen && !memcmp(s, units[u].unit, ulen) &&
			    !(ulen == 1 && units[u].unit[0] == 'm' && e - s >= 2 && s[1] == 's'))
				break;
		}
		if (u == sizeof(units) / sizeof(units[0]))
			goto invalid;
		/* strconv.Atoi: saturates on overflow */
		for (const char *d = digits; d < s; d++) {
			if (n > (INT64_MAX - (*d - '0')) / 10) {
				n = INT64_MAX;
				break;
			}
			n = n * 10 + (*d - '0');
		}
		if (n > INT64_MAX / units[u].ms / 1000000)
			overflow = true;
		dur += (uint64_t)n * 1000000u * (uint64_t)units[u].ms;
		if ((int64_t)dur < 0)
			overflow = true;
		s += strlen(units[u].unit);
		next_unit = u + 1;
	}
	if (overflow) {
		error_at(p, t->pos, "duration out of range");
		return false;
	}
	if (dur == 0) {
		error_at(p, t->pos, "duration must be greater than 0");
		return false;
	}
	return true;
invalid:
	b = error_begin(p, t->pos);
	promql_buf_str(&b, "not a valid duration string: ");
	promql_buf_quote(&b, p->in + t->pos, t->len, 0);
	return false;
}

/* A STRING token's value (the lexer has checked its escapes). */
static char *unquote(struct parser *p, const struct promql_token *t, size_t *ret_len)
{
	const char *s = p->in + t->pos + 1, *e = p->in + t->pos + t->len - 1;
	char quote = p->in[t->pos];
	char *out = alloc(p, t->len + 1), *o = out;

	if (!out)
		return NULL;
	if (quote == '`') {
		memcpy(out, s, (size_t)(e - s));
		*ret_len = (size_t)(e - s);
		return out;
	}
	while (s < e) {
		uint32_t v = 0;
		int digits = 0, base = 16;

		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'a': *o++ = '\a'; s++; continue;
		case 'b': *o++ = '\b'; s++; continue;
		case 'f': *o++ = '\f'; s++; continue;
		case 'n': *o++ = '\n'; s++; continue;
		case 'r': *o++ = '\r'; s++; continue;
		case 't': *o++ = '\t'; s++; continue;
		case 'v': *o++ = '\v'; s++; continue;
		case 'x': digits = 2; s++; break;
		case 'u': digits = 4; s++; break;
		case 'U': digits = 8; s++; break;
		default:
			if (*s >= '0' && *s <= '7') {
				digits = 3;
				base = 8;
				break;
			}
			*o++ = *s++; /* \\ \' \" */
			continue;
		}
		for (int i = 0; i < digits && s < e; i++, s++) {
			int d = *s >= '0' && *s <= '9' ? *s - '0' :
				*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : *s - 'A' + 10;

			v = v * (uint32_t)base + (uint32_t)d;
		}
		if (digits == 4 || digits == 8)
			o += promql_utf8_encode((int32_t)v, o);
		else
			*o++ = (char)v; /* \xNN and octal are bytes */
	}
	*ret_len = (size_t)(o - out);
	return out;
}

/* ---- expressions ----------------------------------------------------------------- */

static struct node *parse_expr(struct parser *p, int min_prec);

static int binop_prec(enum promql_tok t)
{
	switch (t) {
	case TOK_LOR:
		return 1;
	case TOK_LAND:
	case TOK_LUNLESS:
		return 2;
	case TOK_EQLC:
	case TOK_NEQ:
	case TOK_LSS:
	case TOK_LTE:
	case TOK_GTR:
	case TOK_GTE:
		return 3;
	case TOK_ADD:
	case TOK_SUB:
		return 4;
	case TOK_MUL:
	case TOK_DIV:
	case TOK_MOD:
	case TOK_ATAN2:
		return 5;
	case TOK_POW:
		return 6;
	default:
		return 0;
	}
}

#define PREC_POW 6

static bool is_comparison(enum promql_tok t)
{
	return binop_prec(t) == 3;
}

static bool is_set_operator(enum promql_tok t)
{
	return t == TOK_LAND || t == TOK_LOR || t == TOK_LUNLESS;
}

/* "(" label, ... ")" after by, without, on, ignoring, group_left, group_right; *ret_end
 * is the ")"'s end. */
static bool parse_grouping(struct parser *p, struct label **ret, size_t *ret_n,
			   size_t *ret_end)
{
	const struct promql_token *t;
	struct label **tail = ret;

	*ret = NULL;
	*ret_n = 0;
	if (!(t = peek(p)))
		return false;
	if (t->type != TOK_LEFT_PAREN) {
		unexpected(p, t, "grouping opts", "\"(\"");
		return false;
	}
	consume(p);
	if (!(t = peek(p)))
		return false;
	if (t->type == TOK_RIGHT_PAREN) {
		*ret_end = t->pos + t->len;
		consume(p);
		return true;
	}
	for (;;) {
		struct label *l;

		if (!(t = peek(p)))
			return false;
		if (!is_maybe_label(t->type) || t->type == TOK_METRIC_IDENTIFIER) {
			unexpected(p, t, "grouping opts", "label");
			return false;
		}
		l = alloc(p, sizeof(*l));
		if (!l)
			return false;
		l->pos = t->pos;
		l->len = t->len;
		*tail = l;
		tail = &l->next;
		(*ret_n)++;
		consume(p);

		if (!(t = peek(p)))
			return false;
		if (t->type == TOK_COMMA) {
			consume(p);
			if (!(t = peek(p)))
				return false;
			if (t->type == TOK_RIGHT_PAREN) {
				*ret_end = t->pos + t->len;
				consume(p);
				return true;
			}
			continue;
		}
		if (t->type == TOK_RIGHT_PAREN) {
			*ret_end = t->pos + t->len;
			consume(p);
			return true;
		}
		unexpected(p, t, "grouping opts", "\",\" or \")\"");
		return false;
	}
}

/* "(" [expr {"," expr}] ")" of a call or an aggregation; *ret_end is the ")"'s end. */
static bool parse_call_body(struct parser *p, struct node **ret_args, size_t *ret_n,
			    size_t *ret_end)
{
	const struct promql_token *t;
	struct node **tail = ret_args;

	*ret_args = NULL;
	*ret_n = 0;
	if (!(t = peek(p)))
		return false;
	if (t->type != TOK_LEFT_PAREN) {
		unexpected_in_expr(p, t);
		return false;
	}
	consume(p);
	if (!(t = peek(p)))
		return false;
	if (t->type == TOK_RIGHT_PAREN) {
		*ret_end = t->pos + t->len;
		consume(p);
		return true;
	}
	for (;;) {
		struct node *arg = parse_expr(p, 0);

		if (!arg)
			return false;
		*tail = arg;
		tail = &arg->next;
		(*ret_n)++;

		if (!(t = peek(p)))
			return false;
		if (t->type == TOK_COMMA) {
			size_t comma = t->pos;

			consume(p);
			if (!(t = peek(p)))
				return false;
			if (can_start_expr(t->type))
				continue;
			error_at(p, comma, "trailing commas not allowed in function call args");
			return false;
		}
		if (t->type == TOK_RIGHT_PAREN) {
			*ret_end = t->pos + t->len;
			consume(p);
			return true;
		}
		unexpected_in_expr(p, t);
		return false;
	}
}

static bool new_label_matcher(struct parser *p, struct node *vs, const struct promql_token *name,
			      enum promql_tok op, const struct promql_token *value)
{
	size_t len;
	char *v = unquote(p, value, &len);
	bool matches_empty;

	if (!v)
		return false;
	if (op == TOK_EQL_REGEX || op == TOK_NEQ_REGEX) {
		bool nullable;
		char msg[PROMQL_ERROR_MSG_SIZE];
		int r = promql_regex_check(v, len, &nullable, msg, sizeof(msg));

		if (r == -ENOMEM) {
			out_of_memory(p);
			return false;
		}
		if (r < 0) {
			struct promql_buf b = error_begin(p, name->pos);

			promql_buf_str(&b, msg);
			return false;
		}
		matches_empty = op == TOK_EQL_REGEX ? nullable : !nullable;
	} else {
		matches_empty = op == TOK_EQL ? len == 0 : len != 0;
	}
	if (!matches_empty)
		vs->vs.nonempty = true;
	if (!vs->vs.has_dup && name->len == 8 && !memcmp(p->in + name->pos, "__name__", 8)) {
		vs->vs.has_dup = true;
		vs->vs.dup = v;
		vs->vs.dup_len = len;
	}
	return true;
}

/* "{" matchers "}"; the "{" is the lookahead. */
static bool parse_matchers(struct parser *p, struct node *vs)
{
	const struct promql_token *t = peek(p);

	consume(p);
	if (!(t = peek(p)))
		return false;
	if (t->type == TOK_RIGHT_BRACE) {
		vs->end = t->pos + t->len;
		consume(p);
		return true;
	}
	for (;;) {
		struct promql_token name;
		enum promql_tok op;

		if (!(t = peek(p)))
			return false;
		if (t->type != TOK_IDENTIFIER) {
			unexpected(p, t, "label matching", "identifier or \"}\"");
			return false;
		}
		name = *t;
		consume(p);
		if (!(t = peek(p)))
			return false;
		if (t->type != TOK_EQL && t->type != TOK_NEQ && t->type != TOK_EQL_REGEX &&
		    t->type != TOK_NEQ_REGEX) {
			unexpected(p, t, "label matching", "label matching operator");
			return false;
		}
		op = t->type;
		consume(p);
		if (!(t = peek(p)))
			return false;
		if (t->type != TOK_STRING) {
			unexpected(p, t, "label matching", "string");
			return false;
		}
		consume(p);
		if (!new_label_matcher(p, vs, &name, op, t))
			return false;

		if (!(t = peek(p)))
			return false;
		if (t->type == TOK_COMMA) {
			consume(p);
			if (!(t = peek(p)))
				return false;
			if (t->type == TOK_RIGHT_BRACE) {
				vs->end = t->pos + t->len;
				consume(p);
				return true;
			}
			continue;
		}
		if (t->type == TOK_RIGHT_BRACE) {
			vs->end = t->pos + t->len;
			consume(p);
			return true;
		}
		unexpected(p, t, "label matching", "\",\" or \"}\"");
		return false;
	}
}

/* A vector selector: name (a token already consumed, or NULL) and/or "{...}". */
static struct node *parse_selector(struct parser *p, const struct promql_token *name)
{
	const struct promql_token *t;
	struct node *vs;
	size_t start = name ? name->pos : 0;

	if (!name) {
		if (!(t = peek(p)))
			return NULL;
		start = t->pos;
	}
	vs = new_node(p, N_VECTOR, start, name ? name->pos + name->len : start, 0);
	if (!vs)
		return NULL;
	vs->type = PROMQL_TYPE_VECTOR;
	if (name) {
		vs->vs.has_name = true;
		vs->vs.name_pos = name->pos;
		vs->vs.name_len = name->len;
	}
	if (!(t = peek(p)))
		return NULL;
	if (t->type == TOK_LEFT_BRACE && !parse_matchers(p, vs))
		return NULL;
	return vs;
}

static struct node *parse_aggregation(struct parser *p, const struct promql_token *op_tok)
{
	const struct promql_token *t;
	struct node *n, *args;
	enum promql_tok op = op_tok->type;
	size_t start = op_tok->pos, nargs, end = 0, want;
	struct label *grouping;
	size_t n_grouping;
	bool modifier = false;
	int height = 0;

	p->agg_depth++;
	if (!(t = peek(p)))
		return NULL;
	if (t->type == TOK_BY || t->type == TOK_WITHOUT) {
		consume(p);
		if (!parse_grouping(p, &grouping, &n_grouping, &end))
			return NULL;
		modifier = true;
	}
	if (!parse_call_body(p, &args, &nargs, &end))
		return NULL;
	if (!modifier) {
		if (!(t = peek(p)))
			return NULL;
		/* the node ends at the last ")", as Prometheus's lastClosing */
		if (t->type == TOK_BY || t->type == TOK_WITHOUT) {
			consume(p);
			if (!parse_grouping(p, &grouping, &n_grouping, &end))
				return NULL;
		}
	}
	p->agg_depth--;

	if (nargs == 0) {
		error_at(p, start, "no arguments for aggregate expression provided");
		return NULL;
	}
	want = op == TOK_TOPK || op == TOK_BOTTOMK || op == TOK_COUNT_VALUES ||
	       op == TOK_QUANTILE ? 2 : 1;
	if (nargs != want) {
		error_at(p, start, "wrong number of arguments for aggregate expression provided, "
			 "expected %zu, got %zu", want, nargs);
		return NULL;
	}
	for (struct node *a = args; a; a = a->next)
		height = max_int(height, a->height);
	n = new_node(p, N_AGG, start, end, height);
	if (!n)
		return NULL;
	n->type = PROMQL_TYPE_VECTOR;
	n->agg.op = op;
	n->agg.param = want == 2 ? args : NULL;
	n->agg.expr = want == 2 ? args->next : args;
	return n;
}

static struct node *parse_call(struct parser *p, const struct promql_token *name)
{
	struct node *n, *args;
	size_t nargs, end = 0;
	const struct function *fn;
	int height = 0;

	if (!parse_call_body(p, &args, &nargs, &end))
		return NULL;
	fn = find_function(p->in + name->pos, name->len);
	if (!fn) {
		struct promql_buf b = error_begin(p, name->pos);

		promql_buf_str(&b, "unknown function with name ");
		promql_buf_quote(&b, p->in + name->pos, name->len, 0);
		return NULL;
	}
	for (struct node *a = args; a; a = a->next)
		height = max_int(height, a->height);
	n = new_node(p, N_CALL, name->pos, end, height);
	if (!n)
		return NULL;
	n->type = fn->ret;
	n->call.fn = fn;
	n->call.args = args;
	n->call.nargs = nargs;
	return n;
}

/* [range] or [range:step] after e; the "[" is the lookahead. */
static struct node *parse_range(struct parser *p, struct node *e)
{
	const struct promql_token *t = peek(p);
	size_t bracket = t->pos;
	struct node *n;

	consume(p);
	if (!(t = peek(p)))
		return NULL;
	if (t->type != TOK_DURATION) {
		unexpected(p, t, "subquery selector", "duration");
		return NULL;
	}
	consume(p);
	if (!duration_value(p, t))
		return NULL;

	if (!(t = peek(p)))
		return NULL;
	if (t->type == TOK_RIGHT_BRACKET) {
		size_t end = t->pos + t->len;

		consume(p);
		if (e->kind != N_VECTOR) {
			error_at(p, bracket, "ranges only allowed for vector selectors");
			return NULL;
		}
		if (e->vs.offset) {
			error_at(p, bracket, "no offset modifiers allowed before range");
			return NULL;
		}
		if (e->vs.at_ts) {
			error_at(p, bracket, "no @ modifiers allowed before range");
			return NULL;
		}
		n = new_node(p, N_MATRIX, e->start, end, e->height);
		if (!n)
			return NULL;
		n->type = PROMQL_TYPE_MATRIX;
		n->matrix.vs = e;
		return n;
	}
	if (t->type != TOK_COLON) {
		unexpected(p, t, "subquery or range", "\":\" or \"]\"");
		return NULL;
	}
	consume(p);
	if (!(t = peek(p)))
		return NULL;
	if (t->type == TOK_DURATION) {
		consume(p);
		if (!duration_value(p, t))
			return NULL;
		if (!(t = peek(p)))
			return NULL;
		if (t->type != TOK_RIGHT_BRACKET) {
			unexpected(p, t, "subquery selector", "\"]\"");
			return NULL;
		}
	} else if (t->type != TOK_RIGHT_BRACKET) {
		unexpected(p, t, "subquery selector", "duration or \"]\"");
		return NULL;
	}
	consume(p);
	n = new_node(p, N_SUBQUERY, e->start, t->pos + 1, e->height);
	if (!n)
		return NULL;
	n->type = PROMQL_TYPE_MATRIX;
	n->sub.expr = e;
	return n;
}

/* The offset and @ flags of what a modifier applies to, or NULL (and the error). */
static bool *modifier_flag(struct parser *p, struct node *e, bool offset, bool **at_ts)
{
	static const char *const what =
		"modifier must be preceded by an instant vector selector or range vector "
		"selector or a subquery";
	struct node *vs = e->kind == N_MATRIX ? e->matrix.vs : e;

	*at_ts = NULL;
	if (vs->kind == N_VECTOR) {
		*at_ts = &vs->vs.at_ts;
		return offset ? &vs->vs.offset : &vs->vs.at;
	}
	if (e->kind == N_SUBQUERY)
		return offset ? &e->sub.offset : &e->sub.at;
	error_at(p, e->start, "%s %s", offset ? "offset" : "@", what);
	return NULL;
}

/* offset [-]duration after e; OFFSET is the lookahead. */
static bool parse_offset(struct parser *p, struct node *e)
{
	const struct promql_token *t;
	bool *flag, *at_ts;

	consume(p);
	if (!(t = peek(p)))
		return false;
	if (t->type == TOK_SUB) {
		consume(p);
		if (!(t = peek(p)))
			return false;
	}
	if (t->type != TOK_DURATION) {
		unexpected(p, t, "offset", "duration");
		return false;
	}
	consume(p);
	if (!duration_value(p, t))
		return false;
	if (!(flag = modifier_flag(p, e, true, &at_ts)))
		return false;
	if (*flag) {
		error_at(p, e->start, "offset may not be set multiple times");
		return false;
	}
	*flag = true;
	e->end = t->pos + t->len;
	return true;
}

/* @ timestamp, @ start(), @ end() after e; AT is the lookahead. */
static bool parse_at(struct parser *p, struct node *e)
{
	const struct promql_token *t;
	bool *flag, *at_ts, timestamp = false;
	double ts = 0;
	size_t end;

	consume(p);
	if (!(t = peek(p)))
		return false;
	if (t->type == TOK_START || t->type == TOK_END) {
		consume(p);
		if (!(t = peek(p)))
			return false;
		if (t->type != TOK_LEFT_PAREN) {
			unexpected(p, t, "@", "timestamp");
			return false;
		}
		consume(p);
		if (!(t = peek(p)))
			return false;
		if (t->type != TOK_RIGHT_PAREN) {
			unexpected(p, t, "@", "timestamp");
			return false;
		}
		consume(p);
		end = t->pos + t->len;
	} else {
		bool negative = false;

		if (t->type == TOK_ADD || t->type == TOK_SUB) {
			negative = t->type == TOK_SUB;
			consume(p);
			if (!(t = peek(p)))
				return false;
		}
		if (t->type != TOK_NUMBER) {
			unexpected(p, t, "@", "timestamp");
			return false;
		}
		consume(p);
		if (!number_value(p, t, &ts))
			return false;
		if (negative)
			ts = -ts;
		end = t->pos + t->len;
		timestamp = true;
		if (isnan(ts) || isinf(ts) || ts >= 9223372036854775808.0 ||
		    ts <= -9223372036854775808.0) {
			if (isnan(ts))
				error_at(p, e->start, "timestamp out of bounds for @ modifier: NaN");
			else if (isinf(ts))
				error_at(p, e->start, "timestamp out of bounds for @ modifier: %sInf",
					 ts > 0 ? "+" : "-");
			else
				error_at(p, e->start, "timestamp out of bounds for @ modifier: %f",
					 ts);
			return false;
		}
	}
	if (!(flag = modifier_flag(p, e, false, &at_ts)))
		return false;
	if (*flag) {
		error_at(p, e->start, "@ <timestamp> may not be set multiple times");
		return false;
	}
	*flag = true;
	if (at_ts && timestamp)
		*at_ts = true;
	e->end = end;
	return true;
}

/* [range], [range:step], offset and @ after an operand: they bind tightest. */
static struct node *parse_postfix(struct parser *p, struct node *e)
{
	for (;;) {
		const struct promql_token *t = peek(p);

		if (!t)
			return NULL;
		switch (t->type) {
		case TOK_LEFT_BRACKET:
			if (!(e = parse_range(p, e)))
				return NULL;
			break;
		case TOK_OFFSET:
			if (!parse_offset(p, e))
				return NULL;
			break;
		case TOK_AT:
			if (!parse_at(p, e))
				return NULL;
			break;
		default:
			return e;
		}
	}
}

static struct node *parse_primary(struct parser *p)
{
	const struct promql_token *t = peek(p);
	struct promql_token tok;
	struct node *n;
	double v;

	if (!t)
		return NULL;
	tok = *t;
	switch (tok.type) {
	case TOK_NUMBER:
		consume(p);
		if (!number_value(p, &tok, &v))
			return NULL;
		n = new_node(p, N_NUMBER, tok.pos, tok.pos + tok.len, 0);
		if (n)
			n->type = PROMQL_TYPE_SCALAR;
		return n;
	case TOK_STRING:
		consume(p);
		n = new_node(p, N_STRING, tok.pos, tok.pos + tok.len, 0);
		if (n)
			n->type = PROMQL_TYPE_STRING;
		return n;
	case TOK_LEFT_PAREN: {
		struct node *e;

		consume(p);
		if (!(e = parse_expr(p, 0)) || !(t = peek(p)))
			return NULL;
		if (t->type != TOK_RIGHT_PAREN) {
			unexpected_in_expr(p, t);
			return NULL;
		}
		consume(p);
		n = new_node(p, N_PAREN, tok.pos, t->pos + t->len, e->height);
		if (!n)
			return NULL;
		n->type = e->type;
		n->paren.expr = e;
		return n;
	}
	case TOK_LEFT_BRACE:
		return parse_selector(p, NULL);
	default:
		break;
	}
	if (tok.type == TOK_IDENTIFIER) {
		consume(p);
		if (!(t = peek(p)))
			return NULL;
		if (t->type == TOK_LEFT_PAREN)
			return parse_call(p, &tok);
		return parse_selector(p, &tok);
	}
	if (TOK_IS_AGGREGATOR(tok.type)) {
		/* sum(...), sum by (...) (...): an aggregation; sum alone is a metric name */
		consume(p);
		if (!(t = peek(p)))
			return NULL;
		if (t->type == TOK_LEFT_PAREN || t->type == TOK_BY || t->type == TOK_WITHOUT)
			return parse_aggregation(p, &tok);
		return parse_selector(p, &tok);
	}
	if (is_metric_identifier(tok.type)) {
		consume(p);
		return parse_selector(p, &tok);
	}
	unexpected_in_expr(p, &tok);
	return NULL;
}

/* A unary + or -, or an operand with its postfix modifiers. */
static struct node *parse_unary(struct parser *p)
{
	const struct promql_token *t = peek(p);
	struct promql_token op;
	struct node *e, *n;

	if (!t)
		return NULL;
	if (t->type != TOK_ADD && t->type != TOK_SUB) {
		e = parse_primary(p);
		return e ? parse_postfix(p, e) : NULL;
	}
	op = *t;
	consume(p);
	/* as tight as * binds: the operand takes only ^ with it */
	if (!(e = parse_expr(p, PREC_POW)))
		return NULL;
	if (e->kind == N_NUMBER) {
		e->start = op.pos; /* -1 is a number literal */
		return e;
	}
	n = new_node(p, N_UNARY, op.pos, e->end, e->height);
	if (!n)
		return NULL;
	n->type = e->type;
	n->unary.expr = e;
	return n;
}

static struct node *parse_binary_rhs(struct parser *p, struct node *lhs, enum promql_tok op,
				     int prec)
{
	const struct promql_token *t;
	struct node *n, *rhs;
	bool ret_bool = false, on = false;
	enum card card = CARD_ONE_TO_ONE;
	struct label *matching = NULL, *include = NULL;
	size_t n_matching = 0, n_include, end;

	if (!(t = peek(p)))
		return NULL;
	if (t->type == TOK_BOOL) {
		ret_bool = true;
		consume(p);
		if (!(t = peek(p)))
			return NULL;
	}
	if (t->type == TOK_ON || t->type == TOK_IGNORING) {
		on = t->type == TOK_ON;
		consume(p);
		if (!parse_grouping(p, &matching, &n_matching, &end))
			return NULL;
		if (!(t = peek(p)))
			return NULL;
		if (t->type == TOK_GROUP_LEFT || t->type == TOK_GROUP_RIGHT) {
			card = t->type == TOK_GROUP_LEFT ? CARD_MANY_TO_ONE : CARD_ONE_TO_MANY;
			consume(p);
			if (!(t = peek(p)))
				return NULL;
			if (t->type == TOK_LEFT_PAREN) {
				if (!parse_grouping(p, &include, &n_include, &end))
					return NULL;
			} else if (!can_start_expr(t->type)) {
				unexpected(p, t, "grouping opts", "\"(\"");
				return NULL;
			}
		}
	}
	rhs = parse_expr(p, op == TOK_POW ? prec : prec + 1);
	if (!rhs)
		return NULL;
	n = new_node(p, N_BINARY, lhs->start, rhs->end, max_int(lhs->height, rhs->height));
	if (!n)
		return NULL;
	n->type = lhs->type == PROMQL_TYPE_SCALAR && rhs->type == PROMQL_TYPE_SCALAR ?
			  PROMQL_TYPE_SCALAR : PROMQL_TYPE_VECTOR;
	n->bin.op = op;
	n->bin.lhs = lhs;
	n->bin.rhs = rhs;
	n->bin.ret_bool = ret_bool;
	n->bin.on = on;
	n->bin.card = card;
	n->bin.matching = matching;
	n->bin.n_matching = n_matching;
	n->bin.include = include;
	return n;
}

/* Operator precedence climbing: operators of at least min_prec. */
static struct node *parse_expr(struct parser *p, int min_prec)
{
	struct node *lhs = NULL;
	const struct promql_token *t;

	if (!(t = peek(p)))
		return NULL;
	if (++p->depth > PROMQL_MAX_DEPTH) {
		error_at(p, t->pos, "expression nests too deeply (more than %d levels)",
			 PROMQL_MAX_DEPTH);
		return NULL;
	}
	lhs = parse_unary(p);
	while (lhs) {
		enum promql_tok op;
		int prec;

		if (!(t = peek(p))) {
			lhs = NULL;
			break;
		}
		prec = binop_prec(t->type);
		if (prec == 0 || prec < min_prec)
			break;
		op = t->type;
		consume(p);
		lhs = parse_binary_rhs(p, lhs, op, prec);
	}
	p->depth--;
	return lhs;
}

/* ---- type checks (Prometheus's checkAST) -------------------------------------------- */

static const char *documented_type(promql_type_t t)
{
	return promql_type_name(t);
}

static const char *value_type(promql_type_t t)
{
	switch (t) {
	case PROMQL_TYPE_SCALAR:
		return "scalar";
	case PROMQL_TYPE_VECTOR:
		return "vector";
	case PROMQL_TYPE_MATRIX:
		return "matrix";
	case PROMQL_TYPE_STRING:
		return "string";
	default:
		return "none";
	}
}

static const char *set_operator_name(enum promql_tok op)
{
	return op == TOK_LAND ? "and" : op == TOK_LOR ? "or" : "unless";
}

static promql_type_t check_node(struct parser *p, struct node *n);

static void expect_type(struct parser *p, struct node *n, promql_type_t want,
			const char *context, const char *fn)
{
	promql_type_t t = check_node(p, n);

	if (p->failed || t == want)
		return;
	if (fn)
		error_at(p, n->start, "expected type %s in call to function \"%s\", got %s",
			 documented_type(want), fn, documented_type(t));
	else
		error_at(p, n->start, "expected type %s in %s, got %s", documented_type(want),
			 context, documented_type(t));
}

/* The start of a binary expression's operator: the first non-space after the LHS. */
static size_t op_start(struct parser *p, const struct node *n)
{
	size_t i = n->bin.lhs->end;

	while (i < p->len && (p->in[i] == ' ' || p->in[i] == '\t' || p->in[i] == '\n' ||
			      p->in[i] == '\r'))
		i++;
	return i;
}

static uint32_t label_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The first label of on (...) that group_x (...) names too, or NULL: a hash set of the
 * group_x labels keeps this linear, however long both lists are. */
static const struct label *first_shared_label(struct parser *p, const struct label *on,
					      const struct label *group)
{
	const struct label **set;
	size_t n = 0, size = 16, mask;

	for (const struct label *b = group; b; b = b->next)
		n++;
	while (size < 2 * n)
		size *= 2;
	mask = size - 1;
	set = alloc(p, size * sizeof(*set));
	if (!set)
		return NULL;
	for (const struct label *b = group; b; b = b->next) {
		size_t i = label_hash(p->in + b->pos, b->len) & mask;

		for (; set[i]; i = (i + 1) & mask)
			if (set[i]->len == b->len && !memcmp(p->in + set[i]->pos, p->in + b->pos, b->len))
				break;
		set[i] = b; /* a repeated label takes its twin's slot */
	}
	for (const struct label *a = on; a; a = a->next) {
		size_t i = label_hash(p->in + a->pos, a->len) & mask;

		for (; set[i]; i = (i + 1) & mask)
			if (set[i]->len == a->len && !memcmp(p->in + set[i]->pos, p->in + a->pos, a->len))
				return a;
	}
	return NULL;
}

static void check_binary(struct parser *p, struct node *n)
{
	enum promql_tok op = n->bin.op;
	promql_type_t lt = check_node(p, n->bin.lhs), rt;

	if (p->failed)
		return;
	rt = check_node(p, n->bin.rhs);
	if (p->failed)
		return;
	if (n->bin.ret_bool && !is_comparison(op)) {
		error_at(p, op_start(p, n), "bool modifier can only be used on comparison operators");
		return;
	}
	if (is_comparison(op) && !n->bin.ret_bool && lt == PROMQL_TYPE_SCALAR &&
	    rt == PROMQL_TYPE_SCALAR) {
		error_at(p, op_start(p, n), "comparisons between scalars must use BOOL modifier");
		return;
	}
	if (is_set_operator(op) && n->bin.card == CARD_ONE_TO_ONE)
		n->bin.card = CARD_MANY_TO_MANY;
	if (n->bin.on && n->bin.include) {
		const struct label *a = first_shared_label(p, n->bin.matching, n->bin.include);

		if (a) {
			struct promql_buf buf = error_begin(p, op_start(p, n));

			promql_buf_str(&buf, "label ");
			promql_buf_quote(&buf, p->in + a->pos, a->len, 0);
			promql_buf_str(&buf, " must not occur in ON and GROUP clause at once");
			return;
		}
	}
	if (lt != PROMQL_TYPE_SCALAR && lt != PROMQL_TYPE_VECTOR) {
		error_at(p, n->bin.lhs->start,
			 "binary expression must contain only scalar and instant vector types");
		return;
	}
	if (rt != PROMQL_TYPE_SCALAR && rt != PROMQL_TYPE_VECTOR) {
		error_at(p, n->bin.rhs->start,
			 "binary expression must contain only scalar and instant vector types");
		return;
	}
	if (lt != PROMQL_TYPE_VECTOR || rt != PROMQL_TYPE_VECTOR) {
		if (n->bin.n_matching > 0) {
			error_at(p, n->start, "vector matching only allowed between instant vectors");
			return;
		}
	} else if (is_set_operator(op)) {
		if (n->bin.card == CARD_ONE_TO_MANY || n->bin.card == CARD_MANY_TO_ONE) {
			error_at(p, n->start, "no grouping allowed for \"%s\" operation",
				 set_operator_name(op));
			return;
		}
	}
	if ((lt == PROMQL_TYPE_SCALAR || rt == PROMQL_TYPE_SCALAR) && is_set_operator(op))
		error_at(p, n->start, "set operator \"%s\" not allowed in binary scalar expression",
			 set_operator_name(op));
}

static void check_call(struct parser *p, struct node *n)
{
	const struct function *fn = n->call.fn;
	size_t i = 0;

	if (fn->variadic == 0) {
		if ((size_t)fn->nargs != n->call.nargs) {
			error_at(p, n->start, "expected %d argument(s) in call to \"%s\", got %zu",
				 fn->nargs, fn->name, n->call.nargs);
			return;
		}
	} else {
		size_t na = (size_t)fn->nargs - 1;

		if (na > n->call.nargs) {
			error_at(p, n->start,
				 "expected at least %zu argument(s) in call to \"%s\", got %zu", na,
				 fn->name, n->call.nargs);
			return;
		}
		if (fn->variadic > 0 && na + (size_t)fn->variadic < n->call.nargs) {
			error_at(p, n->start,
				 "expected at most %zu argument(s) in call to \"%s\", got %zu",
				 na + (size_t)fn->variadic, fn->name, n->call.nargs);
			return;
		}
	}
	for (struct node *a = n->call.args; a && !p->failed; a = a->next, i++) {
		size_t k = i;

		if (k >= (size_t)fn->nargs) {
			if (fn->variadic == 0)
				break;
			k = (size_t)fn->nargs - 1;
		}
		expect_type(p, a, fn->args[k], NULL, fn->name);
	}
}

static promql_type_t check_node(struct parser *p, struct node *n)
{
	promql_type_t t;

	if (p->failed)
		return n->type;
	switch (n->kind) {
	case N_AGG:
		expect_type(p, n->agg.expr, PROMQL_TYPE_VECTOR, "aggregation expression", NULL);
		if (n->agg.op == TOK_TOPK || n->agg.op == TOK_BOTTOMK || n->agg.op == TOK_QUANTILE)
			expect_type(p, n->agg.param, PROMQL_TYPE_SCALAR, "aggregation parameter",
				    NULL);
		else if (n->agg.op == TOK_COUNT_VALUES)
			expect_type(p, n->agg.param, PROMQL_TYPE_STRING, "aggregation parameter",
				    NULL);
		break;
	case N_BINARY:
		check_binary(p, n);
		break;
	case N_CALL:
		check_call(p, n);
		break;
	case N_PAREN:
		check_node(p, n->paren.expr);
		break;
	case N_UNARY:
		t = check_node(p, n->unary.expr);
		if (!p->failed && t != PROMQL_TYPE_SCALAR && t != PROMQL_TYPE_VECTOR)
			error_at(p, n->start, "unary expression only allowed on expressions of type "
				 "scalar or instant vector, got \"%s\"", documented_type(t));
		break;
	case N_SUBQUERY:
		t = check_node(p, n->sub.expr);
		if (!p->failed && t != PROMQL_TYPE_VECTOR)
			error_at(p, n->start, "subquery is only allowed on instant vector, got %s "
				 "instead", value_type(t));
		break;
	case N_MATRIX:
		check_node(p, n->matrix.vs);
		break;
	case N_VECTOR:
		if (n->vs.has_name) {
			if (n->vs.has_dup) {
				struct promql_buf b = error_begin(p, n->start);

				promql_buf_str(&b, "metric name must not be set twice: ");
				promql_buf_quote(&b, p->in + n->vs.name_pos, n->vs.name_len, 0);
				promql_buf_str(&b, " or ");
				promql_buf_quote(&b, n->vs.dup, n->vs.dup_len, 0);
			}
		} else if (!n->vs.nonempty) {
			error_at(p, n->start,
				 "vector selector must contain at least one non-empty matcher");
		}
		break;
	case N_NUMBER:
	case N_STRING:
		break;
	}
	return n->type;
}

/* ---- the API ------------------------------------------------------------------------ */

const char *promql_type_name(promql_type_t type)
{
	switch (type) {
	case PROMQL_TYPE_SCALAR:
		return "scalar";
	case PROMQL_TYPE_VECTOR:
		return "instant vector";
	case PROMQL_TYPE_MATRIX:
		return "range vector";
	case PROMQL_TYPE_STRING:
		return "string";
	default:
		return "none";
	}
}

int promql_error_format(const promql_error_t *err, char *buf, size_t size)
{
	return snprintf(buf, size, "%u:%u: parse error: %s", err->line, err->col, err->msg);
}

static void fill_error(const struct parser *p, promql_error_t *err)
{
	size_t line_start = 0;
	unsigned line = 1;

	for (size_t i = 0; i < p->err_pos && i < p->len; i++)
		if (p->in[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	memset(err, 0, sizeof(*err));
	err->line = line;
	err->col = (unsigned)(p->err_pos - line_start + 1);
	err->offset = p->err_pos;
	memcpy(err->msg, p->err_msg, sizeof(err->msg));
	err->msg[sizeof(err->msg) - 1] = '\0';
}

int promql_check(const char *expr, size_t len, promql_type_t *ret_type, promql_error_t *err)
{
	struct parser p = { .in = expr, .len = len };
	const struct promql_token *t;
	struct node *root = NULL;

	if (len > PROMQL_MAX_LEN) {
		error_at(&p, 0, "expression too long: %zu bytes, at most %d", len, PROMQL_MAX_LEN);
		goto out;
	}
	promql_lex_init(&p.lex, expr, len);
	if (!(t = peek(&p)))
		goto out;
	if (t->type == TOK_EOF) {
		error_at(&p, 0, "no expression found in input");
		goto out;
	}
	root = parse_expr(&p, 0);
	if (!root || !(t = peek(&p)))
		goto out;
	if (t->type != TOK_EOF) {
		unexpected(&p, t, NULL, NULL);
		goto out;
	}
	check_node(&p, root);
out:
	if (!p.failed && ret_type)
		*ret_type = root->type;
	if (p.failed && err)
		fill_error(&p, err);
	arena_free(&p.arena);
	if (p.c_locale)
		freelocale(p.c_locale);
	return p.failed ? p.code : 0;
}
