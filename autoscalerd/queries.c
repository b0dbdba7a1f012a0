/* queries.c - see queries.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/queries.h"

#define KEY_QUERY "recipe_pod_autoscaling_params.query"
#define KEY_SELECTOR "recipe_pod_autoscaling_params.metric_selector"
#define KEY_SLO "recipe_pod_autoscaling_params.latency_slo_seconds"

int policy_query(const config_policy_t *p, char **ret, char *err, size_t errsz)
{
	promql_vars_t v = {
		.namespace_ = p->namespace_,
		.deployment = p->deployment,
		.window_ms = p->window,
		.latency_slo = p->latency_slo,
		.selector = p->metric_selector,
	};

	return promql_fill(p->query, &v, ret, err, errsz);
}

promql_aggregation_t policy_aggregation(const config_policy_t *p)
{
	switch (p->series_aggregation) {
	case CONFIG_AGG_SUM:
		return PROMQL_AGG_SUM;
	case CONFIG_AGG_MAX:
		return PROMQL_AGG_MAX;
	case CONFIG_AGG_AVG:
		return PROMQL_AGG_AVG;
	case CONFIG_AGG_NONE:
	default:
		return PROMQL_AGG_NONE;
	}
}

promql_on_empty_t policy_on_empty(const config_policy_t *p)
{
	return p->engine.on_empty == ENGINE_EMPTY_ZERO ? PROMQL_EMPTY_ZERO : PROMQL_EMPTY_HOLD;
}

promql_on_nan_t policy_on_nan(const config_policy_t *p)
{
	return p->engine.on_nan == ENGINE_NAN_HOLD ? PROMQL_NAN_HOLD : PROMQL_NAN_ZERO;
}

/* Where a problem of the filled query points: the query if the file sets one, else the
 * selector if it does, else the policy. */
static config_mark_t query_mark(const config_policy_t *p, const char **key)
{
	*key = p->query || !p->metric_selector ? KEY_QUERY : KEY_SELECTOR;
	return config_policy_where(p, *key);
}

size_t check_policy_queries(const config_t *c, config_diags_t *d)
{
	size_t errors = 0;

	for (size_t i = 0; i < c->n_policies; i++) {
		const config_policy_t *p = &c->policies[i];
		const char *key;
		config_mark_t at = query_mark(p, &key);
		char err[512], msg[PROMQL_ERROR_MSG_SIZE + 64], *q = NULL;
		promql_error_t perr;
		promql_type_t type;
		int rc;

		if ((!p->query || strstr(p->query, "{{latency_slo}}")) &&
		    !promql_is_vllm_bucket(p->latency_slo)) {
			char le[64];

			promql_format_le(p->latency_slo, le, sizeof(le));
			config_diag_add(d, CONFIG_WARNING, config_policy_where(p, KEY_SLO),
					"policies[%zu].%s: %s is not a bucket bound of vLLM's "
					"vllm:e2e_request_latency_seconds histogram, so le=\"%s\" "
					"matches no series (use 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, "
					"10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, "
					"960.0, 1920.0 or 7680.0)",
					i, KEY_SLO, le, le);
		}
		rc = policy_query(p, &q, err, sizeof(err));
		if (rc < 0) {
			config_diag_add(d, CONFIG_ERROR, at, "policies[%zu].%s: %s",
					i, key, err);
			errors++;
			continue;
		}
		rc = promql_check(q, strlen(q), &type, &perr);
		if (rc < 0) {
			promql_error_format(&perr, msg, sizeof(msg));
			config_diag_add(d, CONFIG_ERROR, at,
					"policies[%zu].%s: Prometheus would refuse the filled query: "
					"%s; the query: %s",
					i, key, msg, q);
			errors++;
		} else if (type != PROMQL_TYPE_VECTOR && type != PROMQL_TYPE_SCALAR) {
			config_diag_add(d, CONFIG_ERROR, at,
					"policies[%zu].%s: the query gives a %s; it must give an "
					"instant vector or a scalar (one number); the query: %s",
					i, key, promql_type_name(type), q);
			errors++;
		}
		free(q);
	}
	config_diags_sort(d);
	return errors;
}
