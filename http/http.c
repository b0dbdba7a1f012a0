/* http.c - the asynchronous client: libcurl multi on the caller's event loop.
 *
 * Design. libcurl's multi-socket API drives every transfer: curl tells us which fds to
 * watch (on_socket) and when it wants a timeout call (on_curl_timer); we pass both to the
 * loop adapter and call curl_multi_socket_action() when the loop fires. This is the wiring
 * of curl's docs/examples/evhiperfifo.c, with the loop behind http_loop_t and no exit on
 * error: a failed watch leaves its transfer to its own timeout, a failed multi call is
 * counted, never fatal.
 *
 * The one loop timer serves three clocks: curl's timeout, the earliest retry due (a binary
 * heap of requests by due time), and "now" when requests finished without a transfer (a
 * token file that cannot be read) wait on the finished list for delivery. Completion
 * callbacks therefore run only from http_on_fd()/http_on_timeout(), never from inside
 * http_submit() or a curl callback, so callers may submit and cancel from them.
 *
 * A request lives in exactly one place: a destination's FIFO queue, curl (running), the
 * retry heap, or the finished list. Destinations (scheme://host:port) count their running
 * transfers against their cap; a finished transfer frees its slot and the head of the
 * queue starts. A retry re-enters its destination's queue at the head: it is older than
 * everything behind it.
 *
 * Known limit: libcurl's threaded resolver (Debian's build has no c-ares) makes cancelling
 * or freeing a transfer that is still resolving a name wait for getaddrinfo() to return.
 * Daemon URLs name a few hosts that resolve fast or are IP literals; nothing else blocks.
 *
 * Memory is bounded per request: the body buffer grows by doubling up to the ceiling and
 * the write callback aborts the transfer on the first byte past it; response headers are
 * bounded in count and bytes; curl's own MAXFILESIZE refuses a declared Content-Length
 * over the ceiling before a byte of body arrives.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http/http-private.h"

#define NEVER INT64_MAX
#define URL_SHOWN 256 /* bytes of a (redacted) URL in an error message */
#define DRAIN_PASSES 8

/* An entry of the client's one timer heap: a request waiting for its retry, or a timer of
 * http_timer_new(). */
struct hnode {
	int64_t due;
	size_t i;   /* index in the heap */
	bool timer; /* an http_timer_t, else an http_request_t */
};

enum req_state {
	RS_NEW,
	RS_QUEUED,
	RS_RUNNING,
	RS_RETRY,
	RS_FINISHED,
	RS_CALLBACK,
};

struct dest {
	struct dest *prev, *next;
	char *key; /* scheme://host:port */
	int cap;
	size_t running;
	size_t refs; /* requests pointing here */
	http_request_t *qhead, *qtail;
};

struct sock {
	int fd;
	void *slot; /* the adapter's */
	struct sock *prev, *next;
};

struct http_request {
	http_client_t *h;
	struct http_request *all_prev, *all_next; /* every live request of the client */
	struct http_request *prev, *next;         /* a queue or the finished list */
	struct dest *dest;
	struct hnode hn; /* of the retry */
	enum req_state state;

	char method[24];
	char *url;
	char url_shown[URL_SHOWN];
	char **headers; /* curl lines */
	size_t n_headers;
	bool has_auth_header;
	char *body;
	size_t body_len;
	int64_t timeout_ms;
	size_t max_response;
	http_retry_t retry;
	http_profile_t *profile;
	http_done_fn *done;
	http_data_fn *on_data; /* streaming: the 2xx body goes here, not into buf */
	bool data_stopped;     /* on_data said stop */
	void *userdata;

	CURL *easy;
	struct curl_slist *hdr_list;

	/* The current attempt. */
	char *buf;
	size_t len, cap;
	http_header_t *rh; /* name is the allocation, value points into it */
	size_t n_rh, rh_bytes;
	bool too_large, hdr_overflow, oom;
	char curl_err[CURL_ERROR_SIZE];

	/* The result. */
	http_outcome_t outcome;
	http_cause_t cause;
	long status;
	int attempts;
	int64_t waited_ms, retry_after_ms;
	char error[HTTP_ERROR_MAX];
};

struct http_client {
	CURLM *multi;
	http_loop_t loop;
	int max_in_flight;
	size_t max_queued;
	char *user_agent;
	uint64_t rng;
	struct dest *dests;
	struct sock *socks;
	http_request_t *all;
	http_request_t *fin_head, *fin_tail;
	struct hnode **heap; /* retries and timers, earliest first */
	size_t heap_n, heap_cap;
	size_t timers;       /* live http_timer_t, for the leak check at free */
	int64_t curl_due; /* when curl wants its timeout call */
	int64_t armed;    /* what the loop timer is set to */
	bool kick;        /* work left over from a drain */
	int depth;        /* inside http_on_* */
	http_stats_t stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t next_rand(http_client_t *h)
{
	/* splitmix64 */
	uint64_t z = (h->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* ---- names and rules -------------------------------------------------------------------- */

const char *http_outcome_name(http_outcome_t o)
{
	switch (o) {
	case HTTP_SUCCESS:
		return "success";
	case HTTP_RETRYABLE:
		return "retryable";
	case HTTP_PERMANENT:
		return "permanent";
	}
	return "unknown";
}

const char *http_cause_name(http_cause_t c)
{
	static const char *const names[HTTP_CAUSE_COUNT_] = {
		[HTTP_CAUSE_NONE] = "none",	      [HTTP_CAUSE_STATUS] = "status",
		[HTTP_CAUSE_CONNECT] = "connect",     [HTTP_CAUSE_TIMEOUT] = "timeout",
		[HTTP_CAUSE_CLOSED] = "closed",	      [HTTP_CAUSE_PROTOCOL] = "protocol",
		[HTTP_CAUSE_TOO_LARGE] = "too_large", [HTTP_CAUSE_TLS] = "tls",
		[HTTP_CAUSE_CREDENTIALS] = "credentials", [HTTP_CAUSE_LOCAL] = "local",
	};

	return (unsigned)c < HTTP_CAUSE_COUNT_ ? names[c] : "unknown";
}

http_outcome_t http_classify_status(long status)
{
	if (status >= 200 && status <= 299)
		return HTTP_SUCCESS;
	if (status == 429 || (status >= 500 && status <= 599 && status != 501))
		return HTTP_RETRYABLE;
	return HTTP_PERMANENT;
}

static bool cause_retryable(http_cause_t c)
{
	return c == HTTP_CAUSE_CONNECT || c == HTTP_CAUSE_TIMEOUT || c == HTTP_CAUSE_CLOSED;
}

static http_cause_t curl_cause(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_CAUSE_NONE;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return HTTP_CAUSE_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_CAUSE_TIMEOUT;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTP_CAUSE_CLOSED;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_CAUSE_TOO_LARGE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return HTTP_CAUSE_TLS;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_FAILED_INIT:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNKNOWN_OPTION:
		return HTTP_CAUSE_LOCAL;
	default:
		return HTTP_CAUSE_PROTOCOL;
	}
}

int64_t http_backoff_bound(int64_t base_ms, int64_t cap_ms, int n)
{
	int64_t b = base_ms > 0 ? base_ms : 0;

	if (cap_ms < 0)
		cap_ms = 0;
	for (int i = 1; i < n && b < cap_ms; i++)
		b = b > INT64_MAX / 2 ? INT64_MAX : b * 2;
	return b < cap_ms ? b : cap_ms;
}

int http_parse_retry_after(const char *v, time_t now, int64_t *ret_ms)
{
	const int64_t year = 366LL * 24 * 3600;
	int64_t s;
	size_t n;

	if (!v)
		return -EINVAL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -EINVAL;
	if (strspn(v, "0123456789") >= n) {
		/* delay-seconds: 1*DIGIT. Twelve digits already exceed a year. */
		if (n > 12)
			return -ERANGE;
		s = 0;
		for (size_t i = 0; i < n; i++)
			s = s * 10 + (v[i] - '0');
	} else {
		char date[64];
		time_t t;

		if (n >= sizeof(date))
			return -EINVAL;
		memcpy(date, v, n);
		date[n] = '\0';
		/* curl_getdate() knows the three HTTP-date forms and is locale-independent;
		 * it also takes other forms, which is harmless here. */
		t = curl_getdate(date, NULL);
		if (t == (time_t)-1)
			return -EINVAL;
		s = t > now ? (int64_t)(t - now) : 0;
	}
	if (s > year)
		return -ERANGE;
	*ret_ms = s * 1000;
	return 0;
}

/* ---- the timer -------------------------------------------------------------------------- */

static void rearm(http_client_t *h)
{
	int64_t due = h->curl_due, now;

	if (h->heap_n && h->heap[0]->due < due)
		due = h->heap[0]->due;
	if (h->fin_head || h->kick)
		due = 0;
	if (due == NEVER) {
		/* A timer that fires for nothing is harmless; leave it. */
		return;
	}
	/* The loop timer already fires no later than needed: it will re-evaluate then. */
	if (h->armed != NEVER && h->armed <= due)
		return;
	now = now_ms();
	if (due < now)
		due = now;
	h->armed = due;
	h->loop.set_timer(due - now > LONG_MAX ? LONG_MAX : (long)(due - now), h->loop.userdata);
}

/* ---- the retry heap --------------------------------------------------------------------- */

static void heap_set(http_client_t *h, size_t i, struct hnode *n)
{
	h->heap[i] = n;
	n->i = i;
}

static void heap_up(http_client_t *h, size_t i)
{
	struct hnode *n = h->heap[i];

	while (i > 0 && h->heap[(i - 1) / 2]->due > n->due) {
		heap_set(h, i, h->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(h, i, n);
}

static void heap_down(http_client_t *h, size_t i)
{
	struct hnode *n = h->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->heap_n)
			break;
		if (c + 1 < h->heap_n && h->heap[c + 1]->due < h->heap[c]->due)
			c++;
		if (h->heap[c]->due >= n->due)
			break;
		heap_set(h, i, h->heap[c]);
		i = c;
	}
	heap_set(h, i, n);
}

static int heap_push(http_client_t *h, struct hnode *n)
{
	if (h->heap_n == h->heap_cap) {
		size_t cap = h->heap_cap ? h->heap_cap * 2 : 64;
		struct hnode **v = realloc(h->heap, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->heap = v;
		h->heap_cap = cap;
	}
	heap_set(h, h->heap_n++, n);
	heap_up(h, h->heap_n - 1);
	return 0;
}

static void heap_remove(http_client_t *h, struct hnode *n)
{
	size_t i = n->i;
	struct hnode *last = h->heap[--h->heap_n];

	n->i = SIZE_MAX;
	if (i == h->heap_n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->i);
}

#define REQ_OF(n) ((http_request_t *)((char *)(n)-offsetof(http_request_t, hn)))

/* ---- timers ----------------------------------------------------------------------------- */

struct http_timer {
	struct hnode hn; /* first: a timer is its node */
	http_client_t *h;
	http_timer_fn *fn;
	void *arg;
};

int http_timer_new(http_client_t *h, http_timer_fn *fn, void *arg, http_timer_t **ret)
{
	http_timer_t *t;

	if (!h || !fn)
		return -EINVAL;
	if (!(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	t->hn = (struct hnode){ .due = NEVER, .i = SIZE_MAX, .timer = true };
	t->h = h;
	t->fn = fn;
	t->arg = arg;
	h->timers++;
	*ret = t;
	return 0;
}

int http_timer_arm(http_timer_t *t, int64_t ms)
{
	http_client_t *h = t->h;
	int rc = 0;

	if (t->hn.i != SIZE_MAX)
		heap_remove(h, &t->hn);
	if (ms >= 0) {
		t->hn.due = now_ms() + (ms > NEVER / 4 ? NEVER / 4 : ms);
		rc = heap_push(h, &t->hn);
	}
	if (h->depth == 0)
		rearm(h);
	return rc;
}

bool http_timer_armed(const http_timer_t *t)
{
	return t && t->hn.i != SIZE_MAX;
}

http_timer_t *http_timer_free(http_timer_t *t)
{
	if (!t)
		return NULL;
	if (t->hn.i != SIZE_MAX)
		heap_remove(t->h, &t->hn);
	t->h->timers--;
	free(t);
	return NULL;
}

/* ---- destinations ----------------------------------------------------------------------- */

static struct dest *dest_get(http_client_t *h, const char *key)
{
	struct dest *d;

	for (d = h->dests; d; d = d->next)
		if (strcmp(d->key, key) == 0)
			return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->key = strdup(key);
	if (!d->key) {
		free(d);
		return NULL;
	}
	d->cap = h->max_in_flight;
	d->next = h->dests;
	if (h->dests)
		h->dests->prev = d;
	h->dests = d;
	return d;
}

static void dest_unref(http_client_t *h, struct dest *d)
{
	if (--d->refs > 0)
		return;
	if (d->prev)
		d->prev->next = d->next;
	else
		h->dests = d->next;
	if (d->next)
		d->next->prev = d->prev;
	free(d->key);
	free(d);
}

static void queue_push(struct dest *d, http_request_t *r, bool head)
{
	r->state = RS_QUEUED;
	r->prev = r->next = NULL;
	if (!d->qhead) {
		d->qhead = d->qtail = r;
	} else if (head) {
		r->next = d->qhead;
		d->qhead->prev = r;
		d->qhead = r;
	} else {
		r->prev = d->qtail;
		d->qtail->next = r;
		d->qtail = r;
	}
	r->h->stats.queued++;
}

static void queue_remove(struct dest *d, http_request_t *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		d->qhead = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		d->qtail = r->prev;
	r->prev = r->next = NULL;
	r->h->stats.queued--;
}

static void fin_push(http_client_t *h, http_request_t *r)
{
	r->state = RS_FINISHED;
	r->next = NULL;
	r->prev = h->fin_tail;
	if (h->fin_tail)
		h->fin_tail->next = r;
	else
		h->fin_head = r;
	h->fin_tail = r;
}

static void fin_remove(http_client_t *h, http_request_t *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->fin_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		h->fin_tail = r->prev;
	r->prev = r->next = NULL;
}

/* ---- results ---------------------------------------------------------------------------- */

static void fail(http_request_t *r, http_cause_t cause, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(http_request_t *r, http_cause_t cause, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	r->cause = cause;
	r->outcome = cause_retryable(cause) ? HTTP_RETRYABLE : HTTP_PERMANENT;
	http_errf(r->error, sizeof(r->error), "%s %s: ", r->method, r->url_shown);
	n = strlen(r->error);
	va_start(ap, fmt);
	http_verrf(r->error + n, sizeof(r->error) - n, fmt, ap);
	va_end(ap);
}

static void reset_response(http_request_t *r)
{
	for (size_t i = 0; i < r->n_rh; i++)
		free((char *)r->rh[i].name);
	r->n_rh = 0;
	r->rh_bytes = 0;
	r->retry_after_ms = -1;
}

static void reset_attempt(http_request_t *r)
{
	reset_response(r);
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
	r->too_large = r->hdr_overflow = r->oom = r->data_stopped = false;
	r->curl_err[0] = '\0';
	r->status = 0;
	r->error[0] = '\0';
}

static void req_free(http_request_t *r)
{
	http_client_t *h = r->h;

	reset_attempt(r);
	free(r->rh);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdr_list);
	for (size_t i = 0; i < r->n_headers; i++) {
		explicit_bzero(r->headers[i], strlen(r->headers[i]));
		free(r->headers[i]);
	}
	free(r->headers);
	free(r->url);
	free(r->body);
	http_profile_unref(r->profile);
	if (r->all_prev)
		r->all_prev->all_next = r->all_next;
	else
		h->all = r->all_next;
	if (r->all_next)
		r->all_next->all_prev = r->all_prev;
	if (r->dest)
		dest_unref(h, r->dest);
	free(r);
}

static void complete(http_client_t *h, http_request_t *r)
{
	http_response_t res = {
		.outcome = r->outcome,
		.cause = r->cause,
		.status = r->status,
		.error = r->error,
		.headers = r->rh,
		.n_headers = r->n_rh,
		.body = r->buf,
		.body_len = r->len,
		.attempts = r->attempts,
		.waited_ms = r->waited_ms,
		.retry_after_ms = r->retry_after_ms,
	};

	if (r->len == 0) {
		/* An empty body is NULL, whatever was reserved for it. */
		free(r->buf);
		r->buf = NULL;
		res.body = NULL;
	}
	r->state = RS_CALLBACK;
	if ((unsigned)r->outcome < 3)
		h->stats.completed[r->outcome]++;
	r->done(&res, r->userdata);
	if (!res.body)
		r->buf = NULL; /* the caller took it */
	req_free(r);
}

/* ---- curl callbacks --------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	http_request_t *r = ud;
	size_t n = size * nmemb;

	if (r->on_data) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			if (!r->on_data(p, n, r->userdata)) {
				r->data_stopped = true;
				return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
			}
			return n;
		}
		/* an error's body is kept, under the ceiling, for the completion */
	}
	if (n > r->max_response - r->len) {
		r->too_large = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > r->max_response + 1)
			cap = r->max_response + 1;
		b = realloc(r->buf, cap);
		if (!b) {
			r->oom = true;
			return 0;
		}
		r->buf = b;
		r->cap = cap;
		if (cap > r->h->stats.peak_body)
			r->h->stats.peak_body = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

/* Content-Length known and within the ceiling: allocate once. */
static void reserve(http_request_t *r, const char *v)
{
	char *end;
	unsigned long long n;
	char *b;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || n == 0 || n > r->max_response || r->buf ||
	    strcmp(r->method, "HEAD") == 0)
		return;
	b = malloc((size_t)n + 1);
	if (!b)
		return;
	b[0] = '\0';
	r->buf = b;
	r->cap = (size_t)n + 1;
	if (r->cap > r->h->stats.peak_body)
		r->h->stats.peak_body = r->cap;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	http_request_t *r = ud;
	size_t n = size * nmemb, nl, vs, ve;
	const char *colon;
	char *block;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after 1xx, or a proxy's CONNECT): its headers only. */
		reset_response(r);
		return n;
	}
	ve = n;
	while (ve > 0 && (p[ve - 1] == '\r' || p[ve - 1] == '\n'))
		ve--;
	if (ve == 0 || p[0] == ' ' || p[0] == '\t')
		return n; /* end of headers; obsolete line folding is dropped */
	colon = memchr(p, ':', ve);
	if (!colon || colon == p)
		return n;
	if (r->n_rh >= HTTP_MAX_RESPONSE_HEADERS ||
	    n > HTTP_MAX_RESPONSE_HEADER_BYTES - r->rh_bytes) {
		r->hdr_overflow = true;
		return 0;
	}
	nl = (size_t)(colon - p);
	vs = nl + 1;
	while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
		ve--;
	if (!r->rh) {
		r->rh = malloc(HTTP_MAX_RESPONSE_HEADERS * sizeof(*r->rh));
		if (!r->rh) {
			r->oom = true;
			return 0;
		}
	}
	block = malloc(nl + 1 + (ve - vs) + 1);
	if (!block) {
		r->oom = true;
		return 0;
	}
	memcpy(block, p, nl);
	block[nl] = '\0';
	memcpy(block + nl + 1, p + vs, ve - vs);
	block[nl + 1 + ve - vs] = '\0';
	r->rh[r->n_rh].name = block;
	r->rh[r->n_rh].value = block + nl + 1;
	r->n_rh++;
	r->rh_bytes += n;
	if (strcasecmp(block, "Content-Length") == 0 && !r->on_data)
		reserve(r, block + nl + 1);
	return n;
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	http_client_t *h = userp;
	struct sock *k = socketp;
	int ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (k) {
			h->loop.unwatch_fd(k->fd, k->slot, h->loop.userdata);
			if (k->prev)
				k->prev->next = k->next;
			else
				h->socks = k->next;
			if (k->next)
				k->next->prev = k->prev;
			h->stats.sockets--;
			free(k);
		}
		return 0;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		/* Returning -1 would kill every transfer of the multi handle; a socket we
		 * cannot watch instead ends in its transfer's timeout. */
		if (!k)
			return 0;
		k->fd = fd;
		k->next = h->socks;
		if (h->socks)
			h->socks->prev = k;
		h->socks = k;
		h->stats.sockets++;
		curl_multi_assign(h->multi, fd, k);
	}
	if (what & CURL_POLL_IN)
		ev |= HTTP_EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= HTTP_EV_WRITE;
	(void)h->loop.watch_fd(fd, ev, &k->slot, h->loop.userdata);
	return 0;
}

static int on_curl_timer(CURLM *m, long ms, void *userp)
{
	http_client_t *h = userp;

	(void)m;
	h->curl_due = ms < 0 ? NEVER : now_ms() + ms;
	rearm(h);
	return 0;
}

/* ---- attempts --------------------------------------------------------------------------- */

static int setup_easy(http_client_t *h, http_request_t *r)
{
	CURL *e = curl_easy_init();
	CURLcode c = CURLE_OK;

	if (!e)
		return -ENOMEM;
#define SET(opt, val)                                       \
	do {                                                \
		if (c == CURLE_OK)                          \
			c = curl_easy_setopt(e, opt, val); \
	} while (0)
	SET(CURLOPT_PRIVATE, r);
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, r);
	SET(CURLOPT_ERRORBUFFER, r->curl_err);
	SET(CURLOPT_TIMEOUT_MS, r->timeout_ms > LONG_MAX ? LONG_MAX : (long)r->timeout_ms);
	if (!r->on_data) /* a stream is not bounded; an error body still is, in on_body */
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_response);
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes count against the ceiling */
	SET(CURLOPT_USERAGENT, h->user_agent);
	SET(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE); /* our headers never reach a proxy */
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	/* Prefer an HTTP/2 stream to a new connection, over TLS only (where ALPN says early
	 * whether the server multiplexes). On plain http curl would hold a new request until a
	 * busy connection's response arrives, so one slow query would stall the next. */
	if (strncasecmp(r->url, "https://", 8) == 0)
		SET(CURLOPT_PIPEWAIT, 1L);
	if (strcmp(r->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (r->body || strcmp(r->method, "POST") == 0) {
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		SET(CURLOPT_POSTFIELDS, r->body ? r->body : "");
		if (strcmp(r->method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, r->method);
	} else if (strcmp(r->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, r->method);
	}
#undef SET
	if (c == CURLE_OK && r->profile)
		c = http_profile_apply_tls(r->profile, e);
	if (c != CURLE_OK) {
		curl_easy_cleanup(e);
		return c == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EOPNOTSUPP;
	}
	r->easy = e;
	return 0;
}

static struct curl_slist *append(struct curl_slist *l, const char *s, bool *ok)
{
	struct curl_slist *n;

	if (!*ok)
		return l;
	n = curl_slist_append(l, s);
	if (!n) {
		*ok = false;
		return l;
	}
	return n;
}

/* The header list of one attempt: the request's, the profile's, the current token. */
static int build_headers(http_request_t *r)
{
	struct curl_slist *l = NULL;
	bool ok = true;
	const char *token = r->profile ? http_profile_bearer(r->profile) : NULL;

	for (size_t i = 0; i < r->n_headers; i++)
		l = append(l, r->headers[i], &ok);
	for (size_t i = 0; r->profile && i < r->profile->n_headers; i++)
		l = append(l, r->profile->headers[i], &ok);
	/* No 100-continue round trip (curl asks for one on large bodies). */
	l = append(l, "Expect:", &ok);
	if (token && !r->has_auth_header) {
		size_t n = strlen(token) + sizeof("Authorization: Bearer ");
		char *line = malloc(n);

		if (!line) {
			ok = false;
		} else {
			snprintf(line, n, "Authorization: Bearer %s", token);
			l = append(l, line, &ok);
			explicit_bzero(line, n);
			free(line);
		}
	}
	if (!ok) {
		curl_slist_free_all(l);
		return -ENOMEM;
	}
	r->hdr_list = l;
	return 0;
}

/* Starts an attempt, or parks the request on the finished list with why it could not. */
static void start(http_client_t *h, http_request_t *r)
{
	char err[HTTP_ERROR_MAX];
	const char *pw;
	CURLMcode mc;
	CURLcode c = CURLE_OK;

	reset_attempt(r);
	r->attempts++;
	if (r->attempts > 1)
		h->stats.retries++;
	if (r->profile && http_profile_refresh(r->profile, err, sizeof(err)) < 0) {
		fail(r, HTTP_CAUSE_CREDENTIALS, "%s", err);
		goto finished;
	}
	if (!r->easy && setup_easy(h, r) < 0) {
		fail(r, HTTP_CAUSE_LOCAL, "cannot set up the transfer (out of memory?)");
		goto finished;
	}
	curl_slist_free_all(r->hdr_list);
	r->hdr_list = NULL;
	if (build_headers(r) < 0) {
		fail(r, HTTP_CAUSE_LOCAL, "out of memory");
		goto finished;
	}
	c = curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdr_list);
	pw = r->profile ? http_profile_password(r->profile) : NULL;
	if (c == CURLE_OK && pw) {
		c = curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		if (c == CURLE_OK)
			c = curl_easy_setopt(r->easy, CURLOPT_USERNAME, r->profile->basic_user);
		if (c == CURLE_OK)
			c = curl_easy_setopt(r->easy, CURLOPT_PASSWORD, pw);
	}
	if (c != CURLE_OK) {
		fail(r, HTTP_CAUSE_LOCAL, "cannot set up the transfer: %s", curl_easy_strerror(c));
		goto finished;
	}
	mc = curl_multi_add_handle(h->multi, r->easy);
	if (mc != CURLM_OK) {
		fail(r, HTTP_CAUSE_LOCAL, "cannot start the transfer: %s", curl_multi_strerror(mc));
		goto finished;
	}
	r->state = RS_RUNNING;
	r->dest->running++;
	h->stats.in_flight++;
	return;
finished:
	fin_push(h, r);
	rearm(h);
}

/* Starts queued requests while the destination has free slots. */
static void pump(http_client_t *h, struct dest *d)
{
	while (d->qhead && d->running < (size_t)d->cap) {
		http_request_t *r = d->qhead;

		queue_remove(d, r);
		start(h, r);
	}
}

/* A request leaves curl (or the client): its slot is free. */
static void stop_running(http_client_t *h, http_request_t *r)
{
	curl_multi_remove_handle(h->multi, r->easy);
	r->dest->running--;
	h->stats.in_flight--;
}

/* Where the request is, it is no more (for cancel and free). */
static void detach(http_client_t *h, http_request_t *r)
{
	switch (r->state) {
	case RS_QUEUED:
		queue_remove(r->dest, r);
		break;
	case RS_RUNNING:
		stop_running(h, r);
		break;
	case RS_RETRY:
		heap_remove(h, &r->hn);
		h->stats.waiting_retry--;
		break;
	case RS_FINISHED:
		fin_remove(h, r);
		break;
	case RS_NEW:
	case RS_CALLBACK:
		break;
	}
	r->state = RS_NEW;
}

static void describe_failure(http_request_t *r, CURLcode rc)
{
	char detail[CURL_ERROR_SIZE];
	http_cause_t cause = curl_cause(rc);

	/* curl's message names hosts and ports, never header values. */
	http_sanitize(detail, sizeof(detail), r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc));
	if (r->data_stopped) {
		fail(r, HTTP_CAUSE_LOCAL, "stopped by the receiver of the stream");
	} else if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		fail(r, HTTP_CAUSE_TOO_LARGE, "response body larger than the ceiling of %zu bytes",
		     r->max_response);
	} else if (r->hdr_overflow) {
		fail(r, HTTP_CAUSE_TOO_LARGE,
		     "response headers over the limit of %d headers or %d bytes",
		     HTTP_MAX_RESPONSE_HEADERS, HTTP_MAX_RESPONSE_HEADER_BYTES);
	} else if (r->oom) {
		fail(r, HTTP_CAUSE_LOCAL, "out of memory receiving the response");
	} else if (cause == HTTP_CAUSE_CONNECT) {
		fail(r, cause, "cannot connect: %s", detail);
	} else if (cause == HTTP_CAUSE_TIMEOUT) {
		fail(r, cause, "no complete response within %" PRId64 " ms: %s", r->timeout_ms,
		     detail);
	} else if (cause == HTTP_CAUSE_CLOSED) {
		fail(r, cause, "connection lost before the response was complete: %s", detail);
	} else if (cause == HTTP_CAUSE_TLS) {
		fail(r, cause, "TLS: %s", detail);
	} else if (cause == HTTP_CAUSE_PROTOCOL) {
		fail(r, cause, "not a valid HTTP response: %s", detail);
	} else {
		fail(r, cause, "%s", detail);
	}
}

/* A transfer ended: classify, then retry, or complete. */
static void finish(http_client_t *h, http_request_t *r, CURLcode rc)
{
	struct dest *d = r->dest;
	int64_t delay;
	const char *ra;
	size_t n;

	stop_running(h, r);
	r->state = RS_NEW;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		r->outcome = http_classify_status(r->status);
		r->cause = r->outcome == HTTP_SUCCESS ? HTTP_CAUSE_NONE : HTTP_CAUSE_STATUS;
		if (r->outcome != HTTP_SUCCESS) {
			http_outcome_t o = r->outcome;

			fail(r, HTTP_CAUSE_STATUS, "HTTP %ld", r->status);
			r->outcome = o;
		}
	} else {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
		describe_failure(r, rc);
		/* A partial body is no body. */
		free(r->buf);
		r->buf = NULL;
		r->len = r->cap = 0;
	}
	if (r->status > 0 && (ra = http_response_header(&(http_response_t){ .headers = r->rh,
									     .n_headers = r->n_rh },
							 "Retry-After")) &&
	    http_parse_retry_after(ra, time(NULL), &delay) == 0)
		r->retry_after_ms = delay;

	if (r->outcome == HTTP_RETRYABLE && r->attempts < r->retry.max_attempts) {
		delay = (int64_t)(next_rand(h) %
				  (uint64_t)(http_backoff_bound(r->retry.base_ms, r->retry.cap_ms,
								r->attempts) +
					     1));
		if (r->retry_after_ms > r->retry.max_retry_after_ms)
			goto done; /* too long to wait here: the caller sees retry_after_ms */
		if (r->retry_after_ms > delay)
			delay = r->retry_after_ms;
		r->hn.due = now_ms() + delay;
		if (heap_push(h, &r->hn) == 0) {
			/* Nothing of this attempt is needed while waiting. */
			reset_attempt(r);
			r->state = RS_RETRY;
			r->waited_ms += delay;
			h->stats.waiting_retry++;
			pump(h, d);
			return;
		}
	}
done:
	if (r->attempts > 1 && r->outcome != HTTP_SUCCESS) {
		n = strlen(r->error);
		http_errf(r->error + n, sizeof(r->error) - n, " (attempt %d of %d)", r->attempts,
		     r->retry.max_attempts);
	}
	/* The slot is free before the callback runs, so what it submits can start. */
	d->refs++;
	pump(h, d);
	complete(h, r);
	pump(h, d);
	dest_unref(h, d);
}

static void drain(http_client_t *h)
{
	bool again = true;
	int passes = 0;

	h->kick = false;
	while (again && passes++ < DRAIN_PASSES) {
		CURLMsg *m;
		int left;
		int64_t now;

		again = false;
		while ((m = curl_multi_info_read(h->multi, &left))) {
			http_request_t *r = NULL;
			CURLcode rc = m->data.result;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			if (r) {
				finish(h, r, rc);
				again = true;
			}
		}
		now = now_ms();
		while (h->heap_n && h->heap[0]->due <= now) {
			struct hnode *n = h->heap[0];
			http_request_t *r;

			heap_remove(h, n);
			again = true;
			if (n->timer) {
				http_timer_t *t = (http_timer_t *)n;

				t->fn(t->arg); /* may arm, free, submit */
				continue;
			}
			r = REQ_OF(n);
			h->stats.waiting_retry--;
			r->state = RS_NEW;
			queue_push(r->dest, r, true);
			pump(h, r->dest);
		}
		for (http_request_t *r; (r = h->fin_head);) {
			struct dest *d = r->dest;

			fin_remove(h, r);
			d->refs++;
			complete(h, r);
			pump(h, d);
			dest_unref(h, d);
			again = true;
		}
	}
	/* Callbacks keep submitting requests that fail at once: let the loop breathe. */
	if (again)
		h->kick = true;
	rearm(h);
}

void http_on_fd(http_client_t *h, int fd, int events)
{
	int running, mask = 0;

	if (events & HTTP_EV_READ)
		mask |= CURL_CSELECT_IN;
	if (events & HTTP_EV_WRITE)
		mask |= CURL_CSELECT_OUT;
	h->depth++;
	curl_multi_socket_action(h->multi, fd, mask, &running);
	drain(h);
	h->depth--;
}

void http_on_timeout(http_client_t *h)
{
	int running;

	h->depth++;
	h->armed = NEVER;
	/* 1 ms of slack: the loop's clock may run a little behind ours. */
	if (h->curl_due != NEVER && h->curl_due <= now_ms() + 1) {
		h->curl_due = NEVER;
		curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	drain(h);
	h->depth--;
}

/* ---- the API ---------------------------------------------------------------------------- */

int http_client_new(const http_client_opts_t *o, http_client_t **ret)
{
	http_client_t *h;
	CURLMcode mc = CURLM_OK;

	if (!o || !ret || !o->loop.watch_fd || !o->loop.unwatch_fd || !o->loop.set_timer ||
	    o->max_in_flight < 0 || o->max_in_flight > HTTP_MAX_IN_FLIGHT_LIMIT)
		return -EINVAL;
	for (const char *c = o->user_agent; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	h = calloc(1, sizeof(*h));
	if (!h)
		goto oom;
	h->loop = o->loop;
	h->max_in_flight = o->max_in_flight ? o->max_in_flight : HTTP_DEFAULT_MAX_IN_FLIGHT;
	h->max_queued = o->max_queued ? o->max_queued : HTTP_DEFAULT_MAX_QUEUED;
	h->rng = o->seed ? o->seed : (uint64_t)now_ms() * 1000003u ^ (uint64_t)getpid();
	h->curl_due = h->armed = NEVER;
	h->user_agent = strdup(o->user_agent ? o->user_agent : "autoscalerd");
	h->multi = curl_multi_init();
	if (!h->user_agent || !h->multi)
		goto oom;
	mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	if (mc != CURLM_OK)
		goto oom;
	*ret = h;
	return 0;
oom:
	if (h) {
		if (h->multi)
			curl_multi_cleanup(h->multi);
		free(h->user_agent);
		free(h);
	}
	curl_global_cleanup();
	return -ENOMEM;
}

http_client_t *http_client_free(http_client_t *h)
{
	if (!h)
		return NULL;
	assert(h->depth == 0); /* not from a completion callback */
	while (h->all) {
		http_request_t *r = h->all;

		detach(h, r);
		req_free(r);
	}
	free(h->heap);
	curl_multi_cleanup(h->multi);
	/* curl does not report the sockets it closes at cleanup. */
	while (h->socks) {
		struct sock *k = h->socks;

		h->socks = k->next;
		h->loop.unwatch_fd(k->fd, k->slot, h->loop.userdata);
		free(k);
	}
	if (h->armed != NEVER)
		h->loop.set_timer(-1, h->loop.userdata);
	free(h->user_agent);
	free(h);
	curl_global_cleanup();
	return NULL;
}

void http_client_stats(const http_client_t *h, http_stats_t *ret)
{
	*ret = h->stats;
}

const char *http_response_header(const http_response_t *res, const char *name)
{
	for (size_t i = 0; res && name && i < res->n_headers; i++)
		if (strcasecmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

static bool method_ok(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n >= sizeof(((http_request_t *)0)->method))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(m[i] >= 'A' && m[i] <= 'Z') && m[i] != '-' && m[i] != '_')
			return false;
	return true;
}

/* scheme://host:port of url, lowercase; -EINVAL when curl cannot parse it. */
static int dest_key(const char *url, char **ret, char *err, size_t errsz, const char *shown)
{
	CURLU *u = curl_url();
	CURLUcode uc;
	char *scheme = NULL, *host = NULL, *port = NULL, *key = NULL;
	int r;

	if (!u)
		return -ENOMEM;
	uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (uc == CURLUE_OK)
		uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	if (uc == CURLUE_OUT_OF_MEMORY) {
		r = -ENOMEM;
		goto out;
	}
	if (uc != CURLUE_OK) {
		http_errf(err, errsz, "%s: not a valid URL: %s", shown, curl_url_strerror(uc));
		r = -EINVAL;
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		http_errf(err, errsz, "%s: only http and https URLs are supported", shown);
		r = -EINVAL;
		goto out;
	}
	if (asprintf(&key, "%s://%s:%s", scheme, host, port) < 0) {
		r = -ENOMEM;
		goto out;
	}
	for (char *c = key; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	*ret = key;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

int http_submit(http_client_t *h, const http_request_opts_t *o, http_request_t **ret,
		char *err, size_t errsz)
{
	http_request_t *r = NULL;
	char *key = NULL;
	struct dest *d;
	const char *method;
	char shown[URL_SHOWN];
	size_t nprof;
	int rv;

	http_errf(err, errsz, "%s", "");
	if (!h || !o || !o->url || !o->done || o->timeout_ms < 0 || o->retry.max_attempts < 0 ||
	    o->retry.max_attempts > HTTP_MAX_ATTEMPTS || o->retry.base_ms < 0 ||
	    o->retry.cap_ms < 0 || o->retry.max_retry_after_ms < 0 || (o->n_headers && !o->headers)) {
		http_errf(err, errsz, "invalid request options");
		return -EINVAL;
	}
	method = o->method ? o->method : (o->body ? "POST" : "GET");
	http_redact_url(shown, sizeof(shown), o->url);
	if (!method_ok(method)) {
		http_errf(err, errsz, "%s: invalid method", shown);
		return -EINVAL;
	}
	if (strlen(o->url) > HTTP_MAX_URL) {
		http_errf(err, errsz, "%s: URL longer than %d bytes", shown, HTTP_MAX_URL);
		return -E2BIG;
	}
	nprof = o->profile ? o->profile->n_headers : 0;
	if (o->n_headers > HTTP_MAX_REQUEST_HEADERS - nprof) {
		http_errf(err, errsz, "%s %s: more than %d headers", method, shown,
		     HTTP_MAX_REQUEST_HEADERS);
		return -E2BIG;
	}
	rv = dest_key(o->url, &key, err, errsz, shown);
	if (rv < 0)
		goto out;

	r = calloc(1, sizeof(*r));
	if (!r)
		goto oom;
	r->h = h;
	r->state = RS_NEW;
	snprintf(r->method, sizeof(r->method), "%s", method);
	memcpy(r->url_shown, shown, sizeof(shown));
	r->retry_after_ms = -1;
	r->timeout_ms = o->timeout_ms ? o->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	r->max_response = o->max_response ? o->max_response : HTTP_DEFAULT_MAX_RESPONSE;
	if (r->max_response > SIZE_MAX / 2)
		r->max_response = SIZE_MAX / 2;
	r->retry = o->retry;
	if (!r->retry.base_ms)
		r->retry.base_ms = HTTP_DEFAULT_RETRY_BASE_MS;
	if (!r->retry.cap_ms)
		r->retry.cap_ms = HTTP_DEFAULT_RETRY_CAP_MS;
	if (!r->retry.max_retry_after_ms)
		r->retry.max_retry_after_ms = HTTP_DEFAULT_MAX_RETRY_AFTER_MS;
	if (r->retry.max_attempts < 1)
		r->retry.max_attempts = 1;
	r->done = o->done;
	r->on_data = o->on_data;
	r->userdata = o->userdata;
	r->url = strdup(o->url);
	if (!r->url)
		goto oom;
	if (o->body) {
		r->body = malloc(o->body_len ? o->body_len : 1);
		if (!r->body)
			goto oom;
		memcpy(r->body, o->body, o->body_len);
		r->body_len = o->body_len;
	}
	if (o->n_headers) {
		r->headers = calloc(o->n_headers, sizeof(*r->headers));
		if (!r->headers)
			goto oom;
	}
	for (size_t i = 0; i < o->n_headers; i++) {
		char e[200];

		rv = http_header_line(o->headers[i].name, o->headers[i].value, &r->headers[i], e,
				 sizeof(e));
		if (rv < 0) {
			http_errf(err, errsz, "%s %s: %s", method, shown, e);
			goto out;
		}
		r->n_headers++;
		if (strcasecmp(o->headers[i].name, "Authorization") == 0)
			r->has_auth_header = true;
	}

	d = dest_get(h, key);
	if (!d)
		goto oom;
	if (o->profile && o->profile->max_in_flight > 0)
		d->cap = o->profile->max_in_flight;
	if ((d->qhead || d->running >= (size_t)d->cap) &&
	    h->stats.queued + h->stats.waiting_retry >= h->max_queued) {
		http_errf(err, errsz, "%s %s: %zu requests already wait", method, shown, h->max_queued);
		if (d->refs == 0) {
			d->refs = 1;
			dest_unref(h, d);
		}
		rv = -ENOBUFS;
		goto out;
	}
	d->refs++;
	r->dest = d;
	r->profile = http_profile_ref(o->profile);
	r->all_next = h->all;
	if (h->all)
		h->all->all_prev = r;
	h->all = r;
	queue_push(d, r, false);
	pump(h, d);
	if (ret)
		*ret = r;
	r = NULL;
	rv = 0;
	goto out;
oom:
	rv = -ENOMEM;
	http_errf(err, errsz, "%s %s: out of memory", method, shown);
out:
	if (r) {
		r->h = h;
		for (size_t i = 0; i < r->n_headers; i++)
			free(r->headers[i]);
		free(r->headers);
		free(r->url);
		free(r->body);
		free(r);
	}
	free(key);
	return rv;
}

void http_cancel(http_client_t *h, http_request_t *r)
{
	struct dest *d;
	bool was_running;

	if (!h || !r || r->state == RS_CALLBACK)
		return;
	d = r->dest;
	was_running = r->state == RS_RUNNING;
	d->refs++;
	detach(h, r);
	req_free(r);
	if (was_running)
		pump(h, d);
	dest_unref(h, d);
}
