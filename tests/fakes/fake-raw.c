/* fake-raw.c - the broken servers of fake-raw.h: one thread, poll(), a wake pipe. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fakes/fake-raw.h"

#define MAX_CONNS 256

struct conn {
	int fd;
	size_t got; /* bytes of the request head matched against "\r\n\r\n" */
};

struct fake_raw {
	fake_raw_mode_t mode;
	int lfd, wake[2];
	uint16_t port;
	pthread_t thread;
	atomic_long accepted;
	struct conn conns[MAX_CONNS];
	int n;
};

static int listen_loopback(uint16_t *port, bool do_listen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (do_listen && listen(fd, 128) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

int fake_closed_port(uint16_t *ret)
{
	/* Bound but not listening: the port stays ours (nobody else gets it) and refuses. */
	static int keep = -1;
	static uint16_t port;
	int fd;

	if (keep < 0) {
		fd = listen_loopback(&port, false);
		if (fd < 0)
			return fd;
		keep = fd;
	}
	*ret = port;
	return 0;
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* The request head is complete: act. Returns true when the connection is to be closed. */
static bool act(fake_raw_t *f, int fd)
{
	switch (f->mode) {
	case FAKE_RAW_HANG:
		return false;
	case FAKE_RAW_CLOSE:
		return true;
	case FAKE_RAW_GARBAGE:
		send_all(fd, "this is not HTTP at all\r\n\r\n");
		return true;
	case FAKE_RAW_TRUNCATED:
		send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello");
		return true;
	case FAKE_RAW_MIDCLOSE:
		send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
		return true;
	}
	return true;
}

static void drop(fake_raw_t *f, int i)
{
	/* Read what is left so close() sends a FIN, not a reset. */
	shutdown(f->conns[i].fd, SHUT_WR);
	close(f->conns[i].fd);
	f->conns[i] = f->conns[--f->n];
}

static void *run(void *arg)
{
	fake_raw_t *f = arg;
	struct pollfd p[MAX_CONNS + 2];

	for (;;) {
		p[0] = (struct pollfd){ .fd = f->wake[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = f->lfd, .events = POLLIN };
		for (int i = 0; i < f->n; i++)
			p[i + 2] = (struct pollfd){ .fd = f->conns[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)f->n + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		for (int i = f->n - 1; i >= 0; i--) {
			char buf[4096];
			ssize_t k;

			if (!p[i + 2].revents)
				continue;
			k = recv(f->conns[i].fd, buf, sizeof(buf), 0);
			if (k <= 0) {
				drop(f, i);
				continue;
			}
			for (ssize_t j = 0; j < k; j++) {
				f->conns[i].got = buf[j] == "\r\n\r\n"[f->conns[i].got]
							  ? f->conns[i].got + 1
							  : (buf[j] == '\r' ? 1 : 0);
				if (f->conns[i].got == 4) {
					f->conns[i].got = 0;
					if (act(f, f->conns[i].fd)) {
						drop(f, i);
						break;
					}
				}
			}
		}
		if (p[1].revents) {
			int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && f->n < MAX_CONNS) {
				f->conns[f->n++] = (struct conn){ .fd = fd };
				atomic_fetch_add(&f->accepted, 1);
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}
	while (f->n > 0)
		drop(f, f->n - 1);
	return NULL;
}

int fake_raw_start(fake_raw_mode_t mode, fake_raw_t **ret)
{
	fake_raw_t *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->mode = mode;
	f->wake[0] = f->wake[1] = -1;
	f->lfd = listen_loopback(&f->port, true);
	if (f->lfd < 0) {
		r = f->lfd;
		free(f);
		return r;
	}
	if (pipe2(f->wake, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	r = -pthread_create(&f->thread, NULL, run, f);
	if (r < 0)
		goto fail;
	*ret = f;
	return 0;
fail:
	close(f->lfd);
	if (f->wake[0] >= 0) {
		close(f->wake[0]);
		close(f->wake[1]);
	}
	free(f);
	return r;
}

fake_raw_t *fake_raw_stop(fake_raw_t *f)
{
	if (!f)
		return NULL;
	(void)!write(f->wake[1], "x", 1);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	close(f->wake[0]);
	close(f->wake[1]);
	free(f);
	return NULL;
}

uint16_t fake_raw_port(const fake_raw_t *f)
{
	return f->port;
}

long fake_raw_accepted(fake_raw_t *f)
{
	return atomic_load(&f->accepted);
}
