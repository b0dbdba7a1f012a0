/* main.c - the autoscalerd command line: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "autoscalerd/cli.h"
#include "build-config.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "check", cmd_check, "check --config FILE        validate a policy file, print the "
			      "normalized policies and capacity plan" },
	{ "doctor", cmd_doctor,
	  "doctor --config FILE [--checks all|prometheus|kubernetes]\n"
	  "       [--kubeconfig FILE] [--context NAME]\n"
	  "                             check live what `run` needs: Prometheus and each\n"
	  "                             policy's query, the Kubernetes credentials, RBAC and\n"
	  "                             targets (one ok/FAIL line each)" },
	{ "import-recipe", cmd_import_recipe,
	  "import-recipe RECIPE.json [--namespace NS] [--deployment NAME]\n"
	  "                             Corrino recipe JSON -> policy YAML on stdout" },
	{ "replay", cmd_replay,
	  "replay --config FILE [--policy NAME] [--input TICKS.jsonl]\n"
	  "                             run a policy's engine over JSONL ticks (stdin without\n"
	  "                             --input), one JSONL decision per tick on stdout" },
	{ "config-reference", cmd_config_reference,
	  "config-reference           print the policy file reference (markdown)" },
	{ "oci-sign", cmd_oci_sign,
	  "oci-sign [--oci-config FILE] [--profile NAME] --method METHOD --url URL\n"
	  "       [--body FILE|-] [--content-type TYPE] [--date DATE] [--verbose]\n"
	  "                             print the headers of an OCI request signed with a\n"
	  "                             profile of ~/.oci/config (API key or session token)" },
	{ "promql-check", cmd_promql_check,
	  "promql-check [--] EXPR     check a PromQL expression as Prometheus would parse it\n"
	  "                             (EXPR - reads stdin); exit 1 with its error if invalid" },
};

const char *cli_option(int argc, char **argv, int *i, const char *name, const char *shrt,
		       bool *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (!strncmp(a, name, n) && a[n] == '=')
		return a + n + 1;
	if (strcmp(a, name) && (!shrt || strcmp(a, shrt)))
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

static void usage(FILE *out)
{
	fprintf(out, "usage: autoscalerd COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "  version                    print the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("autoscalerd %s\n", AUTOSCALERD_VERSION);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "autoscalerd: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
