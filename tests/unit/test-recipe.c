/* test-recipe.c - Check suite for the Corrino recipe import (config_import_recipe).
 *
 * Every import that succeeds is also loaded with config_load_buffer: the YAML it writes
 * is only right if the policy parser reads back the values the recipe had. The examples
 * in config/examples/recipes/ (found through AUTOSCALERD_SRCDIR) must all import and load
 * cleanly; the rest are tables of small recipes, good and bad.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-private.h"
#include "config/config.h"
#include "tests/fakes/check-util.h"

#define POD "recipe_pod_autoscaling_params"
#define NODE "recipe_node_autoscaling_params"

/* ---- helpers ------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *example_path(const char *name)
{
	const char *src = getenv("AUTOSCALERD_SRCDIR");
	char *path;

	ck_assert_msg(src != NULL, "AUTOSCALERD_SRCDIR is not set");
	ck_assert_int_ge(asprintf(&path, "%s/config/examples/recipes/%s", src, name), 0);
	return path;
}

static char *read_example(const char *name, size_t *len)
{
	char *path = example_path(name);
	char *buf = read_file(path, len);

	free(path);
	return buf;
}

static void dump(const char *what, const config_diags_t *d, const char *yaml)
{
	fprintf(stderr, "--- %s\n", what);
	config_diags_print(d, what, stderr);
	if (yaml)
		fprintf(stderr, "%s", yaml);
}

/* The diagnostic whose message holds every fragment, or NULL. */
static const config_diag_t *find_diag(const config_diags_t *d, config_severity_t sev,
				      const char *frag1, const char *frag2)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == sev && strstr(d->v[i].msg, frag1) &&
		    (!frag2 || strstr(d->v[i].msg, frag2)))
			return &d->v[i];
	return NULL;
}

/* Import json (must succeed) and load the YAML (must load with no error). The import's
 * diagnostics are left in *di for the caller; the caller frees the config. */
static config_t *import_load_n(const char *json, size_t len, const char *ns, const char *dep,
			       config_diags_t *di, char **ret_yaml)
{
	config_diags_t dl = { 0 };
	config_t *cfg = NULL;
	char *yaml = NULL;
	int r;

	r = config_import_recipe(json, len, ns, dep, &yaml, di);
	if (r != 0 || di->errors)
		dump("import", di, NULL);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(di->errors, 0);
	ck_assert_ptr_nonnull(yaml);
	ck_assert_msg(strncmp(yaml, "# imported from a Corrino recipe by autoscalerd import-recipe\n",
			      62) == 0,
		      "no source comment: %.80s", yaml);

	r = config_load_buffer(yaml, strlen(yaml), &cfg, &dl);
	if (r != 0 || dl.errors)
		dump("load", &dl, yaml);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(dl.errors, 0);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(cfg->n_policies, 1);
	config_diags_clear(&dl);
	if (ret_yaml)
		*ret_yaml = yaml;
	else
		free(yaml);
	return cfg;
}

static config_t *import_load(const char *json, const char *ns, const char *dep,
			     config_diags_t *di)
{
	return import_load_n(json, strlen(json), ns, dep, di, NULL);
}

/* Import json, which must fail with -EINVAL and no YAML. */
static void import_fail(const char *json, size_t len, const char *ns, const char *dep,
			config_diags_t *d)
{
	char *const untouched = (char *)"untouched";
	char *yaml = untouched;
	int r;

	r = config_import_recipe(json, len, ns, dep, &yaml, d);
	if (r != -EINVAL)
		dump("import", d, r == 0 ? yaml : NULL);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_eq(yaml, untouched);
	ck_assert_uint_ge(d->errors, 1);
}

/* A JSON string literal holding exactly s. */
static char *json_string(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n * 6 + 3), *p = out;

	ck_assert_ptr_nonnull(out);
	*p++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*p++ = '\\';
			*p++ = (char)*c;
		} else if (*c < 0x20) {
			p += sprintf(p, "\\u%04x", *c);
		} else {
			*p++ = (char)*c;
		}
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

/* ---- the bundled examples ----------------------------------------------------------- */

START_TEST(test_every_example_imports)
{
	const char *src = getenv("AUTOSCALERD_SRCDIR");
	char *dir_path = example_path("");
	DIR *dir;
	struct dirent *e;
	int seen = 0;

	ck_assert_ptr_nonnull(src);
	dir = opendir(dir_path);
	ck_assert_msg(dir != NULL, "cannot open %s", dir_path);
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name), len;
		config_diags_t di = { 0 };
		config_t *cfg;
		char *json;

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		json = read_example(e->d_name, &len);
		cfg = import_load_n(json, len, NULL, NULL, &di, NULL);
		ck_assert_ptr_nonnull(cfg->policies[0].name);
		config_free(cfg);
		config_diags_clear(&di);
		free(json);
		seen++;
	}
	closedir(dir);
	free(dir_path);
	/* The guide's eight examples and the blueprint schema's. */
	ck_assert_int_ge(seen, 9);
}
END_TEST

static const struct example {
	const char *file;
	const char *name;
	int min_replicas, max_replicas, gpus_per_replica, replica_count;
	bool nodes;
	int max_nodes;
	const char *shape;
	int gpus_per_node;
	double threshold;
	bool query;
	const char *prometheus_url;
	int warnings;
} examples[] = {
	{ "pod-min.json", "vllm-pod-min", 1, 4, 1, 1, false, 0, "BM.GPU.A10.4", 4, 0.5, false,
	  NULL, 0 },
	{ "pod-node-min.json", "vllm-pod-node-min", 1, 4, 1, 1, true, 2, "VM.GPU.A10.2", 2, 0.5,
	  false, NULL, 0 },
	{ "pod-h100-2gpu.json", "vllm-h100-2gpu", 1, 4, 2, 1, false, 0, "BM.GPU.H100.8", 8, 0.5,
	  false, NULL, 0 },
	{ "pod-a10-1gpu.json", "vllm-a10-1gpu", 1, 2, 1, 1, false, 0, "VM.GPU.A10.2", 2, 0.5,
	  false, NULL, 0 },
	{ "pod-node-h100.json", "vllm-h100-nodes", 1, 8, 2, 1, true, 2, "BM.GPU.H100.8", 8, 0.5,
	  false, NULL, 0 },
	{ "pod-node-a10.json", "vllm-a10-nodes", 1, 8, 1, 1, true, 4, "VM.GPU.A10.2", 2, 0.5,
	  false, NULL, 0 },
	{ "pod-node-a10-fast-misplaced.json", "vllm-a10-fast", 1, 8, 1, 1, true, 4,
	  "VM.GPU.A10.2", 2, 0.4, false, NULL, 8 },
	{ "example-recipe.json", "autoscalevllmexample", 1, 4, 1, 1, true, 2, "VM.GPU.A10.2", 2,
	  0.02, true, NULL, 0 },
	{ "schema-example.json", "vllmautowithfss", 4, 8, 1, 4, false, 0, "BM.GPU.H100.8", 8, 0.6,
	  true, "http://prometheus-server.cluster-tools.svc.cluster.local", 1 },
};

START_TEST(test_example_values)
{
	const struct example *x = &examples[_i];
	config_diags_t di = { 0 };
	const config_policy_t *p;
	config_t *cfg;
	size_t len;
	char *json = read_example(x->file, &len);

	cfg = import_load_n(json, len, NULL, NULL, &di, NULL);
	p = &cfg->policies[0];
	ck_assert_str_eq(p->name, x->name);
	ck_assert_str_eq(p->deployment, x->name);
	ck_assert_str_eq(p->namespace_, "default");
	ck_assert_int_eq(p->engine.max_replicas, x->max_replicas);
	ck_assert_int_eq(p->engine.min_replicas, x->min_replicas);
	ck_assert_int_eq(p->engine.gpus_per_replica, x->gpus_per_replica);
	ck_assert_int_eq(p->replica_count, x->replica_count);
	ck_assert_int_eq(p->engine.pool_size, 1);
	ck_assert(p->engine.nodes == x->nodes);
	if (x->nodes)
		ck_assert_int_eq(p->engine.max_nodes, x->max_nodes);
	ck_assert_str_eq(p->node_shape, x->shape);
	ck_assert_int_eq(p->engine.gpus_per_node, x->gpus_per_node);
	ck_assert(p->engine.threshold == x->threshold);
	ck_assert(x->query == (p->query != NULL));
	if (x->prometheus_url)
		ck_assert_str_eq(cfg->prometheus.url, x->prometheus_url);
	ck_assert_uint_eq(di.warnings, (size_t)x->warnings);
	config_free(cfg);
	config_diags_clear(&di);
	free(json);
}
END_TEST

START_TEST(test_misplaced_example)
{
	static const char *const moved[] = {
		"collect_metrics_timespan", "scaling_threshold", "scaling_cooldown",
		"polling_interval", "stabilization_window_down", "scaling_period_down",
		"stabilization_window_up", "scaling_period_up",
	};
	config_diags_t di = { 0 };
	const config_policy_t *p;
	config_t *cfg;
	size_t len;
	char *json = read_example("pod-node-a10-fast-misplaced.json", &len);

	cfg = import_load_n(json, len, NULL, NULL, &di, NULL);
	/* Exactly one warning per misplaced key, each at its key, naming where it went. */
	ck_assert_uint_eq(di.warnings, 8);
	ck_assert_uint_eq(di.n, 8);
	for (size_t i = 0; i < 8; i++) {
		char from[128], to[128];
		const config_diag_t *w;

		snprintf(from, sizeof(from), NODE ".%s:", moved[i]);
		snprintf(to, sizeof(to), "imported as " POD ".%s", moved[i]);
		w = find_diag(&di, CONFIG_WARNING, from, to);
		ck_assert_msg(w != NULL, "no warning for %s", moved[i]);
		/* The file has them on lines 10 to 17, indented by four spaces. */
		ck_assert_int_eq(w->mark.line, 10 + (int)i);
		ck_assert_int_eq(w->mark.col, 5);
	}

	p = &cfg->policies[0];
	ck_assert_int_eq(p->engine.min_replicas, 1);
	ck_assert_int_eq(p->engine.max_replicas, 8);
	ck_assert(p->engine.nodes);
	ck_assert_int_eq(p->engine.min_nodes, 1);
	ck_assert_int_eq(p->engine.max_nodes, 4);
	ck_assert(p->engine.threshold == 0.4);
	ck_assert_int_eq(p->window, 120000);
	ck_assert_int_eq(p->engine.cooldown, 30000);
	ck_assert_int_eq(p->polling_interval, 10000);
	ck_assert_int_eq(p->engine.window_down, 60000);
	ck_assert_int_eq(p->engine.window_up, 30000);
	/* scaling_period_*: one pod per period (DESIGN section 4). */
	ck_assert_int_eq(p->engine.up.n, 1);
	ck_assert_int_eq(p->engine.up.p[0].period, 15000);
	ck_assert_int_eq(p->engine.down.n, 1);
	ck_assert_int_eq(p->engine.down.p[0].period, 30000);
	ck_assert_int_eq(p->engine.gpus_per_replica, 1);
	ck_assert_int_eq(p->engine.gpus_per_node, 2);
	ck_assert_str_eq(p->node_shape, "VM.GPU.A10.2");
	ck_assert_int_eq(p->replica_count, 1);
	config_free(cfg);
	config_diags_clear(&di);
	free(json);
}
END_TEST

START_TEST(test_misplaced_and_set_in_pod_block)
{
	const char *json = "{\"deployment_name\": \"d\", \"recipe_node_shape\": \"VM.GPU.A10.2\",\n"
			   " \"" NODE "\": {\"max_nodes\": 2, \"scaling_threshold\": 0.9,\n"
			   "   \"polling_interval\": \"30s\"},\n"
			   " \"" POD "\": {\"max_replicas\": 4, \"scaling_threshold\": 0.3}}";
	config_diags_t di = { 0 };
	const config_diag_t *w;
	config_t *cfg = import_load(json, NULL, NULL, &di);

	ck_assert_uint_eq(di.warnings, 2);
	w = find_diag(&di, CONFIG_WARNING, NODE ".scaling_threshold:", "ignored");
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(strstr(w->msg, POD ".scaling_threshold is set too"));
	ck_assert_int_eq(w->mark.line, 2);
	ck_assert_int_eq(w->mark.col, 53);
	ck_assert_ptr_nonnull(find_diag(&di, CONFIG_WARNING, NODE ".polling_interval:",
					"imported as " POD ".polling_interval"));
	/* The pod block's value wins. */
	ck_assert(cfg->policies[0].engine.threshold == 0.3);
	ck_assert_int_eq(cfg->policies[0].polling_interval, 30000);
	config_free(cfg);
	config_diags_clear(&di);
}
END_TEST

/* ---- bad JSON: exact positions --------------------------------------------------------- */

static const struct bad_json {
	const char *json;
	size_t len; /* 0: strlen */
	int line, col;
	const char *frag;
} bad_json[] = {
	{ "{\n  \"a\": 1,\n  x}", 0, 3, 3, "invalid JSON: unexpected character 'x'" },
	{ "{\"a\": 1", 0, 1, 8, "invalid JSON: unexpected end of input" },
	{ "", 0, 1, 1, "invalid JSON: unexpected end of input" },
	{ "   \n\n  ", 0, 3, 3, "invalid JSON: unexpected end of input" },
	{ "{\"a\": 1,}", 0, 1, 9, "unexpected character '}'" },
	{ "{\"a\" 1}", 0, 1, 6, "unexpected character '1' (expected ':'" },
	{ "{\"a\": [1, 2}", 0, 1, 12, "unexpected character '}' (expected ',' or ']')" },
	{ "{\"a\": 01}", 0, 1, 8, "unexpected character '1'" },
	{ "{\"a\": 1.}", 0, 1, 9, "unexpected character '}' (expected a digit" },
	{ "{\"a\": -}", 0, 1, 8, "unexpected character '}' (expected a digit" },
	{ "{\"a\": four}", 0, 1, 7, "unexpected word 'four'" },
	{ "{\"a\": tru}", 0, 1, 7, "unexpected word 'tru'" },
	{ "{\"a\": 'x'}", 0, 1, 7, "unexpected character '''" },
	{ "{\"a\": \"abc", 0, 1, 7, "unterminated string" },
	{ "{\"a\": \"ab\nc\"}", 0, 1, 10, "control character U+000A in a string" },
	{ "{\"a\": \"\\q\"}", 0, 1, 8, "invalid escape '\\q'" },
	{ "{\"a\": \"\\u12\"}", 0, 1, 8, "invalid \\u escape" },
	{ "{\"a\": \"\\u0000\"}", 0, 1, 8, "\\u0000 (NUL) in a string is not supported" },
	{ "{\"a\": \"\\ud800x\"}", 0, 1, 8, "unpaired UTF-16 surrogate \\uD800" },
	{ "{\"a\": \"\\udc00\"}", 0, 1, 8, "unpaired UTF-16 surrogate \\uDC00" },
	{ "{\"a\": \"\xc3\"}", 0, 1, 8, "invalid UTF-8 byte 0xc3 in a string" },
	{ "{\"a\": \"\xed\xa0\x80\"}", 0, 1, 8, "invalid UTF-8 byte 0xed" },
	{ "{\"\xc3\xa9\xc3\xa9\": x}", 0, 1, 8, "unexpected word 'x'" },
	{ "\xef\xbb\xbf{\"a\": x}", 0, 1, 7, "unexpected word 'x'" },
	{ "{\"a\": 1} {}", 0, 1, 10, "unexpected character '{' (expected the end of input" },
	{ "{\"a\": 1}\0", 9, 1, 9, "unexpected character U+0000" },
	{ "{\"a\": 1\r\n,\r\n\t\"b\" ::}", 0, 3, 7, "unexpected character ':' (expected a value)" },
	{ "{\"a\": 100000000000000000000000000000000000000000000000000000000000000000}", 0, 1,
	  7, "number longer than 63 characters" },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", 0, 1, 25,
	  "nesting deeper than 24 levels" },
	{ "{\"a\": \"\x01\"}", 0, 1, 8, "control character U+0001 in a string" },
};

START_TEST(test_bad_json)
{
	const struct bad_json *x = &bad_json[_i];
	config_diags_t d = { 0 };

	import_fail(x->json, x->len ? x->len : strlen(x->json), NULL, "d", &d);
	/* One error, at the exact place. */
	if (d.n != 1 || !strstr(d.v[0].msg, x->frag) || d.v[0].mark.line != x->line ||
	    d.v[0].mark.col != x->col)
		dump(x->json, &d, NULL);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, x->frag));
	ck_assert_int_eq(d.v[0].mark.line, x->line);
	ck_assert_int_eq(d.v[0].mark.col, x->col);
	config_diags_clear(&d);
}
END_TEST

/* ---- valid JSON, wrong recipe ------------------------------------------------------ */

static const struct bad_recipe {
	const char *json;
	const char *deployment;
	int line, col; /* 0: no position */
	const char *frag1, *frag2;
} bad_recipes[] = {
	{ "[1, 2]", "d", 1, 1, "a recipe is a JSON object, found an array", NULL },
	{ "\"x\"", "d", 1, 1, "a recipe is a JSON object, found string \"x\"", NULL },
	{ "\xef\xbb\xbf" "9", "d", 1, 1, "a recipe is a JSON object, found number 9", NULL },
	{ "\xef\xbb\xbf\n  null", "d", 2, 3, "a recipe is a JSON object, found null", NULL },
	{ "{\"deployment_name\": \"d\",\n \"" POD "\": {\"max_replicas\": \"four\"}}", NULL, 2,
	  52, POD ".max_replicas: expected an integer, found string \"four\"", NULL },
	{ "{\"" POD "\": {\"max_replicas\": 2.5}}", "d", 1, 52,
	  POD ".max_replicas: expected an integer, found number 2.5", NULL },
	{ "{\"" POD "\": {\"max_replicas\": 4294967296}}", "d", 1, 52,
	  POD ".max_replicas: expected an integer between", "found number 4294967296" },
	{ "{\"" POD "\": {\"max_replicas\": 1e999}}", "d", 1, 52,
	  POD ".max_replicas: expected an integer", "out of range" },
	{ "{\"" POD "\": {\"min_replicas\": null}}", "d", 1, 52,
	  POD ".min_replicas: expected an integer, found null", NULL },
	{ "{\"" POD "\": {\"scaling_threshold\": \"0.5\"}}", "d", 1, 57,
	  POD ".scaling_threshold: expected a number, found string \"0.5\"", NULL },
	{ "{\"" POD "\": {\"query\": 42}}", "d", 1, 45,
	  POD ".query: expected a string, found number 42", NULL },
	{ "{\"" POD "\": {\"scaling_cooldown\": 1.5}}", "d", 1, 56,
	  POD ".scaling_cooldown: expected a duration", "found number 1.5" },
	{ "{\"" POD "\": {\"polling_interval\": \"soon\"}}", "d", 1, 56,
	  POD ".polling_interval: expected a duration", "found string \"soon\"" },
	{ "{\"" POD "\": {\"polling_interval\": -5}}", "d", 1, 56,
	  POD ".polling_interval: expected a duration", "found number -5" },
	{ "{\"" POD "\": {\"fallback\": {\"replicas\": true}}}", "d", 1, 61,
	  POD ".fallback.replicas: expected an integer, found boolean true", NULL },
	{ "{\"" POD "\": {\"behavior\": {\"scale_up\": {\"policies\": [{\"type\": \"pods\", "
	  "\"value\": 1, \"period\": 15, \"speed\": 2}]}}}}",
	  "d", 1, 118, POD ".behavior.scale_up.policies[0].speed: unknown key", NULL },
	{ "{\"" POD "\": {\"behavior\": {\"scale_up\": {\"policies\": {}}}}}", "d", 1, 74,
	  POD ".behavior.scale_up.policies: expected an array, found an object", NULL },
	{ "{\"" POD "\": [1]}", "d", 1, 35, POD ": expected an object, found an array", NULL },
	{ "{\"" POD "\": {}, \"" NODE "\": 4}", "d", 1, 73,
	  NODE ": expected an object, found number 4", NULL },
	{ "{\"" POD "\": {\"max_replica\": 4}}", "d", 1, 36,
	  POD ".max_replica: unknown key (not a pod autoscaling parameter)", NULL },
	{ "{\"" POD "\": {\"max nodes!\": 4}}", "d", 1, 36,
	  POD ": unknown key \"max nodes!\"", NULL },
	{ "{\"" POD "\": {}, \"" NODE "\": {\"max_nodes\": 2, \"node_count\": 3}}", "d", 1, 90,
	  NODE ".node_count: unknown key (not a node autoscaling parameter)", NULL },
	{ "{\"" POD "\": {}, \"" NODE "\": {\"max_nodes\": \"2\"}}", "d", 1, 87,
	  NODE ".max_nodes: expected an integer, found string \"2\"", NULL },
	{ "{\"" POD "\": {\"max_replicas\": 1, \"max_replicas\": 2}}", "d", 1, 55,
	  POD ".max_replicas: duplicate key", NULL },
	{ "{\"deployment_name\": \"a\", \"deployment_name\": \"b\", \"" POD "\": {}}", NULL, 1,
	  26, "deployment_name: duplicate key", NULL },
	{ "{\"deployment_name\": 7, \"" POD "\": {}}", NULL, 1, 21,
	  "deployment_name: expected a string, found number 7", NULL },
	{ "{\"deployment_name\": \"\", \"" POD "\": {}}", NULL, 1, 2,
	  "deployment_name: empty; pass --deployment NAME", NULL },
	{ "{\"recipe_nvidia_gpu_count\": \"2\", \"" POD "\": {}}", "d", 1, 29,
	  "recipe_nvidia_gpu_count: expected an integer, found string \"2\"", NULL },
	{ "{\"recipe_node_shape\": [\"VM.GPU.A10.2\"], \"" POD "\": {}}", "d", 1, 23,
	  "recipe_node_shape: expected a string, found an array", NULL },
	{ "{\"recipe_pod_autoscaling_params\": {}}", NULL, 0, 0,
	  "recipe has no deployment_name; pass --deployment NAME", NULL },
	{ "{\"deployment_name\": \"d\", \"" NODE "\": {\"max_nodes\": 2}}", NULL, 0, 0,
	  "recipe has no " POD ": nothing to autoscale", NULL },
	{ "{\"scaler_type\": \"cpu\", \"" POD "\": {}}", "d", 1, 2,
	  "scaler_type: expected \"prometheus\" (the only scaler autoscalerd speaks), found \"cpu\"",
	  NULL },
	{ "{\"" POD "\": {\"scaler_type\": \"Prometheus\"}}", "d", 1, 36,
	  POD ".scaler_type: expected \"prometheus\"", "found \"Prometheus\"" },
	{ "{\"scaler_type\": 1, \"" POD "\": {}}", "d", 1, 17,
	  "scaler_type: expected a string, found number 1", NULL },
	{ "{\"server_address\": \"ftp://prom\", \"" POD "\": {}}", "d", 1, 2,
	  "server_address: expected an http:// or https:// URL, found \"ftp://prom\"", NULL },
	{ "{\"server_address\": \"\", \"" POD "\": {}}", "d", 1, 2, "server_address: empty URL",
	  NULL },
};

START_TEST(test_bad_recipe)
{
	const struct bad_recipe *x = &bad_recipes[_i];
	config_diags_t d = { 0 };
	const config_diag_t *e;

	import_fail(x->json, strlen(x->json), NULL, x->deployment, &d);
	e = find_diag(&d, CONFIG_ERROR, x->frag1, x->frag2);
	if (!e || e->mark.line != x->line || e->mark.col != x->col || d.errors != 1)
		dump(x->json, &d, NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_int_eq(e->mark.line, x->line);
	ck_assert_int_eq(e->mark.col, x->col);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_errors_are_all_reported)
{
	const char *json = "{\"deployment_name\": 1, \"" POD "\": {\"max_replicas\": \"x\",\n"
			   "\"bogus\": 1, \"query\": false}, \"" NODE "\": {\"min_nodes\": []}}";
	config_diags_t d = { 0 };

	import_fail(json, strlen(json), NULL, NULL, &d);
	ck_assert_uint_eq(d.errors, 5);
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, "deployment_name: expected a string", NULL));
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, POD ".max_replicas:", NULL));
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, POD ".bogus: unknown key", NULL));
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, POD ".query: expected a string", NULL));
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, NODE ".min_nodes: expected an integer",
					"found an array"));
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_limits)
{
	size_t len = CONFIG_MAX_FILE_SIZE + 1;
	char *big = malloc(len);
	char *yaml = NULL;
	config_diags_t d = { 0 };
	char *json;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', len);
	ck_assert_int_eq(config_import_recipe(big, len, NULL, "d", &yaml, &d), -EFBIG);
	ck_assert_ptr_null(yaml);
	ck_assert_uint_eq(d.errors, 1);
	config_diags_clear(&d);
	free(big);

	/* A string the policy parser would refuse is refused here, at its position. */
	big = malloc(CONFIG_MAX_SCALAR + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', CONFIG_MAX_SCALAR);
	big[CONFIG_MAX_SCALAR] = '\0';
	ck_assert_int_ge(asprintf(&json, "{\"" POD "\": {\"query\": \"%s\"}}", big), 0);
	import_fail(json, strlen(json), NULL, "d", &d);
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, POD ".query: string longer than", NULL));
	ck_assert_int_eq(d.v[0].mark.col, 45);
	config_diags_clear(&d);
	free(json);
	free(big);

	/* A tree bounded like the YAML one: CONFIG_MAX_NODES values. */
	big = malloc(2 * CONFIG_MAX_NODES + 16);
	ck_assert_ptr_nonnull(big);
	big[0] = '[';
	for (size_t i = 0; i < CONFIG_MAX_NODES; i++) {
		big[1 + 2 * i] = '0';
		big[2 + 2 * i] = ',';
	}
	strcpy(big + 2 * CONFIG_MAX_NODES, "]");
	import_fail(big, strlen(big), NULL, "d", &d);
	{
		char text[64];

		snprintf(text, sizeof(text), "more than %d JSON values", CONFIG_MAX_NODES);
		ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, text, NULL));
	}
	ck_assert_int_eq(d.v[0].mark.col, 2 * CONFIG_MAX_NODES);
	config_diags_clear(&d);
	/* The array and CONFIG_MAX_NODES - 1 zeros: just allowed. */
	big[2 * CONFIG_MAX_NODES - 2] = ']';
	big[2 * CONFIG_MAX_NODES - 1] = '\0';
	import_fail(big, strlen(big), NULL, "d", &d);
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, "a recipe is a JSON object, found an array",
					NULL));
	config_diags_clear(&d);
	free(big);

	/* Excerpts of values in messages stay short, escapes included. */
	json = "{\"" POD "\": {\"query\": \"\\u0001\\u0001\\u0001\\u0001\\u0001\\u0001"
	       "\\u0001\\u0001\\u0001\\u0001\\u0001\\u0001\"}}";
	import_fail(json, strlen(json), NULL, NULL, &d);
	ck_assert_ptr_null(find_diag(&d, CONFIG_ERROR, "\\x01", NULL));
	config_diags_clear(&d);
	json = "{\"" POD "\": {\"max_replicas\": \"\\u0001\\u0001\\u0001\\u0001\\u0001"
	       "\\u0001\\u0001\\u0001\\u0001\\u0001\\u0001\\u0001\"}}";
	import_fail(json, strlen(json), NULL, "d", &d);
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR,
					"found string \"\\x01\\x01\\x01\\x01\\x01\\x01\\x01"
					"\\x01\\x01\\x01...\"", NULL));
	config_diags_clear(&d);

	/* Bad arguments. */
	import_fail("{\"" POD "\": {}}", strlen("{\"" POD "\": {}}"), "a\nb", "d", &d);
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, "--namespace: not a valid name", NULL));
	config_diags_clear(&d);
	import_fail("{\"" POD "\": {}}", strlen("{\"" POD "\": {}}"), NULL, "\xff", &d);
	ck_assert_ptr_nonnull(find_diag(&d, CONFIG_ERROR, "--deployment: not a valid name", NULL));
	config_diags_clear(&d);
}
END_TEST

/* ---- mapping --------------------------------------------------------------------------- */

START_TEST(test_overrides)
{
	const char *json = "{\"deployment_name\": \"from-recipe\", \"" POD "\": {\"max_replicas\": 3}}";
	config_diags_t di = { 0 };
	config_t *cfg;

	cfg = import_load(json, NULL, NULL, &di);
	ck_assert_str_eq(cfg->policies[0].name, "from-recipe");
	ck_assert_str_eq(cfg->policies[0].deployment, "from-recipe");
	ck_assert_str_eq(cfg->policies[0].namespace_, "default");
	config_free(cfg);
	config_diags_clear(&di);

	cfg = import_load(json, "team-a", "llama-8b", &di);
	ck_assert_str_eq(cfg->policies[0].name, "llama-8b");
	ck_assert_str_eq(cfg->policies[0].deployment, "llama-8b");
	ck_assert_str_eq(cfg->policies[0].namespace_, "team-a");
	ck_assert_int_eq(cfg->policies[0].engine.max_replicas, 3);
	config_free(cfg);
	config_diags_clear(&di);

	/* No deployment_name in the recipe: the argument is enough. */
	cfg = import_load("{\"" POD "\": {\"max_replicas\": 3}}", NULL, "given", &di);
	ck_assert_str_eq(cfg->policies[0].name, "given");
	ck_assert_str_eq(cfg->policies[0].deployment, "given");
	config_free(cfg);
	config_diags_clear(&di);
}
END_TEST

/* Strings that must come through JSON and YAML exactly. */
static const char *const queries[] = {
	"1 - (sum(rate(vllm:e2e_request_latency_seconds_bucket{le='5.0', "
	"instance='recipe-x.default:80'}[5m])) / sum(rate(vllm:e2e_request_latency_seconds_bucket"
	"{le='+Inf', instance='recipe-x.default:80'}[5m])))",
	"sum(rate(x{a=\"b\",c=~\"d\\\\.e\"}[{{window}}]))",
	"a \"quoted\" \\ back\\slash \\\\ two \\n not a newline",
	"multi\nline\r\nquery\twith tabs",
	"# not a comment: - [ ] { } & * ! | > ' % @ ` ,",
	"  leading and trailing spaces  ",
	"\"",
	"\\",
	"null",
	"true",
	"0.5",
	"~",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	"ctl \x01\x02\x1b\x7f end",
	"C1 \xc2\x80 \xc2\x85 \xc2\x9f, NBSP \xc2\xa0",
	"LS \xe2\x80\xa8 PS \xe2\x80\xa9 BOM \xef\xbb\xbf nonchar \xef\xbf\xbe \xef\xbf\xbf",
	"{{namespace}}/{{deployment}} {{latency_slo}} {{selector}}",
};

START_TEST(test_query_round_trip)
{
	const char *q = queries[_i];
	config_diags_t di = { 0 };
	char *js = json_string(q), *json, *yaml = NULL;
	config_t *cfg;

	ck_assert_int_ge(asprintf(&json,
				  "{\"deployment_name\": \"d\", \"" POD "\": {\"max_replicas\": 2, "
				  "\"query\": %s, \"metric_selector\": %s}}",
				  js, strstr(q, "{{") ? "\"a=\\\"b\\\"\"" : js),
			 0);
	cfg = import_load_n(json, strlen(json), NULL, NULL, &di, &yaml);
	ck_assert_str_eq(cfg->policies[0].query, q);
	/* metric_selector allows fewer placeholders: the same text only without any. */
	if (!strstr(q, "{{"))
		ck_assert_str_eq(cfg->policies[0].metric_selector, q);
	/* The YAML itself stays printable ASCII-or-UTF-8 text with escapes. */
	ck_assert_ptr_null(strchr(yaml, '\t'));
	ck_assert_ptr_null(strchr(yaml, '\r'));
	config_free(cfg);
	config_diags_clear(&di);
	free(yaml);
	free(json);
	free(js);
}
END_TEST

START_TEST(test_durations_and_numbers)
{
	const char *json =
		"{\"deployment_name\": \"d\", \"" POD "\": {\"max_replicas\": 4,"
		" \"collect_metrics_timespan\": 90, \"scaling_cooldown\": \"1h30m\","
		" \"polling_interval\": \"20\", \"stabilization_window_up\": 0,"
		" \"stabilization_window_down\": \"500ms\", \"scaling_period_down\": 1.0e2,"
		" \"scaling_threshold\": 0.30000000000000004, \"latency_slo_seconds\": 2,"
		" \"tolerance\": 0.05, \"tolerance_up\": 1e-3, \"tolerance_down\": 0,"
		" \"metric_type\": \"average_value\", \"on_empty_result\": \"zero\","
		" \"on_nan\": \"hold\", \"series_aggregation\": \"max\","
		" \"fallback\": {\"failure_threshold\": 3, \"replicas\": 2},"
		" \"behavior\": {\"scale_up\": {\"select\": \"min\", \"policies\": ["
		"{\"type\": \"pods\", \"value\": 4, \"period\": 15},"
		" {\"type\": \"percent\", \"value\": 100, \"period\": \"1m\"}]},"
		" \"scale_down\": {\"select\": \"disabled\", \"policies\": []}}},"
		" \"" NODE "\": {\"node_pool_id\": \"ocid1.nodepool.oc1.iad.aaaa\", \"min_nodes\": 0,"
		" \"max_nodes\": 3, \"scale_down_unneeded_time\": \"5m\","
		" \"scale_down_delay_after_add\": 60, \"max_node_provision_time\": \"20m\"},"
		" \"recipe_node_shape\": \"BM.GPU.MI300X.8\", \"recipe_amd_gpu_count\": 4}";
	config_diags_t di = { 0 };
	config_t *cfg = import_load(json, NULL, NULL, &di);
	const config_policy_t *p = &cfg->policies[0];
	const engine_policy_t *e = &p->engine;

	ck_assert_uint_eq(di.n, 0);
	ck_assert_int_eq(p->window, 90000);
	ck_assert_int_eq(e->cooldown, 5400000);
	ck_assert_int_eq(p->polling_interval, 20000);
	ck_assert_int_eq(e->window_up, 0);
	ck_assert_int_eq(e->window_down, 500);
	ck_assert(e->threshold == 0.30000000000000004);
	ck_assert(p->latency_slo == 2.0);
	ck_assert(e->tol_up == 1e-3);
	ck_assert(e->tol_down == 0.0);
	ck_assert_int_eq(e->metric_type, ENGINE_METRIC_AVERAGE_VALUE);
	ck_assert_int_eq(e->on_empty, ENGINE_EMPTY_ZERO);
	ck_assert_int_eq(e->on_nan, ENGINE_NAN_HOLD);
	ck_assert_int_eq(p->series_aggregation, CONFIG_AGG_MAX);
	ck_assert(e->fallback);
	ck_assert_int_eq(e->fallback_failures, 3);
	ck_assert_int_eq(e->fallback_replicas, 2);
	ck_assert_int_eq(e->up.select, ENGINE_SELECT_MIN);
	ck_assert_int_eq(e->up.n, 2);
	ck_assert_int_eq(e->up.p[0].type, ENGINE_RATE_PODS);
	ck_assert_int_eq(e->up.p[0].value, 4);
	ck_assert_int_eq(e->up.p[0].period, 15000);
	ck_assert_int_eq(e->up.p[1].type, ENGINE_RATE_PERCENT);
	ck_assert_int_eq(e->up.p[1].value, 100);
	ck_assert_int_eq(e->up.p[1].period, 60000);
	ck_assert_int_eq(e->down.select, ENGINE_SELECT_DISABLED);
	ck_assert(e->nodes);
	ck_assert_str_eq(p->node_pool_id, "ocid1.nodepool.oc1.iad.aaaa");
	ck_assert_int_eq(e->min_nodes, 0);
	ck_assert_int_eq(e->max_nodes, 3);
	ck_assert_int_eq(e->node_unneeded_time, 300000);
	ck_assert_int_eq(e->node_delay_after_add, 60000);
	ck_assert_int_eq(e->node_provision_time, 1200000);
	/* recipe_amd_gpu_count stands for GPUs per replica on an AMD shape. */
	ck_assert_int_eq(e->gpus_per_replica, 4);
	ck_assert_int_eq(e->gpus_per_node, 8);
	config_free(cfg);
	config_diags_clear(&di);
}
END_TEST

START_TEST(test_prometheus_keys)
{
	config_diags_t di = { 0 }, dl = { 0 };
	const config_diag_t *w;
	char *yaml = NULL;
	config_t *cfg;
	const char *json;

	/* Top level, no scheme: http:// is added, with a warning at the key. */
	json = "{\"deployment_name\": \"d\", \"scaler_type\": \"prometheus\",\n"
	       "  \"server_address\": \"prometheus.cluster-tools:9090\",\n"
	       "  \"" POD "\": {\"max_replicas\": 2}}";
	cfg = import_load(json, NULL, NULL, &di);
	ck_assert_str_eq(cfg->prometheus.url, "http://prometheus.cluster-tools:9090");
	ck_assert_uint_eq(di.warnings, 1);
	w = find_diag(&di, CONFIG_WARNING, "server_address: no scheme", "http://");
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(w->mark.line, 2);
	ck_assert_int_eq(w->mark.col, 3);
	config_free(cfg);
	config_diags_clear(&di);

	/* In the pod block (the blueprint schema's place), https kept as it is. */
	json = "{\"deployment_name\": \"d\", \"" POD "\": {\"max_replicas\": 2,"
	       " \"scaler_type\": \"prometheus\","
	       " \"server_address\": \"https://prom.example:443/sub\"}}";
	cfg = import_load(json, NULL, NULL, &di);
	ck_assert_str_eq(cfg->prometheus.url, "https://prom.example:443/sub");
	ck_assert_uint_eq(di.n, 0);
	config_free(cfg);
	config_diags_clear(&di);

	/* The scheme is written in lower case, as the policy file wants it. */
	json = "{\"deployment_name\": \"d\", \"server_address\": \"HTTPS://Prom:9090\","
	       " \"" POD "\": {\"max_replicas\": 2}}";
	cfg = import_load(json, NULL, NULL, &di);
	ck_assert_str_eq(cfg->prometheus.url, "https://Prom:9090");
	ck_assert_uint_eq(di.n, 0);
	config_free(cfg);
	config_diags_clear(&di);

	/* Diagnostics come in input order, whichever check found them. */
	json = "{\"deployment_name\": \"d\", \"recipe_node_shape\": \"VM.GPU.A10.2\",\n"
	       "\"server_address\": \"prom\",\n"
	       "\"" NODE "\": {\"max_nodes\": 1, \"on_nan\": \"zero\"},\n"
	       "\"scaling_metric\": \"m\",\n"
	       "\"" POD "\": {\"max_replicas\": 2}}";
	cfg = import_load(json, NULL, NULL, &di);
	ck_assert_uint_eq(di.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(di.v[i].mark.line, 2 + i);
	config_free(cfg);
	config_diags_clear(&di);

	/* Both: the block's wins. */
	json = "{\"deployment_name\": \"d\", \"server_address\": \"http://top\", \"" POD "\": "
	       "{\"max_replicas\": 2, \"server_address\": \"http://block\"}}";
	cfg = import_load(json, NULL, NULL, &di);
	ck_assert_str_eq(cfg->prometheus.url, "http://block");
	ck_assert_ptr_nonnull(find_diag(&di, CONFIG_WARNING, "server_address: also set as " POD
					".server_address", NULL));
	config_free(cfg);
	config_diags_clear(&di);

	/* scaling_metric: a comment and a warning, nothing else. */
	json = "{\"deployment_name\": \"d\", \"" POD "\": {\"max_replicas\": 2,"
	       " \"scaling_metric\": \"a\\\"b\\nc\"}}";
	cfg = import_load_n(json, strlen(json), NULL, NULL, &di, &yaml);
	ck_assert_uint_eq(di.warnings, 1);
	ck_assert_ptr_nonnull(find_diag(&di, CONFIG_WARNING, POD ".scaling_metric: not used", NULL));
	ck_assert_ptr_nonnull(strstr(yaml, "# scaling_metric: \"a\\\"b\\nc\""));
	ck_assert_ptr_null(cfg->policies[0].query);
	config_free(cfg);
	config_diags_clear(&di);
	free(yaml);

	/* Alone in the block: the comment, then an empty mapping the parser can read. */
	json = "{\"deployment_name\": \"d\", \"" POD "\": {\"scaling_metric\": \"m\"}}";
	yaml = NULL;
	ck_assert_int_eq(config_import_recipe(json, strlen(json), NULL, NULL, &yaml, &di), 0);
	ck_assert_ptr_nonnull(strstr(yaml, "    " POD ":\n      # scaling_metric: \"m\""));
	cfg = NULL;
	ck_assert_int_eq(config_load_buffer(yaml, strlen(yaml), &cfg, &dl), -EINVAL);
	ck_assert_uint_eq(dl.errors, 1);
	ck_assert_ptr_nonnull(find_diag(&dl, CONFIG_ERROR, "missing key \"max_replicas\"", NULL));
	config_diags_clear(&dl);
	config_diags_clear(&di);
	free(yaml);
}
END_TEST

START_TEST(test_ignored_keys)
{
	/* Everything that is not autoscaling is the deployment's business. */
	const char *json =
		"{\"recipe_id\": \"llm_inference_nvidia\", \"recipe_mode\": \"service\","
		" \"deployment_name\": \"d\", \"recipe_image_uri\": 7, \"recipe_container_port\": \"8000\","
		" \"input_object_storage\": [{\"par\": \"x\"}], \"recipe_container_command_args\": [\"--model\"],"
		" \"recipe_startup_probe_params\": {\"port\": 8000}, \"whatever\": null,"
		" \"whatever\": {\"deep\": [[[{}]]]}, \"" POD "\": {\"max_replicas\": 2}}";
	config_diags_t di = { 0 };
	config_t *cfg = import_load(json, NULL, NULL, &di);

	ck_assert_uint_eq(di.n, 0);
	ck_assert_int_eq(cfg->policies[0].engine.max_replicas, 2);
	config_free(cfg);
	config_diags_clear(&di);
}
END_TEST

/* Every key the policy schema knows in the two blocks imports (recipe.c derives the keys
 * and their JSON types from config.c's table; this catches a row it cannot follow). */
START_TEST(test_schema_keys_import)
{
	const config_scope_t *sc = &config_policy_scope;
	int tried = 0;

	for (size_t i = 0; i < sc->n; i++) {
		const config_row_t *row = &sc->rows[i];
		const char *blocks[] = { POD ".", NODE "." };
		char json[1024], value[128], rest[256];
		config_diags_t d = { 0 };
		char *yaml = NULL;
		size_t b, used, closers = 0;
		int r;

		for (b = 0; b < 2; b++)
			if (!strncmp(row->key, blocks[b], strlen(blocks[b])))
				break;
		if (b == 2)
			continue;
		switch (row->type) {
		case CONFIG_V_INT:
			snprintf(value, sizeof(value), "1");
			break;
		case CONFIG_V_DOUBLE:
			snprintf(value, sizeof(value), "0.5");
			break;
		case CONFIG_V_DURATION:
			snprintf(value, sizeof(value), "\"1m\"");
			break;
		case CONFIG_V_ENUM:
			snprintf(value, sizeof(value), "\"%s\"", row->names[0]);
			break;
		case CONFIG_V_STRING:
			snprintf(value, sizeof(value), "\"x\"");
			break;
		case CONFIG_V_BLOCK:
			snprintf(value, sizeof(value), "{}");
			break;
		case CONFIG_V_RATES:
			snprintf(value, sizeof(value), "[]");
			break;
		default:
			ck_abort_msg("%s: no JSON for this type", row->key);
		}
		/* "a.b.c" -> {"a": {"b": {"c": value}}} inside the block. */
		used = (size_t)snprintf(json, sizeof(json), "{\"%.*s\": {",
					(int)strlen(blocks[b]) - 1, blocks[b]);
		snprintf(rest, sizeof(rest), "%s", row->key + strlen(blocks[b]));
		for (char *tok = strtok(rest, "."), *next; tok; tok = next) {
			next = strtok(NULL, ".");
			used += (size_t)snprintf(json + used, sizeof(json) - used, "\"%s\": %s", tok,
						 next ? "{" : value);
			closers += next ? 1 : 0;
		}
		while (closers--)
			used += (size_t)snprintf(json + used, sizeof(json) - used, "}");
		snprintf(json + used, sizeof(json) - used, "}%s}",
			 b == 1 ? ", \"" POD "\": {}" : "");

		r = config_import_recipe(json, strlen(json), NULL, "d", &yaml, &d);
		if (r != 0)
			dump(json, &d, NULL);
		ck_assert_int_eq(r, 0);
		ck_assert_ptr_null(find_diag(&d, CONFIG_ERROR, "unknown key", NULL));
		free(yaml);
		config_diags_clear(&d);
		tried++;
	}
	/* DESIGN section 3 lists 20 pod and 6 node keys, plus fallback's and behavior's. */
	ck_assert_int_ge(tried, 26);
}
END_TEST

START_TEST(test_byte_order_mark)
{
	/* A UTF-8 byte order mark is skipped, and columns on line 1 do not count it. */
	const char *json = "\xef\xbb\xbf{\"" POD "\": {\"max_replicas\": 1}}";
	config_diags_t d = { 0 };
	config_t *cfg = import_load(json, NULL, "d", &d);

	ck_assert_int_eq(cfg->policies[0].engine.max_replicas, 1);
	config_free(cfg);
	config_diags_clear(&d);

	json = "\xef\xbb\xbf{\"" POD "\": {\"max_replicas\": true}}";
	import_fail(json, strlen(json), NULL, "d", &d);
	ck_assert_int_eq(d.v[0].mark.line, 1);
	ck_assert_int_eq(d.v[0].mark.col, 52);
	config_diags_clear(&d);
}
END_TEST

START_TEST(test_yaml_shape)
{
	/* Only the keys the recipe had, plus name and target; defaults come from the parser. */
	const char *json = "{\"deployment_name\": \"d\", \"" POD "\": {\"max_replicas\": 2}}";
	config_diags_t di = { 0 };
	char *yaml = NULL;

	ck_assert_int_eq(config_import_recipe(json, strlen(json), NULL, NULL, &yaml, &di), 0);
	ck_assert_str_eq(yaml, "# imported from a Corrino recipe by autoscalerd import-recipe\n"
			       "policies:\n"
			       "  - name: \"d\"\n"
			       "    target:\n"
			       "      namespace: \"default\"\n"
			       "      deployment: \"d\"\n"
			       "    " POD ":\n"
			       "      max_replicas: 2\n");
	free(yaml);
	config_diags_clear(&di);
}
END_TEST

static Suite *recipe_suite(void)
{
	Suite *s = suite_create("recipe");
	TCase *tc;

	tc = tcase_create("examples");
	tcase_add_test(tc, test_every_example_imports);
	tcase_add_loop_test(tc, test_example_values, 0, sizeof(examples) / sizeof(examples[0]));
	tcase_add_test(tc, test_misplaced_example);
	tcase_add_test(tc, test_misplaced_and_set_in_pod_block);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_bad_json, 0, sizeof(bad_json) / sizeof(bad_json[0]));
	tcase_add_loop_test(tc, test_bad_recipe, 0, sizeof(bad_recipes) / sizeof(bad_recipes[0]));
	tcase_add_test(tc, test_errors_are_all_reported);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("mapping");
	tcase_add_test(tc, test_overrides);
	tcase_add_loop_test(tc, test_query_round_trip, 0, sizeof(queries) / sizeof(queries[0]));
	tcase_add_test(tc, test_durations_and_numbers);
	tcase_add_test(tc, test_prometheus_keys);
	tcase_add_test(tc, test_ignored_keys);
	tcase_add_test(tc, test_byte_order_mark);
	tcase_add_test(tc, test_schema_keys_import);
	tcase_add_test(tc, test_yaml_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(recipe_suite(), CK_NORMAL);
}
