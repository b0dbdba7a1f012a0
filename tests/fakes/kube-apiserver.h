/* kube-apiserver.h - an in-process fake Kubernetes API server for the k8s/ tests
 * (libmicrohttpd, a thread per connection so WATCH streams can block), on 127.0.0.1 and a
 * port the kernel picks. It is strict where the real server is strict:
 *
 *   - authentication: bearer tokens (kube_fake_add_token) and, with TLS, client
 *     certificates signed by the fake's CA (CN = user name); a certificate the CA did not
 *     sign authenticates no one; without a valid one of these: 401 Unauthorized;
 *   - authorization: the Role/ClusterRole/RoleBinding/ClusterRoleBinding objects of an RBAC
 *     YAML file (deploy/rbac.yaml by default), evaluated as the RBAC authorizer does
 *     (verb from method and path, API group, resource, subresource, namespace, name);
 *     a request they do not grant is 403 with the real message, e.g.
 *     deployments.apps "llama" is forbidden: User "system:serviceaccount:kube-system:
 *     autoscalerd" cannot patch resource "deployments/scale" in API group "apps" in the
 *     namespace "default";
 *   - label selectors with the real grammar (=, ==, !=, in, notin, exists, !key, gt, lt)
 *     and 400 on a bad one; field selectors per resource (pods: spec.nodeName,
 *     status.phase, metadata.name, ...); 400 on an unsupported field;
 *   - resourceVersion: a global counter; PUT with a stale metadata.resourceVersion is 409
 *     Conflict; a WATCH from a resourceVersion older than the retained history gets an
 *     ERROR event carrying a 410 Expired Status, as from the watch cache;
 *   - PATCH needs application/merge-patch+json, application/strategic-merge-patch+json
 *     (applied as a merge patch; CRDs refuse it like the real server) or
 *     application/json-patch+json, else 415; a body that is not JSON is 400, one that does
 *     not fit the type is 422;
 *   - Events (events.k8s.io/v1) are validated like ValidateEventCreate: 422 Invalid with
 *     details.causes when eventTime, reportingController, reportingInstance, action or
 *     reason is missing; Lease and Event MicroTime fields must be RFC 3339 with exactly six
 *     fractional digits ("2006-01-02T15:04:05.000000Z07:00") or the body is undecodable
 *     (400), a Lease with leaseDurationSeconds <= 0 is 422.
 *
 * Served (every other path: 404 Status NotFound, after authorization; GET /version,
 * /healthz, /livez, /readyz answer, and like every cluster the fake lets an authenticated
 * user GET the discovery paths /api*, /apis* and /version; any other non-resource path is
 * 403 unless the RBAC file grants it):
 *   /apis/apps/v1/namespaces/NS/deployments[/NAME[/scale]]          (scale: autoscaling/v1)
 *   /api/v1/pods, /api/v1/namespaces/NS/pods[/NAME]
 *   /api/v1/nodes[/NAME]
 *   /api/v1/namespaces/NS/configmaps[/NAME]
 *   /apis/autoscaling/v2/[namespaces/NS/]horizontalpodautoscalers[/NAME]
 *   /apis/keda.sh/v1alpha1/[namespaces/NS/]scaledobjects[/NAME]    (404 while KEDA absent)
 *   /apis/events.k8s.io/v1/[namespaces/NS/]events[/NAME]
 *   /apis/coordination.k8s.io/v1/[namespaces/NS/]leases[/NAME]
 *   /apis/authorization.k8s.io/v1/selfsubjectaccessreviews          (POST)
 * Each resource takes GET (get, list, and watch with ?watch=true), POST (create), PUT
 * (update), PATCH and DELETE, each authorized separately. Lists carry
 * metadata.resourceVersion; items of built-in kinds carry no kind/apiVersion, like the real
 * server's. Every error is a Status: {"kind":"Status","apiVersion":"v1","metadata":{},
 * "status":"Failure","message":...,"reason":...,"details":{...},"code":N}.
 *
 * WATCH (?watch=true, resourceVersion, allowWatchBookmarks, timeoutSeconds, labelSelector,
 * fieldSelector): chunked, one {"type":...,"object":{...}} per line. Without a
 * resourceVersion (or "0") the current objects come first as ADDED. An object that starts
 * or stops matching the selectors arrives as ADDED or DELETED. Bookmarks go to watches that
 * allow them, on kube_fake_bookmark_now() and every bookmark_interval_ms; a bookmark's
 * object is {"kind":K,"apiVersion":V,"metadata":{"resourceVersion":RV}}. The stream ends
 * cleanly at timeoutSeconds (default 1800), abruptly (no final chunk) on
 * kube_fake_drop_watches() and at stop, and is given up within 100 ms of its client
 * closing the connection.
 *
 * Simplifications: every namespace exists; no admission, defaulting, finalizers or
 * garbage collection; one history of changes per resource (the watch cache's); lists
 * always answer from the newest state (resourceVersionMatch is ignored, so a list never
 * gets 410); a strategic merge patch is applied as a JSON merge patch; server-side apply
 * is refused with 415. The request body limit is the real one, 3 MiB (413).
 *
 * Everything below is thread-safe unless said otherwise.
 */
#ifndef AUTOSCALERD_KUBE_APISERVER_H
#define AUTOSCALERD_KUBE_APISERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kube_fake kube_fake_t;

typedef struct kube_fake_opts {
	bool tls;            /* HTTPS with a server certificate for 127.0.0.1 (and localhost)
			      * signed by a CA made at start (kube_fake_ca_pem) */
	const char *rbac_path; /* NULL: $AUTOSCALERD_SRCDIR/deploy/rbac.yaml (or
				* deploy/rbac.yaml when the variable is unset) */
	size_t history;      /* changes kept per resource for WATCH resumption; 0: 100 */
	long bookmark_interval_ms; /* periodic bookmarks; 0: only kube_fake_bookmark_now() */
	bool keda_absent;    /* start without the ScaledObject CRD (kube_fake_set_keda) */
} kube_fake_opts_t;

/* Starts the server (o NULL: defaults: plain HTTP, deploy/rbac.yaml). Fails with -ENOENT
 * when the RBAC file cannot be read, -EINVAL when it is not valid RBAC YAML, -ENOMEM,
 * -EIO (certificates) or -EADDRNOTAVAIL (the daemon). *ret is written only on success. */
int kube_fake_start(const kube_fake_opts_t *o, kube_fake_t **ret);
/* Ends every watch, stops the daemon, waits for its threads, frees everything. NULL-safe;
 * returns NULL. */
kube_fake_t *kube_fake_stop(kube_fake_t *f);

uint16_t kube_fake_port(const kube_fake_t *f);
/* "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"; owned by f. */
const char *kube_fake_url(const kube_fake_t *f);
/* The CA certificate (PEM) that signed the server's and the client certificates; NULL
 * without TLS. Owned by f. */
const char *kube_fake_ca_pem(const kube_fake_t *f);
/* A client certificate and key (PEM, malloc'd, the caller frees both) for user: CN=user,
 * signed by the CA, so the fake authenticates its holder as user. -EINVAL without TLS,
 * -ENOMEM or -EIO. Outputs written only on success. */
int kube_fake_issue_client_cert(kube_fake_t *f, const char *user, char **ret_cert,
				char **ret_key);

/* ---- identities ------------------------------------------------------------------------
 * A service account is the user "system:serviceaccount:NS:NAME" (and so in the groups
 * system:serviceaccounts and system:serviceaccounts:NS); every user is in
 * system:authenticated. */
#define KUBE_FAKE_SA "system:serviceaccount:kube-system:autoscalerd"

/* "Authorization: Bearer token" authenticates as user from now on (replacing an earlier
 * mapping of the same token). 0, -EINVAL (empty) or -ENOMEM (256 tokens at most). */
int kube_fake_add_token(kube_fake_t *f, const char *token, const char *user);
/* The token no longer authenticates (401): a revoked or rotated-away token. */
void kube_fake_remove_token(kube_fake_t *f, const char *token);
/* Bearer tokens that kube_fake_add_token did not add go to fn, a webhook token
 * authenticator such as OKE's (which verifies the OCI signature inside the token): true
 * and the user name in user[size] authenticates, false is 401. Called from the server's
 * threads, without the fake's lock held; NULL removes it. */
typedef bool kube_fake_token_fn(const char *token, char *user, size_t size, void *userdata);
void kube_fake_set_token_authenticator(kube_fake_t *f, kube_fake_token_fn *fn, void *userdata);
/* An admin is allowed everything (for test set-up); the RBAC file applies to the rest.
 * 0 or -ENOMEM. */
int kube_fake_set_admin(kube_fake_t *f, const char *user, bool admin);
/* What the RBAC file (or admin) allows user: verb on group/resource[/subresource], in ns
 * ("" for cluster scope), object name ("" for collections). The authorizer the requests go
 * through, for tests that want a table of expectations. */
bool kube_fake_allowed(kube_fake_t *f, const char *user, const char *verb, const char *group,
		       const char *resource, const char *subresource, const char *ns,
		       const char *name);

/* ---- objects ---------------------------------------------------------------------------
 * The put functions create the object or replace it (keeping uid and creationTimestamp),
 * give it the next resourceVersion and tell the watches (ADDED or MODIFIED). String
 * fields are copied; NULL means absent. Key/value lists are NULL-terminated arrays of
 * alternating keys and values: (const char *[]){ "app", "llama", NULL }. They return 0,
 * -EINVAL (a missing name) or -ENOMEM. */

struct kube_fake_deployment {
	const char *ns, *name;
	int replicas;            /* spec.replicas */
	int status_replicas;     /* status.replicas; < 0: = replicas */
	int ready_replicas;      /* status.readyReplicas; < 0: = status replicas */
	const char *const *match_labels; /* spec.selector.matchLabels: the scale's
					  * status.selector "k=v,..." (sorted by key) */
};
int kube_fake_put_deployment(kube_fake_t *f, const struct kube_fake_deployment *d);
/* spec.replicas of a Deployment (what a scale PATCH wrote), or -ENOENT. */
int kube_fake_replicas(kube_fake_t *f, const char *ns, const char *name);

struct kube_fake_pod {
	const char *ns, *name;
	const char *const *labels, *const *annotations;
	const char *node_name;   /* spec.nodeName; NULL: not scheduled */
	const char *phase;       /* status.phase; NULL: "Running" */
	bool ready;              /* the Ready condition True (False otherwise) */
	const char *unschedulable; /* non-NULL: PodScheduled=False, reason Unschedulable, this
				    * message (e.g. "0/3 nodes are available: 3 Insufficient
				    * nvidia.com/gpu."), phase Pending */
	const char *owner_kind, *owner_name; /* the controller ownerReference (e.g.
					      * "ReplicaSet", "DaemonSet") */
	bool mirror;             /* a static pod's mirror: annotation kubernetes.io/config.mirror */
};
int kube_fake_put_pod(kube_fake_t *f, const struct kube_fake_pod *p);

struct kube_fake_node {
	const char *name;
	const char *const *labels, *const *annotations;
	const char *node_pool_id; /* annotation oci.oraclecloud.com/node-pool-id */
	const char *provider_id;  /* spec.providerID (OKE: the instance OCID) */
	bool unschedulable;       /* spec.unschedulable */
	bool not_ready;           /* the Ready condition False (True otherwise) */
	int gpus;                 /* capacity and allocatable nvidia.com/gpu; 0: none */
};
int kube_fake_put_node(kube_fake_t *f, const struct kube_fake_node *n);

/* An autoscaling/v2 HorizontalPodAutoscaler whose scaleTargetRef is apps/v1 target_kind
 * target_name. */
int kube_fake_put_hpa(kube_fake_t *f, const char *ns, const char *name,
		      const char *target_kind, const char *target_name, int min_replicas,
		      int max_replicas);
/* A keda.sh/v1alpha1 ScaledObject whose scaleTargetRef names target_name. */
int kube_fake_put_scaledobject(kube_fake_t *f, const char *ns, const char *name,
			       const char *target_name, int min_replicas, int max_replicas);
/* With present false the keda.sh group is not served (404, as for a CRD not installed);
 * its objects are kept for when it is back. */
void kube_fake_set_keda(kube_fake_t *f, bool present);

/* Any object, from its JSON text: apiVersion and kind pick the resource (Deployment, Pod,
 * Node, ConfigMap, HorizontalPodAutoscaler, ScaledObject, Lease, Event), metadata.name
 * (and metadata.namespace when namespaced) are required; metadata.resourceVersion, uid and
 * creationTimestamp are the fake's. -EINVAL for anything else. */
int kube_fake_put_json(kube_fake_t *f, const char *json);
/* The object as the API would return it (malloc'd JSON, the caller frees), resource being
 * the plural ("pods", "leases", ...), ns "" for cluster-scoped ones. -ENOENT, -EINVAL (an
 * unknown resource) or -ENOMEM; *ret written only on success. */
int kube_fake_get_json(kube_fake_t *f, const char *resource, const char *ns, const char *name,
		       char **ret);
/* The items of a list as a JSON array (ns NULL: every namespace), sorted by namespace and
 * name. Same errors. */
int kube_fake_list_json(kube_fake_t *f, const char *resource, const char *ns, char **ret);
/* Deletes an object (the watches get DELETED). 0, -ENOENT or -EINVAL. */
int kube_fake_delete(kube_fake_t *f, const char *resource, const char *ns, const char *name);
/* The newest resourceVersion handed out (the counter is global and starts at 1000). */
uint64_t kube_fake_resource_version(kube_fake_t *f);

/* ---- watches ---------------------------------------------------------------------------*/

/* Every watch that allows bookmarks gets a BOOKMARK at the newest resourceVersion once it
 * has sent all the changes before it. */
void kube_fake_bookmark_now(kube_fake_t *f);
/* Forgets the history of changes: a watch started from any resourceVersion older than the
 * newest gets 410 Expired, and so does an open watch that had changes left to send. */
void kube_fake_compact(kube_fake_t *f);
/* Closes every open watch connection abruptly (a broken stream). */
void kube_fake_drop_watches(kube_fake_t *f);
/* Watches currently streaming. */
int kube_fake_watch_count(kube_fake_t *f);
/* Waits until exactly n watches are streaming, or timeout_ms passed: true when they are. */
bool kube_fake_wait_watches(kube_fake_t *f, int n, long timeout_ms);

/* ---- faults ----------------------------------------------------------------------------
 * The next n requests whose path+query contains match (every request when match is NULL)
 * wait delay_ms, then, when code is not 0, get that status with a Status body (reason from
 * the code: 429 TooManyRequests, 500 InternalError, 503 ServiceUnavailable, 504 Timeout,
 * 409 Conflict, ...) and, when retry_after_s > 0, a Retry-After header and
 * details.retryAfterSeconds. Faults are queued: a request takes the first one that
 * matches. They are applied before authentication, and are recorded like any call.
 * Returns 0, -EINVAL (n <= 0, a code outside 100..599, or neither a code nor a delay) or
 * -ENOMEM (64 faults queued). */
int kube_fake_fail_next(kube_fake_t *f, const char *match, int n, int code, int retry_after_s,
			long delay_ms);
/* Drops every queued fault. */
void kube_fake_clear_faults(kube_fake_t *f);

/* ---- the record of calls ---------------------------------------------------------------
 * Every request, in the order answered (the newest KUBE_FAKE_MAX_CALLS are kept). No token
 * is stored: only its scheme, the user it mapped to and a fingerprint. */
#define KUBE_FAKE_MAX_CALLS 4096
#define KUBE_FAKE_CALL_BODY 4096

struct kube_fake_call {
	char method[16];
	char target[2048];       /* path?query as received */
	char content_type[128];  /* "" when none */
	char auth[16];           /* "Bearer", "Basic", ... "cert" (client certificate), "" */
	char credential[256];    /* kube_fake_fingerprint() of the token, or the cert's CN */
	char user[256];          /* the user authenticated; "" when none */
	char body[KUBE_FAKE_CALL_BODY]; /* NUL-terminated, cut at KUBE_FAKE_CALL_BODY - 1 */
	size_t body_len;         /* the whole body's length */
	int status;              /* the status answered (200 for a watch stream) */
	bool watch;
};

/* Calls recorded (since the last clear). */
size_t kube_fake_call_count(kube_fake_t *f);
/* Copies call i (0: the oldest kept) into *ret; false when there is none. */
bool kube_fake_call(kube_fake_t *f, size_t i, struct kube_fake_call *ret);
/* Copies the newest call; false when there is none. */
bool kube_fake_last_call(kube_fake_t *f, struct kube_fake_call *ret);
/* Calls whose method equals method (NULL: any) and whose target contains match (NULL:
 * any). */
size_t kube_fake_count_calls(kube_fake_t *f, const char *method, const char *match);
void kube_fake_clear_calls(kube_fake_t *f);
/* "sha256:" and the first 16 hex digits of the token's SHA-256, as recorded in
 * kube_fake_call.credential; buf needs 24 bytes. */
void kube_fake_fingerprint(const char *token, char buf[static 24]);

#endif
