/* cmd-replay.c - `autoscalerd replay`: a policy's engine over recorded ticks (DESIGN.md
 * section 4, "Replay").
 *
 * JSONL in (a file or stdin), one JSONL line out per tick, each printed and flushed before
 * the next line is read, so replay also works as a filter on a live stream. A malformed line
 * stops it with FILE:LINE: error: ... and exit status 2; the lines before it are out already.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/cli.h"
#include "autoscalerd/replay.h"
#include "config/config.h"

#define USAGE "usage: autoscalerd replay --config FILE [--policy NAME] [--input TICKS.jsonl]\n"

/* One line of f into *buf (NUL-terminated, without its newline). Returns 1 and the length
 * in *ret_len, 0 at the end of the input, -EFBIG for a line over REPLAY_MAX_LINE bytes (the
 * rest of it unread), -EIO or -ENOMEM. getc, not fread: a line is handled as soon as it
 * has arrived, however the input is buffered. */
static int read_line(FILE *f, char **buf, size_t *cap, size_t *ret_len)
{
	size_t len = 0;
	int c;

	for (;;) {
		c = getc_unlocked(f);
		if (c == EOF || c == '\n')
			break;
		if (len == REPLAY_MAX_LINE)
			return -EFBIG;
		if (len + 1 >= *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *nbuf;

			if (ncap > REPLAY_MAX_LINE + 1)
				ncap = REPLAY_MAX_LINE + 1;
			nbuf = realloc(*buf, ncap);
			if (!nbuf)
				return -ENOMEM;
			*buf = nbuf;
			*cap = ncap;
		}
		(*buf)[len++] = (char)c;
	}
	if (c == EOF) {
		if (ferror(f))
			return -EIO;
		if (len == 0)
			return 0;
	}
	if (!*buf) {
		*buf = malloc(1);
		if (!*buf)
			return -ENOMEM;
		*cap = 1;
	}
	(*buf)[len] = '\0';
	*ret_len = len;
	return 1;
}

static const config_policy_t *pick_policy(const config_t *c, const char *file, const char *name,
					  int *ret_status)
{
	if (!name && c->n_policies == 1)
		return &c->policies[0];
	for (size_t i = 0; name && i < c->n_policies; i++)
		if (!strcmp(c->policies[i].name, name))
			return &c->policies[i];
	if (name)
		fprintf(stderr, "%s: error: no policy \"%s\"; the policies are:", file, name);
	else
		fprintf(stderr, "%s: error: %zu policies: name one with --policy:", file,
			c->n_policies);
	for (size_t i = 0; i < c->n_policies; i++)
		fprintf(stderr, "%s \"%s\"", i ? "," : "", c->policies[i].name);
	fputc('\n', stderr);
	*ret_status = name ? CLI_EXIT_INVALID : CLI_EXIT_USAGE;
	return NULL;
}

/* The replay proper. Returns the exit status. */
static int run(const config_policy_t *p, FILE *in, const char *in_name)
{
	replay_t rp;
	char *buf = NULL;
	size_t cap = 0, len;
	char err[REPLAY_ERR_SIZE], out[REPLAY_OUT_SIZE];
	int status = CLI_EXIT_OK;

	if (replay_init(&rp, p) < 0) {
		fprintf(stderr, "autoscalerd replay: out of memory\n");
		return CLI_EXIT_INVALID;
	}
	for (unsigned long long lineno = 1;; lineno++) {
		replay_line_t l;
		replay_result_t res;
		int r = read_line(in, &buf, &cap, &len);

		if (r == 0)
			break;
		if (r == 1)
			r = replay_parse_line(buf, len, &l, err, sizeof(err));
		else if (r == -EFBIG)
			snprintf(err, sizeof(err), "line is longer than %zu bytes (1 MiB)",
				 REPLAY_MAX_LINE);
		else
			snprintf(err, sizeof(err), "%s", r == -ENOMEM ? "out of memory" : strerror(-r));
		if (r == 1)
			continue; /* blank */
		if (r == 0)
			r = replay_step(&rp, &l, &res, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "%s:%llu: error: %s\n", in_name, lineno, err);
			status = r == -ENOMEM || r == -EIO ? CLI_EXIT_INVALID : CLI_EXIT_USAGE;
			break;
		}
		replay_format(&res, out, sizeof(out));
		if (puts(out) == EOF || fflush(stdout) == EOF) {
			fprintf(stderr, "autoscalerd replay: cannot write the output: %s\n",
				strerror(errno));
			status = CLI_EXIT_INVALID;
			break;
		}
	}
	free(buf);
	replay_done(&rp);
	return status;
}

int cmd_replay(int argc, char **argv)
{
	const char *file = NULL, *name = NULL, *input = NULL;
	config_diags_t diags = { 0 };
	const config_policy_t *p;
	config_t *c = NULL;
	FILE *in = stdin;
	int r, status = CLI_EXIT_INVALID;

	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v;

		if ((v = cli_option(argc, argv, &i, "--config", "-c", &missing))) {
			file = v;
		} else if (!missing && (v = cli_option(argc, argv, &i, "--policy", "-p", &missing))) {
			name = v;
		} else if (!missing && (v = cli_option(argc, argv, &i, "--input", "-i", &missing))) {
			input = v;
		} else {
			fprintf(stderr, "autoscalerd replay: %s \"%s\"\n" USAGE,
				missing ? "missing value for" : "unexpected argument", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	if (!file) {
		fprintf(stderr, USAGE);
		return CLI_EXIT_USAGE;
	}

	r = config_load_file(file, &c, &diags);
	config_diags_print(&diags, file, stderr);
	config_diags_clear(&diags);
	if (r < 0) {
		if (r == -ENOMEM)
			fprintf(stderr, "%s: out of memory\n", file);
		fprintf(stderr, "%s: invalid policy file\n", file);
		return CLI_EXIT_INVALID;
	}
	p = pick_policy(c, file, name, &status);
	if (!p)
		goto out;

	if (input && strcmp(input, "-")) {
		in = fopen(input, "r");
		if (!in) {
			fprintf(stderr, "%s: error: cannot read: %s\n", input, strerror(errno));
			status = CLI_EXIT_INVALID;
			goto out;
		}
	}
	status = run(p, in, in == stdin ? "<stdin>" : input);
	if (in != stdin)
		fclose(in);
out:
	config_free(c);
	return status;
}
