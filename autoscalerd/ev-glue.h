/* ev-glue.h - http/'s loop adapter (http_loop_t) on libev: one ev_io per watched fd, one
 * ev_timer. The daemon's loop, `doctor`, the tests and the benchmarks all use it (see
 * http/http.h for the wiring).
 *
 *   ev_glue_t g;
 *   ev_glue_init(&g, loop);
 *   opts.loop = ev_glue_loop(&g);
 *   http_client_new(&opts, &h);
 *   ev_glue_attach(&g, h);
 *   ... ev_run(loop, 0) ...
 *   http_client_free(h);   (unwatches every fd, disarms the timer)
 *   ev_glue_stop(&g);
 */
#ifndef AUTOSCALERD_EV_GLUE_H
#define AUTOSCALERD_EV_GLUE_H

#include <ev.h>

#include "http/http.h"

typedef struct ev_glue {
	struct ev_loop *loop;
	ev_timer timer;
	http_client_t *client;
	size_t watched; /* fds with an ev_io */
} ev_glue_t;

void ev_glue_init(ev_glue_t *g, struct ev_loop *loop);
http_loop_t ev_glue_loop(ev_glue_t *g);
void ev_glue_attach(ev_glue_t *g, http_client_t *h);
/* Stops the timer (after http_client_free, which unwatched every fd). */
void ev_glue_stop(ev_glue_t *g);

#endif
