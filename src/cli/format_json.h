/* inspect --format: docker's Go templates over what inspect prints, in
 * the forms people type: {{.Field.Sub}}, {{json .Field}}, {{.}}, and
 * {{index .Map "key"}}; \t and \n as a tab and a newline. */
#ifndef SM_CLI_FORMAT_JSON_H
#define SM_CLI_FORMAT_JSON_H

#include <jansson.h>
#include <stdio.h>

/* Write tmpl applied to v, and a newline, to out. On a template it cannot
 * read or a field v lacks: a sentence in err, nothing written, -1. */
int sm_cli_format_json(const char *tmpl, json_t *v, FILE *out, char *err, size_t errlen);

#endif
