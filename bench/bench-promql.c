/* bench-promql.c - queries per second through promql/ and http/ against a real Prometheus,
 * with 1,000 queries in flight.
 *
 * usage: bench-promql [QUERIES [IN_FLIGHT [URL]]]
 *   QUERIES    per scenario (default 20,000)
 *   IN_FLIGHT  queries outstanding at any time (default 1,000): each reply submits the next
 *   URL        a Prometheus to measure against; default: Debian's prometheus started here
 *              (tests/fakes/prometheus.c) scraping three fake vLLM replicas
 *              (tests/fakes/fake-vllm.c) every second, warmed up for 12 s so that the
 *              default query has data
 * The query is the policy default (Corrino's fraction of slow requests over a 10 s window),
 * every reply parsed and reduced to one number as the daemon does. Scenarios: the
 * per-destination cap at its default (64), at 256, and at IN_FLIGHT (above Prometheus's
 * default --web.max-connections of 512, the connections past it are never accepted). Prints queries/s, latency
 * percentiles (submit to reply, queueing included), failures, the max RSS.
 * Not a test: figures go in closing notes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "autoscalerd/ev-glue.h"
#include "promql/promql.h"
#include "tests/fakes/fake-vllm.h"
#include "tests/fakes/prometheus.h"

struct bench {
	promql_client_t *prom;
	const char *query;
	long total, submitted, done, failed, usable;
	int64_t *lat; /* ms, one per reply */
	char first_error[PROMQL_ERROR_MAX];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int submit_one(struct bench *b);

static void on_reply(const promql_reply_t *r, void *ud)
{
	struct bench *b = ud;
	promql_value_t v;
	double x;

	b->lat[b->done++] = r->elapsed_ms;
	if (r->outcome != HTTP_SUCCESS) {
		if (b->failed++ == 0)
			snprintf(b->first_error, sizeof(b->first_error), "%s", r->error);
	} else {
		promql_reduce(r->result, PROMQL_AGG_NONE, &v);
		if (promql_apply(&v, PROMQL_EMPTY_HOLD, PROMQL_NAN_ZERO, &x, NULL, 0))
			b->usable++;
	}
	if (b->submitted < b->total && submit_one(b) < 0)
		b->total = b->submitted;
}

static int submit_one(struct bench *b)
{
	char err[PROMQL_ERROR_MAX];
	int r = promql_query(b->prom, b->query, 0, "bench", on_reply, b, NULL, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "bench-promql: %s\n", err);
		return r;
	}
	b->submitted++;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void scenario(const char *url, const char *query, long queries, int in_flight, int cap)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	http_client_opts_t ho = { .max_in_flight = cap };
	http_profile_opts_t po = { .max_in_flight = cap };
	promql_client_opts_t co = { .url = url, .timeout_ms = 30000 };
	struct bench b = { .query = query, .total = queries };
	http_client_t *h = NULL;
	ev_glue_t glue;
	char err[HTTP_ERROR_MAX];
	double t0, dt;

	b.lat = calloc((size_t)queries, sizeof(*b.lat));
	ev_glue_init(&glue, loop);
	ho.loop = ev_glue_loop(&glue);
	if (!b.lat || http_client_new(&ho, &h) < 0 ||
	    http_profile_new(&po, &co.profile, err, sizeof(err)) < 0 ||
	    promql_client_new(h, &co, &b.prom, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-promql: setup failed\n");
		exit(1);
	}
	http_profile_unref(co.profile);
	ev_glue_attach(&glue, h);

	t0 = now();
	for (int i = 0; i < in_flight && b.submitted < b.total; i++)
		if (submit_one(&b) < 0)
			break;
	while (b.done < b.submitted)
		ev_run(loop, EVRUN_ONCE);
	dt = now() - t0;

	qsort(b.lat, (size_t)b.done, sizeof(*b.lat), cmp_i64);
	printf("  cap %4d: %ld queries in %.2f s = %.0f queries/s; latency p50 %lld ms, p99 "
	       "%lld ms; %ld usable values, %ld failed%s%s\n",
	       cap, b.done, dt, (double)b.done / dt,
	       b.done ? (long long)b.lat[b.done / 2] : 0LL,
	       b.done ? (long long)b.lat[(size_t)((double)b.done * 0.99)] : 0LL, b.usable,
	       b.failed, b.failed ? ": " : "", b.failed ? b.first_error : "");
	promql_client_free(b.prom);
	http_client_free(h);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	free(b.lat);
}

int main(int argc, char **argv)
{
	long queries = argc > 1 ? atol(argv[1]) : 20000;
	int in_flight = argc > 2 ? atoi(argv[2]) : 1000;
	const char *url = argc > 3 ? argv[3] : NULL;
	static const char *const pods[] = { "llama-8b-5d4f7-a1b2c", "llama-8b-5d4f7-d3e4f",
					    "llama-8b-5d4f7-g5h6i" };
	test_prom_target_t targets[3];
	char addr[3][32], err[1024], *query;
	promql_vars_t vars = { .namespace_ = "default", .deployment = "llama-8b",
			       .window_ms = 10000, .latency_slo = 5.0 };
	fake_vllm_t *fv = NULL;
	test_prom_t *tp = NULL;
	struct rusage ru;

	if (queries < 1 || in_flight < 1 || in_flight > 100000) {
		fprintf(stderr, "usage: bench-promql [QUERIES [IN_FLIGHT [URL]]]\n");
		return 2;
	}
	if (promql_fill(NULL, &vars, &query, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench-promql: %s\n", err);
		return 1;
	}
	if (!url) {
		if (fake_vllm_start(3, &fv) < 0) {
			fprintf(stderr, "bench-promql: cannot start the fake exporter\n");
			return 1;
		}
		for (size_t i = 0; i < 3; i++) {
			snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%u", fake_vllm_port(fv, i));
			targets[i] = (test_prom_target_t){ addr[i], "default", pods[i] };
			fake_vllm_set(fv, i, 20, 0.25, 5.0);
		}
		if (test_prom_start(targets, 3, 1000, &tp, err, sizeof(err)) < 0 ||
		    test_prom_wait_up(tp, 30000) < 0) {
			fprintf(stderr, "bench-promql: cannot start prometheus: %s\n", err);
			test_prom_stop(tp);
			fake_vllm_stop(fv);
			return 1;
		}
		url = test_prom_url(tp);
		sleep(12);
	}
	printf("bench-promql: %ld queries per scenario, %d in flight, against %s\n", queries,
	       in_flight, url);
	printf("  query: %s\n", query);
	scenario(url, query, queries, in_flight, HTTP_DEFAULT_MAX_IN_FLIGHT);
	if (in_flight > 256)
		scenario(url, query, queries, in_flight, 256);
	scenario(url, query, queries, in_flight, in_flight);
	if (in_flight > 512)
		printf("  (Prometheus accepts at most --web.max-connections=512 connections by "
		       "default: past that, connections wait unaccepted and time out)\n");
	getrusage(RUSAGE_SELF, &ru);
	printf("  max RSS of this process: %ld MiB\n", ru.ru_maxrss / 1024);
	free(query);
	test_prom_stop(tp);
	fake_vllm_stop(fv);
	return 0;
}
