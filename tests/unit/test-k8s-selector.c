/* test-k8s-selector.c - label selectors (k8s.h, selector.c): the canonical form of what
 * parses, apimachinery's matching rules, and every refusal with the byte it points at.
 * The expectations are apimachinery's labels.Parse (pkg/labels/selector.go and its tests):
 * the value-list quirks ("(a,)" holds "", "(a,,)" is an error), keywords as keys and values,
 * the empty selector matching everything.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"
#include "tests/fakes/check-util.h"

/* ---- what parses, and its canonical form ------------------------------------------------ */

static const struct {
	const char *in, *canon;
} good[] = {
	{ "", "" },
	{ "   \t\r\n", "" },
	{ "app=llama", "app=llama" },
	{ "app==llama", "app==llama" },
	{ "app!=llama", "app!=llama" },
	{ "app = llama , tier!=db", "app=llama,tier!=db" },
	{ "x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()" },
	{ "x in (b,a,b)", "x in (a,b)" },
	{ "x in (a,)", "x in (,a)" },
	{ "x in (,a)", "x in (,a)" },
	{ "x in (,)", "x in ()" },
	{ "x in(a)", "x in (a)" },
	{ "x notin (a)", "x notin (a)" },
	{ "!x", "!x" },
	{ "! x", "!x" },
	{ "x", "x" },
	{ "a=", "a=" },
	{ "a=,b", "a=,b" },
	{ "z,y,x", "x,y,z" },
	{ "in=notin", "in=notin" },
	{ "a in (in,notin)", "a in (in,notin)" },
	{ "example.com/key=v", "example.com/key=v" },
	{ "a.b-c_d=A.b-C_9", "a.b-c_d=A.b-C_9" },
	{ "gpu>2", "gpu>2" },
	{ "gpu<10,gpu>2", "gpu>2,gpu<10" },
	{ "app=llama,pod-template-hash=6f9c4", "app=llama,pod-template-hash=6f9c4" },
};

START_TEST(test_good)
{
	k8s_selector_t *sel = NULL;
	char err[K8S_ERROR_MAX] = "", buf[512];

	ck_assert_msg(k8s_selector_parse(good[_i].in, &sel, err, sizeof(err)) == 0, "'%s': %s",
		      good[_i].in, err);
	ck_assert_int_eq(k8s_selector_format(sel, buf, sizeof(buf)), 0);
	ck_assert_msg(!strcmp(buf, good[_i].canon), "'%s' -> '%s', expected '%s'", good[_i].in,
		      buf, good[_i].canon);
	ck_assert(k8s_selector_empty(sel) == (good[_i].canon[0] == '\0'));
	k8s_selector_free(sel);
}
END_TEST

/* ---- what does not, and why --------------------------------------------------------------- */

static const struct {
	const char *in, *err;
} bad[] = {
	{ ",", "at byte 0: found ',', expected: !, identifier, or 'end of string'" },
	{ "a,", "at byte 2: found '', expected: identifier after ','" },
	{ "a,,b", "at byte 2: found ',', expected: identifier after ','" },
	{ "a b", "at byte 2: found 'b', expected: in, notin, =, ==, !=, gt, lt" },
	{ "a=b c", "at byte 4: found 'c', expected: ',' or 'end of string'" },
	{ "a=b)", "at byte 3: found ')', expected: ',' or 'end of string'" },
	{ "!a=b", "at byte 2: found '=', expected: ',' or 'end of string'" },
	{ "!", "at byte 1: found '', expected: identifier" },
	{ "!!a", "at byte 1: found '!', expected: identifier" },
	{ "a in b", "at byte 5: found 'b', expected: '('" },
	{ "a in (b", "at byte 7: found '', expected: ',' or ')'" },
	{ "a in (b c)", "at byte 8: found 'c', expected: ',' or ')'" },
	{ "a in (b,,)", "at byte 9: found ')', expected: ',', or identifier" },
	{ "a in (,,)", "at byte 8: found ')', expected: ',', or identifier" },
	{ "a in (=)", "at byte 6: found '=', expected: ',', ')' or identifier" },
	{ "a in", "at byte 4: found '', expected: '('" },
	{ "a=(b)", "at byte 2: found '(', expected: identifier" },
	{ "a=b=c", "at byte 3: found '=', expected: ',' or 'end of string'" },
	{ "x=a==b", "at byte 3: found '==', expected: ',' or 'end of string'" },
	{ "(a)", "at byte 0: found '(', expected: !, identifier, or 'end of string'" },
	{ "a>b", "at byte 2: for 'Gt', 'Lt' operators, the value must be an integer" },
	{ "a<", "at byte 2: for 'Gt', 'Lt' operators, the value must be an integer" },
	{ "a>99999999999999999999", "at byte 2: for 'Gt', 'Lt' operators" },
	{ "a>-1", "at byte 2: invalid value '-1' for key 'a'" },
	{ "-a=b", "at byte 0: invalid key '-a': name part must consist of alphanumeric" },
	{ "a/b/c=d", "at byte 0: invalid key 'a/b/c'" },
	{ "/a=b", "at byte 0: invalid key '/a': prefix part must be non-empty" },
	{ "a/=b", "at byte 0: invalid key 'a/': name part must be non-empty" },
	{ "Example.com/a=b", "at byte 0: invalid key 'Example.com/a': prefix part must be a "
			     "lowercase RFC 1123 subdomain" },
	{ "a..b/c=d", "invalid key 'a..b/c'" },
	{ "a=b_", "at byte 2: invalid value 'b_' for key 'a'" },
	{ "a=b\x01", "at byte 2: invalid value 'b?' for key 'a'" },
	{ "a in (b, ok, é)", "at byte 13: invalid value '?\?' for key 'a'" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=b",
	  "name part must be no more than 63 characters" },
	{ "a=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	  "invalid value 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'" },
};

START_TEST(test_bad)
{
	k8s_selector_t *sel = (k8s_selector_t *)&sel; /* must stay untouched */
	char err[K8S_ERROR_MAX] = "";

	ck_assert_int_eq(k8s_selector_parse(bad[_i].in, &sel, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_eq(sel, (k8s_selector_t *)&sel);
	ck_assert_msg(!strncmp(err, "label selector: ", 16), "%s", err);
	ck_assert_msg(strstr(err, bad[_i].err), "'%s': got \"%s\", expected \"%s\"", bad[_i].in,
		      err, bad[_i].err);
	ck_assert(!strchr(err, '\n'));
}
END_TEST

START_TEST(test_limits)
{
	char *big = malloc(K8S_SELECTOR_MAX + 2), err[K8S_ERROR_MAX];
	k8s_selector_t *sel = NULL;

	memset(big, 'a', K8S_SELECTOR_MAX + 1);
	big[K8S_SELECTOR_MAX + 1] = '\0';
	ck_assert_int_eq(k8s_selector_parse(big, &sel, err, sizeof(err)), -E2BIG);
	ck_assert_ptr_null(sel);
	/* the longest allowed: many short requirements */
	for (size_t i = 0; i + 2 <= K8S_SELECTOR_MAX; i += 2) {
		big[i] = 'a';
		big[i + 1] = ',';
	}
	big[K8S_SELECTOR_MAX - 1] = '\0';
	ck_assert_msg(k8s_selector_parse(big, &sel, err, sizeof(err)) == 0, "%s", err);
	k8s_selector_free(sel);
	ck_assert_int_eq(k8s_selector_parse(NULL, &sel, err, sizeof(err)), -EINVAL);
	free(big);
	/* a small buffer for the canonical form */
	ck_assert_int_eq(k8s_selector_parse("app=llama", &sel, err, sizeof(err)), 0);
	ck_assert_int_eq(k8s_selector_format(sel, err, 5), -ENOBUFS);
	k8s_selector_free(sel);
	ck_assert_ptr_null(k8s_selector_free(NULL));
}
END_TEST

/* ---- matching ----------------------------------------------------------------------------- */

#define L(...) ((const k8s_label_t[]){ __VA_ARGS__ })

static const k8s_label_t llama[] = { { "app", "llama" }, { "tier", "gpu" }, { "gpus", "4" },
				     { "empty", "" }, { "example.com/zone", "a" } };

static const struct {
	const char *sel;
	bool match; /* against llama[] */
} matches[] = {
	{ "", true },
	{ "app=llama", true },
	{ "app==llama", true },
	{ "app=other", false },
	{ "app!=other", true },
	{ "app!=llama", false },
	{ "missing!=x", true },   /* absent: != matches */
	{ "missing=x", false },
	{ "app in (a,llama)", true },
	{ "app in (a,b)", false },
	{ "missing in (a)", false },
	{ "app notin (a,b)", true },
	{ "app notin (llama)", false },
	{ "missing notin (a)", true },
	{ "app", true },
	{ "missing", false },
	{ "!missing", true },
	{ "!app", false },
	{ "empty=", true },
	{ "empty", true },
	{ "empty in ()", true },
	{ "app=", false },
	{ "gpus>3", true },
	{ "gpus>4", false },
	{ "gpus<5", true },
	{ "gpus<4", false },
	{ "app>1", false },       /* not a number */
	{ "missing<9", false },
	{ "example.com/zone=a", true },
	{ "app=llama,tier=gpu", true },
	{ "app=llama,tier=cpu", false },
	{ "app=llama,!missing,tier notin (cpu),gpus>1", true },
};

START_TEST(test_matches)
{
	k8s_selector_t *sel = NULL;
	char err[K8S_ERROR_MAX];

	ck_assert_msg(k8s_selector_parse(matches[_i].sel, &sel, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(k8s_selector_matches(sel, llama, sizeof(llama) / sizeof(llama[0])) ==
			      matches[_i].match,
		      "'%s' should %smatch", matches[_i].sel, matches[_i].match ? "" : "not ");
	k8s_selector_free(sel);
}
END_TEST

START_TEST(test_match_edges)
{
	k8s_selector_t *sel = NULL;
	char err[K8S_ERROR_MAX];

	/* no labels at all */
	ck_assert_int_eq(k8s_selector_parse("a!=b,!c", &sel, err, sizeof(err)), 0);
	ck_assert(k8s_selector_matches(sel, NULL, 0));
	k8s_selector_free(sel);
	ck_assert_int_eq(k8s_selector_parse("a", &sel, err, sizeof(err)), 0);
	ck_assert(!k8s_selector_matches(sel, NULL, 0));
	k8s_selector_free(sel);
	/* NULL selector: everything */
	ck_assert(k8s_selector_matches(NULL, L({ "a", "b" }), 1));
	ck_assert(k8s_selector_empty(NULL));
	/* int64 edges */
	ck_assert_int_eq(k8s_selector_parse("n>9223372036854775806", &sel, err, sizeof(err)), 0);
	ck_assert(k8s_selector_matches(sel, L({ "n", "9223372036854775807" }), 1));
	ck_assert(!k8s_selector_matches(sel, L({ "n", "9223372036854775808" }), 1));
	ck_assert(!k8s_selector_matches(sel, L({ "n", "" }), 1));
	k8s_selector_free(sel);
	ck_assert_int_eq(k8s_selector_parse("n<0", &sel, err, sizeof(err)), 0);
	ck_assert(k8s_selector_matches(sel, L({ "n", "-3" }), 1));
	ck_assert(!k8s_selector_matches(sel, L({ "n", "+3" }), 1));
	k8s_selector_free(sel);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s-selector");
	TCase *tc = tcase_create("selector");

	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_matches, 0, sizeof(matches) / sizeof(matches[0]));
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_match_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_ENV);
}
