/* Shared by the subcommands of the supermachine command. */
#ifndef SM_CLI_CLI_H
#define SM_CLI_CLI_H

/* docker's convention: 125 when the tool itself failed. */
#define SM_CLI_EXIT_FAILURE 125

/* Print "supermachine: <sm_last_error()>" and return SM_CLI_EXIT_FAILURE. */
int sm_cli_fail(void);
int sm_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int sm_cmd_boot(int argc, char **argv);

#endif
