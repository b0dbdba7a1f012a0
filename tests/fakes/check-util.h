/* check-util.h - what the Check suites share: running a suite, and the asserting forms of
 * test-util.h's helpers. Static inline, for the Check tests only (bench/ links the fakes
 * without Check).
 */
#ifndef AUTOSCALERD_CHECK_UTIL_H
#define AUTOSCALERD_CHECK_UTIL_H

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "tests/fakes/test-util.h"

/* Runs suite s (freed here) in print mode mode: main()'s exit status. */
static inline int check_run(Suite *s, enum print_output mode)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, mode);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_tmpdir, failing the test when the directory cannot be made. */
static inline void check_tmpdir(char *buf, size_t size, const char *name)
{
	int r = test_tmpdir(buf, size, name);

	ck_assert_msg(r == 0, "temporary directory %s: %s", name, strerror(-r));
}

/* A fresh temporary directory in buf (check_tmpdir) with an empty home/ in it, which
 * $HOME then names: for code that reads ~/.kube or ~/.oci. */
static inline void check_tmp_home(char *buf, size_t size, const char *name)
{
	char home[PATH_MAX];

	check_tmpdir(buf, size, name);
	snprintf(home, sizeof(home), "%s/home", buf);
	ck_assert_int_eq(mkdir(home, 0700), 0);
	ck_assert_int_eq(setenv("HOME", home, 1), 0);
}

/* test_write_file, failing the test when the file cannot be written. */
static inline void check_write_file(const char *path, const char *text, mode_t mode)
{
	int r = test_write_file(path, text, mode);

	ck_assert_msg(r == 0, "%s: %s", path, strerror(-r));
}

#endif
