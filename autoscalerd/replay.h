/* replay.h - `autoscalerd replay`: JSONL ticks through the engine (DESIGN.md section 4,
 * "Replay").
 *
 * Three pieces, none doing I/O, so that the fuzz target drives the same code as the CLI:
 *   - replay_parse_line(): one input line -> replay_line_t, or a message saying what is
 *     wrong with it;
 *   - replay_step(): carries `current` and `pool_size` over from the previous line, checks
 *     that t increases, runs one engine tick and records its scale as succeeded;
 *   - replay_format(): the output line.
 * cmd-replay.c reads the lines, prints the output and names file and line in messages.
 */
#ifndef AUTOSCALERD_REPLAY_H
#define AUTOSCALERD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "engine/engine.h"

/* Longest input line, without its newline. */
#define REPLAY_MAX_LINE ((size_t)1 << 20)
/* Largest |t| in seconds: its milliseconds stay exact in a double (< 2^53) and far from
 * overflowing engine_ms_t, windows subtracted included. */
#define REPLAY_MAX_T 1e12
/* Largest replica or node count a line may give. */
#define REPLAY_MAX_COUNT 1000000
/* Buffers for messages, formatted times and output lines: always large enough. */
#define REPLAY_ERR_SIZE 256
#define REPLAY_T_SIZE 32
#define REPLAY_OUT_SIZE 160

/* One input line. */
typedef struct replay_line {
	double t;           /* seconds, as written */
	engine_ms_t t_ms;   /* llround(t * 1000) */
	engine_value_kind_t kind;
	double value;       /* when kind is ENGINE_VALUE_NUMBER: finite */
	int32_t current;    /* -1 when the line gives none; likewise below */
	int32_t ready;
	int32_t status;
	int32_t pool_size;
} replay_line_t;

/* Parse one line of `len` bytes (no newline; need not be NUL-terminated). Returns 0 and
 * fills *ret; 1 for a blank line (only spaces, tabs, CRs: no tick, *ret untouched);
 * -EINVAL when the line is not one JSON object with exactly the fields of DESIGN's Replay
 * (t a finite number, |t| <= REPLAY_MAX_T; value a number, null, "NaN", "+Inf", "-Inf"
 * or "empty"; current, ready, status, pool_size integers in [0, REPLAY_MAX_COUNT]; no
 * other field, none twice), with a message in err ("\"t\": expected a number, found a
 * string"); -EFBIG past REPLAY_MAX_LINE. (cJSON does not tell a failed allocation from bad
 * JSON: out of memory reads as "not JSON".) err (err_size > 0) is always NUL-terminated;
 * it is "" unless the result is negative. */
int replay_parse_line(const char *line, size_t len, replay_line_t *ret, char *err,
		      size_t err_size);

/* t in its shortest form that reads back as the same double ("0", "12", "0.1",
 * "1e-05"), integers up to REPLAY_MAX_T without a decimal point or exponent, "-0" as "0".
 * buf holds at least REPLAY_T_SIZE bytes. */
void replay_format_t(double t, char *buf, size_t size);

/* A replay in progress. The policy is borrowed and must outlive it. */
typedef struct replay {
	const config_policy_t *policy;
	engine_state_t *state;
	bool started;
	double last_t;         /* the previous tick's t, for messages */
	engine_ms_t last_ms;
	int32_t next_current;  /* the next line's current unless it gives one */
	int32_t next_pool;     /* the next line's pool size unless it gives one */
} replay_t;

/* Start a replay of policy p: the first line's current is p->replica_count, its pool size
 * p->initial_pool_size. Returns 0 or -ENOMEM (*r then needs no replay_done()). */
int replay_init(replay_t *r, const config_policy_t *p);
void replay_done(replay_t *r);

/* What one tick printed. */
typedef struct replay_result {
	double t;
	int32_t current;
	engine_decision_t decision;
} replay_result_t;

/* One tick of line l. Returns 0 and fills *ret; -EINVAL with a message in err when l->t
 * is not after the previous line's t (also when both fall within one millisecond), the
 * replay then unchanged; -ENOMEM, after which the replay cannot go on. */
int replay_step(replay_t *r, const replay_line_t *l, replay_result_t *ret, char *err,
		size_t err_size);

/* {"t":0,"current":1,"desired":1,"reason":"Stabilized","nodes":1} (no newline) into buf
 * of at least REPLAY_OUT_SIZE bytes. Returns its length. */
size_t replay_format(const replay_result_t *res, char *buf, size_t size);

#endif
