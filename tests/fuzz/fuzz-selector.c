/* fuzz-selector.c - libFuzzer target for the label selector parser and matcher
 * (k8s_selector_parse, k8s_selector_matches, k8s_selector_format in k8s.h).
 *
 * The input is a selector string (cut at the first NUL, as a C string is). Besides "no
 * crash, no leak, no hang" the target holds selector.c to its header:
 *   - failure leaves *ret alone, and says why in one line that starts with
 *     "label selector: " (-EINVAL names the byte: "at byte N" with N within the input),
 *     only -EINVAL, -E2BIG and -ENOMEM;
 *   - success gives a canonical form that parses again to the same canonical form and
 *     matches exactly the same label sets as the original (label sets taken from the
 *     input's own words, so keys and values the selector names do occur);
 *   - the empty selector, and only it, is k8s_selector_empty and matches everything.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/selector/, dictionary
 * selector.dict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"
#include "tests/fuzz/fuzz-common.h"

#define MAX_WORDS 16

/* Words of s: runs of [A-Za-z0-9._/-], at most MAX_WORDS, each NUL-terminated in buf. */
static size_t words(const char *s, char *buf, const char **w)
{
	size_t n = 0, o = 0;

	for (size_t i = 0; s[i] && n < MAX_WORDS;) {
		size_t start = i;

		while (s[i] && (strchr("._/-", s[i]) || (s[i] >= 'a' && s[i] <= 'z') ||
				(s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			i++;
		if (i > start) {
			memcpy(buf + o, s + start, i - start);
			buf[o + i - start] = '\0';
			w[n++] = buf + o;
			o += i - start + 1;
		} else {
			i++;
		}
	}
	return n;
}

static void check_error(int rc, const char *err, size_t len)
{
	const char *at;

	REQUIRE(rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
	REQUIRE(!strncmp(err, "label selector: ", 16));
	REQUIRE(!strchr(err, '\n'));
	if (rc == -EINVAL && (at = strstr(err, "at byte "))) {
		unsigned long pos = strtoul(at + 8, NULL, 10);

		REQUIRE(pos <= len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *buf = malloc(size + 1), *canon = NULL, *canon2 = NULL;
	char err[K8S_ERROR_MAX];
	const char *w[MAX_WORDS];
	k8s_selector_t *sel = (k8s_selector_t *)&sel, *sel2 = NULL;
	size_t len, nw, csz;
	int rc;

	if (!s || !buf)
		goto out;
	memcpy(s, data, size);
	s[size] = '\0';
	len = strlen(s);
	rc = k8s_selector_parse(s, &sel, err, sizeof(err));
	if (rc < 0) {
		REQUIRE(sel == (k8s_selector_t *)&sel);
		sel = NULL;
		check_error(rc, err, len);
		goto out;
	}
	csz = 3 * len + 16;
	canon = malloc(csz);
	canon2 = malloc(csz);
	if (!canon || !canon2)
		goto out;
	REQUIRE(k8s_selector_format(sel, canon, csz) == 0);
	REQUIRE(k8s_selector_empty(sel) == (canon[0] == '\0'));
	fprintf(sink, "%s\n", canon);
	rc = k8s_selector_parse(canon, &sel2, err, sizeof(err));
	if (rc == -E2BIG)
		goto out; /* the canonical form of a long one may be longer */
	REQUIRE(rc == 0);
	REQUIRE(k8s_selector_format(sel2, canon2, csz) == 0);
	REQUIRE(!strcmp(canon, canon2));

	/* label sets from the input's words: pairs (w[i], w[i+1]), first k of them */
	nw = words(s, buf, w);
	for (size_t k = 0; k <= nw / 2; k++) {
		k8s_label_t labels[MAX_WORDS / 2];
		size_t n = 0;

		for (size_t i = 0; i < k; i++) {
			size_t j;

			for (j = 0; j < n && strcmp(labels[j].key, w[2 * i]); j++)
				;
			if (j == n)
				labels[n++] = (k8s_label_t){ w[2 * i], w[2 * i + 1] };
		}
		REQUIRE(k8s_selector_matches(sel, labels, n) == k8s_selector_matches(sel2, labels, n));
		if (k8s_selector_empty(sel))
			REQUIRE(k8s_selector_matches(sel, labels, n));
	}
out:
	k8s_selector_free(sel);
	k8s_selector_free(sel2);
	free(canon);
	free(canon2);
	free(buf);
	free(s);
	return 0;
}
