/* promql-client.c - instant queries through http/: /api/v1/query, GET or form POST. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "promql/promql-private.h"
#include "promql/promql.h"

struct promql_client {
	http_client_t *http;
	http_profile_t *profile;
	char *url; /* ".../api/v1/query" */
	char *base; /* redacted, for messages */
	int64_t timeout_ms;
	http_retry_t retry;
	size_t max_response, post_over;
	promql_query_t *head; /* queries running, a doubly linked list */
	size_t pending;
};

struct promql_query {
	promql_client_t *c;
	promql_query_t *prev, *next;
	http_request_t *req;
	promql_done_fn *done;
	void *userdata;
	char *label;
	int64_t start_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int promql_client_new(http_client_t *h, const promql_client_opts_t *opts, promql_client_t **ret,
		      char *err, size_t errsz)
{
	promql_client_t *c;
	const char *u = opts ? opts->url : NULL;
	size_t n;

	if (!h || !u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
	    strpbrk(u, "?# \t\r\n") || strlen(u) > 4096 ||
	    !u[strncmp(u, "http://", 7) ? 8 : 7] || (opts->timeout_ms < 0)) {
		char red[256];

		http_redact_url(red, sizeof(red), u ? u : "(none)");
		http_errf(err, errsz, "prometheus.url: expected http(s)://host[:port][/path] without a "
				 "query, found %s", red);
		return -EINVAL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		goto oom;
	n = strlen(u);
	while (n && u[n - 1] == '/')
		n--;
	if (!(c->url = malloc(n + sizeof("/api/v1/query"))) || !(c->base = malloc(n + 64)))
		goto oom;
	memcpy(c->url, u, n);
	strcpy(c->url + n, "/api/v1/query");
	http_redact_url(c->base, n + 64, u);
	c->http = h;
	c->profile = opts->profile ? http_profile_ref(opts->profile) : NULL;
	c->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 5000;
	c->retry = opts->retry;
	c->max_response = opts->max_response;
	c->post_over = opts->post_over ? opts->post_over : PROMQL_DEFAULT_POST_OVER;
	*ret = c;
	return 0;
oom:
	if (c) {
		free(c->url);
		free(c);
	}
	http_errf(err, errsz, "out of memory");
	return -ENOMEM;
}

static void query_free(promql_query_t *q)
{
	promql_client_t *c = q->c;

	if (q->prev)
		q->prev->next = q->next;
	else
		c->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	c->pending--;
	free(q->label);
	free(q);
}

promql_client_t *promql_client_free(promql_client_t *c)
{
	if (!c)
		return NULL;
	while (c->head) {
		http_cancel(c->http, c->head->req);
		query_free(c->head);
	}
	http_profile_unref(c->profile);
	free(c->url);
	free(c->base);
	free(c);
	return NULL;
}

size_t promql_client_pending(const promql_client_t *c)
{
	return c->pending;
}

/* application/x-www-form-urlencoded value: everything but the unreserved set as %XX. */
static size_t form_escape(char *dst, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			dst[o++] = (char)ch;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

static bool retryable_error_type(const char *t)
{
	return !strcmp(t, "timeout") || !strcmp(t, "canceled") || !strcmp(t, "unavailable");
}

static void on_http(http_response_t *res, void *userdata)
{
	promql_query_t *q = userdata;
	promql_client_t *c = q->c;
	promql_result_t result = { 0 };
	promql_reply_t r = { 0 };
	char msg[PROMQL_ERROR_MAX], what[PROMQL_ERROR_MAX - 128], etype[32] = "";
	const char *name = q->label ? q->label : "";
	const char *sep = q->label ? ": " : "";
	int rc;

	r.cause = res->cause;
	r.status = res->status;
	r.attempts = res->attempts;
	r.error = "";
	r.error_type = etype;
	r.elapsed_ms = now_ms() - q->start_ms;
	msg[0] = '\0';

	if (res->cause != HTTP_CAUSE_NONE && res->cause != HTTP_CAUSE_STATUS) {
		/* no usable response: the transport says what happened */
		r.outcome = res->outcome == HTTP_SUCCESS ? HTTP_PERMANENT : res->outcome;
		snprintf(msg, sizeof(msg), "query %s%s%s", name, sep, res->error);
		goto reply;
	}
	rc = promql_parse_response(res->status, res->body, res->body_len, &result, &r.failure,
				   etype, what, sizeof(what));
	if (rc == 0 && res->outcome == HTTP_SUCCESS) {
		r.outcome = HTTP_SUCCESS;
		r.result = &result;
		goto reply;
	}
	if (rc == 0) {
		/* a result under an error status: believe the status */
		r.failure = PROMQL_FAIL_MALFORMED;
		snprintf(what, sizeof(what), "a result with an error status");
	}
	r.outcome = res->outcome == HTTP_SUCCESS ? HTTP_PERMANENT : res->outcome;
	if (r.failure == PROMQL_FAIL_API && retryable_error_type(etype))
		r.outcome = HTTP_RETRYABLE;
	snprintf(msg, sizeof(msg), "query %s%sHTTP %ld from %s: %s", name, sep, res->status,
		 c->base, what);
reply:
	if (r.outcome != HTTP_SUCCESS)
		r.error = msg;
	{
		promql_done_fn *done = q->done;
		void *ud = q->userdata;

		query_free(q); /* before the callback, which may free the client */
		done(&r, ud);
	}
	promql_result_clear(&result);
}

int promql_query(promql_client_t *c, const char *query, double time, const char *label,
		 promql_done_fn *done, void *userdata, promql_query_t **ret, char *err,
		 size_t errsz)
{
	static const http_header_t form_ct = { "Content-Type", "application/x-www-form-urlencoded" };
	http_request_opts_t ro = { 0 };
	promql_query_t *q;
	char *params, *url = NULL;
	size_t qlen, n;
	int rc;

	if (!query || !*query || !done) {
		http_errf(err, errsz, "query%s%s: empty", label ? " " : "", label ? label : "");
		return -EINVAL;
	}
	qlen = strlen(query);
	if (qlen > PROMQL_MAX_LEN) {
		http_errf(err, errsz, "query%s%s: longer than %d bytes", label ? " " : "",
		     label ? label : "", PROMQL_MAX_LEN);
		return -E2BIG;
	}
	/* query=...&time=...&timeout=... */
	if (!(params = malloc(qlen * 3 + 128))) {
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	n = (size_t)sprintf(params, "query=");
	n += form_escape(params + n, query);
	if (time > 0)
		n += (size_t)sprintf(params + n, "&time=%.3f", time);
	n += (size_t)sprintf(params + n, "&timeout=%.3f", (double)c->timeout_ms / 1000.0);

	if (!(q = calloc(1, sizeof(*q))) || (label && !(q->label = strdup(label)))) {
		free(q);
		free(params);
		http_errf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	ro.url = c->url;
	if (strlen(c->url) + 1 + n <= c->post_over) {
		if (!(url = malloc(strlen(c->url) + n + 2))) {
			free(q->label);
			free(q);
			free(params);
			http_errf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		sprintf(url, "%s?%s", c->url, params);
		ro.url = url;
		ro.method = "GET";
	} else {
		ro.method = "POST";
		ro.body = params;
		ro.body_len = n;
		ro.headers = &form_ct;
		ro.n_headers = 1;
	}
	ro.timeout_ms = c->timeout_ms + 1000;
	ro.max_response = c->max_response;
	ro.retry = c->retry;
	ro.profile = c->profile;
	ro.done = on_http;
	ro.userdata = q;
	q->c = c;
	q->done = done;
	q->userdata = userdata;
	q->start_ms = now_ms();
	rc = http_submit(c->http, &ro, &q->req, err, errsz);
	free(url);
	free(params);
	if (rc < 0) {
		free(q->label);
		free(q);
		return rc;
	}
	q->next = c->head;
	if (c->head)
		c->head->prev = q;
	c->head = q;
	c->pending++;
	if (ret)
		*ret = q;
	return 0;
}

void promql_cancel(promql_client_t *c, promql_query_t *q)
{
	promql_query_t *i;

	if (!c || !q)
		return;
	for (i = c->head; i && i != q; i = i->next)
		;
	if (!i) /* already completed: its callback is running or ran */
		return;
	http_cancel(c->http, q->req);
	query_free(q);
}
