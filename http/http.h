/* http.h - the one asynchronous HTTP client of autoscalerd (libcurl multi on the event loop).
 *
 * promql/, k8s/ and oci/ send their requests through here (DESIGN.md sections 1, 2, 7). One
 * client serves thousands of requests in flight on one thread; no call blocks: the client
 * never sleeps, never resolves names on the calling thread (curl's threaded resolver) and
 * waits for sockets and timers through the loop adapter below.
 *
 * The event loop. http/ does not include <ev.h> (STYLE.md item 6); the owner of the loop
 * hands the client an http_loop_t of three callbacks and calls back into the client when the
 * loop fires:
 *
 *   watch_fd(fd, events, &slot, ud)   start or change watching fd   -> on readiness:
 *                                                                       http_on_fd(h, fd, ev)
 *   unwatch_fd(fd, slot, ud)          stop watching fd
 *   set_timer(ms, ud)                 one one-shot timer            -> on expiry:
 *                                                                       http_on_timeout(h)
 *
 * With libev that is one ev_io per fd (kept in *slot, so no fd table is needed) and one
 * ev_timer; autoscalerd/ev-glue.c is that glue (a hundred lines, the only code that sees
 * both <ev.h> and this header). Whoever owns a loop wires it so:
 * create the loop, ev_glue_init() it, pass ev_glue_loop() to http_client_new(),
 * ev_glue_attach() the client, run the loop; at exit free the client, then ev_glue_stop(),
 * then the loop.
 *
 * Requests. http_submit() takes a method, URL, headers, body, a timeout per attempt, a
 * response-size ceiling and a retry policy, and calls the completion callback exactly once
 * with the outcome (success / retryable / permanent), the cause, the status, the response
 * headers and the body -- unless the request is cancelled first (http_cancel()) or the
 * client freed, in which case it is never called. Requests to one destination (scheme,
 * host, port) run at most max_in_flight at a time; the rest wait in a FIFO queue. Retries
 * (for callers that ask) wait on the loop's timer: full-jitter exponential backoff, at least
 * what Retry-After asks.
 *
 * Profiles. TLS settings and credentials that several requests share (one per Prometheus,
 * API server, ...) live in an http_profile_t. TLS verification is on unless the profile
 * says insecure_skip_tls_verify; http_profile_insecure() tells the caller so it can warn
 * (this module does not log). Bearer tokens and passwords may come from files, which are
 * stat()ed before every attempt and re-read when they change (rotating tokens).
 *
 * Secrets. No error message of this module contains a header value, a credential from a
 * URL or a secret-looking query parameter; http_format_request() and http_redact_url()
 * give callers the same redaction for their log lines.
 *
 * Completion callbacks run only from http_on_fd() and http_on_timeout(), never from
 * http_submit() or http_cancel(). A completion callback may submit and cancel requests; it
 * must not free the client or call http_on_fd()/http_on_timeout(). The loop adapter's
 * callbacks, on the other hand, are called from anywhere (http_submit() arms the timer).
 *
 * Errors: functions return 0 or a negative errno; outputs are written only on success.
 */
#ifndef AUTOSCALERD_HTTP_H
#define AUTOSCALERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- limits and defaults ---------------------------------------------------------------- */

#define HTTP_DEFAULT_MAX_RESPONSE ((size_t)8 << 20) /* response body ceiling: 8 MiB */
#define HTTP_DEFAULT_TIMEOUT_MS 30000               /* per attempt */
#define HTTP_DEFAULT_MAX_IN_FLIGHT 64               /* per destination */
#define HTTP_DEFAULT_MAX_QUEUED 10000               /* waiting requests, all destinations */
#define HTTP_DEFAULT_RETRY_BASE_MS 1000
#define HTTP_DEFAULT_RETRY_CAP_MS 30000
#define HTTP_DEFAULT_MAX_RETRY_AFTER_MS 120000

#define HTTP_MAX_URL 65536             /* bytes of a request URL */
#define HTTP_MAX_REQUEST_HEADERS 64    /* per request, profile headers included */
#define HTTP_MAX_HEADER_LINE 8192      /* bytes of one request header */
#define HTTP_MAX_RESPONSE_HEADERS 100  /* a response with more fails (HTTP_CAUSE_TOO_LARGE) */
#define HTTP_MAX_RESPONSE_HEADER_BYTES 65536
#define HTTP_MAX_SECRET 16384          /* bytes of a token or password file */
#define HTTP_MAX_ATTEMPTS 100
#define HTTP_MAX_IN_FLIGHT_LIMIT 100000 /* largest per-destination cap accepted */
#define HTTP_ERROR_MAX 640             /* bytes of an error message, NUL included */

/* ---- the loop adapter ------------------------------------------------------------------- */

enum {
	HTTP_EV_READ = 1,
	HTTP_EV_WRITE = 2,
};

typedef struct http_loop {
	/* Watch fd for events (HTTP_EV_READ | HTTP_EV_WRITE), replacing what was watched for it
	 * before. *slot is the adapter's storage for this fd: NULL the first time, then what
	 * the adapter left there, until unwatch_fd. Returns 0 or a negative errno (the
	 * transfers on that socket then fail). */
	int (*watch_fd)(int fd, int events, void **slot, void *userdata);
	/* Stop watching fd and free what the adapter keeps in slot. Called before the fd is
	 * closed. */
	void (*unwatch_fd)(int fd, void *slot, void *userdata);
	/* Call http_on_timeout() once, ms milliseconds from now (0: on the next loop
	 * iteration); ms < 0 disarms. Each call replaces the previous one. */
	void (*set_timer)(long ms, void *userdata);
	void *userdata;
} http_loop_t;

typedef struct http_client http_client_t;

/* The loop saw fd ready for events (HTTP_EV_READ | HTTP_EV_WRITE). */
void http_on_fd(http_client_t *h, int fd, int events);
/* The timer armed by set_timer expired. */
void http_on_timeout(http_client_t *h);

/* ---- the client ------------------------------------------------------------------------- */

typedef struct http_client_opts {
	http_loop_t loop;   /* required */
	int max_in_flight;  /* default cap per destination; 0: HTTP_DEFAULT_MAX_IN_FLIGHT */
	size_t max_queued;  /* requests waiting, for a slot or a retry; 0: the default */
	const char *user_agent; /* NULL: "autoscalerd"; no control characters */
	uint64_t seed;      /* of the backoff jitter; 0: from the clock and the pid */
} http_client_opts_t;

/* Creates a client; *ret is the caller's, to free with http_client_free(). -EINVAL on bad
 * options, -ENOMEM. */
int http_client_new(const http_client_opts_t *opts, http_client_t **ret);

/* Drops every request without calling its completion (their userdata stays the caller's),
 * closes every connection, unwatches every fd, disarms the timer. NULL-safe; returns NULL.
 * Not from inside a completion callback. */
http_client_t *http_client_free(http_client_t *h);

typedef struct http_stats {
	size_t in_flight;     /* transfers running */
	size_t queued;        /* waiting for a destination slot */
	size_t waiting_retry; /* waiting for their retry delay */
	size_t sockets;       /* fds watched */
	size_t peak_body;     /* largest response buffer ever allocated, bytes */
	uint64_t completed[3]; /* completions by http_outcome_t */
	uint64_t retries;     /* attempts after the first */
} http_stats_t;

void http_client_stats(const http_client_t *h, http_stats_t *ret);

/* ---- profiles: TLS and credentials ------------------------------------------------------ */

typedef struct http_header {
	const char *name;
	const char *value;
} http_header_t;

/* Each PEM may be given as a file or inline (kubeconfig's *-data, already base64-decoded);
 * giving both is an error. Inline lengths of 0 mean strlen. */
typedef struct http_tls {
	const char *ca_file;  /* CAs trusted instead of the system store */
	const char *ca_pem;
	size_t ca_pem_len;
	const char *cert_file; /* client certificate ... */
	const char *cert_pem;
	size_t cert_pem_len;
	const char *key_file; /* ... and its key; both or neither */
	const char *key_pem;
	size_t key_pem_len;
	bool insecure_skip_tls_verify; /* no peer or host verification: only when set */
} http_tls_t;

typedef struct http_profile_opts {
	http_tls_t tls;
	const char *bearer_token;      /* Authorization: Bearer ...; at most one of these two */
	const char *bearer_token_file; /* re-read when it changes; trailing newline stripped */
	const char *basic_user;        /* basic auth, with one of the two passwords */
	const char *basic_password;
	const char *basic_password_file; /* re-read when it changes */
	const http_header_t *headers;  /* sent with every request (X-Scope-OrgID, ...) */
	size_t n_headers;
	int max_in_flight; /* cap for the destinations this profile talks to; 0: the client's */
} http_profile_opts_t;

typedef struct http_profile http_profile_t;

/* Copies what it needs from opts; files are checked for readability and token/password
 * files read once, so a wrong path fails here rather than on the first request. *ret holds
 * one reference. On failure returns -EINVAL (contradictory options, bad header, bad
 * token), -ENOENT/-EACCES/... (a file), -EFBIG (a secret file over HTTP_MAX_SECRET),
 * -ENOMEM, and when err is not NULL writes there what and where (never a secret). */
int http_profile_new(const http_profile_opts_t *opts, http_profile_t **ret, char *err,
		     size_t errsz);
/* Requests hold a reference while they live, so a profile may be unreffed at any time. */
http_profile_t *http_profile_ref(http_profile_t *p);
http_profile_t *http_profile_unref(http_profile_t *p); /* NULL-safe; returns NULL */
/* True when the profile skips TLS verification: the caller warns (config load does, each
 * time it loads). */
bool http_profile_insecure(const http_profile_t *p);

/* ---- requests --------------------------------------------------------------------------- */

typedef enum http_outcome {
	HTTP_SUCCESS,   /* 2xx */
	HTTP_RETRYABLE, /* connect errors, timeouts, connection lost, 429, 5xx but 501 */
	HTTP_PERMANENT, /* everything else */
} http_outcome_t;

/* Why, in a few words for metrics labels (http_cause_name). */
typedef enum http_cause {
	HTTP_CAUSE_NONE,        /* a 2xx response */
	HTTP_CAUSE_STATUS,      /* a complete response with another status */
	HTTP_CAUSE_CONNECT,     /* name resolution, connect, proxy: retryable */
	HTTP_CAUSE_TIMEOUT,     /* the attempt's timeout: retryable */
	HTTP_CAUSE_CLOSED,      /* connection lost or reset before the response was complete,
				   truncated body: retryable */
	HTTP_CAUSE_PROTOCOL,    /* not HTTP, malformed response, bad encoding */
	HTTP_CAUSE_TOO_LARGE,   /* body over the ceiling, headers over their limits */
	HTTP_CAUSE_TLS,         /* handshake, certificate verification, client certificate */
	HTTP_CAUSE_CREDENTIALS, /* a token or password file could not be read */
	HTTP_CAUSE_LOCAL,       /* out of memory and other failures on this side */
	HTTP_CAUSE_COUNT_
} http_cause_t;

const char *http_outcome_name(http_outcome_t o); /* "success", "retryable", "permanent" */
const char *http_cause_name(http_cause_t c);     /* "none", "status", "connect", ... */

/* Outcome of a complete response with this status. */
http_outcome_t http_classify_status(long status);

typedef struct http_retry {
	int max_attempts;      /* 0 or 1: no retries; at most HTTP_MAX_ATTEMPTS */
	int64_t base_ms;       /* first backoff bound; 0: HTTP_DEFAULT_RETRY_BASE_MS */
	int64_t cap_ms;        /* largest backoff bound; 0: HTTP_DEFAULT_RETRY_CAP_MS */
	int64_t max_retry_after_ms; /* a longer Retry-After is not waited for: the request
				       completes, retry_after_ms tells the caller; 0: default */
} http_retry_t;

typedef struct http_response {
	http_outcome_t outcome;
	http_cause_t cause;
	long status;        /* of the last attempt; 0 when no response arrived */
	const char *error;  /* "" on success, else one line: "METHOD URL: what" (redacted) */
	const http_header_t *headers; /* of the last response; names as sent */
	size_t n_headers;
	char *body;         /* NUL-terminated; NULL when empty, and after a transport error
			       (a partial body is no body). The callback may keep it: set
			       body to NULL and free() it later */
	size_t body_len;
	int attempts;
	int64_t waited_ms;      /* sum of the retry delays */
	int64_t retry_after_ms; /* Retry-After of the last response, -1 when absent */
} http_response_t;

typedef void http_done_fn(http_response_t *res, void *userdata);
/* A streamed 2xx body (a Kubernetes WATCH), in pieces as they arrive (any split). Return
 * false to end the transfer: the completion then says HTTP_PERMANENT, HTTP_CAUSE_LOCAL. */
typedef bool http_data_fn(const char *data, size_t len, void *userdata);

typedef struct http_request_opts {
	const char *method; /* NULL: GET, or POST when there is a body */
	const char *url;    /* http:// or https:// */
	const http_header_t *headers;
	size_t n_headers;
	const void *body;   /* copied */
	size_t body_len;
	int64_t timeout_ms; /* per attempt, from its start (not counting the queue); 0: the
			       default, HTTP_DEFAULT_TIMEOUT_MS */
	size_t max_response; /* body ceiling, bytes; 0: HTTP_DEFAULT_MAX_RESPONSE */
	http_retry_t retry;
	http_profile_t *profile; /* optional; the request takes a reference */
	http_done_fn *done;      /* required */
	http_data_fn *on_data;   /* optional: stream a 2xx body to it instead of keeping it
				    (no ceiling then; the completion gets no body). Other
				    statuses' bodies are kept for the completion as usual.
				    Called from the loop, like done; retries restart the
				    stream, so streaming callers ask for none */
	void *userdata;
} http_request_opts_t;

typedef struct http_request http_request_t;

/* Queues a request (copies everything in opts). *ret, when ret is not NULL, identifies it
 * for http_cancel() until its completion callback returns. Fails, without calling done,
 * with -EINVAL (bad method, URL, header), -E2BIG (URL or headers over the limits),
 * -ENOBUFS (max_queued requests already wait), -ENOMEM; err (when not NULL) then says
 * what, redacted. */
int http_submit(http_client_t *h, const http_request_opts_t *opts, http_request_t **ret,
		char *err, size_t errsz);

/* Stops a request wherever it is (queued, running, waiting for a retry) and frees it; its
 * completion is never called. No-op on the request whose completion is running. */
void http_cancel(http_client_t *h, http_request_t *r);

/* Case-insensitive lookup of a response header; NULL when absent. */
const char *http_response_header(const http_response_t *res, const char *name);

/* ---- timers ------------------------------------------------------------------------------ */

/* One-shot timers on the client's loop timer, for the modules on top (retry backoff of
 * their own, lease renewals, token refresh, child-process timeouts), so that they need no
 * loop adapter of their own. Callbacks run from http_on_timeout(), under the same rules as
 * completions (they may arm or free any timer, their own included, and submit requests).
 * Every timer must be freed before its client. */
typedef struct http_timer http_timer_t;
typedef void http_timer_fn(void *arg);

int http_timer_new(http_client_t *h, http_timer_fn *fn, void *arg, http_timer_t **ret);
/* Fire once, ms milliseconds from now (replacing any earlier arming); ms < 0 disarms.
 * 0, or -ENOMEM (then it is disarmed). */
int http_timer_arm(http_timer_t *t, int64_t ms);
bool http_timer_armed(const http_timer_t *t);
http_timer_t *http_timer_free(http_timer_t *t); /* NULL-safe; returns NULL */

/* ---- helpers (exported for callers and tests) -------------------------------------------- */

/* An error message into err[errsz] (nothing when err is NULL or errsz 0), for this module
 * and the ones on top: never fails, never overflows (cut short, it ends in "..."), and is
 * one line (control characters become spaces). */
void http_errf(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Retry-After (delay-seconds or HTTP-date) -> milliseconds from now (0 for a past date).
 * now is the wall clock (time(NULL)). -EINVAL when it is neither, -ERANGE past a year. */
int http_parse_retry_after(const char *value, time_t now, int64_t *ret_ms);

/* Full-jitter backoff bound for attempt n (1 = the delay after the first failure):
 * min(cap, base * 2^(n-1)). */
int64_t http_backoff_bound(int64_t base_ms, int64_t cap_ms, int n);

/* True for header names whose values are secrets (Authorization, Proxy-Authorization,
 * Cookie, Set-Cookie, and names with token, secret, password, key, auth, session,
 * signature, credential in them) and for such query parameter names. */
bool http_header_is_secret(const char *name);
bool http_param_is_secret(const char *name);

/* The URL for a log line: userinfo replaced by "REDACTED@", values of secret-looking query
 * parameters by REDACTED, control characters by '?'. Writes at most size bytes, NUL
 * included, truncating with "..."; returns the length written. */
size_t http_redact_url(char *buf, size_t size, const char *url);

/* One log line for a request: "METHOD URL; Name: value; ..." with http_redact_url() and the
 * values of secret headers replaced by REDACTED. Same buffer rules. */
size_t http_format_request(char *buf, size_t size, const char *method, const char *url,
			   const http_header_t *headers, size_t n_headers);

#endif
