/* yaml-tree.c - YAML text -> a node tree with positions, for kubeconfig.c.
 *
 * k8s/ may not use config/'s reader (module rule), so this is its own, with the same
 * discipline: libyaml's event API, one document, no aliases (a "billion laughs" file stops
 * at its first alias), nesting depth and node count bounded. Error messages carry libyaml's
 * description of the problem, never the offending text: a kubeconfig holds secrets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "k8s/k8s-private.h"

#define STR_(x) #x
#define STR(x) STR_(x)

k8s_ynode_t *k8s_yaml_free(k8s_ynode_t *n)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n; i++)
		k8s_yaml_free(n->v[i]);
	free(n->v);
	free(n->str);
	free(n);
	return NULL;
}

bool k8s_ynode_is_null(const k8s_ynode_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->kind != K8S_YSCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->str, nulls[i]) == 0)
			return true;
	return false;
}

static int set_error(k8s_yaml_error_t *e, yaml_mark_t m, const char *what, const char *ctx)
{
	e->line = (int)m.line + 1;
	e->col = (int)m.column + 1;
	snprintf(e->msg, sizeof(e->msg), "%s%s%s", what, ctx ? " " : "", ctx ? ctx : "");
	return -EINVAL;
}

static int append(k8s_ynode_t *parent, k8s_ynode_t *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		k8s_ynode_t **v = realloc(parent->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		parent->v = v;
		parent->cap = cap;
	}
	parent->v[parent->n++] = child;
	return 0;
}

/* The node an event starts, or NULL (and *r) for events that start none. */
static k8s_ynode_t *node_of(const yaml_event_t *ev, size_t depth, k8s_yaml_error_t *e, int *r)
{
	k8s_ynode_t *n;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		*r = set_error(e, ev->start_mark, "YAML aliases are not supported", NULL);
		return NULL;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (depth >= K8S_MAX_YAML_DEPTH) {
			*r = set_error(e, ev->start_mark,
				       "YAML nested deeper than " STR(K8S_MAX_YAML_DEPTH) " levels",
				       NULL);
			return NULL;
		}
		break;
	case YAML_SCALAR_EVENT:
		break;
	default:
		return NULL;
	}

	n = calloc(1, sizeof(*n));
	if (!n) {
		*r = -ENOMEM;
		return NULL;
	}
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->kind = K8S_YSCALAR;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str) {
			*r = -ENOMEM;
			return k8s_yaml_free(n);
		}
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = '\0';
	} else {
		n->kind = ev->type == YAML_MAPPING_START_EVENT ? K8S_YMAP : K8S_YSEQ;
	}
	return n;
}

int k8s_yaml_parse(const char *buf, size_t len, k8s_ynode_t **ret, k8s_yaml_error_t *e)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	k8s_ynode_t *stack[K8S_MAX_YAML_DEPTH];
	k8s_ynode_t *root = NULL;
	size_t depth = 0, nodes = 0;
	int documents = 0, r = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	while (!done) {
		k8s_ynode_t *n;

		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR)
				r = -ENOMEM;
			else
				r = set_error(e, parser.problem_mark,
					      parser.problem ? parser.problem : "syntax error",
					      parser.context);
			goto out;
		}

		if (ev.type == YAML_STREAM_END_EVENT)
			done = true;
		else if (ev.type == YAML_DOCUMENT_START_EVENT && ++documents > 1)
			r = set_error(e, ev.start_mark, "more than one YAML document", NULL);
		else if ((ev.type == YAML_MAPPING_END_EVENT ||
			  ev.type == YAML_SEQUENCE_END_EVENT) && depth > 0)
			depth--; /* attached to its parent when it started */

		n = r == 0 ? node_of(&ev, depth, e, &r) : NULL;
		if (n && ++nodes > K8S_MAX_YAML_NODES) {
			r = set_error(e, ev.start_mark,
				      "more than " STR(K8S_MAX_YAML_NODES) " YAML nodes", NULL);
			k8s_yaml_free(n);
		} else if (n) {
			if (depth == 0) {
				k8s_yaml_free(root); /* only one document gets here */
				root = n;
			} else if (append(stack[depth - 1], n) < 0) {
				r = -ENOMEM;
				k8s_yaml_free(n);
			}
			if (r == 0 && n->kind != K8S_YSCALAR)
				stack[depth++] = n;
		}
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}

	*ret = root;
	root = NULL;
out:
	k8s_yaml_free(root);
	yaml_parser_delete(&parser);
	return r;
}
