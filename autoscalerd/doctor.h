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

typedef struct doctor_kube doctor_kube_t;

/* Starts the checks (the configuration's own failures become FAIL lines). 0 or -ENOMEM. */
int doctor_kube_start(const config_t *c, http_client_t *http, doctor_kube_t **ret);
bool doctor_kube_done(const doctor_kube_t *k);
/* Prints one line per check; true when every one passed. */
bool doctor_kube_print(const doctor_kube_t *k, FILE *out);
doctor_kube_t *doctor_kube_free(doctor_kube_t *k); /* NULL-safe; before the http client */

#endif
