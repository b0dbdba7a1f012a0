/* fake-raw.h - a TCP server on 127.0.0.1 that answers every request the same broken way,
 * for the failure tests of http/: it reads a request head, then acts by mode.
 */
#ifndef AUTOSCALERD_FAKE_RAW_H
#define AUTOSCALERD_FAKE_RAW_H

#include <stdint.h>

typedef enum fake_raw_mode {
	FAKE_RAW_HANG,      /* never answers, keeps the connection open */
	FAKE_RAW_CLOSE,     /* closes without a byte */
	FAKE_RAW_GARBAGE,   /* answers with something that is not HTTP */
	FAKE_RAW_TRUNCATED, /* Content-Length: 100, five bytes of body, close */
	FAKE_RAW_MIDCLOSE,  /* chunked, one chunk, close */
} fake_raw_mode_t;

typedef struct fake_raw fake_raw_t;

int fake_raw_start(fake_raw_mode_t mode, fake_raw_t **ret);
fake_raw_t *fake_raw_stop(fake_raw_t *f); /* NULL-safe; returns NULL */
uint16_t fake_raw_port(const fake_raw_t *f);
long fake_raw_accepted(fake_raw_t *f);

/* A loopback port nothing listens on (bound, read back, closed): connect is refused. */
int fake_closed_port(uint16_t *ret);

#endif
