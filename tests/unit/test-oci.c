/* test-oci.c - oci/'s building blocks: the signer on the published vectors (byte for byte)
 * and on every URL, method and body shape, header injection refused; keys in every PEM
 * form with right, wrong and missing pass phrases, and the keys refused; ~/.oci/config as
 * the OCI CLI reads it (DEFAULT inheritance, environment, "~", strictness, limits, the
 * messages); the region table; and `autoscalerd oci-sign`, the real binary.
 *
 * Expected values come from tests/vectors/oci/README.md and from OpenSSL's command line
 * (`openssl pkey -pubout -outform DER | openssl md5 -c`, `date -u`), never from the code
 * under test. Keys other than the vector's are generated at run time into a temp dir.
 */
#include <check.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "oci/oci.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/run-cli.h"

/* ---- tests/vectors/oci/README.md ---------------------------------------------------------- */

#define V_TENANCY "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq"
#define V_USER "ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq"
#define V_FP "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34"
#define V_REAL_FP "73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7"
#define V_KEYID V_TENANCY "/" V_USER "/" V_FP
#define V_DATE "Thu, 05 Jan 2014 21:31:40 GMT"
#define V_HOST "iaas.us-phoenix-1.oraclecloud.com"
#define V_GET_PATH                                                                              \
	"/20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1&compartmentId=ocid1.compartm" \
	"ent.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa&displayName=TeamX" \
	"Instances&volumeId=ocid1.volume.oc1.phx.abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgv" \
	"yndsdsnoiwr5q"
#define V_GET_URL "https://" V_HOST V_GET_PATH
#define V_GET_SS                                                                              \
	"date: " V_DATE "\n(request-target): get " V_GET_PATH "\nhost: " V_HOST
#define V_GET_AUTH                                                                            \
	"Signature version=\"1\",headers=\"date (request-target) host\",keyId=\"" V_KEYID         \
	"\",algorithm=\"rsa-sha256\",signature=\"GBas7grhyrhSKHP6AVIj/h5/Vp8bd/peM79H9Wv8kjoaCi" \
	"vujVXlpbKLjMPeDUhxkFIWtTtLBj3sUzaFj34XE6YZAHc9r2DmE4pMwOAy/kiITcZxa1oHPOeRheC0jP2dqbTl" \
	"l8fmTZVwKZOKHYPtrLJIJQHJjNvxFWeHQjMaR7M=\""
#define V_POST_URL "https://" V_HOST "/20160918/volumeAttachments"
#define V_POST_SHA "V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0="
#define V_POST_SS                                                                             \
	"date: " V_DATE "\n(request-target): post /20160918/volumeAttachments\nhost: " V_HOST   \
	"\ncontent-length: 316\ncontent-type: application/json\nx-content-sha256: " V_POST_SHA
#define V_POST_AUTH                                                                           \
	"Signature version=\"1\",headers=\"date (request-target) host content-length content-t" \
	"ype x-content-sha256\",keyId=\"" V_KEYID "\",algorithm=\"rsa-sha256\",signature=\"Mje8" \
	"vIDPlwIHmD/cTDwRxE7HaAvBg16JnVcsuqaNRim23fFPgQfLoOOxae6WqKb1uPjYEl0qIdazWaBy/Ml8DRhqlo" \
	"cMwoSXv0fbukP8J5N80LCmzT/FFBvIvTB91XuXI3hYfP9Zt1l7S6ieVadHUfqBedWH0itrtPJBgKmrWso=\""
#define EMPTY_SHA "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
/* openssl pkey -in test-key.pem -pubout -outform DER | base64 -w0 */
#define V_PUB_B64                                                                             \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C36rPJj+CvfSC8+q28hxA161" \
	"QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHK" \
	"D6kv8FPGfJTotc+2xjJwoYi+1hqp1fIekaxsyQIDAQAB"

#define PASS "c0rrect horse"
#define NAME "/cfg/oci"

static char tmp[256];
static char err[HTTP_ERROR_MAX];

static void setup(void)
{
	check_tmp_home(tmp, sizeof(tmp), "test-oci");
	unsetenv("OCI_CLI_CONFIG_FILE");
	unsetenv("OCI_CONFIG_FILE");
	unsetenv("OCI_CLI_PROFILE");
	err[0] = '\0';
}

static void teardown(void)
{
	test_rm_tree(tmp);
}

/* tmp/rel (test_path). */
static const char *at(const char *rel)
{
	return test_path(tmp, rel);
}

static void put_n(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void put(const char *path, const char *s)
{
	put_n(path, s, strlen(s), 0600);
}

static const char *srcdir(void)
{
	const char *d = getenv("AUTOSCALERD_SRCDIR");

	ck_assert_msg(d != NULL, "AUTOSCALERD_SRCDIR is not set (run through meson test)");
	return d;
}

static const char *vector(const char *name)
{
	static char bufs[4][512];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/tests/vectors/oci/%s", srcdir(), name);
	return b;
}

/* A file's bytes, malloc'd and NUL-terminated. */
static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (ret_len)
		*ret_len = n;
	return buf;
}

static oci_key_t *vector_key(void)
{
	oci_key_t *k = NULL;

	ck_assert_msg(oci_key_load_file(vector("test-key.pem"), NULL, &k, err, sizeof(err)) == 0,
		      "%s", err);
	return k;
}

/* ---- keys made here, and an independent check of signatures -------------------------------- */

enum pem_form { F_PKCS1, F_PKCS8, F_ENC_PKCS8, F_ENC_PKCS1, F_N };
static const char *const form_name[F_N] = { "PKCS#1", "PKCS#8", "encrypted PKCS#8",
					     "encrypted PKCS#1" };
static const char *const form_marker[F_N] = { "-----BEGIN RSA PRIVATE KEY-----",
					       "-----BEGIN PRIVATE KEY-----",
					       "-----BEGIN ENCRYPTED PRIVATE KEY-----",
					       "Proc-Type: 4,ENCRYPTED" };

static EVP_PKEY *gen_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);

	ck_assert_ptr_nonnull(k);
	return k;
}

static char *bio_string(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	ck_assert_int_gt(n, 0);
	s = strndup(data, (size_t)n);
	ck_assert_ptr_nonnull(s);
	BIO_free(b);
	return s;
}

static char *pem_of(EVP_PKEY *k, enum pem_form form)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ok = 0;
	char *s;

	ck_assert_ptr_nonnull(b);
	switch (form) {
	case F_PKCS1:
		ok = PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
		break;
	case F_PKCS8:
		ok = PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
		break;
	case F_ENC_PKCS8:
		ok = PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), PASS, strlen(PASS),
						   NULL, NULL);
		break;
	case F_ENC_PKCS1:
		ok = PEM_write_bio_PrivateKey_traditional(b, k, EVP_aes_128_cbc(),
							  (unsigned char *)PASS, strlen(PASS),
							  NULL, NULL);
		break;
	default:
		break;
	}
	ck_assert_int_eq(ok, 1);
	s = bio_string(b);
	ck_assert_msg(strstr(s, form_marker[form]), "%s PEM without %s", form_name[form],
		      form_marker[form]);
	return s;
}

/* MD5 of the DER SubjectPublicKeyInfo as aa:bb:..., computed here. */
static void expected_fp(EVP_PKEY *k, char out[48])
{
	unsigned char *der = NULL, md[16];
	unsigned mdlen = 0;
	int n = i2d_PUBKEY(k, &der);

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(EVP_Digest(der, (size_t)n, md, &mdlen, EVP_md5(), NULL), 1);
	for (unsigned i = 0; i < 16; i++)
		sprintf(out + 3 * i, "%02x%s", md[i], i < 15 ? ":" : "");
	OPENSSL_free(der);
}

/* The signature="..." of an authorization header verifies over ss with pub. */
static void verify_auth(EVP_PKEY *pub, const char *ss, const char *auth)
{
	const char *p = strstr(auth, "signature=\"");
	unsigned char sig[1024];
	char b64[1400];
	size_t n;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	ck_assert_ptr_nonnull(p);
	p += strlen("signature=\"");
	n = strcspn(p, "\"");
	ck_assert_uint_lt(n, sizeof(b64));
	memcpy(b64, p, n);
	b64[n] = '\0';
	ck_assert_int_gt(EVP_DecodeBlock(sig, (unsigned char *)b64, (int)n), 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
	ck_assert_msg(EVP_DigestVerify(ctx, sig, (size_t)EVP_PKEY_get_size(pub),
				       (const unsigned char *)ss, strlen(ss)) == 1,
		      "the signature does not verify");
	EVP_MD_CTX_free(ctx);
}

/* ---- the signer ----------------------------------------------------------------------------- */

START_TEST(test_vector_get)
{
	oci_sign_input_t in = { .method = "GET", .url = V_GET_URL, .date = V_DATE };
	oci_key_t *k = vector_key();
	oci_signed_t s = { 0 };
	char *ss = NULL;

	ck_assert_int_eq(oci_signing_string(&in, &ss, err, sizeof(err)), 0);
	ck_assert_str_eq(ss, V_GET_SS);
	free(ss);

	ck_assert_msg(oci_sign(k, V_KEYID, &in, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(s.n_headers, 3);
	ck_assert_str_eq(s.headers[0].name, "date");
	ck_assert_str_eq(s.headers[0].value, V_DATE);
	ck_assert_str_eq(s.headers[1].name, "host");
	ck_assert_str_eq(s.headers[1].value, V_HOST);
	ck_assert_str_eq(s.headers[2].name, "authorization");
	ck_assert_str_eq(s.headers[2].value, V_GET_AUTH);
	oci_signed_free(&s);
	oci_key_unref(k);
}
END_TEST

START_TEST(test_vector_post)
{
	size_t len;
	char *body = slurp(vector("post-body.json"), &len), *ss = NULL;
	oci_sign_input_t in = { .method = "POST", .url = V_POST_URL, .date = V_DATE,
				.body = body, .body_len = len };
	oci_key_t *k = vector_key();
	oci_signed_t s = { 0 };
	static const char *const names[] = { "date", "host", "authorization", "content-length",
					     "content-type", "x-content-sha256" };
	const char *values[] = { V_DATE, V_HOST, V_POST_AUTH, "316", "application/json",
				 V_POST_SHA };

	ck_assert_uint_eq(len, 316);
	ck_assert_int_eq(oci_signing_string(&in, &ss, err, sizeof(err)), 0);
	ck_assert_str_eq(ss, V_POST_SS);
	free(ss);

	ck_assert_msg(oci_sign(k, V_KEYID, &in, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(s.n_headers, 6);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_str_eq(s.headers[i].name, names[i]);
		ck_assert_str_eq(s.headers[i].value, values[i]);
	}
	/* the content type given explicitly is the same thing */
	oci_signed_free(&s);
	in.content_type = "application/json";
	in.method = "post";
	ck_assert_int_eq(oci_sign(k, V_KEYID, &in, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(oci_signed_get(&s, "Authorization"), V_POST_AUTH);
	oci_signed_free(&s);
	oci_key_unref(k);
	free(body);
}
END_TEST

/* POST, PUT and PATCH always carry the body headers, an empty body too. */
START_TEST(test_body_methods)
{
	static const char *const methods[] = { "POST", "PUT", "PATCH", "put", "Patch" };
	const char *m = methods[_i];
	char lower[8], want[512], *ss = NULL;
	oci_sign_input_t in = { .method = m, .url = "https://h.example/p", .date = V_DATE };
	EVP_PKEY *pub = NULL;
	oci_key_t *k = vector_key();
	oci_signed_t s = { 0 };
	FILE *f;

	for (size_t i = 0; i <= strlen(m); i++)
		lower[i] = (char)(m[i] >= 'A' && m[i] <= 'Z' ? m[i] + 32 : m[i]);
	snprintf(want, sizeof(want),
		 "date: " V_DATE "\n(request-target): %s /p\nhost: h.example\ncontent-length: 0\n"
		 "content-type: application/json\nx-content-sha256: " EMPTY_SHA, lower);
	ck_assert_int_eq(oci_signing_string(&in, &ss, err, sizeof(err)), 0);
	ck_assert_str_eq(ss, want);

	ck_assert_int_eq(oci_sign(k, "t/u/f", &in, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n_headers, 6);
	ck_assert_str_eq(s.headers[3].name, "content-length");
	ck_assert_str_eq(s.headers[3].value, "0");
	ck_assert_str_eq(s.headers[4].value, "application/json");
	ck_assert_str_eq(s.headers[5].value, EMPTY_SHA);
	ck_assert_ptr_nonnull(strstr(s.headers[2].value,
				     "headers=\"date (request-target) host content-length "
				     "content-type x-content-sha256\",keyId=\"t/u/f\","));
	f = fopen(vector("test-key.pem"), "r");
	ck_assert_ptr_nonnull(f);
	pub = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(pub);
	verify_auth(pub, ss, s.headers[2].value);
	EVP_PKEY_free(pub);
	free(ss);
	oci_signed_free(&s);

	/* another content type, a non-empty body */
	in.content_type = "application/merge-patch+json";
	in.body = "{\"a\":1}";
	in.body_len = 7;
	ck_assert_int_eq(oci_sign(k, "t/u/f", &in, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(oci_signed_get(&s, "content-type"), "application/merge-patch+json");
	ck_assert_str_eq(oci_signed_get(&s, "content-length"), "7");
	/* printf '{"a":1}' | openssl dgst -sha256 -binary | base64 */
	ck_assert_str_eq(oci_signed_get(&s, "x-content-sha256"),
			 "AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI=");
	oci_signed_free(&s);
	oci_key_unref(k);
}
END_TEST

START_TEST(test_bodyless_methods)
{
	static const char *const methods[] = { "GET", "DELETE", "HEAD", "delete", "Get" };
	static const char *const lower[] = { "get", "delete", "head", "delete", "get" };
	oci_sign_input_t in = { .method = methods[_i], .url = "https://h/n?x=1",
				.date = V_DATE, .body = "", .body_len = 0 };
	oci_key_t *k = vector_key();
	oci_signed_t s = { 0 };
	char want[256], *ss = NULL;

	snprintf(want, sizeof(want), "date: " V_DATE "\n(request-target): %s /n?x=1\nhost: h",
		 lower[_i]);
	ck_assert_int_eq(oci_signing_string(&in, &ss, err, sizeof(err)), 0);
	ck_assert_str_eq(ss, want);
	free(ss);
	ck_assert_int_eq(oci_sign(k, "t/u/f", &in, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n_headers, 3);
	ck_assert_ptr_nonnull(strstr(s.headers[2].value, "headers=\"date (request-target) host\""));
	ck_assert_ptr_null(oci_signed_get(&s, "content-length"));
	ck_assert_ptr_null(oci_signed_get(&s, "x-content-sha256"));
	oci_signed_free(&s);
	oci_key_unref(k);
}
END_TEST

/* host and (request-target) exactly as written. */
static const struct {
	const char *url, *host, *target;
} targets[] = {
	{ "https://h.example.com", "h.example.com", "/" },
	{ "https://h.example.com/", "h.example.com", "/" },
	{ "https://h:8443/a/b?c=d&e=%20f", "h:8443", "/a/b?c=d&e=%20f" },
	{ "http://[::1]:8080/x", "[::1]:8080", "/x" },
	{ "https://[2001:db8::1]/", "[2001:db8::1]", "/" },
	{ "https://[fe80::1%25eth0]:443/z", "[fe80::1%25eth0]:443", "/z" },
	{ "https://h?x=1", "h", "/?x=1" },
	{ "https://h/p#frag", "h", "/p" },
	{ "https://h/p?q=1#frag?x=2", "h", "/p?q=1" },
	{ "https://h#frag", "h", "/" },
	{ "https://H.Example.COM/A%2Fb/", "H.Example.COM", "/A%2Fb/" },
	{ "HTTPS://h:443/", "h:443", "/" },
	{ "https://10.0.0.1:12250/resourcePrincipalSessionTokens", "10.0.0.1:12250",
	  "/resourcePrincipalSessionTokens" },
	{ "https://h//double//slash", "h", "//double//slash" },
};

START_TEST(test_targets)
{
	oci_sign_input_t in = { .method = "GET", .url = targets[_i].url, .date = V_DATE };
	oci_key_t *k = vector_key();
	oci_signed_t s = { 0 };
	char want[512], *ss = NULL;

	snprintf(want, sizeof(want), "date: " V_DATE "\n(request-target): get %s\nhost: %s",
		 targets[_i].target, targets[_i].host);
	ck_assert_msg(oci_signing_string(&in, &ss, err, sizeof(err)) == 0, "%s: %s",
		      targets[_i].url, err);
	ck_assert_str_eq(ss, want);
	free(ss);
	ck_assert_int_eq(oci_sign(k, "t/u/f", &in, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(oci_signed_get(&s, "host"), targets[_i].host);
	oci_signed_free(&s);
	oci_key_unref(k);
}
END_TEST

/* Refused with -EINVAL and a message; the output untouched. */
static const struct {
	const char *method, *url, *date, *content_type, *key_id;
	const char *body;
	size_t body_len;
	const char *msg; /* in the message */
} refusals[] = {
	{ "OPTIONS", "https://h/", NULL, NULL, NULL, NULL, 0, "HTTP method" },
	{ "", "https://h/", NULL, NULL, NULL, NULL, 0, "HTTP method" },
	{ NULL, "https://h/", NULL, NULL, NULL, NULL, 0, "HTTP method" },
	{ "GE T", "https://h/", NULL, NULL, NULL, NULL, 0, "HTTP method" },
	{ "GET", NULL, NULL, NULL, NULL, NULL, 0, "no URL" },
	{ "GET", "ftp://h/", NULL, NULL, NULL, NULL, 0, "not http:// or https://" },
	{ "GET", "h/x", NULL, NULL, NULL, NULL, 0, "not http:// or https://" },
	{ "GET", "https://", NULL, NULL, NULL, NULL, 0, "no host" },
	{ "GET", "https:///x", NULL, NULL, NULL, NULL, 0, "no host" },
	{ "GET", "https://:443/x", NULL, NULL, NULL, NULL, 0, "no host" },
	{ "GET", "https://user:pw@h/", NULL, NULL, NULL, NULL, 0, "user information" },
	{ "GET", "https://@h/", NULL, NULL, NULL, NULL, 0, "user information" },
	{ "GET", "https://h:0/", NULL, NULL, NULL, NULL, 0, "port" },
	{ "GET", "https://h:65536/", NULL, NULL, NULL, NULL, 0, "port" },
	{ "GET", "https://h:/", NULL, NULL, NULL, NULL, 0, "port" },
	{ "GET", "https://h:80x/", NULL, NULL, NULL, NULL, 0, "port" },
	{ "GET", "https://[::1/", NULL, NULL, NULL, NULL, 0, "IPv6" },
	{ "GET", "https://[zz]/", NULL, NULL, NULL, NULL, 0, "IPv6" },
	{ "GET", "https://[::1]x/", NULL, NULL, NULL, NULL, 0, "IPv6" },
	{ "GET", "https://h]/", NULL, NULL, NULL, NULL, 0, "IPv6" },
	{ "GET", "https://h<x>/", NULL, NULL, NULL, NULL, 0, "in the host" },
	{ "GET", "https://h/a b", NULL, NULL, NULL, NULL, 0, "a space" },
	{ "GET", "https://h/a\r\nX-Injected: 1", NULL, NULL, NULL, NULL, 0, "control character" },
	{ "GET", "https://h/a\tb", NULL, NULL, NULL, NULL, 0, "control character" },
	{ "GET", "https://h/\xc3\xa9", NULL, NULL, NULL, NULL, 0, "non-ASCII" },
	{ "GET", "https://h/", V_DATE "\r\nX-Injected: 1", NULL, NULL, NULL, 0, "date" },
	{ "GET", "https://h/", "", NULL, NULL, NULL, 0, "date" },
	{ "POST", "https://h/", NULL, "application/json\nX-Injected: 1", NULL, NULL, 0,
	  "content-type" },
	{ "POST", "https://h/", NULL, "", NULL, NULL, 0, "content-type" },
	{ "GET", "https://h/", NULL, NULL, "t/u/f\r\nX-Injected: 1", NULL, 0, "keyId" },
	{ "GET", "https://h/", NULL, NULL, "t/u/f\",x=\"y", NULL, 0, "keyId" },
	{ "GET", "https://h/", NULL, NULL, "", NULL, 0, "key id" },
	{ "GET", "https://h/", NULL, NULL, NULL, "{}", 2, "only POST, PUT and PATCH" },
	{ "DELETE", "https://h/", NULL, NULL, NULL, "{}", 2, "only POST, PUT and PATCH" },
	{ "HEAD", "https://h/", NULL, NULL, NULL, "x", 1, "only POST, PUT and PATCH" },
	{ "POST", "https://h/", NULL, NULL, NULL, NULL, 5, "no data" },
};

START_TEST(test_refusals)
{
	oci_sign_input_t in = { .method = refusals[_i].method, .url = refusals[_i].url,
				.date = refusals[_i].date, .content_type = refusals[_i].content_type,
				.body = refusals[_i].body, .body_len = refusals[_i].body_len };
	const char *key_id = refusals[_i].key_id ? refusals[_i].key_id : "t/u/f";
	oci_key_t *k = vector_key();
	oci_signed_t s, untouched;
	char *ss = (char *)&untouched;

	memset(&s, 0xa5, sizeof(s));
	memcpy(&untouched, &s, sizeof(s));
	err[0] = '\0';
	ck_assert_int_eq(oci_sign(k, key_id, &in, &s, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, refusals[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err,
		      refusals[_i].msg);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_ptr_null(strchr(err, '\r'));
	ck_assert_ptr_null(strstr(err, "pw@")); /* no credentials echoed */
	ck_assert_int_eq(memcmp(&s, &untouched, sizeof(s)), 0);
	if (refusals[_i].key_id == NULL) { /* the same input, without a key */
		err[0] = '\0';
		ck_assert_int_eq(oci_signing_string(&in, &ss, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_eq(ss, (char *)&untouched);
		ck_assert_ptr_nonnull(strstr(err, refusals[_i].msg));
	}
	oci_key_unref(k);
}
END_TEST

START_TEST(test_sign_misc)
{
	oci_sign_input_t in = { .method = "GET", .url = "https://h/" };
	oci_key_t *k = vector_key();
	oci_signed_t s = { 0 };
	char d0[64], d1[64];
	time_t t0 = time(NULL);
	struct tm tm;

	/* no date: now, as an IMF-fixdate (checked with strftime in the C locale) */
	ck_assert_int_eq(oci_sign(k, "t/u/f", &in, &s, err, sizeof(err)), 0);
	gmtime_r(&t0, &tm);
	strftime(d0, sizeof(d0), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	t0++;
	gmtime_r(&t0, &tm);
	strftime(d1, sizeof(d1), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ck_assert_msg(!strcmp(s.headers[0].value, d0) || !strcmp(s.headers[0].value, d1),
		      "date %s, expected %s", s.headers[0].value, d0);

	/* lookups, and free that leaves it empty and may be repeated */
	ck_assert_str_eq(oci_signed_get(&s, "HOST"), "h");
	ck_assert_ptr_null(oci_signed_get(&s, "x-foo"));
	ck_assert_ptr_null(oci_signed_get(&s, NULL));
	ck_assert_ptr_null(oci_signed_get(NULL, "host"));
	oci_signed_free(&s);
	ck_assert_uint_eq(s.n_headers, 0);
	ck_assert_ptr_null(s.storage_);
	ck_assert_ptr_null(oci_signed_get(&s, "host"));
	oci_signed_free(&s);
	oci_signed_free(NULL);

	/* no key, no key id */
	ck_assert_int_eq(oci_sign(NULL, "t/u/f", &in, &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(oci_sign(k, NULL, &in, &s, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(oci_sign(k, "t/u/f", NULL, &s, err, sizeof(err)), -EINVAL);
	/* a session token keyId */
	ck_assert_int_eq(oci_sign(k, "ST$eyJhbGciOi.x.y", &in, &s, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(s.headers[2].value, ",keyId=\"ST$eyJhbGciOi.x.y\","));
	oci_signed_free(&s);
	oci_key_unref(k);
}
END_TEST

START_TEST(test_format_date)
{
	/* date -u -d @T '+%a, %d %b %Y %H:%M:%S GMT' */
	static const struct {
		time_t t;
		const char *s;
	} dates[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
		{ 1389043900, "Mon, 06 Jan 2014 21:31:40 GMT" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 GMT" },
		{ 1700000000, "Tue, 14 Nov 2023 22:13:20 GMT" },
		{ 253402300799, "Fri, 31 Dec 9999 23:59:59 GMT" },
	};
	char buf[30];

	for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		oci_format_date(dates[i].t, buf);
		ck_assert_str_eq(buf, dates[i].s);
	}
	/* past year 9999: clamped, never longer than the buffer */
	memset(buf, 'x', sizeof(buf));
	oci_format_date((time_t)1 << 50, buf);
	ck_assert_str_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
}
END_TEST

/* ---- keys ----------------------------------------------------------------------------------- */

START_TEST(test_vector_key)
{
	oci_key_t *k = vector_key();
	char fp[OCI_FINGERPRINT_LEN], *b64, *pem;

	ck_assert_int_eq(oci_key_fingerprint(k, fp), 0);
	ck_assert_str_eq(fp, V_REAL_FP);
	b64 = oci_key_public_b64(k);
	ck_assert_str_eq(b64, V_PUB_B64);
	pem = oci_key_public_pem(k);
	ck_assert_str_eq(pem, "-----BEGIN PUBLIC KEY-----\n"
			      "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3\n"
			      "6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6\n"
			      "Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw\n"
			      "oYi+1hqp1fIekaxsyQIDAQAB\n"
			      "-----END PUBLIC KEY-----\n");
	free(b64);
	free(pem);
	/* references */
	ck_assert_ptr_eq(oci_key_ref(k), k);
	ck_assert_ptr_null(oci_key_unref(k));
	ck_assert_int_eq(oci_key_fingerprint(k, fp), 0); /* still alive */
	ck_assert_ptr_null(oci_key_unref(k));
	ck_assert_ptr_null(oci_key_unref(NULL));
	ck_assert_ptr_null(oci_key_ref(NULL));
}
END_TEST

START_TEST(test_key_forms)
{
	enum pem_form form = (enum pem_form)_i;
	bool enc = form == F_ENC_PKCS8 || form == F_ENC_PKCS1;
	EVP_PKEY *pk = gen_rsa(1024);
	char *pem = pem_of(pk, form), want[48], fp[OCI_FINGERPRINT_LEN], *ss = NULL;
	const char *path = at("key.pem");
	oci_key_t *k = NULL, *const untouched = (oci_key_t *)&tmp;
	oci_sign_input_t in = { .method = "GET", .url = "https://h/", .date = V_DATE };
	oci_signed_t s = { 0 };
	int r;

	expected_fp(pk, want);
	put(path, pem);

	/* the right pass phrase (ignored when not encrypted) */
	r = oci_key_load_file(path, PASS, &k, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %s", form_name[form], err);
	ck_assert_int_eq(oci_key_fingerprint(k, fp), 0);
	ck_assert_str_eq(fp, want);
	ck_assert_int_eq(oci_sign(k, "t/u/f", &in, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(oci_signing_string(&in, &ss, err, sizeof(err)), 0);
	verify_auth(pk, ss, s.headers[2].value);
	free(ss);
	oci_signed_free(&s);
	k = oci_key_unref(k);

	/* from memory */
	r = oci_key_load_pem(pem, strlen(pem), enc ? PASS : NULL, &k, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %s", form_name[form], err);
	k = oci_key_unref(k);

	/* no pass phrase */
	k = untouched;
	err[0] = '\0';
	r = oci_key_load_file(path, NULL, &k, err, sizeof(err));
	if (!enc) {
		ck_assert_int_eq(r, 0);
		k = oci_key_unref(k);
	} else {
		ck_assert_int_eq(r, -EKEYREJECTED);
		ck_assert_ptr_eq(k, untouched);
		ck_assert_msg(strstr(err, "encrypted and no pass_phrase"), "%s", err);
		ck_assert_ptr_nonnull(strstr(err, path));
		ck_assert_int_eq(ERR_peek_error(), 0);

		/* a wrong one */
		err[0] = '\0';
		r = oci_key_load_file(path, "not the pass phrase", &k, err, sizeof(err));
		ck_assert_int_eq(r, -EKEYREJECTED);
		ck_assert_ptr_eq(k, untouched);
		ck_assert_msg(strstr(err, "wrong pass_phrase"), "%s", err);
		ck_assert_ptr_null(strstr(err, "not the pass phrase"));
		ck_assert_ptr_null(strstr(err, "BEGIN"));
		ck_assert_int_eq(ERR_peek_error(), 0);

		r = oci_key_load_pem(pem, strlen(pem), "", &k, err, sizeof(err));
		ck_assert_int_eq(r, -EKEYREJECTED);
		ck_assert_ptr_eq(k, untouched);
		ck_assert_int_eq(ERR_peek_error(), 0);
	}
	free(pem);
	EVP_PKEY_free(pk);
}
END_TEST

START_TEST(test_key_refusals)
{
	oci_key_t *k = NULL, *const untouched = (oci_key_t *)&tmp;
	EVP_PKEY *ec = EVP_EC_gen("P-256"), *small = gen_rsa(512);
	BIO *b = BIO_new(BIO_s_mem());
	char *ec_pem, *small_pem, *pub_pem, *trunc, *big;
	struct kcase {
		const char *pem;
		size_t len;
		int r;
		const char *msg;
	} cases[8];
	size_t n = 0;

	ck_assert_ptr_nonnull(ec);
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
	ec_pem = bio_string(b);
	small_pem = pem_of(small, F_PKCS8);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PUBKEY(b, small), 1);
	pub_pem = bio_string(b);
	trunc = strndup(small_pem, strlen(small_pem) / 2);

	cases[n++] = (struct kcase){ ec_pem, strlen(ec_pem), -EINVAL, "not an RSA key" };
	cases[n++] = (struct kcase){ small_pem, strlen(small_pem), -EINVAL,
					  "RSA key of 512 bits; at least 1024" };
	cases[n++] = (struct kcase){ pub_pem, strlen(pub_pem), -EINVAL,
					  "not a PEM private key" };
	cases[n++] = (struct kcase){ trunc, strlen(trunc), -EINVAL, "not a PEM private key" };
	cases[n++] = (struct kcase){ "hello, world\n", 13, -EINVAL, "no -----BEGIN line" };
	cases[n++] = (struct kcase){ "", 0, -EINVAL, "no -----BEGIN line" };
	cases[n++] = (struct kcase){ "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n"
					  "-----END RSA PRIVATE KEY-----\n", 67, -EINVAL,
					  "not a PEM private key" };
	for (size_t i = 0; i < n; i++) {
		k = untouched;
		err[0] = '\0';
		ck_assert_int_eq(oci_key_load_pem(cases[i].pem, cases[i].len, NULL, &k, err,
						  sizeof(err)), cases[i].r);
		ck_assert_ptr_eq(k, untouched);
		ck_assert_msg(strstr(err, cases[i].msg), "case %zu: \"%s\" lacks \"%s\"", i, err,
			      cases[i].msg);
		ck_assert_int_eq(ERR_peek_error(), 0);
	}
	/* the same through a file: the message names it */
	put(at("ec.pem"), ec_pem);
	ck_assert_int_eq(oci_key_load_file(at("ec.pem"), NULL, &k, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, at("ec.pem")) && strstr(err, "not an RSA key"), "%s", err);

	/* files */
	ck_assert_int_eq(oci_key_load_file(at("nope.pem"), NULL, &k, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, at("nope.pem")));
	ck_assert_int_eq(oci_key_load_file(tmp, NULL, &k, err, sizeof(err)), -EISDIR);
	ck_assert_int_eq(oci_key_load_file(NULL, NULL, &k, err, sizeof(err)), -EINVAL);
	if (geteuid() != 0) { /* root reads anything */
		put(at("closed.pem"), small_pem);
		chmod(at("closed.pem"), 0);
		ck_assert_int_eq(oci_key_load_file(at("closed.pem"), NULL, &k, err, sizeof(err)),
				 -EACCES);
	}
	big = malloc(OCI_MAX_KEY_FILE + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', OCI_MAX_KEY_FILE + 1);
	memcpy(big, "-----BEGIN PRIVATE KEY-----\n", 28);
	put_n(at("big.pem"), big, OCI_MAX_KEY_FILE + 1, 0600);
	ck_assert_int_eq(oci_key_load_file(at("big.pem"), NULL, &k, err, sizeof(err)), -EFBIG);
	ck_assert_int_eq(oci_key_load_pem(big, OCI_MAX_KEY_FILE + 1, NULL, &k, err, sizeof(err)),
			 -EFBIG);
	ck_assert_ptr_eq(k, untouched);
	/* a NULL err is fine */
	ck_assert_int_eq(oci_key_load_pem("x", 1, NULL, &k, NULL, 0), -EINVAL);

	free(big);
	free(trunc);
	free(pub_pem);
	free(small_pem);
	free(ec_pem);
	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}
END_TEST

START_TEST(test_key_generate)
{
	oci_key_t *k = NULL;
	char fp[OCI_FINGERPRINT_LEN], *b64, *sig = NULL;
	unsigned char der[2048];
	const unsigned char *p = der;
	EVP_PKEY *pub;
	EVP_MD_CTX *ctx;
	int n;

	ck_assert_int_eq(oci_key_generate(2048, &k, err, sizeof(err)), 0);
	ck_assert_int_eq(oci_key_fingerprint(k, fp), 0);
	ck_assert_uint_eq(strlen(fp), 47);
	/* the base64 SPKI is a 2048-bit RSA public key */
	b64 = oci_key_public_b64(k);
	ck_assert_ptr_nonnull(b64);
	ck_assert_ptr_null(strchr(b64, '\n'));
	n = EVP_DecodeBlock(der, (unsigned char *)b64, (int)strlen(b64));
	ck_assert_int_gt(n, 0);
	pub = d2i_PUBKEY(NULL, &p, n);
	ck_assert_ptr_nonnull(pub);
	ck_assert_int_eq(EVP_PKEY_get_bits(pub), 2048);
	/* oci_key_sign_sha256 verifies with it */
	ck_assert_int_eq(oci_key_sign_sha256(k, "hello", 5, &sig, err, sizeof(err)), 0);
	ctx = EVP_MD_CTX_new();
	{
		unsigned char raw[512];
		int m = EVP_DecodeBlock(raw, (unsigned char *)sig, (int)strlen(sig));

		ck_assert_int_ge(m, 256);
		ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub), 1);
		ck_assert_int_eq(EVP_DigestVerify(ctx, raw, 256, (const unsigned char *)"hello", 5),
				 1);
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	free(sig);
	free(b64);
	oci_key_unref(k);

	k = NULL;
	ck_assert_int_eq(oci_key_generate(512, &k, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(k);
}
END_TEST

/* ---- ~/.oci/config -------------------------------------------------------------------------- */

static int parse_n(const char *buf, size_t len, const char *profile, oci_profile_t **ret)
{
	err[0] = '\0';
	return oci_profile_parse(buf, len, NAME, profile, ret, err, sizeof(err));
}

static oci_profile_t *parse_ok(const char *buf, const char *profile)
{
	oci_profile_t *p = NULL;

	ck_assert_msg(parse_n(buf, strlen(buf), profile, &p) == 0, "%s", err);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void where_is(const oci_profile_t *p, oci_profile_key_t k, const char *want)
{
	char buf[512];

	oci_profile_where(p, k, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
}

#define SAMPLE                                                                          \
	"# the OCI CLI's file\n"                          /* 1 */                       \
	"[DEFAULT]\n"                                     /* 2 */                       \
	"user=ocid1.user.oc1..default\n"                  /* 3 */                       \
	"fingerprint = aa:bb\n"                           /* 4 */                       \
	"key_file=~/.oci/key.pem\n"                       /* 5 */                       \
	"tenancy: ocid1.tenancy.oc1..t\n"                 /* 6 */                       \
	"region=us-ashburn-1\n"                           /* 7 */                       \
	"\n"                                              /* 8 */                       \
	"[prod]\n"                                        /* 9 */                       \
	"  ; a comment\n"                                 /* 10 */                      \
	"USER = ocid1.user.oc1..prod\n"                   /* 11 */                      \
	"region=eu-frankfurt-1 # not a comment\n"         /* 12 */                      \
	"pass_phrase=\n"                                  /* 13 */                      \
	"security_token_file=/abs/token\n"                /* 14 */                      \
	"log_requests=true\n"                             /* 15 */                      \
	"[dev]\n"                                         /* 16 */                      \
	"key_file = relative/key.pem\n"                   /* 17 */

START_TEST(test_profile_inheritance)
{
	oci_profile_t *p;
	char home_key[512];

	snprintf(home_key, sizeof(home_key), "%s/.oci/key.pem", getenv("HOME"));
	p = parse_ok(SAMPLE, "prod");
	ck_assert_str_eq(p->file, NAME);
	ck_assert_str_eq(p->name, "prod");
	ck_assert_str_eq(p->values[OCI_PK_USER], "ocid1.user.oc1..prod");
	ck_assert_int_eq(p->lines[OCI_PK_USER], 11);
	ck_assert_str_eq(p->values[OCI_PK_FINGERPRINT], "aa:bb");
	ck_assert_int_eq(p->lines[OCI_PK_FINGERPRINT], 4);
	ck_assert_str_eq(p->values[OCI_PK_KEY_FILE], home_key);
	ck_assert_str_eq(p->values[OCI_PK_TENANCY], "ocid1.tenancy.oc1..t");
	ck_assert_int_eq(p->lines[OCI_PK_TENANCY], 6);
	ck_assert_str_eq(p->values[OCI_PK_REGION], "eu-frankfurt-1 # not a comment");
	ck_assert_str_eq(p->values[OCI_PK_PASS_PHRASE], "");
	ck_assert_int_eq(p->lines[OCI_PK_PASS_PHRASE], 13);
	ck_assert_str_eq(p->values[OCI_PK_SECURITY_TOKEN_FILE], "/abs/token");
	where_is(p, OCI_PK_USER, NAME ":11: profile [prod]: key user");
	where_is(p, OCI_PK_FINGERPRINT, NAME ":4: profile [prod]: key fingerprint");
	oci_profile_free(p);

	p = parse_ok(SAMPLE, "DEFAULT");
	ck_assert_str_eq(p->values[OCI_PK_USER], "ocid1.user.oc1..default");
	ck_assert_str_eq(p->values[OCI_PK_REGION], "us-ashburn-1");
	ck_assert_ptr_null(p->values[OCI_PK_PASS_PHRASE]);
	ck_assert_int_eq(p->lines[OCI_PK_PASS_PHRASE], 0);
	ck_assert_ptr_null(p->values[OCI_PK_SECURITY_TOKEN_FILE]);
	where_is(p, OCI_PK_PASS_PHRASE, NAME ": profile [DEFAULT]: key pass_phrase");
	oci_profile_free(p);

	p = parse_ok(SAMPLE, "dev");
	ck_assert_str_eq(p->values[OCI_PK_KEY_FILE], "relative/key.pem"); /* as written */
	ck_assert_int_eq(p->lines[OCI_PK_KEY_FILE], 17);
	ck_assert_str_eq(p->values[OCI_PK_USER], "ocid1.user.oc1..default");
	oci_profile_free(p);

	/* no profile: $OCI_CLI_PROFILE, then DEFAULT */
	p = parse_ok(SAMPLE, NULL);
	ck_assert_str_eq(p->name, "DEFAULT");
	oci_profile_free(p);
	setenv("OCI_CLI_PROFILE", "dev", 1);
	p = parse_ok(SAMPLE, NULL);
	ck_assert_str_eq(p->name, "dev");
	oci_profile_free(p);
	p = parse_ok(SAMPLE, "prod"); /* the argument wins */
	ck_assert_str_eq(p->name, "prod");
	oci_profile_free(p);
	unsetenv("OCI_CLI_PROFILE");

	ck_assert_ptr_null(oci_profile_free(NULL));
	for (int k = 0; k < OCI_PK_COUNT_; k++)
		ck_assert_ptr_nonnull(oci_profile_key_name((oci_profile_key_t)k));
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_USER), "user");
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_FINGERPRINT), "fingerprint");
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_KEY_FILE), "key_file");
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_TENANCY), "tenancy");
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_REGION), "region");
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_PASS_PHRASE), "pass_phrase");
	ck_assert_str_eq(oci_profile_key_name(OCI_PK_SECURITY_TOKEN_FILE), "security_token_file");
}
END_TEST

/* Dialect details, each checked against Python's configparser (what the OCI CLI uses). */
START_TEST(test_profile_dialect)
{
	oci_profile_t *p;

	/* CRLF, CR, a BOM, ':' and '=' with blanks, tabs, trailing text after ']' */
	p = parse_ok("\xef\xbb\xbf[p] x\r\n\tuser\t:\tu1 \r\nregion=a=b:c\rfingerprint :x\r", "p");
	ck_assert_str_eq(p->values[OCI_PK_USER], "u1");
	ck_assert_str_eq(p->values[OCI_PK_REGION], "a=b:c");
	ck_assert_str_eq(p->values[OCI_PK_FINGERPRINT], "x");
	ck_assert_int_eq(p->lines[OCI_PK_FINGERPRINT], 4);
	oci_profile_free(p);

	/* [DEFAULT] may come twice (its keys may not); a uniformly indented file */
	p = parse_ok("  [DEFAULT]\n  user=u\n  [p]\n  region=r\n  [DEFAULT]\n  tenancy=t\n", "p");
	ck_assert_str_eq(p->values[OCI_PK_USER], "u");
	ck_assert_str_eq(p->values[OCI_PK_TENANCY], "t");
	ck_assert_str_eq(p->values[OCI_PK_REGION], "r");
	oci_profile_free(p);

	/* section names are case-sensitive and kept as written */
	p = parse_ok("[Prod]\nuser=a\n[prod]\nuser=b\n[ sp ]\nuser=c\n", "prod");
	ck_assert_str_eq(p->values[OCI_PK_USER], "b");
	oci_profile_free(p);
	p = parse_ok("[Prod]\nuser=a\n[prod]\nuser=b\n[ sp ]\nuser=c\n", " sp ");
	ck_assert_str_eq(p->values[OCI_PK_USER], "c");
	oci_profile_free(p);

	/* an indented line after a section header is a key; blank lines and comments between
	 * a key and an indented line do not end the value (configparser) */
	p = parse_ok("[p]\n   user=u\nregion=r\n", "p");
	ck_assert_str_eq(p->values[OCI_PK_USER], "u");
	oci_profile_free(p);
	/* a continued value of a key nobody uses is not an error */
	p = parse_ok("[p]\nuser=u\ndescription=a\n  b\n", "p");
	oci_profile_free(p);
	/* an empty file section, a key with an odd name */
	p = parse_ok("[p]\n[]=x\n", "p");
	oci_profile_free(p);
}
END_TEST

static const struct {
	const char *in;
	const char *profile;
	int r;
	const char *msg; /* the whole message */
} config_errors[] = {
	{ "[DEFAULT]\nuser=a\njunk\n", "DEFAULT", -EINVAL,
	  NAME ":3: profile [DEFAULT]: line is neither [section] nor key=value" },
	{ "# c\nuser=a\n[p]\n", "p", -EINVAL,
	  NAME ":2: line before the first [profile] section header" },
	{ "[p]\n = x\n", "p", -EINVAL, NAME ":2: profile [p]: no key before '='" },
	{ "[p]\n: x\n", "p", -EINVAL, NAME ":2: profile [p]: no key before ':'" },
	{ "[p]\n[]\n", "p", -EINVAL,
	  NAME ":2: profile [p]: line is neither [section] nor key=value" },
	{ "[p]\nuser=a\n[q]\n[p]\n", "q", -EINVAL, NAME ":4: section [p] already defined on line 1" },
	{ "[p]\nuser=a\nregion=r\nUser=b\n", "p", -EINVAL,
	  NAME ":4: profile [p]: key user already set on line 2" },
	{ "[DEFAULT]\nuser=a\n[DEFAULT]\nuser=b\n[p]\n", "p", -EINVAL,
	  NAME ":4: profile [DEFAULT]: key user already set on line 2" },
	/* the earliest duplicate: line 3's key before line 4's section */
	{ "[a]\nx=1\nx=2\n[a]\n", "a", -EINVAL, NAME ":3: profile [a]: key x already set on line 2" },
	{ "[p]\nuser=a\n  fingerprint=b\n", "p", -EINVAL,
	  NAME ":2: profile [p]: key user: the value goes on over the indented line 3, and OCI "
	       "values are one line (unindent that line if it holds a key of its own)" },
	{ "[DEFAULT]\nregion=r\n\n# c\n   x\n[p]\n", "p", -EINVAL,
	  NAME ":2: profile [DEFAULT]: key region: the value goes on over the indented line 5, "
	       "and OCI values are one line (unindent that line if it holds a key of its own)" },
	{ "[DEFAULT]\nuser=a\n[dev]\n[p\n", "prod", -EINVAL,
	  NAME ":4: profile [dev]: line is neither [section] nor key=value" },
	{ "[DEFAULT]\nuser=a\n[dev]\n[ops]\n", "prod", -EINVAL,
	  NAME ": no profile [prod] (profiles: DEFAULT, dev, ops)" },
	{ "[dev]\nuser=a\n", "DEFAULT", -EINVAL, NAME ": no profile [DEFAULT] (profiles: dev)" },
	{ "", "DEFAULT", -EINVAL, NAME ": no profile [DEFAULT] (profiles: none)" },
	{ "# nothing\n\n", "prod", -EINVAL, NAME ": no profile [prod] (profiles: none)" },
};

START_TEST(test_profile_errors)
{
	oci_profile_t *p, *const untouched = (oci_profile_t *)&tmp;

	p = untouched;
	memset(err, 'x', sizeof(err));
	ck_assert_int_eq(oci_profile_parse(config_errors[_i].in, strlen(config_errors[_i].in),
					   NAME, config_errors[_i].profile, &p, err, sizeof(err)),
			 config_errors[_i].r);
	ck_assert_ptr_eq(p, untouched);
	ck_assert_str_eq(err, config_errors[_i].msg);
}
END_TEST

START_TEST(test_profile_limits)
{
	oci_profile_t *p = NULL, *const untouched = (oci_profile_t *)&tmp;
	size_t big = OCI_MAX_CONFIG_FILE + 1, used;
	char *buf = malloc(big + 1);
	const char *secret = "Sup3r-s3cret-PASS";
	char in[256];

	ck_assert_ptr_nonnull(buf);
	/* NUL bytes */
	p = untouched;
	ck_assert_int_eq(parse_n("[p]\nuser=a\0b\n", 13, "p", &p), -EINVAL);
	ck_assert_str_eq(err, NAME ":2: NUL byte in the line");
	ck_assert_ptr_eq(p, untouched);

	/* a line too long */
	used = (size_t)snprintf(buf, big, "[p]\nuser=");
	memset(buf + used, 'a', 16400);
	used += 16400;
	buf[used++] = '\n';
	ck_assert_int_eq(parse_n(buf, used, "p", &p), -EINVAL);
	ck_assert_str_eq(err, NAME ":2: line longer than 16384 bytes");
	/* just short enough */
	used = (size_t)snprintf(buf, big, "[p]\nuser=");
	memset(buf + used, 'a', 16384 - 5);
	used += 16384 - 5;
	ck_assert_int_eq(parse_n(buf, used, "p", &p), 0);
	ck_assert_uint_eq(strlen(p->values[OCI_PK_USER]), 16384 - 5);
	p = oci_profile_free(p);

	/* the size ceiling, on a buffer and on a file */
	memset(buf, '#', big);
	p = untouched;
	ck_assert_int_eq(parse_n(buf, big, "p", &p), -EFBIG);
	ck_assert_ptr_eq(p, untouched);
	put_n(at("big"), buf, big, 0600);
	ck_assert_int_eq(oci_profile_load(at("big"), "p", &p, err, sizeof(err)), -EFBIG);
	ck_assert_ptr_nonnull(strstr(err, at("big")));

	/* a file of the largest size: 100k+ keys, all distinct; duplicates found fast */
	used = (size_t)snprintf(buf, big, "[DEFAULT]\n");
	for (unsigned i = 0; used + 32 < OCI_MAX_CONFIG_FILE; i++)
		used += (size_t)snprintf(buf + used, big - used, "k%u=v\n", i);
	used += (size_t)snprintf(buf + used, big - used, "user=u\n");
	ck_assert_int_eq(parse_n(buf, used, "DEFAULT", &p), 0);
	ck_assert_str_eq(p->values[OCI_PK_USER], "u");
	p = oci_profile_free(p);
	used += (size_t)snprintf(buf + used, big - used, "k7=again\n");
	ck_assert_int_eq(parse_n(buf, used, "DEFAULT", &p), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "key k7 already set on line 9"));

	/* never a value in a message */
	snprintf(in, sizeof(in), "[p]\npass_phrase=%s\npass_phrase=%s\n", secret, secret);
	ck_assert_int_eq(parse_n(in, strlen(in), "p", &p), -EINVAL);
	ck_assert_ptr_null(strstr(err, "s3cret"));
	snprintf(in, sizeof(in), "[p]\npass_phrase=%s\n  %s\n", secret, secret);
	ck_assert_int_eq(parse_n(in, strlen(in), "p", &p), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "key pass_phrase"));
	ck_assert_ptr_null(strstr(err, "s3cret"));
	snprintf(in, sizeof(in), "[p]\n%s\n", secret);
	ck_assert_int_eq(parse_n(in, strlen(in), "p", &p), -EINVAL);
	ck_assert_ptr_null(strstr(err, "s3cret"));

	/* a short error buffer, and none */
	{
		char small[16];

		ck_assert_int_eq(oci_profile_parse("x", 1, NAME, "p", &p, small, sizeof(small)),
				 -EINVAL);
		ck_assert_uint_lt(strlen(small), sizeof(small));
		ck_assert_int_eq(oci_profile_parse("x", 1, NAME, "p", &p, NULL, 0), -EINVAL);
	}
	free(buf);
}
END_TEST

START_TEST(test_profile_files)
{
	oci_profile_t *p = NULL, *const untouched = (oci_profile_t *)&tmp;
	char want[512];

	mkdir(at("home/.oci"), 0700);
	put(at("home/.oci/config"), "[DEFAULT]\nuser=home\nkey_file=~\n[prod]\nuser=home-prod\n");
	put(at("a.cfg"), "[DEFAULT]\nuser=a\n");
	put(at("b.cfg"), "[DEFAULT]\nuser=b\nsecurity_token_file=~/tok\nkey_file=~other/k\n");

	/* the default file, "~" expanded */
	ck_assert_msg(oci_profile_load(NULL, NULL, &p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(p->file, at("home/.oci/config"));
	ck_assert_str_eq(p->values[OCI_PK_USER], "home");
	ck_assert_str_eq(p->values[OCI_PK_KEY_FILE], at("home"));
	p = oci_profile_free(p);

	/* $OCI_CONFIG_FILE, then $OCI_CLI_CONFIG_FILE over it, then the argument over both */
	setenv("OCI_CONFIG_FILE", at("b.cfg"), 1);
	ck_assert_int_eq(oci_profile_load(NULL, NULL, &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p->values[OCI_PK_USER], "b");
	ck_assert_str_eq(p->values[OCI_PK_SECURITY_TOKEN_FILE], at("home/tok"));
	ck_assert_str_eq(p->values[OCI_PK_KEY_FILE], "~other/k");
	p = oci_profile_free(p);
	setenv("OCI_CLI_CONFIG_FILE", at("a.cfg"), 1);
	ck_assert_int_eq(oci_profile_load(NULL, NULL, &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p->values[OCI_PK_USER], "a");
	ck_assert_str_eq(p->file, at("a.cfg"));
	p = oci_profile_free(p);
	ck_assert_int_eq(oci_profile_load("~/.oci/config", "prod", &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p->values[OCI_PK_USER], "home-prod");
	ck_assert_str_eq(p->values[OCI_PK_KEY_FILE], at("home")); /* inherited */
	ck_assert_str_eq(p->file, at("home/.oci/config"));
	p = oci_profile_free(p);

	/* an empty variable counts as unset; a variable naming a missing file says so */
	setenv("OCI_CLI_CONFIG_FILE", "", 1);
	ck_assert_int_eq(oci_profile_load(NULL, NULL, &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p->values[OCI_PK_USER], "b");
	p = oci_profile_free(p);
	setenv("OCI_CLI_CONFIG_FILE", at("missing.cfg"), 1);
	p = untouched;
	ck_assert_int_eq(oci_profile_load(NULL, NULL, &p, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_eq(p, untouched);
	snprintf(want, sizeof(want), "%s ($OCI_CLI_CONFIG_FILE): cannot read the OCI config "
		 "file: No such file or directory", at("missing.cfg"));
	ck_assert_str_eq(err, want);
	unsetenv("OCI_CLI_CONFIG_FILE");
	unsetenv("OCI_CONFIG_FILE");

	/* HOME with a trailing slash; no HOME: the password database */
	{
		char home[300], *saved;

		snprintf(home, sizeof(home), "%s/", getenv("HOME"));
		saved = strdup(getenv("HOME"));
		setenv("HOME", home, 1);
		ck_assert_int_eq(oci_profile_load(at("b.cfg"), NULL, &p, err, sizeof(err)), 0);
		ck_assert_str_eq(p->values[OCI_PK_SECURITY_TOKEN_FILE], at("home/tok"));
		p = oci_profile_free(p);
		unsetenv("HOME");
		ck_assert_int_eq(oci_profile_load(at("b.cfg"), NULL, &p, err, sizeof(err)), 0);
		snprintf(want, sizeof(want), "%s/tok", getpwuid(getuid())->pw_dir);
		if (!strcmp(getpwuid(getuid())->pw_dir, "/"))
			snprintf(want, sizeof(want), "/tok");
		ck_assert_str_eq(p->values[OCI_PK_SECURITY_TOKEN_FILE], want);
		p = oci_profile_free(p);
		setenv("HOME", saved, 1);
		free(saved);
	}

	/* errors name the file */
	ck_assert_int_eq(oci_profile_load(at("nope"), NULL, &p, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read the OCI config file: No such file or "
		 "directory", at("nope"));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(oci_profile_load(tmp, NULL, &p, err, sizeof(err)), -EISDIR);
	ck_assert_ptr_nonnull(strstr(err, "is a directory"));
	ck_assert_int_eq(oci_profile_load(at("a.cfg"), "prod", &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: no profile [prod] (profiles: DEFAULT)", at("a.cfg"));
	ck_assert_str_eq(err, want);
	put(at("bad.cfg"), "[DEFAULT]\nuser=a\n\n[prod]\nuser=b\nwhat\n");
	ck_assert_int_eq(oci_profile_load(at("bad.cfg"), "prod", &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:6: profile [prod]: line is neither [section] nor "
		 "key=value", at("bad.cfg"));
	ck_assert_str_eq(err, want);
	if (geteuid() != 0) {
		chmod(at("a.cfg"), 0);
		ck_assert_int_eq(oci_profile_load(at("a.cfg"), NULL, &p, err, sizeof(err)),
				 -EACCES);
	}
}
END_TEST

/* ---- regions -------------------------------------------------------------------------------- */

START_TEST(test_regions)
{
	/* the OCI Python SDK's regions_definitions.py */
	static const struct {
		const char *region, *domain;
	} table[] = {
		{ "us-phoenix-1", "oraclecloud.com" },      { "us-ashburn-1", "oraclecloud.com" },
		{ "eu-frankfurt-1", "oraclecloud.com" },    { "ap-tokyo-1", "oraclecloud.com" },
		{ "us-langley-1", "oraclegovcloud.com" },   { "us-luke-1", "oraclegovcloud.com" },
		{ "us-gov-ashburn-1", "oraclegovcloud.com" },
		{ "us-gov-phoenix-1", "oraclegovcloud.com" },
		{ "uk-gov-london-1", "oraclegovcloud.uk" }, { "uk-gov-cardiff-1", "oraclegovcloud.uk" },
		{ "ap-chiyoda-1", "oraclecloud8.com" },     { "ap-ibaraki-1", "oraclecloud8.com" },
		{ "me-dcc-muscat-1", "oraclecloud9.com" },  { "ap-dcc-canberra-1", "oraclecloud10.com" },
		{ "eu-dcc-milan-1", "oraclecloud14.com" },  { "ap-dcc-gazipur-1", "oraclecloud15.com" },
		{ "eu-frankfurt-2", "oraclecloud.eu" },     { "eu-madrid-2", "oraclecloud.eu" },
		{ "eu-jovanovac-1", "oraclecloud20.com" },  { "me-dcc-doha-1", "oraclecloud21.com" },
		{ "us-somerset-1", "oraclecloud23.com" },   { "eu-crissier-1", "oraclecloud24.com" },
		{ "me-abudhabi-3", "oraclecloud26.com" },   { "me-abudhabi-2", "oraclecloud29.com" },
		{ "ap-suwon-1", "oraclecloud35.com" },
		{ "xx-brandnew-1", "oraclecloud.com" },     { "US-LANGLEY-1", "oraclecloud.com" },
		{ "", "oraclecloud.com" },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(!strcmp(oci_region_domain(table[i].region), table[i].domain),
			      "%s: %s, expected %s", table[i].region,
			      oci_region_domain(table[i].region), table[i].domain);
	ck_assert_str_eq(oci_region_domain(NULL), "oraclecloud.com");

	ck_assert(oci_region_valid("us-ashburn-1"));
	ck_assert(oci_region_valid("abc"));
	ck_assert(oci_region_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(!oci_region_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	ck_assert(!oci_region_valid("ab"));
	ck_assert(!oci_region_valid(""));
	ck_assert(!oci_region_valid(NULL));
	ck_assert(!oci_region_valid("US-ASHBURN-1"));
	ck_assert(!oci_region_valid("us_ashburn_1"));
	ck_assert(!oci_region_valid("us-ashburn-1.evil.com"));
	ck_assert(!oci_region_valid("us ashburn"));
}
END_TEST

/* ---- autoscalerd oci-sign ------------------------------------------------------------------- */

static char out[65536], errout[65536];

/* Runs `autoscalerd oci-sign ARGS...` (NULL-terminated). */
static int cli(const char *first, ...)
{
	const char *argv[32], *bd = getenv("AUTOSCALERD_BUILDDIR");
	char bin[512];
	size_t n = 0;
	va_list ap;
	int r;

	ck_assert_msg(bd != NULL, "AUTOSCALERD_BUILDDIR is not set (run through meson test)");
	snprintf(bin, sizeof(bin), "%s/autoscalerd/autoscalerd", bd);
	argv[n++] = bin;
	argv[n++] = "oci-sign";
	va_start(ap, first);
	for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	r = test_spawn(argv, out, sizeof(out), errout, sizeof(errout), 300);
	ck_assert_msg(r >= 0, "cannot run %s: %s", bin, strerror(-r));
	return r;
}

/* tmp/key.pem (the vector key, mode 0600) and tmp/config with profile [DEFAULT] for it and
 * extra lines. */
static void cli_profile(const char *extra)
{
	char *pem = slurp(vector("test-key.pem"), NULL);
	char cfg[2048];

	put(at("key.pem"), pem);
	free(pem);
	snprintf(cfg, sizeof(cfg),
		 "[DEFAULT]\ntenancy=" V_TENANCY "\nuser=" V_USER "\nfingerprint=" V_FP
		 "\nkey_file=%s\n%s", at("key.pem"), extra);
	put(at("config"), cfg);
}

START_TEST(test_cli_vectors)
{
	cli_profile("");
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "GET", "--url", V_GET_URL,
			     "--date", V_DATE, NULL), 0);
	ck_assert_str_eq(out, "date: " V_DATE "\nhost: " V_HOST "\nauthorization: " V_GET_AUTH
			      "\n");
	/* the profile's fingerprint is not the key's: signed all the same, with a warning */
	ck_assert_msg(strstr(errout, V_FP) && strstr(errout, V_REAL_FP) &&
		      strstr(errout, "warning:"), "stderr: %s", errout);
	ck_assert_msg(strstr(errout, ":4: profile [DEFAULT]: key fingerprint"), "stderr: %s",
		      errout);
	ck_assert_ptr_null(strstr(errout, "readable by")); /* mode 0600 */

	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "POST", "--url",
			     V_POST_URL, "--body", vector("post-body.json"), "--date", V_DATE,
			     NULL), 0);
	ck_assert_str_eq(out, "date: " V_DATE "\nhost: " V_HOST "\nauthorization: " V_POST_AUTH
			      "\ncontent-length: 316\ncontent-type: application/json\n"
			      "x-content-sha256: " V_POST_SHA "\n");
}
END_TEST

START_TEST(test_cli_options)
{
	char fp_line[256];

	/* the real fingerprint: no warning; --date verbatim; a token profile */
	snprintf(fp_line, sizeof(fp_line), "[fixed]\nfingerprint=" V_REAL_FP "\n");
	cli_profile(fp_line);
	ck_assert_int_eq(cli("--oci-config", at("config"), "--profile", "fixed", "--method",
			     "delete", "--url", "https://h:8443/x#y", "--date", "not a date", NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "date: not a date\nhost: h:8443\nauthorization: "));
	ck_assert_ptr_nonnull(strstr(out, "/" V_REAL_FP "\",algorithm=\"rsa-sha256\""));
	ck_assert_str_eq(errout, "");

	/* an empty config file, as --opt=value */
	ck_assert_int_eq(cli("--oci-config=/dev/null", "--method", "GET", "--url", "https://h/",
			     NULL), 1);
	ck_assert_msg(strstr(errout, "/dev/null: no profile [DEFAULT] (profiles: none)"), "%s",
		      errout);
	/* PUT without --body: an empty body; --content-type */
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "PUT", "--url",
			     "https://h/", "--content-type", "text/plain", "--date", V_DATE, NULL),
			 0);
	ck_assert_ptr_nonnull(strstr(out, "\ncontent-length: 0\ncontent-type: text/plain\n"
					  "x-content-sha256: " EMPTY_SHA "\n"));

	/* a session token */
	put(at("token"), "eyJhbGciOiJSUzI1NiJ9.payload.sig\n");
	{
		char extra[512];

		snprintf(extra, sizeof(extra), "[st]\nsecurity_token_file=%s\n", at("token"));
		cli_profile(extra);
	}
	ck_assert_int_eq(cli("--oci-config", at("config"), "--profile", "st", "--method", "GET",
			     "--url", "https://h/", NULL), 0);
	ck_assert_msg(strstr(out, "keyId=\"ST$eyJhbGciOiJSUzI1NiJ9.payload.sig\","), "%s", out);
	ck_assert_ptr_null(strstr(errout, "fingerprint")); /* not used with a token */

	/* a key file open to others */
	chmod(at("key.pem"), 0644);
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "GET", "--url",
			     "https://h/", NULL), 0);
	ck_assert_msg(strstr(errout, "warning: key_file") && strstr(errout, "readable by others"),
		      "%s", errout);
}
END_TEST

START_TEST(test_cli_errors)
{
	EVP_PKEY *pk = gen_rsa(1024);
	char *pem = pem_of(pk, F_ENC_PKCS8), cfg[1024];

	cli_profile("[nouser]\nuser=\n");
	/* missing profile */
	ck_assert_int_eq(cli("--oci-config", at("config"), "--profile", "nope", "--method", "GET",
			     "--url", "https://h/", NULL), 1);
	ck_assert_msg(strstr(errout, "no profile [nope] (profiles: DEFAULT, nouser)"), "%s",
		      errout);
	ck_assert_str_eq(out, "");
	/* a required key empty, or missing */
	ck_assert_int_eq(cli("--oci-config", at("config"), "--profile", "nouser", "--method",
			     "GET", "--url", "https://h/", NULL), 1);
	ck_assert_msg(strstr(errout, ":7: profile [nouser]: key user: empty"), "%s", errout);
	put(at("nokey"), "[DEFAULT]\nuser=u\ntenancy=t\nfingerprint=f\n");
	ck_assert_int_eq(cli("--oci-config", at("nokey"), "--method", "GET", "--url",
			     "https://h/", NULL), 1);
	ck_assert_msg(strstr(errout, "nokey: profile [DEFAULT]: key key_file: missing"), "%s",
		      errout);
	/* bad URL, bad method, a body on GET */
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "GET", "--url",
			     "ftp://h/", NULL), 1);
	ck_assert_msg(strstr(errout, "not http:// or https://"), "%s", errout);
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "TRACE", "--url",
			     "https://h/", NULL), 1);
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "GET", "--url",
			     "https://h/", "--body", vector("post-body.json"), NULL), 1);
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "POST", "--url",
			     "https://h/", "--body", at("no-such-body"), NULL), 1);
	ck_assert_str_eq(out, "");

	/* encrypted key: wrong, missing, right pass phrase */
	put(at("enc.pem"), pem);
	snprintf(cfg, sizeof(cfg), "[DEFAULT]\ntenancy=t\nuser=u\nfingerprint=f\nkey_file=%s\n"
		 "pass_phrase=wrong-Pass\n[none]\npass_phrase=\n[right]\npass_phrase=" PASS "\n",
		 at("enc.pem"));
	put(at("enc.cfg"), cfg);
	ck_assert_int_eq(cli("--oci-config", at("enc.cfg"), "--method", "GET", "--url",
			     "https://h/", NULL), 1);
	ck_assert_msg(strstr(errout, ":5: profile [DEFAULT]: key key_file: ") &&
		      strstr(errout, "wrong pass_phrase"), "%s", errout);
	ck_assert_ptr_null(strstr(errout, "wrong-Pass"));
	ck_assert_int_eq(cli("--oci-config", at("enc.cfg"), "--profile", "none", "--method",
			     "GET", "--url", "https://h/", NULL), 1);
	ck_assert_msg(strstr(errout, "encrypted and no pass_phrase"), "%s", errout);
	ck_assert_int_eq(cli("--oci-config", at("enc.cfg"), "--profile", "right", "--method",
			     "GET", "--url", "https://h/", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "keyId=\"t/u/f\""));
	/* a token file that is not there */
	snprintf(cfg, sizeof(cfg), "[DEFAULT]\nkey_file=%s\nsecurity_token_file=%s\n",
		 at("key.pem"), at("no-token"));
	put(at("st.cfg"), cfg);
	ck_assert_int_eq(cli("--oci-config", at("st.cfg"), "--method", "GET", "--url",
			     "https://h/", NULL), 1);
	ck_assert_msg(strstr(errout, "key security_token_file"), "%s", errout);

	/* usage */
	ck_assert_int_eq(cli(NULL), 2);
	ck_assert_int_eq(cli("--method", "GET", NULL), 2);
	ck_assert_int_eq(cli("--url", "https://h/", NULL), 2);
	ck_assert_int_eq(cli("--oci-config", at("config"), "--method", "GET", "--url",
			     "https://h/", "--bogus", NULL), 2);
	ck_assert_msg(strstr(errout, "unexpected argument \"--bogus\""), "%s", errout);
	ck_assert_int_eq(cli("--method", "GET", "--url", NULL), 2);
	ck_assert_msg(strstr(errout, "missing value for \"--url\""), "%s", errout);
	ck_assert_int_eq(cli("--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: autoscalerd oci-sign"));

	free(pem);
	EVP_PKEY_free(pk);
}
END_TEST

static Suite *oci_suite(void)
{
	Suite *s = suite_create("oci");
	TCase *tc;

	tc = tcase_create("sign");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_vector_get);
	tcase_add_test(tc, test_vector_post);
	tcase_add_loop_test(tc, test_body_methods, 0, 5);
	tcase_add_loop_test(tc, test_bodyless_methods, 0, 5);
	tcase_add_loop_test(tc, test_targets, 0, (int)(sizeof(targets) / sizeof(targets[0])));
	tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_sign_misc);
	tcase_add_test(tc, test_format_date);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vector_key);
	tcase_add_loop_test(tc, test_key_forms, 0, F_N);
	tcase_add_test(tc, test_key_refusals);
	tcase_add_test(tc, test_key_generate);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_profile_inheritance);
	tcase_add_test(tc, test_profile_dialect);
	tcase_add_loop_test(tc, test_profile_errors, 0,
			    (int)(sizeof(config_errors) / sizeof(config_errors[0])));
	tcase_add_test(tc, test_profile_limits);
	tcase_add_test(tc, test_profile_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("regions");
	tcase_add_test(tc, test_regions);
	suite_add_tcase(s, tc);

	tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_cli_vectors);
	tcase_add_test(tc, test_cli_options);
	tcase_add_test(tc, test_cli_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(oci_suite(), CK_NORMAL);
}
