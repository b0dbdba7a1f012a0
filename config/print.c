/* print.c - the normalized policy (`check`) and the key reference (docs), both read off the
 * schema tables of config.c so neither can drift from what the parser accepts.
 */
#include <inttypes.h>
#include <string.h>

#include "config/config-private.h"

static int depth_of(const char *key)
{
	int d = 0;

	for (; *key; key++)
		d += *key == '.';
	return d;
}

static const char *last_part(const char *key)
{
	const char *dot = strrchr(key, '.');

	return dot ? dot + 1 : key;
}

static void format_rules(const engine_rules_t *r, char *buf, size_t size)
{
	static const char *const sel[] = { "max", "min", "disabled" };
	size_t o = (size_t)snprintf(buf, size, "{select: %s, policies: [", sel[r->select]);

	for (int i = 0; i < r->n && o < size; i++) {
		char period[32];

		config_format_duration(r->p[i].period, period, sizeof(period));
		o += (size_t)snprintf(buf + o, size - o, "%s{type: %s, value: %d, period: %s}",
				      i ? ", " : "",
				      r->p[i].type == ENGINE_RATE_PODS ? "pods" : "percent",
				      r->p[i].value, period);
	}
	if (o < size)
		snprintf(buf + o, size - o, "]}");
}

/* The value of a scalar row as the file would spell it; false when it has none. */
static bool format_value(const config_row_t *row, const void *base, char *buf, size_t size)
{
	const char *src = (const char *)base + row->off;

	switch (row->type) {
	case CONFIG_V_INT: {
		int32_t v;

		memcpy(&v, src, sizeof(v));
		snprintf(buf, size, "%" PRId32, v);
		return true;
	}
	case CONFIG_V_DOUBLE: {
		double v;

		memcpy(&v, src, sizeof(v));
		config_format_double(v, buf, size);
		return true;
	}
	case CONFIG_V_DURATION: {
		engine_ms_t v;

		memcpy(&v, src, sizeof(v));
		config_format_duration(v, buf, size);
		return true;
	}
	case CONFIG_V_BOOL: {
		bool v;

		memcpy(&v, src, sizeof(v));
		snprintf(buf, size, "%s", v ? "true" : "false");
		return true;
	}
	case CONFIG_V_ENUM: {
		int v;

		memcpy(&v, src, sizeof(v));
		snprintf(buf, size, "%s", row->names[v]);
		return true;
	}
	case CONFIG_V_STRING: {
		const char *s = *(char *const *)src;

		if (!s)
			return false;
		/* Quoted, so a query with ": " or "#" reads back as one string. */
		snprintf(buf, size, "'");
		for (size_t o = 1; *s && o + 3 < size; s++) {
			if (*s == '\'')
				buf[o++] = '\'';
			buf[o++] = *s;
			buf[o] = '\0';
		}
		strncat(buf, "'", size - strlen(buf) - 1);
		return true;
	}
	default:
		return false;
	}
}

void config_print_policy(const config_policy_t *p, FILE *out)
{
	const config_scope_t *sc = &config_policy_scope;
	const char *skip = NULL; /* a block left out, with all below it */

	fprintf(out, "- name: %s\n", p->name);
	for (size_t i = 0; i < sc->n; i++) {
		const config_row_t *row = &sc->rows[i];
		bool set = p->meta->mark[i].line > 0;
		int indent = 2 + 2 * depth_of(row->key);
		char val[20000];
		const char *note = set ? "" : "  # default";

		if (skip && !strncmp(row->key, skip, strlen(skip)) && row->key[strlen(skip)] == '.')
			continue;
		skip = NULL;
		if (!strcmp(row->key, "name"))
			continue;
		switch (row->type) {
		case CONFIG_V_BLOCK:
			/* fallback and node autoscaling are off unless their block is there. */
			if (!set && (!strcmp(row->key, "recipe_node_autoscaling_params") ||
				     !strcmp(last_part(row->key), "fallback"))) {
				fprintf(out, "%*s%s: ~  # default: off\n", indent, "", last_part(row->key));
				skip = row->key;
				continue;
			}
			if (!set && !strcmp(last_part(row->key), "behavior")) {
				fprintf(out, "%*s%s:  # default: one pod per scaling_period_*\n", indent,
					"", last_part(row->key));
				continue;
			}
			fprintf(out, "%*s%s:\n", indent, "", last_part(row->key));
			continue;
		case CONFIG_V_RATES: {
			bool up = strstr(row->key, "scale_up") != NULL;
			int block = config_parent_row(sc, row->key); /* behavior.scale_* */
			bool block_set = block >= 0 && p->meta->mark[block].line > 0;

			format_rules(up ? &p->engine.up : &p->engine.down, val, sizeof(val));
			fprintf(out, "%*s%s: %s%s\n", indent, "", "effective", val,
				block_set ? "" : "  # default");
			continue;
		}
		case CONFIG_V_ENUM:
			/* select is shown inside the effective rules. */
			if (strstr(row->key, ".select"))
				continue;
			break;
		default:
			break;
		}
		if (!format_value(row, p, val, sizeof(val))) {
			fprintf(out, "%*s%s: ~  # default: %s\n", indent, "", last_part(row->key),
				row->defnote ? row->defnote : "not set");
			continue;
		}
		if (!set && row->defnote)
			fprintf(out, "%*s%s: %s  # default: %s\n", indent, "", last_part(row->key),
				val, row->defnote);
		else
			fprintf(out, "%*s%s: %s%s\n", indent, "", last_part(row->key), val, note);
	}
}

static const char *type_name(const config_row_t *row, char *buf, size_t size)
{
	size_t o = 0;

	switch (row->type) {
	case CONFIG_V_BLOCK:
		return "mapping";
	case CONFIG_V_INT:
		return "integer";
	case CONFIG_V_DOUBLE:
		return "number";
	case CONFIG_V_DURATION:
		return "duration";
	case CONFIG_V_BOOL:
		return "boolean";
	case CONFIG_V_STRING:
		return "string";
	case CONFIG_V_HEADERS:
		return "map of strings";
	case CONFIG_V_RATES:
		return "list of rate policies";
	case CONFIG_V_POLICIES:
		return "list of policies";
	case CONFIG_V_ENUM:
		for (int i = 0; row->names[i] && o < size; i++)
			o += (size_t)snprintf(buf + o, size - o, "%s`%s`", i ? " \\| " : "",
					      row->names[i]);
		return buf;
	}
	return "?";
}

static void print_scope(const config_scope_t *sc, const char *prefix, FILE *out)
{
	fprintf(out, "| key | type | range | default | meaning |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < sc->n; i++) {
		const config_row_t *row = &sc->rows[i];
		char type[256], lo[32] = "", hi[32] = "", range[80] = "";

		if (row->type == CONFIG_V_INT) {
			snprintf(lo, sizeof(lo), "%.0f", row->min);
			snprintf(hi, sizeof(hi), "%.0f", row->max);
		} else if (row->type == CONFIG_V_DOUBLE) {
			config_format_double(row->min, lo, sizeof(lo));
			config_format_double(row->max, hi, sizeof(hi));
		} else if (row->type == CONFIG_V_DURATION) {
			config_format_duration((engine_ms_t)row->min, lo, sizeof(lo));
			config_format_duration((engine_ms_t)row->max, hi, sizeof(hi));
		}
		if (lo[0])
			snprintf(range, sizeof(range), "%s .. %s", lo, hi);
		fprintf(out, "| `%s%s` | %s | %s | %s%s%s | %s |\n", prefix, row->key,
			type_name(row, type, sizeof(type)), range,
			row->def ? "`" : "",
			row->def ? row->def :
			row->defnote ? row->defnote :
			(row->flags & CONFIG_F_REQUIRED) ? "**required**" : "",
			row->def ? "`" : "", row->doc ? row->doc : "");
	}
}

void config_print_reference(FILE *out)
{
	fprintf(out,
		"# Policy file reference\n\n"
		"Generated by `autoscalerd config-reference` from the table the parser uses; do "
		"not edit by hand.\n\n"
		"Durations are integer seconds (`90`) or Prometheus-style units in descending "
		"order (`90s`, `5m`, `1h30m`, `500ms`). Unknown keys are errors. A key marked "
		"required is required when its block is present.\n\n"
		"## Top level\n\n");
	print_scope(&config_global_scope, "", out);
	fprintf(out, "\n## One policy (an item of `policies`)\n\n");
	print_scope(&config_policy_scope, "", out);
	fprintf(out, "\n## One rate policy (an item of `behavior.scale_up.policies` or "
		     "`behavior.scale_down.policies`)\n\n");
	print_scope(&config_rate_scope, "", out);
	fprintf(out, "\n## Node shapes\n\nGPUs per node come from the shape table (DESIGN.md "
		     "section 6) unless `gpus_per_node` is set; see `autoscalerd check`.\n");
}
