/* sign.c - OCI request signatures (oci.h "the signer"): draft-cavage-http-signatures-08,
 * rsa-sha256, byte-exact on tests/vectors/oci/.
 *
 * What is signed is taken from the request as it will be sent, never normalised: the host
 * is the URL's authority as written (port and IPv6 brackets kept), (request-target) the
 * path and query as written ("/" for none), the date verbatim. Normalising any of them
 * (lowercasing the host, dropping a default port, re-encoding the query) would make our
 * signing string differ from the one OCI rebuilds from the request line and headers, and
 * the request would be refused with a 401 that is hard to diagnose.
 *
 * Every signed value ends up in a request header or the request line, so any control
 * character (CR and LF above all) is refused: a value must not be able to add a header.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "oci/oci.h"

#define BODY_HEADERS "content-length content-type x-content-sha256"

/* A request's signed parts, validated; pointers into the input or into the fields. */
struct req {
	char method[8];       /* lowercase */
	bool with_body;       /* POST, PUT, PATCH */
	const char *date;
	char date_buf[30];
	const char *host;     /* the authority, host_len bytes */
	size_t host_len;
	const char *target;   /* path and query, target_len bytes; "/" goes before one
				 that does not start with it */
	size_t target_len;
	char length[24];      /* content-length */
	const char *content_type;
	char sha256[48];      /* x-content-sha256, base64 */
};

static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void oci_format_date(time_t t, char buf[30])
{
	/* Four-digit years only: 0000-01-01 .. 9999-12-31 23:59:59. */
	const time_t lo = -62167219200, hi = 253402300799;
	char tmp[96];
	struct tm tm;

	if (t < lo)
		t = lo;
	if (t > hi)
		t = hi;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, 30, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	/* By hand, not strftime(): the names must be English whatever the locale. */
	snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday % 7],
		 tm.tm_mday, month[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
	memcpy(buf, tmp, 29);
	buf[29] = '\0';
}

/* The first control character (or DEL) in s[0..len), or NULL. */
static const char *find_ctl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return s + i;
	return NULL;
}

static int parse_method(const char *m, struct req *q, char *err, size_t errsz)
{
	static const struct {
		const char *name;
		bool body;
	} methods[] = {
		{ "get", false },  { "post", true },   { "put", true },
		{ "patch", true }, { "delete", false }, { "head", false },
	};

	for (size_t i = 0; m && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcasecmp(m, methods[i].name)) {
			snprintf(q->method, sizeof(q->method), "%s", methods[i].name);
			q->with_body = methods[i].body;
			return 0;
		}
	/* The method is the caller's, not a secret, but it may hold anything. */
	http_errf(err, errsz, "HTTP method \"%.16s\": GET, POST, PUT, PATCH, DELETE or HEAD",
		  m ? m : "(none)");
	return -EINVAL;
}

/* Authority characters: RFC 3986 reg-name (unreserved, pct-encoded, sub-delims), ':' for
 * the port, brackets for IPv6 literals (checked below). */
static bool authority_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._~%!$&'()*+,;=:[]", c);
}

static int parse_url(const char *url, struct req *q, char *err, size_t errsz)
{
	const char *p, *a, *end, *colon, *zone;
	size_t n;

	if (!url) {
		http_errf(err, errsz, "no URL");
		return -EINVAL;
	}
	n = strlen(url);
	if (n > HTTP_MAX_URL) {
		http_errf(err, errsz, "URL longer than %d bytes", HTTP_MAX_URL);
		return -EINVAL;
	}
	/* The URL goes into the request line as it is: no whitespace, no control characters,
	 * ASCII only (percent-encode the rest). */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c >= 0x7f) {
			http_errf(err, errsz, "URL: %s at byte %zu (percent-encode it)",
				  c == ' ' ? "a space" : c < 0x20 || c == 0x7f ? "a control character"
									   : "a non-ASCII byte",
				  i + 1);
			return -EINVAL;
		}
	}
	if (!strncasecmp(url, "https://", 8))
		a = url + 8;
	else if (!strncasecmp(url, "http://", 7))
		a = url + 7;
	else {
		http_errf(err, errsz, "URL: not http:// or https://");
		return -EINVAL;
	}
	end = a + strcspn(a, "/?#");
	if (end == a) {
		http_errf(err, errsz, "URL: no host");
		return -EINVAL;
	}
	if (memchr(a, '@', (size_t)(end - a))) {
		/* Credentials in a URL would be sent in no header we sign, and logged. */
		http_errf(err, errsz, "URL: user information (user@host) is not allowed");
		return -EINVAL;
	}
	for (p = a; p < end; p++)
		if (!authority_char((unsigned char)*p)) {
			http_errf(err, errsz, "URL: '%c' in the host", *p);
			return -EINVAL;
		}
	/* host, or [IPv6], then an optional :port of digits */
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(end - a));

		if (!rb || rb == a + 1 || memchr(a + 1, '[', (size_t)(rb - a - 1))) {
			http_errf(err, errsz, "URL: bad IPv6 literal in the host");
			return -EINVAL;
		}
		/* hex digits, ':' and '.', then maybe a zone ("%25eth0", RFC 6874) */
		zone = memchr(a + 1, '%', (size_t)(rb - a - 1));
		for (p = a + 1; p < (zone ? zone : rb); p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				break;
		if (p != (zone ? zone : rb) || !memchr(a + 1, ':', (size_t)(p - a - 1))) {
			http_errf(err, errsz, "URL: bad IPv6 literal in the host");
			return -EINVAL;
		}
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon && *colon != ':') {
			http_errf(err, errsz, "URL: bad IPv6 literal in the host");
			return -EINVAL;
		}
	} else {
		if (memchr(a, '[', (size_t)(end - a)) || memchr(a, ']', (size_t)(end - a))) {
			http_errf(err, errsz, "URL: '[' or ']' in the host outside an IPv6 literal");
			return -EINVAL;
		}
		colon = memchr(a, ':', (size_t)(end - a));
		if (colon == a) {
			http_errf(err, errsz, "URL: no host");
			return -EINVAL;
		}
	}
	if (colon) {
		unsigned long port = 0;

		if (colon + 1 == end || end - colon > 6) {
			http_errf(err, errsz, "URL: bad port");
			return -EINVAL;
		}
		for (p = colon + 1; p < end; p++) {
			if (*p < '0' || *p > '9') {
				http_errf(err, errsz, "URL: bad port");
				return -EINVAL;
			}
			port = port * 10 + (unsigned long)(*p - '0');
		}
		if (port == 0 || port > 65535) {
			http_errf(err, errsz, "URL: port %lu out of range", port);
			return -EINVAL;
		}
	}
	q->host = a;
	q->host_len = (size_t)(end - a);
	q->target = end;
	q->target_len = strcspn(end, "#"); /* the fragment is never sent */
	return 0;
}

/* Validates in and fills q; the body's digest when the method has one. */
static int prepare(const oci_sign_input_t *in, struct req *q, char *err, size_t errsz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int r;

	memset(q, 0, sizeof(*q));
	if (!in) {
		http_errf(err, errsz, "no request to sign");
		return -EINVAL;
	}
	r = parse_method(in->method, q, err, errsz);
	if (r < 0)
		return r;
	r = parse_url(in->url, q, err, errsz);
	if (r < 0)
		return r;
	if (in->date) {
		if (!*in->date || strlen(in->date) > 64 || find_ctl(in->date, strlen(in->date))) {
			http_errf(err, errsz, "date: %s", !*in->date ? "empty"
							 : strlen(in->date) > 64 ? "too long"
										 : "a control character");
			return -EINVAL;
		}
		q->date = in->date;
	} else {
		oci_format_date(time(NULL), q->date_buf);
		q->date = q->date_buf;
	}
	if (!in->body && in->body_len > 0) {
		http_errf(err, errsz, "a body of %zu bytes and no data", in->body_len);
		return -EINVAL;
	}
	if (!q->with_body) {
		if (in->body_len > 0) {
			http_errf(err, errsz, "%s with a body of %zu bytes: only POST, PUT and "
				  "PATCH carry one", in->method, in->body_len);
			return -EINVAL;
		}
		return 0;
	}
	q->content_type = in->content_type ? in->content_type : "application/json";
	if (!*q->content_type || strlen(q->content_type) > 256 ||
	    find_ctl(q->content_type, strlen(q->content_type))) {
		http_errf(err, errsz, "content-type: %s", !*q->content_type ? "empty"
							  : strlen(q->content_type) > 256
								  ? "too long"
								  : "a control character");
		return -EINVAL;
	}
	snprintf(q->length, sizeof(q->length), "%zu", in->body_len);
	if (!EVP_Digest(in->body_len ? in->body : "", in->body_len, md, &mdlen, EVP_sha256(),
			NULL) || mdlen != 32) {
		http_errf(err, errsz, "x-content-sha256: SHA-256 failed");
		return -ENOMEM;
	}
	EVP_EncodeBlock((unsigned char *)q->sha256, md, (int)mdlen);
	return 0;
}

/* The signing string, malloc'd. */
static char *signing_string(const struct req *q)
{
	/* an empty path is "/", before a query too ("https://h?x=1" asks for "/?x=1") */
	const char *slash = q->target_len && q->target[0] == '/' ? "" : "/";
	int tlen = (int)q->target_len;
	char *s = NULL;
	int n;

	if (q->with_body)
		n = asprintf(&s,
			     "date: %s\n(request-target): %s %s%.*s\nhost: %.*s\n"
			     "content-length: %s\ncontent-type: %s\nx-content-sha256: %s",
			     q->date, q->method, slash, tlen, q->target, (int)q->host_len, q->host,
			     q->length, q->content_type, q->sha256);
	else
		n = asprintf(&s, "date: %s\n(request-target): %s %s%.*s\nhost: %.*s", q->date,
			     q->method, slash, tlen, q->target, (int)q->host_len, q->host);
	return n < 0 ? NULL : s;
}

int oci_signing_string(const oci_sign_input_t *in, char **ret, char *err, size_t errsz)
{
	struct req q;
	char *s;
	int r;

	r = prepare(in, &q, err, errsz);
	if (r < 0)
		return r;
	s = signing_string(&q);
	if (!s) {
		http_errf(err, errsz, "signing string: out of memory");
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

int oci_sign(const oci_key_t *key, const char *key_id, const oci_sign_input_t *in,
	     oci_signed_t *out, char *err, size_t errsz)
{
	const char *values[OCI_SIGNED_MAX] = { 0 };
	static const char *const names[OCI_SIGNED_MAX] = {
		"date", "host", "authorization", "content-length", "content-type",
		"x-content-sha256",
	};
	size_t n_headers, lens[OCI_SIGNED_MAX], total = 0;
	char *sstr = NULL, *sig = NULL, *auth = NULL, *host = NULL, *storage = NULL, *p;
	struct req q;
	int r;

	if (!key || !key_id || !*key_id || !out) {
		http_errf(err, errsz, "signing: no key, key id or output");
		return -EINVAL;
	}
	/* keyId="..." is quoted: no quote or backslash inside, nor control characters. */
	if (strlen(key_id) > OCI_MAX_TOKEN + 16 || find_ctl(key_id, strlen(key_id)) ||
	    strpbrk(key_id, "\"\\")) {
		http_errf(err, errsz, "keyId: %s", strlen(key_id) > OCI_MAX_TOKEN + 16
							   ? "too long"
							   : "a quote, backslash or control character");
		return -EINVAL;
	}
	r = prepare(in, &q, err, errsz);
	if (r < 0)
		return r;
	sstr = signing_string(&q);
	if (!sstr) {
		r = -ENOMEM;
		goto out;
	}
	r = oci_key_sign_sha256(key, sstr, strlen(sstr), &sig, err, errsz);
	if (r < 0)
		goto out;
	if (asprintf(&auth,
		     "Signature version=\"1\",headers=\"date (request-target) host%s%s\","
		     "keyId=\"%s\",algorithm=\"rsa-sha256\",signature=\"%s\"",
		     q.with_body ? " " : "", q.with_body ? BODY_HEADERS : "", key_id, sig) < 0) {
		auth = NULL;
		r = -ENOMEM;
		goto out;
	}
	host = strndup(q.host, q.host_len);
	if (!host) {
		r = -ENOMEM;
		goto out;
	}
	values[0] = q.date;
	values[1] = host;
	values[2] = auth;
	n_headers = 3;
	if (q.with_body) {
		values[3] = q.length;
		values[4] = q.content_type;
		values[5] = q.sha256;
		n_headers = 6;
	}
	for (size_t i = 0; i < n_headers; i++) {
		lens[i] = strlen(values[i]) + 1;
		total += lens[i];
	}
	storage = malloc(total);
	if (!storage) {
		r = -ENOMEM;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	p = storage;
	for (size_t i = 0; i < n_headers; i++) {
		memcpy(p, values[i], lens[i]);
		out->headers[i].name = names[i];
		out->headers[i].value = p;
		p += lens[i];
	}
	out->n_headers = n_headers;
	out->storage_ = storage;
	r = 0;
out:
	if (r == -ENOMEM)
		http_errf(err, errsz, "signing: out of memory");
	free(sstr);
	free(sig);
	free(auth);
	free(host);
	return r;
}

void oci_signed_free(oci_signed_t *s)
{
	if (!s)
		return;
	free(s->storage_);
	memset(s, 0, sizeof(*s));
}

const char *oci_signed_get(const oci_signed_t *s, const char *name)
{
	for (size_t i = 0; s && name && i < s->n_headers && i < OCI_SIGNED_MAX; i++)
		if (!strcasecmp(s->headers[i].name, name))
			return s->headers[i].value;
	return NULL;
}
