/* promql-private.h - what promql/'s files share: one-line error text, and for the checker
 * the lexer, Go-style quoting and UTF-8 decoding, and the RE2 regular expression checker.
 * Not a public API. */
#ifndef PROMQL_PRIVATE_H
#define PROMQL_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promql/promql-check.h"

/* Control characters of s as spaces, in place (NULL-safe). */
void promql_one_line(char *s);

/* Token types of Prometheus's lexer (promql/parser/lex.go). The ranges matter: the
 * operators, aggregators and keywords each print in their own way in error messages. */
enum promql_tok {
	TOK_ERROR,
	TOK_EOF,
	TOK_COMMENT,
	TOK_IDENTIFIER,
	TOK_METRIC_IDENTIFIER,
	TOK_NUMBER,
	TOK_STRING,
	TOK_DURATION,
	TOK_LEFT_BRACE,
	TOK_RIGHT_BRACE,
	TOK_LEFT_BRACKET,
	TOK_RIGHT_BRACKET,
	TOK_LEFT_PAREN,
	TOK_RIGHT_PAREN,
	TOK_COMMA,
	TOK_EQL,
	TOK_COLON,
	/* operators */
	TOK_ADD,
	TOK_SUB,
	TOK_MUL,
	TOK_DIV,
	TOK_MOD,
	TOK_POW,
	TOK_ATAN2,
	TOK_EQLC,
	TOK_NEQ,
	TOK_LSS,
	TOK_LTE,
	TOK_GTR,
	TOK_GTE,
	TOK_EQL_REGEX,
	TOK_NEQ_REGEX,
	TOK_LAND,
	TOK_LOR,
	TOK_LUNLESS,
	TOK_AT,
	/* aggregators */
	TOK_AVG,
	TOK_BOTTOMK,
	TOK_COUNT,
	TOK_COUNT_VALUES,
	TOK_GROUP,
	TOK_MAX,
	TOK_MIN,
	TOK_QUANTILE,
	TOK_STDDEV,
	TOK_STDVAR,
	TOK_SUM,
	TOK_TOPK,
	/* keywords */
	TOK_BOOL,
	TOK_BY,
	TOK_GROUP_LEFT,
	TOK_GROUP_RIGHT,
	TOK_IGNORING,
	TOK_OFFSET,
	TOK_ON,
	TOK_WITHOUT,
	/* @ modifier preprocessors */
	TOK_START,
	TOK_END,
};

#define TOK_IS_OPERATOR(t) ((t) >= TOK_ADD && (t) <= TOK_AT)
#define TOK_IS_AGGREGATOR(t) ((t) >= TOK_AVG && (t) <= TOK_TOPK)
#define TOK_IS_KEYWORD(t) ((t) >= TOK_BOOL && (t) <= TOK_WITHOUT)


struct promql_token {
	enum promql_tok type;
	size_t pos; /* its text is in[pos .. pos + len) */
	size_t len;
};

struct promql_lexer {
	const char *in;
	size_t len;
	size_t pos;   /* next byte to read */
	size_t start; /* start of the token being scanned */
	size_t width; /* bytes of the last rune read, for backup() */
	int state;
	int paren_depth;
	bool brace_open;
	bool bracket_open;
	bool got_colon;
	char string_open; /* the quote of the string being scanned */
	/* a TOK_ERROR's message; its position is the token's pos */
	char msg[PROMQL_ERROR_MSG_SIZE];
};

void promql_lex_init(struct promql_lexer *l, const char *in, size_t len);
/* The next token, comments included. After TOK_ERROR or TOK_EOF it keeps returning
 * TOK_EOF. */
void promql_lex_next(struct promql_lexer *l, struct promql_token *tok);

/* Decodes one UTF-8 rune of s[0..n) like Go's utf8.DecodeRuneInString: an invalid or
 * truncated sequence gives U+FFFD with *width 1; n == 0 gives -1 with *width 0. */
int32_t promql_utf8_decode(const char *s, size_t n, size_t *width);
/* Appends r encoded as UTF-8 to out (at least 4 bytes); returns the bytes written. */
size_t promql_utf8_encode(int32_t r, char *out);

/* A bounded string builder: appends never overflow; a cut text ends in "...". */
struct promql_buf {
	char *p;
	size_t size;
	size_t len;
	bool cut;
};

void promql_buf_init(struct promql_buf *b, char *p, size_t size);
void promql_buf_add(struct promql_buf *b, const char *s, size_t n);
void promql_buf_str(struct promql_buf *b, const char *s);
void promql_buf_printf(struct promql_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Go's %q of a string (strconv.Quote); max_runes > 0 keeps only the first ones (%.Nq). */
void promql_buf_quote(struct promql_buf *b, const char *s, size_t n, size_t max_runes);
/* Go's %q of a rune (strconv.QuoteRune); r < 0 quotes as U+FFFD. */
void promql_buf_quote_rune(struct promql_buf *b, int32_t r);
/* Go's %#U of a rune: U+0071 'q', or U+000A when not printable. */
void promql_buf_unicode(struct promql_buf *b, int32_t r);

/* Checks the value of a =~ or !~ matcher as Prometheus 2.42 does: Go's
 * regexp.Compile("^(?:" + value + ")$"), then syntax.Parse(value, syntax.Perl).
 * Returns 0 with *ret_matches_empty (whether the anchored expression matches ""), or
 * -EINVAL with Go's message ("error parsing regexp: CODE: `EXPR`") in msg, or -ENOMEM. */
int promql_regex_check(const char *value, size_t len, bool *ret_matches_empty, char *msg,
		       size_t msg_size);

#endif
