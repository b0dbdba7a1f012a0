/* tree.c - YAML text -> a small node tree with positions, through libyaml's event API.
 *
 * The tree is all the schema walker needs: scalars (with their quoting), mappings as
 * key/value pairs in input order, sequences. Hostile input is bounded here, before any
 * schema is applied: one document only, no aliases (no "billion laughs"), nesting depth,
 * node count and scalar length limited (config.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/config-private.h"
#include "config/tree.h"

static config_mark_t mark_of(yaml_mark_t m)
{
	config_mark_t r = { (int)m.line + 1, (int)m.column + 1 };

	return r;
}

static int push_child(ynode_t *parent, ynode_t *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		ynode_t **v = realloc(parent->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		parent->v = v;
		parent->cap = cap;
	}
	parent->v[parent->n++] = child;
	return 0;
}

ynode_t *ytree_free(ynode_t *n)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n; i++)
		ytree_free(n->v[i]);
	free(n->v);
	free(n->str);
	free(n);
	return NULL;
}

static ynode_t *node_new(ynode_kind_t kind, yaml_mark_t m)
{
	ynode_t *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->mark = mark_of(m);
	}
	return n;
}

bool ynode_is_null(const ynode_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->kind != YN_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->str, nulls[i]) == 0)
			return true;
	return false;
}

int ytree_parse(const char *buf, size_t len, ynode_t **ret, config_diags_t *d)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	ynode_t *stack[CONFIG_MAX_DEPTH + 1];
	ynode_t *root = NULL;
	size_t depth = 0, nodes = 0;
	int documents = 0, r = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	while (!done) {
		ynode_t *n = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			config_mark_t m = mark_of(parser.problem_mark);

			if (parser.error == YAML_MEMORY_ERROR) {
				r = -ENOMEM;
				goto out;
			}
			if (parser.context)
				config_diag_add(d, CONFIG_ERROR, m, "invalid YAML: %s %s",
						parser.problem ? parser.problem : "syntax error",
						parser.context);
			else
				config_diag_add(d, CONFIG_ERROR, m, "invalid YAML: %s",
						parser.problem ? parser.problem : "syntax error");
			r = -EINVAL;
			goto out;
		}

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1) {
				config_diag_add(d, CONFIG_ERROR, mark_of(ev.start_mark),
						"only one YAML document is allowed in a policy file");
				r = -EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			config_diag_add(d, CONFIG_ERROR, mark_of(ev.start_mark),
					"YAML aliases (*%s) are not supported: write the value out",
					(const char *)ev.data.alias.anchor);
			r = -EINVAL;
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.length > CONFIG_MAX_SCALAR) {
				config_diag_add(d, CONFIG_ERROR, mark_of(ev.start_mark),
						"value longer than %u bytes", CONFIG_MAX_SCALAR);
				r = -EINVAL;
				break;
			}
			n = node_new(YN_SCALAR, ev.start_mark);
			if (!n) {
				r = -ENOMEM;
				break;
			}
			n->str = malloc(ev.data.scalar.length + 1);
			if (!n->str) {
				ytree_free(n);
				n = NULL;
				r = -ENOMEM;
				break;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth >= CONFIG_MAX_DEPTH) {
				config_diag_add(d, CONFIG_ERROR, mark_of(ev.start_mark),
						"nesting deeper than %d levels", CONFIG_MAX_DEPTH);
				r = -EINVAL;
				break;
			}
			n = node_new(ev.type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ,
				     ev.start_mark);
			if (!n)
				r = -ENOMEM;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			/* The container was attached to its parent when it started. */
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}

		if (n && r == 0) {
			if (++nodes > CONFIG_MAX_NODES) {
				config_diag_add(d, CONFIG_ERROR, n->mark,
						"more than %d YAML nodes", CONFIG_MAX_NODES);
				ytree_free(n);
				r = -EINVAL;
			} else if (depth == 0) {
				ytree_free(root);
				root = n;
			} else if (push_child(stack[depth - 1], n) < 0) {
				ytree_free(n);
				r = -ENOMEM;
			}
			if (r == 0 && n->kind != YN_SCALAR)
				stack[depth++] = n;
		} else if (n) {
			ytree_free(n);
		}
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}

	*ret = root;
	root = NULL;
out:
	ytree_free(root);
	yaml_parser_delete(&parser);
	return r;
}
