/* config-private.h - shared between the files of config/, not part of its API. */
#ifndef AUTOSCALERD_CONFIG_PRIVATE_H
#define AUTOSCALERD_CONFIG_PRIVATE_H

#include <stdarg.h>

#include "config/config.h"

int config_diag_addv(config_diags_t *d, config_severity_t sev, config_mark_t mark,
		     const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* The schema: one table per scope (the file, one policy, one behavior rate policy). Each
 * row is a key with its type, bounds, default and doc; the walker, the validation, the
 * printout and the reference all read these tables. */
typedef enum config_vtype {
	CONFIG_V_BLOCK,    /* a mapping whose keys are rows below it */
	CONFIG_V_INT,      /* int32_t */
	CONFIG_V_DOUBLE,   /* double */
	CONFIG_V_DURATION, /* engine_ms_t */
	CONFIG_V_BOOL,     /* bool */
	CONFIG_V_ENUM,     /* int-sized enum, index into names[] */
	CONFIG_V_STRING,   /* char *, owned */
	CONFIG_V_HEADERS,  /* config_prometheus_t headers */
	CONFIG_V_RATES,    /* engine_rules_t policies */
	CONFIG_V_POLICIES, /* config_t policies */
} config_vtype_t;

#define CONFIG_F_REQUIRED 1u /* required when its block is present */

/* A string validator: NULL when s is fine, else what was expected. */
typedef const char *(*config_check_fn)(const char *s);

typedef struct config_row {
	const char *key; /* dotted path inside its scope */
	config_vtype_t type;
	double min, max;    /* numbers; durations in milliseconds */
	const char *def;    /* default, in the syntax of the file; NULL: none */
	const char *defnote; /* how the default is derived when def is NULL */
	const char *const *names; /* CONFIG_V_ENUM, NULL-terminated */
	config_check_fn check;    /* CONFIG_V_STRING */
	size_t off;
	unsigned flags;
	const char *doc;
	const char *hint; /* added to an out-of-range error */
} config_row_t;

typedef struct config_scope {
	const char *name;
	const config_row_t *rows;
	size_t n;
} config_scope_t;

#define CONFIG_MAX_ROWS 64

/* Where each row of a scope was set (line 0: not in the file). */
struct config_meta {
	config_mark_t self; /* the block (policy) itself */
	bool bad;           /* had an error of its own: skip the cross-checks */
	config_mark_t mark[CONFIG_MAX_ROWS];
};

extern const config_scope_t config_global_scope, config_policy_scope, config_rate_scope;

/* Index of the block row holding a dotted key, or -1 at the top of the scope. */
int config_parent_row(const config_scope_t *sc, const char *key);

/* Scalar parsers shared by the YAML walker and the recipe import. All are strict and
 * locale-independent: the whole string must match, or -EINVAL; out of range: -ERANGE. */
int config_parse_int(const char *s, long long *ret);
/* Decimal notation only: no hex floats, no inf, no nan. */
int config_parse_double(const char *s, double *ret);
/* Plain integer seconds ("90") or Prometheus units in descending order, each at most once:
 * "90s", "5m", "1h30m", "500ms", "1d". */
int config_parse_duration(const char *s, engine_ms_t *ret);
int config_parse_bool(const char *s, bool *ret);

/* The shortest text that reads back as the same value ("90s", "5m", "1h30m", "0s"). */
void config_format_duration(engine_ms_t ms, char *buf, size_t size);
/* The shortest decimal that reads back as the same double ("0.4", "5.0" keeps one "."). */
void config_format_double(double v, char *buf, size_t size);

#endif
