/* bench-config.c - how long loading a policy file takes, and the memory it holds, at the
 * sizes DESIGN.md talks about (1,000 policies) and at the parser's limit (5,000).
 *
 * usage: bench-config [POLICIES [ROUNDS]]   (defaults: 1000 and 5000 policies, 20 rounds)
 * Prints, per size: file bytes, best and median wall time of one config_load_buffer(), and
 * the growth of the maximum RSS while loading. Not a test: figures go in closing notes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config/config.h"

static char *make_file(int n, size_t *len)
{
	size_t cap = (size_t)n * 700 + 64, o = 0;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	o += (size_t)snprintf(buf + o, cap - o, "prometheus: {url: 'http://127.0.0.1:9090'}\npolicies:\n");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o,
			"  - name: model-%d\n"
			"    target: {namespace: ns-%d, deployment: model-%d}\n"
			"    recipe_node_shape: VM.GPU.A10.2\n"
			"    recipe_nvidia_gpu_count: 1\n"
			"    recipe_pod_autoscaling_params:\n"
			"      min_replicas: 1\n"
			"      max_replicas: 8\n"
			"      collect_metrics_timespan: 2m\n"
			"      scaling_threshold: 0.4\n"
			"      behavior:\n"
			"        scale_up: {policies: [{type: pods, value: 4, period: 15s}]}\n"
			"    recipe_node_autoscaling_params:\n"
			"      node_pool_id: ocid1.nodepool.oc1.iad.pool%d\n"
			"      max_nodes: 4\n",
			i, i % 50, i, i);
	*len = o;
	return buf;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int run(int n, int rounds)
{
	size_t len;
	char *yaml = make_file(n, &len);
	double *t = calloc((size_t)rounds, sizeof(*t));
	long rss0 = max_rss_kib();

	if (!yaml || !t)
		return 1;
	for (int r = 0; r < rounds; r++) {
		config_diags_t d = { 0 };
		config_t *c = NULL;
		double t0 = now();

		if (config_load_buffer(yaml, len, &c, &d) < 0 || d.errors) {
			config_diags_print(&d, "bench.yaml", stderr);
			return 1;
		}
		t[r] = now() - t0;
		config_free(c);
		config_diags_clear(&d);
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
	printf("%5d policies  %8zu bytes  best %8.2f ms  median %8.2f ms  %9.0f policies/s  "
	       "max RSS +%ld KiB\n",
	       n, len, t[0] * 1e3, t[rounds / 2] * 1e3, n / t[rounds / 2], max_rss_kib() - rss0);
	free(t);
	free(yaml);
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 20;

	if (rounds < 1)
		rounds = 1;
	if (argc > 1)
		return run(atoi(argv[1]), rounds);
	return run(1000, rounds) || run(5000, rounds);
}
