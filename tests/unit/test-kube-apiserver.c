/* test-kube-apiserver.c - the fake Kubernetes API server (tests/fakes/kube-apiserver.h)
 * driven with blocking libcurl: authentication (tokens, client certificates over TLS with
 * the fake's CA), the RBAC of deploy/rbac.yaml (every rule used once, each denial with the
 * API server's exact message, and a table proving the service account has nothing else),
 * the scale subresource, selectors, watches (ADDED/MODIFIED/DELETED/BOOKMARK in order, 410
 * Expired, a dropped stream), Events and Leases validation, SelfSubjectAccessReviews,
 * injected faults and the call record.
 *
 * Each test starts its own fake in the fixture and stops it in the teardown (run after a
 * failure too with CK_FORK=no). Watches run on a thread of the test and are joined before
 * the test ends. No assertion is on how fast anything is: waits have generous ceilings that
 * only stop a test that would hang.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-tls.h"
#include "tests/fakes/kube-apiserver.h"
#include "tests/fakes/test-util.h"

#define SA KUBE_FAKE_SA
#define SA_TOKEN "sa-token-0123456789abcdef"
#define ADMIN_TOKEN "admin-token-fedcba9876543210"
#define WAIT_MS 20000L

static kube_fake_t *kf;
static char tmpdir[64];

/* ---- fixture ---------------------------------------------------------------------------*/

static void preload(void)
{
	static const char *const llama[] = { "app", "llama", NULL };
	static const char *const gpu[] = { "app", "llama", "tier", "gpu", NULL };
	static const char *const other[] = { "app", "other", NULL };
	static const char *const cost[] = { "keep", "me", NULL };
	struct kube_fake_deployment d = { "default", "llama", 3, -1, -1, llama };
	struct kube_fake_pod pods[] = {
		{ .ns = "default",
		  .name = "p-a",
		  .labels = gpu,
		  .annotations = cost,
		  .node_name = "n1",
		  .ready = true,
		  .owner_kind = "ReplicaSet",
		  .owner_name = "llama-5d4f" },
		{ .ns = "default", .name = "p-b", .labels = llama, .node_name = "n2" },
		{ .ns = "default",
		  .name = "p-c",
		  .labels = other,
		  .node_name = "n1",
		  .owner_kind = "DaemonSet",
		  .owner_name = "dcgm" },
		{ .ns = "other",
		  .name = "p-d",
		  .labels = llama,
		  .unschedulable = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." },
	};
	struct kube_fake_node n1 = { .name = "n1",
				     .node_pool_id = "ocid1.nodepool.oc1..pool1",
				     .provider_id = "ocid1.instance.oc1..i1",
				     .gpus = 2 };
	struct kube_fake_node n2 = { .name = "n2",
				     .node_pool_id = "ocid1.nodepool.oc1..pool1",
				     .provider_id = "ocid1.instance.oc1..i2",
				     .unschedulable = true,
				     .not_ready = true };

	ck_assert_int_eq(kube_fake_put_deployment(kf, &d), 0);
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++)
		ck_assert_int_eq(kube_fake_put_pod(kf, &pods[i]), 0);
	ck_assert_int_eq(kube_fake_put_node(kf, &n1), 0);
	ck_assert_int_eq(kube_fake_put_node(kf, &n2), 0);
	ck_assert_int_eq(kube_fake_put_hpa(kf, "default", "llama-hpa", "Deployment", "llama", 1, 8),
			 0);
	ck_assert_int_eq(kube_fake_put_scaledobject(kf, "default", "llama-so", "llama", 1, 8), 0);
	ck_assert_int_eq(
		kube_fake_put_json(kf, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
				       "\"metadata\":{\"name\":\"autoscalerd-state\","
				       "\"namespace\":\"kube-system\"},\"data\":{\"a\":\"1\"}}"),
		0);
}

static void start(const kube_fake_opts_t *o)
{
	ck_assert_int_eq(kube_fake_start(o, &kf), 0);
	ck_assert_int_eq(kube_fake_add_token(kf, SA_TOKEN, SA), 0);
	ck_assert_int_eq(kube_fake_add_token(kf, ADMIN_TOKEN, "admin"), 0);
	ck_assert_int_eq(kube_fake_set_admin(kf, "admin", true), 0);
	preload();
}

static void setup(void)
{
	start(NULL);
}

static void setup_tls(void)
{
	kube_fake_opts_t o = { .tls = true };

	start(&o);
}

static void teardown(void)
{
	kf = kube_fake_stop(kf);
	/* stop joined every thread of the fake, and the tests joined theirs */
	ck_assert_int_eq(test_threads(), 1);
}

static void tmp_setup(void)
{
	check_tmpdir(tmpdir, sizeof(tmpdir), "test-kube-apiserver");
}

static void tmp_teardown(void)
{
	test_rm_tree(tmpdir);
}

/* ---- HTTP ------------------------------------------------------------------------------*/

struct resp {
	CURLcode rc;
	long status;
	char *body;
	size_t len;
	char content_type[128], retry_after[32];
	cJSON *json;
};

struct opts {
	const char *token, *content_type, *body;
	const char *cert, *key; /* a client certificate (PEM) */
	const char *cafile;	/* NULL: the fake's CA as a blob */
	bool no_ca;
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

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct resp *r = ud;
	size_t len = size * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)(len - 12), p + 12);
		for (char *s = r->retry_after; *s; s++)
			if (*s == '\r' || *s == '\n')
				*s = '\0';
		memmove(r->retry_after, r->retry_after + (r->retry_after[0] == ' '),
			strlen(r->retry_after));
	}
	return len;
}

static void curl_common(CURL *c, const char *path, const struct opts *o, struct curl_slist **hdrs)
{
	char url[2048], h[512]; /* curl copies both */

	snprintf(url, sizeof(url), "%s%s", kube_fake_url(kf), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (o && o->token) {
		snprintf(h, sizeof(h), "Authorization: Bearer %s", o->token);
		*hdrs = curl_slist_append(*hdrs, h);
	}
	if (o && o->content_type) {
		snprintf(h, sizeof(h), "Content-Type: %s", o->content_type);
		*hdrs = curl_slist_append(*hdrs, h);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	if (kube_fake_ca_pem(kf) && !(o && o->no_ca)) {
		if (o && o->cafile) {
			curl_easy_setopt(c, CURLOPT_CAINFO, o->cafile);
		} else {
			struct curl_blob ca = { (void *)kube_fake_ca_pem(kf),
						strlen(kube_fake_ca_pem(kf)), CURL_BLOB_COPY };

			curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
		}
	}
	if (o && o->cert) {
		struct curl_blob cert = { (void *)o->cert, strlen(o->cert), CURL_BLOB_COPY };
		struct curl_blob key = { (void *)o->key, strlen(o->key), CURL_BLOB_COPY };

		curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
}

static struct resp http(const char *method, const char *path, const struct opts *o)
{
	struct resp r = { 0 };
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	char *ct = NULL;

	ck_assert_ptr_nonnull(c);
	curl_common(c, path, o, &hdrs);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (o && o->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	r.rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(r.content_type, sizeof(r.content_type), "%s", ct ? ct : "");
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (r.body)
		r.json = cJSON_Parse(r.body);
	return r;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	cJSON_Delete(r->json);
	*r = (struct resp){ 0 };
}

static struct resp get(const char *path, const char *token)
{
	struct opts o = { .token = token };

	return http("GET", path, &o);
}

static struct resp send_json(const char *method, const char *path, const char *token,
			     const char *content_type, const char *body)
{
	struct opts o = { .token = token, .content_type = content_type, .body = body };

	return http(method, path, &o);
}

#define MERGE "application/merge-patch+json"

static const char *jstr(const cJSON *j, const char *path)
{
	const cJSON *v = test_json_get(j, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *path)
{
	const cJSON *v = test_json_get(j, path);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", path);
	return v->valuedouble;
}

/* The response is a Status as the API server writes it. */
static void check_status(const struct resp *r, long code, const char *reason, const char *message)
{
	ck_assert_int_eq(r->rc, CURLE_OK);
	ck_assert_msg(r->status == code, "status %ld, want %ld: %s", r->status, code,
		      r->body ? r->body : "");
	ck_assert_str_eq(r->content_type, "application/json");
	ck_assert_ptr_nonnull(r->json);
	ck_assert_str_eq(jstr(r->json, "kind"), "Status");
	ck_assert_str_eq(jstr(r->json, "apiVersion"), "v1");
	ck_assert(cJSON_IsObject(test_json_get(r->json, "metadata")));
	ck_assert_str_eq(jstr(r->json, "status"), "Failure");
	ck_assert_str_eq(jstr(r->json, "reason"), reason);
	ck_assert_int_eq((long)jnum(r->json, "code"), code);
	if (message)
		ck_assert_str_eq(jstr(r->json, "message"), message);
}

static void check_ok(const struct resp *r, long code)
{
	ck_assert_int_eq(r->rc, CURLE_OK);
	ck_assert_msg(r->status == code, "status %ld, want %ld: %s", r->status, code,
		      r->body ? r->body : "");
	ck_assert_ptr_nonnull(r->json);
}

/* The names of a list's items, "a,b,c". */
static void item_names(const cJSON *list, char *buf, size_t size)
{
	const cJSON *it;
	size_t n = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(it, test_json_get(list, "items"))
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? "," : "",
				      jstr(it, "metadata.name"));
}

/* ---- watches on a thread ---------------------------------------------------------------*/

struct watcher {
	pthread_t thread;
	char path[1024];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *data;
	size_t len;
	bool done;
	CURLcode rc;
	long status;
};

static size_t on_watch(char *p, size_t size, size_t n, void *ud)
{
	struct watcher *w = ud;
	char *b;

	pthread_mutex_lock(&w->lock);
	b = realloc(w->data, w->len + size * n + 1);
	if (b) {
		memcpy(b + w->len, p, size * n);
		w->data = b;
		w->len += size * n;
		w->data[w->len] = '\0';
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return b ? size * n : 0;
}

static void *watch_run(void *arg)
{
	struct watcher *w = arg;
	struct opts o = { .token = SA_TOKEN };
	struct curl_slist *hdrs = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc = CURLE_FAILED_INIT;
	long status = 0;

	if (c) {
		curl_common(c, w->path, &o, &hdrs);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 120000L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		curl_slist_free_all(hdrs);
	}
	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	w->status = status;
	w->done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static struct watcher *watch_start(const char *path)
{
	struct watcher *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	snprintf(w->path, sizeof(w->path), "%s", path);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	ck_assert_int_eq(pthread_create(&w->thread, NULL, watch_run, w), 0);
	return w;
}

static int count_lines(const struct watcher *w)
{
	int n = 0;

	for (size_t i = 0; i < w->len; i++)
		n += w->data[i] == '\n';
	return n;
}

/* Waits until the stream has at least n lines (or ended); returns the lines it has. */
static int watch_wait(struct watcher *w, int n)
{
	struct timespec ts;
	int have;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&w->lock);
	while (count_lines(w) < n && !w->done &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
		;
	have = count_lines(w);
	pthread_mutex_unlock(&w->lock);
	return have;
}

/* Line i of the stream, parsed (the caller deletes it). */
static cJSON *watch_line(struct watcher *w, int i)
{
	cJSON *j = NULL;
	const char *p;

	pthread_mutex_lock(&w->lock);
	p = w->data;
	for (int k = 0; p && k < i; k++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p) {
		const char *end = strchr(p, '\n');

		if (end)
			j = cJSON_ParseWithLength(p, (size_t)(end - p));
	}
	pthread_mutex_unlock(&w->lock);
	ck_assert_msg(j != NULL, "no line %d", i);
	return j;
}

static void watch_check(struct watcher *w, int i, const char *type, const char *name)
{
	cJSON *j = watch_line(w, i);

	ck_assert_str_eq(jstr(j, "type"), type);
	if (name)
		ck_assert_str_eq(jstr(j, "object.metadata.name"), name);
	cJSON_Delete(j);
}

/* Joins the thread: the stream must have ended. */
static CURLcode watch_join(struct watcher *w)
{
	CURLcode rc;

	pthread_join(w->thread, NULL);
	rc = w->rc;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->data);
	free(w);
	return rc;
}

static uint64_t rv_of(const cJSON *j, const char *path)
{
	const char *s = jstr(j, path);

	ck_assert_ptr_nonnull(s);
	return strtoull(s, NULL, 10);
}

/* ---- authentication --------------------------------------------------------------------*/

START_TEST(test_authentication)
{
	struct resp r;
	struct kube_fake_call call;

	r = get("/api/v1/nodes", NULL);
	check_status(&r, 401, "Unauthorized", "Unauthorized");
	ck_assert_ptr_null(test_json_get(r.json, "details"));
	resp_free(&r);
	r = get("/api/v1/nodes", "not-a-known-token");
	check_status(&r, 401, "Unauthorized", "Unauthorized");
	resp_free(&r);
	ck_assert(kube_fake_last_call(kf, &call));
	ck_assert_str_eq(call.auth, "Bearer");
	ck_assert_str_eq(call.user, "");
	ck_assert_int_eq(call.status, 401);

	r = get("/api/v1/nodes", SA_TOKEN);
	check_ok(&r, 200);
	ck_assert_str_eq(jstr(r.json, "kind"), "NodeList");
	resp_free(&r);

	/* no other scheme authenticates */
	{
		struct curl_slist *h = NULL;
		CURL *c = curl_easy_init();
		long status = 0;

		curl_common(c, "/api/v1/nodes", NULL, &h);
		h = curl_slist_append(h, "Authorization: Basic YWRtaW46YWRtaW4=");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		r = (struct resp){ 0 };
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		ck_assert_int_eq(status, 401);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		free(r.body);
		ck_assert(kube_fake_last_call(kf, &call));
		ck_assert_str_eq(call.auth, "Basic");
	}

	/* a revoked (rotated-away) token stops working; its successor works */
	ck_assert_int_eq(kube_fake_add_token(kf, "rotated-token", SA), 0);
	kube_fake_remove_token(kf, SA_TOKEN);
	r = get("/api/v1/nodes", SA_TOKEN);
	check_status(&r, 401, "Unauthorized", "Unauthorized");
	resp_free(&r);
	r = get("/api/v1/nodes", "rotated-token");
	check_ok(&r, 200);
	resp_free(&r);
	ck_assert(kube_fake_last_call(kf, &call));
	ck_assert_str_eq(call.user, SA);
}
END_TEST

START_TEST(test_tls_client_certificates)
{
	char *cert = NULL, *key = NULL, *bad_cert = NULL, *bad_key = NULL, cafile[128];
	struct kube_fake_call call;
	struct opts o = { 0 };
	struct resp r;
	FILE *fp;

	ck_assert_ptr_nonnull(kube_fake_ca_pem(kf));
	ck_assert(strncmp(kube_fake_url(kf), "https://127.0.0.1:", 18) == 0);
	/* the CA written to a file for the client, as a kubeconfig would name it */
	snprintf(cafile, sizeof(cafile), "%s/ca.crt", tmpdir);
	fp = fopen(cafile, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(kube_fake_ca_pem(kf), fp);
	fclose(fp);

	/* the server's certificate verifies against the CA (and only with it) */
	o.token = SA_TOKEN;
	o.cafile = cafile;
	r = http("GET", "/api/v1/nodes", &o);
	check_ok(&r, 200);
	resp_free(&r);
	o.no_ca = true;
	r = http("GET", "/api/v1/nodes", &o);
	ck_assert_int_eq(r.rc, CURLE_PEER_FAILED_VERIFICATION);
	resp_free(&r);

	/* client certificate: CN is the user */
	ck_assert_int_eq(kube_fake_issue_client_cert(kf, SA, &cert, &key), 0);
	o = (struct opts){ .cert = cert, .key = key, .cafile = cafile };
	r = http("GET", "/api/v1/pods", &o);
	check_ok(&r, 200);
	resp_free(&r);
	ck_assert(kube_fake_last_call(kf, &call));
	ck_assert_str_eq(call.auth, "cert");
	ck_assert_str_eq(call.user, SA);
	ck_assert_str_eq(call.credential, SA);
	r = http("GET", "/api/v1/namespaces/default/secrets/s", &o);
	check_status(&r, 403, "Forbidden", NULL);
	resp_free(&r);

	/* a certificate the CA did not sign authenticates no one */
	ck_assert_int_eq(fake_tls_make_cert(SA, &bad_cert, &bad_key), 0);
	o = (struct opts){ .cert = bad_cert, .key = bad_key };
	r = http("GET", "/api/v1/pods", &o);
	check_status(&r, 401, "Unauthorized", "Unauthorized");
	resp_free(&r);
	/* ... but a good token next to it does, as in the union of authenticators */
	o.token = ADMIN_TOKEN;
	r = http("GET", "/api/v1/pods", &o);
	check_ok(&r, 200);
	resp_free(&r);
	ck_assert(kube_fake_last_call(kf, &call));
	ck_assert_str_eq(call.user, "admin");
	free(cert);
	free(key);
	free(bad_cert);
	free(bad_key);
	ck_assert_int_eq(kube_fake_issue_client_cert(kf, "", &cert, &key), -EINVAL);
}
END_TEST

/* ---- RBAC ------------------------------------------------------------------------------*/

static const char event_body[] =
	"{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\","
	"\"metadata\":{\"generateName\":\"llama.\",\"namespace\":\"default\"},"
	"\"eventTime\":\"2024-05-01T10:00:00.123456Z\","
	"\"reportingController\":\"autoscalerd.io/autoscalerd\","
	"\"reportingInstance\":\"autoscalerd-7d9f\",\"action\":\"Scale\","
	"\"reason\":\"SuccessfulRescale\",\"type\":\"Normal\","
	"\"regarding\":{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","
	"\"namespace\":\"default\",\"name\":\"llama\"},"
	"\"note\":\"New size: 4; reason: queue above target\"}";

static const char ssar_body[] =
	"{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\","
	"\"spec\":{\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":\"patch\","
	"\"group\":\"apps\",\"resource\":\"deployments\",\"subresource\":\"scale\","
	"\"name\":\"llama\"}}}";

#define LEASE_JSON(rv, renew)                                                                    \
	"{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":"  \
	"\"autoscalerd\",\"namespace\":\"kube-system\"" rv "},\"spec\":{\"holderIdentity\":"     \
	"\"pod-a\",\"leaseDurationSeconds\":15,\"acquireTime\":\"2024-05-01T10:00:00.000000Z\"," \
	"\"renewTime\":\"" renew "\",\"leaseTransitions\":0}}"

static const char cm_body[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
	"\"autoscalerd-state\",\"namespace\":\"kube-system\"},\"data\":{\"a\":\"2\"}}";

/* Every rule of deploy/rbac.yaml, used once by the service account. */
START_TEST(test_rbac_granted)
{
	static const struct {
		const char *method, *path, *content_type, *body;
		long status;
	} granted[] = {
		/* deployments/scale: get, patch */
		{ "GET", "/apis/apps/v1/namespaces/default/deployments/llama/scale", NULL, NULL,
		  200 },
		{ "PATCH", "/apis/apps/v1/namespaces/default/deployments/llama/scale", MERGE,
		  "{\"spec\":{\"replicas\":4}}", 200 },
		/* pods: list, watch, patch */
		{ "GET", "/api/v1/namespaces/default/pods", NULL, NULL, 200 },
		{ "GET", "/api/v1/pods", NULL, NULL, 200 },
		{ "GET", "/api/v1/pods?watch=true&timeoutSeconds=1", NULL, NULL, 200 },
		{ "PATCH", "/api/v1/namespaces/default/pods/p-a", MERGE,
		  "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":"
		  "\"-100\"}}}",
		  200 },
		/* nodes: list, watch, patch */
		{ "GET", "/api/v1/nodes", NULL, NULL, 200 },
		{ "GET", "/api/v1/nodes?watch=1&timeoutSeconds=1", NULL, NULL, 200 },
		{ "PATCH", "/api/v1/nodes/n1", MERGE, "{\"spec\":{\"unschedulable\":true}}", 200 },
		/* horizontalpodautoscalers, scaledobjects: list */
		{ "GET", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", NULL,
		  NULL, 200 },
		{ "GET", "/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects", NULL, NULL,
		  200 },
		/* events.k8s.io events: create */
		{ "POST", "/apis/events.k8s.io/v1/namespaces/default/events", "application/json",
		  event_body, 201 },
		/* selfsubjectaccessreviews: create */
		{ "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
		  "application/json", ssar_body, 201 },
		/* kube-system leases: create; get, update of "autoscalerd" */
		{ "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
		  "application/json", LEASE_JSON("", "2024-05-01T10:00:01.000000Z"), 201 },
		{ "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/autoscalerd",
		  NULL, NULL, 200 },
		{ "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/autoscalerd",
		  "application/json", LEASE_JSON("", "2024-05-01T10:00:02.000000Z"), 200 },
		/* kube-system configmaps: create; get, update of "autoscalerd-state" */
		{ "POST", "/api/v1/namespaces/kube-system/configmaps", "application/json",
		  "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
		  "\"metadata\":{\"name\":\"scratch\"}}",
		  201 },
		{ "GET", "/api/v1/namespaces/kube-system/configmaps/autoscalerd-state", NULL, NULL,
		  200 },
		{ "PUT", "/api/v1/namespaces/kube-system/configmaps/autoscalerd-state",
		  "application/json", cm_body, 200 },
	};

	for (size_t i = 0; i < sizeof(granted) / sizeof(granted[0]); i++) {
		struct resp r = send_json(granted[i].method, granted[i].path, SA_TOKEN,
					  granted[i].content_type, granted[i].body);

		ck_assert_msg(r.rc == CURLE_OK && r.status == granted[i].status, "%s %s: %ld %s",
			      granted[i].method, granted[i].path, r.status, r.body ? r.body : "");
		resp_free(&r);
	}
	ck_assert_int_eq(kube_fake_replicas(kf, "default", "llama"), 4);
}
END_TEST

#define DENIED "is forbidden: User \"" SA "\" cannot "

/* What the RBAC does not grant, with the API server's message. */
START_TEST(test_rbac_denied)
{
	static const struct {
		const char *method, *path, *message;
	} denied[] = {
		{ "DELETE", "/api/v1/namespaces/default/pods/p-a",
		  "pods \"p-a\" " DENIED
		  "delete resource \"pods\" in API group \"\" in the namespace \"default\"" },
		{ "GET", "/api/v1/namespaces/default/pods/p-a",
		  "pods \"p-a\" " DENIED
		  "get resource \"pods\" in API group \"\" in the namespace \"default\"" },
		{ "POST", "/api/v1/namespaces/default/pods",
		  "pods " DENIED
		  "create resource \"pods\" in API group \"\" in the namespace \"default\"" },
		{ "PUT", "/apis/apps/v1/namespaces/default/deployments/llama",
		  "deployments.apps \"llama\" " DENIED
		  "update resource \"deployments\" in API group \"apps\" in the namespace "
		  "\"default\"" },
		{ "GET", "/apis/apps/v1/namespaces/default/deployments/llama",
		  "deployments.apps \"llama\" " DENIED
		  "get resource \"deployments\" in API group \"apps\" in the namespace "
		  "\"default\"" },
		{ "PUT", "/apis/apps/v1/namespaces/default/deployments/llama/scale",
		  "deployments.apps \"llama\" " DENIED
		  "update resource \"deployments/scale\" in API group \"apps\" in the namespace "
		  "\"default\"" },
		{ "GET", "/api/v1/namespaces/default/secrets/s",
		  "secrets \"s\" " DENIED
		  "get resource \"secrets\" in API group \"\" in the namespace \"default\"" },
		{ "GET", "/api/v1/nodes/n1",
		  "nodes \"n1\" " DENIED
		  "get resource \"nodes\" in API group \"\" at the cluster scope" },
		{ "DELETE", "/api/v1/nodes/n1",
		  "nodes \"n1\" " DENIED
		  "delete resource \"nodes\" in API group \"\" at the cluster scope" },
		{ "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/other",
		  "leases.coordination.k8s.io \"other\" " DENIED
		  "get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace "
		  "\"kube-system\"" },
		{ "PATCH", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/autoscalerd",
		  "leases.coordination.k8s.io \"autoscalerd\" " DENIED
		  "patch resource \"leases\" in API group \"coordination.k8s.io\" in the namespace "
		  "\"kube-system\"" },
		{ "DELETE",
		  "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/autoscalerd",
		  "leases.coordination.k8s.io \"autoscalerd\" " DENIED
		  "delete resource \"leases\" in API group \"coordination.k8s.io\" in the "
		  "namespace \"kube-system\"" },
		{ "GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/autoscalerd",
		  "leases.coordination.k8s.io \"autoscalerd\" " DENIED
		  "get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace "
		  "\"default\"" },
		{ "GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases",
		  "leases.coordination.k8s.io " DENIED
		  "list resource \"leases\" in API group \"coordination.k8s.io\" in the namespace "
		  "\"kube-system\"" },
		{ "GET", "/api/v1/namespaces/kube-system/configmaps/other",
		  "configmaps \"other\" " DENIED
		  "get resource \"configmaps\" in API group \"\" in the namespace "
		  "\"kube-system\"" },
		{ "GET",
		  "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers?watch=true",
		  "horizontalpodautoscalers.autoscaling " DENIED
		  "watch resource \"horizontalpodautoscalers\" in API group \"autoscaling\" in the "
		  "namespace \"default\"" },
		{ "GET", "/apis/events.k8s.io/v1/namespaces/default/events",
		  "events.events.k8s.io " DENIED
		  "list resource \"events\" in API group \"events.k8s.io\" in the namespace "
		  "\"default\"" },
		{ "POST", "/api/v1/namespaces/default/events",
		  "events " DENIED
		  "create resource \"events\" in API group \"\" in the namespace \"default\"" },
		{ "GET", "/metrics", "forbidden: User \"" SA "\" cannot get path \"/metrics\"" },
	};

	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		struct resp r = send_json(
			denied[i].method, denied[i].path, SA_TOKEN,
			strcmp(denied[i].method, "PATCH") == 0 ? MERGE : "application/json",
			strcmp(denied[i].method, "GET") == 0 ? NULL : "{}");

		check_status(&r, 403, "Forbidden", denied[i].message);
		resp_free(&r);
	}
	/* the details name what was refused */
	{
		struct resp r = send_json(
			"PATCH", "/apis/apps/v1/namespaces/default/deployments/llama/scale",
			"other-token", MERGE, "{}");

		check_status(&r, 401, "Unauthorized", NULL);
		resp_free(&r);
		ck_assert_int_eq(kube_fake_add_token(kf, "nobody-token", "nobody"), 0);
		r = send_json("PATCH", "/apis/apps/v1/namespaces/default/deployments/llama/scale",
			      "nobody-token", MERGE, "{\"spec\":{\"replicas\":1}}");
		check_status(
			&r, 403, "Forbidden",
			"deployments.apps \"llama\" is forbidden: User \"nobody\" cannot patch "
			"resource \"deployments/scale\" in API group \"apps\" in the namespace "
			"\"default\"");
		ck_assert_str_eq(jstr(r.json, "details.name"), "llama");
		ck_assert_str_eq(jstr(r.json, "details.group"), "apps");
		ck_assert_str_eq(jstr(r.json, "details.kind"), "deployments");
		resp_free(&r);
	}
	ck_assert_int_eq(kube_fake_replicas(kf, "default", "llama"), 3);
}
END_TEST

/* deploy/rbac.yaml, restated: the service account may do this and nothing else. */
static bool expected(const char *verb, const char *group, const char *resource, const char *ns,
		     const char *name)
{
	bool ks = strcmp(ns, "kube-system") == 0;

#define IS(g, r) (strcmp(group, g) == 0 && strcmp(resource, r) == 0)
#define VERB(v) (strcmp(verb, v) == 0)
	if (IS("apps", "deployments/scale"))
		return VERB("get") || VERB("patch");
	if (IS("", "pods") || IS("", "nodes"))
		return VERB("list") || VERB("watch") || VERB("patch");
	if (IS("autoscaling", "horizontalpodautoscalers") || IS("keda.sh", "scaledobjects"))
		return VERB("list");
	if (IS("events.k8s.io", "events") || IS("authorization.k8s.io", "selfsubjectaccessreviews"))
		return VERB("create");
	if (IS("coordination.k8s.io", "leases"))
		return ks && (VERB("create") || ((VERB("get") || VERB("update")) &&
						 strcmp(name, "autoscalerd") == 0));
	if (IS("", "configmaps"))
		return ks && (VERB("create") || ((VERB("get") || VERB("update")) &&
						 strcmp(name, "autoscalerd-state") == 0));
	return false;
#undef IS
#undef VERB
}

START_TEST(test_rbac_nothing_else)
{
	static const char *const verbs[] = { "get",	 "list",  "watch",	 "create",
					     "update",	 "patch", "delete",	 "deletecollection",
					     "escalate", "bind",  "impersonate", "*" };
	static const char *const gr[][2] = {
		{ "apps", "deployments/scale" },
		{ "apps", "deployments" },
		{ "apps", "deployments/status" },
		{ "apps", "replicasets" },
		{ "apps", "daemonsets" },
		{ "", "pods" },
		{ "", "pods/status" },
		{ "", "pods/eviction" },
		{ "", "pods/exec" },
		{ "", "nodes" },
		{ "", "nodes/status" },
		{ "", "nodes/proxy" },
		{ "autoscaling", "horizontalpodautoscalers" },
		{ "keda.sh", "scaledobjects" },
		{ "keda.sh", "scaledjobs" },
		{ "events.k8s.io", "events" },
		{ "", "events" },
		{ "authorization.k8s.io", "selfsubjectaccessreviews" },
		{ "authorization.k8s.io", "subjectaccessreviews" },
		{ "coordination.k8s.io", "leases" },
		{ "", "configmaps" },
		{ "", "secrets" },
		{ "", "serviceaccounts" },
		{ "", "namespaces" },
		{ "rbac.authorization.k8s.io", "clusterroles" },
		{ "", "services" },
		{ "apps", "statefulsets/scale" },
	};
	static const char *const nss[] = { "default", "kube-system", "" };
	static const char *const names[] = { "", "autoscalerd", "autoscalerd-state", "llama", "x" };
	int checked = 0, allowed = 0;

	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		for (size_t g = 0; g < sizeof(gr) / sizeof(gr[0]); g++)
			for (size_t n = 0; n < sizeof(nss) / sizeof(nss[0]); n++)
				for (size_t m = 0; m < sizeof(names) / sizeof(names[0]); m++) {
					char res[64], *sub;
					bool want = expected(verbs[v], gr[g][0], gr[g][1], nss[n],
							     names[m]);
					bool got;

					snprintf(res, sizeof(res), "%s", gr[g][1]);
					sub = strchr(res, '/');
					if (sub)
						*sub++ = '\0';
					got = kube_fake_allowed(kf, SA, verbs[v], gr[g][0], res,
								sub ? sub : "", nss[n], names[m]);
					ck_assert_msg(got == want,
						      "%s %s/%s ns=%s name=%s: %d, want %d",
						      verbs[v], gr[g][0], gr[g][1], nss[n],
						      names[m], got, want);
					checked++;
					allowed += got;
				}
	ck_assert_int_gt(allowed, 0);
	ck_assert_int_gt(checked, 1000);
	/* an admin is allowed all of it, another user none */
	ck_assert(kube_fake_allowed(kf, "admin", "delete", "", "secrets", "", "default", "x"));
	ck_assert(!kube_fake_allowed(kf, "someone", "list", "", "pods", "", "default", ""));
	/* the service account of another namespace is not bound */
	ck_assert(!kube_fake_allowed(kf, "system:serviceaccount:default:autoscalerd", "list", "",
				     "pods", "", "default", ""));
}
END_TEST

START_TEST(test_rbac_file_errors)
{
	kube_fake_opts_t o = { 0 };
	kube_fake_t *other = NULL;
	char path[128];
	FILE *fp;

	o.rbac_path = "/nonexistent/rbac.yaml";
	ck_assert_int_eq(kube_fake_start(&o, &other), -ENOENT);
	ck_assert_ptr_null(other);
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: x}\n"
	      "rules:\n  - apiGroups: [\"\"]\n    resources: [pods]\n", /* no verbs */
	      fp);
	fclose(fp);
	o.rbac_path = path;
	ck_assert_int_eq(kube_fake_start(&o, &other), -EINVAL);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("kind: [unclosed\n", fp);
	fclose(fp);
	ck_assert_int_eq(kube_fake_start(&o, &other), -EINVAL);
	/* a RoleBinding to a ClusterRole grants it in its namespace only */
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"
	      "rules: [{apiGroups: [\"\"], resources: [\"*\"], verbs: [get]},\n"
	      "        {apiGroups: [\"*\"], resources: [\"*/scale\"], verbs: [\"*\"]}]\n---\n"
	      "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
	      "metadata: {name: b, namespace: team}\n"
	      "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\n"
	      "subjects: [{kind: Group, name: \"system:serviceaccounts:team\"},\n"
	      "           {kind: User, name: u}]\n",
	      fp);
	fclose(fp);
	ck_assert_int_eq(kube_fake_start(&o, &other), 0);
	ck_assert(kube_fake_allowed(other, "u", "get", "", "secrets", "", "team", "s"));
	ck_assert(!kube_fake_allowed(other, "u", "get", "", "secrets", "", "default", "s"));
	ck_assert(!kube_fake_allowed(other, "u", "list", "", "secrets", "", "team", ""));
	ck_assert(kube_fake_allowed(other, "system:serviceaccount:team:x", "update", "apps",
				    "statefulsets", "scale", "team", "s"));
	ck_assert(!kube_fake_allowed(other, "system:serviceaccount:other:x", "get", "", "pods", "",
				     "team", "p"));
	other = kube_fake_stop(other);
}
END_TEST

/* ---- scale -----------------------------------------------------------------------------*/

START_TEST(test_scale)
{
	static const char path[] = "/apis/apps/v1/namespaces/default/deployments/llama/scale";
	char *dep = NULL;
	uint64_t rv;
	cJSON *d;
	struct resp r;

	r = get(path, SA_TOKEN);
	check_ok(&r, 200);
	ck_assert_str_eq(jstr(r.json, "kind"), "Scale");
	ck_assert_str_eq(jstr(r.json, "apiVersion"), "autoscaling/v1");
	ck_assert_str_eq(jstr(r.json, "metadata.name"), "llama");
	ck_assert_str_eq(jstr(r.json, "metadata.namespace"), "default");
	ck_assert_ptr_nonnull(jstr(r.json, "metadata.uid"));
	ck_assert_ptr_nonnull(jstr(r.json, "metadata.creationTimestamp"));
	ck_assert_int_eq((int)jnum(r.json, "spec.replicas"), 3);
	ck_assert_int_eq((int)jnum(r.json, "status.replicas"), 3);
	ck_assert_str_eq(jstr(r.json, "status.selector"), "app=llama");
	rv = rv_of(r.json, "metadata.resourceVersion");
	ck_assert_int_eq(kube_fake_get_json(kf, "deployments", "default", "llama", &dep), 0);
	d = cJSON_Parse(dep);
	ck_assert_uint_eq(rv_of(d, "metadata.resourceVersion"), rv);
	cJSON_Delete(d);
	free(dep);
	resp_free(&r);

	/* the content type of a patch is checked */
	r = send_json("PATCH", path, SA_TOKEN, "application/json", "{\"spec\":{\"replicas\":5}}");
	check_status(&r, 415, "UnsupportedMediaType",
		     "the body of the request was in an unknown format - accepted media types "
		     "include: application/json-patch+json, application/merge-patch+json, "
		     "application/strategic-merge-patch+json, application/apply-patch+yaml");
	resp_free(&r);
	ck_assert_int_eq(kube_fake_replicas(kf, "default", "llama"), 3);

	r = send_json("PATCH", path, SA_TOKEN, MERGE, "{\"spec\":{\"replicas\":5}}");
	check_ok(&r, 200);
	ck_assert_int_eq((int)jnum(r.json, "spec.replicas"), 5);
	ck_assert_uint_gt(rv_of(r.json, "metadata.resourceVersion"), rv);
	resp_free(&r);
	ck_assert_int_eq(kube_fake_replicas(kf, "default", "llama"), 5);
	r = send_json("PATCH", path, SA_TOKEN, "application/merge-patch+json; charset=utf-8",
		      "{\"spec\":{\"replicas\":6}}");
	check_ok(&r, 200);
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, "application/strategic-merge-patch+json",
		      "{\"spec\":{\"replicas\":7}}");
	check_ok(&r, 200);
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, "application/json-patch+json",
		      "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":7},"
		      "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2}]");
	check_ok(&r, 200);
	resp_free(&r);
	ck_assert_int_eq(kube_fake_replicas(kf, "default", "llama"), 2);

	/* bad bodies */
	r = send_json("PATCH", path, SA_TOKEN, MERGE, "{\"spec\":{\"replicas\":");
	check_status(&r, 400, "BadRequest", NULL);
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, MERGE, "{\"spec\":{\"replicas\":\"many\"}}");
	check_status(&r, 422, "Invalid", NULL);
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, MERGE, "{\"spec\":{\"replicas\":-1}}");
	check_status(
		&r, 422, "Invalid",
		"Scale.autoscaling \"llama\" is invalid: spec.replicas: Invalid value: -1: must "
		"be greater than or equal to 0");
	ck_assert_str_eq(jstr(r.json, "details.causes.0.field"), "spec.replicas");
	ck_assert_str_eq(jstr(r.json, "details.causes.0.reason"), "FieldValueInvalid");
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, "application/json-patch+json",
		      "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":9}]");
	check_status(&r, 422, "Invalid", NULL);
	resp_free(&r);
	/* a stale resourceVersion in the patch: 409 */
	r = send_json("PATCH", path, SA_TOKEN, MERGE,
		      "{\"metadata\":{\"resourceVersion\":\"1\"},\"spec\":{\"replicas\":9}}");
	check_status(
		&r, 409, "Conflict",
		"Operation cannot be fulfilled on deployments.apps \"llama\": the object has "
		"been modified; please apply your changes to the latest version and try again");
	resp_free(&r);
	ck_assert_int_eq(kube_fake_replicas(kf, "default", "llama"), 2);

	/* an unknown Deployment */
	r = get("/apis/apps/v1/namespaces/default/deployments/nope/scale", SA_TOKEN);
	check_status(&r, 404, "NotFound", "deployments.apps \"nope\" not found");
	ck_assert_str_eq(jstr(r.json, "details.name"), "nope");
	ck_assert_str_eq(jstr(r.json, "details.group"), "apps");
	ck_assert_str_eq(jstr(r.json, "details.kind"), "deployments");
	resp_free(&r);
}
END_TEST

START_TEST(test_not_found_and_crd)
{
	struct resp r;

	r = get("/apis/apps/v1/namespaces/default/widgets", ADMIN_TOKEN);
	check_status(&r, 404, "NotFound", "the server could not find the requested resource");
	resp_free(&r);
	r = get("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects", SA_TOKEN);
	check_ok(&r, 200);
	ck_assert_str_eq(jstr(r.json, "kind"), "ScaledObjectList");
	/* CRD items keep their kind */
	ck_assert_str_eq(jstr(r.json, "items.0.kind"), "ScaledObject");
	ck_assert_str_eq(jstr(r.json, "items.0.spec.scaleTargetRef.name"), "llama");
	resp_free(&r);
	kube_fake_set_keda(kf, false);
	r = get("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects", SA_TOKEN);
	check_status(&r, 404, "NotFound", "the server could not find the requested resource");
	resp_free(&r);
	r = get("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", SA_TOKEN);
	check_ok(&r, 200);
	ck_assert_str_eq(jstr(r.json, "kind"), "HorizontalPodAutoscalerList");
	ck_assert_str_eq(jstr(r.json, "apiVersion"), "autoscaling/v2");
	ck_assert_ptr_null(test_json_get(r.json, "items.0.kind"));
	ck_assert_str_eq(jstr(r.json, "items.0.spec.scaleTargetRef.kind"), "Deployment");
	ck_assert_str_eq(jstr(r.json, "items.0.spec.scaleTargetRef.name"), "llama");
	resp_free(&r);
	r = get("/version", SA_TOKEN);
	check_ok(&r, 200);
	resp_free(&r);
	r = get("/api/v1/namespaces/default/pods/nope", ADMIN_TOKEN);
	check_status(&r, 404, "NotFound", "pods \"nope\" not found");
	resp_free(&r);
}
END_TEST

/* ---- lists and selectors ---------------------------------------------------------------*/

START_TEST(test_selectors)
{
	static const struct {
		const char *query, *names;
	} ok[] = {
		{ "", "p-a,p-b,p-c" },
		{ "labelSelector=app%3Dllama", "p-a,p-b" },
		{ "labelSelector=app%3D%3Dllama", "p-a,p-b" },
		{ "labelSelector=app!%3Dllama", "p-c" },
		{ "labelSelector=app%20in%20(llama,other)", "p-a,p-b,p-c" },
		{ "labelSelector=app%20notin%20(llama)", "p-c" },
		{ "labelSelector=tier", "p-a" },
		{ "labelSelector=!tier", "p-b,p-c" },
		{ "labelSelector=app%3Dllama,tier%3Dgpu", "p-a" },
		{ "labelSelector=app%3Dllama,!tier", "p-b" },
		{ "labelSelector=tier%20notin%20(gpu)", "p-b,p-c" },
		{ "labelSelector=app%3Dnone", "" },
		{ "labelSelector=app%20in%20()", "" }, /* the empty value: valid, as in Go */
		{ "labelSelector=app%20notin%20(,llama)", "p-c" },
		{ "fieldSelector=spec.nodeName%3Dn1", "p-a,p-c" },
		{ "fieldSelector=spec.nodeName!%3Dn1", "p-b" },
		{ "fieldSelector=spec.nodeName%3Dn1&labelSelector=app%3Dllama", "p-a" },
		{ "fieldSelector=metadata.name%3Dp-b", "p-b" },
	};
	static const struct {
		const char *query, *message;
	} bad[] = {
		{ "labelSelector=app%20in%20llama", "unable to parse requirement: found 'llama' "
						    "expected: '('" },
		{ "labelSelector=%3Dllama",
		  "found '=', expected: !, identifier, or 'end of string'" },
		{ "labelSelector=app%3Dllama,", "found '', expected: identifier after ','" },
		{ "labelSelector=app%20llama", "unable to parse requirement: found 'llama', "
					       "expected: in, notin, =, ==, !=, gt, lt" },
		{ "labelSelector=app%3Dllama%20x", "found 'x', expected: ',' or 'end of string'" },
		{ "labelSelector=-bad%3Dx", NULL },
		{ "labelSelector=app%3D-x-", NULL },
		{ "labelSelector=app%3E%3Dx", NULL },
		{ "labelSelector=a%20gt%201", NULL },
		{ "fieldSelector=spec.foo%3Dx", "field label not supported: spec.foo" },
		{ "fieldSelector=spec.nodeName", "invalid selector: 'spec.nodeName'; can't "
						 "understand 'spec.nodeName'" },
	};
	char path[512], names[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct resp r;

		snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods?%s", ok[i].query);
		r = get(path, SA_TOKEN);
		check_ok(&r, 200);
		ck_assert_str_eq(jstr(r.json, "kind"), "PodList");
		ck_assert_str_eq(jstr(r.json, "apiVersion"), "v1");
		ck_assert_uint_eq(rv_of(r.json, "metadata.resourceVersion"),
				  kube_fake_resource_version(kf));
		item_names(r.json, names, sizeof(names));
		ck_assert_msg(strcmp(names, ok[i].names) == 0, "%s: %s, want %s", ok[i].query,
			      names, ok[i].names);
		resp_free(&r);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct resp r;

		snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods?%s", bad[i].query);
		r = get(path, SA_TOKEN);
		check_status(&r, 400, "BadRequest", bad[i].message);
		resp_free(&r);
	}
	{
		/* every namespace; items without kind; the pod's shape */
		struct resp r = get("/api/v1/pods?labelSelector=app%3Dllama", SA_TOKEN);

		check_ok(&r, 200);
		item_names(r.json, names, sizeof(names));
		ck_assert_str_eq(names, "p-a,p-b,p-d");
		ck_assert_ptr_null(test_json_get(r.json, "items.0.kind"));
		ck_assert_str_eq(jstr(r.json, "items.0.spec.nodeName"), "n1");
		ck_assert_str_eq(jstr(r.json, "items.0.status.conditions.0.type"), "Ready");
		ck_assert_str_eq(jstr(r.json, "items.0.status.conditions.0.status"), "True");
		ck_assert_str_eq(jstr(r.json, "items.0.metadata.ownerReferences.0.kind"),
				 "ReplicaSet");
		ck_assert_str_eq(jstr(r.json, "items.2.status.phase"), "Pending");
		ck_assert_str_eq(jstr(r.json, "items.2.status.conditions.0.type"), "PodScheduled");
		ck_assert_str_eq(jstr(r.json, "items.2.status.conditions.0.status"), "False");
		ck_assert_str_eq(jstr(r.json, "items.2.status.conditions.0.reason"),
				 "Unschedulable");
		ck_assert_str_eq(jstr(r.json, "items.2.status.conditions.0.message"),
				 "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
		resp_free(&r);
	}
	{
		/* nodes: the pool annotation, providerID, GPUs, unschedulable */
		struct resp r =
			get("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse", SA_TOKEN);
		const cJSON *ann, *alloc;

		check_ok(&r, 200);
		item_names(r.json, names, sizeof(names));
		ck_assert_str_eq(names, "n1");
		ann = test_json_get(r.json, "items.0.metadata.annotations");
		ck_assert_str_eq(
			cJSON_GetObjectItemCaseSensitive(ann, "oci.oraclecloud.com/node-pool-id")
				->valuestring,
			"ocid1.nodepool.oc1..pool1");
		alloc = test_json_get(r.json, "items.0.status.allocatable");
		ck_assert_str_eq(
			cJSON_GetObjectItemCaseSensitive(alloc, "nvidia.com/gpu")->valuestring,
			"2");
		ck_assert_str_eq(jstr(r.json, "items.0.spec.providerID"), "ocid1.instance.oc1..i1");
		ck_assert_str_eq(jstr(r.json, "items.0.status.conditions.0.type"), "Ready");
		ck_assert_str_eq(jstr(r.json, "items.0.status.conditions.0.status"), "True");
		resp_free(&r);
		r = get("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue", SA_TOKEN);
		check_ok(&r, 200);
		item_names(r.json, names, sizeof(names));
		ck_assert_str_eq(names, "n2");
		ck_assert(cJSON_IsTrue(test_json_get(r.json, "items.0.spec.unschedulable")));
		ck_assert_str_eq(jstr(r.json, "items.0.status.conditions.0.status"), "False");
		resp_free(&r);
	}
}
END_TEST

/* ---- patches of pods and nodes ---------------------------------------------------------*/

START_TEST(test_pod_and_node_patch)
{
	struct resp r;
	char *s = NULL;
	cJSON *j;

	r = send_json(
		"PATCH", "/api/v1/namespaces/default/pods/p-a", SA_TOKEN, MERGE,
		"{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":"
		"\"-100\"}}}");
	check_ok(&r, 200);
	ck_assert_str_eq(jstr(r.json, "kind"), "Pod");
	resp_free(&r);
	ck_assert_int_eq(kube_fake_get_json(kf, "pods", "default", "p-a", &s), 0);
	j = cJSON_Parse(s);
	free(s);
	/* merged: the annotation that was there stays */
	ck_assert_str_eq(
		cJSON_GetObjectItemCaseSensitive(test_json_get(j, "metadata.annotations"),
						 "controller.kubernetes.io/pod-deletion-cost")
			->valuestring,
		"-100");
	ck_assert_str_eq(jstr(j, "metadata.annotations.keep"), "me");
	cJSON_Delete(j);
	/* null removes */
	r = send_json("PATCH", "/api/v1/namespaces/default/pods/p-a", SA_TOKEN, MERGE,
		      "{\"metadata\":{\"annotations\":{\"keep\":null}}}");
	check_ok(&r, 200);
	ck_assert_ptr_null(test_json_get(r.json, "metadata.annotations.keep"));
	resp_free(&r);
	/* an annotation is a string */
	r = send_json("PATCH", "/api/v1/namespaces/default/pods/p-a", SA_TOKEN, MERGE,
		      "{\"metadata\":{\"annotations\":{\"n\":1}}}");
	check_status(&r, 422, "Invalid", NULL);
	resp_free(&r);
	r = send_json("PATCH", "/api/v1/namespaces/default/pods/nope", SA_TOKEN, MERGE, "{}");
	check_status(&r, 404, "NotFound", "pods \"nope\" not found");
	resp_free(&r);

	/* cordon and uncordon */
	r = send_json("PATCH", "/api/v1/nodes/n1", SA_TOKEN,
		      "application/strategic-merge-patch+json",
		      "{\"spec\":{\"unschedulable\":true}}");
	check_ok(&r, 200);
	ck_assert(cJSON_IsTrue(test_json_get(r.json, "spec.unschedulable")));
	resp_free(&r);
	r = send_json("PATCH", "/api/v1/nodes/n1", SA_TOKEN, MERGE,
		      "{\"spec\":{\"unschedulable\":\"yes\"}}");
	check_status(&r, 422, "Invalid", NULL);
	resp_free(&r);
	r = send_json("PATCH", "/api/v1/nodes/n1", SA_TOKEN, MERGE,
		      "{\"spec\":{\"unschedulable\":null}}");
	check_ok(&r, 200);
	ck_assert_ptr_null(test_json_get(r.json, "spec.unschedulable"));
	resp_free(&r);
	/* a CRD takes no strategic merge patch */
	ck_assert_int_eq(kube_fake_set_admin(kf, SA, true), 0);
	r = send_json("PATCH", "/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/llama-so",
		      SA_TOKEN, "application/strategic-merge-patch+json", "{}");
	check_status(&r, 415, "UnsupportedMediaType",
		     "the body of the request was in an unknown format - accepted media types "
		     "include: application/json-patch+json, application/merge-patch+json, "
		     "application/apply-patch+yaml");
	resp_free(&r);
}
END_TEST

/* ---- watches ---------------------------------------------------------------------------*/

START_TEST(test_watch_events_in_order)
{
	static const char *const llama[] = { "app", "llama", NULL };
	static const char *const other[] = { "app", "other", NULL };
	struct kube_fake_pod p = {
		.ns = "default", .name = "p-new", .labels = llama, .node_name = "n1"
	};
	struct watcher *w;
	struct resp r;
	char path[512];
	uint64_t rv, last = 0;
	cJSON *j;

	r = get("/api/v1/namespaces/default/pods?labelSelector=app%3Dllama", SA_TOKEN);
	check_ok(&r, 200);
	rv = rv_of(r.json, "metadata.resourceVersion");
	resp_free(&r);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%" PRIu64
		 "&allowWatchBookmarks=true&labelSelector=app%%3Dllama",
		 rv);
	w = watch_start(path);
	ck_assert(kube_fake_wait_watches(kf, 1, WAIT_MS));

	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0); /* ADDED p-new */
	p.ready = true;
	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0); /* MODIFIED p-new */
	p = (struct kube_fake_pod){ .ns = "default", .name = "p-x", .labels = other };
	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0); /* not selected */
	p = (struct kube_fake_pod){ .ns = "other", .name = "p-y", .labels = llama };
	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0); /* another namespace */
	p = (struct kube_fake_pod){
		.ns = "default", .name = "p-b", .labels = other, .node_name = "n2"
	};
	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0); /* p-b leaves: DELETED */
	ck_assert_int_eq(kube_fake_delete(kf, "pods", "default", "p-a"), 0); /* DELETED */
	kube_fake_bookmark_now(kf);					     /* BOOKMARK */
	ck_assert_int_eq(watch_wait(w, 5), 5);
	watch_check(w, 0, "ADDED", "p-new");
	watch_check(w, 1, "MODIFIED", "p-new");
	watch_check(w, 2, "DELETED", "p-b");
	watch_check(w, 3, "DELETED", "p-a");
	watch_check(w, 4, "BOOKMARK", NULL);
	for (int i = 0; i < 5; i++) {
		j = watch_line(w, i);
		/* whole objects with kind and apiVersion, resourceVersions increasing */
		ck_assert_str_eq(jstr(j, "object.kind"), "Pod");
		ck_assert_str_eq(jstr(j, "object.apiVersion"), "v1");
		/* a bookmark may repeat the last change's resourceVersion */
		if (i < 4)
			ck_assert_uint_gt(rv_of(j, "object.metadata.resourceVersion"), last);
		else
			ck_assert_uint_ge(rv_of(j, "object.metadata.resourceVersion"), last);
		last = rv_of(j, "object.metadata.resourceVersion");
		if (i == 2)
			/* the previous content: the object as it was when it still matched */
			ck_assert_str_eq(jstr(j, "object.metadata.labels.app"), "llama");
		if (i == 4)
			ck_assert_ptr_null(test_json_get(j, "object.spec"));
		cJSON_Delete(j);
	}
	ck_assert_uint_eq(last, kube_fake_resource_version(kf));

	/* the connection breaks: the client sees a truncated stream */
	kube_fake_drop_watches(kf);
	ck_assert_int_ne(watch_join(w), CURLE_OK);
	ck_assert(kube_fake_wait_watches(kf, 0, WAIT_MS));

	/* resuming from the bookmark sends only what changed after it */
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%" PRIu64
		 "&timeoutSeconds=30",
		 last);
	w = watch_start(path);
	ck_assert(kube_fake_wait_watches(kf, 1, WAIT_MS));
	p = (struct kube_fake_pod){ .ns = "default", .name = "p-z", .labels = llama };
	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0);
	ck_assert_int_eq(watch_wait(w, 1), 1);
	watch_check(w, 0, "ADDED", "p-z");
	kube_fake_drop_watches(kf);
	watch_join(w);
}
END_TEST

START_TEST(test_watch_initial_and_timeout)
{
	struct watcher *w;
	struct kube_fake_call call;

	/* no resourceVersion: the current objects first, as ADDED; timeoutSeconds ends it */
	w = watch_start("/api/v1/nodes?watch=true&timeoutSeconds=1");
	ck_assert_int_eq(watch_wait(w, 3), 2);
	ck_assert_int_eq(watch_join(w), CURLE_OK);
	/* (watch_join freed w; count lines from the record instead) */
	ck_assert(kube_fake_last_call(kf, &call));
	ck_assert(call.watch);
	ck_assert_int_eq(call.status, 200);

	w = watch_start("/api/v1/nodes?watch=true&resourceVersion=0&timeoutSeconds=1");
	ck_assert_int_eq(watch_wait(w, 2), 2);
	watch_check(w, 0, "ADDED", "n1");
	watch_check(w, 1, "ADDED", "n2");
	ck_assert_int_eq(watch_join(w), CURLE_OK);
	ck_assert(kube_fake_wait_watches(kf, 0, WAIT_MS));

	/* a client that gives up on a quiet watch is soon not counted any more */
	{
		struct curl_slist *h = NULL;
		struct opts o = { .token = SA_TOKEN };
		struct resp r = { 0 };
		CURL *c = curl_easy_init();

		curl_common(c, "/api/v1/namespaces/default/pods?watch=true&resourceVersion=5000", &o,
			    &h);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		ck_assert_int_eq(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
		curl_easy_cleanup(c);
		curl_slist_free_all(h);
		free(r.body);
		ck_assert(kube_fake_wait_watches(kf, 0, WAIT_MS));
	}
}
END_TEST

START_TEST(test_watch_expired)
{
	struct watcher *w;
	char path[256];
	uint64_t old = kube_fake_resource_version(kf);
	static const char *const llama[] = { "app", "llama", NULL };
	struct kube_fake_pod p = { .ns = "default", .name = "p-new", .labels = llama };
	cJSON *j;

	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0);
	kube_fake_compact(kf);
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%" PRIu64, old);
	w = watch_start(path);
	/* an ERROR event with the 410 Status, inside a 200 stream that then ends */
	ck_assert_int_eq(watch_wait(w, 1), 1);
	j = watch_line(w, 0);
	ck_assert_str_eq(jstr(j, "type"), "ERROR");
	ck_assert_str_eq(jstr(j, "object.kind"), "Status");
	ck_assert_str_eq(jstr(j, "object.status"), "Failure");
	ck_assert_str_eq(jstr(j, "object.reason"), "Expired");
	ck_assert_int_eq((int)jnum(j, "object.code"), 410);
	ck_assert(strncmp(jstr(j, "object.message"), "too old resource version: ", 26) == 0);
	cJSON_Delete(j);
	ck_assert_int_eq(watch_join(w), CURLE_OK);

	/* the newest resourceVersion is still good */
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%" PRIu64
		 "&timeoutSeconds=1",
		 kube_fake_resource_version(kf));
	w = watch_start(path);
	ck_assert_int_eq(watch_wait(w, 1), 0);
	ck_assert_int_eq(watch_join(w), CURLE_OK);
}
END_TEST

START_TEST(test_watch_history_window)
{
	kube_fake_opts_t o = { .history = 3, .bookmark_interval_ms = 50 };
	static const char *const llama[] = { "app", "llama", NULL };
	struct kube_fake_pod p = { .ns = "default", .labels = llama };
	char path[256], name[16];
	struct watcher *w;
	uint64_t first;
	cJSON *j;

	kf = kube_fake_stop(kf);
	start(&o);
	first = kube_fake_resource_version(kf);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "h-%d", i);
		p.name = name;
		ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0);
	}
	/* within the last 3 changes of pods: served */
	snprintf(path, sizeof(path),
		 "/api/v1/namespaces/default/pods?watch=true&resourceVersion=%" PRIu64
		 "&allowWatchBookmarks=true",
		 first);
	w = watch_start(path);
	ck_assert_int_eq(watch_wait(w, 4), 4);
	watch_check(w, 0, "ADDED", "h-0");
	watch_check(w, 2, "ADDED", "h-2");
	/* periodic bookmarks */
	watch_check(w, 3, "BOOKMARK", NULL);
	kube_fake_drop_watches(kf);
	watch_join(w);
	/* one more change and the start has fallen out of the window */
	p.name = "h-3";
	ck_assert_int_eq(kube_fake_put_pod(kf, &p), 0);
	w = watch_start(path);
	ck_assert_int_eq(watch_wait(w, 1), 1);
	j = watch_line(w, 0);
	ck_assert_str_eq(jstr(j, "type"), "ERROR");
	ck_assert_int_eq((int)jnum(j, "object.code"), 410);
	cJSON_Delete(j);
	ck_assert_int_eq(watch_join(w), CURLE_OK);
}
END_TEST

/* ---- Events ----------------------------------------------------------------------------*/

START_TEST(test_events)
{
	static const char path[] = "/apis/events.k8s.io/v1/namespaces/default/events";
	static const struct {
		const char *drop, *field, *reason;
	} required[] = {
		{ "\"eventTime\":\"2024-05-01T10:00:00.123456Z\",", "eventTime",
		  "FieldValueRequired" },
		{ "\"reportingController\":\"autoscalerd.io/autoscalerd\",", "reportingController",
		  "FieldValueRequired" },
		{ "\"reportingInstance\":\"autoscalerd-7d9f\",", "reportingInstance",
		  "FieldValueRequired" },
		{ "\"action\":\"Scale\",", "action", "FieldValueRequired" },
		{ "\"reason\":\"SuccessfulRescale\",", "reason", "FieldValueRequired" },
		{ "\"type\":\"Normal\",", "type", "FieldValueInvalid" },
	};
	char body[2048], *list = NULL;
	struct resp r;
	cJSON *arr;

	r = send_json("POST", path, SA_TOKEN, "application/json", event_body);
	check_ok(&r, 201);
	ck_assert_str_eq(jstr(r.json, "kind"), "Event");
	ck_assert(strncmp(jstr(r.json, "metadata.name"), "llama.", 6) == 0);
	ck_assert_ptr_nonnull(jstr(r.json, "metadata.resourceVersion"));
	ck_assert_str_eq(jstr(r.json, "eventTime"), "2024-05-01T10:00:00.123456Z");
	resp_free(&r);
	ck_assert_int_eq(kube_fake_list_json(kf, "events", "default", &list), 0);
	arr = cJSON_Parse(list);
	free(list);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_str_eq(jstr(arr, "0.reason"), "SuccessfulRescale");
	cJSON_Delete(arr);

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *at = strstr(event_body, required[i].drop);
		const cJSON *c;
		bool found = false;

		ck_assert_ptr_nonnull(at);
		snprintf(body, sizeof(body), "%.*s%s", (int)(at - event_body), event_body,
			 at + strlen(required[i].drop));
		r = send_json("POST", path, SA_TOKEN, "application/json", body);
		check_status(&r, 422, "Invalid", NULL);
		ck_assert(strstr(jstr(r.json, "message"), " is invalid: "));
		ck_assert_str_eq(jstr(r.json, "details.kind"), "Event");
		cJSON_ArrayForEach(c, test_json_get(r.json, "details.causes"))
			found = found || (strcmp(jstr(c, "field"), required[i].field) == 0 &&
					  strcmp(jstr(c, "reason"), required[i].reason) == 0);
		ck_assert_msg(found, "no cause %s for %s", required[i].field, r.body);
		resp_free(&r);
	}
	/* without eventTime only that is reported (the other checks hang on it) */
	snprintf(
		body, sizeof(body), "%s",
		"{\"metadata\":{\"name\":\"e1\"},\"reason\":\"SuccessfulRescale\","
		"\"type\":\"Normal\","
		"\"regarding\":{\"namespace\":\"default\",\"name\":\"llama\"}}");
	r = send_json("POST", path, SA_TOKEN, "application/json", body);
	check_status(&r, 422, "Invalid",
		     "Event.events.k8s.io \"e1\" is invalid: eventTime: Required value");
	resp_free(&r);
	/* an empty reportingController is required and not a qualified name */
	snprintf(
		body, sizeof(body), "%s",
		"{\"metadata\":{\"name\":\"e2\"},\"eventTime\":\"2024-05-01T10:00:00.000000Z\","
		"\"reportingInstance\":\"i\",\"action\":\"Scale\",\"reason\":\"R\","
		"\"type\":\"Normal\","
		"\"regarding\":{\"namespace\":\"default\",\"name\":\"llama\"}}");
	r = send_json("POST", path, SA_TOKEN, "application/json", body);
	check_status(&r, 422, "Invalid",
		     "Event.events.k8s.io \"e2\" is invalid: [reportingController: Required value, "
		     "reportingController: Invalid value: \"\": name part must be non-empty, "
		     "reportingController: Invalid value: \"\": name part must consist of "
		     "alphanumeric characters, '-', '_' or '.', and must start and end with an "
		     "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
		     "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')]");
	ck_assert_int_eq(cJSON_GetArraySize(test_json_get(r.json, "details.causes")), 3);
	resp_free(&r);

	/* eventTime is a MicroTime: six fractional digits, or the body does not decode */
	snprintf(body, sizeof(body), "%s", event_body);
	memcpy(strstr(body, "00.123456Z"), "00Z\",\"x\":\"", 10);
	r = send_json("POST", path, SA_TOKEN, "application/json", body);
	check_status(&r, 400, "BadRequest", NULL);
	ck_assert(
		strstr(jstr(r.json, "message"),
		       "cannot be handled as a Event: parsing time \"2024-05-01T10:00:00Z\" as "
		       "\"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\""));
	resp_free(&r);
	snprintf(body, sizeof(body), "%s", event_body);
	memcpy(strstr(body, ".123456Z"), ".123Z\",\"x\":\"", 12);
	r = send_json("POST", path, SA_TOKEN, "application/json", body);
	check_status(&r, 400, "BadRequest", NULL);
	resp_free(&r);
	r = send_json("POST", path, SA_TOKEN, "application/json", "{not json");
	check_status(&r, 400, "BadRequest", NULL);
	resp_free(&r);
}
END_TEST

/* ---- Leases ----------------------------------------------------------------------------*/

START_TEST(test_leases)
{
	static const char coll[] = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases";
	static const char one[] =
		"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/autoscalerd";
	char body[1024];
	const char *at;
	uint64_t rv1, rv2;
	struct resp r;

	r = send_json("POST", coll, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T10:00:01.000000Z"));
	check_ok(&r, 201);
	ck_assert_str_eq(jstr(r.json, "kind"), "Lease");
	ck_assert_str_eq(jstr(r.json, "spec.holderIdentity"), "pod-a");
	ck_assert_str_eq(jstr(r.json, "spec.renewTime"), "2024-05-01T10:00:01.000000Z");
	rv1 = rv_of(r.json, "metadata.resourceVersion");
	resp_free(&r);
	r = send_json("POST", coll, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T10:00:01.000000Z"));
	check_status(&r, 409, "AlreadyExists",
		     "leases.coordination.k8s.io \"autoscalerd\" already exists");
	resp_free(&r);

	r = get(one, SA_TOKEN);
	check_ok(&r, 200);
	ck_assert_uint_eq(rv_of(r.json, "metadata.resourceVersion"), rv1);
	resp_free(&r);

	/* renew with the current resourceVersion */
	snprintf(body, sizeof(body),
		 LEASE_JSON(",\"resourceVersion\":\"%" PRIu64 "\"", "2024-05-01T10:00:05.000000Z"),
		 rv1);
	r = send_json("PUT", one, SA_TOKEN, "application/json", body);
	check_ok(&r, 200);
	rv2 = rv_of(r.json, "metadata.resourceVersion");
	ck_assert_uint_gt(rv2, rv1);
	resp_free(&r);
	/* the same again: that resourceVersion is stale now */
	r = send_json("PUT", one, SA_TOKEN, "application/json", body);
	check_status(
		&r, 409, "Conflict",
		"Operation cannot be fulfilled on leases.coordination.k8s.io \"autoscalerd\": "
		"the object has been modified; please apply your changes to the latest version "
		"and try again");
	ck_assert_str_eq(jstr(r.json, "details.name"), "autoscalerd");
	ck_assert_str_eq(jstr(r.json, "details.group"), "coordination.k8s.io");
	ck_assert_str_eq(jstr(r.json, "details.kind"), "leases");
	resp_free(&r);

	/* MicroTime: RFC 3339 seconds do not decode (400) */
	r = send_json("PUT", one, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T10:00:05Z"));
	check_status(&r, 400, "BadRequest", NULL);
	ck_assert(strstr(jstr(r.json, "message"), "Lease in version \"v1\" cannot be handled as a "
						  "Lease: parsing time \"2024-05-01T10:00:05Z\""));
	resp_free(&r);
	r = send_json("PUT", one, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T10:00:05.123456789Z"));
	check_status(&r, 400, "BadRequest", NULL);
	resp_free(&r);
	r = send_json("PUT", one, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-02-30T10:00:05.000000Z"));
	check_status(&r, 400, "BadRequest", NULL);
	resp_free(&r);
	/* an offset is fine */
	r = send_json("PUT", one, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T12:00:05.000000+02:00"));
	check_ok(&r, 200);
	resp_free(&r);
	/* validation: 422 */
	snprintf(body, sizeof(body), "%s", LEASE_JSON("", "2024-05-01T10:00:06.000000Z"));
	at = strstr(body, "\"leaseDurationSeconds\":15");
	ck_assert_ptr_nonnull(at);
	memcpy(body + (at - body), "\"leaseDurationSeconds\":00", 25);
	r = send_json("PUT", one, SA_TOKEN, "application/json", body);
	check_status(&r, 422, "Invalid",
		     "Lease.coordination.k8s.io \"autoscalerd\" is invalid: "
		     "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0");
	resp_free(&r);
	/* the name on the URL is the object's */
	r = send_json("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/other",
		      ADMIN_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T10:00:06.000000Z"));
	check_status(&r, 400, "BadRequest",
		     "the name of the object (autoscalerd) does not match the name on the URL "
		     "(other)");
	resp_free(&r);
	/* no update of what does not exist */
	ck_assert_int_eq(kube_fake_delete(kf, "leases", "kube-system", "autoscalerd"), 0);
	r = send_json("PUT", one, SA_TOKEN, "application/json",
		      LEASE_JSON("", "2024-05-01T10:00:06.000000Z"));
	check_status(&r, 404, "NotFound", "leases.coordination.k8s.io \"autoscalerd\" not found");
	resp_free(&r);
}
END_TEST

/* ---- SelfSubjectAccessReview -----------------------------------------------------------*/

static struct resp ssar(const char *attrs)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SelfSubjectAccessReview\","
		 "\"spec\":{%s}}",
		 attrs);
	return send_json("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", SA_TOKEN,
			 "application/json", body);
}

START_TEST(test_ssar)
{
	struct resp r;

	r = ssar(
		"\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":\"patch\",\"group\":"
		"\"apps\",\"resource\":\"deployments\",\"subresource\":\"scale\","
		"\"name\":\"llama\"}");
	check_ok(&r, 201);
	ck_assert_str_eq(jstr(r.json, "kind"), "SelfSubjectAccessReview");
	ck_assert_str_eq(jstr(r.json, "spec.resourceAttributes.verb"), "patch");
	ck_assert(cJSON_IsTrue(test_json_get(r.json, "status.allowed")));
	ck_assert_str_eq(jstr(r.json, "status.reason"),
			 "RBAC: allowed by ClusterRoleBinding \"autoscalerd\" of ClusterRole "
			 "\"autoscalerd\" to ServiceAccount \"autoscalerd/kube-system\"");
	resp_free(&r);
	r = ssar(
		"\"resourceAttributes\":{\"namespace\":\"kube-system\",\"verb\":\"update\","
		"\"group\":\"coordination.k8s.io\",\"resource\":\"leases\","
		"\"name\":\"autoscalerd\"}");
	check_ok(&r, 201);
	ck_assert(cJSON_IsTrue(test_json_get(r.json, "status.allowed")));
	ck_assert_str_eq(jstr(r.json, "status.reason"),
			 "RBAC: allowed by RoleBinding \"autoscalerd/kube-system\" of Role "
			 "\"autoscalerd\" to ServiceAccount \"autoscalerd/kube-system\"");
	resp_free(&r);
	r = ssar("\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":\"delete\","
		 "\"resource\":\"pods\"}");
	check_ok(&r, 201);
	ck_assert(cJSON_IsFalse(test_json_get(r.json, "status.allowed")));
	ck_assert_ptr_null(test_json_get(r.json, "status.reason"));
	resp_free(&r);
	r = ssar("\"nonResourceAttributes\":{\"path\":\"/metrics\",\"verb\":\"get\"}");
	check_ok(&r, 201);
	ck_assert(cJSON_IsFalse(test_json_get(r.json, "status.allowed")));
	resp_free(&r);
	r = ssar("\"user\":\"x\"");
	check_status(&r, 422, "Invalid", NULL);
	ck_assert_str_eq(jstr(r.json, "details.causes.0.field"), "spec.resourceAttributes");
	resp_free(&r);
}
END_TEST

/* ---- faults and the record -------------------------------------------------------------*/

START_TEST(test_fail_next)
{
	struct resp r;
	struct timespec t0, t1;
	double took;

	ck_assert_int_eq(kube_fake_fail_next(kf, NULL, 2, 429, 3, 0), 0);
	for (int i = 0; i < 2; i++) {
		r = get("/api/v1/nodes", SA_TOKEN);
		check_status(&r, 429, "TooManyRequests",
			     "Too many requests, please try again later.");
		ck_assert_str_eq(r.retry_after, "3");
		ck_assert_int_eq((int)jnum(r.json, "details.retryAfterSeconds"), 3);
		resp_free(&r);
	}
	r = get("/api/v1/nodes", SA_TOKEN);
	check_ok(&r, 200);
	ck_assert_str_eq(r.retry_after, "");
	resp_free(&r);

	/* by path, in the order queued */
	ck_assert_int_eq(kube_fake_fail_next(kf, "/scale", 1, 503, 0, 0), 0);
	ck_assert_int_eq(kube_fake_fail_next(kf, "/scale", 1, 500, 0, 0), 0);
	r = get("/api/v1/namespaces/default/pods", SA_TOKEN);
	check_ok(&r, 200);
	resp_free(&r);
	r = get("/apis/apps/v1/namespaces/default/deployments/llama/scale", SA_TOKEN);
	check_status(&r, 503, "ServiceUnavailable", NULL);
	ck_assert_str_eq(r.retry_after, "");
	resp_free(&r);
	r = get("/apis/apps/v1/namespaces/default/deployments/llama/scale", SA_TOKEN);
	check_status(&r, 500, "InternalError", NULL);
	resp_free(&r);
	r = get("/apis/apps/v1/namespaces/default/deployments/llama/scale", SA_TOKEN);
	check_ok(&r, 200);
	resp_free(&r);

	/* only a delay: the call then succeeds, no sooner */
	ck_assert_int_eq(kube_fake_fail_next(kf, NULL, 1, 0, 0, 300), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = get("/api/v1/nodes", SA_TOKEN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	check_ok(&r, 200);
	resp_free(&r);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_double_ge(took, 0.3);

	/* faults come before authentication; clearing them */
	ck_assert_int_eq(kube_fake_fail_next(kf, NULL, 5, 504, 0, 0), 0);
	r = get("/api/v1/nodes", NULL);
	check_status(&r, 504, "Timeout", NULL);
	resp_free(&r);
	kube_fake_clear_faults(kf);
	r = get("/api/v1/nodes", SA_TOKEN);
	check_ok(&r, 200);
	resp_free(&r);
	ck_assert_int_eq(kube_fake_fail_next(kf, NULL, 0, 500, 0, 0), -EINVAL);
	ck_assert_int_eq(kube_fake_fail_next(kf, NULL, 1, 0, 0, 0), -EINVAL);
}
END_TEST

START_TEST(test_call_record)
{
	static const char path[] = "/apis/apps/v1/namespaces/default/deployments/llama/scale";
	struct kube_fake_call call;
	char fp[24];
	struct resp r;

	kube_fake_clear_calls(kf);
	ck_assert_uint_eq(kube_fake_call_count(kf), 0);
	ck_assert(!kube_fake_last_call(kf, &call));
	r = get("/api/v1/namespaces/default/pods?labelSelector=app%3Dllama", SA_TOKEN);
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, MERGE, "{\"spec\":{\"replicas\":4}}");
	resp_free(&r);
	r = send_json("PATCH", path, SA_TOKEN, "application/json", "{\"spec\":{\"replicas\":4}}");
	resp_free(&r);
	ck_assert_uint_eq(kube_fake_call_count(kf), 3);
	ck_assert_uint_eq(kube_fake_count_calls(kf, "PATCH", "/scale"), 2);
	ck_assert_uint_eq(kube_fake_count_calls(kf, NULL, "labelSelector=app%3Dllama"), 1);
	ck_assert_uint_eq(kube_fake_count_calls(kf, "GET", NULL), 1);

	ck_assert(kube_fake_call(kf, 0, &call));
	ck_assert_str_eq(call.method, "GET");
	/* the target as sent, query and escapes included */
	ck_assert_str_eq(call.target, "/api/v1/namespaces/default/pods?labelSelector=app%3Dllama");
	ck_assert_int_eq(call.status, 200);
	ck_assert(!call.watch);
	ck_assert(kube_fake_call(kf, 1, &call));
	ck_assert_str_eq(call.method, "PATCH");
	ck_assert_str_eq(call.target, path);
	ck_assert_str_eq(call.content_type, MERGE);
	ck_assert_str_eq(call.body, "{\"spec\":{\"replicas\":4}}");
	ck_assert_uint_eq(call.body_len, strlen(call.body));
	ck_assert_str_eq(call.auth, "Bearer");
	ck_assert_str_eq(call.user, SA);
	kube_fake_fingerprint(SA_TOKEN, fp);
	ck_assert_str_eq(call.credential, fp);
	ck_assert(strncmp(fp, "sha256:", 7) == 0 && strlen(fp) == 23);
	ck_assert_int_eq(call.status, 200);
	ck_assert(kube_fake_last_call(kf, &call));
	ck_assert_int_eq(call.status, 415);
	ck_assert(!kube_fake_call(kf, 3, &call));
	/* no token anywhere in the record */
	for (size_t i = 0; kube_fake_call(kf, i, &call); i++)
		ck_assert_ptr_null(memmem(&call, sizeof(call), SA_TOKEN, strlen(SA_TOKEN)));
	kube_fake_clear_calls(kf);
	ck_assert_uint_eq(kube_fake_call_count(kf), 0);
}
END_TEST

START_TEST(test_concurrent_clients)
{
	/* watches and plain calls at once; stop ends the streams */
	struct watcher *w[4];

	for (int i = 0; i < 4; i++)
		w[i] = watch_start("/api/v1/pods?watch=true");
	ck_assert(kube_fake_wait_watches(kf, 4, WAIT_MS));
	for (int i = 0; i < 20; i++) {
		struct resp r = get("/api/v1/nodes", SA_TOKEN);

		check_ok(&r, 200);
		resp_free(&r);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(watch_wait(w[i], 4), 4);
	kf = kube_fake_stop(kf);
	for (int i = 0; i < 4; i++)
		ck_assert_int_ne(watch_join(w[i]), CURLE_OK);
}
END_TEST

static Suite *kube_suite(void)
{
	Suite *s = suite_create("kube-apiserver");
	TCase *tc;

	tc = tcase_create("http");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_authentication);
	tcase_add_test(tc, test_rbac_granted);
	tcase_add_test(tc, test_rbac_denied);
	tcase_add_test(tc, test_rbac_nothing_else);
	tcase_add_test(tc, test_rbac_file_errors);
	tcase_add_test(tc, test_scale);
	tcase_add_test(tc, test_not_found_and_crd);
	tcase_add_test(tc, test_selectors);
	tcase_add_test(tc, test_pod_and_node_patch);
	tcase_add_test(tc, test_watch_events_in_order);
	tcase_add_test(tc, test_watch_initial_and_timeout);
	tcase_add_test(tc, test_watch_expired);
	tcase_add_test(tc, test_watch_history_window);
	tcase_add_test(tc, test_events);
	tcase_add_test(tc, test_leases);
	tcase_add_test(tc, test_ssar);
	tcase_add_test(tc, test_fail_next);
	tcase_add_test(tc, test_call_record);
	tcase_add_test(tc, test_concurrent_clients);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, setup_tls, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tls_client_certificates);
	tcase_add_test(tc, test_rbac_granted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int status;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = check_run(kube_suite(), CK_ENV);
	curl_global_cleanup();
	return status;
}
