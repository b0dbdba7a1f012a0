/* oci-api.c - the fake OCI APIs of oci-api.h.
 *
 * Design. One mutex guards everything that changes: keys and session tokens, node pools,
 * work requests, faults, the clock and the call record. Nothing holds it for long: a
 * signature check takes a reference to the key under the lock and verifies outside it. Time
 * is modelled lazily: a pool, node or work request keeps when its change began (monotonic
 * clock) and its state is computed from that when read, so there is no timer thread.
 *
 * A request on the HTTPS server runs on its connection's thread (libmicrohttpd, a thread
 * per connection) through: record -> body limit (413) -> fault -> proxymux (bearer token) or
 * request signature (401) -> route (404 NotFound, 405) -> handler. Faults are answered
 * before authentication, so that a storm of 429s or 503s is testable whatever the
 * credentials; they are recorded like every answer. The metadata server (plain HTTP) runs
 * record -> fault -> route -> v2 header check.
 *
 * The signature check is this file's own code on OpenSSL and never oci/, so that a mistake
 * shared by signer and verifier cannot pass: the signing string is rebuilt from the request
 * as received (method, the raw target that the URI log callback sees before any decoding,
 * header values as sent) and verified with EVP_DigestVerify, SHA-256, PKCS#1 v1.5.
 *
 * What the real services do, as read in the public SDKs and documentation (the shapes the
 * client must handle):
 *   - federation, POST /v1/x509 (oci-python-sdk auth/federation_client.py, oci-go-sdk
 *     common/auth/federation_client.go): body {"certificate","publicKey"
 *     [,"intermediateCertificates":[...]]}, each the PEM body without armour or newlines;
 *     keyId TENANCY/fed-x509/SHA1 of the leaf (pyOpenSSL digest('sha1'): "AB:CD:..."),
 *     answer {"token":"<JWT>"}. Both SDKs sign only date and (request-target) (+ the body
 *     headers) there; this fake, per its header, wants host too.
 *   - the tenancy of an instance is the subject OU "opc-tenant:<OCID>" of the leaf
 *     certificate (auth_utils.get_tenancy_id_from_certificate; "opc-identity:" also read).
 *   - proxymux, POST /resourcePrincipalSessionTokens (oci-python-sdk
 *     oke_workload_identity_resource_principal_signer.py, oci-go-sdk
 *     x509FederationClientForOkeWorkloadIdentity): Authorization: Bearer <SA token>,
 *     Content-Type: application/json, opc-request-id; body {"podKey":...}: the Python SDK
 *     sends the PEM body without armour, the Go SDK the whole PEM (both accepted). The answer
 *     is a JSON string: a quoted base64 text (Go strips the first and last byte) that decodes
 *     to {"token":"ST$<JWT>"} (both SDKs drop the first three characters). The Go SDK reads
 *     "iat" and "exp" of the JWT as numbers.
 *   - instance metadata (docs "Getting Instance Metadata"): /opc/v2/instance/region is "iad"
 *     for us-ashburn-1 and "phx" for us-phoenix-1, the full name for every other region;
 *     canonicalRegionName is always the full name.
 *   - Container Engine WorkRequest (oci-python-sdk container_engine/models/work_request.py):
 *     id, operationType (NODEPOOL_UPDATE, ...), status (ACCEPTED, IN_PROGRESS, FAILED,
 *     SUCCEEDED, CANCELING, CANCELED), compartmentId, resources[{actionType, entityType,
 *     identifier, entityUri}], timeAccepted, timeStarted, timeFinished; there is no
 *     percentComplete. Node: id, name, availabilityDomain, privateIp, lifecycleState
 *     (CREATING, ACTIVE, UPDATING, DELETING, DELETED, FAILING, INACTIVE), lifecycleDetails,
 *     nodeError {code, message, status, opc-request-id}.
 *   - error codes (docs "API Errors"): 400 CannotParseRequest (body not JSON) and
 *     InvalidParameter, 401 NotAuthenticated, 404 NotAuthorizedOrNotFound (a resource) and
 *     NotFound (no such operation), 405 MethodNotAllowed, 409 IncorrectState.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/fakes/fake-tls.h"
#include "tests/fakes/mhd-conn.h"
#include "tests/fakes/oci-api.h"
#include "tests/fakes/test-util.h"

#define MAX_BODY (1u << 20)        /* request bodies; more is 413 */
#define MAX_AUTH (96u << 10)       /* an Authorization header or a cluster token */
#define MAX_SIGNED_HEADERS 32
#define MAX_SKEW_S 300             /* OCI's 5 minutes */
#define MAX_FAULTS 64
#define MAX_KEYS 8192
#define MAX_POOLS 256
#define MAX_POOL_SIZE 1000
#define MAX_WORK 8192
#define MAX_GRACE_S 3600           /* overrideEvictionGraceDuration: PT0M..PT60M */
#define CONN_MEMORY (256u << 10)   /* libmicrohttpd's per-connection pool: long tokens */
#define DEFAULT_REGION "us-ashburn-1"
#define DEFAULT_TENANCY "ocid1.tenancy.oc1..fakeinstancetenancy"
#define INSTANCE_ID "ocid1.instance.oc1..fake"
#define INSTANCE_COMPARTMENT "ocid1.compartment.oc1..fakeinstancecompartment"
#define WORKLOAD_ID "ocid1.workload.oc1..fakeworkload"
#define SESSION_USER "ocid1.user.oc1..fakesessionuser"
#define K8S_VERSION "v1.31.1"
#define MSG_NOT_AUTHENTICATED \
	"The required information to complete authentication was not provided or was incorrect."
#define MSG_NOT_FOUND "Authorization failed or requested resource not found."

/* ---- small helpers ---------------------------------------------------------------------*/

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* nbytes random bytes as uppercase hex into buf[2 * nbytes + 1]. */
static void rand_hex(char *buf, size_t nbytes)
{
	unsigned char b[32];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (RAND_bytes(b, (int)nbytes) != 1) {
		for (size_t i = 0; i < nbytes; i++)
			b[i] = (unsigned char)rand();
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(buf + 2 * i, 3, "%02X", b[i]);
	buf[2 * nbytes] = '\0';
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Standard base64 with padding, no newlines; malloc'd. */
static char *b64_encode(const unsigned char *p, size_t n)
{
	char *s;

	if (n > (size_t)INT_MAX / 2)
		return NULL;
	s = malloc((n + 2) / 3 * 4 + 1);
	if (s)
		EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	return s;
}

/* URL-safe base64 without padding (JWT); malloc'd. */
static char *b64url_encode(const unsigned char *p, size_t n)
{
	char *s = b64_encode(p, n);
	size_t len;

	if (!s)
		return NULL;
	for (char *c = s; *c; c++) {
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
	}
	len = strlen(s);
	while (len && s[len - 1] == '=')
		s[--len] = '\0';
	return s;
}

/* Strict standard base64 of n characters (padded to a multiple of 4, '=' only at the end)
 * into a malloc'd buffer (NUL-terminated for convenience); NULL when it is not. EVP_DecodeBlock
 * counts the padding as zero bytes, so they are taken off. */
static unsigned char *b64_decode(const char *s, size_t n, size_t *ret_len)
{
	unsigned char *out;
	size_t pad = 0;
	int k;

	if (n == 0 || n % 4 || n > (size_t)INT_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i + 2 < n)
				return NULL;
			pad++;
		} else if (pad || !b64_char(s[i])) {
			return NULL;
		}
	}
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (k < 0 || (size_t)k < pad) {
		free(out);
		return NULL;
	}
	*ret_len = (size_t)k - pad;
	out[*ret_len] = '\0';
	return out;
}

/* URL-safe (or standard) base64, padding optional. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *ret_len)
{
	unsigned char *out;
	char *t;
	size_t m = n;

	if (n % 4 == 1 || n > (size_t)INT_MAX - 4)
		return NULL;
	t = malloc(n + 4);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (m % 4)
		t[m++] = '=';
	out = b64_decode(t, m, ret_len);
	free(t);
	return out;
}

static void sha256_b64(const void *p, size_t n, char out[64])
{
	unsigned char md[32];

	SHA256(p, n, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

static char *bio_string(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	return n < 0 ? NULL : dup_n(data, (size_t)n);
}

/* The public half of k, as a key of its own. */
static EVP_PKEY *public_only(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int n = i2d_PUBKEY(k, &der);

	if (n > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, n);
	}
	OPENSSL_free(der);
	return pub;
}

static EVP_PKEY *rsa_or_free(EVP_PKEY *k)
{
	if (k && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* An RSA public key from PEM: PUBLIC KEY, or a private key whose public half is taken. */
static EVP_PKEY *pubkey_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;

	if (!k && b) {
		EVP_PKEY *priv;

		(void)BIO_reset(b);
		priv = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
		if (priv)
			k = public_only(priv);
		EVP_PKEY_free(priv);
	}
	BIO_free(b);
	ERR_clear_error();
	return rsa_or_free(k);
}

/* The publicKey of a federation request or the podKey of a proxymux one: base64 DER
 * SubjectPublicKeyInfo without armour, or a whole PEM. */
static EVP_PKEY *pubkey_from_text(const char *s)
{
	const unsigned char *p;
	unsigned char *der;
	EVP_PKEY *k = NULL;
	size_t n;

	if (strncmp(s, "-----BEGIN", 10) == 0)
		return pubkey_from_pem(s);
	der = b64_decode(s, strlen(s), &n);
	if (der && n < (size_t)INT_MAX) {
		p = der;
		k = d2i_PUBKEY(NULL, &p, (long)n);
		if (k && p != der + n) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	free(der);
	ERR_clear_error();
	return rsa_or_free(k);
}

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). The weekday must be one but is not
 * checked against the date: the published vectors carry a wrong one on purpose. */
static bool parse_imf_date(const char *s, time_t *ret)
{
	static const char days[] = "MonTueWedThuFriSatSun";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 }, back;
	const char *m;
	time_t t;

	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    strcmp(s + 26, "GMT") != 0)
		return false;
	for (m = days; *m && strncmp(m, s, 3) != 0; m += 3)
		;
	if (!*m)
		return false;
	for (m = months; *m && strncmp(m, s + 8, 3) != 0; m += 3)
		;
	if (!*m)
		return false;
	for (int i = 0; i < 29; i++) {
		bool digit = (i >= 5 && i <= 6) || (i >= 12 && i <= 15) || i == 17 || i == 18 ||
			     i == 20 || i == 21 || i == 23 || i == 24;

		if (digit && !isdigit((unsigned char)s[i]))
			return false;
	}
	tm.tm_mday = (s[5] - '0') * 10 + (s[6] - '0');
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = (s[12] - '0') * 1000 + (s[13] - '0') * 100 + (s[14] - '0') * 10 +
		     (s[15] - '0') - 1900;
	tm.tm_hour = (s[17] - '0') * 10 + (s[18] - '0');
	tm.tm_min = (s[20] - '0') * 10 + (s[21] - '0');
	tm.tm_sec = (s[23] - '0') * 10 + (s[24] - '0');
	if (tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	t = timegm(&tm);
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != tm.tm_mday)
		return false; /* 31 Feb and the like */
	*ret = t;
	return true;
}

/* RFC 3339 with milliseconds, as OCI writes times. */
static void fmt_time(char buf[32], long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* Percent-decoding of a query value ('+' is a space, as form encoding writes it). */
static char *url_decode(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	size_t k = 0;

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			d[k++] = ' ';
		} else if (s[i] == '%') {
			char hex[3];

			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2])) {
				free(d);
				return NULL;
			}
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			hex[2] = '\0';
			d[k++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			d[k++] = s[i];
		}
	}
	d[k] = '\0';
	if (strlen(d) != k) { /* %00 */
		free(d);
		return NULL;
	}
	return d;
}

static bool parse_bool(const char *s, bool *ret)
{
	if (strcmp(s, "true") == 0)
		*ret = true;
	else if (strcmp(s, "false") == 0)
		*ret = false;
	else
		return false;
	return true;
}

/* An ISO 8601 duration as OCI takes them here: PT[nH][nM][nS], at least one part. */
static bool parse_duration(const char *s, long long *ret)
{
	static const char units[] = "HMS";
	static const long long mult[] = { 3600, 60, 1 };
	long long total = 0;
	int next = 0;
	bool any = false;

	if (strncmp(s, "PT", 2) != 0)
		return false;
	s += 2;
	while (*s) {
		long long v = 0;
		const char *u;
		int digits = 0;

		while (isdigit((unsigned char)*s) && digits < 9) {
			v = v * 10 + (*s++ - '0');
			digits++;
		}
		if (!digits || !*s)
			return false;
		u = strchr(units + next, *s);
		if (!u)
			return false;
		next = (int)(u - units) + 1;
		total += v * mult[u - units];
		any = true;
		s++;
	}
	if (!any)
		return false;
	*ret = total;
	return true;
}

/* ---- state -----------------------------------------------------------------------------*/

struct key {
	char *key_id;   /* "TENANCY/USER/FINGERPRINT" or "ST$<token>" */
	EVP_PKEY *pub;
	long long expiry; /* session tokens: the JWT's exp (fake clock); 0: none */
	bool revoked;
};

struct node {
	char *id, *name, *ip;
	long long created_ms; /* CREATING until created_ms + node_create_ms */
	long long deleted_ms; /* 0, or when its delete began: DELETING for update_ms, then gone */
	char *state;          /* set by hand; NULL: from the timestamps */
	char *err_code, *err_msg;
};

struct pool {
	char *id, *name, *cluster_id, *compartment_id, *shape;
	char *state;               /* ACTIVE, NEEDS_ATTENTION, ...: the state when not updating */
	int size;
	long long updating_until;  /* UPDATING until then */
	char etag[40];
	struct node *nodes;
	size_t n_nodes, cap_nodes;
};

struct work {
	char id[80];
	char *pool_id, *compartment_id;
	long long t0, t1;  /* monotonic: accepted, done */
	long long wall0;   /* the fake's wall clock at t0 */
};

struct fault {
	char *match;
	int left, status, retry_after;
	char code[64];
};

struct server {
	fake_oci_t *f;
	bool metadata;
};

struct fake_oci {
	pthread_mutex_t lock;
	struct MHD_Daemon *api, *md;
	struct server api_srv, md_srv;
	char url[64], md_url[64];
	char tmpdir[64], ca_path[96];
	char *ca_cert, *ca_key, *srv_cert, *srv_key;

	/* the instance (immutable after start) */
	char *region, *tenancy;
	char *inter_pem, *leaf_pem, *leaf_key_pem;
	unsigned char *leaf_der;
	size_t leaf_der_len;
	char leaf_fp[64];
	EVP_PKEY *leaf_pub;
	long long update_ms, node_create_ms, token_ttl_s;

	/* everything below under lock */
	bool md_v2;
	struct key *keys;
	size_t n_keys;
	char *sa_token;
	int issued_fed, issued_pmx;
	char last_auth_error[256];
	long long skew_s;
	time_t pinned;
	struct pool *pools;
	size_t n_pools;
	struct work *work;
	size_t n_work;
	unsigned seq_node, seq_work, seq_etag;
	struct fault faults[MAX_FAULTS];
	size_t n_faults;
	struct fake_oci_call *calls;
	size_t n_calls, first_call;
	char rid_prefix[17];
	unsigned long long seq_rid;
};

/* The fake's clock, in seconds and in milliseconds (under lock). */
static time_t clock_now(const fake_oci_t *f)
{
	return (f->pinned ? f->pinned : time(NULL)) + (time_t)f->skew_s;
}

static long long clock_now_ms(const fake_oci_t *f)
{
	return (f->pinned ? (long long)f->pinned * 1000 : wall_ms()) + f->skew_s * 1000;
}

static void key_clear(struct key *k)
{
	if (k->key_id)
		explicit_bzero(k->key_id, strlen(k->key_id));
	free(k->key_id);
	EVP_PKEY_free(k->pub);
	*k = (struct key){ 0 };
}

/* Registers key_id -> pub (taken over, also on failure), replacing an older entry. */
static int add_key(fake_oci_t *f, char *key_id, EVP_PKEY *pub, long long expiry)
{
	struct key *k;
	int r = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_keys; i++) {
		if (strcmp(f->keys[i].key_id, key_id) == 0) {
			key_clear(&f->keys[i]);
			f->keys[i] = (struct key){ key_id, pub, expiry, false };
			key_id = NULL;
			pub = NULL;
			goto out;
		}
	}
	if (f->n_keys == MAX_KEYS) {
		r = -ENOSPC;
		goto out;
	}
	k = realloc(f->keys, (f->n_keys + 1) * sizeof(*k));
	if (!k) {
		r = -ENOMEM;
		goto out;
	}
	f->keys = k;
	f->keys[f->n_keys++] = (struct key){ key_id, pub, expiry, false };
	key_id = NULL;
	pub = NULL;
out:
	pthread_mutex_unlock(&f->lock);
	free(key_id);
	EVP_PKEY_free(pub);
	return r;
}

/* The exp claim of a JWT-shaped token, 0 when it has none. */
static long long jwt_expiry(const char *token)
{
	const char *a = strchr(token, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	unsigned char *json;
	long long expiry = 0;
	size_t n;
	cJSON *j, *e;

	if (!b)
		return 0;
	json = b64url_decode(a + 1, (size_t)(b - a - 1), &n);
	j = json ? cJSON_ParseWithLength((const char *)json, n) : NULL;
	e = cJSON_GetObjectItemCaseSensitive(j, "exp");
	if (cJSON_IsNumber(e) && e->valuedouble > 0 && e->valuedouble < 1e15)
		expiry = (long long)e->valuedouble;
	cJSON_Delete(j);
	free(json);
	return expiry;
}

/* A JWT-shaped session token ("header.payload.signature") carrying the claims of `claims`
 * (taken over) and iat, exp and jti; malloc'd. Its signature is random bytes: only this
 * fake reads it. */
static char *make_jwt(fake_oci_t *f, cJSON *claims, long long ttl_s, long long *ret_expiry)
{
	static const char header[] = "{\"alg\":\"RS256\",\"kid\":\"asw\",\"typ\":\"JWT\"}";
	unsigned char sig[64];
	char jti[33], *payload = NULL, *h = NULL, *p = NULL, *s = NULL, *token = NULL;
	long long now;

	pthread_mutex_lock(&f->lock);
	now = clock_now(f);
	pthread_mutex_unlock(&f->lock);
	rand_hex(jti, 16);
	if (!claims || !cJSON_AddNumberToObject(claims, "iat", (double)now) ||
	    !cJSON_AddNumberToObject(claims, "exp", (double)(now + ttl_s)) ||
	    !cJSON_AddStringToObject(claims, "jti", jti))
		goto out;
	payload = cJSON_PrintUnformatted(claims);
	if (RAND_bytes(sig, sizeof(sig)) != 1 || !payload)
		goto out;
	h = b64url_encode((const unsigned char *)header, strlen(header));
	p = b64url_encode((const unsigned char *)payload, strlen(payload));
	s = b64url_encode(sig, sizeof(sig));
	if (!h || !p || !s)
		goto out;
	token = malloc(strlen(h) + strlen(p) + strlen(s) + 3);
	if (token)
		sprintf(token, "%s.%s.%s", h, p, s);
	*ret_expiry = now + ttl_s;
out:
	cJSON_Delete(claims);
	free(payload);
	free(h);
	free(p);
	free(s);
	return token;
}

/* Makes a token for pub (taken over) and registers "ST$<token>"; the token, malloc'd. */
static char *issue(fake_oci_t *f, cJSON *claims, EVP_PKEY *pub, long long ttl_s)
{
	long long expiry = 0;
	char *token = make_jwt(f, claims, ttl_s, &expiry), *kid;

	if (!token) {
		EVP_PKEY_free(pub);
		return NULL;
	}
	kid = malloc(strlen(token) + 4);
	if (!kid) {
		EVP_PKEY_free(pub);
		free(token);
		return NULL;
	}
	sprintf(kid, "ST$%s", token);
	if (add_key(f, kid, pub, expiry) < 0) {
		free(token);
		return NULL;
	}
	return token;
}

/* ---- request signatures ----------------------------------------------------------------*/

struct sigparams {
	char *version, *headers, *key_id, *algorithm, *signature;
};

static void sigparams_free(struct sigparams *p)
{
	free(p->version);
	free(p->headers);
	free(p->key_id);
	free(p->algorithm);
	free(p->signature);
	*p = (struct sigparams){ 0 };
}

/* Signature version="1",headers="...",keyId="...",algorithm="...",signature="..." in any
 * order; unknown parameters are skipped, a repeated or missing one is an error. */
static int parse_sig(const char *s, struct sigparams *p, char *why, size_t wsz)
{
	static const char *const names[] = { "version", "headers", "keyId", "algorithm",
					     "signature" };
	char **slots[] = { &p->version, &p->headers, &p->key_id, &p->algorithm, &p->signature };

	*p = (struct sigparams){ 0 };
	if (strlen(s) > MAX_AUTH) {
		snprintf(why, wsz, "Authorization is longer than %u bytes", MAX_AUTH);
		return -EINVAL;
	}
	if (strncmp(s, "Signature", 9) != 0 || (s[9] != ' ' && s[9] != '\t')) {
		snprintf(why, wsz, "Authorization is not a Signature");
		return -EINVAL;
	}
	s += 9;
	for (;;) {
		const char *name, *val, *end;
		size_t nlen;
		int i;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!*s)
			break;
		name = s;
		while (isalpha((unsigned char)*s) || *s == '-')
			s++;
		nlen = (size_t)(s - name);
		if (!nlen || s[0] != '=' || s[1] != '"')
			goto malformed;
		val = s + 2;
		end = strchr(val, '"');
		if (!end)
			goto malformed;
		s = end + 1;
		if (*s && *s != ',' && *s != ' ' && *s != '\t')
			goto malformed;
		for (i = 0; i < 5; i++)
			if (strlen(names[i]) == nlen && strncasecmp(names[i], name, nlen) == 0)
				break;
		if (i == 5)
			continue;
		if (*slots[i]) {
			snprintf(why, wsz, "Authorization repeats %s", names[i]);
			goto fail;
		}
		*slots[i] = dup_n(val, (size_t)(end - val));
		if (!*slots[i]) {
			snprintf(why, wsz, "out of memory");
			goto fail;
		}
	}
	for (int i = 0; i < 5; i++) {
		if (!*slots[i]) {
			snprintf(why, wsz, "Authorization lacks %s", names[i]);
			goto fail;
		}
	}
	return 0;
malformed:
	snprintf(why, wsz, "Authorization is malformed");
fail:
	sigparams_free(p);
	return -EINVAL;
}

struct sigcheck {
	const char *method;        /* as received */
	const char *target;        /* raw path and query */
	const char *authorization; /* NULL: none */
	const char *(*header)(void *ud, const char *name);
	void *ud;
	const char *body;
	size_t len;
	bool body_headers; /* POST, PUT, PATCH: content-length, content-type, x-content-sha256 */
	bool federation;   /* POST /v1/x509: only TENANCY/fed-x509/FINGERPRINT */
};

static bool has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* The signing string for the signed header list (names lowercased in place). */
static char *signing_string(const struct sigcheck *sc, char *const *names, size_t n, char *why,
			    size_t wsz)
{
	size_t cap = 1, len = 0;
	char *s, method[16];

	test_copy_str(method, sizeof(method), sc->method);
	for (char *m = method; *m; m++)
		*m = (char)tolower((unsigned char)*m);
	for (size_t i = 0; i < n; i++) {
		const char *v = strcmp(names[i], "(request-target)") == 0 ? sc->target
									  : sc->header(sc->ud, names[i]);

		if (!v) {
			snprintf(why, wsz, "signed header %s is absent", names[i]);
			return NULL;
		}
		cap += strlen(names[i]) + strlen(v) + strlen(method) + 4;
	}
	s = malloc(cap);
	if (!s) {
		snprintf(why, wsz, "out of memory");
		return NULL;
	}
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], "(request-target)") == 0)
			len += (size_t)sprintf(s + len, "%s%s: %s %s", i ? "\n" : "", names[i],
					       method, sc->target);
		else
			len += (size_t)sprintf(s + len, "%s%s: %s", i ? "\n" : "", names[i],
					       sc->header(sc->ud, names[i]));
	}
	return s;
}

/* The key named by key_id, referenced; NULL with the reason. */
static EVP_PKEY *find_key(fake_oci_t *f, const char *key_id, bool federation, char *why,
			  size_t wsz)
{
	const char *a = strchr(key_id, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	bool fed = b && b - a - 1 == 8 && strncmp(a + 1, "fed-x509", 8) == 0;
	EVP_PKEY *k = NULL;

	if (fed != federation) {
		snprintf(why, wsz, "%s",
			 fed ? "a fed-x509 keyId is only accepted on POST /v1/x509"
			     : "POST /v1/x509 needs a TENANCY/fed-x509/FINGERPRINT keyId");
		return NULL;
	}
	if (fed) {
		/* immutable after start: no lock */
		if ((size_t)(a - key_id) != strlen(f->tenancy) ||
		    strncmp(key_id, f->tenancy, (size_t)(a - key_id)) != 0)
			snprintf(why, wsz, "unknown keyId %.80s (not the instance's tenancy)", key_id);
		else if (strcasecmp(b + 1, f->leaf_fp) != 0)
			snprintf(why, wsz,
				 "unknown keyId %.80s (not the fingerprint of the instance certificate)",
				 key_id);
		else if (EVP_PKEY_up_ref(f->leaf_pub))
			k = f->leaf_pub;
		return k;
	}
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_keys; i++) {
		const struct key *e = &f->keys[i];

		if (strcmp(e->key_id, key_id) != 0)
			continue;
		if (e->revoked || (e->expiry && clock_now(f) >= e->expiry))
			snprintf(why, wsz, "session token expired");
		else if (EVP_PKEY_up_ref(e->pub))
			k = e->pub;
		else
			snprintf(why, wsz, "out of memory");
		pthread_mutex_unlock(&f->lock);
		return k;
	}
	pthread_mutex_unlock(&f->lock);
	if (strncmp(key_id, "ST$", 3) == 0)
		snprintf(why, wsz, "unknown keyId ST$%.24s... (no such session token)", key_id + 3);
	else
		snprintf(why, wsz, "unknown keyId %.160s", key_id);
	return NULL;
}

static bool verify(EVP_PKEY *pub, const char *msg, const unsigned char *sig, size_t slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), NULL, pub) == 1 &&
		  EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
		  EVP_DigestVerify(ctx, sig, slen, (const unsigned char *)msg, strlen(msg)) == 1;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* 0 when the request is signed as OCI wants it, else -EACCES with the reason in why. */
static int check_signature(fake_oci_t *f, const struct sigcheck *sc, char *why, size_t wsz)
{
	static const char *const always[] = { "date", "(request-target)", "host" };
	static const char *const with_body[] = { "content-length", "content-type",
						 "x-content-sha256" };
	struct sigparams p = { 0 };
	char *names[MAX_SIGNED_HEADERS], *list = NULL, *sstr = NULL, *tok, *save;
	unsigned char *sig = NULL;
	EVP_PKEY *key = NULL;
	size_t n = 0, siglen;
	const char *v;
	time_t date, now;
	int r = -EACCES;

	if (!sc->authorization) {
		snprintf(why, wsz, "no Authorization header");
		return r;
	}
	if (parse_sig(sc->authorization, &p, why, wsz) < 0)
		return r;
	if (strcmp(p.version, "1") != 0) {
		snprintf(why, wsz, "unsupported signature version %.32s", p.version);
		goto out;
	}
	if (strcmp(p.algorithm, "rsa-sha256") != 0) {
		snprintf(why, wsz, "unknown algorithm %.32s", p.algorithm);
		goto out;
	}
	list = strdup(p.headers);
	if (!list) {
		snprintf(why, wsz, "out of memory");
		goto out;
	}
	for (tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (n == MAX_SIGNED_HEADERS) {
			snprintf(why, wsz, "headers names more than %d headers", MAX_SIGNED_HEADERS);
			goto out;
		}
		for (char *c = tok; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		names[n++] = tok;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!has_name(names, n, always[i])) {
			snprintf(why, wsz, "headers lack %s", always[i]);
			goto out;
		}
	}
	for (size_t i = 0; sc->body_headers && i < 3; i++) {
		if (!has_name(names, n, with_body[i])) {
			snprintf(why, wsz, "headers lack %s", with_body[i]);
			goto out;
		}
	}
	sstr = signing_string(sc, names, n, why, wsz);
	if (!sstr)
		goto out;
	key = find_key(f, p.key_id, sc->federation, why, wsz);
	if (!key)
		goto out;
	sig = b64_decode(p.signature, strlen(p.signature), &siglen);
	if (!sig) {
		snprintf(why, wsz, "signature is not base64");
		goto out;
	}
	if (!verify(key, sstr, sig, siglen)) {
		snprintf(why, wsz, "signature does not verify");
		goto out;
	}
	v = sc->header(sc->ud, "date");
	if (!v || !parse_imf_date(v, &date)) {
		snprintf(why, wsz, "date is not an IMF-fixdate: %.40s", v ? v : "");
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	now = clock_now(f);
	pthread_mutex_unlock(&f->lock);
	if (llabs((long long)date - (long long)now) > MAX_SKEW_S) {
		snprintf(why, wsz, "date skewed by %lld s", llabs((long long)date - (long long)now));
		goto out;
	}
	if (sc->body_headers) {
		char sha[64], *end;
		unsigned long long cl;

		sha256_b64(sc->body, sc->len, sha);
		v = sc->header(sc->ud, "x-content-sha256");
		if (!v || strcmp(v, sha) != 0) {
			snprintf(why, wsz, "x-content-sha256 does not match the body");
			goto out;
		}
		v = sc->header(sc->ud, "content-length");
		errno = 0;
		cl = v && isdigit((unsigned char)v[0]) ? strtoull(v, &end, 10) : 0;
		if (!v || !isdigit((unsigned char)v[0]) || *end || errno || cl != sc->len) {
			snprintf(why, wsz, "content-length does not match the body");
			goto out;
		}
	}
	r = 0;
out:
	sigparams_free(&p);
	free(list);
	free(sstr);
	free(sig);
	EVP_PKEY_free(key);
	return r;
}

/* ---- replies ---------------------------------------------------------------------------*/

struct reply {
	int status;
	char *body;
	const char *type;
	int retry_after;
	char etag[40];
	char work_id[80];
};

static void reply_set(struct reply *r, int status, char *body, const char *type)
{
	free(r->body);
	r->status = status;
	r->body = body;
	r->type = type;
}

static void reply_json(struct reply *r, int status, cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	reply_set(r, s ? status : 500, s, "application/json");
}

__attribute__((format(printf, 4, 5))) static void fail(struct reply *r, int status,
							 const char *code, const char *fmt, ...)
{
	char msg[512];
	cJSON *j = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (j && (!cJSON_AddStringToObject(j, "code", code) ||
		  !cJSON_AddStringToObject(j, "message", msg))) {
		cJSON_Delete(j);
		j = NULL;
	}
	reply_json(r, status, j);
	r->status = status;
}

static void unauthorized(fake_oci_t *f, struct reply *r, const char *why)
{
	pthread_mutex_lock(&f->lock);
	test_copy_str(f->last_auth_error, sizeof(f->last_auth_error), why);
	pthread_mutex_unlock(&f->lock);
	fail(r, 401, "NotAuthenticated", "%s", MSG_NOT_AUTHENTICATED);
}

static const char *default_code(int status)
{
	switch (status) {
	case 400:
		return "InvalidParameter";
	case 401:
		return "NotAuthenticated";
	case 404:
		return "NotAuthorizedOrNotFound";
	case 409:
		return "IncorrectState";
	case 429:
		return "TooManyRequests";
	case 500:
		return "InternalServerError";
	case 502:
		return "BadGateway";
	case 503:
		return "ServiceUnavailable";
	case 504:
		return "GatewayTimeout";
	default:
		return "InjectedFault";
	}
}

/* ---- node pools ------------------------------------------------------------------------*/

static struct pool *find_pool(fake_oci_t *f, const char *id)
{
	for (size_t i = 0; i < f->n_pools; i++)
		if (strcmp(f->pools[i].id, id) == 0)
			return &f->pools[i];
	return NULL;
}

static void node_clear(struct node *n)
{
	free(n->id);
	free(n->name);
	free(n->ip);
	free(n->state);
	free(n->err_code);
	free(n->err_msg);
	*n = (struct node){ 0 };
}

static void pool_clear(struct pool *p)
{
	for (size_t i = 0; i < p->n_nodes; i++)
		node_clear(&p->nodes[i]);
	free(p->nodes);
	free(p->id);
	free(p->name);
	free(p->cluster_id);
	free(p->compartment_id);
	free(p->shape);
	free(p->state);
	*p = (struct pool){ 0 };
}

static void new_etag(fake_oci_t *f, struct pool *p)
{
	char r[17];

	rand_hex(r, 8);
	snprintf(p->etag, sizeof(p->etag), "%s%08x", r, ++f->seq_etag);
	for (char *c = p->etag; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

static const char *pool_state(const struct pool *p, long long now)
{
	return now < p->updating_until ? "UPDATING" : p->state;
}

static const char *node_state(const fake_oci_t *f, const struct node *n, long long now)
{
	if (n->state)
		return n->state;
	if (n->deleted_ms)
		return "DELETING";
	return now < n->created_ms + f->node_create_ms ? "CREATING" : "ACTIVE";
}

/* Drops the nodes whose delete is over. */
static void settle(fake_oci_t *f, struct pool *p, long long now)
{
	size_t k = 0;

	for (size_t i = 0; i < p->n_nodes; i++) {
		struct node *n = &p->nodes[i];

		if (n->deleted_ms && !n->state && now >= n->deleted_ms + f->update_ms)
			node_clear(n);
		else
			p->nodes[k++] = *n;
	}
	p->n_nodes = k;
}

static bool node_live(const struct node *n)
{
	return !n->deleted_ms &&
	       !(n->state && (strcmp(n->state, "DELETING") == 0 || strcmp(n->state, "DELETED") == 0));
}

static int add_node(fake_oci_t *f, struct pool *p, long long created_ms)
{
	struct node *n;
	unsigned s;

	if (p->n_nodes == p->cap_nodes) {
		size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 8;

		n = realloc(p->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->nodes = n;
		p->cap_nodes = cap;
	}
	s = ++f->seq_node;
	n = &p->nodes[p->n_nodes];
	*n = (struct node){ .created_ms = created_ms };
	n->id = malloc(64);
	n->name = malloc(strlen(p->name) + 24);
	n->ip = malloc(24);
	if (!n->id || !n->name || !n->ip) {
		node_clear(n);
		return -ENOMEM;
	}
	snprintf(n->id, 64, "ocid1.instance.oc1..fakenode%06u", s);
	sprintf(n->name, "oke-%s-%u", p->name, s);
	snprintf(n->ip, 24, "10.0.%u.%u", (s / 250) % 250, s % 250 + 2);
	p->n_nodes++;
	return 0;
}

/* Brings the live nodes to size: new ones CREATING, the newest deleted first. */
static int resize(fake_oci_t *f, struct pool *p, int size, long long now)
{
	int live = 0;

	for (size_t i = 0; i < p->n_nodes; i++)
		live += node_live(&p->nodes[i]);
	for (; live < size; live++)
		if (add_node(f, p, now) < 0)
			return -ENOMEM;
	for (size_t i = p->n_nodes; i-- > 0 && live > size;) {
		struct node *n = &p->nodes[i];

		if (!node_live(n))
			continue;
		n->deleted_ms = now;
		free(n->state);
		n->state = NULL;
		live--;
	}
	p->size = size;
	return 0;
}

/* "US-ASHBURN-AD-1" for us-ashburn-1. */
static void availability_domain(const char *region, char buf[96])
{
	const char *dash = strrchr(region, '-');
	size_t n = dash ? (size_t)(dash - region) : strlen(region);

	if (n > 64)
		n = 64;
	snprintf(buf, 96, "Uocm:%.*s-AD-1", (int)n, region);
	for (char *c = buf + 5; *c; c++)
		*c = (char)toupper((unsigned char)*c);
}

static cJSON *pool_json(fake_oci_t *f, const struct pool *p, long long now)
{
	cJSON *j = cJSON_CreateObject(), *ncd, *pcs, *pc, *nodes;
	char ad[96];

	availability_domain(f->region, ad);
	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "id", p->id);
	cJSON_AddStringToObject(j, "compartmentId", p->compartment_id);
	cJSON_AddStringToObject(j, "clusterId", p->cluster_id);
	cJSON_AddStringToObject(j, "name", p->name);
	cJSON_AddStringToObject(j, "kubernetesVersion", K8S_VERSION);
	cJSON_AddStringToObject(j, "nodeImageId", "ocid1.image.oc1..fakeimage");
	cJSON_AddStringToObject(j, "nodeShape", p->shape);
	cJSON_AddArrayToObject(j, "initialNodeLabels");
	cJSON_AddNumberToObject(j, "quantityPerSubnet", 0);
	cJSON_AddArrayToObject(j, "subnetIds");
	ncd = cJSON_AddObjectToObject(j, "nodeConfigDetails");
	if (ncd) {
		cJSON_AddNumberToObject(ncd, "size", p->size);
		pcs = cJSON_AddArrayToObject(ncd, "placementConfigs");
		pc = cJSON_CreateObject();
		if (pc && pcs) {
			cJSON_AddStringToObject(pc, "availabilityDomain", ad);
			cJSON_AddStringToObject(pc, "subnetId", "ocid1.subnet.oc1..fakesubnet");
			cJSON_AddItemToArray(pcs, pc);
		} else {
			cJSON_Delete(pc);
		}
		cJSON_AddBoolToObject(ncd, "isPvEncryptionInTransitEnabled", false);
		cJSON_AddObjectToObject(ncd, "freeformTags");
		cJSON_AddObjectToObject(ncd, "definedTags");
	}
	nodes = cJSON_AddArrayToObject(j, "nodes");
	for (size_t i = 0; nodes && i < p->n_nodes; i++) {
		const struct node *n = &p->nodes[i];
		const char *st = node_state(f, n, now);
		cJSON *nj = cJSON_CreateObject(), *ne;

		if (!nj)
			break;
		cJSON_AddStringToObject(nj, "id", n->id);
		cJSON_AddStringToObject(nj, "name", n->name);
		cJSON_AddStringToObject(nj, "kubernetesVersion", K8S_VERSION);
		cJSON_AddStringToObject(nj, "availabilityDomain", ad);
		cJSON_AddStringToObject(nj, "subnetId", "ocid1.subnet.oc1..fakesubnet");
		cJSON_AddStringToObject(nj, "nodePoolId", p->id);
		cJSON_AddStringToObject(nj, "faultDomain", "FAULT-DOMAIN-1");
		cJSON_AddStringToObject(nj, "privateIp", n->ip);
		cJSON_AddStringToObject(nj, "lifecycleState", st);
		cJSON_AddStringToObject(nj, "lifecycleDetails",
					strcmp(st, "CREATING") == 0 ? "waiting for the instance"
					: strcmp(st, "DELETING") == 0 ? "terminating the instance"
								      : "");
		if (n->err_code && (ne = cJSON_AddObjectToObject(nj, "nodeError"))) {
			bool client = strcmp(n->err_code, "LimitExceeded") == 0 ||
				      strcmp(n->err_code, "QuotaExceeded") == 0;

			cJSON_AddStringToObject(ne, "code", n->err_code);
			cJSON_AddStringToObject(ne, "message", n->err_msg ? n->err_msg : "");
			cJSON_AddStringToObject(ne, "status", client ? "400" : "500");
			cJSON_AddStringToObject(ne, "opc-request-id", "FAKENODEERROR");
		}
		cJSON_AddObjectToObject(nj, "freeformTags");
		cJSON_AddObjectToObject(nj, "definedTags");
		cJSON_AddItemToArray(nodes, nj);
	}
	cJSON_AddStringToObject(j, "lifecycleState", pool_state(p, now));
	cJSON_AddStringToObject(j, "lifecycleDetails", "");
	cJSON_AddObjectToObject(j, "freeformTags");
	cJSON_AddObjectToObject(j, "definedTags");
	return j;
}

/* A work request for an accepted change of p that lasts until p->updating_until. */
static struct work *add_work(fake_oci_t *f, const struct pool *p, long long now)
{
	struct work *w;

	if (f->n_work == MAX_WORK) {
		free(f->work[0].pool_id);
		free(f->work[0].compartment_id);
		memmove(f->work, f->work + 1, (f->n_work - 1) * sizeof(*w));
		f->n_work--;
	} else {
		w = realloc(f->work, (f->n_work + 1) * sizeof(*w));
		if (!w)
			return NULL;
		f->work = w;
	}
	w = &f->work[f->n_work];
	*w = (struct work){ .t0 = now, .t1 = p->updating_until, .wall0 = clock_now_ms(f) };
	snprintf(w->id, sizeof(w->id), "ocid1.clustersworkrequest.oc1..fakework%06u",
		 ++f->seq_work);
	w->pool_id = strdup(p->id);
	w->compartment_id = strdup(p->compartment_id);
	if (!w->pool_id || !w->compartment_id) {
		free(w->pool_id);
		free(w->compartment_id);
		return NULL;
	}
	f->n_work++;
	return w;
}

static cJSON *work_json(const struct work *w, long long now)
{
	long long start = w->t0 + (w->t1 - w->t0) / 4;
	const char *status = now < start ? "ACCEPTED" : now < w->t1 ? "IN_PROGRESS" : "SUCCEEDED";
	cJSON *j = cJSON_CreateObject(), *res, *rj;
	char t[32], uri[320];

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "id", w->id);
	cJSON_AddStringToObject(j, "operationType", "NODEPOOL_UPDATE");
	cJSON_AddStringToObject(j, "status", status);
	cJSON_AddStringToObject(j, "compartmentId", w->compartment_id);
	res = cJSON_AddArrayToObject(j, "resources");
	rj = cJSON_CreateObject();
	if (res && rj) {
		snprintf(uri, sizeof(uri), "/20180222/nodePools/%.280s", w->pool_id);
		cJSON_AddStringToObject(rj, "actionType",
					strcmp(status, "SUCCEEDED") == 0 ? "UPDATED" : "IN_PROGRESS");
		cJSON_AddStringToObject(rj, "entityType", "nodepool");
		cJSON_AddStringToObject(rj, "identifier", w->pool_id);
		cJSON_AddStringToObject(rj, "entityUri", uri);
		cJSON_AddItemToArray(res, rj);
	} else {
		cJSON_Delete(rj);
	}
	fmt_time(t, w->wall0);
	cJSON_AddStringToObject(j, "timeAccepted", t);
	if (now >= start) {
		fmt_time(t, w->wall0 + (start - w->t0));
		cJSON_AddStringToObject(j, "timeStarted", t);
	}
	if (now >= w->t1) {
		fmt_time(t, w->wall0 + (w->t1 - w->t0));
		cJSON_AddStringToObject(j, "timeFinished", t);
	}
	return j;
}

/* ---- the HTTPS server ------------------------------------------------------------------*/

struct ctx {
	fake_oci_t *f;
	struct MHD_Connection *c;
	const char *method, *url, *target;
	const char *body;
	size_t len;
	struct reply *r;
};

static const char *mhd_header(void *ud, const char *name)
{
	return MHD_lookup_connection_value(ud, MHD_HEADER_KIND, name);
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static bool body_method(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

static bool authenticate(struct ctx *x)
{
	struct sigcheck sc = {
		.method = x->method,
		.target = x->target,
		.authorization = mhd_header(x->c, "Authorization"),
		.header = mhd_header,
		.ud = x->c,
		.body = x->body ? x->body : "",
		.len = x->len,
		.body_headers = body_method(x->method),
		.federation = strcmp(x->method, "POST") == 0 && strcmp(x->url, "/v1/x509") == 0,
	};
	char why[256];

	if (check_signature(x->f, &sc, why, sizeof(why)) == 0)
		return true;
	unauthorized(x->f, x->r, why);
	return false;
}

/* The body as one JSON value and nothing else; NULL when it is not. */
static cJSON *parse_body(const struct ctx *x)
{
	const char *end = NULL;
	cJSON *j;

	if (!x->body || !x->len)
		return NULL;
	j = cJSON_ParseWithLengthOpts(x->body, x->len, &end, false);
	if (!j)
		return NULL;
	while (end && end < x->body + x->len && isspace((unsigned char)*end))
		end++;
	if (end != x->body + x->len) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static void get_pool(struct ctx *x, const char *id)
{
	fake_oci_t *f = x->f;
	long long now = test_mono_ms();
	struct pool *p;
	cJSON *j;

	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (!p) {
		pthread_mutex_unlock(&f->lock);
		fail(x->r, 404, "NotAuthorizedOrNotFound", MSG_NOT_FOUND);
		return;
	}
	settle(f, p, now);
	j = pool_json(f, p, now);
	test_copy_str(x->r->etag, sizeof(x->r->etag), p->etag);
	pthread_mutex_unlock(&f->lock);
	reply_json(x->r, 200, j);
}

/* The checks an update and a delete share, under lock: 412, then 409. */
static bool may_change(struct ctx *x, struct pool *p, long long now)
{
	const char *if_match = mhd_header(x->c, "if-match");
	const char *st = pool_state(p, now);

	if (if_match && strcmp(if_match, p->etag) != 0) {
		fail(x->r, 412, "NoEtagMatch",
		     "The if-match etag does not match the current etag of the node pool.");
		return false;
	}
	if (strcmp(st, "UPDATING") == 0 || strcmp(st, "CREATING") == 0 ||
	    strcmp(st, "DELETING") == 0) {
		fail(x->r, 409, "IncorrectState",
		     "Node pool %.200s is in lifecycle state %s; try again when it is ACTIVE.",
		     p->id, st);
		return false;
	}
	return true;
}

/* Marks p UPDATING for update_ms with a new etag and a work request for it. */
static bool accept_change(struct ctx *x, struct pool *p, long long now)
{
	struct work *w;

	p->updating_until = now + x->f->update_ms;
	new_etag(x->f, p);
	w = add_work(x->f, p, now);
	if (!w) {
		fail(x->r, 500, "InternalServerError", "out of memory");
		return false;
	}
	test_copy_str(x->r->work_id, sizeof(x->r->work_id), w->id);
	reply_set(x->r, 202, NULL, NULL);
	return true;
}

static void put_pool(struct ctx *x, const char *id)
{
	fake_oci_t *f = x->f;
	cJSON *j = parse_body(x), *ncd, *sz;
	long long now = test_mono_ms();
	struct pool *p;
	int size = -1;

	if (!j) {
		fail(x->r, 400, "CannotParseRequest", "The request body is not valid JSON.");
		return;
	}
	if (!cJSON_IsObject(j)) {
		fail(x->r, 400, "InvalidParameter", "The request body must be a JSON object.");
		goto out;
	}
	ncd = cJSON_GetObjectItemCaseSensitive(j, "nodeConfigDetails");
	if (ncd && !cJSON_IsNull(ncd)) {
		if (!cJSON_IsObject(ncd)) {
			fail(x->r, 400, "InvalidParameter", "nodeConfigDetails must be an object.");
			goto out;
		}
		sz = cJSON_GetObjectItemCaseSensitive(ncd, "size");
		if (sz && !cJSON_IsNull(sz)) {
			if (!cJSON_IsNumber(sz) || sz->valuedouble != floor(sz->valuedouble) ||
			    sz->valuedouble < 0 || sz->valuedouble > MAX_POOL_SIZE) {
				fail(x->r, 400, "InvalidParameter",
				     "nodeConfigDetails.size must be an integer from 0 to %d.",
				     MAX_POOL_SIZE);
				goto out;
			}
			size = (int)sz->valuedouble;
		}
	}
	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (!p) {
		fail(x->r, 404, "NotAuthorizedOrNotFound", MSG_NOT_FOUND);
	} else {
		settle(f, p, now);
		if (may_change(x, p, now)) {
			if (size >= 0 && resize(f, p, size, now) < 0)
				fail(x->r, 500, "InternalServerError", "out of memory");
			else
				accept_change(x, p, now);
		}
	}
	pthread_mutex_unlock(&f->lock);
out:
	cJSON_Delete(j);
}

static void delete_node(struct ctx *x, const char *pool_id, const char *node_id)
{
	const char *dec = arg(x->c, "isDecrementSize");
	const char *grace = arg(x->c, "overrideEvictionGraceDuration");
	const char *force = arg(x->c, "isForceDeletionAfterOverrideGraceDuration");
	fake_oci_t *f = x->f;
	long long now = test_mono_ms(), secs;
	struct node *n = NULL;
	struct pool *p;
	bool decrement = false, b;

	if (dec && !parse_bool(dec, &decrement)) {
		fail(x->r, 400, "InvalidParameter", "isDecrementSize must be true or false.");
		return;
	}
	if (force && !parse_bool(force, &b)) {
		fail(x->r, 400, "InvalidParameter",
		     "isForceDeletionAfterOverrideGraceDuration must be true or false.");
		return;
	}
	if (grace && (!parse_duration(grace, &secs) || secs > MAX_GRACE_S)) {
		fail(x->r, 400, "InvalidParameter",
		     "overrideEvictionGraceDuration must be an ISO 8601 duration from PT0M to "
		     "PT60M.");
		return;
	}
	pthread_mutex_lock(&f->lock);
	p = find_pool(f, pool_id);
	if (p) {
		settle(f, p, now);
		for (size_t i = 0; i < p->n_nodes && !n; i++)
			if (strcmp(p->nodes[i].id, node_id) == 0)
				n = &p->nodes[i];
	}
	if (!p || !n) {
		fail(x->r, 404, "NotAuthorizedOrNotFound", MSG_NOT_FOUND);
	} else if (may_change(x, p, now)) {
		if (!node_live(n)) {
			fail(x->r, 409, "IncorrectState", "Node %.200s is already being deleted.",
			     node_id);
		} else {
			n->deleted_ms = now;
			free(n->state);
			n->state = NULL;
			if (decrement && p->size > 0)
				p->size--;
			if ((decrement || add_node(f, p, now) == 0))
				accept_change(x, p, now);
			else
				fail(x->r, 500, "InternalServerError", "out of memory");
		}
	}
	pthread_mutex_unlock(&f->lock);
}

static void get_work(struct ctx *x, const char *id)
{
	fake_oci_t *f = x->f;
	long long now = test_mono_ms();
	cJSON *j = NULL;
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_work && !found; i++) {
		if (strcmp(f->work[i].id, id) == 0) {
			j = work_json(&f->work[i], now);
			found = true;
		}
	}
	pthread_mutex_unlock(&f->lock);
	if (!found)
		fail(x->r, 404, "NotAuthorizedOrNotFound", MSG_NOT_FOUND);
	else
		reply_json(x->r, 200, j);
}

static cJSON *claims_new(const char *sub)
{
	cJSON *c = cJSON_CreateObject();

	if (c && (!cJSON_AddStringToObject(c, "sub", sub) ||
		  !cJSON_AddStringToObject(c, "iss", "authService.oracle.com") ||
		  !cJSON_AddStringToObject(c, "aud", "oci"))) {
		cJSON_Delete(c);
		c = NULL;
	}
	return c;
}

/* A base64 DER certificate as the federation request carries it. */
static X509 *cert_from_b64(const char *s, unsigned char **ret_der, size_t *ret_len)
{
	unsigned char *der;
	const unsigned char *p;
	X509 *x = NULL;
	size_t n;

	der = b64_decode(s, strlen(s), &n);
	if (der && n < (size_t)INT_MAX) {
		p = der;
		x = d2i_X509(NULL, &p, (long)n);
		if (x && p != der + n) {
			X509_free(x);
			x = NULL;
		}
	}
	ERR_clear_error();
	if (x && ret_der) {
		*ret_der = der;
		*ret_len = n;
	} else {
		free(der);
	}
	return x;
}

/* POST /v1/x509, signed by the instance leaf (checked already). */
static void x509_federation(struct ctx *x)
{
	fake_oci_t *f = x->f;
	cJSON *j = parse_body(x), *cert, *pk, *inter, *claims, *out;
	unsigned char *der = NULL;
	EVP_PKEY *pub = NULL;
	char *token = NULL;
	size_t der_len = 0;
	X509 *leaf = NULL;

	if (!j) {
		fail(x->r, 400, "CannotParseRequest", "The request body is not valid JSON.");
		return;
	}
	cert = cJSON_GetObjectItemCaseSensitive(j, "certificate");
	pk = cJSON_GetObjectItemCaseSensitive(j, "publicKey");
	inter = cJSON_GetObjectItemCaseSensitive(j, "intermediateCertificates");
	if (!cJSON_IsString(cert) || !cJSON_IsString(pk)) {
		fail(x->r, 400, "MissingParameter",
		     "certificate and publicKey are required strings.");
		goto out;
	}
	leaf = cert_from_b64(cert->valuestring, &der, &der_len);
	if (!leaf) {
		fail(x->r, 400, "InvalidParameter",
		     "certificate is not a base64 DER X.509 certificate.");
		goto out;
	}
	if (der_len != f->leaf_der_len || memcmp(der, f->leaf_der, der_len) != 0) {
		unauthorized(f, x->r, "certificate is not the instance's");
		goto out;
	}
	pub = pubkey_from_text(pk->valuestring);
	if (!pub) {
		fail(x->r, 400, "InvalidParameter",
		     "publicKey is not a base64 DER RSA SubjectPublicKeyInfo.");
		goto out;
	}
	if (inter && !cJSON_IsNull(inter)) {
		const cJSON *e;

		if (!cJSON_IsArray(inter)) {
			fail(x->r, 400, "InvalidParameter",
			     "intermediateCertificates must be an array.");
			goto out;
		}
		cJSON_ArrayForEach(e, inter) {
			X509 *ic = cJSON_IsString(e) ? cert_from_b64(e->valuestring, NULL, NULL)
						     : NULL;

			if (!ic) {
				fail(x->r, 400, "InvalidParameter",
				     "intermediateCertificates holds something that is not a base64 "
				     "DER certificate.");
				goto out;
			}
			X509_free(ic);
		}
	}
	claims = claims_new(INSTANCE_ID);
	if (claims) {
		cJSON_AddStringToObject(claims, "ptype", "instance");
		cJSON_AddStringToObject(claims, "tenant", f->tenancy);
		cJSON_AddStringToObject(claims, "opc-tenant", f->tenancy);
		cJSON_AddStringToObject(claims, "opc-instance", INSTANCE_ID);
		cJSON_AddStringToObject(claims, "opc-compartment", INSTANCE_COMPARTMENT);
		cJSON_AddStringToObject(claims, "opc-certtype", "instance");
	}
	token = issue(f, claims, pub, f->token_ttl_s);
	pub = NULL;
	out = token ? cJSON_CreateObject() : NULL;
	if (!out || !cJSON_AddStringToObject(out, "token", token)) {
		cJSON_Delete(out);
		fail(x->r, 500, "InternalServerError", "out of memory");
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	f->issued_fed++;
	pthread_mutex_unlock(&f->lock);
	reply_json(x->r, 200, out);
out:
	cJSON_Delete(j);
	X509_free(leaf);
	free(der);
	free(token);
	EVP_PKEY_free(pub);
}

/* POST /resourcePrincipalSessionTokens with the service account's bearer token. */
static void proxymux(struct ctx *x)
{
	fake_oci_t *f = x->f;
	const char *h = mhd_header(x->c, "Authorization");
	cJSON *j, *pk, *claims, *inner;
	char *token = NULL, *in = NULL, *b64 = NULL, *body;
	EVP_PKEY *pub;
	bool ok;

	if (strcmp(x->method, "POST") != 0) {
		fail(x->r, 405, "MethodNotAllowed", "Only POST is allowed here.");
		return;
	}
	pthread_mutex_lock(&f->lock);
	ok = h && f->sa_token && strncasecmp(h, "Bearer ", 7) == 0 &&
	     strcmp(h + 7, f->sa_token) == 0;
	pthread_mutex_unlock(&f->lock);
	if (!ok) {
		unauthorized(f, x->r,
			     h ? "proxymux: not the service account token" : "proxymux: no Authorization");
		return;
	}
	j = parse_body(x);
	if (!j) {
		fail(x->r, 400, "CannotParseRequest", "The request body is not valid JSON.");
		return;
	}
	pk = cJSON_GetObjectItemCaseSensitive(j, "podKey");
	pub = cJSON_IsString(pk) ? pubkey_from_text(pk->valuestring) : NULL;
	cJSON_Delete(j);
	if (!pub) {
		fail(x->r, 400, "InvalidParameter", "podKey is not an RSA public key.");
		return;
	}
	claims = claims_new(WORKLOAD_ID);
	if (claims) {
		cJSON_AddStringToObject(claims, "ptype", "workload");
		cJSON_AddStringToObject(claims, "res_type", "workload");
		cJSON_AddStringToObject(claims, "res_tenant", f->tenancy);
		cJSON_AddStringToObject(claims, "res_compartment", INSTANCE_COMPARTMENT);
	}
	token = issue(f, claims, pub, f->token_ttl_s);
	if (token && (inner = cJSON_CreateObject())) {
		char *st = malloc(strlen(token) + 4);

		if (st) {
			sprintf(st, "ST$%s", token);
			if (cJSON_AddStringToObject(inner, "token", st))
				in = cJSON_PrintUnformatted(inner);
			free(st);
		}
		cJSON_Delete(inner);
	}
	b64 = in ? b64_encode((const unsigned char *)in, strlen(in)) : NULL;
	body = b64 ? malloc(strlen(b64) + 3) : NULL;
	if (!body) {
		fail(x->r, 500, "InternalServerError", "out of memory");
	} else {
		sprintf(body, "\"%s\"", b64);
		reply_set(x->r, 200, body, "application/json");
		pthread_mutex_lock(&f->lock);
		f->issued_pmx++;
		pthread_mutex_unlock(&f->lock);
	}
	free(token);
	free(in);
	free(b64);
}

/* "/prefix/{a}" or "/prefix/{a}/mid/{b}": the segments, non-empty and without '/'. */
static bool segments(const char *url, const char *prefix, const char *mid, char *a, size_t asz,
		     char *b, size_t bsz)
{
	size_t n = strlen(prefix);
	const char *s, *e;

	if (strncmp(url, prefix, n) != 0)
		return false;
	s = url + n;
	e = strchr(s, '/');
	if (!mid) {
		if (e || !*s || strlen(s) >= asz)
			return false;
		test_copy_str(a, asz, s);
		return true;
	}
	if (!e || e == s || (size_t)(e - s) >= asz || strncmp(e, mid, strlen(mid)) != 0)
		return false;
	snprintf(a, asz, "%.*s", (int)(e - s), s);
	s = e + strlen(mid);
	if (!*s || strchr(s, '/') || strlen(s) >= bsz)
		return false;
	test_copy_str(b, bsz, s);
	return true;
}

static void method_not_allowed(struct reply *r, const char *method)
{
	fail(r, 405, "MethodNotAllowed", "%.16s is not allowed on this resource.", method);
}

static void route(struct ctx *x)
{
	const char *m = x->method;
	char a[256], b[256];

	if (segments(x->url, "/20180222/nodePools/", NULL, a, sizeof(a), NULL, 0)) {
		if (strcmp(m, "GET") == 0)
			get_pool(x, a);
		else if (strcmp(m, "PUT") == 0)
			put_pool(x, a);
		else
			method_not_allowed(x->r, m);
	} else if (segments(x->url, "/20180222/nodePools/", "/node/", a, sizeof(a), b,
			    sizeof(b))) {
		if (strcmp(m, "DELETE") == 0)
			delete_node(x, a, b);
		else
			method_not_allowed(x->r, m);
	} else if (segments(x->url, "/20180222/workRequests/", NULL, a, sizeof(a), NULL, 0)) {
		if (strcmp(m, "GET") == 0)
			get_work(x, a);
		else
			method_not_allowed(x->r, m);
	} else if (strcmp(x->url, "/v1/x509") == 0) {
		if (strcmp(m, "POST") == 0)
			x509_federation(x);
		else
			method_not_allowed(x->r, m);
	} else {
		fail(x->r, 404, "NotFound",
		     "There is no operation supported at the URI path and HTTP method you "
		     "specified in the request.");
	}
}

/* ---- the metadata server ---------------------------------------------------------------*/

/* What IMDS answers for instance/region: phx and iad for the two oldest regions. */
static const char *imds_region(const char *region)
{
	if (strcmp(region, "us-ashburn-1") == 0)
		return "iad";
	if (strcmp(region, "us-phoenix-1") == 0)
		return "phx";
	return region;
}

static void metadata(struct ctx *x)
{
	fake_oci_t *f = x->f;
	const char *rest, *h;
	bool v2 = strncmp(x->url, "/opc/v2/", 8) == 0, enabled;

	if (!v2 && strncmp(x->url, "/opc/v1/", 8) != 0) {
		fail(x->r, 404, "NotFound", "Not found.");
		return;
	}
	rest = x->url + 8;
	if (v2) {
		pthread_mutex_lock(&f->lock);
		enabled = f->md_v2;
		pthread_mutex_unlock(&f->lock);
		if (!enabled) {
			fail(x->r, 404, "NotFound", "Not found.");
			return;
		}
	}
	if (strcmp(x->method, "GET") != 0) {
		method_not_allowed(x->r, x->method);
		return;
	}
	h = mhd_header(x->c, "Authorization");
	if (v2 && (!h || strcmp(h, "Bearer Oracle") != 0)) {
		unauthorized(f, x->r, "metadata v2 needs Authorization: Bearer Oracle");
		return;
	}
	if (strcmp(rest, "identity/cert.pem") == 0) {
		reply_set(x->r, 200, strdup(f->leaf_pem), "text/plain");
	} else if (strcmp(rest, "identity/intermediate.pem") == 0) {
		reply_set(x->r, 200, strdup(f->inter_pem), "text/plain");
	} else if (strcmp(rest, "identity/key.pem") == 0) {
		reply_set(x->r, 200, strdup(f->leaf_key_pem), "text/plain");
	} else if (strcmp(rest, "instance/region") == 0) {
		reply_set(x->r, 200, strdup(imds_region(f->region)), "text/plain");
	} else if (strcmp(rest, "instance/canonicalRegionName") == 0) {
		reply_set(x->r, 200, strdup(f->region), "text/plain");
	} else if (strcmp(rest, "instance/id") == 0) {
		reply_set(x->r, 200, strdup(INSTANCE_ID), "text/plain");
	} else if (strcmp(rest, "instance/") == 0 || strcmp(rest, "instance") == 0) {
		cJSON *j = cJSON_CreateObject();
		char ad[96];

		availability_domain(f->region, ad);
		if (j) {
			cJSON_AddStringToObject(j, "availabilityDomain", ad);
			cJSON_AddStringToObject(j, "faultDomain", "FAULT-DOMAIN-1");
			cJSON_AddStringToObject(j, "compartmentId", INSTANCE_COMPARTMENT);
			cJSON_AddStringToObject(j, "displayName", "bastion");
			cJSON_AddStringToObject(j, "hostname", "bastion");
			cJSON_AddStringToObject(j, "id", INSTANCE_ID);
			cJSON_AddStringToObject(j, "image", "ocid1.image.oc1..fakeimage");
			cJSON_AddObjectToObject(j, "metadata");
			cJSON_AddStringToObject(j, "region", imds_region(f->region));
			cJSON_AddStringToObject(j, "canonicalRegionName", f->region);
			cJSON_AddStringToObject(j, "shape", "VM.Standard.E4.Flex");
			cJSON_AddStringToObject(j, "state", "Running");
			cJSON_AddNumberToObject(j, "timeCreated", 1600381928581.0);
		}
		reply_json(x->r, 200, j);
	} else {
		fail(x->r, 404, "NotFound", "Not found.");
	}
	if (!x->r->body)
		fail(x->r, 500, "InternalServerError", "out of memory");
}

/* ---- the call record and faults --------------------------------------------------------*/

static void record(fake_oci_t *f, const struct fake_oci_call *rec)
{
	pthread_mutex_lock(&f->lock);
	if (!f->calls)
		f->calls = calloc(FAKE_OCI_MAX_CALLS, sizeof(*f->calls));
	if (f->calls) {
		if (f->n_calls == FAKE_OCI_MAX_CALLS) {
			f->calls[f->first_call] = *rec;
			f->first_call = (f->first_call + 1) % FAKE_OCI_MAX_CALLS;
		} else {
			f->calls[(f->first_call + f->n_calls++) % FAKE_OCI_MAX_CALLS] = *rec;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

/* Takes the first queued fault matching "METHOD target" into *ret. */
static bool take_fault(fake_oci_t *f, const char *what, struct fault *ret)
{
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_faults && !found; i++) {
		struct fault *ft = &f->faults[i];

		if (ft->match && !strstr(what, ft->match))
			continue;
		*ret = *ft;
		ret->match = NULL;
		found = true;
		if (ft->left > 0 && --ft->left == 0) {
			free(ft->match);
			memmove(ft, ft + 1, (f->n_faults - i - 1) * sizeof(*ft));
			f->n_faults--;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}

static enum MHD_Result answer(struct MHD_Connection *c, const struct reply *r, const char *rid)
{
	const char *body = r->body ? r->body : "";
	struct MHD_Response *res =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	char ra[16];

	if (!res)
		return MHD_NO;
	if (r->type)
		MHD_add_response_header(res, "Content-Type", r->type);
	MHD_add_response_header(res, "opc-request-id", rid);
	if (r->etag[0])
		MHD_add_response_header(res, "etag", r->etag);
	if (r->work_id[0])
		MHD_add_response_header(res, "opc-work-request-id", r->work_id);
	if (r->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		MHD_add_response_header(res, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, (unsigned)r->status, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result serve(const struct server *srv, struct MHD_Connection *c,
			     const char *url, const char *method, struct fake_conn *q)
{
	fake_oci_t *f = srv->f;
	struct fake_oci_call rec = { 0 };
	struct reply r = { 0 };
	struct ctx x = { f, c, method, url, q->raw_target ? q->raw_target : url, q->body,
			 q->len, &r };
	const char *auth = mhd_header(c, "Authorization");
	char what[600];
	struct fault ft;
	enum MHD_Result ret;

	test_copy_str(rec.method, sizeof(rec.method), method);
	test_copy_str(rec.path, sizeof(rec.path), x.target);
	test_copy_str(rec.if_match, sizeof(rec.if_match), mhd_header(c, "if-match"));
	if (auth && strncmp(auth, "Signature", 9) == 0) {
		struct sigparams p;
		char why[128];

		if (parse_sig(auth, &p, why, sizeof(why)) == 0)
			test_copy_str(rec.key_id, sizeof(rec.key_id), p.key_id);
		sigparams_free(&p);
	}
	test_copy_str(rec.client_request_id, sizeof(rec.client_request_id),
		 mhd_header(c, "opc-request-id"));
	pthread_mutex_lock(&f->lock);
	snprintf(rec.opc_request_id, sizeof(rec.opc_request_id), "%s%s%s%016llX",
		 rec.client_request_id, rec.client_request_id[0] ? "/" : "", f->rid_prefix,
		 ++f->seq_rid);
	pthread_mutex_unlock(&f->lock);
	snprintf(what, sizeof(what), "%s %s", method, x.target);

	if (q->too_big) {
		fail(&r, 413, "PayloadTooLarge", "The request body is larger than %u bytes.",
		     MAX_BODY);
	} else if (take_fault(f, what, &ft)) {
		fail(&r, ft.status, ft.code[0] ? ft.code : default_code(ft.status),
		     "Injected fault (HTTP %d).", ft.status);
		r.retry_after = ft.retry_after;
	} else if (srv->metadata) {
		metadata(&x);
	} else if (strcmp(url, "/resourcePrincipalSessionTokens") == 0) {
		proxymux(&x);
	} else if (authenticate(&x)) {
		route(&x);
	}
	if (!r.status)
		fail(&r, 500, "InternalServerError", "internal error");
	rec.status = r.status;
	record(f, &rec);
	ret = answer(c, &r, rec.opc_request_id);
	free(r.body);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	const struct server *srv = cls;
	struct fake_conn *q = *con_cls;
	enum fake_conn_step step = fake_conn_feed(q, upload, upload_size, MAX_BODY);

	(void)version;
	if (step != FAKE_CONN_SERVE)
		return step == FAKE_CONN_FAIL ? MHD_NO : MHD_YES;
	return serve(srv, c, url, method, q);
}

/* ---- the instance identity -------------------------------------------------------------*/

/* RSA-2048 generation costs about 12 s under valgrind, so the instance key is made once per
 * process and shared by every fake (never freed: it stays reachable). */
static pthread_once_t leaf_once = PTHREAD_ONCE_INIT;
static EVP_PKEY *leaf_key_cache;

static void leaf_key_make(void)
{
	leaf_key_cache = EVP_RSA_gen(2048);
}

static int add_ou(X509_NAME *name, const char *prefix, const char *value)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s%s", prefix, value);
	/* V_ASN1_UTF8STRING, not MBSTRING_ASC: the latter holds OU to 64 bytes, which real
	 * tenancy OCIDs exceed */
	return X509_NAME_add_entry_by_NID(name, NID_organizationalUnitName, V_ASN1_UTF8STRING,
					  (const unsigned char *)buf, -1, -1, 0)
		       ? 0
		       : -EIO;
}

static int cert_basics(X509 *x, EVP_PKEY *pub, long days)
{
	unsigned char serial[8];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return -EIO;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) && X509_set_version(x, 2) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), days * 86400) && X509_set_pubkey(x, pub);
	BN_free(bn);
	return ok ? 0 : -EIO;
}

/* The instance's intermediate CA (EC, self-signed: nothing checks the chain above it) and
 * its leaf: RSA-2048, subject CN=<instance>, OU=opc-certtype:instance,
 * OU=opc-compartment:..., OU=opc-instance:..., OU=opc-tenant:<tenancy>. */
static int make_instance(fake_oci_t *f)
{
	EVP_PKEY *ikey = EVP_EC_gen("P-256"), *lkey;
	X509 *ix = X509_new(), *lx = X509_new();
	BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem()), *b3 = BIO_new(BIO_s_mem());
	unsigned char *der = NULL, md[20];
	unsigned int mdlen = 0;
	X509_NAME *n;
	X509V3_CTX ctx;
	int r = -EIO, len;

	pthread_once(&leaf_once, leaf_key_make);
	lkey = leaf_key_cache;
	if (!lkey || !ikey || !ix || !lx || !b1 || !b2 || !b3)
		goto out;
	if (cert_basics(ix, ikey, 365) < 0)
		goto out;
	n = X509_get_subject_name(ix);
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
					(const unsigned char *)"PKISVC Identity Intermediate fake",
					-1, -1, 0) ||
	    !X509_set_issuer_name(ix, n))
		goto out;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, ix, ix, NULL, NULL, 0);
	if (fake_tls_add_ext(ix, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    fake_tls_add_ext(ix, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    !X509_sign(ix, ikey, EVP_sha256()))
		goto out;

	if (cert_basics(lx, lkey, 1) < 0)
		goto out;
	n = X509_get_subject_name(lx);
	if (!X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)INSTANCE_ID,
					-1, -1, 0) ||
	    add_ou(n, "opc-certtype:", "instance") < 0 ||
	    add_ou(n, "opc-compartment:", INSTANCE_COMPARTMENT) < 0 ||
	    add_ou(n, "opc-instance:", INSTANCE_ID) < 0 ||
	    add_ou(n, "opc-tenant:", f->tenancy) < 0 ||
	    !X509_set_issuer_name(lx, X509_get_subject_name(ix)))
		goto out;
	X509V3_set_ctx(&ctx, ix, lx, NULL, NULL, 0);
	if (fake_tls_add_ext(lx, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    fake_tls_add_ext(lx, &ctx, NID_key_usage,
			     "critical,digitalSignature,keyEncipherment") < 0 ||
	    fake_tls_add_ext(lx, &ctx, NID_ext_key_usage, "clientAuth") < 0 ||
	    !X509_sign(lx, ikey, EVP_sha256()))
		goto out;

	if (!PEM_write_bio_X509(b1, ix) || !PEM_write_bio_X509(b2, lx) ||
	    !PEM_write_bio_PrivateKey_traditional(b3, lkey, NULL, NULL, 0, NULL, NULL))
		goto out;
	f->inter_pem = bio_string(b1);
	f->leaf_pem = bio_string(b2);
	f->leaf_key_pem = bio_string(b3);
	len = i2d_X509(lx, &der);
	if (!f->inter_pem || !f->leaf_pem || !f->leaf_key_pem || len <= 0) {
		r = -ENOMEM;
		goto out;
	}
	f->leaf_der = malloc((size_t)len);
	if (!f->leaf_der) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(f->leaf_der, der, (size_t)len);
	f->leaf_der_len = (size_t)len;
	if (!EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		goto out;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(f->leaf_fp + 3 * i, 4, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	f->leaf_pub = public_only(lkey);
	if (!f->leaf_pub)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	X509_free(ix);
	X509_free(lx);
	EVP_PKEY_free(ikey);
	BIO_free(b1);
	BIO_free(b2);
	BIO_free(b3);
	ERR_clear_error();
	return r;
}

/* ---- start and stop --------------------------------------------------------------------*/

static void free_all(fake_oci_t *f)
{
	if (f->api)
		MHD_stop_daemon(f->api);
	if (f->md)
		MHD_stop_daemon(f->md);
	if (f->ca_path[0])
		unlink(f->ca_path);
	if (f->tmpdir[0])
		rmdir(f->tmpdir);
	for (size_t i = 0; i < f->n_keys; i++)
		key_clear(&f->keys[i]);
	free(f->keys);
	for (size_t i = 0; i < f->n_pools; i++)
		pool_clear(&f->pools[i]);
	free(f->pools);
	for (size_t i = 0; i < f->n_work; i++) {
		free(f->work[i].pool_id);
		free(f->work[i].compartment_id);
	}
	free(f->work);
	for (size_t i = 0; i < f->n_faults; i++)
		free(f->faults[i].match);
	free(f->calls);
	if (f->sa_token)
		explicit_bzero(f->sa_token, strlen(f->sa_token));
	free(f->sa_token);
	free(f->ca_cert);
	if (f->ca_key)
		explicit_bzero(f->ca_key, strlen(f->ca_key));
	free(f->ca_key);
	free(f->srv_cert);
	if (f->srv_key)
		explicit_bzero(f->srv_key, strlen(f->srv_key));
	free(f->srv_key);
	free(f->region);
	free(f->tenancy);
	free(f->inter_pem);
	free(f->leaf_pem);
	if (f->leaf_key_pem)
		explicit_bzero(f->leaf_key_pem, strlen(f->leaf_key_pem));
	free(f->leaf_key_pem);
	free(f->leaf_der);
	EVP_PKEY_free(f->leaf_pub);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int write_file(const char *path, const char *data)
{
	FILE *fp = fopen(path, "w");
	size_t n = strlen(data);
	int r = 0;

	if (!fp)
		return -errno;
	if (fwrite(data, 1, n, fp) != n)
		r = -EIO;
	if (fclose(fp) != 0 && r == 0)
		r = -EIO;
	return r;
}

static struct MHD_Daemon *start_daemon(struct server *srv, bool tls)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | (tls ? MHD_USE_TLS : 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (tls)
		return MHD_start_daemon(flags, 0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR,
					&sin, MHD_OPTION_NOTIFY_COMPLETED,
					fake_conn_completed, NULL,
					MHD_OPTION_URI_LOG_CALLBACK, fake_conn_uri_log, NULL,
					MHD_OPTION_HTTPS_MEM_KEY, srv->f->srv_key,
					MHD_OPTION_HTTPS_MEM_CERT, srv->f->srv_cert,
					MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
					MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
	return MHD_start_daemon(flags, 0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR, &sin,
				MHD_OPTION_NOTIFY_COMPLETED, fake_conn_completed, NULL,
				MHD_OPTION_URI_LOG_CALLBACK, fake_conn_uri_log, NULL,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
				MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
}

static uint16_t daemon_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : 0;
}

int fake_oci_start(const fake_oci_opts_t *o, fake_oci_t **ret)
{
	static const fake_oci_opts_t defaults = { 0 };
	fake_oci_t *f;
	int r;

	if (!o)
		o = &defaults;
	if (o->update_ms < 0 || o->node_create_ms < 0 || o->token_ttl_s < 0 ||
	    (o->region && !o->region[0]) || (o->tenancy && !o->tenancy[0]) ||
	    (o->tenancy && strlen(o->tenancy) > 400))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->api_srv = (struct server){ f, false };
	f->md_srv = (struct server){ f, true };
	f->md_v2 = true;
	f->update_ms = o->update_ms ? o->update_ms : 200;
	f->node_create_ms = o->node_create_ms ? o->node_create_ms : 300;
	f->token_ttl_s = o->token_ttl_s ? o->token_ttl_s : 3600;
	f->region = strdup(o->region ? o->region : DEFAULT_REGION);
	f->tenancy = strdup(o->tenancy ? o->tenancy : DEFAULT_TENANCY);
	rand_hex(f->rid_prefix, 8);
	if (!f->region || !f->tenancy) {
		r = -ENOMEM;
		goto fail;
	}
	test_copy_str(f->tmpdir, sizeof(f->tmpdir), "/tmp/fake-oci-XXXXXX");
	if (!mkdtemp(f->tmpdir)) {
		r = -errno;
		f->tmpdir[0] = '\0';
		goto fail;
	}
	r = fake_tls_make_cert("fake-oci-ca", &f->ca_cert, &f->ca_key);
	if (r == 0)
		r = fake_tls_make_signed_cert(f->ca_cert, f->ca_key, "oci-api", false, &f->srv_cert,
					      &f->srv_key);
	if (r < 0)
		goto fail;
	snprintf(f->ca_path, sizeof(f->ca_path), "%s/ca.pem", f->tmpdir);
	r = write_file(f->ca_path, f->ca_cert);
	if (r < 0)
		goto fail;
	r = make_instance(f);
	if (r < 0)
		goto fail;
	f->api = start_daemon(&f->api_srv, true);
	f->md = start_daemon(&f->md_srv, false);
	if (!f->api || !f->md || !daemon_port(f->api) || !daemon_port(f->md)) {
		r = -EADDRNOTAVAIL;
		goto fail;
	}
	snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%u", daemon_port(f->api));
	snprintf(f->md_url, sizeof(f->md_url), "http://127.0.0.1:%u/opc/v2", daemon_port(f->md));
	*ret = f;
	return 0;
fail:
	free_all(f);
	return r;
}

fake_oci_t *fake_oci_stop(fake_oci_t *f)
{
	if (f)
		free_all(f);
	return NULL;
}

const char *fake_oci_url(const fake_oci_t *f)
{
	return f->url;
}

const char *fake_oci_metadata_url(const fake_oci_t *f)
{
	return f->md_url;
}

const char *fake_oci_ca_file(const fake_oci_t *f)
{
	return f->ca_path;
}

/* ---- identities ------------------------------------------------------------------------*/

int fake_oci_add_api_key(fake_oci_t *f, const char *tenancy, const char *user,
			 const char *fingerprint, const char *public_pem)
{
	EVP_PKEY *pub;
	char *kid;

	if (!tenancy || !tenancy[0] || !user || !user[0] || !fingerprint || !fingerprint[0] ||
	    !public_pem)
		return -EINVAL;
	pub = pubkey_from_pem(public_pem);
	if (!pub)
		return -EINVAL;
	kid = malloc(strlen(tenancy) + strlen(user) + strlen(fingerprint) + 3);
	if (!kid) {
		EVP_PKEY_free(pub);
		return -ENOMEM;
	}
	sprintf(kid, "%s/%s/%s", tenancy, user, fingerprint);
	return add_key(f, kid, pub, 0);
}

int fake_oci_add_session_token(fake_oci_t *f, const char *token, const char *public_pem)
{
	EVP_PKEY *pub;
	char *kid;

	if (!token || !token[0] || !public_pem)
		return -EINVAL;
	pub = pubkey_from_pem(public_pem);
	if (!pub)
		return -EINVAL;
	kid = malloc(strlen(token) + 4);
	if (!kid) {
		EVP_PKEY_free(pub);
		return -ENOMEM;
	}
	sprintf(kid, "ST$%s", token);
	return add_key(f, kid, pub, jwt_expiry(token));
}

char *fake_oci_issue_token(fake_oci_t *f, const char *public_pem, int64_t ttl_s)
{
	EVP_PKEY *pub = public_pem ? pubkey_from_pem(public_pem) : NULL;
	cJSON *claims;

	if (!pub)
		return NULL;
	claims = claims_new(SESSION_USER);
	if (claims) {
		cJSON_AddStringToObject(claims, "ptype", "user");
		cJSON_AddStringToObject(claims, "tenant", f->tenancy);
	}
	return issue(f, claims, pub, ttl_s);
}

void fake_oci_revoke_tokens(fake_oci_t *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_keys; i++)
		if (strncmp(f->keys[i].key_id, "ST$", 3) == 0)
			f->keys[i].revoked = true;
	pthread_mutex_unlock(&f->lock);
}

void fake_oci_set_metadata_v2(fake_oci_t *f, bool enabled)
{
	pthread_mutex_lock(&f->lock);
	f->md_v2 = enabled;
	pthread_mutex_unlock(&f->lock);
}

const char *fake_oci_instance_fingerprint(const fake_oci_t *f)
{
	return f->leaf_fp;
}

const char *fake_oci_instance_tenancy(const fake_oci_t *f)
{
	return f->tenancy;
}

const char *fake_oci_instance_cert_pem(const fake_oci_t *f)
{
	return f->leaf_pem;
}

const char *fake_oci_instance_key_pem(const fake_oci_t *f)
{
	return f->leaf_key_pem;
}

int fake_oci_set_sa_token(fake_oci_t *f, const char *sa_token)
{
	char *t = NULL;

	if (sa_token && !(t = strdup(sa_token)))
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	if (f->sa_token)
		explicit_bzero(f->sa_token, strlen(f->sa_token));
	free(f->sa_token);
	f->sa_token = t;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int fake_oci_tokens_issued(fake_oci_t *f, bool pmx)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = pmx ? f->issued_pmx : f->issued_fed;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void fake_oci_last_auth_error(fake_oci_t *f, char *buf, size_t size)
{
	pthread_mutex_lock(&f->lock);
	test_copy_str(buf, size, f->last_auth_error);
	pthread_mutex_unlock(&f->lock);
}

void fake_oci_set_clock(fake_oci_t *f, int64_t skew_s, time_t pinned)
{
	pthread_mutex_lock(&f->lock);
	f->skew_s = skew_s;
	f->pinned = pinned;
	pthread_mutex_unlock(&f->lock);
}

/* ---- OKE cluster tokens ----------------------------------------------------------------*/

struct token_headers {
	const char *date, *host;
};

static const char *token_header(void *ud, const char *name)
{
	const struct token_headers *h = ud;

	if (strcasecmp(name, "date") == 0)
		return h->date;
	if (strcasecmp(name, "host") == 0)
		return h->host;
	return NULL;
}

/* What `oci ce cluster generate-token` prints (oci-cli, services/container_engine/src/
 * oci_cli_container_engine/containerengine_cli_extended.py, generate_token): the SDK signer
 * signs GET https://containerengine.{region}.oraclecloud.com/cluster_request/{cluster_id}
 * (date, (request-target), host); requests.Request(..., params={"authorization": ...,
 * "date": ...}).prepare() appends them form-encoded (quote_plus: ' ' is '+', '/' %2F,
 * '=' %3D, ...); base64.urlsafe_b64encode of that URL, with '=' padding, is the token. An
 * instance-principal delegation signer adds opc-obo-token (skipped here). */
int fake_oci_verify_cluster_token(fake_oci_t *f, const char *token, char *cluster_id,
				  size_t size, char *err, size_t errsz)
{
	char *url = NULL, *auth = NULL, *date = NULL, *host = NULL, *target = NULL, *id = NULL;
	const char *h, *path, *q, *s;
	struct token_headers th;
	struct sigcheck sc;
	size_t n;
	int r = -EACCES;

	if (!token || strlen(token) > MAX_AUTH) {
		snprintf(err, errsz, "token missing or too long");
		return r;
	}
	url = (char *)b64url_decode(token, strlen(token), &n);
	if (!url || strlen(url) != n) {
		snprintf(err, errsz, "token is not URL-safe base64 of a URL");
		goto out;
	}
	if (strncmp(url, "https://", 8) != 0) {
		snprintf(err, errsz, "token URL is not https://");
		goto out;
	}
	h = url + 8;
	path = strchr(h, '/');
	if (!path || strncmp(h, "containerengine.", 16) != 0) {
		snprintf(err, errsz, "token URL is not https://containerengine.{region}...");
		goto out;
	}
	host = dup_n(h, (size_t)(path - h));
	q = strchr(path, '?');
	if (!host || !q || strncmp(path, "/cluster_request/", 17) != 0 ||
	    q == path + 17 || memchr(path + 17, '/', (size_t)(q - path - 17))) {
		snprintf(err, errsz, "token URL is not .../cluster_request/{cluster_id}?...");
		goto out;
	}
	id = dup_n(path + 17, (size_t)(q - path - 17));
	target = dup_n(path, (size_t)(q - path));
	if (!id || !target) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (s = q + 1; *s;) {
		const char *amp = strchr(s, '&'), *eq;
		size_t len = amp ? (size_t)(amp - s) : strlen(s);
		char **slot = NULL;

		eq = memchr(s, '=', len);
		if (eq && (size_t)(eq - s) == 13 && strncmp(s, "authorization", 13) == 0)
			slot = &auth;
		else if (eq && (size_t)(eq - s) == 4 && strncmp(s, "date", 4) == 0)
			slot = &date;
		if (slot) {
			if (*slot) {
				snprintf(err, errsz, "token URL repeats %.*s", (int)(eq - s), s);
				goto out;
			}
			*slot = url_decode(eq + 1, len - (size_t)(eq + 1 - s));
			if (!*slot) {
				snprintf(err, errsz, "token URL has a bad percent-encoding");
				goto out;
			}
		}
		s += len + (amp ? 1 : 0);
	}
	if (!auth || !date) {
		snprintf(err, errsz, "token URL lacks %s", auth ? "date" : "authorization");
		goto out;
	}
	th = (struct token_headers){ date, host };
	sc = (struct sigcheck){ .method = "GET", .target = target, .authorization = auth,
				.header = token_header, .ud = &th };
	if (check_signature(f, &sc, err, errsz) < 0)
		goto out;
	if (strlen(id) >= size) {
		snprintf(err, errsz, "cluster OCID longer than the buffer");
		r = -ENAMETOOLONG;
		goto out;
	}
	test_copy_str(cluster_id, size, id);
	r = 0;
out:
	free(url);
	free(auth);
	free(date);
	free(host);
	free(target);
	free(id);
	return r;
}

/* ---- node pools ------------------------------------------------------------------------*/

int fake_oci_put_pool(fake_oci_t *f, const fake_oci_pool_t *in)
{
	struct pool p = { 0 }, *slot;
	long long now = test_mono_ms();
	int r = 0;

	if (!in || !in->id || !in->id[0] || strlen(in->id) > 250 || in->size < 0 ||
	    in->size > MAX_POOL_SIZE)
		return -EINVAL;
	p.id = strdup(in->id);
	p.name = strdup(in->name ? in->name : "pool1");
	p.cluster_id = strdup(in->cluster_id ? in->cluster_id : "ocid1.cluster.oc1..fakecluster");
	p.compartment_id = strdup(in->compartment_id ? in->compartment_id
						     : "ocid1.compartment.oc1..fakecompartment");
	p.shape = strdup(in->node_shape ? in->node_shape : "VM.GPU.A10.1");
	p.state = strdup(in->lifecycle_state ? in->lifecycle_state : "ACTIVE");
	if (!p.id || !p.name || !p.cluster_id || !p.compartment_id || !p.shape || !p.state) {
		pool_clear(&p);
		return -ENOMEM;
	}
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < in->size && r == 0; i++)
		r = add_node(f, &p, now - f->node_create_ms);
	p.size = in->size;
	new_etag(f, &p);
	slot = find_pool(f, in->id);
	if (r < 0) {
		pool_clear(&p);
	} else if (slot) {
		pool_clear(slot);
		*slot = p;
	} else if (f->n_pools == MAX_POOLS) {
		pool_clear(&p);
		r = -ENOSPC;
	} else {
		slot = realloc(f->pools, (f->n_pools + 1) * sizeof(*slot));
		if (!slot) {
			pool_clear(&p);
			r = -ENOMEM;
		} else {
			f->pools = slot;
			f->pools[f->n_pools++] = p;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

int fake_oci_pool_size(fake_oci_t *f, const char *id)
{
	struct pool *p;
	int n;

	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	n = p ? p->size : -1;
	pthread_mutex_unlock(&f->lock);
	return n;
}

int fake_oci_pool_nodes(fake_oci_t *f, const char *id, const char *state)
{
	long long now = test_mono_ms();
	struct pool *p;
	int n = -1;

	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (p) {
		settle(f, p, now);
		n = 0;
		for (size_t i = 0; i < p->n_nodes; i++) {
			const char *st = node_state(f, &p->nodes[i], now);

			n += state ? strcmp(st, state) == 0 : strcmp(st, "DELETED") != 0;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool fake_oci_pool_node_id(fake_oci_t *f, const char *id, size_t i, char *buf, size_t size)
{
	struct pool *p;
	bool ok = false;

	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (p) {
		settle(f, p, test_mono_ms());
		if (i < p->n_nodes && strlen(p->nodes[i].id) < size) {
			test_copy_str(buf, size, p->nodes[i].id);
			ok = true;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}

int fake_oci_set_node(fake_oci_t *f, const char *pool_id, const char *node_id,
		      const char *state, const char *error_code, const char *error_message)
{
	char *st = state ? strdup(state) : NULL;
	char *code = error_code ? strdup(error_code) : NULL;
	char *msg = error_code ? strdup(error_message ? error_message : "") : NULL;
	struct node *n = NULL;
	struct pool *p;
	int r = 0;

	if ((state && !st) || (error_code && (!code || !msg))) {
		r = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	p = find_pool(f, pool_id);
	if (p) {
		settle(f, p, test_mono_ms());
		for (size_t i = 0; i < p->n_nodes && !n; i++)
			if (strcmp(p->nodes[i].id, node_id) == 0)
				n = &p->nodes[i];
	}
	if (!n) {
		r = -ENOENT;
	} else {
		if (st) {
			free(n->state);
			n->state = st;
			st = NULL;
		}
		free(n->err_code);
		free(n->err_msg);
		n->err_code = code;
		n->err_msg = msg;
		code = msg = NULL;
	}
	pthread_mutex_unlock(&f->lock);
out:
	free(st);
	free(code);
	free(msg);
	return r;
}

int fake_oci_set_pool_state(fake_oci_t *f, const char *id, const char *state)
{
	char *st = state ? strdup(state) : NULL;
	struct pool *p;
	int r = 0;

	if (!st)
		return state ? -ENOMEM : -EINVAL;
	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (!p) {
		r = -ENOENT;
	} else {
		free(p->state);
		p->state = st;
		st = NULL;
		p->updating_until = 0; /* the state set is the state now */
	}
	pthread_mutex_unlock(&f->lock);
	free(st);
	return r;
}

bool fake_oci_pool_etag(fake_oci_t *f, const char *id, char *buf, size_t size)
{
	struct pool *p;
	bool ok = false;

	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (p && strlen(p->etag) < size) {
		test_copy_str(buf, size, p->etag);
		ok = true;
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}

void fake_oci_touch_pool(fake_oci_t *f, const char *id)
{
	struct pool *p;

	pthread_mutex_lock(&f->lock);
	p = find_pool(f, id);
	if (p)
		new_etag(f, p);
	pthread_mutex_unlock(&f->lock);
}

/* ---- faults and the call record --------------------------------------------------------*/

int fake_oci_fail_next(fake_oci_t *f, const char *match, int n, int status, const char *code,
		       int retry_after_s)
{
	char *m = NULL;
	int r = 0;

	if (n == 0 || status < 100 || status > 599 || (code && strlen(code) >= 64))
		return -EINVAL;
	if (match && !(m = strdup(match)))
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	if (f->n_faults == MAX_FAULTS) {
		r = -ENOSPC;
	} else {
		struct fault *ft = &f->faults[f->n_faults++];

		*ft = (struct fault){ m, n < 0 ? -1 : n, status, retry_after_s, "" };
		test_copy_str(ft->code, sizeof(ft->code), code);
		m = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	free(m);
	return r;
}

void fake_oci_clear_faults(fake_oci_t *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_faults; i++)
		free(f->faults[i].match);
	f->n_faults = 0;
	pthread_mutex_unlock(&f->lock);
}

int fake_oci_count(fake_oci_t *f, const char *match)
{
	char what[600];
	int n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_calls; i++) {
		const struct fake_oci_call *c = &f->calls[(f->first_call + i) % FAKE_OCI_MAX_CALLS];

		snprintf(what, sizeof(what), "%s %s", c->method, c->path);
		n += !match || strstr(what, match);
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

size_t fake_oci_call_count(fake_oci_t *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->n_calls;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool fake_oci_call(fake_oci_t *f, size_t i, struct fake_oci_call *ret)
{
	bool ok = false;

	pthread_mutex_lock(&f->lock);
	if (i < f->n_calls) {
		*ret = f->calls[(f->first_call + i) % FAKE_OCI_MAX_CALLS];
		ok = true;
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}
