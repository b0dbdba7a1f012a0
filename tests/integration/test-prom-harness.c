/* test-prom-harness.c - smoke test of the fixtures of tests/fakes/ that the integration
 * tests and benchmarks build on: fake vLLM replicas (fake-vllm.h) scraped by Debian's real
 * Prometheus 2.42 (prometheus.h), queried with the Corrino SLO expression.
 *
 * Skipped (77) without a prometheus binary. Prometheus and the replicas are started by the
 * checked fixture and stopped by its teardown, which Check runs after a failed assertion
 * too (CK_FORK=no); in fork mode a failed test's process exits and Prometheus dies with it
 * (PR_SET_PDEATHSIG). Prometheus's directory lives under a scratch $TMPDIR made and
 * removed by the unchecked fixture, in the parent in fork mode, so a failure leaks nothing.
 * The waits are wall-clock: Prometheus has no simulated time.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-vllm.h"
#include "tests/fakes/prometheus.h"
#include "tests/fakes/test-util.h"

#define N_PODS 3
#define SCRAPE_MS 1000
/* A 10 s rate window holds only samples of the traffic set at least this long ago. */
#define WINDOW_WAIT_S 12

static const char *const pod_names[N_PODS] = { "llama-8b-7xk2p", "llama-8b-q9m4t",
					       "llama-8b-b3v8z" };

/* The Corrino query: the fraction of requests slower than the 5 s SLO. */
#define SELECTOR(le) \
	"vllm:e2e_request_latency_seconds_bucket{le=\"" le "\"," \
	"namespace=\"default\",pod=~\"llama-8b-.+\"}"
static const char slo_query[] = "1 - (sum(rate(" SELECTOR("5.0") "[10s])) / "
				"sum(rate(" SELECTOR("+Inf") "[10s])))";
static const char count_query[] = "vllm:e2e_request_latency_seconds_count";

/* ---- fixture ---------------------------------------------------------------------------- */

static fake_vllm_t *vllm;
static test_prom_t *prom;
static char scratch[PATH_MAX];
static char *old_tmpdir;

static void scratch_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	old_tmpdir = tmp ? strdup(tmp) : NULL;
	check_tmpdir(scratch, sizeof(scratch), "test-prom-harness");
	ck_assert_int_eq(setenv("TMPDIR", scratch, 1), 0);
}

static void scratch_teardown(void)
{
	/* In fork mode a failed test's Prometheus may still be dying: try again shortly. */
	for (int i = 0; i < 20 && scratch[0]; i++) {
		if (test_rm_tree(scratch) == 0)
			scratch[0] = '\0';
		else
			usleep(100000);
	}
	if (old_tmpdir)
		setenv("TMPDIR", old_tmpdir, 1);
	else
		unsetenv("TMPDIR");
	free(old_tmpdir);
	old_tmpdir = NULL;
}

static void prom_setup(void)
{
	test_prom_target_t t[N_PODS];
	char addr[N_PODS][32], err[2048];
	int r;

	ck_assert_int_eq(fake_vllm_start(N_PODS, &vllm), 0);
	for (size_t i = 0; i < N_PODS; i++) {
		snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%u",
			 (unsigned)fake_vllm_port(vllm, i));
		t[i] = (test_prom_target_t){ addr[i], "default", pod_names[i] };
	}
	r = test_prom_start(t, N_PODS, SCRAPE_MS, &prom, err, sizeof(err));
	ck_assert_msg(r == 0, "test_prom_start: %d %s", r, err);
	ck_assert_int_eq(test_prom_wait_up(prom, 30000), 0);
}

static void prom_teardown(void)
{
	prom = test_prom_stop(prom);
	vllm = fake_vllm_stop(vllm);
}

static void vllm_setup(void)
{
	ck_assert_int_eq(fake_vllm_start(1, &vllm), 0);
}

static void vllm_teardown(void)
{
	vllm = fake_vllm_stop(vllm);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The instant query's values; fails the test when the query fails. */
static size_t query(const char *q, double *values, size_t max)
{
	char err[512];
	size_t n = 0;
	int r = test_prom_query(prom, q, values, max, &n, err, sizeof(err));

	ck_assert_msg(r == 0, "query %s: %d %s", q, r, err);
	return n;
}

static void assert_slo_ratio(double want)
{
	double v[4];
	size_t n = query(slo_query, v, 4);

	ck_assert_msg(n == 1, "%zu samples, expected 1", n);
	printf("slow fraction %.2f: the query says %.4f\n", want, v[0]);
	ck_assert_msg(fabs(v[0] - want) <= 0.05, "slow fraction %.4f, expected %.2f +- 0.05", v[0],
		      want);
}

static void set_all(double rps, double slow, double slo)
{
	for (size_t i = 0; i < N_PODS; i++)
		fake_vllm_set(vllm, i, rps, slow, slo);
}

struct buf {
	char *data;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *d = realloc(b->data, b->len + n + 1);

	if (!d || b->len + n > (1u << 20))
		return 0;
	b->data = d;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* GET on the fake: the curl code, status, Content-Type and body (caller frees). */
static CURLcode http_get(const char *url, long *status, char *ctype, size_t ctsize, char **body)
{
	CURL *c = curl_easy_init();
	struct buf b = { 0 };
	const char *ct = NULL;
	CURLcode rc;

	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(ctype, ctsize, "%s", ct ? ct : "");
	curl_easy_cleanup(c);
	*body = b.data ? b.data : strdup("");
	return rc;
}

/* The URL of path on pod 0. */
static void metrics_url(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%u%s", (unsigned)fake_vllm_port(vllm, 0), path);
}

/* The value of the exposition line that starts with prefix (with its space). */
static double sample(const char *text, const char *prefix)
{
	const char *s = strstr(text, prefix);
	char *end;
	double v;

	ck_assert_msg(s != NULL, "no line %s", prefix);
	s += strlen(prefix);
	v = strtod(s, &end);
	ck_assert_msg(end != s && *end == '\n', "bad value after %s", prefix);
	return v;
}

#define SERIES(suffix) "vllm:e2e_request_latency_seconds_" suffix "{model_name=\"fake-model\""
#define BUCKET(le) SERIES("bucket") ",le=\"" le "\"} "

/* ---- the fake alone --------------------------------------------------------------------- */

START_TEST(test_exposition)
{
	static const char *const les[] = { "0.3",   "0.5",   "0.8",   "1.0",    "1.5",    "2.0",
					   "2.5",   "5.0",   "10.0",  "15.0",   "20.0",   "30.0",
					   "40.0",  "50.0",  "60.0",  "120.0",  "240.0",  "480.0",
					   "960.0", "1920.0", "7680.0", "+Inf" };
	char text[8192], url[64], ctype[128], prefix[160], *body;
	double prev = 0, count, fast, sum, v;
	long status = 0;
	size_t len;

	/* New: no traffic, every counter at 0 and frozen. */
	len = fake_vllm_render(vllm, 0, text, sizeof(text));
	ck_assert_uint_lt(len, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "# HELP vllm:e2e_request_latency_seconds "));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE vllm:e2e_request_latency_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE vllm:num_requests_running gauge\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n" BUCKET("+Inf") "0.0\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\n" SERIES("count") "} 0.0\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\n" SERIES("sum") "} 0.0\n"));

	/* 1000 requests/s for 0.3 s, 20% of them over an SLO of 2 s: fast ones take 1 s (in
	 * le="1.0"), slow ones 4 s (in le="5.0"). */
	fake_vllm_set(vllm, 0, 1000, 0.2, 2.0);
	sleep_s(0.3);
	fake_vllm_set(vllm, 0, 0, 0.2, 2.0);
	len = fake_vllm_render(vllm, 0, text, sizeof(text));
	ck_assert_uint_lt(len, sizeof(text));
	count = sample(text, SERIES("count") "} ");
	ck_assert_msg(count >= 300 && count < 3000, "count %g", count);
	for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
		snprintf(prefix, sizeof(prefix), "\n" BUCKET("%s"), les[i]);
		v = sample(text, prefix);
		ck_assert_msg(v == floor(v) && v >= prev, "le=%s: %g after %g", les[i], v, prev);
		prev = v;
	}
	ck_assert_double_eq(sample(text, "\n" BUCKET("0.8")), 0);
	fast = sample(text, "\n" BUCKET("1.0"));
	ck_assert_double_eq(sample(text, "\n" BUCKET("2.5")), fast);
	ck_assert_double_eq(sample(text, "\n" BUCKET("5.0")), count);
	ck_assert_double_eq(sample(text, "\n" BUCKET("+Inf")), count);
	ck_assert_msg(fabs(fast / count - 0.8) < 0.01, "fast %g of %g", fast, count);
	sum = sample(text, SERIES("sum") "} ");
	ck_assert_msg(fabs(sum - (fast * 1.0 + (count - fast) * 4.0)) < 10, "sum %g", sum);
	/* The order vLLM prints: the buckets, then _count, then _sum. */
	ck_assert_ptr_nonnull(strstr(strstr(text, BUCKET("7680.0")), BUCKET("+Inf")));
	ck_assert_ptr_nonnull(strstr(strstr(text, BUCKET("+Inf")), "_count{"));
	ck_assert_ptr_nonnull(strstr(strstr(text, "_count{"), "_sum{"));

	/* rps 0 froze it; HTTP serves the same text. */
	metrics_url(url, sizeof(url), "/metrics");
	ck_assert_int_eq(http_get(url, &status, ctype, sizeof(ctype), &body), CURLE_OK);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(ctype, "text/plain; version=0.0.4; charset=utf-8");
	ck_assert_str_eq(body, text);
	free(body);
	ck_assert_int_eq(fake_vllm_scrapes(vllm, 0), 1);

	metrics_url(url, sizeof(url), "/other");
	ck_assert_int_eq(http_get(url, &status, ctype, sizeof(ctype), &body), CURLE_OK);
	ck_assert_int_eq(status, 404);
	free(body);
	ck_assert_int_eq(fake_vllm_scrapes(vllm, 0), 1);

	/* A stopped pod refuses. */
	fake_vllm_stop_pod(vllm, 0);
	metrics_url(url, sizeof(url), "/metrics");
	ck_assert_int_eq(http_get(url, &status, ctype, sizeof(ctype), &body),
			 CURLE_COULDNT_CONNECT);
	free(body);
}
END_TEST

/* ---- with Prometheus -------------------------------------------------------------------- */

START_TEST(test_slo_query)
{
	double v[N_PODS + 1], t0, t_count = -1, t_slo = -1;

	/* One ratio here, through plain curl; test-prometheus.c does 0.2 and 0.8 through the
	 * daemon's client. */
	set_all(20, 0.8, 5.0);
	sleep_s(WINDOW_WAIT_S);
	assert_slo_ratio(0.8);
	for (size_t i = 0; i < N_PODS; i++)
		ck_assert_int_ge(fake_vllm_scrapes(vllm, i), WINDOW_WAIT_S - 2);
	ck_assert_uint_eq(query(count_query, v, N_PODS + 1), N_PODS);

	/* The pods go away: how long until each query comes back empty. */
	for (size_t i = 0; i < N_PODS; i++)
		fake_vllm_stop_pod(vllm, i);
	t0 = test_now_s();
	while ((t_count < 0 || t_slo < 0) && test_now_s() - t0 < 30) {
		if (t_count < 0 && query(count_query, v, N_PODS + 1) == 0)
			t_count = test_now_s() - t0;
		if (t_slo < 0 && query(slo_query, v, N_PODS + 1) == 0)
			t_slo = test_now_s() - t0;
		sleep_s(0.1);
	}
	printf("pods stopped: %s empty after %.1f s, the SLO query after %.1f s\n", count_query,
	       t_count, t_slo);
	ck_assert_msg(t_count >= 0 && t_slo >= 0, "still answering 30 s after the pods stopped");
	/* Staleness markers end the instant series within a scrape or two; rate() keeps
	 * answering while two samples remain in its 10 s window. */
	ck_assert_double_lt(t_count, t_slo);
}
END_TEST

START_TEST(test_kill)
{
	double v[N_PODS + 1];
	char err[512];
	size_t n = 0;

	ck_assert_uint_eq(query(count_query, v, N_PODS + 1), N_PODS);
	test_prom_kill(prom);
	ck_assert_int_lt(test_prom_query(prom, count_query, v, N_PODS + 1, &n, err, sizeof(err)),
			 0);
	ck_assert_int_eq(test_prom_wait_up(prom, 1000), -ESRCH);
	ck_assert_int_eq(access(test_prom_dir(prom), F_OK), 0); /* until test_prom_stop */
}
END_TEST

static Suite *harness_suite(void)
{
	Suite *s = suite_create("prom-harness");
	TCase *tc;

	tc = tcase_create("fake-vllm");
	tcase_add_checked_fixture(tc, vllm_setup, vllm_teardown);
	tcase_add_test(tc, test_exposition);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_add_unchecked_fixture(tc, scratch_setup, scratch_teardown);
	tcase_add_checked_fixture(tc, prom_setup, prom_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_slo_query);
	tcase_add_test(tc, test_kill);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	char bin[PATH_MAX];
	int status;

	if (test_prom_binary(bin, sizeof(bin)) < 0) {
		printf("prometheus not found ($AUTOSCALERD_PROMETHEUS or PATH; Debian package "
		       "prometheus): skipped\n");
		return 77;
	}
	/* What a failed test printed before its forked process _exits. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The test talks to 127.0.0.1 only. */
	unsetenv("http_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return EXIT_FAILURE;
	status = check_run(harness_suite(), CK_ENV);
	curl_global_cleanup();
	return status;
}
