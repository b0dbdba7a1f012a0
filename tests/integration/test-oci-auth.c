/* test-oci-auth.c - oci/'s credentials end to end against the fake OCI APIs of
 * tests/fakes/oci-api.h: API keys from ~/.oci/config (with their errors and warnings),
 * security tokens (rotated, expired), instance principals (IMDS v2, the v1 fallback, x509
 * federation, refresh after revocation, scheduled refresh, a dead metadata service),
 * workload identity (proxymux), and OKE cluster tokens the fake's API-server check accepts.
 * Every signed request goes out raw through http/ to the fake's Container Engine endpoint,
 * which verifies the signature with its own code.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "autoscalerd/ev-glue.h"
#include "oci/oci.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/oci-api.h"
#include "tests/fakes/test-loop.h"

#define TENANCY "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
#define USER "ocid1.user.oc1..aaaaaaaatestuser"
#define POOL "ocid1.nodepool.oc1.iad.aaaaaaaatestpool"
#define CLUSTER "ocid1.cluster.oc1.iad.aaaaaaaatestcluster"
#define SA_TOKEN "sa-token-of-the-pod"

static char base_dir[PATH_MAX - 64];   /* per run (unchecked fixture): removed at the end */
static char dir[PATH_MAX];             /* per test */
static char old_home[PATH_MAX];
static char *key_pem, *key2_pem;       /* RSA-2048, PKCS#8, made once */
static char key_fp[OCI_FINGERPRINT_LEN];

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *http;
static http_profile_t *ce_tls;
static fake_oci_t *fake;
static oci_auth_t *auth;

static const char *const env_vars[] = {
	"OCI_RESOURCE_PRINCIPAL_VERSION", "OCI_RESOURCE_PRINCIPAL_REGION",
	"KUBERNETES_SERVICE_HOST", "OCI_METADATA_BASE_URL", "OCI_SDK_AUTH_CLIENT_REGION_URL",
	"OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH", "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH",
	"OCI_CLI_CONFIG_FILE", "OCI_CONFIG_FILE", "OCI_CLI_PROFILE",
};

/* ---- helpers ------------------------------------------------------------------------------ */

/* Replaces path atomically (a new inode), as `oci session refresh` and kubelet do. */
static void replace_file(const char *path, const char *text)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	check_write_file(tmp, text, 0600);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* A path in the test's directory; each name gets its own buffer, which lasts the test (so
 * options may point at it). */
static const char *path_of(const char *name)
{
	static char names[32][64], bufs[32][PATH_MAX + 64];
	static char owner[PATH_MAX];
	static int n;
	char *b;
	int i;

	if (strcmp(owner, dir)) {
		snprintf(owner, sizeof(owner), "%s", dir);
		n = 0;
	}
	for (i = 0; i < n && strcmp(names[i], name); i++)
		;
	if (i == n) {
		ck_assert_int_lt(n, 32);
		snprintf(names[n++], sizeof(names[0]), "%s", name);
	}
	b = bufs[i];

	snprintf(b, PATH_MAX + 64, "%s/%s", dir, name);
	return b;
}

/* key_pem encrypted with a pass phrase (PKCS#8, AES-256-CBC). */
static char *encrypted_pem(const char *pem, const char *pass)
{
	BIO *in = BIO_new_mem_buf(pem, -1), *out = BIO_new(BIO_s_mem());
	EVP_PKEY *k = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	char *data, *s;
	long n;

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(out, k, EVP_aes_256_cbc(), NULL, 0, NULL,
							(void *)pass),
			 1);
	n = BIO_get_mem_data(out, &data);
	s = strndup(data, (size_t)n);
	BIO_free(in);
	BIO_free(out);
	EVP_PKEY_free(k);
	return s;
}

static void base64url(const char *in, char *out)
{
	size_t n = strlen(in);
	int len = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

/* A JWT-shaped token with this exp (its signature is not checked by the client). */
static void make_jwt(time_t exp, char *buf, size_t size)
{
	char payload[200], h[64], p[300];

	snprintf(payload, sizeof(payload), "{\"sub\":\"test\",\"exp\":%lld,\"iat\":%lld}",
		 (long long)exp, (long long)(exp - 3600));
	base64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", h);
	base64url(payload, p);
	snprintf(buf, size, "%s.%s.c2lnbmF0dXJl", h, p);
}

static void assert_has(const char *s, const char *want)
{
	ck_assert_msg(s && strstr(s, want), "\"%s\"\n  does not contain\n\"%s\"", s ? s : "(null)",
		      want);
}

static void run_until(const int *flag, int want)
{
	test_run_until(loop, flag, want, test_patience(60, 600));
}

struct wait {
	int done;
	bool failed;
	char error[1024];
};

static void on_ready(const char *error, void *ud)
{
	struct wait *w = ud;

	w->done++;
	w->failed = error != NULL;
	snprintf(w->error, sizeof(w->error), "%s", error ? error : "");
}

/* oci_auth_ready() and its outcome: NULL when ready, else the error (static). */
static const char *ready(oci_auth_t *a, bool refresh)
{
	static struct wait w;
	char err[512];

	memset(&w, 0, sizeof(w));
	ck_assert_msg(oci_auth_ready(a, refresh, on_ready, &w, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(w.done, 0); /* never from inside */
	run_until(&w.done, 1);
	ck_assert_int_eq(w.done, 1);
	return w.failed ? w.error : NULL;
}

static void assert_ready(oci_auth_t *a, bool refresh)
{
	const char *e = ready(a, refresh);

	ck_assert_msg(e == NULL, "not ready: %s", e);
}

struct resp {
	int done;
	long status;
	char error[1024];
};

static void on_resp(http_response_t *res, void *ud)
{
	struct resp *r = ud;

	r->done++;
	r->status = res->status;
	snprintf(r->error, sizeof(r->error), "%s", res->error);
}

/* GET of the fake's node pool, signed with a: the HTTP status. */
static long signed_get(oci_auth_t *a)
{
	char url[512], err[512];
	oci_sign_input_t in = { .method = "GET", .url = url };
	oci_signed_t s = { 0 };
	http_request_opts_t ro = { 0 };
	struct resp r = { 0 };

	snprintf(url, sizeof(url), "%s/20180222/nodePools/%s", fake_oci_url(fake), POOL);
	ck_assert_msg(oci_auth_sign(a, &in, &s, err, sizeof(err)) == 0, "%s", err);
	ro.url = url;
	ro.headers = s.headers;
	ro.n_headers = s.n_headers;
	ro.profile = ce_tls;
	ro.timeout_ms = 10000;
	ro.done = on_resp;
	ro.userdata = &r;
	ck_assert_msg(http_submit(http, &ro, NULL, err, sizeof(err)) == 0, "%s", err);
	oci_signed_free(&s);
	run_until(&r.done, 1);
	return r.status;
}

static void expect_get(oci_auth_t *a, long status)
{
	char why[256];
	long got = signed_get(a);

	fake_oci_last_auth_error(fake, why, sizeof(why));
	ck_assert_msg(got == status, "GET answered %ld, not %ld (fake: %s)", got, status, why);
}

/* The keyId a signs with now, "" when it cannot sign. */
static void current_auth(oci_auth_t *a, char *buf, size_t size)
{
	oci_sign_input_t in = { .method = "GET", .url = "https://example.com/" };
	oci_signed_t s = { 0 };
	const char *h, *k;
	char err[256];

	buf[0] = '\0';
	if (oci_auth_sign(a, &in, &s, err, sizeof(err)) < 0)
		return;
	h = oci_signed_get(&s, "authorization");
	k = h ? strstr(h, "keyId=\"") : NULL;
	snprintf(buf, size, "%.*s", k ? (int)strcspn(k + 7, "\"") : 0, k ? k + 7 : "");
	oci_signed_free(&s);
}

/* The keyId of the last request the fake recorded. */
static void last_key_id(char *buf, size_t size)
{
	struct fake_oci_call c;
	size_t n = fake_oci_call_count(fake);

	ck_assert(n > 0);
	ck_assert(fake_oci_call(fake, n - 1, &c));
	snprintf(buf, size, "%s", c.key_id);
}

static void write_config(const char *text)
{
	check_write_file(path_of("config"), text, 0600);
}

/* [DEFAULT] with an API key registered at the fake. */
static void api_key_profile(const char *extra)
{
	char cfg[4096];

	check_write_file(path_of("key.pem"), key_pem, 0600);
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nregion=us-ashburn-1\n"
		 "key_file=%s\n%s",
		 USER, key_fp, TENANCY, path_of("key.pem"), extra ? extra : "");
	write_config(cfg);
}

static int new_auth(const oci_auth_opts_t *o, oci_auth_t **ret, char *err, size_t errsz)
{
	return oci_auth_new(o, ret, err, errsz);
}

static oci_auth_t *must_new(const oci_auth_opts_t *o)
{
	char err[1024];
	oci_auth_t *a = NULL;

	ck_assert_msg(new_auth(o, &a, err, sizeof(err)) == 0, "%s", err);
	return a;
}

static void new_fails(const oci_auth_opts_t *o, int rc, const char *want)
{
	char err[1024] = "";
	oci_auth_t *a = NULL;
	int got = new_auth(o, &a, err, sizeof(err));

	ck_assert_msg(got == rc, "oci_auth_new: %d (%s), not %d", got, err, rc);
	ck_assert_ptr_null(a);
	assert_has(err, want);
}

static oci_auth_opts_t api_key_opts(void)
{
	return (oci_auth_opts_t){ .mode = OCI_AUTH_API_KEY, .http = http,
				  .config_file = path_of("config") };
}

static oci_auth_opts_t ip_opts(void)
{
	return (oci_auth_opts_t){ .mode = OCI_AUTH_INSTANCE_PRINCIPAL, .http = http,
				  .metadata_url = fake_oci_metadata_url(fake),
				  .federation_url = fake_oci_url(fake),
				  .ca_file = fake_oci_ca_file(fake), .timeout_ms = 5000 };
}

static oci_auth_opts_t wi_opts(void)
{
	return (oci_auth_opts_t){ .mode = OCI_AUTH_WORKLOAD_IDENTITY, .http = http,
				  .proxymux_url = fake_oci_url(fake),
				  .sa_token_file = path_of("sa-token"),
				  .sa_ca_file = fake_oci_ca_file(fake), .timeout_ms = 5000 };
}

static void wi_env(void)
{
	setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2", 1);
	setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-phoenix-1", 1);
	check_write_file(path_of("sa-token"), SA_TOKEN "\n", 0600);
	ck_assert_int_eq(fake_oci_set_sa_token(fake, SA_TOKEN), 0);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static void setup_run(void)
{
	check_tmpdir(base_dir, sizeof(base_dir), "test-oci-auth");
}

static void teardown_run(void)
{
	if (test_rm_tree(base_dir) != 0)
		fprintf(stderr, "could not remove %s\n", base_dir);
}

static void setup(void)
{
	http_client_opts_t o = { 0 };
	http_profile_opts_t po = { 0 };
	char err[512];

	snprintf(dir, sizeof(dir), "%s/t-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(old_home, sizeof(old_home), "%s", getenv("HOME") ? getenv("HOME") : "");
	setenv("HOME", dir, 1); /* ~/.oci/config is ours */
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);

	ck_assert_int_eq(fake_oci_start(NULL, &fake), 0);
	ck_assert_int_eq(fake_oci_add_api_key(fake, TENANCY, USER, key_fp, key_pem), 0);
	ck_assert_int_eq(fake_oci_put_pool(fake, &(fake_oci_pool_t){ .id = POOL, .size = 2 }), 0);

	loop = ev_loop_new(EVFLAG_AUTO);
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	ck_assert_int_eq(http_client_new(&o, &http), 0);
	ev_glue_attach(&glue, http);
	po.tls.ca_file = fake_oci_ca_file(fake);
	ck_assert_msg(http_profile_new(&po, &ce_tls, err, sizeof(err)) == 0, "%s", err);
}

static void teardown(void)
{
	auth = oci_auth_free(auth);
	ce_tls = http_profile_unref(ce_tls);
	http = http_client_free(http);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	fake = fake_oci_stop(fake);
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
	setenv("HOME", old_home, 1);
}

/* ---- api_key ------------------------------------------------------------------------------ */

START_TEST(test_api_key_signs)
{
	oci_auth_opts_t o = api_key_opts();
	const char *const *w;
	char kid[256], want[256];

	api_key_profile(NULL);
	auth = must_new(&o);
	ck_assert_int_eq(oci_auth_warnings(auth, &w), 0);
	ck_assert_int_eq(oci_auth_mode(auth), OCI_AUTH_API_KEY);
	ck_assert_str_eq(oci_auth_region(auth), "us-ashburn-1");
	ck_assert_str_eq(oci_auth_tenancy(auth), TENANCY);
	snprintf(want, sizeof(want), "api_key (profile [DEFAULT] of %s, key %s)",
		 path_of("config"), path_of("key.pem"));
	ck_assert_str_eq(oci_auth_describe(auth), want);
	assert_ready(auth, false);
	assert_ready(auth, true);
	expect_get(auth, 200);
	last_key_id(kid, sizeof(kid));
	snprintf(want, sizeof(want), "%s/%s/%s", TENANCY, USER, key_fp);
	ck_assert_str_eq(kid, want);

	/* the region given wins over the profile's; ~/.oci/config is the default file */
	auth = oci_auth_free(auth);
	ck_assert_int_eq(mkdir(path_of(".oci"), 0700), 0);
	ck_assert_int_eq(rename(path_of("config"), path_of(".oci/config")), 0);
	o.config_file = NULL;
	o.region = "eu-frankfurt-1";
	auth = must_new(&o);
	ck_assert_str_eq(oci_auth_region(auth), "eu-frankfurt-1");
	expect_get(auth, 200);

	/* no http client: it still signs (the CLI), but cannot wait */
	auth = oci_auth_free(auth);
	o.http = NULL;
	auth = must_new(&o);
	expect_get(auth, 200);
	{
		char err[256];
		struct wait wt = { 0 };

		ck_assert_int_eq(oci_auth_ready(auth, false, on_ready, &wt, NULL, err, sizeof(err)),
				 -EINVAL);
	}
}
END_TEST

START_TEST(test_api_key_config_errors)
{
	oci_auth_opts_t o = api_key_opts();
	char cfg[4096], want[1024];
	char *enc;

	/* a key missing from the profile: file, profile and key named */
	check_write_file(path_of("key.pem"), key_pem, 0600);
	snprintf(cfg, sizeof(cfg), "[DEFAULT]\nfingerprint=%s\ntenancy=%s\nkey_file=%s\n", key_fp,
		 TENANCY, path_of("key.pem"));
	write_config(cfg);
	snprintf(want, sizeof(want),
		 "%s: profile [DEFAULT]: key user is missing (needed by oci.auth: api_key)",
		 path_of("config"));
	new_fails(&o, -EINVAL, want);

	/* an unknown profile */
	api_key_profile("[dev]\nregion=us-phoenix-1\n");
	o.profile = "prod";
	snprintf(want, sizeof(want), "%s: no profile [prod] (profiles: DEFAULT, dev)",
		 path_of("config"));
	new_fails(&o, -EINVAL, want);
	o.profile = NULL;

	/* an encrypted key: no, a wrong and the right pass phrase */
	enc = encrypted_pem(key_pem, "right horse");
	check_write_file(path_of("enc.pem"), enc, 0600);
	free(enc);
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nkey_file=%s\npass_phrase=wrong\n",
		 USER, key_fp, TENANCY, path_of("enc.pem"));
	write_config(cfg);
	snprintf(want, sizeof(want), "%s:5: profile [DEFAULT]: key key_file: %s: wrong pass_phrase",
		 path_of("config"), path_of("enc.pem"));
	new_fails(&o, -EKEYREJECTED, want);
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nkey_file=%s\n", USER, key_fp,
		 TENANCY, path_of("enc.pem"));
	write_config(cfg);
	new_fails(&o, -EKEYREJECTED, "no pass_phrase");
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nkey_file=%s\n"
		 "pass_phrase=right horse\n",
		 USER, key_fp, TENANCY, path_of("enc.pem"));
	write_config(cfg);
	auth = must_new(&o);
	ck_assert_ptr_null(oci_auth_region(auth)); /* none in the profile: unknown */
	expect_get(auth, 200);
	auth = oci_auth_free(auth);

	/* a key file that is not there; a region that is not one */
	snprintf(cfg, sizeof(cfg), "[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nkey_file=%s\n",
		 USER, key_fp, TENANCY, path_of("nope.pem"));
	write_config(cfg);
	snprintf(want, sizeof(want), "%s:5: profile [DEFAULT]: key key_file: %s",
		 path_of("config"), path_of("nope.pem"));
	new_fails(&o, -ENOENT, want);
	api_key_profile(NULL);
	o.region = "Not A Region";
	new_fails(&o, -EINVAL, "\"Not A Region\" is not a region name");

	/* security_token needs its files */
	o.region = NULL;
	o.mode = OCI_AUTH_SECURITY_TOKEN;
	snprintf(want, sizeof(want),
		 "%s: profile [DEFAULT]: key security_token_file is missing (needed by oci.auth: "
		 "security_token)",
		 path_of("config"));
	new_fails(&o, -EINVAL, want);
}
END_TEST

START_TEST(test_api_key_warnings)
{
	oci_auth_opts_t o = api_key_opts();
	const char *const *w;
	char cfg[4096], want[1024];
	static const char other_fp[] = "11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00";

	/* readable by others: said, with the mode and the fix */
	api_key_profile(NULL);
	ck_assert_int_eq(chmod(path_of("key.pem"), 0644), 0);
	auth = must_new(&o);
	ck_assert_int_eq(oci_auth_warnings(auth, &w), 1);
	snprintf(want, sizeof(want),
		 "key file %s is readable by group or others (mode 0644): chmod 600 %s",
		 path_of("key.pem"), path_of("key.pem"));
	ck_assert_str_eq(w[0], want);
	expect_get(auth, 200); /* a warning, not an error */
	auth = oci_auth_free(auth);

	/* a fingerprint that is not the key's: warned at load, and OCI (the fake, which has
	 * the key under its real fingerprint) answers 401 */
	snprintf(cfg, sizeof(cfg), "[DEFAULT]\nuser=%s\nfingerprint=%s\ntenancy=%s\nkey_file=%s\n",
		 USER, other_fp, TENANCY, path_of("key.pem"));
	write_config(cfg);
	ck_assert_int_eq(chmod(path_of("key.pem"), 0600), 0);
	auth = must_new(&o);
	ck_assert_int_eq(oci_auth_warnings(auth, &w), 1);
	snprintf(want, sizeof(want),
		 "%s:3: profile [DEFAULT]: key fingerprint: %s is not the fingerprint of %s (%s): "
		 "OCI will answer 401 NotAuthenticated",
		 path_of("config"), other_fp, path_of("key.pem"), key_fp);
	ck_assert_str_eq(w[0], want);
	expect_get(auth, 401);
}
END_TEST

/* ---- security_token ----------------------------------------------------------------------- */

START_TEST(test_security_token)
{
	oci_auth_opts_t o = api_key_opts();
	char cfg[4096], kid[256], want[1024], jwt[512];
	char *t1, *t2;
	const char *e;

	o.mode = OCI_AUTH_SECURITY_TOKEN;
	o.profile = "session";
	check_write_file(path_of("key.pem"), key2_pem, 0600);
	t1 = fake_oci_issue_token(fake, key2_pem, 3600);
	ck_assert_ptr_nonnull(t1);
	check_write_file(path_of("token"), t1, 0600);
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\nregion=us-ashburn-1\n[session]\nkey_file=%s\n"
		 "security_token_file=%s\n",
		 path_of("key.pem"), path_of("token"));
	write_config(cfg);
	auth = must_new(&o);
	snprintf(want, sizeof(want), "security_token (profile [session] of %s, token %s)",
		 path_of("config"), path_of("token"));
	ck_assert_str_eq(oci_auth_describe(auth), want);
	ck_assert_str_eq(oci_auth_region(auth), "us-ashburn-1");
	ck_assert_ptr_null(oci_auth_tenancy(auth));
	assert_ready(auth, false);
	expect_get(auth, 200);
	last_key_id(kid, sizeof(kid));
	ck_assert(strncmp(kid, "ST$", 3) == 0);
	ck_assert(strncmp(kid + 3, t1, strlen(kid) - 3) == 0);

	/* `oci session refresh`: the old token is revoked, the file rewritten; the next
	 * signature reads the new one */
	fake_oci_revoke_tokens(fake);
	expect_get(auth, 401);
	t2 = fake_oci_issue_token(fake, key2_pem, 3600);
	replace_file(path_of("token"), t2);
	expect_get(auth, 200);

	/* a token file that went bad keeps the token read before */
	replace_file(path_of("token"), "");
	expect_get(auth, 200);
	e = ready(auth, true);
	ck_assert_ptr_nonnull(e);
	assert_has(e, "is empty");
	expect_get(auth, 200);

	/* an expired session: oci_auth_ready says what to run */
	make_jwt(time(NULL) - 120, jwt, sizeof(jwt));
	replace_file(path_of("token"), jwt);
	e = ready(auth, false);
	ck_assert_ptr_nonnull(e);
	assert_has(e, "security_token (profile [session] of ");
	assert_has(e, "expired at ");
	assert_has(e, "run `oci session refresh --profile session`");
	assert_has(e, "`oci session authenticate`");
	/* and one that is good again */
	replace_file(path_of("token"), t2);
	assert_ready(auth, false);
	free(t1);
	free(t2);
}
END_TEST

/* ---- instance_principal ------------------------------------------------------------------- */

START_TEST(test_instance_principal)
{
	oci_auth_opts_t o = ip_opts();
	char kid[256], want[512], err[512];
	oci_signed_t s = { 0 };
	oci_sign_input_t in = { .method = "GET", .url = "https://example.com/" };
	struct wait w1 = { 0 }, w2 = { 0 };

	auth = must_new(&o);
	ck_assert_ptr_null(oci_auth_region(auth));
	ck_assert_ptr_null(oci_auth_tenancy(auth));
	/* not ready: no signature */
	ck_assert_int_eq(oci_auth_sign(auth, &in, &s, err, sizeof(err)), -EAGAIN);

	assert_ready(auth, false);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 1);
	ck_assert_str_eq(oci_auth_region(auth), "us-ashburn-1");
	ck_assert_str_eq(oci_auth_tenancy(auth), fake_oci_instance_tenancy(fake));
	snprintf(want, sizeof(want), "instance_principal (tenancy %s)",
		 fake_oci_instance_tenancy(fake));
	ck_assert_str_eq(oci_auth_describe(auth), want);
	ck_assert_int_gt(fake_oci_count(fake, "GET /opc/v2/identity/cert.pem"), 0);
	ck_assert_int_eq(fake_oci_count(fake, "/opc/v1/"), 0);
	expect_get(auth, 200);
	last_key_id(kid, sizeof(kid));
	ck_assert(strncmp(kid, "ST$", 3) == 0);

	/* ready again: no new fetch */
	assert_ready(auth, false);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 1);

	/* revoked: 401, then a refresh that concurrent waiters share */
	fake_oci_revoke_tokens(fake);
	expect_get(auth, 401);
	ck_assert_int_eq(oci_auth_ready(auth, true, on_ready, &w1, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(oci_auth_ready(auth, true, on_ready, &w2, NULL, err, sizeof(err)), 0);
	run_until(&w1.done, 1);
	run_until(&w2.done, 1);
	ck_assert_msg(!w1.failed && !w2.failed, "%s %s", w1.error, w2.error);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 2);
	expect_get(auth, 200);

	/* the federation endpoint failing: the error names the step and OCI's answer */
	ck_assert_int_eq(fake_oci_fail_next(fake, "POST /v1/x509", 1, 400, "InvalidParameter",
					    0),
			 0);
	{
		const char *e = ready(auth, true);

		ck_assert_ptr_nonnull(e);
		snprintf(want, sizeof(want), "instance principal: POST %s/v1/x509: HTTP 400",
			 fake_oci_url(fake));
		assert_has(e, want);
		assert_has(e, "InvalidParameter");
		/* within 5 s the same error, without a new request */
		e = ready(auth, true);
		assert_has(e, "InvalidParameter");
		assert_has(e, "s ago");
		ck_assert_int_eq(fake_oci_count(fake, "POST /v1/x509"), 3);
	}
	/* the token from before still signs */
	expect_get(auth, 200);
}
END_TEST

START_TEST(test_instance_principal_v1)
{
	oci_auth_opts_t o = ip_opts();

	fake_oci_set_metadata_v2(fake, false);
	o.region = "us-phoenix-1"; /* given: not asked of the metadata */
	auth = must_new(&o);
	assert_ready(auth, false);
	ck_assert_int_eq(fake_oci_count(fake, "GET /opc/v2/identity/cert.pem"), 1);
	ck_assert_int_gt(fake_oci_count(fake, "GET /opc/v1/identity/cert.pem"), 0);
	ck_assert_int_gt(fake_oci_count(fake, "GET /opc/v1/identity/key.pem"), 0);
	ck_assert_int_eq(fake_oci_count(fake, "Region"), 0);
	ck_assert_str_eq(oci_auth_region(auth), "us-phoenix-1");
	expect_get(auth, 200);
	/* the next fetch goes to v1 at once */
	assert_ready(auth, true);
	ck_assert_int_eq(fake_oci_count(fake, "GET /opc/v2/identity/cert.pem"), 1);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 2);

	/* from the environment */
	auth = oci_auth_free(auth);
	setenv("OCI_METADATA_BASE_URL", fake_oci_metadata_url(fake), 1);
	setenv("OCI_SDK_AUTH_CLIENT_REGION_URL", fake_oci_url(fake), 1);
	o.metadata_url = o.federation_url = NULL;
	o.region = NULL;
	auth = must_new(&o);
	assert_ready(auth, false);
	ck_assert_str_eq(oci_auth_region(auth), "us-ashburn-1");
	expect_get(auth, 200);
}
END_TEST

START_TEST(test_instance_principal_dead_metadata)
{
	oci_auth_opts_t o = ip_opts();
	const char *e;
	double t0;

	o.metadata_url = "http://127.0.0.1:1/opc/v2";
	auth = must_new(&o);
	t0 = ev_time();
	e = ready(auth, false);
	ck_assert_ptr_nonnull(e);
	assert_has(e, "instance principal: GET http://127.0.0.1:1/opc/v2/identity/cert.pem: ");
	assert_has(e, "is this an OCI instance?");
	ck_assert_msg(ev_time() - t0 < 20, "took %.1f s", ev_time() - t0);
	/* no hammering: the same answer at once */
	e = ready(auth, false);
	assert_has(e, "is this an OCI instance?");
	assert_has(e, "s ago");
	/* a federation endpoint that refuses TLS with another CA */
	auth = oci_auth_free(auth);
	o = ip_opts();
	o.ca_file = NULL; /* the system's CAs do not know the fake's */
	auth = must_new(&o);
	e = ready(auth, false);
	ck_assert_ptr_nonnull(e);
	assert_has(e, "instance principal: POST https://127.0.0.1:");
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 0);
}
END_TEST

START_TEST(test_instance_principal_scheduled_refresh)
{
	fake_oci_opts_t fo = { .token_ttl_s = 10 };
	oci_auth_opts_t o;
	static char first[8192], now[8192];

	/* a fake whose tokens live 10 s: refreshed OCI_REFRESH_MIN_S (5 s) after arriving */
	fake = fake_oci_stop(fake);
	ck_assert_int_eq(fake_oci_start(&fo, &fake), 0);
	ck_assert_int_eq(fake_oci_put_pool(fake, &(fake_oci_pool_t){ .id = POOL, .size = 2 }), 0);
	ce_tls = http_profile_unref(ce_tls);
	{
		http_profile_opts_t po = { .tls = { .ca_file = fake_oci_ca_file(fake) } };
		char err[256];

		ck_assert_msg(http_profile_new(&po, &ce_tls, err, sizeof(err)) == 0, "%s", err);
	}
	o = ip_opts();
	auth = must_new(&o);
	assert_ready(auth, false);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 1);
	test_run_for(loop, 3);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 1);
	current_auth(auth, first, sizeof(first));
	{
		double end = ev_time() + (getenv("AUTOSCALERD_VALGRIND") ? 120 : 5);

		while (ev_time() < end) {
			test_run_for(loop, 0.1);
			current_auth(auth, now, sizeof(now));
			if (now[0] && strcmp(now, first))
				break; /* ("" while the old one expired and the new one is not in) */
		}
	}
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 2);
	ck_assert_str_ne(now, first); /* the client took the new token */
	expect_get(auth, 200);
}
END_TEST

/* ---- workload_identity -------------------------------------------------------------------- */

START_TEST(test_workload_identity)
{
	oci_auth_opts_t o;
	char kid[256];
	const char *e;

	wi_env();
	o = wi_opts();
	auth = must_new(&o);
	ck_assert_str_eq(oci_auth_region(auth), "us-phoenix-1");
	ck_assert_ptr_null(oci_auth_tenancy(auth));
	assert_ready(auth, false);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, true), 1);
	expect_get(auth, 200);
	last_key_id(kid, sizeof(kid));
	ck_assert(strncmp(kid, "ST$", 3) == 0);
	ck_assert(strncmp(kid, "ST$ST$", 6) != 0);

	/* refresh after a revocation */
	fake_oci_revoke_tokens(fake);
	expect_get(auth, 401);
	assert_ready(auth, true);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, true), 2);
	expect_get(auth, 200);

	/* the service-account token rotates: read at each fetch; a wrong one is refused */
	replace_file(path_of("sa-token"), "not-the-token");
	auth = oci_auth_free(auth);
	auth = must_new(&o);
	e = ready(auth, false);
	ck_assert_ptr_nonnull(e);
	assert_has(e, "workload identity: POST ");
	assert_has(e, "/resourcePrincipalSessionTokens: HTTP 401");
	assert_has(e, "the proxymux refused the service-account token of ");
	ck_assert_int_eq(fake_oci_tokens_issued(fake, true), 2);
	replace_file(path_of("sa-token"), SA_TOKEN);
	auth = oci_auth_free(auth);
	auth = must_new(&o);
	assert_ready(auth, false);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, true), 3);
}
END_TEST

START_TEST(test_workload_identity_inputs)
{
	oci_auth_opts_t o;

	wi_env();
	o = wi_opts();
	setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "1.1", 1);
	new_fails(&o, -EINVAL, "workload_identity: OCI_RESOURCE_PRINCIPAL_VERSION is \"1.1\"");
	unsetenv("OCI_RESOURCE_PRINCIPAL_VERSION");
	new_fails(&o, -EINVAL, "OCI_RESOURCE_PRINCIPAL_VERSION is not set");
	setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2", 1);
	unsetenv("OCI_RESOURCE_PRINCIPAL_REGION");
	new_fails(&o, -EINVAL, "OCI_RESOURCE_PRINCIPAL_REGION");
	o.region = "us-sanjose-1";
	auth = must_new(&o);
	ck_assert_str_eq(oci_auth_region(auth), "us-sanjose-1");
	auth = oci_auth_free(auth);
	setenv("OCI_RESOURCE_PRINCIPAL_REGION", "iad", 1); /* airport codes too */
	o.region = NULL;
	auth = must_new(&o);
	ck_assert_str_eq(oci_auth_region(auth), "us-ashburn-1");
	auth = oci_auth_free(auth);

	o.sa_token_file = path_of("no-token");
	new_fails(&o, -ENOENT, "workload_identity: service-account token ");
	o = wi_opts();
	o.proxymux_url = NULL;
	new_fails(&o, -EINVAL, "KUBERNETES_SERVICE_HOST is not set");
	/* the proxymux from the environment, and the SDK's variables for the files */
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH", path_of("sa-token"), 1);
	setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", fake_oci_ca_file(fake), 1);
	o.sa_token_file = o.sa_ca_file = NULL;
	auth = must_new(&o);
	assert_has(oci_auth_describe(auth), "proxymux https://127.0.0.1:12250");
}
END_TEST

/* ---- OKE cluster tokens ------------------------------------------------------------------- */

static void verify_token(oci_auth_t *a, time_t now, int want_rc, const char *want_err)
{
	char *token = NULL, id[256] = "", err[512] = "";
	time_t exp = 0;
	int rc;

	ck_assert_msg(oci_oke_token(a, "us-ashburn-1", CLUSTER, now, &token, &exp, err,
				    sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(exp, now + OCI_OKE_TOKEN_LIFETIME_S);
	rc = fake_oci_verify_cluster_token(fake, token, id, sizeof(id), err, sizeof(err));
	ck_assert_msg(rc == want_rc, "verify: %d (%s), not %d", rc, err, want_rc);
	if (rc == 0)
		ck_assert_str_eq(id, CLUSTER);
	else
		assert_has(err, want_err);
	free(token);
}

START_TEST(test_oke_token)
{
	oci_auth_opts_t o = api_key_opts();
	char *token = NULL, err[512];
	time_t exp;

	api_key_profile(NULL);
	auth = must_new(&o);
	verify_token(auth, time(NULL), 0, NULL);
	/* made 10 minutes ago: the API server refuses it */
	verify_token(auth, time(NULL) - 600, -EACCES, "");

	ck_assert_int_eq(oci_oke_token(auth, "us-ashburn-1", "ocid1.nodepool.oc1..x", 0, &token,
				       &exp, err, sizeof(err)),
			 -EINVAL);
	assert_has(err, "is not a cluster OCID");
	ck_assert_int_eq(oci_oke_token(auth, "Bad Region", CLUSTER, 0, &token, &exp, err,
				       sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(token);

	/* with an instance principal, once it is ready */
	auth = oci_auth_free(auth);
	o = ip_opts();
	auth = must_new(&o);
	ck_assert_int_eq(oci_oke_token(auth, NULL, CLUSTER, 0, &token, &exp, err, sizeof(err)),
			 -EINVAL); /* no region yet */
	assert_ready(auth, false);
	verify_token(auth, time(NULL), 0, NULL);
	/* region NULL: the auth's */
	ck_assert_msg(oci_oke_token(auth, NULL, CLUSTER, 0, &token, &exp, err, sizeof(err)) == 0,
		      "%s", err);
	free(token);
}
END_TEST

/* The token's exact form, against one computed independently with the vectors' key at
 * now = 1700000000 (Tue, 14 Nov 2023 22:13:20 GMT): the signing string of GET
 * https://containerengine.us-ashburn-1.oraclecloud.com/cluster_request/CLUSTER signed by
 * `openssl dgst -sha256 -sign`, then the CLI's own calls, urllib.parse.urlencode() of
 * {"authorization", "date"} and base64.urlsafe_b64encode(). */
START_TEST(test_oke_token_encoding)
{
	char path[1024], cfg[4096], *token = NULL, err[512];
	time_t exp;
	oci_auth_opts_t o = api_key_opts();
	static const char want[] =
	"aHR0cHM6Ly9jb250YWluZXJlbmdpbmUudXMtYXNoYnVybi0xLm9yYWNsZWNsb3VkLmNvbS9jbHVzdGVyX3Jl"
	"cXVlc3Qvb2NpZDEuY2x1c3Rlci5vYzEuaWFkLmFhYWFhYWFhdGVzdGNsdXN0ZXI_YXV0aG9yaXphdGlvbj1T"
	"aWduYXR1cmUrdmVyc2lvbiUzRCUyMjElMjIlMkNoZWFkZXJzJTNEJTIyZGF0ZSslMjhyZXF1ZXN0LXRhcmdl"
	"dCUyOStob3N0JTIyJTJDa2V5SWQlM0QlMjJvY2lkMS50ZW5hbmN5Lm9jMS4udCUyRm9jaWQxLnVzZXIub2Mx"
	"Li51JTJGMjAlM0EzYiUzQTk3JTNBMTMlM0E1NSUzQTFjJTNBNWIlM0EwZCUzQWQzJTNBMzclM0FkOCUzQTUw"
	"JTNBNGUlM0FjNSUzQTNhJTNBMzQlMjIlMkNhbGdvcml0aG0lM0QlMjJyc2Etc2hhMjU2JTIyJTJDc2lnbmF0"
	"dXJlJTNEJTIyY2VkZVJqZmttUlhjUERZSDlNZiUyQk15ajlSVGFZMjA2SzclMkZROWJIeU1sJTJGd3plYjNt"
	"bjIlMkJpcjBUNGRVN2lLb2d2THE2TmpDWFY5QjRVNjFQMiUyRkhiQkxpbFFIMjRaQVJBWWpka0pGUHpubmlO"
	"UiUyRlZWbFZzNTMwUGdEZ0oxRnp1eTZNTCUyQjR1QVBvTnlOeHNxdFNieGJVYyUyQlVTSGdqQnFCQkdQRVNU"
	"JTJGWDF0ODdzJTNEJTIyJmRhdGU9VHVlJTJDKzE0K05vdisyMDIzKzIyJTNBMTMlM0EyMCtHTVQ=";

	snprintf(path, sizeof(path), "%s/tests/vectors/oci/test-key.pem",
		 getenv("AUTOSCALERD_SRCDIR") ? getenv("AUTOSCALERD_SRCDIR") : ".");
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\nuser=ocid1.user.oc1..u\nfingerprint=20:3b:97:13:55:1c:5b:0d:d3:37:d8:"
		 "50:4e:c5:3a:34\ntenancy=ocid1.tenancy.oc1..t\nkey_file=%s\n",
		 path);
	write_config(cfg);
	auth = must_new(&o);
	ck_assert_msg(oci_oke_token(auth, "us-ashburn-1", CLUSTER, 1700000000, &token, &exp, err,
				    sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(token, want);
	ck_assert_int_eq(exp, 1700000000 + 240);
	free(token);
}
END_TEST

/* ---- waiters ------------------------------------------------------------------------------ */

START_TEST(test_cancel_and_free)
{
	oci_auth_opts_t o = ip_opts();
	struct wait w1 = { 0 }, w2 = { 0 };
	oci_auth_wait_t *h1 = NULL;
	char err[256];

	auth = must_new(&o);
	ck_assert_int_eq(oci_auth_ready(auth, false, on_ready, &w1, &h1, err, sizeof(err)), 0);
	ck_assert_int_eq(oci_auth_ready(auth, false, on_ready, &w2, NULL, err, sizeof(err)), 0);
	oci_auth_cancel(auth, h1);
	run_until(&w2.done, 1);
	test_run_for(loop, 0.2);
	ck_assert_int_eq(w1.done, 0);
	ck_assert_msg(!w2.failed, "%s", w2.error);

	/* freed with a waiter and a fetch on their way: no callback */
	memset(&w1, 0, sizeof(w1));
	ck_assert_int_eq(oci_auth_ready(auth, true, on_ready, &w1, NULL, err, sizeof(err)), 0);
	auth = oci_auth_free(auth);
	test_run_for(loop, 0.5);
	ck_assert_int_eq(w1.done, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("oci-auth");
	TCase *tc = tcase_create("against the fake OCI APIs");

	tcase_add_unchecked_fixture(tc, setup_run, teardown_run);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_api_key_signs);
	tcase_add_test(tc, test_api_key_config_errors);
	tcase_add_test(tc, test_api_key_warnings);
	tcase_add_test(tc, test_security_token);
	tcase_add_test(tc, test_instance_principal);
	tcase_add_test(tc, test_instance_principal_v1);
	tcase_add_test(tc, test_instance_principal_dead_metadata);
	tcase_add_test(tc, test_instance_principal_scheduled_refresh);
	tcase_add_test(tc, test_workload_identity);
	tcase_add_test(tc, test_workload_identity_inputs);
	tcase_add_test(tc, test_oke_token);
	tcase_add_test(tc, test_oke_token_encoding);
	tcase_add_test(tc, test_cancel_and_free);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	oci_key_t *k = NULL;
	char err[256];
	int status;

	if (argc < 2) {
		fprintf(stderr, "usage: test-oci-auth PATH/TO/autoscalerd\n");
		return 2;
	}
	/* keys once, for every test (forked or not) */
	key_pem = test_rsa_pem(2048);
	key2_pem = test_rsa_pem(2048);
	if (!key_pem || !key2_pem) {
		fprintf(stderr, "test-oci-auth: cannot make the test keys\n");
		return 1;
	}
	if (oci_key_load_pem(key_pem, strlen(key_pem), NULL, &k, err, sizeof(err)) < 0 ||
	    oci_key_fingerprint(k, key_fp) < 0) {
		fprintf(stderr, "test key: %s\n", err);
		return 1;
	}
	oci_key_unref(k);
	status = check_run(suite(), CK_ENV);
	free(key_pem);
	free(key2_pem);
	return status;
}
