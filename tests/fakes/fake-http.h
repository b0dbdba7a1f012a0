/* fake-http.h - a small HTTP server on 127.0.0.1 for the http/ tests and bench-http
 * (libmicrohttpd; the port is chosen by the kernel and read back).
 *
 * Routes:
 *   /ok                    200 "hello\n", X-Fake: yes
 *   /echo                  200 "METHOD BODY", X-Echo-Auth: the Authorization received
 *                          ("-" when none), X-Echo-Content-Type likewise, and with
 *                          ?h=NAME X-Echo-H: the value of request header NAME
 *   /status/N              status N; ?retry_after=V adds Retry-After: V
 *   /flaky/K/N             the server's first K requests to /flaky/ get N (with
 *                          ?retry_after=V), later ones 200 "recovered\n"
 *   /slow/MS               200 after MS milliseconds (thread-per-connection mode only)
 *   /big/N, /bigchunked/N  N bytes of 'x', with Content-Length or chunked
 *   /stream/N/MS           N chunks "event I\n", MS milliseconds apart (thread-per-connection
 *                          mode only)
 *   /headers/N             200 with N extra headers
 *   /canned/..., /api/...  the canned answer (below), whatever the rest of the path
 *   anything else          404
 * The request target as received is kept (a proxied request has an absolute URL there).
 */
#ifndef AUTOSCALERD_FAKE_HTTP_H
#define AUTOSCALERD_FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fake_http fake_http_t;

/* fast: one epoll thread for every connection (bench); otherwise a thread per connection,
 * so /slow can sleep. Returns 0 or a negative errno. */
int fake_http_start(bool fast, fake_http_t **ret);
/* Stops the server and waits for its threads. NULL-safe; returns NULL. */
fake_http_t *fake_http_stop(fake_http_t *f);
uint16_t fake_http_port(const fake_http_t *f);

/* Requests seen (started), most at once in the handler, and the last target and
 * Authorization seen (copied into buf). */
long fake_http_requests(fake_http_t *f);
int fake_http_max_concurrent(fake_http_t *f);
void fake_http_last_target(fake_http_t *f, char *buf, size_t size);

/* ---- the canned responder ----------------------------------------------------------------
 * Every path under /canned/ or /api/ (so a client whose base URL is http://HOST:PORT/canned
 * asking for /canned/api/v1/query, or one whose base URL has no path) gets the answer last
 * set with fake_http_set_canned(), 404 "no canned answer\n" until one is set. The answer
 * leaves after the delay of fake_http_set_canned_delay(), if any (thread-per-connection mode
 * only, like /slow). Each such request is recorded once its body has arrived, before the delay,
 * and fake_http_last_canned() copies the last record. Thread-safe. */

#define FAKE_HTTP_SEEN_TARGET 8192
#define FAKE_HTTP_SEEN_HEADERS 8192
#define FAKE_HTTP_SEEN_BODY 32768

struct fake_http_seen {
	long count;          /* requests the canned responder has seen, this one included */
	char method[16];
	char target[FAKE_HTTP_SEEN_TARGET]; /* path?query exactly as received, not decoded */
	char content_type[256];             /* "" when the request had none */
	char headers[FAKE_HTTP_SEEN_HEADERS]; /* every request header, "Name: value\n" */
	char body[FAKE_HTTP_SEEN_BODY];     /* NUL-terminated */
	size_t body_len;     /* the whole body's length, even when body holds less */
	bool truncated;      /* a field above was cut to its buffer */
};

/* Serves status, Content-Type content_type (none when NULL) and body[0..len) (copied) from
 * now on. Returns 0 or -ENOMEM. */
int fake_http_set_canned(fake_http_t *f, int status, const char *content_type,
			 const void *body, size_t len);
/* Delays the canned answers to requests whose target or body contains match (every request
 * when match is NULL) by ms milliseconds; 0 ends the delay. */
void fake_http_set_canned_delay(fake_http_t *f, long ms, const char *match);
/* The last request the canned responder saw (count 0 and empty fields when none). */
void fake_http_last_canned(fake_http_t *f, struct fake_http_seen *ret);
/* Copies the value of request header name (case-insensitive) of s into buf; false when the
 * request had no such header. */
bool fake_http_seen_header(const struct fake_http_seen *s, const char *name, char *buf,
			   size_t size);

#endif
