#include "cli/format_json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct render {
    FILE *out;             /* a memory stream: nothing reaches the caller on error */
    char *err;
    size_t errlen;
} render;

static int fail(render *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ".A.B" from v; "." is v itself. Fields are matched as Go matches a
 * struct's (exactly); a map's missing key is null, as Go's <no value>. */
static int lookup(render *r, json_t *v, const char *path, size_t len, json_t **out)
{
    size_t i = 1;
    while (i < len) {
        size_t n = strcspn(path + i, ".");
        if (n > len - i)
            n = len - i;
        json_t *next = json_is_object(v) ? json_object_getn(v, path + i, n) : NULL;
        if (!next)
            return fail(r, "no field '%.*s' in '%.*s'", (int)n, path + i, (int)len, path);
        v = next;
        i += n + 1;
    }
    *out = v;
    return 0;
}

/* As Go's fmt prints them: a string bare, a list as [a b], a map as
 * map[k:v] with its keys sorted, null as <nil>. */
static void put_go(FILE *out, json_t *v)
{
    if (json_is_string(v)) {
        fputs(json_string_value(v), out);
    } else if (json_is_null(v)) {
        fputs("<nil>", out);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        fputc('[', out);
        json_array_foreach(v, i, e) {
            if (i)
                fputc(' ', out);
            put_go(out, e);
        }
        fputc(']', out);
    } else if (json_is_object(v)) {
        char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
        json_t *sorted = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
        free(s);
        const char *k;
        json_t *e;
        int first = 1;
        fputs("map[", out);
        json_object_foreach(sorted ? sorted : v, k, e) {
            fprintf(out, "%s%s:", first ? "" : " ", k);
            put_go(out, e);
            first = 0;
        }
        fputc(']', out);
        json_decref(sorted);
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs(s ? s : "", out);
        free(s);
    }
}

static void put_value(render *r, json_t *v, int as_json)
{
    if (!as_json) {
        put_go(r->out, v);
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    fputs(s ? s : "", r->out);
    free(s);
}

/* {{index .Labels "key"}} */
static int index_action(render *r, json_t *v, const char *a, size_t len)
{
    const char *sp = memchr(a, ' ', len);
    const char *q1 = sp ? memchr(sp, '"', len - (size_t)(sp - a)) : NULL;
    const char *q2 = q1 ? memchr(q1 + 1, '"', len - (size_t)(q1 + 1 - a)) : NULL;
    json_t *m;
    if (!sp || !q1 || !q2 || *a != '.')
        return fail(r, "cannot read '{{index %.*s}}': want {{index .Field \"key\"}}", (int)len, a);
    if (lookup(r, v, a, (size_t)(sp - a), &m))
        return -1;
    json_t *hit = json_is_object(m) ? json_object_getn(m, q1 + 1, (size_t)(q2 - q1 - 1)) : NULL;
    if (hit)
        put_value(r, hit, 0);
    else
        fputs("<no value>", r->out);
    return 0;
}

static int action(render *r, json_t *v, const char *a, size_t len)
{
    while (len && a[len - 1] == ' ')
        len--;
    while (len && *a == ' ')
        a++, len--;
    int as_json = len > 5 && !strncmp(a, "json ", 5);
    if (len > 6 && !strncmp(a, "index ", 6))
        return index_action(r, v, a + 6, len - 6);
    if (as_json)
        a += 5, len -= 5;
    json_t *hit;
    if (!len || *a != '.' || memchr(a, ' ', len))
        return fail(r, "cannot read '{{%.*s}}': this takes {{.Field}}, {{json .Field}} "
                    "and {{index .Field \"key\"}}", (int)len, a);
    if (lookup(r, v, a, len, &hit))
        return -1;
    put_value(r, hit, as_json);
    return 0;
}

static void text(render *r, const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '\\' && i + 1 < len && (t[i + 1] == 't' || t[i + 1] == 'n'))
            fputc(t[++i] == 't' ? '\t' : '\n', r->out);
        else
            fputc(t[i], r->out);
    }
}

static int walk(render *r, const char *p, json_t *v)
{
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open) {
            text(r, p, strlen(p));
            return 0;
        }
        text(r, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        if (!close)
            return fail(r, "'{{' without '}}'");
        if (action(r, v, open + 2, (size_t)(close - open - 2)))
            return -1;
        p = close + 2;
    }
}

int sm_cli_format_json(const char *tmpl, json_t *v, FILE *out, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t size = 0;
    render r = {.out = open_memstream(&buf, &size), .err = err, .errlen = errlen};
    if (!r.out)
        return snprintf(err, errlen, "out of memory"), -1;
    int rc = walk(&r, tmpl, v);
    fclose(r.out);
    if (rc == 0)
        fprintf(out, "%s\n", buf);
    free(buf);
    return rc;
}
