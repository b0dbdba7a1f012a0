/* k8s-client.h - what client.c, exec.c and calls.c share: the client and call structures,
 * the credential plumbing. Not part of the API. */
#ifndef AUTOSCALERD_K8S_CLIENT_H
#define AUTOSCALERD_K8S_CLIENT_H

#include <time.h>

#include "k8s/k8s.h"

#define K8S_MAX_URL 8192
#define K8S_EXPIRY_MARGIN_S 60 /* a credential this close to its expiry is fetched anew */
#define K8S_WATCH_SECONDS 300  /* timeoutSeconds of a WATCH: the server ends it, we resume */

typedef enum k8s_cred_mode {
	K8S_CRED_STATIC, /* token, token file, client certificate or basic auth */
	K8S_CRED_EXEC,   /* an exec credential plugin */
	K8S_CRED_SOURCE, /* the caller's token source (OKE) */
} k8s_cred_mode_t;

struct k8s_exec_run; /* exec.c */

struct k8s_client {
	http_client_t *http;
	k8s_cluster_t *cluster; /* our copy */
	int max_in_flight;
	int64_t timeout_ms, exec_timeout_ms;
	int64_t watch_timeout_ms; /* a WATCH attempt's guard: K8S_WATCH_SECONDS + 30 s */
	http_retry_t retry;
	char *identity;

	k8s_cred_mode_t mode;
	char cred_what[300];      /* "exec plugin oci", for messages */
	http_profile_t *profile;  /* TLS and the current credential */
	bool cred_ready, cred_fetching;
	uint64_t cred_gen;        /* bumped by each new credential */
	time_t cred_expires;      /* 0: unknown */
	char cred_error[K8S_ERROR_MAX];
	k8s_token_fn *source_fn;
	void *source_ud;
	http_timer_t *source_timer; /* gives up on a source that does not answer */
	struct k8s_exec_run *exec;

	k8s_call_t *all;                  /* live calls */
	k8s_call_t *waiting, *waiting_tail; /* calls waiting for a credential, in order */
	http_timer_t *defer_timer;        /* completes calls that failed before going out */
};

/* How a call's reply becomes its callback. Returns true when the call is over (it is then
 * freed), false when it went on with k8s_call_resend() (a call of several requests). */
typedef bool k8s_finish_fn(k8s_call_t *call, const k8s_result_t *r, const char *body,
			   size_t len);

struct k8s_call {
	k8s_client_t *c;
	k8s_call_t *prev, *next; /* c->all */
	k8s_call_t *wnext;       /* c->waiting */
	bool waiting, retried_401;
	http_request_t *req;
	uint64_t cred_gen;       /* of the credential it went out with */
	int attempts;
	int64_t start_ms;

	char method[8];
	char *path; /* "/apis/apps/v1/..." with the query */
	char *body;
	size_t body_len;
	const char *content_type;
	char object[192]; /* "deployment default/llama", for a 404; "" for collections */
	char access[256]; /* "patch deployments.apps/scale in namespace default", for a 403 */
	char deferred_error[K8S_ERROR_MAX];

	http_data_fn *on_data; /* a stream (WATCH): the 2xx body goes here; no retries */
	k8s_finish_fn *finish;
	void *done; /* the caller's callback, as its type */
	void *userdata;
	void *state; /* a multi-request call's, freed with the call */
};

int64_t k8s_now_ms(void);

/* Links a prepared call (method, path, body, finish, done, userdata, object, access set;
 * path and body malloc'd, owned by the call from here on) into the client and sends it or
 * queues it for a credential. Returns 0, or -ENOMEM (the call is freed). */
int k8s_call_start(k8s_client_t *c, k8s_call_t *call, k8s_call_t **ret);
void k8s_call_describe(const k8s_call_t *call, char *buf, size_t size);
/* The raw reply of an internal call (lease.c): body is the response's, any status. */
typedef void k8s_raw_fn(const k8s_result_t *r, const char *body, size_t len, void *userdata);
/* An internal call: method, path and body (both malloc'd, taken; body may be NULL), what to
 * name in errors. 0 or -ENOMEM (err says so). */
int k8s_request(k8s_client_t *c, const char *method, char *path, char *body,
		const char *content_type, const char *object, const k8s_access_t *access,
		k8s_raw_fn *done, void *userdata, k8s_call_t **ret, char *err, size_t errsz);

/* A streamed GET (a WATCH): the 2xx body goes to on_data(data, len, userdata) as it
 * arrives, then done() gets the end (status, error; body only for an error status).
 * Never retried by http/ (the caller resumes from its resourceVersion); a 401 still
 * reloads the credential once. 0 or -ENOMEM. */
int k8s_stream(k8s_client_t *c, char *path, const char *object, const k8s_access_t *access,
	       http_data_fn *on_data, k8s_raw_fn *done, void *userdata, k8s_call_t **ret,
	       char *err, size_t errsz);

/* From a finish function: the same call goes on with another GET (path malloc'd, taken). */
void k8s_call_resend(k8s_call_t *call, char *path);
void k8s_deferred_fire(void *arg);
/* MicroTime (RFC 3339, 6 fractional digits, UTC) of a CLOCK_REALTIME time. */
void k8s_format_microtime(const struct timespec *ts, char *buf, size_t size);

/* A new credential (token, or a certificate and key in PEM), or error; from exec.c and
 * k8s_client_set_token. */
void k8s_cred_done(k8s_client_t *c, const char *token, const char *cert_pem,
		   const char *key_pem, time_t expires, const char *error);

/* exec.c: the plugin's command exists (a bare name in $PATH); start a run (the result
 * comes through k8s_cred_done); kill and reap a running one. */
int k8s_exec_check(k8s_client_t *c, char *err, size_t errsz);
int k8s_exec_start(k8s_client_t *c, char *err, size_t errsz);
void k8s_exec_stop(k8s_client_t *c);

#endif
