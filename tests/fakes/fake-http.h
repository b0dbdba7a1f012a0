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
 *   /headers/N             200 with N extra headers
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

#endif
