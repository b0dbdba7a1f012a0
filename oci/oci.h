/* oci.h - the OCI client of autoscalerd (DESIGN.md sections 5 and 7): ~/.oci/config, keys,
 * request signing, the four ways operators authenticate, OKE cluster tokens, and the
 * Container Engine calls that resize node pools. Everything that talks is asynchronous on
 * http/; this module includes http/ and nothing else of the project.
 *
 * Pieces, bottom up:
 *   - profiles (config.c): the INI file of the OCI CLI and SDKs, a profile with values
 *     inherited from [DEFAULT];
 *   - keys (key.c): RSA private keys in PEM (PKCS#1 or PKCS#8, plain or encrypted) on
 *     OpenSSL's EVP API, their MD5 fingerprint, fresh session keys;
 *   - the signer (sign.c): draft-cavage-http-signatures-08, rsa-sha256, as OCI wants it,
 *     byte-exact on vectors/oci/;
 *   - auth (auth.c, federation.c): credentials that may have to be fetched and refreshed
 *     (instance principal, workload identity) behind one "ready, then sign" interface;
 *   - OKE cluster tokens (oke-token.c): what `oci ce cluster generate-token` prints;
 *   - the Container Engine client (ce.c): GetNodePool, UpdateNodePool, DeleteNode,
 *     GetWorkRequest, with OCI's retry rules.
 *
 * Errors: functions return 0 or a negative errno and, when err is not NULL, write one line
 * into err[errsz] that says where and what (file, profile, key; URL; OCI code, message and
 * opc-request-id). No message ever contains a private key, a pass phrase, a token or a
 * signature. Outputs are written only on success.
 *
 * Callbacks are called exactly once, from the http/ loop (never from the function that
 * started the operation), unless cancelled or their object freed first.
 */
#ifndef AUTOSCALERD_OCI_H
#define AUTOSCALERD_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http/http.h"

#define OCI_MAX_CONFIG_FILE (1u << 20) /* bytes of ~/.oci/config */
#define OCI_MAX_KEY_FILE (1u << 20)    /* bytes of a PEM key file */
#define OCI_MAX_TOKEN (64u << 10)      /* bytes of a session token (security_token_file,
					  federation and proxymux answers) */
#define OCI_DEFAULT_TIMEOUT_MS 30000
#define OCI_RETRY_ATTEMPTS 6           /* Container Engine calls: 1 + 5 retries */
#define OCI_OKE_TOKEN_LIFETIME_S 240   /* an OKE cluster token is good for 4 minutes, as the
					  CLI's ExecCredential says */
#define OCI_CE_API_VERSION "20180222"

/* ---- ~/.oci/config ------------------------------------------------------------------------ */

typedef enum oci_profile_key {
	OCI_PK_USER,
	OCI_PK_FINGERPRINT,
	OCI_PK_KEY_FILE,
	OCI_PK_TENANCY,
	OCI_PK_REGION,
	OCI_PK_PASS_PHRASE,
	OCI_PK_SECURITY_TOKEN_FILE,
	OCI_PK_COUNT_
} oci_profile_key_t;

/* "user", "fingerprint", "key_file", ... as written in the file. */
const char *oci_profile_key_name(oci_profile_key_t k);

/* One profile, its values resolved: its own, else [DEFAULT]'s. key_file and
 * security_token_file have "~" expanded (relative paths are left as written: the OCI CLI
 * reads them from the working directory). Other keys of the file are kept nowhere (the CLI
 * has many) and are not errors. */
typedef struct oci_profile {
	char *file;                    /* the file read, "~" expanded */
	char *name;                    /* the profile ("DEFAULT", "prod", ...) */
	char *values[OCI_PK_COUNT_];   /* NULL when absent */
	int lines[OCI_PK_COUNT_];      /* line of each value in file; 0 when absent */
} oci_profile_t;

/* Reads the profile `profile` of the file `path`.
 * path NULL: $OCI_CLI_CONFIG_FILE, then $OCI_CONFIG_FILE, then ~/.oci/config.
 * profile NULL: $OCI_CLI_PROFILE, then "DEFAULT".
 * Errors (-ENOENT, -EACCES, -EISDIR, -EFBIG over OCI_MAX_CONFIG_FILE, -EINVAL, -ENOMEM), e.g.
 *   "/root/.oci/config: no profile [prod] (profiles: DEFAULT, dev)"
 *   "/root/.oci/config:7: profile [prod]: line is neither [section] nor key=value" */
int oci_profile_load(const char *path, const char *profile, oci_profile_t **ret, char *err,
		     size_t errsz);
/* The same on a buffer; `file` only names it in messages (the fuzz target's entry). */
int oci_profile_parse(const char *buf, size_t len, const char *file, const char *profile,
		      oci_profile_t **ret, char *err, size_t errsz);
oci_profile_t *oci_profile_free(oci_profile_t *p); /* NULL-safe; returns NULL */

/* "FILE: profile [NAME]: key KEY" (with ":LINE" after FILE when the key was set): the
 * prefix of every message about one key, so operators find the line to fix. */
void oci_profile_where(const oci_profile_t *p, oci_profile_key_t k, char *buf, size_t size);

/* ---- keys --------------------------------------------------------------------------------- */

typedef struct oci_key oci_key_t; /* an RSA private key; reference-counted */

/* PEM: "RSA PRIVATE KEY" (PKCS#1), "PRIVATE KEY" (PKCS#8), "ENCRYPTED PRIVATE KEY", or
 * PKCS#1 with Proc-Type: 4,ENCRYPTED. Never prompts on a terminal. Errors: -ENOENT/-EACCES
 * (file), -EKEYREJECTED (encrypted and no or a wrong passphrase: the message says which),
 * -EINVAL (not a PEM private key, not RSA, shorter than 1024 bits), -ENOMEM. */
int oci_key_load_file(const char *path, const char *passphrase, oci_key_t **ret, char *err,
		      size_t errsz);
int oci_key_load_pem(const char *pem, size_t len, const char *passphrase, oci_key_t **ret,
		     char *err, size_t errsz);
/* A fresh RSA key of `bits` (2048 for session keys). */
int oci_key_generate(int bits, oci_key_t **ret, char *err, size_t errsz);
oci_key_t *oci_key_ref(oci_key_t *k);
oci_key_t *oci_key_unref(oci_key_t *k); /* NULL-safe; returns NULL */

#define OCI_FINGERPRINT_LEN 48 /* "aa:bb:...:ff" (47) + NUL */
/* The fingerprint OCI shows for an API key: MD5 of the DER SubjectPublicKeyInfo, lowercase
 * hex pairs joined by ':'. */
int oci_key_fingerprint(const oci_key_t *k, char buf[OCI_FINGERPRINT_LEN]);
/* The public key as base64 DER SubjectPublicKeyInfo without PEM armour or newlines (the
 * "publicKey"/"podKey" of the federation and proxymux requests), malloc'd; NULL on ENOMEM. */
char *oci_key_public_b64(const oci_key_t *k);
/* The public key as PEM ("-----BEGIN PUBLIC KEY-----"), malloc'd; NULL on ENOMEM. */
char *oci_key_public_pem(const oci_key_t *k);
/* An rsa-sha256 signature (RSASSA-PKCS1-v1_5 over SHA-256) of data, in base64 without
 * newlines, malloc'd into *ret: what oci_sign() puts in signature="...". -EINVAL, -ENOMEM. */
int oci_key_sign_sha256(const oci_key_t *k, const void *data, size_t len, char **ret,
			char *err, size_t errsz);

/* ---- the signer --------------------------------------------------------------------------- */

/* An RFC 7231 IMF-fixdate in GMT: "Thu, 05 Jan 2014 21:31:40 GMT". buf of 30 bytes. */
void oci_format_date(time_t t, char buf[30]);

#define OCI_SIGNED_MAX 6

/* The headers a signed request carries, in this order: date, host, authorization, then for
 * POST, PUT and PATCH content-length, content-type, x-content-sha256. Names lowercase. */
typedef struct oci_signed {
	http_header_t headers[OCI_SIGNED_MAX];
	size_t n_headers;
	char *storage_; /* the values; oci_signed_free() */
} oci_signed_t;

typedef struct oci_sign_input {
	const char *method;       /* GET, POST, PUT, PATCH, DELETE, HEAD (any case) */
	const char *url;          /* http:// or https://; (request-target) is its path and query
				     exactly as written ("/" when empty), host its authority
				     (host[:port]) exactly as written; no userinfo, no fragment */
	const char *date;         /* NULL: now; else used verbatim, never re-formatted */
	const void *body;         /* POST/PUT/PATCH: signed (empty too); others: must be empty */
	size_t body_len;
	const char *content_type; /* NULL: application/json */
} oci_sign_input_t;

/* Signs with key under key_id ("TENANCY/USER/FINGERPRINT", or "ST$" + a session token).
 * The signing string is "name: value" lines joined by '\n' for date, (request-target),
 * host[, content-length, content-type, x-content-sha256]; authorization is
 *   Signature version="1",headers="...",keyId="...",algorithm="rsa-sha256",signature="..."
 * -EINVAL: bad method or URL, a body on GET/DELETE/HEAD, a control character in a value. */
int oci_sign(const oci_key_t *key, const char *key_id, const oci_sign_input_t *in,
	     oci_signed_t *out, char *err, size_t errsz);
/* The signing string alone (for tests and `oci-sign --verbose`), malloc'd. */
int oci_signing_string(const oci_sign_input_t *in, char **ret, char *err, size_t errsz);
void oci_signed_free(oci_signed_t *s); /* NULL-safe; leaves it empty */
/* A header's value by name (case-insensitive), NULL when absent. */
const char *oci_signed_get(const oci_signed_t *s, const char *name);

/* ---- regions and endpoints ---------------------------------------------------------------- */

/* The second-level domain of a region's realm: "oraclecloud.com" for the commercial realm
 * (oc1) and for unknown regions; "oraclegovcloud.com", "oraclegovcloud.uk",
 * "oraclecloud8.com", ... for the others. */
const char *oci_region_domain(const char *region);
/* A region name as OCI spells them: lowercase letters, digits and '-', 3..64 bytes. */
bool oci_region_valid(const char *region);

/* ---- auth --------------------------------------------------------------------------------- */

typedef enum oci_auth_mode {
	OCI_AUTH_API_KEY,            /* user + key from ~/.oci/config */
	OCI_AUTH_SECURITY_TOKEN,     /* `oci session authenticate`: key + security_token_file */
	OCI_AUTH_INSTANCE_PRINCIPAL, /* the bastion's instance identity (metadata + x509
					federation) */
	OCI_AUTH_WORKLOAD_IDENTITY,  /* OKE workload identity (resource principal 2.2) */
} oci_auth_mode_t;

/* "api_key", "security_token", "instance_principal", "workload_identity" (the policy file's
 * oci.auth names). */
const char *oci_auth_mode_name(oci_auth_mode_t m);

typedef struct oci_auth oci_auth_t;

typedef struct oci_auth_opts {
	oci_auth_mode_t mode;
	http_client_t *http;       /* required for instance_principal and workload_identity */
	const char *config_file;   /* api_key, security_token: see oci_profile_load() */
	const char *profile;
	const char *region;        /* overrides the profile's, the metadata's and
				      $OCI_RESOURCE_PRINCIPAL_REGION */
	int64_t timeout_ms;        /* per request; 0: OCI_DEFAULT_TIMEOUT_MS */
	/* Endpoints and files; NULL: the environment, then the real ones. Tests point them at
	 * tests/fakes/oci-api. */
	const char *metadata_url;  /* $OCI_METADATA_BASE_URL, then http://169.254.169.254/opc/v2
				      (v1 tried when v2 answers 404) */
	const char *federation_url; /* $OCI_SDK_AUTH_CLIENT_REGION_URL, then
				       https://auth.{region}.{domain} (POST /v1/x509) */
	const char *proxymux_url;  /* https://$KUBERNETES_SERVICE_HOST:12250 (POST
				      /resourcePrincipalSessionTokens) */
	const char *sa_token_file; /* /var/run/secrets/kubernetes.io/serviceaccount/token */
	const char *sa_ca_file;    /* .../serviceaccount/ca.crt: the proxymux's CA */
	const char *ca_file;       /* CAs for the federation endpoint; NULL: the system's */
} oci_auth_opts_t;

/* Builds the credentials. api_key and security_token load the profile and the key here
 * (errors name the file, profile and key) and are ready at once; instance_principal and
 * workload_identity check their inputs (workload_identity: OCI_RESOURCE_PRINCIPAL_VERSION
 * is 2.2, a region is known, the token file is readable) and fetch on the first
 * oci_auth_ready(). Warnings (key file readable by group or others; fingerprint in the
 * profile not the key's, so OCI will answer 401) are kept for oci_auth_warnings(). */
int oci_auth_new(const oci_auth_opts_t *o, oci_auth_t **ret, char *err, size_t errsz);
/* Cancels fetches and waiters (no callbacks). NULL-safe; returns NULL. Before the http
 * client. */
oci_auth_t *oci_auth_free(oci_auth_t *a);

size_t oci_auth_warnings(const oci_auth_t *a, const char *const **ret);
oci_auth_mode_t oci_auth_mode(const oci_auth_t *a);
/* The region: the override, the profile's, the resource principal's, or (instance
 * principal) the metadata's once fetched; NULL while unknown. */
const char *oci_auth_region(const oci_auth_t *a);
/* The tenancy OCID: the profile's, or the instance certificate's once fetched; NULL while
 * unknown (workload identity never knows it). */
const char *oci_auth_tenancy(const oci_auth_t *a);
/* For messages: "api_key (profile [DEFAULT] of /root/.oci/config, key /root/.oci/key.pem)",
 * "instance_principal (tenancy ocid1.tenancy...)", ... */
const char *oci_auth_describe(const oci_auth_t *a);

typedef struct oci_auth_wait oci_auth_wait_t;
/* error: NULL when ready, else one line. */
typedef void oci_auth_fn(const char *error, void *userdata);

/* Calls done (from the loop) once the credentials can sign: at once when they can, else
 * after fetching them (concurrent waiters share one fetch). refresh: fetch anew even if the
 * current ones look good (after a 401); a security token file is re-read. Session tokens are
 * refreshed ahead of time: instance principal before the token's exp (a fifth of its life
 * ahead, at least a minute), workload identity at half its life. -EINVAL without an http
 * client where one is needed, -ENOMEM. */
int oci_auth_ready(oci_auth_t *a, bool refresh, oci_auth_fn *done, void *userdata,
		   oci_auth_wait_t **ret, char *err, size_t errsz);
void oci_auth_cancel(oci_auth_t *a, oci_auth_wait_t *w); /* no-op inside its own callback */

/* Signs with the current credentials (keyId TENANCY/USER/FINGERPRINT for api_key, ST$TOKEN
 * for the others). -EAGAIN when not ready (call oci_auth_ready() first). */
int oci_auth_sign(oci_auth_t *a, const oci_sign_input_t *in, oci_signed_t *out, char *err,
		  size_t errsz);

/* ---- OKE cluster tokens ------------------------------------------------------------------- */

/* The bearer token `oci ce cluster generate-token --cluster-id ID --region R` prints: sign
 * GET https://containerengine.{region}.{domain}/cluster_request/{cluster_id} with the
 * current credentials, add the signed authorization and date headers to that URL as query
 * parameters, and encode the URL in URL-safe base64. *ret is malloc'd; *ret_expires is when
 * the Kubernetes client should ask again (now + OCI_OKE_TOKEN_LIFETIME_S). -EAGAIN when the
 * credentials are not ready, -EINVAL on a bad cluster OCID or region. */
int oci_oke_token(oci_auth_t *a, const char *region, const char *cluster_id, time_t now,
		  char **ret, time_t *ret_expires, char *err, size_t errsz);

/* ---- the Container Engine client ----------------------------------------------------------- */

typedef struct oci_ce oci_ce_t;
typedef struct oci_ce_call oci_ce_call_t;

typedef struct oci_ce_opts {
	http_client_t *http; /* required */
	oci_auth_t *auth;    /* required; not owned, outlives the client */
	const char *endpoint; /* NULL: https://containerengine.{region}.oci.{domain} from the
				 auth's region (known at the first call); "/20180222" is added */
	const char *ca_file;  /* CAs for the endpoint; NULL: the system's */
	int64_t timeout_ms;   /* per attempt; 0: OCI_DEFAULT_TIMEOUT_MS */
	http_retry_t retry;   /* max_attempts 0: OCI_RETRY_ATTEMPTS; base 1 s, cap 30 s */
	int max_in_flight;    /* 0: HTTP_DEFAULT_MAX_IN_FLIGHT */
} oci_ce_opts_t;

int oci_ce_new(const oci_ce_opts_t *o, oci_ce_t **ret, char *err, size_t errsz);
oci_ce_t *oci_ce_free(oci_ce_t *c); /* cancels every call (no callbacks); NULL-safe */
void oci_ce_cancel(oci_ce_t *c, oci_ce_call_t *call); /* no-op inside its own callback */

/* What a call came to. Retried per DESIGN section 7: 409 IncorrectState, 429, 500, 502,
 * 503, 504 and transport failures, full-jitter backoff 1 s doubling to 30 s (at least
 * Retry-After), each attempt signed anew; a 401 with session-token auth refreshes the token
 * once; 412 on an update or delete re-reads the pool's etag and tries once more. error
 * reads, e.g.
 *   "UpdateNodePool ocid1.nodepool...: 409 IncorrectState: Node pool is updating
 *    (opc-request-id 1A2B...), after 6 attempts"
 *   "GetNodePool ocid1.nodepool...: 401 NotAuthenticated: ... (opc-request-id ...): check
 *    that key_file is the key whose fingerprint is in the profile, that it was uploaded
 *    for the user, and the clock (over 5 minutes of skew is refused)"
 *   "GetNodePool ocid1.nodepool...: 404 NotAuthorizedOrNotFound: ...: check the OCID and
 *    an IAM policy such as 'Allow group G to manage cluster-node-pools in compartment C'" */
typedef struct oci_result {
	http_outcome_t outcome; /* HTTP_SUCCESS: done */
	long status;            /* the last HTTP status; 0 without a response */
	const char *code;       /* OCI's error code ("IncorrectState", ...) or "" */
	const char *message;    /* OCI's error message or "" */
	const char *request_id; /* opc-request-id of the last response or "" */
	const char *error;      /* "" on success, else one line as above */
	int attempts;           /* HTTP requests the call made, etag re-reads included */
	int64_t elapsed_ms;
} oci_result_t;

typedef struct oci_node {
	char *id;              /* instance OCID */
	char *name;
	char *lifecycle_state; /* CREATING, ACTIVE, UPDATING, DELETING, DELETED, FAILING,
				  INACTIVE */
	char *private_ip;      /* may be NULL */
	char *error_code;      /* nodeError.code, NULL without one */
	char *error_message;   /* nodeError.message */
} oci_node_t;

typedef struct oci_node_pool {
	char *id, *name, *cluster_id, *compartment_id;
	char *lifecycle_state; /* ACTIVE, UPDATING, CREATING, DELETING, DELETED, FAILED,
				  INACTIVE, NEEDS_ATTENTION */
	char *node_shape;
	char *etag;            /* the etag response header */
	int32_t size;          /* nodeConfigDetails.size; -1 when absent */
	oci_node_t *nodes;
	size_t n_nodes;
} oci_node_pool_t;

/* Parses a NodePool JSON body (etag from the header, set by the caller). Errors name the
 * field: "nodes[3].lifecycleState: expected a string". -EINVAL, -ENOMEM. */
int oci_node_pool_parse(const char *json, size_t len, oci_node_pool_t *ret, char *err,
			size_t errsz);
void oci_node_pool_clear(oci_node_pool_t *p); /* frees the fields; leaves it zeroed */

typedef struct oci_work_request {
	char *id;
	char *operation_type; /* as OCI sends it: NODEPOOL_UPDATE, NODEPOOL_CREATE, ... */
	char *status;         /* ACCEPTED, IN_PROGRESS, FAILED, SUCCEEDED, CANCELING, CANCELED */
	double percent_complete; /* -1 when absent */
} oci_work_request_t;

int oci_work_request_parse(const char *json, size_t len, oci_work_request_t *ret, char *err,
			   size_t errsz);
void oci_work_request_clear(oci_work_request_t *w);

/* pool is NULL unless the call succeeded; it lives until the callback returns. */
typedef void oci_pool_fn(const oci_result_t *r, const oci_node_pool_t *pool, void *userdata);
/* work_request_id: the opc-work-request-id of an accepted update or delete (NULL on
 * failure). */
typedef void oci_accepted_fn(const oci_result_t *r, const char *work_request_id,
			     void *userdata);
typedef void oci_work_fn(const oci_result_t *r, const oci_work_request_t *wr, void *userdata);

/* GET /nodePools/{id}. */
int oci_ce_get_node_pool(oci_ce_t *c, const char *pool_id, oci_pool_fn *done, void *userdata,
			 oci_ce_call_t **ret, char *err, size_t errsz);
/* PUT /nodePools/{id} {"nodeConfigDetails":{"size":N}} with if-match: etag (NULL: GET the
 * pool first and use its etag). On 412 the pool is read again and the update sent once more
 * with the new etag. */
int oci_ce_set_node_pool_size(oci_ce_t *c, const char *pool_id, int32_t size,
			      const char *etag, oci_accepted_fn *done, void *userdata,
			      oci_ce_call_t **ret, char *err, size_t errsz);
/* DELETE /nodePools/{id}/node/{node_id}?isDecrementSize=true&overrideEvictionGraceDuration=D
 * with if-match: etag (NULL: none). grace_s: the eviction grace, 0..3600 seconds, sent as an
 * ISO 8601 duration ("PT0M", "PT1M", "PT90S"); the node is empty already, so short. On 412
 * the pool is read again: a node no longer in it counts as deleted (success, no work
 * request), else the delete is sent once more with the new etag. */
int oci_ce_delete_node(oci_ce_t *c, const char *pool_id, const char *node_id,
		       const char *etag, int grace_s, oci_accepted_fn *done, void *userdata,
		       oci_ce_call_t **ret, char *err, size_t errsz);
/* GET /workRequests/{id}. */
int oci_ce_get_work_request(oci_ce_t *c, const char *id, oci_work_fn *done, void *userdata,
			    oci_ce_call_t **ret, char *err, size_t errsz);

/* The base URL in use ("https://.../20180222"), NULL while the region is unknown. */
const char *oci_ce_endpoint(const oci_ce_t *c);

#endif
