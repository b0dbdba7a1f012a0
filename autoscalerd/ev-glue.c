/* ev-glue.c - http_loop_t on libev (see ev-glue.h). */
#include <errno.h>
#include <stdlib.h>

#include "autoscalerd/ev-glue.h"

struct watch {
	ev_io io;
	ev_glue_t *g;
};

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct watch *wa = (struct watch *)w;
	int ev = 0;

	(void)loop;
	if (revents & EV_READ)
		ev |= HTTP_EV_READ;
	if (revents & EV_WRITE)
		ev |= HTTP_EV_WRITE;
	/* w may be freed inside: curl can close the socket while handling it. */
	if (wa->g->client)
		http_on_fd(wa->g->client, w->fd, ev);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_glue_t *g = w->data;

	(void)loop;
	(void)revents;
	if (g->client)
		http_on_timeout(g->client);
}

static int watch_fd(int fd, int events, void **slot, void *userdata)
{
	ev_glue_t *g = userdata;
	struct watch *wa = *slot;
	int ev = ((events & HTTP_EV_READ) ? EV_READ : 0) | ((events & HTTP_EV_WRITE) ? EV_WRITE : 0);

	if (!wa) {
		wa = calloc(1, sizeof(*wa));
		if (!wa)
			return -ENOMEM;
		wa->g = g;
		*slot = wa;
		g->watched++;
	} else {
		ev_io_stop(g->loop, &wa->io);
	}
	ev_io_init(&wa->io, on_io, fd, ev);
	if (ev)
		ev_io_start(g->loop, &wa->io);
	return 0;
}

static void unwatch_fd(int fd, void *slot, void *userdata)
{
	ev_glue_t *g = userdata;
	struct watch *wa = slot;

	(void)fd;
	if (!wa)
		return;
	ev_io_stop(g->loop, &wa->io);
	g->watched--;
	free(wa);
}

static void set_timer(long ms, void *userdata)
{
	ev_glue_t *g = userdata;

	ev_timer_stop(g->loop, &g->timer);
	if (ms < 0)
		return;
	/* ev_now() lags while callbacks run; a timer set from it would fire early. */
	ev_now_update(g->loop);
	ev_timer_set(&g->timer, (double)ms / 1000.0, 0.0);
	ev_timer_start(g->loop, &g->timer);
}

void ev_glue_init(ev_glue_t *g, struct ev_loop *loop)
{
	g->loop = loop;
	g->client = NULL;
	g->watched = 0;
	ev_timer_init(&g->timer, on_timer, 0.0, 0.0);
	g->timer.data = g;
}

http_loop_t ev_glue_loop(ev_glue_t *g)
{
	return (http_loop_t){
		.watch_fd = watch_fd,
		.unwatch_fd = unwatch_fd,
		.set_timer = set_timer,
		.userdata = g,
	};
}

void ev_glue_attach(ev_glue_t *g, http_client_t *h)
{
	g->client = h;
}

void ev_glue_stop(ev_glue_t *g)
{
	ev_timer_stop(g->loop, &g->timer);
	g->client = NULL;
}
