/* test-config.c - the policy file: every key, every default, every error with its position,
 * the shape table, the capacity plan and hostile input.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-private.h"
#include "tests/fakes/check-util.h"

/* A minimal valid policy, for cases that vary one thing elsewhere. */
#define MINIMAL                                                                          \
	"policies:\n"                                                                    \
	"  - name: p\n"                                                                  \
	"    target: {deployment: d}\n"                                                  \
	"    recipe_pod_autoscaling_params: {max_replicas: 4}\n"

static int load(const char *yaml, config_t **ret, config_diags_t *d)
{
	return config_load_buffer(yaml, strlen(yaml), ret, d);
}

/* The one diagnostic of severity sev containing text; fails if there is none. */
static const config_diag_t *find_diag(const config_diags_t *d, config_severity_t sev,
				      const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == sev && strstr(d->v[i].msg, text))
			return &d->v[i];
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  have: %d:%d %s\n", d->v[i].mark.line, d->v[i].mark.col,
			d->v[i].msg);
	ck_abort_msg("no %s containing \"%s\"", sev == CONFIG_ERROR ? "error" : "warning", text);
	return NULL;
}

/* ---- durations and numbers ------------------------------------------------------------ */

static const struct {
	const char *in;
	int r;
	engine_ms_t ms;
} durations[] = {
	{ "90", 0, 90000 },	  { "0", 0, 0 },	      { "90s", 0, 90000 },
	{ "5m", 0, 300000 },	  { "1h", 0, 3600000 },	      { "1h30m", 0, 5400000 },
	{ "500ms", 0, 500 },	  { "1m30s", 0, 90000 },      { "1d", 0, 86400000 },
	{ "2m500ms", 0, 120500 }, { "5x", -EINVAL, 0 },	      { "1.5m", -EINVAL, 0 },
	{ "-5", -EINVAL, 0 },	  { "m", -EINVAL, 0 },	      { "5 m", -EINVAL, 0 },
	{ "1m1h", -EINVAL, 0 },	  { "1s1s", -EINVAL, 0 },     { "", -EINVAL, 0 },
	{ "5M", -EINVAL, 0 },	  { "90.0", -EINVAL, 0 },     { "+5", -EINVAL, 0 },
	{ "99999999999999999999h", -ERANGE, 0 },
};

START_TEST(test_duration_parse)
{
	engine_ms_t ms = -1;

	ck_assert_int_eq(config_parse_duration(durations[_i].in, &ms), durations[_i].r);
	if (durations[_i].r == 0)
		ck_assert_int_eq(ms, durations[_i].ms);
}
END_TEST

START_TEST(test_duration_format)
{
	static const struct {
		engine_ms_t ms;
		const char *out;
	} t[] = { { 0, "0s" }, { 90000, "1m30s" }, { 300000, "5m" }, { 3600000, "1h" },
		  { 500, "500ms" }, { 5401000, "1h30m1s" } };
	char buf[32];
	engine_ms_t back;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		config_format_duration(t[i].ms, buf, sizeof(buf));
		ck_assert_str_eq(buf, t[i].out);
		ck_assert_int_eq(config_parse_duration(buf, &back), 0);
		ck_assert_int_eq(back, t[i].ms);
	}
}
END_TEST

START_TEST(test_numbers)
{
	long long i;
	double d;
	bool b;
	char buf[64];

	ck_assert_int_eq(config_parse_int("42", &i), 0);
	ck_assert_int_eq(i, 42);
	ck_assert_int_eq(config_parse_int("-7", &i), 0);
	ck_assert_int_eq(i, -7);
	ck_assert_int_eq(config_parse_int("0x10", &i), -EINVAL);
	ck_assert_int_eq(config_parse_int("1_000", &i), -EINVAL);
	ck_assert_int_eq(config_parse_int("4.0", &i), -EINVAL);
	ck_assert_int_eq(config_parse_int("99999999999999999999", &i), -ERANGE);
	ck_assert_int_eq(config_parse_double("0.5", &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(config_parse_double(".5", &d), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(config_parse_double("1e-3", &d), 0);
	ck_assert(d == 0.001);
	ck_assert_int_eq(config_parse_double("nan", &d), -EINVAL);
	ck_assert_int_eq(config_parse_double("inf", &d), -EINVAL);
	ck_assert_int_eq(config_parse_double(".inf", &d), -EINVAL);
	ck_assert_int_eq(config_parse_double("0x1p3", &d), -EINVAL);
	ck_assert_int_eq(config_parse_double("1e999", &d), -ERANGE);
	ck_assert_int_eq(config_parse_bool("true", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(config_parse_bool("False", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(config_parse_bool("yes", &b), -EINVAL);
	config_format_double(5.0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "5.0");
	config_format_double(0.4, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.4");
	config_format_double(10, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.0");
	config_format_double(0.001, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0.001");
}
END_TEST

/* ---- defaults ------------------------------------------------------------------------- */

START_TEST(test_defaults)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;
	const config_policy_t *p;
	const engine_policy_t *e;

	ck_assert_int_eq(load(MINIMAL, &c, &d), 0);
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 0);
	ck_assert_uint_eq(c->n_policies, 1);

	/* Sections the file leaves out. */
	ck_assert_str_eq(c->prometheus.url, "http://localhost:9090");
	ck_assert_int_eq(c->prometheus.timeout, 5000);
	ck_assert_int_eq(c->prometheus.max_in_flight, 64);
	ck_assert_ptr_null(c->prometheus.bearer_token_file);
	ck_assert_ptr_null(c->prometheus.ca_file);
	ck_assert_uint_eq(c->prometheus.n_headers, 0);
	ck_assert(!c->prometheus.insecure_skip_tls_verify);
	ck_assert_int_eq(c->kubernetes.auth, CONFIG_KUBE_IN_CLUSTER);
	ck_assert_ptr_null(c->kubernetes.kubeconfig);
	ck_assert_int_eq(c->oci.auth, CONFIG_OCI_API_KEY);
	ck_assert_str_eq(c->oci.config_file, "~/.oci/config");
	ck_assert_str_eq(c->oci.profile, "DEFAULT");
	ck_assert_ptr_null(c->oci.region);
	ck_assert_str_eq(c->daemon.listen, "127.0.0.1:9464");
	ck_assert_int_eq(c->daemon.log_format, CONFIG_LOG_TEXT);
	ck_assert_int_eq(c->daemon.state, CONFIG_STATE_FILE);
	ck_assert_str_eq(c->daemon.state_file, "/var/lib/autoscalerd/state.json");
	ck_assert_str_eq(c->daemon.state_configmap_namespace, "kube-system");
	ck_assert_str_eq(c->daemon.state_configmap_name, "autoscalerd-state");
	ck_assert(!c->daemon.leader_election);
	ck_assert_str_eq(c->daemon.leader_election_namespace, "kube-system");
	ck_assert_str_eq(c->daemon.leader_election_lease, "autoscalerd");

	/* The policy: Corrino's defaults. */
	p = &c->policies[0];
	e = &p->engine;
	ck_assert_str_eq(p->name, "p");
	ck_assert_str_eq(p->namespace_, "default");
	ck_assert_str_eq(p->deployment, "d");
	ck_assert(!p->allow_other_autoscalers);
	ck_assert_ptr_null(p->node_shape);
	ck_assert_int_eq(e->gpus_per_node, 0);
	ck_assert_int_eq(p->gpu_source, CONFIG_GPUS_UNKNOWN);
	ck_assert_int_eq(e->gpus_per_replica, 1);
	ck_assert_int_eq(p->replica_count, 1); /* = min_replicas */
	ck_assert_int_eq(e->pool_size, 1);
	ck_assert_int_eq(e->min_replicas, 1);
	ck_assert_int_eq(e->max_replicas, 4);
	ck_assert_int_eq(p->window, 5 * 60000);
	ck_assert(e->threshold == 0.5);
	ck_assert_int_eq(e->cooldown, 60000);
	ck_assert_int_eq(p->polling_interval, 15000);
	ck_assert_int_eq(e->window_down, 180000);
	ck_assert_int_eq(p->period_down, 90000);
	ck_assert_int_eq(e->window_up, 120000);
	ck_assert_int_eq(p->period_up, 60000);
	ck_assert_ptr_null(p->query);
	ck_assert_ptr_null(p->metric_selector);
	ck_assert(p->latency_slo == 5.0);
	ck_assert_int_eq(e->metric_type, ENGINE_METRIC_VALUE);
	ck_assert(e->tol_up == 0.1 && e->tol_down == 0.1);
	ck_assert_int_eq(e->on_empty, ENGINE_EMPTY_HOLD);
	ck_assert_int_eq(e->on_nan, ENGINE_NAN_ZERO);
	ck_assert_int_eq(p->series_aggregation, CONFIG_AGG_NONE);
	ck_assert(!e->fallback);
	/* One pod per scaling_period_* (DESIGN section 4). */
	ck_assert_int_eq(e->up.select, ENGINE_SELECT_MAX);
	ck_assert_int_eq(e->up.n, 1);
	ck_assert_int_eq(e->up.p[0].type, ENGINE_RATE_PODS);
	ck_assert_int_eq(e->up.p[0].value, 1);
	ck_assert_int_eq(e->up.p[0].period, 60000);
	ck_assert_int_eq(e->down.select, ENGINE_SELECT_MAX);
	ck_assert_int_eq(e->down.n, 1);
	ck_assert_int_eq(e->down.p[0].value, 1);
	ck_assert_int_eq(e->down.p[0].period, 90000);
	ck_assert(!e->nodes);
	ck_assert_int_eq(engine_max_eff(e), 4);
	config_free(c);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_node_defaults)
{
	const char *yaml = "policies:\n"
			   "  - name: p\n"
			   "    target: {deployment: d}\n"
			   "    recipe_node_shape: VM.GPU.A10.2\n"
			   "    recipe_pod_autoscaling_params: {max_replicas: 4}\n"
			   "    recipe_node_autoscaling_params: {max_nodes: 2}\n";
	config_diags_t d = { 0 };
	config_t *c = NULL;
	const engine_policy_t *e;

	ck_assert_int_eq(load(yaml, &c, &d), 0);
	e = &c->policies[0].engine;
	ck_assert(e->nodes);
	ck_assert_int_eq(e->min_nodes, 1);
	ck_assert_int_eq(e->max_nodes, 2);
	ck_assert_int_eq(e->node_unneeded_time, 600000);
	ck_assert_int_eq(e->node_delay_after_add, 600000);
	ck_assert_int_eq(e->node_provision_time, 1500000);
	ck_assert_int_eq(c->policies[0].initial_pool_size, 1); /* min_nodes */
	ck_assert_ptr_null(c->policies[0].node_pool_id);
	ck_assert_int_eq(e->gpus_per_node, 2);
	ck_assert_int_eq(c->policies[0].gpu_source, CONFIG_GPUS_SHAPE);
	config_free(c);
	config_diags_clear(&d);
}
END_TEST

/* ---- every key ------------------------------------------------------------------------ */

static const char *every_key =
	"prometheus:\n"
	"  url: https://prom.example:9090/sub\n"
	"  timeout: 2500ms\n"
	"  max_in_flight: 7\n"
	"  ca_file: /etc/ca.pem\n"
	"  cert_file: /etc/cert.pem\n"
	"  key_file: /etc/key.pem\n"
	"  basic_auth: {username: ops, password_file: /etc/pw}\n"
	"  headers: {X-Scope-OrgID: team-a, X-Extra: 'v 1'}\n"
	"  insecure_skip_tls_verify: false\n"
	"kubernetes:\n"
	"  auth: oke\n"
	"  oke: {cluster_id: ocid1.cluster.oc1.iad.abc, server: 'https://10.0.0.5:6443', "
	"ca_file: /etc/oke-ca.pem}\n"
	"oci:\n"
	"  auth: instance_principal\n"
	"  config_file: /root/.oci/config\n"
	"  profile: OPS\n"
	"  region: us-phoenix-1\n"
	"  endpoint: https://containerengine.us-phoenix-1.oci.oraclecloud.com\n"
	"daemon:\n"
	"  listen: '[::1]:0'\n"
	"  log_format: json\n"
	"  state: configmap\n"
	"  state_file: /tmp/s.json\n"
	"  state_configmap: {namespace: ops, name: as-state}\n"
	"  leader_election: {enabled: true, namespace: ops, lease: as-lease}\n"
	"policies:\n"
	"  - name: llama\n"
	"    target: {namespace: ml, deployment: llama-8b}\n"
	"    allow_other_autoscalers: true\n"
	"    recipe_node_shape: BM.GPU.H100.8\n"
	"    gpus_per_node: 4\n"
	"    recipe_nvidia_gpu_count: 2\n"
	"    recipe_replica_count: 0\n"
	"    recipe_node_pool_size: 2\n"
	"    recipe_pod_autoscaling_params:\n"
	"      min_replicas: 2\n"
	"      max_replicas: 6\n"
	"      collect_metrics_timespan: 2m\n"
	"      scaling_threshold: 0.4\n"
	"      scaling_cooldown: 30\n"
	"      polling_interval: 10s\n"
	"      stabilization_window_down: 0\n"
	"      scaling_period_down: 30\n"
	"      stabilization_window_up: 1h\n"
	"      scaling_period_up: 15\n"
	"      query: 'sum(x{ {{selector}} }[{{window}}]) > {{latency_slo}}'\n"
	"      metric_selector: 'ns=\"{{namespace}}\",d=\"{{deployment}}\"'\n"
	"      latency_slo_seconds: 2.5\n"
	"      metric_type: average_value\n"
	"      tolerance: 0.3\n"
	"      tolerance_up: 0\n"
	"      tolerance_down: 0.25\n"
	"      on_empty_result: zero\n"
	"      on_nan: hold\n"
	"      series_aggregation: max\n"
	"      fallback: {failure_threshold: 3, replicas: 4}\n"
	"      behavior:\n"
	"        scale_up:\n"
	"          select: min\n"
	"          policies:\n"
	"            - {type: pods, value: 4, period: 15}\n"
	"            - {type: percent, value: 200, period: 1m}\n"
	"        scale_down:\n"
	"          select: disabled\n"
	"    recipe_node_autoscaling_params:\n"
	"      node_pool_id: ocid1.nodepool.oc1.iad.xyz\n"
	"      min_nodes: 0\n"
	"      max_nodes: 3\n"
	"      scale_down_unneeded_time: 5m\n"
	"      scale_down_delay_after_add: 0\n"
	"      max_node_provision_time: 1h\n";

START_TEST(test_every_key)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;
	const config_policy_t *p;
	const engine_policy_t *e;

	ck_assert_int_eq(load(every_key, &c, &d), 0);
	ck_assert_str_eq(c->prometheus.url, "https://prom.example:9090/sub");
	ck_assert_int_eq(c->prometheus.timeout, 2500);
	ck_assert_int_eq(c->prometheus.max_in_flight, 7);
	ck_assert_str_eq(c->prometheus.ca_file, "/etc/ca.pem");
	ck_assert_str_eq(c->prometheus.cert_file, "/etc/cert.pem");
	ck_assert_str_eq(c->prometheus.key_file, "/etc/key.pem");
	ck_assert_str_eq(c->prometheus.basic_auth_username, "ops");
	ck_assert_str_eq(c->prometheus.basic_auth_password_file, "/etc/pw");
	ck_assert_uint_eq(c->prometheus.n_headers, 2);
	ck_assert_str_eq(c->prometheus.headers[0].name, "X-Scope-OrgID");
	ck_assert_str_eq(c->prometheus.headers[0].value, "team-a");
	ck_assert_str_eq(c->prometheus.headers[1].value, "v 1");
	ck_assert_int_eq(c->kubernetes.auth, CONFIG_KUBE_OKE);
	ck_assert_str_eq(c->kubernetes.oke_cluster_id, "ocid1.cluster.oc1.iad.abc");
	ck_assert_str_eq(c->kubernetes.oke_server, "https://10.0.0.5:6443");
	ck_assert_str_eq(c->kubernetes.oke_ca_file, "/etc/oke-ca.pem");
	ck_assert_int_eq(c->oci.auth, CONFIG_OCI_INSTANCE_PRINCIPAL);
	ck_assert_str_eq(c->oci.config_file, "/root/.oci/config");
	ck_assert_str_eq(c->oci.profile, "OPS");
	ck_assert_str_eq(c->oci.region, "us-phoenix-1");
	ck_assert_str_eq(c->oci.endpoint,
			 "https://containerengine.us-phoenix-1.oci.oraclecloud.com");
	ck_assert_str_eq(c->daemon.listen, "[::1]:0");
	ck_assert_int_eq(c->daemon.log_format, CONFIG_LOG_JSON);
	ck_assert_int_eq(c->daemon.state, CONFIG_STATE_CONFIGMAP);
	ck_assert_str_eq(c->daemon.state_file, "/tmp/s.json");
	ck_assert_str_eq(c->daemon.state_configmap_namespace, "ops");
	ck_assert_str_eq(c->daemon.state_configmap_name, "as-state");
	ck_assert(c->daemon.leader_election);
	ck_assert_str_eq(c->daemon.leader_election_namespace, "ops");
	ck_assert_str_eq(c->daemon.leader_election_lease, "as-lease");

	p = &c->policies[0];
	e = &p->engine;
	ck_assert_str_eq(p->name, "llama");
	ck_assert_str_eq(p->namespace_, "ml");
	ck_assert_str_eq(p->deployment, "llama-8b");
	ck_assert(p->allow_other_autoscalers);
	ck_assert_str_eq(p->node_shape, "BM.GPU.H100.8");
	/* gpus_per_node overrides the shape table. */
	ck_assert_int_eq(e->gpus_per_node, 4);
	ck_assert_int_eq(p->gpu_source, CONFIG_GPUS_OVERRIDE);
	ck_assert_int_eq(e->gpus_per_replica, 2);
	ck_assert_int_eq(p->replica_count, 0);
	ck_assert_int_eq(e->pool_size, 2);
	ck_assert_int_eq(p->initial_pool_size, 2); /* recipe_node_pool_size wins */
	ck_assert_int_eq(e->min_replicas, 2);
	ck_assert_int_eq(e->max_replicas, 6);
	ck_assert_int_eq(p->window, 120000);
	ck_assert(e->threshold == 0.4);
	ck_assert_int_eq(e->cooldown, 30000);
	ck_assert_int_eq(p->polling_interval, 10000);
	ck_assert_int_eq(e->window_down, 0);
	ck_assert_int_eq(p->period_down, 30000);
	ck_assert_int_eq(e->window_up, 3600000);
	ck_assert_int_eq(p->period_up, 15000);
	ck_assert_str_eq(p->query, "sum(x{ {{selector}} }[{{window}}]) > {{latency_slo}}");
	ck_assert_str_eq(p->metric_selector, "ns=\"{{namespace}}\",d=\"{{deployment}}\"");
	ck_assert(p->latency_slo == 2.5);
	ck_assert_int_eq(e->metric_type, ENGINE_METRIC_AVERAGE_VALUE);
	ck_assert(p->tolerance == 0.3);
	/* tolerance_up / tolerance_down win over tolerance. */
	ck_assert(e->tol_up == 0);
	ck_assert(e->tol_down == 0.25);
	ck_assert_int_eq(e->on_empty, ENGINE_EMPTY_ZERO);
	ck_assert_int_eq(e->on_nan, ENGINE_NAN_HOLD);
	ck_assert_int_eq(p->series_aggregation, CONFIG_AGG_MAX);
	ck_assert(e->fallback);
	ck_assert_int_eq(e->fallback_failures, 3);
	ck_assert_int_eq(e->fallback_replicas, 4);
	ck_assert_int_eq(e->up.select, ENGINE_SELECT_MIN);
	ck_assert_int_eq(e->up.n, 2);
	ck_assert_int_eq(e->up.p[0].type, ENGINE_RATE_PODS);
	ck_assert_int_eq(e->up.p[0].value, 4);
	ck_assert_int_eq(e->up.p[0].period, 15000);
	ck_assert_int_eq(e->up.p[1].type, ENGINE_RATE_PERCENT);
	ck_assert_int_eq(e->up.p[1].value, 200);
	ck_assert_int_eq(e->up.p[1].period, 60000);
	ck_assert_int_eq(e->down.select, ENGINE_SELECT_DISABLED);
	ck_assert_int_eq(e->down.n, 0);
	ck_assert(e->nodes);
	ck_assert_str_eq(p->node_pool_id, "ocid1.nodepool.oc1.iad.xyz");
	ck_assert_int_eq(e->min_nodes, 0);
	ck_assert_int_eq(e->max_nodes, 3);
	ck_assert_int_eq(e->node_unneeded_time, 300000);
	ck_assert_int_eq(e->node_delay_after_add, 0);
	ck_assert_int_eq(e->node_provision_time, 3600000);
	/* Both scaling_period_* set next to a behavior that replaces them: two warnings. */
	find_diag(&d, CONFIG_WARNING, "scaling_period_up is not used");
	find_diag(&d, CONFIG_WARNING, "scaling_period_down is not used");
	config_free(c);
	config_diags_clear(&d);
}
END_TEST

/* The keys every_key cannot hold next to its choices (bearer token vs basic auth,
 * kubeconfig vs oke). */
static const char *every_key_2 = "prometheus:\n"
				 "  bearer_token_file: /var/run/token\n"
				 "kubernetes:\n"
				 "  auth: kubeconfig\n"
				 "  kubeconfig: /root/.kube/config\n"
				 "  context: oke-prod\n" MINIMAL;

START_TEST(test_every_key_2)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;

	ck_assert_int_eq(load(every_key_2, &c, &d), 0);
	ck_assert_int_eq(d.warnings, 0);
	ck_assert_str_eq(c->prometheus.bearer_token_file, "/var/run/token");
	ck_assert_int_eq(c->kubernetes.auth, CONFIG_KUBE_KUBECONFIG);
	ck_assert_str_eq(c->kubernetes.kubeconfig, "/root/.kube/config");
	ck_assert_str_eq(c->kubernetes.context, "oke-prod");
	config_free(c);
	config_diags_clear(&d);
}
END_TEST

/* Every key of the table appears in the every-key documents: a new row without a test
 * fails here. */
START_TEST(test_every_key_covers_table)
{
	const config_scope_t *scopes[] = { &config_global_scope, &config_policy_scope,
					   &config_rate_scope };

	for (size_t s = 0; s < 3; s++)
		for (size_t i = 0; i < scopes[s]->n; i++) {
			const char *key = scopes[s]->rows[i].key, *last = strrchr(key, '.');
			char needle[128];

			snprintf(needle, sizeof(needle), "%s:", last ? last + 1 : key);
			ck_assert_msg(strstr(every_key, needle) || strstr(every_key_2, needle),
				      "key %s not in the test", key);
		}
}
END_TEST

/* ---- errors, each with its text and position ------------------------------------------- */

static const struct {
	const char *yaml;
	int line, col;
	const char *text;
} errors[] = {
	/* Unknown keys, with a suggestion or the place the key belongs. */
	{ "prometheus: {urll: x}\n" MINIMAL, 1, 14,
	  "prometheus: unknown key \"urll\" (did you mean \"url\"?)" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_pod_autoscaling_params: "
	  "{max_replicas: 4}\n    recipe_node_autoscaling_params: {max_nodes: 2, "
	  "scaling_threshold: 0.4}\n",
	  5, 52,
	  "policies[0].recipe_node_autoscaling_params: unknown key \"scaling_threshold\": it "
	  "belongs under recipe_pod_autoscaling_params" },
	{ "bogus: 1\n" MINIMAL, 1, 1, "unknown key \"bogus\" (expected one of: prometheus, "
				      "kubernetes, oci, daemon, policies)" },
	/* Duplicate keys, duplicate names, node pools, targets. */
	{ "policies:\n  - name: p\n    name: q\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n",
	  3, 5, "policies[0].name: duplicate key \"name\" (first at line 2, column 5)" },
	{ MINIMAL "  - name: p\n    target: {deployment: e}\n"
		  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n",
	  5, 5, "policies[1].name: duplicate policy name \"p\" (first at line 2, column 5)" },
	{ MINIMAL "  - name: q\n    target: {deployment: d}\n"
		  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n",
	  6, 5, "Deployment default/d is already the target of policy \"p\"" },
	{ "policies:\n"
	  "  - name: a\n    target: {deployment: a}\n    gpus_per_node: 2\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 2}\n"
	  "    recipe_node_autoscaling_params: {node_pool_id: ocid1.nodepool.oc1.x.y, max_nodes: 1}\n"
	  "  - name: b\n    target: {deployment: b}\n    gpus_per_node: 2\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 2}\n"
	  "    recipe_node_autoscaling_params: {node_pool_id: ocid1.nodepool.oc1.x.y, max_nodes: 1}\n",
	  11, 38,
	  "node_pool_id: node pool ocid1.nodepool.oc1.x.y is already used by policy \"a\"" },
	/* Out-of-range numbers and bad types. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 0}\n",
	  4, 51, "max_replicas: expected an integer in [1, 100000], found 0" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: four}\n",
	  4, 51, "max_replicas: expected an integer in [1, 100000], found \"four\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, min_replicas: 0}\n",
	  4, 68, "min_replicas: expected an integer in [1, 100000], found 0; scale to zero is "
		 "not supported yet" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, scaling_threshold: 0.0009}\n",
	  4, 73, "scaling_threshold: expected a number in [0.001, 1e+09], found 0.0009" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, tolerance: 1.5}\n",
	  4, 65, "tolerance: expected a number in [0, 1], found 1.5" },
	{ "prometheus: {max_in_flight: 0}\n" MINIMAL, 1, 29,
	  "prometheus.max_in_flight: expected an integer in [1, 10000], found 0" },
	{ "prometheus: {insecure_skip_tls_verify: yes}\n" MINIMAL, 1, 40,
	  "expected true or false, found \"yes\"" },
	{ "kubernetes: {auth: token}\n" MINIMAL, 1, 20,
	  "kubernetes.auth: expected one of in-cluster, kubeconfig, oke, found \"token\"" },
	/* Durations. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, scaling_cooldown: 5x}\n",
	  4, 72,
	  "scaling_cooldown: expected a duration in [0s, 24h] (seconds, or with a unit: 90s, 5m, "
	  "1h), found \"5x\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, polling_interval: 0}\n",
	  4, 72, "polling_interval: expected a duration in [1s, 1h]" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, stabilization_window_up: 25h}\n",
	  4, 79, "stabilization_window_up: expected a duration in [0s, 24h]" },
	/* min > max, capacity (D3), GPUs. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, min_replicas: 5}\n",
	  4, 54, "min_replicas 5 is above max_replicas 4" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: VM.GPU.A10.2\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 8, min_replicas: 3}\n",
	  5, 54,
	  "min_replicas 3 is above the 2 replicas the node pool can host (1 node x 2 per node, no "
	  "node autoscaling)" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: VM.GPU.A10.2\n"
	  "    recipe_nvidia_gpu_count: 4\n    recipe_pod_autoscaling_params: {max_replicas: 8}\n",
	  5, 5,
	  "recipe_nvidia_gpu_count 4 is more than the 2 GPUs of a VM.GPU.A10.2 node: no replica "
	  "can ever be scheduled" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 8}\n"
	  "    recipe_node_autoscaling_params: {max_nodes: 2}\n",
	  5, 5, "node autoscaling needs GPUs per node" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: VM.Standard3\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 8}\n"
	  "    recipe_node_autoscaling_params: {max_nodes: 2}\n",
	  4, 5, "shape \"VM.Standard3\" is not in the built-in shape table" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    gpus_per_node: 2\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 8}\n"
	  "    recipe_node_autoscaling_params: {max_nodes: 2, min_nodes: 3}\n",
	  6, 52, "min_nodes 3 is above max_nodes 2" },
	/* Missing keys. */
	{ "policies:\n  - name: p\n    recipe_pod_autoscaling_params: {max_replicas: 4}\n", 2, 5,
	  "policies[0]: missing key \"target\"" },
	{ "policies:\n  - name: p\n    target: {namespace: x}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n",
	  3, 5, "policies[0].target: missing key \"deployment\"" },
	{ "policies:\n  - target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n",
	  2, 5, "policies[0]: missing key \"name\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {min_replicas: 1}\n",
	  4, 5, "policies[0].recipe_pod_autoscaling_params: missing key \"max_replicas\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    gpus_per_node: 2\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n"
	  "    recipe_node_autoscaling_params: {min_nodes: 1}\n",
	  6, 5, "policies[0].recipe_node_autoscaling_params: missing key \"max_nodes\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, fallback: {replicas: 2}}\n",
	  4, 54, "fallback: missing key \"failure_threshold\"" },
	{ "prometheus: {url: http://x}\n", 1, 1, "missing key \"policies\"" },
	{ "policies: []\n", 1, 11, "policies: expected a list of at least one policy, found an "
				   "empty list" },
	{ "", 1, 1, "empty policy file" },
	{ "- a\n- b\n", 1, 1, "expected a mapping with a \"policies\" list at the top, found a list" },
	/* Strings. */
	{ "policies:\n  - name: p\n    target: {deployment: My_Deploy}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n",
	  3, 26, "target.deployment: expected a DNS-1123 subdomain" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4}\n"
	  "    recipe_node_autoscaling_params: {node_pool_id: pool-1, max_nodes: 1}\n",
	  5, 52, "node_pool_id: expected a node pool OCID" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, query: 'up{x=\"{{nmespace}}\"}'}\n",
	  4, 61, "query: expected placeholders among {{namespace}}" },
	{ "daemon: {listen: 'localhost:99999'}\n" MINIMAL, 1, 18,
	  "daemon.listen: expected host:port with a port in [0, 65535]" },
	/* behavior. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params:\n      max_replicas: 4\n"
	  "      behavior: {scale_up: {select: max}}\n",
	  6, 18, "behavior.scale_up: expected at least one policy (or select: disabled)" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params:\n      max_replicas: 4\n"
	  "      behavior: {scale_down: {policies: [{type: percent, value: 150, period: 60}]}}\n",
	  6, 58, "scale_down.policies[0].value: expected at most 100 percent when scaling down" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params:\n      max_replicas: 4\n"
	  "      behavior: {scale_up: {policies: [{type: pods, value: 1}]}}\n",
	  6, 40, "scale_up.policies[0]: missing key \"period\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params:\n      max_replicas: 4\n"
	  "      behavior: {scale_up: {policies: [{type: nodes, value: 1, period: 1}]}}\n",
	  6, 47, "type: expected one of pods, percent, found \"nodes\"" },
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 4, fallback: {failure_threshold: 2, "
	  "replicas: 9}}\n",
	  4, 87, "fallback.replicas 9 is outside [min_replicas 1, max_replicas 4]" },
	/* Auth combinations. */
	{ "kubernetes: {auth: oke}\n" MINIMAL, 1, 14,
	  "kubernetes.oke: missing key \"cluster_id\" (needed by auth: oke)" },
	{ "prometheus: {bearer_token_file: /t, basic_auth: {username: u, password_file: /p}}\n"
	  MINIMAL, 1, 37, "prometheus.basic_auth: choose one of bearer_token_file and basic_auth" },
	{ "prometheus: {cert_file: /c}\n" MINIMAL, 1, 14,
	  "a client certificate needs both cert_file and key_file" },
	/* Hostile YAML. */
	{ "a: &x [1, 2]\nb: *x\n", 2, 4, "YAML aliases (*x) are not supported" },
	{ MINIMAL "---\n" MINIMAL, 5, 1, "only one YAML document is allowed" },
	{ "policies: [\n", 2, 1, "invalid YAML" },
	{ "policies:\n\t- name: p\n", 2, 1, "invalid YAML: found character that cannot start any "
					   "token" },
	{ "policies:\n  - name: \"a\\0b\"\n", 2, 11, "found a value with a NUL character" },
};

START_TEST(test_errors)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;
	const config_diag_t *e;

	ck_assert_int_eq(load(errors[_i].yaml, &c, &d), -EINVAL);
	ck_assert_ptr_null(c);
	e = find_diag(&d, CONFIG_ERROR, errors[_i].text);
	ck_assert_msg(e->mark.line == errors[_i].line && e->mark.col == errors[_i].col,
		      "case %d: \"%s\" at %d:%d, expected %d:%d", _i, e->msg, e->mark.line,
		      e->mark.col, errors[_i].line, errors[_i].col);
	config_diags_clear(&d);
}
END_TEST

/* The printed form: FILE:LINE:COL: error: ..., and warning: alone when no position. */
START_TEST(test_diag_print)
{
	config_diags_t d = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_diag_add(&d, CONFIG_ERROR, (config_mark_t){ 3, 7 }, "bad %s", "thing");
	config_diag_add(&d, CONFIG_WARNING, (config_mark_t){ 0, 0 }, "general");
	config_diags_print(&d, "p.yaml", f);
	fclose(f);
	ck_assert_str_eq(buf, "p.yaml:3:7: error: bad thing\nwarning: general\n");
	ck_assert_int_eq(d.errors, 1);
	ck_assert_int_eq(d.warnings, 1);
	free(buf);
	config_diags_clear(&d);
}
END_TEST

/* ---- warnings (DESIGN section 6) and the capacity plan --------------------------------- */

static const struct {
	const char *yaml;
	int line, col;
	const char *text; /* NULL: no warning at all */
	int rpn, hostable, max_eff;
} capacity[] = {
	/* BM.GPU.H100.8, 2 GPUs per replica, max 8, max_nodes 2: 4 per node, 8, no warning. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: BM.GPU.H100.8\n"
	  "    recipe_nvidia_gpu_count: 2\n    recipe_pod_autoscaling_params: {max_replicas: 8}\n"
	  "    recipe_node_autoscaling_params: {min_nodes: 1, max_nodes: 2}\n",
	  0, 0, NULL, 4, 8, 8 },
	/* VM.GPU.A10.2, 1 GPU, max 8, no node autoscaling, pool 1: 6 would stay Pending. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: VM.GPU.A10.2\n"
	  "    recipe_nvidia_gpu_count: 1\n    recipe_node_pool_size: 1\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 8}\n",
	  7, 37,
	  "max_replicas 8 is above the 2 replicas the node pool can host (1 node x 2 per node, no "
	  "node autoscaling): the extra 6 replicas would stay Pending",
	  2, 2, 2 },
	/* 3 GPUs per replica on an 8-GPU shape: 2 idle. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: BM.GPU.H200.8\n"
	  "    recipe_nvidia_gpu_count: 3\n    recipe_pod_autoscaling_params: {max_replicas: 2}\n",
	  5, 5, "2 GPUs per node stay idle", 2, 2, 2 },
	/* Threshold above 1 with the default (fraction) query. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 2, scaling_threshold: 2}\n",
	  4, 54, "scaling_threshold 2 is outside (0, 1]", -1, -1, 2 },
	/* ... but not with a query of its own. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 2, scaling_threshold: 20, query: "
	  "'sum(x)'}\n",
	  0, 0, NULL, -1, -1, 2 },
	/* Unknown shape without node autoscaling: a warning, capacity unchecked. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    recipe_node_shape: BM.GPU.X9.8\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 5}\n",
	  4, 5, "shape \"BM.GPU.X9.8\" is not in the built-in shape table", -1, -1, 5 },
	/* gpus_per_node without a shape. */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n    gpus_per_node: 4\n"
	  "    recipe_node_pool_size: 3\n    recipe_pod_autoscaling_params: {max_replicas: 12}\n",
	  0, 0, NULL, 4, 12, 12 },
	/* AverageValue with the fraction query (D5). */
	{ "policies:\n  - name: p\n    target: {deployment: d}\n"
	  "    recipe_pod_autoscaling_params: {max_replicas: 2, metric_type: average_value}\n",
	  4, 54, "average_value with the default query", -1, -1, 2 },
	{ "prometheus: {insecure_skip_tls_verify: true}\n" MINIMAL, 1, 14,
	  "TLS verification of Prometheus is off", -1, -1, 4 },
	{ "prometheus: {max_in_flight: 513}\n" MINIMAL, 1, 14,
	  "513 is above Prometheus's default --web.max-connections (512)", -1, -1, 4 },
	{ "prometheus: {max_in_flight: 512}\n" MINIMAL, 0, 0, NULL, -1, -1, 4 },
};

START_TEST(test_capacity_warnings)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;
	config_capacity_t cap;

	ck_assert_int_eq(load(capacity[_i].yaml, &c, &d), 0);
	ck_assert_int_eq(d.errors, 0);
	if (!capacity[_i].text) {
		ck_assert_int_eq(d.warnings, 0);
	} else {
		const config_diag_t *w = find_diag(&d, CONFIG_WARNING, capacity[_i].text);

		ck_assert_int_eq(w->mark.line, capacity[_i].line);
		ck_assert_int_eq(w->mark.col, capacity[_i].col);
		ck_assert_int_eq(d.warnings, 1);
	}
	config_capacity(&c->policies[0], &cap);
	ck_assert_int_eq(cap.replicas_per_node, capacity[_i].rpn);
	ck_assert_int_eq(cap.hostable, capacity[_i].hostable);
	ck_assert_int_eq(cap.max_eff, capacity[_i].max_eff);
	config_free(c);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_shapes)
{
	static const struct {
		const char *shape;
		int gpus;
		const char *resource;
	} t[] = {
		{ "VM.GPU.A10.1", 1, "nvidia.com/gpu" },    { "VM.GPU.A10.2", 2, "nvidia.com/gpu" },
		{ "BM.GPU.A10.4", 4, "nvidia.com/gpu" },    { "VM.GPU2.1", 1, "nvidia.com/gpu" },
		{ "BM.GPU2.2", 2, "nvidia.com/gpu" },	    { "VM.GPU3.1", 1, "nvidia.com/gpu" },
		{ "VM.GPU3.2", 2, "nvidia.com/gpu" },	    { "VM.GPU3.4", 4, "nvidia.com/gpu" },
		{ "BM.GPU3.8", 8, "nvidia.com/gpu" },	    { "BM.GPU4.8", 8, "nvidia.com/gpu" },
		{ "BM.GPU.B4.8", 8, "nvidia.com/gpu" },	    { "BM.GPU.A100-v2.8", 8, "nvidia.com/gpu" },
		{ "BM.GPU.H100.8", 8, "nvidia.com/gpu" },   { "BM.GPU.H200.8", 8, "nvidia.com/gpu" },
		{ "BM.GPU.L40S.4", 4, "nvidia.com/gpu" },   { "BM.GPU.L40S-NC.4", 4, "nvidia.com/gpu" },
		{ "BM.GPU.MI300X.8", 8, "amd.com/gpu" },    { "BM.GPU.B200.8", 8, "nvidia.com/gpu" },
		{ "BM.GPU.B300.8", 8, "nvidia.com/gpu" },   { "BM.GPU.GB200.4", 4, "nvidia.com/gpu" },
		{ "BM.GPU.GB300.4", 4, "nvidia.com/gpu" },
	};
	const char *res = NULL;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(config_shape_gpus(t[i].shape, &res), t[i].gpus);
		ck_assert_str_eq(res, t[i].resource);
	}
	ck_assert_int_eq(config_shape_gpus("vm.gpu.a10.2", NULL), 0);
	ck_assert_int_eq(config_shape_gpus("VM.Standard.E4.Flex", NULL), 0);
	ck_assert_int_eq(config_shape_gpus(NULL, NULL), 0);
}
END_TEST

/* ---- printout and reference ----------------------------------------------------------- */

START_TEST(test_print_policy)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(load(MINIMAL, &c, &d), 0);
	f = open_memstream(&buf, &len);
	config_print_policy(&c->policies[0], f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "- name: p\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    max_replicas: 4\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    min_replicas: 1  # default\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    collect_metrics_timespan: 5m  # default\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    scaling_threshold: 0.5  # default\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    tolerance_up: 0.1  # default: tolerance\n"));
	ck_assert_ptr_nonnull(strstr(buf, "    fallback: ~  # default: off\n"));
	ck_assert_ptr_nonnull(strstr(buf, "{type: pods, value: 1, period: 1m}"));
	ck_assert_ptr_nonnull(strstr(buf, "  recipe_node_autoscaling_params: ~  # default: off\n"));
	free(buf);
	config_free(c);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_reference_lists_every_key)
{
	const config_scope_t *scopes[] = { &config_global_scope, &config_policy_scope,
					   &config_rate_scope };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_print_reference(f);
	fclose(f);
	for (size_t s = 0; s < 3; s++)
		for (size_t i = 0; i < scopes[s]->n; i++) {
			char needle[160];

			snprintf(needle, sizeof(needle), "| `%s` |", scopes[s]->rows[i].key);
			ck_assert_msg(strstr(buf, needle), "%s missing", scopes[s]->rows[i].key);
		}
	ck_assert_ptr_nonnull(strstr(buf, "| `recipe_pod_autoscaling_params.scaling_cooldown` | "
					  "duration | 0s .. 24h | `60` |"));
	free(buf);
}
END_TEST

/* ---- hostile input -------------------------------------------------------------------- */

START_TEST(test_billion_laughs)
{
	const char *yaml = "a: &a [x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
	config_diags_t d = { 0 };
	config_t *c = NULL;

	ck_assert_int_eq(load(yaml, &c, &d), -EINVAL);
	find_diag(&d, CONFIG_ERROR, "YAML aliases (*a) are not supported");
	/* Parsing stops at the first alias. */
	ck_assert_int_eq(d.errors, 1);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_deep_nesting)
{
	size_t n = 100000;
	char *yaml = malloc(2 * n + 1);
	config_diags_t d = { 0 };
	config_t *c = NULL;

	memset(yaml, '[', n);
	memset(yaml + n, ']', n);
	yaml[2 * n] = '\0';
	ck_assert_int_eq(load(yaml, &c, &d), -EINVAL);
	find_diag(&d, CONFIG_ERROR, "nesting deeper than 24 levels");
	free(yaml);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_too_large)
{
	size_t n = CONFIG_MAX_FILE_SIZE + 1;
	char *yaml = malloc(n);
	config_diags_t d = { 0 };
	config_t *c = NULL;

	memset(yaml, '#', n);
	ck_assert_int_eq(config_load_buffer(yaml, n, &c, &d), -EFBIG);
	find_diag(&d, CONFIG_ERROR, "larger than");
	free(yaml);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_many_errors_bounded)
{
	/* 50,000 unknown keys: the walk stops at CONFIG_MAX_DIAGS, quickly. */
	size_t n = 50000, o = 0;
	char *yaml = malloc(n * 16 + 64);
	config_diags_t d = { 0 };
	config_t *c = NULL;

	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(yaml + o, "k%zu: 1\n", i);
	ck_assert_int_eq(load(yaml, &c, &d), -EINVAL);
	ck_assert_uint_le(d.n, CONFIG_MAX_DIAGS);
	ck_assert_uint_ge(d.errors, CONFIG_MAX_DIAGS);
	free(yaml);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_missing_file)
{
	config_diags_t d = { 0 };
	config_t *c = NULL;

	ck_assert_int_eq(config_load_file("/nonexistent/policy.yaml", &c, &d), -ENOENT);
	find_diag(&d, CONFIG_ERROR, "cannot read /nonexistent/policy.yaml: No such file or directory");
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_examples_load)
{
	static const char *const files[] = { "llama-8b-a10.yaml", "h100-70b.yaml",
					     "advanced-behavior.yaml" };
	const char *src = getenv("AUTOSCALERD_SRCDIR");
	char path[4096];

	ck_assert_ptr_nonnull(src);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		config_diags_t d = { 0 };
		config_t *c = NULL;

		snprintf(path, sizeof(path), "%s/config/examples/%s", src, files[i]);
		ck_assert_int_eq(config_load_file(path, &c, &d), 0);
		ck_assert_int_eq(d.errors, 0);
		ck_assert_int_eq(d.warnings, 0);
		ck_assert_str_eq(c->file, path);
		config_free(c);
		config_diags_clear(&d);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_duration_parse, 0, sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(tc, test_duration_format);
	tcase_add_test(tc, test_numbers);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_node_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_every_key_2);
	tcase_add_test(tc, test_every_key_covers_table);
	tcase_add_loop_test(tc, test_errors, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(tc, test_diag_print);
	tcase_add_loop_test(tc, test_capacity_warnings, 0, sizeof(capacity) / sizeof(capacity[0]));
	tcase_add_test(tc, test_shapes);
	tcase_add_test(tc, test_print_policy);
	tcase_add_test(tc, test_reference_lists_every_key);
	tcase_add_test(tc, test_examples_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_billion_laughs);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_many_errors_bounded);
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);

	return check_run(s, CK_NORMAL);
}
