/* redact.c - keeping secrets out of log lines and error messages; header checks.
 *
 * Redaction errs on the side of hiding: a header or query parameter whose name merely looks
 * like it could carry a credential (token, secret, password, key, auth, session, signature,
 * credential, cookie) loses its value. Everything written is ASCII without control
 * characters, so a hostile URL cannot forge extra log lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http-private.h"

void http_verrf(char *err, size_t errsz, const char *fmt, va_list ap)
{
	int n;

	if (!err || errsz == 0)
		return;
	n = vsnprintf(err, errsz, fmt, ap);
	if (n < 0)
		err[0] = '\0';
	else if ((size_t)n >= errsz && errsz > 4)
		memcpy(err + errsz - 4, "...", 4);
	for (char *p = err; *p; p++) /* one line */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void http_errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	http_verrf(err, errsz, fmt, ap);
	va_end(ap);
}

void http_sanitize(char *buf, size_t size, const char *s)
{
	size_t i = 0;

	if (size == 0)
		return;
	for (; s && *s && i + 1 < size; s++, i++) {
		unsigned char c = (unsigned char)*s;

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
}

/* ---- what is a secret ------------------------------------------------------------------- */

static const char *const secret_words[] = {
	"token",  "secret", "passw", "pwd",	   "key",    "auth",
	"cookie", "sig",    "session", "credential", "bearer", "apikey",
};

static bool has_word(const char *s, size_t n)
{
	char low[128];

	/* Longer names are secret: the check must not be evaded by padding. */
	if (n >= sizeof(low))
		return true;
	for (size_t i = 0; i < n; i++)
		low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	low[n] = '\0';
	for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
		if (strstr(low, secret_words[i]))
			return true;
	return false;
}

bool http_header_is_secret(const char *name)
{
	return name && has_word(name, strlen(name));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A query parameter name, percent-decoded ("access%5Ftoken" is a token too). */
static bool param_is_secret(const char *s, size_t n)
{
	char dec[128];
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (j + 1 >= sizeof(dec))
			return true;
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			dec[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			dec[j++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	return has_word(dec, j);
}

bool http_param_is_secret(const char *name)
{
	return name && param_is_secret(name, strlen(name));
}

/* ---- a bounded writer ------------------------------------------------------------------- */

struct out {
	char *buf;
	size_t size, len;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !o->full; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o->len + 1 >= o->size) {
			o->full = true;
			break;
		}
		o->buf[o->len++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static size_t finish(struct out *o)
{
	if (o->size == 0)
		return 0;
	if (o->full && o->size > 4) {
		o->len = o->size - 4;
		memcpy(o->buf + o->len, "...", 3);
		o->len += 3;
	}
	o->buf[o->len] = '\0';
	return o->len;
}

/* name=value pairs separated by & or ;, up to end. */
static void put_params(struct out *o, const char *s, const char *end)
{
	while (s < end) {
		const char *amp = s, *eq;

		while (amp < end && *amp != '&' && *amp != ';')
			amp++;
		eq = memchr(s, '=', (size_t)(amp - s));
		if (eq && param_is_secret(s, (size_t)(eq - s))) {
			put(o, s, (size_t)(eq - s));
			puts_(o, "=REDACTED");
		} else {
			put(o, s, (size_t)(amp - s));
		}
		if (amp < end)
			put(o, amp, 1);
		s = amp + 1;
	}
}

static void put_url(struct out *o, const char *url)
{
	const char *p = url, *sep, *auth_end, *at = NULL, *q, *frag, *end;

	if (!url) {
		puts_(o, "(null)");
		return;
	}
	end = url + strlen(url);
	sep = strstr(url, "://");
	if (sep && strcspn(url, "/?#") > (size_t)(sep - url)) {
		put(o, url, (size_t)(sep - url) + 3);
		p = sep + 3;
		auth_end = p + strcspn(p, "/?#");
		for (const char *c = p; c < auth_end; c++)
			if (*c == '@')
				at = c;
		if (at) {
			puts_(o, "REDACTED@");
			p = at + 1;
		}
	}
	q = p + strcspn(p, "?#");
	put(o, p, (size_t)(q - p));
	if (*q == '?') {
		frag = strchr(q, '#');
		if (!frag)
			frag = end;
		put(o, "?", 1);
		put_params(o, q + 1, frag);
		q = frag;
	}
	if (*q == '#') {
		/* Fragments carry tokens too (OAuth's implicit flow). */
		put(o, "#", 1);
		put_params(o, q + 1, end);
	}
}

size_t http_redact_url(char *buf, size_t size, const char *url)
{
	struct out o = { buf, size, 0, false };

	put_url(&o, url);
	return finish(&o);
}

size_t http_format_request(char *buf, size_t size, const char *method, const char *url,
			   const http_header_t *headers, size_t n_headers)
{
	struct out o = { buf, size, 0, false };

	puts_(&o, method ? method : "GET");
	puts_(&o, " ");
	put_url(&o, url);
	for (size_t i = 0; headers && i < n_headers; i++) {
		const char *name = headers[i].name ? headers[i].name : "";

		puts_(&o, "; ");
		puts_(&o, name);
		puts_(&o, ": ");
		if (http_header_is_secret(name))
			puts_(&o, "REDACTED");
		else
			puts_(&o, headers[i].value ? headers[i].value : "");
	}
	return finish(&o);
}

/* ---- request headers -------------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_header_line(const char *name, const char *value, char **ret, char *err, size_t errsz)
{
	char shown[64];
	size_t nl, vl;
	char *line;

	if (!name || !*name) {
		http_errf(err, errsz, "a header has an empty name");
		return -EINVAL;
	}
	http_sanitize(shown, sizeof(shown), name);
	nl = strlen(name);
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)name[i])) {
			http_errf(err, errsz, "header name \"%s\" has a character not allowed there",
			     shown);
			return -EINVAL;
		}
	if (!value)
		value = "";
	vl = strlen(value);
	for (size_t i = 0; i < vl; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			http_errf(err, errsz, "the value of header %s has control characters", shown);
			return -EINVAL;
		}
	}
	if (nl + vl + 3 > HTTP_MAX_HEADER_LINE) {
		http_errf(err, errsz, "header %s is longer than %d bytes", shown, HTTP_MAX_HEADER_LINE);
		return -E2BIG;
	}
	line = malloc(nl + vl + 3);
	if (!line)
		return -ENOMEM;
	if (vl)
		snprintf(line, nl + vl + 3, "%s: %s", name, value);
	else
		snprintf(line, nl + 2, "%s;", name);
	*ret = line;
	return 0;
}
