/* mhd-conn.c - the per-request glue of the libmicrohttpd fakes (mhd-conn.h). */
#include <stdlib.h>
#include <string.h>

#include "tests/fakes/mhd-conn.h"

void *fake_conn_new(size_t size, const char *uri)
{
	struct fake_conn *q = calloc(1, size);

	if (q && uri)
		q->raw_target = strdup(uri); /* NULL: the decoded path is used instead */
	return q;
}

void fake_conn_free(struct fake_conn *q)
{
	if (!q)
		return;
	free(q->body);
	free(q->raw_target);
	free(q);
}

void *fake_conn_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	return fake_conn_new(sizeof(struct fake_conn), uri);
}

void fake_conn_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	fake_conn_free(*con_cls);
	*con_cls = NULL;
}

enum fake_conn_step fake_conn_feed(struct fake_conn *q, const char *upload, size_t *upload_size,
				   size_t max)
{
	size_t n = *upload_size;
	char *b;

	if (!q)
		return FAKE_CONN_FAIL;
	if (!q->started) {
		q->started = true;
		return FAKE_CONN_HEAD;
	}
	if (!n)
		return FAKE_CONN_SERVE;
	*upload_size = 0;
	if (q->too_big || q->len + n > max) {
		q->too_big = true;
		return FAKE_CONN_MORE;
	}
	b = realloc(q->body, q->len + n + 1);
	if (!b)
		return FAKE_CONN_FAIL;
	q->body = b;
	memcpy(q->body + q->len, upload, n);
	q->len += n;
	q->body[q->len] = '\0';
	return FAKE_CONN_MORE;
}
