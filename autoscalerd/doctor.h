/* doctor.h - `doctor`'s Kubernetes checks, started on the command's loop and printed in a
 * fixed order once done: the credentials (one access review, which the API server
 * authenticates first); then, once they work, the RBAC - one SelfSubjectAccessReview per
 * rule the daemon needs in each namespace with targets, and cluster-wide (nodes with node
 * autoscaling, the Lease with leader election, the state ConfigMap) - naming each denied
 * rule; and per target, its scale subresource and the other autoscalers on it. */
#ifndef AUTOSCALERD_DOCTOR_H
#define AUTOSCALERD_DOCTOR_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "http/http.h"
#include "oci/oci.h"

/* One check's line, "ok   WHAT: detail" or "FAIL WHAT: ...; fix: ...", kept until the
 * checks are printed in their fixed order. */
#define DOCTOR_LINE 2048
typedef struct doctor_line {
	bool set, ok;
	char text[DOCTOR_LINE];
} doctor_line_t;

void doctor_line_set(doctor_line_t *l, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef struct doctor_kube doctor_kube_t;

/* Starts the checks (the configuration's own failures become FAIL lines). oci: the OCI
 * credentials for kubernetes.auth: oke (NULL: oci_error says why there are none). 0 or
 * -ENOMEM. */
int doctor_kube_start(const config_t *c, http_client_t *http, oci_auth_t *oci,
		      const char *oci_error, doctor_kube_t **ret);
bool doctor_kube_done(const doctor_kube_t *k);
/* Prints one line per check; true when every one passed. */
bool doctor_kube_print(const doctor_kube_t *k, FILE *out);
doctor_kube_t *doctor_kube_free(doctor_kube_t *k); /* NULL-safe; before the http client */

/* doctor's OCI checks, for the policies with node autoscaling: the credentials (ready: an
 * API key loaded, a session token fetched), then per policy its node pool read with a
 * signed GetNodePool - ACTIVE, its shape the policy's recipe_node_shape, its size within
 * [min_nodes, max_nodes] - and, when a call fails, what to check (key, fingerprint, clock,
 * IAM policy). Nothing to check (one ok line) when no policy resizes a node pool. */
typedef struct doctor_oci doctor_oci_t;

/* auth NULL: auth_error says why there are no credentials. 0 or -ENOMEM. */
int doctor_oci_start(const config_t *c, http_client_t *http, oci_auth_t *auth,
		     const char *auth_error, doctor_oci_t **ret);
bool doctor_oci_done(const doctor_oci_t *o);
bool doctor_oci_print(const doctor_oci_t *o, FILE *out);
doctor_oci_t *doctor_oci_free(doctor_oci_t *o); /* NULL-safe; before the http client */

/* True when some policy resizes a node pool (recipe_node_autoscaling_params). */
bool doctor_needs_oci(const config_t *c);

#endif
