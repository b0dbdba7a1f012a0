/* ce.c - the Container Engine client of oci.h: GetNodePool, UpdateNodePool (the size only),
 * DeleteNode and GetWorkRequest on http/, with OCI's retry rules (DESIGN.md section 7), and
 * the parsers of the NodePool and WorkRequest bodies.
 *
 * One call's life. A call is one operation as the caller sees it; it may send several
 * requests: UpdateNodePool without an etag reads the pool first, and a 412 on an update or
 * delete reads the pool again for its new etag. Every attempt of every request goes
 *
 *   oci_auth_ready() -> on_ready: oci_auth_sign() with the date of now -> http_submit()
 *   (one attempt, no retries inside http/) -> on_http
 *
 * so each attempt carries a fresh date and signature (a retry 30 s later with the first
 * attempt's date would be refused once the skew passes 5 minutes, and a refreshed session
 * token must be used at once). on_http decides: done; a retry after a backoff on the
 * call's timer (409 IncorrectState, 429, 500, 502, 503, 504, connect/timeout/closed; full
 * jitter, at least Retry-After up to retry.max_retry_after_ms); a 401 with session-token
 * credentials refreshes them once; a 412 re-reads the etag once. The retry budget
 * (retry.max_attempts) is per request: reading the etag starts a new one.
 *
 * A call is in exactly one of these places, which is what oci_ce_cancel() undoes: waiting
 * for the credentials (wait), in flight (req), or waiting on its timer (backoff, or a
 * failure found before anything went out, delivered from the loop). Before its callback
 * the call leaves the client's list, so the callback may cancel it (a no-op), cancel
 * others, start new calls or free the client.
 *
 * opc-request-id: one random id per call, sent with each of its requests and attempts, so
 * that Oracle support can follow one operation through its retries; messages quote the id
 * of the last response (OCI echoes the client's id and appends its own parts).
 *
 * Path parts are OCIDs and work request ids checked against [A-Za-z0-9._-], characters
 * that need no percent-encoding; anything else is refused with -EINVAL at submit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "oci/oci-private.h"

#define CE_ERROR_MAX 1024      /* bytes of a call's error message */
#define CE_MAX_NODES 10000     /* nodes of a NodePool body */
#define CE_MAX_STRING 4096     /* bytes of a string field of a NodePool or WorkRequest */
#define CE_MAX_ID 255          /* bytes of an OCID or work request id in a path */
#define CE_MAX_ETAG 512        /* bytes of an etag, sent back as if-match */
#define CE_MAX_POOL_SIZE 1000  /* UpdateNodePool's size */
#define CE_MAX_GRACE_S 3600    /* DeleteNode's overrideEvictionGraceDuration: PT0M..PT60M */
#define CE_MAX_ENDPOINT 2048

typedef enum op {
	OP_GET_POOL,
	OP_SET_SIZE,
	OP_DELETE_NODE,
	OP_GET_WORK,
} op_t;

static const char *const op_names[] = {
	[OP_GET_POOL] = "GetNodePool",
	[OP_SET_SIZE] = "UpdateNodePool",
	[OP_DELETE_NODE] = "DeleteNode",
	[OP_GET_WORK] = "GetWorkRequest",
};

struct oci_ce {
	http_client_t *http;
	oci_auth_t *auth;
	char *base;               /* ".../20180222"; NULL until the region is known */
	http_profile_t *profile;  /* TLS of the endpoint */
	int64_t timeout_ms;
	http_retry_t retry;       /* defaults filled in */
	oci_ce_call_t *all;       /* live calls */
};

struct oci_ce_call {
	oci_ce_t *c;
	oci_ce_call_t *prev, *next;
	op_t op;
	char *id;          /* node pool OCID, or the work request's id */
	char *node_id;     /* DeleteNode */
	int32_t size;      /* UpdateNodePool */
	int grace_s;       /* DeleteNode */
	char *etag;        /* if-match; NULL: none */
	bool reading;      /* the next request reads the pool for its etag */
	bool refresh;      /* the next oci_auth_ready() fetches anew (after a 401) */
	bool retried_401, retried_412;
	int attempts;      /* of the whole call */
	int tries;         /* of the current request: its retry budget */

	oci_auth_wait_t *wait; /* waiting for credentials */
	http_request_t *req;   /* in flight */
	http_timer_t *timer;   /* backoff */

	char request_id[OCI_REQUEST_ID_LEN];
	int64_t start_ms;
	void *done; /* the caller's callback, as its type */
	void *userdata;
};

static uint64_t random64(void)
{
	uint64_t v;

	oci_random_bytes(&v, sizeof(v));
	return v;
}

/* Appends to a message, bounded (http_errf cuts and keeps it one line). */
static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	char piece[CE_ERROR_MAX];
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	http_errf(buf + n, size - n, "%s", piece);
}

/* An OCID or work request id that goes into a path as it is. */
static bool id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > CE_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* Printable ASCII, nothing that could break a header line: an etag sent as if-match, a
 * work request id handed on. */
static bool token_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* ---- JSON bodies ------------------------------------------------------------------------ */

/* The body as a JSON object, nothing but whitespace after it. */
static cJSON *parse_object(const char *json, size_t len, char *err, size_t errsz)
{
	const char *end = NULL;
	cJSON *j;

	if (!json || !len) {
		http_errf(err, errsz, "empty body, expected a JSON object");
		return NULL;
	}
	j = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!j) {
		size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;

		http_errf(err, errsz, "not JSON (at byte %zu)", at);
		return NULL;
	}
	for (const char *p = end; p && p < json + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			http_errf(err, errsz, "not JSON (trailing data at byte %zu)",
				  (size_t)(p - json));
			cJSON_Delete(j);
			return NULL;
		}
	if (!cJSON_IsObject(j)) {
		http_errf(err, errsz, "expected a JSON object");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* The member key of o as a malloc'd string into *ret (NULL when absent or null). where is
 * the path of o ("", "nodes[3].", ...) for messages. */
static int get_string(const cJSON *o, const char *where, const char *key, char **ret, char *err,
		      size_t errsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t n;

	*ret = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring) {
		http_errf(err, errsz, "%s%s: expected a string", where, key);
		return -EINVAL;
	}
	n = strlen(v->valuestring);
	if (n > CE_MAX_STRING) {
		http_errf(err, errsz, "%s%s: longer than %d bytes", where, key, CE_MAX_STRING);
		return -EINVAL;
	}
	if (!(*ret = malloc(n + 1))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	memcpy(*ret, v->valuestring, n + 1);
	return 0;
}

/* An object member: NULL when absent or null, -EINVAL when not an object. */
static int get_object(const cJSON *o, const char *where, const char *key, const cJSON **ret,
		      char *err, size_t errsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*ret = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v)) {
		http_errf(err, errsz, "%s%s: expected an object", where, key);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static void node_clear(oci_node_t *n)
{
	free(n->id);
	free(n->name);
	free(n->lifecycle_state);
	free(n->private_ip);
	free(n->error_code);
	free(n->error_message);
	memset(n, 0, sizeof(*n));
}

static int parse_node(const cJSON *o, size_t i, oci_node_t *n, char *err, size_t errsz)
{
	char where[48], ewhere[64];
	const cJSON *ne;
	int rc;

	snprintf(where, sizeof(where), "nodes[%zu].", i);
	if (!cJSON_IsObject(o)) {
		http_errf(err, errsz, "nodes[%zu]: expected an object", i);
		return -EINVAL;
	}
	if ((rc = get_string(o, where, "id", &n->id, err, errsz)) < 0 ||
	    (rc = get_string(o, where, "name", &n->name, err, errsz)) < 0 ||
	    (rc = get_string(o, where, "lifecycleState", &n->lifecycle_state, err, errsz)) < 0 ||
	    (rc = get_string(o, where, "privateIp", &n->private_ip, err, errsz)) < 0 ||
	    (rc = get_object(o, where, "nodeError", &ne, err, errsz)) < 0)
		return rc;
	if (!ne)
		return 0;
	snprintf(ewhere, sizeof(ewhere), "%snodeError.", where);
	if ((rc = get_string(ne, ewhere, "code", &n->error_code, err, errsz)) < 0 ||
	    (rc = get_string(ne, ewhere, "message", &n->error_message, err, errsz)) < 0)
		return rc;
	return 0;
}

int oci_node_pool_parse(const char *json, size_t len, oci_node_pool_t *ret, char *err,
			size_t errsz)
{
	oci_node_pool_t p = { .size = -1 };
	const cJSON *ncd, *size, *nodes, *it;
	cJSON *j;
	size_t i = 0;
	int n, rc;

	if (!ret) {
		http_errf(err, errsz, "no place for the node pool");
		return -EINVAL;
	}
	if (!(j = parse_object(json, len, err, errsz)))
		return -EINVAL;
	if ((rc = get_string(j, "", "id", &p.id, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "name", &p.name, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "clusterId", &p.cluster_id, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "compartmentId", &p.compartment_id, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "lifecycleState", &p.lifecycle_state, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "nodeShape", &p.node_shape, err, errsz)) < 0 ||
	    (rc = get_object(j, "", "nodeConfigDetails", &ncd, err, errsz)) < 0)
		goto out;
	size = cJSON_GetObjectItemCaseSensitive(ncd, "size");
	if (size && !cJSON_IsNull(size)) {
		double v = cJSON_IsNumber(size) ? size->valuedouble : -1.0;

		if (!(v >= 0 && v <= INT32_MAX && v == (double)(int32_t)v)) {
			http_errf(err, errsz, "nodeConfigDetails.size: expected an integer from 0 "
					      "to %d",
				  INT32_MAX);
			rc = -EINVAL;
			goto out;
		}
		p.size = (int32_t)v;
	}
	nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes");
	if (nodes && !cJSON_IsNull(nodes)) {
		if (!cJSON_IsArray(nodes)) {
			http_errf(err, errsz, "nodes: expected an array");
			rc = -EINVAL;
			goto out;
		}
		n = cJSON_GetArraySize(nodes);
		if (n > CE_MAX_NODES) {
			http_errf(err, errsz, "nodes: more than %d nodes", CE_MAX_NODES);
			rc = -EINVAL;
			goto out;
		}
		if (n > 0 && !(p.nodes = calloc((size_t)n, sizeof(*p.nodes)))) {
			http_errf(err, errsz, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		p.n_nodes = (size_t)n;
		cJSON_ArrayForEach(it, nodes)
		{
			if ((rc = parse_node(it, i, &p.nodes[i], err, errsz)) < 0)
				goto out;
			i++;
		}
	}
	*ret = p;
	memset(&p, 0, sizeof(p));
	rc = 0;
out:
	oci_node_pool_clear(&p);
	cJSON_Delete(j);
	return rc;
}

void oci_node_pool_clear(oci_node_pool_t *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->name);
	free(p->cluster_id);
	free(p->compartment_id);
	free(p->lifecycle_state);
	free(p->node_shape);
	free(p->etag);
	for (size_t i = 0; p->nodes && i < p->n_nodes; i++)
		node_clear(&p->nodes[i]);
	free(p->nodes);
	memset(p, 0, sizeof(*p));
}

int oci_work_request_parse(const char *json, size_t len, oci_work_request_t *ret, char *err,
			   size_t errsz)
{
	oci_work_request_t w = { .percent_complete = -1 };
	const cJSON *pc;
	cJSON *j;
	int rc;

	if (!ret) {
		http_errf(err, errsz, "no place for the work request");
		return -EINVAL;
	}
	if (!(j = parse_object(json, len, err, errsz)))
		return -EINVAL;
	if ((rc = get_string(j, "", "id", &w.id, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "operationType", &w.operation_type, err, errsz)) < 0 ||
	    (rc = get_string(j, "", "status", &w.status, err, errsz)) < 0)
		goto out;
	/* Container Engine's WorkRequest has no percentComplete (other services' do): read it
	 * when present. */
	pc = cJSON_GetObjectItemCaseSensitive(j, "percentComplete");
	if (pc && !cJSON_IsNull(pc)) {
		if (!cJSON_IsNumber(pc) || !(pc->valuedouble >= 0 && pc->valuedouble <= 100)) {
			http_errf(err, errsz, "percentComplete: expected a number from 0 to 100");
			rc = -EINVAL;
			goto out;
		}
		w.percent_complete = pc->valuedouble;
	}
	*ret = w;
	memset(&w, 0, sizeof(w));
	rc = 0;
out:
	oci_work_request_clear(&w);
	cJSON_Delete(j);
	return rc;
}

void oci_work_request_clear(oci_work_request_t *w)
{
	if (!w)
		return;
	free(w->id);
	free(w->operation_type);
	free(w->status);
	memset(w, 0, sizeof(*w));
}

/* OCI's error body {"code","message"} and the opc-request-id header, bounded. */
/* ---- the client ------------------------------------------------------------------------- */

/* endpoint without its trailing slashes, then "/20180222". */
static char *base_of(const char *endpoint)
{
	size_t n = strlen(endpoint);
	char *s;

	while (n > 0 && endpoint[n - 1] == '/')
		n--;
	s = malloc(n + sizeof("/" OCI_CE_API_VERSION));
	if (s) {
		memcpy(s, endpoint, n);
		memcpy(s + n, "/" OCI_CE_API_VERSION, sizeof("/" OCI_CE_API_VERSION));
	}
	return s;
}

static bool endpoint_ok(const char *e)
{
	size_t n = strlen(e), skip;

	if (!strncmp(e, "https://", 8))
		skip = 8;
	else if (!strncmp(e, "http://", 7))
		skip = 7;
	else
		return false;
	if (n <= skip || n > CE_MAX_ENDPOINT || e[skip] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)e[i] <= 0x20 || (unsigned char)e[i] >= 0x7f || e[i] == '?' ||
		    e[i] == '#' || e[i] == '@')
			return false;
	return true;
}

int oci_ce_new(const oci_ce_opts_t *o, oci_ce_t **ret, char *err, size_t errsz)
{
	http_profile_opts_t po = { 0 };
	char perr[HTTP_ERROR_MAX];
	oci_ce_t *c;
	int rc;

	if (!o || !o->http || !o->auth || !ret) {
		http_errf(err, errsz, "oci: the Container Engine client needs an http client and "
				      "credentials");
		return -EINVAL;
	}
	if (o->endpoint && !endpoint_ok(o->endpoint)) {
		char shown[256];

		http_redact_url(shown, sizeof(shown), o->endpoint);
		http_errf(err, errsz, "oci.endpoint \"%s\": expected http:// or https:// and a "
				      "host, without user, query or fragment",
			  shown);
		return -EINVAL;
	}
	if (o->timeout_ms < 0 || o->retry.max_attempts < 0 ||
	    o->retry.max_attempts > HTTP_MAX_ATTEMPTS || o->retry.base_ms < 0 ||
	    o->retry.cap_ms < 0 || o->retry.max_retry_after_ms < 0 || o->max_in_flight < 0 ||
	    o->max_in_flight > HTTP_MAX_IN_FLIGHT_LIMIT) {
		http_errf(err, errsz, "oci: invalid Container Engine client options (timeout, "
				      "retry, max_in_flight)");
		return -EINVAL;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	c->http = o->http;
	c->auth = o->auth;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : OCI_DEFAULT_TIMEOUT_MS;
	c->retry = o->retry;
	if (!c->retry.max_attempts)
		c->retry.max_attempts = OCI_RETRY_ATTEMPTS;
	if (!c->retry.base_ms)
		c->retry.base_ms = HTTP_DEFAULT_RETRY_BASE_MS;
	if (!c->retry.cap_ms)
		c->retry.cap_ms = HTTP_DEFAULT_RETRY_CAP_MS;
	if (!c->retry.max_retry_after_ms)
		c->retry.max_retry_after_ms = HTTP_DEFAULT_MAX_RETRY_AFTER_MS;
	if (o->endpoint && !(c->base = base_of(o->endpoint))) {
		free(c);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	po.tls.ca_file = o->ca_file;
	po.max_in_flight = o->max_in_flight;
	rc = http_profile_new(&po, &c->profile, perr, sizeof(perr));
	if (rc < 0) {
		http_errf(err, errsz, "oci.ca_file: %s", perr);
		free(c->base);
		free(c);
		return rc;
	}
	*ret = c;
	return 0;
}

static void call_destroy(oci_ce_call_t *call)
{
	http_timer_free(call->timer);
	free(call->id);
	free(call->node_id);
	free(call->etag);
	free(call);
}

static void call_unlink(oci_ce_call_t *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else if (call->c->all == call)
		call->c->all = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
}

void oci_ce_cancel(oci_ce_t *c, oci_ce_call_t *call)
{
	oci_ce_call_t *i;

	if (!c || !call)
		return;
	for (i = c->all; i && i != call; i = i->next)
		;
	if (!i)
		return; /* done already, or inside its callback */
	call_unlink(call);
	if (call->wait)
		oci_auth_cancel(c->auth, call->wait);
	if (call->req)
		http_cancel(c->http, call->req);
	call_destroy(call);
}

oci_ce_t *oci_ce_free(oci_ce_t *c)
{
	if (!c)
		return NULL;
	while (c->all)
		oci_ce_cancel(c, c->all);
	http_profile_unref(c->profile);
	free(c->base);
	free(c);
	return NULL;
}

const char *oci_ce_endpoint(const oci_ce_t *c)
{
	return c ? c->base : NULL;
}

/* ---- one call --------------------------------------------------------------------------- */

/* "UpdateNodePool ocid1.nodepool...", what every message of the call starts with. */
static void describe(const oci_ce_call_t *call, char *buf, size_t size)
{
	if (call->op == OP_DELETE_NODE)
		snprintf(buf, size, "%s %s node %s", op_names[call->op], call->id, call->node_id);
	else
		snprintf(buf, size, "%s %s", op_names[call->op], call->id);
	if (call->reading && call->op != OP_GET_POOL)
		append(buf, size, ": reading the node pool's etag");
}

/* The callback, then the call is gone. Exactly one of the outputs is meaningful for the
 * call's operation. */
static void finish(oci_ce_call_t *call, oci_result_t *r, const oci_node_pool_t *pool,
		   const char *work_request_id, const oci_work_request_t *wr)
{
	r->attempts = call->attempts;
	r->elapsed_ms = oci_now_ms() - call->start_ms;
	r->code = r->code ? r->code : "";
	r->message = r->message ? r->message : "";
	r->request_id = r->request_id ? r->request_id : "";
	r->error = r->error ? r->error : "";
	call_unlink(call); /* first: the callback may cancel it, or free the client */
	switch (call->op) {
	case OP_GET_POOL:
		((oci_pool_fn *)call->done)(r, pool, call->userdata);
		break;
	case OP_SET_SIZE:
	case OP_DELETE_NODE:
		((oci_accepted_fn *)call->done)(r, work_request_id, call->userdata);
		break;
	case OP_GET_WORK:
		((oci_work_fn *)call->done)(r, wr, call->userdata);
		break;
	}
	call_destroy(call);
}

/* A failure without a response of OCI's to quote: the message is the whole error. */
static void fail_plain(oci_ce_call_t *call, http_outcome_t outcome, long status,
		       const oci_reply_t *rp, const char *error)
{
	oci_result_t r = { .outcome = outcome, .status = status, .error = error };

	if (rp) {
		r.code = rp->code;
		r.message = rp->message;
		r.request_id = rp->request_id;
	}
	finish(call, &r, NULL, NULL, NULL);
}

static void on_ready(const char *error, void *userdata);

/* Next attempt: credentials first (oci_auth_ready() calls back from the loop). 0, or
 * oci_auth_ready()'s error with err. */
static int attempt(oci_ce_call_t *call, char *err, size_t errsz)
{
	bool refresh = call->refresh;
	int rc;

	call->refresh = false;
	rc = oci_auth_ready(call->c->auth, refresh, on_ready, call, &call->wait, err, errsz);
	if (rc < 0)
		call->wait = NULL;
	return rc;
}

/* The same from the loop, where a failure is the call's end. */
static void next_attempt(oci_ce_call_t *call)
{
	char err[HTTP_ERROR_MAX], what[512], msg[CE_ERROR_MAX];

	if (attempt(call, err, sizeof(err)) == 0)
		return;
	describe(call, what, sizeof(what));
	http_errf(msg, sizeof(msg), "%s: credentials: %s", what, err);
	fail_plain(call, HTTP_PERMANENT, 0, NULL, msg);
}

static void on_timer(void *arg)
{
	next_attempt(arg);
}

/* The endpoint from the region, once the credentials know it. */
static int resolve_base(oci_ce_t *c, char *err, size_t errsz)
{
	const char *region = oci_auth_region(c->auth);
	char *s = NULL;

	if (!region) {
		http_errf(err, errsz, "the region is unknown (%s): set oci.region or oci.endpoint",
			  oci_auth_describe(c->auth));
		return -ENXIO;
	}
	if (!oci_region_valid(region)) {
		http_errf(err, errsz, "region \"%.80s\" is not a region name: set oci.region",
			  region);
		return -EINVAL;
	}
	if (asprintf(&s, "https://containerengine.%s.oci.%s/%s", region,
		     oci_region_domain(region), OCI_CE_API_VERSION) < 0) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	c->base = s;
	return 0;
}

/* overrideEvictionGraceDuration: whole minutes as PTnM, else PTnS (ISO 8601). */
static void format_grace(int s, char *buf, size_t size)
{
	if (s % 60 == 0)
		snprintf(buf, size, "PT%dM", s / 60);
	else
		snprintf(buf, size, "PT%dS", s);
}

static void on_http(http_response_t *res, void *userdata);

/* Signs and sends the current request; on_ready's second half. Runs from the loop. */
static void send_request(oci_ce_call_t *call)
{
	oci_ce_t *c = call->c;
	http_header_t hdr[OCI_SIGNED_MAX + 3];
	http_request_opts_t ro = { 0 };
	oci_signed_t sig = { 0 };
	char *url = NULL, body[64] = "", grace[16], err[HTTP_ERROR_MAX], what[512];
	char msg[CE_ERROR_MAX];
	const char *method = "GET";
	size_t nh = 0, body_len = 0;
	bool put = false;
	int n = -1, rc;

	if (call->reading || call->op == OP_GET_POOL) {
		n = asprintf(&url, "%s/nodePools/%s", c->base, call->id);
	} else if (call->op == OP_SET_SIZE) {
		method = "PUT";
		put = true;
		n = snprintf(body, sizeof(body), "{\"nodeConfigDetails\":{\"size\":%d}}",
			     (int)call->size);
		body_len = (size_t)n;
		n = asprintf(&url, "%s/nodePools/%s", c->base, call->id);
	} else if (call->op == OP_DELETE_NODE) {
		method = "DELETE";
		format_grace(call->grace_s, grace, sizeof(grace));
		n = asprintf(&url, "%s/nodePools/%s/node/%s?isDecrementSize=true&"
				   "overrideEvictionGraceDuration=%s",
			     c->base, call->id, call->node_id, grace);
	} else {
		n = asprintf(&url, "%s/workRequests/%s", c->base, call->id);
	}
	describe(call, what, sizeof(what));
	if (n < 0) {
		url = NULL;
		http_errf(msg, sizeof(msg), "%s: out of memory", what);
		goto fail;
	}
	rc = oci_auth_sign(c->auth,
			   &(oci_sign_input_t){ .method = method, .url = url,
						.body = put ? body : NULL, .body_len = body_len,
						.content_type = put ? "application/json" : NULL },
			   &sig, err, sizeof(err));
	if (rc < 0) {
		http_errf(msg, sizeof(msg), "%s: signing: %s", what, err);
		goto fail;
	}
	/* The signed headers as signed, host included, so that what the server sees is what
	 * was signed whatever curl would have written. */
	for (size_t i = 0; i < sig.n_headers && nh < OCI_SIGNED_MAX; i++)
		hdr[nh++] = sig.headers[i];
	hdr[nh++] = (http_header_t){ "accept", "application/json" };
	hdr[nh++] = (http_header_t){ "opc-request-id", call->request_id };
	if (!call->reading && call->etag && (call->op == OP_SET_SIZE || call->op == OP_DELETE_NODE))
		hdr[nh++] = (http_header_t){ "if-match", call->etag };
	ro.method = method;
	ro.url = url;
	ro.headers = hdr;
	ro.n_headers = nh;
	ro.body = put ? body : NULL;
	ro.body_len = body_len;
	ro.timeout_ms = c->timeout_ms;
	ro.retry = (http_retry_t){ .max_attempts = 1 }; /* each attempt signed anew, here */
	ro.profile = c->profile;
	ro.done = on_http;
	ro.userdata = call;
	rc = http_submit(c->http, &ro, &call->req, err, sizeof(err));
	oci_signed_free(&sig);
	free(url);
	if (rc < 0) {
		call->req = NULL;
		http_errf(msg, sizeof(msg), "%s: %s", what, err);
		fail_plain(call, HTTP_PERMANENT, 0, NULL, msg);
	}
	return;
fail:
	oci_signed_free(&sig);
	free(url);
	fail_plain(call, HTTP_PERMANENT, 0, NULL, msg);
}

static void on_ready(const char *error, void *userdata)
{
	oci_ce_call_t *call = userdata;
	char err[HTTP_ERROR_MAX], what[512], msg[CE_ERROR_MAX];

	call->wait = NULL;
	if (error) {
		/* Fetched credentials (metadata, federation, proxymux) may be back on the next
		 * try; a profile or key file that is wrong stays wrong. */
		oci_auth_mode_t m = oci_auth_mode(call->c->auth);

		describe(call, what, sizeof(what));
		http_errf(msg, sizeof(msg), "%s: credentials: %s", what, error);
		fail_plain(call,
			   m == OCI_AUTH_INSTANCE_PRINCIPAL || m == OCI_AUTH_WORKLOAD_IDENTITY ?
				   HTTP_RETRYABLE :
				   HTTP_PERMANENT,
			   0, NULL, msg);
		return;
	}
	if (!call->c->base && resolve_base(call->c, err, sizeof(err)) < 0) {
		describe(call, what, sizeof(what));
		http_errf(msg, sizeof(msg), "%s: %s", what, err);
		fail_plain(call, HTTP_PERMANENT, 0, NULL, msg);
		return;
	}
	send_request(call);
}

/* Retried per DESIGN section 7. */
static bool retryable(const http_response_t *res, const oci_reply_t *rp)
{
	if (res->cause != HTTP_CAUSE_STATUS)
		return res->cause == HTTP_CAUSE_CONNECT || res->cause == HTTP_CAUSE_TIMEOUT ||
		       res->cause == HTTP_CAUSE_CLOSED;
	switch (res->status) {
	case 409:
		return strcmp(rp->code, "IncorrectState") == 0;
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return true;
	default:
		return false;
	}
}

/* What an operator should look at, after the message. */
static void hint(const oci_ce_call_t *call, const http_response_t *res, char *buf, size_t size)
{
	oci_auth_mode_t mode = oci_auth_mode(call->c->auth);
	const char *who = mode == OCI_AUTH_INSTANCE_PRINCIPAL ? "dynamic-group G" :
			  mode == OCI_AUTH_WORKLOAD_IDENTITY  ? "any-user" :
								"group G";
	const char *where = mode == OCI_AUTH_WORKLOAD_IDENTITY ?
				    " where request.principal.type = 'workload'" :
				    "";
	char now[32];

	buf[0] = '\0';
	if (res->cause != HTTP_CAUSE_STATUS) {
		if (res->cause == HTTP_CAUSE_CONNECT)
			snprintf(buf, size, "check oci.endpoint (or oci.region) and the network");
		else if (res->cause == HTTP_CAUSE_TLS)
			snprintf(buf, size, "check oci.ca_file and oci.endpoint");
		else if (res->cause == HTTP_CAUSE_TIMEOUT || res->cause == HTTP_CAUSE_CLOSED)
			snprintf(buf, size, "check the network to oci.endpoint");
		return;
	}
	switch (res->status) {
	case 401:
		oci_iso_time(time(NULL), now);
		if (mode == OCI_AUTH_API_KEY)
			snprintf(buf, size,
				 "check that key_file is the key whose fingerprint is in the "
				 "profile, that it was uploaded for the user, and the clock "
				 "(over 5 minutes of skew is refused; local time %s); "
				 "credentials: %s",
				 now, oci_auth_describe(call->c->auth));
		else
			snprintf(buf, size,
				 "refused also after refreshing the session token: check %s "
				 "and the clock (over 5 minutes of skew is refused; local "
				 "time %s)",
				 oci_auth_describe(call->c->auth), now);
		break;
	case 404:
		if (call->op == OP_GET_WORK)
			snprintf(buf, size,
				 "check the work request id and an IAM policy such as 'Allow %s to "
				 "read cluster-work-requests in compartment C%s'",
				 who, where);
		else
			snprintf(buf, size,
				 "check the OCID and an IAM policy such as 'Allow %s to manage "
				 "cluster-node-pools in compartment C%s'",
				 who, where);
		break;
	case 412:
		snprintf(buf, size, "the node pool changed again after it was read anew (is "
				    "someone else editing it?)");
		break;
	default:
		break;
	}
}

static void failed(oci_ce_call_t *call, const http_response_t *res, const oci_reply_t *rp)
{
	char what[512], msg[CE_ERROR_MAX], h[600];
	http_outcome_t outcome = res->outcome;

	describe(call, what, sizeof(what));
	if (res->cause == HTTP_CAUSE_STATUS) {
		http_errf(msg, sizeof(msg), "%s: %ld", what, res->status);
		if (rp->code[0])
			append(msg, sizeof(msg), " %s", rp->code);
		if (rp->message[0])
			append(msg, sizeof(msg), ": %s", rp->message);
		if (rp->request_id[0])
			append(msg, sizeof(msg), " (opc-request-id %s)", rp->request_id);
		if (res->status == 409 && !strcmp(rp->code, "IncorrectState"))
			outcome = HTTP_RETRYABLE; /* the pool is busy: worth a later try */
	} else {
		http_errf(msg, sizeof(msg), "%s: %s", what, res->error);
	}
	if (call->tries > 1)
		append(msg, sizeof(msg), ", after %d attempts", call->tries);
	hint(call, res, h, sizeof(h));
	if (h[0])
		append(msg, sizeof(msg), ": %s", h);
	fail_plain(call, outcome, res->status, rp, msg);
}

/* The node is in the pool and not on its way out. DELETING counts as gone: after a DELETE
 * whose answer was lost, the retry's 412 re-read finds the node DELETING, and deleting it
 * again could only fail. */
static bool node_in(const oci_node_pool_t *p, const char *node_id)
{
	for (size_t i = 0; i < p->n_nodes; i++) {
		const char *st = p->nodes[i].lifecycle_state;

		if (p->nodes[i].id && !strcmp(p->nodes[i].id, node_id))
			return !st || (strcmp(st, "DELETING") != 0 && strcmp(st, "DELETED") != 0);
	}
	return false;
}

/* A 2xx. */
static void succeeded(oci_ce_call_t *call, const http_response_t *res, const oci_reply_t *rp)
{
	oci_result_t r = { .outcome = HTTP_SUCCESS, .status = res->status,
			   .request_id = rp->request_id };
	oci_node_pool_t pool = { 0 };
	oci_work_request_t wr = { 0 };
	char err[512], perr[600], what[512], msg[CE_ERROR_MAX];
	const char *h;

	if (call->reading || call->op == OP_GET_POOL) {
		if (oci_node_pool_parse(res->body, res->body_len, &pool, err, sizeof(err)) < 0) {
			http_errf(perr, sizeof(perr), "the answer is not a NodePool: %s", err);
			goto bad;
		}
		h = http_response_header(res, "etag");
		if (h && token_ok(h, CE_MAX_ETAG) && !(pool.etag = strdup(h))) {
			snprintf(perr, sizeof(perr), "out of memory");
			goto bad;
		}
		if (!call->reading) {
			finish(call, &r, &pool, NULL, NULL);
			oci_node_pool_clear(&pool);
			return;
		}
		if (call->op == OP_DELETE_NODE && !node_in(&pool, call->node_id)) {
			/* deleted meanwhile: what was asked for is done */
			oci_node_pool_clear(&pool);
			finish(call, &r, NULL, NULL, NULL);
			return;
		}
		if (!pool.etag) {
			snprintf(perr, sizeof(perr), "the answer has no etag header");
			goto bad;
		}
		free(call->etag);
		call->etag = pool.etag;
		pool.etag = NULL;
		oci_node_pool_clear(&pool);
		call->reading = false;
		call->tries = 0;
		next_attempt(call);
		return;
	}
	if (call->op == OP_GET_WORK) {
		if (oci_work_request_parse(res->body, res->body_len, &wr, err, sizeof(err)) < 0) {
			http_errf(perr, sizeof(perr), "the answer is not a WorkRequest: %s", err);
			goto bad;
		}
		finish(call, &r, NULL, NULL, &wr);
		oci_work_request_clear(&wr);
		return;
	}
	h = http_response_header(res, "opc-work-request-id");
	finish(call, &r, NULL, h && token_ok(h, CE_MAX_STRING) ? h : NULL, NULL);
	return;
bad:
	/* never act on what could not be read */
	oci_node_pool_clear(&pool);
	describe(call, what, sizeof(what));
	http_errf(msg, sizeof(msg), "%s: %ld, but %s", what, res->status, perr);
	if (rp->request_id[0])
		append(msg, sizeof(msg), " (opc-request-id %s)", rp->request_id);
	fail_plain(call, HTTP_PERMANENT, res->status, rp, msg);
}

static void on_http(http_response_t *res, void *userdata)
{
	oci_ce_call_t *call = userdata;
	oci_ce_t *c = call->c;
	oci_reply_t rp;
	int64_t delay, ra;

	call->req = NULL;
	call->attempts++;
	call->tries++;
	oci_reply_read(res, &rp);
	if (res->outcome == HTTP_SUCCESS) {
		succeeded(call, res, &rp);
		return;
	}
	if (res->cause == HTTP_CAUSE_STATUS && res->status == 401 &&
	    oci_auth_mode(c->auth) != OCI_AUTH_API_KEY && !call->retried_401) {
		call->retried_401 = true;
		call->refresh = true;
		next_attempt(call);
		return;
	}
	if (res->cause == HTTP_CAUSE_STATUS && res->status == 412 && !call->reading &&
	    (call->op == OP_SET_SIZE || call->op == OP_DELETE_NODE) && !call->retried_412) {
		call->retried_412 = true;
		call->reading = true;
		call->tries = 0;
		next_attempt(call);
		return;
	}
	if (retryable(res, &rp) && call->tries < c->retry.max_attempts) {
		delay = (int64_t)(random64() %
				  (uint64_t)(http_backoff_bound(c->retry.base_ms, c->retry.cap_ms,
								call->tries) +
					     1));
		ra = res->retry_after_ms;
		if (ra > c->retry.max_retry_after_ms)
			ra = c->retry.max_retry_after_ms;
		if (ra > delay)
			delay = ra;
		if (http_timer_arm(call->timer, delay) == 0)
			return;
	}
	failed(call, res, &rp);
}

/* Links a prepared call and starts it. 0, or -ENOMEM (the call is freed). */
static int call_start(oci_ce_t *c, oci_ce_call_t *call, oci_ce_call_t **ret, char *err,
		      size_t errsz)
{
	char aerr[HTTP_ERROR_MAX];
	int rc;

	call->c = c;
	call->start_ms = oci_now_ms();
	oci_request_id(call->request_id);
	if (http_timer_new(c->http, on_timer, call, &call->timer) < 0) {
		call->timer = NULL;
		call_destroy(call);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	call->next = c->all;
	if (c->all)
		c->all->prev = call;
	c->all = call;
	if ((rc = attempt(call, aerr, sizeof(aerr))) < 0) {
		call_unlink(call);
		http_errf(err, errsz, "%s %s: credentials: %s", op_names[call->op], call->id, aerr);
		call_destroy(call);
		return rc;
	}
	if (ret)
		*ret = call;
	return 0;
}

static oci_ce_call_t *call_new(op_t op, const char *id, void *done, void *userdata)
{
	oci_ce_call_t *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->op = op;
	call->done = done;
	call->userdata = userdata;
	if (!(call->id = strdup(id))) {
		free(call);
		return NULL;
	}
	return call;
}

int oci_ce_get_node_pool(oci_ce_t *c, const char *pool_id, oci_pool_fn *done, void *userdata,
			 oci_ce_call_t **ret, char *err, size_t errsz)
{
	oci_ce_call_t *call;

	if (!c || !done || !id_ok(pool_id)) {
		http_errf(err, errsz, "GetNodePool \"%.100s\": expected a node pool OCID "
				      "([A-Za-z0-9._-], at most %d bytes)",
			  pool_id ? pool_id : "", CE_MAX_ID);
		return -EINVAL;
	}
	if (!(call = call_new(OP_GET_POOL, pool_id, (void *)done, userdata))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return call_start(c, call, ret, err, errsz);
}

int oci_ce_set_node_pool_size(oci_ce_t *c, const char *pool_id, int32_t size,
			      const char *etag, oci_accepted_fn *done, void *userdata,
			      oci_ce_call_t **ret, char *err, size_t errsz)
{
	oci_ce_call_t *call;

	if (!c || !done || !id_ok(pool_id) || size < 0 || size > CE_MAX_POOL_SIZE ||
	    (etag && !token_ok(etag, CE_MAX_ETAG))) {
		http_errf(err, errsz, "UpdateNodePool \"%.100s\": expected a node pool OCID "
				      "([A-Za-z0-9._-]), a size from 0 to %d (not %ld) and a "
				      "printable etag or none",
			  pool_id ? pool_id : "", CE_MAX_POOL_SIZE, (long)size);
		return -EINVAL;
	}
	if (!(call = call_new(OP_SET_SIZE, pool_id, (void *)done, userdata)) ||
	    (etag && !(call->etag = strdup(etag)))) {
		if (call)
			call_destroy(call);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	call->size = size;
	call->reading = !etag;
	return call_start(c, call, ret, err, errsz);
}

int oci_ce_delete_node(oci_ce_t *c, const char *pool_id, const char *node_id,
		       const char *etag, int grace_s, oci_accepted_fn *done, void *userdata,
		       oci_ce_call_t **ret, char *err, size_t errsz)
{
	oci_ce_call_t *call;

	if (!c || !done || !id_ok(pool_id) || !id_ok(node_id) || grace_s < 0 ||
	    grace_s > CE_MAX_GRACE_S || (etag && !token_ok(etag, CE_MAX_ETAG))) {
		http_errf(err, errsz, "DeleteNode \"%.100s\" node \"%.100s\": expected OCIDs "
				      "([A-Za-z0-9._-]), a grace from 0 to %d s (not %d) and a "
				      "printable etag or none",
			  pool_id ? pool_id : "", node_id ? node_id : "", CE_MAX_GRACE_S,
			  grace_s);
		return -EINVAL;
	}
	if (!(call = call_new(OP_DELETE_NODE, pool_id, (void *)done, userdata)) ||
	    !(call->node_id = strdup(node_id)) || (etag && !(call->etag = strdup(etag)))) {
		if (call)
			call_destroy(call);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	call->grace_s = grace_s;
	return call_start(c, call, ret, err, errsz);
}

int oci_ce_get_work_request(oci_ce_t *c, const char *id, oci_work_fn *done, void *userdata,
			    oci_ce_call_t **ret, char *err, size_t errsz)
{
	oci_ce_call_t *call;

	if (!c || !done || !id_ok(id)) {
		http_errf(err, errsz, "GetWorkRequest \"%.100s\": expected a work request OCID "
				      "([A-Za-z0-9._-], at most %d bytes)",
			  id ? id : "", CE_MAX_ID);
		return -EINVAL;
	}
	if (!(call = call_new(OP_GET_WORK, id, (void *)done, userdata))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	return call_start(c, call, ret, err, errsz);
}
