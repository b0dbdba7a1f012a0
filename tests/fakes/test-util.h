/* test-util.h - small helpers the tests and benchmarks share: temporary directories, files,
 * the longer waits under valgrind, a dotted path into JSON. Nothing here asserts (bench/
 * links it without Check); tests/fakes/check-util.h has the asserting wrappers.
 */
#ifndef AUTOSCALERD_TEST_UTIL_H
#define AUTOSCALERD_TEST_UTIL_H

#include <stddef.h>
#include <sys/types.h>

struct cJSON;

/* Makes a fresh directory $TMPDIR/NAME-XXXXXX (/tmp without $TMPDIR) and writes its path to
 * buf: 0, -ENAMETOOLONG when it does not fit in size, or mkdtemp's -errno (buf then
 * undefined). */
int test_tmpdir(char *buf, size_t size, const char *name);

/* rm -rf path (no symlinks followed): 0, or -ENOTEMPTY when something stayed. */
int test_rm_tree(const char *path);

/* dir/rel in one of 8 static buffers, used in turn: good until the 8th call after (not
 * thread-safe). */
const char *test_path(const char *dir, const char *rel);

/* Writes text to path (created or truncated), then sets its mode: 0 or -errno. */
int test_write_file(const char *path, const char *text, mode_t mode);

/* normal, or under_valgrind when AUTOSCALERD_VALGRIND is set (the valgrind test setup):
 * how long a test may wait for something. */
double test_patience(double normal, double under_valgrind);

/* Copies src (NULL: "") into dst[size], cut to fit; nothing when size is 0. */
void test_copy_str(char *dst, size_t size, const char *src);

/* The monotonic clock, in milliseconds and in seconds. */
long long test_mono_ms(void);
double test_now_s(void);

/* How many threads this process has (from /proc/self/status), or -1. */
int test_threads(void);

/* A fresh RSA key of bits as PEM (PKCS#8, unencrypted), malloc'd; NULL on failure. */
char *test_rsa_pem(int bits);

/* The item at a dotted path into j ("items.0.metadata.name": a number indexes an array),
 * or NULL. */
const struct cJSON *test_json_get(const struct cJSON *j, const char *path);

#endif
