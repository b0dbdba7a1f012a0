/* oci-private.h - what auth.c, federation.c and oke-token.c share and nobody else sees: the
 * credentials object, the fetch of session tokens (instance principal, workload identity)
 * and small codecs (base64, JWT claims, bounded secret files).
 */
#ifndef AUTOSCALERD_OCI_PRIVATE_H
#define AUTOSCALERD_OCI_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "oci/oci.h"

#define OCI_ERR_MAX HTTP_ERROR_MAX  /* bytes of one error line, NUL included */
#define OCI_MAX_WARNINGS 8
#define OCI_FETCH_RETRY_S 5          /* a failed fetch is not repeated sooner: waiters get its
					error (no hammering of the metadata service) */
#define OCI_REFRESH_MIN_S 5          /* shortest delay of a scheduled refresh */
#define OCI_METADATA_MAX_BODY ((size_t)64 << 10) /* a PEM or a region name */
#define OCI_DEFAULT_METADATA_URL "http://169.254.169.254/opc/v2"
#define OCI_PROXYMUX_PORT 12250
#define OCI_DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* The identity of a file as last read, to notice rotation (rename or rewrite). */
typedef struct oci_file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool known;
} oci_file_id_t;

typedef struct oci_fetch oci_fetch_t; /* federation.c: one fetch on its way */

struct oci_auth {
	oci_auth_mode_t mode;
	http_client_t *http;
	int64_t timeout_ms;
	char *region;    /* NULL while unknown */
	char *tenancy;   /* NULL while unknown */
	char *describe;
	char *warnings[OCI_MAX_WARNINGS];
	size_t n_warnings;

	/* The signing identity: key and keyId ("T/U/F" or "ST$token"). */
	oci_key_t *key;
	char *key_id;
	bool ready;      /* key and key_id can sign */
	time_t exp, iat; /* of the session token; 0 unknown */

	/* api_key, security_token */
	char *config_file, *profile_name;
	char *key_file, *pass_phrase;
	char *token_file;
	oci_file_id_t token_id, key_id_file;

	/* instance_principal */
	char *metadata_url;    /* as configured (.../opc/v2 normally) */
	bool metadata_v1;      /* v2 answered 404 once: v1 from then on */
	char *federation_base; /* configured or from the environment; NULL: from the region */
	bool region_from_metadata;

	/* workload_identity */
	char *proxymux_url, *sa_token_file, *sa_ca_file;

	http_profile_t *tls; /* federation or proxymux TLS */

	/* fetching */
	oci_fetch_t *fetch;
	bool fetch_scheduled;   /* the running fetch came from the refresh timer */
	char fetch_error[OCI_ERR_MAX];
	int64_t fetch_failed_ms; /* monotonic ms of the last failure; 0: none */
	http_timer_t *defer_timer, *refresh_timer;
	struct oci_auth_wait *waiters, *waiters_tail;
};

/* ---- auth.c, for federation.c ----------------------------------------------------------- */

/* A fetch ended: on success key (a reference handed over), token (the session token
 * without "ST$"), and what the fetch learnt (region, tenancy; NULL: unchanged); else error.
 * Completes the waiters and schedules the next refresh. */
void oci_auth_fetched(oci_auth_t *a, oci_key_t *key, const char *token, const char *region,
		      const char *tenancy, const char *error);
int64_t oci_now_ms(void);
/* Random bytes from OpenSSL (a clock-seeded fallback should it fail). */
void oci_random_bytes(void *buf, size_t n);
/* A fresh opc-request-id: 32 uppercase hex digits. */
#define OCI_REQUEST_ID_LEN 33
void oci_request_id(char buf[OCI_REQUEST_ID_LEN]);
/* What an OCI error response says: {"code","message"} (bodies up to OCI_MAX_ERROR_BODY) and
 * the opc-request-id header; "" for what is absent, and code and message for a 2xx. */
#define OCI_MAX_ERROR_BODY (64u << 10)
typedef struct oci_reply {
	char code[64];
	char message[512];
	char request_id[128];
} oci_reply_t;
void oci_reply_read(const http_response_t *res, oci_reply_t *rp);
/* "2026-12-05T03:44:32Z", for messages. */
void oci_iso_time(time_t t, char buf[32]);

/* ---- federation.c ----------------------------------------------------------------------- */

/* Starts fetching a session token (instance principal or workload identity); it ends in
 * oci_auth_fetched(), always from the loop. -ENOMEM, or another error with err set (then
 * oci_auth_fetched() is not called). */
int oci_fetch_start(oci_auth_t *a, char *err, size_t errsz);
/* Stops the fetch without calling back. NULL-safe. */
void oci_fetch_free(oci_fetch_t *f);

/* The check of workload identity's inputs at oci_auth_new (version, region, files, URL). */
int oci_workload_identity_init(oci_auth_t *a, const oci_auth_opts_t *o, char *err,
			       size_t errsz);
int oci_instance_principal_init(oci_auth_t *a, const oci_auth_opts_t *o, char *err,
				size_t errsz);

/* ---- codecs (federation.c) --------------------------------------------------------------- */

/* Base64 (standard or URL-safe alphabet, padding optional, no whitespace) into a malloc'd
 * buffer, NUL-terminated. -EINVAL, -ENOMEM. */
int oci_b64_decode(const char *in, size_t len, unsigned char **ret, size_t *ret_len);
/* Base64 of len bytes, standard alphabet with padding; url: '-' and '_' instead of '+' and
 * '/' (padding kept, as the CLI's urlsafe_b64encode). malloc'd; NULL on ENOMEM. */
char *oci_b64_encode(const void *in, size_t len, bool url);
/* exp and iat of a JWT ("header.payload.signature"); 0 for a claim that is absent. -EINVAL
 * when the token is not a JWT with a JSON payload. */
int oci_jwt_times(const char *jwt, time_t *ret_exp, time_t *ret_iat);
/* Reads a whole file of at most max bytes into a NUL-terminated malloc'd buffer (*ret,
 * *ret_len; st, optional, gets its fstat). Directories, FIFOs and sockets are refused (a
 * FIFO would block). Messages name label (NULL: path) and what ("the key file", ...):
 * "LABEL: cannot read WHAT: reason", "LABEL: larger than the N bytes WHAT may have". The
 * caller wipes the buffer before freeing it (keys, pass phrases and tokens pass through
 * here); on failure it is wiped here. -errno, -EISDIR, -EINVAL, -EFBIG, -ENOMEM. */
struct stat;
int oci_read_file(const char *path, const char *label, const char *what, size_t max,
		  char **ret, size_t *ret_len, struct stat *ret_st, char *err, size_t errsz);
/* Reads a token file: at most OCI_MAX_TOKEN bytes, trailing whitespace stripped, not empty,
 * no control characters. *ret malloc'd; id (optional) gets the file's identity. err names
 * what (what: "security_token_file", "service-account token", ...). */
int oci_read_token_file(const char *path, const char *what, char **ret, oci_file_id_t *id,
			char *err, size_t errsz);
/* The identity of path now; -errno. */
int oci_file_id(const char *path, oci_file_id_t *ret);
bool oci_file_id_same(const oci_file_id_t *a, const oci_file_id_t *b);

#endif
