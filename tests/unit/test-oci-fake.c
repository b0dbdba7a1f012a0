/* test-oci-fake.c - the fake OCI APIs (tests/fakes/oci-api.h) driven with blocking libcurl
 * and a request signer of this file's own on OpenSSL (never oci/): the published signing
 * vectors, every way a signature is refused (with the reason the fake keeps), session
 * tokens, node pools (etags, 412, 409, 400, resize and delete lifecycles, work requests),
 * the metadata service (v2 header, v1 fallback, the instance certificate), x509 federation,
 * the proxymux, OKE cluster tokens, faults with Retry-After, the call record and the body
 * limit.
 *
 * Each test starts its own fake and the teardown stops it (CK_FORK=no runs the teardown after
 * a failure too). RSA keys of the test are made once in main(): RSA generation is slow under
 * valgrind. Waits have generous ceilings that only stop a test that would hang; no assertion
 * is on how fast anything is.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "tests/fakes/check-util.h"
#include "tests/fakes/oci-api.h"
#include "tests/fakes/test-util.h"

#define TENANCY "ocid1.tenancy.oc1..testtenancy"
#define USER "ocid1.user.oc1..testuser"
#define FP "11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00"
#define KEY_ID TENANCY "/" USER "/" FP
#define POOL "ocid1.nodepool.oc1..pool1"
#define CE "/20180222"
#define BODY_HEADERS "date (request-target) host content-length content-type x-content-sha256"
#define WAIT_MS 30000L

/* The published vectors (tests/vectors/oci/README.md). */
#define V_TENANCY "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq"
#define V_USER "ocid1.user.oc1..aaaaaaaat5nvwcna5j6aqzjcaty5eqbb6qt2jvpkanghtgdaqedqw3rynjq"
#define V_FP "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34"
#define V_KEY_ID V_TENANCY "/" V_USER "/" V_FP
#define V_DATE "Thu, 05 Jan 2014 21:31:40 GMT"
#define V_HOST "iaas.us-phoenix-1.oraclecloud.com"
#define V_GET_TARGET                                                                           \
	"/20160918/instances?availabilityDomain=Pjwf%3A%20PHX-AD-1&compartmentId=ocid1."     \
	"compartment.oc1..aaaaaaaam3we6vgnherjq5q2idnccdflvjsnog7mlr6rtdb25gilchfeyjxa&"       \
	"displayName=TeamXInstances&volumeId=ocid1.volume.oc1.phx."                            \
	"abyhqljrgvttnlx73nmrwfaux7kcvzfs3s66izvxf2h4lgvyndsdsnoiwr5q"
#define V_GET_SIG                                                                              \
	"GBas7grhyrhSKHP6AVIj/h5/Vp8bd/peM79H9Wv8kjoaCivujVXlpbKLjMPeDUhxkFIWtTtLBj3sUzaFj34XE6" \
	"YZAHc9r2DmE4pMwOAy/kiITcZxa1oHPOeRheC0jP2dqbTll8fmTZVwKZOKHYPtrLJIJQHJjNvxFWeHQjMaR7M="
#define V_POST_SIG                                                                             \
	"Mje8vIDPlwIHmD/cTDwRxE7HaAvBg16JnVcsuqaNRim23fFPgQfLoOOxae6WqKb1uPjYEl0qIdazWaBy/Ml8DR" \
	"hqlocMwoSXv0fbukP8J5N80LCmzT/FFBvIvTB91XuXI3hYfP9Zt1l7S6ieVadHUfqBedWH0itrtPJBgKmrWso="
#define V_POST_SHA "V9Z20UJTvkvpJ50flBzKE32+6m2zJjweHpDMX/U4Uy0="

static fake_oci_t *fo;
static EVP_PKEY *api_key, *session_key; /* RSA-1024, made once */
static char *api_pub_pem, *session_pub_pem;

/* ---- crypto of the test ----------------------------------------------------------------*/

/* Called from main(), outside any test: no ck_assert here. */
static char *public_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *s = NULL;
	long n;

	if (b && PEM_write_bio_PUBKEY(b, k) == 1 && (n = BIO_get_mem_data(b, &data)) > 0)
		s = strndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

static char *b64(const unsigned char *p, size_t n)
{
	char *s = malloc((n + 2) / 3 * 4 + 1);

	ck_assert_ptr_nonnull(s);
	EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

static unsigned char *unb64(const char *s, size_t *ret_len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out = malloc(n / 4 * 3 + 1);
	int k;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(n % 4, 0);
	while (pad < n && s[n - 1 - pad] == '=')
		pad++;
	k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	ck_assert_int_ge(k, (int)pad);
	*ret_len = (size_t)k - pad;
	out[*ret_len] = '\0';
	return out;
}

/* URL-safe base64 (padding kept or not) of a string, as the OCI CLI writes a cluster token. */
static char *b64url(const char *s, bool pad)
{
	char *t = b64((const unsigned char *)s, strlen(s));

	for (char *c = t; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	if (!pad)
		for (size_t n = strlen(t); n && t[n - 1] == '='; n--)
			t[n - 1] = '\0';
	return t;
}

static char *unb64url(const char *s)
{
	size_t n = strlen(s), len;
	char *t = malloc(n + 4);
	unsigned char *out;

	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < n; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (n % 4)
		t[n++] = '=';
	t[n] = '\0';
	out = unb64(t, &len);
	free(t);
	return (char *)out;
}

static void sha256_b64(const char *s, size_t n, char out[64])
{
	unsigned char md[32];

	SHA256((const unsigned char *)s, n, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

/* RSA-SHA256 PKCS#1 v1.5 over msg, base64. */
static char *sign_b64(EVP_PKEY *k, const char *msg)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t n = sizeof(sig);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &n, (const unsigned char *)msg, strlen(msg)), 1);
	EVP_MD_CTX_free(ctx);
	return b64(sig, n);
}

/* The base64 DER SubjectPublicKeyInfo (the PEM body without armour or newlines). */
static char *spki_b64(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	char *s;

	ck_assert_int_gt(n, 0);
	s = b64(der, (size_t)n);
	OPENSSL_free(der);
	return s;
}

static char *cert_b64(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	unsigned char *der = NULL;
	int n;
	char *s;

	ck_assert_ptr_nonnull(x);
	n = i2d_X509(x, &der);
	ck_assert_int_gt(n, 0);
	s = b64(der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(b);
	return s;
}

static EVP_PKEY *read_private(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

	BIO_free(b);
	ck_assert_ptr_nonnull(k);
	return k;
}

static char *read_file(const char *rel, size_t *ret_len)
{
	const char *src = getenv("AUTOSCALERD_SRCDIR");
	char path[4096];
	FILE *fp;
	long n;
	char *s;

	ck_assert_msg(src != NULL, "AUTOSCALERD_SRCDIR is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	if (ret_len)
		*ret_len = (size_t)n;
	return s;
}

static void imf_date(time_t t, char buf[64])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- HTTP ------------------------------------------------------------------------------*/

struct req {
	const char *method, *target; /* target: path and query exactly as sent */
	const char *body;            /* NULL: none */
	const char *content_type;    /* NULL: application/json with a body */
	const char *key_id;          /* NULL: unsigned */
	EVP_PKEY *key;               /* NULL: api_key */
	const char *date;            /* NULL: now */
	const char *headers;         /* the signed list; NULL: the default for the method */
	const char *sha;             /* x-content-sha256 sent and signed; NULL: the body's */
	const char *host;            /* a Host header of its own */
	const char *if_match;
	const char *extra;           /* one more header line */
	const char *algorithm;       /* NULL: rsa-sha256 */
	const char *authorization;   /* sent verbatim instead of a signature */
	bool tamper;                 /* change a byte of the signature */
	bool reorder;                /* the Authorization parameters in another order */
	bool metadata;               /* to the metadata server */
};

struct resp {
	CURLcode rc;
	long status;
	char *body;
	size_t len;
	char request_id[128], etag[128], work_id[128], retry_after[32], content_type[128];
	cJSON *json;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	char *b = realloc(r->body, r->len + size * n + 1);

	if (!b)
		return 0;
	memcpy(b + r->len, p, size * n);
	r->body = b;
	r->len += size * n;
	r->body[r->len] = '\0';
	return size * n;
}

static void header_value(const char *p, size_t len, const char *name, char *out, size_t osz)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return;
	p += nl + 1;
	len -= nl + 1;
	while (len && *p == ' ') {
		p++;
		len--;
	}
	while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	snprintf(out, osz, "%.*s", (int)len, p);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;

	header_value(p, len, "opc-request-id", r->request_id, sizeof(r->request_id));
	header_value(p, len, "etag", r->etag, sizeof(r->etag));
	header_value(p, len, "opc-work-request-id", r->work_id, sizeof(r->work_id));
	header_value(p, len, "Retry-After", r->retry_after, sizeof(r->retry_after));
	return len;
}

static char *md_base(void)
{
	const char *u = fake_oci_metadata_url(fo);
	size_t n = strlen(u);

	ck_assert(n > 7 && strcmp(u + n - 7, "/opc/v2") == 0);
	return strndup(u, n - 7);
}

/* The signing string the way this test understands OCI's scheme. */
static char *test_signing_string(const struct req *q, const char *headers, const char *host,
				 const char *date, const char *ct, const char *sha)
{
	char *list = strdup(headers), *tok, *save, *s = calloc(1, 16384), method[16];
	size_t len = 0;

	ck_assert_ptr_nonnull(list);
	ck_assert_ptr_nonnull(s);
	snprintf(method, sizeof(method), "%s", q->method);
	for (char *c = method; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		const char *v = "";
		char cl[32];

		if (strcmp(tok, "(request-target)") == 0) {
			len += (size_t)snprintf(s + len, 16384 - len, "%s%s: %s %s", len ? "\n" : "",
						tok, method, q->target);
			continue;
		}
		if (strcmp(tok, "host") == 0)
			v = host;
		else if (strcmp(tok, "date") == 0)
			v = date;
		else if (strcmp(tok, "content-type") == 0)
			v = ct ? ct : "";
		else if (strcmp(tok, "x-content-sha256") == 0)
			v = sha;
		else if (strcmp(tok, "content-length") == 0) {
			snprintf(cl, sizeof(cl), "%zu", q->body ? strlen(q->body) : 0);
			v = cl;
		}
		len += (size_t)snprintf(s + len, 16384 - len, "%s%s: %s", len ? "\n" : "", tok, v);
	}
	free(list);
	return s;
}

static char *make_authorization(const struct req *q, const char *headers, const char *sstr)
{
	char *sig = sign_b64(q->key ? q->key : api_key, sstr), *auth = malloc(32768);
	const char *alg = q->algorithm ? q->algorithm : "rsa-sha256";

	ck_assert_ptr_nonnull(auth);
	if (q->tamper)
		sig[10] = sig[10] == 'A' ? 'B' : 'A';
	if (q->reorder)
		snprintf(auth, 32768,
			 "Signature signature=\"%s\", algorithm=\"%s\", keyId=\"%s\", "
			 "headers=\"%s\", version=\"1\"",
			 sig, alg, q->key_id, headers);
	else
		snprintf(auth, 32768,
			 "Signature version=\"1\",headers=\"%s\",keyId=\"%s\",algorithm=\"%s\","
			 "signature=\"%s\"",
			 headers, q->key_id, alg, sig);
	free(sig);
	return auth;
}

static struct resp send_req(const struct req *q)
{
	struct resp r = { 0 };
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	char *base = q->metadata ? md_base() : strdup(fake_oci_url(fo));
	char url[8192], line[40000], date[64], sha[64] = "", *auth = NULL, *ct_got = NULL;
	const char *host, *ct = NULL, *headers;
	bool body = q->body != NULL;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(base);
	host = q->host ? q->host : strstr(base, "://") + 3;
	if (q->date)
		snprintf(date, sizeof(date), "%s", q->date);
	else
		imf_date(time(NULL), date);
	if (body) {
		ct = q->content_type ? q->content_type : "application/json";
		if (q->sha)
			snprintf(sha, sizeof(sha), "%s", q->sha);
		else
			sha256_b64(q->body, strlen(q->body), sha);
	}
	headers = q->headers ? q->headers : body ? BODY_HEADERS : "date (request-target) host";
	if (q->authorization) {
		auth = strdup(q->authorization);
	} else if (q->key_id) {
		char *sstr = test_signing_string(q, headers, host, date, ct, sha);

		auth = make_authorization(q, headers, sstr);
		free(sstr);
	}
	snprintf(url, sizeof(url), "%s%s", base, q->target);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (!q->metadata)
		curl_easy_setopt(c, CURLOPT_CAINFO, fake_oci_ca_file(fo));
	snprintf(line, sizeof(line), "Date: %s", date);
	hdrs = curl_slist_append(hdrs, line);
	if (q->host) {
		snprintf(line, sizeof(line), "Host: %s", q->host);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (body) {
		snprintf(line, sizeof(line), "Content-Type: %s", ct);
		hdrs = curl_slist_append(hdrs, line);
		snprintf(line, sizeof(line), "x-content-sha256: %s", sha);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (auth) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (q->if_match) {
		snprintf(line, sizeof(line), "if-match: %s", q->if_match);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (q->extra)
		hdrs = curl_slist_append(hdrs, q->extra);
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(q->body));
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	r.rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct_got);
	snprintf(r.content_type, sizeof(r.content_type), "%s", ct_got ? ct_got : "");
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(auth);
	free(base);
	if (r.body)
		r.json = cJSON_Parse(r.body);
	ck_assert_msg(r.rc == CURLE_OK, "%s %s: %s", q->method, q->target,
		      curl_easy_strerror(r.rc));
	ck_assert_msg(r.request_id[0], "%s %s: no opc-request-id", q->method, q->target);
	return r;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	*r = (struct resp){ 0 };
}

/* A signed request with the API key. */
static struct resp signed_req(const char *method, const char *target, const char *body,
			      const char *if_match)
{
	struct req q = { .method = method, .target = target, .body = body, .key_id = KEY_ID,
			 .if_match = if_match };

	return send_req(&q);
}

static const char *jstr(const cJSON *j, const char *path)
{
	const cJSON *v = test_json_get(j, path);

	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

static double jnum(const cJSON *j, const char *path)
{
	const cJSON *v = test_json_get(j, path);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", path);
	return v->valuedouble;
}

/* An OCI error: the status, {"code","message"} and the opc-request-id. */
static void check_error(const struct resp *r, long status, const char *code)
{
	ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status,
		      r->body ? r->body : "");
	ck_assert_ptr_nonnull(r->json);
	ck_assert_str_eq(jstr(r->json, "code"), code);
	ck_assert(cJSON_IsString(test_json_get(r->json, "message")));
	ck_assert(strlen(jstr(r->json, "message")) > 0);
}

static void check_auth_error(const struct resp *r, const char *reason)
{
	char buf[256];

	check_error(r, 401, "NotAuthenticated");
	fake_oci_last_auth_error(fo, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, reason, strlen(reason)) == 0, "reason \"%s\", want \"%s\"",
		      buf, reason);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The payload of a JWT, parsed. */
static cJSON *jwt_payload(const char *token)
{
	const char *a = strchr(token, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	char *part, *json;
	cJSON *j;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(strchr(b + 1, '.'));
	part = strndup(a + 1, (size_t)(b - a - 1));
	json = unb64url(part);
	j = cJSON_Parse(json);
	ck_assert_ptr_nonnull(j);
	free(part);
	free(json);
	return j;
}

/* ---- fixture ---------------------------------------------------------------------------*/

static void start(const fake_oci_opts_t *o)
{
	fake_oci_pool_t p = { .id = POOL, .size = 2 };

	ck_assert_int_eq(fake_oci_start(o, &fo), 0);
	ck_assert_int_eq(fake_oci_add_api_key(fo, TENANCY, USER, FP, api_pub_pem), 0);
	ck_assert_int_eq(fake_oci_put_pool(fo, &p), 0);
}

static void teardown(void)
{
	fo = fake_oci_stop(fo);
	ck_assert_int_eq(test_threads(), 1); /* stop joined every thread of the fake */
}

/* ---- signatures ------------------------------------------------------------------------*/

START_TEST(test_vectors)
{
	struct tm tm = { .tm_year = 114, .tm_mon = 0, .tm_mday = 5, .tm_hour = 21, .tm_min = 31,
			 .tm_sec = 40 };
	char *pem = read_file("tests/vectors/oci/test-key.pem", NULL), *body, *auth, *sig;
	char sha[64], buf[256], tampered[1024];
	EVP_PKEY *vk = read_private(pem);
	struct fake_oci_call call;
	struct resp r;
	struct req q;
	size_t len;

	start(NULL);
	fake_oci_set_clock(fo, 0, timegm(&tm));
	ck_assert_int_eq(fake_oci_add_api_key(fo, V_TENANCY, V_USER, V_FP, pem), 0);

	/* this file's signer reproduces the published signatures byte for byte */
	sig = sign_b64(vk, "date: " V_DATE "\n(request-target): get " V_GET_TARGET
			   "\nhost: " V_HOST);
	ck_assert_str_eq(sig, V_GET_SIG);
	free(sig);

	/* GET, sent exactly: it authenticates, and the fake has no such operation */
	auth = "Signature version=\"1\",headers=\"date (request-target) host\",keyId=\"" V_KEY_ID
	       "\",algorithm=\"rsa-sha256\",signature=\"" V_GET_SIG "\"";
	q = (struct req){ .method = "GET", .target = V_GET_TARGET, .host = V_HOST,
			  .date = V_DATE, .authorization = auth };
	r = send_req(&q);
	check_error(&r, 404, "NotFound");
	fake_oci_last_auth_error(fo, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	ck_assert(fake_oci_call(fo, fake_oci_call_count(fo) - 1, &call));
	ck_assert_str_eq(call.path, V_GET_TARGET);
	ck_assert_int_eq(strncmp(call.key_id, V_KEY_ID, sizeof(call.key_id) - 1), 0);
	ck_assert_str_eq(call.opc_request_id, r.request_id);
	resp_free(&r);

	/* one character of the signature changed */
	snprintf(tampered, sizeof(tampered), "%s", auth);
	*strstr(tampered, "GBas7") = 'H';
	q.authorization = tampered;
	r = send_req(&q);
	check_auth_error(&r, "signature does not verify");
	resp_free(&r);

	/* POST with the vector body */
	body = read_file("tests/vectors/oci/post-body.json", &len);
	ck_assert_int_eq(len, 316);
	sha256_b64(body, len, sha);
	ck_assert_str_eq(sha, V_POST_SHA);
	q = (struct req){
		.method = "POST",
		.target = "/20160918/volumeAttachments",
		.body = body,
		.host = V_HOST,
		.date = V_DATE,
		.authorization = "Signature version=\"1\",headers=\"" BODY_HEADERS
				 "\",keyId=\"" V_KEY_ID
				 "\",algorithm=\"rsa-sha256\",signature=\"" V_POST_SIG "\"",
	};
	r = send_req(&q);
	check_error(&r, 404, "NotFound"); /* authenticated: not 401 */
	resp_free(&r);

	/* the same body with one byte changed is refused on the body hash, not the signature */
	body[len - 1] = ' ';
	q.body = body;
	q.sha = V_POST_SHA;
	r = send_req(&q);
	check_auth_error(&r, "x-content-sha256 does not match the body");
	resp_free(&r);

	/* and on today's clock the 2014 date is far off */
	fake_oci_set_clock(fo, 0, 0);
	q = (struct req){ .method = "GET", .target = V_GET_TARGET, .host = V_HOST,
			  .date = V_DATE, .authorization = auth };
	r = send_req(&q);
	check_auth_error(&r, "date skewed by ");
	resp_free(&r);
	free(body);
	free(pem);
	EVP_PKEY_free(vk);
}
END_TEST

START_TEST(test_signature_refusals)
{
	time_t t = time(NULL);
	char date[64], sha[64];
	struct resp r;
	struct req q;

	start(NULL);
	q = (struct req){ .method = "GET", .target = CE "/nodePools/" POOL, .key_id = KEY_ID };
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	/* parameters in any order */
	q.reorder = true;
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	q.reorder = false;

	q.tamper = true;
	r = send_req(&q);
	check_auth_error(&r, "signature does not verify");
	resp_free(&r);
	q.tamper = false;

	q.key = session_key; /* not the key registered for KEY_ID */
	r = send_req(&q);
	check_auth_error(&r, "signature does not verify");
	resp_free(&r);
	q.key = NULL;

	q.headers = "date (request-target)";
	r = send_req(&q);
	check_auth_error(&r, "headers lack host");
	resp_free(&r);
	q.headers = "(request-target) host";
	r = send_req(&q);
	check_auth_error(&r, "headers lack date");
	resp_free(&r);
	q.headers = "date host";
	r = send_req(&q);
	check_auth_error(&r, "headers lack (request-target)");
	resp_free(&r);
	q.headers = "date (request-target) host x-not-sent";
	r = send_req(&q);
	check_auth_error(&r, "signed header x-not-sent is absent");
	resp_free(&r);
	q.headers = NULL;

	q.algorithm = "hmac-sha256";
	r = send_req(&q);
	check_auth_error(&r, "unknown algorithm hmac-sha256");
	resp_free(&r);
	q.algorithm = NULL;

	q.key_id = "ocid1.tenancy.oc1..x/ocid1.user.oc1..y/00:11";
	r = send_req(&q);
	check_auth_error(&r, "unknown keyId ocid1.tenancy.oc1..x/ocid1.user.oc1..y/00:11");
	resp_free(&r);
	q.key_id = KEY_ID;

	q.key_id = NULL;
	r = send_req(&q);
	check_auth_error(&r, "no Authorization header");
	resp_free(&r);
	q.authorization = "Bearer abc";
	r = send_req(&q);
	check_auth_error(&r, "Authorization is not a Signature");
	resp_free(&r);
	q.authorization = "Signature version=\"1\",headers=\"date (request-target) host\","
			  "keyId=\"" KEY_ID "\",algorithm=\"rsa-sha256\"";
	r = send_req(&q);
	check_auth_error(&r, "Authorization lacks signature");
	resp_free(&r);
	q.authorization = "Signature version=\"1\",headers=\"date\",headers=\"host\"";
	r = send_req(&q);
	check_auth_error(&r, "Authorization repeats headers");
	resp_free(&r);
	q.authorization = "Signature version=\"1\",headers=\"date";
	r = send_req(&q);
	check_auth_error(&r, "Authorization is malformed");
	resp_free(&r);
	q.authorization = NULL;
	q.key_id = KEY_ID;

	/* a PUT must sign the body headers, and the body must be the one hashed */
	q = (struct req){ .method = "PUT", .target = CE "/nodePools/" POOL, .key_id = KEY_ID,
			  .body = "{\"nodeConfigDetails\":{\"size\":3}}" };
	q.headers = "date (request-target) host content-length content-type";
	r = send_req(&q);
	check_auth_error(&r, "headers lack x-content-sha256");
	resp_free(&r);
	q.headers = "date (request-target) host content-type x-content-sha256";
	r = send_req(&q);
	check_auth_error(&r, "headers lack content-length");
	resp_free(&r);
	q.headers = NULL;
	sha256_b64("{}", 2, sha);
	q.sha = sha;
	r = send_req(&q);
	check_auth_error(&r, "x-content-sha256 does not match the body");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2); /* nothing was applied */

	/* the date: 300 s either way, on the fake's clock */
	fake_oci_set_clock(fo, 0, t);
	q = (struct req){ .method = "GET", .target = CE "/nodePools/" POOL, .key_id = KEY_ID,
			  .date = date };
	imf_date(t - 400, date);
	r = send_req(&q);
	check_auth_error(&r, "date skewed by 400 s");
	resp_free(&r);
	imf_date(t + 301, date);
	r = send_req(&q);
	check_auth_error(&r, "date skewed by 301 s");
	resp_free(&r);
	imf_date(t + 300, date);
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	imf_date(t - 300, date);
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	q.date = "2014-01-05T21:31:40Z";
	r = send_req(&q);
	check_auth_error(&r, "date is not an IMF-fixdate");
	resp_free(&r);

	/* a skew of the fake's clock counts the same */
	fake_oci_set_clock(fo, -400, 0);
	q.date = NULL;
	r = send_req(&q);
	check_auth_error(&r, "date skewed by ");
	resp_free(&r);
}
END_TEST

START_TEST(test_session_tokens)
{
	char kid[8192], buf[256];
	char *token;
	cJSON *pl;
	struct resp r;
	struct req q = { .method = "GET", .target = CE "/nodePools/" POOL, .key = session_key,
			 .key_id = kid };

	start(NULL);
	token = fake_oci_issue_token(fo, session_pub_pem, 600);
	ck_assert_ptr_nonnull(token);
	pl = jwt_payload(token);
	ck_assert_double_eq(jnum(pl, "exp") - jnum(pl, "iat"), 600);
	ck_assert(jnum(pl, "exp") >= (double)time(NULL) + 590);
	ck_assert(cJSON_IsString(test_json_get(pl, "sub")));
	cJSON_Delete(pl);
	snprintf(kid, sizeof(kid), "ST$%s", token);
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	/* signed with the API key under the token's keyId */
	q.key = api_key;
	r = send_req(&q);
	check_auth_error(&r, "signature does not verify");
	resp_free(&r);
	q.key = session_key;

	/* expired on the fake's clock */
	fake_oci_set_clock(fo, 0, time(NULL) + 601);
	imf_date(time(NULL) + 601, buf);
	q.date = buf;
	r = send_req(&q);
	check_auth_error(&r, "session token expired");
	resp_free(&r);
	fake_oci_set_clock(fo, 0, 0);
	q.date = NULL;

	/* revoked */
	fake_oci_revoke_tokens(fo);
	r = send_req(&q);
	check_auth_error(&r, "session token expired");
	resp_free(&r);
	free(token);

	/* one from `oci session authenticate`, not JWT-shaped: no expiry */
	ck_assert_int_eq(fake_oci_add_session_token(fo, "opaque-token-1", session_pub_pem), 0);
	snprintf(kid, sizeof(kid), "ST$opaque-token-1");
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	snprintf(kid, sizeof(kid), "ST$opaque-token-2");
	r = send_req(&q);
	check_auth_error(&r, "unknown keyId ST$opaque-token-2");
	resp_free(&r);

	/* tokens issued after a revocation are good */
	fake_oci_revoke_tokens(fo);
	token = fake_oci_issue_token(fo, session_pub_pem, 600);
	snprintf(kid, sizeof(kid), "ST$%s", token);
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	free(token);

	ck_assert_int_eq(fake_oci_add_session_token(fo, "t", "not a key"), -EINVAL);
	ck_assert_int_eq(fake_oci_add_api_key(fo, TENANCY, USER, "x", "junk"), -EINVAL);
	ck_assert_ptr_null(fake_oci_issue_token(fo, "junk", 60));
}
END_TEST

/* ---- node pools ------------------------------------------------------------------------*/

START_TEST(test_pool_get)
{
	char etag[64], id0[96], id1[96];
	struct resp r, r2;

	start(NULL);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	ck_assert(fake_oci_pool_etag(fo, POOL, etag, sizeof(etag)));
	ck_assert_str_eq(r.etag, etag);
	ck_assert(fake_oci_pool_node_id(fo, POOL, 0, id0, sizeof(id0)));
	ck_assert(fake_oci_pool_node_id(fo, POOL, 1, id1, sizeof(id1)));
	ck_assert(!fake_oci_pool_node_id(fo, POOL, 2, etag, sizeof(etag)));
	ck_assert(fake_oci_pool_etag(fo, POOL, etag, sizeof(etag)));
	ck_assert_str_eq(jstr(r.json, "id"), POOL);
	ck_assert_str_eq(jstr(r.json, "name"), "pool1");
	ck_assert_str_eq(jstr(r.json, "nodeShape"), "VM.GPU.A10.1");
	ck_assert_str_eq(jstr(r.json, "lifecycleState"), "ACTIVE");
	ck_assert(strncmp(jstr(r.json, "clusterId"), "ocid1.cluster.", 14) == 0);
	ck_assert(strncmp(jstr(r.json, "compartmentId"), "ocid1.compartment.", 18) == 0);
	ck_assert(strncmp(jstr(r.json, "kubernetesVersion"), "v1.", 3) == 0);
	ck_assert_double_eq(jnum(r.json, "nodeConfigDetails.size"), 2);
	ck_assert(cJSON_IsString(
		test_json_get(r.json, "nodeConfigDetails.placementConfigs.0.availabilityDomain")));
	ck_assert_int_eq(cJSON_GetArraySize(test_json_get(r.json, "nodes")), 2);
	ck_assert_str_eq(jstr(r.json, "nodes.0.id"), id0);
	ck_assert_str_eq(jstr(r.json, "nodes.1.id"), id1);
	ck_assert_str_eq(jstr(r.json, "nodes.0.lifecycleState"), "ACTIVE");
	ck_assert_str_eq(jstr(r.json, "nodes.0.nodePoolId"), POOL);
	ck_assert(cJSON_IsString(test_json_get(r.json, "nodes.0.name")));
	ck_assert(cJSON_IsString(test_json_get(r.json, "nodes.0.privateIp")));
	ck_assert(cJSON_IsString(test_json_get(r.json, "nodes.0.availabilityDomain")));
	ck_assert_ptr_null(test_json_get(r.json, "nodes.0.nodeError"));
	r2 = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_str_ne(r.request_id, r2.request_id);
	ck_assert_str_eq(r.etag, r2.etag); /* reads change nothing */
	resp_free(&r);
	resp_free(&r2);

	/* a node error and a state set by hand */
	ck_assert_int_eq(fake_oci_set_node(fo, POOL, id1, "FAILING", "LimitExceeded",
					   "service limit reached"),
			 0);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_str_eq(jstr(r.json, "nodes.1.lifecycleState"), "FAILING");
	ck_assert_str_eq(jstr(r.json, "nodes.1.nodeError.code"), "LimitExceeded");
	ck_assert_str_eq(jstr(r.json, "nodes.1.nodeError.message"), "service limit reached");
	ck_assert(cJSON_IsString(test_json_get(r.json, "nodes.1.nodeError.status")));
	ck_assert(cJSON_IsString(test_json_get(r.json, "nodes.1.nodeError.opc-request-id")));
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "FAILING"), 1);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "ACTIVE"), 1);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, NULL), 2);
	ck_assert_int_eq(fake_oci_set_node(fo, POOL, id1, NULL, NULL, NULL), 0);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_ptr_null(test_json_get(r.json, "nodes.1.nodeError"));
	ck_assert_str_eq(jstr(r.json, "nodes.1.lifecycleState"), "FAILING");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_set_node(fo, POOL, "nope", "ACTIVE", NULL, NULL), -ENOENT);
	ck_assert_int_eq(fake_oci_set_pool_state(fo, POOL, "NEEDS_ATTENTION"), 0);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_str_eq(jstr(r.json, "lifecycleState"), "NEEDS_ATTENTION");
	resp_free(&r);

	/* unknown pool, wrong method, no such operation */
	r = signed_req("GET", CE "/nodePools/ocid1.nodepool.oc1..nope", NULL, NULL);
	check_error(&r, 404, "NotAuthorizedOrNotFound");
	resp_free(&r);
	r = signed_req("POST", CE "/nodePools/" POOL, "{}", NULL);
	check_error(&r, 405, "MethodNotAllowed");
	resp_free(&r);
	r = signed_req("GET", CE "/clusters/x", NULL, NULL);
	check_error(&r, 404, "NotFound");
	resp_free(&r);
	r = signed_req("GET", CE "/nodePools/", NULL, NULL);
	check_error(&r, 404, "NotFound");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, "nope"), -1);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, "nope", NULL), -1);
}
END_TEST

START_TEST(test_pool_update)
{
	fake_oci_opts_t o = { .update_ms = 600000, .node_create_ms = 600000 };
	char etag[64], etag2[64], id0[96], wr[128];
	struct resp r;

	start(&o);
	ck_assert(fake_oci_pool_etag(fo, POOL, etag, sizeof(etag)));
	ck_assert(fake_oci_pool_node_id(fo, POOL, 0, id0, sizeof(id0)));

	/* 400s first: nothing is applied */
	r = signed_req("PUT", CE "/nodePools/" POOL, "not json", etag);
	check_error(&r, 400, "CannotParseRequest");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":1001}}", etag);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":-1}}", etag);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":2.5}}", etag);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":\"3\"}}", etag);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":[3]}", etag);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "[3]", etag);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":3}} x", etag);
	check_error(&r, 400, "CannotParseRequest");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/nope", "{\"nodeConfigDetails\":{\"size\":3}}", NULL);
	check_error(&r, 404, "NotAuthorizedOrNotFound");
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":3}}", "bogus");
	check_error(&r, 412, "NoEtagMatch");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2);
	ck_assert(fake_oci_pool_etag(fo, POOL, etag2, sizeof(etag2)));
	ck_assert_str_eq(etag, etag2);

	/* grow 2 -> 4 with the etag */
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":4}}", etag);
	ck_assert_int_eq(r.status, 202);
	ck_assert(strncmp(r.work_id, "ocid1.clustersworkrequest.", 26) == 0);
	snprintf(wr, sizeof(wr), "%s", r.work_id);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 4);
	ck_assert(fake_oci_pool_etag(fo, POOL, etag2, sizeof(etag2)));
	ck_assert_str_ne(etag, etag2);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "CREATING"), 2);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "ACTIVE"), 2);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_str_eq(jstr(r.json, "lifecycleState"), "UPDATING");
	ck_assert_double_eq(jnum(r.json, "nodeConfigDetails.size"), 4);
	ck_assert_str_eq(jstr(r.json, "nodes.0.lifecycleState"), "ACTIVE");
	ck_assert_str_eq(jstr(r.json, "nodes.3.lifecycleState"), "CREATING");
	ck_assert_str_eq(r.etag, etag2);
	resp_free(&r);

	/* the work request */
	{
		char path[256];

		snprintf(path, sizeof(path), CE "/workRequests/%s", wr);
		r = signed_req("GET", path, NULL, NULL);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(jstr(r.json, "id"), wr);
		ck_assert_str_eq(jstr(r.json, "operationType"), "NODEPOOL_UPDATE");
		ck_assert_str_eq(jstr(r.json, "status"), "ACCEPTED");
		ck_assert_str_eq(jstr(r.json, "resources.0.identifier"), POOL);
		ck_assert_str_eq(jstr(r.json, "resources.0.entityType"), "nodepool");
		ck_assert(cJSON_IsString(test_json_get(r.json, "resources.0.actionType")));
		ck_assert(cJSON_IsString(test_json_get(r.json, "compartmentId")));
		ck_assert(cJSON_IsString(test_json_get(r.json, "timeAccepted")));
		ck_assert_ptr_null(test_json_get(r.json, "timeFinished"));
		resp_free(&r);
		r = signed_req("GET", CE "/workRequests/ocid1.clustersworkrequest.oc1..nope", NULL,
			       NULL);
		check_error(&r, 404, "NotAuthorizedOrNotFound");
		resp_free(&r);
		r = signed_req("DELETE", path, NULL, NULL);
		check_error(&r, 405, "MethodNotAllowed");
		resp_free(&r);
	}

	/* while UPDATING: 409, for a resize and a delete */
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":5}}", NULL);
	check_error(&r, 409, "IncorrectState");
	resp_free(&r);
	{
		char path[256];

		snprintf(path, sizeof(path), CE "/nodePools/" POOL "/node/%s?isDecrementSize=true",
			 id0);
		r = signed_req("DELETE", path, NULL, NULL);
		check_error(&r, 409, "IncorrectState");
		resp_free(&r);
	}
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 4);

	/* shrink 4 -> 1: the newest go */
	ck_assert_int_eq(fake_oci_set_pool_state(fo, POOL, "ACTIVE"), 0);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":1}}", NULL);
	ck_assert_int_eq(r.status, 202);
	resp_free(&r);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_str_eq(jstr(r.json, "nodes.0.id"), id0);
	ck_assert_str_eq(jstr(r.json, "nodes.0.lifecycleState"), "ACTIVE");
	for (int i = 1; i < 4; i++) {
		char p[32];

		snprintf(p, sizeof(p), "nodes.%d.lifecycleState", i);
		ck_assert_str_eq(jstr(r.json, p), "DELETING");
	}
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 1);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "DELETING"), 3);

	/* an edit elsewhere changes the etag: the old one is 412 */
	ck_assert_int_eq(fake_oci_set_pool_state(fo, POOL, "ACTIVE"), 0);
	ck_assert(fake_oci_pool_etag(fo, POOL, etag, sizeof(etag)));
	fake_oci_touch_pool(fo, POOL);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":2}}", etag);
	check_error(&r, 412, "NoEtagMatch");
	resp_free(&r);
	ck_assert(fake_oci_pool_etag(fo, POOL, etag2, sizeof(etag2)));
	ck_assert_str_ne(etag, etag2);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":2}}", etag2);
	ck_assert_int_eq(r.status, 202);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2);
}
END_TEST

START_TEST(test_delete_node)
{
	fake_oci_opts_t o = { .update_ms = 600000, .node_create_ms = 600000 };
	fake_oci_pool_t p3 = { .id = POOL, .size = 3 };
	char id[3][96], path[512], etag[64];
	struct resp r;

	start(&o);
	ck_assert_int_eq(fake_oci_put_pool(fo, &p3), 0); /* replaces the pool of start() */
	for (int i = 0; i < 3; i++)
		ck_assert(fake_oci_pool_node_id(fo, POOL, (size_t)i, id[i], sizeof(id[i])));

	/* bad query values */
	snprintf(path, sizeof(path), CE "/nodePools/" POOL "/node/%s?isDecrementSize=yes", id[1]);
	r = signed_req("DELETE", path, NULL, NULL);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	snprintf(path, sizeof(path),
		 CE "/nodePools/" POOL "/node/%s?isDecrementSize=true&overrideEvictionGraceDuration=PT61M",
		 id[1]);
	r = signed_req("DELETE", path, NULL, NULL);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	snprintf(path, sizeof(path),
		 CE "/nodePools/" POOL "/node/%s?overrideEvictionGraceDuration=5m", id[1]);
	r = signed_req("DELETE", path, NULL, NULL);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);

	/* unknown pool and node; a wrong etag */
	snprintf(path, sizeof(path), CE "/nodePools/nope/node/%s?isDecrementSize=true", id[1]);
	r = signed_req("DELETE", path, NULL, NULL);
	check_error(&r, 404, "NotAuthorizedOrNotFound");
	resp_free(&r);
	r = signed_req("DELETE", CE "/nodePools/" POOL "/node/ocid1.instance.oc1..nope", NULL,
		       NULL);
	check_error(&r, 404, "NotAuthorizedOrNotFound");
	resp_free(&r);
	snprintf(path, sizeof(path), CE "/nodePools/" POOL "/node/%s?isDecrementSize=true", id[1]);
	r = signed_req("DELETE", path, NULL, "bogus");
	check_error(&r, 412, "NoEtagMatch");
	resp_free(&r);
	r = signed_req("GET", path, NULL, NULL);
	check_error(&r, 405, "MethodNotAllowed");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 3);

	/* the delete as autoscalerd sends it */
	ck_assert(fake_oci_pool_etag(fo, POOL, etag, sizeof(etag)));
	snprintf(path, sizeof(path),
		 CE "/nodePools/" POOL
		    "/node/%s?isDecrementSize=true&overrideEvictionGraceDuration=PT0M",
		 id[1]);
	r = signed_req("DELETE", path, NULL, etag);
	ck_assert_int_eq(r.status, 202);
	ck_assert(strncmp(r.work_id, "ocid1.clustersworkrequest.", 26) == 0);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "DELETING"), 1);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_str_eq(jstr(r.json, "lifecycleState"), "UPDATING");
	ck_assert_str_eq(jstr(r.json, "nodes.1.id"), id[1]);
	ck_assert_str_eq(jstr(r.json, "nodes.1.lifecycleState"), "DELETING");
	ck_assert_double_eq(jnum(r.json, "nodeConfigDetails.size"), 2);
	ck_assert_str_ne(r.etag, etag);
	resp_free(&r);

	/* again, once the pool is ACTIVE: the node is being deleted */
	ck_assert_int_eq(fake_oci_set_pool_state(fo, POOL, "ACTIVE"), 0);
	r = signed_req("DELETE", path, NULL, NULL);
	check_error(&r, 409, "IncorrectState");
	resp_free(&r);

	/* isDecrementSize=false: the size stays and a new node replaces the old */
	snprintf(path, sizeof(path),
		 CE "/nodePools/" POOL "/node/%s?isDecrementSize=false&overrideEvictionGraceDuration=PT1M30S",
		 id[2]);
	r = signed_req("DELETE", path, NULL, NULL);
	ck_assert_int_eq(r.status, 202);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "DELETING"), 2);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "CREATING"), 1);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, NULL), 4);
}
END_TEST

/* Lifecycles over time with short durations: polled until done, with a ceiling. */
START_TEST(test_lifecycles)
{
	fake_oci_opts_t o = { .update_ms = 300, .node_create_ms = 500 };
	char wr[128], path[256], id1[96];
	long long deadline;
	bool done = false;
	struct resp r;

	start(&o);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":3}}", NULL);
	ck_assert_int_eq(r.status, 202);
	snprintf(wr, sizeof(wr), "%s", r.work_id);
	resp_free(&r);
	snprintf(path, sizeof(path), CE "/workRequests/%s", wr);
	for (deadline = now_ms() + WAIT_MS; !done && now_ms() < deadline;) {
		r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
		done = strcmp(jstr(r.json, "lifecycleState"), "ACTIVE") == 0 &&
		       strcmp(jstr(r.json, "nodes.2.lifecycleState"), "ACTIVE") == 0;
		resp_free(&r);
		if (!done)
			sleep_ms(50);
	}
	ck_assert_msg(done, "the pool never came back ACTIVE with its nodes");
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, "ACTIVE"), 3);
	r = signed_req("GET", path, NULL, NULL);
	ck_assert_str_eq(jstr(r.json, "status"), "SUCCEEDED");
	ck_assert(cJSON_IsString(test_json_get(r.json, "timeStarted")));
	ck_assert(cJSON_IsString(test_json_get(r.json, "timeFinished")));
	ck_assert_str_eq(jstr(r.json, "resources.0.actionType"), "UPDATED");
	resp_free(&r);

	/* a deleted node goes away */
	ck_assert(fake_oci_pool_node_id(fo, POOL, 1, id1, sizeof(id1)));
	snprintf(path, sizeof(path), CE "/nodePools/" POOL "/node/%s?isDecrementSize=true", id1);
	r = signed_req("DELETE", path, NULL, NULL);
	ck_assert_int_eq(r.status, 202);
	resp_free(&r);
	done = false;
	for (deadline = now_ms() + WAIT_MS; !done && now_ms() < deadline;) {
		r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
		done = cJSON_GetArraySize(test_json_get(r.json, "nodes")) == 2 &&
		       strcmp(jstr(r.json, "lifecycleState"), "ACTIVE") == 0;
		if (done) {
			ck_assert_str_ne(jstr(r.json, "nodes.0.id"), id1);
			ck_assert_str_ne(jstr(r.json, "nodes.1.id"), id1);
		}
		resp_free(&r);
		if (!done)
			sleep_ms(50);
	}
	ck_assert_msg(done, "the deleted node never went away");
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2);
	ck_assert_int_eq(fake_oci_pool_nodes(fo, POOL, NULL), 2);
}
END_TEST

/* ---- metadata --------------------------------------------------------------------------*/

static struct resp md_get(const char *path, const char *auth)
{
	char line[64];
	struct req q = { .method = "GET", .target = path, .metadata = true, .extra = NULL };

	if (auth) {
		snprintf(line, sizeof(line), "Authorization: %s", auth);
		q.extra = line;
	}
	return send_req(&q);
}

static bool has_ou(X509 *x, const char *want)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(n, NID_organizationalUnitName, i)) >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));

		if ((size_t)ASN1_STRING_length(s) == strlen(want) &&
		    memcmp(ASN1_STRING_get0_data(s), want, strlen(want)) == 0)
			return true;
	}
	return false;
}

START_TEST(test_metadata)
{
	char want_fp[64] = "", ou[512], buf[256];
	unsigned char md[20];
	unsigned mdlen;
	X509 *leaf, *inter;
	EVP_PKEY *key, *ipub;
	BIO *b;
	struct resp r;

	start(NULL);
	r = md_get("/opc/v2/instance/region", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "iad");
	resp_free(&r);
	r = md_get("/opc/v2/instance/canonicalRegionName", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "us-ashburn-1");
	resp_free(&r);
	r = md_get("/opc/v2/instance/", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(jstr(r.json, "region"), "iad");
	ck_assert_str_eq(jstr(r.json, "canonicalRegionName"), "us-ashburn-1");
	ck_assert_str_eq(jstr(r.json, "id"), "ocid1.instance.oc1..fake");
	resp_free(&r);

	/* v2 wants the header */
	r = md_get("/opc/v2/instance/region", NULL);
	ck_assert_int_eq(r.status, 401);
	fake_oci_last_auth_error(fo, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "Bearer Oracle"));
	resp_free(&r);
	r = md_get("/opc/v2/identity/key.pem", "Bearer Other");
	ck_assert_int_eq(r.status, 401);
	resp_free(&r);
	/* v1 does not */
	r = md_get("/opc/v1/instance/region", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "iad");
	resp_free(&r);
	r = md_get("/opc/v2/instance/nope", "Bearer Oracle");
	ck_assert_int_eq(r.status, 404);
	resp_free(&r);
	{
		struct req q = { .method = "POST", .target = "/opc/v1/instance/region",
				 .metadata = true, .body = "{}" };

		r = send_req(&q);
		ck_assert_int_eq(r.status, 405);
		resp_free(&r);
	}

	/* the identity */
	r = md_get("/opc/v2/identity/cert.pem", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, fake_oci_instance_cert_pem(fo));
	b = BIO_new_mem_buf(r.body, -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(leaf);
	resp_free(&r);
	snprintf(ou, sizeof(ou), "opc-tenant:%s", fake_oci_instance_tenancy(fo));
	ck_assert(has_ou(leaf, ou));
	ck_assert(has_ou(leaf, "opc-instance:ocid1.instance.oc1..fake"));
	ck_assert(!has_ou(leaf, "opc-tenant:ocid1.tenancy.oc1..other"));
	ck_assert_str_eq(fake_oci_instance_tenancy(fo), "ocid1.tenancy.oc1..fakeinstancetenancy");
	ck_assert_int_eq(X509_digest(leaf, EVP_sha1(), md, &mdlen), 1);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(want_fp + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	ck_assert_str_eq(fake_oci_instance_fingerprint(fo), want_fp);

	r = md_get("/opc/v2/identity/key.pem", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "PRIVATE KEY-----"));
	key = read_private(r.body);
	resp_free(&r);
	ck_assert_int_eq(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 2048);
	ck_assert_int_eq(EVP_PKEY_eq(key, X509_get0_pubkey(leaf)), 1);
	EVP_PKEY_free(key);

	r = md_get("/opc/v2/identity/intermediate.pem", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	b = BIO_new_mem_buf(r.body, -1);
	inter = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	resp_free(&r);
	ck_assert_ptr_nonnull(inter);
	ipub = X509_get0_pubkey(inter);
	ck_assert_int_eq(X509_verify(leaf, ipub), 1);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(inter)),
			 0);
	X509_free(leaf);
	X509_free(inter);

	/* v2 off: 404 there, v1 still answers */
	fake_oci_set_metadata_v2(fo, false);
	r = md_get("/opc/v2/instance/region", "Bearer Oracle");
	ck_assert_int_eq(r.status, 404);
	resp_free(&r);
	r = md_get("/opc/v1/identity/cert.pem", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, fake_oci_instance_cert_pem(fo));
	resp_free(&r);
	fake_oci_set_metadata_v2(fo, true);
	r = md_get("/opc/v2/instance/region", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_count(fo, "GET /opc/v2/instance/region"), 4);
}
END_TEST

START_TEST(test_metadata_regions)
{
	/* a real tenancy OCID is longer than the 64 bytes X.520 allows an OU */
	static const char tenancy[] =
		"ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq";
	fake_oci_opts_t o = { .region = "eu-frankfurt-1", .tenancy = tenancy };
	char ou[256];
	X509 *leaf;
	BIO *b;
	struct resp r;

	start(&o);
	r = md_get("/opc/v2/instance/region", "Bearer Oracle");
	ck_assert_str_eq(r.body, "eu-frankfurt-1");
	resp_free(&r);
	b = BIO_new_mem_buf(fake_oci_instance_cert_pem(fo), -1);
	leaf = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ck_assert_ptr_nonnull(leaf);
	snprintf(ou, sizeof(ou), "opc-tenant:%s", tenancy);
	ck_assert(has_ou(leaf, ou));
	X509_free(leaf);
	ck_assert_str_eq(fake_oci_instance_tenancy(fo), tenancy);
	fo = fake_oci_stop(fo);

	o = (fake_oci_opts_t){ .region = "us-phoenix-1" };
	start(&o);
	r = md_get("/opc/v1/instance/region", NULL);
	ck_assert_str_eq(r.body, "phx");
	resp_free(&r);
	r = md_get("/opc/v1/instance/canonicalRegionName", NULL);
	ck_assert_str_eq(r.body, "us-phoenix-1");
	resp_free(&r);
}
END_TEST

/* ---- federation and proxymux -----------------------------------------------------------*/

/* The body of POST /v1/x509 as the SDKs send it, with the instance's intermediate. */
static char *federation_body(const char *leaf, const char *pub)
{
	struct resp r = md_get("/opc/v2/identity/intermediate.pem", "Bearer Oracle");
	char *inter = cert_b64(r.body), *s = malloc(16384);

	resp_free(&r);
	ck_assert_ptr_nonnull(s);
	snprintf(s, 16384,
		 "{\"certificate\":\"%s\",\"publicKey\":\"%s\",\"intermediateCertificates\":[\"%s\"]}",
		 leaf, pub, inter);
	free(inter);
	return s;
}

static struct resp federate(EVP_PKEY *leaf_key, const char *key_id, const char *body)
{
	struct req q = { .method = "POST", .target = "/v1/x509", .body = body, .key = leaf_key,
			 .key_id = key_id };

	return send_req(&q);
}

START_TEST(test_federation)
{
	fake_oci_opts_t o = { .token_ttl_s = 1200 };
	char kid[512], lower[512], st[8192], *leaf_b64, *pub, *body, *bad;
	EVP_PKEY *leaf_key;
	cJSON *pl;
	struct resp r;
	struct req q;

	start(&o);
	leaf_key = read_private(fake_oci_instance_key_pem(fo));
	leaf_b64 = cert_b64(fake_oci_instance_cert_pem(fo));
	pub = spki_b64(session_key);
	body = federation_body(leaf_b64, pub);
	snprintf(kid, sizeof(kid), "%s/fed-x509/%s", fake_oci_instance_tenancy(fo),
		 fake_oci_instance_fingerprint(fo));

	r = federate(leaf_key, kid, body);
	ck_assert_int_eq(r.status, 200);
	ck_assert(cJSON_IsString(test_json_get(r.json, "token")));
	ck_assert_int_eq(fake_oci_tokens_issued(fo, false), 1);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, true), 0);
	pl = jwt_payload(jstr(r.json, "token"));
	ck_assert_double_eq(jnum(pl, "exp") - jnum(pl, "iat"), 1200);
	ck_assert(fabs(jnum(pl, "exp") - (double)(time(NULL) + 1200)) < 120);
	ck_assert_str_eq(jstr(pl, "opc-tenant"), fake_oci_instance_tenancy(fo));
	cJSON_Delete(pl);

	/* the token signs Container Engine calls with the session key */
	snprintf(st, sizeof(st), "ST$%s", jstr(r.json, "token"));
	resp_free(&r);
	q = (struct req){ .method = "GET", .target = CE "/nodePools/" POOL, .key = session_key,
			  .key_id = st };
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	/* the fingerprint in any case; a whole PEM as publicKey */
	snprintf(lower, sizeof(lower), "%s/fed-x509/%s", fake_oci_instance_tenancy(fo),
		 fake_oci_instance_fingerprint(fo));
	for (char *c = strrchr(lower, '/'); *c; c++)
		*c = (char)tolower((unsigned char)*c);
	free(body);
	{
		char esc[2048];
		size_t k = 0;

		for (const char *p = session_pub_pem; *p && k < sizeof(esc) - 3; p++) {
			if (*p == '\n') {
				esc[k++] = '\\';
				esc[k++] = 'n';
			} else {
				esc[k++] = *p;
			}
		}
		esc[k] = '\0';
		body = federation_body(leaf_b64, esc);
	}
	r = federate(leaf_key, lower, body);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, false), 2);
	free(body);
	body = federation_body(leaf_b64, pub);

	/* refusals */
	{
		char k2[512];

		snprintf(k2, sizeof(k2), "ocid1.tenancy.oc1..other/fed-x509/%s",
			 fake_oci_instance_fingerprint(fo));
		r = federate(leaf_key, k2, body);
		check_auth_error(&r, "unknown keyId ocid1.tenancy.oc1..other/fed-x509/");
		resp_free(&r);
		snprintf(k2, sizeof(k2), "%s/fed-x509/00:11:22", fake_oci_instance_tenancy(fo));
		r = federate(leaf_key, k2, body);
		check_auth_error(&r, "unknown keyId");
		resp_free(&r);
	}
	r = federate(session_key, kid, body); /* not signed by the leaf */
	check_auth_error(&r, "signature does not verify");
	resp_free(&r);
	r = federate(api_key, KEY_ID, body);
	check_auth_error(&r, "POST /v1/x509 needs a TENANCY/fed-x509/FINGERPRINT keyId");
	resp_free(&r);
	q = (struct req){ .method = "GET", .target = CE "/nodePools/" POOL, .key = leaf_key,
			  .key_id = kid };
	r = send_req(&q);
	check_auth_error(&r, "a fed-x509 keyId is only accepted on POST /v1/x509");
	resp_free(&r);
	{
		struct resp ri = md_get("/opc/v2/identity/intermediate.pem", "Bearer Oracle");
		char *ib = cert_b64(ri.body);

		resp_free(&ri);
		bad = federation_body(ib, pub); /* the intermediate as the certificate */
		free(ib);
	}
	r = federate(leaf_key, kid, bad);
	check_auth_error(&r, "certificate is not the instance's");
	resp_free(&r);
	free(bad);
	r = federate(leaf_key, kid, "{\"certificate\":\"AAAA\"}");
	check_error(&r, 400, "MissingParameter");
	resp_free(&r);
	bad = federation_body(leaf_b64, "bm90IGEga2V5");
	r = federate(leaf_key, kid, bad);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	free(bad);
	bad = federation_body("not base64!", pub);
	r = federate(leaf_key, kid, bad);
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	free(bad);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, false), 2);

	EVP_PKEY_free(leaf_key);
	free(leaf_b64);
	free(pub);
	free(body);
}
END_TEST

static struct resp proxymux(const char *bearer, const char *body)
{
	char auth[512];
	struct req q = { .method = "POST", .target = "/resourcePrincipalSessionTokens",
			 .body = body, .extra = "opc-request-id: 0123456789ABCDEF/0123/4567" };

	if (bearer) {
		snprintf(auth, sizeof(auth), "Bearer %s", bearer);
		q.authorization = auth;
	}
	return send_req(&q);
}

START_TEST(test_proxymux)
{
	char *pub = spki_b64(session_key), body[4096], kid[8192], *inner;
	size_t len;
	unsigned char *dec;
	cJSON *j, *pl;
	struct fake_oci_call call;
	struct resp r;
	struct req q;

	start(NULL);
	snprintf(body, sizeof(body), "{\"podKey\":\"%s\"}", pub);
	r = proxymux("sa-token-1", body);
	check_auth_error(&r, "proxymux:"); /* no service account token set yet */
	resp_free(&r);
	ck_assert_int_eq(fake_oci_set_sa_token(fo, "sa-token-1"), 0);

	r = proxymux("sa-token-1", body);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, true), 1);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, false), 0);
	/* a JSON string: a quoted base64 text of {"token":"ST$..."} */
	ck_assert(r.len > 2 && r.body[0] == '"' && r.body[r.len - 1] == '"');
	ck_assert(cJSON_IsString(r.json));
	inner = strndup(r.body + 1, r.len - 2);
	dec = unb64(inner, &len);
	free(inner);
	j = cJSON_Parse((char *)dec);
	free(dec);
	ck_assert(cJSON_IsString(test_json_get(j, "token")));
	ck_assert(strncmp(jstr(j, "token"), "ST$", 3) == 0);
	pl = jwt_payload(jstr(j, "token") + 3);
	ck_assert(cJSON_IsNumber(test_json_get(pl, "iat")));
	ck_assert(cJSON_IsNumber(test_json_get(pl, "exp")));
	ck_assert_double_eq(jnum(pl, "exp") - jnum(pl, "iat"), 3600);
	ck_assert_str_eq(jstr(pl, "res_tenant"), fake_oci_instance_tenancy(fo));
	cJSON_Delete(pl);
	snprintf(kid, sizeof(kid), "%s", jstr(j, "token"));
	cJSON_Delete(j);
	resp_free(&r);
	ck_assert(fake_oci_call(fo, fake_oci_call_count(fo) - 1, &call));
	ck_assert_str_eq(call.key_id, "");
	ck_assert_int_eq(call.status, 200);

	q = (struct req){ .method = "GET", .target = CE "/nodePools/" POOL, .key = session_key,
			  .key_id = kid };
	r = send_req(&q);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	/* the Go SDK sends the whole PEM */
	{
		char esc[2048];
		size_t k = 0;

		for (const char *p = session_pub_pem; *p && k < sizeof(esc) - 3; p++) {
			if (*p == '\n') {
				esc[k++] = '\\';
				esc[k++] = 'n';
			} else {
				esc[k++] = *p;
			}
		}
		esc[k] = '\0';
		snprintf(body, sizeof(body), "{\"podKey\":\"%s\"}", esc);
	}
	r = proxymux("sa-token-1", body);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, true), 2);

	/* refusals */
	r = proxymux("sa-token-2", body);
	check_auth_error(&r, "proxymux: not the service account token");
	resp_free(&r);
	r = proxymux(NULL, body);
	check_auth_error(&r, "proxymux: no Authorization");
	resp_free(&r);
	r = proxymux("sa-token-1", "{\"podKey\":\"bm90IGEga2V5\"}");
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = proxymux("sa-token-1", "{\"pod\":1}");
	check_error(&r, 400, "InvalidParameter");
	resp_free(&r);
	r = proxymux("sa-token-1", "{");
	check_error(&r, 400, "CannotParseRequest");
	resp_free(&r);
	q = (struct req){ .method = "GET", .target = "/resourcePrincipalSessionTokens",
			  .authorization = "Bearer sa-token-1" };
	r = send_req(&q);
	check_error(&r, 405, "MethodNotAllowed");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_set_sa_token(fo, NULL), 0);
	snprintf(body, sizeof(body), "{\"podKey\":\"%s\"}", pub);
	r = proxymux("sa-token-1", body);
	check_error(&r, 401, "NotAuthenticated");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_tokens_issued(fo, true), 2);
	free(pub);
}
END_TEST

/* ---- OKE cluster tokens ----------------------------------------------------------------*/

/* quote_plus, as Python's requests encodes query parameters. */
static void form_encode(const char *s, char *out, size_t size)
{
	size_t k = 0;

	for (; *s && k + 4 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			out[k++] = (char)c;
		else if (c == ' ')
			out[k++] = '+';
		else
			k += (size_t)snprintf(out + k, size - k, "%%%02X", c);
	}
	out[k] = '\0';
}

/* What `oci ce cluster generate-token` prints as the token (see oci-api.c). */
static char *cluster_token(EVP_PKEY *k, const char *key_id, const char *cluster, time_t t,
			   bool date_first, bool pad)
{
	char date[64], sstr[1024], auth[4096], ea[8192], ed[256], url[16384], *sig, *tok;

	imf_date(t, date);
	snprintf(sstr, sizeof(sstr),
		 "date: %s\n(request-target): get /cluster_request/%s\n"
		 "host: containerengine.us-ashburn-1.oraclecloud.com",
		 date, cluster);
	sig = sign_b64(k, sstr);
	snprintf(auth, sizeof(auth),
		 "Signature version=\"1\",headers=\"date (request-target) host\",keyId=\"%s\","
		 "algorithm=\"rsa-sha256\",signature=\"%s\"",
		 key_id, sig);
	free(sig);
	form_encode(auth, ea, sizeof(ea));
	form_encode(date, ed, sizeof(ed));
	if (date_first)
		snprintf(url, sizeof(url),
			 "https://containerengine.us-ashburn-1.oraclecloud.com/cluster_request/%s"
			 "?date=%s&authorization=%s",
			 cluster, ed, ea);
	else
		snprintf(url, sizeof(url),
			 "https://containerengine.us-ashburn-1.oraclecloud.com/cluster_request/%s"
			 "?authorization=%s&date=%s",
			 cluster, ea, ed);
	tok = b64url(url, pad);
	return tok;
}

START_TEST(test_cluster_token)
{
	const char *cl = "ocid1.cluster.oc1.iad.aaaaaaaacluster";
	char id[128], err[256], small[8];
	time_t t = time(NULL);
	char *tok;

	start(NULL);
	for (int i = 0; i < 4; i++) {
		tok = cluster_token(api_key, KEY_ID, cl, t, i & 1, i & 2);
		memset(id, 0, sizeof(id));
		ck_assert_msg(fake_oci_verify_cluster_token(fo, tok, id, sizeof(id), err,
							    sizeof(err)) == 0,
			      "variant %d: %s", i, err);
		ck_assert_str_eq(id, cl);
		free(tok);
	}
	tok = cluster_token(api_key, KEY_ID, cl, t, false, true);
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, tok, small, sizeof(small), err,
						       sizeof(err)),
			 -ENAMETOOLONG);
	free(tok);

	/* the wrong key, an unknown one, a stale date */
	tok = cluster_token(session_key, KEY_ID, cl, t, false, true);
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, tok, id, sizeof(id), err, sizeof(err)),
			 -EACCES);
	ck_assert_str_eq(err, "signature does not verify");
	free(tok);
	tok = cluster_token(api_key, "a/b/c", cl, t, false, true);
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, tok, id, sizeof(id), err, sizeof(err)),
			 -EACCES);
	ck_assert(strncmp(err, "unknown keyId a/b/c", 19) == 0);
	free(tok);
	tok = cluster_token(api_key, KEY_ID, cl, t - 400, false, true);
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, tok, id, sizeof(id), err, sizeof(err)),
			 -EACCES);
	ck_assert(strncmp(err, "date skewed by", 14) == 0);
	free(tok);

	/* tampered: another cluster in the URL than the one signed */
	{
		char *good = cluster_token(api_key, KEY_ID, cl, t, false, true);
		char *url = unb64url(good), *p = strstr(url, "cluster_request/") + 16, *bad;

		p[strlen(cl) - 1] = 'X';
		bad = b64url(url, true);
		ck_assert_int_eq(fake_oci_verify_cluster_token(fo, bad, id, sizeof(id), err,
							       sizeof(err)),
				 -EACCES);
		ck_assert_str_eq(err, "signature does not verify");
		free(good);
		free(url);
		free(bad);
	}

	/* not a token at all */
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, "!!!", id, sizeof(id), err, sizeof(err)),
			 -EACCES);
	tok = b64url("https://example.com/cluster_request/x?authorization=a&date=b", true);
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, tok, id, sizeof(id), err, sizeof(err)),
			 -EACCES);
	free(tok);
	tok = b64url("https://containerengine.us-ashburn-1.oraclecloud.com/cluster_request/x?date=b",
		     true);
	ck_assert_int_eq(fake_oci_verify_cluster_token(fo, tok, id, sizeof(id), err, sizeof(err)),
			 -EACCES);
	ck_assert_str_eq(err, "token URL lacks authorization");
	free(tok);
}
END_TEST

/* ---- faults, the call record, limits ---------------------------------------------------*/

START_TEST(test_faults)
{
	struct req unsigned_get = { .method = "GET", .target = CE "/nodePools/" POOL };
	struct fake_oci_call call;
	size_t before;
	struct resp r;

	start(NULL);
	ck_assert_int_eq(fake_oci_fail_next(fo, "GET " CE "/nodePools/", 2, 429, "TooManyRequests", 3),
			 0);
	for (int i = 0; i < 2; i++) {
		r = send_req(&unsigned_get); /* before authentication: no credentials needed */
		check_error(&r, 429, "TooManyRequests");
		ck_assert_str_eq(r.retry_after, "3");
		resp_free(&r);
	}
	r = send_req(&unsigned_get);
	check_error(&r, 401, "NotAuthenticated");
	ck_assert_str_eq(r.retry_after, "");
	resp_free(&r);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	ck_assert_int_eq(fake_oci_count(fo, "GET " CE "/nodePools/" POOL), 4);
	ck_assert(fake_oci_call(fo, 0, &call));
	ck_assert_int_eq(call.status, 429);

	/* only what matches */
	ck_assert_int_eq(fake_oci_fail_next(fo, "PUT ", 1, 409, "IncorrectState", 0), 0);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":3}}", NULL);
	check_error(&r, 409, "IncorrectState");
	resp_free(&r);
	ck_assert_int_eq(fake_oci_pool_size(fo, POOL), 2);

	/* until cleared, any request, the default code */
	ck_assert_int_eq(fake_oci_fail_next(fo, NULL, -1, 503, NULL, 0), 0);
	for (int i = 0; i < 3; i++) {
		r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
		check_error(&r, 503, "ServiceUnavailable");
		ck_assert_str_eq(r.retry_after, "");
		resp_free(&r);
	}
	r = md_get("/opc/v1/instance/region", NULL);
	ck_assert_int_eq(r.status, 503);
	resp_free(&r);
	fake_oci_clear_faults(fo);
	r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	/* the metadata server */
	ck_assert_int_eq(fake_oci_fail_next(fo, "GET /opc/v2/instance/region", 1, 500, NULL, 0), 0);
	r = md_get("/opc/v2/instance/region", "Bearer Oracle");
	check_error(&r, 500, "InternalServerError");
	resp_free(&r);
	r = md_get("/opc/v2/instance/region", "Bearer Oracle");
	ck_assert_int_eq(r.status, 200);
	resp_free(&r);

	before = fake_oci_call_count(fo);
	ck_assert_int_eq(fake_oci_fail_next(fo, NULL, 0, 500, NULL, 0), -EINVAL);
	ck_assert_int_eq(fake_oci_fail_next(fo, NULL, 1, 99, NULL, 0), -EINVAL);
	ck_assert_int_eq(fake_oci_call_count(fo), before);
}
END_TEST

START_TEST(test_call_record)
{
	char etag[64], path[256];
	struct fake_oci_call call;
	size_t n;
	struct resp r;

	start(NULL);
	ck_assert_int_eq(fake_oci_call_count(fo), 0);
	ck_assert(!fake_oci_call(fo, 0, &call));
	ck_assert(fake_oci_pool_etag(fo, POOL, etag, sizeof(etag)));
	r = signed_req("PUT", CE "/nodePools/" POOL, "{\"nodeConfigDetails\":{\"size\":3}}", etag);
	ck_assert_int_eq(r.status, 202);
	n = fake_oci_call_count(fo);
	ck_assert_int_eq(n, 1);
	ck_assert(fake_oci_call(fo, 0, &call));
	ck_assert_str_eq(call.method, "PUT");
	ck_assert_str_eq(call.path, CE "/nodePools/" POOL);
	ck_assert_int_eq(call.status, 202);
	ck_assert_str_eq(call.key_id, KEY_ID);
	ck_assert_str_eq(call.if_match, etag);
	ck_assert_str_eq(call.opc_request_id, r.request_id);
	resp_free(&r);

	/* the raw target, query and percent-encoding as sent */
	snprintf(path, sizeof(path), CE "/nodePools/" POOL "?a=b%%20c&x=%%2F");
	r = signed_req("GET", path, NULL, NULL);
	ck_assert_int_eq(r.status, 200); /* signed over the raw target, verified on it */
	resp_free(&r);
	ck_assert(fake_oci_call(fo, 1, &call));
	ck_assert_str_eq(call.path, path);
	ck_assert_str_eq(call.if_match, "");

	{
		struct req q = { .method = "GET", .target = CE "/nodePools/" POOL };

		r = send_req(&q);
		resp_free(&r);
	}
	ck_assert(fake_oci_call(fo, 2, &call));
	ck_assert_str_eq(call.key_id, "");
	ck_assert_int_eq(call.status, 401);
	ck_assert_int_eq(fake_oci_count(fo, NULL), 3);
	ck_assert_int_eq(fake_oci_count(fo, "PUT "), 1);
	ck_assert_int_eq(fake_oci_count(fo, "x=%2F"), 1);
}
END_TEST

START_TEST(test_body_limit)
{
	size_t n = (1u << 20) + 1;
	char *big = malloc(n + 1);
	struct resp r;

	start(NULL);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	r = signed_req("PUT", CE "/nodePools/" POOL, big, NULL);
	check_error(&r, 413, "PayloadTooLarge");
	resp_free(&r);
	big[n - 1] = '\0';
	big[n - 2] = '}'; /* exactly 1 MiB: served */
	r = signed_req("PUT", CE "/nodePools/" POOL, big, NULL);
	ck_assert_int_eq(r.status, 202);
	resp_free(&r);
	free(big);
}
END_TEST

/* Clients at once: signed reads, resizes and metadata reads on threads of their own. A
 * failed assertion on one of them still fails the test (it aborts the run). */
#define CLIENTS 4
#define PER_CLIENT 8

struct client {
	pthread_t t;
	int id, ok;
};

static void *client_run(void *arg)
{
	struct client *c = arg;
	char body[64];

	for (int i = 0; i < PER_CLIENT; i++) {
		struct resp r;

		if (c->id == 0) {
			r = md_get("/opc/v2/instance/canonicalRegionName", "Bearer Oracle");
			c->ok += r.status == 200 && strcmp(r.body, "us-ashburn-1") == 0;
		} else if (c->id == 1) {
			fake_oci_set_pool_state(fo, POOL, "ACTIVE");
			snprintf(body, sizeof(body), "{\"nodeConfigDetails\":{\"size\":%d}}", i % 3);
			r = signed_req("PUT", CE "/nodePools/" POOL, body, NULL);
			c->ok += r.status == 202 || r.status == 409;
		} else {
			r = signed_req("GET", CE "/nodePools/" POOL, NULL, NULL);
			c->ok += r.status == 200 && strcmp(jstr(r.json, "id"), POOL) == 0;
		}
		resp_free(&r);
	}
	return NULL;
}

START_TEST(test_concurrent_clients)
{
	struct client c[CLIENTS];

	start(NULL);
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct client){ .id = i };
		ck_assert_int_eq(pthread_create(&c[i].t, NULL, client_run, &c[i]), 0);
	}
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(c[i].t, NULL);
		ck_assert_int_eq(c[i].ok, PER_CLIENT);
	}
	ck_assert_int_eq(fake_oci_count(fo, NULL), CLIENTS * PER_CLIENT);
	ck_assert_int_eq(fake_oci_count(fo, "GET " CE "/nodePools/"), (CLIENTS - 2) * PER_CLIENT);
}
END_TEST

START_TEST(test_start_stop)
{
	fake_oci_opts_t bad = { .update_ms = -1 };
	fake_oci_pool_t p = { .id = NULL };
	struct stat st;
	char ca[256];

	ck_assert_int_eq(fake_oci_start(&bad, &fo), -EINVAL);
	ck_assert_ptr_null(fo);
	start(NULL);
	ck_assert(strncmp(fake_oci_url(fo), "https://127.0.0.1:", 18) == 0);
	ck_assert(strncmp(fake_oci_metadata_url(fo), "http://127.0.0.1:", 17) == 0);
	snprintf(ca, sizeof(ca), "%s", fake_oci_ca_file(fo));
	ck_assert_int_eq(stat(ca, &st), 0);
	ck_assert_int_eq(fake_oci_put_pool(fo, &p), -EINVAL);
	p = (fake_oci_pool_t){ .id = "x", .size = 1001 };
	ck_assert_int_eq(fake_oci_put_pool(fo, &p), -EINVAL);
	fo = fake_oci_stop(fo);
	ck_assert_int_ne(stat(ca, &st), 0);
	*strrchr(ca, '/') = '\0';
	ck_assert_int_ne(stat(ca, &st), 0); /* the directory is gone too */
	ck_assert_ptr_null(fake_oci_stop(NULL));
}
END_TEST

static Suite *oci_fake_suite(void)
{
	Suite *s = suite_create("oci-fake");
	TCase *tc = tcase_create("fake");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_signature_refusals);
	tcase_add_test(tc, test_session_tokens);
	tcase_add_test(tc, test_pool_get);
	tcase_add_test(tc, test_pool_update);
	tcase_add_test(tc, test_delete_node);
	tcase_add_test(tc, test_lifecycles);
	tcase_add_test(tc, test_metadata);
	tcase_add_test(tc, test_metadata_regions);
	tcase_add_test(tc, test_federation);
	tcase_add_test(tc, test_proxymux);
	tcase_add_test(tc, test_cluster_token);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_call_record);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_concurrent_clients);
	tcase_add_test(tc, test_start_stop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int status;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	api_key = EVP_RSA_gen(1024);
	session_key = EVP_RSA_gen(1024);
	if (!api_key || !session_key)
		return EXIT_FAILURE;
	api_pub_pem = public_pem(api_key);
	session_pub_pem = public_pem(session_key);
	if (!api_pub_pem || !session_pub_pem)
		return EXIT_FAILURE;
	status = check_run(oci_fake_suite(), CK_ENV);
	free(api_pub_pem);
	free(session_pub_pem);
	EVP_PKEY_free(api_key);
	EVP_PKEY_free(session_key);
	curl_global_cleanup();
	return status;
}
