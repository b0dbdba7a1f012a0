/* cmd-oci-sign.c - `autoscalerd oci-sign`: the headers OCI would want on one request, signed
 * with a profile of ~/.oci/config, for checking credentials and the signer by hand (curl -H)
 * and against the published vectors.
 *
 * Signs as api_key (keyId TENANCY/USER/FINGERPRINT, the fingerprint as the profile writes
 * it, since that is what the client sends) or, when the profile has security_token_file,
 * as a session (keyId ST$TOKEN). Prints "name: value" lines on stdout in the order date,
 * host, authorization[, content-length, content-type, x-content-sha256]. Warnings (a key
 * file open to group or others, a fingerprint that is not the key's) go to stderr and do not
 * stop the signing. Exit 1 with the reason when it cannot sign, 2 on a bad command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "autoscalerd/cli.h"
#include "oci/oci.h"

#define MAX_BODY ((size_t)10 << 20)
#define PREFIX "autoscalerd oci-sign: "
#define USAGE                                                                               \
	"usage: autoscalerd oci-sign [--oci-config FILE] [--profile NAME] --method METHOD\n"  \
	"                            --url URL [--body FILE|-] [--content-type TYPE]\n"       \
	"                            [--date 'Thu, 05 Jan 2014 21:31:40 GMT'] [--verbose]\n"

/* Reads all of f, at most max bytes, into a malloc'd buffer (NUL-terminated). -E2BIG over
 * max, -EIO, -ENOMEM. */
static int read_all(FILE *f, size_t max, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;

	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			if (cap > max + 2)
				cap = max + 2;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (len > max) {
			free(buf);
			return -E2BIG;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* --body: a file, or stdin for "-". */
static int read_body(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	int r;

	if (!f) {
		r = -errno;
		fprintf(stderr, PREFIX "--body %s: %s\n", path, strerror(-r));
		return r;
	}
	r = read_all(f, MAX_BODY, ret, ret_len);
	if (f != stdin)
		fclose(f);
	if (r < 0)
		fprintf(stderr, PREFIX "--body %s: %s\n", path,
			r == -E2BIG ? "larger than the 10 MiB a body may have" : strerror(-r));
	return r;
}

/* A value the profile must have for this kind of signing; prints why when it is missing. */
static const char *required(const oci_profile_t *p, oci_profile_key_t k, const char *why)
{
	char where[512];

	if (p->values[k] && *p->values[k])
		return p->values[k];
	oci_profile_where(p, k, where, sizeof(where));
	fprintf(stderr, PREFIX "%s: %s (needed %s)\n", where, p->values[k] ? "empty" : "missing",
		why);
	return NULL;
}

/* The session token of security_token_file, trailing newline and blanks stripped. */
static int read_token(const oci_profile_t *p, char **ret)
{
	const char *path = p->values[OCI_PK_SECURITY_TOKEN_FILE];
	char where[512], *tok = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	oci_profile_where(p, OCI_PK_SECURITY_TOKEN_FILE, where, sizeof(where));
	f = fopen(path, "rb");
	if (!f) {
		r = -errno;
		fprintf(stderr, PREFIX "%s: %s: %s\n", where, path, strerror(-r));
		return r;
	}
	r = read_all(f, OCI_MAX_TOKEN, &tok, &len);
	fclose(f);
	if (r < 0) {
		fprintf(stderr, PREFIX "%s: %s: %s\n", where, path,
			r == -E2BIG ? "larger than a session token may be" : strerror(-r));
		return r;
	}
	while (len > 0 && strchr("\r\n \t", tok[len - 1]))
		tok[--len] = '\0';
	if (len == 0) {
		fprintf(stderr, PREFIX "%s: %s is empty (run `oci session refresh` or "
			"`oci session authenticate`)\n", where, path);
		free(tok);
		return -EINVAL;
	}
	*ret = tok;
	return 0;
}

/* Warnings that do not stop the signing. */
static void warn_key(const oci_profile_t *p, const oci_key_t *key, bool api_key)
{
	const char *path = p->values[OCI_PK_KEY_FILE], *fp = p->values[OCI_PK_FINGERPRINT];
	char real[OCI_FINGERPRINT_LEN], where[512];
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
		fprintf(stderr, "warning: key_file %s is readable by %s (mode %04o); "
			"chmod 600 it\n", path, (st.st_mode & S_IROTH) ? "others" : "its group",
			(unsigned)(st.st_mode & 07777));
	if (!api_key || !fp || oci_key_fingerprint(key, real) < 0 || !strcmp(fp, real))
		return;
	oci_profile_where(p, OCI_PK_FINGERPRINT, where, sizeof(where));
	fprintf(stderr, "warning: %s: %.64s is not the fingerprint of key_file %s (%s); OCI will "
		"refuse the signature (401 NotAuthenticated)\n", where, fp, path, real);
}

int cmd_oci_sign(int argc, char **argv)
{
	const char *config = NULL, *profile = NULL, *method = NULL, *url = NULL;
	const char *body_file = NULL, *content_type = NULL, *date = NULL;
	bool verbose = false, api_key;
	oci_profile_t *p = NULL;
	oci_key_t *key = NULL;
	oci_signed_t s = { 0 };
	char err[HTTP_ERROR_MAX], where[512], *body = NULL, *token = NULL, *key_id = NULL;
	char *sstr = NULL;
	size_t body_len = 0;
	int rc = CLI_EXIT_INVALID, r;

	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(USAGE);
			return CLI_EXIT_OK;
		}
		if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
			verbose = true;
			continue;
		}
		if ((v = cli_option(argc, argv, &i, "--oci-config", NULL, &missing)))
			config = v;
		else if (!missing && (v = cli_option(argc, argv, &i, "--profile", NULL, &missing)))
			profile = v;
		else if (!missing && (v = cli_option(argc, argv, &i, "--method", "-X", &missing)))
			method = v;
		else if (!missing && (v = cli_option(argc, argv, &i, "--url", NULL, &missing)))
			url = v;
		else if (!missing && (v = cli_option(argc, argv, &i, "--body", "-d", &missing)))
			body_file = v;
		else if (!missing &&
			 (v = cli_option(argc, argv, &i, "--content-type", NULL, &missing)))
			content_type = v;
		else if (!missing && (v = cli_option(argc, argv, &i, "--date", NULL, &missing)))
			date = v;
		if (v)
			continue;
		fprintf(stderr, PREFIX "%s \"%s\"\n" USAGE,
			missing ? "missing value for" : "unexpected argument", argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (!method || !url) {
		fprintf(stderr, PREFIX "%s is required\n" USAGE, !method ? "--method" : "--url");
		return CLI_EXIT_USAGE;
	}

	r = oci_profile_load(config, profile, &p, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PREFIX "%s\n", err);
		goto out;
	}
	api_key = !(p->values[OCI_PK_SECURITY_TOKEN_FILE] && *p->values[OCI_PK_SECURITY_TOKEN_FILE]);
	if (!required(p, OCI_PK_KEY_FILE, api_key ? "to sign with an API key"
						  : "to sign with a session token"))
		goto out;
	if (api_key && (!required(p, OCI_PK_TENANCY, "to sign with an API key") ||
			!required(p, OCI_PK_USER, "to sign with an API key") ||
			!required(p, OCI_PK_FINGERPRINT, "to sign with an API key")))
		goto out;

	{
		const char *pass = p->values[OCI_PK_PASS_PHRASE];

		r = oci_key_load_file(p->values[OCI_PK_KEY_FILE], pass && *pass ? pass : NULL, &key,
				      err, sizeof(err));
	}
	if (r < 0) {
		oci_profile_where(p, OCI_PK_KEY_FILE, where, sizeof(where));
		fprintf(stderr, PREFIX "%s: %s\n", where, err);
		goto out;
	}
	warn_key(p, key, api_key);

	if (api_key)
		r = asprintf(&key_id, "%s/%s/%s", p->values[OCI_PK_TENANCY], p->values[OCI_PK_USER],
			     p->values[OCI_PK_FINGERPRINT]);
	else if (read_token(p, &token) < 0)
		goto out;
	else
		r = asprintf(&key_id, "ST$%s", token);
	if (r < 0) {
		key_id = NULL;
		fprintf(stderr, PREFIX "out of memory\n");
		goto out;
	}

	if (body_file && read_body(body_file, &body, &body_len) < 0)
		goto out;

	{
		oci_sign_input_t in = {
			.method = method,
			.url = url,
			.date = date,
			.body = body,
			.body_len = body_len,
			.content_type = content_type,
		};

		if (verbose && oci_signing_string(&in, &sstr, err, sizeof(err)) == 0)
			fprintf(stderr, "signing string:\n%s\n", sstr);
		r = oci_sign(key, key_id, &in, &s, err, sizeof(err));
	}
	if (r < 0) {
		/* a bad keyId comes from the profile: say where */
		if (!strncmp(err, "keyId", 5)) {
			oci_profile_where(p, api_key ? OCI_PK_FINGERPRINT : OCI_PK_SECURITY_TOKEN_FILE,
					  where, sizeof(where));
			fprintf(stderr, PREFIX "%s (or another part of the keyId): %s\n", where, err);
		} else
			fprintf(stderr, PREFIX "%s\n", err);
		goto out;
	}
	for (size_t i = 0; i < s.n_headers; i++)
		printf("%s: %s\n", s.headers[i].name, s.headers[i].value);
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_INVALID;
out:
	oci_signed_free(&s);
	free(sstr);
	free(body);
	free(key_id);
	free(token);
	oci_key_unref(key);
	oci_profile_free(p);
	return rc;
}
