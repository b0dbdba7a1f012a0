/* test-prometheus.c - the query path end to end against Debian's real Prometheus 2.42:
 * promql/'s client on http/ on a libev loop, the default (Corrino) query filled from a
 * policy's template, the rules of DESIGN section 3, and `autoscalerd doctor`.
 *
 * Prometheus scrapes five fake vLLM replicas (tests/fakes/fake-vllm.h) every second, one
 * scrape target per replica labelled as Kubernetes pod discovery would (namespace, pod):
 * three of Deployment "llama-8b", one of "idle-7b" (no traffic) and one of "gone-3b" (its
 * exporter is stopped half-way). The tests run in order on that one Prometheus, in one
 * process (CK_NOFORK: the exporter's threads live in this process, so a forked test could
 * not change what they serve):
 *
 *   low      llama-8b at 20% slow requests -> the client returns 0.2 +- 0.05;
 *            idle-7b -> NaN -> 0 (on_nan: zero) or no data (hold); doctor passes
 *   high     llama-8b at 80% -> 0.8 +- 0.05; gone-3b's exporter stopped -> empty ->
 *            no data (on_empty_result: hold) or 0 (zero); doctor fails on it
 *   refused  queries Prometheus refuses: its errorType and error come back
 *   broken   servers that are not Prometheus: garbage, HTML, truncated, 20 MiB, silent
 *   killed   Prometheus SIGKILLed with queries in flight: retryable errors, and the loop
 *            keeps turning meanwhile
 *
 * Skipped (77) without a prometheus binary. The waits are wall-clock (Prometheus has no
 * simulated time): about 40 s in all. Every process started here is stopped by the
 * fixture's teardown, which runs after a failed assertion too; Prometheus also dies with
 * this process (PR_SET_PDEATHSIG).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "autoscalerd/ev-glue.h"
#include "promql/promql.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-http.h"
#include "tests/fakes/fake-raw.h"
#include "tests/fakes/fake-vllm.h"
#include "tests/fakes/prometheus.h"
#include "tests/fakes/run-cli.h"
#include "tests/fakes/test-util.h"

#define SCRAPE_MS 1000
#define WINDOW_MS 10000
/* A 10 s rate window holds only the traffic set at least this long ago. */
#define WINDOW_WAIT_S 12.0

enum { LLAMA0, LLAMA1, LLAMA2, IDLE, GONE, N_PODS };
static const char *const pod_names[N_PODS] = { "llama-8b-6f9c4-x2k4p", "llama-8b-6f9c4-q9m4t",
					       "llama-8b-6f9c4-b3v8z", "idle-7b-5d8e2-h7j2k",
					       "gone-3b-8a1b3-w4n6r" };

static const char *autoscalerd_bin;
static fake_vllm_t *vllm;
static test_prom_t *prom;
static char scratch[PATH_MAX];
static double traffic_since; /* when the current traffic was set */

/* ---- the loop and the client ------------------------------------------------------------ */

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *http;

/* What a reply said, kept past the callback. */
struct answer {
	bool done;
	http_outcome_t outcome;
	http_cause_t cause;
	promql_failure_t failure;
	long status;
	char error[PROMQL_ERROR_MAX];
	char error_type[32];
	promql_value_t value;
	size_t n_warnings;
};

static void on_answer(const promql_reply_t *r, void *ud)
{
	struct answer *a = ud;

	a->done = true;
	a->outcome = r->outcome;
	a->cause = r->cause;
	a->failure = r->failure;
	a->status = r->status;
	snprintf(a->error, sizeof(a->error), "%s", r->error);
	snprintf(a->error_type, sizeof(a->error_type), "%s", r->error_type);
	if (r->outcome == HTTP_SUCCESS) {
		promql_reduce(r->result, PROMQL_AGG_NONE, &a->value);
		a->n_warnings = r->result->n_warnings;
	}
}

static promql_client_t *client_for(const char *url, int64_t timeout_ms)
{
	promql_client_opts_t o = { .url = url, .timeout_ms = timeout_ms };
	promql_client_t *c = NULL;
	char err[256];

	ck_assert_msg(promql_client_new(http, &o, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static void run_until(const bool *done, double max_s)
{
	double end = ev_time() + max_s;

	while (!*done && ev_time() < end) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_ONCE);
	}
	ck_assert_msg(*done, "no reply within %.0f s", max_s);
}

/* One query, waited for. */
static void ask(promql_client_t *c, const char *q, struct answer *a)
{
	char err[256];

	memset(a, 0, sizeof(*a));
	ck_assert_msg(promql_query(c, q, 0, "test", on_answer, a, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert(!a->done); /* never from inside promql_query */
	run_until(&a->done, 30);
}

static char *policy_query_of(const char *deployment)
{
	promql_vars_t v = { .namespace_ = "default", .deployment = deployment,
			    .window_ms = WINDOW_MS, .latency_slo = 5.0 };
	char err[256], *q = NULL;

	ck_assert_msg(promql_fill(NULL, &v, &q, err, sizeof(err)) == 0, "%s", err);
	return q;
}

/* The default query of Deployment d through the client. */
static void ask_policy(const char *deployment, struct answer *a)
{
	promql_client_t *c = client_for(test_prom_url(prom), 5000);
	char *q = policy_query_of(deployment);

	ask(c, q, a);
	ck_assert_msg(a->outcome == HTTP_SUCCESS, "%s", a->error);
	free(q);
	promql_client_free(c);
}

/* ---- time ------------------------------------------------------------------------------- */

static void wait_until(double t)
{
	while (test_now_s() < t)
		usleep(100000);
}

static void set_llama(double slow)
{
	for (int i = LLAMA0; i <= LLAMA2; i++)
		fake_vllm_set(vllm, (size_t)i, 20, slow, 5.0);
	traffic_since = test_now_s();
}

/* ---- doctor ----------------------------------------------------------------------------- */

/* Runs `autoscalerd doctor --config FILE --checks prometheus` on yaml (no cluster here:
 * test-k8s-apiserver.c runs the Kubernetes checks); its stdout into out; the exit status. */
static int doctor(const char *yaml, char *out, size_t size)
{
	char cfg[PATH_MAX + 16];
	const char *argv[] = { autoscalerd_bin, "doctor", "--config", cfg, "--checks",
			       "prometheus", NULL };
	FILE *f;
	int rc;

	snprintf(cfg, sizeof(cfg), "%s/doctor.yaml", scratch);
	f = fopen(cfg, "w");
	ck_assert_ptr_nonnull(f);
	fputs(yaml, f);
	fclose(f);
	rc = test_spawn(argv, out, size, NULL, 0, 120 /* valgrind is slow */);
	printf("doctor:\n%s", out);
	ck_assert_msg(rc >= 0 && rc < 128, "doctor: %d", rc);
	return rc;
}

#define assert_has(out, s) ck_assert_msg(strstr(out, s), "no \"%s\" in:\n%s", s, out)

static const char doctor_policies[] =
	"policies:\n"
	"  - name: llama\n"
	"    target: {namespace: default, deployment: llama-8b}\n"
	"    recipe_pod_autoscaling_params: {max_replicas: 4, collect_metrics_timespan: 10s}\n"
	"  - name: idle\n"
	"    target: {namespace: default, deployment: idle-7b}\n"
	"    recipe_pod_autoscaling_params: {max_replicas: 4, collect_metrics_timespan: 10s}\n";

/* ---- fixture ---------------------------------------------------------------------------- */

static void setup(void)
{
	test_prom_target_t t[N_PODS];
	char addr[N_PODS][32], err[2048];
	int r;

	check_tmpdir(scratch, sizeof(scratch), "test-prometheus");
	ck_assert_int_eq(fake_vllm_start(N_PODS, &vllm), 0);
	for (size_t i = 0; i < N_PODS; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%u", (unsigned)fake_vllm_port(vllm, i));
		t[i] = (test_prom_target_t){ addr[i], "default", pod_names[i] };
	}
	fake_vllm_set(vllm, GONE, 5, 0.5, 5.0);
	set_llama(0.2); /* and idle-7b has no traffic at all */
	r = test_prom_start(t, N_PODS, SCRAPE_MS, &prom, err, sizeof(err));
	ck_assert_msg(r == 0, "test_prom_start: %d %s", r, err);
	ck_assert_int_eq(test_prom_wait_up(prom, 30000), 0);

	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ev_glue_init(&glue, loop);
	{
		http_client_opts_t o = { .loop = ev_glue_loop(&glue) };

		ck_assert_int_eq(http_client_new(&o, &http), 0);
	}
	ev_glue_attach(&glue, http);
}

static void teardown(void)
{
	http = http_client_free(http);
	if (loop) {
		ev_glue_stop(&glue);
		ev_loop_destroy(loop);
		loop = NULL;
	}
	prom = test_prom_stop(prom);
	vllm = fake_vllm_stop(vllm);
	if (scratch[0])
		test_rm_tree(scratch);
	scratch[0] = '\0';
}

/* ---- the tests, in order ---------------------------------------------------------------- */

START_TEST(test_low)
{
	struct answer a;
	char out[8192], yaml[2048];
	double x;

	wait_until(traffic_since + WINDOW_WAIT_S);
	ask_policy("llama-8b", &a);
	ck_assert_int_eq(a.value.kind, PROMQL_VALUE_NUMBER);
	ck_assert_int_eq(a.value.n_series, 1);
	printf("20%% slow: the default query says %.4f\n", a.value.value);
	ck_assert_msg(fabs(a.value.value - 0.2) <= 0.05, "%.4f", a.value.value);
	ck_assert(promql_apply(&a.value, PROMQL_EMPTY_HOLD, PROMQL_NAN_ZERO, &x, NULL, 0));
	ck_assert_double_eq(x, a.value.value);

	/* No traffic: 0/0. */
	ask_policy("idle-7b", &a);
	ck_assert_int_eq(a.value.kind, PROMQL_VALUE_NAN);
	x = -1;
	ck_assert(promql_apply(&a.value, PROMQL_EMPTY_HOLD, PROMQL_NAN_ZERO, &x, NULL, 0));
	ck_assert_double_eq(x, 0);
	ck_assert(!promql_apply(&a.value, PROMQL_EMPTY_HOLD, PROMQL_NAN_HOLD, &x, NULL, 0));

	/* doctor agrees, and passes. */
	snprintf(yaml, sizeof(yaml), "prometheus: {url: \"%s\", timeout: 5s}\n%s",
		 test_prom_url(prom), doctor_policies);
	ck_assert_int_eq(doctor(yaml, out, sizeof(out)), 0);
	assert_has(out, "ok   prometheus ");
	assert_has(out, "ok   policy llama: the query returns 0.");
	assert_has(out, "ok   policy idle: NaN (no requests in the window): on_nan: zero gives 0");
	ck_assert_ptr_null(strstr(out, "FAIL"));
}
END_TEST

START_TEST(test_high)
{
	struct answer a;
	char out[8192], yaml[4096];
	double x = -1, end;

	set_llama(0.8);
	fake_vllm_stop_pod(vllm, GONE);
	wait_until(traffic_since + WINDOW_WAIT_S);
	ask_policy("llama-8b", &a);
	ck_assert_int_eq(a.value.kind, PROMQL_VALUE_NUMBER);
	printf("80%% slow: the default query says %.4f\n", a.value.value);
	ck_assert_msg(fabs(a.value.value - 0.8) <= 0.05, "%.4f", a.value.value);

	/* The series of the stopped exporter leave the window: an empty vector. */
	end = test_now_s() + 20;
	do {
		ask_policy("gone-3b", &a);
	} while (a.value.kind != PROMQL_VALUE_EMPTY && test_now_s() < end && !usleep(500000));
	ck_assert_int_eq(a.value.kind, PROMQL_VALUE_EMPTY);
	ck_assert(!promql_apply(&a.value, PROMQL_EMPTY_HOLD, PROMQL_NAN_ZERO, &x, NULL, 0));
	ck_assert(promql_apply(&a.value, PROMQL_EMPTY_ZERO, PROMQL_NAN_ZERO, &x, NULL, 0));
	ck_assert_double_eq(x, 0);

	/* doctor: one line per policy, saying which rule applies; exit 1. */
	snprintf(yaml, sizeof(yaml),
		 "prometheus: {url: \"%s\", timeout: 5s}\n%s"
		 "  - name: gone\n"
		 "    target: {namespace: default, deployment: gone-3b}\n"
		 "    recipe_pod_autoscaling_params: {max_replicas: 4, collect_metrics_timespan: "
		 "10s}\n"
		 "  - name: several\n"
		 "    target: {namespace: default, deployment: several}\n"
		 "    recipe_pod_autoscaling_params:\n"
		 "      max_replicas: 4\n"
		 "      query: 'vllm:e2e_request_latency_seconds_count{namespace=\"{{namespace}}\"}'\n"
		 "  - name: summed\n"
		 "    target: {namespace: default, deployment: summed}\n"
		 "    recipe_pod_autoscaling_params:\n"
		 "      max_replicas: 4\n"
		 "      series_aggregation: sum\n"
		 "      query: 'vllm:num_requests_running{pod=~\"llama-8b-.+\"}'\n"
		 "  - name: failing\n"
		 "    target: {namespace: default, deployment: failing}\n"
		 "    recipe_pod_autoscaling_params:\n"
		 "      max_replicas: 4\n"
		 "      query: 'label_replace(vector(1), \"a\", \"$1\", \"b\", \"(\")'\n",
		 test_prom_url(prom), doctor_policies);
	ck_assert_int_eq(doctor(yaml, out, sizeof(out)), 1);
	assert_has(out, "ok   prometheus ");
	assert_has(out, "ok   policy llama: the query returns 0.");
	assert_has(out, "FAIL policy gone: empty result (the series are gone): on_empty_result: "
			"hold, no scaling; fix: check that target default/gone-3b");
	assert_has(out, "FAIL policy several: 4 series and no series_aggregation");
	assert_has(out, "ok   policy summed: the query returns ");
	assert_has(out, "(3 series)");
	assert_has(out, "FAIL policy failing: query failing: HTTP 422 from ");
	assert_has(out, "execution: invalid regular expression in label_replace()");
}
END_TEST

START_TEST(test_refused)
{
	promql_client_t *c = client_for(test_prom_url(prom), 5000);
	struct answer a;

	/* promql_check would catch this one; Prometheus's words come back all the same. */
	ask(c, "sum(rate(x[5m])) by", &a);
	ck_assert_int_eq(a.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(a.failure, PROMQL_FAIL_API);
	ck_assert_int_eq(a.status, 400);
	ck_assert_str_eq(a.error_type, "bad_data");
	assert_has(a.error, "HTTP 400 from http://127.0.0.1:");
	assert_has(a.error, "bad_data: invalid parameter \"query\": 1:20: parse error: unexpected "
			    "end of input in grouping opts, expected \"(\"");

	ask(c, "label_replace(vector(1), \"a\", \"$1\", \"b\", \"(\")", &a);
	ck_assert_int_eq(a.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(a.status, 422);
	ck_assert_str_eq(a.error_type, "execution");

	/* A matrix is a result, but not one number. */
	ask(c, "vllm:e2e_request_latency_seconds_count[5s]", &a);
	ck_assert_int_eq(a.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(a.value.kind, PROMQL_VALUE_ERROR);
	assert_has(a.value.error, "range vector");
	promql_client_free(c);
}
END_TEST

START_TEST(test_broken)
{
	static const struct {
		fake_raw_mode_t mode;
		http_outcome_t outcome;
		http_cause_t cause;
		const char *text;
	} raw[] = {
		{ FAKE_RAW_GARBAGE, HTTP_PERMANENT, HTTP_CAUSE_PROTOCOL, "" },
		{ FAKE_RAW_TRUNCATED, HTTP_RETRYABLE, HTTP_CAUSE_CLOSED, "" },
		{ FAKE_RAW_MIDCLOSE, HTTP_RETRYABLE, HTTP_CAUSE_CLOSED, "" },
		{ FAKE_RAW_CLOSE, HTTP_RETRYABLE, HTTP_CAUSE_CLOSED, "" },
		{ FAKE_RAW_HANG, HTTP_RETRYABLE, HTTP_CAUSE_TIMEOUT, "no complete response" },
	};
	fake_http_t *fh = NULL;
	char url[128], out[8192], yaml[2048];
	promql_client_t *c;
	struct answer a;
	http_stats_t st;

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		fake_raw_t *fr = NULL;

		ck_assert_int_eq(fake_raw_start(raw[i].mode, &fr), 0);
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)fake_raw_port(fr));
		c = client_for(url, 300); /* the attempt times out after 1.3 s */
		ask(c, "up", &a);
		printf("fake-raw mode %d: %s\n", (int)raw[i].mode, a.error);
		ck_assert_int_eq(a.outcome, raw[i].outcome);
		ck_assert_int_eq(a.cause, raw[i].cause);
		assert_has(a.error, "query test: GET http://127.0.0.1:");
		assert_has(a.error, raw[i].text);
		promql_client_free(c);
		if (raw[i].mode == FAKE_RAW_GARBAGE || raw[i].mode == FAKE_RAW_HANG) {
			/* doctor says what to fix, and gives up within the timeout */
			snprintf(yaml, sizeof(yaml), "prometheus: {url: \"%s\", timeout: 1s}\n%s", url,
				 doctor_policies);
			ck_assert_int_eq(doctor(yaml, out, sizeof(out)), 1);
			assert_has(out, raw[i].mode == FAKE_RAW_HANG ?
						"fix: nothing answered within prometheus.timeout" :
						"fix: prometheus.url does not answer like Prometheus's");
			assert_has(out, "FAIL policy idle: not queried");
		}
		fake_raw_stop(fr);
	}

	/* An HTML page, and 20 MiB: not Prometheus, and never more than the ceiling held. */
	ck_assert_int_eq(fake_http_start(false, &fh), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ok", (unsigned)fake_http_port(fh));
	c = client_for(url, 1000);
	ask(c, "up", &a);
	ck_assert_int_eq(a.outcome, HTTP_PERMANENT);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/big/20971520", (unsigned)fake_http_port(fh));
	promql_client_free(c);
	c = client_for(url, 5000);
	ask(c, "up", &a);
	printf("20 MiB: %s\n", a.error);
	ck_assert_int_eq(a.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(a.cause, HTTP_CAUSE_TOO_LARGE);
	http_client_stats(http, &st);
	ck_assert_uint_le(st.peak_body, HTTP_DEFAULT_MAX_RESPONSE + 65536);
	promql_client_free(c);

	/* doctor on a server that is not Prometheus: a FAIL line per check, exit 1. */
	snprintf(yaml, sizeof(yaml), "prometheus: {url: \"http://127.0.0.1:%u/ok\", timeout: 1s}\n%s",
		 (unsigned)fake_http_port(fh), doctor_policies);
	ck_assert_int_eq(doctor(yaml, out, sizeof(out)), 1);
	assert_has(out, "FAIL prometheus http://127.0.0.1:");
	assert_has(out, "fix: prometheus.url must be the root of Prometheus's HTTP API");
	assert_has(out, "FAIL policy llama: not queried: Prometheus is not reachable");
	assert_has(out, "FAIL policy idle: not queried");
	fake_http_stop(fh);
}
END_TEST

static void tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	(*(int *)w->data)++;
}

START_TEST(test_killed)
{
	promql_client_t *c = client_for(test_prom_url(prom), 5000);
	struct answer a[50];
	char err[256];
	ev_timer t;
	int ticks = 0;
	bool all = false;
	double end;

	for (size_t i = 0; i < 50; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		ck_assert_int_eq(promql_query(c, "vllm:e2e_request_latency_seconds_count", 0, "test",
					      on_answer, &a[i], NULL, err, sizeof(err)),
				 0);
	}
	test_prom_kill(prom);
	ev_timer_init(&t, tick, 0.01, 0.01);
	t.data = &ticks;
	ev_timer_start(loop, &t);
	end = test_now_s() + 30;
	while (!all && test_now_s() < end) {
		ev_run(loop, EVRUN_ONCE);
		all = true;
		for (size_t i = 0; i < 50; i++)
			all = all && a[i].done;
	}
	ck_assert(all);
	/* The loop keeps turning after the failures: the timer fires. */
	while (ticks < 3 && test_now_s() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	for (size_t i = 0; i < 50; i++) {
		ck_assert_msg(a[i].outcome == HTTP_RETRYABLE, "%s", a[i].error);
		ck_assert(a[i].cause == HTTP_CAUSE_CONNECT || a[i].cause == HTTP_CAUSE_CLOSED);
	}
	printf("Prometheus killed: %s\n", a[0].error);
	/* ... and a new query fails with a connection refused, not a timeout. */
	ck_assert_int_ge(ticks, 3);
	ask(c, "up", &a[0]);
	ck_assert_int_eq(a[0].outcome, HTTP_RETRYABLE);
	ck_assert_int_eq(a[0].cause, HTTP_CAUSE_CONNECT);
	ck_assert_uint_eq(promql_client_pending(c), 0);
	promql_client_free(c);
}
END_TEST

int main(int argc, char **argv)
{
	char bin[PATH_MAX];
	Suite *s = suite_create("prometheus");
	TCase *tc = tcase_create("query path");
	SRunner *sr;
	int failed;

	if (argc < 2) {
		fprintf(stderr, "usage: test-prometheus PATH/TO/autoscalerd\n");
		return 2;
	}
	autoscalerd_bin = argv[1];
	if (test_prom_binary(bin, sizeof(bin)) < 0) {
		printf("SKIP: no prometheus binary (install Debian's prometheus: make deps)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_low);
	tcase_add_test(tc, test_high);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_broken);
	tcase_add_test(tc, test_killed); /* last: Prometheus is gone after it */
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
