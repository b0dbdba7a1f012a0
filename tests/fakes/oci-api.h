/* oci-api.h - an in-process fake of the OCI APIs autoscalerd calls (libmicrohttpd, a thread
 * per connection), on 127.0.0.1 and ports the kernel picks, for the oci/ tests and doctor.
 *
 * Two servers:
 *   - HTTPS (certificate for 127.0.0.1/localhost signed by a CA made at start,
 *     fake_oci_ca_file()) serving, on one port, what OCI serves on several hosts:
 *       Container Engine   GET/PUT  /20180222/nodePools/{id}
 *                          DELETE   /20180222/nodePools/{id}/node/{nodeId}
 *                                   ?isDecrementSize=&overrideEvictionGraceDuration=
 *                          GET      /20180222/workRequests/{id}
 *       federation (auth)  POST     /v1/x509         (instance principals)
 *       proxymux           POST     /resourcePrincipalSessionTokens (workload identity)
 *   - HTTP, the instance metadata service: /opc/v2/... (Authorization: Bearer Oracle
 *     required, else 401) and /opc/v1/... (no header), each with identity/cert.pem,
 *     identity/intermediate.pem, identity/key.pem, instance/region,
 *     instance/canonicalRegionName; v2 can be switched off (404) to test the v1 fallback.
 *
 * Strict where OCI is strict. Every Container Engine and federation request is checked
 * with the fake's own verification code straight on OpenSSL (never oci/): an Authorization
 * header of the form Signature version="1",headers="...",keyId="...",
 * algorithm="rsa-sha256",signature="..."; the signed headers must include date,
 * (request-target) and host, and for POST/PUT/PATCH content-length, content-type and
 * x-content-sha256; the signing string is rebuilt from the request as received (method,
 * raw path and query, headers); the signature verified with the key registered for the
 * keyId (API keys, session tokens this fake issued or was given, the instance leaf
 * certificate for TENANCY/fed-x509/SHA1FP); x-content-sha256 and content-length must match
 * the body; the date must be within 5 minutes of the fake's clock. Any failure is 401 with
 * OCI's body {"code":"NotAuthenticated","message":...} and an opc-request-id header; the
 * reason is kept for fake_oci_last_auth_error(). Every answer carries opc-request-id.
 *
 * Node pools have etags (changed on every change), a lifecycleState (UPDATING for
 * update_ms after a resize, then ACTIVE) and nodes (CREATING for node_create_ms, then
 * ACTIVE; a delete makes a node DELETING then gone). While a pool is UPDATING, PUT and
 * DELETE get 409 IncorrectState. A wrong if-match is 412 NoEtagMatch. An unknown pool
 * or node is 404 NotAuthorizedOrNotFound. A resize or delete answers 202 with an
 * opc-work-request-id whose work request goes ACCEPTED -> IN_PROGRESS -> SUCCEEDED with the
 * pool. Every error body is {"code":...,"message":...}.
 *
 * Thread-safe unless said otherwise.
 */
#ifndef AUTOSCALERD_FAKE_OCI_API_H
#define AUTOSCALERD_FAKE_OCI_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct fake_oci fake_oci_t;

typedef struct fake_oci_opts {
	const char *region;    /* the instance's region (metadata); NULL: "us-ashburn-1" */
	const char *tenancy;   /* the instance's tenancy (opc-tenant: of its leaf certificate);
				  NULL: "ocid1.tenancy.oc1..fakeinstancetenancy" */
	int64_t update_ms;     /* how long a pool stays UPDATING after a resize; 0: 200 */
	int64_t node_create_ms; /* how long a new node stays CREATING; 0: 300 */
	int64_t token_ttl_s;   /* life of the session tokens it issues (federation, proxymux);
				  0: 3600 */
} fake_oci_opts_t;

/* Starts both servers (opts NULL: the defaults). 0 or a negative errno. */
int fake_oci_start(const fake_oci_opts_t *o, fake_oci_t **ret);
fake_oci_t *fake_oci_stop(fake_oci_t *f); /* NULL-safe; returns NULL */

/* "https://127.0.0.1:PORT": the Container Engine endpoint (add "/20180222"), the federation
 * URL (POST .../v1/x509) and the proxymux URL (POST .../resourcePrincipalSessionTokens). */
const char *fake_oci_url(const fake_oci_t *f);
/* "http://127.0.0.1:PORT/opc/v2": OCI_METADATA_BASE_URL. */
const char *fake_oci_metadata_url(const fake_oci_t *f);
/* A PEM file of the CA that signed the HTTPS server's certificate (in a directory the fake
 * removes at stop). */
const char *fake_oci_ca_file(const fake_oci_t *f);

/* ---- identities ---------------------------------------------------------------------------- */

/* keyId "tenancy/user/fingerprint" verifies with this public key (PEM, "PUBLIC KEY" or a
 * private key whose public half is taken). The fingerprint is what the request names, not
 * necessarily the key's real one. */
int fake_oci_add_api_key(fake_oci_t *f, const char *tenancy, const char *user,
			 const char *fingerprint, const char *public_pem);
/* keyId "ST$token" verifies with this public key (a security token from
 * `oci session authenticate`). */
int fake_oci_add_session_token(fake_oci_t *f, const char *token, const char *public_pem);
/* Makes a session token: a JWT-shaped "header.payload.signature" whose payload carries
 * "exp" = now + ttl_s, "iat", "sub"; registered like fake_oci_add_session_token(). malloc'd. */
char *fake_oci_issue_token(fake_oci_t *f, const char *public_pem, int64_t ttl_s);
/* Revokes every token issued so far (as if expired on the server): requests signed with
 * them get 401 until the client fetches a new one. */
void fake_oci_revoke_tokens(fake_oci_t *f);

/* Instance metadata: v2 on or off (404 on /opc/v2/..., the v1 paths keep answering). */
void fake_oci_set_metadata_v2(fake_oci_t *f, bool enabled);
/* The instance leaf certificate's SHA-1 fingerprint ("AA:BB:...", as the federation keyId
 * has it) and tenancy. */
const char *fake_oci_instance_fingerprint(const fake_oci_t *f);
const char *fake_oci_instance_tenancy(const fake_oci_t *f);
/* The instance leaf certificate and its RSA-2048 private key (PEM, "RSA PRIVATE KEY"), as
 * the metadata serves them (for tests that sign a federation request themselves). */
const char *fake_oci_instance_cert_pem(const fake_oci_t *f);
const char *fake_oci_instance_key_pem(const fake_oci_t *f);

/* Workload identity: the Kubernetes service-account token the proxymux accepts as
 * "Authorization: Bearer TOKEN" (others: 401). */
int fake_oci_set_sa_token(fake_oci_t *f, const char *sa_token);

/* Counts of tokens issued by the federation endpoint and by the proxymux. */
int fake_oci_tokens_issued(fake_oci_t *f, bool proxymux);

/* The reason of the last 401 the fake answered ("" when none): "signature does not verify",
 * "date skewed by 400 s", "x-content-sha256 does not match the body", "headers lack host",
 * "unknown keyId ...". */
void fake_oci_last_auth_error(fake_oci_t *f, char *buf, size_t size);

/* Shifts the fake's clock by skew_s seconds (to test the 5-minute rule), or pins it to t
 * (t != 0) so the published vectors' 2014 date verifies. */
void fake_oci_set_clock(fake_oci_t *f, int64_t skew_s, time_t pinned);

/* Verifies an OKE cluster token as the API server's OCI authenticator would: URL-safe base64
 * of https://containerengine.{region}.oraclecloud.com/cluster_request/{cluster_id}
 * ?authorization=...&date=..., the signature over date, (request-target) and host checked
 * with the keys above, the date within 5 minutes. 0 and the cluster OCID in
 * cluster_id[size], or -EACCES with the reason in err. */
int fake_oci_verify_cluster_token(fake_oci_t *f, const char *token, char *cluster_id,
				  size_t size, char *err, size_t errsz);

/* ---- node pools ---------------------------------------------------------------------------- */

typedef struct fake_oci_pool {
	const char *id;             /* ocid1.nodepool.oc1... */
	const char *name;           /* NULL: "pool1" */
	const char *cluster_id;     /* NULL: a made-up cluster OCID */
	const char *compartment_id; /* NULL: a made-up compartment OCID */
	const char *node_shape;     /* NULL: "VM.GPU.A10.1" */
	int size;                   /* nodes, created ACTIVE */
	const char *lifecycle_state; /* NULL: "ACTIVE" */
} fake_oci_pool_t;

/* Adds or replaces a pool. */
int fake_oci_put_pool(fake_oci_t *f, const fake_oci_pool_t *p);
/* nodeConfigDetails.size, or -1 for an unknown pool. */
int fake_oci_pool_size(fake_oci_t *f, const char *id);
/* Nodes in the pool in lifecycle state `state` (NULL: all that are not DELETED). */
int fake_oci_pool_nodes(fake_oci_t *f, const char *id, const char *state);
/* The id of the pool's i-th node (newest last), into buf; false when none. */
bool fake_oci_pool_node_id(fake_oci_t *f, const char *id, size_t i, char *buf, size_t size);
/* Sets a node's nodeError (code NULL clears it) and lifecycle state (NULL: unchanged). */
int fake_oci_set_node(fake_oci_t *f, const char *pool_id, const char *node_id,
		      const char *state, const char *error_code, const char *error_message);
/* The pool's lifecycleState, set by hand (NEEDS_ATTENTION, UPDATING, ...). */
int fake_oci_set_pool_state(fake_oci_t *f, const char *id, const char *state);
/* The pool's current etag into buf. */
bool fake_oci_pool_etag(fake_oci_t *f, const char *id, char *buf, size_t size);
/* Changes the etag as an edit in the console would (the next if-match with the old one is
 * 412). */
void fake_oci_touch_pool(fake_oci_t *f, const char *id);

/* ---- faults and the call record ------------------------------------------------------------ */

/* The next n requests whose "METHOD /path" contains match (NULL: any) are answered with
 * status and {"code":code,"message":...} (and Retry-After: retry_after_s when > 0) instead
 * of being served. n < 0: until fake_oci_clear_faults(). Faults are answered before
 * authentication (whatever the credentials) and recorded like any answer; they apply to the
 * metadata server too. */
int fake_oci_fail_next(fake_oci_t *f, const char *match, int n, int status, const char *code,
		       int retry_after_s);
void fake_oci_clear_faults(fake_oci_t *f);

/* Requests answered whose "METHOD /path" contains match (NULL: all), faults and 401s
 * included. */
int fake_oci_count(fake_oci_t *f, const char *match);

#define FAKE_OCI_MAX_CALLS 4096
struct fake_oci_call {
	char method[8];
	char path[512];       /* path and query, raw */
	int status;
	char key_id[160];     /* of the Authorization header, cut; "" when unsigned */
	char if_match[80];
	char client_request_id[64]; /* the opc-request-id the client sent, "" when none */
	char opc_request_id[160];   /* the one answered: the client's + "/" + the fake's, as
				       OCI appends its own to the caller's */
};
size_t fake_oci_call_count(fake_oci_t *f);
bool fake_oci_call(fake_oci_t *f, size_t i, struct fake_oci_call *ret);

#endif
