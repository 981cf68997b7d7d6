/* The jail of a worker run as root (jail.h). Built in a private mount
 * namespace, so nothing here is ever seen by the host: a tmpfs over the
 * VM's directory, each allowed path bound into it from a descriptor
 * opened in the new namespace before anything was mounted (the tmpfs
 * hides what lies under it), then pivot_root into the tmpfs and the old
 * root detached. */
#include "worker/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"

#define OLD_ROOT "/.old-root"
/* Mount points only: a few directories and empty files per path. */
#define TMPFS_OPTS "mode=0755,size=256k,nr_inodes=4096"

typedef struct entry {
    char abs[PATH_MAX];
    int fd;                 /* O_PATH to the host's file */
    bool dir;
    sm_ll_access access;
} entry;

typedef struct jail {
    entry *e;
    unsigned n;
    char cwd[PATH_MAX];
    char root[PATH_MAX];    /* mount_at */
    char *why;
    size_t why_len;
} jail;

static int say_why(jail *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, j->why_len, fmt, ap);
    va_end(ap);
    return 0;
}

static unsigned depth(const char *p)
{
    unsigned d = 0;
    for (; *p; p++)
        d += *p == '/';
    return d;
}

/* Shallower paths first: a path inside another is bound after it, on
 * top, instead of being hidden by it. */
static int by_depth(const void *a, const void *b)
{
    unsigned da = depth(((const entry *)a)->abs), db = depth(((const entry *)b)->abs);
    return da < db ? -1 : da > db;
}

static int open_sources(jail *j, const sm_ll_path *paths, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        entry *e = &j->e[j->n];
        const char *p = paths[i].path;
        int len = p[0] == '/' ? snprintf(e->abs, sizeof e->abs, "%s", p)
                              : snprintf(e->abs, sizeof e->abs, "%s/%s", j->cwd, p);
        if (len < 0 || (size_t)len >= sizeof e->abs)
            return sm_fail(ENAMETOOLONG, "jail: path too long: %s", p);
        e->fd = open(p, O_PATH | O_CLOEXEC);
        if (e->fd < 0 && errno == ENOENT)
            continue;   /* as with landlock: its opener will say so */
        struct stat st;
        if (e->fd < 0 || fstat(e->fd, &st) < 0) {
            int err = sm_fail(errno, "jail: cannot open %s: %s", p, strerror(errno));
            if (e->fd >= 0)
                close(e->fd);   /* not counted yet: close_sources would miss it */
            return err;
        }
        e->dir = S_ISDIR(st.st_mode);
        e->access = paths[i].access;
        j->n++;
    }
    qsort(j->e, j->n, sizeof *j->e, by_depth);
    return 0;
}

/* Every counted entry holds its descriptor: absent paths get none. */
static void close_sources(jail *j)
{
    for (unsigned i = 0; i < j->n; i++)
        close(j->e[i].fd);
}

/* mkdir -p of path's parents under the jail's root, then path itself as
 * an empty directory or file to mount on. */
static int make_mount_point(const char *target, size_t root_len, bool dir)
{
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s", target);
    for (char *s = p + root_len + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return sm_fail(errno, "jail: cannot make %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (dir)
        return mkdir(p, 0755) < 0 && errno != EEXIST
            ? sm_fail(errno, "jail: cannot make %s: %s", p, strerror(errno)) : 0;
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return sm_fail(errno, "jail: cannot make %s: %s", p, strerror(errno));
    close(fd);
    return 0;
}

/* A directory comes with what is mounted beneath it (a share's own
 * mounts, as docker binds them), except where that would include the
 * jail's tmpfs itself: the VM's directory and any directory above it. */
static bool recursive(const jail *j, const entry *e)
{
    size_t len = strlen(e->abs);
    bool above_root = !strncmp(j->root, e->abs, len) &&
                      (j->root[len] == '/' || j->root[len] == '\0' || len == 1);
    return e->dir && !above_root;
}

/* The worker never executes a file nor needs a device beyond its
 * hypervisor's: every bind is noexec and nosuid, and nodev but for it. */
static int bind_entry(const jail *j, const entry *e)
{
    char target[2 * PATH_MAX], src[32];
    snprintf(target, sizeof target, "%s%s", j->root, e->abs);
    snprintf(src, sizeof src, "/proc/self/fd/%d", e->fd);
    int err = make_mount_point(target, strlen(j->root), e->dir);
    if (err)
        return err;
    if (mount(src, target, NULL, MS_BIND | (recursive(j, e) ? MS_REC : 0), NULL) < 0)
        return sm_fail(errno, "jail: cannot bind %s: %s", e->abs, strerror(errno));
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC;
    if (e->access != SM_LL_DEVICE)
        flags |= MS_NODEV;
    if (e->access == SM_LL_READ)
        flags |= MS_RDONLY;
    if (mount(NULL, target, NULL, flags, NULL) < 0)
        return sm_fail(errno, "jail: cannot limit %s: %s", e->abs, strerror(errno));
    return 0;
}

static int build(jail *j)
{
    if (mount("sm-jail", j->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, TMPFS_OPTS) < 0)
        return sm_fail(errno, "jail: cannot mount its tmpfs: %s", strerror(errno));
    int err = 0;
    for (unsigned i = 0; i < j->n && !err; i++)
        err = bind_entry(j, &j->e[i]);
    /* The working directory, so that relative paths still resolve. */
    char cwd[2 * PATH_MAX];
    snprintf(cwd, sizeof cwd, "%s%s/", j->root, j->cwd);
    if (!err && strcmp(j->cwd, "/") != 0)
        err = make_mount_point(cwd, strlen(j->root), true);
    return err;
}

static int pivot(jail *j)
{
    char old[2 * PATH_MAX];
    snprintf(old, sizeof old, "%s" OLD_ROOT, j->root);
    if (mkdir(old, 0700) < 0 && errno != EEXIST)
        return sm_fail(errno, "jail: cannot make %s: %s", old, strerror(errno));
    if (syscall(SYS_pivot_root, j->root, old) < 0)
        return sm_fail(errno, "jail: cannot pivot its root: %s", strerror(errno));
    return 0;
}

/* After the pivot there is no way back to the host's view: a failure
 * here is the worker's end. */
static int seal(jail *j)
{
    if (chdir("/") < 0 || umount2(OLD_ROOT, MNT_DETACH) < 0 || rmdir(OLD_ROOT) < 0)
        return sm_fail(errno, "jail: cannot detach the host's root: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
              MS_NOEXEC, NULL) < 0)
        return sm_fail(errno, "jail: cannot make its root read-only: %s", strerror(errno));
    if (chdir(j->cwd) < 0)
        return sm_fail(errno, "jail: cannot return to %s: %s", j->cwd, strerror(errno));
    return 0;
}

static int enter(jail *j, const sm_ll_path *paths, unsigned n)
{
    if (unshare(CLONE_NEWNS) < 0)
        return say_why(j, "cannot make a mount namespace (%s)", strerror(errno));
    /* Nothing mounted from here on may reach the host's namespace; what
     * the host mounts later beneath a share still reaches the worker, as
     * docker's rslave volumes (a pod's containers' roots are bound into
     * its share as they are created). */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return say_why(j, "cannot make its mounts slaves (%s)", strerror(errno));
    /* Sources are opened in the new namespace: a bind takes only mounts
     * of the binder's own. */
    int err = open_sources(j, paths, n);
    if (err)
        return err;
    err = build(j);
    if (!err && (err = pivot(j)) == 0) {
        err = seal(j);
        return err ? err : 1;
    }
    /* Not pivoted: the host's view comes back whole. */
    say_why(j, "%s", sm_error_text());
    return umount2(j->root, MNT_DETACH) < 0
        ? sm_fail(errno, "jail: cannot undo a half-made jail: %s", strerror(errno)) : 0;
}

int sm_jail_enter(const sm_ll_path *paths, unsigned n, const char *mount_at,
                  char *why, size_t why_len)
{
    jail j = {.why = why, .why_len = why_len};
    snprintf(why, why_len, "not run as root");
    if (geteuid() != 0)
        return 0;
    if (!getcwd(j.cwd, sizeof j.cwd))
        snprintf(j.cwd, sizeof j.cwd, "/");
    if (!mount_at || mount_at[0] != '/' || snprintf(j.root, sizeof j.root, "%s", mount_at) >=
        (int)sizeof j.root)
        return sm_fail(EINVAL, "jail: needs an absolute directory to build in");
    j.e = calloc(n ? n : 1, sizeof *j.e);
    if (!j.e)
        return sm_fail(ENOMEM, "out of memory");
    int rc = enter(&j, paths, n);
    close_sources(&j);
    free(j.e);
    return rc;
}
