/* test-promql.c - the PromQL checker: valid expressions and their types, invalid ones with
 * the exact message and position Prometheus 2.42 gives (every expected text below is what
 * `promtool check rules` printed for the expression), the RE2 checker of =~ and !~, the
 * limits, and hostile input (NUL bytes, unterminated buffers, 64 KiB inputs).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/promql-check.h"
#include "promql/promql-private.h"
#include "tests/fakes/check-util.h"

/* Checks expr[0..len) in a buffer of exactly that size, so that reading past the end
 * shows under valgrind and ASan. */
static int check_n(const char *expr, size_t len, promql_type_t *type, promql_error_t *err)
{
	char *copy = malloc(len ? len : 1);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, expr, len);
	r = promql_check(copy, len, type, err);
	free(copy);
	return r;
}

static int check(const char *expr, promql_type_t *type, promql_error_t *err)
{
	return check_n(expr, strlen(expr), type, err);
}

static const char *formatted(const promql_error_t *err)
{
	static char line[PROMQL_ERROR_MSG_SIZE + 64];

	promql_error_format(err, line, sizeof(line));
	return line;
}

/* ---- valid expressions and the type of their result ---------------------------------- */

static const struct {
	const char *expr;
	promql_type_t type;
} valid[] = {
	{ "1", PROMQL_TYPE_SCALAR },
	{ "-1", PROMQL_TYPE_SCALAR },
	{ "+1.5e3", PROMQL_TYPE_SCALAR },
	{ "0x1F", PROMQL_TYPE_SCALAR },
	{ "Inf", PROMQL_TYPE_SCALAR },
	{ "-NaN", PROMQL_TYPE_SCALAR },
	{ "\"string\"", PROMQL_TYPE_STRING },
	{ "'single'", PROMQL_TYPE_STRING },
	{ "`raw \\ string`", PROMQL_TYPE_STRING },
	{ "foo", PROMQL_TYPE_VECTOR },
	{ "foo:bar:baz", PROMQL_TYPE_VECTOR },
	{ "vllm:e2e_request_latency_seconds_bucket", PROMQL_TYPE_VECTOR },
	{ "{__name__=\"foo\"}", PROMQL_TYPE_VECTOR },
	{ "foo{a=\"b\", c!=\"d\", e=~\"f.*\", g!~\"h|i\",}", PROMQL_TYPE_VECTOR },
	{ "{a=\"b\"}", PROMQL_TYPE_VECTOR },
	{ "foo[5m]", PROMQL_TYPE_MATRIX },
	{ "foo[1h30m]", PROMQL_TYPE_MATRIX },
	{ "foo[5ms]", PROMQL_TYPE_MATRIX },
	{ "foo[5m:]", PROMQL_TYPE_MATRIX },
	{ "foo[5m:30s]", PROMQL_TYPE_MATRIX },
	{ "rate(foo[5m])[30m:1m]", PROMQL_TYPE_MATRIX },
	{ "foo offset 5m", PROMQL_TYPE_VECTOR },
	{ "foo offset -1w", PROMQL_TYPE_VECTOR },
	{ "foo @ 1609746000", PROMQL_TYPE_VECTOR },
	{ "foo @ start()", PROMQL_TYPE_VECTOR },
	{ "foo[5m] @ end() offset 1m", PROMQL_TYPE_MATRIX },
	{ "foo @ start() [5m]", PROMQL_TYPE_MATRIX },
	{ "sum(foo)", PROMQL_TYPE_VECTOR },
	{ "sum by (job) (foo)", PROMQL_TYPE_VECTOR },
	{ "sum(foo) without (instance, job,)", PROMQL_TYPE_VECTOR },
	{ "sum by () (foo)", PROMQL_TYPE_VECTOR },
	{ "topk(3, foo)", PROMQL_TYPE_VECTOR },
	{ "quantile(0.9, foo)", PROMQL_TYPE_VECTOR },
	{ "count_values(\"value\", foo)", PROMQL_TYPE_VECTOR },
	{ "count by (a) (foo) > bool 1", PROMQL_TYPE_VECTOR },
	{ "sum", PROMQL_TYPE_VECTOR },
	{ "by", PROMQL_TYPE_VECTOR },
	{ "offset", PROMQL_TYPE_VECTOR },
	{ "foo and and", PROMQL_TYPE_VECTOR },
	{ "foo and on(a) bar", PROMQL_TYPE_VECTOR },
	{ "foo or ignoring(a) bar", PROMQL_TYPE_VECTOR },
	{ "foo unless bar", PROMQL_TYPE_VECTOR },
	{ "foo * on(a) group_left(b) bar", PROMQL_TYPE_VECTOR },
	{ "foo * ignoring(a) group_right bar", PROMQL_TYPE_VECTOR },
	{ "foo * on(a) group_left bar", PROMQL_TYPE_VECTOR },
	{ "1 + on() 2", PROMQL_TYPE_SCALAR },
	{ "foo == bool 1", PROMQL_TYPE_VECTOR },
	{ "1 > bool 2", PROMQL_TYPE_SCALAR },
	{ "2 ^ 3 ^ 2", PROMQL_TYPE_SCALAR },
	{ "-2 ^ 2", PROMQL_TYPE_SCALAR },
	{ "foo atan2 bar", PROMQL_TYPE_VECTOR },
	{ "time()", PROMQL_TYPE_SCALAR },
	{ "scalar(foo)", PROMQL_TYPE_SCALAR },
	{ "vector(1)", PROMQL_TYPE_VECTOR },
	{ "pi() * 2", PROMQL_TYPE_SCALAR },
	{ "round(foo, 0.5)", PROMQL_TYPE_VECTOR },
	{ "hour()", PROMQL_TYPE_VECTOR },
	{ "label_join(foo, \"dst\", \",\", \"a\", \"b\", \"c\")", PROMQL_TYPE_VECTOR },
	{ "label_replace(foo, \"dst\", \"$1\", \"src\", \"(.*)\")", PROMQL_TYPE_VECTOR },
	{ "histogram_quantile(0.99, sum by (le) (rate(foo_bucket[5m])))", PROMQL_TYPE_VECTOR },
	{ "holt_winters(foo[1h], 0.5, 0.5)", PROMQL_TYPE_VECTOR },
	{ "foo # a comment", PROMQL_TYPE_VECTOR },
	{ "(foo + bar) / 2", PROMQL_TYPE_VECTOR },
	{ "{a=~\"(?i)Foo|bar+\"}", PROMQL_TYPE_VECTOR },
	{ "{a!~\"\"}", PROMQL_TYPE_VECTOR },
	{ "{a=~\"\\\\p{Greek}\"}", PROMQL_TYPE_VECTOR },
	{ "1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"5.0\",namespace=\"default\",pod=~\"llama-8b-.+\"}[5m])) / sum(rate(vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",namespace=\"default\",pod=~\"llama-8b-.+\"}[5m])))", PROMQL_TYPE_VECTOR },
};

START_TEST(test_valid)
{
	promql_type_t type = PROMQL_TYPE_NONE;
	promql_error_t err;
	int r = check(valid[_i].expr, &type, &err);

	ck_assert_msg(r == 0, "%s: %s", valid[_i].expr, formatted(&err));
	ck_assert_msg(type == valid[_i].type, "%s: type %s, expected %s", valid[_i].expr,
		      promql_type_name(type), promql_type_name(valid[_i].type));
}
END_TEST

/* ---- invalid expressions: Prometheus's first error, verbatim ---------------------------- */

static const struct {
	const char *expr;
	const char *error;
} invalid[] = {
	{ "",
	  "1:1: parse error: no expression found in input" },
	{ "   ",
	  "1:1: parse error: no expression found in input" },
	{ "# only a comment",
	  "1:1: parse error: no expression found in input" },
	{ "foo bar",
	  "1:5: parse error: unexpected identifier \"bar\"" },
	{ "sum foo",
	  "1:5: parse error: unexpected identifier \"foo\"" },
	{ "sum(foo bar)",
	  "1:9: parse error: unexpected identifier \"bar\" in aggregation" },
	{ "rate(foo bar)",
	  "1:10: parse error: unexpected identifier \"bar\"" },
	{ "sum(rate(foo[5m]) by (x)",
	  "1:19: parse error: unexpected <by> in aggregation" },
	{ "foo)",
	  "1:5: parse error: unexpected right parenthesis ')'" },
	{ "sum(foo",
	  "1:8: parse error: unclosed left parenthesis" },
	{ "foo[5m",
	  "1:7: parse error: unclosed left bracket" },
	{ "(foo",
	  "1:5: parse error: unclosed left parenthesis" },
	{ "foo{a=\"b\"",
	  "1:10: parse error: unexpected end of input inside braces" },
	{ "foo{a=\"b\" c=\"d\"}",
	  "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\"" },
	{ "foo{a}",
	  "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator" },
	{ "foo{a=b}",
	  "1:7: parse error: unexpected identifier \"b\" in label matching, expected string" },
	{ "foo{,}",
	  "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\"" },
	{ "foo{\"a\"=\"b\"}",
	  "1:5: parse error: unexpected string \"\\\"a\\\"\" in label matching, expected identifier or \"}\"" },
	{ "foo{1=\"b\"}",
	  "1:5: parse error: unexpected character inside braces: '1'" },
	{ "{}",
	  "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a=\"\"}",
	  "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a=~\".*\"}",
	  "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "{a!~\".+\"}",
	  "1:1: parse error: vector selector must contain at least one non-empty matcher" },
	{ "foo{__name__=\"bar\"}",
	  "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"" },
	{ "foo =~ \"a\"",
	  "1:5: parse error: unexpected character after '=': '~'" },
	{ "foo ! bar",
	  "1:5: parse error: unexpected character after '!': ' '" },
	{ "$",
	  "1:1: parse error: unexpected character: '$'" },
	{ "\xc3\xa9",
	  "1:1: parse error: unexpected character: '\xc3\xa9'" },
	{ "foo{a=\"\\q\"}",
	  "1:7: parse error: unknown escape sequence U+0071 'q'" },
	{ "foo{a=\"\\xZZ\"}",
	  "1:7: parse error: illegal character U+005A 'Z' in escape sequence" },
	{ "foo{a=\"\\400\"}",
	  "1:7: parse error: escape sequence is an invalid Unicode code point" },
	{ "foo{a=\"\\ud800\"}",
	  "1:7: parse error: escape sequence is an invalid Unicode code point" },
	{ "\"unterminated",
	  "1:1: parse error: unterminated quoted string" },
	{ "`unterminated",
	  "1:1: parse error: unterminated raw string" },
	{ "foo[]",
	  "1:5: parse error: missing unit character in duration" },
	{ "foo[5]",
	  "1:5: parse error: missing unit character in duration" },
	{ "foo[5x]",
	  "1:5: parse error: bad duration syntax: \"5\"" },
	{ "foo[x]",
	  "1:5: parse error: bad duration syntax: \"\"" },
	{ "foo[5m5m]",
	  "1:5: parse error: not a valid duration string: \"5m5m\"" },
	{ "foo[0s]",
	  "1:5: parse error: duration must be greater than 0" },
	{ "foo[300y]",
	  "1:5: parse error: duration out of range" },
	{ "foo[5m:0s]",
	  "1:8: parse error: duration must be greater than 0" },
	{ "foo[5m 1]",
	  "1:8: parse error: unexpected number \"1\" in subquery or range, expected \":\" or \"]\"" },
	{ "foo[5m:1m 1]",
	  "1:11: parse error: unexpected number \"1\" in subquery selector, expected \"]\"" },
	{ "foo[5m:1m:1m]",
	  "1:10: parse error: unexpected colon ':'" },
	{ "foo[[5m]]",
	  "1:5: parse error: missing unit character in duration" },
	{ "foo]",
	  "1:4: parse error: unexpected right bracket ']'" },
	{ "5m",
	  "1:1: parse error: unexpected duration \"5m\"" },
	{ "1e",
	  "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e\": invalid syntax" },
	{ "1e400",
	  "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range" },
	{ "0x",
	  "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax" },
	{ "0x8000000000000000",
	  "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x8000000000000000\": invalid syntax" },
	{ "1.2.3",
	  "1:4: parse error: unexpected number \".3\"" },
	{ "1a",
	  "1:1: parse error: bad number or duration syntax: \"1\"" },
	{ "foo offset",
	  "1:11: parse error: unexpected end of input in offset, expected duration" },
	{ "foo offset 5",
	  "1:12: parse error: unexpected number \"5\" in offset, expected duration" },
	{ "foo offset +5m",
	  "1:12: parse error: unexpected <op:+> in offset, expected duration" },
	{ "foo offset 1m offset 1m",
	  "1:1: parse error: offset may not be set multiple times" },
	{ "(foo) offset 5m",
	  "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "1 offset 5m",
	  "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "foo @",
	  "1:6: parse error: unexpected end of input in @, expected timestamp" },
	{ "foo @ start",
	  "1:12: parse error: unexpected end of input in @, expected timestamp" },
	{ "foo @ 1 @ 2",
	  "1:1: parse error: @ <timestamp> may not be set multiple times" },
	{ "foo @ inf",
	  "1:1: parse error: timestamp out of bounds for @ modifier: +Inf" },
	{ "foo @ 1e20",
	  "1:1: parse error: timestamp out of bounds for @ modifier: 100000000000000000000.000000" },
	{ "\"a\" @ 1",
	  "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery" },
	{ "foo offset 1m [5m]",
	  "1:15: parse error: no offset modifiers allowed before range" },
	{ "foo @ 1 [5m]",
	  "1:9: parse error: no @ modifiers allowed before range" },
	{ "(foo)[5m]",
	  "1:6: parse error: ranges only allowed for vector selectors" },
	{ "sum(foo)[5m]",
	  "1:9: parse error: ranges only allowed for vector selectors" },
	{ "foo[5m][1m:]",
	  "1:1: parse error: subquery is only allowed on instant vector, got matrix instead" },
	{ "sum by",
	  "1:7: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "sum by (x)",
	  "1:11: parse error: unexpected end of input in aggregation" },
	{ "sum by x (foo)",
	  "1:8: parse error: unexpected identifier \"x\" in grouping opts, expected \"(\"" },
	{ "sum by (x y) (foo)",
	  "1:11: parse error: unexpected identifier \"y\" in grouping opts, expected \",\" or \")\"" },
	{ "sum by (a:b) (foo)",
	  "1:9: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label" },
	{ "sum by (1) (foo)",
	  "1:9: parse error: unexpected number \"1\" in grouping opts, expected label" },
	{ "sum by (x) (foo) by (y)",
	  "1:18: parse error: unexpected <by>" },
	{ "sum()",
	  "1:1: parse error: no arguments for aggregate expression provided" },
	{ "sum() foo",
	  "1:1: parse error: no arguments for aggregate expression provided" },
	{ "topk(foo)",
	  "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1" },
	{ "sum(a, b)",
	  "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2" },
	{ "sum(foo,)",
	  "1:8: parse error: trailing commas not allowed in function call args" },
	{ "rate(foo[5m],)",
	  "1:13: parse error: trailing commas not allowed in function call args" },
	{ "topk(\"a\", foo)",
	  "1:6: parse error: expected type scalar in aggregation parameter, got string" },
	{ "count_values(1, foo)",
	  "1:14: parse error: expected type string in aggregation parameter, got scalar" },
	{ "sum(foo[5m])",
	  "1:5: parse error: expected type instant vector in aggregation expression, got range vector" },
	{ "quantile(foo, bar)",
	  "1:10: parse error: expected type scalar in aggregation parameter, got instant vector" },
	{ "unknown_fn(foo)",
	  "1:1: parse error: unknown function with name \"unknown_fn\"" },
	{ "RATE(foo[5m])",
	  "1:1: parse error: unknown function with name \"RATE\"" },
	{ "start()",
	  "1:6: parse error: unexpected \"(\"" },
	{ "rate(foo)",
	  "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector" },
	{ "rate()",
	  "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 0" },
	{ "rate(foo[5m], 1)",
	  "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2" },
	{ "abs(foo[5m])",
	  "1:5: parse error: expected type instant vector in call to function \"abs\", got range vector" },
	{ "round()",
	  "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0" },
	{ "round(foo, 1, 2)",
	  "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3" },
	{ "label_join(foo)",
	  "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1" },
	{ "clamp_max(foo, \"a\")",
	  "1:16: parse error: expected type scalar in call to function \"clamp_max\", got string" },
	{ "histogram_quantile(0.9)",
	  "1:1: parse error: expected 2 argument(s) in call to \"histogram_quantile\", got 1" },
	{ "1 == 1",
	  "1:3: parse error: comparisons between scalars must use BOOL modifier" },
	{ "(1) < (2)",
	  "1:5: parse error: comparisons between scalars must use BOOL modifier" },
	{ "foo + bool bar",
	  "1:5: parse error: bool modifier can only be used on comparison operators" },
	{ "1 + bool 2",
	  "1:3: parse error: bool modifier can only be used on comparison operators" },
	{ "foo and 1",
	  "1:1: parse error: set operator \"and\" not allowed in binary scalar expression" },
	{ "1 or foo",
	  "1:1: parse error: set operator \"or\" not allowed in binary scalar expression" },
	{ "foo and on(a) group_left bar",
	  "1:1: parse error: no grouping allowed for \"and\" operation" },
	{ "1 + on(a) 2",
	  "1:1: parse error: vector matching only allowed between instant vectors" },
	{ "foo * on(a) group_left(a) bar",
	  "1:5: parse error: label \"a\" must not occur in ON and GROUP clause at once" },
	{ "foo * on(a) group_left )",
	  "1:25: parse error: unexpected right parenthesis ')'" },
	{ "foo * on(a) group_left",
	  "1:23: parse error: unexpected end of input in grouping opts, expected \"(\"" },
	{ "foo * on(a) group_left ,",
	  "1:24: parse error: unexpected \",\" in grouping opts, expected \"(\"" },
	{ "foo * group_left bar",
	  "1:7: parse error: unexpected <group_left>" },
	{ "foo * on bar",
	  "1:10: parse error: unexpected identifier \"bar\" in grouping opts, expected \"(\"" },
	{ "foo > on(a) bool bar",
	  "1:13: parse error: unexpected <bool>" },
	{ "\"a\" + 1",
	  "1:1: parse error: binary expression must contain only scalar and instant vector types" },
	{ "foo + \"a\"",
	  "1:7: parse error: binary expression must contain only scalar and instant vector types" },
	{ "foo[5m] + 1",
	  "1:1: parse error: binary expression must contain only scalar and instant vector types" },
	{ "- \"a\"",
	  "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"" },
	{ "-foo[5m]",
	  "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"" },
	{ "foo +",
	  "1:6: parse error: unexpected end of input" },
	{ "+",
	  "1:2: parse error: unexpected end of input" },
	{ "()",
	  "1:2: parse error: unexpected \")\"" },
	{ "bool",
	  "1:1: parse error: unexpected <bool>" },
	{ "on",
	  "1:1: parse error: unexpected <on>" },
	{ "atan2",
	  "1:1: parse error: unexpected <op:atan2>" },
	{ "@ 1",
	  "1:1: parse error: unexpected \"<Item 57385>\" <op:@>" },
	{ "foo[5m x y]",
	  "1:10: parse error: unexpected colon 'y'" },
	{ "foo[5m:x]",
	  "1:8: parse error: unexpected colon 'x'" },
	{ "{a=~\"(\"}",
	  "1:2: parse error: error parsing regexp: missing closing ): `^(?:()$`" },
	{ "{a=~\"a)|(b\"}",
	  "1:2: parse error: error parsing regexp: unexpected ): `a)|(b`" },
	{ "{a=~\"a**\"}",
	  "1:2: parse error: error parsing regexp: invalid nested repetition operator: `**`" },
	{ "{a=~\"*\"}",
	  "1:2: parse error: error parsing regexp: missing argument to repetition operator: `*`" },
	{ "{a=~\"a{1001}\"}",
	  "1:2: parse error: error parsing regexp: invalid repeat count: `{1001}`" },
	{ "{a=~\"(a{100}){100}\"}",
	  "1:2: parse error: error parsing regexp: invalid repeat count: `{100}`" },
	{ "{a=~\"[z-a]\"}",
	  "1:2: parse error: error parsing regexp: invalid character class range: `z-a`" },
	{ "{a=~\"\\\\1\"}",
	  "1:2: parse error: error parsing regexp: invalid escape sequence: `\\1`" },
	{ "{a=~\"\\\\C\"}",
	  "1:2: parse error: error parsing regexp: invalid escape sequence: `\\C`" },
	{ "{a=~\"[\"}",
	  "1:2: parse error: error parsing regexp: missing closing ]: `[)$`" },
	{ "{a=~\"[[:foo:]]\"}",
	  "1:2: parse error: error parsing regexp: invalid character class range: `[:foo:]`" },
	{ "{a=~\"\\\\p{Foo}\"}",
	  "1:2: parse error: error parsing regexp: invalid character class range: `\\p{Foo}`" },
	{ "{a=~\"(?<n>a)\"}",
	  "1:2: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?<`" },
	{ "{a=~\"(?=a)\"}",
	  "1:2: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`" },
	{ "{a=~\"\\\\x{110000}\"}",
	  "1:2: parse error: error parsing regexp: invalid escape sequence: `\\x{110000`" },
	{ "{a=~\"a\\\\\"}",
	  "1:2: parse error: error parsing regexp: missing closing ): `^(?:a\\)$`" },
	{ "foo{a=\"a very long label value that is quoted in the message\"} bar",
	  "1:64: parse error: unexpected identifier \"bar\"" },
	{ "foo \"a very long string literal\"",
	  "1:5: parse error: unexpected string \"\\\"a very lo\"..." },
	{ "foo 12345678901234567",
	  "1:5: parse error: unexpected number \"1234567890\"..." },
	{ "1 # c\n> 2",
	  "1:3: parse error: comparisons between scalars must use BOOL modifier" },
	{ "foo\n  bar",
	  "2:3: parse error: unexpected identifier \"bar\"" },
	{ "foo{a=\"\\xff\"} == bool on(a) group_left(b) \"x\"",
	  "1:43: parse error: binary expression must contain only scalar and instant vector types" },
};

START_TEST(test_invalid)
{
	const promql_type_t unset = (promql_type_t)99;
	promql_type_t type = unset;
	promql_error_t err;
	int r = check(invalid[_i].expr, &type, &err);

	ck_assert_msg(r == -EINVAL, "%s: accepted", invalid[_i].expr);
	ck_assert_str_eq(formatted(&err), invalid[_i].error);
	ck_assert(type == unset); /* written only on success */
}
END_TEST

/* ---- the regular expressions of =~ and !~ ----------------------------------------------- */

static const struct {
	const char *re;
	int r;
	bool matches_empty;
	const char *error;
} regexes[] = {
	{ ".*", 0, true, NULL },
	{ ".+", 0, false, NULL },
	{ "a", 0, false, NULL },
	{ "a*", 0, true, NULL },
	{ "a|", 0, true, NULL },
	{ "(a|b)*c", 0, false, NULL },
	{ "^$", 0, true, NULL },
	{ "\\b", 0, false, NULL },
	{ "\\B", 0, true, NULL },
	{ "x{0}", 0, true, NULL },
	{ "x{0,3}", 0, true, NULL },
	{ "(?i)abc", 0, false, NULL },
	{ "[^a]", 0, false, NULL },
	{ "\\pL*", 0, true, NULL },
	{ "(|a)", 0, true, NULL },
	{ "a{2}{3}", -EINVAL, false,
	  "error parsing regexp: invalid nested repetition operator: `{2}{3}`" },
	{ "a**", -EINVAL, false,
	  "error parsing regexp: invalid nested repetition operator: `**`" },
	{ "*", -EINVAL, false,
	  "error parsing regexp: missing argument to repetition operator: `*`" },
	{ "+a", -EINVAL, false,
	  "error parsing regexp: missing argument to repetition operator: `+`" },
	{ "a|*b", -EINVAL, false,
	  "error parsing regexp: missing argument to repetition operator: `*`" },
	{ "(", -EINVAL, false,
	  "error parsing regexp: missing closing ): `^(?:()$`" },
	{ ")", -EINVAL, false,
	  "error parsing regexp: unexpected ): `^(?:))$`" },
	{ "a)|(b", -EINVAL, false,
	  "error parsing regexp: unexpected ): `a)|(b`" },
	{ "(?P<n>a)", 0, false, NULL },
	{ "(?P<1n>a)", 0, false, NULL },
	{ "(?P<>a)", -EINVAL, false,
	  "error parsing regexp: invalid named capture: `(?P<>`" },
	{ "(?<n>a)", -EINVAL, false,
	  "error parsing regexp: invalid or unsupported Perl syntax: `(?<`" },
	{ "(?P=n)", -EINVAL, false,
	  "error parsing regexp: invalid or unsupported Perl syntax: `(?P`" },
	{ "(?i", -EINVAL, false,
	  "error parsing regexp: missing closing ): `^(?:(?i)$`" },
	{ "(?-)", -EINVAL, false,
	  "error parsing regexp: invalid or unsupported Perl syntax: `(?-)`" },
	{ "[a", -EINVAL, false,
	  "error parsing regexp: missing closing ]: `[a)$`" },
	{ "[z-a]", -EINVAL, false,
	  "error parsing regexp: invalid character class range: `z-a`" },
	{ "[[:alpha:]]", 0, false, NULL },
	{ "[[:nope:]]", -EINVAL, false,
	  "error parsing regexp: invalid character class range: `[:nope:]`" },
	{ "\\p{Greek}", 0, false, NULL },
	{ "\\p{Nope}", -EINVAL, false,
	  "error parsing regexp: invalid character class range: `\\p{Nope}`" },
	{ "\\8", -EINVAL, false,
	  "error parsing regexp: invalid escape sequence: `\\8`" },
	{ "\\x{110000}", -EINVAL, false,
	  "error parsing regexp: invalid escape sequence: `\\x{110000`" },
	{ "\\Q.*\\E+", 0, false, NULL },
	{ "\\C", -EINVAL, false,
	  "error parsing regexp: invalid escape sequence: `\\C`" },
	{ "a{1000}", 0, false, NULL },
	{ "a{1001}", -EINVAL, false,
	  "error parsing regexp: invalid repeat count: `{1001}`" },
	{ "(a{10}){100}", 0, false, NULL },
	{ "(a{10}){101}", -EINVAL, false,
	  "error parsing regexp: invalid repeat count: `{101}`" },
	{ "a\\", -EINVAL, false,
	  "error parsing regexp: missing closing ): `^(?:a\\)$`" },
};

START_TEST(test_regex)
{
	char msg[PROMQL_ERROR_MSG_SIZE];
	bool empty = !regexes[_i].matches_empty;
	int r = promql_regex_check(regexes[_i].re, strlen(regexes[_i].re), &empty, msg,
				   sizeof(msg));

	ck_assert_msg(r == regexes[_i].r, "%s: %d", regexes[_i].re, r);
	if (r == 0)
		ck_assert_msg(empty == regexes[_i].matches_empty, "%s: matches empty %d",
			      regexes[_i].re, empty);
	else
		ck_assert_str_eq(msg, regexes[_i].error);
}
END_TEST

/* ---- the API --------------------------------------------------------------------------- */

START_TEST(test_api)
{
	promql_error_t err;
	promql_type_t type = PROMQL_TYPE_NONE;
	char small[16];

	/* NULL outputs are allowed */
	ck_assert_int_eq(promql_check("foo", 3, NULL, NULL), 0);
	ck_assert_int_eq(promql_check("foo bar", 7, NULL, NULL), -EINVAL);
	/* only len bytes count: "foo" of "foo)" */
	ck_assert_int_eq(promql_check("foo)", 3, &type, &err), 0);
	ck_assert_int_eq(type, PROMQL_TYPE_VECTOR);
	ck_assert_int_eq(promql_check(NULL, 0, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "no expression found in input");

	ck_assert_int_eq(check("sum(x", NULL, &err), -EINVAL);
	ck_assert_uint_eq(err.line, 1);
	ck_assert_uint_eq(err.col, 6);
	ck_assert_uint_eq(err.offset, 5);
	ck_assert_str_eq(err.msg, "unclosed left parenthesis");
	ck_assert_int_eq(promql_error_format(&err, small, sizeof(small)),
			 (int)strlen("1:6: parse error: unclosed left parenthesis"));
	ck_assert_str_eq(small, "1:6: parse erro"); /* snprintf-style cut */

	ck_assert_str_eq(promql_type_name(PROMQL_TYPE_SCALAR), "scalar");
	ck_assert_str_eq(promql_type_name(PROMQL_TYPE_VECTOR), "instant vector");
	ck_assert_str_eq(promql_type_name(PROMQL_TYPE_MATRIX), "range vector");
	ck_assert_str_eq(promql_type_name(PROMQL_TYPE_STRING), "string");
	ck_assert_str_eq(promql_type_name(PROMQL_TYPE_NONE), "none");
}
END_TEST

/* Bytes a C string cannot hold, and columns counted in bytes. */
START_TEST(test_bytes)
{
	static const char nul[] = "foo\0bar";
	static const char nul_in_string[] = "foo{a=\"x\0y\"}";
	static const char bad_utf8[] = "foo{a=\"\xff\"}";
	promql_error_t err;

	ck_assert_int_eq(check_n(nul, sizeof(nul) - 1, NULL, &err), -EINVAL);
	ck_assert_str_eq(formatted(&err), "1:4: parse error: unexpected character: '\\x00'");
	ck_assert_int_eq(check_n(nul_in_string, sizeof(nul_in_string) - 1, NULL, &err), 0);
	ck_assert_int_eq(check_n(bad_utf8, sizeof(bad_utf8) - 1, NULL, &err), -EINVAL);
	ck_assert_str_eq(formatted(&err), "1:7: parse error: invalid UTF-8 rune");
	/* a multi-byte character counts its bytes in the column */
	ck_assert_int_eq(check("\"é\" bar", NULL, &err), -EINVAL);
	ck_assert_str_eq(formatted(&err), "1:6: parse error: unexpected identifier \"bar\"");
	ck_assert_int_eq(check("foo\n\n  é", NULL, &err), -EINVAL);
	ck_assert_str_eq(formatted(&err), "3:3: parse error: unexpected character: 'é'");
	/* the value of \xff is a byte, fine for =, not for a regular expression */
	ck_assert_int_eq(check("foo{a=\"\\xff\"}", NULL, &err), 0);
	ck_assert_int_eq(check("foo{a=~\"\\xff\"}", NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "error parsing regexp: invalid UTF-8: `\xff)$`");
}
END_TEST

/* ---- limits ------------------------------------------------------------------------------ */

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;

	ck_assert_ptr_nonnull(s);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	memcpy(p, tail, tl + 1);
	return s;
}

START_TEST(test_limits)
{
	promql_error_t err;
	char *s;

	/* nesting: PROMQL_MAX_DEPTH - 1 parentheses are fine, one more is not */
	{
		char *open = repeat("", "(", PROMQL_MAX_DEPTH - 1, "");
		char *close = repeat("1", ")", PROMQL_MAX_DEPTH - 1, "");
		size_t n = strlen(open) + strlen(close);

		s = malloc(n + 1);
		ck_assert_ptr_nonnull(s);
		strcpy(s, open);
		strcat(s, close);
		ck_assert_int_eq(check(s, NULL, &err), 0);
		free(s);
		free(open);
		free(close);
	}
	s = repeat("", "(", PROMQL_MAX_DEPTH, "1");
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "expression nests too deeply (more than 256 levels)");
	free(s);
	s = repeat("", "-", 100000, "1");
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL); /* too long, before too deep */
	free(s);
	s = repeat("", "-", PROMQL_MAX_DEPTH * 2, "1");
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "expression nests too deeply (more than 256 levels)");
	free(s);
	s = repeat("1", "^1", PROMQL_MAX_DEPTH * 2, "");
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	free(s);

	/* a long left-associative chain parses in a loop; the tree height is bounded */
	s = repeat("1", "+1", PROMQL_MAX_HEIGHT - 1, "");
	ck_assert_int_eq(check(s, NULL, &err), 0);
	free(s);
	s = repeat("1", "+1", PROMQL_MAX_HEIGHT, "");
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "expression nests too deeply (a syntax tree deeper than 1024)");
	free(s);

	/* length: 64 KiB is the most */
	s = repeat("vector(1", ",1", (PROMQL_MAX_LEN - 9) / 2, ")");
	ck_assert_uint_le(strlen(s), PROMQL_MAX_LEN);
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "expected 1 argument(s) in call to \"vector\", got 32764");
	free(s);
	s = repeat("\"", "x", PROMQL_MAX_LEN - 2, "\"");
	ck_assert_int_eq(check(s, NULL, &err), 0);
	free(s);
	s = repeat("\"", "x", PROMQL_MAX_LEN - 1, "\"");
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	ck_assert_str_eq(formatted(&err),
			 "1:1: parse error: expression too long: 65537 bytes, at most 65536");
	free(s);
}
END_TEST

/* Inputs that cost the most per byte still finish quickly: time is linear. */
START_TEST(test_linear_time)
{
	static const char *const units[] = { "foo{a=~\"(a|b)*c{2,5}\"}+", "sum by (a,b,c) (x)+",
					     "{a=~\"((((((((((x))))))))))\"}+",
					     "x offset 5m @ 100 and ", "# comment\n", "((((((1))))))+" };
	/* generous: valgrind runs this too */
	double limit = getenv("AUTOSCALERD_VALGRIND") ? 60.0 : 2.0;
	promql_error_t err;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = (PROMQL_MAX_LEN - 2) / strlen(units[i]);
		char *s = repeat("", units[i], n, "1");
		clock_t t0 = clock();

		check(s, NULL, &err);
		ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < limit, "unit %zu too slow", i);
		free(s);
	}
}
END_TEST

/* Long on (...) and group_left (...) lists are compared in linear time too. */
START_TEST(test_long_label_lists)
{
	double limit = getenv("AUTOSCALERD_VALGRIND") ? 60.0 : 1.0;
	char *on = repeat("a * on(x", ",l", 16000, ")");
	char *group = repeat(" group_left(y", ",l", 16000, ") b");
	char *s = malloc(strlen(on) + strlen(group) + 1);
	promql_error_t err;
	clock_t t0 = clock();

	ck_assert_ptr_nonnull(s);
	strcpy(s, on);
	strcat(s, group);
	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	ck_assert_str_eq(formatted(&err),
			 "1:3: parse error: label \"l\" must not occur in ON and GROUP clause at once");
	/* the same lists without a shared label */
	for (char *c = s + strlen(on) + strlen(" group_left(y"); *c; c++)
		if (*c == 'l')
			*c = 'm';
	ck_assert_int_eq(check(s, NULL, &err), 0);
	ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < limit, "too slow");
	free(s);
	free(on);
	free(group);
}
END_TEST

/* An error message longer than the buffer is cut, still NUL-terminated, ending in "...". */
START_TEST(test_long_message)
{
	promql_error_t err;
	char *s = repeat("foo{a=~\"(", "x", 4000, "\"}");
	size_t n;

	ck_assert_int_eq(check(s, NULL, &err), -EINVAL);
	n = strlen(err.msg);
	ck_assert_uint_eq(n, sizeof(err.msg) - 1);
	ck_assert_str_eq(err.msg + n - 3, "...");
	ck_assert_int_eq(strncmp(err.msg, "error parsing regexp: missing closing ): `^(?:(xxx", 50),
			 0);
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("promql");
	TCase *tc;

	tc = tcase_create("check");
	tcase_add_loop_test(tc, test_valid, 0, sizeof(valid) / sizeof(valid[0]));
	tcase_add_loop_test(tc, test_invalid, 0, sizeof(invalid) / sizeof(invalid[0]));
	tcase_add_loop_test(tc, test_regex, 0, sizeof(regexes) / sizeof(regexes[0]));
	tcase_add_test(tc, test_api);
	tcase_add_test(tc, test_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_linear_time);
	tcase_add_test(tc, test_long_label_lists);
	tcase_add_test(tc, test_long_message);
	suite_add_tcase(s, tc);

	return check_run(s, CK_NORMAL);
}
