/* mhd-conn.h - the per-request glue the libmicrohttpd fakes share: the request target as
 * received (before MHD splits off and decodes the query) and the upload gathered under a
 * ceiling.
 *
 * A fake registers fake_conn_uri_log as MHD_OPTION_URI_LOG_CALLBACK and
 * fake_conn_completed as MHD_OPTION_NOTIFY_COMPLETED, and starts its access handler with
 * fake_conn_feed. A fake with per-request extras of its own embeds struct fake_conn as the
 * first member of its struct, makes it with fake_conn_new in its own URI log callback and
 * frees it with fake_conn_free.
 */
#ifndef AUTOSCALERD_FAKE_MHD_CONN_H
#define AUTOSCALERD_FAKE_MHD_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

struct fake_conn {
	char *raw_target; /* as received; NULL when out of memory */
	char *body;       /* the upload so far, NUL-terminated; NULL when none */
	size_t len;
	bool started;     /* the handler has seen the request's head */
	bool too_big;     /* the upload passed the ceiling: the rest of it was dropped */
};

/* size bytes (at least sizeof(struct fake_conn): the caller's struct, which begins with
 * one), zeroed, with raw_target a copy of uri. NULL when out of memory. */
void *fake_conn_new(size_t size, const char *uri);

/* Frees q's body and target and q itself (the whole struct fake_conn_new made). NULL is
 * fine. */
void fake_conn_free(struct fake_conn *q);

/* MHD_OPTION_URI_LOG_CALLBACK: a bare struct fake_conn for the request (cls unused). */
void *fake_conn_uri_log(void *cls, const char *uri, struct MHD_Connection *c);

/* MHD_OPTION_NOTIFY_COMPLETED: frees the request's struct fake_conn (cls unused). */
void fake_conn_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe);

enum fake_conn_step {
	FAKE_CONN_FAIL,  /* no struct (the URI log callback ran out of memory) or no memory for
			  * the upload: answer MHD_NO */
	FAKE_CONN_HEAD,  /* the first call, with the request's head only: answer MHD_YES */
	FAKE_CONN_MORE,  /* a chunk of the upload was taken (or, past max, dropped and
			  * too_big set): answer MHD_YES */
	FAKE_CONN_SERVE, /* the whole request is in: answer it */
};

/* One call of the access handler: marks q started, or appends the chunk at upload (and
 * zeroes *upload_size), or says the request is complete. An upload of more than max bytes
 * in all sets too_big and is dropped from there on; the fake answers it as it sees fit. */
enum fake_conn_step fake_conn_feed(struct fake_conn *q, const char *upload, size_t *upload_size,
				   size_t max);

#endif
