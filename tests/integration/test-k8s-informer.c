/* test-k8s-informer.c - k8s/'s watched caches (informer.c) against the strict fake API
 * server of tests/fakes/kube-apiserver.h, over TLS, as the service account of
 * deploy/rbac.yaml: the first LIST (paginated requests, 600 pods), ADDED/MODIFIED/DELETED
 * reflected in the counts per selector (ready, pending, unschedulable with the
 * scheduler's message, terminating pods left out), BOOKMARKs moving the resourceVersion
 * the next WATCH resumes from, a dropped stream resumed without a LIST, 410 after a
 * compaction answered by a LIST, the 403 of a user without rights naming the rule, node
 * pools with their pods per node, and one LIST + one WATCH per cache however many counts
 * are asked. Pagination (which the fake lacks) and events split across reads against a
 * small scripted server. Every wait runs the loop until a condition holds (or a generous deadline).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#include <ev.h>
#include <microhttpd.h>

#include "autoscalerd/ev-glue.h"
#include "k8s/k8s.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/kube-apiserver.h"

static struct ev_loop *loop;
static ev_glue_t glue;
static ev_timer tick; /* so that a wait never blocks in the loop past its deadline */
static http_client_t *http;
static kube_fake_t *api;
static char tmpdir[PATH_MAX];
static char ca_path[PATH_MAX + 16];

#define SA_TOKEN "sa-token-one"
#define NOBODY "system:serviceaccount:default:nobody"
#define GPU_MSG "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
}

static void setup(void)
{
	kube_fake_opts_t fo = { .tls = true };
	http_client_opts_t o = { 0 };

	check_tmpdir(tmpdir, sizeof(tmpdir), "test-k8s-informer");
	ck_assert_int_eq(kube_fake_start(&fo, &api), 0);
	snprintf(ca_path, sizeof(ca_path), "%s/ca.crt", tmpdir);
	check_write_file(ca_path, kube_fake_ca_pem(api), 0644);
	ck_assert_int_eq(kube_fake_add_token(api, SA_TOKEN, KUBE_FAKE_SA), 0);
	ck_assert_int_eq(kube_fake_add_token(api, "nobody-token", NOBODY), 0);
	loop = ev_loop_new(EVFLAG_AUTO);
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	ck_assert_int_eq(http_client_new(&o, &http), 0);
	ev_glue_attach(&glue, http);
	ev_timer_init(&tick, on_tick, 0.05, 0.05);
	ev_timer_start(loop, &tick);
}

static void teardown(void)
{
	ev_timer_stop(loop, &tick);
	http = http_client_free(http);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	api = kube_fake_stop(api);
	ck_assert_int_eq(test_rm_tree(tmpdir), 0);
}

/* Runs the loop until cond holds; fails the test after a generous deadline. */
#define WAIT(cond)                                                                       \
	do {                                                                             \
		double end_ = ev_time() + (getenv("AUTOSCALERD_VALGRIND") ? 300 : 60);   \
		while (!(cond) && ev_time() < end_)                                      \
			ev_run(loop, EVRUN_ONCE);                                        \
		ck_assert_msg((cond), "gave up waiting for %s", #cond);                  \
	} while (0)

static void run_for(double s)
{
	double end = ev_time() + s;

	while (ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
}

static k8s_client_t *client(const char *token)
{
	k8s_cluster_t *cl = calloc(1, sizeof(*cl));
	k8s_client_opts_t o = { .cluster = cl, .http = http, .identity = "test",
				.retry = { .max_attempts = 2, .base_ms = 50, .cap_ms = 100 } };
	k8s_client_t *c = NULL;
	char err[K8S_ERROR_MAX];

	cl->server = strdup(kube_fake_url(api));
	cl->ca_file = strdup(ca_path);
	cl->namespace_ = strdup("default");
	cl->context = strdup("fake");
	cl->source = strdup("test");
	cl->token = strdup(token);
	ck_assert_msg(k8s_client_new(&o, &c, err, sizeof(err)) == 0, "%s", err);
	k8s_cluster_free(cl);
	return c;
}

static void on_changed(void *ud)
{
	(*(int *)ud)++;
}

static k8s_selector_t *selector(const char *s)
{
	k8s_selector_t *sel = NULL;
	char err[K8S_ERROR_MAX];

	ck_assert_msg(k8s_selector_parse(s, &sel, err, sizeof(err)) == 0, "%s", err);
	return sel;
}

static k8s_pod_counts_t counts(const k8s_pods_t *p, const char *ns, const k8s_selector_t *sel)
{
	k8s_pod_counts_t c;

	ck_assert_int_eq(k8s_pods_count(p, ns, sel, &c), 0);
	return c;
}

static void put_pod(const char *ns, const char *name, const char *app, bool ready,
		    const char *phase, const char *unschedulable)
{
	ck_assert_int_eq(kube_fake_put_pod(api, &(struct kube_fake_pod){
							.ns = ns, .name = name,
							.labels = (const char *[]){ "app", app, NULL },
							.node_name = unschedulable ? NULL : "n1",
							.phase = phase, .ready = ready,
							.unschedulable = unschedulable,
							.owner_kind = "ReplicaSet",
							.owner_name = "rs" }),
			 0);
}

/* LIST calls of a collection path (a WATCH failed by a fault is not marked watch: the
 * query tells). */
static size_t lists(const char *path)
{
	size_t n = kube_fake_call_count(api), k = 0;
	struct kube_fake_call call;

	for (size_t i = 0; i < n; i++)
		if (kube_fake_call(api, i, &call) && !strcmp(call.method, "GET") && !call.watch &&
		    !strstr(call.target, "watch=true") &&
		    !strncmp(call.target, path, strlen(path)) && call.target[strlen(path)] == '?')
			k++;
	return k;
}

static size_t watches(const char *path)
{
	size_t n = kube_fake_call_count(api), k = 0;
	struct kube_fake_call call;

	for (size_t i = 0; i < n; i++)
		if (kube_fake_call(api, i, &call) && call.watch &&
		    !strncmp(call.target, path, strlen(path)))
			k++;
	return k;
}

/* The target of the newest WATCH of path. */
static void last_watch(const char *path, struct kube_fake_call *ret)
{
	size_t n = kube_fake_call_count(api);

	for (size_t i = n; i-- > 0;)
		if (kube_fake_call(api, i, ret) && ret->watch && !strncmp(ret->target, path, strlen(path)))
			return;
	ck_abort_msg("no WATCH of %s", path);
}

/* ---- the first LIST, events, counts --------------------------------------------------------- */

START_TEST(test_list_then_events)
{
	k8s_client_t *c = client(SA_TOKEN);
	k8s_selector_t *llama = selector("app=llama"), *other = selector("app in (other)");
	k8s_pods_t *pods = NULL, *big = NULL;
	k8s_pod_counts_t n;
	struct kube_fake_call call;
	char err[K8S_ERROR_MAX], name[64];
	int changes = 0;

	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "big-%04d", i);
		put_pod("big", name, "big", i % 3 != 0, NULL, NULL);
	}
	put_pod("default", "llama-a", "llama", true, NULL, NULL);
	put_pod("default", "llama-b", "llama", false, "Pending", NULL);
	put_pod("default", "llama-c", "llama", false, NULL, GPU_MSG);
	put_pod("default", "llama-d", "llama", false, NULL, "0/3 nodes are available: later.");
	put_pod("default", "other-a", "other", true, NULL, NULL);
	put_pod("default", "done", "llama", false, "Succeeded", NULL);
	ck_assert_int_eq(kube_fake_put_json(api,
					    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
					    "{\"name\":\"llama-going\",\"namespace\":\"default\","
					    "\"labels\":{\"app\":\"llama\"},\"deletionTimestamp\":"
					    "\"2026-01-01T00:00:00Z\"},\"spec\":{\"nodeName\":\"n1\"},"
					    "\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
					    "\"Ready\",\"status\":\"True\"}]}}"),
			 0);

	ck_assert_int_eq(k8s_pods_watch(c, "default", on_changed, &changes, &pods, err,
					sizeof(err)),
			 0);
	ck_assert_int_eq(k8s_pods_watch(c, "big", NULL, NULL, &big, err, sizeof(err)), 0);
	ck_assert(!k8s_pods_synced(pods));
	ck_assert_int_eq(k8s_pods_count(pods, "default", llama, &n), -EAGAIN);
	WAIT(k8s_pods_synced(pods) && k8s_pods_synced(big));
	WAIT(changes >= 1);
	ck_assert_str_eq(k8s_pods_error(pods), "");
	ck_assert_uint_eq(k8s_pods_size(big), 600);
	ck_assert_uint_eq(k8s_pods_size(pods), 7);

	/* the LIST asked for pages (the fake answers in one: it has no limit/continue) */
	ck_assert_uint_eq(lists("/api/v1/namespaces/big/pods"), 1);
	ck_assert_uint_ge(kube_fake_count_calls(api, "GET",
						"/api/v1/namespaces/big/pods?limit=500"), 1);
	n = counts(big, "big", NULL);
	ck_assert_int_eq(n.total, 600);
	ck_assert_int_eq(n.ready, 400);
	ck_assert_int_eq(n.pending, 0);

	n = counts(pods, "default", llama);
	ck_assert_int_eq(n.total, 4); /* not the Succeeded one, not the terminating one */
	ck_assert_int_eq(n.ready, 1);
	ck_assert_int_eq(n.pending, 3);
	ck_assert_int_eq(n.unschedulable, 2);
	ck_assert_str_eq(n.reason, GPU_MSG); /* the first by name: llama-c */
	n = counts(pods, "default", other);
	ck_assert_int_eq(n.total, 1);
	ck_assert_int_eq(n.ready, 1);
	n = counts(pods, "default", NULL);
	ck_assert_int_eq(n.total, 5);
	ck_assert_int_eq(k8s_pods_count(pods, "big", NULL, &n), -EINVAL); /* not its namespace */

	/* the watch: ADDED, MODIFIED, DELETED */
	WAIT(kube_fake_watch_count(api) == 2);
	last_watch("/api/v1/namespaces/default/pods", &call);
	ck_assert_msg(strstr(call.target, "watch=true") && strstr(call.target, "allowWatchBookmarks=true") &&
			      strstr(call.target, "timeoutSeconds=300") &&
			      strstr(call.target, "resourceVersion="),
		      "%s", call.target);
	ck_assert_str_eq(call.user, KUBE_FAKE_SA);
	put_pod("default", "llama-e", "llama", true, NULL, NULL);
	WAIT(counts(pods, "default", llama).total == 5);
	put_pod("default", "llama-b", "llama", true, NULL, NULL); /* started */
	WAIT(counts(pods, "default", llama).ready == 3);
	n = counts(pods, "default", llama);
	ck_assert_int_eq(n.pending, 2);
	ck_assert_int_eq(kube_fake_delete(api, "pods", "default", "llama-c"), 0);
	WAIT(counts(pods, "default", llama).unschedulable == 1);
	n = counts(pods, "default", llama);
	ck_assert_str_eq(n.reason, "0/3 nodes are available: later.");
	ck_assert_int_eq(n.total, 4);
	/* a label change moves a pod between selectors */
	put_pod("default", "other-a", "llama", true, NULL, NULL);
	WAIT(counts(pods, "default", other).total == 0);
	ck_assert_int_eq(counts(pods, "default", llama).total, 5);
	ck_assert_int_gt(changes, 1);
	ck_assert_str_eq(k8s_pods_error(pods), "");

	/* counting is local: a thousand counts, still one LIST and one WATCH per cache */
	for (int i = 0; i < 1000; i++) {
		counts(pods, "default", llama);
		counts(big, "big", NULL);
	}
	run_for(0.2);
	ck_assert_uint_eq(lists("/api/v1/namespaces/default/pods"), 1);
	ck_assert_uint_eq(watches("/api/v1/namespaces/default/pods"), 1);
	ck_assert_uint_eq(lists("/api/v1/namespaces/big/pods"), 1);
	ck_assert_uint_eq(watches("/api/v1/namespaces/big/pods"), 1);

	k8s_pods_free(pods);
	k8s_pods_free(big);
	k8s_selector_free(llama);
	k8s_selector_free(other);
	k8s_client_free(c);
}
END_TEST

/* ---- bookmarks, broken streams, 410 ------------------------------------------------------ */

START_TEST(test_bookmark_drop_and_gone)
{
	k8s_client_t *c = client(SA_TOKEN);
	k8s_pods_t *pods = NULL;
	struct kube_fake_call call;
	char err[K8S_ERROR_MAX], want[128], rv0[64];
	int changes = 0;

	put_pod("default", "llama-a", "llama", true, NULL, NULL);
	ck_assert_int_eq(k8s_pods_watch(c, "default", on_changed, &changes, &pods, err,
					sizeof(err)),
			 0);
	WAIT(k8s_pods_synced(pods));
	WAIT(kube_fake_watch_count(api) == 1);
	snprintf(rv0, sizeof(rv0), "%s", k8s_pods_resource_version(pods));
	snprintf(want, sizeof(want), "resourceVersion=%s&", rv0);
	last_watch("/api/v1/namespaces/default/pods", &call);
	ck_assert_msg(strstr(call.target, want), "%s, expected %s", call.target, want);

	/* A change elsewhere moves the global resourceVersion; the BOOKMARK brings it. */
	put_pod("elsewhere", "x", "x", true, NULL, NULL);
	kube_fake_bookmark_now(api);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)kube_fake_resource_version(api));
	WAIT(!strcmp(k8s_pods_resource_version(pods), want));
	ck_assert_str_ne(want, rv0);

	/* A dropped stream: a WATCH from the bookmark's resourceVersion, no LIST. */
	kube_fake_drop_watches(api);
	WAIT(watches("/api/v1/namespaces/default/pods") == 2);
	last_watch("/api/v1/namespaces/default/pods", &call);
	snprintf(want, sizeof(want), "resourceVersion=%llu&",
		 (unsigned long long)kube_fake_resource_version(api));
	ck_assert_msg(strstr(call.target, want), "%s, expected %s", call.target, want);
	ck_assert_uint_eq(lists("/api/v1/namespaces/default/pods"), 1);
	WAIT(kube_fake_watch_count(api) == 1);
	put_pod("default", "llama-b", "llama", true, NULL, NULL); /* still watching */
	WAIT(k8s_pods_size(pods) == 2);

	/* The history is compacted past us while the stream is down (the cache waits for its
	 * backoff, and the loop does not run here): the resumed WATCH gets 410 Expired and the
	 * cache lists again, then watches from the new list. */
	changes = 0;
	kube_fake_drop_watches(api);
	ck_assert_int_eq(kube_fake_delete(api, "pods", "default", "llama-a"), 0); /* missed */
	kube_fake_compact(api);
	WAIT(lists("/api/v1/namespaces/default/pods") == 2);
	WAIT(k8s_pods_size(pods) == 1);
	WAIT(changes >= 1);
	WAIT(kube_fake_watch_count(api) == 1);
	ck_assert_str_eq(k8s_pods_error(pods), ""); /* a 410 is routine, not a failure */
	put_pod("default", "llama-c", "llama", true, NULL, NULL);
	WAIT(k8s_pods_size(pods) == 2);

	k8s_pods_free(pods);
	k8s_client_free(c);
}
END_TEST

/* An ERROR event that is not 410, and a watch refused with 503: the WATCH is retried after
 * the backoff (no LIST); the error is reported meanwhile and cleared by the next event. */
START_TEST(test_watch_failure_backoff)
{
	k8s_client_t *c = client(SA_TOKEN);
	k8s_nodes_t *nodes = NULL;
	char err[K8S_ERROR_MAX];

	ck_assert_int_eq(kube_fake_put_node(api, &(struct kube_fake_node){ .name = "n1" }), 0);
	ck_assert_int_eq(k8s_nodes_watch(c, NULL, NULL, &nodes, err, sizeof(err)), 0);
	WAIT(k8s_nodes_synced(nodes));
	WAIT(kube_fake_watch_count(api) == 1);
	ck_assert_int_eq(kube_fake_fail_next(api, "/api/v1/nodes?watch=true", 1, 503, 0, 0), 0);
	kube_fake_drop_watches(api);
	WAIT(strstr(k8s_nodes_error(nodes), "503"));
	ck_assert_msg(strstr(k8s_nodes_error(nodes), "503"), "%s", k8s_nodes_error(nodes));
	ck_assert(!strchr(k8s_nodes_error(nodes), '\n'));
	WAIT(kube_fake_watch_count(api) == 1);
	ck_assert_uint_eq(lists("/api/v1/nodes"), 1);
	ck_assert_int_eq(kube_fake_put_node(api, &(struct kube_fake_node){ .name = "n2" }), 0);
	WAIT(k8s_nodes_size(nodes) == 2);
	ck_assert_str_eq(k8s_nodes_error(nodes), "");
	k8s_nodes_free(nodes);
	k8s_client_free(c);
}
END_TEST

/* ---- RBAC --------------------------------------------------------------------------------- */

START_TEST(test_forbidden_names_the_rule)
{
	k8s_client_t *c = client("nobody-token");
	k8s_pods_t *pods = NULL, *all = NULL;
	k8s_nodes_t *nodes = NULL;
	k8s_pod_counts_t n;
	char err[K8S_ERROR_MAX];

	ck_assert_int_eq(k8s_pods_watch(c, "default", NULL, NULL, &pods, err, sizeof(err)), 0);
	ck_assert_int_eq(k8s_pods_watch(c, NULL, NULL, NULL, &all, err, sizeof(err)), 0);
	ck_assert_int_eq(k8s_nodes_watch(c, NULL, NULL, &nodes, err, sizeof(err)), 0);
	WAIT(k8s_pods_error(pods)[0] && k8s_pods_error(all)[0] && k8s_nodes_error(nodes)[0]);
	ck_assert_msg(strstr(k8s_pods_error(pods),
			     "403 Forbidden: the RBAC lacks list pods in namespace default "
			     "(deploy/rbac.yaml grants it): pods is forbidden: User \"" NOBODY
			     "\" cannot list resource \"pods\" in API group \"\" in the namespace "
			     "\"default\""),
		      "%s", k8s_pods_error(pods));
	ck_assert_msg(strstr(k8s_pods_error(all), "403 Forbidden: the RBAC lacks list pods "
						  "cluster-wide"),
		      "%s", k8s_pods_error(all));
	ck_assert_msg(strstr(k8s_nodes_error(nodes), "403 Forbidden: the RBAC lacks list nodes "
						     "cluster-wide"),
		      "%s", k8s_nodes_error(nodes));
	ck_assert(!k8s_pods_synced(pods));
	ck_assert_int_eq(k8s_pods_count(pods, "default", NULL, &n), -EAGAIN);
	k8s_pods_free(pods);
	k8s_pods_free(all);
	k8s_nodes_free(nodes);
	k8s_client_free(c);

	/* bad arguments */
	c = client(SA_TOKEN);
	ck_assert_int_eq(k8s_pods_watch(c, "Not_A_Namespace", NULL, NULL, &pods, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, "Not_A_Namespace"), "%s", err);
	k8s_client_free(c);
}
END_TEST

/* ---- node pools --------------------------------------------------------------------------- */

static void put_node(const char *name, const char *pool, bool not_ready, int gpus)
{
	char pid[128];

	snprintf(pid, sizeof(pid), "ocid1.instance.oc1.iad.%s", name);
	ck_assert_int_eq(kube_fake_put_node(api, &(struct kube_fake_node){
							 .name = name, .node_pool_id = pool,
							 .provider_id = pid, .not_ready = not_ready,
							 .gpus = gpus }),
			 0);
}

static void put_bound(const char *ns, const char *name, const char *node, const char *owner,
		      bool mirror, const char *phase)
{
	ck_assert_int_eq(kube_fake_put_pod(api, &(struct kube_fake_pod){
							.ns = ns, .name = name, .node_name = node,
							.phase = phase, .ready = true,
							.owner_kind = owner, .owner_name = "o",
							.mirror = mirror }),
			 0);
}

START_TEST(test_nodes_of_pool)
{
	k8s_client_t *c = client(SA_TOKEN);
	k8s_nodes_t *nodes = NULL;
	k8s_pods_t *all = NULL;
	k8s_node_info_t info[4];
	char err[K8S_ERROR_MAX];
	int changes = 0;

	put_node("10.0.10.7", "ocid1.nodepool.a", false, 8);
	put_node("10.0.10.5", "ocid1.nodepool.a", true, 8);
	put_node("10.0.10.9", "ocid1.nodepool.b", false, 4);
	put_node("10.0.10.3", NULL, false, 0);
	put_bound("default", "llama-1", "10.0.10.7", "ReplicaSet", false, NULL);
	put_bound("team", "job-1", "10.0.10.7", "Job", false, NULL);
	put_bound("kube-system", "proxy-1", "10.0.10.7", "DaemonSet", false, NULL);
	put_bound("kube-system", "static-1", "10.0.10.7", "Node", true, NULL);
	put_bound("team", "job-done", "10.0.10.7", "Job", false, "Succeeded");
	put_bound("kube-system", "proxy-2", "10.0.10.5", "DaemonSet", false, NULL);
	put_bound("default", "llama-2", "10.0.10.9", "ReplicaSet", false, NULL);

	ck_assert_int_eq(k8s_nodes_watch(c, on_changed, &changes, &nodes, err, sizeof(err)), 0);
	ck_assert_int_eq(k8s_pods_watch(c, NULL, NULL, NULL, &all, err, sizeof(err)), 0);
	WAIT(k8s_nodes_synced(nodes) && k8s_pods_synced(all));
	ck_assert_uint_eq(k8s_nodes_size(nodes), 4);
	ck_assert_uint_eq(k8s_pods_size(all), 7);

	ck_assert_uint_eq(k8s_nodes_of_pool(nodes, all, "ocid1.nodepool.a", info, 4), 2);
	ck_assert_str_eq(info[0].name, "10.0.10.5"); /* by name */
	ck_assert(!info[0].ready);
	ck_assert_int_eq(info[0].pods, 0);
	ck_assert_int_eq(info[0].daemon_pods, 1);
	ck_assert_str_eq(info[1].name, "10.0.10.7");
	ck_assert_str_eq(info[1].provider_id, "ocid1.instance.oc1.iad.10.0.10.7");
	ck_assert(info[1].ready);
	ck_assert(!info[1].unschedulable);
	ck_assert_int_eq(info[1].gpus, 8);
	ck_assert_int_eq(info[1].pods, 2);        /* llama-1, job-1 */
	ck_assert_int_eq(info[1].daemon_pods, 2); /* proxy-1, static-1 */
	/* fewer slots than nodes: the count, the first by name written */
	memset(info, 0, sizeof(info));
	ck_assert_uint_eq(k8s_nodes_of_pool(nodes, all, "ocid1.nodepool.a", info, 1), 2);
	ck_assert_str_eq(info[0].name, "10.0.10.5");
	ck_assert_str_eq(info[1].name, "");
	/* no pods cache: pods 0 */
	ck_assert_uint_eq(k8s_nodes_of_pool(nodes, NULL, "ocid1.nodepool.b", info, 4), 1);
	ck_assert_int_eq(info[0].gpus, 4);
	ck_assert_int_eq(info[0].pods, 0);
	ck_assert_uint_eq(k8s_nodes_of_pool(nodes, all, "ocid1.nodepool.none", info, 4), 0);

	/* cordoned, GPUs of both vendors: the watch brings the change */
	WAIT(kube_fake_watch_count(api) == 2);
	changes = 0;
	ck_assert_int_eq(kube_fake_put_json(api,
					    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":"
					    "{\"name\":\"10.0.10.7\",\"annotations\":{\"oci.oraclecloud."
					    "com/node-pool-id\":\"ocid1.nodepool.a\"}},\"spec\":"
					    "{\"unschedulable\":true,\"providerID\":\"ocid1.x\"},"
					    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
					    "\"True\"}],\"allocatable\":{\"amd.com/gpu\":\"2\","
					    "\"nvidia.com/gpu\":\"1\"}}}"),
			 0);
	WAIT(k8s_nodes_of_pool(nodes, all, "ocid1.nodepool.a", info, 4) == 2 && info[1].unschedulable);
	ck_assert_int_eq(info[1].gpus, 3);
	ck_assert_str_eq(info[1].provider_id, "ocid1.x");
	ck_assert_int_gt(changes, 0);
	/* a pod goes away: the node's count follows */
	ck_assert_int_eq(kube_fake_delete(api, "pods", "team", "job-1"), 0);
	WAIT(k8s_nodes_of_pool(nodes, all, "ocid1.nodepool.a", info, 4) == 2 && info[1].pods == 1);
	/* a node leaves the pool */
	ck_assert_int_eq(kube_fake_delete(api, "nodes", "", "10.0.10.5"), 0);
	WAIT(k8s_nodes_of_pool(nodes, all, "ocid1.nodepool.a", info, 4) == 1);
	ck_assert_uint_eq(lists("/api/v1/nodes"), 1);
	ck_assert_uint_eq(lists("/api/v1/pods"), 1);

	k8s_pods_free(all);
	k8s_nodes_free(nodes);
	k8s_client_free(c);
}
END_TEST

/* ---- pagination and the stream's pieces, against a scripted server ---------------------------
 * The strict fake answers a LIST in one piece (it has no limit/continue), so this small
 * server plays the pages: the first LIST gets two nodes and a continue token that needs
 * escaping, the next page one node. The first WATCH gets an ADDED node of ~200 KB (curl
 * hands it over in many pieces), a BOOKMARK, then a line that is not an event (-> LIST
 * again after the backoff); the second WATCH an ERROR 410 (-> LIST at once); later ones
 * end at once, cleanly. */

struct pager {
	struct MHD_Daemon *d;
	uint16_t port;
	pthread_mutex_t lock;
	int lists, pages2, watches, bad;
	char first_watch[512];
	char *big;
};

#define NODE_JSON(name) "{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"40\"}}"

static enum MHD_Result pager_handler(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version,
				     const char *upload_data, size_t *upload_size, void **ptr)
{
	struct pager *pg = cls;
	const char *watch = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "watch");
	const char *cont = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "continue");
	const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const char *rv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "resourceVersion");
	const char *body;
	struct MHD_Response *res;
	enum MHD_Result r;
	unsigned status = 200;
	int n;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)ptr;
	pthread_mutex_lock(&pg->lock);
	if (strcmp(method, "GET") || strcmp(url, "/api/v1/nodes")) {
		pg->bad++;
		status = 404;
		body = "{}";
	} else if (watch) {
		n = ++pg->watches;
		if (n == 1)
			snprintf(pg->first_watch, sizeof(pg->first_watch), "rv=%s", rv ? rv : "");
		body = n == 1 ? pg->big :
		       n == 2 ? "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
				"\"reason\":\"Expired\",\"message\":\"too old resource version\"}}\n" :
				"";
	} else if (!limit || strcmp(limit, "500")) {
		pg->bad++;
		status = 400;
		body = "{}";
	} else if (!cont) {
		pg->lists++;
		body = "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
		       "\"50\",\"continue\":\"tok/1=+\"},\"items\":[" NODE_JSON("n1") ","
		       NODE_JSON("n2") "]}";
	} else if (!strcmp(cont, "tok/1=+")) {
		pg->pages2++;
		body = "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
		       "\"50\"},\"items\":[" NODE_JSON("n3") "]}";
	} else {
		pg->bad++;
		status = 410;
		body = "{\"kind\":\"Status\",\"code\":410}";
	}
	res = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&pg->lock);
	r = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return r;
}

static int pager_count(struct pager *pg, const int *v)
{
	int n;

	pthread_mutex_lock(&pg->lock);
	n = *v;
	pthread_mutex_unlock(&pg->lock);
	return n;
}

START_TEST(test_pages_and_pieces)
{
	struct pager pg = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;
	k8s_cluster_t *cl = calloc(1, sizeof(*cl));
	k8s_client_opts_t o = { .cluster = cl, .http = http, .identity = "test" };
	k8s_client_t *c = NULL;
	k8s_nodes_t *nodes = NULL;
	size_t off = 0, cap = 300000;
	char err[K8S_ERROR_MAX], url[64];

	/* the ~200 KB event: 2000 labels */
	pg.big = malloc(cap);
	off += (size_t)snprintf(pg.big + off, cap - off,
				"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n4\","
				"\"resourceVersion\":\"55\",\"labels\":{");
	for (int i = 0; i < 2000; i++)
		off += (size_t)snprintf(pg.big + off, cap - off,
					"%s\"example.com/label-%04d\":\"value-%080d\"", i ? "," : "", i,
					i);
	snprintf(pg.big + off, cap - off,
		 "}}}}\n{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Node\",\"metadata\":"
		 "{\"resourceVersion\":\"60\"}}}\nnot an event\n");
	pthread_mutex_init(&pg.lock, NULL);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pg.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					MHD_USE_POLL,
				0, NULL, NULL, pager_handler, &pg, MHD_OPTION_SOCK_ADDR, &sin,
				MHD_OPTION_END);
	ck_assert_ptr_nonnull(pg.d);
	info = MHD_get_daemon_info(pg.d, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)info->port);
	cl->server = strdup(url);
	cl->namespace_ = strdup("default");
	cl->token = strdup("t");
	ck_assert_msg(k8s_client_new(&o, &c, err, sizeof(err)) == 0, "%s", err);
	k8s_cluster_free(cl);

	ck_assert_int_eq(k8s_nodes_watch(c, NULL, NULL, &nodes, err, sizeof(err)), 0);
	WAIT(k8s_nodes_synced(nodes));
	ck_assert_uint_eq(k8s_nodes_size(nodes), 3); /* both pages */
	ck_assert_int_eq(pager_count(&pg, &pg.lists), 1);
	ck_assert_int_eq(pager_count(&pg, &pg.pages2), 1);
	/* the big event, in pieces, then the bookmark */
	WAIT(k8s_nodes_size(nodes) == 4 && !strcmp(k8s_nodes_resource_version(nodes), "60"));
	/* the line that is not an event: LIST again (after the backoff); then the 410: LIST
	 * at once; the later WATCHes end cleanly at once: resumed after a backoff */
	WAIT(pager_count(&pg, &pg.lists) == 3 && pager_count(&pg, &pg.pages2) == 3);
	WAIT(pager_count(&pg, &pg.watches) >= 3);
	WAIT(k8s_nodes_size(nodes) == 3);
	ck_assert_str_eq(k8s_nodes_resource_version(nodes), "50");
	pthread_mutex_lock(&pg.lock);
	ck_assert_str_eq(pg.first_watch, "rv=50");
	ck_assert_int_eq(pg.bad, 0);
	pthread_mutex_unlock(&pg.lock);
	run_for(0.3);
	ck_assert_int_le(pager_count(&pg, &pg.watches), 5); /* no hot loop */

	k8s_nodes_free(nodes);
	k8s_client_free(c);
	MHD_stop_daemon(pg.d);
	pthread_mutex_destroy(&pg.lock);
	free(pg.big);
}
END_TEST

/* changed() may free its cache. */
static void free_in_changed(void *ud)
{
	k8s_pods_t **p = ud;

	*p = k8s_pods_free(*p);
}

START_TEST(test_free_in_changed)
{
	k8s_client_t *c = client(SA_TOKEN);
	k8s_pods_t *pods = NULL;
	char err[K8S_ERROR_MAX];

	put_pod("default", "llama-a", "llama", true, NULL, NULL);
	ck_assert_int_eq(k8s_pods_watch(c, "default", free_in_changed, &pods, &pods, err,
					sizeof(err)),
			 0);
	WAIT(pods == NULL);
	k8s_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s-informer");
	TCase *tc = tcase_create("against the strict fake");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_list_then_events);
	tcase_add_test(tc, test_bookmark_drop_and_gone);
	tcase_add_test(tc, test_watch_failure_backoff);
	tcase_add_test(tc, test_forbidden_names_the_rule);
	tcase_add_test(tc, test_nodes_of_pool);
	tcase_add_test(tc, test_free_in_changed);
	tcase_add_test(tc, test_pages_and_pieces);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(suite(), CK_ENV);
}
