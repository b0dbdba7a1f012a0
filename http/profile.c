/* profile.c - TLS settings and credentials shared by the requests to one server.
 *
 * Secret files (bearer tokens, passwords) rotate under a running daemon: Kubernetes swaps
 * the projected service-account token behind a symlink, operators rewrite files in place.
 * Before every attempt the file is stat()ed; when device, inode, size, mtime or ctime
 * differ from the copy in memory it is read again (open O_NONBLOCK, so a FIFO put there
 * cannot block the loop; regular files only; at most HTTP_MAX_SECRET bytes; trailing
 * whitespace and newlines stripped; control characters refused, since the value goes into
 * a header). A rewrite that keeps all five equal is not seen: no filesystem makes that
 * happen for a rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http-private.h"

static void secret_clear(struct secret_file *f)
{
	if (f->value) {
		explicit_bzero(f->value, strlen(f->value));
		free(f->value);
		f->value = NULL;
	}
	free(f->path);
	f->path = NULL;
}

static bool same_file(const struct secret_file *f, const struct stat *st)
{
	return f->value && f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec && f->ctime.tv_sec == st->st_ctim.tv_sec &&
	       f->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* Checks a secret value (from a file or inline) before it goes into a header. */
static int check_secret(const char *v, size_t n, const char *what, const char *where, char *err,
			size_t errsz)
{
	if (n == 0) {
		http_errf(err, errsz, "%s%s is empty", what, where);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c < 0x20 || c == 0x7f) {
			http_errf(err, errsz, "%s%s contains control characters", what, where);
			return -EINVAL;
		}
	}
	return 0;
}

static int secret_refresh(struct secret_file *f, char *err, size_t errsz)
{
	struct stat st;
	char *buf = NULL, *val = NULL;
	char where[300];
	size_t n = 0;
	int fd = -1, r;

	if (!f->path)
		return 0;
	http_sanitize(where + 1, sizeof(where) - 1, f->path);
	where[0] = ' ';
	if (stat(f->path, &st) < 0) {
		r = -errno;
		http_errf(err, errsz, "%s%s: %s", f->what, where, strerror(-r));
		goto out;
	}
	if (same_file(f, &st))
		return 0;
	fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		http_errf(err, errsz, "%s%s: %s", f->what, where, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		http_errf(err, errsz, "%s%s is not a regular file", f->what, where);
		goto out;
	}
	if (st.st_size > HTTP_MAX_SECRET) {
		r = -EFBIG;
		http_errf(err, errsz, "%s%s is larger than %d bytes", f->what, where, HTTP_MAX_SECRET);
		goto out;
	}
	buf = malloc(HTTP_MAX_SECRET + 1);
	if (!buf) {
		r = -ENOMEM;
		http_errf(err, errsz, "%s%s: out of memory", f->what, where);
		goto out;
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, HTTP_MAX_SECRET + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			http_errf(err, errsz, "%s%s: %s", f->what, where, strerror(-r));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > HTTP_MAX_SECRET) {
			/* It grew between fstat() and read(). */
			r = -EFBIG;
			http_errf(err, errsz, "%s%s is larger than %d bytes", f->what, where,
			     HTTP_MAX_SECRET);
			goto out;
		}
	}
	while (n > 0 && strchr(" \t\r\n", buf[n - 1]))
		n--;
	r = check_secret(buf, n, f->what, where, err, errsz);
	if (r < 0)
		goto out;
	val = strndup(buf, n);
	if (!val) {
		r = -ENOMEM;
		http_errf(err, errsz, "%s%s: out of memory", f->what, where);
		goto out;
	}
	if (f->value) {
		explicit_bzero(f->value, strlen(f->value));
		free(f->value);
	}
	f->value = val;
	val = NULL;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	f->ctime = st.st_ctim;
	r = 0;
out:
	if (buf) {
		explicit_bzero(buf, HTTP_MAX_SECRET + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int http_profile_refresh(http_profile_t *p, char *err, size_t errsz)
{
	int r = secret_refresh(&p->token_file, err, errsz);

	if (r < 0)
		return r;
	return secret_refresh(&p->password_file, err, errsz);
}

const char *http_profile_bearer(const http_profile_t *p)
{
	return p->bearer ? p->bearer : p->token_file.value;
}

const char *http_profile_password(const http_profile_t *p)
{
	return p->basic_password ? p->basic_password : p->password_file.value;
}

CURLcode http_profile_apply_tls(const http_profile_t *p, CURL *e)
{
	CURLcode c = CURLE_OK;
	struct curl_blob b;

#define SET(opt, val)                                       \
	do {                                                \
		if (c == CURLE_OK)                          \
			c = curl_easy_setopt(e, opt, val); \
	} while (0)

	if (p->ca.file || p->ca.data) {
		/* The given CAs replace the system's: a kubeconfig's CA means "this one". */
		SET(CURLOPT_CAPATH, (char *)NULL);
		if (p->ca.file) {
			SET(CURLOPT_CAINFO, p->ca.file);
		} else {
			b = (struct curl_blob){ p->ca.data, p->ca.len, CURL_BLOB_COPY };
			SET(CURLOPT_CAINFO_BLOB, &b);
		}
	}
	if (p->cert.file) {
		SET(CURLOPT_SSLCERT, p->cert.file);
	} else if (p->cert.data) {
		b = (struct curl_blob){ p->cert.data, p->cert.len, CURL_BLOB_COPY };
		SET(CURLOPT_SSLCERT_BLOB, &b);
	}
	if (p->cert.file || p->cert.data)
		SET(CURLOPT_SSLCERTTYPE, "PEM");
	if (p->key.file) {
		SET(CURLOPT_SSLKEY, p->key.file);
	} else if (p->key.data) {
		b = (struct curl_blob){ p->key.data, p->key.len, CURL_BLOB_COPY };
		SET(CURLOPT_SSLKEY_BLOB, &b);
	}
	if (p->key.file || p->key.data)
		SET(CURLOPT_SSLKEYTYPE, "PEM");
	if (p->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
#undef SET
	return c;
}

/* ---- construction ----------------------------------------------------------------------- */

static int copy_pem(struct pem *dst, const char *file, const char *data, size_t len,
		    const char *what, char *err, size_t errsz)
{
	char shown[300];

	if (file && data) {
		http_errf(err, errsz, "TLS %s: give a file or inline data, not both", what);
		return -EINVAL;
	}
	if (file) {
		http_sanitize(shown, sizeof(shown), file);
		if (access(file, R_OK) < 0) {
			int r = -errno;

			http_errf(err, errsz, "TLS %s file %s: %s", what, shown, strerror(-r));
			return r;
		}
		dst->file = strdup(file);
		if (!dst->file)
			return -ENOMEM;
	} else if (data) {
		if (len == 0)
			len = strlen(data);
		if (len == 0) {
			http_errf(err, errsz, "TLS %s: the inline data is empty", what);
			return -EINVAL;
		}
		dst->data = malloc(len);
		if (!dst->data)
			return -ENOMEM;
		memcpy(dst->data, data, len);
		dst->len = len;
	}
	return 0;
}

static void free_pem(struct pem *p)
{
	free(p->file);
	if (p->data) {
		explicit_bzero(p->data, p->len);
		free(p->data);
	}
}

static void free_str(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

http_profile_t *http_profile_ref(http_profile_t *p)
{
	if (p)
		p->refs++;
	return p;
}

http_profile_t *http_profile_unref(http_profile_t *p)
{
	if (!p || --p->refs > 0)
		return NULL;
	free_pem(&p->ca);
	free_pem(&p->cert);
	free_pem(&p->key);
	free_str(p->bearer);
	secret_clear(&p->token_file);
	free(p->basic_user);
	free_str(p->basic_password);
	secret_clear(&p->password_file);
	for (size_t i = 0; i < p->n_headers; i++)
		free_str(p->headers[i]);
	free(p->headers);
	free(p);
	return NULL;
}

bool http_profile_insecure(const http_profile_t *p)
{
	return p && p->insecure;
}

static int set_secret_file(struct secret_file *f, const char *path, const char *what)
{
	f->what = what;
	if (!path)
		return 0;
	f->path = strdup(path);
	return f->path ? 0 : -ENOMEM;
}

/* Sets the TLS options on a throwaway handle: a libcurl without a blob option fails here. */
static int check_tls_supported(const http_profile_t *p, char *err, size_t errsz)
{
	CURL *e = curl_easy_init();
	CURLcode c;

	if (!e)
		return -ENOMEM;
	c = http_profile_apply_tls(p, e);
	curl_easy_cleanup(e);
	if (c == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	if (c != CURLE_OK) {
		http_errf(err, errsz, "TLS settings not supported by this libcurl: %s",
		     curl_easy_strerror(c));
		return -EOPNOTSUPP;
	}
	return 0;
}

int http_profile_new(const http_profile_opts_t *o, http_profile_t **ret, char *err,
		     size_t errsz)
{
	http_profile_t *p = NULL;
	int r;

	http_errf(err, errsz, "%s", "");
	if (!o || !ret)
		return -EINVAL;
	if (o->bearer_token && o->bearer_token_file) {
		http_errf(err, errsz, "give a bearer token or a bearer token file, not both");
		return -EINVAL;
	}
	if (o->basic_password && o->basic_password_file) {
		http_errf(err, errsz, "give a password or a password file, not both");
		return -EINVAL;
	}
	if (!o->basic_user != !(o->basic_password || o->basic_password_file)) {
		http_errf(err, errsz, "basic auth needs both a user and a password");
		return -EINVAL;
	}
	if ((o->bearer_token || o->bearer_token_file) && o->basic_user) {
		http_errf(err, errsz, "give a bearer token or basic auth, not both");
		return -EINVAL;
	}
	if (!(o->tls.cert_file || o->tls.cert_pem) != !(o->tls.key_file || o->tls.key_pem)) {
		http_errf(err, errsz, "a TLS client certificate needs its key, and a key its certificate");
		return -EINVAL;
	}
	if (o->max_in_flight < 0 || o->max_in_flight > HTTP_MAX_IN_FLIGHT_LIMIT) {
		http_errf(err, errsz, "max_in_flight %d is out of range 1..%d", o->max_in_flight,
		     HTTP_MAX_IN_FLIGHT_LIMIT);
		return -EINVAL;
	}
	if (o->n_headers > HTTP_MAX_REQUEST_HEADERS) {
		http_errf(err, errsz, "more than %d headers", HTTP_MAX_REQUEST_HEADERS);
		return -E2BIG;
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		goto oom;
	p->refs = 1;
	p->insecure = o->tls.insecure_skip_tls_verify;
	p->max_in_flight = o->max_in_flight;
	r = copy_pem(&p->ca, o->tls.ca_file, o->tls.ca_pem, o->tls.ca_pem_len, "CA", err, errsz);
	if (r == 0)
		r = copy_pem(&p->cert, o->tls.cert_file, o->tls.cert_pem, o->tls.cert_pem_len,
			     "client certificate", err, errsz);
	if (r == 0)
		r = copy_pem(&p->key, o->tls.key_file, o->tls.key_pem, o->tls.key_pem_len,
			     "client key", err, errsz);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0)
		goto fail;

	if (o->bearer_token) {
		r = check_secret(o->bearer_token, strlen(o->bearer_token), "bearer token", "", err,
				 errsz);
		if (r < 0)
			goto fail;
		p->bearer = strdup(o->bearer_token);
		if (!p->bearer)
			goto oom;
	}
	if (o->basic_user) {
		if (strchr(o->basic_user, ':') ||
		    check_secret(o->basic_user, strlen(o->basic_user), "basic auth user", "", err,
				 errsz) < 0) {
			http_errf(err, errsz, "basic auth user: empty, or has ':' or control characters");
			r = -EINVAL;
			goto fail;
		}
		p->basic_user = strdup(o->basic_user);
		if (!p->basic_user)
			goto oom;
	}
	if (o->basic_password) {
		r = check_secret(o->basic_password, strlen(o->basic_password), "basic password", "",
				 err, errsz);
		if (r < 0)
			goto fail;
		p->basic_password = strdup(o->basic_password);
		if (!p->basic_password)
			goto oom;
	}
	if (set_secret_file(&p->token_file, o->bearer_token_file, "bearer token file") < 0 ||
	    set_secret_file(&p->password_file, o->basic_password_file, "password file") < 0)
		goto oom;
	r = http_profile_refresh(p, err, errsz);
	if (r < 0)
		goto fail;

	if (o->n_headers) {
		p->headers = calloc(o->n_headers, sizeof(*p->headers));
		if (!p->headers)
			goto oom;
	}
	for (size_t i = 0; i < o->n_headers; i++) {
		r = http_header_line(o->headers[i].name, o->headers[i].value, &p->headers[i], err,
				errsz);
		if (r == -ENOMEM)
			goto oom;
		if (r < 0)
			goto fail;
		p->n_headers++;
	}
	r = check_tls_supported(p, err, errsz);
	if (r == -ENOMEM)
		goto oom;
	if (r < 0)
		goto fail;
	*ret = p;
	return 0;
oom:
	r = -ENOMEM;
	http_errf(err, errsz, "out of memory");
fail:
	http_profile_unref(p);
	return r;
}
