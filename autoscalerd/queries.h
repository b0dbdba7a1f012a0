/* queries.h - a policy's Prometheus query: filled from its template, checked, the rules of
 * DESIGN section 3 in promql/'s terms, and the client of the file's Prometheus. Shared by
 * `check`, `doctor` and the daemon. */
#ifndef AUTOSCALERD_QUERIES_H
#define AUTOSCALERD_QUERIES_H

#include "config/config.h"
#include "promql/promql.h"

/* The policy's query with its placeholders filled (promql_fill); *ret is malloc'd. Returns
 * 0 or a negative errno with err saying why. */
int policy_query(const config_policy_t *p, char **ret, char *err, size_t errsz);

/* The policy's rules for promql_reduce()/promql_apply(). */
promql_aggregation_t policy_aggregation(const config_policy_t *p);
promql_on_empty_t policy_on_empty(const config_policy_t *p);
promql_on_nan_t policy_on_nan(const config_policy_t *p);

/* A client of the file's Prometheus (prometheus: block: URL, timeout, TLS, credentials,
 * headers, max_in_flight) on h. Returns 0, or a negative errno with err saying what and
 * where (a token file that cannot be read, a bad URL). */
int prometheus_client_from_config(http_client_t *h, const config_prometheus_t *pc,
				  promql_client_t **ret, char *err, size_t errsz);

/* `check`'s query checks, on a loaded configuration: each policy's filled query must be one
 * Prometheus accepts (promql_check) and give an instant vector or a scalar; a
 * {{latency_slo}} that is not one of vLLM's bucket bounds is warned about. Diagnostics go to
 * d at the key's position; returns the number of errors added. */
size_t check_policy_queries(const config_t *c, config_diags_t *d);

/* A policy file as `check`, `doctor` and `run` take it: config_load_file(), then the query
 * checks above. Returns as config_load_file() does (-EINVAL when a query is refused). */
int load_policy_file(const char *path, config_t **ret, config_diags_t *diags);

#endif
