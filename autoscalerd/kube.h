/* kube.h - the Kubernetes side of the policy file: which cluster and credentials
 * (kubernetes: block -> k8s_cluster_t), and the access the daemon needs there (the rules of
 * deploy/rbac.yaml as SelfSubjectAccessReview questions, for doctor). */
#ifndef AUTOSCALERD_KUBE_H
#define AUTOSCALERD_KUBE_H

#include "config/config.h"
#include "k8s/k8s.h"

/* The cluster of kubernetes.auth: in-cluster (the service account; its folder overridable
 * with $AUTOSCALERD_SERVICEACCOUNT_DIR for tests), kubeconfig (kubernetes.kubeconfig, else
 * $KUBECONFIG, else ~/.kube/config; kubernetes.context or current-context), oke
 * (kubernetes.oke.server and ca_file; no credentials: the client needs the token source of
 * cloud.h). */
int kube_cluster_from_config(const config_kubernetes_t *k, k8s_cluster_t **ret, char *err,
			     size_t errsz);

/* The access checks of one namespace holding targets (nodes: some policy there resizes a
 * node pool, so cordoning is needed). Writes at most max, returns how many there are. */
size_t kube_namespace_access(const char *ns, k8s_access_t *out, size_t max);
/* The cluster-wide ones (nodes), and the leader-election Lease's when enabled. */
size_t kube_cluster_access(const config_t *c, bool nodes, k8s_access_t *out, size_t max);

#endif
