/* promql-check.h - the PromQL syntax checker: does Prometheus accept this expression?
 *
 * It follows the parser of Prometheus 2.42 (the promtool of Debian 12), which is what
 * `promtool check rules` and the /api/v1/query endpoint run before evaluating anything:
 * the lexer, the grammar, and the type checks of the parser (function names, argument
 * counts and types, range vs instant vectors, binary operator and vector matching rules,
 * aggregation modifiers and parameters, offset and @, subqueries, string escapes,
 * durations, number literals, label matchers including the regular expressions of =~ and
 * !~, which are checked with Go's RE2 syntax). Nothing is evaluated and nothing is
 * looked up: an expression naming a metric that does not exist is valid.
 *
 * The error is the first one Prometheus would report, in its words and at its position
 * (line and column of the offending token, 1-based, the column counted in bytes), so
 * promql_error_format() prints what `promtool` prints after "could not parse expression:".
 *
 * Limits (enforced on every input, so that any bytes can be checked safely): at most
 * PROMQL_MAX_LEN bytes, and at most PROMQL_MAX_DEPTH nested parentheses, calls,
 * aggregations, unary operators and right-associative ^ operands, and a syntax tree at
 * most PROMQL_MAX_HEIGHT deep. Prometheus has no such limits; an expression beyond them
 * is reported as invalid with a message of our own. Time and memory are linear in the
 * input length.
 */
#ifndef PROMQL_CHECK_H
#define PROMQL_CHECK_H

#include <stddef.h>

#define PROMQL_MAX_LEN (64 * 1024)
#define PROMQL_MAX_DEPTH 256
#define PROMQL_MAX_HEIGHT 1024
#define PROMQL_ERROR_MSG_SIZE 512

/* The type of a valid expression's result (Prometheus's ValueType). */
typedef enum promql_type {
	PROMQL_TYPE_NONE = 0,
	PROMQL_TYPE_SCALAR,
	PROMQL_TYPE_VECTOR, /* instant vector */
	PROMQL_TYPE_MATRIX, /* range vector */
	PROMQL_TYPE_STRING,
} promql_type_t;

typedef struct promql_error {
	unsigned line;  /* 1-based */
	unsigned col;   /* 1-based, in bytes from the start of the line, as Prometheus counts */
	size_t offset;  /* byte offset of the error in the expression */
	/* Prometheus's message without the "LINE:COL: parse error: " prefix, NUL-terminated;
	 * cut short (ending in "...") when longer than the buffer. It may hold any bytes of
	 * the expression that Prometheus would quote verbatim (a regular expression's text). */
	char msg[PROMQL_ERROR_MSG_SIZE];
} promql_error_t;

/* Checks the expression expr[0..len) (any bytes; NUL is an ordinary, invalid character).
 * Returns 0 when Prometheus 2.42 would accept it, with *ret_type (if not NULL) set to the
 * type of its result; -EINVAL when it would not (or a limit above is exceeded), with *err
 * (if not NULL) describing the first error; -ENOMEM when memory ran out (err->msg says so).
 * *ret_type is written only on success. Thread-safe; no global state. */
int promql_check(const char *expr, size_t len, promql_type_t *ret_type, promql_error_t *err);

/* The name Prometheus uses for a type in its messages: "scalar", "instant vector",
 * "range vector", "string" or "none". */
const char *promql_type_name(promql_type_t type);

/* Writes "LINE:COL: parse error: MSG" (Prometheus's form) into buf (NUL-terminated,
 * truncated to size). Returns the length the full text has, like snprintf. */
int promql_error_format(const promql_error_t *err, char *buf, size_t size);

#endif
