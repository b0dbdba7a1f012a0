/* prometheus.h - runs Debian's real `prometheus` (2.42) on a loopback port for the
 * integration tests and benchmarks, scraping targets such as those of fake-vllm.h the way
 * Kubernetes pod discovery would label them (job "vllm", labels namespace and pod).
 *
 * Everything lives in a temporary directory (mkdtemp under $TMPDIR, else /tmp):
 * prometheus.yml, the TSDB and prometheus.log (its stdout and stderr). The child asks the
 * kernel for SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG), so Prometheus
 * never outlives a crashed test; call test_prom_start from a thread that lives as long as
 * Prometheus should. Blocking: test code only, never the daemon.
 */
#ifndef AUTOSCALERD_TESTS_PROMETHEUS_H
#define AUTOSCALERD_TESTS_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

typedef struct test_prom test_prom_t;

typedef struct test_prom_target {
	const char *address;    /* "127.0.0.1:PORT" */
	const char *namespace_; /* label namespace */
	const char *pod;        /* label pod */
} test_prom_target_t;

#define TEST_PROM_MAX_TARGETS 1024

/* The binary that test_prom_start runs: $AUTOSCALERD_PROMETHEUS if set, else `prometheus`
 * from $PATH; its path into buf. 0, or -ENOENT when there is none (callers skip, exit 77). */
int test_prom_binary(char *buf, size_t size);

/* Starts Prometheus on 127.0.0.1 on a port chosen at run time (retried with a new port if
 * someone else takes it first), scraping the n (1..TEST_PROM_MAX_TARGETS) targets every
 * scrape_ms (100..60000) milliseconds, and waits until GET /-/ready answers 200 (at most
 * 30 s). Target strings are limited to [A-Za-z0-9._:/-], 1..253 characters. Returns 0,
 * -ENOENT without a binary, or another negative errno with a message in err (with the tail
 * of Prometheus's log when it failed to start). The caller stops it with test_prom_stop. */
int test_prom_start(const test_prom_target_t *targets, size_t n, int scrape_ms,
		    test_prom_t **ret, char *err, size_t errsz);

/* SIGTERM, up to 10 s for it to exit, then SIGKILL; reaps it and removes the directory.
 * NULL-safe; returns NULL. */
test_prom_t *test_prom_stop(test_prom_t *p);

uint16_t test_prom_port(const test_prom_t *p);
const char *test_prom_url(const test_prom_t *p); /* "http://127.0.0.1:PORT" */
const char *test_prom_dir(const test_prom_t *p); /* the temporary directory */

/* Waits until /api/v1/targets shows all n targets of test_prom_start with health "up".
 * 0, -ETIMEDOUT after timeout_ms, or -ESRCH if Prometheus has exited. */
int test_prom_wait_up(test_prom_t *p, int timeout_ms);

/* An instant query at the current time through GET /api/v1/query. On success the values
 * of the resulting vector (at most max; *ret_n their number, 0 for an empty vector) or of a
 * scalar (*ret_n = 1). -EPROTO for another result type, a failed query or a bad answer,
 * with a message in err; other negative errnos for transport failures. */
int test_prom_query(test_prom_t *p, const char *promql, double *values, size_t max,
		    size_t *ret_n, char *err, size_t errsz);

/* SIGKILLs Prometheus now and reaps it (a test of "Prometheus died"); the directory stays
 * until test_prom_stop. */
void test_prom_kill(test_prom_t *p);

#endif
