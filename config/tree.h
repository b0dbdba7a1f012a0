/* tree.h - the YAML node tree config/ walks (private to config/). */
#ifndef AUTOSCALERD_CONFIG_TREE_H
#define AUTOSCALERD_CONFIG_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

typedef enum ynode_kind {
	YN_SCALAR,
	YN_MAP, /* v[] holds key, value, key, value, ... */
	YN_SEQ,
} ynode_kind_t;

typedef struct ynode {
	ynode_kind_t kind;
	config_mark_t mark;
	bool plain;  /* an unquoted scalar */
	char *str;   /* scalars: NUL-terminated copy; may hold NULs inside (len tells) */
	size_t len;
	struct ynode **v;
	size_t n, cap;
} ynode_t;

/* Parse one YAML document. *ret is NULL for an empty document. Errors go to d. Returns 0,
 * -EINVAL (diagnosed) or -ENOMEM. */
int ytree_parse(const char *buf, size_t len, ynode_t **ret, config_diags_t *d);
ynode_t *ytree_free(ynode_t *n);
/* A plain scalar spelling YAML's null: empty, ~, null. */
bool ynode_is_null(const ynode_t *n);

#endif
