/* http-private.h - what http.c, profile.c and redact.c share; not part of the API. */
#ifndef AUTOSCALERD_HTTP_PRIVATE_H
#define AUTOSCALERD_HTTP_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "http/http.h"

/* A token or password kept in a file, re-read when stat() says the file changed. */
struct secret_file {
	char *path;
	const char *what; /* "bearer token file", "password file": for error messages */
	char *value;      /* NULL until read */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct pem {
	char *file; /* or */
	char *data;
	size_t len;
};

struct http_profile {
	unsigned refs;
	struct pem ca, cert, key;
	bool insecure;
	char *bearer; /* inline token, or */
	struct secret_file token_file;
	char *basic_user;
	char *basic_password; /* inline, or */
	struct secret_file password_file;
	char **headers; /* curl header lines */
	size_t n_headers;
	int max_in_flight;
};

/* Re-reads the profile's secret files that changed. 0, or a negative errno with err set. */
int http_profile_refresh(http_profile_t *p, char *err, size_t errsz);
/* The bearer token and basic password to send now (NULL: none). */
const char *http_profile_bearer(const http_profile_t *p);
const char *http_profile_password(const http_profile_t *p);
/* Sets the profile's TLS options on an easy handle. */
CURLcode http_profile_apply_tls(const http_profile_t *p, CURL *e);

/* Checks a request header; builds curl's line for it ("Name: value", "Name;" when empty)
 * into *ret (malloc'd). -EINVAL (err says which header, never its value), -E2BIG, -ENOMEM. */
int http_header_line(const char *name, const char *value, char **ret, char *err, size_t errsz);

void http_verrf(char *err, size_t errsz, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Copies s into buf (size bytes, NUL included) with control and non-ASCII bytes as '?'. */
void http_sanitize(char *buf, size_t size, const char *s);

#endif
