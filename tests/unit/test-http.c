/* test-http.c - the async HTTP client against fake servers on loopback ports chosen at run
 * time: responses, outcomes, retries and Retry-After, broken servers, limits, the
 * per-destination cap with 1,000 requests, cancellation, proxies from the environment,
 * rotating token files, TLS (verification, CAs, client certificates) and redaction.
 *
 * Every server is started by the test's fixture and stopped by its teardown, which Check
 * runs after a failure too (CK_FORK=no) or which dies with the forked test. No assertion is
 * on a duration: retries are counted, Retry-After is checked through the delays the client
 * reports having scheduled, and the timers below only stop a test that would hang.
 */
#include <check.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "autoscalerd/ev-glue.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-http.h"
#include "tests/fakes/fake-raw.h"
#include "tests/fakes/fake-tls.h"

/* ---- fixture ---------------------------------------------------------------------------- */

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *client;
static fake_http_t *srv;
static fake_raw_t *raw;
static fake_tls_t *tls;
static char tmpdir[64];
static int completions;

static void client_opts(int max_in_flight, size_t max_queued)
{
	http_client_opts_t o = { 0 };

	o.loop = ev_glue_loop(&glue);
	o.max_in_flight = max_in_flight;
	o.max_queued = max_queued;
	o.seed = 42;
	ck_assert_int_eq(http_client_new(&o, &client), 0);
	ev_glue_attach(&glue, client);
}

static void setup(void)
{
	static const char *const proxies[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
					       "all_proxy",  "ALL_PROXY",   "no_proxy",
					       "NO_PROXY" };

	/* The tests talk to 127.0.0.1: a proxy from the environment would get in the way. */
	for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
		unsetenv(proxies[i]);
	completions = 0;
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ev_glue_init(&glue, loop);
	client_opts(0, 0);
	ck_assert_int_eq(fake_http_start(false, &srv), 0);
}

static void teardown(void)
{
	client = http_client_free(client);
	ev_glue_stop(&glue);
	if (loop)
		ev_loop_destroy(loop);
	loop = NULL;
	srv = fake_http_stop(srv);
	raw = fake_raw_stop(raw);
	tls = fake_tls_stop(tls);
	unsetenv("http_proxy");
	unsetenv("no_proxy");
}

/* The temporary directory lives in the parent in fork mode, so a failed test cannot leak
 * it. */
static void tmp_setup(void)
{
	check_tmpdir(tmpdir, sizeof(tmpdir), "test-http");
}

static void tmp_teardown(void)
{
	test_rm_tree(tmpdir);
}

/* ---- helpers ---------------------------------------------------------------------------- */

struct res {
	int done, order;
	http_outcome_t outcome;
	http_cause_t cause;
	long status;
	char error[HTTP_ERROR_MAX];
	char *body;
	size_t len, n_headers;
	int attempts;
	int64_t waited, retry_after;
	const char *want_header;
	char header[256];
};

static void on_done(http_response_t *res, void *ud)
{
	struct res *r = ud;
	const char *h;

	r->done++;
	r->order = completions++;
	r->outcome = res->outcome;
	r->cause = res->cause;
	r->status = res->status;
	snprintf(r->error, sizeof(r->error), "%s", res->error);
	free(r->body);
	r->body = res->body; /* taken: the client must not free it */
	r->len = res->body_len;
	res->body = NULL;
	r->n_headers = res->n_headers;
	r->attempts = res->attempts;
	r->waited = res->waited_ms;
	r->retry_after = res->retry_after_ms;
	h = r->want_header ? http_response_header(res, r->want_header) : NULL;
	snprintf(r->header, sizeof(r->header), "%s", h ? h : "(none)");
}

static void res_clear(struct res *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static double guard_seconds(void)
{
	return getenv("AUTOSCALERD_VALGRIND") ? 600.0 : 60.0;
}

static void on_guard(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	*(bool *)w->data = true;
}

/* Runs the loop until done(arg); fails the test if that takes absurdly long. */
static void run_while_not(bool (*done)(const void *arg), const void *arg, const char *what)
{
	bool fired = false;
	ev_timer guard;

	ev_timer_init(&guard, on_guard, guard_seconds(), 0.0);
	guard.data = &fired;
	ev_timer_start(loop, &guard);
	while (!done(arg) && !fired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &guard);
	ck_assert_msg(!fired, "gave up waiting for %s", what);
}

struct count_want {
	const int *count;
	int want;
};

static bool count_reached(const void *arg)
{
	const struct count_want *c = arg;

	return *c->count >= c->want;
}

/* Runs the loop until *count reaches want. */
static void run_until(const int *count, int want)
{
	struct count_want c = { count, want };
	char what[64];

	snprintf(what, sizeof(what), "%d completions (have %d)", want, *count);
	run_while_not(count_reached, &c, what);
}

static char *url(char *buf, size_t size, uint16_t port, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%u%s", (unsigned)port, path);
	return buf;
}

static http_request_opts_t opts_for(const char *u, struct res *r)
{
	http_request_opts_t o = { 0 };

	o.url = u;
	o.done = on_done;
	o.userdata = r;
	return o;
}

static http_request_t *submit(const http_request_opts_t *o)
{
	http_request_t *req = NULL;
	char err[HTTP_ERROR_MAX];
	int rv = http_submit(client, o, &req, err, sizeof(err));

	ck_assert_msg(rv == 0, "submit %s: %d %s", o->url, rv, err);
	return req;
}

/* One request through the loop to its end. */
static void fetch(const http_request_opts_t *o, struct res *r)
{
	submit(o);
	run_until(&r->done, 1);
}

/* tmpdir/name, its path left in path. */
static void write_file(const char *name, const char *text, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", tmpdir, name);
	check_write_file(path, text, 0644);
}

/* ---- responses -------------------------------------------------------------------------- */

START_TEST(test_get_ok)
{
	char u[128];
	struct res r = { .want_header = "x-fake" };
	http_request_opts_t o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/ok"), &r);
	http_stats_t st;

	fetch(&o, &r);
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_NONE);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.error, "");
	ck_assert_str_eq(r.body, "hello\n");
	ck_assert_uint_eq(r.len, 6);
	ck_assert_str_eq(r.header, "yes");
	ck_assert_uint_ge(r.n_headers, 2);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_eq(r.retry_after, -1);
	http_client_stats(client, &st);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(st.completed[HTTP_SUCCESS], 1);
	res_clear(&r);

	/* The client lets go of every fd and its timer when freed. */
	client = http_client_free(client);
	ck_assert_uint_eq(glue.watched, 0);
	ck_assert_int_eq(ev_is_active(&glue.timer), 0);
}
END_TEST

START_TEST(test_methods_and_bodies)
{
	static const struct {
		const char *method, *body, *want;
	} t[] = {
		{ NULL, "a=1&b=2", "POST a=1&b=2" },
		{ "POST", NULL, "POST " },
		{ "PUT", "{\"spec\":{\"replicas\":3}}", "PUT {\"spec\":{\"replicas\":3}}" },
		{ "PATCH", "{}", "PATCH {}" },
		{ "DELETE", NULL, "DELETE " },
		{ NULL, NULL, "GET " },
	};
	http_header_t ct = { "Content-Type", "application/merge-patch+json" };
	char u[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct res r = { .want_header = "X-Echo-Content-Type" };
		http_request_opts_t o =
			opts_for(url(u, sizeof(u), fake_http_port(srv), "/echo"), &r);

		o.method = t[i].method;
		o.body = t[i].body;
		o.body_len = t[i].body ? strlen(t[i].body) : 0;
		if (t[i].method && strcmp(t[i].method, "PATCH") == 0) {
			o.headers = &ct;
			o.n_headers = 1;
		}
		fetch(&o, &r);
		ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
		ck_assert_str_eq(r.body, t[i].want);
		if (o.n_headers)
			ck_assert_str_eq(r.header, "application/merge-patch+json");
		res_clear(&r);
	}
}
END_TEST

START_TEST(test_status_404_permanent)
{
	char u[128];
	struct res r = { 0 };
	http_request_opts_t o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/nowhere"), &r);

	o.retry.max_attempts = 5;
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_STATUS);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(r.attempts, 1); /* permanent: never retried */
	ck_assert_str_eq(r.body, "not found\n"); /* error bodies reach the caller */
	ck_assert_msg(strstr(r.error, "HTTP 404") && strstr(r.error, "GET http://127.0.0.1:") &&
			      strstr(r.error, "/nowhere"),
		      "error: %s", r.error);
	res_clear(&r);
}
END_TEST

START_TEST(test_classify_status)
{
	static const struct {
		long status;
		http_outcome_t o;
	} t[] = {
		{ 200, HTTP_SUCCESS },	 { 204, HTTP_SUCCESS },	  { 299, HTTP_SUCCESS },
		{ 100, HTTP_PERMANENT }, { 301, HTTP_PERMANENT }, { 400, HTTP_PERMANENT },
		{ 401, HTTP_PERMANENT }, { 403, HTTP_PERMANENT }, { 404, HTTP_PERMANENT },
		{ 409, HTTP_PERMANENT }, { 429, HTTP_RETRYABLE }, { 500, HTTP_RETRYABLE },
		{ 501, HTTP_PERMANENT }, { 502, HTTP_RETRYABLE }, { 503, HTTP_RETRYABLE },
		{ 504, HTTP_RETRYABLE }, { 599, HTTP_RETRYABLE }, { 600, HTTP_PERMANENT },
		{ 0, HTTP_PERMANENT },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(http_classify_status(t[i].status) == t[i].o, "status %ld",
			      t[i].status);
	ck_assert_str_eq(http_outcome_name(HTTP_RETRYABLE), "retryable");
	ck_assert_str_eq(http_cause_name(HTTP_CAUSE_TOO_LARGE), "too_large");
	ck_assert_str_eq(http_cause_name(HTTP_CAUSE_COUNT_), "unknown");
}
END_TEST

/* Each status through the server, without retries. */
START_TEST(test_status_outcomes)
{
	static const struct {
		const char *path;
		http_outcome_t o;
		long status;
	} t[] = {
		{ "/status/201", HTTP_SUCCESS, 201 },	{ "/status/429", HTTP_RETRYABLE, 429 },
		{ "/status/500", HTTP_RETRYABLE, 500 }, { "/status/501", HTTP_PERMANENT, 501 },
		{ "/status/503", HTTP_RETRYABLE, 503 }, { "/status/400", HTTP_PERMANENT, 400 },
	};
	char u[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct res r = { 0 };
		http_request_opts_t o = opts_for(url(u, sizeof(u), fake_http_port(srv), t[i].path),
						 &r);

		fetch(&o, &r);
		ck_assert_msg(r.outcome == t[i].o && r.status == t[i].status, "%s: %s %ld",
			      t[i].path, http_outcome_name(r.outcome), r.status);
		res_clear(&r);
	}
}
END_TEST

/* ---- retries ---------------------------------------------------------------------------- */

/* Retry-After: 1 on two 503s: three attempts, and the client waited what the server asked
 * (the backoff alone, capped at 1 ms, could not add up to 2 s). */
START_TEST(test_retry_503_retry_after)
{
	char u[128];
	struct res r = { 0 };
	http_request_opts_t o =
		opts_for(url(u, sizeof(u), fake_http_port(srv), "/flaky/2/503?retry_after=1"), &r);

	o.retry = (http_retry_t){ .max_attempts = 5, .base_ms = 1, .cap_ms = 1 };
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert_str_eq(r.body, "recovered\n");
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_eq(fake_http_requests(srv), 3);
	ck_assert_int_ge(r.waited, 2000);
	res_clear(&r);
}
END_TEST

START_TEST(test_retry_429_retry_after)
{
	char u[128];
	struct res r = { 0 };
	http_request_opts_t o =
		opts_for(url(u, sizeof(u), fake_http_port(srv), "/flaky/1/429?retry_after=1"), &r);
	http_stats_t st;

	o.retry = (http_retry_t){ .max_attempts = 3, .base_ms = 1, .cap_ms = 1 };
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_int_eq(fake_http_requests(srv), 2);
	ck_assert_int_ge(r.waited, 1000);
	http_client_stats(client, &st);
	ck_assert_uint_eq(st.retries, 1);
	res_clear(&r);
}
END_TEST

/* An HTTP-date in the past means "now". */
START_TEST(test_retry_after_past_date)
{
	char u[160];
	struct res r = { 0 };
	http_request_opts_t o = opts_for(
		url(u, sizeof(u), fake_http_port(srv),
		    "/flaky/1/503?retry_after=Wed,%2021%20Oct%202015%2007:28:00%20GMT"),
		&r);

	o.retry = (http_retry_t){ .max_attempts = 2, .base_ms = 1, .cap_ms = 1 };
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_int_le(r.waited, 1);
	res_clear(&r);
}
END_TEST

START_TEST(test_retry_exhausted)
{
	char u[128];
	struct res r = { 0 };
	http_request_opts_t o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/status/503"), &r);

	o.retry = (http_retry_t){ .max_attempts = 3, .base_ms = 1, .cap_ms = 2 };
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_eq(r.attempts, 3);
	ck_assert_int_eq(fake_http_requests(srv), 3);
	ck_assert_int_le(r.waited, 4); /* full jitter within 1 + 2 ms */
	ck_assert_msg(strstr(r.error, "HTTP 503 (attempt 3 of 3)"), "error: %s", r.error);
	res_clear(&r);
}
END_TEST

/* A Retry-After longer than the caller will wait ends the request; the caller gets it. */
START_TEST(test_retry_after_too_long)
{
	char u[128];
	struct res r = { 0 };
	http_request_opts_t o = opts_for(
		url(u, sizeof(u), fake_http_port(srv), "/status/503?retry_after=3600"), &r);

	o.retry = (http_retry_t){ .max_attempts = 3, .max_retry_after_ms = 60000 };
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_eq(r.retry_after, 3600000);
	res_clear(&r);
}
END_TEST

START_TEST(test_parse_retry_after)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const time_t t0 = 784111777;
	static const struct {
		const char *v;
		int r;
		int64_t ms;
	} t[] = {
		{ "120", 0, 120000 },
		{ "0", 0, 0 },
		{ " 5 ", 0, 5000 },
		{ "31622400", 0, 31622400000 },
		{ "31622401", -ERANGE, 0 },
		{ "99999999999999", -ERANGE, 0 },
		{ "-1", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 },
		{ "12abc", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "   ", -EINVAL, 0 },
		{ "soon", -EINVAL, 0 },
		{ "Sun, 06 Nov 1994 08:50:07 GMT", 0, 30000 },	/* IMF-fixdate */
		{ "Sunday, 06-Nov-94 08:50:07 GMT", 0, 30000 }, /* RFC 850 */
		{ "Sun Nov  6 08:50:07 1994", 0, 30000 },	/* asctime */
		{ "Sun, 06 Nov 1994 08:00:00 GMT", 0, 0 },	/* past */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t ms = -7;
		int r = http_parse_retry_after(t[i].v, t0, &ms);

		ck_assert_msg(r == t[i].r, "\"%s\": %d", t[i].v, r);
		if (r == 0)
			ck_assert_msg(ms == t[i].ms, "\"%s\": %lld ms", t[i].v, (long long)ms);
		else
			ck_assert_int_eq(ms, -7); /* untouched on failure */
	}
	ck_assert_int_eq(http_parse_retry_after(NULL, t0, &(int64_t){ 0 }), -EINVAL);
}
END_TEST

START_TEST(test_backoff_bound)
{
	static const struct {
		int64_t base, cap;
		int n;
		int64_t want;
	} t[] = {
		{ 1000, 30000, 1, 1000 },     { 1000, 30000, 2, 2000 },
		{ 1000, 30000, 5, 16000 },    { 1000, 30000, 6, 30000 },
		{ 1000, 30000, 100, 30000 },  { 100, 50, 1, 50 },
		{ 0, 30000, 3, 0 },	      { INT64_MAX / 2, INT64_MAX, 3, INT64_MAX },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_int_eq(http_backoff_bound(t[i].base, t[i].cap, t[i].n), t[i].want);
}
END_TEST

/* ---- transport failures ----------------------------------------------------------------- */

START_TEST(test_connection_refused)
{
	char u[128];
	uint16_t port;
	struct res r = { 0 };
	http_request_opts_t o;

	ck_assert_int_eq(fake_closed_port(&port), 0);
	o = opts_for(url(u, sizeof(u), port, "/x"), &r);
	o.retry = (http_retry_t){ .max_attempts = 2, .base_ms = 1, .cap_ms = 1 };
	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_CONNECT);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.attempts, 2);
	ck_assert_ptr_null(r.body);
	ck_assert_msg(strstr(r.error, "cannot connect") && strstr(r.error, u), "error: %s",
		      r.error);
	res_clear(&r);
}
END_TEST

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	(*(int *)w->data)++;
}

/* A server that never answers: the attempt times out as retryable, and meanwhile the loop
 * serves other requests and timers. */
START_TEST(test_timeout_loop_responsive)
{
	char u1[128], u2[128];
	struct res hang = { 0 }, ok = { 0 };
	http_request_opts_t o1, o2;
	ev_timer tick;
	int ticks = 0;

	char within[64];

	ck_assert_int_eq(fake_raw_start(FAKE_RAW_HANG, &raw), 0);
	o1 = opts_for(url(u1, sizeof(u1), fake_raw_port(raw), "/hang"), &hang);
	/* Long enough for the other request to finish first even under valgrind. */
	o1.timeout_ms = getenv("AUTOSCALERD_VALGRIND") ? 10000 : 2500;
	snprintf(within, sizeof(within), "within %lld ms", (long long)o1.timeout_ms);
	o2 = opts_for(url(u2, sizeof(u2), fake_http_port(srv), "/ok"), &ok);
	ev_timer_init(&tick, on_tick, 0.01, 0.01);
	tick.data = &ticks;
	ev_timer_start(loop, &tick);
	submit(&o1);
	submit(&o2);
	run_until(&ok.done, 1);
	ck_assert_int_eq(ok.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(hang.done, 0); /* still waiting while the other one finished */
	run_until(&hang.done, 1);
	ev_timer_stop(loop, &tick);
	ck_assert_int_gt(ticks, 0);
	ck_assert_int_eq(hang.outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(hang.cause, HTTP_CAUSE_TIMEOUT);
	ck_assert_msg(strstr(hang.error, within), "error: %s", hang.error);
	ck_assert_ptr_null(hang.body);
	res_clear(&hang);
	res_clear(&ok);
}
END_TEST

static const struct {
	fake_raw_mode_t mode;
	http_cause_t cause;
	http_outcome_t outcome;
	const char *says;
} broken[] = {
	{ FAKE_RAW_CLOSE, HTTP_CAUSE_CLOSED, HTTP_RETRYABLE, "connection lost" },
	{ FAKE_RAW_GARBAGE, HTTP_CAUSE_PROTOCOL, HTTP_PERMANENT, "not a valid HTTP response" },
	{ FAKE_RAW_TRUNCATED, HTTP_CAUSE_CLOSED, HTTP_RETRYABLE, "connection lost" },
	{ FAKE_RAW_MIDCLOSE, HTTP_CAUSE_CLOSED, HTTP_RETRYABLE, "connection lost" },
};

START_TEST(test_broken_server)
{
	char u[128];
	struct res r = { 0 };
	http_request_opts_t o;

	ck_assert_int_eq(fake_raw_start(broken[_i].mode, &raw), 0);
	o = opts_for(url(u, sizeof(u), fake_raw_port(raw), "/x"), &r);
	fetch(&o, &r);
	ck_assert_msg(r.cause == broken[_i].cause && r.outcome == broken[_i].outcome,
		      "mode %d: %s %s: %s", (int)broken[_i].mode, http_cause_name(r.cause),
		      http_outcome_name(r.outcome), r.error);
	ck_assert_ptr_null(r.body); /* a partial body is no body */
	ck_assert_msg(strstr(r.error, broken[_i].says) && strstr(r.error, u), "error: %s",
		      r.error);
	res_clear(&r);
}
END_TEST

/* ---- limits ----------------------------------------------------------------------------- */

START_TEST(test_response_ceiling)
{
	static const struct {
		const char *path;
		size_t max;
		http_cause_t cause;
	} t[] = {
		{ "/big/20971520", 1 << 20, HTTP_CAUSE_TOO_LARGE },	   /* declared length */
		{ "/bigchunked/20971520", 1 << 20, HTTP_CAUSE_TOO_LARGE }, /* found while reading */
		{ "/big/1048576", 1 << 20, HTTP_CAUSE_NONE },		   /* exactly the ceiling */
		{ "/bigchunked/1048576", 1 << 20, HTTP_CAUSE_NONE },
		{ "/bigchunked/8388609", 0, HTTP_CAUSE_TOO_LARGE }, /* the default, 8 MiB */
	};
	char u[128];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct res r = { 0 };
		http_request_opts_t o = opts_for(url(u, sizeof(u), fake_http_port(srv), t[i].path),
						 &r);
		http_stats_t st;

		o.max_response = t[i].max;
		fetch(&o, &r);
		ck_assert_msg(r.cause == t[i].cause, "%s: %s", t[i].path, r.error);
		if (t[i].cause == HTTP_CAUSE_NONE) {
			ck_assert_uint_eq(r.len, t[i].max);
		} else {
			ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
			ck_assert_ptr_null(r.body);
			ck_assert_msg(strstr(r.error, "larger than the ceiling"), "%s", r.error);
		}
		/* Memory stays within the ceiling (+ the NUL). */
		http_client_stats(client, &st);
		ck_assert_uint_le(st.peak_body, (t[i].max ? t[i].max : HTTP_DEFAULT_MAX_RESPONSE) + 1);
		res_clear(&r);
	}
}
END_TEST

START_TEST(test_response_header_limit)
{
	char u[128];
	struct res r = { .want_header = "X-H-49" };
	http_request_opts_t o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/headers/50"), &r);

	fetch(&o, &r);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert_uint_ge(r.n_headers, 50);
	ck_assert_str_eq(r.header, "some value");
	res_clear(&r);

	o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/headers/150"), &r);
	fetch(&o, &r);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_TOO_LARGE);
	ck_assert_msg(strstr(r.error, "response headers over the limit"), "%s", r.error);
	res_clear(&r);
}
END_TEST

START_TEST(test_submit_refused)
{
	static const http_header_t bad_name = { "Bad Name", "v" };
	static const http_header_t bad_value = { "X-Token", "secret-value\r\nX-Evil: 1" };
	char u[128], err[HTTP_ERROR_MAX];
	struct res r = { 0 };
	http_request_opts_t o;
	static const struct {
		const char *url, *method;
		const http_header_t *h;
		int want;
	} t[] = {
		{ "not a url", NULL, NULL, -EINVAL },
		{ "ftp://127.0.0.1/x", NULL, NULL, -EINVAL },
		{ "file:///etc/passwd", NULL, NULL, -EINVAL },
		{ "http://127.0.0.1/x", "get", NULL, -EINVAL },
		{ "http://127.0.0.1/x", "GET /", NULL, -EINVAL },
		{ "http://127.0.0.1/x", "", NULL, -EINVAL },
		{ "http://127.0.0.1/x", NULL, &bad_name, -EINVAL },
		{ "http://127.0.0.1/x", NULL, &bad_value, -EINVAL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		o = opts_for(t[i].url, &r);
		o.method = t[i].method;
		o.headers = t[i].h;
		o.n_headers = t[i].h ? 1 : 0;
		ck_assert_msg(http_submit(client, &o, NULL, err, sizeof(err)) == t[i].want, "%s",
			      t[i].url);
		ck_assert_str_ne(err, "");
		ck_assert_ptr_null(strstr(err, "secret-value"));
	}
	o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/ok"), &r);
	o.retry.max_attempts = HTTP_MAX_ATTEMPTS + 1;
	ck_assert_int_eq(http_submit(client, &o, NULL, NULL, 0), -EINVAL);
	o = opts_for(u, &r);
	o.done = NULL;
	ck_assert_int_eq(http_submit(client, &o, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(r.done, 0);
}
END_TEST

/* max_queued bounds what waits; running requests do not count. */
START_TEST(test_queue_full)
{
	char u[128];
	struct res r[4] = { 0 };

	client = http_client_free(client);
	client_opts(1, 2);
	url(u, sizeof(u), fake_http_port(srv), "/slow/50");
	for (int i = 0; i < 3; i++) {
		http_request_opts_t o = opts_for(u, &r[i]);

		submit(&o);
	}
	{
		http_request_opts_t o = opts_for(u, &r[3]);
		char err[HTTP_ERROR_MAX];

		ck_assert_int_eq(http_submit(client, &o, NULL, err, sizeof(err)), -ENOBUFS);
		ck_assert_msg(strstr(err, "2 requests already wait"), "%s", err);
	}
	run_until(&completions, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].outcome, HTTP_SUCCESS);
		res_clear(&r[i]);
	}
}
END_TEST

/* ---- many in flight --------------------------------------------------------------------- */

#define MANY 1000

/* 1,000 requests at once to one destination with a cap of 64: the server never sees more
 * than 64 at a time, every request completes. */
START_TEST(test_thousand_in_flight)
{
	static struct res r[MANY];
	char u[128];
	http_stats_t st;
	int max;

	url(u, sizeof(u), fake_http_port(srv), "/slow/20");
	for (int i = 0; i < MANY; i++) {
		http_request_opts_t o = opts_for(u, &r[i]);

		submit(&o);
	}
	http_client_stats(client, &st);
	ck_assert_uint_eq(st.in_flight, HTTP_DEFAULT_MAX_IN_FLIGHT);
	ck_assert_uint_eq(st.queued, MANY - HTTP_DEFAULT_MAX_IN_FLIGHT);
	run_until(&completions, MANY);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(r[i].done, 1);
		ck_assert_int_eq(r[i].outcome, HTTP_SUCCESS);
		res_clear(&r[i]);
	}
	max = fake_http_max_concurrent(srv);
	ck_assert_int_le(max, HTTP_DEFAULT_MAX_IN_FLIGHT);
	ck_assert_int_gt(max, 1); /* requests did overlap: the cap was what held them */
	ck_assert_int_eq(fake_http_requests(srv), MANY);
	http_client_stats(client, &st);
	ck_assert_uint_eq(st.in_flight + st.queued + st.waiting_retry, 0);
	ck_assert_uint_eq(st.completed[HTTP_SUCCESS], MANY);
}
END_TEST

/* A profile's cap, and FIFO order within a destination. */
START_TEST(test_profile_cap_fifo)
{
	struct res r[40] = { 0 };
	http_profile_opts_t po = { .max_in_flight = 1 };
	http_profile_t *p;
	char u[128];

	ck_assert_int_eq(http_profile_new(&po, &p, NULL, 0), 0);
	url(u, sizeof(u), fake_http_port(srv), "/slow/2");
	for (int i = 0; i < 40; i++) {
		http_request_opts_t o = opts_for(u, &r[i]);

		o.profile = p;
		submit(&o);
	}
	p = http_profile_unref(p); /* the requests keep it alive */
	run_until(&completions, 40);
	ck_assert_int_eq(fake_http_max_concurrent(srv), 1);
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(r[i].outcome, HTTP_SUCCESS);
		ck_assert_int_eq(r[i].order, i);
		res_clear(&r[i]);
	}
}
END_TEST

/* ---- cancel and callbacks --------------------------------------------------------------- */

static bool retry_waiting(const void *arg)
{
	http_stats_t st;

	(void)arg;
	http_client_stats(client, &st);
	return st.waiting_retry > 0;
}

START_TEST(test_cancel)
{
	struct res r[3] = { 0 }, retry = { 0 };
	http_request_t *q[3];
	char u[128], u2[128];
	http_request_opts_t o;
	http_stats_t st;

	client = http_client_free(client);
	client_opts(1, 0);
	url(u, sizeof(u), fake_http_port(srv), "/slow/100");
	for (int i = 0; i < 3; i++) {
		o = opts_for(u, &r[i]);
		q[i] = submit(&o);
	}
	http_cancel(client, q[0]); /* running */
	http_cancel(client, q[1]); /* queued */
	run_until(&r[2].done, 1);
	ck_assert_int_eq(r[0].done + r[1].done, 0);
	ck_assert_int_eq(r[2].outcome, HTTP_SUCCESS);

	/* Waiting for a retry. */
	o = opts_for(url(u2, sizeof(u2), fake_http_port(srv), "/status/503?retry_after=30"),
		     &retry);
	o.retry.max_attempts = 3;
	q[0] = submit(&o);
	run_while_not(retry_waiting, NULL, "a request waiting for its retry");
	http_cancel(client, q[0]);
	http_client_stats(client, &st);
	ck_assert_uint_eq(st.waiting_retry, 0);
	ck_assert_int_eq(retry.done, 0);

	/* Freeing the client with requests in every state calls no callback. */
	for (int i = 0; i < 2; i++) {
		o = opts_for(u, &r[i]);
		submit(&o);
	}
	client = http_client_free(client);
	ck_assert_int_eq(r[0].done + r[1].done, 0);
	ck_assert_uint_eq(glue.watched, 0);
	for (int i = 0; i < 3; i++)
		res_clear(&r[i]);
}
END_TEST

struct chain {
	int left;
	char url[128];
	struct res r;
};

static void on_chain(http_response_t *res, void *ud)
{
	struct chain *c = ud;

	on_done(res, &c->r);
	if (--c->left > 0) {
		http_request_opts_t o = opts_for(c->url, NULL);

		o.done = on_chain;
		o.userdata = c;
		ck_assert_int_eq(http_submit(client, &o, NULL, NULL, 0), 0);
	}
}

/* A completion callback submits the next request, and one cancels another. */
START_TEST(test_callbacks_submit_and_cancel)
{
	struct chain c = { .left = 5 };
	http_request_opts_t o;

	url(c.url, sizeof(c.url), fake_http_port(srv), "/ok");
	o = opts_for(c.url, NULL);
	o.done = on_chain;
	o.userdata = &c;
	submit(&o);
	run_until(&completions, 5);
	ck_assert_int_eq(c.left, 0);
	ck_assert_int_eq(c.r.done, 5);
	ck_assert_str_eq(c.r.body, "hello\n");
	res_clear(&c.r);
}
END_TEST

static http_request_t *victim;
static struct res *victim_res;

static void on_cancel_other(http_response_t *res, void *ud)
{
	on_done(res, ud);
	/* A victim that already completed is gone: fail rather than touch it. */
	ck_assert_int_eq(victim_res->done, 0);
	http_cancel(client, victim);
}

START_TEST(test_callback_cancels)
{
	struct res a = { 0 }, b = { 0 }, c = { 0 };
	char u1[128], u2[128];
	http_request_opts_t o;
	int64_t t = getenv("AUTOSCALERD_VALGRIND") ? 3000 : 300;

	/* The victim waits on a server that never answers, until its timeout. */
	ck_assert_int_eq(fake_raw_start(FAKE_RAW_HANG, &raw), 0);
	o = opts_for(url(u2, sizeof(u2), fake_raw_port(raw), "/never"), &b);
	o.timeout_ms = t;
	victim = submit(&o);
	victim_res = &b;
	o = opts_for(url(u1, sizeof(u1), fake_http_port(srv), "/ok"), &a);
	o.done = on_cancel_other;
	submit(&o);
	run_until(&a.done, 1);
	/* Let the loop run past the victim's timeout: it must never complete. */
	snprintf(u1, sizeof(u1), "http://127.0.0.1:%u/slow/%lld", (unsigned)fake_http_port(srv),
		 (long long)t + 200);
	o = opts_for(u1, &c);
	submit(&o);
	run_until(&c.done, 1);
	ck_assert_int_eq(b.done, 0);
	res_clear(&a);
	res_clear(&c);
}
END_TEST

/* ---- proxies ---------------------------------------------------------------------------- */

START_TEST(test_proxy_from_environment)
{
	char proxy[64], target[256], u[128];
	struct res r = { 0 };
	http_request_opts_t o;

	/* http_proxy is honoured: the fake answers as the proxy for a name that resolves
	 * nowhere. */
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", (unsigned)fake_http_port(srv));
	setenv("http_proxy", proxy, 1);
	o = opts_for("http://autoscalerd-test.invalid/ok", &r);
	fetch(&o, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	ck_assert_str_eq(r.body, "hello\n");
	fake_http_last_target(srv, target, sizeof(target));
	ck_assert_str_eq(target, "http://autoscalerd-test.invalid/ok");
	res_clear(&r);

	/* no_proxy is honoured: a broken proxy is never used for 127.0.0.1. */
	ck_assert_int_eq(fake_raw_start(FAKE_RAW_CLOSE, &raw), 0);
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", (unsigned)fake_raw_port(raw));
	setenv("http_proxy", proxy, 1);
	setenv("no_proxy", "127.0.0.1", 1);
	o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/ok"), &r);
	fetch(&o, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	ck_assert_int_eq(fake_raw_accepted(raw), 0);
	res_clear(&r);
}
END_TEST

/* ---- credentials ------------------------------------------------------------------------ */

START_TEST(test_bearer_token_file_rotation)
{
	char path[128], newpath[128], u[128], err[HTTP_ERROR_MAX];
	http_profile_opts_t po = { 0 };
	http_profile_t *p;
	struct res r = { .want_header = "X-Echo-Auth" };
	http_request_opts_t o;
	struct timespec ts[2];

	write_file("token", "tok-one\n", path, sizeof(path));
	po.bearer_token_file = path;
	ck_assert_int_eq(http_profile_new(&po, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(http_profile_insecure(p), false);
	url(u, sizeof(u), fake_http_port(srv), "/echo");
	o = opts_for(u, &r);
	o.profile = p;
	fetch(&o, &r);
	ck_assert_str_eq(r.header, "Bearer tok-one");
	res_clear(&r);

	/* Rotated the Kubernetes way: a new file renamed over the old one. */
	write_file("token.new", "tok-two\r\n\n", newpath, sizeof(newpath));
	ck_assert_int_eq(rename(newpath, path), 0);
	r.want_header = "X-Echo-Auth";
	fetch(&o, &r);
	ck_assert_str_eq(r.header, "Bearer tok-two");
	res_clear(&r);

	/* Rewritten in place, same size; the mtime moves. */
	write_file("token", "tok-six", path, sizeof(path));
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) + 100;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	r.want_header = "X-Echo-Auth";
	fetch(&o, &r);
	ck_assert_str_eq(r.header, "Bearer tok-six");
	res_clear(&r);

	/* A caller's own Authorization header wins over the profile's token. */
	{
		http_header_t h = { "Authorization", "Bearer mine" };

		o.headers = &h;
		o.n_headers = 1;
		r.want_header = "X-Echo-Auth";
		fetch(&o, &r);
		ck_assert_str_eq(r.header, "Bearer mine");
		res_clear(&r);
		o.headers = NULL;
		o.n_headers = 0;
	}

	/* Broken files fail the request, permanently, naming the file and not the token. */
	write_file("token", "tok\x01seven\n", path, sizeof(path));
	fetch(&o, &r);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_CREDENTIALS);
	ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
	ck_assert_msg(strstr(r.error, "control characters") && strstr(r.error, path), "%s",
		      r.error);
	ck_assert_ptr_null(strstr(r.error, "seven"));
	res_clear(&r);
	write_file("token", "\n", path, sizeof(path));
	fetch(&o, &r);
	ck_assert_msg(strstr(r.error, "is empty"), "%s", r.error);
	res_clear(&r);
	ck_assert_int_eq(unlink(path), 0);
	submit(&o);
	ck_assert_int_eq(r.done, 0); /* completions never run inside http_submit() */
	run_until(&r.done, 1);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_CREDENTIALS);
	ck_assert_msg(strstr(r.error, "No such file"), "%s", r.error);
	ck_assert_int_eq(r.attempts, 1);
	res_clear(&r);
	http_profile_unref(p);

	/* And when the profile is made. */
	ck_assert_int_eq(http_profile_new(&po, &p, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, path), "%s", err);
	{
		char big[HTTP_MAX_SECRET + 10];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		write_file("token", big, path, sizeof(path));
		ck_assert_int_eq(http_profile_new(&po, &p, err, sizeof(err)), -EFBIG);
	}
	po.bearer_token_file = "/dev/null";
	ck_assert_int_eq(http_profile_new(&po, &p, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
}
END_TEST

START_TEST(test_basic_auth_and_profile_headers)
{
	char path[128], u[128];
	http_header_t ph = { "X-Scope-OrgID", "tenant-1" };
	http_profile_opts_t po = { .basic_user = "alice", .headers = &ph, .n_headers = 1 };
	http_profile_t *p;
	struct res r = { .want_header = "X-Echo-Auth" };
	http_request_opts_t o;

	write_file("password", "s3cret\n", path, sizeof(path));
	po.basic_password_file = path;
	ck_assert_int_eq(http_profile_new(&po, &p, NULL, 0), 0);
	o = opts_for(url(u, sizeof(u), fake_http_port(srv), "/echo?h=X-Scope-OrgID"), &r);
	o.profile = p;
	fetch(&o, &r);
	ck_assert_str_eq(r.header, "Basic YWxpY2U6czNjcmV0"); /* alice:s3cret */
	res_clear(&r);
	r.want_header = "X-Echo-H";
	fetch(&o, &r);
	ck_assert_str_eq(r.header, "tenant-1");
	res_clear(&r);
	http_profile_unref(p);
}
END_TEST

START_TEST(test_profile_refused)
{
	static const struct {
		http_profile_opts_t o;
		int want;
		const char *says;
	} t[] = {
		{ { .bearer_token = "a", .bearer_token_file = "/etc/hostname" }, -EINVAL, "not both" },
		{ { .basic_user = "u" }, -EINVAL, "needs both" },
		{ { .basic_user = "u:x", .basic_password = "p" }, -EINVAL, "':'" },
		{ { .bearer_token = "a\nb" }, -EINVAL, "control characters" },
		{ { .bearer_token = "t", .basic_user = "u", .basic_password = "p" }, -EINVAL,
		  "not both" },
		{ { .tls = { .cert_pem = "x" } }, -EINVAL, "needs its key" },
		{ { .tls = { .ca_file = "/a", .ca_pem = "x" } }, -EINVAL, "not both" },
		{ { .tls = { .ca_file = "/nonexistent/ca.pem" } }, -ENOENT, "/nonexistent/ca.pem" },
		{ { .max_in_flight = -1 }, -EINVAL, "out of range" },
	};
	char err[HTTP_ERROR_MAX];
	http_profile_t *p = NULL;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(http_profile_new(&t[i].o, &p, err, sizeof(err)) == t[i].want,
			      "case %zu", i);
		ck_assert_msg(strstr(err, t[i].says), "case %zu: %s", i, err);
		ck_assert_ptr_null(p);
	}
	ck_assert_ptr_null(http_profile_unref(NULL));
}
END_TEST

/* ---- TLS -------------------------------------------------------------------------------- */

static char *srv_cert, *srv_key, *cli_cert, *cli_key;

static void tls_setup(void)
{
	ck_assert_int_eq(fake_tls_make_cert("fake-server", &srv_cert, &srv_key), 0);
	ck_assert_int_eq(fake_tls_make_cert("fake-client", &cli_cert, &cli_key), 0);
}

static void tls_teardown(void)
{
	free(srv_cert);
	free(srv_key);
	free(cli_cert);
	free(cli_key);
	srv_cert = srv_key = cli_cert = cli_key = NULL;
}

static void tls_fetch(const http_profile_opts_t *po, struct res *r)
{
	char u[128];
	http_profile_t *p = NULL;
	http_request_opts_t o;
	char err[HTTP_ERROR_MAX];

	if (po)
		ck_assert_msg(http_profile_new(po, &p, err, sizeof(err)) == 0, "%s", err);
	snprintf(u, sizeof(u), "https://127.0.0.1:%u/", (unsigned)fake_tls_port(tls));
	o = opts_for(u, r);
	o.profile = p;
	fetch(&o, r);
	http_profile_unref(p);
}

START_TEST(test_tls_verification)
{
	char path[128];
	struct res r = { 0 };
	http_profile_opts_t po = { 0 };
	http_profile_t *p;

	ck_assert_int_eq(fake_tls_start(srv_cert, srv_key, NULL, &tls), 0);

	/* Verification is on by default: a self-signed server is refused. */
	tls_fetch(NULL, &r);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_TLS);
	ck_assert_int_eq(r.outcome, HTTP_PERMANENT);
	ck_assert_msg(strstr(r.error, "TLS: ") && strstr(r.error, "certificate"), "%s", r.error);
	res_clear(&r);

	/* Its certificate as the CA, inline ... */
	po.tls.ca_pem = srv_cert;
	tls_fetch(&po, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	ck_assert_str_eq(r.body, "ok\n");
	res_clear(&r);

	/* ... or in a file. */
	write_file("ca.pem", srv_cert, path, sizeof(path));
	po.tls.ca_pem = NULL;
	po.tls.ca_file = path;
	tls_fetch(&po, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	res_clear(&r);

	/* Another CA does not vouch for it. */
	po.tls.ca_file = NULL;
	po.tls.ca_pem = cli_cert;
	tls_fetch(&po, &r);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_TLS);
	res_clear(&r);

	/* Skipping verification works only when asked for, and says so. */
	po.tls.ca_pem = NULL;
	po.tls.insecure_skip_tls_verify = true;
	ck_assert_int_eq(http_profile_new(&po, &p, NULL, 0), 0);
	ck_assert_int_eq(http_profile_insecure(p), true);
	http_profile_unref(p);
	tls_fetch(&po, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	res_clear(&r);
	ck_assert_int_eq(fake_tls_served(tls), 3);
}
END_TEST

START_TEST(test_tls_client_certificate)
{
	char cpath[128], kpath[128];
	struct res r = { 0 };
	http_profile_opts_t po = { .tls = { .ca_pem = srv_cert } };

	ck_assert_int_eq(fake_tls_start(srv_cert, srv_key, cli_cert, &tls), 0);

	tls_fetch(&po, &r); /* none: the handshake fails */
	ck_assert_int_eq(r.cause, HTTP_CAUSE_TLS);
	res_clear(&r);

	po.tls.cert_pem = cli_cert;
	po.tls.key_pem = cli_key;
	tls_fetch(&po, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	res_clear(&r);

	write_file("cert.pem", cli_cert, cpath, sizeof(cpath));
	write_file("key.pem", cli_key, kpath, sizeof(kpath));
	po.tls.cert_pem = po.tls.key_pem = NULL;
	po.tls.cert_file = cpath;
	po.tls.key_file = kpath;
	tls_fetch(&po, &r);
	ck_assert_msg(r.outcome == HTTP_SUCCESS, "%s", r.error);
	res_clear(&r);

	/* The server's own certificate is not one it accepts from clients. */
	po.tls.cert_file = po.tls.key_file = NULL;
	po.tls.cert_pem = srv_cert;
	po.tls.key_pem = srv_key;
	tls_fetch(&po, &r);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_TLS);
	res_clear(&r);
	ck_assert_int_eq(fake_tls_served(tls), 2);
}
END_TEST

/* ---- redaction -------------------------------------------------------------------------- */

START_TEST(test_redact_url)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "http://127.0.0.1:9090/api/v1/query?query=up&time=5",
		  "http://127.0.0.1:9090/api/v1/query?query=up&time=5" },
		{ "https://user:pa55@host/x", "https://REDACTED@host/x" },
		{ "https://user@host:8443", "https://REDACTED@host:8443" },
		{ "https://host/p?access_token=abc&x=1", "https://host/p?access_token=REDACTED&x=1" },
		{ "https://host/p?x=1&api_key=abc", "https://host/p?x=1&api_key=REDACTED" },
		{ "https://host/p?X-Amz-Signature=abc;Password=p",
		  "https://host/p?X-Amz-Signature=REDACTED;Password=REDACTED" },
		{ "https://host/p?access%5Ftoken=abc", "https://host/p?access%5Ftoken=REDACTED" },
		{ "https://host/cb#id_token=abc&state=1", "https://host/cb#id_token=REDACTED&state=1" },
		{ "https://host/p?token", "https://host/p?token" },
		{ "https://host/a@b?q=1", "https://host/a@b?q=1" },
		{ "http://h/\r\nX-Injected: 1", "http://h/??X-Injected: 1" },
		{ "no scheme?secret=1", "no scheme?secret=REDACTED" },
		{ "", "" },
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = http_redact_url(buf, sizeof(buf), t[i].in);

		ck_assert_str_eq(buf, t[i].out);
		ck_assert_uint_eq(n, strlen(t[i].out));
	}
	/* Truncation keeps the buffer's bound and says so. */
	ck_assert_uint_eq(http_redact_url(buf, 12, "https://example.com/long"), 11);
	ck_assert_str_eq(buf, "https://...");
	ck_assert_uint_eq(http_redact_url(buf, 1, "x"), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_format_request)
{
	const http_header_t h[] = {
		{ "Authorization", "Bearer abc.def" },
		{ "proxy-authorization", "Basic xyz" },
		{ "Cookie", "session=1; theme=dark" },
		{ "X-Api-Key", "k" },
		{ "Accept", "application/json" },
		{ "X-Scope-OrgID", "tenant" },
	};
	char buf[512];

	http_format_request(buf, sizeof(buf), "POST",
			    "https://u:p@prom:9090/api/v1/query?token=t&query=up", h, 6);
	ck_assert_str_eq(buf, "POST https://REDACTED@prom:9090/api/v1/query?token=REDACTED&query=up"
			      "; Authorization: REDACTED; proxy-authorization: REDACTED"
			      "; Cookie: REDACTED; X-Api-Key: REDACTED; Accept: application/json"
			      "; X-Scope-OrgID: tenant");
	ck_assert_int_eq(http_header_is_secret("Set-Cookie"), true);
	ck_assert_int_eq(http_header_is_secret("X-Auth-Token"), true);
	ck_assert_int_eq(http_header_is_secret("Content-Type"), false);
	ck_assert_int_eq(http_header_is_secret("If-Match"), false);
	ck_assert_int_eq(http_param_is_secret("query"), false);
	ck_assert_int_eq(http_param_is_secret("timeout"), false);
	ck_assert_int_eq(http_param_is_secret("client_secret"), true);
}
END_TEST

/* Errors carry neither header values nor URL credentials nor secret query values. */
START_TEST(test_errors_keep_secrets)
{
	char u[256];
	uint16_t port;
	struct res r = { 0 };
	http_header_t h = { "Authorization", "Bearer TOPSECRET1" };
	http_request_opts_t o;

	ck_assert_int_eq(fake_closed_port(&port), 0);
	snprintf(u, sizeof(u), "http://bob:TOPSECRET2@127.0.0.1:%u/x?token=TOPSECRET3&q=1",
		 (unsigned)port);
	o = opts_for(u, &r);
	o.headers = &h;
	o.n_headers = 1;
	fetch(&o, &r);
	ck_assert_int_eq(r.cause, HTTP_CAUSE_CONNECT);
	ck_assert_ptr_null(strstr(r.error, "TOPSECRET"));
	ck_assert_msg(strstr(r.error, "http://REDACTED@127.0.0.1:") &&
			      strstr(r.error, "token=REDACTED&q=1"),
		      "%s", r.error);
	res_clear(&r);

	/* The same for a status error, with a token from a profile. */
	{
		http_profile_opts_t po = { .bearer_token = "TOPSECRET4" };
		http_profile_t *p;

		ck_assert_int_eq(http_profile_new(&po, &p, NULL, 0), 0);
		snprintf(u, sizeof(u), "http://127.0.0.1:%u/status/403?sig=TOPSECRET5",
			 (unsigned)fake_http_port(srv));
		o = opts_for(u, &r);
		o.profile = p;
		fetch(&o, &r);
		http_profile_unref(p);
		ck_assert_int_eq(r.status, 403);
		ck_assert_ptr_null(strstr(r.error, "TOPSECRET"));
		res_clear(&r);
	}
}
END_TEST

/* ---- streams and timers ----------------------------------------------------------------- */

struct stream_rec {
	struct res r; /* first: on_done() takes the userdata as a struct res */
	char text[4096];
	size_t len;
	int pieces;
	int stop_after; /* lines; 0: never stop */
	int lines;
	double first_at, last_at;
};

static bool on_stream(const char *data, size_t len, void *ud)
{
	struct stream_rec *sr = ud;

	ck_assert_uint_le(sr->len + len, sizeof(sr->text) - 1);
	memcpy(sr->text + sr->len, data, len);
	sr->len += len;
	sr->text[sr->len] = '\0';
	if (++sr->pieces == 1)
		sr->first_at = ev_time();
	sr->last_at = ev_time();
	for (size_t i = 0; i < len; i++)
		sr->lines += data[i] == '\n';
	ck_assert_int_eq(sr->r.done, 0); /* every piece before the completion */
	return !sr->stop_after || sr->lines < sr->stop_after;
}

static void stream_fetch(const char *path, struct stream_rec *sr)
{
	http_request_opts_t o;
	char u[128];

	url(u, sizeof(u), fake_http_port(srv), path);
	o = opts_for(u, &sr->r);
	o.on_data = on_stream;
	fetch(&o, &sr->r);
}

/* A streamed body arrives piece by piece, while the transfer runs, and is not kept. */
START_TEST(test_stream)
{
	struct stream_rec sr = { 0 };

	stream_fetch("/stream/5/100", &sr);
	ck_assert_int_eq(sr.r.outcome, HTTP_SUCCESS);
	ck_assert_ptr_null(sr.r.body);
	ck_assert_str_eq(sr.text, "event 0\nevent 1\nevent 2\nevent 3\nevent 4\n");
	ck_assert_int_ge(sr.pieces, 2); /* not one buffer at the end */
	ck_assert_double_gt(sr.last_at - sr.first_at, 0.2);
	res_clear(&sr.r);

	/* The receiver stops it: a local, permanent end. */
	memset(&sr, 0, sizeof(sr));
	sr.stop_after = 2;
	stream_fetch("/stream/50/50", &sr);
	ck_assert_int_eq(sr.r.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(sr.r.cause, HTTP_CAUSE_LOCAL);
	ck_assert_msg(strstr(sr.r.error, "stopped by the receiver"), "%s", sr.r.error);
	ck_assert_int_eq(sr.lines, 2);
	res_clear(&sr.r);

	/* An error status is no stream: its body comes with the completion. */
	memset(&sr, 0, sizeof(sr));
	stream_fetch("/status/410", &sr);
	ck_assert_int_eq(sr.r.status, 410);
	ck_assert_int_eq(sr.pieces, 0);
	ck_assert_ptr_nonnull(sr.r.body);
	res_clear(&sr.r);
}
END_TEST

struct tfire {
	int fired;
	double at;
	http_timer_t *self, *other;
	int rearm;      /* times to re-arm itself */
	bool free_self; /* free itself from its callback */
};

static void on_tfire(void *arg)
{
	struct tfire *f = arg;

	f->fired++;
	f->at = ev_time();
	ck_assert(!http_timer_armed(f->self));
	if (f->other)
		http_timer_arm(f->other, -1); /* disarm another from a callback */
	if (f->rearm-- > 0)
		http_timer_arm(f->self, 10);
	if (f->free_self)
		f->self = http_timer_free(f->self);
}

/* Timers multiplexed on the one loop timer: order, re-arming, disarming, freeing from the
 * callback, and side by side with requests. */
START_TEST(test_timers)
{
	struct tfire a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct res r = { 0 };
	http_request_opts_t o;
	char u[128];
	double t0 = ev_time();
	int total;

	ck_assert_int_eq(http_timer_new(client, on_tfire, &a, &a.self), 0);
	ck_assert_int_eq(http_timer_new(client, on_tfire, &b, &b.self), 0);
	ck_assert_int_eq(http_timer_new(client, on_tfire, &c, &c.self), 0);
	ck_assert_int_eq(http_timer_new(client, on_tfire, &d, &d.self), 0);
	ck_assert_int_eq(http_timer_new(NULL, on_tfire, &d, &d.self), -EINVAL);
	ck_assert(!http_timer_armed(a.self));
	a.rearm = 2;         /* fires 3 times */
	b.free_self = true;  /* frees itself */
	c.other = d.self;    /* c fires first and disarms d */
	http_timer_arm(a.self, 60);
	http_timer_arm(b.self, 40);
	http_timer_arm(c.self, 20);
	http_timer_arm(d.self, 200);
	http_timer_arm(d.self, 100); /* re-arming replaces */
	ck_assert(http_timer_armed(d.self));

	/* A request runs alongside. */
	url(u, sizeof(u), fake_http_port(srv), "/slow/150");
	o = opts_for(u, &r);
	submit(&o);
	do {
		ev_run(loop, EVRUN_ONCE);
		total = a.fired + b.fired + c.fired;
	} while ((total < 5 || !r.done) && ev_time() - t0 < guard_seconds());
	ck_assert_int_eq(c.fired, 1);
	ck_assert_int_eq(b.fired, 1);
	ck_assert_int_eq(a.fired, 3);
	ck_assert_int_eq(d.fired, 0); /* disarmed by c */
	ck_assert_ptr_null(b.self);
	ck_assert_double_lt(c.at, b.at);
	ck_assert_double_lt(b.at, a.at);
	ck_assert_double_ge(c.at - t0, 0.019);
	ck_assert_int_eq(r.outcome, HTTP_SUCCESS);
	ck_assert(!http_timer_armed(a.self));
	http_timer_free(a.self);
	http_timer_free(c.self);
	http_timer_free(d.self);
	res_clear(&r);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("client");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_get_ok);
	tcase_add_test(tc, test_methods_and_bodies);
	tcase_add_test(tc, test_status_404_permanent);
	tcase_add_test(tc, test_status_outcomes);
	tcase_add_test(tc, test_retry_503_retry_after);
	tcase_add_test(tc, test_retry_429_retry_after);
	tcase_add_test(tc, test_retry_after_past_date);
	tcase_add_test(tc, test_retry_exhausted);
	tcase_add_test(tc, test_retry_after_too_long);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_timeout_loop_responsive);
	tcase_add_loop_test(tc, test_broken_server, 0, sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(tc, test_response_ceiling);
	tcase_add_test(tc, test_response_header_limit);
	tcase_add_test(tc, test_submit_refused);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_thousand_in_flight);
	tcase_add_test(tc, test_profile_cap_fifo);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_callbacks_submit_and_cancel);
	tcase_add_test(tc, test_callback_cancels);
	tcase_add_test(tc, test_proxy_from_environment);
	tcase_add_test(tc, test_bearer_token_file_rotation);
	tcase_add_test(tc, test_basic_auth_and_profile_headers);
	tcase_add_test(tc, test_profile_refused);
	tcase_add_test(tc, test_errors_keep_secrets);
	tcase_add_test(tc, test_stream);
	tcase_add_test(tc, test_timers);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_checked_fixture(tc, tls_setup, tls_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tls_verification);
	tcase_add_test(tc, test_tls_client_certificate);
	suite_add_tcase(s, tc);

	tc = tcase_create("pure");
	tcase_add_test(tc, test_classify_status);
	tcase_add_test(tc, test_parse_retry_after);
	tcase_add_test(tc, test_backoff_bound);
	tcase_add_test(tc, test_redact_url);
	tcase_add_test(tc, test_format_request);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(http_suite(), CK_ENV);
}
