#include "oci/user.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define FIELDS_MAX 8

/* Split one line of a colon-separated file in place. */
static int split(char *line, char **f)
{
    int n = 0;
    for (char *p = line; n < FIELDS_MAX; n++) {
        f[n] = p;
        char *colon = strchr(p, ':');
        if (!colon)
            return n + 1;
        *colon = '\0';
        p = colon + 1;
    }
    return n;
}

static bool parse_id(const char *s, uint32_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v > 0x7fffffffUL)
        return false;
    *out = (uint32_t)v;
    return true;
}

typedef bool (*line_fn)(char **f, int n, void *ctx);

/* Call fn on each line of text until it returns true. */
static bool each_line(const char *text, line_fn fn, void *ctx)
{
    if (!text)
        return false;
    char *copy = strdup(text), *save = NULL;
    bool found = false;
    for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l && !found;
         l = strtok_r(NULL, "\n", &save)) {
        char *f[FIELDS_MAX];
        if (*l != '#')
            found = fn(f, split(l, f), ctx);
    }
    free(copy);
    return found;
}

typedef struct passwd_query {
    const char *name;       /* match by name, or else by uid */
    uint32_t uid;
    char found_name[256];
    sm_oci_user *out;
} passwd_query;

static bool passwd_line(char **f, int n, void *ctx)
{
    passwd_query *q = ctx;
    uint32_t uid, gid;
    if (n < 7 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
        return false;
    if (q->name ? strcmp(f[0], q->name) != 0 : uid != q->uid)
        return false;
    q->out->uid = uid;
    q->out->gid = gid;
    snprintf(q->out->home, sizeof q->out->home, "%s", f[5][0] ? f[5] : "/");
    snprintf(q->found_name, sizeof q->found_name, "%s", f[0]);
    return true;
}

typedef struct group_query {
    const char *group;      /* an explicit group: match by name or gid */
    const char *member;     /* else: groups listing this user */
    sm_oci_user *out;
    bool found;
} group_query;

static bool has_member(char *list, const char *name)
{
    char *save = NULL;
    for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (!strcmp(m, name))
            return true;
    return false;
}

static bool group_line(char **f, int n, void *ctx)
{
    group_query *q = ctx;
    uint32_t gid;
    if (n < 4 || !parse_id(f[2], &gid))
        return false;
    if (q->group) {
        uint32_t want;
        if (strcmp(f[0], q->group) && !(parse_id(q->group, &want) && want == gid))
            return false;
        q->out->gid = gid;
        return q->found = true;
    }
    if (q->member[0] && has_member(f[3], q->member) && q->out->group_count < SM_USER_GROUPS_MAX)
        q->out->groups[q->out->group_count++] = gid;
    return false;
}

static int resolve_group(const char *group, const char *text, sm_oci_user *out)
{
    group_query q = {.group = group, .out = out};
    if (each_line(text, group_line, &q))
        return 0;
    if (parse_id(group, &out->gid))
        return 0;
    return sm_fail(ENOENT, "group '%s' of the image's User is not in its /etc/group", group);
}

int sm_oci_user_resolve(const char *user, const char *passwd, const char *group,
                        sm_oci_user *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->home, sizeof out->home, "/");
    char spec[512], *grp = NULL;
    snprintf(spec, sizeof spec, "%s", user && *user ? user : "0");
    if ((grp = strchr(spec, ':')))
        *grp++ = '\0';
    passwd_query q = {.out = out};
    bool numeric = parse_id(spec, &q.uid);
    q.name = numeric ? NULL : spec;
    if (!each_line(passwd, passwd_line, &q)) {
        if (!numeric)
            return sm_fail(ENOENT, "user '%s' of the image's User is not in its /etc/passwd", spec);
        out->uid = q.uid;   /* a bare uid needs no passwd entry; gid stays 0 */
    }
    if (grp && *grp)
        return resolve_group(grp, group, out);
    group_query g = {.member = q.found_name, .out = out};
    each_line(group, group_line, &g);
    return 0;
}
