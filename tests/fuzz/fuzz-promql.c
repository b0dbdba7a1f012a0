/* fuzz-promql.c - libFuzzer target for the PromQL checker: any bytes as an expression, and
 * the same bytes as the value of a =~ matcher (the RE2 checker on its own).
 *
 * The input is handed over in a buffer of exactly its size, not NUL-terminated, so an
 * over-read shows up under ASan. Besides "no crash, no leak, no hang" the target holds the
 * code to promql-check.h:
 *   - promql_check returns 0 or -EINVAL (or -ENOMEM), and the same on a second run;
 *   - on success the type is one of the four; on failure the message is NUL-terminated,
 *     not empty, and line/col point at offset (at most the input's length);
 *   - the regex checker returns 0 or -EINVAL with Go's "error parsing regexp: " message.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/promql/, dictionary promql.dict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promql/promql-check.h"
#include "promql/promql-private.h"
#include "tests/fuzz/fuzz-common.h"

static void check_position(const uint8_t *data, size_t size, const promql_error_t *err)
{
	size_t line_start = 0;
	unsigned line = 1;

	REQUIRE(err->offset <= size);
	for (size_t i = 0; i < err->offset; i++)
		if (data[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	REQUIRE(err->line == line);
	REQUIRE(err->col == err->offset - line_start + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);
	promql_type_t type = PROMQL_TYPE_NONE, type2 = PROMQL_TYPE_NONE;
	promql_error_t err, err2;
	char line[PROMQL_ERROR_MSG_SIZE + 64];
	char msg[PROMQL_ERROR_MSG_SIZE];
	bool empty;
	int r, r2;

	if (!buf)
		return 0;
	memcpy(buf, data, size);

	r = promql_check(buf, size, &type, &err);
	REQUIRE(r == 0 || r == -EINVAL || r == -ENOMEM);
	if (r == 0) {
		REQUIRE(type >= PROMQL_TYPE_SCALAR && type <= PROMQL_TYPE_STRING);
		fprintf(sink, "%s\n", promql_type_name(type));
	} else {
		REQUIRE(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		REQUIRE(err.msg[0] != '\0');
		if (r == -EINVAL)
			check_position(data, size, &err);
		REQUIRE(promql_error_format(&err, line, sizeof(line)) > 0);
		fprintf(sink, "%s\n", line);
	}
	r2 = promql_check(buf, size, &type2, &err2);
	REQUIRE(r2 == r);
	if (r == 0)
		REQUIRE(type2 == type);
	else if (r == -EINVAL)
		REQUIRE(err2.offset == err.offset && !strcmp(err2.msg, err.msg));

	if (size <= PROMQL_MAX_LEN) {
		memset(msg, 'x', sizeof(msg));
		r = promql_regex_check(buf, size, &empty, msg, sizeof(msg));
		REQUIRE(r == 0 || r == -EINVAL || r == -ENOMEM);
		if (r == -EINVAL) {
			REQUIRE(memchr(msg, '\0', sizeof(msg)) != NULL);
			REQUIRE(!strncmp(msg, "error parsing regexp: ", 22));
		}
	}
	free(buf);
	return 0;
}
