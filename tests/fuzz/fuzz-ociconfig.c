/* fuzz-ociconfig.c - libFuzzer target for the ~/.oci/config reader (oci_profile_parse).
 *
 * The input is one config file's bytes, handed over as they come (not NUL-terminated, so an
 * over-read shows up under ASan), parsed for a few profiles: the default one (DEFAULT, no
 * $OCI_CLI_PROFILE), "DEFAULT" named, "prod" and "dev". Besides "no crash, no leak, no hang"
 * (a file of a million one-byte keys must not be quadratic) the target holds the reader to
 * oci.h:
 *   - failure leaves *ret alone and says why in one NUL-terminated line that starts with
 *     the file's name; the only errors from memory are -EINVAL, -EFBIG and -ENOMEM;
 *   - success gives the profile asked for, named after the file, each value one line
 *     without NUL, present exactly when it has a line number, key_file and
 *     security_token_file with "~/" expanded to the (fixed) home;
 *   - the same input gives the same answer every time;
 *   - oci_profile_where() formats every key within its buffer.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/ociconfig/, dictionary
 * ociconfig.dict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/oci.h"
#include "tests/fuzz/fuzz-common.h"

#define NAME "/fuzz/oci/config"
#define HOME "/fuzz-home"

static void check_profile(const oci_profile_t *p, const char *profile, size_t size)
{
	char where[256];

	REQUIRE(p->file && strcmp(p->file, NAME) == 0);
	REQUIRE(p->name && strcmp(p->name, profile ? profile : "DEFAULT") == 0);
	for (int k = 0; k < OCI_PK_COUNT_; k++) {
		const char *v = p->values[k];

		REQUIRE((v != NULL) == (p->lines[k] > 0));
		if (!v)
			continue;
		REQUIRE(strchr(v, '\n') == NULL && strchr(v, '\r') == NULL);
		if (k == OCI_PK_KEY_FILE || k == OCI_PK_SECURITY_TOKEN_FILE) {
			REQUIRE(strncmp(v, "~/", 2) != 0 && strcmp(v, "~") != 0);
		} else {
			REQUIRE(strlen(v) <= size);
		}
		/* no value starts with or ends in a blank (configparser strips them) */
		if (*v && k != OCI_PK_KEY_FILE && k != OCI_PK_SECURITY_TOKEN_FILE)
			REQUIRE(v[0] != ' ' && v[0] != '\t' && v[strlen(v) - 1] != ' ' &&
				v[strlen(v) - 1] != '\t');
		oci_profile_where(p, (oci_profile_key_t)k, where, sizeof(where));
		REQUIRE(strncmp(where, NAME ":", strlen(NAME) + 1) == 0);
		fprintf(sink, "%s = %s\n", where, v);
	}
	oci_profile_where(p, OCI_PK_USER, where, 8); /* cut short: still terminated */
	REQUIRE(strlen(where) < 8);
}

/* Returns the result for the determinism check. */
static int run(const uint8_t *data, size_t size, const char *profile, char *err, size_t errsz)
{
	/* a sentinel to tell "untouched" from "set to NULL" on failure */
	oci_profile_t *const untouched = (oci_profile_t *)(uintptr_t)&sink;
	oci_profile_t *p = untouched;
	int r;

	memset(err, 'x', errsz);
	r = oci_profile_parse((const char *)data, size, NAME, profile, &p, err, errsz);
	if (r == 0) {
		REQUIRE(p != untouched && p != NULL);
		check_profile(p, profile, size);
		oci_profile_free(p);
		return 0;
	}
	REQUIRE(r == -EINVAL || r == -EFBIG || r == -ENOMEM);
	REQUIRE(p == untouched);
	REQUIRE(memchr(err, '\0', errsz) != NULL);
	REQUIRE(strncmp(err, NAME, strlen(NAME)) == 0 || r == -ENOMEM);
	REQUIRE(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
	fprintf(sink, "%s\n", err);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = { NULL, "DEFAULT", "prod", "dev" };
	static int once;
	char err1[HTTP_ERROR_MAX], err2[HTTP_ERROR_MAX];

	if (!once) { /* "~/" paths: a fixed home, whatever the environment */
		setenv("HOME", HOME, 1);
		unsetenv("OCI_CLI_PROFILE");
		once = 1;
	}
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		int r = run(data, size, profiles[i], err1, sizeof(err1));

		if (i == 2) { /* the same again: the same answer */
			REQUIRE(run(data, size, profiles[i], err2, sizeof(err2)) == r);
			REQUIRE(r == 0 || strcmp(err1, err2) == 0);
		}
	}
	return 0;
}
