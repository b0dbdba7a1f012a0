/* cmd-doctor.c - `autoscalerd doctor --config FILE`: everything `run` needs, checked live.
 *
 * One line per check, "ok   WHAT: detail" or "FAIL WHAT: what happened; fix: what to do",
 * in a fixed order whatever order the answers came in: the file; Prometheus, then each
 * policy's query; then Kubernetes (doctor.h: the credentials, the RBAC, each target's scale
 * and the other autoscalers on it); then OCI (the credentials, each policy's node pool).
 * --checks prometheus, kubernetes or oci runs one side only; --kubeconfig FILE and --context NAME override the file's kubernetes: block
 * (auth: kubeconfig), as kubectl's flags do. Exit 0 only when every check passed.
 *
 * The checks run on the daemon's own machinery (http/ on a libev loop, the promql/ client,
 * the rules of DESIGN section 3), so what doctor sees is what `run` will see. Each query
 * has prometheus.timeout (plus a second for the transport) and no retries: doctor answers
 * within a few seconds even when every dependency is down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "autoscalerd/cli.h"
#include "autoscalerd/cloud.h"
#include "autoscalerd/doctor.h"
#include "autoscalerd/ev-glue.h"
#include "autoscalerd/queries.h"

struct check {
	struct doctor *d;
	const config_policy_t *p; /* NULL: the reachability check */
	doctor_line_t line;
};

struct doctor {
	const config_t *c;
	promql_client_t *prom;
	struct check reach;
	struct check *policies;
	size_t pending;
};

void doctor_line_set(doctor_line_t *l, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
	l->ok = ok;
	l->set = true;
}

/* What to do about a failed query, from how it failed. */
static const char *hint(const promql_reply_t *r, bool policy)
{
	const char *t = r->error_type;

	if (r->failure == PROMQL_FAIL_API) {
		if (!strcmp(t, "bad_data"))
			return policy ? "fix the policy's query (autoscalerd check shows it filled)" :
					"prometheus.url answers, but refused a trivial query: is it "
					"Prometheus?";
		if (!strcmp(t, "timeout") || !strcmp(t, "canceled"))
			return "the query took longer than prometheus.timeout: simplify it or "
			       "raise the timeout";
		if (!strcmp(t, "execution"))
			return "Prometheus failed evaluating the query: fix the query (e.g. "
			       "many-to-many matching, too many samples)";
		return "see Prometheus's error above";
	}
	if (r->status == 401 || r->status == 403)
		return "check prometheus.bearer_token_file or prometheus.basic_auth, and "
		       "prometheus.headers (X-Scope-OrgID for a multi-tenant Thanos or Mimir)";
	if (r->status == 404)
		return "prometheus.url must be the root of Prometheus's HTTP API (with the path "
		       "prefix, e.g. /prometheus, when there is one)";
	if (r->status == 429 || r->status >= 500)
		return "Prometheus (or a proxy in front of it) is overloaded or failing: check "
		       "its health";
	switch (r->cause) {
	case HTTP_CAUSE_CONNECT:
		return "is Prometheus running, and is prometheus.url right? (HTTPS_PROXY and "
		       "NO_PROXY apply)";
	case HTTP_CAUSE_TIMEOUT:
		return "nothing answered within prometheus.timeout: check the URL, the network "
		       "and Prometheus's load";
	case HTTP_CAUSE_TLS:
		return "check prometheus.ca_file (the CA of the server's certificate), "
		       "cert_file and key_file, and the URL's scheme";
	case HTTP_CAUSE_CREDENTIALS:
		return "the token or password file cannot be read: check its path and "
		       "permissions";
	case HTTP_CAUSE_CLOSED:
		return "the connection broke mid-answer: check Prometheus and any proxy in "
		       "between";
	default:
		break;
	}
	return "prometheus.url does not answer like Prometheus's /api/v1/query: check the "
	       "URL (scheme, host, port, path prefix)";
}

/* "; Prometheus warns: ..." for the line, from the result's warnings. */
static void warnings(const promql_result_t *res, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; res && i < res->n_warnings && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "; " : "; Prometheus warns: ",
				      res->warnings[i]);
}

static void send_policies(struct doctor *d);

static void on_reach(const promql_reply_t *r, void *userdata)
{
	struct doctor *d = userdata;
	struct check *k = &d->reach;
	const char *url = d->c->prometheus.url;
	char warn[512];

	d->pending--;
	if (r->outcome != HTTP_SUCCESS) {
		doctor_line_set(&k->line, false, "FAIL prometheus %s: %s; fix: %s", url, r->error, hint(r, false));
	} else if (r->result->type != PROMQL_TYPE_SCALAR || r->result->n_series != 1 ||
		   r->result->series[0].points[0].v != 1) {
		doctor_line_set(&k->line, false, "FAIL prometheus %s: the query \"1\" did not return the scalar "
				  "1; fix: is prometheus.url Prometheus's API?",
			url);
	} else {
		warnings(r->result, warn, sizeof(warn));
		doctor_line_set(&k->line, true, "ok   prometheus %s: answers queries (%lld ms)%s", url,
			(long long)r->elapsed_ms, warn);
	}
	send_policies(d);
}

static void on_policy(const promql_reply_t *r, void *userdata)
{
	struct check *k = userdata;
	const config_policy_t *p = k->p;
	promql_value_t v;
	char why[512], warn[512];
	double x;

	k->d->pending--;
	if (r->outcome != HTTP_SUCCESS) {
		doctor_line_set(&k->line, false, "FAIL policy %s: %s; fix: %s", p->name, r->error, hint(r, true));
		return;
	}
	warnings(r->result, warn, sizeof(warn));
	promql_reduce(r->result, policy_aggregation(p), &v);
	if (promql_apply(&v, policy_on_empty(p), policy_on_nan(p), &x, why, sizeof(why))) {
		if (v.kind == PROMQL_VALUE_NUMBER)
			doctor_line_set(&k->line, true, "ok   policy %s: the query returns %.6g (%zu series)%s",
				p->name, x, v.n_series, warn);
		else
			doctor_line_set(&k->line, true, "ok   policy %s: %s%s", p->name, why, warn);
		return;
	}
	switch (v.kind) {
	case PROMQL_VALUE_EMPTY:
		doctor_line_set(&k->line, false, "FAIL policy %s: %s%s; fix: check that target %s/%s and "
				  "metric_selector match series Prometheus has (the default "
				  "selector needs the labels namespace and pod), and that it scrapes "
				  "the pods",
			p->name, why, warn, p->namespace_, p->deployment);
		break;
	case PROMQL_VALUE_NAN:
		doctor_line_set(&k->line, false, "FAIL policy %s: %s%s; fix: nothing to fix if the Deployment "
				  "is idle; on_nan: zero scales it down instead",
			p->name, why, warn);
		break;
	case PROMQL_VALUE_ERROR:
		doctor_line_set(&k->line, false, "FAIL policy %s: %s%s; fix: %s", p->name, why, warn,
			v.n_series > 1 ? "set series_aggregation (sum, max or avg) or aggregate "
					 "in the query" :
					 "make the query return one number");
		break;
	default:
		doctor_line_set(&k->line, false, "FAIL policy %s: %s%s; fix: the query divides by zero or "
				  "overflows: guard it (e.g. clamp_max, or \"> 0\" on the divisor)",
			p->name, why, warn);
		break;
	}
}

static void send_policies(struct doctor *d)
{
	for (size_t i = 0; i < d->c->n_policies; i++) {
		struct check *k = &d->policies[i];
		char err[HTTP_ERROR_MAX], *q = NULL;
		int rc;

		if (!d->reach.line.ok) {
			doctor_line_set(&k->line, false, "FAIL policy %s: not queried: Prometheus is not "
					  "reachable (see above)",
				k->p->name);
			continue;
		}
		rc = policy_query(k->p, &q, err, sizeof(err));
		if (rc == 0)
			rc = promql_query(d->prom, q, 0, k->p->name, on_policy, k, NULL, err,
					  sizeof(err));
		free(q);
		if (rc < 0) {
			doctor_line_set(&k->line, false, "FAIL policy %s: %s", k->p->name, err);
			continue;
		}
		d->pending++;
	}
}

static int usage(const char *what, const char *arg)
{
	if (what)
		fprintf(stderr, "autoscalerd doctor: %s \"%s\"\n", what, arg);
	fprintf(stderr, "usage: autoscalerd doctor --config FILE [--checks all|prometheus|"
			"kubernetes|oci] [--kubeconfig FILE] [--context NAME]\n");
	return CLI_EXIT_USAGE;
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor d = { 0 };
	const char *file = NULL;
	config_diags_t diags = { 0 };
	config_t *c = NULL;
	struct ev_loop *loop = NULL;
	ev_glue_t glue;
	http_client_t *http = NULL;
	http_client_opts_t ho = { 0 };
	char err[HTTP_ERROR_MAX];
	bool all_ok = true, prom = true, kube = true, oci = true;
	const char *kubeconfig = NULL, *context = NULL;
	doctor_kube_t *dk = NULL;
	doctor_oci_t *dox = NULL;
	oci_auth_t *auth = NULL;
	char auth_err[HTTP_ERROR_MAX] = "";
	int rc;

	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v = cli_option(argc, argv, &i, "--config", "-c", &missing);

		if (v) {
			file = v;
			continue;
		}
		if (!missing && (v = cli_option(argc, argv, &i, "--checks", NULL, &missing))) {
			bool all = !strcmp(v, "all");

			prom = all || !strcmp(v, "prometheus");
			kube = all || !strcmp(v, "kubernetes");
			oci = all || !strcmp(v, "oci");
			if (!prom && !kube && !oci)
				return usage("--checks takes all, prometheus, kubernetes or oci, not",
					     v);
			continue;
		}
		if (!missing && (v = cli_option(argc, argv, &i, "--kubeconfig", NULL, &missing))) {
			kubeconfig = v;
			continue;
		}
		if (!missing && (v = cli_option(argc, argv, &i, "--context", NULL, &missing))) {
			context = v;
			continue;
		}
		return usage(missing ? "missing value for" : "unexpected argument", argv[i]);
	}
	if (!file)
		return usage(NULL, NULL);

	rc = load_policy_file(file, &c, &diags);
	config_diags_print(&diags, file, stderr);
	config_diags_clear(&diags);
	if (rc < 0) {
		printf("FAIL config %s: invalid (the errors above); fix: autoscalerd check "
		       "--config %s\n",
		       file, file);
		return CLI_EXIT_INVALID;
	}
	/* --kubeconfig and --context override the file's kubernetes: block, as kubectl's do */
	if (kubeconfig || context) {
		c->kubernetes.auth = CONFIG_KUBE_KUBECONFIG;
		if (kubeconfig) {
			free(c->kubernetes.kubeconfig);
			c->kubernetes.kubeconfig = strdup(kubeconfig);
		}
		if (context) {
			free(c->kubernetes.context);
			c->kubernetes.context = strdup(context);
		}
		if ((kubeconfig && !c->kubernetes.kubeconfig) || (context && !c->kubernetes.context)) {
			fprintf(stderr, "autoscalerd doctor: out of memory\n");
			config_free(c);
			return CLI_EXIT_INVALID;
		}
	}
	printf("ok   config %s: %zu polic%s\n", file, c->n_policies,
	       c->n_policies == 1 ? "y" : "ies");
	if (c->prometheus.insecure_skip_tls_verify)
		printf("     warning: prometheus.insecure_skip_tls_verify is set: the server's "
		       "certificate is not verified\n");
	fflush(stdout);

	d.c = c;
	d.reach.d = &d;
	if (c->n_policies && !(d.policies = calloc(c->n_policies, sizeof(*d.policies)))) {
		fprintf(stderr, "autoscalerd doctor: out of memory\n");
		config_free(c);
		return CLI_EXIT_INVALID;
	}
	for (size_t i = 0; i < c->n_policies; i++)
		d.policies[i] = (struct check){ .d = &d, .p = &c->policies[i] };

	loop = ev_loop_new(EVFLAG_AUTO);
	if (!loop) {
		fprintf(stderr, "autoscalerd doctor: cannot create the event loop\n");
		goto out;
	}
	ev_glue_init(&glue, loop);
	ho.loop = ev_glue_loop(&glue);
	ho.max_in_flight = c->prometheus.max_in_flight;
	if ((rc = http_client_new(&ho, &http)) < 0) {
		fprintf(stderr, "autoscalerd doctor: cannot start the HTTP client: %s\n",
			strerror(-rc));
		goto out;
	}
	ev_glue_attach(&glue, http);
	if (prom) {
		rc = prometheus_client_from_config(http, &c->prometheus, &d.prom, err, sizeof(err));
		if (rc == 0)
			rc = promql_query(d.prom, "1", 0, "reachability", on_reach, &d, NULL, err,
					  sizeof(err));
		if (rc < 0) {
			doctor_line_set(&d.reach.line, false,
				"FAIL prometheus %s: %s; fix: see the prometheus: block",
				c->prometheus.url, err);
			send_policies(&d);
		} else {
			d.pending++;
		}
	}
	/* One set of OCI credentials for the node pools and the OKE cluster tokens. */
	if ((oci && doctor_needs_oci(c)) || (kube && c->kubernetes.auth == CONFIG_KUBE_OKE))
		cloud_auth_from_config(&c->oci, http, &auth, auth_err, sizeof(auth_err));
	if (kube && doctor_kube_start(c, http, auth, auth_err, &dk) < 0) {
		fprintf(stderr, "autoscalerd doctor: out of memory\n");
		all_ok = false;
		kube = false;
	}
	if (oci && doctor_oci_start(c, http, auth, auth_err, &dox) < 0) {
		fprintf(stderr, "autoscalerd doctor: out of memory\n");
		all_ok = false;
		oci = false;
	}
	while (d.pending || !doctor_kube_done(dk) || !doctor_oci_done(dox))
		ev_run(loop, EVRUN_ONCE);

	if (prom) {
		printf("%s\n", d.reach.line.text);
		all_ok = all_ok && d.reach.line.ok;
		for (size_t i = 0; i < c->n_policies; i++) {
			printf("%s\n", d.policies[i].line.text);
			all_ok = all_ok && d.policies[i].line.ok;
		}
	}
	if (kube)
		all_ok = doctor_kube_print(dk, stdout) && all_ok;
	if (oci)
		all_ok = doctor_oci_print(dox, stdout) && all_ok;
out:
	dk = doctor_kube_free(dk);
	dox = doctor_oci_free(dox);
	auth = oci_auth_free(auth);
	promql_client_free(d.prom);
	http_client_free(http);
	if (loop) {
		ev_glue_stop(&glue);
		ev_loop_destroy(loop);
	}
	free(d.policies);
	config_free(c);
	if (!loop || !http)
		return CLI_EXIT_INVALID;
	return all_ok ? CLI_EXIT_OK : CLI_EXIT_INVALID;
}
