/* cmd-check.c - `check`, `import-recipe` and `config-reference`: the policy file commands.
 *
 * Diagnostics go to stderr in compiler form (FILE:LINE:COL: error: ...); the normalized
 * policies, capacity plans and imported YAML go to stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscalerd/cli.h"
#include "autoscalerd/queries.h"
#include "config/config.h"

static void print_capacity(const config_policy_t *p, FILE *out)
{
	config_capacity_t c;
	const char *resource = "nvidia.com/gpu";

	config_capacity(p, &c);
	if (p->node_shape)
		config_shape_gpus(p->node_shape, &resource);
	fprintf(out, "  capacity:\n");
	if (c.source == CONFIG_GPUS_UNKNOWN) {
		fprintf(out, "    gpus_per_node: ~  # unknown: set recipe_node_shape or "
			     "gpus_per_node\n");
		fprintf(out, "    gpus_per_replica: %d\n", c.gpus_per_replica);
		fprintf(out, "    max_replicas_effective: %d  # max_replicas, not capped by "
			     "capacity\n", c.max_eff);
		return;
	}
	if (c.source == CONFIG_GPUS_SHAPE)
		fprintf(out, "    gpus_per_node: %d  # %s, %s (shape table)\n", c.gpus_per_node,
			p->node_shape, resource);
	else
		fprintf(out, "    gpus_per_node: %d  # gpus_per_node\n", c.gpus_per_node);
	fprintf(out, "    gpus_per_replica: %d\n", c.gpus_per_replica);
	fprintf(out, "    replicas_per_node: %d\n", c.replicas_per_node);
	if (c.idle_gpus_per_node > 0)
		fprintf(out, "    idle_gpus_per_node: %d\n", c.idle_gpus_per_node);
	fprintf(out, "    nodes_max: %d  # %s\n", c.nodes_max,
		p->engine.nodes ? "max_nodes" : "recipe_node_pool_size, no node autoscaling");
	fprintf(out, "    hostable_replicas: %d\n", c.hostable);
	fprintf(out, "    max_replicas_effective: %d\n", c.max_eff);
}

int cmd_check(int argc, char **argv)
{
	const char *file = NULL;
	config_diags_t diags = { 0 };
	config_t *c = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v = cli_option(argc, argv, &i, "--config", "-c", &missing);

		if (v) {
			file = v;
			continue;
		}
		fprintf(stderr, "autoscalerd check: %s \"%s\"\nusage: autoscalerd check --config FILE\n",
			missing ? "missing value for" : "unexpected argument", argv[i]);
		return CLI_EXIT_USAGE;
	}
	if (!file) {
		fprintf(stderr, "usage: autoscalerd check --config FILE\n");
		return CLI_EXIT_USAGE;
	}

	r = load_policy_file(file, &c, &diags);
	config_diags_print(&diags, file, stderr);
	if (r < 0) {
		if (r == -ENOMEM)
			fprintf(stderr, "%s: out of memory\n", file);
		fprintf(stderr, "%s: invalid: %zu error%s, %zu warning%s\n", file, diags.errors,
			diags.errors == 1 ? "" : "s", diags.warnings, diags.warnings == 1 ? "" : "s");
		config_diags_clear(&diags);
		return CLI_EXIT_INVALID;
	}

	printf("# %s: normalized (\"# default\" marks values the file does not set)\n", file);
	printf("policies:\n");
	for (size_t i = 0; i < c->n_policies; i++) {
		config_print_policy(&c->policies[i], stdout);
		print_capacity(&c->policies[i], stdout);
	}
	printf("# %s: valid: %zu polic%s, %zu warning%s\n", file, c->n_policies,
	       c->n_policies == 1 ? "y" : "ies", diags.warnings, diags.warnings == 1 ? "" : "s");
	config_diags_clear(&diags);
	config_free(c);
	return CLI_EXIT_OK;
}

int cmd_import_recipe(int argc, char **argv)
{
	const char *file = NULL, *ns = NULL, *deployment = NULL;
	config_diags_t diags = { 0 };
	char *json = NULL, *yaml = NULL;
	size_t len;
	int r, status = CLI_EXIT_INVALID;

	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *v;

		if ((v = cli_option(argc, argv, &i, "--namespace", "-n", &missing))) {
			ns = v;
		} else if (!missing && (v = cli_option(argc, argv, &i, "--deployment", NULL, &missing))) {
			deployment = v;
		} else if (!missing && !file && (argv[i][0] != '-' || !strcmp(argv[i], "-"))) {
			file = argv[i];
		} else {
			fprintf(stderr,
				"autoscalerd import-recipe: %s \"%s\"\nusage: autoscalerd "
				"import-recipe RECIPE.json [--namespace NS] [--deployment NAME]\n",
				missing ? "missing value for" : "unexpected argument", argv[i]);
			return CLI_EXIT_USAGE;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: autoscalerd import-recipe RECIPE.json [--namespace NS] "
				"[--deployment NAME]\n");
		return CLI_EXIT_USAGE;
	}
	r = config_read_file(file, CONFIG_MAX_FILE_SIZE, &json, &len);
	if (r < 0) {
		fprintf(stderr, "%s: error: cannot read: %s\n", file,
			r == -EFBIG ? "larger than 4 MiB" : strerror(-r));
		return CLI_EXIT_INVALID;
	}
	r = config_import_recipe(json, len, ns, deployment, &yaml, &diags);
	config_diags_print(&diags, file, stderr);
	if (r == 0) {
		fputs(yaml, stdout);
		status = CLI_EXIT_OK;
	} else if (r == -ENOMEM) {
		fprintf(stderr, "%s: out of memory\n", file);
	}
	config_diags_clear(&diags);
	free(yaml);
	free(json);
	return status;
}

int cmd_config_reference(int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: autoscalerd config-reference\n");
		return CLI_EXIT_USAGE;
	}
	config_print_reference(stdout);
	return CLI_EXIT_OK;
}
