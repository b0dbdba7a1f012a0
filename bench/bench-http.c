/* bench-http.c - requests per second through http/ with 1,000 requests in flight.
 *
 * usage: bench-http [REQUESTS] [IN_FLIGHT] [URL]
 *   REQUESTS   per scenario (default 50,000)
 *   IN_FLIGHT  requests outstanding at any time (default 1,000): every completion submits
 *              the next, so the client always holds this many (running or queued)
 *   URL        a server to measure against (e.g. a Prometheus /api/v1/query URL); default:
 *              the fake of tests/fakes/fake-http.c on loopback, in this process (epoll
 *              thread), serving /ok
 * Scenarios: the per-destination cap at its default (64) and at IN_FLIGHT (every request
 * on its own connection). Prints requests/s, failures and the largest response buffer.
 * Not a test: figures go in closing notes. Needs an fd limit above 2 x IN_FLIGHT + 100
 * for the fake (server and client ends of each connection in one process).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http.h"
#include "autoscalerd/ev-glue.h"
#include "tests/fakes/fake-http.h"

struct bench {
	http_client_t *h;
	const char *url;
	long total, submitted, done, failed;
	char first_error[HTTP_ERROR_MAX];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int submit_one(struct bench *b);

static void on_done(http_response_t *res, void *ud)
{
	struct bench *b = ud;

	b->done++;
	if (res->outcome != HTTP_SUCCESS && b->failed++ == 0)
		snprintf(b->first_error, sizeof(b->first_error), "%s", res->error);
	if (b->submitted < b->total && submit_one(b) < 0)
		b->total = b->submitted; /* stop feeding; finish what runs */
}

static int submit_one(struct bench *b)
{
	http_request_opts_t o = { .url = b->url, .done = on_done, .userdata = b };
	char err[HTTP_ERROR_MAX];
	int r = http_submit(b->h, &o, NULL, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "bench-http: %s\n", err);
		return r;
	}
	b->submitted++;
	return 0;
}

static int scenario(const char *url, long total, long in_flight, int cap)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct bench b = { .url = url, .total = total };
	http_client_opts_t o = { .max_in_flight = cap };
	ev_glue_t glue;
	http_stats_t st;
	double t0, dt;

	if (!loop)
		return 1;
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	if (http_client_new(&o, &b.h) < 0)
		return 1;
	ev_glue_attach(&glue, b.h);
	t0 = now();
	for (long i = 0; i < in_flight && i < total; i++)
		if (submit_one(&b) < 0)
			return 1;
	while (b.done < b.total)
		ev_run(loop, EVRUN_ONCE);
	dt = now() - t0;
	http_client_stats(b.h, &st);
	printf("in flight %5ld  cap %5d  %8ld requests  %9.0f req/s  %ld failed  peak body %zu B\n",
	       in_flight, cap, b.done, (double)b.done / dt, b.failed, st.peak_body);
	if (b.failed)
		printf("  first failure: %s\n", b.first_error);
	http_client_free(b.h);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	return 0;
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 50000;
	long in_flight = argc > 2 ? atol(argv[2]) : 1000;
	fake_http_t *srv = NULL;
	char url[128];
	int r = 0;

	if (total <= 0 || in_flight <= 0 || in_flight > HTTP_MAX_IN_FLIGHT_LIMIT) {
		fprintf(stderr, "usage: bench-http [REQUESTS] [IN_FLIGHT] [URL]\n");
		return 2;
	}
	if (argc > 3) {
		snprintf(url, sizeof(url), "%s", argv[3]);
	} else {
		if (fake_http_start(true, &srv) < 0) {
			fprintf(stderr, "bench-http: cannot start the fake server\n");
			return 1;
		}
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/ok", (unsigned)fake_http_port(srv));
	}
	printf("bench-http: GET %s\n", url);
	r |= scenario(url, total, in_flight, HTTP_DEFAULT_MAX_IN_FLIGHT);
	r |= scenario(url, total, in_flight, (int)in_flight);
	fake_http_stop(srv);
	return r;
}
