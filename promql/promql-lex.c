/* promql-lex.c - the PromQL lexer, and the Go-style quoting its messages need.
 *
 * A state machine with the states of Prometheus 2.42's lexer (promql/parser/lex.go), so
 * that it cuts the input into the same tokens and fails on the same bytes with the same
 * message: PromQL's lexing is context dependent (inside braces keywords are identifiers,
 * after "[" only a duration may follow, a letter inside brackets is a colon token,
 * durations and numbers share a prefix), and the accepted language depends on it. One
 * state function runs per step until a token is complete; errors stop the lexer.
 *
 * Runes are decoded like Go does (an invalid byte is U+FFFD, one byte wide), and the
 * replacement character itself is "invalid UTF-8" inside strings, as in Prometheus.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "promql/promql-private.h"

#define RUNE_EOF (-1)
#define RUNE_ERROR 0xFFFD

enum {
	LEX_DONE,
	LEX_STATEMENTS,
	LEX_INSIDE_BRACES,
	LEX_LINE_COMMENT,
	LEX_SPACE,
	LEX_STRING,
	LEX_RAW_STRING,
	LEX_ESCAPE,
	LEX_DURATION,
	LEX_NUMBER_OR_DURATION,
	LEX_KEYWORD_OR_IDENTIFIER,
	LEX_IDENTIFIER,
};

/* ---- UTF-8 ------------------------------------------------------------------------- */

int32_t promql_utf8_decode(const char *str, size_t n, size_t *width)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;
	int32_t r;

	if (n == 0) {
		*width = 0;
		return RUNE_EOF;
	}
	*width = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 1;
		r = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		r = s[0] & 0x0F;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		r = s[0] & 0x07;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else {
		return RUNE_ERROR;
	}
	if (n < need + 1)
		return RUNE_ERROR;
	for (size_t i = 1; i <= need; i++) {
		unsigned char c = s[i];

		if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF))
			return RUNE_ERROR;
		r = (r << 6) | (c & 0x3F);
	}
	*width = need + 1;
	return r;
}

size_t promql_utf8_encode(int32_t r, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = RUNE_ERROR;
	if (r < 0x80) {
		o[0] = (unsigned char)r;
		return 1;
	}
	if (r < 0x800) {
		o[0] = (unsigned char)(0xC0 | (r >> 6));
		o[1] = (unsigned char)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (r >> 12));
		o[1] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (r & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | (r >> 18));
	o[1] = (unsigned char)(0x80 | ((r >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((r >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (r & 0x3F));
	return 4;
}

/* ---- bounded string building and Go's quoting --------------------------------------- */

void promql_buf_init(struct promql_buf *b, char *p, size_t size)
{
	b->p = p;
	b->size = size;
	b->len = 0;
	b->cut = false;
	if (size)
		p[0] = '\0';
}

void promql_buf_add(struct promql_buf *b, const char *s, size_t n)
{
	size_t room;

	if (b->cut || b->size == 0)
		return;
	room = b->size - 1 - b->len;
	if (n <= room) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	} else {
		/* Keep room for "..." so that a cut text says it was cut. */
		size_t keep = room > 3 ? room - 3 : 0;
		size_t dots;

		memcpy(b->p + b->len, s, keep);
		b->len += keep;
		dots = b->size - 1 - b->len < 3 ? b->size - 1 - b->len : 3;
		memcpy(b->p + b->len, "...", dots);
		b->len += dots;
		b->cut = true;
	}
	b->p[b->len] = '\0';
}

void promql_buf_str(struct promql_buf *b, const char *s)
{
	promql_buf_add(b, s, strlen(s));
}

void promql_buf_printf(struct promql_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	promql_buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Go's unicode.IsPrint, close enough: letters, marks, numbers, punctuation, symbols and
 * the ASCII space are printable; controls, format characters, private use, separators,
 * noncharacters and (above the first plane, as of Unicode 13) unassigned code points are
 * not. Unassigned code points of the first two planes count as printable here. */
static bool is_print(int32_t r)
{
	static const int32_t ranges[][2] = {
		{ 0x0000, 0x001F }, { 0x007F, 0x00A0 }, { 0x00AD, 0x00AD },
		{ 0x0600, 0x0605 }, { 0x061C, 0x061C }, { 0x06DD, 0x06DD },
		{ 0x070F, 0x070F }, { 0x08E2, 0x08E2 }, { 0x1680, 0x1680 },
		{ 0x180E, 0x180E }, { 0x2000, 0x200F }, { 0x2028, 0x202F },
		{ 0x205F, 0x2064 }, { 0x2066, 0x206F }, { 0x3000, 0x3000 },
		{ 0xD800, 0xF8FF }, { 0xFDD0, 0xFDEF }, { 0xFEFF, 0xFEFF },
		{ 0xFFF9, 0xFFFB }, { 0xFFFE, 0xFFFF }, { 0x110BD, 0x110BD },
		{ 0x110CD, 0x110CD }, { 0x13430, 0x13438 }, { 0x1BCA0, 0x1BCA3 },
		{ 0x1D173, 0x1D17A }, { 0x2A6DE, 0x2A6FF }, { 0x2B735, 0x2B73F },
		{ 0x2B81E, 0x2B81F }, { 0x2CEA2, 0x2CEAF }, { 0x2EBE1, 0x2F7FF },
		{ 0x2FA1E, 0x2FFFF }, { 0x3134B, 0xE00FF }, { 0xE01F0, 0x10FFFF },
	};

	if (r >= 0x20 && r < 0x7F)
		return true;
	if ((r & 0xFFFE) == 0xFFFE)
		return false;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (r >= ranges[i][0] && r <= ranges[i][1])
			return false;
	return true;
}

static void quote_rune_body(struct promql_buf *b, int32_t r, size_t width, const char *raw,
			    char quote)
{
	char tmp[16];

	if (r == RUNE_ERROR && width == 1 && raw) {
		/* An invalid byte of a string is shown as the byte. */
		promql_buf_printf(b, "\\x%02x", (unsigned char)raw[0]);
		return;
	}
	if (r == quote || r == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)r;
		promql_buf_add(b, tmp, 2);
		return;
	}
	if (is_print(r)) {
		promql_buf_add(b, tmp, promql_utf8_encode(r, tmp));
		return;
	}
	switch (r) {
	case '\a': promql_buf_str(b, "\\a"); return;
	case '\b': promql_buf_str(b, "\\b"); return;
	case '\f': promql_buf_str(b, "\\f"); return;
	case '\n': promql_buf_str(b, "\\n"); return;
	case '\r': promql_buf_str(b, "\\r"); return;
	case '\t': promql_buf_str(b, "\\t"); return;
	case '\v': promql_buf_str(b, "\\v"); return;
	}
	if (r < ' ' || r == 0x7F)
		promql_buf_printf(b, "\\x%02x", (unsigned)r);
	else if (r < 0x10000)
		promql_buf_printf(b, "\\u%04x", (unsigned)r);
	else
		promql_buf_printf(b, "\\U%08x", (unsigned)r);
}

void promql_buf_quote(struct promql_buf *b, const char *s, size_t n, size_t max_runes)
{
	size_t i = 0, runes = 0;

	promql_buf_add(b, "\"", 1);
	while (i < n && (max_runes == 0 || runes < max_runes)) {
		size_t w;
		int32_t r = promql_utf8_decode(s + i, n - i, &w);

		quote_rune_body(b, r, w, s + i, '"');
		i += w;
		runes++;
	}
	promql_buf_add(b, "\"", 1);
}

void promql_buf_quote_rune(struct promql_buf *b, int32_t r)
{
	if (r < 0 || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = RUNE_ERROR;
	promql_buf_add(b, "'", 1);
	quote_rune_body(b, r, 0, NULL, '\'');
	promql_buf_add(b, "'", 1);
}

void promql_buf_unicode(struct promql_buf *b, int32_t r)
{
	char tmp[8];

	if (r < 0)
		r = RUNE_ERROR;
	promql_buf_printf(b, "U+%04X", (unsigned)r);
	if (is_print(r)) {
		promql_buf_add(b, " '", 2);
		promql_buf_add(b, tmp, promql_utf8_encode(r, tmp));
		promql_buf_add(b, "'", 1);
	}
}

/* ---- the lexer ---------------------------------------------------------------------- */

static const struct keyword {
	const char *word;
	enum promql_tok tok;
} keywords[] = {
	{ "and", TOK_LAND },
	{ "or", TOK_LOR },
	{ "unless", TOK_LUNLESS },
	{ "atan2", TOK_ATAN2 },
	{ "sum", TOK_SUM },
	{ "avg", TOK_AVG },
	{ "count", TOK_COUNT },
	{ "min", TOK_MIN },
	{ "max", TOK_MAX },
	{ "group", TOK_GROUP },
	{ "stddev", TOK_STDDEV },
	{ "stdvar", TOK_STDVAR },
	{ "topk", TOK_TOPK },
	{ "bottomk", TOK_BOTTOMK },
	{ "count_values", TOK_COUNT_VALUES },
	{ "quantile", TOK_QUANTILE },
	{ "offset", TOK_OFFSET },
	{ "by", TOK_BY },
	{ "without", TOK_WITHOUT },
	{ "on", TOK_ON },
	{ "ignoring", TOK_IGNORING },
	{ "group_left", TOK_GROUP_LEFT },
	{ "group_right", TOK_GROUP_RIGHT },
	{ "bool", TOK_BOOL },
	{ "start", TOK_START },
	{ "end", TOK_END },
	{ "inf", TOK_NUMBER },
	{ "nan", TOK_NUMBER },
};

static bool is_space(int32_t r)
{
	return r == ' ' || r == '\t' || r == '\n' || r == '\r';
}

static bool is_digit(int32_t r)
{
	return r >= '0' && r <= '9';
}

static bool is_alpha(int32_t r)
{
	return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
}

static bool is_alnum(int32_t r)
{
	return is_alpha(r) || is_digit(r);
}

static int32_t next(struct promql_lexer *l)
{
	int32_t r = promql_utf8_decode(l->in + l->pos, l->len - l->pos, &l->width);

	l->pos += l->width;
	return r;
}

static void backup(struct promql_lexer *l)
{
	l->pos -= l->width;
}

static int32_t peek(struct promql_lexer *l)
{
	int32_t r = next(l);

	backup(l);
	return r;
}

static bool accept(struct promql_lexer *l, const char *valid)
{
	int32_t r = next(l);

	if (r > 0 && r < 0x80 && strchr(valid, (int)r))
		return true;
	backup(l);
	return false;
}

static void accept_run(struct promql_lexer *l, const char *valid)
{
	while (accept(l, valid))
		;
}

static void emit(struct promql_lexer *l, struct promql_token *tok, enum promql_tok type)
{
	tok->type = type;
	tok->pos = l->start;
	tok->len = l->pos - l->start;
	l->start = l->pos;
}

/* Starts an error token at the current token start; the caller appends the message. */
static struct promql_buf error_start(struct promql_lexer *l, struct promql_token *tok)
{
	struct promql_buf b;

	tok->type = TOK_ERROR;
	tok->pos = l->start;
	tok->len = 0;
	promql_buf_init(&b, l->msg, sizeof(l->msg));
	return b;
}

static int errorf(struct promql_lexer *l, struct promql_token *tok, const char *msg)
{
	struct promql_buf b = error_start(l, tok);

	promql_buf_str(&b, msg);
	return LEX_DONE;
}

static int error_rune(struct promql_lexer *l, struct promql_token *tok, const char *msg,
		      int32_t r)
{
	struct promql_buf b = error_start(l, tok);

	promql_buf_str(&b, msg);
	promql_buf_quote_rune(&b, r);
	return LEX_DONE;
}

static int error_text(struct promql_lexer *l, struct promql_token *tok, const char *msg)
{
	struct promql_buf b = error_start(l, tok);

	promql_buf_str(&b, msg);
	promql_buf_quote(&b, l->in + l->start, l->pos - l->start, 0);
	return LEX_DONE;
}

/* Scans a number (decimal, hex, float with exponent) and tells whether what follows
 * may end it; the scanned text need not be a valid number (the parser checks it). */
static bool scan_number(struct promql_lexer *l)
{
	const char *digits = "0123456789";

	if (accept(l, "0") && accept(l, "xX"))
		digits = "0123456789abcdefABCDEF";
	accept_run(l, digits);
	if (accept(l, "."))
		accept_run(l, digits);
	if (accept(l, "eE")) {
		accept(l, "+-");
		accept_run(l, "0123456789");
	}
	return !is_alnum(peek(l));
}

static bool accept_remaining_duration(struct promql_lexer *l)
{
	if (!accept(l, "smhdwy"))
		return false;
	accept(l, "s"); /* ms; bad units like hs are caught by the duration parser */
	while (accept(l, "0123456789")) {
		accept_run(l, "0123456789");
		if (!accept(l, "smhdw")) /* y must come first */
			return false;
		accept(l, "s");
	}
	return !is_alnum(next(l));
}

/* The operators that are one character and nothing else. */
static enum promql_tok single_char_token(int32_t r)
{
	switch (r) {
	case ',':
		return TOK_COMMA;
	case '*':
		return TOK_MUL;
	case '/':
		return TOK_DIV;
	case '%':
		return TOK_MOD;
	case '+':
		return TOK_ADD;
	case '-':
		return TOK_SUB;
	default:
		return TOK_POW;
	}
}

static int lex_statements(struct promql_lexer *l, struct promql_token *tok, bool *scanned)
{
	int32_t r, t;

	if (l->brace_open)
		return LEX_INSIDE_BRACES;
	if (l->pos < l->len && l->in[l->pos] == '#')
		return LEX_LINE_COMMENT;

	*scanned = true;
	r = next(l);
	switch (r) {
	case RUNE_EOF:
		if (l->paren_depth != 0)
			return errorf(l, tok, "unclosed left parenthesis");
		if (l->bracket_open)
			return errorf(l, tok, "unclosed left bracket");
		emit(l, tok, TOK_EOF);
		return LEX_DONE;
	case ',':
	case '*':
	case '/':
	case '%':
	case '+':
	case '-':
	case '^':
		emit(l, tok, single_char_token(r));
		return LEX_STATEMENTS;
	case '=':
		t = peek(l);
		if (t == '=') {
			next(l);
			emit(l, tok, TOK_EQLC);
		} else if (t == '~') {
			return error_rune(l, tok, "unexpected character after '=': ", t);
		} else {
			emit(l, tok, TOK_EQL);
		}
		return LEX_STATEMENTS;
	case '!':
		t = next(l);
		if (t != '=')
			return error_rune(l, tok, "unexpected character after '!': ", t);
		emit(l, tok, TOK_NEQ);
		return LEX_STATEMENTS;
	case '<':
	case '>':
		if (peek(l) == '=') {
			next(l);
			emit(l, tok, r == '<' ? TOK_LTE : TOK_GTE);
		} else {
			emit(l, tok, r == '<' ? TOK_LSS : TOK_GTR);
		}
		return LEX_STATEMENTS;
	case '"':
	case '\'':
		l->string_open = (char)r;
		*scanned = false;
		return LEX_STRING;
	case '`':
		l->string_open = '`';
		*scanned = false;
		return LEX_RAW_STRING;
	case '(':
		emit(l, tok, TOK_LEFT_PAREN);
		l->paren_depth++;
		return LEX_STATEMENTS;
	case ')':
		emit(l, tok, TOK_RIGHT_PAREN);
		l->paren_depth--;
		if (l->paren_depth < 0) /* reported after the ')', as Prometheus does */
			return error_rune(l, tok, "unexpected right parenthesis ", r);
		return LEX_STATEMENTS;
	case '{':
		emit(l, tok, TOK_LEFT_BRACE);
		l->brace_open = true;
		return LEX_INSIDE_BRACES;
	case '[':
		if (l->bracket_open)
			return error_rune(l, tok, "unexpected left bracket ", r);
		l->got_colon = false;
		emit(l, tok, TOK_LEFT_BRACKET);
		while (is_space(peek(l)))
			next(l);
		l->start = l->pos;
		l->bracket_open = true;
		return LEX_DURATION;
	case ']':
		if (!l->bracket_open)
			return error_rune(l, tok, "unexpected right bracket ", r);
		emit(l, tok, TOK_RIGHT_BRACKET);
		l->bracket_open = false;
		return LEX_STATEMENTS;
	case '@':
		emit(l, tok, TOK_AT);
		return LEX_STATEMENTS;
	}
	if (is_space(r)) {
		*scanned = false;
		return LEX_SPACE;
	}
	if (is_digit(r) || (r == '.' && is_digit(peek(l)))) {
		backup(l);
		*scanned = false;
		return LEX_NUMBER_OR_DURATION;
	}
	if (is_alpha(r) || r == ':') {
		if (!l->bracket_open) {
			backup(l);
			*scanned = false;
			return LEX_KEYWORD_OR_IDENTIFIER;
		}
		/* Inside brackets any letter is taken as the colon of a subquery. */
		if (l->got_colon)
			return error_rune(l, tok, "unexpected colon ", r);
		emit(l, tok, TOK_COLON);
		l->got_colon = true;
		return LEX_STATEMENTS;
	}
	return error_rune(l, tok, "unexpected character: ", r);
}

static int lex_inside_braces(struct promql_lexer *l, struct promql_token *tok, bool *scanned)
{
	int32_t r;

	if (l->pos < l->len && l->in[l->pos] == '#')
		return LEX_LINE_COMMENT;

	*scanned = true;
	r = next(l);
	switch (r) {
	case RUNE_EOF:
		return errorf(l, tok, "unexpected end of input inside braces");
	case ',':
		emit(l, tok, TOK_COMMA);
		return LEX_INSIDE_BRACES;
	case '"':
	case '\'':
		l->string_open = (char)r;
		*scanned = false;
		return LEX_STRING;
	case '`':
		l->string_open = '`';
		*scanned = false;
		return LEX_RAW_STRING;
	case '=':
		if (next(l) == '~') {
			emit(l, tok, TOK_EQL_REGEX);
		} else {
			backup(l);
			emit(l, tok, TOK_EQL);
		}
		return LEX_INSIDE_BRACES;
	case '!':
		r = next(l);
		if (r == '~')
			emit(l, tok, TOK_NEQ_REGEX);
		else if (r == '=')
			emit(l, tok, TOK_NEQ);
		else
			return error_rune(l, tok, "unexpected character after '!' inside braces: ",
					  r);
		return LEX_INSIDE_BRACES;
	case '{':
		return error_rune(l, tok, "unexpected left brace ", r);
	case '}':
		l->brace_open = false;
		emit(l, tok, TOK_RIGHT_BRACE);
		return LEX_STATEMENTS;
	}
	if (is_space(r)) {
		*scanned = false;
		return LEX_SPACE;
	}
	if (is_alpha(r)) {
		backup(l);
		*scanned = false;
		return LEX_IDENTIFIER;
	}
	return error_rune(l, tok, "unexpected character inside braces: ", r);
}

static int digit_val(int32_t r)
{
	if (r >= '0' && r <= '9')
		return r - '0';
	if (r >= 'a' && r <= 'f')
		return r - 'a' + 10;
	if (r >= 'A' && r <= 'F')
		return r - 'A' + 10;
	return 16;
}

/* A string escape; the backslash has been read. */
static int lex_escape(struct promql_lexer *l, struct promql_token *tok)
{
	int n, base;
	uint32_t max, x = 0;
	int32_t ch = next(l);
	struct promql_buf b;

	switch (ch) {
	case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
		return LEX_STRING;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
		n = 3, base = 8, max = 255;
		break;
	case 'x':
		ch = next(l);
		n = 2, base = 16, max = 255;
		break;
	case 'u':
		ch = next(l);
		n = 4, base = 16, max = 0x10FFFF;
		break;
	case 'U':
		ch = next(l);
		n = 8, base = 16, max = 0x10FFFF;
		break;
	case RUNE_EOF:
		return errorf(l, tok, "escape sequence not terminated");
	default:
		if (ch == l->string_open)
			return LEX_STRING;
		b = error_start(l, tok);
		promql_buf_str(&b, "unknown escape sequence ");
		promql_buf_unicode(&b, ch);
		return LEX_DONE;
	}
	while (n > 0) {
		int d = digit_val(ch);

		if (d >= base) {
			if (ch == RUNE_EOF)
				return errorf(l, tok, "escape sequence not terminated");
			b = error_start(l, tok);
			promql_buf_str(&b, "illegal character ");
			promql_buf_unicode(&b, ch);
			promql_buf_str(&b, " in escape sequence");
			return LEX_DONE;
		}
		x = x * (uint32_t)base + (uint32_t)d;
		if (--n > 0)
			ch = next(l);
	}
	if (x > max || (x >= 0xD800 && x < 0xE000))
		return errorf(l, tok, "escape sequence is an invalid Unicode code point");
	return LEX_STRING;
}

static int lex_string(struct promql_lexer *l, struct promql_token *tok, bool *scanned,
		      bool raw)
{
	for (;;) {
		int32_t r = next(l);

		if (r == '\\' && !raw)
			return LEX_ESCAPE;
		if (r == RUNE_ERROR) {
			*scanned = true;
			return errorf(l, tok, "invalid UTF-8 rune");
		}
		if (r == RUNE_EOF || (r == '\n' && !raw)) {
			*scanned = true;
			return errorf(l, tok, raw ? "unterminated raw string"
						  : "unterminated quoted string");
		}
		if (r == l->string_open)
			break;
	}
	emit(l, tok, TOK_STRING);
	*scanned = true;
	return LEX_STATEMENTS;
}

static int lex_keyword_or_identifier(struct promql_lexer *l, struct promql_token *tok)
{
	int32_t r;
	size_t n;
	bool colon = false;

	do {
		r = next(l);
		colon |= r == ':';
	} while (is_alnum(r) || r == ':');
	backup(l);

	n = l->pos - l->start;
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		const char *w = keywords[i].word;

		if (strlen(w) == n && !strncasecmp(w, l->in + l->start, n)) {
			emit(l, tok, keywords[i].tok);
			return LEX_STATEMENTS;
		}
	}
	emit(l, tok, colon ? TOK_METRIC_IDENTIFIER : TOK_IDENTIFIER);
	return LEX_STATEMENTS;
}

void promql_lex_init(struct promql_lexer *l, const char *in, size_t len)
{
	memset(l, 0, sizeof(*l));
	l->in = in;
	l->len = len;
	l->state = LEX_STATEMENTS;
}

void promql_lex_next(struct promql_lexer *l, struct promql_token *tok)
{
	bool scanned = false;

	while (!scanned) {
		switch (l->state) {
		case LEX_DONE:
			tok->type = TOK_EOF;
			tok->pos = l->pos;
			tok->len = 0;
			return;
		case LEX_STATEMENTS:
			l->state = lex_statements(l, tok, &scanned);
			break;
		case LEX_INSIDE_BRACES:
			l->state = lex_inside_braces(l, tok, &scanned);
			break;
		case LEX_LINE_COMMENT:
			l->pos++;
			for (int32_t r = next(l); r != '\r' && r != '\n' && r != RUNE_EOF;)
				r = next(l);
			backup(l);
			emit(l, tok, TOK_COMMENT);
			scanned = true;
			l->state = LEX_STATEMENTS;
			break;
		case LEX_SPACE:
			while (is_space(peek(l)))
				next(l);
			l->start = l->pos;
			l->state = LEX_STATEMENTS;
			break;
		case LEX_STRING:
			l->state = lex_string(l, tok, &scanned, false);
			break;
		case LEX_RAW_STRING:
			l->state = lex_string(l, tok, &scanned, true);
			break;
		case LEX_ESCAPE:
			l->state = lex_escape(l, tok);
			scanned = l->state == LEX_DONE;
			break;
		case LEX_DURATION:
			scanned = true;
			if (scan_number(l))
				l->state = errorf(l, tok, "missing unit character in duration");
			else if (!accept_remaining_duration(l))
				l->state = error_text(l, tok, "bad duration syntax: ");
			else {
				backup(l);
				emit(l, tok, TOK_DURATION);
				l->state = LEX_STATEMENTS;
			}
			break;
		case LEX_NUMBER_OR_DURATION:
			scanned = true;
			if (scan_number(l)) {
				emit(l, tok, TOK_NUMBER);
				l->state = LEX_STATEMENTS;
			} else if (accept_remaining_duration(l)) {
				backup(l);
				emit(l, tok, TOK_DURATION);
				l->state = LEX_STATEMENTS;
			} else {
				l->state = error_text(l, tok, "bad number or duration syntax: ");
			}
			break;
		case LEX_KEYWORD_OR_IDENTIFIER:
			l->state = lex_keyword_or_identifier(l, tok);
			scanned = true;
			break;
		case LEX_IDENTIFIER:
			while (is_alnum(next(l)))
				;
			backup(l);
			emit(l, tok, TOK_IDENTIFIER);
			l->state = LEX_STATEMENTS;
			scanned = true;
			break;
		}
	}
}
