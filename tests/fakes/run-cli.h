/* run-cli.h - run a program from a test and take its output (the CLI under test: doctor). */
#ifndef AUTOSCALERD_TESTS_RUN_CLI_H
#define AUTOSCALERD_TESTS_RUN_CLI_H

#include <stddef.h>

/* Runs argv (argv[0] a path) with stdout into out (NUL-terminated, cut at size - 1) and
 * stderr into err (the same; err may be NULL: discarded), killing it after timeout_s.
 * Returns its exit status (0..255), 128 + the signal that ended it, or a negative errno
 * when it could not run. */
int test_spawn(const char *const argv[], char *out, size_t size, char *err, size_t errsize,
	       int timeout_s);

#endif
