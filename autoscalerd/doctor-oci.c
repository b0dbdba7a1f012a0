/* doctor-oci.c - doctor's OCI checks (see doctor.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/cloud.h"
#include "autoscalerd/doctor.h"

#define DOCTOR_OCI_TIMEOUT_MS 10000


struct pool_check {
	doctor_oci_t *o;
	const config_policy_t *p;
	doctor_line_t line;
};

struct doctor_oci {
	const config_t *c;
	http_client_t *http;
	oci_auth_t *auth;
	oci_ce_t *ce;
	oci_auth_wait_t *wait;
	doctor_line_t creds;
	struct pool_check *pools; /* one per policy with node autoscaling */
	size_t n_pools;
	size_t pending;
};


bool doctor_needs_oci(const config_t *c)
{
	for (size_t i = 0; i < c->n_policies; i++)
		if (c->policies[i].engine.nodes)
			return true;
	return false;
}

/* What to do, by status; the CE client's error already says what to check for 401/404. */
static const char *fix_for(const oci_result_t *r)
{
	switch (r->status) {
	case 401:
		return "the checks OCI's refusal names above";
	case 404:
		return "check node_pool_id, and that an IAM policy lets these credentials "
		       "'manage cluster-node-pools' in the pool's compartment";
	case 409:
		return "the pool is busy (another update is running): run doctor again in a "
		       "minute";
	case 429:
		return "OCI throttles these credentials: run doctor again later";
	case 0:
		return "is the endpoint reachable? check oci.region, oci.endpoint, oci.ca_file "
		       "and the network";
	default:
		return "see OCI's message";
	}
}

static void on_pool(const oci_result_t *r, const oci_node_pool_t *pool, void *userdata)
{
	struct pool_check *k = userdata;
	const config_policy_t *p = k->p;
	const engine_policy_t *e = &p->engine;
	char nodes[512] = "";
	size_t o = 0, active = 0, broken = 0;

	k->o->pending--;
	if (r->outcome != HTTP_SUCCESS) {
		doctor_line_set(&k->line, false, "FAIL oci node pool %s (policy %s): %s; fix: %s",
				p->node_pool_id, p->name, r->error, fix_for(r));
		return;
	}
	for (size_t i = 0; i < pool->n_nodes; i++) {
		const oci_node_t *n = &pool->nodes[i];

		if (n->lifecycle_state && !strcmp(n->lifecycle_state, "ACTIVE"))
			active++;
		if (n->error_code && o < sizeof(nodes)) {
			o += (size_t)snprintf(nodes + o, sizeof(nodes) - o, "%snode %s: %s: %s",
					      broken ? "; " : " (", n->name ? n->name : n->id,
					      n->error_code,
					      n->error_message ? n->error_message : "");
			broken++;
		}
	}
	if (broken && o < sizeof(nodes))
		snprintf(nodes + o, sizeof(nodes) - o, ")");

	if (!pool->lifecycle_state || strcmp(pool->lifecycle_state, "ACTIVE")) {
		doctor_line_set(&k->line, false, "FAIL oci node pool %s (policy %s): lifecycleState is %s, not "
						 "ACTIVE: the daemon will not resize it%s; fix: wait for the "
						 "running update, or repair the pool in the console",
				p->node_pool_id, p->name,
				pool->lifecycle_state ? pool->lifecycle_state : "missing", nodes);
	} else if (p->node_shape && pool->node_shape && strcmp(p->node_shape, pool->node_shape)) {
		doctor_line_set(&k->line, false, "FAIL oci node pool %s (policy %s): its shape is %s but "
						 "recipe_node_shape is %s, so GPUs per node would be wrong; fix: "
						 "set recipe_node_shape: %s, or point node_pool_id at a %s pool",
				p->node_pool_id, p->name, pool->node_shape, p->node_shape, pool->node_shape,
				p->node_shape);
	} else if (pool->size < 0) {
		doctor_line_set(&k->line, false, "FAIL oci node pool %s (policy %s): it has no "
						 "nodeConfigDetails.size (a pool sized per subnet or by a "
						 "cluster autoscaler?); fix: give it a node count in the console",
				p->node_pool_id, p->name);
	} else if (pool->size < e->min_nodes || pool->size > e->max_nodes) {
		doctor_line_set(&k->line, false, "FAIL oci node pool %s (policy %s): its size %d is outside "
						 "[min_nodes %d, max_nodes %d]; fix: resize it, or widen the "
						 "bounds (the daemon would resize it on its first tick)",
				p->node_pool_id, p->name, (int)pool->size, (int)e->min_nodes,
				(int)e->max_nodes);
	} else {
		doctor_line_set(&k->line, true, "ok   oci node pool %s (policy %s): ACTIVE, shape %s, size %d "
						"within [%d, %d], %zu of %zu nodes ACTIVE%s (%lld ms)",
				p->node_pool_id, p->name, pool->node_shape ? pool->node_shape : "unknown",
				(int)pool->size, (int)e->min_nodes, (int)e->max_nodes, active, pool->n_nodes,
				nodes, (long long)r->elapsed_ms);
	}
}

static void send_pools(doctor_oci_t *o)
{
	char err[HTTP_ERROR_MAX];

	for (size_t i = 0; i < o->n_pools; i++) {
		struct pool_check *k = &o->pools[i];

		if (!k->p->node_pool_id) {
			doctor_line_set(&k->line, false, "FAIL oci node pool (policy %s): "
							 "recipe_node_autoscaling_params.node_pool_id is not "
							 "set; fix: set it to the OCID of the pool (ocid1.nodepool."
							 "...)",
					k->p->name);
			continue;
		}
		if (oci_ce_get_node_pool(o->ce, k->p->node_pool_id, on_pool, k, NULL, err,
					 sizeof(err)) < 0) {
			doctor_line_set(&k->line, false, "FAIL oci node pool %s (policy %s): %s",
					k->p->node_pool_id, k->p->name, err);
			continue;
		}
		o->pending++;
	}
}

static void not_checked(doctor_oci_t *o, const char *why)
{
	for (size_t i = 0; i < o->n_pools; i++)
		doctor_line_set(&o->pools[i].line, false, "FAIL oci node pool %s (policy %s): not checked: %s",
				o->pools[i].p->node_pool_id ? o->pools[i].p->node_pool_id : "(none)",
				o->pools[i].p->name, why);
}

static const char *creds_fix(oci_auth_mode_t m)
{
	switch (m) {
	case OCI_AUTH_API_KEY:
		return "check oci.config_file and oci.profile, and the profile's user, tenancy, "
		       "fingerprint and key_file";
	case OCI_AUTH_SECURITY_TOKEN:
		return "refresh the session: oci session refresh (or oci session authenticate)";
	case OCI_AUTH_INSTANCE_PRINCIPAL:
		return "run on an OCI instance whose dynamic group an IAM policy names, or use "
		       "oci.auth: api_key";
	case OCI_AUTH_WORKLOAD_IDENTITY:
	default:
		return "run in an OKE enhanced cluster with OCI_RESOURCE_PRINCIPAL_VERSION=2.2 and "
		       "OCI_RESOURCE_PRINCIPAL_REGION set on the pod";
	}
}

static void on_ready(const char *error, void *userdata)
{
	doctor_oci_t *o = userdata;
	char err[HTTP_ERROR_MAX];

	o->wait = NULL;
	o->pending--;
	if (error) {
		doctor_line_set(&o->creds, false, "FAIL oci credentials %s: %s; fix: %s",
				oci_auth_describe(o->auth), error, creds_fix(oci_auth_mode(o->auth)));
		not_checked(o, "the credentials do not work (see above)");
		return;
	}
	doctor_line_set(&o->creds, true, "ok   oci credentials %s: ready to sign%s%s",
			oci_auth_describe(o->auth), oci_auth_region(o->auth) ? ", region " : "",
			oci_auth_region(o->auth) ? oci_auth_region(o->auth) : "");
	/* one attempt: doctor says what it sees now */
	if (cloud_ce_from_config(&o->c->oci, o->http, o->auth, DOCTOR_OCI_TIMEOUT_MS,
				 &(http_retry_t){ .max_attempts = 1 }, &o->ce, err, sizeof(err)) < 0) {
		doctor_line_set(&o->creds, false,
				"FAIL oci credentials %s: %s; fix: check oci.endpoint and "
				"oci.ca_file",
				oci_auth_describe(o->auth), err);
		not_checked(o, "no Container Engine client (see above)");
		return;
	}
	send_pools(o);
}

int doctor_oci_start(const config_t *c, http_client_t *http, oci_auth_t *auth,
		     const char *auth_error, doctor_oci_t **ret)
{
	doctor_oci_t *o = calloc(1, sizeof(*o));
	char err[HTTP_ERROR_MAX];

	if (!o)
		return -ENOMEM;
	o->c = c;
	o->http = http;
	o->auth = auth;
	if (c->n_policies && !(o->pools = calloc(c->n_policies, sizeof(*o->pools)))) {
		free(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_policies; i++)
		if (c->policies[i].engine.nodes)
			o->pools[o->n_pools++] = (struct pool_check){ .o = o, .p = &c->policies[i] };
	*ret = o;
	if (!o->n_pools) {
		doctor_line_set(&o->creds, true, "ok   oci: no policy resizes a node pool (none has "
						 "recipe_node_autoscaling_params): nothing to check");
		return 0;
	}
	if (!auth) {
		doctor_line_set(&o->creds, false, "FAIL oci credentials: %s", auth_error ? auth_error : "none");
		not_checked(o, "no OCI credentials (see above)");
		return 0;
	}
	if (oci_auth_ready(auth, false, on_ready, o, &o->wait, err, sizeof(err)) < 0) {
		doctor_line_set(&o->creds, false, "FAIL oci credentials %s: %s", oci_auth_describe(auth), err);
		not_checked(o, "no OCI credentials (see above)");
		return 0;
	}
	o->pending++;
	return 0;
}

bool doctor_oci_done(const doctor_oci_t *o)
{
	return !o || o->pending == 0;
}

bool doctor_oci_print(const doctor_oci_t *o, FILE *out)
{
	bool ok = o->creds.ok;
	const char *const *w = NULL;
	size_t n = o->auth && o->n_pools ? oci_auth_warnings(o->auth, &w) : 0;

	fprintf(out, "%s\n", o->creds.text);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "     warning: %s\n", w[i]);
	for (size_t i = 0; i < o->n_pools; i++) {
		fprintf(out, "%s\n", o->pools[i].line.text);
		ok = ok && o->pools[i].line.ok;
	}
	return ok;
}

doctor_oci_t *doctor_oci_free(doctor_oci_t *o)
{
	if (!o)
		return NULL;
	if (o->wait)
		oci_auth_cancel(o->auth, o->wait);
	oci_ce_free(o->ce);
	free(o->pools);
	free(o);
	return NULL;
}
