/* sm_vm_copy_in, sm_vm_copy_out and their tar forms: docker cp's rules
 * for SRC and DST, each copy on one agent connection. The walks and
 * writers are copy_*.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/copy.h"
#include "supermachine.h"
#include "util/error.h"

static int open_conn(sm_vm *vm, sm_agent_conn **c)
{
    int fd;
    int err = sm_vm_connect_vsock(vm, SM_AGENT_PORT, &fd);
    if (err)
        return sm_fail_context(err, "the VM's agent is not answering");
    return sm_agent_conn_open(fd, c);
}

/* "dir/." (or "."): the directory's content, not the directory. */
static bool content_of(const char *p)
{
    size_t n = strlen(p);
    return !strcmp(p, ".") || (n >= 2 && !strcmp(p + n - 2, "/."));
}

/* Ends in '/' or "/.": must be a directory. */
static bool dir_form(const char *p)
{
    size_t n = strlen(p);
    return content_of(p) || (n && p[n - 1] == '/');
}

/* p without trailing slashes (but "/" stays): malloc'd. */
static char *trimmed(const char *p)
{
    char *t = strdup(p);
    size_t n = t ? strlen(t) : 0;
    while (n > 1 && t[n - 1] == '/')
        t[--n] = '\0';
    if (!t)
        sm_fail(ENOMEM, "out of memory");
    return t;
}

/* The last name of a trimmed path ("" for "/"). */
static const char *last_name(const char *t)
{
    const char *slash = strrchr(t, '/');
    return slash ? slash + 1 : t;
}

/* The directory a trimmed path is in: malloc'd. */
static char *parent_of(const char *t)
{
    const char *slash = strrchr(t, '/');
    char *p = !slash ? strdup(".") : slash == t ? strdup("/") : strndup(t, (size_t)(slash - t));
    if (!p)
        sm_fail(ENOMEM, "out of memory");
    return p;
}

/* Guest paths are from the root, as docker's container paths are. */
static char *guest_abs(const char *p)
{
    char *t = p[0] == '/' ? strdup(p) : copy_join("/", p);
    if (!t)
        sm_fail(ENOMEM, "out of memory");
    return t;
}

static int open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : sm_fail(errno, "cannot open %.200s: %s", path, strerror(errno));
}

/* The guest's SRC, checked against its form; the target copied out of
 * the connection's buffer into *target. */
static int guest_src(sm_agent_conn *c, const char *src, int flags, sm_agent_stat_reply *st,
                     char **target)
{
    bool follow = (flags & SM_COPY_FOLLOW_LINK) || dir_form(src);
    int err = sm_agent_stat(c, src, !follow, st);
    if (err)
        return err;
    if (dir_form(src) && !S_ISDIR(st->mode))
        return sm_fail(ENOTDIR, "%.200s is not a directory", src);
    bool has = st->target != NULL;
    *target = has ? strdup(st->target) : NULL;
    st->target = *target;
    return has && !*target ? sm_fail(ENOMEM, "out of memory") : 0;
}

static int out_to(sm_agent_conn *c, const char *src, const sm_agent_stat_reply *st,
                  const char *dst)
{
    struct stat hs;
    bool exists = stat(dst, &hs) == 0, is_dir = exists && S_ISDIR(hs.st_mode);
    if (exists && !is_dir && S_ISDIR(st->mode))
        return sm_fail(ENOTDIR, "cannot copy the directory %.200s to the file %.200s", src, dst);
    if (!exists && dir_form(dst) && !S_ISDIR(st->mode))
        return sm_fail(ENOENT, "the directory %.200s does not exist", dst);
    char *t_src = trimmed(src), *t_dst = trimmed(dst);
    char *parent = t_dst ? (is_dir ? strdup(t_dst) : parent_of(t_dst)) : NULL;
    int err = t_src && parent ? 0 : sm_fail(ENOMEM, "out of memory");
    bool content = content_of(src) || !*last_name(t_src ? t_src : "x");
    int fd = err ? -1 : open_dir(parent);
    if (fd < 0)
        err = err ? err : fd;
    else if (is_dir && content)
        err = copy_guest_children(c, src, &copy_host_sink, (void *)(intptr_t)fd);
    else
        err = copy_guest_entry(c, src, st, &copy_host_sink, (void *)(intptr_t)fd,
                               last_name(is_dir ? t_src : t_dst));
    if (fd >= 0)
        close(fd);
    free(t_src);
    free(t_dst);
    free(parent);
    return err;
}

int sm_vm_copy_out(sm_vm *vm, const char *src, const char *dst, int flags)
{
    char *g = guest_abs(src), *target = NULL;
    sm_agent_conn *c = NULL;
    int err = g ? open_conn(vm, &c) : -ENOMEM;
    sm_agent_stat_reply st;
    if (!err && !(err = guest_src(c, g, flags, &st, &target)))
        err = out_to(c, g, &st, dst);
    sm_agent_conn_close(c);
    free(target);
    free(g);
    return err;
}

int sm_vm_copy_out_tar(sm_vm *vm, const char *src, int fd, int flags)
{
    char *g = guest_abs(src), *t = g ? trimmed(g) : NULL, *target = NULL;
    sm_agent_conn *c = NULL;
    int err = t ? open_conn(vm, &c) : -ENOMEM;
    sm_agent_stat_reply st;
    if (!err && !(err = guest_src(c, g, flags, &st, &target))) {
        const char *name = content_of(g) || !*last_name(t) ? "." : last_name(t);
        err = copy_guest_tar(c, g, &st, name, fd);
    }
    sm_agent_conn_close(c);
    free(target);
    free(t);
    free(g);
    return err;
}

/* Whether the guest has path, and as a directory; a missing one is no
 * error here. */
static int guest_kind(sm_agent_conn *c, const char *path, bool *exists, bool *is_dir)
{
    sm_agent_stat_reply st;
    int err = sm_agent_stat(c, path, false, &st);
    *exists = !err;
    *is_dir = !err && S_ISDIR(st.mode);
    return err == -ENOENT ? 0 : err;
}

static int in_to(sm_agent_conn *c, const char *src, const struct stat *hs, const char *dst,
                 int flags)
{
    bool exists, is_dir, archive = flags & SM_COPY_ARCHIVE;
    int err = guest_kind(c, dst, &exists, &is_dir);
    if (err)
        return err;
    if (exists && !is_dir && S_ISDIR(hs->st_mode))
        return sm_fail(ENOTDIR, "cannot copy the directory %.200s to the file %.200s", src, dst);
    if (!exists && dir_form(dst) && !S_ISDIR(hs->st_mode))
        return sm_fail(ENOENT, "the directory %.200s does not exist in the VM", dst);
    if (is_dir && (content_of(src) || !strcmp(src, "/"))) {
        int fd = open_dir(src);
        err = fd < 0 ? fd : copy_host_children(c, fd, dst, archive);
        if (fd >= 0)
            close(fd);
        return err;
    }
    char *t_src = trimmed(src), *t_dst = trimmed(dst);
    char *path = !t_src || !t_dst ? NULL : is_dir ? copy_join(t_dst, last_name(t_src)) : strdup(t_dst);
    bool follow = (flags & SM_COPY_FOLLOW_LINK) || dir_form(src);
    err = path ? copy_host_entry(c, AT_FDCWD, src, path, follow, archive)
               : sm_fail(ENOMEM, "out of memory");
    free(t_src);
    free(t_dst);
    free(path);
    return err;
}

int sm_vm_copy_in(sm_vm *vm, const char *src, const char *dst, int flags)
{
    struct stat hs;
    bool follow = (flags & SM_COPY_FOLLOW_LINK) || dir_form(src);
    if ((follow ? stat : lstat)(src, &hs) < 0)
        return sm_fail(errno, "cannot copy %.200s: %s", src, strerror(errno));
    if (dir_form(src) && !S_ISDIR(hs.st_mode))
        return sm_fail(ENOTDIR, "%.200s is not a directory", src);
    char *g = guest_abs(dst);
    sm_agent_conn *c = NULL;
    int err = g ? open_conn(vm, &c) : -ENOMEM;
    if (!err)
        err = in_to(c, src, &hs, g, flags);
    sm_agent_conn_close(c);
    free(g);
    return err;
}

int sm_vm_copy_in_tar(sm_vm *vm, int fd, const char *dst, int flags)
{
    char *g = guest_abs(dst);
    sm_agent_conn *c = NULL;
    int err = g ? open_conn(vm, &c) : -ENOMEM;
    sm_agent_stat_reply st;
    if (!err && !(err = sm_agent_stat(c, g, false, &st)) && !S_ISDIR(st.mode))
        err = sm_fail(ENOTDIR, "%.200s is not a directory in the VM", g);
    if (!err)
        err = copy_tar_guest(c, fd, g, flags & SM_COPY_ARCHIVE);
    sm_agent_conn_close(c);
    free(g);
    return err;
}
