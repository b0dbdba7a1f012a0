/* test-k8s-apiserver.c - k8s/ against the strict fake API server of
 * tests/fakes/kube-apiserver.h, over TLS, as the service account of deploy/rbac.yaml:
 * the RBAC there must be enough for every call, and what it does not grant comes back as
 * a 403 that names the missing rule. Credentials as clusters hand them out: a bearer token
 * (rotated mid-run through its file), a client certificate, an exec plugin whose first
 * token the server refuses. Then Events the strict validation accepts, other autoscalers
 * on a target, retries honouring Retry-After, a Lease handed over between two
 * clients, and `autoscalerd doctor`'s Kubernetes checks.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "autoscalerd/ev-glue.h"
#include "k8s/k8s.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/kube-apiserver.h"
#include "tests/fakes/run-cli.h"
#include "tests/fakes/test-loop.h"

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *http;
static kube_fake_t *api;
static char tmpdir[PATH_MAX];
static char ca_path[PATH_MAX + 16];

#define SA_TOKEN "sa-token-one"

static void setup(void)
{
	kube_fake_opts_t fo = { .tls = true };
	http_client_opts_t o = { 0 };

	check_tmpdir(tmpdir, sizeof(tmpdir), "test-k8s-api");
	ck_assert_int_eq(kube_fake_start(&fo, &api), 0);
	snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", tmpdir);
	check_write_file(ca_path, kube_fake_ca_pem(api), 0644);
	ck_assert_int_eq(kube_fake_add_token(api, SA_TOKEN, KUBE_FAKE_SA), 0);
	ck_assert_int_eq(kube_fake_put_deployment(api, &(struct kube_fake_deployment){
							       .ns = "default",
							       .name = "llama",
							       .replicas = 2,
							       .status_replicas = -1,
							       .ready_replicas = -1,
							       .match_labels = (const char *[]){
								       "app", "llama", NULL } }),
			 0);
	loop = ev_loop_new(EVFLAG_AUTO);
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	ck_assert_int_eq(http_client_new(&o, &http), 0);
	ev_glue_attach(&glue, http);
}

static void teardown(void)
{
	http = http_client_free(http);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	api = kube_fake_stop(api);
	ck_assert_int_eq(test_rm_tree(tmpdir), 0);
}

/* ---- helpers ---------------------------------------------------------------------------- */

struct rec {
	int done;
	http_outcome_t outcome;
	long status;
	int attempts;
	char reason[64], error[K8S_ERROR_MAX];
	k8s_scale_t scale;
	bool allowed;
	k8s_autoscalers_t as;
};

static void on_scale(const k8s_result_t *r, const k8s_scale_t *s, void *ud)
{
	struct rec *rec = ud;

	rec->done++;
	rec->outcome = r->outcome;
	rec->status = r->status;
	rec->attempts = r->attempts;
	snprintf(rec->reason, sizeof(rec->reason), "%s", r->reason);
	snprintf(rec->error, sizeof(rec->error), "%s", r->error);
	if (s)
		rec->scale = *s;
}

static void on_done(const k8s_result_t *r, void *ud)
{
	on_scale(r, NULL, ud);
}

static void on_access(const k8s_result_t *r, bool allowed, const char *reason, void *ud)
{
	struct rec *rec = ud;

	(void)reason;
	on_scale(r, NULL, ud);
	rec->allowed = allowed;
}

static void on_autoscalers(const k8s_result_t *r, const k8s_autoscalers_t *a, void *ud)
{
	struct rec *rec = ud;

	on_scale(r, NULL, ud);
	if (a)
		rec->as = *a;
}

static void run_until(const int *flag, int want)
{
	test_run_until(loop, flag, want, test_patience(60, 300));
}

static k8s_cluster_t *cluster(void)
{
	k8s_cluster_t *cl = calloc(1, sizeof(*cl));

	cl->server = strdup(kube_fake_url(api));
	cl->ca_file = strdup(ca_path);
	cl->namespace_ = strdup("default");
	cl->context = strdup("fake");
	cl->source = strdup("test");
	return cl;
}

static k8s_client_t *client_of(k8s_cluster_t *cl, const char *identity)
{
	k8s_client_opts_t o = { .cluster = cl, .http = http, .identity = identity,
				.retry = { .max_attempts = 4, .base_ms = 50, .cap_ms = 200 } };
	k8s_client_t *c = NULL;
	char err[K8S_ERROR_MAX];

	ck_assert_msg(k8s_client_new(&o, &c, err, sizeof(err)) == 0, "%s", err);
	k8s_cluster_free(cl);
	return c;
}

static k8s_client_t *sa_client(const char *identity)
{
	k8s_cluster_t *cl = cluster();

	cl->token = strdup(SA_TOKEN);
	return client_of(cl, identity);
}

static void get_scale(k8s_client_t *c, const char *name, struct rec *rec)
{
	char err[K8S_ERROR_MAX];

	memset(rec, 0, sizeof(*rec));
	ck_assert_msg(k8s_get_scale(c, "default", name, on_scale, rec, NULL, err, sizeof(err)) == 0,
		      "%s", err);
	run_until(&rec->done, 1);
}

/* ---- scale, RBAC, errors ------------------------------------------------------------------ */

START_TEST(test_scale_as_service_account)
{
	k8s_client_t *c = sa_client("a");
	struct kube_fake_call call;
	struct rec rec = { 0 };
	char err[K8S_ERROR_MAX];

	get_scale(c, "llama", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.scale.spec_replicas, 2);
	ck_assert_int_eq(rec.scale.status_replicas, 2);
	ck_assert_str_eq(rec.scale.selector, "app=llama");
	ck_assert_str_ne(rec.scale.resource_version, "");

	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_patch_scale(c, "default", "llama", 5, on_scale, &rec, NULL, err,
					 sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.scale.spec_replicas, 5);
	ck_assert_int_eq(kube_fake_replicas(api, "default", "llama"), 5);
	ck_assert(kube_fake_last_call(api, &call));
	ck_assert_str_eq(call.method, "PATCH");
	ck_assert_str_eq(call.content_type, "application/merge-patch+json");
	ck_assert_str_eq(call.user, KUBE_FAKE_SA);

	get_scale(c, "nope", &rec);
	ck_assert_int_eq(rec.status, 404);
	ck_assert_msg(strstr(rec.error, "deployment default/nope not found"), "%s", rec.error);
	k8s_client_free(c);
}
END_TEST

START_TEST(test_forbidden_names_the_rule)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c, *sa;
	struct rec rec = { 0 };
	char err[K8S_ERROR_MAX];

	ck_assert_int_eq(kube_fake_add_token(api, "nobody-token",
					     "system:serviceaccount:default:nobody"),
			 0);
	cl->token = strdup("nobody-token");
	c = client_of(cl, "n");
	get_scale(c, "llama", &rec);
	ck_assert_int_eq(rec.status, 403);
	ck_assert_str_eq(rec.reason, "Forbidden");
	ck_assert_msg(strstr(rec.error, "403 Forbidden: the RBAC lacks get deployments.apps/scale "
					"in namespace default (deploy/rbac.yaml grants it): "
					"deployments.apps \"llama\" is forbidden: User "
					"\"system:serviceaccount:default:nobody\" cannot get resource "
					"\"deployments/scale\" in API group \"apps\" in the namespace "
					"\"default\""),
		      "%s", rec.error);
	k8s_client_free(c);

	/* What doctor asks: the SA may patch scales, and may not delete pods. */
	sa = sa_client("a");
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_can_i(sa, &(k8s_access_t){ .verb = "patch", .group = "apps",
							.resource = "deployments",
							.subresource = "scale",
							.namespace_ = "default" },
				   on_access, &rec, NULL, err, sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(rec.allowed);
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_can_i(sa, &(k8s_access_t){ .verb = "delete", .group = "",
							.resource = "pods", .namespace_ = "default" },
				   on_access, &rec, NULL, err, sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert(!rec.allowed);
	k8s_client_free(sa);
}
END_TEST

START_TEST(test_client_certificate)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	struct kube_fake_call call;
	struct rec rec;
	char *cert = NULL, *key = NULL;

	ck_assert_int_eq(kube_fake_issue_client_cert(api, KUBE_FAKE_SA, &cert, &key), 0);
	cl->cert_pem = cert;
	cl->cert_pem_len = strlen(cert);
	cl->key_pem = key;
	cl->key_pem_len = strlen(key);
	c = client_of(cl, "a");
	get_scale(c, "llama", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(kube_fake_last_call(api, &call));
	ck_assert_str_eq(call.auth, "cert");
	ck_assert_str_eq(call.user, KUBE_FAKE_SA);
	k8s_client_free(c);
}
END_TEST

/* A bound service-account token rotates: the file changes, the old token stops working. */
START_TEST(test_token_file_rotation)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	struct kube_fake_call call;
	struct rec rec;
	char path[PATH_MAX + 16], fp[24];

	snprintf(path, sizeof(path), "%s/token", tmpdir);
	check_write_file(path, SA_TOKEN "\n", 0644);
	cl->token_file = strdup(path);
	c = client_of(cl, "a");
	get_scale(c, "llama", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);

	ck_assert_int_eq(kube_fake_add_token(api, "sa-token-two", KUBE_FAKE_SA), 0);
	kube_fake_remove_token(api, SA_TOKEN);
	check_write_file(path, "sa-token-two\n", 0644);
	get_scale(c, "llama", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(kube_fake_last_call(api, &call));
	kube_fake_fingerprint("sa-token-two", fp);
	ck_assert_str_eq(call.credential, fp);

	/* Revoked and not rotated: reloaded once, then a clear 401. */
	kube_fake_remove_token(api, "sa-token-two");
	get_scale(c, "llama", &rec);
	ck_assert_int_eq(rec.status, 401);
	ck_assert_msg(strstr(rec.error, "401 Unauthorized: the API server rejected the "
					"credentials of fake (the token file)"),
		      "%s", rec.error);
	k8s_client_free(c);
}
END_TEST

/* The plugin's first token is refused: the 401 makes it run again, and the second works. */
START_TEST(test_exec_plugin_rerun_on_401)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	struct rec rec;
	char path[PATH_MAX + 16], script[PATH_MAX * 2 + 512], runs[PATH_MAX + 16];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/plugin", tmpdir);
	snprintf(runs, sizeof(runs), "%s/runs", tmpdir);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\nn=$(cat '%s' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '%s'\n"
		 "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":"
		 "\"ExecCredential\",\"status\":{\"token\":\"exec-'$n'\"}}'\n",
		 runs, runs);
	check_write_file(path, script, 0755);
	ck_assert_int_eq(kube_fake_add_token(api, "exec-2", KUBE_FAKE_SA), 0);
	cl->exec = calloc(1, sizeof(*cl->exec));
	cl->exec->command = strdup(path);
	cl->exec->api_version = strdup("client.authentication.k8s.io/v1beta1");
	c = client_of(cl, "a");
	get_scale(c, "llama", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	f = fopen(runs, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &n), 1);
	fclose(f);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(kube_fake_count_calls(api, "GET", "/scale"), 2);
	k8s_client_free(c);
}
END_TEST

START_TEST(test_retry_after)
{
	k8s_client_t *c = sa_client("a");
	struct rec rec;
	double t0;

	ck_assert_int_eq(kube_fake_fail_next(api, "/scale", 2, 503, 1, 0), 0);
	t0 = ev_time();
	get_scale(c, "llama", &rec);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(rec.attempts, 3);
	ck_assert_double_ge(ev_time() - t0, 1.9); /* two Retry-After: 1 */

	ck_assert_int_eq(kube_fake_fail_next(api, "/scale", 4, 429, 0, 0), 0);
	get_scale(c, "llama", &rec);
	ck_assert_int_eq(rec.status, 429);
	ck_assert_int_eq(rec.attempts, 4);
	ck_assert_msg(strstr(rec.error, "HTTP 429 TooManyRequests"), "%s", rec.error);
	k8s_client_free(c);
}
END_TEST

/* ---- writes the strict server checks ------------------------------------------------------ */

START_TEST(test_events_and_patches)
{
	k8s_client_t *c = sa_client("autoscalerd-0");
	k8s_event_t ev = { .namespace_ = "default", .deployment = "llama", .type = "Normal",
			   .reason = "SuccessfulRescale", .action = "Scale",
			   .note = "New size: 4; reason: slow requests above target" };
	struct rec rec = { 0 };
	char err[K8S_ERROR_MAX], *events = NULL, *node = NULL, *pod = NULL;

	ck_assert_int_eq(k8s_post_event(c, &ev, on_done, &rec, NULL, err, sizeof(err)), 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(kube_fake_list_json(api, "events", "default", &events), 0);
	ck_assert_msg(strstr(events, "\"reason\":\"SuccessfulRescale\""), "%s", events);
	ck_assert_msg(strstr(events, "\"reportingInstance\":\"autoscalerd-0\""), "%s", events);
	free(events);

	ck_assert_int_eq(kube_fake_put_node(api, &(struct kube_fake_node){ .name = "10.0.10.5",
									    .gpus = 2 }),
			 0);
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_cordon(c, "10.0.10.5", true, on_done, &rec, NULL, err, sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(kube_fake_get_json(api, "nodes", "", "10.0.10.5", &node), 0);
	ck_assert_msg(strstr(node, "\"unschedulable\":true"), "%s", node);
	free(node);

	ck_assert_int_eq(kube_fake_put_pod(api, &(struct kube_fake_pod){
							.ns = "default", .name = "llama-6f9c4-x2k4p",
							.labels = (const char *[]){ "app", "llama", NULL },
							.node_name = "10.0.10.5", .ready = true }),
			 0);
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_set_pod_deletion_cost(c, "default", "llama-6f9c4-x2k4p", -100,
						   on_done, &rec, NULL, err, sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_int_eq(kube_fake_get_json(api, "pods", "default", "llama-6f9c4-x2k4p", &pod), 0);
	ck_assert_msg(strstr(pod, "\"controller.kubernetes.io/pod-deletion-cost\":\"-100\""), "%s",
		      pod);
	free(pod);
	k8s_client_free(c);
}
END_TEST

START_TEST(test_other_autoscalers)
{
	k8s_client_t *c = sa_client("a");
	struct rec rec = { 0 };
	char err[K8S_ERROR_MAX];

	ck_assert_int_eq(kube_fake_put_hpa(api, "default", "llama-hpa", "Deployment", "llama", 1, 4),
			 0);
	ck_assert_int_eq(kube_fake_put_hpa(api, "default", "other-hpa", "Deployment", "other", 1, 4),
			 0);
	ck_assert_int_eq(kube_fake_put_scaledobject(api, "default", "llama-so", "llama", 1, 8), 0);
	ck_assert_int_eq(k8s_find_autoscalers(c, "default", "llama", on_autoscalers, &rec, NULL,
					      err, sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert_uint_eq(rec.as.n_hpa, 1);
	ck_assert_str_eq(rec.as.hpa[0], "llama-hpa");
	ck_assert(rec.as.keda_installed);
	ck_assert_uint_eq(rec.as.n_scaled_objects, 1);
	ck_assert_str_eq(rec.as.scaled_objects[0], "llama-so");

	/* Without the KEDA CRD: none, and no error. */
	kube_fake_set_keda(api, false);
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_find_autoscalers(c, "default", "llama", on_autoscalers, &rec, NULL,
					      err, sizeof(err)),
			 0);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	ck_assert(!rec.as.keda_installed);
	ck_assert_uint_eq(rec.as.n_scaled_objects, 0);
	ck_assert_uint_eq(rec.as.n_hpa, 1);
	k8s_client_free(c);
}
END_TEST

/* ---- leader election ---------------------------------------------------------------------- */

struct leader {
	int gained, lost;
};

static void on_leader(k8s_elector_t *e, bool leading, void *ud)
{
	struct leader *l = ud;

	(void)e;
	if (leading)
		l->gained++;
	else
		l->lost++;
}

static k8s_elector_t *elect(k8s_client_t *c, struct leader *l)
{
	k8s_elector_opts_t o = { .namespace_ = "kube-system", .name = "autoscalerd",
				 .lease_ms = 1500, .renew_deadline_ms = 1000, .retry_ms = 100,
				 .changed = on_leader, .userdata = l };
	k8s_elector_t *e = NULL;
	char err[K8S_ERROR_MAX];

	ck_assert_msg(k8s_elector_start(c, &o, &e, err, sizeof(err)) == 0, "%s", err);
	return e;
}

START_TEST(test_lease_handover)
{
	k8s_client_t *ca = sa_client("autoscalerd-a"), *cb = sa_client("autoscalerd-b");
	struct leader la = { 0 }, lb = { 0 };
	k8s_elector_t *a, *b;
	struct rec rec = { 0 };
	char *lease = NULL;
	double t;

	a = elect(ca, &la);
	run_until(&la.gained, 1);
	b = elect(cb, &lb);
	test_run_for(loop, 2.0); /* a renews every 100 ms; b sees a live holder */
	ck_assert(k8s_elector_leading(a));
	ck_assert(!k8s_elector_leading(b));
	ck_assert_int_eq(lb.gained, 0);
	ck_assert_int_eq(kube_fake_get_json(api, "leases", "kube-system", "autoscalerd", &lease), 0);
	ck_assert_msg(strstr(lease, "\"holderIdentity\":\"autoscalerd-a\""), "%s", lease);
	free(lease);

	/* a releases: b takes over at its next try, well before the lease would expire. */
	k8s_elector_release(a, on_done, &rec);
	run_until(&rec.done, 1);
	ck_assert_msg(rec.outcome == HTTP_SUCCESS, "%s", rec.error);
	t = ev_time();
	run_until(&lb.gained, 1);
	ck_assert_double_lt(ev_time() - t, 1.4);
	ck_assert_int_eq(la.lost, 0); /* released, not lost: no callback */
	ck_assert_int_eq(kube_fake_get_json(api, "leases", "kube-system", "autoscalerd", &lease), 0);
	ck_assert_msg(strstr(lease, "\"holderIdentity\":\"autoscalerd-b\""), "%s", lease);
	ck_assert_msg(strstr(lease, "\"leaseTransitions\":1"), "%s", lease);
	free(lease);
	k8s_elector_free(a);

	/* b dies without releasing; a new candidate waits for the lease to expire, counted on
	 * its own clock from when it first saw b's record. */
	k8s_elector_free(b);
	la = (struct leader){ 0 };
	a = elect(ca, &la);
	t = ev_time();
	run_until(&la.gained, 1);
	ck_assert_double_ge(ev_time() - t, 1.4);
	k8s_elector_free(a);

	/* The API server goes away under the leader: it steps down at the renew deadline. */
	la = (struct leader){ 0 };
	ck_assert_int_eq(kube_fake_delete(api, "leases", "kube-system", "autoscalerd"), 0);
	a = elect(ca, &la);
	run_until(&la.gained, 1);
	ck_assert_int_eq(kube_fake_fail_next(api, "leases", 1000, 503, 0, 0), 0);
	run_until(&la.lost, 1);
	ck_assert(!k8s_elector_leading(a));
	kube_fake_clear_faults(api);
	k8s_elector_free(a);
	k8s_client_free(ca);
	k8s_client_free(cb);
}
END_TEST

/* ---- doctor ------------------------------------------------------------------------------- */

static const char *autoscalerd_bin;

#define assert_has(out, text) ck_assert_msg(strstr(out, text), "no \"%s\" in:\n%s", text, out)

/* A kubeconfig for token on the fake, and a policy file using it; doctor's output. */
static int doctor_with(const char *token, const char *policies, bool flags, char *out,
		       size_t size)
{
	char kc[PATH_MAX + 32], cfg[PATH_MAX + 32], text[8192], err[4096];
	const char *argv[] = { autoscalerd_bin, "doctor", "--config", cfg, "--checks", "kubernetes",
			       flags ? "--kubeconfig" : NULL, kc, "--context", "fake", NULL };
	int rc;

	snprintf(kc, sizeof(kc), "%s/kubeconfig", tmpdir);
	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
		 "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
		 "    certificate-authority: %s\n"
		 "users:\n- name: sa\n  user:\n    token: %s\n"
		 "contexts:\n- name: fake\n  context: {cluster: fake, user: sa, namespace: default}\n",
		 kube_fake_url(api), ca_path, token);
	check_write_file(kc, text, 0644);
	snprintf(cfg, sizeof(cfg), "%s/policy.yaml", tmpdir);
	if (flags) /* the flags override an in-cluster file, as kubectl's would */
		snprintf(text, sizeof(text), "kubernetes: {auth: in-cluster}\n%s", policies);
	else
		snprintf(text, sizeof(text), "kubernetes: {auth: kubeconfig, kubeconfig: %s}\n%s",
			 kc, policies);
	check_write_file(cfg, text, 0644);
	rc = test_spawn(argv, out, size, err, sizeof(err), 120);
	printf("doctor:\n%s%s", out, err);
	ck_assert_msg(rc >= 0 && rc < 128, "doctor: %d", rc);
	return rc;
}

static int doctor(const char *token, const char *policies, char *out, size_t size)
{
	return doctor_with(token, policies, false, out, size);
}

START_TEST(test_doctor)
{
	static const char policies[] =
		"policies:\n"
		"  - name: llama\n"
		"    target: {namespace: default, deployment: llama}\n"
		"    recipe_pod_autoscaling_params: {max_replicas: 4}\n"
		"    recipe_node_autoscaling_params: {node_pool_id: ocid1.nodepool.oc1.iad.aaaa, "
		"min_nodes: 1, max_nodes: 2}\n"
		"    recipe_node_shape: VM.GPU.A10.2\n";
	static const char more[] =
		"  - name: gone\n"
		"    target: {namespace: ml, deployment: gone}\n"
		"    recipe_pod_autoscaling_params: {max_replicas: 4}\n";
	char out[16384], both[2048];

	/* The service account of deploy/rbac.yaml: everything passes. */
	ck_assert_int_eq(doctor(SA_TOKEN, policies, out, sizeof(out)), 0);
	assert_has(out, "ok   config ");
	assert_has(out, "ok   kubernetes https://127.0.0.1:");
	assert_has(out, "(fake): the API server accepts the credentials");
	assert_has(out, "ok   kubernetes rbac in namespace default: all 8 rules the daemon needs "
			"are allowed");
	assert_has(out, "ok   kubernetes rbac cluster-wide: all 5 rules the daemon needs are "
			"allowed");
	assert_has(out, "ok   deployment default/llama (policy llama): the scale is readable: 2 "
			"replicas wanted, 2 running, pods app=llama; no other autoscaler on it");
	ck_assert_ptr_null(strstr(out, "FAIL"));
	ck_assert_int_eq(doctor_with(SA_TOKEN, policies, true, out, sizeof(out)), 0);
	assert_has(out, "(fake): the API server accepts the credentials");

	/* Another autoscaler, a missing Deployment, a user without RBAC. */
	ck_assert_int_eq(kube_fake_put_hpa(api, "default", "llama-hpa", "Deployment", "llama", 1, 4),
			 0);
	snprintf(both, sizeof(both), "%s%s", policies, more);
	ck_assert_int_eq(doctor(SA_TOKEN, both, out, sizeof(out)), 1);
	assert_has(out, "FAIL deployment default/llama (policy llama): HorizontalPodAutoscaler "
			"llama-hpa also scales it; fix: remove it, or set allow_other_autoscalers: "
			"true");
	assert_has(out, "FAIL deployment ml/gone (policy gone): deployment ml/gone not found");
	assert_has(out, "ok   kubernetes rbac in namespace ml: all 8 rules");

	ck_assert_int_eq(kube_fake_add_token(api, "weak", "system:serviceaccount:default:weak"), 0);
	ck_assert_int_eq(doctor("weak", policies, out, sizeof(out)), 1);
	assert_has(out, "ok   kubernetes https://127.0.0.1:");
	assert_has(out, "FAIL kubernetes rbac in namespace default: patch deployments.apps/scale in "
			"namespace default is denied; fix: grant it (deploy/rbac.yaml has every "
			"rule the daemon needs)");
	assert_has(out, "FAIL kubernetes rbac cluster-wide: patch nodes cluster-wide is denied");
	assert_has(out, "FAIL deployment default/llama (policy llama): GET "
			"/apis/apps/v1/namespaces/default/deployments/llama/scale: 403 Forbidden: "
			"the RBAC lacks get deployments.apps/scale in namespace default");

	/* Credentials the server refuses: one FAIL for them, the rest not checked. */
	ck_assert_int_eq(doctor("no-such-token", policies, out, sizeof(out)), 1);
	assert_has(out, "401 Unauthorized");
	assert_has(out, "fix: check the credentials of the kubernetes: block");
	assert_has(out, "FAIL deployment default/llama (policy llama): not checked: the "
			"credentials do not work");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s-apiserver");
	TCase *tc = tcase_create("against the strict fake");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_scale_as_service_account);
	tcase_add_test(tc, test_forbidden_names_the_rule);
	tcase_add_test(tc, test_client_certificate);
	tcase_add_test(tc, test_token_file_rotation);
	tcase_add_test(tc, test_exec_plugin_rerun_on_401);
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_events_and_patches);
	tcase_add_test(tc, test_other_autoscalers);
	tcase_add_test(tc, test_lease_handover);
	tcase_add_test(tc, test_doctor);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test-k8s-apiserver PATH/TO/autoscalerd\n");
		return 2;
	}
	autoscalerd_bin = argv[1];
	return check_run(suite(), CK_ENV);
}
