/* federation.c - fetching session tokens: instance principals (the instance metadata
 * service, then the x509 federation endpoint) and OKE workload identity (the proxymux), as
 * the OCI SDKs do it; and the small codecs auth.c needs (base64, JWT claims, token files).
 *
 * Instance principal (oci-python-sdk auth/signers/instance_principals_security_token_signer.py
 * and auth/federation_client.py, oci-java-sdk X509FederationClient.java, oci-go-sdk
 * common/auth/federation_client.go and utils.go):
 *   GET {metadata}/identity/cert.pem, identity/intermediate.pem, identity/key.pem with
 *   "Authorization: Bearer Oracle" (IMDS v2); a 404 there means an instance without v2, so
 *   the same paths on /opc/v1 (remembered); the region from instance/canonicalRegionName
 *   (instance/region, which answers "iad" on older regions, when that is missing);
 *   the tenancy from the leaf certificate's subject ("opc-tenant:OCID", or "opc-identity:");
 *   a fresh RSA-2048 session key; POST {federation}/v1/x509
 *     {"certificate": base64 DER of the leaf, "publicKey": base64 DER SPKI of the session key,
 *      "intermediateCertificates": [base64 DER], "purpose": "DEFAULT",
 *      "fingerprintAlgorithm": "SHA256"}
 *   (purpose and fingerprintAlgorithm as the Java SDK sends them) signed with the leaf key
 *   under keyId TENANCY/fed-x509/SHA1 (uppercase hex pairs joined by ':', as Python),
 *   answered {"token": JWT}.
 * Workload identity (oci-python-sdk auth/signers/oke_workload_identity_resource_principal_
 * signer.py and resource_principals_signer.py):
 *   POST https://$KUBERNETES_SERVICE_HOST:12250/resourcePrincipalSessionTokens with
 *   "Authorization: Bearer <service-account token>", an opc-request-id, and
 *   {"podKey": base64 DER SPKI of a fresh RSA-2048 key}, over TLS checked with the cluster
 *   CA; the answer is base64 (as a JSON string, quotes and all) of {"token": "ST$<JWT>"}.
 *
 * Each step is one request with the auth's timeout and a few quick retries (transport
 * errors, 5xx); the first step that fails ends the fetch with one line naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "oci/oci-private.h"

#define MAX_INTERMEDIATES 8

/* ---- codecs ------------------------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int oci_b64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len)
{
	unsigned char *out;
	uint32_t acc = 0;
	size_t n = 0, bits = 0;

	while (len && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -EINVAL;
	if (!(out = malloc(len / 4 * 3 + 3)))
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}

char *oci_b64_encode(const void *in, size_t len, bool url)
{
	char *out;

	if (len > (size_t)INT32_MAX / 2 || !(out = malloc((len + 2) / 3 * 4 + 1)))
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (url)
		for (char *p = out; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static bool claim_time(const cJSON *j, const char *name, time_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	*ret = 0;
	if (!v)
		return true;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e12)
		return false;
	*ret = (time_t)v->valuedouble;
	return true;
}

int oci_jwt_times(const char *jwt, time_t *ret_exp, time_t *ret_iat)
{
	const char *p1, *p2;
	unsigned char *payload = NULL;
	size_t len;
	cJSON *j = NULL;
	time_t exp, iat;
	int rc = -EINVAL;

	if (!jwt || !(p1 = strchr(jwt, '.')) || !(p2 = strchr(p1 + 1, '.')) || p2 == p1 + 1)
		return -EINVAL;
	if (oci_b64_decode(p1 + 1, (size_t)(p2 - p1 - 1), &payload, &len) < 0)
		return -EINVAL;
	j = cJSON_ParseWithLength((const char *)payload, len);
	if (!cJSON_IsObject(j) || !claim_time(j, "exp", &exp) || !claim_time(j, "iat", &iat))
		goto out;
	*ret_exp = exp;
	*ret_iat = iat;
	rc = 0;
out:
	cJSON_Delete(j);
	free(payload);
	return rc;
}

/* ---- regions ------------------------------------------------------------------------------ */

/* instance/region answers the airport code on the oldest regions. */
static const char *const short_regions[][2] = {
	{ "phx", "us-phoenix-1" },   { "iad", "us-ashburn-1" },  { "fra", "eu-frankfurt-1" },
	{ "lhr", "uk-london-1" },    { "yyz", "ca-toronto-1" },  { "nrt", "ap-tokyo-1" },
	{ "icn", "ap-seoul-1" },     { "bom", "ap-mumbai-1" },   { "gru", "sa-saopaulo-1" },
	{ "zrh", "eu-zurich-1" },    { "syd", "ap-sydney-1" },   { "kix", "ap-osaka-1" },
	{ "mel", "ap-melbourne-1" }, { "ams", "eu-amsterdam-1" }, { "jed", "me-jeddah-1" },
	{ "hyd", "ap-hyderabad-1" }, { "yul", "ca-montreal-1" }, { "sjc", "us-sanjose-1" },
};

/* A region name from a metadata or environment value: trimmed, lowercased, airport codes
 * expanded. NULL when it is not a region name. */
static char *region_name(const char *raw, size_t len)
{
	char buf[80];
	size_t n = 0;

	while (len && (raw[len - 1] == '\n' || raw[len - 1] == '\r' || raw[len - 1] == ' '))
		len--;
	while (len && (*raw == ' ' || *raw == '\n')) {
		raw++;
		len--;
	}
	if (!len || len >= sizeof(buf))
		return NULL;
	for (; n < len; n++)
		buf[n] = (char)((raw[n] >= 'A' && raw[n] <= 'Z') ? raw[n] + 32 : raw[n]);
	buf[n] = '\0';
	for (size_t i = 0; i < sizeof(short_regions) / sizeof(short_regions[0]); i++)
		if (!strcmp(buf, short_regions[i][0]))
			return strdup(short_regions[i][1]);
	if (!oci_region_valid(buf))
		return NULL;
	return strdup(buf);
}

/* ---- init --------------------------------------------------------------------------------- */

static char *strip_slash(const char *s)
{
	char *d = strdup(s);
	size_t n;

	if (d)
		for (n = strlen(d); n > 0 && d[n - 1] == '/'; n--)
			d[n - 1] = '\0';
	return d;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

int oci_instance_principal_init(oci_auth_t *a, const oci_auth_opts_t *o, char *err,
				size_t errsz)
{
	http_profile_opts_t po = { .tls = { .ca_file = o->ca_file } };
	const char *md = o->metadata_url ? o->metadata_url : env("OCI_METADATA_BASE_URL");
	const char *fed = o->federation_url ? o->federation_url
					    : env("OCI_SDK_AUTH_CLIENT_REGION_URL");
	char perr[OCI_ERR_MAX];
	int rc;

	if (!a->http) {
		http_errf(err, errsz, "instance_principal needs an http client");
		return -EINVAL;
	}
	if (!(a->metadata_url = strip_slash(md ? md : OCI_DEFAULT_METADATA_URL)) ||
	    (fed && !(a->federation_base = strip_slash(fed)))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	if (o->region) {
		if (!oci_region_valid(o->region)) {
			http_errf(err, errsz, "instance_principal: region \"%s\" is not a region name",
				  o->region);
			return -EINVAL;
		}
		if (!(a->region = strdup(o->region))) {
			http_errf(err, errsz, "out of memory");
			return -ENOMEM;
		}
	}
	rc = http_profile_new(&po, &a->tls, perr, sizeof(perr));
	if (rc < 0)
		http_errf(err, errsz, "instance_principal: federation endpoint: %s", perr);
	return rc;
}

int oci_workload_identity_init(oci_auth_t *a, const oci_auth_opts_t *o, char *err,
			       size_t errsz)
{
	const char *version = getenv("OCI_RESOURCE_PRINCIPAL_VERSION");
	const char *region = o->region ? o->region : env("OCI_RESOURCE_PRINCIPAL_REGION");
	const char *tok = o->sa_token_file ? o->sa_token_file
					   : env("OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH");
	const char *ca = o->sa_ca_file ? o->sa_ca_file
				       : env("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH");
	const char *host = env("KUBERNETES_SERVICE_HOST");
	http_profile_opts_t po = { 0 };
	char perr[OCI_ERR_MAX], *t = NULL;
	int rc;

	if (!a->http) {
		http_errf(err, errsz, "workload_identity needs an http client");
		return -EINVAL;
	}
	if (!version) {
		http_errf(err, errsz,
			  "workload_identity: OCI_RESOURCE_PRINCIPAL_VERSION is not set (it must be "
			  "2.2 for OKE workload identity)");
		return -EINVAL;
	}
	if (strcmp(version, "2.2")) {
		http_errf(err, errsz,
			  "workload_identity: OCI_RESOURCE_PRINCIPAL_VERSION is \"%s\"; OKE "
			  "workload identity is version 2.2",
			  version);
		return -EINVAL;
	}
	if (!region) {
		http_errf(err, errsz,
			  "workload_identity: no region: set OCI_RESOURCE_PRINCIPAL_REGION (or "
			  "give the region)");
		return -EINVAL;
	}
	if (!(a->region = region_name(region, strlen(region)))) {
		http_errf(err, errsz, "workload_identity: region \"%s\"%s is not a region name",
			  region, o->region ? "" : " (OCI_RESOURCE_PRINCIPAL_REGION)");
		return -EINVAL;
	}
	if (o->proxymux_url) {
		a->proxymux_url = strip_slash(o->proxymux_url);
	} else if (!host) {
		http_errf(err, errsz,
			  "workload_identity: KUBERNETES_SERVICE_HOST is not set (not in a pod?), "
			  "so the proxymux (port %d) is unknown",
			  OCI_PROXYMUX_PORT);
		return -EINVAL;
	} else if (asprintf(&a->proxymux_url, strchr(host, ':') ? "https://[%s]:%d"
							       : "https://%s:%d",
			    host, OCI_PROXYMUX_PORT) < 0) {
		a->proxymux_url = NULL;
	}
	a->sa_token_file = strdup(tok ? tok : OCI_DEFAULT_SA_DIR "/token");
	a->sa_ca_file = strdup(ca ? ca : OCI_DEFAULT_SA_DIR "/ca.crt");
	if (!a->proxymux_url || !a->sa_token_file || !a->sa_ca_file) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	rc = oci_read_token_file(a->sa_token_file, "service-account token", &t, NULL, perr,
				 sizeof(perr));
	if (rc < 0) {
		http_errf(err, errsz, "workload_identity: %s", perr);
		return rc;
	}
	explicit_bzero(t, strlen(t));
	free(t);
	po.tls.ca_file = a->sa_ca_file;
	rc = http_profile_new(&po, &a->tls, perr, sizeof(perr));
	if (rc < 0)
		http_errf(err, errsz, "workload_identity: the proxymux's CA (%s): %s",
			  a->sa_ca_file, perr);
	return rc;
}

/* ---- one fetch ---------------------------------------------------------------------------- */

enum step {
	S_CERT,
	S_INTERMEDIATE,
	S_KEY,
	S_REGION,
	S_REGION_SHORT,
	S_FEDERATE,
	S_PROXYMUX,
};

struct oci_fetch {
	oci_auth_t *a;
	enum step step;
	http_request_t *req;
	char *cert_pem, *inter_pem, *key_pem;
	char *region;  /* learnt from the metadata */
	char *tenancy; /* of the leaf certificate */
	char *sa_file; /* the service-account token file read */
	oci_key_t *session;
};

static const http_retry_t fetch_retry = { .max_attempts = 3, .base_ms = 200, .cap_ms = 1000 };

void oci_fetch_free(oci_fetch_t *f)
{
	if (!f)
		return;
	if (f->req)
		http_cancel(f->a->http, f->req);
	if (f->key_pem) {
		explicit_bzero(f->key_pem, strlen(f->key_pem));
		free(f->key_pem);
	}
	free(f->cert_pem);
	free(f->inter_pem);
	free(f->region);
	free(f->tenancy);
	oci_key_unref(f->session);
	free(f);
}

/* The end: auth.c learns the outcome, then the fetch is gone. */
static void fetch_end(oci_fetch_t *f, const char *token, const char *error)
{
	oci_auth_t *a = f->a;
	oci_key_t *key = NULL;

	f->req = NULL;
	if (!error) {
		key = f->session;
		f->session = NULL;
	}
	oci_auth_fetched(a, key, token, f->region, f->tenancy, error);
	oci_fetch_free(f);
}

static void fetch_fail(oci_fetch_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fetch_fail(oci_fetch_t *f, const char *fmt, ...)
{
	char msg[OCI_ERR_MAX];
	const char *label = f->a->mode == OCI_AUTH_INSTANCE_PRINCIPAL ? "instance principal"
								       : "workload identity";
	size_t n;
	va_list ap;

	snprintf(msg, sizeof(msg), "%s: ", label);
	n = strlen(msg);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	fetch_end(f, NULL, msg);
}

/* OCI's {"code","message"} and opc-request-id of an error response, for messages. */
static void oci_error_detail(const http_response_t *res, char *buf, size_t size)
{
	oci_reply_t rp;
	size_t n;

	oci_reply_read(res, &rp);
	buf[0] = '\0';
	if (rp.code[0])
		snprintf(buf, size, " %.80s", rp.code);
	n = strlen(buf);
	if (rp.message[0] && n < size)
		snprintf(buf + n, size - n, ": %.200s", rp.message);
	n = strlen(buf);
	if (rp.request_id[0] && n < size)
		snprintf(buf + n, size - n, " (opc-request-id %.64s)", rp.request_id);
}

static void step_run(oci_fetch_t *f);

static void metadata_base(const oci_auth_t *a, char *buf, size_t size)
{
	const char *v2 = strstr(a->metadata_url, "/opc/v2");

	if (a->metadata_v1 && v2)
		snprintf(buf, size, "%.*s/opc/v1%s", (int)(v2 - a->metadata_url), a->metadata_url,
			 v2 + 7);
	else
		snprintf(buf, size, "%s", a->metadata_url);
}

static void on_metadata(http_response_t *res, void *userdata)
{
	oci_fetch_t *f = userdata;
	oci_auth_t *a = f->a;
	char **slot = NULL;

	f->req = NULL;
	if (res->status == 404 && f->step == S_CERT && !a->metadata_v1 &&
	    strstr(a->metadata_url, "/opc/v2")) {
		a->metadata_v1 = true; /* no IMDS v2 on this instance: v1, as the SDKs do */
		step_run(f);
		return;
	}
	if (res->status == 404 && f->step == S_REGION) {
		f->step = S_REGION_SHORT;
		step_run(f);
		return;
	}
	if (res->outcome != HTTP_SUCCESS) {
		if (res->status == 0 || res->cause != HTTP_CAUSE_STATUS)
			fetch_fail(f, "%s: is this an OCI instance?", res->error);
		else
			fetch_fail(f, "%s", res->error);
		return;
	}
	if (!res->body || !res->body_len) {
		fetch_fail(f, "the metadata service answered an empty %s",
			   f->step == S_CERT ? "identity/cert.pem" : f->step == S_INTERMEDIATE
				   ? "identity/intermediate.pem" : f->step == S_KEY
				   ? "identity/key.pem" : "region");
		return;
	}
	switch (f->step) {
	case S_CERT:
		slot = &f->cert_pem;
		break;
	case S_INTERMEDIATE:
		slot = &f->inter_pem;
		break;
	case S_KEY:
		slot = &f->key_pem;
		break;
	case S_REGION:
	case S_REGION_SHORT:
		free(f->region);
		if (!(f->region = region_name(res->body, res->body_len))) {
			fetch_fail(f, "the metadata service's region is not a region name");
			return;
		}
		f->step = S_FEDERATE;
		step_run(f);
		return;
	default:
		break;
	}
	if (slot) {
		*slot = res->body; /* ours now */
		res->body = NULL;
	}
	f->step++;
	if (f->step == S_REGION && a->region)
		f->step = S_FEDERATE;
	step_run(f);
}

static void get_metadata(oci_fetch_t *f, const char *path)
{
	oci_auth_t *a = f->a;
	http_header_t hdr = { "Authorization", "Bearer Oracle" };
	http_request_opts_t ro = { 0 };
	char base[1024], url[1200], err[OCI_ERR_MAX];

	metadata_base(a, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/%s", base, path);
	ro.method = "GET";
	ro.url = url;
	if (!a->metadata_v1) {
		ro.headers = &hdr;
		ro.n_headers = 1;
	}
	ro.timeout_ms = a->timeout_ms;
	ro.max_response = OCI_METADATA_MAX_BODY;
	ro.retry = fetch_retry;
	ro.done = on_metadata;
	ro.userdata = f;
	if (http_submit(a->http, &ro, &f->req, err, sizeof(err)) < 0)
		fetch_fail(f, "%s", err);
}

/* All the certificates of a PEM buffer, as DER. */
static int read_certs(const char *pem, X509 **certs, size_t max, size_t *ret_n)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	size_t n = 0;
	X509 *x;

	if (!b)
		return -ENOMEM;
	while (n < max && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		certs[n++] = x;
	ERR_clear_error();
	BIO_free(b);
	*ret_n = n;
	return n ? 0 : -EINVAL;
}

static char *cert_b64(X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	char *s;

	if (len <= 0)
		return NULL;
	s = oci_b64_encode(der, (size_t)len, false);
	OPENSSL_free(der);
	return s;
}

/* "opc-tenant:OCID" in any attribute of the subject, else "opc-identity:OCID". */
static char *cert_tenancy(X509 *x)
{
	const X509_NAME *name = X509_get_subject_name(x);
	char *found = NULL, *fallback = NULL;

	for (int i = 0; i < X509_NAME_entry_count(name) && !found; i++) {
		const ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
		unsigned char *u = NULL;
		int len = ASN1_STRING_to_UTF8(&u, d);

		if (len <= 0)
			continue;
		if (len > 11 && !strncmp((char *)u, "opc-tenant:", 11))
			found = strndup((char *)u + 11, (size_t)len - 11);
		else if (len > 13 && !fallback && !strncmp((char *)u, "opc-identity:", 13))
			fallback = strndup((char *)u + 13, (size_t)len - 13);
		OPENSSL_free(u);
	}
	if (found) {
		free(fallback);
		return found;
	}
	return fallback;
}

static void on_token(http_response_t *res, void *userdata);

/* POST body, signed or with extra headers, to url. */
static void post(oci_fetch_t *f, const char *url, const char *body, const http_header_t *extra,
		 size_t n_extra)
{
	oci_auth_t *a = f->a;
	http_request_opts_t ro = { 0 };
	char err[OCI_ERR_MAX];

	ro.method = "POST";
	ro.url = url;
	ro.headers = extra;
	ro.n_headers = n_extra;
	ro.body = body;
	ro.body_len = strlen(body);
	ro.timeout_ms = a->timeout_ms;
	ro.max_response = (size_t)OCI_MAX_TOKEN * 2 + 4096;
	ro.retry = fetch_retry;
	ro.profile = a->tls;
	ro.done = on_token;
	ro.userdata = f;
	if (http_submit(a->http, &ro, &f->req, err, sizeof(err)) < 0)
		fetch_fail(f, "%s", err);
}

static void federate(oci_fetch_t *f)
{
	oci_auth_t *a = f->a;
	X509 *leaf[1] = { NULL }, *inter[MAX_INTERMEDIATES];
	size_t n_leaf = 0, n_inter = 0;
	oci_key_t *leaf_key = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char fp[EVP_MAX_MD_SIZE * 3 + 1], kerr[OCI_ERR_MAX], url[1200], key_id[600];
	char *s = NULL, *body = NULL, *pub = NULL;
	const char *region = a->region ? a->region : f->region;
	cJSON *j = NULL, *arr;
	oci_sign_input_t in = { .method = "POST" };
	oci_signed_t sig = { 0 };

	if (read_certs(f->cert_pem, leaf, 1, &n_leaf) < 0) {
		fetch_fail(f, "identity/cert.pem of the metadata service is not a PEM certificate");
		goto out;
	}
	if (read_certs(f->inter_pem, inter, MAX_INTERMEDIATES, &n_inter) < 0) {
		fetch_fail(f, "identity/intermediate.pem of the metadata service is not a PEM "
			      "certificate");
		goto out;
	}
	free(f->tenancy);
	if (!(f->tenancy = cert_tenancy(leaf[0]))) {
		fetch_fail(f, "the instance certificate names no tenancy (no opc-tenant: in its "
			      "subject)");
		goto out;
	}
	if (oci_key_load_pem(f->key_pem, strlen(f->key_pem), NULL, &leaf_key, kerr,
			     sizeof(kerr)) < 0) {
		fetch_fail(f, "identity/key.pem of the metadata service: %s", kerr);
		goto out;
	}
	if (!X509_digest(leaf[0], EVP_sha1(), md, &mdlen)) {
		fetch_fail(f, "cannot hash the instance certificate");
		goto out;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(fp + 3 * i, 4, i + 1 < mdlen ? "%02X:" : "%02X", md[i]);
	snprintf(key_id, sizeof(key_id), "%s/fed-x509/%s", f->tenancy, fp);
	if (oci_key_generate(2048, &f->session, kerr, sizeof(kerr)) < 0) {
		fetch_fail(f, "session key: %s", kerr);
		goto out;
	}
	if (!(j = cJSON_CreateObject()) || !(s = cert_b64(leaf[0])) ||
	    !cJSON_AddStringToObject(j, "certificate", s) ||
	    !(pub = oci_key_public_b64(f->session)) ||
	    !cJSON_AddStringToObject(j, "publicKey", pub) ||
	    !(arr = cJSON_AddArrayToObject(j, "intermediateCertificates")))
		goto nomem;
	for (size_t i = 0; i < n_inter; i++) {
		free(s);
		if (!(s = cert_b64(inter[i])) || !cJSON_AddItemToArray(arr, cJSON_CreateString(s)))
			goto nomem;
	}
	if (!cJSON_AddStringToObject(j, "purpose", "DEFAULT") ||
	    !cJSON_AddStringToObject(j, "fingerprintAlgorithm", "SHA256") ||
	    !(body = cJSON_PrintUnformatted(j)))
		goto nomem;

	if (a->federation_base)
		snprintf(url, sizeof(url), "%s/v1/x509", a->federation_base);
	else if (region)
		snprintf(url, sizeof(url), "https://auth.%s.%s/v1/x509", region,
			 oci_region_domain(region));
	else {
		fetch_fail(f, "no region for the federation endpoint");
		goto out;
	}
	in.url = url;
	in.body = body;
	in.body_len = strlen(body);
	if (oci_sign(leaf_key, key_id, &in, &sig, kerr, sizeof(kerr)) < 0) {
		fetch_fail(f, "POST %s: %s", url, kerr);
		goto out;
	}
	f->step = S_FEDERATE;
	post(f, url, body, sig.headers, sig.n_headers);
	goto out;
nomem:
	fetch_fail(f, "out of memory");
out:
	oci_signed_free(&sig);
	cJSON_Delete(j);
	free(body);
	free(pub);
	free(s);
	oci_key_unref(leaf_key);
	if (leaf[0])
		X509_free(leaf[0]);
	for (size_t i = 0; i < n_inter; i++)
		X509_free(inter[i]);
}

static void proxymux(oci_fetch_t *f)
{
	oci_auth_t *a = f->a;
	char *sa = NULL, *auth = NULL, *pub = NULL, *body = NULL;
	char err[OCI_ERR_MAX], url[1200], rid[OCI_REQUEST_ID_LEN];
	http_header_t hdr[3];
	cJSON *j = NULL;

	/* the token rotates: read it for each fetch */
	if (oci_read_token_file(a->sa_token_file, "service-account token", &sa, NULL, err,
				sizeof(err)) < 0) {
		fetch_fail(f, "%s", err);
		return;
	}
	if (oci_key_generate(2048, &f->session, err, sizeof(err)) < 0) {
		fetch_fail(f, "pod key: %s", err);
		goto out;
	}
	oci_request_id(rid);
	if (asprintf(&auth, "Bearer %s", sa) < 0) {
		auth = NULL;
		goto nomem;
	}
	if (!(pub = oci_key_public_b64(f->session)) || !(j = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(j, "podKey", pub) || !(body = cJSON_PrintUnformatted(j)))
		goto nomem;
	hdr[0] = (http_header_t){ "Authorization", auth };
	hdr[1] = (http_header_t){ "Content-Type", "application/json" };
	hdr[2] = (http_header_t){ "opc-request-id", rid };
	snprintf(url, sizeof(url), "%s/resourcePrincipalSessionTokens", a->proxymux_url);
	f->step = S_PROXYMUX;
	post(f, url, body, hdr, 3);
	goto out;
nomem:
	fetch_fail(f, "out of memory");
out:
	cJSON_Delete(j);
	free(body);
	free(pub);
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	explicit_bzero(sa, strlen(sa));
	free(sa);
}

/* The proxymux's answer: base64 (maybe as a JSON string) of {"token":"ST$..."}. */
static int proxymux_token(const char *body, size_t len, char **ret)
{
	cJSON *s = NULL, *j = NULL;
	const cJSON *t;
	const char *b64 = body;
	unsigned char *dec = NULL;
	size_t n = len, dlen;
	int rc = -EINVAL;

	while (n && (*b64 == ' ' || *b64 == '\n' || *b64 == '\r' || *b64 == '\t')) {
		b64++;
		n--;
	}
	while (n && (b64[n - 1] == ' ' || b64[n - 1] == '\n' || b64[n - 1] == '\r' ||
		     b64[n - 1] == '\t'))
		n--;
	if (n && *b64 == '"') {
		s = cJSON_ParseWithLength(b64, n);
		if (!cJSON_IsString(s))
			goto out;
		b64 = s->valuestring;
		n = strlen(b64);
	}
	if (oci_b64_decode(b64, n, &dec, &dlen) < 0)
		goto out;
	j = cJSON_ParseWithLength((const char *)dec, dlen);
	t = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (!cJSON_IsString(t))
		goto out;
	if (!(*ret = strdup(strncmp(t->valuestring, "ST$", 3) ? t->valuestring
							       : t->valuestring + 3))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(s);
	cJSON_Delete(j);
	if (dec) {
		explicit_bzero(dec, dlen);
		free(dec);
	}
	return rc;
}

static bool token_ok(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > OCI_MAX_TOKEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x21 || t[i] == 0x7f)
			return false;
	return true;
}

static void on_token(http_response_t *res, void *userdata)
{
	oci_fetch_t *f = userdata;
	oci_auth_t *a = f->a;
	char detail[400], *token = NULL;
	cJSON *j = NULL;
	const cJSON *t;

	f->req = NULL;
	if (res->outcome != HTTP_SUCCESS) {
		if (res->status == 0 || res->cause != HTTP_CAUSE_STATUS) {
			fetch_fail(f, "%s", res->error);
			return;
		}
		oci_error_detail(res, detail, sizeof(detail));
		if (f->step == S_PROXYMUX && res->status == 401)
			fetch_fail(f, "%s%s: the proxymux refused the service-account token of %s",
				   res->error, detail, a->sa_token_file);
		else if (f->step == S_PROXYMUX && res->status == 403)
			fetch_fail(f, "%s%s: is the cluster an enhanced cluster, and workload identity "
				      "allowed for this service account?",
				   res->error, detail);
		else
			fetch_fail(f, "%s%s", res->error, detail);
		return;
	}
	if (f->step == S_PROXYMUX) {
		if (!res->body || proxymux_token(res->body, res->body_len, &token) < 0) {
			fetch_fail(f, "the proxymux's answer is not base64 of {\"token\": ...}");
			return;
		}
	} else {
		j = res->body ? cJSON_ParseWithLength(res->body, res->body_len) : NULL;
		t = cJSON_GetObjectItemCaseSensitive(j, "token");
		if (!cJSON_IsString(t) || !(token = strdup(t->valuestring))) {
			cJSON_Delete(j);
			fetch_fail(f, "the federation endpoint's answer has no \"token\"");
			return;
		}
		cJSON_Delete(j);
	}
	if (!token_ok(token)) {
		fetch_fail(f, "the session token is empty, too long or has control characters");
	} else {
		fetch_end(f, token, NULL);
	}
	explicit_bzero(token, strlen(token));
	free(token);
}

static void step_run(oci_fetch_t *f)
{
	switch (f->step) {
	case S_CERT:
		get_metadata(f, "identity/cert.pem");
		break;
	case S_INTERMEDIATE:
		get_metadata(f, "identity/intermediate.pem");
		break;
	case S_KEY:
		get_metadata(f, "identity/key.pem");
		break;
	case S_REGION:
		get_metadata(f, "instance/canonicalRegionName");
		break;
	case S_REGION_SHORT:
		get_metadata(f, "instance/region");
		break;
	case S_FEDERATE:
		federate(f);
		break;
	case S_PROXYMUX:
		proxymux(f);
		break;
	}
}

/* A step that fails before its request goes out ends the fetch at once; auth.c only arms
 * its timer then, so no callback runs from inside oci_auth_ready(). */
int oci_fetch_start(oci_auth_t *a, char *err, size_t errsz)
{
	oci_fetch_t *f;

	if (!(f = calloc(1, sizeof(*f)))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	f->a = a;
	f->step = a->mode == OCI_AUTH_INSTANCE_PRINCIPAL ? S_CERT : S_PROXYMUX;
	a->fetch = f;
	step_run(f);
	return 0;
}
