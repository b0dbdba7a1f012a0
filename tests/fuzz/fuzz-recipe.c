/* fuzz-recipe.c - libFuzzer target for the Corrino recipe import (config_import_recipe).
 *
 * The input is handed over as it comes (not NUL-terminated, any bytes) so an over-read shows
 * up under ASan. Besides "no crash, no leak, no hang" the target holds the import to its
 * contract and to what its output promises the policy parser:
 *   - 0 means YAML and no error; failure means no YAML (*ret untouched) and, for -EINVAL,
 *     at least one error; -ENOMEM never happens (the JSON scanner accepts nothing cJSON
 *     refuses, and a fuzzer's inputs cannot exhaust memory);
 *   - the YAML always parses as YAML and names only keys of the schema, once each: loading
 *     it may fail on values (min_replicas 0, an unknown metric_type: the parser's job), but
 *     never with a syntax, structure or unknown-key error;
 *   - when it loads, the strings came through exactly: name, shape, query, selector, URL.
 * A recipe without deployment_name is imported a second time with --deployment.
 * A broken invariant aborts, which libFuzzer reports as a crash with the input saved.
 *
 * Run with scripts/fuzz.sh (`make fuzz`); seeds in corpus/recipe/, dictionary recipe.dict.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "tests/fuzz/fuzz-common.h"


/* Messages of the YAML layer and of the key walk: none may answer the import's output. */
static const char *const structural[] = {
	"invalid YAML", "YAML document", "YAML aliases", "YAML nodes", "value longer than",
	"nesting deeper than", "NUL character", "unknown key", "duplicate key",
	"expected a key name", "expected a mapping, found", "expected a policy",
	"expected a list of at least one policy",
};

/* Whether a diagnostic is one of those. Values are quoted in the parser's messages and
 * may hold any text, so only the part before the first '"' counts. */
static bool structural_error(const config_diag_t *e)
{
	size_t n = strcspn(e->msg, "\"");

	if (e->severity != CONFIG_ERROR)
		return false;
	for (size_t k = 0; k < sizeof(structural) / sizeof(structural[0]); k++) {
		const char *at = strstr(e->msg, structural[k]);

		if (at && (size_t)(at - e->msg) < n)
			return true;
	}
	return false;
}

/* The string at obj.key, or NULL. */
static const char *str_at(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A pod parameter as the import reads it: the pod block's, else a misplaced one. */
static const char *pod_str(const cJSON *root, const char *key)
{
	const char *s = str_at(cJSON_GetObjectItemCaseSensitive(root, "recipe_pod_autoscaling_params"),
			       key);

	return s ? s : str_at(cJSON_GetObjectItemCaseSensitive(root, "recipe_node_autoscaling_params"),
			      key);
}

static void check_loaded(const uint8_t *data, size_t size, const char *deployment,
			 const config_t *cfg)
{
	const config_policy_t *p = &cfg->policies[0];
	const char *want, *url;
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);

	REQUIRE(root != NULL);
	REQUIRE(cfg->n_policies == 1);
	want = deployment ? deployment : str_at(root, "deployment_name");
	REQUIRE(want && strcmp(p->name, want) == 0 && strcmp(p->deployment, want) == 0);
	REQUIRE(strcmp(p->namespace_, "default") == 0);
	want = str_at(root, "recipe_node_shape");
	REQUIRE(want ? p->node_shape && strcmp(p->node_shape, want) == 0 : !p->node_shape);
	want = pod_str(root, "query");
	REQUIRE(want ? p->query && strcmp(p->query, want) == 0 : !p->query);
	want = pod_str(root, "metric_selector");
	REQUIRE(want ? p->metric_selector && strcmp(p->metric_selector, want) == 0 :
		       !p->metric_selector);
	url = pod_str(root, "server_address");
	if (!url)
		url = str_at(root, "server_address");
	if (url) {
		const char *sep = strstr(url, "://"), *got = cfg->prometheus.url;

		/* As given, but with the scheme in lower case, or "http://" added. */
		REQUIRE(got != NULL);
		if (sep)
			REQUIRE(strncasecmp(got, url, (size_t)(sep - url)) == 0 &&
				strcmp(got + (sep - url), sep) == 0);
		else
			REQUIRE(strncmp(got, "http://", 7) == 0 && strcmp(got + 7, url) == 0);
	}
	cJSON_Delete(root);
}

static bool import_one(const uint8_t *data, size_t size, const char *deployment)
{
	char *const untouched = (char *)&sink;
	char *yaml = untouched;
	config_diags_t diags = { 0 }, ld = { 0 };
	config_t *cfg = NULL;
	bool retry = false;
	int r;

	r = config_import_recipe((const char *)data, size, NULL, deployment, &yaml, &diags);
	REQUIRE(r != -ENOMEM);
	REQUIRE(diags.n <= CONFIG_MAX_DIAGS);
	REQUIRE(diags.n + diags.dropped == diags.errors + diags.warnings);
	for (size_t i = 0; i < diags.n; i++) {
		REQUIRE(diags.v[i].msg != NULL);
		REQUIRE((diags.v[i].mark.line == 0) == (diags.v[i].mark.col == 0));
		REQUIRE(diags.v[i].mark.line >= 0 && diags.v[i].mark.col >= 0);
		REQUIRE((size_t)diags.v[i].mark.line <= size + 1);
		if (strstr(diags.v[i].msg, "recipe has no deployment_name"))
			retry = true;
	}
	config_diags_print(&diags, "fuzz.json", sink);

	if (r != 0) {
		REQUIRE(r == -EINVAL || r == -EFBIG);
		REQUIRE(yaml == untouched);
		REQUIRE(diags.errors > 0);
		config_diags_clear(&diags);
		return retry;
	}

	REQUIRE(yaml != untouched && yaml != NULL);
	REQUIRE(diags.errors == 0);
	REQUIRE(strlen(yaml) <= CONFIG_MAX_FILE_SIZE);
	r = config_load_buffer(yaml, strlen(yaml), &cfg, &ld);
	for (size_t i = 0; i < ld.n; i++)
		if (structural_error(&ld.v[i])) {
			fprintf(stderr, "import output refused: %s\n%s", ld.v[i].msg, yaml);
			abort();
		}
	if (r == 0)
		check_loaded(data, size, deployment, cfg);
	else
		REQUIRE(r == -EINVAL && ld.errors > 0);

	config_free(cfg);
	config_diags_clear(&ld);
	config_diags_clear(&diags);
	free(yaml);
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (import_one(data, size, NULL))
		import_one(data, size, "fuzzed");
	return 0;
}
