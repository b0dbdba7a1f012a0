/* k8s-private.h - what the files of k8s/ share and nobody else sees: the YAML node tree
 * kubeconfig.c walks (yaml-tree.c) and its limits.
 */
#ifndef AUTOSCALERD_K8S_PRIVATE_H
#define AUTOSCALERD_K8S_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#define K8S_MAX_YAML_DEPTH 32
#define K8S_MAX_YAML_NODES 200000
#define K8S_MAX_KUBECONFIG_FILES 64      /* entries of $KUBECONFIG */
#define K8S_MAX_KUBECONFIG_ENTRIES 10000 /* clusters, users or contexts in one file */

typedef enum k8s_ynode_kind {
	K8S_YSCALAR,
	K8S_YMAP, /* v[] holds key, value, key, value, ... */
	K8S_YSEQ,
} k8s_ynode_kind_t;

typedef struct k8s_ynode {
	k8s_ynode_kind_t kind;
	int line, col; /* 1-based */
	bool plain;    /* an unquoted scalar */
	char *str;     /* scalars: NUL-terminated copy; may hold NULs inside (len tells) */
	size_t len;
	struct k8s_ynode **v;
	size_t n, cap;
} k8s_ynode_t;

/* Why a parse failed: position (0 when unknown) and a message that never quotes the input. */
typedef struct k8s_yaml_error {
	int line, col;
	char msg[160];
} k8s_yaml_error_t;

/* Parses one YAML document. *ret is NULL for an empty document. Aliases, a second
 * document, nesting past K8S_MAX_YAML_DEPTH and more than K8S_MAX_YAML_NODES nodes are
 * refused. Returns 0, -EINVAL (with *e filled in) or -ENOMEM. */
int k8s_yaml_parse(const char *buf, size_t len, k8s_ynode_t **ret, k8s_yaml_error_t *e);
k8s_ynode_t *k8s_yaml_free(k8s_ynode_t *n); /* NULL-safe; returns NULL */
/* A plain scalar spelling YAML's null: empty, ~, null, Null, NULL. */
bool k8s_ynode_is_null(const k8s_ynode_t *n);

#endif
