/* The walk of a guest's tree for a copy out of the VM: a directory is
 * listed, each entry stat'ed without following links and handed to the
 * sink. The guest answers every question, so each answer is checked:
 * names, depth, link targets, and the listings held at once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/copy.h"
#include "util/error.h"

bool copy_name_ok(const char *name, size_t len)
{
    return len > 0 && len <= 255 && strcmp(name, ".") && strcmp(name, "..") &&
           !memchr(name, '/', len);
}

char *copy_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    bool slash = n && dir[n - 1] == '/';
    char *p = malloc(n + strlen(name) + 2);
    if (!p) {
        sm_fail(ENOMEM, "out of memory");
        return NULL;
    }
    strcpy(p, dir);
    if (!slash)
        strcat(p, "/");
    return strcat(p, name);
}

typedef struct walker {
    sm_agent_conn *c;
    const copy_sink *s;
    size_t held;  /* bytes of the listings of the directories being walked */
} walker;

static int children(walker *w, const char *path, void *dir, int depth);

static int walk(walker *w, const char *path, const sm_agent_stat_reply *st, void *parent,
                const char *name, int depth)
{
    const copy_sink *s = w->s;
    if (S_ISREG(st->mode))
        return s->file(s->ctx, parent, name, st, w->c, path);
    if (S_ISLNK(st->mode)) {
        if (!st->target)
            return sm_fail(EPROTO, "the guest gave no target for the link %.200s", path);
        return s->link(s->ctx, parent, name, st, st->target);
    }
    if (!S_ISDIR(st->mode))
        return 0;  /* devices, FIFOs, sockets: not copied */
    void *child;
    int err = s->dir(s->ctx, parent, name, st, &child);
    if (err)
        return err;
    err = children(w, path, child, depth + 1);
    int end = s->dir_end(s->ctx, child, st);
    return err ? err : end;
}

/* One listed name: stat it, then walk it. */
static int entry(walker *w, const char *dir_path, const char *name, void *dir, int depth)
{
    char *path = copy_join(dir_path, name);
    if (!path)
        return -ENOMEM;
    sm_agent_stat_reply st;
    int err = sm_agent_stat(w->c, path, true, &st);
    /* The target lives in the connection's buffer until its next frame. */
    char *target = !err && st.target ? strdup(st.target) : NULL;
    if (!err && st.target && !target)
        err = sm_fail(ENOMEM, "out of memory");
    st.target = target;
    if (!err)
        err = walk(w, path, &st, dir, name, depth);
    free(target);
    free(path);
    return err;
}

static int children(walker *w, const char *path, void *dir, int depth)
{
    if (depth > COPY_MAX_DEPTH)
        return sm_fail(ELOOP, "%.200s: more than %d directories deep", path, COPY_MAX_DEPTH);
    uint8_t *names = NULL;
    size_t len = 0;
    int err = sm_agent_list_dir(w->c, path, COPY_LIST_MAX - w->held, &names, &len);
    if (err == -EFBIG)
        err = sm_fail(EFBIG, "the guest's listings under %.200s are over %u MiB", path,
                      COPY_LIST_MAX >> 20);
    w->held += len;
    for (size_t off = 0; !err && off < len;) {
        const char *name = (const char *)names + off;
        size_t n = strnlen(name, len - off);
        if (n == len - off || !copy_name_ok(name, n)) {
            err = sm_fail(EPROTO, "the guest listed a bad name in %.200s", path);
            break;
        }
        off += n + 1;
        err = entry(w, path, name, dir, depth);
    }
    w->held -= len;
    free(names);
    return err;
}

int copy_guest_entry(sm_agent_conn *c, const char *path, const sm_agent_stat_reply *st,
                     const copy_sink *s, void *parent, const char *name)
{
    walker w = {c, s, 0};
    return walk(&w, path, st, parent, name, 0);
}

int copy_guest_children(sm_agent_conn *c, const char *path, const copy_sink *s, void *dir)
{
    walker w = {c, s, 0};
    return children(&w, path, dir, 1);
}
