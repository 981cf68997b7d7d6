/* --format for listings, as docker takes it: "json" (one object a line),
 * "table TEMPLATE" (a header, then rows) or TEMPLATE, where {{.Name}}
 * stands for a field and \t, \n for a tab and a newline. */
#ifndef SM_CLI_FORMAT_H
#define SM_CLI_FORMAT_H

#include <stddef.h>

typedef struct sm_cli_field {
    const char *name;     /* "ID", as a template writes it after the dot */
    const char *value;
} sm_cli_field;

/* Whether tmpl names only fields among f; else a usage error for cmd
 * (SM_CLI_EXIT_FAILURE), listing the fields there are. */
int sm_cli_format_check(const char *cmd, const char *tmpl, const sm_cli_field *f, size_t n);
/* The header line of a "table" template (nothing for others). */
void sm_cli_format_header(const char *tmpl, const sm_cli_field *f, size_t n);
void sm_cli_format_row(const char *tmpl, const sm_cli_field *f, size_t n);

#endif
