/* test-k8s-client.c - k8s.h's credentials and calls against fakes: the canned responder
 * of fake-http.h as the API server, shell scripts as exec credential plugins.
 *
 * What the API server checks (tokens, RBAC) is tested against the strict fake of
 * tests/fakes/kube-apiserver in test-k8s-apiserver.c; here: what the client sends, how it
 * reads answers and errors, and how it gets credentials: exec plugins that work, fail,
 * print garbage, hang (the loop keeps turning and the timeout ends it) or hand out expired
 * credentials, and the caller's token source.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "autoscalerd/ev-glue.h"
#include "k8s/k8s.h"
#include "tests/fakes/check-util.h"
#include "tests/fakes/fake-http.h"

static struct ev_loop *loop;
static ev_glue_t glue;
static http_client_t *http;
static fake_http_t *srv;
static char tmpdir[PATH_MAX];
static char server[128];

static const char scale_json[] =
	"{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"llama\","
	"\"namespace\":\"default\",\"resourceVersion\":\"4242\"},\"spec\":{\"replicas\":3},"
	"\"status\":{\"replicas\":2,\"selector\":\"app=llama,tier=gpu\"}}";

/* ---- fixture ---------------------------------------------------------------------------- */

static void setup(void)
{
	http_client_opts_t o = { 0 };

	check_tmpdir(tmpdir, sizeof(tmpdir), "test-k8s");
	loop = ev_loop_new(EVFLAG_AUTO);
	ev_glue_init(&glue, loop);
	o.loop = ev_glue_loop(&glue);
	ck_assert_int_eq(http_client_new(&o, &http), 0);
	ev_glue_attach(&glue, http);
	ck_assert_int_eq(fake_http_start(false, &srv), 0);
	snprintf(server, sizeof(server), "http://127.0.0.1:%u/canned",
		 (unsigned)fake_http_port(srv));
	fake_http_set_canned(srv, 200, "application/json", scale_json, strlen(scale_json));
}

static void teardown(void)
{
	http = http_client_free(http);
	ev_glue_stop(&glue);
	ev_loop_destroy(loop);
	srv = fake_http_stop(srv);
	ck_assert_int_eq(test_rm_tree(tmpdir), 0);
}

/* ---- helpers ---------------------------------------------------------------------------- */

struct rec {
	int done;
	bool inside; /* set while the k8s_* function runs: a callback then is a bug */
	http_outcome_t outcome;
	long status;
	char reason[64], error[K8S_ERROR_MAX];
	bool has_scale;
	k8s_scale_t scale;
	bool allowed;
};

static void on_scale(const k8s_result_t *r, const k8s_scale_t *s, void *ud)
{
	struct rec *rec = ud;

	ck_assert(!rec->inside);
	rec->done++;
	rec->outcome = r->outcome;
	rec->status = r->status;
	snprintf(rec->reason, sizeof(rec->reason), "%s", r->reason);
	snprintf(rec->error, sizeof(rec->error), "%s", r->error);
	ck_assert_int_eq(s != NULL, r->outcome == HTTP_SUCCESS);
	ck_assert_int_eq(r->error[0] == '\0', r->outcome == HTTP_SUCCESS);
	ck_assert_ptr_null(strchr(r->error, '\n'));
	if (s) {
		rec->has_scale = true;
		rec->scale = *s;
	}
}

static void on_access(const k8s_result_t *r, bool allowed, const char *reason, void *ud)
{
	struct rec *rec = ud;

	ck_assert(!rec->inside);
	rec->done++;
	rec->outcome = r->outcome;
	rec->allowed = allowed;
	snprintf(rec->reason, sizeof(rec->reason), "%s", reason);
	snprintf(rec->error, sizeof(rec->error), "%s", r->error);
}

static int ticks;

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	ticks++;
}

/* Runs the loop until rec->done, with a timer ticking every 10 ms meanwhile. */
static void run_until(struct rec *rec)
{
	ev_timer t;
	double end = ev_time() + (getenv("AUTOSCALERD_VALGRIND") ? 300 : 30);

	ev_timer_init(&t, on_tick, 0.01, 0.01);
	ev_timer_start(loop, &t);
	while (!rec->done && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	ck_assert_msg(rec->done, "no callback");
}

static k8s_client_t *client_with(k8s_cluster_t *cl, k8s_token_fn *src, void *ud,
				 int64_t exec_timeout_ms)
{
	k8s_client_opts_t o = { .cluster = cl, .http = http, .token_source = src,
				.token_userdata = ud, .exec_timeout_ms = exec_timeout_ms,
				.retry = { .max_attempts = 1 } };
	k8s_client_t *c = NULL;
	char err[K8S_ERROR_MAX];

	ck_assert_msg(k8s_client_new(&o, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static k8s_cluster_t *cluster(void)
{
	k8s_cluster_t *cl = calloc(1, sizeof(*cl));

	cl->server = strdup(server);
	cl->namespace_ = strdup("default");
	cl->context = strdup("test");
	cl->source = strdup("test");
	return cl;
}

static void get_scale(k8s_client_t *c, struct rec *rec)
{
	char err[K8S_ERROR_MAX];

	memset(rec, 0, sizeof(*rec));
	rec->inside = true;
	ck_assert_msg(k8s_get_scale(c, "default", "llama", on_scale, rec, NULL, err,
				    sizeof(err)) == 0,
		      "%s", err);
	rec->inside = false;
	run_until(rec);
}

static void seen_header(const char *name, char *buf, size_t size)
{
	struct fake_http_seen s;

	fake_http_last_canned(srv, &s);
	if (!fake_http_seen_header(&s, name, buf, size))
		snprintf(buf, size, "(none)");
}

/* A plugin: a shell script in tmpdir that counts its runs in tmpdir/runs. */
static char *plugin(const char *name, const char *body)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\nn=$(cat '%s/runs' 2>/dev/null || echo 0); n=$((n+1)); "
		   "echo $n > '%s/runs'\n%s\n",
		tmpdir, tmpdir, body);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0755), 0);
	return path;
}

static int runs(void)
{
	char path[PATH_MAX + 8];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/runs", tmpdir);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

static k8s_cluster_t *exec_cluster(const char *cmd, const char *api)
{
	k8s_cluster_t *cl = cluster();

	cl->exec = calloc(1, sizeof(*cl->exec));
	cl->exec->command = strdup(cmd);
	cl->exec->api_version = strdup(api);
	cl->exec->interactive_mode = strdup("Never");
	cl->exec->n_env = 1;
	cl->exec->env_names = calloc(1, sizeof(char *));
	cl->exec->env_values = calloc(1, sizeof(char *));
	cl->exec->env_names[0] = strdup("PLUGIN_GREETING");
	cl->exec->env_values[0] = strdup("hello");
	return cl;
}

/* ---- static credentials, the scale, errors ----------------------------------------------- */

START_TEST(test_scale_get_patch)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	struct rec rec;
	struct fake_http_seen s;
	char h[256], err[K8S_ERROR_MAX];

	cl->token = strdup("static-token-123");
	c = client_with(cl, NULL, NULL, 0);
	k8s_cluster_free(cl); /* the client keeps a copy */
	ck_assert_str_eq(k8s_client_namespace(c), "default");

	get_scale(c, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(rec.scale.spec_replicas, 3);
	ck_assert_int_eq(rec.scale.status_replicas, 2);
	ck_assert_str_eq(rec.scale.selector, "app=llama,tier=gpu");
	ck_assert_str_eq(rec.scale.resource_version, "4242");
	fake_http_last_canned(srv, &s);
	ck_assert_str_eq(s.method, "GET");
	ck_assert_str_eq(s.target, "/canned/apis/apps/v1/namespaces/default/deployments/llama/scale");
	seen_header("Authorization", h, sizeof(h));
	ck_assert_str_eq(h, "Bearer static-token-123");
	seen_header("Accept", h, sizeof(h));
	ck_assert_str_eq(h, "application/json");

	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_patch_scale(c, "default", "llama", 5, on_scale, &rec, NULL, err,
					 sizeof(err)),
			 0);
	run_until(&rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	fake_http_last_canned(srv, &s);
	ck_assert_str_eq(s.method, "PATCH");
	ck_assert_str_eq(s.content_type, "application/merge-patch+json");
	ck_assert_str_eq(s.body, "{\"spec\":{\"replicas\":5}}");

	/* Names that cannot go into a path are refused at once, without a callback. */
	ck_assert_int_eq(k8s_get_scale(c, "Default", "llama", on_scale, &rec, NULL, err,
				       sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(k8s_get_scale(c, "default", "../secrets", on_scale, &rec, NULL, err,
				       sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(k8s_patch_scale(c, "default", "llama", -1, on_scale, &rec, NULL, err,
					 sizeof(err)),
			 -EINVAL);
	k8s_client_free(c);
}
END_TEST

static void canned_status(int code, const char *reason, const char *message)
{
	char body[1024];

	snprintf(body, sizeof(body),
		 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		 "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
		 message, reason, code);
	fake_http_set_canned(srv, code, "application/json", body, strlen(body));
}

START_TEST(test_errors)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	struct rec rec;

	cl->token = strdup("secret-token-xyz");
	c = client_with(cl, NULL, NULL, 0);
	k8s_cluster_free(cl);

	canned_status(404, "NotFound", "deployments.apps \\\"llama\\\" not found");
	get_scale(c, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_int_eq(rec.status, 404);
	ck_assert_str_eq(rec.reason, "NotFound");
	ck_assert_str_eq(rec.error, "deployment default/llama not found: deployments.apps "
				    "\"llama\" not found");

	canned_status(403, "Forbidden",
		      "deployments.apps \\\"llama\\\" is forbidden: User \\\"system:serviceaccount:"
		      "kube-system:autoscalerd\\\" cannot get resource \\\"deployments/scale\\\" in "
		      "API group \\\"apps\\\" in the namespace \\\"default\\\"");
	get_scale(c, &rec);
	ck_assert_int_eq(rec.status, 403);
	ck_assert_msg(strstr(rec.error, "403 Forbidden: the RBAC lacks get "
					"deployments.apps/scale in namespace default "
					"(deploy/rbac.yaml grants it): deployments.apps \"llama\" is "
					"forbidden: User \"system:serviceaccount:kube-system:autoscalerd\""),
		      "%s", rec.error);

	canned_status(401, "Unauthorized", "Unauthorized");
	get_scale(c, &rec);
	ck_assert_int_eq(rec.status, 401);
	ck_assert_msg(strstr(rec.error, "401 Unauthorized: the API server rejected the "
					"credentials of test (the kubeconfig), also after reloading"),
		      "%s", rec.error);
	ck_assert_ptr_null(strstr(rec.error, "secret-token-xyz"));

	canned_status(422, "Invalid", "spec.replicas: Invalid value: -1");
	get_scale(c, &rec);
	ck_assert_str_eq(rec.error, "GET /apis/apps/v1/namespaces/default/deployments/llama/scale: "
				    "HTTP 422 Invalid: spec.replicas: Invalid value: -1");

	/* Not a Scale. */
	fake_http_set_canned(srv, 200, "application/json", "{\"kind\":\"Status\"}", 17);
	get_scale(c, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
	ck_assert_msg(strstr(rec.error, "the answer is not a Scale"), "%s", rec.error);
	fake_http_set_canned(srv, 200, "text/html", "<html>", 6);
	get_scale(c, &rec);
	ck_assert_msg(strstr(rec.error, "the answer is not a Scale"), "%s", rec.error);
	k8s_client_free(c);
}
END_TEST

START_TEST(test_access_review)
{
	static const char yes[] = "{\"kind\":\"SelfSubjectAccessReview\",\"status\":{\"allowed\":true,"
				  "\"reason\":\"RBAC: allowed by ClusterRoleBinding \\\"autoscalerd\\\"\"}}";
	static const char no[] = "{\"kind\":\"SelfSubjectAccessReview\",\"status\":{\"allowed\":false}}";
	k8s_cluster_t *cl = cluster();
	k8s_access_t a = { .verb = "patch", .group = "apps", .resource = "deployments",
			   .subresource = "scale", .namespace_ = "default" };
	k8s_client_t *c;
	struct rec rec = { 0 };
	struct fake_http_seen s;
	char err[K8S_ERROR_MAX], buf[256];

	cl->token = strdup("t");
	c = client_with(cl, NULL, NULL, 0);
	k8s_cluster_free(cl);
	fake_http_set_canned(srv, 201, "application/json", yes, strlen(yes));
	ck_assert_int_eq(k8s_can_i(c, &a, on_access, &rec, NULL, err, sizeof(err)), 0);
	run_until(&rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	ck_assert(rec.allowed);
	ck_assert_str_eq(rec.reason, "RBAC: allowed by ClusterRoleBinding \"autoscalerd\"");
	fake_http_last_canned(srv, &s);
	ck_assert_str_eq(s.target, "/canned/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
	ck_assert_str_eq(s.body, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
				 "\"SelfSubjectAccessReview\",\"spec\":{\"resourceAttributes\":{"
				 "\"verb\":\"patch\",\"group\":\"apps\",\"resource\":\"deployments\","
				 "\"subresource\":\"scale\",\"namespace\":\"default\"}}}");

	fake_http_set_canned(srv, 201, "application/json", no, strlen(no));
	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_can_i(c, &a, on_access, &rec, NULL, err, sizeof(err)), 0);
	run_until(&rec);
	ck_assert(!rec.allowed);
	ck_assert_str_eq(rec.reason, "");

	k8s_access_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "patch deployments.apps/scale in namespace default");
	k8s_access_format(&(k8s_access_t){ .verb = "list", .group = "", .resource = "nodes" },
			  buf, sizeof(buf));
	ck_assert_str_eq(buf, "list nodes cluster-wide");
	k8s_client_free(c);
}
END_TEST

/* ---- exec plugins ------------------------------------------------------------------------- */

#define V1 "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"

/* An ExecCredential with token TOKEN-<run>, expiring in a day. */
static const char good_plugin[] =
	"[ \"$PLUGIN_GREETING\" = hello ] || exit 3\n"
	"echo \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/info\"\n"
	"echo '{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":"
	"\"exec-token-'$n'\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}'";

START_TEST(test_exec_plugin)
{
	k8s_cluster_t *cl = exec_cluster(plugin("good", good_plugin), V1);
	k8s_client_t *c = client_with(cl, NULL, NULL, 0);
	struct rec a = { 0 }, b = { 0 }, d = { 0 };
	char err[K8S_ERROR_MAX], h[256], info[512] = "", path[PATH_MAX + 8];
	FILE *f;

	k8s_cluster_free(cl);
	ck_assert_int_eq(runs(), 0); /* not before the first call */
	/* Three calls wait for one run of the plugin. */
	a.inside = b.inside = true;
	ck_assert_int_eq(k8s_get_scale(c, "default", "llama", on_scale, &a, NULL, err, sizeof(err)),
			 0);
	ck_assert_int_eq(k8s_get_scale(c, "default", "llama", on_scale, &b, NULL, err, sizeof(err)),
			 0);
	a.inside = b.inside = false;
	run_until(&a);
	run_until(&b);
	ck_assert_int_eq(a.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(b.outcome, HTTP_SUCCESS);
	get_scale(c, &d);
	ck_assert_int_eq(runs(), 1); /* cached until its expiry */
	seen_header("Authorization", h, sizeof(h));
	ck_assert_str_eq(h, "Bearer exec-token-1");
	snprintf(path, sizeof(path), "%s/info", tmpdir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(info, sizeof(info), f));
	fclose(f);
	ck_assert_msg(strstr(info, "\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\","
				   "\"spec\":{\"interactive\":false}"),
		      "%s", info);

	/* 401: the plugin runs again once, then the call fails. */
	canned_status(401, "Unauthorized", "Unauthorized");
	get_scale(c, &d);
	ck_assert_int_eq(runs(), 2);
	ck_assert_int_eq(d.status, 401);
	ck_assert_msg(strstr(d.error, "exec plugin "), "%s", d.error);
	seen_header("Authorization", h, sizeof(h));
	ck_assert_str_eq(h, "Bearer exec-token-2");
	k8s_client_free(c);
}
END_TEST

/* A client certificate from the plugin (v1beta1), presented over plain http it cannot be
 * seen; what matters is that the plugin's answer is taken and the call goes out. */
START_TEST(test_exec_plugin_certificate_expired_mismatch)
{
	static const struct {
		const char *name, *api, *body, *error;
	} cases[] = {
		{ "fails", V1, "echo 'oci: error: bad profile DEFAULT' >&2; exit 2",
		  "exited with status 2: oci: error: bad profile DEFAULT" },
		{ "garbage", V1, "echo '<html>nope</html>'", "its output is not an ExecCredential" },
		{ "expired", V1,
		  "echo '{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{"
		  "\"token\":\"old\",\"expirationTimestamp\":\"2001-01-01T00:00:00Z\"}}'",
		  "returned a credential that expired at 2001-01-01T00:00:00Z" },
		{ "mismatch", V1,
		  "echo '{\"apiVersion\":\"" V1BETA1 "\",\"kind\":\"ExecCredential\",\"status\":{"
		  "\"token\":\"t\"}}'",
		  "answered apiVersion " V1BETA1 ", the kubeconfig asks for " V1 },
		{ "empty", V1BETA1,
		  "echo '{\"apiVersion\":\"" V1BETA1 "\",\"kind\":\"ExecCredential\",\"status\":{}}'",
		  "has neither status.token nor status.clientCertificateData" },
		{ "badtime", V1,
		  "echo '{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{"
		  "\"token\":\"t\",\"expirationTimestamp\":\"tomorrow\"}}'",
		  "status.expirationTimestamp is not an RFC 3339 time" },
		{ "bigout", V1, "yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -c 3000000",
		  "more than 1048576 bytes of output, killed" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k8s_cluster_t *cl = exec_cluster(plugin(cases[i].name, cases[i].body), cases[i].api);
		k8s_client_t *c = client_with(cl, NULL, NULL, 0);
		struct rec rec;

		k8s_cluster_free(cl);
		get_scale(c, &rec);
		ck_assert_int_eq(rec.outcome, HTTP_PERMANENT);
		ck_assert_int_eq(rec.status, 0);
		ck_assert_msg(strstr(rec.error, cases[i].error), "%s: %s", cases[i].name, rec.error);
		ck_assert_msg(strstr(rec.error, "exec plugin "), "%s", rec.error);
		k8s_client_free(c);
	}
}
END_TEST

START_TEST(test_exec_plugin_hangs)
{
	k8s_cluster_t *cl = exec_cluster(plugin("hang", "sleep 30"), V1);
	k8s_client_t *c = client_with(cl, NULL, NULL, 300);
	struct rec rec;
	double t0 = ev_time();

	k8s_cluster_free(cl);
	ticks = 0;
	get_scale(c, &rec);
	ck_assert_msg(strstr(rec.error, "no answer within 300 ms, killed"), "%s", rec.error);
	ck_assert_int_ge(ticks, 10); /* the loop turned while it hung */
	ck_assert_double_lt(ev_time() - t0, 20);
	k8s_client_free(c);
}
END_TEST

START_TEST(test_exec_plugin_missing)
{
	k8s_cluster_t *cl = exec_cluster("no-such-plugin-anywhere", V1);
	k8s_client_opts_t o = { .cluster = cl, .http = http };
	k8s_client_t *c = NULL;
	char err[K8S_ERROR_MAX];

	cl->exec->install_hint = strdup("Install the OCI CLI: https://docs.oracle.com/...");
	ck_assert_int_eq(k8s_client_new(&o, &c, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "exec plugin no-such-plugin-anywhere: not found or not executable "
			      "in $PATH; Install the OCI CLI: https://docs.oracle.com/...");
	free(cl->exec->interactive_mode);
	cl->exec->interactive_mode = strdup("Always");
	ck_assert_int_eq(k8s_client_new(&o, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "interactiveMode Always needs a terminal"), "%s", err);
	k8s_cluster_free(cl);
}
END_TEST

/* Freeing the client while a plugin runs kills and reaps it; calls get no callback. */
START_TEST(test_free_while_plugin_runs)
{
	k8s_cluster_t *cl = exec_cluster(plugin("slow", "sleep 30"), V1);
	k8s_client_t *c = client_with(cl, NULL, NULL, 0);
	struct rec rec = { 0 };
	char err[K8S_ERROR_MAX];

	k8s_cluster_free(cl);
	ck_assert_int_eq(k8s_get_scale(c, "default", "llama", on_scale, &rec, NULL, err,
				       sizeof(err)),
			 0);
	for (int i = 0; i < 5; i++)
		ev_run(loop, EVRUN_NOWAIT);
	k8s_client_free(c);
	ck_assert_int_eq(rec.done, 0);
}
END_TEST

/* ---- the token source --------------------------------------------------------------------- */

struct source {
	int asked, refreshes;
	bool now;       /* answer from inside the call */
	const char *fail;
};

static void on_source(k8s_client_t *c, bool refresh, void *ud)
{
	struct source *s = ud;
	char tok[32];

	s->asked++;
	s->refreshes += refresh;
	if (!s->now)
		return;
	snprintf(tok, sizeof(tok), "oke-token-%d", s->asked);
	k8s_client_set_token(c, s->fail ? NULL : tok, time(NULL) + 240, s->fail);
}

START_TEST(test_token_source)
{
	struct source src = { .now = true };
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	struct rec rec;
	char h[256];

	cl->token = strdup("kubeconfig-token"); /* the source takes precedence */
	c = client_with(cl, on_source, &src, 0);
	k8s_cluster_free(cl);
	get_scale(c, &rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	ck_assert_int_eq(src.asked, 1);
	ck_assert_int_eq(src.refreshes, 0);
	seen_header("Authorization", h, sizeof(h));
	ck_assert_str_eq(h, "Bearer oke-token-1");
	get_scale(c, &rec);
	ck_assert_int_eq(src.asked, 1); /* 240 s of life left: kept */

	canned_status(401, "Unauthorized", "Unauthorized");
	get_scale(c, &rec);
	ck_assert_int_eq(src.asked, 2);
	ck_assert_int_eq(src.refreshes, 1);
	ck_assert_int_eq(rec.status, 401);
	ck_assert_msg(strstr(rec.error, "(the token source)"), "%s", rec.error);

	/* A failing source fails the waiting calls, from the loop, with its words. */
	src.fail = "OCI: 401 NotAuthenticated: check the API key";
	fake_http_set_canned(srv, 200, "application/json", scale_json, strlen(scale_json));
	canned_status(401, "Unauthorized", "Unauthorized");
	get_scale(c, &rec);
	ck_assert_msg(strstr(rec.error, "OCI: 401 NotAuthenticated: check the API key"), "%s",
		      rec.error);
	k8s_client_free(c);

	/* Answered later, from the loop. */
	src = (struct source){ .now = false };
	cl = cluster();
	c = client_with(cl, on_source, &src, 0);
	k8s_cluster_free(cl);
	fake_http_set_canned(srv, 200, "application/json", scale_json, strlen(scale_json));
	{
		char err[K8S_ERROR_MAX];

		memset(&rec, 0, sizeof(rec));
		ck_assert_int_eq(k8s_get_scale(c, "default", "llama", on_scale, &rec, NULL, err,
					       sizeof(err)),
				 0);
		for (int i = 0; i < 5; i++)
			ev_run(loop, EVRUN_NOWAIT);
		ck_assert_int_eq(rec.done, 0);
		ck_assert_int_eq(src.asked, 1);
		k8s_client_set_token(c, "late-token", 0, NULL);
		run_until(&rec);
		ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
		seen_header("Authorization", h, sizeof(h));
		ck_assert_str_eq(h, "Bearer late-token");
	}
	k8s_client_free(c);

	/* Never answered: the calls fail at the timeout, and the loop kept turning. */
	src = (struct source){ .now = false };
	cl = cluster();
	c = client_with(cl, on_source, &src, 200);
	k8s_cluster_free(cl);
	ticks = 0;
	get_scale(c, &rec);
	ck_assert_msg(strstr(rec.error, "the token source gave no token within 200 ms"), "%s",
		      rec.error);
	ck_assert_int_ge(ticks, 5);
	k8s_client_free(c);
}
END_TEST

/* ---- small writes and events: what goes out ---------------------------------------------- */

static void on_done(const k8s_result_t *r, void *ud)
{
	struct rec *rec = ud;

	ck_assert(!rec->inside);
	rec->done++;
	rec->outcome = r->outcome;
	rec->status = r->status;
	snprintf(rec->error, sizeof(rec->error), "%s", r->error);
}

START_TEST(test_writes)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_opts_t o = { .cluster = cl, .http = http, .identity = "autoscalerd-7f9c-x2" };
	k8s_client_t *c = NULL;
	struct rec rec = { 0 };
	struct fake_http_seen s;
	char err[K8S_ERROR_MAX];
	k8s_event_t ev = { .namespace_ = "default", .deployment = "llama", .type = "Normal",
			   .reason = "SuccessfulRescale", .action = "Scale",
			   .note = "New size: 4; reason: slow requests 0.62 above target 0.5" };
	cJSON *j;

	cl->token = strdup("t");
	ck_assert_int_eq(k8s_client_new(&o, &c, err, sizeof(err)), 0);
	k8s_cluster_free(cl);
	fake_http_set_canned(srv, 200, "application/json", "{}", 2);

	ck_assert_int_eq(k8s_cordon(c, "10.0.10.5", true, on_done, &rec, NULL, err, sizeof(err)),
			 0);
	run_until(&rec);
	ck_assert_int_eq(rec.outcome, HTTP_SUCCESS);
	fake_http_last_canned(srv, &s);
	ck_assert_str_eq(s.method, "PATCH");
	ck_assert_str_eq(s.target, "/canned/api/v1/nodes/10.0.10.5");
	ck_assert_str_eq(s.content_type, "application/merge-patch+json");
	ck_assert_str_eq(s.body, "{\"spec\":{\"unschedulable\":true}}");

	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_set_pod_deletion_cost(c, "default", "llama-6f9c4-x2k4p", -100, on_done,
						   &rec, NULL, err, sizeof(err)),
			 0);
	run_until(&rec);
	fake_http_last_canned(srv, &s);
	ck_assert_str_eq(s.target, "/canned/api/v1/namespaces/default/pods/llama-6f9c4-x2k4p");
	ck_assert_str_eq(s.body, "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/"
				 "pod-deletion-cost\":\"-100\"}}}");

	memset(&rec, 0, sizeof(rec));
	ck_assert_int_eq(k8s_post_event(c, &ev, on_done, &rec, NULL, err, sizeof(err)), 0);
	run_until(&rec);
	fake_http_last_canned(srv, &s);
	ck_assert_str_eq(s.method, "POST");
	ck_assert_str_eq(s.target, "/canned/apis/events.k8s.io/v1/namespaces/default/events");
	ck_assert_str_eq(s.content_type, "application/json");
	j = cJSON_Parse(s.body);
	ck_assert_ptr_nonnull(j);
#define STR(o, k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k))
	ck_assert_str_eq(STR(j, "apiVersion"), "events.k8s.io/v1");
	ck_assert_str_eq(STR(j, "kind"), "Event");
	ck_assert_str_eq(STR(j, "reportingController"), "autoscalerd.io/autoscalerd");
	ck_assert_str_eq(STR(j, "reportingInstance"), "autoscalerd-7f9c-x2");
	ck_assert_str_eq(STR(j, "action"), "Scale");
	ck_assert_str_eq(STR(j, "reason"), "SuccessfulRescale");
	ck_assert_str_eq(STR(j, "type"), "Normal");
	ck_assert_str_eq(STR(j, "note"), ev.note);
	ck_assert_str_eq(STR(cJSON_GetObjectItemCaseSensitive(j, "regarding"), "kind"), "Deployment");
	ck_assert_str_eq(STR(cJSON_GetObjectItemCaseSensitive(j, "regarding"), "name"), "llama");
	ck_assert_int_eq(strncmp(STR(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "name"),
				 "llama.", 6),
			 0);
	{
		const char *t = STR(j, "eventTime");
		int y, mo, d, h, mi, sec, n = 0;
		long us;

		/* MicroTime: six fractional digits, UTC */
		ck_assert_int_eq(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%6ldZ%n", &y, &mo, &d, &h, &mi,
					&sec, &us, &n),
				 7);
		ck_assert_uint_eq(strlen(t), 27);
		ck_assert_int_eq(n, 27);
	}
#undef STR
	cJSON_Delete(j);

	/* Refused before anything goes out. */
	ev.type = "Info";
	ck_assert_int_eq(k8s_post_event(c, &ev, on_done, &rec, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(k8s_cordon(c, "Node_1", true, on_done, &rec, NULL, err, sizeof(err)),
			 -EINVAL);
	k8s_client_free(c);
}
END_TEST

/* ---- cancel ------------------------------------------------------------------------------- */

START_TEST(test_cancel)
{
	k8s_cluster_t *cl = cluster();
	k8s_client_t *c;
	k8s_call_t *call = NULL;
	struct rec a = { 0 }, b = { 0 };
	char err[K8S_ERROR_MAX];

	cl->token = strdup("t");
	c = client_with(cl, NULL, NULL, 0);
	k8s_cluster_free(cl);
	ck_assert_int_eq(k8s_get_scale(c, "default", "llama", on_scale, &a, &call, err,
				       sizeof(err)),
			 0);
	ck_assert_int_eq(k8s_get_scale(c, "default", "llama", on_scale, &b, NULL, err,
				       sizeof(err)),
			 0);
	k8s_cancel(c, call);
	run_until(&b);
	ck_assert_int_eq(a.done, 0);
	ck_assert_int_eq(b.done, 1);
	k8s_client_free(c);
}
END_TEST

static Suite *k8s_suite(void)
{
	Suite *s = suite_create("k8s-client");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_scale_get_patch);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_access_review);
	tcase_add_test(tc, test_exec_plugin);
	tcase_add_test(tc, test_exec_plugin_certificate_expired_mismatch);
	tcase_add_test(tc, test_exec_plugin_hangs);
	tcase_add_test(tc, test_exec_plugin_missing);
	tcase_add_test(tc, test_free_while_plugin_runs);
	tcase_add_test(tc, test_token_source);
	tcase_add_test(tc, test_writes);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(k8s_suite(), CK_ENV);
}
