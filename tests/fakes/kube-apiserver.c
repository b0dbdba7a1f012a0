/* kube-apiserver.c - the fake Kubernetes API server of kube-apiserver.h.
 *
 * Design. One mutex guards everything that changes (objects, the per-resource histories of
 * changes, tokens and admins, faults, the call record); one condition variable on the
 * monotonic clock wakes whoever waits for a change: the watch streams, fault delays and
 * kube_fake_wait_watches. A request runs on its connection's thread (libmicrohttpd, a
 * thread per connection) through: record -> fault -> authenticate -> request info (the
 * RequestInfoFactory's rules) -> authorize (RBAC) -> route. A watch is a content-reader
 * callback that blocks on the condition variable, which a thread per connection allows;
 * it ends with the final chunk at timeoutSeconds and without one (a broken stream) on
 * kube_fake_drop_watches() and at stop, which wakes every waiter before it stops the
 * daemon so that the daemon's join of the connection threads returns.
 *
 * The history of a resource is a ring of its last N changes, each with the object before
 * and after, so a watch with selectors can turn a change into ADDED, MODIFIED or DELETED
 * exactly as the watch cache does. `floor` is the newest resourceVersion the ring has
 * forgotten: a watch from an older one can no longer be served (410 Expired).
 *
 * The messages, reasons and codes copy the API server's (apimachinery's errors and
 * field.Error formats, the authorization filter's forbidden message, the RBAC authorizer's
 * reasons, the label selector parser's errors, ValidateEventCreate and ValidateLease).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <yaml.h>

#include "tests/fakes/fake-tls.h"
#include "tests/fakes/kube-apiserver.h"
#include "tests/fakes/mhd-conn.h"
#include "tests/fakes/test-util.h"

#define MAX_BODY (3u << 20) /* the API server's request body limit, 3 MiB */
#define MAX_OUT (64u << 20) /* ceiling on any response or watch buffer */
#define DEFAULT_HISTORY 100
#define DEFAULT_WATCH_TIMEOUT_S 1800
#define MAX_FAULTS 64
#define MAX_TOKENS 256
#define PEER_CHECK_MS 100
#define MICRO_LAYOUT "2006-01-02T15:04:05.000000Z07:00"

/* ---- small helpers ---------------------------------------------------------------------*/

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	size_t cap;
	char *s;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		s = cap <= MAX_OUT ? realloc(b->s, cap) : NULL;
		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512], *big;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(tmp)) {
		sb_add(b, tmp, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_add(b, big, (size_t)n);
	free(big);
}

static void sb_free(struct sbuf *b)
{
	free(b->s);
	*b = (struct sbuf){ 0 };
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void deadline_ts(struct timespec *ts, long long at_ms)
{
	ts->tv_sec = at_ms / 1000;
	ts->tv_nsec = (at_ms % 1000) * 1000000;
}

/* metav1.Time: RFC 3339 in seconds, UTC. */
static void now_time(char buf[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void make_uid(char buf[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1) {
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rand();
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

void kube_fake_fingerprint(const char *token, char buf[static 24])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) || n < 8) {
		test_copy_str(buf, 24, "sha256:?");
		return;
	}
	snprintf(buf, 24, "sha256:%02x%02x%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3],
		 md[4], md[5], md[6], md[7]);
}

/* Go's strconv.ParseBool, true side. */
static bool parse_bool(const char *s)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };

	for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i]) == 0)
			return true;
	return false;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

static bool parse_i64(const char *s, long long *ret)
{
	char *end;
	long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

/* A JSON number that is an integer within [lo, hi]. */
static bool json_int(const cJSON *j, long long lo, long long hi, long long *ret)
{
	double d;

	if (!cJSON_IsNumber(j))
		return false;
	d = j->valuedouble;
	if (d != (double)(long long)d || d < (double)lo || d > (double)hi)
		return false;
	*ret = (long long)d;
	return true;
}

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static cJSON *json_obj(const cJSON *o, const char *key)
{
	cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsObject(j) ? j : NULL;
}

/* Sets o[key] to item (taken), replacing what was there. */
static void json_set(cJSON *o, const char *key, cJSON *item)
{
	if (!item)
		return;
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
	else
		cJSON_AddItemToObject(o, key, item);
}

static cJSON *json_child(cJSON *o, const char *key)
{
	cJSON *j = json_obj(o, key);

	if (!j) {
		j = cJSON_CreateObject();
		json_set(o, key, j);
	}
	return j;
}

/* A key/value list (NULL-terminated, alternating) as a JSON object of strings. */
static cJSON *kv_object(const char *const *kv)
{
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		json_set(o, kv[i], cJSON_CreateString(kv[i + 1]));
	return o;
}

static char *json_print(const cJSON *j)
{
	return j ? cJSON_PrintUnformatted(j) : NULL;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool ndigits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Go's time.Parse(RFC3339Micro, s) as metav1.MicroTime.UnmarshalJSON uses it: exactly six
 * fractional digits, "Z" or a numeric offset. On failure err gets Go's message form. */
static bool parse_microtime(const char *s, char *err, size_t esz)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t len = strlen(s);
	int y, mo, d, md;
	const char *z;

	if (len < 19 || !ndigits(s, 4) || s[4] != '-' || !ndigits(s + 5, 2) || s[7] != '-' ||
	    !ndigits(s + 8, 2) || s[10] != 'T' || !ndigits(s + 11, 2) || s[13] != ':' ||
	    !ndigits(s + 14, 2) || s[16] != ':' || !ndigits(s + 17, 2)) {
		snprintf(err, esz, "parsing time \"%s\" as \"%s\": cannot parse \"%s\" as \"%s\"",
			 s, MICRO_LAYOUT, s, MICRO_LAYOUT);
		return false;
	}
	if (len < 26 || s[19] != '.' || !ndigits(s + 20, 6)) {
		snprintf(err, esz,
			 "parsing time \"%s\" as \"%s\": cannot parse \"%s\" as \".000000\"", s,
			 MICRO_LAYOUT, s + 19);
		return false;
	}
	y = num(s, 4);
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	md = mo >= 1 && mo <= 12 ? mdays[mo - 1] + (mo == 2 && leap(y)) : 0;
	if (!md || d < 1 || d > md || num(s + 11, 2) > 23 || num(s + 14, 2) > 59 ||
	    num(s + 17, 2) > 59) {
		snprintf(err, esz, "parsing time \"%s\": %s out of range", s,
			 !md ? "month" : "day");
		return false;
	}
	z = s + 26;
	if (strcmp(z, "Z") == 0 ||
	    ((z[0] == '+' || z[0] == '-') && ndigits(z + 1, 2) && z[3] == ':' &&
	     ndigits(z + 4, 2) && z[6] == '\0' && num(z + 1, 2) <= 24 && num(z + 4, 2) <= 60))
		return true;
	snprintf(err, esz, "parsing time \"%s\" as \"%s\": cannot parse \"%s\" as \"Z07:00\"", s,
		 MICRO_LAYOUT, z);
	return false;
}

/* ---- name validation (apimachinery's util/validation) ----------------------------------*/

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_MSG                                                                             \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end "   \
	"with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex " \
	"used for validation is '" QNAME_FMT "')"
#define LABEL_VALUE_MSG                                                                        \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', "   \
	"'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  " \
	"or 'my_value',  or '12345', regex used for validation is "                            \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define DNS1123_MSG                                                                           \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, " \
	"'-' or '.', and must start and end with an alphanumeric character (e.g. "            \
	"'example.com', regex used for validation is "                                        \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], over s[0..n). */
static bool qname_chars(const char *s, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

static bool dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && c != '-' && c != '.')
			return false;
		/* each dot-separated label starts and ends alphanumeric */
		if ((i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.') && !alnum)
			return false;
	}
	return true;
}

/* IsQualifiedName: its messages, "; "-joined into msg; false when there are any. */
static bool qualified_name(const char *v, char *msg, size_t size)
{
	const char *slash = strchr(v, '/'), *name = v;
	struct sbuf b = { 0 };
	bool ok;

	if (slash && strchr(slash + 1, '/')) {
		snprintf(
			msg, size,
			"a qualified name " QNAME_MSG
			" with an optional DNS subdomain prefix and '/' (e.g. "
			"'example.com/MyName')");
		return false;
	}
	if (slash) {
		char prefix[256];

		snprintf(prefix, sizeof(prefix), "%.*s", (int)(slash - v), v);
		if (!prefix[0])
			sb_str(&b, "prefix part must be non-empty");
		else if (!dns1123_subdomain(prefix))
			sb_str(&b, "prefix part " DNS1123_MSG);
		name = slash + 1;
	}
	if (!name[0])
		sb_printf(&b, "%sname part must be non-empty", b.len ? "; " : "");
	else if (strlen(name) > 63)
		sb_printf(&b, "%sname part must be no more than 63 characters", b.len ? "; " : "");
	if (!qname_chars(name, strlen(name)))
		sb_printf(&b, "%sname part " QNAME_MSG, b.len ? "; " : "");
	ok = b.len == 0;
	test_copy_str(msg, size, b.s);
	sb_free(&b);
	return ok;
}

static bool label_value(const char *v, char *msg, size_t size)
{
	size_t n = strlen(v);

	if (n > 63) {
		snprintf(msg, size, "must be no more than 63 characters");
		return false;
	}
	if (n && !qname_chars(v, n)) {
		snprintf(msg, size, LABEL_VALUE_MSG);
		return false;
	}
	return true;
}

/* ---- resources -------------------------------------------------------------------------*/

enum {
	R_DEPLOYMENTS,
	R_PODS,
	R_NODES,
	R_CONFIGMAPS,
	R_HPAS,
	R_SCALEDOBJECTS,
	R_EVENTS,
	R_LEASES,
	R_N
};

static const struct resdef {
	const char *group, *version, *resource, *kind, *api_version;
	bool namespaced, crd;
} resdefs[R_N] = {
	[R_DEPLOYMENTS] = { "apps", "v1", "deployments", "Deployment", "apps/v1", true, false },
	[R_PODS] = { "", "v1", "pods", "Pod", "v1", true, false },
	[R_NODES] = { "", "v1", "nodes", "Node", "v1", false, false },
	[R_CONFIGMAPS] = { "", "v1", "configmaps", "ConfigMap", "v1", true, false },
	[R_HPAS] = { "autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
		     "autoscaling/v2", true, false },
	[R_SCALEDOBJECTS] = { "keda.sh", "v1alpha1", "scaledobjects", "ScaledObject",
			      "keda.sh/v1alpha1", true, true },
	[R_EVENTS] = { "events.k8s.io", "v1", "events", "Event", "events.k8s.io/v1", true, false },
	[R_LEASES] = { "coordination.k8s.io", "v1", "leases", "Lease", "coordination.k8s.io/v1",
		       true, false },
};

static int res_by_name(const char *resource)
{
	for (int i = 0; i < R_N; i++)
		if (strcmp(resdefs[i].resource, resource) == 0)
			return i;
	return -1;
}

static int res_by_kind(const char *api_version, const char *kind)
{
	for (int i = 0; i < R_N; i++)
		if (streq(resdefs[i].api_version, api_version) && streq(resdefs[i].kind, kind))
			return i;
	return -1;
}

/* "deployments.apps", "pods": schema.GroupResource.String(). */
static void qualified_resource(char *buf, size_t size, const char *resource, const char *group)
{
	size_t n;

	test_copy_str(buf, size, resource);
	n = strlen(buf);
	if (group[0] && n + 1 < size) {
		buf[n] = '.';
		test_copy_str(buf + n + 1, size - n - 1, group);
	}
}

/* ---- Status replies --------------------------------------------------------------------*/

struct details {
	const char *name, *group, *kind;
	int retry_after;
	cJSON *causes; /* taken */
};

struct watch;

struct reply {
	int code;
	char *body;	     /* JSON or text, malloc'd */
	const char *type;    /* Content-Type; NULL: application/json */
	int retry_after;     /* > 0: a Retry-After header */
	struct watch *watch; /* a stream instead of a body */
};

static char *status_body(int code, const char *reason, const char *message, const struct details *d)
{
	cJSON *o = cJSON_CreateObject(), *det;
	char *s;

	cJSON_AddStringToObject(o, "kind", "Status");
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
	cJSON_AddStringToObject(o, "status", "Failure");
	if (message && message[0])
		cJSON_AddStringToObject(o, "message", message);
	if (reason && reason[0])
		cJSON_AddStringToObject(o, "reason", reason);
	if (d) {
		det = cJSON_AddObjectToObject(o, "details");
		if (d->name && d->name[0])
			cJSON_AddStringToObject(det, "name", d->name);
		if (d->group && d->group[0])
			cJSON_AddStringToObject(det, "group", d->group);
		if (d->kind && d->kind[0])
			cJSON_AddStringToObject(det, "kind", d->kind);
		if (d->causes)
			cJSON_AddItemToObject(det, "causes", d->causes);
		if (d->retry_after > 0)
			cJSON_AddNumberToObject(det, "retryAfterSeconds", d->retry_after);
	}
	cJSON_AddNumberToObject(o, "code", code);
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

static const char *reason_for(int code)
{
	static const struct {
		int code;
		const char *reason;
	} reasons[] = {
		{ 400, "BadRequest" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "NotFound" },
		{ 405, "MethodNotAllowed" },
		{ 406, "NotAcceptable" },
		{ 409, "Conflict" },
		{ 410, "Expired" },
		{ 413, "RequestEntityTooLarge" },
		{ 415, "UnsupportedMediaType" },
		{ 422, "Invalid" },
		{ 429, "TooManyRequests" },
		{ 500, "InternalError" },
		{ 503, "ServiceUnavailable" },
		{ 504, "Timeout" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].reason;
	return "";
}

static void reply_reset(struct reply *r)
{
	free(r->body);
	r->body = NULL;
	r->type = NULL;
}

__attribute__((format(printf, 5, 6))) static void fail(struct reply *r, int code,
						       const char *reason, const struct details *d,
						       const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_reset(r);
	r->code = code;
	r->body = status_body(code, reason ? reason : reason_for(code), msg, d);
	if (!r->body)
		r->code = 500;
}

static void reply_json(struct reply *r, int code, const cJSON *j)
{
	reply_reset(r);
	r->body = json_print(j);
	r->code = r->body ? code : 500;
}

static void not_found_path(struct reply *r)
{
	struct details d = { 0 };

	fail(r, 404, "NotFound", &d, "the server could not find the requested resource");
}

static void not_found(struct reply *r, const struct resdef *rd, const char *name)
{
	struct details d = { name, rd->group, rd->resource, 0, NULL };
	char qr[128];

	qualified_resource(qr, sizeof(qr), rd->resource, rd->group);
	fail(r, 404, "NotFound", &d, "%s \"%s\" not found", qr, name);
}

/* Field errors (field.ErrorList) and their 422 Invalid Status. */
struct ferrs {
	cJSON *causes;
	char *msgs[32];
	int n;
};

__attribute__((format(printf, 4, 5))) static void ferr(struct ferrs *e, const char *type,
						       const char *field, const char *fmt, ...)
{
	char body[1024], full[1536];
	cJSON *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (!e->causes)
		e->causes = cJSON_CreateArray();
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "reason", type);
	cJSON_AddStringToObject(c, "message", body);
	cJSON_AddStringToObject(c, "field", field);
	cJSON_AddItemToArray(e->causes, c);
	snprintf(full, sizeof(full), "%s: %s", field, body);
	/* ToAggregate drops duplicate messages */
	for (int i = 0; i < e->n; i++)
		if (strcmp(e->msgs[i], full) == 0)
			return;
	if (e->n < (int)(sizeof(e->msgs) / sizeof(e->msgs[0])))
		e->msgs[e->n++] = strdup(full);
}

static void ferr_required(struct ferrs *e, const char *field, const char *detail)
{
	ferr(e, "FieldValueRequired", field, "Required value%s%s", detail ? ": " : "",
	     detail ? detail : "");
}

static void ferr_invalid(struct ferrs *e, const char *field, const char *value, const char *detail)
{
	ferr(e, "FieldValueInvalid", field, "Invalid value: \"%s\": %s", value, detail);
}

static void ferr_invalid_int(struct ferrs *e, const char *field, long long v, const char *detail)
{
	ferr(e, "FieldValueInvalid", field, "Invalid value: %lld: %s", v, detail);
}

static void ferrs_free(struct ferrs *e)
{
	cJSON_Delete(e->causes);
	for (int i = 0; i < e->n; i++)
		free(e->msgs[i]);
	*e = (struct ferrs){ 0 };
}

/* 422: `Kind.group "name" is invalid: a` or `...: [a, b]` (errors.NewInvalid; kind "" for
 * a patch that does not fit the type, as the patch handler reports it). */
static void fail_invalid(struct reply *r, const char *group, const char *kind, const char *name,
			 struct ferrs *e)
{
	struct details d = { name, group, kind, 0, e->causes };
	struct sbuf m = { 0 };

	sb_printf(&m, "%s%s%s \"%s\" is invalid: %s", kind, group[0] ? "." : "", group, name,
		  e->n > 1 ? "[" : "");
	for (int i = 0; i < e->n; i++)
		sb_printf(&m, "%s%s", i ? ", " : "", e->msgs[i]);
	if (e->n > 1)
		sb_str(&m, "]");
	e->causes = NULL;
	fail(r, 422, "Invalid", &d, "%s", m.s ? m.s : "invalid");
	sb_free(&m);
	ferrs_free(e);
}

/* 400 for a body the server cannot decode into the kind (transformDecodeError). */
__attribute__((format(printf, 3, 4))) static void fail_decode(struct reply *r,
							      const struct resdef *rd,
							      const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail(r, 400, "BadRequest", NULL, "%s in version \"%s\" cannot be handled as a %s: %s",
	     rd->kind, rd->version, rd->kind, msg);
}

static const char *json_type_name(const cJSON *j)
{
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsBool(j))
		return "bool";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsObject(j))
		return "object";
	return "null";
}

/* ---- RBAC ------------------------------------------------------------------------------
 * The four RBAC kinds from the YAML file, and the authorizer: ClusterRoleBindings first,
 * then the RoleBindings of the request's namespace, the first rule that allows wins
 * (rbac.go's VisitRulesFor and RuleAllows). */

struct strv {
	char **v;
	size_t n;
};

struct rule {
	struct strv verbs, groups, resources, names, urls;
};

struct role {
	bool cluster;
	char *ns, *name;
	struct rule *rules;
	size_t n;
};

struct subject {
	char *kind, *name, *ns;
};

struct binding {
	bool cluster;
	char *ns, *name, *role_kind, *role_name;
	struct subject *subj;
	size_t n;
};

struct rbac {
	struct role *roles;
	size_t nroles;
	struct binding *binds;
	size_t nbinds;
};

static void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strv){ 0 };
}

static int strv_add(struct strv *s, const char *x)
{
	char **v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->v = v;
	s->v[s->n] = strdup(x);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static bool strv_has(const struct strv *s, const char *x, bool star)
{
	for (size_t i = 0; i < s->n; i++)
		if ((star && strcmp(s->v[i], "*") == 0) || strcmp(s->v[i], x) == 0)
			return true;
	return false;
}

static void rbac_free(struct rbac *rb)
{
	for (size_t i = 0; i < rb->nroles; i++) {
		struct role *ro = &rb->roles[i];

		for (size_t j = 0; j < ro->n; j++) {
			strv_free(&ro->rules[j].verbs);
			strv_free(&ro->rules[j].groups);
			strv_free(&ro->rules[j].resources);
			strv_free(&ro->rules[j].names);
			strv_free(&ro->rules[j].urls);
		}
		free(ro->rules);
		free(ro->ns);
		free(ro->name);
	}
	for (size_t i = 0; i < rb->nbinds; i++) {
		struct binding *b = &rb->binds[i];

		for (size_t j = 0; j < b->n; j++) {
			free(b->subj[j].kind);
			free(b->subj[j].name);
			free(b->subj[j].ns);
		}
		free(b->subj);
		free(b->ns);
		free(b->name);
		free(b->role_kind);
		free(b->role_name);
	}
	free(rb->roles);
	free(rb->binds);
	*rb = (struct rbac){ 0 };
}

static yaml_node_t *ykey(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *ystr(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	return yscalar(ykey(d, m, key));
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A sequence of scalars (absent: empty). */
static int ystrv(yaml_document_t *d, yaml_node_t *n, struct strv *ret)
{
	if (!n)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return -EINVAL;
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
	     i++) {
		const char *s = yscalar(yaml_document_get_node(d, *i));

		if (!s)
			return -EINVAL;
		if (strv_add(ret, s) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int parse_role(yaml_document_t *d, yaml_node_t *root, bool cluster, struct rbac *rb)
{
	yaml_node_t *meta = ykey(d, root, "metadata"), *rules = ykey(d, root, "rules");
	const char *name = ystr(d, meta, "name"), *ns = ystr(d, meta, "namespace");
	struct role *roles, *ro;
	int r;

	if (!name || (!cluster && !ns) || (rules && rules->type != YAML_SEQUENCE_NODE))
		return -EINVAL;
	roles = realloc(rb->roles, (rb->nroles + 1) * sizeof(*roles));
	if (!roles)
		return -ENOMEM;
	rb->roles = roles;
	ro = &rb->roles[rb->nroles++];
	*ro = (struct role){ cluster, cluster ? NULL : strdup(ns), strdup(name), NULL, 0 };
	if (!ro->name || (!cluster && !ro->ns))
		return -ENOMEM;
	if (!rules)
		return 0;
	ro->rules = calloc(
		(size_t)(rules->data.sequence.items.top - rules->data.sequence.items.start) + 1,
		sizeof(*ro->rules));
	if (!ro->rules)
		return -ENOMEM;
	for (yaml_node_item_t *i = rules->data.sequence.items.start;
	     i < rules->data.sequence.items.top; i++) {
		yaml_node_t *rn = yaml_document_get_node(d, *i);
		struct rule *ru = &ro->rules[ro->n++];

		if (!rn || rn->type != YAML_MAPPING_NODE)
			return -EINVAL;
		r = ystrv(d, ykey(d, rn, "verbs"), &ru->verbs);
		if (r == 0)
			r = ystrv(d, ykey(d, rn, "apiGroups"), &ru->groups);
		if (r == 0)
			r = ystrv(d, ykey(d, rn, "resources"), &ru->resources);
		if (r == 0)
			r = ystrv(d, ykey(d, rn, "resourceNames"), &ru->names);
		if (r == 0)
			r = ystrv(d, ykey(d, rn, "nonResourceURLs"), &ru->urls);
		if (r < 0)
			return r;
		/* ValidatePolicyRule: verbs are required, and resources or URLs */
		if (ru->verbs.n == 0 || (ru->resources.n == 0 && ru->urls.n == 0))
			return -EINVAL;
	}
	return 0;
}

static int parse_binding(yaml_document_t *d, yaml_node_t *root, bool cluster, struct rbac *rb)
{
	yaml_node_t *meta = ykey(d, root, "metadata"), *ref = ykey(d, root, "roleRef");
	yaml_node_t *subjects = ykey(d, root, "subjects");
	const char *name = ystr(d, meta, "name"), *ns = ystr(d, meta, "namespace");
	const char *rkind = ystr(d, ref, "kind"), *rname = ystr(d, ref, "name");
	struct binding *binds, *b;

	if (!name || (!cluster && !ns) || !rkind || !rname ||
	    (strcmp(rkind, "ClusterRole") != 0 && (cluster || strcmp(rkind, "Role") != 0)) ||
	    (subjects && subjects->type != YAML_SEQUENCE_NODE))
		return -EINVAL;
	binds = realloc(rb->binds, (rb->nbinds + 1) * sizeof(*binds));
	if (!binds)
		return -ENOMEM;
	rb->binds = binds;
	b = &rb->binds[rb->nbinds++];
	*b = (struct binding){ cluster,
			       cluster ? NULL : strdup(ns),
			       strdup(name),
			       strdup(rkind),
			       strdup(rname),
			       NULL,
			       0 };
	if (!b->name || !b->role_kind || !b->role_name || (!cluster && !b->ns))
		return -ENOMEM;
	if (!subjects)
		return 0;
	b->subj = calloc(
		(size_t)(subjects->data.sequence.items.top - subjects->data.sequence.items.start) +
			1,
		sizeof(*b->subj));
	if (!b->subj)
		return -ENOMEM;
	for (yaml_node_item_t *i = subjects->data.sequence.items.start;
	     i < subjects->data.sequence.items.top; i++) {
		yaml_node_t *sn = yaml_document_get_node(d, *i);
		const char *kind = ystr(d, sn, "kind"), *sname = ystr(d, sn, "name");
		struct subject *s = &b->subj[b->n++];

		if (!kind || !sname ||
		    (strcmp(kind, "User") != 0 && strcmp(kind, "Group") != 0 &&
		     strcmp(kind, "ServiceAccount") != 0))
			return -EINVAL;
		s->kind = strdup(kind);
		s->name = strdup(sname);
		s->ns = dup_or_null(ystr(d, sn, "namespace"));
		if (!s->kind || !s->name)
			return -ENOMEM;
	}
	return 0;
}

static int rbac_doc(yaml_document_t *d, yaml_node_t *root, struct rbac *rb)
{
	const char *kind = ystr(d, root, "kind"), *av = ystr(d, root, "apiVersion");
	bool rbac_kind;

	if (root->type != YAML_MAPPING_NODE || !kind)
		return -EINVAL;
	rbac_kind = strcmp(kind, "Role") == 0 || strcmp(kind, "ClusterRole") == 0 ||
		    strcmp(kind, "RoleBinding") == 0 || strcmp(kind, "ClusterRoleBinding") == 0;
	if (!rbac_kind)
		return 0; /* ServiceAccount and the like */
	if (!streq(av, "rbac.authorization.k8s.io/v1"))
		return -EINVAL;
	if (strcmp(kind, "Role") == 0 || strcmp(kind, "ClusterRole") == 0)
		return parse_role(d, root, kind[0] == 'C', rb);
	return parse_binding(d, root, kind[0] == 'C', rb);
}

static int rbac_load(const char *path, struct rbac *ret)
{
	struct rbac rb = { 0 };
	yaml_parser_t p;
	FILE *fp = fopen(path, "re");
	int r = 0;

	if (!fp)
		return -ENOENT;
	if (!yaml_parser_initialize(&p)) {
		fclose(fp);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&p, fp);
	for (;;) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&p, &doc)) {
			r = -EINVAL;
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (root)
			r = rbac_doc(&doc, root, &rb);
		yaml_document_delete(&doc);
		if (!root || r < 0)
			break;
	}
	yaml_parser_delete(&p);
	fclose(fp);
	if (r < 0) {
		rbac_free(&rb);
		return r;
	}
	*ret = rb;
	return 0;
}

/* What a request asks: authorizer.Attributes. */
struct attrs {
	const char *user;
	bool resource_req;
	const char *verb, *group, *resource, *sub, *ns, *name, *path;
};

static bool rule_allows(const struct rule *ru, const struct attrs *a)
{
	char combined[256];

	if (!strv_has(&ru->verbs, a->verb, true))
		return false;
	if (!a->resource_req) {
		for (size_t i = 0; i < ru->urls.n; i++) {
			const char *u = ru->urls.v[i];
			size_t n = strlen(u);

			if (strcmp(u, "*") == 0 || strcmp(u, a->path) == 0 ||
			    (n && u[n - 1] == '*' && strncmp(u, a->path, n - 1) == 0))
				return true;
		}
		return false;
	}
	if (!strv_has(&ru->groups, a->group, true))
		return false;
	snprintf(combined, sizeof(combined), "%s%s%s", a->resource, a->sub[0] ? "/" : "", a->sub);
	for (size_t i = 0; i < ru->resources.n; i++) {
		const char *r = ru->resources.v[i];

		if (strcmp(r, "*") == 0 || strcmp(r, combined) == 0 ||
		    (a->sub[0] && strncmp(r, "*/", 2) == 0 && strcmp(r + 2, a->sub) == 0))
			goto resource_ok;
	}
	return false;
resource_ok:
	return ru->names.n == 0 || strv_has(&ru->names, a->name, false);
}

/* The service account namespace of user "system:serviceaccount:NS:NAME", or NULL. */
static bool sa_of(const char *user, char *ns, size_t size)
{
	static const char prefix[] = "system:serviceaccount:";
	const char *p, *colon;

	if (strncmp(user, prefix, sizeof(prefix) - 1) != 0)
		return false;
	p = user + sizeof(prefix) - 1;
	colon = strchr(p, ':');
	if (!colon || colon == p || !colon[1] || (size_t)(colon - p) >= size)
		return false;
	snprintf(ns, size, "%.*s", (int)(colon - p), p);
	return true;
}

/* appliesToUser: ns is the RoleBinding's namespace ("" for a ClusterRoleBinding). */
static bool subject_applies(const struct subject *s, const char *user, const char *ns)
{
	char sans[256] = "", want[600];
	bool sa = sa_of(user, sans, sizeof(sans));

	if (strcmp(s->kind, "User") == 0)
		return strcmp(s->name, user) == 0;
	if (strcmp(s->kind, "Group") == 0) {
		snprintf(want, sizeof(want), "system:serviceaccounts:%s", sans);
		return strcmp(s->name, "system:authenticated") == 0 ||
		       (sa && (strcmp(s->name, "system:serviceaccounts") == 0 ||
			       strcmp(s->name, want) == 0));
	}
	if (!s->ns && !ns[0])
		return false;
	snprintf(want, sizeof(want), "system:serviceaccount:%s:%s", s->ns ? s->ns : ns, s->name);
	return strcmp(want, user) == 0;
}

static const struct role *find_role(const struct rbac *rb, bool cluster, const char *ns,
				    const char *name)
{
	for (size_t i = 0; i < rb->nroles; i++) {
		const struct role *ro = &rb->roles[i];

		if (ro->cluster == cluster && strcmp(ro->name, name) == 0 &&
		    (cluster || strcmp(ro->ns, ns) == 0))
			return ro;
	}
	return NULL;
}

static void describe(char *buf, size_t size, const struct binding *b, const struct subject *s)
{
	char who[600];

	if (strcmp(s->kind, "ServiceAccount") == 0)
		snprintf(who, sizeof(who), "ServiceAccount \"%s/%s\"", s->name,
			 s->ns ? s->ns : (b->ns ? b->ns : ""));
	else
		snprintf(who, sizeof(who), "%s \"%s\"", s->kind, s->name);
	if (b->cluster)
		snprintf(buf, size, "RBAC: allowed by ClusterRoleBinding \"%s\" of %s \"%s\" to %s",
			 b->name, b->role_kind, b->role_name, who);
	else
		snprintf(buf, size, "RBAC: allowed by RoleBinding \"%s/%s\" of %s \"%s\" to %s",
			 b->name, b->ns, b->role_kind, b->role_name, who);
}

static bool binding_allows(const struct rbac *rb, const struct binding *b, const struct attrs *a,
			   char *reason, size_t rsize)
{
	const struct role *ro;

	for (size_t i = 0; i < b->n; i++) {
		if (!subject_applies(&b->subj[i], a->user, b->cluster ? "" : b->ns))
			continue;
		/* appliesTo stops at the first subject that applies */
		ro = find_role(rb, strcmp(b->role_kind, "ClusterRole") == 0, b->ns, b->role_name);
		for (size_t j = 0; ro && j < ro->n; j++) {
			if (rule_allows(&ro->rules[j], a)) {
				describe(reason, rsize, b, &b->subj[i]);
				return true;
			}
		}
		return false;
	}
	return false;
}

static bool rbac_allows(const struct rbac *rb, const struct attrs *a, char *reason, size_t rsize)
{
	for (size_t i = 0; i < rb->nbinds; i++)
		if (rb->binds[i].cluster && binding_allows(rb, &rb->binds[i], a, reason, rsize))
			return true;
	if (!a->ns[0])
		return false;
	for (size_t i = 0; i < rb->nbinds; i++)
		if (!rb->binds[i].cluster && strcmp(rb->binds[i].ns, a->ns) == 0 &&
		    binding_allows(rb, &rb->binds[i], a, reason, rsize))
			return true;
	return false;
}

/* ---- label selectors -------------------------------------------------------------------
 * labels.Parse: its lexer, its recursive descent and NewRequirement's checks, with the
 * same error texts. */

enum tok {
	T_ERR,
	T_END,
	T_ID,
	T_IN,
	T_NOTIN,
	T_EQ,
	T_DEQ,
	T_NE,
	T_NOT,
	T_GT,
	T_LT,
	T_LP,
	T_RP,
	T_COMMA
};

enum op { OP_IN, OP_NOTIN, OP_EQ, OP_NE, OP_EXISTS, OP_NOTEXISTS, OP_GT, OP_LT };

struct item {
	enum tok t;
	char *lit;
};

struct lreq {
	char *key;
	enum op op;
	struct strv vals;
};

struct lsel {
	struct lreq *r;
	size_t n;
};

struct parser {
	struct item *it;
	size_t n, pos;
	char err[1024];
};

static const struct {
	const char *s;
	enum tok t;
} tokens[] = {
	{ ")", T_RP },	{ ",", T_COMMA },     { "!", T_NOT }, { "==", T_DEQ },
	{ "=", T_EQ },	{ ">", T_GT },	      { "in", T_IN }, { "<", T_LT },
	{ "!=", T_NE }, { "notin", T_NOTIN }, { "(", T_LP },
};

static enum tok token_of(const char *s)
{
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strcmp(tokens[i].s, s) == 0)
			return tokens[i].t;
	return T_ERR;
}

static bool special(char c)
{
	return c && strchr("=!(),><", c);
}

static int lex(const char *s, struct parser *p)
{
	size_t i = 0;

	for (;;) {
		struct item *it, *grown;
		char buf[1024];
		size_t n = 0;
		enum tok t;

		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			i++;
		if (!s[i]) {
			t = T_END;
		} else if (special(s[i])) {
			enum tok last = T_ERR;
			size_t last_n = 0;

			/* the longest run of symbols that is an operator */
			while (special(s[i + n]) && n < sizeof(buf) - 1) {
				buf[n] = s[i + n];
				buf[n + 1] = '\0';
				n++;
				if (token_of(buf) != T_ERR) {
					last = token_of(buf);
					last_n = n;
				} else if (last != T_ERR) {
					break;
				}
			}
			if (last == T_ERR) {
				buf[n] = '\0';
				t = T_ERR;
				snprintf(p->err, sizeof(p->err),
					 "error expected: keyword found '%.512s'", buf);
				i += n;
			} else {
				n = last_n;
				buf[n] = '\0';
				t = last;
				i += n;
			}
		} else {
			while (s[i + n] && !special(s[i + n]) && !strchr(" \t\r\n", s[i + n]) &&
			       n < sizeof(buf) - 1) {
				buf[n] = s[i + n];
				n++;
			}
			buf[n] = '\0';
			i += n;
			t = token_of(buf);
			if (t != T_IN && t != T_NOTIN)
				t = T_ID;
		}
		grown = realloc(p->it, (p->n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		p->it = grown;
		it = &p->it[p->n++];
		it->t = t;
		it->lit = strdup(t == T_END ? "" : (t == T_ERR ? p->err : buf));
		if (!it->lit)
			return -ENOMEM;
		if (t == T_END)
			return 0;
	}
}

/* lookahead/consume: in a list of values, "in" and "notin" are identifiers. */
static enum tok peek(struct parser *p, bool values, const char **lit)
{
	struct item *it = &p->it[p->pos < p->n ? p->pos : p->n - 1];

	*lit = it->lit;
	if (values && (it->t == T_IN || it->t == T_NOTIN))
		return T_ID;
	return it->t;
}

static enum tok take(struct parser *p, bool values, const char **lit)
{
	enum tok t = peek(p, values, lit);

	if (p->pos < p->n - 1)
		p->pos++;
	return t;
}

static bool label_key_ok(struct parser *p, const char *key)
{
	char msg[900];

	if (qualified_name(key, msg, sizeof(msg)))
		return true;
	snprintf(p->err, sizeof(p->err), "key: Invalid value: \"%s\": %s", key, msg);
	return false;
}

/* NewRequirement's checks. */
static bool requirement_ok(struct parser *p, const struct lreq *r)
{
	char msg[900];
	long long v;

	if (!label_key_ok(p, r->key))
		return false;
	switch (r->op) {
	case OP_IN:
	case OP_NOTIN:
		if (r->vals.n == 0) {
			snprintf(
				p->err, sizeof(p->err),
				"values: Invalid value: []: for 'in', 'notin' operators, values "
				"set can't be empty");
			return false;
		}
		break;
	case OP_EQ:
	case OP_NE:
		if (r->vals.n != 1) {
			snprintf(
				p->err, sizeof(p->err),
				"values: Invalid value: []: exact-match compatibility requires one "
				"single value");
			return false;
		}
		break;
	case OP_EXISTS:
	case OP_NOTEXISTS:
		break;
	case OP_GT:
	case OP_LT:
		if (r->vals.n != 1 || !parse_i64(r->vals.v[0], &v)) {
			snprintf(
				p->err, sizeof(p->err),
				"values[0]: Invalid value: \"%s\": for 'Gt', 'Lt' operators, the "
				"value must be an integer",
				r->vals.n ? r->vals.v[0] : "");
			return false;
		}
		break;
	}
	for (size_t i = 0; i < r->vals.n; i++) {
		if (!label_value(r->vals.v[i], msg, sizeof(msg))) {
			snprintf(p->err, sizeof(p->err),
				 "values[%zu][%s]: Invalid value: \"%s\": %s", i, r->key,
				 r->vals.v[i], msg);
			return false;
		}
	}
	return true;
}

static bool parse_values(struct parser *p, struct strv *vals)
{
	const char *lit, *lit2;
	enum tok t = take(p, true, &lit);

	if (t != T_LP) {
		snprintf(p->err, sizeof(p->err), "found '%s' expected: '('", lit);
		return false;
	}
	t = peek(p, true, &lit);
	if (t == T_RP) {
		take(p, true, &lit);
		return strv_add(vals, "") == 0;
	}
	if (t != T_ID && t != T_COMMA) {
		snprintf(p->err, sizeof(p->err), "found '%s', expected: ',', ')' or identifier",
			 lit);
		return false;
	}
	for (;;) {
		t = take(p, true, &lit2);
		if (t == T_ID) {
			if (!strv_has(vals, lit2, false) && strv_add(vals, lit2) < 0)
				return false;
			t = peek(p, true, &lit2);
			if (t == T_COMMA)
				continue;
			if (t == T_RP)
				break;
			snprintf(p->err, sizeof(p->err), "found '%s', expected: ',' or ')'", lit2);
			return false;
		} else if (t == T_COMMA) {
			/* "(,", ",)" and ",," hold the empty value */
			bool empty = vals->n == 0;

			t = peek(p, true, &lit2);
			empty = empty || t == T_RP || t == T_COMMA;
			if (empty && !strv_has(vals, "", false) && strv_add(vals, "") < 0)
				return false;
			if (t == T_RP)
				break;
		} else {
			snprintf(p->err, sizeof(p->err), "found '%s', expected: ',', or identifier",
				 lit2);
			return false;
		}
	}
	if (take(p, true, &lit2) != T_RP) {
		snprintf(p->err, sizeof(p->err), "found '%s', expected: ')'", lit);
		return false;
	}
	return true;
}

static const struct {
	enum tok t;
	enum op op;
} binary_ops[] = {
	{ T_IN, OP_IN }, { T_NOTIN, OP_NOTIN }, { T_EQ, OP_EQ }, { T_DEQ, OP_EQ },
	{ T_NE, OP_NE }, { T_GT, OP_GT },	{ T_LT, OP_LT },
};

static bool parse_requirement(struct parser *p, struct lreq *r)
{
	const char *lit;
	enum tok t = take(p, true, &lit);
	bool not = false;

	if (t == T_NOT) {
		not = true;
		t = take(p, true, &lit);
	}
	if (t != T_ID) {
		snprintf(p->err, sizeof(p->err), "found '%s', expected: identifier", lit);
		return false;
	}
	if (!label_key_ok(p, lit))
		return false;
	r->key = strdup(lit);
	if (!r->key)
		return false;
	t = peek(p, true, &lit);
	if (not || t == T_END || t == T_COMMA) {
		r->op = not ? OP_NOTEXISTS : OP_EXISTS;
		return requirement_ok(p, r);
	}
	t = take(p, false, &lit);
	for (size_t i = 0; i < sizeof(binary_ops) / sizeof(binary_ops[0]); i++)
		if (binary_ops[i].t == t)
			r->op = binary_ops[i].op;
	if (t != T_IN && t != T_NOTIN && t != T_EQ && t != T_DEQ && t != T_NE && t != T_GT &&
	    t != T_LT) {
		snprintf(p->err, sizeof(p->err),
			 "found '%s', expected: in, notin, =, ==, !=, gt, lt", lit);
		return false;
	}
	if (r->op == OP_IN || r->op == OP_NOTIN) {
		if (!parse_values(p, &r->vals))
			return false;
	} else {
		t = peek(p, true, &lit);
		if (t == T_END || t == T_COMMA) {
			if (strv_add(&r->vals, "") < 0)
				return false;
		} else if (take(p, true, &lit) == T_ID) {
			if (strv_add(&r->vals, lit) < 0)
				return false;
		} else {
			snprintf(p->err, sizeof(p->err), "found '%s', expected: identifier", lit);
			return false;
		}
	}
	return requirement_ok(p, r);
}

static void lsel_free(struct lsel *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->r[i].key);
		strv_free(&s->r[i].vals);
	}
	free(s->r);
	*s = (struct lsel){ 0 };
}

/* 0, or -EINVAL with the parser's message in err. */
static int lsel_parse(const char *s, struct lsel *ret, char *err, size_t esz)
{
	struct parser p = { 0 };
	struct lsel sel = { 0 };
	const char *lit;
	int r = -EINVAL;

	if (lex(s, &p) < 0) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		enum tok t = peek(&p, true, &lit);
		struct lreq *grown;

		if (t == T_END)
			break;
		if (t != T_ID && t != T_NOT) {
			snprintf(err, esz,
				 "found '%s', expected: !, identifier, or 'end of string'", lit);
			goto out;
		}
		grown = realloc(sel.r, (sel.n + 1) * sizeof(*grown));
		if (!grown) {
			r = -ENOMEM;
			goto out;
		}
		sel.r = grown;
		sel.r[sel.n] = (struct lreq){ 0 };
		if (!parse_requirement(&p, &sel.r[sel.n++])) {
			snprintf(err, esz, "unable to parse requirement: %s", p.err);
			goto out;
		}
		t = take(&p, true, &lit);
		if (t == T_END)
			break;
		if (t != T_COMMA) {
			snprintf(err, esz, "found '%s', expected: ',' or 'end of string'", lit);
			goto out;
		}
		t = peek(&p, true, &lit);
		if (t != T_ID && t != T_NOT) {
			snprintf(err, esz, "found '%s', expected: identifier after ','", lit);
			goto out;
		}
	}
	*ret = sel;
	sel = (struct lsel){ 0 };
	r = 0;
out:
	for (size_t i = 0; i < p.n; i++)
		free(p.it[i].lit);
	free(p.it);
	lsel_free(&sel);
	return r;
}

static bool lsel_match(const struct lsel *s, const cJSON *labels)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct lreq *r = &s->r[i];
		const char *v = json_str(labels, r->key);
		long long a, b;

		switch (r->op) {
		case OP_IN:
		case OP_EQ:
			if (!v || !strv_has(&r->vals, v, false))
				return false;
			break;
		case OP_NOTIN:
		case OP_NE:
			if (v && strv_has(&r->vals, v, false))
				return false;
			break;
		case OP_EXISTS:
			if (!v)
				return false;
			break;
		case OP_NOTEXISTS:
			if (v)
				return false;
			break;
		case OP_GT:
		case OP_LT:
			if (!v || !parse_i64(v, &a) || !parse_i64(r->vals.v[0], &b) ||
			    (r->op == OP_GT ? !(a > b) : !(a < b)))
				return false;
			break;
		}
	}
	return true;
}

/* ---- field selectors -------------------------------------------------------------------
 * fields.ParseSelector's terms (=, ==, !=; backslash escapes), against the field labels each
 * kind's conversion accepts. */

struct fterm {
	char *key, *val;
	bool ne;
};

struct fsel {
	struct fterm *t;
	size_t n;
};

static const char *const pod_fields[] = { "metadata.name",
					  "metadata.namespace",
					  "spec.nodeName",
					  "spec.restartPolicy",
					  "spec.schedulerName",
					  "spec.serviceAccountName",
					  "spec.hostNetwork",
					  "status.phase",
					  "status.podIP",
					  "status.nominatedNodeName",
					  NULL };
static const char *const node_fields[] = { "metadata.name", "spec.unschedulable", NULL };
static const char *const meta_fields[] = { "metadata.name", "metadata.namespace", NULL };

static void fsel_free(struct fsel *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->t[i].key);
		free(s->t[i].val);
	}
	free(s->t);
	*s = (struct fsel){ 0 };
}

static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int fsel_parse(int res, const char *s, struct fsel *ret, char *err, size_t esz)
{
	const char *const *allowed = res == R_PODS    ? pod_fields
				     : res == R_NODES ? node_fields
						      : meta_fields;
	struct fsel sel = { 0 };
	const char *p = s;
	int r = -EINVAL;

	while (*s && *p) {
		const char *end = p, *op = NULL;
		size_t oplen = 0;
		struct fterm *grown, *t;
		bool ok = false;
		char term[1024];

		while (*end && *end != ',') {
			if (*end == '\\' && end[1])
				end++;
			end++;
		}
		snprintf(term, sizeof(term), "%.*s", (int)(end - p), p);
		for (const char *q = term; *q && !op; q++) {
			if (strncmp(q, "!=", 2) == 0 || strncmp(q, "==", 2) == 0)
				oplen = 2;
			else if (*q == '=')
				oplen = 1;
			if (oplen)
				op = q;
		}
		if (!op) {
			snprintf(err, esz, "invalid selector: '%s'; can't understand '%s'", s,
				 term);
			goto out;
		}
		grown = realloc(sel.t, (sel.n + 1) * sizeof(*grown));
		if (!grown) {
			r = -ENOMEM;
			goto out;
		}
		sel.t = grown;
		t = &sel.t[sel.n++];
		*t = (struct fterm){ unescape(term, (size_t)(op - term)),
				     unescape(op + oplen, strlen(op + oplen)), op[0] == '!' };
		if (!t->key || !t->val) {
			r = -ENOMEM;
			goto out;
		}
		if (strcmp(t->key, "spec.host") == 0 && res == R_PODS) {
			free(t->key);
			t->key = strdup("spec.nodeName");
			if (!t->key) {
				r = -ENOMEM;
				goto out;
			}
		}
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || strcmp(allowed[i], t->key) == 0;
		if (!ok) {
			snprintf(err, esz, "field label not supported: %s", t->key);
			goto out;
		}
		p = *end ? end + 1 : end;
	}
	*ret = sel;
	sel = (struct fsel){ 0 };
	r = 0;
out:
	fsel_free(&sel);
	return r;
}

/* The value of a dotted field path as a field selector sees it: "" when absent, except
 * for the booleans, "false". */
static void field_value(const cJSON *obj, const char *path, char *buf, size_t size)
{
	const cJSON *j = obj;
	const char *p = path;
	char key[256];

	buf[0] = '\0';
	while (j && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		j = cJSON_GetObjectItemCaseSensitive(j, key);
		p += n + (dot ? 1 : 0);
	}
	if (cJSON_IsString(j))
		test_copy_str(buf, size, j->valuestring);
	else if (cJSON_IsBool(j) || strcmp(path, "spec.unschedulable") == 0 ||
		 strcmp(path, "spec.hostNetwork") == 0)
		test_copy_str(buf, size, cJSON_IsTrue(j) ? "true" : "false");
}

static bool fsel_match(const struct fsel *s, const cJSON *obj)
{
	char v[1024];

	for (size_t i = 0; i < s->n; i++) {
		field_value(obj, s->t[i].key, v, sizeof(v));
		if ((strcmp(v, s->t[i].val) == 0) == s->t[i].ne)
			return false;
	}
	return true;
}

/* ---- the server's state ----------------------------------------------------------------*/

enum { EV_ADDED = 1, EV_MODIFIED, EV_DELETED };
static const char *const ev_names[] = { "", "ADDED", "MODIFIED", "DELETED" };

struct obj {
	int res;
	char *ns, *name; /* ns "" for cluster-scoped objects */
	cJSON *j;	 /* the object as served, kind and apiVersion included */
};

/* One change: the object before (MODIFIED) and after (the final state for DELETED). */
struct hev {
	uint64_t rv;
	int type;
	cJSON *old, *cur;
};

struct hist {
	struct hev *ev;
	size_t cap, first, n;
	uint64_t floor; /* newest resourceVersion forgotten */
};

struct token {
	char *token, *user;
};

struct fault {
	char *match;
	int left, code, retry_after;
	long delay_ms;
};

struct kube_fake {
	struct MHD_Daemon *d;
	uint16_t port;
	char url[64];
	bool tls;
	char *ca_cert, *ca_key, *srv_cert, *srv_key;
	struct rbac rbac;
	size_t history;
	long bookmark_ms;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
	bool stopping, keda;
	uint64_t rv;
	struct obj **objs;
	size_t nobjs, capobjs;
	struct hist hist[R_N];
	unsigned bm_gen, drop_gen;
	int watches;
	struct token tokens[MAX_TOKENS];
	size_t ntokens;
	kube_fake_token_fn *token_fn; /* the webhook authenticator */
	void *token_ud;
	struct strv admins;
	struct fault faults[MAX_FAULTS];
	size_t nfaults;
	struct kube_fake_call **calls; /* a ring of KUBE_FAKE_MAX_CALLS */
	size_t ncalls, firstcall;
};

static struct obj *find_obj(kube_fake_t *f, int res, const char *ns, const char *name)
{
	for (size_t i = 0; i < f->nobjs; i++) {
		struct obj *o = f->objs[i];

		if (o->res == res && strcmp(o->ns, ns) == 0 && strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static void hist_push(kube_fake_t *f, int res, int type, uint64_t rv, cJSON *old, cJSON *cur)
{
	struct hist *h = &f->hist[res];
	struct hev *e;

	if (h->n == h->cap) {
		e = &h->ev[h->first];
		h->floor = e->rv;
		cJSON_Delete(e->old);
		cJSON_Delete(e->cur);
		h->first = (h->first + 1) % h->cap;
		h->n--;
	}
	e = &h->ev[(h->first + h->n) % h->cap];
	*e = (struct hev){ rv, type, old, cur };
	h->n++;
}

static void hist_clear(struct hist *h, uint64_t floor)
{
	for (size_t i = 0; i < h->n; i++) {
		struct hev *e = &h->ev[(h->first + i) % h->cap];

		cJSON_Delete(e->old);
		cJSON_Delete(e->cur);
	}
	h->first = h->n = 0;
	h->floor = floor;
}

static const char *meta_str(const cJSON *j, const char *key)
{
	return json_str(cJSON_GetObjectItemCaseSensitive(j, "metadata"), key);
}

static void set_rv(cJSON *j, uint64_t rv)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, rv);
	json_set(json_child(j, "metadata"), "resourceVersion", cJSON_CreateString(buf));
}

/* Stores j (taken; kind, apiVersion and metadata name/namespace already right) as an object
 * of res: the next resourceVersion, a uid and creationTimestamp (kept from the object it
 * replaces), metadata.generation bumped when the spec changed; the watches are told.
 * Returns the stored tree (f's) or NULL on OOM. Under lock. */
static cJSON *store_put(kube_fake_t *f, int res, cJSON *j)
{
	const char *ns = resdefs[res].namespaced ? meta_str(j, "namespace") : "";
	const char *name = meta_str(j, "name"), *keep;
	struct obj *o = find_obj(f, res, ns ? ns : "", name ? name : "");
	cJSON *meta = json_child(j, "metadata"), *cur;
	char uid[37], ts[32];
	long long gen = 1;

	if (!name || !meta)
		goto oom;
	keep = o ? meta_str(o->j, "uid") : NULL;
	if (!keep)
		make_uid(uid);
	json_set(meta, "uid", cJSON_CreateString(keep ? keep : uid));
	keep = o ? meta_str(o->j, "creationTimestamp") : NULL;
	if (!keep)
		now_time(ts);
	json_set(meta, "creationTimestamp", cJSON_CreateString(keep ? keep : ts));
	if (res == R_DEPLOYMENTS) {
		const cJSON *og = o ? cJSON_GetObjectItemCaseSensitive(json_obj(o->j, "metadata"),
								       "generation")
				    : NULL;

		if (og && json_int(og, 0, LLONG_MAX, &gen) &&
		    !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(o->j, "spec"),
				   cJSON_GetObjectItemCaseSensitive(j, "spec"), true))
			gen++;
		json_set(meta, "generation", cJSON_CreateNumber((double)gen));
	}
	set_rv(j, f->rv + 1);
	cur = cJSON_Duplicate(j, true);
	if (!cur)
		goto oom;
	if (!o) {
		if (f->nobjs == f->capobjs) {
			size_t cap = f->capobjs ? f->capobjs * 2 : 64;
			struct obj **objs = realloc(f->objs, cap * sizeof(*objs));

			if (!objs)
				goto oom_cur;
			f->objs = objs;
			f->capobjs = cap;
		}
		o = calloc(1, sizeof(*o));
		if (!o || !(o->ns = strdup(ns ? ns : "")) || !(o->name = strdup(name))) {
			if (o)
				free(o->ns);
			free(o);
			goto oom_cur;
		}
		o->res = res;
		f->objs[f->nobjs++] = o;
		hist_push(f, res, EV_ADDED, ++f->rv, NULL, cur);
	} else {
		hist_push(f, res, EV_MODIFIED, ++f->rv, o->j, cur);
	}
	o->j = j;
	pthread_cond_broadcast(&f->cond);
	return j;
oom_cur:
	cJSON_Delete(cur);
oom:
	cJSON_Delete(j);
	return NULL;
}

/* Under lock. */
static void store_delete(kube_fake_t *f, struct obj *o)
{
	for (size_t i = 0; i < f->nobjs; i++) {
		if (f->objs[i] == o) {
			f->objs[i] = f->objs[--f->nobjs];
			break;
		}
	}
	set_rv(o->j, ++f->rv);
	hist_push(f, o->res, EV_DELETED, f->rv, NULL, o->j);
	free(o->ns);
	free(o->name);
	free(o);
	pthread_cond_broadcast(&f->cond);
}

static int cmp_obj(const void *a, const void *b)
{
	const struct obj *x = *(struct obj *const *)a, *y = *(struct obj *const *)b;
	int c = strcmp(x->ns, y->ns);

	return c ? c : strcmp(x->name, y->name);
}

/* The objects of res in ns (NULL: all) matching the selectors, sorted like etcd's keys.
 * Returns a malloc'd array (the objects are f's) or NULL with *n 0. Under lock. */
static struct obj **select_objs(kube_fake_t *f, int res, const char *ns, const struct lsel *ls,
				const struct fsel *fs, size_t *n)
{
	struct obj **v = malloc((f->nobjs + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < f->nobjs; i++) {
		struct obj *o = f->objs[i];

		if (o->res != res || (ns && strcmp(o->ns, ns) != 0))
			continue;
		if (ls && !lsel_match(ls, json_obj(json_obj(o->j, "metadata"), "labels")))
			continue;
		if (fs && !fsel_match(fs, o->j))
			continue;
		v[(*n)++] = o;
	}
	qsort(v, *n, sizeof(*v), cmp_obj);
	return v;
}

/* An item of a list: built-in kinds carry no kind/apiVersion there. */
static cJSON *list_item(int res, const cJSON *j)
{
	cJSON *d = cJSON_Duplicate(j, true);

	if (d && !resdefs[res].crd) {
		cJSON_DeleteItemFromObjectCaseSensitive(d, "kind");
		cJSON_DeleteItemFromObjectCaseSensitive(d, "apiVersion");
	}
	return d;
}

/* ---- watches ---------------------------------------------------------------------------*/

struct watch {
	kube_fake_t *f;
	int res;
	char *ns; /* NULL: every namespace */
	struct lsel ls;
	struct fsel fs;
	bool bookmarks, ending;
	uint64_t last_rv;   /* every change up to it was considered */
	long long deadline; /* monotonic ms */
	int fd;             /* the connection's socket, to notice the client leaving */
	long long next_bm;
	unsigned bm_gen, drop_gen;
	struct sbuf out; /* lines not yet handed to libmicrohttpd */
	size_t off;
};

static bool watch_matches(const struct watch *w, const cJSON *j)
{
	const char *ns = resdefs[w->res].namespaced ? meta_str(j, "namespace") : "";

	if (!j || (w->ns && !streq(w->ns, ns)))
		return false;
	return lsel_match(&w->ls, json_obj(json_obj(j, "metadata"), "labels")) &&
	       fsel_match(&w->fs, j);
}

static void watch_line(struct watch *w, const char *type, const cJSON *obj)
{
	char *s = json_print(obj);

	if (!s) {
		w->out.oom = true;
		return;
	}
	sb_printf(&w->out, "{\"type\":\"%s\",\"object\":%s}\n", type, s);
	free(s);
}

static void watch_status_line(struct watch *w, int code, const char *reason, const char *msg)
{
	char *s = status_body(code, reason, msg, NULL);

	if (!s) {
		w->out.oom = true;
		return;
	}
	sb_printf(&w->out, "{\"type\":\"ERROR\",\"object\":%s}\n", s);
	free(s);
}

static void watch_expired(struct watch *w, uint64_t rv, uint64_t floor)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "too old resource version: %" PRIu64 " (%" PRIu64 ")", rv,
		 floor);
	watch_status_line(w, 410, "Expired", msg);
	w->ending = true;
}

/* Turns change e into what this watch sees (the watch cache's convertToWatchEvent): a
 * change that makes the object match is ADDED, one that makes it stop matching is DELETED
 * with the previous content at the change's resourceVersion. */
static void watch_event(struct watch *w, const struct hev *e)
{
	bool cur = watch_matches(w, e->cur), old;
	cJSON *prev;

	if (e->type != EV_MODIFIED) {
		if (cur)
			watch_line(w, ev_names[e->type], e->cur);
		return;
	}
	old = watch_matches(w, e->old);
	if (cur) {
		watch_line(w, old ? "MODIFIED" : "ADDED", e->cur);
	} else if (old) {
		prev = cJSON_Duplicate(e->old, true);
		if (!prev) {
			w->out.oom = true;
			return;
		}
		set_rv(prev, e->rv);
		watch_line(w, "DELETED", prev);
		cJSON_Delete(prev);
	}
}

/* The client closed its end (or the connection broke). */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Fills w->out with the next line(s), waiting for them. 0: data, 1: clean end, -1: abort.
 * Under lock. */
static int watch_next(struct watch *w)
{
	kube_fake_t *f = w->f;
	const struct hist *h = &f->hist[w->res];
	struct timespec ts;
	long long now, wake;

	for (;;) {
		if (f->stopping || w->drop_gen != f->drop_gen)
			return -1;
		if (w->last_rv < h->floor) {
			/* the history moved past a change this watch had not sent yet */
			watch_expired(w, w->last_rv, h->floor);
			return 0;
		}
		for (size_t i = 0; i < h->n; i++) {
			const struct hev *e = &h->ev[(h->first + i) % h->cap];

			if (e->rv <= w->last_rv)
				continue;
			w->last_rv = e->rv;
			watch_event(w, e);
			if (w->out.len || w->out.oom)
				return 0;
		}
		now = test_mono_ms();
		if (w->bookmarks &&
		    (w->bm_gen != f->bm_gen || (f->bookmark_ms > 0 && now >= w->next_bm))) {
			cJSON *bm = cJSON_CreateObject();

			w->bm_gen = f->bm_gen;
			w->next_bm = now + f->bookmark_ms;
			if (w->last_rv < f->rv)
				w->last_rv = f->rv;
			cJSON_AddStringToObject(bm, "kind", resdefs[w->res].kind);
			cJSON_AddStringToObject(bm, "apiVersion", resdefs[w->res].api_version);
			set_rv(bm, w->last_rv);
			watch_line(w, "BOOKMARK", bm);
			cJSON_Delete(bm);
			return 0;
		}
		if (now >= w->deadline)
			return 1;
		if (peer_gone(w->fd))
			return -1;
		/* Nothing tells a blocked stream that its client left but its socket: look at it
		 * every PEER_CHECK_MS, so that kube_fake_watch_count() soon stops counting it. */
		wake = now + PEER_CHECK_MS;
		if (w->deadline < wake)
			wake = w->deadline;
		if (w->bookmarks && f->bookmark_ms > 0 && w->next_bm < wake)
			wake = w->next_bm;
		deadline_ts(&ts, wake);
		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	}
}

static ssize_t watch_fill(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct watch *w = cls;
	int r;

	(void)pos;
	for (;;) {
		if (w->off < w->out.len) {
			size_t n = w->out.len - w->off < max ? w->out.len - w->off : max;

			memcpy(buf, w->out.s + w->off, n);
			w->off += n;
			return (ssize_t)n;
		}
		if (w->out.oom)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		w->out.len = w->off = 0;
		if (w->ending)
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&w->f->lock);
		r = watch_next(w);
		pthread_mutex_unlock(&w->f->lock);
		if (r < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (r > 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void watch_free(void *cls)
{
	struct watch *w = cls;
	kube_fake_t *f = w->f;

	pthread_mutex_lock(&f->lock);
	f->watches--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	free(w->ns);
	lsel_free(&w->ls);
	fsel_free(&w->fs);
	sb_free(&w->out);
	free(w);
}

/* ---- patches ---------------------------------------------------------------------------*/

/* RFC 7386 JSON merge patch: target (taken) patched, returned. */
static cJSON *merge_patch(cJSON *target, const cJSON *patch)
{
	if (!cJSON_IsObject(patch)) {
		cJSON_Delete(target);
		return cJSON_Duplicate(patch, true);
	}
	if (!cJSON_IsObject(target)) {
		cJSON_Delete(target);
		target = cJSON_CreateObject();
		if (!target)
			return NULL;
	}
	for (const cJSON *p = patch->child; p; p = p->next) {
		cJSON *cur, *merged;

		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
			continue;
		}
		cur = cJSON_DetachItemFromObjectCaseSensitive(target, p->string);
		merged = merge_patch(cur, p);
		if (!merged) {
			cJSON_Delete(target);
			return NULL;
		}
		cJSON_AddItemToObject(target, p->string, merged);
	}
	return target;
}

/* The parent of RFC 6901 pointer path in doc, and its last token (unescaped). */
static cJSON *jp_parent(cJSON *doc, const char *path, char *last, size_t size)
{
	cJSON *cur = doc;
	const char *p = path;

	if (p[0] != '/')
		return NULL;
	for (;;) {
		const char *end = strchr(p + 1, '/');
		size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1), o = 0;
		char tok[512];

		for (size_t i = 0; i < n && o < sizeof(tok) - 1; i++) {
			char c = p[1 + i];

			if (c == '~' && i + 1 < n && (p[2 + i] == '0' || p[2 + i] == '1'))
				c = p[2 + i++] == '0' ? '~' : '/';
			tok[o++] = c;
		}
		tok[o] = '\0';
		if (!end) {
			test_copy_str(last, size, tok);
			return cur;
		}
		if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		} else if (cJSON_IsArray(cur)) {
			long long i;

			cur = parse_i64(tok, &i) && i >= 0 && i < cJSON_GetArraySize(cur)
				      ? cJSON_GetArrayItem(cur, (int)i)
				      : NULL;
		} else {
			cur = NULL;
		}
		if (!cur)
			return NULL;
		p = end;
	}
}

/* RFC 6902 JSON patch (add, remove, replace, test) on doc, in place. 0 or -EINVAL with
 * the reason in err. */
static int json_patch(cJSON *doc, const cJSON *ops, char *err, size_t esz)
{
	const cJSON *op;

	cJSON_ArrayForEach(op, ops) {
		const char *kind = json_str(op, "op"), *path = json_str(op, "path");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
		cJSON *parent, *target = NULL, *copy;
		char last[512];
		long long i = -1;
		bool add = streq(kind, "add"), rm = streq(kind, "remove");
		bool replace = streq(kind, "replace"), test = streq(kind, "test");

		if (!kind || !path || (!add && !rm && !replace && !test)) {
			snprintf(err, esz, "Unexpected kind: %s", kind ? kind : "unknown");
			return -EINVAL;
		}
		if ((add || replace || test) && !value) {
			snprintf(err, esz, "%s operation does not apply: value is missing", kind);
			return -EINVAL;
		}
		parent = jp_parent(doc, path, last, sizeof(last));
		if (parent && cJSON_IsObject(parent))
			target = cJSON_GetObjectItemCaseSensitive(parent, last);
		else if (parent && cJSON_IsArray(parent) && parse_i64(last, &i) && i >= 0 &&
			 i < cJSON_GetArraySize(parent))
			target = cJSON_GetArrayItem(parent, (int)i);
		if (!parent || (!add && !target) ||
		    (add && cJSON_IsArray(parent) && strcmp(last, "-") != 0 &&
		     (!parse_i64(last, &i) || i < 0 || i > cJSON_GetArraySize(parent))) ||
		    (add && !cJSON_IsObject(parent) && !cJSON_IsArray(parent))) {
			snprintf(err, esz,
				 "%s operation does not apply: doc is missing path: \"%s\"", kind,
				 path);
			return -EINVAL;
		}
		if (test) {
			if (!cJSON_Compare(target, value, true)) {
				snprintf(err, esz, "testing value %s failed: test failed", path);
				return -EINVAL;
			}
			continue;
		}
		if (rm) {
			if (cJSON_IsObject(parent))
				cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
			else
				cJSON_DeleteItemFromArray(parent, (int)i);
			continue;
		}
		copy = cJSON_Duplicate(value, true);
		if (!copy)
			return -ENOMEM;
		if (cJSON_IsObject(parent))
			json_set(parent, last, copy);
		else if (replace)
			cJSON_ReplaceItemInArray(parent, (int)i, copy);
		else if (strcmp(last, "-") == 0 || i == cJSON_GetArraySize(parent))
			cJSON_AddItemToArray(parent, copy);
		else
			cJSON_InsertItemInArray(parent, (int)i, copy);
	}
	return 0;
}

/* ---- types and validation of the kinds -------------------------------------------------
 * check_types: what decoding into the Go type would refuse (a 400 on create and update, a
 * 422 on patch); validate: the kind's validation (422). */

static int want_string(const cJSON *o, const char *key, const char *gofield, char *err, size_t esz)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j || cJSON_IsNull(j) || cJSON_IsString(j))
		return 0;
	snprintf(err, esz, "json: cannot unmarshal %s into Go struct field %s of type string",
		 json_type_name(j), gofield);
	return -EINVAL;
}

static int want_int32(const cJSON *o, const char *key, const char *gofield, char *err, size_t esz)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	long long v;

	if (!j || cJSON_IsNull(j) || json_int(j, INT_MIN, INT_MAX, &v))
		return 0;
	snprintf(err, esz, "json: cannot unmarshal %s into Go struct field %s of type int32",
		 cJSON_IsNumber(j) ? "number" : json_type_name(j), gofield);
	return -EINVAL;
}

static int want_object(const cJSON *o, const char *key, const char *gofield, char *err, size_t esz)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j || cJSON_IsNull(j) || cJSON_IsObject(j))
		return 0;
	snprintf(err, esz, "json: cannot unmarshal %s into Go struct field %s of type object",
		 json_type_name(j), gofield);
	return -EINVAL;
}

static int want_string_map(const cJSON *o, const char *key, const char *gofield, char *err,
			   size_t esz)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key), *v;

	if (want_object(o, key, gofield, err, esz) < 0)
		return -EINVAL;
	if (!cJSON_IsObject(j))
		return 0;
	cJSON_ArrayForEach(v, j) {
		if (!cJSON_IsString(v)) {
			snprintf(err, esz,
				 "json: cannot unmarshal %s into Go struct field %s of type string",
				 json_type_name(v), gofield);
			return -EINVAL;
		}
	}
	return 0;
}

static int want_microtime(const cJSON *o, const char *key, char *err, size_t esz)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!j || cJSON_IsNull(j))
		return 0;
	if (!cJSON_IsString(j)) {
		snprintf(err, esz, "json: cannot unmarshal %s into Go value of type string",
			 json_type_name(j));
		return -EINVAL;
	}
	return parse_microtime(j->valuestring, err, esz) ? 0 : -EINVAL;
}

static int check_types(int res, const cJSON *j, char *err, size_t esz)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
	int r = 0;

	if (want_object(j, "metadata", "metadata", err, esz) < 0 ||
	    want_string(meta, "name", "ObjectMeta.metadata.name", err, esz) < 0 ||
	    want_string(meta, "namespace", "ObjectMeta.metadata.namespace", err, esz) < 0 ||
	    want_string(meta, "generateName", "ObjectMeta.metadata.generateName", err, esz) < 0 ||
	    want_string(meta, "resourceVersion", "ObjectMeta.metadata.resourceVersion", err, esz) <
		    0 ||
	    want_string_map(meta, "labels", "ObjectMeta.metadata.labels", err, esz) < 0 ||
	    want_string_map(meta, "annotations", "ObjectMeta.metadata.annotations", err, esz) < 0)
		return -EINVAL;
	switch (res) {
	case R_DEPLOYMENTS:
		r = want_object(j, "spec", "Deployment.spec", err, esz);
		if (r == 0)
			r = want_int32(spec, "replicas", "DeploymentSpec.spec.replicas", err, esz);
		break;
	case R_NODES:
		r = want_object(j, "spec", "Node.spec", err, esz);
		if (r == 0 && cJSON_GetObjectItemCaseSensitive(spec, "unschedulable") &&
		    !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(spec, "unschedulable"))) {
			snprintf(err, esz,
				 "json: cannot unmarshal %s into Go struct field "
				 "NodeSpec.spec.unschedulable of type bool",
				 json_type_name(
					 cJSON_GetObjectItemCaseSensitive(spec, "unschedulable")));
			r = -EINVAL;
		}
		break;
	case R_CONFIGMAPS:
		r = want_string_map(j, "data", "ConfigMap.data", err, esz);
		break;
	case R_LEASES:
		r = want_object(j, "spec", "Lease.spec", err, esz);
		if (r == 0)
			r = want_string(spec, "holderIdentity", "LeaseSpec.spec.holderIdentity",
					err, esz);
		if (r == 0)
			r = want_int32(spec, "leaseDurationSeconds",
				       "LeaseSpec.spec.leaseDurationSeconds", err, esz);
		if (r == 0)
			r = want_int32(spec, "leaseTransitions", "LeaseSpec.spec.leaseTransitions",
				       err, esz);
		if (r == 0)
			r = want_microtime(spec, "acquireTime", err, esz);
		if (r == 0)
			r = want_microtime(spec, "renewTime", err, esz);
		break;
	case R_EVENTS: {
		static const char *const strs[] = { "reportingController",
						    "reportingInstance",
						    "action",
						    "reason",
						    "note",
						    "type" };
		char field[64];

		for (size_t i = 0; r == 0 && i < sizeof(strs) / sizeof(strs[0]); i++) {
			snprintf(field, sizeof(field), "Event.%s", strs[i]);
			r = want_string(j, strs[i], field, err, esz);
		}
		if (r == 0)
			r = want_object(j, "regarding", "Event.regarding", err, esz);
		if (r == 0)
			r = want_object(j, "series", "Event.series", err, esz);
		if (r == 0)
			r = want_int32(json_obj(j, "series"), "count", "EventSeries.series.count",
				       err, esz);
		if (r == 0)
			r = want_int32(j, "deprecatedCount", "Event.deprecatedCount", err, esz);
		if (r == 0)
			r = want_microtime(j, "eventTime", err, esz);
		if (r == 0)
			r = want_microtime(json_obj(j, "series"), "lastObservedTime", err, esz);
		break;
	}
	default:
		break;
	}
	return r;
}

static void validate_event(const cJSON *j, struct ferrs *e)
{
	const char *ns = meta_str(j, "namespace"), *name = meta_str(j, "name");
	const char *rns = json_str(json_obj(j, "regarding"), "namespace");
	const char *ctl = json_str(j, "reportingController"),
		   *inst = json_str(j, "reportingInstance");
	const char *action = json_str(j, "action"), *reason = json_str(j, "reason");
	const char *note = json_str(j, "note"), *type = json_str(j, "type");
	const cJSON *et = cJSON_GetObjectItemCaseSensitive(j, "eventTime");
	const cJSON *series = json_obj(j, "series");
	bool has_time = et && !cJSON_IsNull(et);
	char msg[1024];
	long long count = 0;

	ns = ns ? ns : "";
	rns = rns ? rns : "";
	/* legacyValidateEvent */
	if (!has_time) {
		if ((!rns[0] && ns[0] && strcmp(ns, "default") != 0) ||
		    (rns[0] && strcmp(rns, ns) != 0))
			ferr_invalid(e, "involvedObject.namespace", rns,
				     "does not match event.namespace");
	} else {
		if (!rns[0] && strcmp(ns, "default") != 0 && strcmp(ns, "kube-system") != 0)
			ferr_invalid(e, "involvedObject.namespace", rns,
				     "does not match event.namespace");
		if (!ctl || !ctl[0])
			ferr_required(e, "reportingController", NULL);
		if (!qualified_name(ctl ? ctl : "", msg, sizeof(msg))) {
			/* one error per message, like the loop over IsQualifiedName */
			char *save = NULL;

			for (char *m = strtok_r(msg, ";", &save); m; m = strtok_r(NULL, ";", &save))
				ferr_invalid(e, "reportingController", ctl ? ctl : "",
					     m[0] == ' ' ? m + 1 : m);
		}
		if (!inst || !inst[0])
			ferr_required(e, "reportingInstance", NULL);
		else if (strlen(inst) > 128)
			ferr_invalid(e, "reportingInstance", "", "can have at most 128 characters");
		if (!action || !action[0])
			ferr_required(e, "action", NULL);
		else if (strlen(action) > 128)
			ferr_invalid(e, "action", "", "can have at most 128 characters");
		if (!reason || !reason[0])
			ferr_required(e, "reason", NULL);
		else if (strlen(reason) > 128)
			ferr_invalid(e, "reason", "", "can have at most 128 characters");
		if (note && strlen(note) > 1024)
			ferr_invalid(e, "message", "", "can have at most 1024 characters");
	}
	if (!dns1123_subdomain(ns))
		ferr_invalid(e, "namespace", ns, DNS1123_MSG);
	/* the strict events.k8s.io/v1 part of ValidateEventCreate */
	if (!name || !name[0])
		ferr_required(e, "metadata.name", "name or generateName is required");
	else if (!dns1123_subdomain(name))
		ferr_invalid(e, "metadata.name", name, DNS1123_MSG);
	if (series) {
		json_int(cJSON_GetObjectItemCaseSensitive(series, "count"), INT_MIN, INT_MAX,
			 &count);
		if (count < 2)
			ferr_invalid(e, "series.count", "", "should be at least 2");
		if (!json_str(series, "lastObservedTime"))
			ferr_required(e, "series.lastObservedTime", NULL);
	}
	if (!has_time)
		ferr_required(e, "eventTime", NULL);
	if (!streq(type, "Normal") && !streq(type, "Warning")) {
		snprintf(msg, sizeof(msg), "has invalid value: %s", type ? type : "");
		ferr_invalid(e, "type", "", msg);
	}
	if (json_str(j, "deprecatedFirstTimestamp"))
		ferr_invalid(e, "firstTimestamp", "", "needs to be unset");
	if (json_str(j, "deprecatedLastTimestamp"))
		ferr_invalid(e, "lastTimestamp", "", "needs to be unset");
	if (json_int(cJSON_GetObjectItemCaseSensitive(j, "deprecatedCount"), INT_MIN, INT_MAX,
		     &count) &&
	    count != 0)
		ferr_invalid(e, "count", "", "needs to be unset");
	if (json_str(json_obj(j, "deprecatedSource"), "component") ||
	    json_str(json_obj(j, "deprecatedSource"), "host"))
		ferr_invalid(e, "source", "", "needs to be unset");
}

static void validate(int res, const cJSON *j, struct ferrs *e)
{
	const char *name = meta_str(j, "name");
	const cJSON *spec = json_obj(j, "spec");
	long long v;

	if (res == R_EVENTS) {
		validate_event(j, e);
		return;
	}
	if (!name || !name[0])
		ferr_required(e, "metadata.name", "name or generateName is required");
	else if (!dns1123_subdomain(name))
		ferr_invalid(e, "metadata.name", name, DNS1123_MSG);
	if (res == R_LEASES) {
		if (json_int(cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds"),
			     INT_MIN, INT_MAX, &v) &&
		    v <= 0)
			ferr_invalid_int(e, "spec.leaseDurationSeconds", v,
					 "must be greater than 0");
		if (json_int(cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions"), INT_MIN,
			     INT_MAX, &v) &&
		    v < 0)
			ferr_invalid_int(e, "spec.leaseTransitions", v,
					 "must be greater than or equal to 0");
	}
	if (res == R_DEPLOYMENTS &&
	    json_int(cJSON_GetObjectItemCaseSensitive(spec, "replicas"), INT_MIN, INT_MAX, &v) &&
	    v < 0)
		ferr_invalid_int(e, "spec.replicas", v, "must be greater than or equal to 0");
}

/* ---- requests --------------------------------------------------------------------------*/

/* request.RequestInfo, as RequestInfoFactory derives it. */
struct reqinfo {
	bool resource_req, extra; /* extra: path segments after the subresource */
	char verb[24];
	char group[128], version[64], resource[128], sub[64], ns[256], name[256];
	const char *path;
};

struct ctx {
	kube_fake_t *f;
	struct MHD_Connection *c;
	const struct reqinfo *ri;
	const char *user, *content_type, *body;
	size_t len;
	struct reply *r;
};

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static void request_info(struct MHD_Connection *c, const char *url, const char *method,
			 struct reqinfo *ri)
{
	char path[2048], *parts[16], *save = NULL;
	size_t n = 0, i = 0;
	const char *w, *fs;

	memset(ri, 0, sizeof(*ri));
	ri->path = url;
	test_copy_str(path, sizeof(path), url);
	for (char *p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (n == sizeof(parts) / sizeof(parts[0])) {
			ri->extra = true;
			break;
		}
		parts[n++] = p;
	}
	if (n >= 4 && strcmp(parts[0], "apis") == 0) {
		test_copy_str(ri->group, sizeof(ri->group), parts[1]);
		test_copy_str(ri->version, sizeof(ri->version), parts[2]);
		i = 3;
	} else if (n >= 3 && strcmp(parts[0], "api") == 0) {
		test_copy_str(ri->version, sizeof(ri->version), parts[1]);
		i = 2;
	}
	if (!i) {
		/* a non-resource request: the verb is the method */
		for (size_t k = 0; method[k] && k < sizeof(ri->verb) - 1; k++)
			ri->verb[k] = (char)tolower((unsigned char)method[k]);
		return;
	}
	ri->resource_req = true;
	if (strcmp(parts[i], "namespaces") == 0 && n > i + 1) {
		test_copy_str(ri->ns, sizeof(ri->ns), parts[i + 1]);
		if (n > i + 2 && strcmp(parts[i + 2], "status") != 0 &&
		    strcmp(parts[i + 2], "finalize") != 0)
			i += 2;
	}
	test_copy_str(ri->resource, sizeof(ri->resource), parts[i]);
	if (n > i + 1)
		test_copy_str(ri->name, sizeof(ri->name), parts[i + 1]);
	if (n > i + 2)
		test_copy_str(ri->sub, sizeof(ri->sub), parts[i + 2]);
	if (n > i + 3)
		ri->extra = true;
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		test_copy_str(ri->verb, sizeof(ri->verb), "get");
		if (!ri->name[0]) {
			w = arg(c, "watch");
			test_copy_str(ri->verb, sizeof(ri->verb),
				 w && strcasecmp(w, "false") != 0 && strcmp(w, "0") != 0 ? "watch"
											 : "list");
			/* a list or watch of one name is authorized for that name */
			fs = arg(c, "fieldSelector");
			if (fs && strncmp(fs, "metadata.name=", 14) == 0 && !strchr(fs, ',') &&
			    fs[14] && fs[14] != '=')
				test_copy_str(ri->name, sizeof(ri->name), fs + 14);
		}
	} else if (strcmp(method, "POST") == 0) {
		test_copy_str(ri->verb, sizeof(ri->verb), "create");
	} else if (strcmp(method, "PUT") == 0) {
		test_copy_str(ri->verb, sizeof(ri->verb), "update");
	} else if (strcmp(method, "PATCH") == 0) {
		test_copy_str(ri->verb, sizeof(ri->verb), "patch");
	} else if (strcmp(method, "DELETE") == 0) {
		test_copy_str(ri->verb, sizeof(ri->verb),
			      ri->name[0] ? "delete" : "deletecollection");
	}
}

/* system:basic-user, bound to system:authenticated in every cluster: a user may always
 * ask what it may do (SelfSubjectAccessReview, SelfSubjectRulesReview). */
static bool default_basic_user(const struct attrs *a)
{
	return a->resource_req && strcmp(a->verb, "create") == 0 &&
	       strcmp(a->group, "authorization.k8s.io") == 0 &&
	       (strcmp(a->resource, "selfsubjectaccessreviews") == 0 ||
		strcmp(a->resource, "selfsubjectrulesreviews") == 0) &&
	       (!a->sub || !a->sub[0]);
}

/* The defaults of every cluster (system:discovery, system:public-info-viewer). */
static bool default_nonresource(const struct attrs *a)
{
	static const char *const exact[] = { "/api",	 "/apis",  "/version", "/version/",
					     "/healthz", "/livez", "/readyz",  "/openapi" };
	static const char *const prefix[] = { "/api/", "/apis/", "/openapi/" };

	if (strcmp(a->verb, "get") != 0)
		return false;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(a->path, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (strncmp(a->path, prefix[i], strlen(prefix[i])) == 0)
			return true;
	return false;
}

static bool authorize(kube_fake_t *f, const struct attrs *a, char *reason, size_t rsize)
{
	bool admin;

	pthread_mutex_lock(&f->lock);
	admin = strv_has(&f->admins, a->user, false);
	pthread_mutex_unlock(&f->lock);
	if (admin) {
		snprintf(reason, rsize,
			 "RBAC: allowed by ClusterRoleBinding \"cluster-admin\" of "
			 "ClusterRole \"cluster-admin\" to Group \"system:masters\"");
		return true;
	}
	if (rbac_allows(&f->rbac, a, reason, rsize))
		return true;
	if (default_basic_user(a)) {
		snprintf(reason, rsize,
			 "RBAC: allowed by ClusterRoleBinding \"system:basic-user\" of "
			 "ClusterRole \"system:basic-user\" to Group \"system:authenticated\"");
		return true;
	}
	if (!a->resource_req && default_nonresource(a)) {
		snprintf(reason, rsize,
			 "RBAC: allowed by ClusterRoleBinding \"system:discovery\" of "
			 "ClusterRole \"system:discovery\" to Group \"system:authenticated\"");
		return true;
	}
	reason[0] = '\0';
	return false;
}

/* 403 as the authorization filter writes it (responsewriters.Forbidden). */
static void forbidden(struct reply *r, const struct attrs *a)
{
	char qr[1024], res[1024];
	struct details d = { a->name, a->group, a->resource, 0, NULL };
	struct details none = { 0 };

	if (!a->resource_req) {
		fail(r, 403, "Forbidden", &none, "forbidden: User \"%s\" cannot %s path \"%s\"",
		     a->user, a->verb, a->path);
		return;
	}
	qualified_resource(qr, sizeof(qr), a->resource, a->group);
	snprintf(res, sizeof(res), "%.200s%s%.200s", a->resource, a->sub[0] ? "/" : "", a->sub);
	if (a->ns[0])
		fail(r, 403, "Forbidden", &d,
		     "%s%s%s%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group "
		     "\"%s\" in the namespace \"%s\"",
		     qr, a->name[0] ? " \"" : "", a->name, a->name[0] ? "\"" : "", a->user, a->verb,
		     res, a->group, a->ns);
	else
		fail(r, 403, "Forbidden", &d,
		     "%s%s%s%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group "
		     "\"%s\" at the cluster scope",
		     qr, a->name[0] ? " \"" : "", a->name, a->name[0] ? "\"" : "", a->user, a->verb,
		     res, a->group);
}

/* The body as an object of the expected kind: 400 for what cannot be decoded. */
static cJSON *decode_body(struct ctx *x, const char *api_version, const char *kind)
{
	cJSON *j = x->len ? cJSON_ParseWithLength(x->body, x->len) : NULL;
	const char *av, *k;

	if (!j) {
		fail(x->r, 400, "BadRequest", NULL,
		     "couldn't get version/kind; json parse error: %s",
		     x->len ? "invalid character looking for beginning of value"
			    : "unexpected end of JSON input");
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		fail(x->r, 400, "BadRequest", NULL,
		     "couldn't get version/kind; json parse error: json: cannot unmarshal %s into "
		     "Go value of type struct { APIVersion string "
		     "\"json:\\\"apiVersion,omitempty\\\"\"; "
		     "Kind string \"json:\\\"kind,omitempty\\\"\" }",
		     json_type_name(j));
		cJSON_Delete(j);
		return NULL;
	}
	av = json_str(j, "apiVersion");
	k = json_str(j, "kind");
	if (av && av[0] && strcmp(av, api_version) != 0) {
		fail(x->r, 400, "BadRequest", NULL,
		     "the API version in the data (%s) does not match the expected API "
		     "version (%s)",
		     av, api_version);
		cJSON_Delete(j);
		return NULL;
	}
	if (k && k[0] && strcmp(k, kind) != 0) {
		fail(x->r, 400, "BadRequest", NULL,
		     "no kind \"%s\" is registered for version \"%s\" in scheme", k, api_version);
		cJSON_Delete(j);
		return NULL;
	}
	json_set(j, "kind", cJSON_CreateString(kind));
	json_set(j, "apiVersion", cJSON_CreateString(api_version));
	return j;
}

static void conflict(struct reply *r, const struct resdef *rd, const char *name)
{
	struct details d = { name, rd->group, rd->resource, 0, NULL };
	char qr[128];

	qualified_resource(qr, sizeof(qr), rd->resource, rd->group);
	fail(r, 409, "Conflict", &d,
	     "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please "
	     "apply your changes to the latest version and try again",
	     qr, name);
}

/* A resourceVersion in the body that is not the object's: 409. */
static bool stale(struct reply *r, const struct resdef *rd, const cJSON *body, const cJSON *cur)
{
	const char *want = meta_str(body, "resourceVersion"),
		   *have = meta_str(cur, "resourceVersion");

	if (!want || !want[0] || streq(want, have))
		return false;
	conflict(r, rd, meta_str(cur, "name"));
	return true;
}

static int parse_selectors(struct ctx *x, int res, struct lsel *ls, struct fsel *fs)
{
	const char *l = arg(x->c, "labelSelector"), *fl = arg(x->c, "fieldSelector");
	char err[1200];
	int r;

	r = lsel_parse(l ? l : "", ls, err, sizeof(err));
	if (r == 0) {
		r = fsel_parse(res, fl ? fl : "", fs, err, sizeof(err));
		if (r < 0)
			lsel_free(ls);
	}
	if (r == -EINVAL)
		fail(x->r, 400, "BadRequest", NULL, "%s", err);
	else if (r < 0)
		fail(x->r, 500, "InternalError", NULL, "Internal error occurred: out of memory");
	return r;
}

static void do_get(struct ctx *x, int res)
{
	struct obj *o;

	pthread_mutex_lock(&x->f->lock);
	o = find_obj(x->f, res, x->ri->ns, x->ri->name);
	if (o)
		reply_json(x->r, 200, o->j);
	else
		not_found(x->r, &resdefs[res], x->ri->name);
	pthread_mutex_unlock(&x->f->lock);
}

static void do_list(struct ctx *x, int res)
{
	const struct resdef *rd = &resdefs[res];
	const char *rvs = arg(x->c, "resourceVersion");
	struct lsel ls = { 0 };
	struct fsel fs = { 0 };
	struct obj **v;
	size_t n;
	uint64_t rv;
	cJSON *list, *items;
	char kind[128];

	if (rvs && rvs[0] && !parse_u64(rvs, &rv)) {
		fail(x->r, 400, "BadRequest", NULL, "invalid resource version: %s", rvs);
		return;
	}
	if (parse_selectors(x, res, &ls, &fs) < 0)
		return;
	list = cJSON_CreateObject();
	snprintf(kind, sizeof(kind), "%sList", rd->kind);
	cJSON_AddStringToObject(list, "kind", kind);
	cJSON_AddStringToObject(list, "apiVersion", rd->api_version);
	pthread_mutex_lock(&x->f->lock);
	set_rv(list, x->f->rv);
	items = cJSON_AddArrayToObject(list, "items");
	v = select_objs(x->f, res, x->ri->ns[0] ? x->ri->ns : NULL, &ls, &fs, &n);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(items, list_item(res, v[i]->j));
	pthread_mutex_unlock(&x->f->lock);
	reply_json(x->r, 200, list);
	free(v);
	cJSON_Delete(list);
	lsel_free(&ls);
	fsel_free(&fs);
}

static void do_watch(struct ctx *x, int res)
{
	kube_fake_t *f = x->f;
	const char *rvs = arg(x->c, "resourceVersion"), *to = arg(x->c, "timeoutSeconds");
	struct watch *w = calloc(1, sizeof(*w));
	const union MHD_ConnectionInfo *ci;
	long long timeout = DEFAULT_WATCH_TIMEOUT_S;
	uint64_t rv = 0;
	bool initial = !rvs || !rvs[0] || strcmp(rvs, "0") == 0;

	if (!w) {
		fail(x->r, 500, "InternalError", NULL, "Internal error occurred: out of memory");
		return;
	}
	if (!initial && !parse_u64(rvs, &rv)) {
		fail(x->r, 400, "BadRequest", NULL, "invalid resource version: %s", rvs);
		free(w);
		return;
	}
	if (to && (!parse_i64(to, &timeout) || timeout < 0)) {
		fail(x->r, 400, "BadRequest", NULL, "invalid timeoutSeconds: %s", to);
		free(w);
		return;
	}
	if (parse_selectors(x, res, &w->ls, &w->fs) < 0) {
		free(w);
		return;
	}
	ci = MHD_get_connection_info(x->c, MHD_CONNECTION_INFO_CONNECTION_FD);
	w->fd = ci ? ci->connect_fd : -1;
	w->f = f;
	w->res = res;
	w->ns = x->ri->ns[0] ? strdup(x->ri->ns) : NULL;
	w->bookmarks = parse_bool(arg(x->c, "allowWatchBookmarks"));
	w->deadline =
		test_mono_ms() + (timeout ? timeout * 1000 : DEFAULT_WATCH_TIMEOUT_S * 1000LL);
	pthread_mutex_lock(&f->lock);
	w->next_bm = test_mono_ms() + f->bookmark_ms;
	w->bm_gen = f->bm_gen;
	w->drop_gen = f->drop_gen;
	if (initial) {
		/* the synthetic ADDED of every object, then changes from now */
		size_t n;
		struct obj **v = select_objs(f, res, w->ns, &w->ls, &w->fs, &n);

		for (size_t i = 0; i < n; i++)
			watch_line(w, "ADDED", v[i]->j);
		free(v);
		w->last_rv = f->rv;
	} else if (rv < f->hist[res].floor) {
		watch_expired(w, rv, f->hist[res].floor);
	} else {
		w->last_rv = rv;
	}
	f->watches++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	x->r->code = 200;
	x->r->watch = w;
}

/* name and namespace of a body for path ns/name: 400 on a mismatch. */
static bool body_identity(struct ctx *x, const struct resdef *rd, cJSON *j, bool named)
{
	cJSON *meta = json_child(j, "metadata");
	const char *ns = json_str(meta, "namespace"), *name = json_str(meta, "name");
	const char *gen = json_str(meta, "generateName");

	if (rd->namespaced) {
		if (ns && ns[0] && strcmp(ns, x->ri->ns) != 0) {
			fail(x->r, 400, "BadRequest", NULL,
			     "the namespace of the provided object does not match the namespace "
			     "sent on the request");
			return false;
		}
		json_set(meta, "namespace", cJSON_CreateString(x->ri->ns));
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	}
	if (named && !streq(name, x->ri->name)) {
		fail(x->r, 400, "BadRequest", NULL,
		     "the name of the object (%s) does not match the name on the URL (%s)",
		     name ? name : "", x->ri->name);
		return false;
	}
	if (!named && (!name || !name[0]) && gen && gen[0]) {
		static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
		unsigned char rnd[5];
		char full[300];

		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			memset(rnd, 7, sizeof(rnd));
		snprintf(full, sizeof(full), "%.*s%c%c%c%c%c", 58, gen, alphabet[rnd[0] % 27],
			 alphabet[rnd[1] % 27], alphabet[rnd[2] % 27], alphabet[rnd[3] % 27],
			 alphabet[rnd[4] % 27]);
		json_set(meta, "name", cJSON_CreateString(full));
	}
	return true;
}


/* Stores j (taken) and answers it with status, or 500 when memory ran out. Under the lock. */
static void store_reply(struct ctx *x, int res, cJSON *j, int status)
{
	cJSON *stored = store_put(x->f, res, j);

	if (stored)
		reply_json(x->r, status, stored);
	else
		fail(x->r, 500, "InternalError", NULL, "Internal error occurred: out of memory");
}

static void do_create(struct ctx *x, int res)
{
	const struct resdef *rd = &resdefs[res];
	struct ferrs e = { 0 };
	struct details d = { 0 };
	char err[1200], qr[128];
	const char *name;
	cJSON *j = decode_body(x, rd->api_version, rd->kind);

	if (!j)
		return;
	if (check_types(res, j, err, sizeof(err)) < 0) {
		fail_decode(x->r, rd, "%s", err);
		goto out;
	}
	if (!body_identity(x, rd, j, false))
		goto out;
	if (meta_str(j, "resourceVersion") && meta_str(j, "resourceVersion")[0]) {
		fail(x->r, 400, "BadRequest", NULL,
		     "resourceVersion should not be set on objects to be created");
		goto out;
	}
	validate(res, j, &e);
	name = meta_str(j, "name");
	if (e.n) {
		fail_invalid(x->r, rd->group, rd->kind, name ? name : "", &e);
		goto out;
	}
	pthread_mutex_lock(&x->f->lock);
	if (find_obj(x->f, res, x->ri->ns, name)) {
		d = (struct details){ name, rd->group, rd->resource, 0, NULL };
		qualified_resource(qr, sizeof(qr), rd->resource, rd->group);
		fail(x->r, 409, "AlreadyExists", &d, "%s \"%s\" already exists", qr, name);
	} else {
		store_reply(x, res, j, 201);
		j = NULL;
	}
	pthread_mutex_unlock(&x->f->lock);
out:
	cJSON_Delete(j);
	ferrs_free(&e);
}

static void do_update(struct ctx *x, int res)
{
	const struct resdef *rd = &resdefs[res];
	struct ferrs e = { 0 };
	struct obj *o;
	char err[1200];
	cJSON *j = decode_body(x, rd->api_version, rd->kind);

	if (!j)
		return;
	if (check_types(res, j, err, sizeof(err)) < 0) {
		fail_decode(x->r, rd, "%s", err);
		goto out;
	}
	if (!body_identity(x, rd, j, true))
		goto out;
	pthread_mutex_lock(&x->f->lock);
	o = find_obj(x->f, res, x->ri->ns, x->ri->name);
	if (!o) {
		not_found(x->r, rd, x->ri->name);
	} else if (!stale(x->r, rd, j, o->j)) {
		validate(res, j, &e);
		if (e.n) {
			fail_invalid(x->r, rd->group, rd->kind, x->ri->name, &e);
		} else {
			store_reply(x, res, j, 200);
			j = NULL;
		}
	}
	pthread_mutex_unlock(&x->f->lock);
out:
	cJSON_Delete(j);
	ferrs_free(&e);
}

/* The patch of the request applied to a copy of cur; NULL with the reply set when the
 * content type (415), the patch (400) or its application (422) fails. */
static cJSON *patched(struct ctx *x, const cJSON *cur, bool crd)
{
	static const char builtin[] = "application/json-patch+json, application/merge-patch+json, "
				      "application/strategic-merge-patch+json, "
				      "application/apply-patch+yaml";
	static const char custom[] = "application/json-patch+json, application/merge-patch+json, "
				     "application/apply-patch+yaml";
	char mt[128], err[1024];
	cJSON *patch, *doc;
	bool merge, jsonp;
	size_t n = 0;

	for (const char *p = x->content_type ? x->content_type : "";
	     *p && *p != ';' && n < sizeof(mt) - 1; p++)
		if (!isspace((unsigned char)*p))
			mt[n++] = (char)tolower((unsigned char)*p);
	mt[n] = '\0';
	merge = strcmp(mt, "application/merge-patch+json") == 0 ||
		(!crd && strcmp(mt, "application/strategic-merge-patch+json") == 0);
	jsonp = strcmp(mt, "application/json-patch+json") == 0;
	if (strcmp(mt, "application/apply-patch+yaml") == 0) {
		fail(x->r, 415, "UnsupportedMediaType", NULL,
		     "the fake API server does not implement server-side apply");
		return NULL;
	}
	if (!merge && !jsonp) {
		fail(x->r, 415, "UnsupportedMediaType", NULL,
		     "the body of the request was in an unknown format - accepted media types "
		     "include: %s",
		     crd ? custom : builtin);
		return NULL;
	}
	patch = x->len ? cJSON_ParseWithLength(x->body, x->len) : NULL;
	if (!patch || (merge && !cJSON_IsObject(patch)) || (jsonp && !cJSON_IsArray(patch))) {
		fail(x->r, 400, "BadRequest", NULL, "%s",
		     !patch  ? "invalid JSON in the patch"
		     : merge ? "json: cannot unmarshal a merge patch that is not an object"
			     : "json: cannot unmarshal object into Go value of type "
			       "jsonpatch.Patch");
		cJSON_Delete(patch);
		return NULL;
	}
	doc = cJSON_Duplicate(cur, true);
	if (doc && merge)
		doc = merge_patch(doc, patch);
	if (doc && jsonp && json_patch(doc, patch, err, sizeof(err)) < 0) {
		struct details d = { 0 };

		fail(x->r, 422, "Invalid", &d, "%s", err);
		cJSON_Delete(doc);
		doc = NULL;
	} else if (!doc) {
		fail(x->r, 500, "InternalError", NULL, "Internal error occurred: out of memory");
	}
	cJSON_Delete(patch);
	return doc;
}

/* A patched object that does not decode into its type: 422 on the field "patch". */
static void fail_patch_type(struct reply *r, const cJSON *doc, const char *err)
{
	struct ferrs e = { 0 };
	char *s = json_print(doc);

	ferr_invalid(&e, "patch", s ? s : "", err);
	free(s);
	fail_invalid(r, "", "", "", &e);
}

static void do_patch(struct ctx *x, int res)
{
	const struct resdef *rd = &resdefs[res];
	struct ferrs e = { 0 };
	struct obj *o;
	char err[1200];
	cJSON *doc = NULL, *meta, *stored;

	pthread_mutex_lock(&x->f->lock);
	o = find_obj(x->f, res, x->ri->ns, x->ri->name);
	if (!o) {
		not_found(x->r, rd, x->ri->name);
		goto out;
	}
	doc = patched(x, o->j, rd->crd);
	if (!doc)
		goto out;
	if (!cJSON_IsObject(doc) || check_types(res, doc, err, sizeof(err)) < 0) {
		fail_patch_type(x->r, doc, cJSON_IsObject(doc) ? err : "not an object");
		goto out;
	}
	if (stale(x->r, rd, doc, o->j))
		goto out;
	/* what a patch cannot change */
	json_set(doc, "kind", cJSON_CreateString(rd->kind));
	json_set(doc, "apiVersion", cJSON_CreateString(rd->api_version));
	meta = json_child(doc, "metadata");
	json_set(meta, "name", cJSON_CreateString(o->name));
	if (rd->namespaced)
		json_set(meta, "namespace", cJSON_CreateString(o->ns));
	validate(res, doc, &e);
	if (e.n) {
		fail_invalid(x->r, rd->group, rd->kind, o->name, &e);
		goto out;
	}
	stored = store_put(x->f, res, doc);
	doc = NULL;
	if (stored)
		reply_json(x->r, 200, stored);
	else
		fail(x->r, 500, "InternalError", NULL, "Internal error occurred: out of memory");
out:
	pthread_mutex_unlock(&x->f->lock);
	cJSON_Delete(doc);
	ferrs_free(&e);
}

static void do_delete(struct ctx *x, int res)
{
	const struct resdef *rd = &resdefs[res];
	struct obj *o;
	cJSON *st, *det;
	const char *uid;

	pthread_mutex_lock(&x->f->lock);
	o = find_obj(x->f, res, x->ri->ns, x->ri->name);
	if (!o) {
		not_found(x->r, rd, x->ri->name);
		pthread_mutex_unlock(&x->f->lock);
		return;
	}
	st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "kind", "Status");
	cJSON_AddStringToObject(st, "apiVersion", "v1");
	cJSON_AddItemToObject(st, "metadata", cJSON_CreateObject());
	cJSON_AddStringToObject(st, "status", "Success");
	det = cJSON_AddObjectToObject(st, "details");
	cJSON_AddStringToObject(det, "name", o->name);
	if (rd->group[0])
		cJSON_AddStringToObject(det, "group", rd->group);
	cJSON_AddStringToObject(det, "kind", rd->resource);
	uid = meta_str(o->j, "uid");
	if (uid)
		cJSON_AddStringToObject(det, "uid", uid);
	store_delete(x->f, o);
	pthread_mutex_unlock(&x->f->lock);
	reply_json(x->r, 200, st);
	cJSON_Delete(st);
}

/* ---- the scale subresource -------------------------------------------------------------*/

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key. */
static void selector_string(const cJSON *sel, struct sbuf *out)
{
	struct strv reqs = { 0 };
	const cJSON *it, *v;

	cJSON_ArrayForEach(it, json_obj(sel, "matchLabels")) {
		struct sbuf b = { 0 };

		sb_printf(&b, "%s=%s", it->string, cJSON_IsString(it) ? it->valuestring : "");
		if (b.s)
			strv_add(&reqs, b.s);
		sb_free(&b);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions")) {
		const char *key = json_str(it, "key"), *op = json_str(it, "operator");
		struct strv vals = { 0 };
		struct sbuf b = { 0 };

		if (!key || !op)
			continue;
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(it, "values"))
			if (cJSON_IsString(v))
				strv_add(&vals, v->valuestring);
		if (vals.n)
			qsort(vals.v, vals.n, sizeof(*vals.v), cmp_str);
		if (strcmp(op, "Exists") == 0) {
			sb_str(&b, key);
		} else if (strcmp(op, "DoesNotExist") == 0) {
			sb_printf(&b, "!%s", key);
		} else {
			sb_printf(&b, "%s %s (", key, strcmp(op, "In") == 0 ? "in" : "notin");
			for (size_t i = 0; i < vals.n; i++)
				sb_printf(&b, "%s%s", i ? "," : "", vals.v[i]);
			sb_str(&b, ")");
		}
		if (b.s)
			strv_add(&reqs, b.s);
		sb_free(&b);
		strv_free(&vals);
	}
	if (reqs.n)
		qsort(reqs.v, reqs.n, sizeof(*reqs.v), cmp_str);
	for (size_t i = 0; i < reqs.n; i++)
		sb_printf(out, "%s%s", i ? "," : "", reqs.v[i]);
	strv_free(&reqs);
}

/* The autoscaling/v1 Scale of a Deployment. */
static cJSON *scale_of(const cJSON *dep)
{
	const cJSON *dmeta = json_obj(dep, "metadata"), *spec = json_obj(dep, "spec");
	const cJSON *status = json_obj(dep, "status");
	static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion",
					    "creationTimestamp" };
	cJSON *s = cJSON_CreateObject(), *meta, *sp, *st;
	struct sbuf sel = { 0 };
	long long v = 0;

	cJSON_AddStringToObject(s, "kind", "Scale");
	cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v1");
	meta = cJSON_AddObjectToObject(s, "metadata");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_str(dmeta, keys[i]))
			cJSON_AddStringToObject(meta, keys[i], json_str(dmeta, keys[i]));
	sp = cJSON_AddObjectToObject(s, "spec");
	if (json_int(cJSON_GetObjectItemCaseSensitive(spec, "replicas"), INT_MIN, INT_MAX, &v))
		cJSON_AddNumberToObject(sp, "replicas", (double)v);
	st = cJSON_AddObjectToObject(s, "status");
	v = 0;
	json_int(cJSON_GetObjectItemCaseSensitive(status, "replicas"), INT_MIN, INT_MAX, &v);
	cJSON_AddNumberToObject(st, "replicas", (double)v);
	selector_string(json_obj(spec, "selector"), &sel);
	if (sel.s)
		cJSON_AddStringToObject(st, "selector", sel.s);
	sb_free(&sel);
	return s;
}

static void do_scale(struct ctx *x)
{
	static const struct resdef scale = { "autoscaling",    "v1", "scale", "Scale",
					     "autoscaling/v1", true, false };
	const struct resdef *rd = &resdefs[R_DEPLOYMENTS];
	const char *verb = x->ri->verb;
	struct ferrs e = { 0 };
	struct obj *o;
	cJSON *cur = NULL, *doc = NULL, *dep;
	char err[1200];
	long long replicas = 0, old = -1;

	if (strcmp(verb, "get") != 0 && strcmp(verb, "update") != 0 && strcmp(verb, "patch") != 0) {
		struct details d = { 0 };

		fail(x->r, 405, "MethodNotAllowed", &d,
		     "%s is not supported on resources of kind \"deployments.apps/scale\"", verb);
		return;
	}
	if (strcmp(verb, "update") == 0) {
		doc = decode_body(x, scale.api_version, scale.kind);
		if (!doc)
			return;
		if (want_int32(json_obj(doc, "spec"), "replicas", "ScaleSpec.spec.replicas", err,
			       sizeof(err)) < 0) {
			fail_decode(x->r, &scale, "%s", err);
			cJSON_Delete(doc);
			return;
		}
		if (!body_identity(x, &scale, doc, true)) {
			cJSON_Delete(doc);
			return;
		}
	}
	pthread_mutex_lock(&x->f->lock);
	o = find_obj(x->f, R_DEPLOYMENTS, x->ri->ns, x->ri->name);
	if (!o) {
		not_found(x->r, rd, x->ri->name);
		goto out;
	}
	cur = scale_of(o->j);
	if (strcmp(verb, "get") == 0) {
		reply_json(x->r, 200, cur);
		goto out;
	}
	if (!doc) {
		doc = patched(x, cur, false);
		if (!doc)
			goto out;
		if (want_int32(json_obj(doc, "spec"), "replicas", "ScaleSpec.spec.replicas", err,
			       sizeof(err)) < 0) {
			fail_patch_type(x->r, doc, err);
			goto out;
		}
	}
	if (stale(x->r, rd, doc, o->j))
		goto out;
	json_int(cJSON_GetObjectItemCaseSensitive(json_obj(doc, "spec"), "replicas"), INT_MIN,
		 INT_MAX, &replicas);
	if (replicas < 0) {
		ferr_invalid_int(&e, "spec.replicas", replicas,
				 "must be greater than or equal to 0");
		fail_invalid(x->r, scale.group, scale.kind, x->ri->name, &e);
		goto out;
	}
	json_int(cJSON_GetObjectItemCaseSensitive(json_obj(o->j, "spec"), "replicas"), INT_MIN,
		 INT_MAX, &old);
	if (replicas != old) {
		/* a no-op update writes nothing, as GuaranteedUpdate does */
		dep = cJSON_Duplicate(o->j, true);
		if (dep)
			json_set(json_child(dep, "spec"), "replicas",
				 cJSON_CreateNumber((double)replicas));
		dep = dep ? store_put(x->f, R_DEPLOYMENTS, dep) : NULL;
		if (!dep) {
			fail(x->r, 500, "InternalError", NULL,
			     "Internal error occurred: out of memory");
			goto out;
		}
		cJSON_Delete(cur);
		cur = scale_of(dep);
	}
	reply_json(x->r, 200, cur);
out:
	pthread_mutex_unlock(&x->f->lock);
	cJSON_Delete(cur);
	cJSON_Delete(doc);
	ferrs_free(&e);
}

/* ---- SelfSubjectAccessReview -----------------------------------------------------------*/

static void do_ssar(struct ctx *x)
{
	static const char av[] = "authorization.k8s.io/v1", kind[] = "SelfSubjectAccessReview";
	cJSON *j = decode_body(x, av, kind), *spec, *ra, *nra, *st;
	struct ferrs e = { 0 };
	struct attrs a = { 0 };
	char reason[1024];
	bool allowed;

	if (!j)
		return;
	spec = json_obj(j, "spec");
	ra = json_obj(spec, "resourceAttributes");
	nra = json_obj(spec, "nonResourceAttributes");
	if (ra && nra)
		ferr_invalid(&e, "spec.nonResourceAttributes", "",
			     "cannot be specified in combination with resourceAttributes");
	else if (!ra && !nra)
		ferr_invalid(
			&e, "spec.resourceAttributes", "null",
			"exactly one of nonResourceAttributes or resourceAttributes must be "
			"specified");
	if (e.n) {
		fail_invalid(x->r, "authorization.k8s.io", kind, "", &e);
		cJSON_Delete(j);
		return;
	}
	a.user = x->user;
	a.resource_req = ra != NULL;
	a.verb = or_empty(json_str(ra ? ra : nra, "verb"));
	a.group = or_empty(json_str(ra, "group"));
	a.resource = or_empty(json_str(ra, "resource"));
	a.sub = or_empty(json_str(ra, "subresource"));
	a.ns = or_empty(json_str(ra, "namespace"));
	a.name = or_empty(json_str(ra, "name"));
	a.path = or_empty(json_str(nra, "path"));
	allowed = authorize(x->f, &a, reason, sizeof(reason));
	json_set(j, "metadata", cJSON_CreateObject());
	cJSON_AddNullToObject(json_obj(j, "metadata"), "creationTimestamp");
	st = cJSON_CreateObject();
	cJSON_AddBoolToObject(st, "allowed", allowed);
	if (allowed && reason[0])
		cJSON_AddStringToObject(st, "reason", reason);
	json_set(j, "status", st);
	reply_json(x->r, 201, j);
	cJSON_Delete(j);
}

/* ---- routing ---------------------------------------------------------------------------*/

static void nonresource(struct ctx *x)
{
	const char *p = x->ri->path;

	if (strcmp(p, "/version") == 0 || strcmp(p, "/version/") == 0) {
		reply_reset(x->r);
		x->r->code = 200;
		x->r->body =
			strdup("{\"major\":\"1\",\"minor\":\"30\",\"gitVersion\":\"v1.30.0-fake\","
			       "\"platform\":\"linux/amd64\"}");
		if (!x->r->body)
			x->r->code = 500;
		return;
	}
	if (strcmp(p, "/healthz") == 0 || strcmp(p, "/livez") == 0 || strcmp(p, "/readyz") == 0) {
		reply_reset(x->r);
		x->r->code = 200;
		x->r->type = "text/plain; charset=utf-8";
		x->r->body = strdup("ok");
		if (!x->r->body)
			x->r->code = 500;
		return;
	}
	not_found_path(x->r);
}

static void method_not_allowed(struct reply *r)
{
	struct details d = { 0 };

	fail(r, 405, "MethodNotAllowed", &d,
	     "the server does not allow this method on the requested resource");
}

static void route(struct ctx *x)
{
	const struct reqinfo *ri = x->ri;
	struct attrs a = {
		.user = x->user, .resource_req = ri->resource_req, .verb = ri->verb,
		.group = ri->group, .resource = ri->resource, .sub = ri->sub, .ns = ri->ns,
		.name = ri->name, .path = ri->path,
	};
	char reason[1024];
	const char *verb = ri->verb;
	int res;
	bool keda;

	if (!verb[0]) {
		method_not_allowed(x->r);
		return;
	}
	if (!authorize(x->f, &a, reason, sizeof(reason))) {
		forbidden(x->r, &a);
		return;
	}
	if (!ri->resource_req) {
		nonresource(x);
		return;
	}
	if (strcmp(ri->group, "authorization.k8s.io") == 0 && strcmp(ri->version, "v1") == 0 &&
	    strcmp(ri->resource, "selfsubjectaccessreviews") == 0 && !ri->ns[0] && !ri->name[0]) {
		if (strcmp(verb, "create") == 0)
			do_ssar(x);
		else
			method_not_allowed(x->r);
		return;
	}
	res = res_by_name(ri->resource);
	pthread_mutex_lock(&x->f->lock);
	keda = x->f->keda;
	pthread_mutex_unlock(&x->f->lock);
	if (res < 0 || strcmp(resdefs[res].group, ri->group) != 0 ||
	    strcmp(resdefs[res].version, ri->version) != 0 || (res == R_SCALEDOBJECTS && !keda) ||
	    ri->extra || (!resdefs[res].namespaced && ri->ns[0])) {
		not_found_path(x->r);
		return;
	}
	if (ri->sub[0]) {
		if (res == R_DEPLOYMENTS && strcmp(ri->sub, "scale") == 0)
			do_scale(x);
		else
			not_found_path(x->r);
		return;
	}
	if (resdefs[res].namespaced && !ri->ns[0] && strcmp(verb, "list") != 0 &&
	    strcmp(verb, "watch") != 0) {
		/* only lists and watches span every namespace */
		if (ri->name[0])
			not_found_path(x->r);
		else
			method_not_allowed(x->r);
		return;
	}
	if (strcmp(verb, "get") == 0)
		do_get(x, res);
	else if (strcmp(verb, "list") == 0)
		do_list(x, res);
	else if (strcmp(verb, "watch") == 0)
		do_watch(x, res);
	else if (strcmp(verb, "create") == 0 && !ri->name[0])
		do_create(x, res);
	else if (strcmp(verb, "update") == 0 && ri->name[0])
		do_update(x, res);
	else if (strcmp(verb, "patch") == 0 && ri->name[0])
		do_patch(x, res);
	else if (strcmp(verb, "delete") == 0)
		do_delete(x, res);
	else
		method_not_allowed(x->r);
}

/* ---- the call record, faults, authentication -------------------------------------------*/

static void record(kube_fake_t *f, struct kube_fake_call *rec)
{
	pthread_mutex_lock(&f->lock);
	if (!f->calls)
		f->calls = calloc(KUBE_FAKE_MAX_CALLS, sizeof(*f->calls));
	if (!f->calls) {
		free(rec);
	} else if (f->ncalls == KUBE_FAKE_MAX_CALLS) {
		free(f->calls[f->firstcall]);
		f->calls[f->firstcall] = rec;
		f->firstcall = (f->firstcall + 1) % KUBE_FAKE_MAX_CALLS;
	} else {
		f->calls[(f->firstcall + f->ncalls++) % KUBE_FAKE_MAX_CALLS] = rec;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Takes the first queued fault matching target into *ret. */
static bool take_fault(kube_fake_t *f, const char *target, struct fault *ret)
{
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nfaults; i++) {
		struct fault *ft = &f->faults[i];

		if (ft->match && !strstr(target, ft->match))
			continue;
		*ret = *ft;
		ret->match = NULL;
		found = true;
		if (--ft->left == 0) {
			free(ft->match);
			memmove(ft, ft + 1, (f->nfaults - i - 1) * sizeof(*ft));
			f->nfaults--;
		}
		break;
	}
	pthread_mutex_unlock(&f->lock);
	return found;
}

/* Waits ms (at least), or less when the server stops. */
static void pause_ms(kube_fake_t *f, long ms)
{
	long long until = mono_ns() + (long long)ms * 1000000;
	struct timespec ts = { until / 1000000000, until % 1000000000 };

	pthread_mutex_lock(&f->lock);
	while (!f->stopping && mono_ns() < until)
		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	pthread_mutex_unlock(&f->lock);
}

static void inject(struct reply *r, const struct fault *ft)
{
	struct details d = { NULL, NULL, NULL, ft->retry_after, NULL };
	const char *msg;

	switch (ft->code) {
	case 429:
		msg = "Too many requests, please try again later.";
		break;
	case 500:
		msg = "Internal error occurred: injected fault";
		break;
	case 503:
		msg = "the server is currently unable to handle the request (injected fault)";
		break;
	case 504:
		msg = "Timeout: request did not complete within requested timeout - context "
		      "deadline exceeded";
		break;
	default:
		msg = "injected fault";
		break;
	}
	fail(r, ft->code, NULL, ft->retry_after > 0 ? &d : NULL, "%s", msg);
	r->retry_after = ft->retry_after;
}

/* The CN of a client certificate that verifies against the CA, as the x509 authenticator
 * takes it. */
static bool cert_user(struct MHD_Connection *c, char *user, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const gnutls_datum_t *certs;
	gnutls_session_t s;
	gnutls_x509_crt_t crt;
	unsigned int n = 0, status = 0;
	size_t len = size;
	bool ok = false;

	if (!ci || !ci->tls_session)
		return false;
	s = (gnutls_session_t)ci->tls_session;
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0 || gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0)
		return false;
	if (gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, user, &len) ==
		    0 &&
	    len > 0 && len < size)
		ok = true;
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/* The union of the x509 and bearer token authenticators; rec gets the scheme, the
 * fingerprint or CN, and the user. */
static bool authenticate(kube_fake_t *f, struct MHD_Connection *c, struct kube_fake_call *rec)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char user[256], token[32768];
	const char *sp, *end;
	kube_fake_token_fn *fn;
	void *ud;
	bool ok = false;

	if (f->tls && cert_user(c, user, sizeof(user))) {
		test_copy_str(rec->auth, sizeof(rec->auth), "cert");
		test_copy_str(rec->credential, sizeof(rec->credential), user);
		test_copy_str(rec->user, sizeof(rec->user), user);
		return true;
	}
	if (!h)
		return false;
	sp = strchr(h, ' ');
	snprintf(rec->auth, sizeof(rec->auth), "%.*s", (int)(sp ? sp - h : (long)strlen(h)), h);
	if (!sp || strcasecmp(rec->auth, "bearer") != 0)
		return false;
	/* strings.SplitN(auth, " ", 3)[1] */
	end = strchr(sp + 1, ' ');
	snprintf(token, sizeof(token), "%.*s", (int)(end ? end - sp - 1 : (long)strlen(sp + 1)),
		 sp + 1);
	if (!token[0])
		return false;
	kube_fake_fingerprint(token, rec->credential);
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->ntokens && !ok; i++) {
		if (strcmp(f->tokens[i].token, token) == 0) {
			test_copy_str(rec->user, sizeof(rec->user), f->tokens[i].user);
			ok = true;
		}
	}
	fn = f->token_fn;
	ud = f->token_ud;
	pthread_mutex_unlock(&f->lock);
	/* outside the lock: the authenticator may take its own */
	if (!ok && fn && fn(token, user, sizeof(user), ud)) {
		test_copy_str(rec->user, sizeof(rec->user), user);
		ok = true;
	}
	explicit_bzero(token, sizeof(token));
	return ok;
}

void kube_fake_set_token_authenticator(kube_fake_t *f, kube_fake_token_fn *fn, void *userdata)
{
	pthread_mutex_lock(&f->lock);
	f->token_fn = fn;
	f->token_ud = userdata;
	pthread_mutex_unlock(&f->lock);
}

/* ---- libmicrohttpd glue ----------------------------------------------------------------*/

static enum MHD_Result answer(struct MHD_Connection *c, struct reply *r)
{
	struct MHD_Response *res;
	enum MHD_Result ret;
	char ra[16];

	if (r->watch) {
		res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, watch_fill,
							r->watch, watch_free);
		if (!res) {
			watch_free(r->watch);
			return MHD_NO;
		}
	} else {
		const char *body = r->body ? r->body : "";

		res = MHD_create_response_from_buffer(strlen(body), (void *)body,
						      MHD_RESPMEM_MUST_COPY);
		if (!res)
			return MHD_NO;
	}
	MHD_add_response_header(res, "Content-Type", r->type ? r->type : "application/json");
	MHD_add_response_header(res, "Cache-Control", "no-cache, private");
	if (r->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		MHD_add_response_header(res, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, (unsigned)r->code, res);
	MHD_destroy_response(res);
	return ret;
}

static enum MHD_Result serve(kube_fake_t *f, struct MHD_Connection *c, const char *url,
			     const char *method, struct fake_conn *q)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	struct kube_fake_call *rec = calloc(1, sizeof(*rec));
	struct reply r = { 0 };
	struct reqinfo ri;
	struct fault ft;
	enum MHD_Result ret;

	if (!rec)
		return MHD_NO;
	test_copy_str(rec->method, sizeof(rec->method), method);
	test_copy_str(rec->target, sizeof(rec->target), q->raw_target ? q->raw_target : url);
	test_copy_str(rec->content_type, sizeof(rec->content_type), ct);
	rec->body_len = q->len;
	if (q->len)
		snprintf(rec->body, sizeof(rec->body), "%.*s",
			 (int)(q->len < sizeof(rec->body) ? q->len : sizeof(rec->body) - 1),
			 q->body);
	if (q->too_big) {
		fail(&r, 413, "RequestEntityTooLarge", NULL,
		     "Request entity too large: limit is %u", MAX_BODY);
	} else if (take_fault(f, rec->target, &ft)) {
		if (ft.delay_ms > 0)
			pause_ms(f, ft.delay_ms);
		if (ft.code)
			inject(&r, &ft);
	}
	if (!r.code) {
		if (!authenticate(f, c, rec)) {
			fail(&r, 401, "Unauthorized", NULL, "Unauthorized");
		} else {
			struct ctx x = { f, c, &ri, rec->user, ct, q->body, q->len, &r };

			request_info(c, url, method, &ri);
			route(&x);
		}
	}
	if (!r.code)
		fail(&r, 500, "InternalError", NULL, "Internal error occurred");
	rec->status = r.code;
	rec->watch = r.watch != NULL;
	record(f, rec);
	ret = answer(c, &r);
	free(r.body);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	kube_fake_t *f = cls;
	struct fake_conn *q = *con_cls;
	enum fake_conn_step step = fake_conn_feed(q, upload, upload_size, MAX_BODY);

	(void)version;
	if (step != FAKE_CONN_SERVE)
		return step == FAKE_CONN_FAIL ? MHD_NO : MHD_YES;
	return serve(f, c, url, method, q);
}

/* ---- start and stop --------------------------------------------------------------------*/

static void free_all(kube_fake_t *f)
{
	for (size_t i = 0; i < f->nobjs; i++) {
		cJSON_Delete(f->objs[i]->j);
		free(f->objs[i]->ns);
		free(f->objs[i]->name);
		free(f->objs[i]);
	}
	free(f->objs);
	for (int i = 0; i < R_N; i++) {
		hist_clear(&f->hist[i], 0);
		free(f->hist[i].ev);
	}
	for (size_t i = 0; i < f->ntokens; i++) {
		explicit_bzero(f->tokens[i].token, strlen(f->tokens[i].token));
		free(f->tokens[i].token);
		free(f->tokens[i].user);
	}
	for (size_t i = 0; i < f->nfaults; i++)
		free(f->faults[i].match);
	for (size_t i = 0; f->calls && i < f->ncalls; i++)
		free(f->calls[(f->firstcall + i) % KUBE_FAKE_MAX_CALLS]);
	free(f->calls);
	strv_free(&f->admins);
	rbac_free(&f->rbac);
	free(f->ca_cert);
	free(f->ca_key);
	free(f->srv_cert);
	free(f->srv_key);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int make_certs(kube_fake_t *f)
{
	int r = fake_tls_make_cert("kube-fake-ca", &f->ca_cert, &f->ca_key);

	if (r == 0)
		r = fake_tls_make_signed_cert(f->ca_cert, f->ca_key, "kube-apiserver", false,
					      &f->srv_cert, &f->srv_key);
	return r;
}

int kube_fake_start(const kube_fake_opts_t *o, kube_fake_t **ret)
{
	static const kube_fake_opts_t defaults = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;
	char path[4096];
	const char *src;
	unsigned flags;
	kube_fake_t *f;
	int r;

	if (!o)
		o = &defaults;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	f->tls = o->tls;
	f->keda = !o->keda_absent;
	f->history = o->history ? o->history : DEFAULT_HISTORY;
	f->bookmark_ms = o->bookmark_interval_ms > 0 ? o->bookmark_interval_ms : 0;
	f->rv = 1000;
	for (int i = 0; i < R_N; i++) {
		f->hist[i].cap = f->history;
		f->hist[i].floor = f->rv;
		f->hist[i].ev = calloc(f->history, sizeof(*f->hist[i].ev));
		if (!f->hist[i].ev) {
			r = -ENOMEM;
			goto fail;
		}
	}
	src = getenv("AUTOSCALERD_SRCDIR");
	if (o->rbac_path)
		test_copy_str(path, sizeof(path), o->rbac_path);
	else
		snprintf(path, sizeof(path), "%s%sdeploy/rbac.yaml", src ? src : "",
			 src ? "/" : "");
	r = rbac_load(path, &f->rbac);
	if (r < 0)
		goto fail;
	if (f->tls) {
		r = make_certs(f);
		if (r < 0)
			goto fail;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
		(f->tls ? MHD_USE_TLS : 0);
	if (f->tls)
		f->d = MHD_start_daemon(
			flags, 0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sin,
			MHD_OPTION_NOTIFY_COMPLETED, fake_conn_completed, f,
			MHD_OPTION_URI_LOG_CALLBACK, fake_conn_uri_log, f,
			MHD_OPTION_HTTPS_MEM_KEY, f->srv_key, MHD_OPTION_HTTPS_MEM_CERT,
			f->srv_cert, MHD_OPTION_HTTPS_MEM_TRUST, f->ca_cert,
			MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
	else
		f->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR,
					&sin, MHD_OPTION_NOTIFY_COMPLETED, fake_conn_completed, f,
					MHD_OPTION_URI_LOG_CALLBACK, fake_conn_uri_log, f,
					MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_END);
	if (!f->d) {
		r = -EADDRNOTAVAIL;
		goto fail;
	}
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	f->port = info ? info->port : 0;
	if (!f->port) {
		kube_fake_stop(f);
		return -EADDRNOTAVAIL;
	}
	snprintf(f->url, sizeof(f->url), "%s://127.0.0.1:%u", f->tls ? "https" : "http", f->port);
	*ret = f;
	return 0;
fail:
	free_all(f);
	return r;
}

kube_fake_t *kube_fake_stop(kube_fake_t *f)
{
	if (!f)
		return NULL;
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (f->d)
		MHD_stop_daemon(f->d);
	free_all(f);
	return NULL;
}

uint16_t kube_fake_port(const kube_fake_t *f)
{
	return f->port;
}

const char *kube_fake_url(const kube_fake_t *f)
{
	return f->url;
}

const char *kube_fake_ca_pem(const kube_fake_t *f)
{
	return f->tls ? f->ca_cert : NULL;
}

int kube_fake_issue_client_cert(kube_fake_t *f, const char *user, char **ret_cert, char **ret_key)
{
	if (!f->tls || !user || !user[0])
		return -EINVAL;
	return fake_tls_make_signed_cert(f->ca_cert, f->ca_key, user, true, ret_cert, ret_key);
}

/* ---- identities ------------------------------------------------------------------------*/

int kube_fake_add_token(kube_fake_t *f, const char *token, const char *user)
{
	char *t, *u;
	int r = 0;

	if (!token || !token[0] || !user || !user[0])
		return -EINVAL;
	t = strdup(token);
	u = strdup(user);
	if (!t || !u) {
		free(t);
		free(u);
		return -ENOMEM;
	}
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->ntokens; i++) {
		if (strcmp(f->tokens[i].token, token) == 0) {
			free(f->tokens[i].user);
			f->tokens[i].user = u;
			free(t);
			t = u = NULL;
			break;
		}
	}
	if (t && f->ntokens == MAX_TOKENS) {
		r = -ENOMEM;
		free(t);
		free(u);
	} else if (t) {
		f->tokens[f->ntokens++] = (struct token){ t, u };
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

void kube_fake_remove_token(kube_fake_t *f, const char *token)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->ntokens; i++) {
		if (strcmp(f->tokens[i].token, token) == 0) {
			explicit_bzero(f->tokens[i].token, strlen(f->tokens[i].token));
			free(f->tokens[i].token);
			free(f->tokens[i].user);
			f->tokens[i] = f->tokens[--f->ntokens];
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

int kube_fake_set_admin(kube_fake_t *f, const char *user, bool admin)
{
	int r = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->admins.n; i++) {
		if (strcmp(f->admins.v[i], user) == 0) {
			if (!admin) {
				free(f->admins.v[i]);
				f->admins.v[i] = f->admins.v[--f->admins.n];
			}
			admin = false;
			break;
		}
	}
	if (admin)
		r = strv_add(&f->admins, user);
	pthread_mutex_unlock(&f->lock);
	return r;
}

bool kube_fake_allowed(kube_fake_t *f, const char *user, const char *verb, const char *group,
		       const char *resource, const char *subresource, const char *ns,
		       const char *name)
{
	struct attrs a = {
		.user = or_empty(user), .resource_req = true, .verb = or_empty(verb),
		.group = or_empty(group), .resource = or_empty(resource),
		.sub = or_empty(subresource), .ns = or_empty(ns), .name = or_empty(name), .path = "",
	};
	char reason[1024];

	return authorize(f, &a, reason, sizeof(reason));
}

/* ---- objects ---------------------------------------------------------------------------*/

static cJSON *new_object(int res, const char *ns, const char *name)
{
	cJSON *j = cJSON_CreateObject(), *meta;

	cJSON_AddStringToObject(j, "kind", resdefs[res].kind);
	cJSON_AddStringToObject(j, "apiVersion", resdefs[res].api_version);
	meta = cJSON_AddObjectToObject(j, "metadata");
	cJSON_AddStringToObject(meta, "name", name);
	if (resdefs[res].namespaced)
		cJSON_AddStringToObject(meta, "namespace", ns);
	return j;
}

static int put(kube_fake_t *f, int res, cJSON *j)
{
	cJSON *stored;

	if (!j)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	stored = store_put(f, res, j);
	pthread_mutex_unlock(&f->lock);
	return stored ? 0 : -ENOMEM;
}

static cJSON *condition(const char *type, bool status, const char *reason, const char *message)
{
	cJSON *c = cJSON_CreateObject();
	char ts[32];

	now_time(ts);
	cJSON_AddStringToObject(c, "type", type);
	cJSON_AddStringToObject(c, "status", status ? "True" : "False");
	cJSON_AddNullToObject(c, "lastProbeTime");
	cJSON_AddStringToObject(c, "lastTransitionTime", ts);
	if (reason)
		cJSON_AddStringToObject(c, "reason", reason);
	if (message)
		cJSON_AddStringToObject(c, "message", message);
	return c;
}

int kube_fake_put_deployment(kube_fake_t *f, const struct kube_fake_deployment *d)
{
	cJSON *j, *spec, *sel, *tmpl, *status;
	int st = d->status_replicas >= 0 ? d->status_replicas : d->replicas;

	if (!d->ns || !d->name || d->replicas < 0)
		return -EINVAL;
	j = new_object(R_DEPLOYMENTS, d->ns, d->name);
	spec = cJSON_AddObjectToObject(j, "spec");
	cJSON_AddNumberToObject(spec, "replicas", d->replicas);
	sel = cJSON_AddObjectToObject(spec, "selector");
	cJSON_AddItemToObject(sel, "matchLabels", kv_object(d->match_labels));
	tmpl = cJSON_AddObjectToObject(spec, "template");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(tmpl, "metadata"), "labels",
			      kv_object(d->match_labels));
	cJSON_AddItemToObject(cJSON_AddObjectToObject(tmpl, "spec"), "containers",
			      cJSON_Parse("[{\"name\":\"main\",\"image\":\"fake\"}]"));
	status = cJSON_AddObjectToObject(j, "status");
	cJSON_AddNumberToObject(status, "replicas", st);
	cJSON_AddNumberToObject(status, "readyReplicas",
				d->ready_replicas >= 0 ? d->ready_replicas : st);
	return put(f, R_DEPLOYMENTS, j);
}

int kube_fake_replicas(kube_fake_t *f, const char *ns, const char *name)
{
	struct obj *o;
	long long v = -ENOENT;

	pthread_mutex_lock(&f->lock);
	o = find_obj(f, R_DEPLOYMENTS, ns, name);
	if (o)
		json_int(cJSON_GetObjectItemCaseSensitive(json_obj(o->j, "spec"), "replicas"), 0,
			 INT_MAX, &v);
	pthread_mutex_unlock(&f->lock);
	return (int)v;
}

int kube_fake_put_pod(kube_fake_t *f, const struct kube_fake_pod *p)
{
	cJSON *j, *meta, *spec, *status, *conds, *owner;
	char uid[37];

	if (!p->ns || !p->name)
		return -EINVAL;
	j = new_object(R_PODS, p->ns, p->name);
	meta = json_obj(j, "metadata");
	cJSON_AddItemToObject(meta, "labels", kv_object(p->labels));
	cJSON_AddItemToObject(meta, "annotations", kv_object(p->annotations));
	if (p->mirror)
		json_set(json_obj(meta, "annotations"), "kubernetes.io/config.mirror",
			 cJSON_CreateString("mirror"));
	if (p->owner_kind) {
		owner = cJSON_CreateObject();
		make_uid(uid);
		cJSON_AddStringToObject(owner, "apiVersion", "apps/v1");
		cJSON_AddStringToObject(owner, "kind", p->owner_kind);
		cJSON_AddStringToObject(owner, "name", or_empty(p->owner_name));
		cJSON_AddStringToObject(owner, "uid", uid);
		cJSON_AddBoolToObject(owner, "controller", true);
		cJSON_AddBoolToObject(owner, "blockOwnerDeletion", true);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), owner);
	}
	spec = cJSON_AddObjectToObject(j, "spec");
	cJSON_AddItemToObject(spec, "containers",
			      cJSON_Parse("[{\"name\":\"main\",\"image\":\"fake\"}]"));
	if (p->node_name)
		cJSON_AddStringToObject(spec, "nodeName", p->node_name);
	status = cJSON_AddObjectToObject(j, "status");
	cJSON_AddStringToObject(status, "phase",
				p->unschedulable ? "Pending" : (p->phase ? p->phase : "Running"));
	conds = cJSON_AddArrayToObject(status, "conditions");
	if (p->unschedulable) {
		cJSON_AddItemToArray(
			conds, condition("PodScheduled", false, "Unschedulable", p->unschedulable));
	} else {
		cJSON_AddItemToArray(conds, condition("Ready", p->ready, NULL, NULL));
		cJSON_AddItemToArray(conds,
				     condition("PodScheduled", p->node_name != NULL, NULL, NULL));
	}
	cJSON_AddStringToObject(status, "qosClass", "BestEffort");
	return put(f, R_PODS, j);
}

int kube_fake_put_node(kube_fake_t *f, const struct kube_fake_node *n)
{
	cJSON *j, *meta, *spec, *status, *cap, *ready;
	char gpus[16];

	if (!n->name)
		return -EINVAL;
	j = new_object(R_NODES, "", n->name);
	meta = json_obj(j, "metadata");
	cJSON_AddItemToObject(meta, "labels", kv_object(n->labels));
	cJSON_AddItemToObject(meta, "annotations", kv_object(n->annotations));
	if (n->node_pool_id)
		json_set(json_obj(meta, "annotations"), "oci.oraclecloud.com/node-pool-id",
			 cJSON_CreateString(n->node_pool_id));
	spec = cJSON_AddObjectToObject(j, "spec");
	if (n->provider_id)
		cJSON_AddStringToObject(spec, "providerID", n->provider_id);
	if (n->unschedulable) {
		cJSON_AddBoolToObject(spec, "unschedulable", true);
		cJSON_AddItemToObject(spec, "taints",
				      cJSON_Parse("[{\"key\":\"node.kubernetes.io/unschedulable\","
						  "\"effect\":\"NoSchedule\"}]"));
	}
	status = cJSON_AddObjectToObject(j, "status");
	cap = cJSON_CreateObject();
	cJSON_AddStringToObject(cap, "cpu", "8");
	cJSON_AddStringToObject(cap, "memory", "64Gi");
	cJSON_AddStringToObject(cap, "pods", "110");
	if (n->gpus > 0) {
		snprintf(gpus, sizeof(gpus), "%d", n->gpus);
		cJSON_AddStringToObject(cap, "nvidia.com/gpu", gpus);
	}
	cJSON_AddItemToObject(status, "capacity", cap);
	cJSON_AddItemToObject(status, "allocatable", cJSON_Duplicate(cap, true));
	ready = condition("Ready", !n->not_ready,
			  n->not_ready ? "KubeletNotReady" : "KubeletReady",
			  n->not_ready ? "container runtime is down"
				       : "kubelet is posting ready status");
	cJSON_DeleteItemFromObjectCaseSensitive(ready, "lastProbeTime");
	cJSON_AddStringToObject(ready, "lastHeartbeatTime", json_str(ready, "lastTransitionTime"));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(status, "conditions"), ready);
	return put(f, R_NODES, j);
}

int kube_fake_put_hpa(kube_fake_t *f, const char *ns, const char *name, const char *target_kind,
		      const char *target_name, int min_replicas, int max_replicas)
{
	cJSON *j, *spec, *ref, *status;

	if (!ns || !name || !target_kind || !target_name)
		return -EINVAL;
	j = new_object(R_HPAS, ns, name);
	spec = cJSON_AddObjectToObject(j, "spec");
	ref = cJSON_AddObjectToObject(spec, "scaleTargetRef");
	cJSON_AddStringToObject(ref, "kind", target_kind);
	cJSON_AddStringToObject(ref, "name", target_name);
	cJSON_AddStringToObject(ref, "apiVersion", "apps/v1");
	cJSON_AddNumberToObject(spec, "minReplicas", min_replicas);
	cJSON_AddNumberToObject(spec, "maxReplicas", max_replicas);
	status = cJSON_AddObjectToObject(j, "status");
	cJSON_AddNumberToObject(status, "currentReplicas", min_replicas);
	cJSON_AddNumberToObject(status, "desiredReplicas", min_replicas);
	return put(f, R_HPAS, j);
}

int kube_fake_put_scaledobject(kube_fake_t *f, const char *ns, const char *name,
			       const char *target_name, int min_replicas, int max_replicas)
{
	cJSON *j, *spec;

	if (!ns || !name || !target_name)
		return -EINVAL;
	j = new_object(R_SCALEDOBJECTS, ns, name);
	spec = cJSON_AddObjectToObject(j, "spec");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(spec, "scaleTargetRef"), "name",
				target_name);
	cJSON_AddNumberToObject(spec, "minReplicaCount", min_replicas);
	cJSON_AddNumberToObject(spec, "maxReplicaCount", max_replicas);
	cJSON_AddItemToObject(spec, "triggers", cJSON_CreateArray());
	return put(f, R_SCALEDOBJECTS, j);
}

void kube_fake_set_keda(kube_fake_t *f, bool present)
{
	pthread_mutex_lock(&f->lock);
	f->keda = present;
	pthread_mutex_unlock(&f->lock);
}

int kube_fake_put_json(kube_fake_t *f, const char *json)
{
	cJSON *j = json ? cJSON_Parse(json) : NULL;
	int res = j ? res_by_kind(json_str(j, "apiVersion"), json_str(j, "kind")) : -1;
	const char *name = meta_str(j, "name"), *ns = meta_str(j, "namespace");

	if (res < 0 || !name || !name[0] || (resdefs[res].namespaced && (!ns || !ns[0]))) {
		cJSON_Delete(j);
		return -EINVAL;
	}
	if (!resdefs[res].namespaced)
		cJSON_DeleteItemFromObjectCaseSensitive(json_obj(j, "metadata"), "namespace");
	return put(f, res, j);
}

int kube_fake_get_json(kube_fake_t *f, const char *resource, const char *ns, const char *name,
		       char **ret)
{
	int res = res_by_name(or_empty(resource)), r = -ENOENT;
	struct obj *o;
	char *s;

	if (res < 0)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	o = find_obj(f, res, resdefs[res].namespaced ? or_empty(ns) : "", or_empty(name));
	if (o) {
		s = json_print(o->j);
		r = s ? 0 : -ENOMEM;
		if (s)
			*ret = s;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

int kube_fake_list_json(kube_fake_t *f, const char *resource, const char *ns, char **ret)
{
	int res = res_by_name(or_empty(resource));
	struct obj **v;
	cJSON *arr;
	size_t n;
	char *s;

	if (res < 0)
		return -EINVAL;
	arr = cJSON_CreateArray();
	pthread_mutex_lock(&f->lock);
	v = select_objs(f, res, ns, NULL, NULL, &n);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_Duplicate(v[i]->j, true));
	pthread_mutex_unlock(&f->lock);
	free(v);
	s = json_print(arr);
	cJSON_Delete(arr);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int kube_fake_delete(kube_fake_t *f, const char *resource, const char *ns, const char *name)
{
	int res = res_by_name(or_empty(resource)), r = -ENOENT;
	struct obj *o;

	if (res < 0)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	o = find_obj(f, res, resdefs[res].namespaced ? or_empty(ns) : "", or_empty(name));
	if (o) {
		store_delete(f, o);
		r = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

uint64_t kube_fake_resource_version(kube_fake_t *f)
{
	uint64_t rv;

	pthread_mutex_lock(&f->lock);
	rv = f->rv;
	pthread_mutex_unlock(&f->lock);
	return rv;
}

/* ---- watches ---------------------------------------------------------------------------*/

void kube_fake_bookmark_now(kube_fake_t *f)
{
	pthread_mutex_lock(&f->lock);
	f->bm_gen++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void kube_fake_compact(kube_fake_t *f)
{
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < R_N; i++)
		hist_clear(&f->hist[i], f->rv);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void kube_fake_drop_watches(kube_fake_t *f)
{
	pthread_mutex_lock(&f->lock);
	f->drop_gen++;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

int kube_fake_watch_count(kube_fake_t *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->watches;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool kube_fake_wait_watches(kube_fake_t *f, int n, long timeout_ms)
{
	long long until = test_mono_ms() + timeout_ms;
	struct timespec ts;
	bool ok;

	deadline_ts(&ts, until);
	pthread_mutex_lock(&f->lock);
	while (f->watches != n && !f->stopping && test_mono_ms() < until)
		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
	ok = f->watches == n;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

/* ---- faults ----------------------------------------------------------------------------*/

int kube_fake_fail_next(kube_fake_t *f, const char *match, int n, int code, int retry_after_s,
			long delay_ms)
{
	char *m = NULL;
	int r = 0;

	if (n <= 0 || (code && (code < 100 || code > 599)) || (!code && delay_ms <= 0))
		return -EINVAL;
	if (match) {
		m = strdup(match);
		if (!m)
			return -ENOMEM;
	}
	pthread_mutex_lock(&f->lock);
	if (f->nfaults == MAX_FAULTS) {
		free(m);
		r = -ENOMEM;
	} else {
		f->faults[f->nfaults++] = (struct fault){ m, n, code, retry_after_s, delay_ms };
	}
	pthread_mutex_unlock(&f->lock);
	return r;
}

void kube_fake_clear_faults(kube_fake_t *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nfaults; i++)
		free(f->faults[i].match);
	f->nfaults = 0;
	pthread_mutex_unlock(&f->lock);
}

/* ---- the record of calls ---------------------------------------------------------------*/

size_t kube_fake_call_count(kube_fake_t *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->ncalls;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool kube_fake_call(kube_fake_t *f, size_t i, struct kube_fake_call *ret)
{
	bool ok;

	pthread_mutex_lock(&f->lock);
	ok = i < f->ncalls;
	if (ok)
		*ret = *f->calls[(f->firstcall + i) % KUBE_FAKE_MAX_CALLS];
	pthread_mutex_unlock(&f->lock);
	return ok;
}

bool kube_fake_last_call(kube_fake_t *f, struct kube_fake_call *ret)
{
	bool ok;

	pthread_mutex_lock(&f->lock);
	ok = f->ncalls > 0;
	if (ok)
		*ret = *f->calls[(f->firstcall + f->ncalls - 1) % KUBE_FAKE_MAX_CALLS];
	pthread_mutex_unlock(&f->lock);
	return ok;
}

size_t kube_fake_count_calls(kube_fake_t *f, const char *method, const char *match)
{
	size_t n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->ncalls; i++) {
		const struct kube_fake_call *c = f->calls[(f->firstcall + i) % KUBE_FAKE_MAX_CALLS];

		if ((!method || strcmp(c->method, method) == 0) &&
		    (!match || strstr(c->target, match)))
			n++;
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

void kube_fake_clear_calls(kube_fake_t *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; f->calls && i < f->ncalls; i++)
		free(f->calls[(f->firstcall + i) % KUBE_FAKE_MAX_CALLS]);
	f->ncalls = f->firstcall = 0;
	pthread_mutex_unlock(&f->lock);
}
