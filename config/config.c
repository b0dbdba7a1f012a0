/* config.c - the policy file: schema table, YAML walk, defaults and validation.
 *
 * Loading is three passes over one table per scope (file, policy, rate policy):
 *   1. walk the YAML tree, look every key up in the table, parse its value into the struct
 *      at the row's offset and remember where it was set;
 *   2. fill every row the file did not set from the row's default text, read by the same
 *      parsers (so a default can never disagree with what the file could say);
 *   3. cross-check what single rows cannot: min <= max, capacity (D3), the warnings of
 *      DESIGN.md section 6, duplicate names, targets and node pools.
 * Every problem becomes a diagnostic with the key's position; nothing stops at the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config-private.h"
#include "config/tree.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "int fields are stored as int32_t");
_Static_assert(sizeof(engine_select_t) == sizeof(int), "enums are stored as int");

#define SEC ((double)ENGINE_MS_PER_S)
#define DAY (24 * 3600 * SEC)

/* ---- string validators --------------------------------------------------------------- */

static bool all_chars(const char *s, const char *set, bool alnum_lower, bool alnum_upper)
{
	for (; *s; s++) {
		char c = *s;

		if (c >= '0' && c <= '9')
			continue;
		if (alnum_lower && c >= 'a' && c <= 'z')
			continue;
		if (alnum_upper && c >= 'A' && c <= 'Z')
			continue;
		if (!strchr(set, c))
			return false;
	}
	return true;
}

static bool alnum_edges(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[0] != '-' && s[0] != '.' && s[n - 1] != '-' && s[n - 1] != '.';
}

static const char *check_dns_label(const char *s)
{
	if (strlen(s) > 63 || !all_chars(s, "-", true, false) || !alnum_edges(s))
		return "a DNS-1123 label (lowercase letters, digits and '-', at most 63)";
	return NULL;
}

static const char *check_dns_subdomain(const char *s)
{
	if (strlen(s) > 253 || !all_chars(s, "-.", true, false) || !alnum_edges(s))
		return "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253)";
	return NULL;
}

static const char *check_name(const char *s)
{
	if (strlen(s) > 63 || !all_chars(s, "-_.", true, true) || !alnum_edges(s))
		return "a name of letters, digits, '-', '_' and '.' (at most 63)";
	return NULL;
}

static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const char *check_url(const char *s)
{
	const char *host;

	if (!strncmp(s, "http://", 7))
		host = s + 7;
	else if (!strncmp(s, "https://", 8))
		host = s + 8;
	else
		return "an http:// or https:// URL";
	if (!*host || *host == '/' || *host == ':' || strchr(s, ' ') || !no_controls(s) ||
	    strlen(s) > 2048)
		return "an http:// or https:// URL with a host";
	return NULL;
}

static const char *check_path(const char *s)
{
	if (strlen(s) > 4096 || !no_controls(s))
		return "a file path";
	return NULL;
}

static const char *check_text(const char *s)
{
	if (strlen(s) > 1024 || !no_controls(s))
		return "text without control characters (at most 1024)";
	return NULL;
}

static bool is_ocid(const char *s, const char *type)
{
	size_t n = strlen(type);

	return !strncmp(s, "ocid1.", 6) && !strncmp(s + 6, type, n) && s[6 + n] == '.' &&
	       strlen(s) <= 255 && all_chars(s, ".-_", true, true);
}

static const char *check_nodepool(const char *s)
{
	return is_ocid(s, "nodepool") ? NULL : "a node pool OCID (ocid1.nodepool.oc1....)";
}

static const char *check_cluster(const char *s)
{
	return is_ocid(s, "cluster") ? NULL : "a cluster OCID (ocid1.cluster.oc1....)";
}

static const char *check_region(const char *s)
{
	if (strlen(s) > 64 || !all_chars(s, "-", true, false) || !alnum_edges(s))
		return "an OCI region identifier (like us-ashburn-1)";
	return NULL;
}

static const char *check_listen(const char *s)
{
	const char *colon;
	long long port;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end == s + 1 || end[1] != ':')
			return "host:port (an IPv6 address in brackets: [::1]:9464)";
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
			return "host:port (like 127.0.0.1:9464 or 0.0.0.0:9464)";
	}
	if (config_parse_int(colon + 1, &port) < 0 || port < 0 || port > 65535 ||
	    colon[1] == '+' || colon[1] == '-')
		return "host:port with a port in [0, 65535]";
	if (!no_controls(s) || strchr(s, ' ') || strlen(s) > 300)
		return "host:port";
	return NULL;
}

/* Placeholders a query template may use; metric_selector may not use {{selector}}. */
static const char *const placeholders[] = {
	"namespace", "deployment", "window", "latency_slo", "selector", NULL,
};

static const char *check_template(const char *s, bool selector_allowed)
{
	const char *p = s;

	if (strlen(s) > 16384)
		return "at most 16384 characters";
	while ((p = strstr(p, "{{"))) {
		const char *end = strstr(p + 2, "}}");
		size_t n, i;

		if (!end)
			return "a template whose \"{{\" is closed by \"}}\"";
		n = (size_t)(end - (p + 2));
		for (i = 0; placeholders[i]; i++)
			if (strlen(placeholders[i]) == n && !strncmp(p + 2, placeholders[i], n))
				break;
		if (!placeholders[i] || (!selector_allowed && !strcmp(placeholders[i], "selector")))
			return selector_allowed ?
				       "placeholders among {{namespace}}, {{deployment}}, {{window}}, "
				       "{{latency_slo}} and {{selector}}" :
				       "placeholders among {{namespace}} and {{deployment}}";
		p = end + 2;
	}
	return NULL;
}

static const char *check_query(const char *s)
{
	return check_template(s, true);
}

static const char *check_selector(const char *s)
{
	return check_template(s, false);
}

static const char *check_header_name(const char *s)
{
	/* RFC 9110 token. */
	if (strlen(s) > 256 || !all_chars(s, "!#$%&'*+-.^_`|~", true, true))
		return "an HTTP header name";
	return NULL;
}

/* ---- the tables ----------------------------------------------------------------------- */

static const char *const kube_auth_names[] = { "in-cluster", "kubeconfig", "oke", NULL };
static const char *const oci_auth_names[] = { "api_key", "security_token", "instance_principal",
					      "workload_identity", NULL };
static const char *const log_format_names[] = { "text", "json", NULL };
static const char *const state_names[] = { "file", "configmap", "none", NULL };
static const char *const metric_type_names[] = { "value", "average_value", NULL };
static const char *const on_empty_names[] = { "hold", "zero", NULL };
static const char *const on_nan_names[] = { "zero", "hold", NULL };
static const char *const aggregation_names[] = { "none", "sum", "max", "avg", NULL };
static const char *const select_names[] = { "max", "min", "disabled", NULL };
static const char *const rate_type_names[] = { "pods", "percent", NULL };

#define G(field) offsetof(config_t, field)
#define P(field) offsetof(config_policy_t, field)
#define R(field) offsetof(engine_rate_policy_t, field)

enum {
	G_PROM, G_PROM_URL, G_PROM_TIMEOUT, G_PROM_MAX_IN_FLIGHT, G_PROM_BEARER, G_PROM_CA,
	G_PROM_CERT, G_PROM_KEY, G_PROM_BASIC, G_PROM_BASIC_USER, G_PROM_BASIC_PASS,
	G_PROM_HEADERS, G_PROM_INSECURE,
	G_KUBE, G_KUBE_AUTH, G_KUBE_KUBECONFIG, G_KUBE_CONTEXT, G_KUBE_OKE, G_KUBE_OKE_CLUSTER,
	G_KUBE_OKE_SERVER, G_KUBE_OKE_CA,
	G_OCI, G_OCI_AUTH, G_OCI_CONFIG, G_OCI_PROFILE, G_OCI_REGION, G_OCI_ENDPOINT, G_OCI_CA,
	G_DAEMON, G_D_LISTEN, G_D_LOG_FORMAT, G_D_STATE, G_D_STATE_FILE, G_D_CM, G_D_CM_NS,
	G_D_CM_NAME, G_D_LE, G_D_LE_ENABLED, G_D_LE_NS, G_D_LE_LEASE,
	G_POLICIES,
	G_COUNT
};

static const config_row_t global_rows[] = {
	[G_PROM] = { "prometheus", CONFIG_V_BLOCK, .doc = "Where the metrics come from." },
	[G_PROM_URL] = { "prometheus.url", CONFIG_V_STRING, .def = "http://localhost:9090",
			 .check = check_url, .off = G(prometheus.url),
			 .doc = "Base URL of the Prometheus HTTP API." },
	[G_PROM_TIMEOUT] = { "prometheus.timeout", CONFIG_V_DURATION, 100, 5 * 60 * SEC, "5s",
			     .off = G(prometheus.timeout), .doc = "Timeout of one query." },
	[G_PROM_MAX_IN_FLIGHT] = { "prometheus.max_in_flight", CONFIG_V_INT, 1, 10000, "64",
				   .off = G(prometheus.max_in_flight),
				   .doc = "Queries in flight at once; the rest queue." },
	[G_PROM_BEARER] = { "prometheus.bearer_token_file", CONFIG_V_STRING, .check = check_path,
			    .off = G(prometheus.bearer_token_file),
			    .doc = "File holding a bearer token, re-read when it changes." },
	[G_PROM_CA] = { "prometheus.ca_file", CONFIG_V_STRING, .check = check_path,
			.off = G(prometheus.ca_file), .doc = "CA bundle (PEM) to verify the server." },
	[G_PROM_CERT] = { "prometheus.cert_file", CONFIG_V_STRING, .check = check_path,
			  .off = G(prometheus.cert_file), .doc = "Client certificate (PEM)." },
	[G_PROM_KEY] = { "prometheus.key_file", CONFIG_V_STRING, .check = check_path,
			 .off = G(prometheus.key_file), .doc = "Client key (PEM)." },
	[G_PROM_BASIC] = { "prometheus.basic_auth", CONFIG_V_BLOCK, .doc = "HTTP basic auth." },
	[G_PROM_BASIC_USER] = { "prometheus.basic_auth.username", CONFIG_V_STRING,
				.check = check_text, .off = G(prometheus.basic_auth_username),
				.flags = CONFIG_F_REQUIRED, .doc = "User name." },
	[G_PROM_BASIC_PASS] = { "prometheus.basic_auth.password_file", CONFIG_V_STRING,
				.check = check_path, .off = G(prometheus.basic_auth_password_file),
				.flags = CONFIG_F_REQUIRED, .doc = "File holding the password." },
	[G_PROM_HEADERS] = { "prometheus.headers", CONFIG_V_HEADERS,
			     .doc = "Extra request headers, e.g. X-Scope-OrgID: team-a." },
	[G_PROM_INSECURE] = { "prometheus.insecure_skip_tls_verify", CONFIG_V_BOOL, .def = "false",
			      .off = G(prometheus.insecure_skip_tls_verify),
			      .doc = "Skip TLS verification (warned on every load)." },

	[G_KUBE] = { "kubernetes", CONFIG_V_BLOCK, .doc = "How to reach the Kubernetes API." },
	[G_KUBE_AUTH] = { "kubernetes.auth", CONFIG_V_ENUM, .def = "in-cluster",
			  .names = kube_auth_names, .off = G(kubernetes.auth),
			  .doc = "in-cluster (service account), kubeconfig, or oke (token minted "
				 "with the oci: credentials)." },
	[G_KUBE_KUBECONFIG] = { "kubernetes.kubeconfig", CONFIG_V_STRING, .check = check_path,
				.defnote = "$KUBECONFIG, then ~/.kube/config",
				.off = G(kubernetes.kubeconfig), .doc = "Kubeconfig file." },
	[G_KUBE_CONTEXT] = { "kubernetes.context", CONFIG_V_STRING, .check = check_text,
			     .defnote = "current-context", .off = G(kubernetes.context),
			     .doc = "Kubeconfig context." },
	[G_KUBE_OKE] = { "kubernetes.oke", CONFIG_V_BLOCK, .doc = "OKE cluster for auth: oke." },
	[G_KUBE_OKE_CLUSTER] = { "kubernetes.oke.cluster_id", CONFIG_V_STRING,
				 .check = check_cluster, .off = G(kubernetes.oke_cluster_id),
				 .doc = "Cluster OCID (required with auth: oke)." },
	[G_KUBE_OKE_SERVER] = { "kubernetes.oke.server", CONFIG_V_STRING, .check = check_url,
				.off = G(kubernetes.oke_server),
				.doc = "API server URL (required with auth: oke)." },
	[G_KUBE_OKE_CA] = { "kubernetes.oke.ca_file", CONFIG_V_STRING, .check = check_path,
			    .off = G(kubernetes.oke_ca_file), .doc = "Cluster CA (PEM)." },

	[G_OCI] = { "oci", CONFIG_V_BLOCK, .doc = "How to reach the OCI API (node pools)." },
	[G_OCI_AUTH] = { "oci.auth", CONFIG_V_ENUM, .def = "api_key", .names = oci_auth_names,
			 .off = G(oci.auth), .doc = "Credentials to sign requests with." },
	[G_OCI_CONFIG] = { "oci.config_file", CONFIG_V_STRING, .def = "~/.oci/config",
			   .check = check_path, .off = G(oci.config_file),
			   .doc = "OCI config file (api_key, security_token)." },
	[G_OCI_PROFILE] = { "oci.profile", CONFIG_V_STRING, .def = "DEFAULT", .check = check_text,
			    .off = G(oci.profile), .doc = "Profile in the OCI config file." },
	[G_OCI_REGION] = { "oci.region", CONFIG_V_STRING, .check = check_region,
			   .defnote = "from the OCI config file", .off = G(oci.region),
			   .doc = "Region, e.g. us-ashburn-1." },
	[G_OCI_ENDPOINT] = { "oci.endpoint", CONFIG_V_STRING, .check = check_url,
			     .defnote = "containerengine.{region}.oci.oraclecloud.com",
			     .off = G(oci.endpoint), .doc = "Container Engine endpoint." },
	[G_OCI_CA] = { "oci.ca_file", CONFIG_V_STRING, .check = check_path,
		       .defnote = "the system's CAs", .off = G(oci.ca_file),
		       .doc = "CAs (PEM) for the OCI endpoints, e.g. behind a TLS-inspecting "
			      "proxy." },

	[G_DAEMON] = { "daemon", CONFIG_V_BLOCK, .doc = "The daemon itself." },
	[G_D_LISTEN] = { "daemon.listen", CONFIG_V_STRING, .def = "127.0.0.1:9464",
			 .check = check_listen, .off = G(daemon.listen),
			 .doc = "Address of /metrics /healthz /readyz; port 0 picks one." },
	[G_D_LOG_FORMAT] = { "daemon.log_format", CONFIG_V_ENUM, .def = "text",
			     .names = log_format_names, .off = G(daemon.log_format),
			     .doc = "Log lines as text or JSON." },
	[G_D_STATE] = { "daemon.state", CONFIG_V_ENUM, .def = "file", .names = state_names,
			.off = G(daemon.state), .doc = "Where engine state survives restarts." },
	[G_D_STATE_FILE] = { "daemon.state_file", CONFIG_V_STRING,
			     .def = "/var/lib/autoscalerd/state.json", .check = check_path,
			     .off = G(daemon.state_file), .doc = "State file (state: file)." },
	[G_D_CM] = { "daemon.state_configmap", CONFIG_V_BLOCK,
		     .doc = "ConfigMap holding the state (state: configmap)." },
	[G_D_CM_NS] = { "daemon.state_configmap.namespace", CONFIG_V_STRING, .def = "kube-system",
			.check = check_dns_label, .off = G(daemon.state_configmap_namespace),
			.doc = "Its namespace." },
	[G_D_CM_NAME] = { "daemon.state_configmap.name", CONFIG_V_STRING,
			  .def = "autoscalerd-state", .check = check_dns_subdomain,
			  .off = G(daemon.state_configmap_name), .doc = "Its name." },
	[G_D_LE] = { "daemon.leader_election", CONFIG_V_BLOCK,
		     .doc = "Only the Lease holder acts (in-cluster, 2 replicas)." },
	[G_D_LE_ENABLED] = { "daemon.leader_election.enabled", CONFIG_V_BOOL, .def = "false",
			     .off = G(daemon.leader_election), .doc = "Elect a leader." },
	[G_D_LE_NS] = { "daemon.leader_election.namespace", CONFIG_V_STRING, .def = "kube-system",
			.check = check_dns_label, .off = G(daemon.leader_election_namespace),
			.doc = "Namespace of the Lease." },
	[G_D_LE_LEASE] = { "daemon.leader_election.lease", CONFIG_V_STRING, .def = "autoscalerd",
			   .check = check_dns_subdomain, .off = G(daemon.leader_election_lease),
			   .doc = "Name of the Lease." },

	[G_POLICIES] = { "policies", CONFIG_V_POLICIES, .flags = CONFIG_F_REQUIRED,
			 .doc = "The autoscaled Deployments, one policy each." },
};

enum {
	P_NAME, P_TARGET, P_TARGET_NS, P_TARGET_DEPLOY, P_ALLOW_OTHER, P_SHAPE, P_GPUS_PER_NODE,
	P_GPU_COUNT, P_REPLICA_COUNT, P_POOL_SIZE,
	P_POD, P_MIN, P_MAX, P_TIMESPAN, P_THRESHOLD, P_COOLDOWN, P_POLLING, P_WIN_DOWN,
	P_PERIOD_DOWN, P_WIN_UP, P_PERIOD_UP, P_QUERY, P_SELECTOR, P_LATENCY, P_METRIC_TYPE,
	P_TOL, P_TOL_UP, P_TOL_DOWN, P_ON_EMPTY, P_ON_NAN, P_AGG, P_FALLBACK, P_FB_THRESHOLD,
	P_FB_REPLICAS, P_BEHAVIOR, P_BH_UP, P_BH_UP_SELECT, P_BH_UP_POLICIES, P_BH_DOWN,
	P_BH_DOWN_SELECT, P_BH_DOWN_POLICIES,
	P_NODE, P_NODE_POOL, P_MIN_NODES, P_MAX_NODES, P_UNNEEDED, P_DELAY_AFTER_ADD,
	P_PROVISION,
	P_COUNT
};

#define POD "recipe_pod_autoscaling_params."
#define NODE "recipe_node_autoscaling_params."

static const config_row_t policy_rows[] = {
	[P_NAME] = { "name", CONFIG_V_STRING, .check = check_name, .off = P(name),
		     .flags = CONFIG_F_REQUIRED, .doc = "Unique name of the policy." },
	[P_TARGET] = { "target", CONFIG_V_BLOCK, .flags = CONFIG_F_REQUIRED,
		       .doc = "The Deployment this policy scales." },
	[P_TARGET_NS] = { "target.namespace", CONFIG_V_STRING, .def = "default",
			  .check = check_dns_label, .off = P(namespace_), .doc = "Its namespace." },
	[P_TARGET_DEPLOY] = { "target.deployment", CONFIG_V_STRING, .check = check_dns_subdomain,
			      .off = P(deployment), .flags = CONFIG_F_REQUIRED,
			      .doc = "Its name." },
	[P_ALLOW_OTHER] = { "allow_other_autoscalers", CONFIG_V_BOOL, .def = "false",
			    .off = P(allow_other_autoscalers),
			    .doc = "Act even when an HPA or ScaledObject targets the Deployment." },
	[P_SHAPE] = { "recipe_node_shape", CONFIG_V_STRING, .check = check_text,
		      .off = P(node_shape), .doc = "OCI node shape; GPUs per node come from "
						   "the built-in shape table." },
	[P_GPUS_PER_NODE] = { "gpus_per_node", CONFIG_V_INT, 1, ENGINE_MAX_GPUS,
			      .defnote = "from recipe_node_shape", .off = P(engine.gpus_per_node),
			      .doc = "GPUs per node, instead of (or overriding) the shape table." },
	[P_GPU_COUNT] = { "recipe_nvidia_gpu_count", CONFIG_V_INT, 1, ENGINE_MAX_GPUS, "1",
			  .off = P(engine.gpus_per_replica), .doc = "GPUs per replica." },
	[P_REPLICA_COUNT] = { "recipe_replica_count", CONFIG_V_INT, 0, ENGINE_MAX_REPLICAS,
			      .defnote = "min_replicas", .off = P(replica_count),
			      .doc = "Replicas assumed at start (replay)." },
	[P_POOL_SIZE] = { "recipe_node_pool_size", CONFIG_V_INT, 1, ENGINE_MAX_NODES, "1",
			  .off = P(engine.pool_size),
			  .doc = "Node pool size without node autoscaling." },

	[P_POD] = { "recipe_pod_autoscaling_params", CONFIG_V_BLOCK, .flags = CONFIG_F_REQUIRED,
		    .doc = "Pod autoscaling (Corrino's names)." },
	[P_MIN] = { POD "min_replicas", CONFIG_V_INT, 1, ENGINE_MAX_REPLICAS, "1",
		    .off = P(engine.min_replicas),
		    .doc = "Fewest replicas (scale to zero is not supported yet).",
		    .hint = "scale to zero is not supported yet" },
	[P_MAX] = { POD "max_replicas", CONFIG_V_INT, 1, ENGINE_MAX_REPLICAS,
		    .off = P(engine.max_replicas), .flags = CONFIG_F_REQUIRED,
		    .doc = "Most replicas (capped by what the node pool can host)." },
	[P_TIMESPAN] = { POD "collect_metrics_timespan", CONFIG_V_DURATION, SEC, DAY, "5m",
			 .off = P(window), .doc = "Range of the query's rate() ({{window}})." },
	[P_THRESHOLD] = { POD "scaling_threshold", CONFIG_V_DOUBLE, 0.001, 1e9, "0.5",
			  .off = P(engine.threshold), .doc = "Target value of the metric." },
	[P_COOLDOWN] = { POD "scaling_cooldown", CONFIG_V_DURATION, 0, DAY, "60",
			 .off = P(engine.cooldown), .doc = "No scale-down this long after a "
							   "scale-up." },
	[P_POLLING] = { POD "polling_interval", CONFIG_V_DURATION, SEC, 3600 * SEC, "15",
			.off = P(polling_interval), .doc = "How often to query the metric." },
	[P_WIN_DOWN] = { POD "stabilization_window_down", CONFIG_V_DURATION, 0, DAY, "180",
			 .off = P(engine.window_down),
			 .doc = "Scale down to the highest recommendation of this window." },
	[P_PERIOD_DOWN] = { POD "scaling_period_down", CONFIG_V_DURATION, SEC, DAY, "90",
			    .off = P(period_down),
			    .doc = "At most one pod removed per this period." },
	[P_WIN_UP] = { POD "stabilization_window_up", CONFIG_V_DURATION, 0, DAY, "120",
		       .off = P(engine.window_up),
		       .doc = "Scale up to the lowest recommendation of this window." },
	[P_PERIOD_UP] = { POD "scaling_period_up", CONFIG_V_DURATION, SEC, DAY, "60",
			  .off = P(period_up),
			  .doc = "At most one pod added per this period." },
	[P_QUERY] = { POD "query", CONFIG_V_STRING, .check = check_query, .off = P(query),
		      .defnote = "Corrino's latency query",
		      .doc = "PromQL template replacing the default query." },
	[P_SELECTOR] = { POD "metric_selector", CONFIG_V_STRING, .check = check_selector,
			 .off = P(metric_selector),
			 .defnote = "namespace=\"{{namespace}}\",pod=~\"{{deployment}}-.+\"",
			 .doc = "Label matchers of the default query ({{selector}})." },
	[P_LATENCY] = { POD "latency_slo_seconds", CONFIG_V_DOUBLE, 0.001, 1e6, "5.0",
			.off = P(latency_slo), .doc = "The le bucket of the default query." },
	[P_METRIC_TYPE] = { POD "metric_type", CONFIG_V_ENUM, .def = "value",
			    .names = metric_type_names, .off = P(engine.metric_type),
			    .doc = "value: ratio times ready replicas; average_value: KEDA's "
				   "value / threshold." },
	[P_TOL] = { POD "tolerance", CONFIG_V_DOUBLE, 0, 1, "0.1", .off = P(tolerance),
		    .doc = "No change while the ratio is within 1 +/- tolerance." },
	[P_TOL_UP] = { POD "tolerance_up", CONFIG_V_DOUBLE, 0, 1, .defnote = "tolerance",
		       .off = P(engine.tol_up), .doc = "Tolerance above 1." },
	[P_TOL_DOWN] = { POD "tolerance_down", CONFIG_V_DOUBLE, 0, 1, .defnote = "tolerance",
			 .off = P(engine.tol_down), .doc = "Tolerance below 1." },
	[P_ON_EMPTY] = { POD "on_empty_result", CONFIG_V_ENUM, .def = "hold",
			 .names = on_empty_names, .off = P(engine.on_empty),
			 .doc = "An empty result: hold (series lost) or zero." },
	[P_ON_NAN] = { POD "on_nan", CONFIG_V_ENUM, .def = "zero", .names = on_nan_names,
		       .off = P(engine.on_nan), .doc = "NaN (no requests): zero or hold." },
	[P_AGG] = { POD "series_aggregation", CONFIG_V_ENUM, .def = "none",
		    .names = aggregation_names, .off = P(series_aggregation),
		    .doc = "How to combine several series; none makes them an error." },
	[P_FALLBACK] = { POD "fallback", CONFIG_V_BLOCK,
			 .doc = "Replicas to run after failure_threshold ticks without data." },
	[P_FB_THRESHOLD] = { POD "fallback.failure_threshold", CONFIG_V_INT, 1, 1000,
			     .off = P(engine.fallback_failures), .flags = CONFIG_F_REQUIRED,
			     .doc = "Consecutive ticks without data." },
	[P_FB_REPLICAS] = { POD "fallback.replicas", CONFIG_V_INT, 1, ENGINE_MAX_REPLICAS,
			    .off = P(engine.fallback_replicas), .flags = CONFIG_F_REQUIRED,
			    .doc = "Replicas then." },
	[P_BEHAVIOR] = { POD "behavior", CONFIG_V_BLOCK,
			 .doc = "HPA-style rate policies replacing scaling_period_*." },
	[P_BH_UP] = { POD "behavior.scale_up", CONFIG_V_BLOCK, .doc = "Scale-up rules." },
	[P_BH_UP_SELECT] = { POD "behavior.scale_up.select", CONFIG_V_ENUM, .def = "max",
			     .names = select_names, .off = P(engine.up.select),
			     .doc = "Which policy's limit wins." },
	[P_BH_UP_POLICIES] = { POD "behavior.scale_up.policies", CONFIG_V_RATES,
			       .off = P(engine.up), .doc = "[{type: pods|percent, value, "
							   "period}]" },
	[P_BH_DOWN] = { POD "behavior.scale_down", CONFIG_V_BLOCK, .doc = "Scale-down rules." },
	[P_BH_DOWN_SELECT] = { POD "behavior.scale_down.select", CONFIG_V_ENUM, .def = "max",
			       .names = select_names, .off = P(engine.down.select),
			       .doc = "Which policy's limit wins." },
	[P_BH_DOWN_POLICIES] = { POD "behavior.scale_down.policies", CONFIG_V_RATES,
				 .off = P(engine.down), .doc = "[{type: pods|percent, value, "
							       "period}]" },

	[P_NODE] = { "recipe_node_autoscaling_params", CONFIG_V_BLOCK,
		     .doc = "Present = node autoscaling on." },
	[P_NODE_POOL] = { NODE "node_pool_id", CONFIG_V_STRING, .check = check_nodepool,
			  .off = P(node_pool_id), .doc = "The OKE node pool (needed by run)." },
	[P_MIN_NODES] = { NODE "min_nodes", CONFIG_V_INT, 0, ENGINE_MAX_NODES, "1",
			  .off = P(engine.min_nodes), .doc = "Fewest nodes." },
	[P_MAX_NODES] = { NODE "max_nodes", CONFIG_V_INT, 1, ENGINE_MAX_NODES,
			  .off = P(engine.max_nodes), .flags = CONFIG_F_REQUIRED,
			  .doc = "Most nodes." },
	[P_UNNEEDED] = { NODE "scale_down_unneeded_time", CONFIG_V_DURATION, 0, DAY, "10m",
			 .off = P(engine.node_unneeded_time),
			 .doc = "A node is removed after being unneeded this long." },
	[P_DELAY_AFTER_ADD] = { NODE "scale_down_delay_after_add", CONFIG_V_DURATION, 0, DAY,
				"10m", .off = P(engine.node_delay_after_add),
				.doc = "No removal this long after an addition." },
	[P_PROVISION] = { NODE "max_node_provision_time", CONFIG_V_DURATION, SEC, DAY, "25m",
			  .off = P(engine.node_provision_time),
			  .doc = "A node not Ready by then is reported; the pool backs off." },
};

enum { R_TYPE, R_VALUE, R_PERIOD, R_COUNT };

static const config_row_t rate_rows[] = {
	[R_TYPE] = { "type", CONFIG_V_ENUM, .names = rate_type_names, .off = R(type),
		     .flags = CONFIG_F_REQUIRED, .doc = "pods or percent." },
	[R_VALUE] = { "value", CONFIG_V_INT, 1, ENGINE_MAX_REPLICAS, .off = R(value),
		      .flags = CONFIG_F_REQUIRED, .doc = "Pods, or percent of the replicas." },
	[R_PERIOD] = { "period", CONFIG_V_DURATION, SEC, DAY, .off = R(period),
		       .flags = CONFIG_F_REQUIRED, .doc = "Window the change is counted in." },
};

_Static_assert(G_COUNT <= CONFIG_MAX_ROWS && P_COUNT <= CONFIG_MAX_ROWS, "meta too small");
_Static_assert(sizeof(global_rows) / sizeof(global_rows[0]) == G_COUNT, "global rows");
_Static_assert(sizeof(policy_rows) / sizeof(policy_rows[0]) == P_COUNT, "policy rows");

const config_scope_t config_global_scope = { "file", global_rows, G_COUNT };
const config_scope_t config_policy_scope = { "policy", policy_rows, P_COUNT };
const config_scope_t config_rate_scope = { "rate policy", rate_rows, R_COUNT };

/* ---- the walk ------------------------------------------------------------------------- */

struct walk {
	config_diags_t *d;
	size_t errors_at_start;
	int oom;
};

#define PATH_MAX_LEN 512

static bool too_many(const struct walk *w)
{
	return w->d->errors - w->errors_at_start >= CONFIG_MAX_DIAGS;
}

static void diag(struct walk *w, config_severity_t sev, config_mark_t m, const char *path,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void diag(struct walk *w, config_severity_t sev, config_mark_t m, const char *path,
		 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (config_diag_add(w->d, sev, m, "%s%s%s", path ? path : "", path && *path ? ": " : "",
			    msg) < 0)
		w->oom = 1;
}

/* A value as an operator would recognise it in a message: quoted, escaped, shortened. */
static void describe(const ynode_t *n, char *buf, size_t size)
{
	size_t o = 0;

	if (n->kind == YN_MAP) {
		snprintf(buf, size, "a mapping");
		return;
	}
	if (n->kind == YN_SEQ) {
		snprintf(buf, size, "a list");
		return;
	}
	if (ynode_is_null(n)) {
		snprintf(buf, size, "nothing (null)");
		return;
	}
	buf[o++] = '"';
	for (size_t i = 0; i < n->len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)n->str[i];

		if (i >= 60) {
			o += (size_t)snprintf(buf + o, size - o, "...");
			break;
		}
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

static const config_row_t *find_row(const config_scope_t *sc, const char *key, size_t *idx)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->rows[i].key, key)) {
			if (idx)
				*idx = i;
			return &sc->rows[i];
		}
	return NULL;
}

int config_parent_row(const config_scope_t *sc, const char *key)
{
	const char *dot = strrchr(key, '.');
	char buf[PATH_MAX_LEN];
	size_t idx;

	if (!dot || (size_t)(dot - key) >= sizeof(buf))
		return -1;
	memcpy(buf, key, (size_t)(dot - key));
	buf[dot - key] = '\0';
	return find_row(sc, buf, &idx) ? (int)idx : -1;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag_prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag_prev + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag_prev = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static void unknown_key(struct walk *w, const config_scope_t *sc, const char *prefix,
			const char *path, const ynode_t *key)
{
	size_t plen = strlen(prefix), best = SIZE_MAX;
	const char *suggest = NULL, *elsewhere = NULL;
	char shown[128], list[1024] = "";
	size_t used = 0;

	describe(key, shown, sizeof(shown));
	for (size_t i = 0; i < sc->n; i++) {
		const char *k = sc->rows[i].key, *last = strrchr(k, '.');

		last = last ? last + 1 : k;
		/* Known in another block of this scope: say where it goes. */
		if (!strcmp(last, key->str) && !elsewhere)
			elsewhere = k;
		if (strncmp(k, prefix, plen) || strchr(k + plen, '.'))
			continue;
		if (edit_distance(key->str, k + plen) < best) {
			best = edit_distance(key->str, k + plen);
			suggest = k + plen;
		}
		if (used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 used ? ", " : "", k + plen);
	}
	if (elsewhere) {
		char where[PATH_MAX_LEN];
		const char *dot = strrchr(elsewhere, '.');
		int n = dot ? (int)(dot - elsewhere) : 0;

		snprintf(where, sizeof(where), "%.*s", n, elsewhere);
		diag(w, CONFIG_ERROR, key->mark, path, "unknown key %s: it belongs %s%s", shown,
		     n ? "under " : "at the top of the ", n ? where : sc->name);
	} else if (suggest && best <= 2) {
		diag(w, CONFIG_ERROR, key->mark, path, "unknown key %s (did you mean \"%s\"?)",
		     shown, suggest);
	} else {
		diag(w, CONFIG_ERROR, key->mark, path, "unknown key %s (expected one of: %s)",
		     shown, list);
	}
}

static void format_bound(const config_row_t *row, double v, char *buf, size_t size)
{
	if (row->type == CONFIG_V_DURATION)
		config_format_duration((engine_ms_t)v, buf, size);
	else if (row->type == CONFIG_V_INT)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%g", v);
}

/* Parse one scalar for row into base + row->off. On a bad value, a diagnostic that says
 * what was expected and what was found; returns false. */
static bool set_scalar(struct walk *w, const config_row_t *row, const ynode_t *v,
		       const char *path, void *base)
{
	char *dst = (char *)base + row->off;
	char found[128], lo[32], hi[32], expect[512];
	bool ok = false;

	found[0] = expect[0] = '\0';

	if (v->kind != YN_SCALAR || ynode_is_null(v) || strlen(v->str) != v->len) {
		if (v->kind == YN_SCALAR && !ynode_is_null(v))
			snprintf(found, sizeof(found), "a value with a NUL character");
		goto bad;
	}
	/* The error path below formats what was found; the common path formats nothing. */

	switch (row->type) {
	case CONFIG_V_INT: {
		long long x;
		int r = config_parse_int(v->str, &x);

		if (r == 0 && x >= row->min && x <= row->max) {
			int32_t x32 = (int32_t)x;

			memcpy(dst, &x32, sizeof(x32));
			ok = true;
		} else if (r == 0 || r == -ERANGE) {
			snprintf(found, sizeof(found), "%s", v->str);
			if (strlen(v->str) > 30)
				snprintf(found, sizeof(found), "%.30s...", v->str);
		}
		break;
	}
	case CONFIG_V_DOUBLE: {
		double x;
		int r = config_parse_double(v->str, &x);

		if (r == 0 && x >= row->min && x <= row->max) {
			memcpy(dst, &x, sizeof(x));
			ok = true;
		} else if (r == 0) {
			snprintf(found, sizeof(found), "%.40s", v->str);
		}
		break;
	}
	case CONFIG_V_DURATION: {
		engine_ms_t x;
		int r = config_parse_duration(v->str, &x);

		if (r == 0 && x >= row->min && x <= row->max) {
			memcpy(dst, &x, sizeof(x));
			ok = true;
		} else if (r == 0 || r == -ERANGE) {
			snprintf(found, sizeof(found), "%.40s", v->str);
		}
		break;
	}
	case CONFIG_V_BOOL: {
		bool x;

		if (config_parse_bool(v->str, &x) == 0) {
			memcpy(dst, &x, sizeof(x));
			ok = true;
		}
		break;
	}
	case CONFIG_V_ENUM:
		for (int i = 0; row->names[i]; i++)
			if (!strcmp(row->names[i], v->str)) {
				memcpy(dst, &i, sizeof(i));
				ok = true;
			}
		break;
	case CONFIG_V_STRING: {
		const char *why = v->len == 0 ? "a non-empty string" :
				  row->check		  ? row->check(v->str) :
							    NULL;
		char *copy;

		if (why) {
			snprintf(expect, sizeof(expect), "%s", why);
			break;
		}
		copy = strdup(v->str);
		if (!copy) {
			w->oom = 1;
			return false;
		}
		free(*(char **)dst);
		*(char **)dst = copy;
		ok = true;
		break;
	}
	default:
		break;
	}
	if (ok)
		return true;
bad:
	if (!found[0])
		describe(v, found, sizeof(found));
	format_bound(row, row->min, lo, sizeof(lo));
	format_bound(row, row->max, hi, sizeof(hi));
	if (!expect[0]) {
		switch (row->type) {
		case CONFIG_V_INT:
			snprintf(expect, sizeof(expect), "an integer in [%s, %s]", lo, hi);
			break;
		case CONFIG_V_DOUBLE:
			snprintf(expect, sizeof(expect), "a number in [%s, %s]", lo, hi);
			break;
		case CONFIG_V_DURATION:
			snprintf(expect, sizeof(expect),
				 "a duration in [%s, %s] (seconds, or with a unit: 90s, 5m, 1h)", lo,
				 hi);
			break;
		case CONFIG_V_BOOL:
			snprintf(expect, sizeof(expect), "true or false");
			break;
		case CONFIG_V_ENUM: {
			size_t o = 0;

			o += (size_t)snprintf(expect, sizeof(expect), "one of ");
			for (int i = 0; row->names[i] && o < sizeof(expect); i++)
				o += (size_t)snprintf(expect + o, sizeof(expect) - o, "%s%s",
						      i ? ", " : "", row->names[i]);
			break;
		}
		default:
			snprintf(expect, sizeof(expect), "a string");
			break;
		}
	}
	diag(w, CONFIG_ERROR, v->mark, path, "expected %s, found %s%s%s", expect, found,
	     row->hint ? "; " : "", row->hint ? row->hint : "");
	return false;
}

static void walk_map(struct walk *w, const ynode_t *map, const config_scope_t *sc,
		     const char *prefix, const char *path_prefix, void *base,
		     struct config_meta *meta);

static void walk_headers(struct walk *w, const ynode_t *map, const char *path,
			 config_prometheus_t *prom)
{
	char p[2 * PATH_MAX_LEN];

	if (map->kind != YN_MAP) {
		if (!ynode_is_null(map)) {
			char found[128];

			describe(map, found, sizeof(found));
			diag(w, CONFIG_ERROR, map->mark, path,
			     "expected a mapping of header names to values, found %s", found);
		}
		return;
	}
	if (map->n / 2 > CONFIG_MAX_HEADERS) {
		diag(w, CONFIG_ERROR, map->mark, path, "expected at most %d headers, found %zu",
		     CONFIG_MAX_HEADERS, map->n / 2);
		return;
	}
	prom->headers = calloc(map->n / 2 + 1, sizeof(*prom->headers));
	if (!prom->headers) {
		w->oom = 1;
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const ynode_t *k = map->v[i], *v = map->v[i + 1];
		config_header_t *h = &prom->headers[prom->n_headers];
		const char *why;
		char found[128];

		if (k->kind != YN_SCALAR || (why = check_header_name(k->str)) || !k->len) {
			describe(k, found, sizeof(found));
			diag(w, CONFIG_ERROR, k->mark, path, "expected an HTTP header name, found %s",
			     found);
			continue;
		}
		snprintf(p, sizeof(p), "%s.%s", path, k->str);
		if (v->kind != YN_SCALAR || ynode_is_null(v) || strlen(v->str) != v->len ||
		    check_text(v->str)) {
			describe(v, found, sizeof(found));
			diag(w, CONFIG_ERROR, v->mark, p,
			     "expected a header value without control characters, found %s",
			     found);
			continue;
		}
		h->name = strdup(k->str);
		h->value = strdup(v->str);
		prom->n_headers++;
		if (!h->name || !h->value)
			w->oom = 1;
	}
}

/* One side of behavior: a list of {type, value, period}. */
static void walk_rates(struct walk *w, const ynode_t *seq, const char *path, bool down,
		       engine_rules_t *rules)
{
	char p[PATH_MAX_LEN + 32], found[128];

	rules->n = 0;
	if (seq->kind != YN_SEQ) {
		if (ynode_is_null(seq))
			return;
		describe(seq, found, sizeof(found));
		diag(w, CONFIG_ERROR, seq->mark, path,
		     "expected a list of {type, value, period}, found %s", found);
		return;
	}
	if (seq->n > ENGINE_MAX_RATE_POLICIES) {
		diag(w, CONFIG_ERROR, seq->mark, path, "expected at most %d policies, found %zu",
		     ENGINE_MAX_RATE_POLICIES, seq->n);
		return;
	}
	for (size_t i = 0; i < seq->n; i++) {
		struct config_meta meta = { 0 };
		engine_rate_policy_t *rp = &rules->p[rules->n];
		size_t before = w->d->errors;

		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		memset(rp, 0, sizeof(*rp));
		if (seq->v[i]->kind != YN_MAP) {
			describe(seq->v[i], found, sizeof(found));
			diag(w, CONFIG_ERROR, seq->v[i]->mark, p,
			     "expected a mapping {type, value, period}, found %s", found);
			continue;
		}
		strcat(p, ".");
		walk_map(w, seq->v[i], &config_rate_scope, "", p, rp, &meta);
		p[strlen(p) - 1] = '\0';
		for (size_t r = 0; r < R_COUNT; r++)
			if (!meta.mark[r].line)
				diag(w, CONFIG_ERROR, seq->v[i]->mark, p, "missing key \"%s\"",
				     rate_rows[r].key);
		if (w->d->errors != before)
			continue;
		if (down && rp->type == ENGINE_RATE_PERCENT && rp->value > 100) {
			char vp[PATH_MAX_LEN + 48];

			snprintf(vp, sizeof(vp), "%s.value", p);
			diag(w, CONFIG_ERROR, meta.mark[R_VALUE], vp,
			     "expected at most 100 percent when scaling down, found %d", rp->value);
			continue;
		}
		rules->n++;
	}
}

static void walk_policies(struct walk *w, const ynode_t *seq, config_t *c);

static void walk_map(struct walk *w, const ynode_t *map, const config_scope_t *sc,
		     const char *prefix, const char *path_prefix, void *base,
		     struct config_meta *meta)
{
	char full[PATH_MAX_LEN], path[PATH_MAX_LEN], here[PATH_MAX_LEN];

	/* The block's own path, for messages about the block ("policies[0].target"). */
	snprintf(here, sizeof(here), "%s%s", path_prefix, prefix);
	if (here[0] && here[strlen(here) - 1] == '.')
		here[strlen(here) - 1] = '\0';

	for (size_t i = 0; i + 1 < map->n && !too_many(w) && !w->oom; i += 2) {
		const ynode_t *k = map->v[i], *v = map->v[i + 1];
		const config_row_t *row;
		size_t idx, j;
		char shown[128];

		if (k->kind != YN_SCALAR || ynode_is_null(k)) {
			describe(k, shown, sizeof(shown));
			diag(w, CONFIG_ERROR, k->mark, here, "expected a key name, found %s", shown);
			continue;
		}
		for (j = 0; j < i; j += 2)
			if (map->v[j]->kind == YN_SCALAR && map->v[j]->len == k->len &&
			    !memcmp(map->v[j]->str, k->str, k->len))
				break;
		snprintf(full, sizeof(full), "%s%s", prefix, k->str);
		snprintf(path, sizeof(path), "%s%s", path_prefix, full);
		if (j < i) {
			describe(k, shown, sizeof(shown));
			diag(w, CONFIG_ERROR, k->mark, path,
			     "duplicate key %s (first at line %d, column %d)", shown,
			     map->v[j]->mark.line, map->v[j]->mark.col);
			continue;
		}
		row = strlen(k->str) == k->len && strlen(prefix) + k->len < sizeof(full) ?
			      find_row(sc, full, &idx) :
			      NULL;
		if (!row) {
			unknown_key(w, sc, prefix, here, k);
			continue;
		}
		switch (row->type) {
		case CONFIG_V_BLOCK:
			meta->mark[idx] = k->mark;
			if (v->kind == YN_MAP) {
				char sub[PATH_MAX_LEN + 2];

				snprintf(sub, sizeof(sub), "%s.", full);
				walk_map(w, v, sc, sub, path_prefix, base, meta);
			} else if (!ynode_is_null(v)) {
				describe(v, shown, sizeof(shown));
				diag(w, CONFIG_ERROR, v->mark, path, "expected a mapping, found %s",
				     shown);
			}
			break;
		case CONFIG_V_HEADERS:
			meta->mark[idx] = k->mark;
			walk_headers(w, v, path, &((config_t *)base)->prometheus);
			break;
		case CONFIG_V_RATES:
			meta->mark[idx] = k->mark;
			walk_rates(w, v, path, idx == P_BH_DOWN_POLICIES,
				   (engine_rules_t *)((char *)base + row->off));
			break;
		case CONFIG_V_POLICIES:
			meta->mark[idx] = k->mark;
			walk_policies(w, v, (config_t *)base);
			break;
		default:
			if (set_scalar(w, row, v, path, base))
				meta->mark[idx] = k->mark;
			else
				/* Set, but wrongly: no "missing" error on top, no default. */
				meta->mark[idx] = (config_mark_t){ -1, -1 };
			break;
		}
	}
}

/* Defaults for every row the file left out, and errors for required rows it left out. */
static void finish_scope(struct walk *w, const config_scope_t *sc, void *base,
			 struct config_meta *meta, const char *path_prefix, config_mark_t at)
{
	char path[PATH_MAX_LEN];

	for (size_t i = 0; i < sc->n; i++) {
		const config_row_t *row = &sc->rows[i];
		int parent;

		if (meta->mark[i].line)
			continue;
		if (row->def) {
			ynode_t v = { .kind = YN_SCALAR, .plain = true };
			struct walk silent = *w;
			bool ok;

			v.str = (char *)row->def;
			v.len = strlen(row->def);
			ok = set_scalar(&silent, row, &v, row->key, base);
			w->oom |= silent.oom;
			/* A default that does not parse is a bug in the table above. */
			if (!ok && !silent.oom)
				abort();
			continue;
		}
		if (!(row->flags & CONFIG_F_REQUIRED))
			continue;
		parent = config_parent_row(sc, row->key);
		if (parent >= 0 && meta->mark[parent].line <= 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", path_prefix,
			 parent >= 0 ? sc->rows[parent].key : "");
		if (parent < 0 && path[0] && path[strlen(path) - 1] == '.')
			path[strlen(path) - 1] = '\0';
		diag(w, CONFIG_ERROR, parent >= 0 ? meta->mark[parent] : at, path,
		     "missing key \"%s\"", parent >= 0 ? row->key + strlen(sc->rows[parent].key) + 1 :
							   row->key);
	}
}

static void walk_policies(struct walk *w, const ynode_t *seq, config_t *c)
{
	char found[128];

	if (seq->kind != YN_SEQ || seq->n == 0) {
		describe(seq, found, sizeof(found));
		diag(w, CONFIG_ERROR, seq->mark, "policies",
		     "expected a list of at least one policy, found %s",
		     seq->kind == YN_SEQ ? "an empty list" : found);
		return;
	}
	if (seq->n > CONFIG_MAX_POLICIES) {
		diag(w, CONFIG_ERROR, seq->mark, "policies",
		     "expected at most %d policies, found %zu", CONFIG_MAX_POLICIES, seq->n);
		return;
	}
	c->policies = calloc(seq->n, sizeof(*c->policies));
	if (!c->policies) {
		w->oom = 1;
		return;
	}
	for (size_t i = 0; i < seq->n && !too_many(w) && !w->oom; i++) {
		config_policy_t *p = &c->policies[c->n_policies++];
		const ynode_t *item = seq->v[i];
		char pp[64];

		snprintf(pp, sizeof(pp), "policies[%zu].", i);
		p->meta = calloc(1, sizeof(*p->meta));
		if (!p->meta) {
			w->oom = 1;
			return;
		}
		if (item->kind != YN_MAP) {
			p->meta->bad = true;
			describe(item, found, sizeof(found));
			pp[strlen(pp) - 1] = '\0';
			diag(w, CONFIG_ERROR, item->mark, pp, "expected a policy (a mapping), found %s",
			     found);
			continue;
		}
		size_t before = w->d->errors;

		p->meta->self = item->mark;
		walk_map(w, item, &config_policy_scope, "", pp, p, p->meta);
		finish_scope(w, &config_policy_scope, p, p->meta, pp, item->mark);
		p->meta->bad = w->d->errors != before;
	}
}

/* ---- cross-checks --------------------------------------------------------------------- */

static bool set_in_file(const struct config_meta *m, int row)
{
	return m->mark[row].line > 0;
}

/* The position to report for a row: where it was set, else its block, else the policy. */
static config_mark_t where(const config_policy_t *p, int row)
{
	int parent = row;

	while (parent >= 0) {
		if (p->meta->mark[parent].line > 0)
			return p->meta->mark[parent];
		parent = config_parent_row(&config_policy_scope, policy_rows[parent].key);
	}
	return p->meta->self;
}

config_mark_t config_policy_where(const config_policy_t *p, const char *key)
{
	int row;

	if (!p->meta || !key)
		return (config_mark_t){ 0, 0 };
	for (row = 0; row < P_COUNT; row++)
		if (!strcmp(policy_rows[row].key, key))
			return where(p, row);
	return (config_mark_t){ 0, 0 };
}

static void pdiag(struct walk *w, config_severity_t sev, const config_policy_t *p, size_t i,
		  int row, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void pdiag(struct walk *w, config_severity_t sev, const config_policy_t *p, size_t i,
		  int row, const char *fmt, ...)
{
	char path[PATH_MAX_LEN], msg[1024];
	va_list ap;

	snprintf(path, sizeof(path), "policies[%zu].%s", i, policy_rows[row].key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag(w, sev, where(p, row), path, "%s", msg);
}

void config_capacity(const config_policy_t *p, config_capacity_t *ret)
{
	config_capacity_t c = { 0 };

	c.gpus_per_node = p->engine.gpus_per_node;
	c.source = p->gpu_source;
	c.gpus_per_replica = p->engine.gpus_per_replica;
	c.replicas_per_node = engine_replicas_per_node(&p->engine);
	c.nodes_max = engine_nodes_max(&p->engine);
	c.hostable = c.replicas_per_node < 0 ? -1 : c.nodes_max * c.replicas_per_node;
	c.idle_gpus_per_node = c.replicas_per_node > 0 ?
				       c.gpus_per_node - c.replicas_per_node * c.gpus_per_replica :
				       0;
	c.max_eff = engine_max_eff(&p->engine);
	*ret = c;
}

/* Resolve what defaults cannot express: derived values and the behavior lists. */
static void resolve_policy(config_policy_t *p)
{
	const struct config_meta *m = p->meta;
	engine_policy_t *e = &p->engine;

	/* tolerance_up / tolerance_down win over tolerance. */
	if (!set_in_file(m, P_TOL_UP))
		e->tol_up = p->tolerance;
	if (!set_in_file(m, P_TOL_DOWN))
		e->tol_down = p->tolerance;
	if (!set_in_file(m, P_REPLICA_COUNT))
		p->replica_count = e->min_replicas;
	e->nodes = set_in_file(m, P_NODE);
	p->initial_pool_size = e->nodes && !set_in_file(m, P_POOL_SIZE) ? e->min_nodes :
									    e->pool_size;
	e->fallback = set_in_file(m, P_FALLBACK);

	if (set_in_file(m, P_GPUS_PER_NODE)) {
		p->gpu_source = CONFIG_GPUS_OVERRIDE;
	} else if ((e->gpus_per_node = config_shape_gpus(p->node_shape, NULL)) > 0) {
		p->gpu_source = CONFIG_GPUS_SHAPE;
	} else {
		e->gpus_per_node = 0;
		p->gpu_source = CONFIG_GPUS_UNKNOWN;
	}

	/* Corrino's scaling_period_*: one pod per period, unless behavior replaces it. */
	if (!set_in_file(m, P_BH_UP)) {
		e->up.select = ENGINE_SELECT_MAX;
		e->up.n = 1;
		e->up.p[0] = (engine_rate_policy_t){ ENGINE_RATE_PODS, 1, p->period_up };
	}
	if (!set_in_file(m, P_BH_DOWN)) {
		e->down.select = ENGINE_SELECT_MAX;
		e->down.n = 1;
		e->down.p[0] = (engine_rate_policy_t){ ENGINE_RATE_PODS, 1, p->period_down };
	}
}

static void check_policy(struct walk *w, config_policy_t *p, size_t i)
{
	const struct config_meta *m = p->meta;
	engine_policy_t *e = &p->engine;
	config_capacity_t cap;
	char hosts[256];

	if (e->min_replicas > e->max_replicas) {
		pdiag(w, CONFIG_ERROR, p, i, P_MIN, "min_replicas %d is above max_replicas %d",
		      e->min_replicas, e->max_replicas);
		return;
	}
	if (e->nodes && e->min_nodes > e->max_nodes) {
		pdiag(w, CONFIG_ERROR, p, i, P_MIN_NODES, "min_nodes %d is above max_nodes %d",
		      e->min_nodes, e->max_nodes);
		return;
	}
	if (p->gpu_source == CONFIG_GPUS_UNKNOWN && p->node_shape)
		pdiag(w, e->nodes ? CONFIG_ERROR : CONFIG_WARNING, p, i, P_SHAPE,
		      "shape \"%s\" is not in the built-in shape table: GPUs per node unknown%s; "
		      "set gpus_per_node",
		      p->node_shape, e->nodes ? "" : ", capacity not checked");
	else if (p->gpu_source == CONFIG_GPUS_UNKNOWN && e->nodes)
		pdiag(w, CONFIG_ERROR, p, i, P_NODE,
		      "node autoscaling needs GPUs per node: set recipe_node_shape to a GPU shape "
		      "or set gpus_per_node");
	if (p->gpu_source == CONFIG_GPUS_UNKNOWN)
		goto no_capacity;

	config_capacity(p, &cap);
	if (cap.replicas_per_node == 0) {
		pdiag(w, CONFIG_ERROR, p, i, P_GPU_COUNT,
		      "recipe_nvidia_gpu_count %d is more than the %d GPUs of a%s%s node: no replica "
		      "can ever be scheduled",
		      cap.gpus_per_replica, cap.gpus_per_node, p->node_shape ? " " : "",
		      p->node_shape ? p->node_shape : "");
		return;
	}
	if (cap.idle_gpus_per_node > 0)
		pdiag(w, CONFIG_WARNING, p, i, P_GPU_COUNT,
		      "%d GPU%s per node stay%s idle: %d replica%s of %d GPUs fit in the %d GPUs "
		      "of a node",
		      cap.idle_gpus_per_node, cap.idle_gpus_per_node == 1 ? "" : "s",
		      cap.idle_gpus_per_node == 1 ? "s" : "", cap.replicas_per_node,
		      cap.replicas_per_node == 1 ? "" : "s", cap.gpus_per_replica,
		      cap.gpus_per_node);
	snprintf(hosts, sizeof(hosts), "%d replica%s the node pool can host (%d node%s x %d per node%s)",
		 cap.hostable, cap.hostable == 1 ? "" : "s", cap.nodes_max,
		 cap.nodes_max == 1 ? "" : "s", cap.replicas_per_node,
		 e->nodes ? "" : ", no node autoscaling");
	if (e->min_replicas > cap.max_eff) {
		pdiag(w, CONFIG_ERROR, p, i, P_MIN, "min_replicas %d is above the %s",
		      e->min_replicas, hosts);
		return;
	}
	if (e->max_replicas > cap.hostable)
		pdiag(w, CONFIG_WARNING, p, i, P_MAX,
		      "max_replicas %d is above the %s: the extra %d replica%s would stay Pending; "
		      "autoscalerd asks for at most %d",
		      e->max_replicas, hosts, e->max_replicas - cap.hostable,
		      e->max_replicas - cap.hostable == 1 ? "" : "s", cap.max_eff);
	if (e->nodes && (e->pool_size < e->min_nodes || e->pool_size > e->max_nodes) &&
	    set_in_file(m, P_POOL_SIZE))
		pdiag(w, CONFIG_WARNING, p, i, P_POOL_SIZE,
		      "recipe_node_pool_size %d is outside [min_nodes %d, max_nodes %d]",
		      e->pool_size, e->min_nodes, e->max_nodes);
no_capacity:
	if (e->fallback && e->fallback_replicas > 0 &&
	    (e->fallback_replicas < e->min_replicas || e->fallback_replicas > e->max_replicas))
		pdiag(w, CONFIG_ERROR, p, i, P_FB_REPLICAS,
		      "fallback.replicas %d is outside [min_replicas %d, max_replicas %d]",
		      e->fallback_replicas, e->min_replicas, e->max_replicas);
	if (!p->query && e->threshold > 1)
		pdiag(w, CONFIG_WARNING, p, i, P_THRESHOLD,
		      "scaling_threshold %g is outside (0, 1]: the default query is the fraction of "
		      "slow requests, at most 1, so this policy would never scale up",
		      e->threshold);
	if (!p->query && e->metric_type == ENGINE_METRIC_AVERAGE_VALUE)
		pdiag(w, CONFIG_WARNING, p, i, P_METRIC_TYPE,
		      "average_value with the default query (a fraction, at most 1) never asks "
		      "for more than ceil(1 / %g) replicas",
		      e->threshold);
	if (p->query && set_in_file(m, P_SELECTOR) && !strstr(p->query, "{{selector}}"))
		pdiag(w, CONFIG_WARNING, p, i, P_SELECTOR,
		      "metric_selector is not used: query has no {{selector}}");
	if (p->query && set_in_file(m, P_LATENCY) && !strstr(p->query, "{{latency_slo}}"))
		pdiag(w, CONFIG_WARNING, p, i, P_LATENCY,
		      "latency_slo_seconds is not used: query has no {{latency_slo}}");
	if (set_in_file(m, P_BH_UP) && set_in_file(m, P_PERIOD_UP))
		pdiag(w, CONFIG_WARNING, p, i, P_PERIOD_UP,
		      "scaling_period_up is not used: behavior.scale_up replaces it");
	if (set_in_file(m, P_BH_DOWN) && set_in_file(m, P_PERIOD_DOWN))
		pdiag(w, CONFIG_WARNING, p, i, P_PERIOD_DOWN,
		      "scaling_period_down is not used: behavior.scale_down replaces it");
	if (set_in_file(m, P_BH_UP) && e->up.select != ENGINE_SELECT_DISABLED && e->up.n == 0)
		pdiag(w, CONFIG_ERROR, p, i, P_BH_UP,
		      "expected at least one policy (or select: disabled)");
	if (set_in_file(m, P_BH_DOWN) && e->down.select != ENGINE_SELECT_DISABLED &&
	    e->down.n == 0)
		pdiag(w, CONFIG_ERROR, p, i, P_BH_DOWN,
		      "expected at least one policy (or select: disabled)");
	if (set_in_file(m, P_TOL) && set_in_file(m, P_TOL_UP) && set_in_file(m, P_TOL_DOWN))
		pdiag(w, CONFIG_WARNING, p, i, P_TOL,
		      "tolerance is not used: tolerance_up and tolerance_down are both set");
}

/* Two policies must not share a name, a Deployment or a node pool. Sorting keeps this
 * O(n log n) at CONFIG_MAX_POLICIES; the first in file order is the one others collide with. */
struct policy_key {
	const char *a, *b; /* b may be "" */
	size_t i;
};

static int cmp_policy_key(const void *x, const void *y)
{
	const struct policy_key *p = x, *q = y;
	int r = strcmp(p->a, q->a);

	if (!r)
		r = strcmp(p->b, q->b);
	return r ? r : (p->i > q->i) - (p->i < q->i);
}

enum { UNIQUE_NAME, UNIQUE_TARGET, UNIQUE_POOL };

static void check_unique_by(struct walk *w, config_t *c, int what)
{
	struct policy_key *k = calloc(c->n_policies + 1, sizeof(*k));
	size_t n = 0;

	if (!k) {
		w->oom = 1;
		return;
	}
	for (size_t i = 0; i < c->n_policies; i++) {
		const config_policy_t *p = &c->policies[i];
		const char *a = what == UNIQUE_NAME ? p->name :
				what == UNIQUE_POOL ? p->node_pool_id :
						      p->namespace_;
		const char *b = what == UNIQUE_TARGET ? p->deployment : "";

		if (a && b)
			k[n++] = (struct policy_key){ a, b, i };
	}
	qsort(k, n, sizeof(*k), cmp_policy_key);
	for (size_t j = 1, first = 0; j < n; j++) {
		config_policy_t *p, *f;
		config_mark_t fm;

		if (strcmp(k[j].a, k[first].a) || strcmp(k[j].b, k[first].b)) {
			first = j;
			continue;
		}
		p = &c->policies[k[j].i];
		f = &c->policies[k[first].i];
		switch (what) {
		case UNIQUE_NAME:
			fm = where(f, P_NAME);
			pdiag(w, CONFIG_ERROR, p, k[j].i, P_NAME,
			      "duplicate policy name \"%s\" (first at line %d, column %d)", p->name,
			      fm.line, fm.col);
			break;
		case UNIQUE_TARGET:
			fm = where(f, P_TARGET);
			pdiag(w, CONFIG_ERROR, p, k[j].i, P_TARGET,
			      "Deployment %s/%s is already the target of policy \"%s\" (line %d): two "
			      "policies would fight over it",
			      p->namespace_, p->deployment, f->name ? f->name : "?", fm.line);
			break;
		default:
			fm = where(f, P_NODE_POOL);
			pdiag(w, CONFIG_ERROR, p, k[j].i, P_NODE_POOL,
			      "node pool %s is already used by policy \"%s\" (line %d): node pools are "
			      "dedicated to one policy",
			      p->node_pool_id, f->name ? f->name : "?", fm.line);
			break;
		}
	}
	free(k);
}

static void check_unique(struct walk *w, config_t *c)
{
	check_unique_by(w, c, UNIQUE_NAME);
	check_unique_by(w, c, UNIQUE_TARGET);
	check_unique_by(w, c, UNIQUE_POOL);
}

static void check_global(struct walk *w, config_t *c)
{
	const struct config_meta *m = c->meta;
	const config_prometheus_t *pr = &c->prometheus;

#define GMARK(row) (m->mark[row].line > 0 ? m->mark[row] : (config_mark_t){ 0, 0 })
	if (pr->insecure_skip_tls_verify)
		diag(w, CONFIG_WARNING, GMARK(G_PROM_INSECURE), "prometheus.insecure_skip_tls_verify",
		     "TLS verification of Prometheus is off: anyone on the path can feed this "
		     "daemon metrics");
	if (pr->max_in_flight > 512)
		diag(w, CONFIG_WARNING, GMARK(G_PROM_MAX_IN_FLIGHT), "prometheus.max_in_flight",
		     "%d is above Prometheus's default --web.max-connections (512): connections "
		     "past that limit are never accepted and their queries time out",
		     pr->max_in_flight);
	if (!!pr->cert_file != !!pr->key_file)
		diag(w, CONFIG_ERROR, GMARK(pr->cert_file ? G_PROM_CERT : G_PROM_KEY),
		     pr->cert_file ? "prometheus.cert_file" : "prometheus.key_file",
		     "a client certificate needs both cert_file and key_file");
	if (pr->bearer_token_file && m->mark[G_PROM_BASIC].line > 0)
		diag(w, CONFIG_ERROR, GMARK(G_PROM_BASIC), "prometheus.basic_auth",
		     "choose one of bearer_token_file and basic_auth");
	if (c->kubernetes.auth == CONFIG_KUBE_OKE) {
		if (!c->kubernetes.oke_cluster_id)
			diag(w, CONFIG_ERROR, GMARK(G_KUBE_AUTH), "kubernetes.oke",
			     "missing key \"cluster_id\" (needed by auth: oke)");
		if (!c->kubernetes.oke_server)
			diag(w, CONFIG_ERROR, GMARK(G_KUBE_AUTH), "kubernetes.oke",
			     "missing key \"server\" (needed by auth: oke)");
	} else if (m->mark[G_KUBE_OKE].line > 0) {
		diag(w, CONFIG_WARNING, GMARK(G_KUBE_OKE), "kubernetes.oke",
		     "not used: kubernetes.auth is not oke");
	}
	if (c->kubernetes.auth == CONFIG_KUBE_IN_CLUSTER &&
	    (c->kubernetes.kubeconfig || c->kubernetes.context))
		diag(w, CONFIG_WARNING,
		     GMARK(c->kubernetes.kubeconfig ? G_KUBE_KUBECONFIG : G_KUBE_CONTEXT),
		     c->kubernetes.kubeconfig ? "kubernetes.kubeconfig" : "kubernetes.context",
		     "not used: kubernetes.auth is in-cluster");
#undef GMARK
}

/* ---- load / free ---------------------------------------------------------------------- */

static void free_strings(const config_scope_t *sc, void *base)
{
	for (size_t i = 0; i < sc->n; i++)
		if (sc->rows[i].type == CONFIG_V_STRING) {
			char **s = (char **)((char *)base + sc->rows[i].off);

			free(*s);
			*s = NULL;
		}
}

config_t *config_free(config_t *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_policies; i++) {
		free_strings(&config_policy_scope, &c->policies[i]);
		free(c->policies[i].meta);
	}
	free(c->policies);
	for (size_t i = 0; i < c->prometheus.n_headers; i++) {
		free(c->prometheus.headers[i].name);
		free(c->prometheus.headers[i].value);
	}
	free(c->prometheus.headers);
	free_strings(&config_global_scope, c);
	free(c->meta);
	free(c->file);
	free(c);
	return NULL;
}

int config_load_buffer(const char *buf, size_t len, config_t **ret, config_diags_t *diags)
{
	struct walk w = { .d = diags, .errors_at_start = diags->errors };
	ynode_t *root = NULL;
	config_t *c = NULL;
	int r;

	if (len > CONFIG_MAX_FILE_SIZE) {
		config_diag_add(diags, CONFIG_ERROR, (config_mark_t){ 0, 0 },
				"file larger than %u bytes", CONFIG_MAX_FILE_SIZE);
		return -EFBIG;
	}
	r = ytree_parse(buf, len, &root, diags);
	if (r < 0)
		goto out;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->meta = calloc(1, sizeof(*c->meta)))) {
		r = -ENOMEM;
		goto out;
	}
	if (!root || ynode_is_null(root)) {
		diag(&w, CONFIG_ERROR, (config_mark_t){ 1, 1 }, NULL,
		     "empty policy file: expected a mapping with a \"policies\" list");
	} else if (root->kind != YN_MAP) {
		char found[128];

		describe(root, found, sizeof(found));
		diag(&w, CONFIG_ERROR, root->mark, NULL,
		     "expected a mapping with a \"policies\" list at the top, found %s", found);
	} else {
		walk_map(&w, root, &config_global_scope, "", "", c, c->meta);
		finish_scope(&w, &config_global_scope, c, c->meta, "", root->mark);
	}
	if (w.oom) {
		r = -ENOMEM;
		goto out;
	}
	/* Cross-checks on what parsed cleanly, so one typo does not hide the rest. */
	check_global(&w, c);
	for (size_t i = 0; i < c->n_policies; i++)
		if (!c->policies[i].meta->bad)
			resolve_policy(&c->policies[i]);
	check_unique(&w, c);
	for (size_t i = 0; i < c->n_policies; i++)
		if (!c->policies[i].meta->bad)
			check_policy(&w, &c->policies[i], i);
	config_diags_sort(diags);
	if (w.oom) {
		r = -ENOMEM;
		goto out;
	}
	if (diags->errors != w.errors_at_start) {
		r = -EINVAL;
		goto out;
	}
	*ret = c;
	c = NULL;
	r = 0;
out:
	config_free(c);
	ytree_free(root);
	return r;
}

int config_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int r = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			/* Read one byte past max, to tell "exactly max" from "larger". */
			if (cap > max) {
				r = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		r = -EFBIG;
		goto out;
	}
	if (!buf && !(buf = malloc(1))) {
		r = -ENOMEM;
		goto out;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return r;
}

int config_load_file(const char *path, config_t **ret, config_diags_t *diags)
{
	char *buf = NULL;
	size_t len = 0;
	config_t *c = NULL;
	int r;

	r = config_read_file(path, CONFIG_MAX_FILE_SIZE, &buf, &len);
	if (r == -EFBIG) {
		config_diag_add(diags, CONFIG_ERROR, (config_mark_t){ 0, 0 },
				"%s is larger than %u bytes", path, CONFIG_MAX_FILE_SIZE);
		return r;
	}
	if (r < 0) {
		if (r != -ENOMEM)
			config_diag_add(diags, CONFIG_ERROR, (config_mark_t){ 0, 0 },
					"cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = config_load_buffer(buf, len, &c, diags);
	if (r < 0)
		goto out;
	c->file = strdup(path);
	if (!c->file) {
		r = -ENOMEM;
		goto out;
	}
	*ret = c;
	c = NULL;
out:
	config_free(c);
	free(buf);
	return r;
}
