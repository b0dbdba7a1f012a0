/* kube.c - see kube.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/kube.h"

/* kubernetes.oke: the server and its CA; the token comes from the caller's token source
 * (cloud.h), so the cluster carries none. */
static int oke_cluster(const config_kubernetes_t *k, k8s_cluster_t **ret, char *err,
		       size_t errsz)
{
	k8s_cluster_t *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->server = strdup(k->oke_server);
	c->ca_file = k->oke_ca_file ? strdup(k->oke_ca_file) : NULL;
	c->namespace_ = strdup("default");
	c->context = strdup("oke");
	c->source = strdup("kubernetes.oke");
	if (!c->server || (k->oke_ca_file && !c->ca_file) || !c->namespace_ || !c->context ||
	    !c->source) {
		k8s_cluster_free(c);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	/* "https://10.0.0.5:6443/" -> no trailing '/', as the kubeconfig loader gives it */
	for (size_t n = strlen(c->server); n > 0 && c->server[n - 1] == '/'; n--)
		c->server[n - 1] = '\0';
	*ret = c;
	return 0;
}

int kube_cluster_from_config(const config_kubernetes_t *k, k8s_cluster_t **ret, char *err,
			     size_t errsz)
{
	switch (k->auth) {
	case CONFIG_KUBE_IN_CLUSTER: {
		int rc = k8s_incluster_load(getenv("AUTOSCALERD_SERVICEACCOUNT_DIR"), ret, err,
					    errsz);

		if (rc == -ENOENT) {
			size_t n = strlen(err);

			snprintf(err + n, errsz > n ? errsz - n : 0,
				 "; outside a cluster set kubernetes.auth: kubeconfig");
		}
		return rc;
	}
	case CONFIG_KUBE_KUBECONFIG:
		return k8s_kubeconfig_load(k->kubeconfig, k->context, ret, err, errsz);
	case CONFIG_KUBE_OKE:
	default:
		return oke_cluster(k, ret, err, errsz);
	}
}

#define ADD(...)                                                                          \
	do {                                                                              \
		if (n < max)                                                              \
			out[n] = (k8s_access_t){ __VA_ARGS__ };                           \
		n++;                                                                      \
	} while (0)

size_t kube_namespace_access(const char *ns, k8s_access_t *out, size_t max)
{
	size_t n = 0;

	ADD(.verb = "get", .group = "apps", .resource = "deployments", .subresource = "scale",
	    .namespace_ = ns);
	ADD(.verb = "patch", .group = "apps", .resource = "deployments", .subresource = "scale",
	    .namespace_ = ns);
	ADD(.verb = "list", .group = "", .resource = "pods", .namespace_ = ns);
	ADD(.verb = "watch", .group = "", .resource = "pods", .namespace_ = ns);
	ADD(.verb = "patch", .group = "", .resource = "pods", .namespace_ = ns);
	ADD(.verb = "list", .group = "autoscaling", .resource = "horizontalpodautoscalers",
	    .namespace_ = ns);
	ADD(.verb = "list", .group = "keda.sh", .resource = "scaledobjects", .namespace_ = ns);
	ADD(.verb = "create", .group = "events.k8s.io", .resource = "events", .namespace_ = ns);
	return n;
}

size_t kube_cluster_access(const config_t *c, bool nodes, k8s_access_t *out, size_t max)
{
	const config_daemon_t *d = &c->daemon;
	size_t n = 0;

	if (nodes) {
		ADD(.verb = "list", .group = "", .resource = "nodes");
		ADD(.verb = "watch", .group = "", .resource = "nodes");
		ADD(.verb = "patch", .group = "", .resource = "nodes");
		ADD(.verb = "list", .group = "", .resource = "pods"); /* pods on each node */
		ADD(.verb = "watch", .group = "", .resource = "pods");
	}
	if (d->leader_election) {
		ADD(.verb = "get", .group = "coordination.k8s.io", .resource = "leases",
		    .namespace_ = d->leader_election_namespace, .name = d->leader_election_lease);
		ADD(.verb = "update", .group = "coordination.k8s.io", .resource = "leases",
		    .namespace_ = d->leader_election_namespace, .name = d->leader_election_lease);
		ADD(.verb = "create", .group = "coordination.k8s.io", .resource = "leases",
		    .namespace_ = d->leader_election_namespace);
	}
	if (d->state == CONFIG_STATE_CONFIGMAP) {
		ADD(.verb = "get", .group = "", .resource = "configmaps",
		    .namespace_ = d->state_configmap_namespace, .name = d->state_configmap_name);
		ADD(.verb = "update", .group = "", .resource = "configmaps",
		    .namespace_ = d->state_configmap_namespace, .name = d->state_configmap_name);
		ADD(.verb = "create", .group = "", .resource = "configmaps",
		    .namespace_ = d->state_configmap_namespace);
	}
	return n;
}
