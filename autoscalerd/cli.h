/* cli.h - the subcommands of the autoscalerd binary (private to autoscalerd/). */
#ifndef AUTOSCALERD_CLI_H
#define AUTOSCALERD_CLI_H

#include <stdbool.h>

/* Exit statuses: 0 fine, 1 the input is invalid, 2 the command line is wrong. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_INVALID 1
#define CLI_EXIT_USAGE 2

int cmd_check(int argc, char **argv);
int cmd_import_recipe(int argc, char **argv);
int cmd_config_reference(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_promql_check(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_oci_sign(int argc, char **argv);

/* "--name VALUE", "--name=VALUE" or the short form "-x VALUE" at argv[*i]: returns the
 * value and advances *i, or NULL when argv[*i] is not this option; *missing is set when it
 * is there without a value. */
const char *cli_option(int argc, char **argv, int *i, const char *name, const char *shrt,
		       bool *missing);

#endif
