/* file.c - the one bounded file reader of oci/ (the config file, key files, token files),
 * and file identities for noticing rotation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/oci-private.h"

int oci_read_file(const char *path, const char *label, const char *what, size_t max,
		  char **ret, size_t *ret_len, struct stat *ret_st, char *err, size_t errsz)
{
	size_t len = 0, cap = max + 1; /* one more byte tells "too large" from "the ceiling" */
	struct stat st;
	char *buf = NULL;
	int fd, r;

	if (!label)
		label = path;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		http_errf(err, errsz, "%s: cannot read %s: %s", label, what, strerror(-r));
		goto out;
	}
	if (S_ISDIR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		http_errf(err, errsz, "%s: is a %s, not %s", label,
			  S_ISDIR(st.st_mode) ? "directory" : S_ISFIFO(st.st_mode) ? "pipe" : "socket",
			  what);
		goto out;
	}
	(void)fcntl(fd, F_SETFL, 0); /* blocking reads from here on: no spinning on EAGAIN */
	if ((S_ISREG(st.st_mode) && st.st_size > (off_t)max) || !(buf = malloc(cap))) {
		r = buf || S_ISREG(st.st_mode) ? -EFBIG : -ENOMEM;
		if (r == -EFBIG)
			http_errf(err, errsz, "%s: larger than the %zu bytes %s may have", label, max,
				  what);
		else
			http_errf(err, errsz, "%s: out of memory", label);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			http_errf(err, errsz, "%s: cannot read %s: %s", label, what, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			r = -EFBIG;
			http_errf(err, errsz, "%s: larger than the %zu bytes %s may have", label, max,
				  what);
			goto out;
		}
	}
	buf[len] = '\0';
	if (ret_st)
		*ret_st = st;
	*ret = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	if (buf) {
		/* keys, pass phrases and tokens pass through here */
		explicit_bzero(buf, cap);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int oci_file_id(const char *path, oci_file_id_t *ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	ret->dev = st.st_dev;
	ret->ino = st.st_ino;
	ret->size = st.st_size;
	ret->mtime = st.st_mtim;
	ret->known = true;
	return 0;
}

bool oci_file_id_same(const oci_file_id_t *a, const oci_file_id_t *b)
{
	return a->known && b->known && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int oci_read_token_file(const char *path, const char *what, char **ret, oci_file_id_t *id,
			char *err, size_t errsz)
{
	struct stat st;
	char *buf = NULL, label[HTTP_ERROR_MAX / 2];
	size_t len = 0;
	int rc;

	snprintf(label, sizeof(label), "%s %s", what, path);
	rc = oci_read_file(path, label, "a token file", OCI_MAX_TOKEN, &buf, &len, &st, err,
			   errsz);
	if (rc < 0)
		return rc;
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		http_errf(err, errsz, "%s: not a regular file", label);
		goto out;
	}
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
		       buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (!len) {
		rc = -EINVAL;
		http_errf(err, errsz, "%s is empty", label);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x21 || buf[i] == 0x7f) {
			rc = -EINVAL;
			http_errf(err, errsz, "%s: the token has control characters or spaces",
				  label);
			goto out;
		}
	if (id) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		id->size = st.st_size;
		id->mtime = st.st_mtim;
		id->known = true;
	}
	*ret = buf;
	buf = NULL;
out:
	if (buf) {
		explicit_bzero(buf, len);
		free(buf);
	}
	return rc;
}
