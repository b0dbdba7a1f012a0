/* cmd-promql.c - `autoscalerd promql-check EXPR`: would Prometheus accept this query?
 *
 * Exit 0 and "valid: TYPE" on stdout when it would; exit 1 and Prometheus's own error
 * line ("1:12: parse error: unexpected ...") on stderr when it would not. EXPR "-" reads
 * the expression from stdin (for multi-line queries); "--" ends the options, so that an
 * expression may start with "-".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "autoscalerd/cli.h"
#include "promql/promql-check.h"

#define USAGE "usage: autoscalerd promql-check [--] EXPR   (EXPR - reads stdin)\n"

/* Reads stdin into buf; more than PROMQL_MAX_LEN bytes is an error. */
static int read_stdin(char *buf, size_t size, size_t *ret_len)
{
	size_t n = fread(buf, 1, size, stdin);

	if (ferror(stdin))
		return -EIO;
	if (n == size)
		return -E2BIG;
	*ret_len = n;
	return 0;
}

int cmd_promql_check(int argc, char **argv)
{
	static char input[PROMQL_MAX_LEN + 1];
	const char *expr = NULL;
	size_t len;
	promql_type_t type;
	promql_error_t err;
	char line[PROMQL_ERROR_MSG_SIZE + 64];
	int i = 1, r;

	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		printf(USAGE);
		return CLI_EXIT_OK;
	}
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (argc - i != 1) {
		fprintf(stderr, argc - i < 1 ? "autoscalerd promql-check: missing EXPR\n" USAGE
					     : "autoscalerd promql-check: one EXPR only (quote it)\n"
					       USAGE);
		return CLI_EXIT_USAGE;
	}
	expr = argv[i];
	len = strlen(expr);
	if (!strcmp(expr, "-")) {
		r = read_stdin(input, sizeof(input), &len);
		if (r < 0) {
			fprintf(stderr, "autoscalerd promql-check: stdin: %s\n",
				r == -E2BIG ? "longer than the 65536 bytes an expression may have"
					    : strerror(-r));
			return CLI_EXIT_INVALID;
		}
		expr = input;
	}

	r = promql_check(expr, len, &type, &err);
	if (r < 0) {
		promql_error_format(&err, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
		return CLI_EXIT_INVALID;
	}
	printf("valid: %s\n", promql_type_name(type));
	return CLI_EXIT_OK;
}
