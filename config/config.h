/* config.h - the policy file (YAML) and the Corrino recipe import.
 *
 * The whole schema of DESIGN.md section 3 is one table of rows (key, type, bounds, default,
 * doc) in config.c; the parser, the validation, `check`'s printout and docs/configuration.md
 * all come from it. Loading never stops at the first problem: every error and warning is
 * collected with its file position, the key, what was expected and what was found.
 *
 * Nothing here logs or exits; callers print the diagnostics.
 */
#ifndef AUTOSCALERD_CONFIG_H
#define AUTOSCALERD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/engine.h"

/* Input limits: anything larger is an error, never a crash or a stall. */
#define CONFIG_MAX_FILE_SIZE (4u << 20)
#define CONFIG_MAX_DEPTH 24
#define CONFIG_MAX_NODES 500000
#define CONFIG_MAX_SCALAR 65536
#define CONFIG_MAX_POLICIES 5000
#define CONFIG_MAX_HEADERS 32
#define CONFIG_MAX_DIAGS 200

/* A position in the input, 1-based; line 0 = concerns no single place. */
typedef struct config_mark {
	int line, col;
} config_mark_t;

typedef enum config_severity {
	CONFIG_WARNING,
	CONFIG_ERROR,
} config_severity_t;

typedef struct config_diag {
	config_severity_t severity;
	config_mark_t mark;
	char *msg; /* "policies[0].target.deployment: expected ..., found ..." */
} config_diag_t;

/* Diagnostics of one load, in input order. Owned by the caller: config_diags_clear(). */
typedef struct config_diags {
	config_diag_t *v;
	size_t n, cap;
	size_t errors, warnings;
	size_t dropped; /* past CONFIG_MAX_DIAGS */
} config_diags_t;

void config_diags_clear(config_diags_t *d);
/* Append one diagnostic (printf-style message), for the checks that run after loading (the
 * queries, in autoscalerd/). Past CONFIG_MAX_DIAGS only the counters move. Returns 0, or
 * -ENOMEM (the diagnostic is then counted as dropped). */
int config_diag_add(config_diags_t *d, config_severity_t sev, config_mark_t mark,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Order by position (stable), as a compiler reports; position-less ones first. */
void config_diags_sort(config_diags_t *d);
/* One line each, compiler style: "FILE:LINE:COL: error: ..." or "warning: ..." when the
 * diagnostic has no position. */
void config_diags_print(const config_diags_t *d, const char *file, FILE *out);

typedef enum config_kube_auth {
	CONFIG_KUBE_IN_CLUSTER,
	CONFIG_KUBE_KUBECONFIG,
	CONFIG_KUBE_OKE,
} config_kube_auth_t;

typedef enum config_oci_auth {
	CONFIG_OCI_API_KEY,
	CONFIG_OCI_SECURITY_TOKEN,
	CONFIG_OCI_INSTANCE_PRINCIPAL,
	CONFIG_OCI_WORKLOAD_IDENTITY,
} config_oci_auth_t;

typedef enum config_log_format {
	CONFIG_LOG_TEXT,
	CONFIG_LOG_JSON,
} config_log_format_t;

typedef enum config_state {
	CONFIG_STATE_FILE,
	CONFIG_STATE_CONFIGMAP,
	CONFIG_STATE_NONE,
} config_state_t;

typedef enum config_aggregation {
	CONFIG_AGG_NONE,
	CONFIG_AGG_SUM,
	CONFIG_AGG_MAX,
	CONFIG_AGG_AVG,
} config_aggregation_t;

typedef struct config_header {
	char *name, *value;
} config_header_t;

typedef struct config_prometheus {
	char *url;
	engine_ms_t timeout;
	int max_in_flight;
	char *bearer_token_file;
	char *ca_file, *cert_file, *key_file;
	char *basic_auth_username, *basic_auth_password_file;
	config_header_t *headers;
	size_t n_headers;
	bool insecure_skip_tls_verify;
} config_prometheus_t;

typedef struct config_kubernetes {
	config_kube_auth_t auth;
	char *kubeconfig; /* NULL: $KUBECONFIG, then ~/.kube/config */
	char *context;    /* NULL: current-context */
	char *oke_cluster_id, *oke_server, *oke_ca_file;
} config_kubernetes_t;

typedef struct config_oci {
	config_oci_auth_t auth;
	char *config_file;
	char *profile;
	char *region;   /* NULL: from the OCI config file */
	char *endpoint; /* NULL: containerengine.{region}.oci.oraclecloud.com */
	char *ca_file;  /* NULL: the system's CAs */
} config_oci_t;

typedef struct config_daemon {
	char *listen;
	config_log_format_t log_format;
	config_state_t state;
	char *state_file;
	char *state_configmap_namespace, *state_configmap_name;
	bool leader_election;
	char *leader_election_namespace, *leader_election_lease;
} config_daemon_t;

/* Where GPUs per node came from. */
typedef enum config_gpu_source {
	CONFIG_GPUS_UNKNOWN,
	CONFIG_GPUS_SHAPE,    /* the built-in shape table */
	CONFIG_GPUS_OVERRIDE, /* gpus_per_node */
} config_gpu_source_t;

struct config_meta; /* positions and set-flags of each key, private */

typedef struct config_policy {
	char *name;
	char *namespace_, *deployment;
	bool allow_other_autoscalers;
	char *node_shape;      /* recipe_node_shape, may be NULL */
	int replica_count;     /* recipe_replica_count; defaults to min_replicas */
	int initial_pool_size; /* pool size assumed at start (replay): recipe_node_pool_size
				* if the file sets it, else min_nodes with node autoscaling */
	engine_ms_t window;    /* collect_metrics_timespan */
	engine_ms_t polling_interval;
	engine_ms_t period_up, period_down; /* scaling_period_*: one pod per period */
	double tolerance;      /* resolved into engine.tol_up / tol_down */
	char *query;           /* NULL: the default (Corrino) query */
	char *metric_selector; /* NULL: namespace/pod of the target */
	double latency_slo;    /* latency_slo_seconds */
	config_aggregation_t series_aggregation;
	char *node_pool_id;    /* may be NULL outside `run` */
	config_gpu_source_t gpu_source;
	engine_policy_t engine; /* the engine's view, fully resolved */
	struct config_meta *meta;
} config_policy_t;

typedef struct config {
	char *file;
	config_prometheus_t prometheus;
	config_kubernetes_t kubernetes;
	config_oci_t oci;
	config_daemon_t daemon;
	config_policy_t *policies;
	size_t n_policies;
	struct config_meta *meta;
} config_t;

/* Parse and validate a policy file. On success (no error diagnostics) *ret owns a config_t
 * and 0 is returned; warnings may be in diags. On failure returns -EINVAL (bad input),
 * -ENOENT/-EACCES/... (cannot read), -EFBIG (over CONFIG_MAX_FILE_SIZE) or -ENOMEM, with
 * the reasons in diags, and *ret is untouched. `name` is used in no message; the caller
 * prints diags with the file name it chose. */
int config_load_file(const char *path, config_t **ret, config_diags_t *diags);
/* A whole file ("-": stdin) into a NUL-terminated malloc'd buffer of at most max bytes.
 * Returns 0, or a negative errno: -EFBIG past max, -ENOENT, -EACCES, -ENOMEM, ... */
int config_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
int config_load_buffer(const char *buf, size_t len, config_t **ret, config_diags_t *diags);
config_t *config_free(config_t *c);

/* GPUs per node of a known OCI GPU shape (DESIGN section 6), or 0 when unknown. `resource`
 * gets "nvidia.com/gpu" or "amd.com/gpu". */
int config_shape_gpus(const char *shape, const char **resource);

/* The capacity plan of one policy. */
typedef struct config_capacity {
	int gpus_per_node; /* 0 = unknown */
	config_gpu_source_t source;
	int gpus_per_replica;
	int replicas_per_node; /* -1 = unknown */
	int nodes_max;
	int hostable;          /* nodes_max * replicas_per_node, -1 = unknown */
	int idle_gpus_per_node;
	int max_eff;
} config_capacity_t;

void config_capacity(const config_policy_t *p, config_capacity_t *ret);

/* Where to point a diagnostic about a policy's key ("recipe_pod_autoscaling_params.query"):
 * the key's position when the file sets it, else its enclosing block's, else the policy's.
 * {0, 0} for an unknown key or a policy that did not come from a file. */
config_mark_t config_policy_where(const config_policy_t *p, const char *key);

/* The normalized policy: every key with its value, "# default" where the file did not set
 * it. YAML-shaped, so it reads like the file it came from. */
void config_print_policy(const config_policy_t *p, FILE *out);
/* The reference of every key (markdown), from the same table: docs/configuration.md. */
void config_print_reference(FILE *out);

/* Corrino recipe JSON -> policy YAML (DESIGN section 3). Returns 0 and *ret_yaml (malloc'd,
 * caller frees) on success, -EINVAL with an error diagnostic (line and column of the JSON)
 * on bad input. Warnings (misplaced parameters) go to diags as well. namespace/deployment
 * override the recipe's when not NULL. */
int config_import_recipe(const char *json, size_t len, const char *namespace_,
			 const char *deployment, char **ret_yaml, config_diags_t *diags);

#endif
