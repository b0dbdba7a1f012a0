/* doctor-kube.c - doctor's Kubernetes checks (see doctor.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/cloud.h"
#include "autoscalerd/doctor.h"
#include "autoscalerd/kube.h"

#define MAX_RULES 16


struct rbac;

/* One access review's answer. */
struct question {
	struct rbac *group;
	bool done, allowed;
	char error[K8S_ERROR_MAX];
};

/* The reviews of one namespace with targets, or the cluster-wide ones (ns NULL). */
struct rbac {
	doctor_kube_t *k;
	const char *ns;
	k8s_access_t access[MAX_RULES];
	struct question q[MAX_RULES];
	size_t n, answered;
	doctor_line_t line;
};

struct target {
	doctor_kube_t *k;
	const config_policy_t *p;
	int answered; /* of 2: the scale, the other autoscalers */
	bool scale_ok, others_ok;
	char scale[DOCTOR_LINE / 2], others[DOCTOR_LINE / 2];
	doctor_line_t line;
};

struct doctor_kube {
	const config_t *c;
	k8s_client_t *client;
	cloud_oke_t *oke; /* kubernetes.auth: oke */
	char context[256];
	doctor_line_t creds;
	struct rbac *rbac;
	size_t n_rbac;
	struct target *targets;
	size_t pending;
};


static const char *fix_for(long status)
{
	switch (status) {
	case 401:
		return "check the credentials of the kubernetes: block (token, exec plugin, "
		       "client certificate)";
	case 403:
		return "grant it: deploy/rbac.yaml holds every rule the daemon needs";
	case 404:
		return "check target.namespace and target.deployment";
	case 0:
		return "is the API server reachable? check the kubeconfig's server and CA, and "
		       "the network";
	default:
		return "see the API server's message";
	}
}

/* ---- RBAC ---------------------------------------------------------------------------------- */

static void rbac_line(struct rbac *b)
{
	char where[128], what[256];
	size_t o = 0, denied = 0;
	const char *failed = NULL;

	if (b->ns)
		snprintf(where, sizeof(where), "in namespace %s", b->ns);
	else
		snprintf(where, sizeof(where), "cluster-wide");
	for (size_t i = 0; i < b->n; i++) {
		if (b->q[i].error[0]) {
			failed = b->q[i].error;
			continue;
		}
		if (b->q[i].allowed)
			continue;
		k8s_access_format(&b->access[i], what, sizeof(what));
		o += (size_t)snprintf(b->line.text + o, o < DOCTOR_LINE ? DOCTOR_LINE - o : 0,
				      "%sFAIL kubernetes rbac %s: %s is denied; fix: grant it "
				      "(deploy/rbac.yaml has every rule the daemon needs)",
				      denied ? "\n" : "", where, what);
		denied++;
	}
	if (failed) {
		doctor_line_set(&b->line, false, "FAIL kubernetes rbac %s: the access reviews failed: %s", where,
				failed);
		return;
	}
	if (denied) {
		b->line.ok = false;
		b->line.set = true;
		return;
	}
	doctor_line_set(&b->line, true, "ok   kubernetes rbac %s: all %zu rules the daemon needs are allowed",
			where, b->n);
}

static void on_review(const k8s_result_t *r, bool allowed, const char *reason, void *ud)
{
	struct question *q = ud;
	struct rbac *b = q->group;

	(void)reason;
	q->done = true;
	q->allowed = allowed;
	if (r->outcome != HTTP_SUCCESS)
		snprintf(q->error, sizeof(q->error), "%s", r->error);
	b->k->pending--;
	if (++b->answered == b->n)
		rbac_line(b);
}

/* ---- targets -------------------------------------------------------------------------------- */

static void target_line(struct target *t)
{
	const config_policy_t *p = t->p;

	if (!t->scale_ok)
		doctor_line_set(&t->line, false, "FAIL deployment %s/%s (policy %s): %s", p->namespace_,
				p->deployment, p->name, t->scale);
	else if (!t->others_ok)
		doctor_line_set(&t->line, false, "FAIL deployment %s/%s (policy %s): %s", p->namespace_,
				p->deployment, p->name, t->others);
	else
		doctor_line_set(&t->line, true, "ok   deployment %s/%s (policy %s): %s; %s", p->namespace_,
				p->deployment, p->name, t->scale, t->others);
}

static void target_answered(struct target *t)
{
	t->k->pending--;
	if (++t->answered == 2)
		target_line(t);
}

static void on_scale(const k8s_result_t *r, const k8s_scale_t *s, void *ud)
{
	struct target *t = ud;

	t->scale_ok = r->outcome == HTTP_SUCCESS;
	if (t->scale_ok)
		snprintf(t->scale, sizeof(t->scale), "the scale is readable: %d replicas wanted, "
						     "%d running, pods %.400s",
			 (int)s->spec_replicas, (int)s->status_replicas, s->selector);
	else
		snprintf(t->scale, sizeof(t->scale), "%.700s; fix: %s", r->error, fix_for(r->status));
	target_answered(t);
}

static void on_autoscalers(const k8s_result_t *r, const k8s_autoscalers_t *a, void *ud)
{
	struct target *t = ud;
	size_t o = 0;

	if (r->outcome != HTTP_SUCCESS) {
		t->others_ok = false;
		snprintf(t->others, sizeof(t->others), "cannot list other autoscalers: %.700s; fix: %s",
			 r->error, fix_for(r->status));
	} else if (!a->n_hpa && !a->n_scaled_objects) {
		t->others_ok = true;
		snprintf(t->others, sizeof(t->others), "no other autoscaler on it%s",
			 a->keda_installed ? "" : " (KEDA is not installed)");
	} else {
		for (size_t i = 0; i < a->n_hpa; i++)
			o += (size_t)snprintf(t->others + o, o < sizeof(t->others) ?
							      sizeof(t->others) - o : 0,
					      "%sHorizontalPodAutoscaler %s", o ? ", " : "",
					      a->hpa[i]);
		for (size_t i = 0; i < a->n_scaled_objects; i++)
			o += (size_t)snprintf(t->others + o, o < sizeof(t->others) ?
							      sizeof(t->others) - o : 0,
					      "%sKEDA ScaledObject %s", o ? ", " : "",
					      a->scaled_objects[i]);
		t->others_ok = t->p->allow_other_autoscalers;
		if (o < sizeof(t->others))
			snprintf(t->others + o, sizeof(t->others) - o,
				 t->others_ok ? " also scale%s it (allow_other_autoscalers: true)" :
						" also scale%s it; fix: remove %s, or set "
						"allow_other_autoscalers: true to let them fight",
				 a->n_hpa + a->n_scaled_objects > 1 ? "" : "s",
				 a->n_hpa + a->n_scaled_objects > 1 ? "them" : "it");
	}
	target_answered(t);
}

/* ---- the start: credentials first, then everything else ------------------------------------ */

static void not_checked(doctor_kube_t *k, const char *why)
{
	for (size_t i = 0; i < k->n_rbac; i++)
		doctor_line_set(&k->rbac[i].line, false, "FAIL kubernetes rbac %s%s: not checked: %s",
				k->rbac[i].ns ? "in namespace " : "cluster-wide",
				k->rbac[i].ns ? k->rbac[i].ns : "", why);
	for (size_t i = 0; i < k->c->n_policies; i++) {
		const config_policy_t *p = &k->c->policies[i];

		doctor_line_set(&k->targets[i].line, false, "FAIL deployment %s/%s (policy %s): not checked: %s",
				p->namespace_, p->deployment, p->name, why);
	}
}

static void send_all(doctor_kube_t *k)
{
	char err[K8S_ERROR_MAX];

	for (size_t i = 0; i < k->n_rbac; i++) {
		struct rbac *b = &k->rbac[i];

		for (size_t j = 0; j < b->n; j++) {
			if (k8s_can_i(k->client, &b->access[j], on_review, &b->q[j], NULL, err,
				      sizeof(err)) < 0) {
				snprintf(b->q[j].error, sizeof(b->q[j].error), "%s", err);
				if (++b->answered == b->n)
					rbac_line(b);
				continue;
			}
			k->pending++;
		}
	}
	for (size_t i = 0; i < k->c->n_policies; i++) {
		struct target *t = &k->targets[i];

		if (k8s_get_scale(k->client, t->p->namespace_, t->p->deployment, on_scale, t, NULL,
				  err, sizeof(err)) < 0) {
			doctor_line_set(&t->line, false, "FAIL deployment %s/%s (policy %s): %s",
					t->p->namespace_, t->p->deployment, t->p->name, err);
			continue;
		}
		k->pending++;
		if (k8s_find_autoscalers(k->client, t->p->namespace_, t->p->deployment,
					 on_autoscalers, t, NULL, err, sizeof(err)) < 0) {
			t->others_ok = false;
			snprintf(t->others, sizeof(t->others), "%s", err);
			t->answered++;
			continue;
		}
		k->pending++;
	}
}

/* Any access review proves the credentials: the API server authenticates it first. */
static void on_creds(const k8s_result_t *r, bool allowed, const char *reason, void *ud)
{
	doctor_kube_t *k = ud;

	(void)allowed;
	(void)reason;
	k->pending--;
	if (r->outcome != HTTP_SUCCESS) {
		doctor_line_set(&k->creds, false, "FAIL kubernetes %s: %s; fix: %s", k->context, r->error,
				k->oke && r->status == 401 ?
					"check kubernetes.oke.cluster_id (OKE tokens name their cluster) "
					"and the oci: credentials (doctor --checks oci)" :
					fix_for(r->status));
		not_checked(k, "the credentials do not work (see above)");
		return;
	}
	doctor_line_set(&k->creds, true, "ok   kubernetes %s: the API server accepts the credentials (%lld ms)",
			k->context, (long long)r->elapsed_ms);
	send_all(k);
}

static bool has(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

int doctor_kube_start(const config_t *c, http_client_t *http, oci_auth_t *oci,
		      const char *oci_error, doctor_kube_t **ret)
{
	doctor_kube_t *k = calloc(1, sizeof(*k));
	const char **nss = c->n_policies ? calloc(c->n_policies, sizeof(char *)) : NULL;
	size_t n_ns = 0;
	bool nodes = false;
	k8s_cluster_t *cl = NULL;
	char err[K8S_ERROR_MAX];

	if (!k || (c->n_policies && !nss) ||
	    (c->n_policies && !(k->targets = calloc(c->n_policies, sizeof(*k->targets))))) {
		free(nss);
		if (k)
			free(k->targets);
		free(k);
		return -ENOMEM;
	}
	k->c = c;
	for (size_t i = 0; i < c->n_policies; i++) {
		const config_policy_t *p = &c->policies[i];

		k->targets[i] = (struct target){ .k = k, .p = p };
		nodes = nodes || p->engine.nodes;
		if (!has(nss, n_ns, p->namespace_))
			nss[n_ns++] = p->namespace_;
	}
	k->rbac = calloc(n_ns + 1, sizeof(*k->rbac));
	if (!k->rbac) {
		free(nss);
		free(k->targets);
		free(k);
		return -ENOMEM;
	}
	for (size_t i = 0; i <= n_ns; i++) {
		struct rbac *b = &k->rbac[k->n_rbac];

		b->k = k;
		b->ns = i < n_ns ? nss[i] : NULL;
		b->n = b->ns ? kube_namespace_access(b->ns, b->access, MAX_RULES) :
			       kube_cluster_access(c, nodes, b->access, MAX_RULES);
		if (b->n > MAX_RULES)
			b->n = MAX_RULES;
		for (size_t j = 0; j < b->n; j++)
			b->q[j].group = b;
		if (b->n)
			k->n_rbac++;
	}
	free(nss);
	*ret = k;

	if (kube_cluster_from_config(&c->kubernetes, &cl, err, sizeof(err)) < 0) {
		doctor_line_set(&k->creds, false, "FAIL kubernetes: %s", err);
		not_checked(k, "no Kubernetes configuration (see above)");
		return 0;
	}
	snprintf(k->context, sizeof(k->context), "%s (%s)", cl->server,
		 cl->context ? cl->context : "in-cluster");
	if (c->kubernetes.auth == CONFIG_KUBE_OKE) {
		int rc = -EINVAL;

		if (!oci)
			snprintf(err, sizeof(err), "OKE cluster tokens need the OCI credentials: %s",
				 oci_error ? oci_error : "none");
		else if ((rc = cloud_oke_new(oci, c->oci.region, c->kubernetes.oke_cluster_id,
					     &k->oke)) < 0)
			snprintf(err, sizeof(err), "out of memory");
		if (rc < 0) {
			k8s_cluster_free(cl);
			doctor_line_set(&k->creds, false, "FAIL kubernetes %s: %s", k->context, err);
			not_checked(k, "no Kubernetes credentials (see above)");
			return 0;
		}
	}
	{
		k8s_client_opts_t o = { .cluster = cl, .http = http };
		int rc;

		if (k->oke) {
			o.token_source = cloud_oke_token_source;
			o.token_userdata = k->oke;
		}
		rc = k8s_client_new(&o, &k->client, err, sizeof(err));

		k8s_cluster_free(cl);
		if (rc < 0) {
			doctor_line_set(&k->creds, false, "FAIL kubernetes %s: %s", k->context, err);
			not_checked(k, "no Kubernetes client (see above)");
			return 0;
		}
	}
	if (k8s_can_i(k->client,
		      &(k8s_access_t){ .verb = "get", .group = "apps", .resource = "deployments",
				       .subresource = "scale",
				       .namespace_ = k8s_client_namespace(k->client) },
		      on_creds, k, NULL, err, sizeof(err)) < 0) {
		doctor_line_set(&k->creds, false, "FAIL kubernetes %s: %s", k->context, err);
		not_checked(k, "no Kubernetes client (see above)");
		return 0;
	}
	k->pending++;
	return 0;
}

bool doctor_kube_done(const doctor_kube_t *k)
{
	return !k || k->pending == 0;
}

bool doctor_kube_print(const doctor_kube_t *k, FILE *out)
{
	bool ok = k->creds.ok;

	fprintf(out, "%s\n", k->creds.text);
	for (size_t i = 0; i < k->n_rbac; i++) {
		fprintf(out, "%s\n", k->rbac[i].line.text);
		ok = ok && k->rbac[i].line.ok;
	}
	for (size_t i = 0; i < k->c->n_policies; i++) {
		fprintf(out, "%s\n", k->targets[i].line.text);
		ok = ok && k->targets[i].line.ok;
	}
	return ok;
}

doctor_kube_t *doctor_kube_free(doctor_kube_t *k)
{
	if (!k)
		return NULL;
	k->oke = cloud_oke_free(k->oke); /* first: it may be answering the client */
	k8s_client_free(k->client);
	free(k->rbac);
	free(k->targets);
	free(k);
	return NULL;
}
