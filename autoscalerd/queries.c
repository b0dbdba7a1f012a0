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

int prometheus_client_from_config(http_client_t *h, const config_prometheus_t *pc,
				  promql_client_t **ret, char *err, size_t errsz)
{
	http_header_t headers[CONFIG_MAX_HEADERS];
	http_profile_opts_t po = {
		.tls = {
			.ca_file = pc->ca_file,
			.cert_file = pc->cert_file,
			.key_file = pc->key_file,
			.insecure_skip_tls_verify = pc->insecure_skip_tls_verify,
		},
		.bearer_token_file = pc->bearer_token_file,
		.basic_user = pc->basic_auth_username,
		.basic_password_file = pc->basic_auth_password_file,
		.headers = headers,
		.n_headers = pc->n_headers,
		.max_in_flight = pc->max_in_flight,
	};
	promql_client_opts_t co = {
		.url = pc->url,
		.timeout_ms = pc->timeout,
	};
	char perr[HTTP_ERROR_MAX];
	int rc;

	for (size_t i = 0; i < pc->n_headers && i < CONFIG_MAX_HEADERS; i++)
		headers[i] = (http_header_t){ pc->headers[i].name, pc->headers[i].value };
	if ((rc = http_profile_new(&po, &co.profile, perr, sizeof(perr))) < 0) {
		snprintf(err, errsz, "prometheus: %s", perr);
		return rc;
	}
	rc = promql_client_new(h, &co, ret, err, errsz);
	http_profile_unref(co.profile);
	return rc;
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

int load_policy_file(const char *path, config_t **ret, config_diags_t *diags)
{
	config_t *c = NULL;
	int rc = config_load_file(path, &c, diags);

	if (rc < 0)
		return rc;
	/* the queries, filled, through the PromQL checker (config/ does no PromQL) */
	if (check_policy_queries(c, diags) > 0) {
		config_free(c);
		return -EINVAL;
	}
	*ret = c;
	return 0;
}
