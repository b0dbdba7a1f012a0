/* test-oci-ce.c - oci/'s Container Engine client (ce.c) against the strict fake OCI API of
 * tests/fakes/oci-api.h, over TLS, signed with an API key from a ~/.oci/config made for
 * the test: GetNodePool and its fields as nodes come up, resizes with if-match and their
 * work requests, the retry rules of DESIGN section 7 (409 IncorrectState, 429 storms with
 * their bound, Retry-After, 5xx, connection refused), 412 re-reads of the etag, DeleteNode,
 * the messages operators read (401, 404), cancellation at every stage, and the body
 * parsers on malformed, mistyped and oversized input.
 *
 * argv[1] is the autoscalerd binary (unused here; doctor's OCI checks have their own test).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "autoscalerd/ev-glue.h"
#include "oci/oci.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-http.h"
#include "tests/fakes/oci-api.h"
#include "tests/fakes/test-loop.h"

#define TENANCY "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
#define USER "ocid1.user.oc1..aaaaaaaatestuser"
#define POOL "ocid1.nodepool.oc1.iad.aaaaaaaatestpool"
#define POOL2 "ocid1.nodepool.oc1.iad.aaaaaaaatestpool2"
#define WRONG_FP "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"

static char *key_pem; /* made once in main(): key generation is slow under valgrind */

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *http;
static fake_oci_t *fake;
static oci_auth_t *auth;
static oci_ce_t *ce;
static char tmpdir[PATH_MAX];
static char key_path[PATH_MAX + 16], config_path[PATH_MAX + 16];
static char fingerprint[OCI_FINGERPRINT_LEN];
static char *public_pem;
static fake_http_t *canned;    /* a server of canned answers, when a test needs one */
static http_timer_t *timer;    /* a test's timer on the client's loop */

/* ---- fixtures ---------------------------------------------------------------------------- */

/* A config file of one [DEFAULT] profile; region NULL leaves it out. */
static void write_config(const char *path, const char *fp, const char *region)
{
	char text[2 * PATH_MAX + 512];

	snprintf(text, sizeof(text),
		 "[DEFAULT]\nuser=%s\nfingerprint=%s\nkey_file=%s\ntenancy=%s\n%s%s%s",
		 USER, fp, key_path, TENANCY, region ? "region=" : "", region ? region : "",
		 region ? "\n" : "");
	check_write_file(path, text, 0600);
}

static oci_auth_t *auth_of(const char *config)
{
	oci_auth_opts_t o = { .mode = OCI_AUTH_API_KEY, .http = http, .config_file = config };
	oci_auth_t *a = NULL;
	char err[HTTP_ERROR_MAX];

	ck_assert_msg(oci_auth_new(&o, &a, err, sizeof(err)) == 0, "%s", err);
	return a;
}

/* A client on the fake with quick retries (max attempts, base and cap in ms). */
static oci_ce_t *ce_of(oci_auth_t *a, const char *endpoint, int attempts, int64_t base,
		       int64_t cap)
{
	oci_ce_opts_t o = { .http = http, .auth = a, .endpoint = endpoint,
			    .ca_file = fake_oci_ca_file(fake), .timeout_ms = 10000,
			    .retry = { .max_attempts = attempts, .base_ms = base, .cap_ms = cap } };
	oci_ce_t *c = NULL;
	char err[HTTP_ERROR_MAX];

	ck_assert_msg(oci_ce_new(&o, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static void setup(void)
{
	fake_oci_opts_t fo = { .update_ms = 300, .node_create_ms = 400 };
	http_client_opts_t o = { 0 };
	oci_key_t *k = NULL;
	char err[HTTP_ERROR_MAX];

	check_tmpdir(tmpdir, sizeof(tmpdir), "test-oci-ce");
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	snprintf(config_path, sizeof(config_path), "%s/config", tmpdir);
	check_write_file(key_path, key_pem, 0600);
	ck_assert_msg(oci_key_load_file(key_path, NULL, &k, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(oci_key_fingerprint(k, fingerprint), 0);
	public_pem = oci_key_public_pem(k);
	ck_assert_ptr_nonnull(public_pem);
	oci_key_unref(k);
	write_config(config_path, fingerprint, "us-ashburn-1");

	ck_assert_int_eq(fake_oci_start(&fo, &fake), 0);
	ck_assert_int_eq(fake_oci_add_api_key(fake, TENANCY, USER, fingerprint, public_pem), 0);
	ck_assert_int_eq(fake_oci_put_pool(fake, &(fake_oci_pool_t){ .id = POOL, .name = "gpu",
								     .node_shape = "VM.GPU.A10.1",
								     .size = 2 }),
			 0);

	loop = ev_loop_new(EVFLAG_AUTO);
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	ck_assert_int_eq(http_client_new(&o, &http), 0);
	ev_glue_attach(&glue, http);
	auth = auth_of(config_path);
	ce = ce_of(auth, fake_oci_url(fake), 4, 20, 100);
}

static void teardown(void)
{
	ce = oci_ce_free(ce);
	auth = oci_auth_free(auth);
	timer = http_timer_free(timer);
	http = http_client_free(http);
	canned = fake_http_stop(canned);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	fake = fake_oci_stop(fake);
	free(public_pem);
	public_pem = NULL;
	ck_assert_int_eq(test_rm_tree(tmpdir), 0);
}

/* ---- helpers ----------------------------------------------------------------------------- */

#define MAX_NODES 16

/* What a callback saw, copied out (the pointers live only during the callback). */
struct rec {
	int done;
	http_outcome_t outcome;
	long status;
	int attempts;
	int64_t elapsed_ms;
	char code[64], message[512], request_id[160], error[1024];
	bool has_pool, has_wrid, has_wr;
	struct {
		char id[128], name[64], cluster_id[128], state[32], shape[64], etag[128];
		int32_t size;
		size_t n_nodes;
		struct {
			char id[128], state[32], ip[32], error_code[64], error_message[256];
		} nodes[MAX_NODES];
	} pool;
	char wrid[160];
	struct {
		char id[160], op[64], status[32];
		double pc;
	} wr;
};

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static void record(struct rec *rec, const oci_result_t *r)
{
	rec->done++;
	rec->outcome = r->outcome;
	rec->status = r->status;
	rec->attempts = r->attempts;
	rec->elapsed_ms = r->elapsed_ms;
	COPY(rec->code, r->code);
	COPY(rec->message, r->message);
	COPY(rec->request_id, r->request_id);
	COPY(rec->error, r->error);
}

static void on_pool(const oci_result_t *r, const oci_node_pool_t *p, void *ud)
{
	struct rec *rec = ud;

	record(rec, r);
	rec->has_pool = p != NULL;
	if (!p)
		return;
	COPY(rec->pool.id, p->id);
	COPY(rec->pool.name, p->name);
	COPY(rec->pool.cluster_id, p->cluster_id);
	COPY(rec->pool.state, p->lifecycle_state);
	COPY(rec->pool.shape, p->node_shape);
	COPY(rec->pool.etag, p->etag);
	rec->pool.size = p->size;
	rec->pool.n_nodes = p->n_nodes;
	for (size_t i = 0; i < p->n_nodes && i < MAX_NODES; i++) {
		COPY(rec->pool.nodes[i].id, p->nodes[i].id);
		COPY(rec->pool.nodes[i].state, p->nodes[i].lifecycle_state);
		COPY(rec->pool.nodes[i].ip, p->nodes[i].private_ip);
		COPY(rec->pool.nodes[i].error_code, p->nodes[i].error_code);
		COPY(rec->pool.nodes[i].error_message, p->nodes[i].error_message);
	}
}

static void on_accepted(const oci_result_t *r, const char *wrid, void *ud)
{
	struct rec *rec = ud;

	record(rec, r);
	rec->has_wrid = wrid != NULL;
	COPY(rec->wrid, wrid);
}

static void on_work(const oci_result_t *r, const oci_work_request_t *wr, void *ud)
{
	struct rec *rec = ud;

	record(rec, r);
	rec->has_wr = wr != NULL;
	if (!wr)
		return;
	COPY(rec->wr.id, wr->id);
	COPY(rec->wr.op, wr->operation_type);
	COPY(rec->wr.status, wr->status);
	rec->wr.pc = wr->percent_complete;
}

static double patience(void)
{
	return test_patience(60, 300);
}

static void run_until(const int *flag, int want)
{
	test_run_until(loop, flag, want, patience());
}

static void get_pool(oci_ce_t *c, const char *id, struct rec *rec)
{
	char err[HTTP_ERROR_MAX];

	memset(rec, 0, sizeof(*rec));
	ck_assert_msg(oci_ce_get_node_pool(c, id, on_pool, rec, NULL, err, sizeof(err)) == 0,
		      "%s", err);
	run_until(&rec->done, 1);
}

static void set_size(oci_ce_t *c, const char *id, int32_t size, const char *etag,
		     struct rec *rec)
{
	char err[HTTP_ERROR_MAX];

	memset(rec, 0, sizeof(*rec));
	ck_assert_msg(oci_ce_set_node_pool_size(c, id, size, etag, on_accepted, rec, NULL, err,
						sizeof(err)) == 0,
		      "%s", err);
	run_until(&rec->done, 1);
}

static void delete_node(oci_ce_t *c, const char *id, const char *node, const char *etag,
			int grace_s, struct rec *rec)
{
	char err[HTTP_ERROR_MAX];

	memset(rec, 0, sizeof(*rec));
	ck_assert_msg(oci_ce_delete_node(c, id, node, etag, grace_s, on_accepted, rec, NULL, err,
					 sizeof(err)) == 0,
		      "%s", err);
	run_until(&rec->done, 1);
}

static void get_work(oci_ce_t *c, const char *id, struct rec *rec)
{
	char err[HTTP_ERROR_MAX];

	memset(rec, 0, sizeof(*rec));
	ck_assert_msg(oci_ce_get_work_request(c, id, on_work, rec, NULL, err, sizeof(err)) == 0,
		      "%s", err);
	run_until(&rec->done, 1);
}

static struct fake_oci_call call_at(size_t i)
{
	struct fake_oci_call fc;

	ck_assert_msg(fake_oci_call(fake, i, &fc), "no call %zu in the fake's record", i);
	return fc;
}

static void assert_hex32(const char *s)
{
	ck_assert_uint_eq(strlen(s), 32);
	for (size_t i = 0; i < 32; i++)
		ck_assert_msg(strchr("0123456789ABCDEFabcdef", s[i]) != NULL, "not hex: %s", s);
}

static void wait_pool_state(const char *id, const char *state)
{
	struct rec rec;
	double end = ev_time() + patience();

	do {
		get_pool(ce, id, &rec);
		ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
		if (!strcmp(rec.pool.state, state))
			return;
		test_run_for(loop, 0.05);
	} while (ev_time() < end);
	ck_abort_msg("pool %s never became %s", id, state);
}

/* A loopback port nothing listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ---- reading pools ------------------------------------------------------------------------ */

START_TEST(test_get_node_pool)
{
	struct rec rec;
	struct fake_oci_call fc;
	char etag[128], n0[128], n1[128], path[256], key_id[320];

	ck_assert_ptr_null(oci_ce_endpoint(NULL));
	snprintf(path, sizeof(path), "%s/20180222", fake_oci_url(fake));
	ck_assert_str_eq(oci_ce_endpoint(ce), path);
	get_pool(ce, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.status, 200);
	ck_assert_str_eq(rec.error, "");
	ck_assert_str_eq(rec.code, "");
	ck_assert_int_eq(rec.attempts, 1);
	ck_assert(rec.has_pool);
	ck_assert_str_eq(rec.pool.id, POOL);
	ck_assert_str_eq(rec.pool.name, "gpu");
	ck_assert_str_eq(rec.pool.shape, "VM.GPU.A10.1");
	ck_assert_str_eq(rec.pool.state, "ACTIVE");
	ck_assert_int_eq(rec.pool.size, 2);
	ck_assert_uint_eq(rec.pool.n_nodes, 2);
	ck_assert(fake_oci_pool_etag(fake, POOL, etag, sizeof(etag)));
	ck_assert_str_eq(rec.pool.etag, etag);
	ck_assert(fake_oci_pool_node_id(fake, POOL, 0, n0, sizeof(n0)));
	ck_assert(fake_oci_pool_node_id(fake, POOL, 1, n1, sizeof(n1)));
	ck_assert_str_eq(rec.pool.nodes[0].id, n0);
	ck_assert_str_eq(rec.pool.nodes[1].id, n1);
	ck_assert_str_eq(rec.pool.nodes[0].state, "ACTIVE");
	ck_assert_str_eq(rec.pool.nodes[0].error_code, "");
	ck_assert_str_ne(rec.request_id, "");

	/* what went out: signed GET of the pool, a fresh opc-request-id */
	ck_assert_uint_eq(fake_oci_call_count(fake), 1);
	fc = call_at(0);
	snprintf(path, sizeof(path), "/20180222/nodePools/%s", POOL);
	ck_assert_str_eq(fc.method, "GET");
	ck_assert_str_eq(fc.path, path);
	ck_assert_int_eq(fc.status, 200);
	snprintf(key_id, sizeof(key_id), "%s/%s/%s", TENANCY, USER, fingerprint);
	ck_assert_str_eq(fc.key_id, key_id);
	ck_assert_str_eq(fc.if_match, "");
	ck_assert_str_eq(rec.request_id, fc.opc_request_id); /* the answer's, quoted */

	/* a node's error shows */
	ck_assert_int_eq(fake_oci_set_node(fake, POOL, n1, "FAILING", "LimitExceeded",
					   "gpu-a10-count exceeded"),
			 0);
	get_pool(ce, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	ck_assert_str_eq(rec.pool.nodes[1].state, "FAILING");
	ck_assert_str_eq(rec.pool.nodes[1].error_code, "LimitExceeded");
	ck_assert_str_eq(rec.pool.nodes[1].error_message, "gpu-a10-count exceeded");
	ck_assert_str_eq(rec.pool.nodes[0].error_code, "");
	ck_assert_str_eq(rec.request_id, call_at(1).opc_request_id);
}
END_TEST

START_TEST(test_endpoint_trailing_slash)
{
	char url[512], want[512];
	struct rec rec;
	oci_ce_t *c;

	snprintf(url, sizeof(url), "%s/", fake_oci_url(fake));
	snprintf(want, sizeof(want), "%s/20180222", fake_oci_url(fake));
	c = ce_of(auth, url, 2, 10, 10);
	ck_assert_str_eq(oci_ce_endpoint(c), want);
	get_pool(c, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_str_eq(call_at(0).path, "/20180222/nodePools/" POOL);
	oci_ce_free(c);
}
END_TEST

/* Without an endpoint: the region's. Without a region: a message that says to set one. */
START_TEST(test_endpoint_from_region)
{
	char path[PATH_MAX + 32];
	oci_auth_t *a;
	oci_ce_t *c;
	struct rec rec;

	c = ce_of(auth, NULL, 1, 10, 10);
	ck_assert_ptr_null(oci_ce_endpoint(c)); /* not before the first call */
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(oci_ce_get_node_pool(c, POOL, on_pool, &rec, NULL, NULL, 0), 0);
	while (!oci_ce_endpoint(c) && !rec.done)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_str_eq(oci_ce_endpoint(c),
			 "https://containerengine.us-ashburn-1.oci.oraclecloud.com/20180222");
	c = oci_ce_free(c); /* never waits for that host */
	ck_assert_int_eq(rec.done, 0);

	snprintf(path, sizeof(path), "%s/config-noregion", tmpdir);
	write_config(path, fingerprint, NULL);
	a = auth_of(path);
	c = ce_of(a, NULL, 1, 10, 10);
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 0);
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": ") == rec.error, "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "set oci.region"), "%s", rec.error);
	ck_assert_ptr_null(oci_ce_endpoint(c));
	ck_assert_uint_eq(fake_oci_call_count(fake), 0);
	oci_ce_free(c);
	oci_auth_free(a);
}
END_TEST

START_TEST(test_bad_arguments)
{
	char err[HTTP_ERROR_MAX];
	struct rec rec = { 0 };
	oci_ce_call_t *call = NULL;

	ck_assert_int_eq(oci_ce_get_node_pool(ce, "ocid1.nodepool/../x", on_pool, &rec, &call, err,
					      sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "GetNodePool"), "%s", err);
	ck_assert_int_eq(oci_ce_get_node_pool(ce, "", on_pool, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_get_node_pool(ce, "a b", on_pool, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_get_node_pool(ce, "x%2F", on_pool, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_set_node_pool_size(ce, POOL, 1001, NULL, on_accepted, &rec, NULL,
						   err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "not 1001"), "%s", err);
	ck_assert_int_eq(oci_ce_set_node_pool_size(ce, POOL, -1, NULL, on_accepted, &rec, NULL,
						   err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_set_node_pool_size(ce, POOL, 1, "bad\netag", on_accepted, &rec,
						   NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_delete_node(ce, POOL, "ocid1.instance?x=1", NULL, 0, on_accepted,
					    &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_delete_node(ce, POOL, "ocid1.instance.oc1..a", NULL, 3601,
					    on_accepted, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_delete_node(ce, POOL, "ocid1.instance.oc1..a", NULL, -1,
					    on_accepted, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_get_work_request(ce, "wr/1", on_work, &rec, NULL, err,
						 sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(oci_ce_get_node_pool(ce, POOL, NULL, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(call);
	test_run_for(loop, 0.05);
	ck_assert_int_eq(rec.done, 0);
	ck_assert_uint_eq(fake_oci_call_count(fake), 0);

	/* options */
	{
		oci_ce_opts_t o = { .http = http, .auth = auth, .endpoint = "ftp://x" };
		oci_ce_t *c = NULL;

		ck_assert_int_eq(oci_ce_new(&o, &c, err, sizeof(err)), -EINVAL);
		o.endpoint = "https://user:pw@host";
		ck_assert_int_eq(oci_ce_new(&o, &c, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_null(strstr(err, "pw@"));
		o.endpoint = NULL;
		o.ca_file = "/nonexistent/ca.pem";
		ck_assert_int_lt(oci_ce_new(&o, &c, err, sizeof(err)), 0);
		ck_assert_msg(strstr(err, "oci.ca_file"), "%s", err);
		o.ca_file = NULL;
		o.auth = NULL;
		ck_assert_int_eq(oci_ce_new(&o, &c, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_null(c);
	}
}
END_TEST

/* ---- resizing ----------------------------------------------------------------------------- */

START_TEST(test_resize_and_work_request)
{
	struct rec rec, wr;
	struct fake_oci_call fc;
	char etag[128], wrid[160];
	size_t n0;
	double end;
	int creating_seen = 0;

	get_pool(ce, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	snprintf(etag, sizeof(etag), "%s", rec.pool.etag);
	n0 = fake_oci_call_count(fake);

	set_size(ce, POOL, 3, etag, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.status, 202);
	ck_assert(rec.has_wrid);
	ck_assert_str_ne(rec.wrid, "");
	snprintf(wrid, sizeof(wrid), "%s", rec.wrid);
	ck_assert_uint_eq(fake_oci_call_count(fake), n0 + 1);
	fc = call_at(n0);
	ck_assert_str_eq(fc.method, "PUT");
	ck_assert_str_eq(fc.path, "/20180222/nodePools/" POOL);
	ck_assert_str_eq(fc.if_match, etag);
	ck_assert_int_eq(fc.status, 202);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 3);

	/* the work request runs to SUCCEEDED; the new node goes CREATING -> ACTIVE */
	end = ev_time() + patience();
	for (;;) {
		get_work(ce, wrid, &wr);
		ck_assert_msg(wr.outcome == HTTP_SUCCESS, "%s", wr.error);
		ck_assert(wr.has_wr);
		ck_assert_str_eq(wr.wr.id, wrid);
		ck_assert_str_eq(wr.wr.op, "NODEPOOL_UPDATE");
		ck_assert_msg(!strcmp(wr.wr.status, "ACCEPTED") ||
				      !strcmp(wr.wr.status, "IN_PROGRESS") ||
				      !strcmp(wr.wr.status, "SUCCEEDED"),
			      "status %s", wr.wr.status);
		get_pool(ce, POOL, &rec);
		ck_assert_int_eq(rec.pool.size, 3);
		ck_assert_uint_eq(rec.pool.n_nodes, 3);
		if (!strcmp(rec.pool.nodes[2].state, "CREATING"))
			creating_seen++;
		if (!strcmp(wr.wr.status, "SUCCEEDED") && !strcmp(rec.pool.nodes[2].state, "ACTIVE"))
			break;
		ck_assert_msg(ev_time() < end, "work request %s never succeeded", wrid);
		test_run_for(loop, 0.03);
	}
	ck_assert_int_gt(creating_seen, 0);
	ck_assert_str_eq(rec.pool.state, "ACTIVE");
	ck_assert_str_ne(rec.pool.etag, etag);
}
END_TEST

/* No etag: the pool is read first and its etag sent. */
START_TEST(test_resize_reads_etag_first)
{
	struct rec rec;
	char etag[128];

	ck_assert(fake_oci_pool_etag(fake, POOL, etag, sizeof(etag)));
	set_size(ce, POOL, 1, NULL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_uint_eq(fake_oci_call_count(fake), 2);
	ck_assert_str_eq(call_at(0).method, "GET");
	ck_assert_str_eq(call_at(1).method, "PUT");
	ck_assert_str_eq(call_at(1).if_match, etag);
	ck_assert_str_eq(rec.request_id, call_at(1).opc_request_id);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 1);
}
END_TEST

static void on_activate(void *arg)
{
	ck_assert_int_eq(fake_oci_set_pool_state(fake, arg, "ACTIVE"), 0);
}

/* While the pool is UPDATING a PUT is 409 IncorrectState: retried until it is ACTIVE. */
START_TEST(test_incorrect_state_retried)
{
	oci_ce_t *c = ce_of(auth, fake_oci_url(fake), 40, 50, 100);
	struct rec rec;
	char etag[128];
	int n409 = 0;

	ck_assert_int_eq(fake_oci_set_pool_state(fake, POOL, "UPDATING"), 0);
	ck_assert(fake_oci_pool_etag(fake, POOL, etag, sizeof(etag)));
	ck_assert_int_eq(http_timer_new(http, on_activate, (void *)POOL, &timer), 0);
	ck_assert_int_eq(http_timer_arm(timer, 300), 0);
	set_size(c, POOL, 4, etag, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.status, 202);
	ck_assert(!http_timer_armed(timer));
	ck_assert_int_gt(rec.attempts, 1);
	ck_assert_int_eq(fake_oci_count(fake, "PUT"), rec.attempts);
	for (size_t i = 0; i < fake_oci_call_count(fake); i++) {
		ck_assert_str_eq(call_at(i).method, "PUT");
		ck_assert_str_eq(call_at(i).if_match, etag);
		n409 += call_at(i).status == 409;
	}
	ck_assert_int_eq(n409, rec.attempts - 1);
	ck_assert_int_eq(call_at(fake_oci_call_count(fake) - 1).status, 202);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 4);
	oci_ce_free(c);

	/* and gives up, retryable, with its count, when the pool stays busy */
	wait_pool_state(POOL, "ACTIVE");
	ck_assert_int_eq(fake_oci_set_pool_state(fake, POOL, "UPDATING"), 0);
	c = ce_of(auth, fake_oci_url(fake), 3, 10, 20);
	ck_assert(fake_oci_pool_etag(fake, POOL, etag, sizeof(etag)));
	set_size(c, POOL, 5, etag, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(rec.status, 409);
	ck_assert_str_eq(rec.code, "IncorrectState");
	ck_assert_int_eq(rec.attempts, 3);
	ck_assert_msg(strstr(rec.error, "UpdateNodePool " POOL ": 409 IncorrectState: ") ==
			      rec.error,
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, ", after 3 attempts"), "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "(opc-request-id "), "%s", rec.error);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 4);
	oci_ce_free(c);
}
END_TEST

/* A Conflict that is not IncorrectState is not retried. */
START_TEST(test_conflict_not_retried)
{
	struct rec rec;

	ck_assert_int_eq(fake_oci_fail_next(fake, "PUT", 1, 409, "Conflict", 0), 0);
	set_size(ce, POOL, 3, "whatever", &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 409);
	ck_assert_str_eq(rec.code, "Conflict");
	ck_assert_int_eq(rec.attempts, 1);
	ck_assert_ptr_null(strstr(rec.error, "after"));
	ck_assert(!rec.has_wrid);
}
END_TEST

/* ---- retries ------------------------------------------------------------------------------ */

START_TEST(test_429_storm)
{
	struct rec rec;
	double t0;

	ck_assert_int_eq(fake_oci_fail_next(fake, NULL, -1, 429, "TooManyRequests", 0), 0);
	t0 = ev_time();
	get_pool(ce, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(rec.status, 429);
	ck_assert_str_eq(rec.code, "TooManyRequests");
	ck_assert_int_eq(rec.attempts, 4);
	ck_assert(!rec.has_pool);
	ck_assert_int_eq(fake_oci_count(fake, NULL), 4);
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": 429 TooManyRequests") == rec.error,
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, ", after 4 attempts"), "%s", rec.error);
	/* backoff bounds 20, 40, 80 ms: well under a second and a half with the requests */
	ck_assert_msg(ev_time() - t0 < (getenv("AUTOSCALERD_VALGRIND") ? 20 : 1.5), "%.3f s",
		      ev_time() - t0);
	ck_assert_int_le(rec.elapsed_ms, (int64_t)((ev_time() - t0) * 1000) + 5);
	/* the last answer's opc-request-id is the one quoted */
	ck_assert_str_eq(rec.request_id, call_at(3).opc_request_id);
	ck_assert_msg(strstr(rec.error, call_at(3).opc_request_id), "%s", rec.error);
	fake_oci_clear_faults(fake);
	get_pool(ce, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
}
END_TEST

START_TEST(test_retry_after)
{
	struct rec rec;
	oci_ce_t *c;

	/* Retry-After: 1 outweighs a 20 ms backoff */
	ck_assert_int_eq(fake_oci_fail_next(fake, NULL, 1, 503, "ServiceUnavailable", 1), 0);
	get_pool(ce, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_int_ge(rec.elapsed_ms, 950);
	ck_assert_int_eq(call_at(0).status, 503);
	ck_assert_int_eq(call_at(1).status, 200);

	/* ... up to max_retry_after_ms */
	{
		oci_ce_opts_t o = { .http = http, .auth = auth, .endpoint = fake_oci_url(fake),
				    .ca_file = fake_oci_ca_file(fake),
				    .retry = { .max_attempts = 3, .base_ms = 10, .cap_ms = 10,
					       .max_retry_after_ms = 100 } };

		ck_assert_int_eq(oci_ce_new(&o, &c, NULL, 0), 0);
	}
	ck_assert_int_eq(fake_oci_fail_next(fake, NULL, 1, 429, "TooManyRequests", 30), 0);
	get_pool(c, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_int_ge(rec.elapsed_ms, 95);
	ck_assert_int_lt(rec.elapsed_ms, getenv("AUTOSCALERD_VALGRIND") ? 20000 : 5000);
	oci_ce_free(c);
}
END_TEST

START_TEST(test_500_then_success)
{
	struct rec rec;

	ck_assert_int_eq(fake_oci_fail_next(fake, "GET", 1, 500, "InternalServerError", 0), 0);
	get_pool(ce, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_int_eq(rec.pool.size, 2);
	ck_assert_uint_eq(fake_oci_call_count(fake), 2);
	ck_assert_int_eq(call_at(0).status, 500);
	ck_assert_int_eq(call_at(1).status, 200);
	ck_assert_str_eq(rec.request_id, call_at(1).opc_request_id);

	/* 502, 504 too; 501 is not retried */
	ck_assert_int_eq(fake_oci_fail_next(fake, "GET", 1, 502, "BadGateway", 0), 0);
	ck_assert_int_eq(fake_oci_fail_next(fake, "GET", 1, 504, "GatewayTimeout", 0), 0);
	get_pool(ce, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 3);
	ck_assert_int_eq(fake_oci_fail_next(fake, "GET", 1, 501, "NotImplemented", 0), 0);
	get_pool(ce, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 501);
	ck_assert_int_eq(rec.attempts, 1);
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": 501 NotImplemented: ") ==
			      rec.error,
		      "%s", rec.error);
}
END_TEST

START_TEST(test_connection_refused)
{
	char url[64];
	struct rec rec;
	oci_ce_t *c;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d", closed_port());
	c = ce_of(auth, url, 3, 10, 20);
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(rec.status, 0);
	ck_assert_int_eq(rec.attempts, 3);
	ck_assert_str_eq(rec.code, "");
	ck_assert_str_eq(rec.request_id, "");
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": GET ") == rec.error, "%s",
		      rec.error);
	ck_assert_msg(strstr(rec.error, "cannot connect"), "%s", rec.error);
	ck_assert_msg(strstr(rec.error, ", after 3 attempts: check oci.endpoint (or oci.region) "
					"and the network"),
		      "%s", rec.error);
	oci_ce_free(c);
}
END_TEST

/* ---- 412: the etag moved ------------------------------------------------------------------ */

START_TEST(test_412_reads_again)
{
	struct rec rec;
	char old[128], fresh[128];

	ck_assert(fake_oci_pool_etag(fake, POOL, old, sizeof(old)));
	fake_oci_touch_pool(fake, POOL);
	ck_assert(fake_oci_pool_etag(fake, POOL, fresh, sizeof(fresh)));
	ck_assert_str_ne(old, fresh);
	set_size(ce, POOL, 3, old, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.status, 202);
	ck_assert(rec.has_wrid);
	ck_assert_int_eq(rec.attempts, 3);
	ck_assert_uint_eq(fake_oci_call_count(fake), 3);
	ck_assert_str_eq(call_at(0).method, "PUT");
	ck_assert_str_eq(call_at(0).if_match, old);
	ck_assert_int_eq(call_at(0).status, 412);
	ck_assert_str_eq(call_at(1).method, "GET");
	ck_assert_str_eq(call_at(1).path, "/20180222/nodePools/" POOL);
	ck_assert_int_eq(call_at(1).status, 200);
	ck_assert_str_eq(call_at(2).method, "PUT");
	ck_assert_str_eq(call_at(2).if_match, fresh);
	ck_assert_int_eq(call_at(2).status, 202);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 3);
}
END_TEST

START_TEST(test_second_412_fails)
{
	struct rec rec;
	char etag[128];

	ck_assert(fake_oci_pool_etag(fake, POOL, etag, sizeof(etag)));
	ck_assert_int_eq(fake_oci_fail_next(fake, "PUT", 2, 412, "NoEtagMatch", 0), 0);
	set_size(ce, POOL, 3, etag, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 412);
	ck_assert_str_eq(rec.code, "NoEtagMatch");
	ck_assert(!rec.has_wrid);
	ck_assert_uint_eq(fake_oci_call_count(fake), 3);
	ck_assert_str_eq(call_at(0).method, "PUT");
	ck_assert_str_eq(call_at(1).method, "GET");
	ck_assert_str_eq(call_at(2).method, "PUT");
	ck_assert_msg(strstr(rec.error, "UpdateNodePool " POOL ": 412 NoEtagMatch") ==
			      rec.error,
		      "%s", rec.error);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 2);
}
END_TEST

/* ---- DeleteNode --------------------------------------------------------------------------- */

START_TEST(test_delete_node)
{
	struct rec rec;
	char etag[128], n0[128], n1[128], path[512];
	double end;

	ck_assert_int_eq(fake_oci_put_pool(fake, &(fake_oci_pool_t){ .id = POOL2, .size = 3 }), 0);
	ck_assert(fake_oci_pool_node_id(fake, POOL2, 0, n0, sizeof(n0)));
	ck_assert(fake_oci_pool_node_id(fake, POOL2, 1, n1, sizeof(n1)));
	ck_assert(fake_oci_pool_etag(fake, POOL2, etag, sizeof(etag)));

	delete_node(ce, POOL2, n0, etag, 0, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.status, 202);
	ck_assert(rec.has_wrid);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL2), 2);
	snprintf(path, sizeof(path),
		 "/20180222/nodePools/%s/node/%s?isDecrementSize=true&"
		 "overrideEvictionGraceDuration=PT0M",
		 POOL2, n0);
	ck_assert_str_eq(call_at(0).method, "DELETE");
	ck_assert_str_eq(call_at(0).path, path);
	ck_assert_str_eq(call_at(0).if_match, etag);

	/* grace: whole minutes as PTnM, else seconds; no etag: no if-match */
	wait_pool_state(POOL2, "ACTIVE");
	delete_node(ce, POOL2, n1, NULL, 90, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	snprintf(path, sizeof(path),
		 "/20180222/nodePools/%s/node/%s?isDecrementSize=true&"
		 "overrideEvictionGraceDuration=PT90S",
		 POOL2, n1);
	ck_assert_str_eq(call_at(fake_oci_call_count(fake) - 1).path, path);
	ck_assert_str_eq(call_at(fake_oci_call_count(fake) - 1).if_match, "");
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL2), 1);

	/* the deleted nodes go away */
	end = ev_time() + patience();
	while (fake_oci_pool_nodes(fake, POOL2, NULL) != 1 && ev_time() < end)
		test_run_for(loop, 0.05);
	ck_assert_int_eq(fake_oci_pool_nodes(fake, POOL2, NULL), 1);
}
END_TEST

START_TEST(test_delete_grace_minutes)
{
	struct rec rec;
	char n0[128], path[512];

	ck_assert(fake_oci_pool_node_id(fake, POOL, 0, n0, sizeof(n0)));
	delete_node(ce, POOL, n0, NULL, 3600, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	snprintf(path, sizeof(path),
		 "/20180222/nodePools/%s/node/%s?isDecrementSize=true&"
		 "overrideEvictionGraceDuration=PT60M",
		 POOL, n0);
	ck_assert_str_eq(call_at(0).path, path);
}
END_TEST

/* A 412 on a node that is gone meanwhile: done, no work request. (The fake answers a
 * DELETE of a node it no longer has with 404 before it looks at if-match; OCI's order is
 * not documented, so the 412 is injected.) */
START_TEST(test_delete_gone_node_412)
{
	struct rec rec;
	char n0[128], n1[128], etag[128];
	double end;
	size_t n;

	ck_assert(fake_oci_pool_node_id(fake, POOL, 0, n0, sizeof(n0)));
	ck_assert(fake_oci_pool_node_id(fake, POOL, 1, n1, sizeof(n1)));
	delete_node(ce, POOL, n0, NULL, 0, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	end = ev_time() + patience();
	while (fake_oci_pool_nodes(fake, POOL, NULL) != 1 && ev_time() < end)
		test_run_for(loop, 0.05);
	ck_assert_int_eq(fake_oci_pool_nodes(fake, POOL, NULL), 1);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 1);
	wait_pool_state(POOL, "ACTIVE");

	n = fake_oci_call_count(fake);
	ck_assert_int_eq(fake_oci_fail_next(fake, "DELETE", 1, 412, "NoEtagMatch", 0), 0);
	delete_node(ce, POOL, n0, "stale", 0, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(!rec.has_wrid);
	ck_assert_int_eq(rec.status, 200);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_uint_eq(fake_oci_call_count(fake), n + 2);
	ck_assert_str_eq(call_at(n).method, "DELETE");
	ck_assert_str_eq(call_at(n).if_match, "stale");
	ck_assert_int_eq(call_at(n).status, 412);
	ck_assert_str_eq(call_at(n + 1).method, "GET");
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 1);

	/* a node still there is deleted with the new etag */
	ck_assert(fake_oci_pool_etag(fake, POOL, etag, sizeof(etag)));
	ck_assert_int_eq(fake_oci_fail_next(fake, "DELETE", 1, 412, "NoEtagMatch", 0), 0);
	delete_node(ce, POOL, n1, "stale", 0, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(rec.has_wrid);
	ck_assert_int_eq(rec.status, 202);
	ck_assert_uint_eq(fake_oci_call_count(fake), n + 5);
	ck_assert_str_eq(call_at(n + 4).method, "DELETE");
	ck_assert_str_eq(call_at(n + 4).if_match, etag);
	ck_assert_int_eq(fake_oci_pool_size(fake, POOL), 0);

	/* a node the API no longer knows, without a 412 first: 404, not success */
	wait_pool_state(POOL, "ACTIVE");
	delete_node(ce, POOL, n0, NULL, 0, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 404);
}
END_TEST

/* ---- the messages operators read ---------------------------------------------------------- */

START_TEST(test_401_message)
{
	char path[PATH_MAX + 32], why[256];
	struct rec rec;
	oci_auth_t *a;
	oci_ce_t *c;

	/* the profile names a fingerprint the API does not know for this user */
	snprintf(path, sizeof(path), "%s/config-wrongfp", tmpdir);
	write_config(path, WRONG_FP, "us-ashburn-1");
	a = auth_of(path);
	c = ce_of(a, fake_oci_url(fake), 4, 10, 10);
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 401);
	ck_assert_str_eq(rec.code, "NotAuthenticated");
	ck_assert_int_eq(rec.attempts, 1); /* api_key: nothing to refresh */
	ck_assert_str_ne(rec.request_id, "");
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": 401 NotAuthenticated: ") ==
			      rec.error,
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "(opc-request-id "), "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "check that key_file is the key whose fingerprint is in "
					"the profile, that it was uploaded for the user, and the "
					"clock (over 5 minutes of skew is refused; local time 20"),
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "Z)"), "%s", rec.error);
	ck_assert_msg(strstr(rec.error, path), "names the config file: %s", rec.error);
	/* nothing of the signature */
	ck_assert_ptr_null(strstr(rec.error, "Signature"));
	ck_assert_ptr_null(strstr(rec.error, "signature="));
	ck_assert_ptr_null(strstr(rec.error, "keyId"));
	fake_oci_last_auth_error(fake, why, sizeof(why));
	ck_assert_str_ne(why, "");
	oci_ce_free(c);
	oci_auth_free(a);
}
END_TEST

/* Session tokens: a 401 refreshes the credentials once and tries again; refused again, the
 * call fails with the second 401. */
START_TEST(test_401_refreshes_session_token)
{
	oci_auth_opts_t ao = { .mode = OCI_AUTH_INSTANCE_PRINCIPAL, .http = http,
			       .metadata_url = fake_oci_metadata_url(fake),
			       .federation_url = fake_oci_url(fake),
			       .ca_file = fake_oci_ca_file(fake), .timeout_ms = 5000 };
	char err[HTTP_ERROR_MAX], path[PATH_MAX + 32], text[2 * PATH_MAX + 256];
	struct rec rec;
	oci_auth_t *a = NULL;
	oci_ce_t *c;
	char *token;
	size_t n;

	/* instance principal: the token the fake issued is revoked, a new one is fetched */
	ck_assert_msg(oci_auth_new(&ao, &a, err, sizeof(err)) == 0, "%s", err);
	c = ce_of(a, fake_oci_url(fake), 4, 10, 10);
	get_pool(c, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 1);
	ck_assert_int_eq(strncmp(call_at(fake_oci_call_count(fake) - 1).key_id, "ST$", 3), 0);
	fake_oci_revoke_tokens(fake);
	n = fake_oci_call_count(fake);
	get_pool(c, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_int_eq(fake_oci_tokens_issued(fake, false), 2);
	ck_assert_int_eq(fake_oci_count(fake, "GET /20180222/"), 3);
	/* the pool: 401; then (metadata and) the federation's POST for a new token; the pool
	 * again: 200 */
	{
		const char *want[] = { "GET /20180222 401", "POST /v1/x509 200",
				       "GET /20180222 200" };
		size_t w = 0;

		for (size_t i = n; i < fake_oci_call_count(fake) && w < 3; i++) {
			struct fake_oci_call fc = call_at(i);
			char what[600];

			snprintf(what, sizeof(what), "%s %.9s %d", fc.method, fc.path, fc.status);
			if (strstr(fc.path, "/opc/"))
				continue;
			ck_assert_str_eq(what, want[w]);
			w++;
		}
		ck_assert_uint_eq(w, 3);
	}
	oci_ce_free(c);
	oci_auth_free(a);

	/* security token: refreshing re-reads the same revoked token; the second 401 ends it */
	token = fake_oci_issue_token(fake, public_pem, 3600);
	ck_assert_ptr_nonnull(token);
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	check_write_file(path, token, 0600);
	free(token);
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nfingerprint=%s\nkey_file=%s\ntenancy=%s\nregion=us-ashburn-1\n"
		 "security_token_file=%s\n",
		 fingerprint, key_path, TENANCY, path);
	snprintf(path, sizeof(path), "%s/config-token", tmpdir);
	check_write_file(path, text, 0600);
	ao = (oci_auth_opts_t){ .mode = OCI_AUTH_SECURITY_TOKEN, .http = http, .config_file = path };
	ck_assert_msg(oci_auth_new(&ao, &a, err, sizeof(err)) == 0, "%s", err);
	c = ce_of(a, fake_oci_url(fake), 4, 10, 10);
	get_pool(c, POOL, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	fake_oci_revoke_tokens(fake);
	n = fake_oci_call_count(fake);
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 401);
	ck_assert_int_eq(rec.attempts, 2);
	ck_assert_uint_eq(fake_oci_call_count(fake), n + 2);
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": 401 NotAuthenticated: ") == rec.error,
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "refused also after refreshing the session token: check "
					"security_token"),
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "local time 20"), "%s", rec.error);
	ck_assert_ptr_null(strstr(rec.error, "ST$"));
	oci_ce_free(c);
	oci_auth_free(a);
}
END_TEST

START_TEST(test_404_message)
{
	struct rec rec;

	get_pool(ce, "ocid1.nodepool.oc1.iad.nosuchpool", &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 404);
	ck_assert_str_eq(rec.code, "NotAuthorizedOrNotFound");
	ck_assert_int_eq(rec.attempts, 1);
	ck_assert(!rec.has_pool);
	ck_assert_msg(strstr(rec.error, "GetNodePool ocid1.nodepool.oc1.iad.nosuchpool: 404 "
					"NotAuthorizedOrNotFound: ") == rec.error,
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, ": check the OCID and an IAM policy such as 'Allow group "
					"G to manage cluster-node-pools in compartment C'"),
		      "%s", rec.error);
	ck_assert_str_ne(rec.request_id, "");

	get_work(ce, "ocid1.clustersworkrequest.oc1.iad.nosuchwr", &rec);
	ck_assert_int_eq(rec.status, 404);
	ck_assert_msg(strstr(rec.error, "GetWorkRequest ocid1.clustersworkrequest.oc1.iad."
					"nosuchwr: 404 "),
		      "%s", rec.error);
	ck_assert_msg(strstr(rec.error, "cluster-work-requests"), "%s", rec.error);
}
END_TEST

/* ---- cancellation and freeing ------------------------------------------------------------- */

static size_t busy(void)
{
	http_stats_t st;

	http_client_stats(http, &st);
	return st.in_flight + st.queued;
}

START_TEST(test_cancel_each_stage)
{
	struct rec rec = { 0 };
	oci_ce_call_t *call = NULL;
	double end;
	oci_ce_t *c;

	/* waiting for the credentials (before the loop ran) */
	ck_assert_int_eq(oci_ce_get_node_pool(ce, POOL, on_pool, &rec, &call, NULL, 0), 0);
	ck_assert_ptr_nonnull(call);
	oci_ce_cancel(ce, call);
	test_run_for(loop, 0.2);
	ck_assert_int_eq(rec.done, 0);
	ck_assert_uint_eq(fake_oci_call_count(fake), 0);

	/* in flight */
	ck_assert_int_eq(oci_ce_set_node_pool_size(ce, POOL, 3, "x", on_accepted, &rec, &call,
						   NULL, 0),
			 0);
	end = ev_time() + patience();
	while (!busy() && !rec.done && ev_time() < end)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
	ck_assert_int_eq(rec.done, 0);
	ck_assert_uint_gt(busy(), 0);
	oci_ce_cancel(ce, call);
	ck_assert_uint_eq(busy(), 0);
	test_run_for(loop, 0.3);
	ck_assert_int_eq(rec.done, 0);

	/* waiting for a retry */
	c = ce_of(auth, fake_oci_url(fake), 5, 60000, 60000);
	ck_assert_int_eq(fake_oci_fail_next(fake, NULL, -1, 503, "ServiceUnavailable", 0), 0);
	ck_assert_int_eq(oci_ce_get_node_pool(c, POOL, on_pool, &rec, &call, NULL, 0), 0);
	end = ev_time() + patience();
	while ((fake_oci_count(fake, "GET") == 0 || busy()) && ev_time() < end)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
	ck_assert_int_eq(fake_oci_count(fake, "GET"), 1);
	ck_assert_int_eq(rec.done, 0);
	oci_ce_cancel(c, call);
	oci_ce_cancel(c, call); /* twice: a no-op */
	test_run_for(loop, 0.2);
	ck_assert_int_eq(rec.done, 0);
	ck_assert_int_eq(fake_oci_count(fake, "GET"), 1);
	fake_oci_clear_faults(fake);
	oci_ce_free(c);
}
END_TEST

/* A callback that starts a call, cancels another and cancels itself. */
struct chain {
	oci_ce_call_t *victim, *self;
	struct rec *victim_rec, next;
	int done;
};

static void on_chain(const oci_result_t *r, const oci_node_pool_t *p, void *ud)
{
	struct chain *ch = ud;

	ck_assert_int_eq(r->outcome, HTTP_SUCCESS);
	ck_assert_ptr_nonnull(p);
	ch->done++;
	oci_ce_cancel(ce, ch->self);   /* inside its own callback: no-op */
	oci_ce_cancel(ce, ch->victim); /* in flight or waiting */
	ck_assert_int_eq(oci_ce_get_node_pool(ce, POOL, on_pool, &ch->next, NULL, NULL, 0), 0);
}

START_TEST(test_callback_starts_and_cancels)
{
	struct rec victim = { 0 };
	struct chain ch = { .victim_rec = &victim };

	oci_ce_free(ce); /* the victim waits long between its attempts */
	ce = ce_of(auth, fake_oci_url(fake), 5, 60000, 60000);
	ck_assert_int_eq(oci_ce_get_node_pool(ce, POOL, on_chain, &ch, &ch.self, NULL, 0), 0);
	ck_assert_int_eq(fake_oci_fail_next(fake, "PUT", -1, 503, "ServiceUnavailable", 0), 0);
	ck_assert_int_eq(oci_ce_set_node_pool_size(ce, POOL, 3, "x", on_accepted, &victim,
						   &ch.victim, NULL, 0),
			 0);
	run_until(&ch.done, 1);
	run_until(&ch.next.done, 1);
	ck_assert_int_eq(ch.next.outcome, HTTP_SUCCESS);
	test_run_for(loop, 0.3);
	ck_assert_int_eq(victim.done, 0);
	ck_assert_int_eq(ch.done, 1);
	ck_assert_int_eq(ch.next.done, 1);
	fake_oci_clear_faults(fake);
}
END_TEST

/* A callback that frees the client with calls in flight. */
static void on_free(const oci_result_t *r, const oci_node_pool_t *p, void *ud)
{
	int *n = ud;

	(void)r;
	(void)p;
	(*n)++;
	ce = oci_ce_free(ce);
}

START_TEST(test_free_with_calls)
{
	struct rec recs[4];
	int freed = 0;
	double end;

	memset(recs, 0, sizeof(recs));
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(oci_ce_get_node_pool(ce, POOL, on_pool, &recs[i], NULL, NULL, 0),
				 0);
	end = ev_time() + patience();
	while (!busy() && ev_time() < end)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
	ck_assert_uint_gt(busy(), 0);
	ce = oci_ce_free(ce);
	test_run_for(loop, 0.3);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(recs[i].done, 0);

	/* from a callback, others still out */
	ce = ce_of(auth, fake_oci_url(fake), 5, 60000, 60000);
	ck_assert_int_eq(fake_oci_fail_next(fake, "PUT", -1, 503, "ServiceUnavailable", 0), 0);
	ck_assert_int_eq(oci_ce_set_node_pool_size(ce, POOL, 3, "x", on_accepted, &recs[0], NULL,
						   NULL, 0),
			 0);
	ck_assert_int_eq(oci_ce_get_node_pool(ce, POOL, on_free, &freed, NULL, NULL, 0), 0);
	run_until(&freed, 1);
	ck_assert_ptr_null(ce);
	test_run_for(loop, 0.3);
	ck_assert_int_eq(recs[0].done, 0);
	fake_oci_clear_faults(fake);
}
END_TEST

/* ---- the parsers -------------------------------------------------------------------------- */

/* A string literal and its length. */
#define LIT(s) (s), (sizeof(s) - 1)

struct bad_body {
	const char *json;
	const char *error; /* the message, exactly */
};

START_TEST(test_pool_parser_errors)
{
	static const struct bad_body cases[] = {
		{ "", "empty body, expected a JSON object" },
		{ "{", "not JSON (at byte 0)" },
		{ "{\"id\":\"a\",\"name\":}", "not JSON (at byte 17)" },
		{ "[]", "expected a JSON object" },
		{ "{} x", "not JSON (trailing data at byte 3)" },
		{ "{\"id\":1}", "id: expected a string" },
		{ "{\"lifecycleState\":[]}", "lifecycleState: expected a string" },
		{ "{\"nodeConfigDetails\":[]}", "nodeConfigDetails: expected an object" },
		{ "{\"nodeConfigDetails\":{\"size\":\"3\"}}",
		  "nodeConfigDetails.size: expected an integer from 0 to 2147483647" },
		{ "{\"nodeConfigDetails\":{\"size\":1.5}}",
		  "nodeConfigDetails.size: expected an integer from 0 to 2147483647" },
		{ "{\"nodeConfigDetails\":{\"size\":-1}}",
		  "nodeConfigDetails.size: expected an integer from 0 to 2147483647" },
		{ "{\"nodeConfigDetails\":{\"size\":2147483648}}",
		  "nodeConfigDetails.size: expected an integer from 0 to 2147483647" },
		{ "{\"nodeConfigDetails\":{\"size\":1e999}}",
		  "nodeConfigDetails.size: expected an integer from 0 to 2147483647" },
		{ "{\"nodes\":{}}", "nodes: expected an array" },
		{ "{\"nodes\":[1]}", "nodes[0]: expected an object" },
		{ "{\"nodes\":[{},{},{},{\"lifecycleState\":3}]}",
		  "nodes[3].lifecycleState: expected a string" },
		{ "{\"nodes\":[{\"nodeError\":\"x\"}]}", "nodes[0].nodeError: expected an object" },
		{ "{\"nodes\":[{},{\"nodeError\":{\"code\":false}}]}",
		  "nodes[1].nodeError.code: expected a string" },
		{ "{\"nodes\":[{\"privateIp\":{}}]}", "nodes[0].privateIp: expected a string" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		oci_node_pool_t p = { 0 };

		ck_assert_msg(oci_node_pool_parse(cases[i].json, strlen(cases[i].json), &p, err,
						  sizeof(err)) == -EINVAL,
			      "case %zu accepted", i);
		ck_assert_msg(!strcmp(err, cases[i].error), "case %zu: \"%s\", want \"%s\"", i, err,
			      cases[i].error);
		ck_assert_ptr_null(p.id);
		ck_assert_ptr_null(p.nodes);
	}
}
END_TEST

START_TEST(test_pool_parser_accepts)
{
	static const char body[] =
		"{\"id\":\"ocid1.nodepool.oc1..p\",\"name\":\"n\",\"clusterId\":\"c\","
		"\"compartmentId\":\"k\",\"lifecycleState\":\"ACTIVE\",\"nodeShape\":\"BM.GPU.H100.8\","
		"\"unknown\":{\"deep\":[1,2,{\"x\":null}]},\"kubernetesVersion\":\"v1.30.1\","
		"\"nodeConfigDetails\":{\"size\":2,\"placementConfigs\":[]},"
		"\"nodes\":[{\"id\":\"i1\",\"name\":\"a\",\"lifecycleState\":\"ACTIVE\","
		"\"privateIp\":\"10.0.0.1\",\"nodeError\":null,\"publicIp\":null},"
		"{\"id\":\"i2\",\"lifecycleState\":\"CREATING\",\"nodeError\":{\"code\":\"LimitExceeded\","
		"\"message\":\"out of capacity\",\"status\":\"400\"}}]}  \n";
	oci_node_pool_t p = { 0 };
	oci_work_request_t w = { 0 };
	char err[256];

	ck_assert_msg(oci_node_pool_parse(body, strlen(body), &p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(p.id, "ocid1.nodepool.oc1..p");
	ck_assert_str_eq(p.name, "n");
	ck_assert_str_eq(p.cluster_id, "c");
	ck_assert_str_eq(p.compartment_id, "k");
	ck_assert_str_eq(p.lifecycle_state, "ACTIVE");
	ck_assert_str_eq(p.node_shape, "BM.GPU.H100.8");
	ck_assert_ptr_null(p.etag);
	ck_assert_int_eq(p.size, 2);
	ck_assert_uint_eq(p.n_nodes, 2);
	ck_assert_str_eq(p.nodes[0].private_ip, "10.0.0.1");
	ck_assert_ptr_null(p.nodes[0].error_code);
	ck_assert_ptr_null(p.nodes[1].private_ip);
	ck_assert_ptr_null(p.nodes[1].name);
	ck_assert_str_eq(p.nodes[1].error_code, "LimitExceeded");
	ck_assert_str_eq(p.nodes[1].error_message, "out of capacity");
	oci_node_pool_clear(&p);
	ck_assert_ptr_null(p.nodes);
	ck_assert_uint_eq(p.n_nodes, 0);
	oci_node_pool_clear(&p);
	oci_node_pool_clear(NULL);

	/* no nodeConfigDetails.size: -1; null fields are absent */
	ck_assert_int_eq(oci_node_pool_parse(LIT("{\"nodeConfigDetails\":{},\"nodes\":null,"
						 "\"id\":null}"),
					     &p, err, sizeof(err)),
			 0);
	ck_assert_int_eq(p.size, -1);
	ck_assert_ptr_null(p.id);
	ck_assert_uint_eq(p.n_nodes, 0);
	oci_node_pool_clear(&p);
	ck_assert_int_eq(oci_node_pool_parse(LIT("{}"), &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.size, -1);
	oci_node_pool_clear(&p);

	/* not NUL-terminated: the length is what counts */
	ck_assert_int_eq(oci_node_pool_parse("{\"name\":\"ab\"}XXXX", 13, &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p.name, "ab");
	oci_node_pool_clear(&p);

	/* work requests */
	ck_assert_int_eq(oci_work_request_parse(LIT("{\"id\":\"wr1\",\"operationType\":"
						    "\"NODEPOOL_UPDATE\",\"status\":"
						    "\"IN_PROGRESS\",\"resources\":[]}"),
						&w, err, sizeof(err)),
			 0);
	ck_assert_str_eq(w.id, "wr1");
	ck_assert_str_eq(w.operation_type, "NODEPOOL_UPDATE");
	ck_assert_str_eq(w.status, "IN_PROGRESS");
	ck_assert(w.percent_complete == -1);
	oci_work_request_clear(&w);
	ck_assert_int_eq(oci_work_request_parse(LIT("{\"status\":\"SUCCEEDED\","
						    "\"percentComplete\":100.0}"),
						&w, err, sizeof(err)),
			 0);
	ck_assert(w.percent_complete == 100.0);
	oci_work_request_clear(&w);
	ck_assert_int_eq(oci_work_request_parse(LIT("{\"percentComplete\":\"50\"}"), &w, err,
						sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "percentComplete: expected a number from 0 to 100");
	ck_assert_int_eq(oci_work_request_parse(LIT("{\"status\":7}"), &w, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "status: expected a string");
	ck_assert_int_eq(oci_work_request_parse(LIT("nope"), &w, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "not JSON (at byte 0)");
	ck_assert_int_eq(oci_work_request_parse(LIT("{\"percentComplete\":101}"), &w, err,
						sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(w.status);
}
END_TEST

/* n nodes of a few bytes each. */
static char *nodes_body(size_t n, size_t *len)
{
	size_t cap = 64 + n * 40, o = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	o += (size_t)snprintf(s + o, cap - o, "{\"nodeConfigDetails\":{\"size\":%zu},\"nodes\":[", n);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s{\"id\":\"n%zu\"}", i ? "," : "", i);
	o += (size_t)snprintf(s + o, cap - o, "]}");
	*len = o;
	return s;
}

START_TEST(test_pool_parser_limits)
{
	oci_node_pool_t p = { 0 };
	char err[256], *body, *big;
	size_t len;

	body = nodes_body(10000, &len);
	ck_assert_msg(oci_node_pool_parse(body, len, &p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(p.n_nodes, 10000);
	ck_assert_int_eq(p.size, 10000);
	ck_assert_str_eq(p.nodes[9999].id, "n9999");
	oci_node_pool_clear(&p);
	free(body);

	body = nodes_body(10001, &len);
	ck_assert_int_eq(oci_node_pool_parse(body, len, &p, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "nodes: more than 10000 nodes");
	ck_assert_ptr_null(p.nodes);
	free(body);

	/* a string over 4096 bytes */
	big = malloc(5000 + 32);
	ck_assert_ptr_nonnull(big);
	len = (size_t)snprintf(big, 32, "{\"nodes\":[{\"name\":\"");
	memset(big + len, 'a', 4097);
	len += 4097;
	memcpy(big + len, "\"}]}", 4);
	len += 4;
	ck_assert_int_eq(oci_node_pool_parse(big, len, &p, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "nodes[0].name: longer than 4096 bytes");
	free(big);
}
END_TEST

/* ---- against canned answers ------------------------------------------------------------- */

static oci_ce_t *canned_ce(int status, const char *body)
{
	char url[64];

	if (!canned)
		ck_assert_int_eq(fake_http_start(false, &canned), 0);
	ck_assert_int_eq(fake_http_set_canned(canned, status, "application/json", body,
					      strlen(body)),
			 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/canned/", fake_http_port(canned));
	return ce_of(auth, url, 2, 10, 10);
}

static void want_header(const struct fake_http_seen *seen, const char *name, const char *value)
{
	char buf[2048];

	ck_assert_msg(fake_http_seen_header(seen, name, buf, sizeof(buf)), "no %s header", name);
	if (value)
		ck_assert_str_eq(buf, value);
}

/* What goes on the wire: signed headers as signed, the host among them once. */
START_TEST(test_request_headers)
{
	static const char body[] = "{\"nodeConfigDetails\":{\"size\":3}}";
	struct fake_http_seen seen;
	unsigned char md[32];
	char b64[64], buf[2048], host[64], key_id[400];
	const char *p;
	struct rec rec;
	oci_ce_t *c;
	int hosts = 0;

	c = canned_ce(202, "");
	set_size(c, POOL, 3, "etag-1", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(!rec.has_wrid); /* no opc-work-request-id header: none */
	fake_http_last_canned(canned, &seen);
	ck_assert_str_eq(seen.method, "PUT");
	ck_assert_str_eq(seen.target, "/canned/20180222/nodePools/" POOL);
	ck_assert_str_eq(seen.body, body);
	ck_assert_str_eq(seen.content_type, "application/json");
	snprintf(host, sizeof(host), "127.0.0.1:%u", fake_http_port(canned));
	want_header(&seen, "host", host);
	for (p = seen.headers; (p = strcasestr(p, "host:")); p++)
		hosts += p == seen.headers || p[-1] == '\n';
	ck_assert_int_eq(hosts, 1);
	want_header(&seen, "accept", "application/json");
	want_header(&seen, "if-match", "etag-1");
	want_header(&seen, "content-length", "32");
	want_header(&seen, "date", NULL);
	ck_assert(fake_http_seen_header(&seen, "opc-request-id", buf, sizeof(buf)));
	assert_hex32(buf);
	SHA256((const unsigned char *)body, strlen(body), md);
	EVP_EncodeBlock((unsigned char *)b64, md, sizeof(md));
	want_header(&seen, "x-content-sha256", b64);
	ck_assert(fake_http_seen_header(&seen, "authorization", buf, sizeof(buf)));
	snprintf(key_id, sizeof(key_id), "keyId=\"%s/%s/%s\"", TENANCY, USER, fingerprint);
	ck_assert_msg(strstr(buf, key_id), "%s", buf);
	ck_assert_msg(strstr(buf, "headers=\"date (request-target) host content-length "
				  "content-type x-content-sha256\""),
		      "%s", buf);
	ck_assert_ptr_null(strstr(seen.headers, "Expect:"));

	/* GET and DELETE: no body headers, no if-match unless given */
	get_work(c, "ocid1.clustersworkrequest.oc1..w", &rec);
	fake_http_last_canned(canned, &seen);
	ck_assert_str_eq(seen.method, "GET");
	ck_assert_str_eq(seen.target, "/canned/20180222/workRequests/ocid1.clustersworkrequest.oc1..w");
	ck_assert(!fake_http_seen_header(&seen, "if-match", buf, sizeof(buf)));
	ck_assert(!fake_http_seen_header(&seen, "x-content-sha256", buf, sizeof(buf)));
	ck_assert(fake_http_seen_header(&seen, "authorization", buf, sizeof(buf)));
	ck_assert_msg(strstr(buf, "headers=\"date (request-target) host\""), "%s", buf);
	delete_node(c, POOL, "ocid1.instance.oc1..n", NULL, 120, &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	fake_http_last_canned(canned, &seen);
	ck_assert_str_eq(seen.method, "DELETE");
	ck_assert_str_eq(seen.target, "/canned/20180222/nodePools/" POOL "/node/ocid1.instance.oc1..n"
				      "?isDecrementSize=true&overrideEvictionGraceDuration=PT2M");
	ck_assert(!fake_http_seen_header(&seen, "if-match", buf, sizeof(buf)));
	oci_ce_free(c);
}
END_TEST

/* A 2xx whose body is not what was asked for: a permanent failure with why, never data. */
START_TEST(test_unparsable_answers)
{
	struct rec rec;
	oci_ce_t *c;

	c = canned_ce(200, "<html>gateway</html>");
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 200);
	ck_assert(!rec.has_pool);
	ck_assert_int_eq(rec.attempts, 1);
	ck_assert_msg(strstr(rec.error, "GetNodePool " POOL ": 200, but the answer is not a "
					"NodePool: not JSON (at byte ") == rec.error,
		      "%s", rec.error);
	get_work(c, "wr1", &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert(!rec.has_wr);
	ck_assert_msg(strstr(rec.error, "GetWorkRequest wr1: 200, but the answer is not a "
					"WorkRequest: not JSON") == rec.error,
		      "%s", rec.error);
	oci_ce_free(c);

	c = canned_ce(200, "{\"id\":\"p\",\"nodeConfigDetails\":{\"size\":\"3\"}}");
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_str_eq(rec.error, "GetNodePool " POOL ": 200, but the answer is not a NodePool: "
				    "nodeConfigDetails.size: expected an integer from 0 to "
				    "2147483647");
	/* and an update does not go out on it */
	set_size(c, POOL, 3, NULL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_msg(strstr(rec.error, "UpdateNodePool " POOL ": reading the node pool's etag: "
					"200, but the answer is not a NodePool: ") == rec.error,
		      "%s", rec.error);
	ck_assert(!rec.has_wrid);
	oci_ce_free(c);

	/* a pool without an etag header: nothing to send as if-match */
	c = canned_ce(200, "{\"id\":\"p\",\"lifecycleState\":\"ACTIVE\"}");
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	ck_assert_str_eq(rec.pool.etag, "");
	ck_assert_int_eq(rec.pool.size, -1);
	set_size(c, POOL, 3, NULL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_str_eq(rec.error, "UpdateNodePool " POOL ": reading the node pool's etag: 200, "
				    "but the answer has no etag header");
	oci_ce_free(c);

	/* an error status without OCI's body */
	c = canned_ce(403, "<html>forbidden</html>");
	get_pool(c, POOL, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 403);
	ck_assert_str_eq(rec.code, "");
	ck_assert_str_eq(rec.error, "GetNodePool " POOL ": 403");
	oci_ce_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("oci-ce");
	TCase *tc = tcase_create("against the fake OCI API");
	TCase *tp = tcase_create("parsers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_get_node_pool);
	tcase_add_test(tc, test_endpoint_trailing_slash);
	tcase_add_test(tc, test_endpoint_from_region);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_resize_and_work_request);
	tcase_add_test(tc, test_resize_reads_etag_first);
	tcase_add_test(tc, test_incorrect_state_retried);
	tcase_add_test(tc, test_conflict_not_retried);
	tcase_add_test(tc, test_429_storm);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_500_then_success);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_412_reads_again);
	tcase_add_test(tc, test_second_412_fails);
	tcase_add_test(tc, test_delete_node);
	tcase_add_test(tc, test_delete_grace_minutes);
	tcase_add_test(tc, test_delete_gone_node_412);
	tcase_add_test(tc, test_401_message);
	tcase_add_test(tc, test_401_refreshes_session_token);
	tcase_add_test(tc, test_404_message);
	tcase_add_test(tc, test_cancel_each_stage);
	tcase_add_test(tc, test_callback_starts_and_cancels);
	tcase_add_test(tc, test_free_with_calls);
	tcase_add_test(tc, test_request_headers);
	tcase_add_test(tc, test_unparsable_answers);
	suite_add_tcase(s, tc);
	tcase_add_test(tp, test_pool_parser_errors);
	tcase_add_test(tp, test_pool_parser_accepts);
	tcase_add_test(tp, test_pool_parser_limits);
	suite_add_tcase(s, tp);
	return s;
}

int main(int argc, char **argv)
{
	int status;

	(void)argc;
	(void)argv;
	if (!(key_pem = test_rsa_pem(2048))) {
		fprintf(stderr, "test-oci-ce: cannot make an RSA key\n");
		return 99;
	}
	status = check_run(suite(), CK_ENV);
	free(key_pem);
	return status;
}
