/* k8s.h - the Kubernetes API client (DESIGN.md section 7): credentials as clusters really
 * hand them out, and the calls autoscalerd makes, all asynchronous on http/.
 *
 * Credentials. A client talks to one API server (k8s_cluster_t, from a kubeconfig or the
 * in-cluster service account) with, in client-go's order of precedence:
 *   - an exec credential plugin: run as a child process, never blocking the loop (the
 *     client polls its pipes and its exit on an http_timer_t), with a timeout; its
 *     ExecCredential (client.authentication.k8s.io/v1 or v1beta1) gives status.token or
 *     status.clientCertificateData/clientKeyData, cached until status.expirationTimestamp
 *     (a minute before it) and run again after a 401;
 *   - a token source of the caller's (kubernetes.auth: oke: autoscalerd/ wires it to oci/,
 *     which mints OKE cluster tokens): asked for a token at the first call, before the
 *     expiry it gave, and after a 401;
 *   - a static token, or a token file re-read whenever it changes (bound service account
 *     tokens rotate);
 *   - a client certificate and key; basic auth.
 * Calls made while credentials are being fetched wait for them (in order); if fetching
 * fails, they fail with its error.
 *
 * Errors (k8s_result_t.error, one line, never a credential):
 *   401 -> credentials reloaded once (token file re-read, plugin re-run, source asked),
 *          the call repeated; a second 401 fails: "401 Unauthorized: the API server
 *          rejected the credentials of CONTEXT (SOURCE)";
 *   403 -> "403 Forbidden: the RBAC lacks VERB on RESOURCE in namespace NS
 *          (deploy/rbac.yaml grants it): " + the Status message, which names the user;
 *   404 -> "deployment NS/NAME not found" for the calls on one object;
 *   409 -> reason "Conflict": the caller re-reads and retries (leases); merge patches
 *          carry no resourceVersion and do not conflict;
 *   429, 5xx but 501, connection failures -> retried with full-jitter backoff (1 s
 *          doubling, cap 30 s, 4 attempts), at least what Retry-After asks;
 *   a Status body's message and reason are carried into the error.
 *
 * Functions return 0 or a negative errno; a call's callback is called exactly once, from
 * the loop (never from the function that started it), unless the call is cancelled or the
 * client freed first.
 */
#ifndef AUTOSCALERD_K8S_H
#define AUTOSCALERD_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/http.h"
#include "k8s/kubeconfig.h"

#define K8S_DEFAULT_TIMEOUT_MS 30000
#define K8S_DEFAULT_EXEC_TIMEOUT_MS 30000
#define K8S_MAX_EXEC_OUTPUT (1u << 20) /* bytes of a plugin's stdout, and of its stderr */
#define K8S_RETRY_ATTEMPTS 4

typedef struct k8s_client k8s_client_t;
typedef struct k8s_call k8s_call_t;

/* The caller's token source (OKE): called when the client needs a token - the first call,
 * refresh true after a 401 or when the token given is about to expire. It answers with
 * k8s_client_set_token(), at once or later from the loop. */
typedef void k8s_token_fn(k8s_client_t *c, bool refresh, void *userdata);

typedef struct k8s_client_opts {
	const k8s_cluster_t *cluster; /* required; copied */
	http_client_t *http;          /* required */
	int max_in_flight;            /* to the API server; 0: HTTP_DEFAULT_MAX_IN_FLIGHT */
	int64_t timeout_ms;           /* per attempt; 0: K8S_DEFAULT_TIMEOUT_MS */
	int64_t exec_timeout_ms;      /* a plugin's run, or the token source's answer; 0:
					 K8S_DEFAULT_EXEC_TIMEOUT_MS */
	http_retry_t retry;           /* 0s: the defaults above */
	k8s_token_fn *token_source;   /* optional; takes precedence over the cluster's token */
	void *token_userdata;
	const char *identity;         /* reportingInstance of Events, holder of Leases; NULL:
					 the host name */
} k8s_client_opts_t;

/* Checks the cluster (a plugin command that cannot be found fails here, with its
 * installHint), builds the TLS profile. -EINVAL, -ENOENT, -ENOMEM with err. */
int k8s_client_new(const k8s_client_opts_t *o, k8s_client_t **ret, char *err, size_t errsz);
/* Cancels every call (no callbacks), kills a running plugin and reaps it. NULL-safe. */
k8s_client_t *k8s_client_free(k8s_client_t *c);

/* The token source's answer: token, or NULL and error (what failed, one line). expires:
 * when the token stops working (0: unknown, asked again only after a 401). */
void k8s_client_set_token(k8s_client_t *c, const char *token, time_t expires, const char *error);

/* The namespace of the cluster's context (or the service account's). */
const char *k8s_client_namespace(const k8s_client_t *c);

/* What a call came to. */
typedef struct k8s_result {
	http_outcome_t outcome; /* HTTP_SUCCESS: the call did what it says */
	long status;            /* the last HTTP status; 0 without a response */
	const char *reason;     /* Status.reason ("NotFound", "Conflict", "Forbidden", ...) or "" */
	const char *error;      /* "" on success; else one line (see the top of this file) */
	int attempts;
	int64_t elapsed_ms;
} k8s_result_t;

void k8s_cancel(k8s_client_t *c, k8s_call_t *call); /* no-op inside its own callback */

/* ---- the scale subresource ----------------------------------------------------------------- */

typedef struct k8s_scale {
	int32_t spec_replicas;
	int32_t status_replicas;
	char selector[1024];     /* status.selector: the pods' label selector */
	char resource_version[64];
} k8s_scale_t;

/* scale is NULL unless the call succeeded. */
typedef void k8s_scale_fn(const k8s_result_t *r, const k8s_scale_t *scale, void *userdata);

/* GET /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale. */
int k8s_get_scale(k8s_client_t *c, const char *ns, const char *name, k8s_scale_fn *done,
		  void *userdata, k8s_call_t **ret, char *err, size_t errsz);
/* PATCH the same with application/merge-patch+json {"spec":{"replicas":N}}; the reply is
 * the Scale as the server has it after the patch. */
int k8s_patch_scale(k8s_client_t *c, const char *ns, const char *name, int32_t replicas,
		    k8s_scale_fn *done, void *userdata, k8s_call_t **ret, char *err,
		    size_t errsz);

/* ---- small writes -------------------------------------------------------------------------- */

/* Completion of a call that returns nothing the caller needs. */
typedef void k8s_done_fn(const k8s_result_t *r, void *userdata);

/* PATCH /api/v1/nodes/{name} {"spec":{"unschedulable":true|false}} (merge patch). */
int k8s_cordon(k8s_client_t *c, const char *node, bool unschedulable, k8s_done_fn *done,
	       void *userdata, k8s_call_t **ret, char *err, size_t errsz);

/* PATCH a pod's controller.kubernetes.io/pod-deletion-cost annotation (merge patch): the
 * ReplicaSet controller removes the pods of lowest cost first on a scale-down. */
int k8s_set_pod_deletion_cost(k8s_client_t *c, const char *ns, const char *pod, int32_t cost,
			      k8s_done_fn *done, void *userdata, k8s_call_t **ret, char *err,
			      size_t errsz);

/* ---- events --------------------------------------------------------------------------------- */

#define K8S_REPORTING_CONTROLLER "autoscalerd.io/autoscalerd"

typedef struct k8s_event {
	const char *namespace_, *deployment; /* regarding: the Deployment */
	const char *type;   /* "Normal" or "Warning" */
	const char *reason; /* "SuccessfulRescale", "FailedRescale", "FailedGetMetric", ... */
	const char *action; /* "Scale", "ResizeNodePool", ... */
	const char *note;   /* "New size: 4; reason: ..."; cut at 1024 bytes */
} k8s_event_t;

/* POST an events.k8s.io/v1 Event about the Deployment, as `kubectl describe` shows them:
 * eventTime now (MicroTime), reportingController K8S_REPORTING_CONTROLLER,
 * reportingInstance the client's identity, name "<deployment>.<hex nanoseconds>". */
int k8s_post_event(k8s_client_t *c, const k8s_event_t *e, k8s_done_fn *done, void *userdata,
		   k8s_call_t **ret, char *err, size_t errsz);

/* ---- other autoscalers on a target ----------------------------------------------------------- */

#define K8S_MAX_AUTOSCALERS 8

typedef struct k8s_autoscalers {
	size_t n_hpa;             /* HPAs (autoscaling/v2) whose scaleTargetRef is the Deployment */
	char hpa[K8S_MAX_AUTOSCALERS][254];
	size_t n_scaled_objects;  /* KEDA ScaledObjects (keda.sh/v1alpha1) targeting it */
	char scaled_objects[K8S_MAX_AUTOSCALERS][254];
	bool keda_installed;      /* false: the CRD is absent (404), which counts as none */
} k8s_autoscalers_t;

/* a is NULL unless r says success. */
typedef void k8s_autoscalers_fn(const k8s_result_t *r, const k8s_autoscalers_t *a,
				void *userdata);

/* Lists HPAs, then ScaledObjects, in ns, and keeps those on Deployment `deployment`. */
int k8s_find_autoscalers(k8s_client_t *c, const char *ns, const char *deployment,
			 k8s_autoscalers_fn *done, void *userdata, k8s_call_t **ret, char *err,
			 size_t errsz);

/* ---- leader election (coordination.k8s.io/v1 Leases) ----------------------------------------- */

/* client-go's timings. */
#define K8S_LEASE_DURATION_MS 15000
#define K8S_RENEW_DEADLINE_MS 10000
#define K8S_RETRY_PERIOD_MS 2000

typedef struct k8s_elector k8s_elector_t;

/* Leadership gained (true) or lost (false). It may call k8s_elector_release(), not
 * k8s_elector_free(). */
typedef void k8s_leader_fn(k8s_elector_t *e, bool leading, void *userdata);

typedef struct k8s_elector_opts {
	const char *namespace_, *name; /* the Lease */
	int64_t lease_ms, renew_deadline_ms, retry_ms; /* 0: the defaults above */
	k8s_leader_fn *changed;        /* required */
	void *userdata;
} k8s_elector_opts_t;

/* Tries to acquire the Lease every retry_ms, as client-go's leaderelection does: create it
 * when absent; take it when its holder is empty, us, or has not renewed it for
 * leaseDurationSeconds as measured on this process's monotonic clock from the moment this
 * elector saw the current record (never from the other holder's timestamps: clocks skew);
 * update with the resourceVersion read, so two candidates cannot both win (409). While
 * leading, renews every retry_ms, and gives up (changed(false)) when no renewal succeeded
 * for renew_deadline_ms. The holder identity is the client's. */
int k8s_elector_start(k8s_client_t *c, const k8s_elector_opts_t *o, k8s_elector_t **ret,
		      char *err, size_t errsz);
bool k8s_elector_leading(const k8s_elector_t *e);
/* Releases the Lease if held (holderIdentity emptied, leaseDurationSeconds 1, as client-go's
 * ReleaseOnCancel) - done is called once that update finished or failed (NULL: fire and
 * forget) - and stops trying. changed is not called again. */
void k8s_elector_release(k8s_elector_t *e, k8s_done_fn *done, void *userdata);
/* Stops at once (no release); cancels its calls. NULL-safe. Before the client. */
k8s_elector_t *k8s_elector_free(k8s_elector_t *e);

/* ---- access reviews (doctor) --------------------------------------------------------------- */

typedef struct k8s_access {
	const char *verb;        /* "get", "patch", "list", "watch", "create", "update" */
	const char *group;       /* "" for core */
	const char *resource;    /* "deployments", "pods", ... */
	const char *subresource; /* "scale" or NULL */
	const char *namespace_;  /* NULL: cluster-wide */
	const char *name;        /* NULL: any */
} k8s_access_t;

/* allowed is meaningful when r->outcome is HTTP_SUCCESS; reason is the server's
 * status.reason (may be ""). */
typedef void k8s_access_fn(const k8s_result_t *r, bool allowed, const char *reason,
			   void *userdata);

/* POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews. */
int k8s_can_i(k8s_client_t *c, const k8s_access_t *a, k8s_access_fn *done, void *userdata,
	      k8s_call_t **ret, char *err, size_t errsz);

/* "patch deployments.apps/scale in namespace default", for messages. */
size_t k8s_access_format(const k8s_access_t *a, char *buf, size_t size);

/* ==== label selectors and watched caches (selector.c, informer.c) ===========================
 *
 * Label selectors. The string syntax of a Scale's status.selector and of ?labelSelector=, as
 * apimachinery's labels.Parse reads it: requirements joined by ',' (AND), each one of
 *   KEY=VALUE  KEY==VALUE  KEY!=VALUE  KEY in (V1,V2,...)  KEY notin (V1,...)  KEY  !KEY
 *   KEY>INT  KEY<INT
 * with blanks (space, tab, CR, LF) allowed between tokens. KEY is a qualified name (an
 * optional DNS-1123 subdomain prefix and '/', then at most 63 of [A-Za-z0-9-_.] starting and
 * ending with an alphanumeric), a VALUE is a label value (empty, or the same at most 63
 * characters); "in"/"notin" may be keys and values. An empty selector (or only blanks)
 * matches everything. Matching is apimachinery's: '=', '==', 'in' need the key with one of
 * the values; '!=', 'notin' match also when the key is absent; '>'/'<' compare the label's
 * value as a decimal int64 (absent or not a number: no match).
 */

#define K8S_SELECTOR_MAX 8192 /* bytes of a selector string */

typedef struct k8s_selector k8s_selector_t;

typedef struct k8s_label {
	const char *key, *value;
} k8s_label_t;

/* Parses s (NUL-terminated). -EINVAL with err naming the byte offset and what was found
 * ("label selector: at byte 6: found ')', expected: ',' or 'end of string'"), -E2BIG over
 * K8S_SELECTOR_MAX, -ENOMEM. *ret (the caller's, k8s_selector_free) only on success. */
int k8s_selector_parse(const char *s, k8s_selector_t **ret, char *err, size_t errsz);
/* Whether labels (n pairs, keys distinct) satisfy every requirement. */
bool k8s_selector_matches(const k8s_selector_t *sel, const k8s_label_t *labels, size_t n);
/* True for the selector that matches everything. */
bool k8s_selector_empty(const k8s_selector_t *sel);
/* Its canonical form, as apimachinery prints it (requirements sorted by key, values sorted
 * and distinct: "app=llama,tier in (a,b)"); 0, or -ENOBUFS when size is too small. */
int k8s_selector_format(const k8s_selector_t *sel, char *buf, size_t size);
k8s_selector_t *k8s_selector_free(k8s_selector_t *sel); /* NULL-safe; returns NULL */

/* Watched caches of pods and nodes, as client-go's informers keep them.
 *
 * One cache = one paginated LIST (?limit=500 and continue tokens, so no page comes near the
 * 8 MiB response ceiling), then one WATCH (?watch=true&resourceVersion=RV
 * &allowWatchBookmarks=true&timeoutSeconds=300) whose ADDED/MODIFIED/DELETED events update a
 * compact store (the fields below, not whole objects) in hash tables keyed by namespace/name:
 * an event is O(1) however many objects there are. BOOKMARKs move the resourceVersion. What
 * happens when things go wrong:
 *   - a WATCH that ends cleanly (timeoutSeconds) is resumed at once from the last
 *     resourceVersion (after a backoff if it ended within a second without an event);
 *   - a broken stream, an error status or an ERROR event other than 410: the WATCH is
 *     resumed from the last resourceVersion after a backoff (1 s doubling to 30 s, half of
 *     it random);
 *   - 410 Gone (as a status or an ERROR event), an event line over K8S_MAX_WATCH_EVENT or
 *     one that is not a watch event: LIST again (the store is replaced when the new LIST
 *     is complete; counts keep answering from the old one meanwhile);
 *   - a failed LIST page: LIST again from the start after the backoff.
 * The last failure is kept for k8s_*_error() (one line, naming the call, e.g. the 403 that
 * says which RBAC rule is missing) until a LIST completes or a WATCH delivers an event.
 * changed(ud), when given, is called from the loop (a zero-delay timer: many events in a
 * row make one call) after the store changed; it may free the cache.
 *
 * The daemon keeps one pods cache per namespace in use (or one for all namespaces) and one
 * nodes cache, and asks them at every tick: a count is a scan of the cache's pods, never a
 * request. Caches must be freed before their client. */

#define K8S_LIST_PAGE 500
#define K8S_MAX_WATCH_EVENT ((size_t)4 << 20) /* bytes of one watch event line */
#define K8S_WATCH_BACKOFF_MS 1000
#define K8S_WATCH_BACKOFF_CAP_MS 30000
#define K8S_MAX_CACHED 1000000 /* objects in one cache; past it: an error, LIST again later */

typedef struct k8s_pods k8s_pods_t;   /* the pods of one namespace, or of all */
typedef struct k8s_nodes k8s_nodes_t; /* all nodes */

typedef void k8s_changed_fn(void *userdata);

/* Starts watching the pods of ns (NULL: every namespace: list/watch pods cluster-wide).
 * -EINVAL (ns not a DNS-1123 label), -ENOMEM, with err. *ret is the caller's. */
int k8s_pods_watch(k8s_client_t *c, const char *ns, k8s_changed_fn *changed, void *userdata,
		   k8s_pods_t **ret, char *err, size_t errsz);
bool k8s_pods_synced(const k8s_pods_t *p);       /* the first LIST is complete */
const char *k8s_pods_error(const k8s_pods_t *p); /* the last failure; "" when fine */
const char *k8s_pods_resource_version(const k8s_pods_t *p); /* where the store is; "" */
size_t k8s_pods_size(const k8s_pods_t *p);       /* pods in the store */
k8s_pods_t *k8s_pods_free(k8s_pods_t *p);        /* NULL-safe; returns NULL */

typedef struct k8s_pod_counts {
	int32_t total;         /* matching pods, neither terminating nor Succeeded/Failed */
	int32_t ready;         /* of them, with the Ready condition True */
	int32_t pending;       /* of them, in phase Pending */
	int32_t unschedulable; /* of them, with PodScheduled False, reason Unschedulable */
	char reason[512];      /* the scheduler's message on one of those (the first by name),
				  e.g. "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." */
} k8s_pod_counts_t;

/* Counts the pods of namespace ns matching sel (NULL: all) from the store: a scan of the
 * cache's pods, O(pods cached) - a per-namespace cache holds only its namespace's.
 * -EAGAIN before the first LIST is complete, -EINVAL when ns is not the cache's. */
int k8s_pods_count(const k8s_pods_t *p, const char *ns, const k8s_selector_t *sel,
		   k8s_pod_counts_t *ret);

/* Starts watching the nodes (list/watch nodes cluster-wide). -ENOMEM with err. */
int k8s_nodes_watch(k8s_client_t *c, k8s_changed_fn *changed, void *userdata,
		    k8s_nodes_t **ret, char *err, size_t errsz);
bool k8s_nodes_synced(const k8s_nodes_t *n);
const char *k8s_nodes_error(const k8s_nodes_t *n);
const char *k8s_nodes_resource_version(const k8s_nodes_t *n);
size_t k8s_nodes_size(const k8s_nodes_t *n);
k8s_nodes_t *k8s_nodes_free(k8s_nodes_t *n);

#define K8S_NODE_POOL_ANNOTATION "oci.oraclecloud.com/node-pool-id"

typedef struct k8s_node_info {
	char name[254];
	char provider_id[256]; /* spec.providerID (OKE: the instance OCID); cut if longer */
	bool ready;            /* the Ready condition True */
	bool unschedulable;    /* spec.unschedulable (cordoned) */
	int32_t gpus;          /* allocatable nvidia.com/gpu + amd.com/gpu */
	int32_t pods;          /* pods bound to it: not DaemonSet or mirror pods, not
				  terminating, not Succeeded/Failed */
	int32_t daemon_pods;   /* DaemonSet and mirror pods bound to it (same conditions) */
} k8s_node_info_t;

/* The nodes whose K8S_NODE_POOL_ANNOTATION is pool_id, sorted by name; the pods per node
 * come from all_pods, a cache of every namespace (NULL: 0). Writes at most max into out and
 * returns how many there are. O(nodes + pods cached * log max). */
size_t k8s_nodes_of_pool(const k8s_nodes_t *n, const k8s_pods_t *all_pods, const char *pool_id,
			 k8s_node_info_t *out, size_t max);

#endif
