#include "cli/format.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char *body(const char *tmpl)
{
    return strncmp(tmpl, "table", 5) == 0 && (tmpl[5] == ' ' || tmpl[5] == '\0')
               ? tmpl + 5 + (tmpl[5] == ' ') : tmpl;
}

static const sm_cli_field *lookup(const char *name, size_t len, const sm_cli_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(f[i].name) == len && strncmp(f[i].name, name, len) == 0)
            return &f[i];
    return NULL;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Calls out(field or NULL, literal text, its length) for each piece of
 * the template; 0, or -1 at a field not among f (its name in *bad). */
typedef void (*piece_fn)(const sm_cli_field *f, const char *text, size_t len, void *ctx);

static int walk(const char *tmpl, const sm_cli_field *f, size_t n, piece_fn out, void *ctx,
                const char **bad, size_t *badlen)
{
    const char *p = body(tmpl);
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            out(NULL, p, strlen(p), ctx);
            break;
        }
        out(NULL, p, (size_t)(open - p), ctx);
        const char *name = open + 2;
        while (*name == ' ')
            name++;
        const char *close = strstr(name, "}}");
        if (*name != '.' || !close) {
            *bad = open, *badlen = close ? (size_t)(close - open + 2) : strlen(open);
            return -1;
        }
        size_t len = strcspn(name + 1, " }");
        const sm_cli_field *hit = lookup(name + 1, len, f, n);
        if (!hit) {
            *bad = name + 1, *badlen = len;
            return -1;
        }
        out(hit, NULL, 0, ctx);
        p = close + 2;
    }
    return 0;
}

/* Literal text, with the escapes docker's users write in shell quotes. */
static void put_text(const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '\\' && i + 1 < len && (t[i + 1] == 't' || t[i + 1] == 'n')) {
            putchar(t[++i] == 't' ? '\t' : '\n');
            continue;
        }
        putchar(t[i]);
    }
}

static void ignore(const sm_cli_field *f, const char *t, size_t len, void *ctx)
{
    (void)f, (void)t, (void)len, (void)ctx;
}

static void row_piece(const sm_cli_field *f, const char *t, size_t len, void *ctx)
{
    (void)ctx;
    if (f)
        fputs(f->value, stdout);
    else
        put_text(t, len);
}

/* Headers as docker writes them: "ID" stays, "CreatedAt" is CREATED AT. */
static void header_piece(const sm_cli_field *f, const char *t, size_t len, void *ctx)
{
    (void)ctx;
    if (!f) {
        put_text(t, len);
        return;
    }
    for (const char *c = f->name; *c; c++) {
        if (c != f->name && *c >= 'A' && *c <= 'Z' && c[-1] >= 'a' && c[-1] <= 'z')
            putchar(' ');
        putchar(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    }
}

int sm_cli_format_check(const char *cmd, const char *tmpl, const sm_cli_field *f, size_t n)
{
    const char *bad = NULL;
    size_t badlen = 0;
    if (!strcmp(tmpl, "json") || walk(tmpl, f, n, ignore, NULL, &bad, &badlen) == 0)
        return 0;
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s.%s", i ? " " : "",
                                 f[i].name);
    return sm_cli_usage_error(cmd, "--format: no field '%.*s' (there are %s, or 'json')",
                              (int)badlen, bad, names);
}

void sm_cli_format_header(const char *tmpl, const sm_cli_field *f, size_t n)
{
    const char *bad;
    size_t badlen;
    if (body(tmpl) == tmpl)
        return;
    walk(tmpl, f, n, header_piece, NULL, &bad, &badlen);
    putchar('\n');
}

void sm_cli_format_row(const char *tmpl, const sm_cli_field *f, size_t n)
{
    const char *bad;
    size_t badlen;
    if (!strcmp(tmpl, "json")) {
        putchar('{');
        for (size_t i = 0; i < n; i++) {
            printf(i ? "," : "");
            json_string(f[i].name);
            putchar(':');
            json_string(f[i].value);
        }
        puts("}");
        return;
    }
    walk(tmpl, f, n, row_piece, NULL, &bad, &badlen);
    putchar('\n');
}
