/* test-util.c - the helpers of test-util.h. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "tests/fakes/test-util.h"

int test_tmpdir(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/%s-XXXXXX", base && *base ? base : "/tmp", name);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return mkdtemp(buf) ? 0 : -errno;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

int test_rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return access(path, F_OK) == 0 ? -ENOTEMPTY : 0;
}

const char *test_path(const char *dir, const char *rel)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, rel);
	return b;
}

int test_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && chmod(path, mode) != 0)
		r = -errno;
	return r;
}

double test_patience(double normal, double under_valgrind)
{
	return getenv("AUTOSCALERD_VALGRIND") ? under_valgrind : normal;
}

void test_copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (!size)
		return;
	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

long long test_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int test_threads(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (fp)
		fclose(fp);
	return n;
}

const cJSON *test_json_get(const cJSON *j, const char *path)
{
	char key[256];

	while (j && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		char *end;
		long i;

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		i = strtol(key, &end, 10);
		if (cJSON_IsArray(j) && *end == '\0')
			j = cJSON_GetArrayItem(j, (int)i);
		else
			j = cJSON_GetObjectItemCaseSensitive(j, key);
		path += n + (dot ? 1 : 0);
	}
	return j;
}

char *test_rsa_pem(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long n;

	if (k && b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (n = BIO_get_mem_data(b, &data)) > 0)
		pem = strndup(data, (size_t)n);
	BIO_free(b);
	EVP_PKEY_free(k);
	return pem;
}
