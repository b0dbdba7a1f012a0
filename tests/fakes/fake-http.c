/* fake-http.c - the libmicrohttpd fake of fake-http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "tests/fakes/fake-http.h"

#define MAX_UPLOAD (1 << 20)

struct fake_http {
	struct MHD_Daemon *d;
	uint16_t port;
	atomic_long requests;
	atomic_int cur, max;
	atomic_int flaky;
	pthread_mutex_t lock;
	char last_target[1024];
};

struct req {
	char *body;
	size_t len;
	bool active; /* counted in cur */
};

static void leave(fake_http_t *f, struct req *q)
{
	if (q->active) {
		q->active = false;
		atomic_fetch_sub(&f->cur, 1);
	}
}

static ssize_t fill_x(void *cls, uint64_t pos, char *buf, size_t max)
{
	uint64_t total = *(uint64_t *)cls;
	size_t n;

	if (total != MHD_SIZE_UNKNOWN && pos >= total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (total == MHD_SIZE_UNKNOWN) {
		/* chunked: the total hides in the upper half of the cls pair */
		uint64_t want = ((uint64_t *)cls)[1];

		if (pos >= want)
			return MHD_CONTENT_READER_END_OF_STREAM;
		total = want;
	}
	n = total - pos < max ? (size_t)(total - pos) : max;
	memset(buf, 'x', n);
	return (ssize_t)n;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *text,
				 const char *h1, const char *v1, const char *h2, const char *v2)
{
	struct MHD_Response *res =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result r;

	if (!res)
		return MHD_NO;
	if (h1 && v1)
		MHD_add_response_header(res, h1, v1);
	if (h2 && v2)
		MHD_add_response_header(res, h2, v2);
	r = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return r;
}

static enum MHD_Result respond(fake_http_t *f, struct MHD_Connection *c, const char *url,
			       const char *method, struct req *q)
{
	const char *path = url, *ra = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
								     "retry_after");
	char text[256];
	long a, b;

	/* A proxied request carries an absolute URL: serve its path. */
	if (strncmp(url, "http://", 7) == 0) {
		path = strchr(url + 7, '/');
		if (!path)
			path = "/";
	}
	if (strcmp(path, "/ok") == 0)
		return send_text(c, 200, "hello\n", "X-Fake", "yes", "Content-Type", "text/plain");
	if (strcmp(path, "/echo") == 0) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		const char *hn = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "h");
		const char *hv = hn ? MHD_lookup_connection_value(c, MHD_HEADER_KIND, hn) : NULL;
		struct MHD_Response *res;
		enum MHD_Result r;
		char *out = malloc(q->len + 64);

		if (!out)
			return MHD_NO;
		snprintf(out, q->len + 64, "%s %.*s", method, (int)q->len, q->body ? q->body : "");
		res = MHD_create_response_from_buffer(strlen(out), out, MHD_RESPMEM_MUST_COPY);
		free(out);
		if (!res)
			return MHD_NO;
		MHD_add_response_header(res, "X-Echo-Auth", auth ? auth : "-");
		MHD_add_response_header(res, "X-Echo-Content-Type", ct ? ct : "-");
		MHD_add_response_header(res, "X-Echo-H", hv ? hv : "-");
		r = MHD_queue_response(c, 200, res);
		MHD_destroy_response(res);
		return r;
	}
	if (sscanf(path, "/status/%ld", &a) == 1) {
		snprintf(text, sizeof(text), "status %ld\n", a);
		return send_text(c, (unsigned)a, text, "Retry-After", ra, NULL, NULL);
	}
	if (sscanf(path, "/flaky/%ld/%ld", &a, &b) == 2) {
		if (atomic_fetch_add(&f->flaky, 1) < a) {
			snprintf(text, sizeof(text), "failing with %ld\n", b);
			return send_text(c, (unsigned)b, text, "Retry-After", ra, NULL, NULL);
		}
		return send_text(c, 200, "recovered\n", NULL, NULL, NULL, NULL);
	}
	if (sscanf(path, "/slow/%ld", &a) == 1) {
		struct timespec ts = { a / 1000, (a % 1000) * 1000000 };

		nanosleep(&ts, NULL);
		return send_text(c, 200, "slow\n", NULL, NULL, NULL, NULL);
	}
	if (sscanf(path, "/big/%ld", &a) == 1 || sscanf(path, "/bigchunked/%ld", &b) == 1) {
		bool chunked = strncmp(path, "/bigchunked/", 12) == 0;
		uint64_t *cls = malloc(2 * sizeof(uint64_t));
		struct MHD_Response *res;
		enum MHD_Result r;

		if (!cls)
			return MHD_NO;
		cls[0] = chunked ? MHD_SIZE_UNKNOWN : (uint64_t)a;
		cls[1] = chunked ? (uint64_t)b : 0;
		res = MHD_create_response_from_callback(cls[0], 65536, fill_x, cls, free);
		if (!res) {
			free(cls);
			return MHD_NO;
		}
		r = MHD_queue_response(c, 200, res);
		MHD_destroy_response(res);
		return r;
	}
	if (sscanf(path, "/headers/%ld", &a) == 1) {
		struct MHD_Response *res = MHD_create_response_from_buffer(
			3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
		enum MHD_Result r;

		if (!res)
			return MHD_NO;
		for (long i = 0; i < a; i++) {
			char name[32];

			snprintf(name, sizeof(name), "X-H-%ld", i);
			MHD_add_response_header(res, name, "some value");
		}
		r = MHD_queue_response(c, 200, res);
		MHD_destroy_response(res);
		return r;
	}
	return send_text(c, 404, "not found\n", NULL, NULL, NULL, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	fake_http_t *f = cls;
	struct req *q = *con_cls;
	enum MHD_Result r;
	int cur, max;

	(void)version;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		*con_cls = q;
		q->active = true;
		atomic_fetch_add(&f->requests, 1);
		cur = atomic_fetch_add(&f->cur, 1) + 1;
		max = atomic_load(&f->max);
		while (cur > max && !atomic_compare_exchange_weak(&f->max, &max, cur))
			;
		pthread_mutex_lock(&f->lock);
		snprintf(f->last_target, sizeof(f->last_target), "%s", url);
		pthread_mutex_unlock(&f->lock);
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (q->len + n > MAX_UPLOAD)
			return MHD_NO;
		char *b = realloc(q->body, q->len + n + 1);
		if (!b)
			return MHD_NO;
		q->body = b;
		memcpy(q->body + q->len, upload, n);
		q->len += n;
		q->body[q->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	r = respond(f, c, url, method, q);
	/* The response leaves after we return: a client that saw it never finds us still
	 * counting its request. */
	leave(f, q);
	return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	fake_http_t *f = cls;
	struct req *q = *con_cls;

	(void)c;
	(void)toe;
	if (!q)
		return;
	leave(f, q);
	free(q->body);
	free(q);
	*con_cls = NULL;
}

int fake_http_start(bool fast, fake_http_t **ret)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;
	unsigned flags;
	fake_http_t *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	flags = fast ? MHD_USE_EPOLL_INTERNAL_THREAD
		     : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	f->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sin,
				MHD_OPTION_NOTIFY_COMPLETED, completed, f,
				MHD_OPTION_CONNECTION_LIMIT, 8000u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
				4096u, MHD_OPTION_END);
	if (!f->d) {
		pthread_mutex_destroy(&f->lock);
		free(f);
		return -EADDRNOTAVAIL;
	}
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	f->port = info ? info->port : 0;
	if (!f->port) {
		fake_http_stop(f);
		return -EADDRNOTAVAIL;
	}
	*ret = f;
	return 0;
}

fake_http_t *fake_http_stop(fake_http_t *f)
{
	if (!f)
		return NULL;
	if (f->d)
		MHD_stop_daemon(f->d);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return NULL;
}

uint16_t fake_http_port(const fake_http_t *f)
{
	return f->port;
}

long fake_http_requests(fake_http_t *f)
{
	return atomic_load(&f->requests);
}

int fake_http_max_concurrent(fake_http_t *f)
{
	return atomic_load(&f->max);
}

void fake_http_last_target(fake_http_t *f, char *buf, size_t size)
{
	pthread_mutex_lock(&f->lock);
	snprintf(buf, size, "%s", f->last_target);
	pthread_mutex_unlock(&f->lock);
}
