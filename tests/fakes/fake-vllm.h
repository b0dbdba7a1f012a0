/* fake-vllm.h - an in-process stand-in for the /metrics endpoints of vLLM replicas, for the
 * integration tests and benchmarks that run a real Prometheus (tests/fakes/prometheus.h).
 *
 * Each simulated replica (pod) is its own libmicrohttpd daemon on 127.0.0.1, on a port the
 * kernel picks. GET /metrics answers with the Prometheus text format (0.0.4) the way vLLM's
 * prometheus_client prints it: the histogram vllm:e2e_request_latency_seconds with vLLM's
 * bucket bounds and the gauge vllm:num_requests_running, both labelled
 * model_name="fake-model". Anything else is 404.
 *
 * Traffic model: a pod receives rps requests per second; a fraction slow_fraction of them
 * take slo * 2 seconds, the others slo * 0.5 seconds. The counters are the integral of those
 * rates over monotonic time, evaluated at each scrape, so a change of rate shows in
 * rate() as it would with real traffic. They are kept as doubles and printed floored to
 * whole requests. A new pod has rps 0: counters at 0 and frozen.
 */
#ifndef AUTOSCALERD_FAKE_VLLM_H
#define AUTOSCALERD_FAKE_VLLM_H

#include <stddef.h>
#include <stdint.h>

typedef struct fake_vllm fake_vllm_t;

/* Starts n_pods replicas (1..FAKE_VLLM_MAX_PODS). Returns 0 or a negative errno. */
#define FAKE_VLLM_MAX_PODS 1024
int fake_vllm_start(size_t n_pods, fake_vllm_t **ret);
/* Stops every replica and waits for their threads. NULL-safe; returns NULL. */
fake_vllm_t *fake_vllm_stop(fake_vllm_t *f);

/* The port pod listens on (still the old one after fake_vllm_stop_pod). */
uint16_t fake_vllm_port(const fake_vllm_t *f, size_t pod);

/* From now on pod receives rps requests per second (0: no traffic, counters frozen), of
 * which slow_fraction (0..1) take longer than slo (> 0) seconds. Thread-safe. */
void fake_vllm_set(fake_vllm_t *f, size_t pod, double rps, double slow_fraction, double slo);

/* Closes pod's listener: later scrapes are refused. Not to be called concurrently with
 * itself or fake_vllm_stop for the same pod. */
void fake_vllm_stop_pod(fake_vllm_t *f, size_t pod);

/* GET /metrics requests pod has answered. Thread-safe. */
long fake_vllm_scrapes(fake_vllm_t *f, size_t pod);

/* The body pod would serve now, into buf (truncated to size); its length untruncated. For
 * tests of the fake itself. */
size_t fake_vllm_render(fake_vllm_t *f, size_t pod, char *buf, size_t size);

#endif
