/* cli.h - the subcommands of the autoscalerd binary (private to autoscalerd/). */
#ifndef AUTOSCALERD_CLI_H
#define AUTOSCALERD_CLI_H

/* Exit statuses: 0 fine, 1 the input is invalid, 2 the command line is wrong. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_INVALID 1
#define CLI_EXIT_USAGE 2

int cmd_check(int argc, char **argv);
int cmd_import_recipe(int argc, char **argv);
int cmd_config_reference(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif
