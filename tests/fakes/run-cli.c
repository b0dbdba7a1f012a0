/* run-cli.c - see run-cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/fakes/run-cli.h"

extern char **environ;

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

int test_spawn(const char *const argv[], char *out, size_t size, char *err, size_t errsize,
	       int timeout_s)
{
	char tmpl_out[] = "/tmp/test-spawn-out-XXXXXX", tmpl_err[] = "/tmp/test-spawn-err-XXXXXX";
	int fo = mkstemp(tmpl_out), fe = mkstemp(tmpl_err), st = 0, rc;
	posix_spawn_file_actions_t fa;
	struct timespec t0, now, nap = { 0, 10 * 1000 * 1000 };
	pid_t pid;

	if (fo < 0 || fe < 0) {
		rc = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fo, 1);
	posix_spawn_file_actions_adddup2(&fa, fe, 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		rc = -rc;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		nanosleep(&nap, NULL);
	}
	slurp(tmpl_out, out, size);
	if (err)
		slurp(tmpl_err, err, errsize);
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
out:
	if (fo >= 0) {
		close(fo);
		unlink(tmpl_out);
	}
	if (fe >= 0) {
		close(fe);
		unlink(tmpl_err);
	}
	return rc;
}
