/* fake-http.c - the libmicrohttpd fake of fake-http.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "tests/fakes/fake-http.h"
#include "tests/fakes/mhd-conn.h"

#define MAX_UPLOAD (1 << 20)

struct fake_http {
	struct MHD_Daemon *d;
	uint16_t port;
	atomic_long requests;
	atomic_int cur, max;
	atomic_int flaky;
	pthread_mutex_t lock;
	char last_target[1024];
	/* the canned responder, under lock */
	unsigned canned_status; /* 0: none set */
	char *canned_type, *canned_body;
	size_t canned_len;
	long canned_delay_ms;
	char canned_delay_match[256]; /* "": every request */
	struct fake_http_seen *seen;
};

struct req {
	struct fake_conn conn; /* first: the URI log callback makes the whole struct */
	bool active;           /* counted in cur */
};

static void leave(fake_http_t *f, struct req *q)
{
	if (q->active) {
		q->active = false;
		atomic_fetch_sub(&f->cur, 1);
	}
}

/* /stream/N/MS: N lines "event I\n", one chunk each, MS milliseconds apart. */
struct stream {
	long lines, gap_ms, sent;
};

static ssize_t fill_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct timespec ts;
	int n;

	(void)pos;
	if (st->sent >= st->lines)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (st->sent > 0) {
		ts = (struct timespec){ st->gap_ms / 1000, (st->gap_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	n = snprintf(buf, max, "event %ld\n", st->sent++);
	return n < 0 || (size_t)n >= max ? MHD_CONTENT_READER_END_WITH_ERROR : n;
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

/* Copies src into dst[size], noting in *cut whether it fit. */
static void copy_field(char *dst, size_t size, const char *src, bool *cut)
{
	size_t n = strlen(src);

	if (n >= size) {
		n = size - 1;
		*cut = true;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

struct header_walk {
	struct fake_http_seen *s;
	size_t used;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct header_walk *w = cls;
	size_t room = sizeof(w->s->headers) - w->used;
	int n;

	(void)kind;
	n = snprintf(w->s->headers + w->used, room, "%s: %s\n", key, value ? value : "");
	if (n < 0 || (size_t)n >= room) {
		w->s->headers[w->used] = '\0';
		w->s->truncated = true;
		return MHD_NO;
	}
	w->used += (size_t)n;
	return MHD_YES;
}

static void record_canned(fake_http_t *f, struct MHD_Connection *c, const char *url,
			  const char *method, const struct req *q)
{
	struct fake_http_seen *s = f->seen;
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	struct header_walk w = { s, 0 };
	long count = s->count + 1;

	memset(s, 0, sizeof(*s));
	s->count = count;
	copy_field(s->method, sizeof(s->method), method, &s->truncated);
	copy_field(s->target, sizeof(s->target), q->conn.raw_target ? q->conn.raw_target : url,
		   &s->truncated);
	copy_field(s->content_type, sizeof(s->content_type), ct ? ct : "", &s->truncated);
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &w);
	s->body_len = q->conn.len;
	if (q->conn.len) {
		size_t n = q->conn.len < sizeof(s->body) ? q->conn.len : sizeof(s->body) - 1;

		memcpy(s->body, q->conn.body, n);
		s->body[n] = '\0';
		if (n < q->conn.len)
			s->truncated = true;
	}
}

static enum MHD_Result send_canned(fake_http_t *f, struct MHD_Connection *c, const char *url,
				   const char *method, const struct req *q)
{
	struct MHD_Response *res = NULL;
	unsigned status;
	long delay;
	enum MHD_Result r;

	pthread_mutex_lock(&f->lock);
	record_canned(f, c, url, method, q);
	status = f->canned_status;
	delay = f->canned_delay_ms;
	if (f->canned_delay_match[0] && !strstr(f->seen->target, f->canned_delay_match) &&
	    !strstr(f->seen->body, f->canned_delay_match))
		delay = 0;
	if (status) {
		res = MHD_create_response_from_buffer(f->canned_len, f->canned_body,
						      MHD_RESPMEM_MUST_COPY);
		if (res && f->canned_type)
			MHD_add_response_header(res, "Content-Type", f->canned_type);
	}
	pthread_mutex_unlock(&f->lock);
	if (!status)
		return send_text(c, 404, "no canned answer\n", NULL, NULL, NULL, NULL);
	if (!res)
		return MHD_NO;
	if (delay > 0) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
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
	if (strncmp(path, "/canned/", 8) == 0 || strncmp(path, "/api/", 5) == 0)
		return send_canned(f, c, url, method, q);
	if (strcmp(path, "/echo") == 0) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		const char *hn = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "h");
		const char *hv = hn ? MHD_lookup_connection_value(c, MHD_HEADER_KIND, hn) : NULL;
		struct MHD_Response *res;
		enum MHD_Result r;
		char *out = malloc(q->conn.len + 64);

		if (!out)
			return MHD_NO;
		snprintf(out, q->conn.len + 64, "%s %.*s", method, (int)q->conn.len,
			 q->conn.body ? q->conn.body : "");
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
	if (sscanf(path, "/stream/%ld/%ld", &a, &b) == 2) {
		struct stream *st = calloc(1, sizeof(*st));
		struct MHD_Response *res;
		enum MHD_Result r;

		if (!st)
			return MHD_NO;
		st->lines = a;
		st->gap_ms = b;
		res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, fill_stream, st,
							free);
		if (!res) {
			free(st);
			return MHD_NO;
		}
		r = MHD_queue_response(c, 200, res);
		MHD_destroy_response(res);
		return r;
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
	switch (fake_conn_feed(*con_cls, upload, upload_size, MAX_UPLOAD)) {
	case FAKE_CONN_FAIL:
		return MHD_NO;
	case FAKE_CONN_HEAD:
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
	case FAKE_CONN_MORE:
		return q->conn.too_big ? MHD_NO : MHD_YES; /* a body too large is refused */
	case FAKE_CONN_SERVE:
		break;
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
	fake_conn_free(&q->conn);
	*con_cls = NULL;
}

/* Called with the request line's target before MHD splits off and decodes the query: the
 * canned responder records it as received. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	return fake_conn_new(sizeof(struct req), uri);
}

int fake_http_start(bool fast, fake_http_t **ret)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;
	unsigned flags;
	fake_http_t *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->seen = calloc(1, sizeof(*f->seen));
	if (!f->seen) {
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	flags = fast ? MHD_USE_EPOLL_INTERNAL_THREAD
		     : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	f->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sin,
				MHD_OPTION_NOTIFY_COMPLETED, completed, f,
				MHD_OPTION_URI_LOG_CALLBACK, uri_log, f,
				MHD_OPTION_CONNECTION_LIMIT, 8000u, MHD_OPTION_LISTEN_BACKLOG_SIZE,
				4096u, MHD_OPTION_END);
	if (!f->d) {
		pthread_mutex_destroy(&f->lock);
		free(f->seen);
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
	free(f->canned_type);
	free(f->canned_body);
	free(f->seen);
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

int fake_http_set_canned(fake_http_t *f, int status, const char *content_type,
			 const void *body, size_t len)
{
	char *b = malloc(len ? len : 1), *t = content_type ? strdup(content_type) : NULL;

	if (!b || (content_type && !t)) {
		free(b);
		free(t);
		return -ENOMEM;
	}
	if (len)
		memcpy(b, body, len);
	pthread_mutex_lock(&f->lock);
	free(f->canned_body);
	free(f->canned_type);
	f->canned_body = b;
	f->canned_len = len;
	f->canned_type = t;
	f->canned_status = (unsigned)status;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

void fake_http_set_canned_delay(fake_http_t *f, long ms, const char *match)
{
	pthread_mutex_lock(&f->lock);
	f->canned_delay_ms = ms;
	snprintf(f->canned_delay_match, sizeof(f->canned_delay_match), "%s", match ? match : "");
	pthread_mutex_unlock(&f->lock);
}

void fake_http_last_canned(fake_http_t *f, struct fake_http_seen *ret)
{
	pthread_mutex_lock(&f->lock);
	memcpy(ret, f->seen, sizeof(*ret));
	pthread_mutex_unlock(&f->lock);
}

bool fake_http_seen_header(const struct fake_http_seen *s, const char *name, char *buf,
			   size_t size)
{
	size_t n = strlen(name);

	for (const char *p = s->headers; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > n + 1 && p[n] == ':' && p[n + 1] == ' ' && strncasecmp(p, name, n) == 0) {
			size_t v = len - n - 2;

			if (size) {
				if (v >= size)
					v = size - 1;
				memcpy(buf, p + n + 2, v);
				buf[v] = '\0';
			}
			return true;
		}
		p += len + (end ? 1 : 0);
	}
	return false;
}
