#include "oci-runtime/lookpath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* 0 if path (inside the root) is an executable file, else a negative errno. */
static int executable(int rootfd, const char *path)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd < 0)
        return -errno;
    struct stat st;
    int err = fstat((int)fd, &st) < 0 ? -errno
              : S_ISDIR(st.st_mode)   ? -EISDIR
              : !S_ISREG(st.st_mode) || !(st.st_mode & 0111) ? -EACCES : 0;
    close((int)fd);
    return err;
}

static const char *path_of(const sm_oci_process *p)
{
    for (size_t i = 0; p->env && p->env[i]; i++)
        if (!strncmp(p->env[i], "PATH=", 5))
            return p->env[i] + 5;
    return DEFAULT_PATH;
}

static int search(int rootfd, const sm_oci_process *p, char *err, size_t len)
{
    const char *name = p->args[0], *path = path_of(p);
    for (const char *dir = path; *dir;) {
        size_t n = strcspn(dir, ":");
        char full[4096];
        snprintf(full, sizeof full, "%.*s/%s", (int)(n ? n : 1), n ? dir : ".", name);
        if (executable(rootfd, full) == 0)
            return 0;
        dir += n + (dir[n] == ':');
    }
    snprintf(err, len, "process.args[0] '%s': no such program in the container's PATH (%s)",
             name, path);
    return -1;
}

int sm_oci_lookpath(const char *root, const sm_oci_process *p, char *err, size_t len)
{
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        snprintf(err, len, "root %s: %s", root, strerror(errno));
        return -1;
    }
    int rc = 0;
    const char *name = p->args[0];
    if (!strchr(name, '/')) {
        rc = search(rootfd, p, err, len);
    } else {
        char full[4096];
        snprintf(full, sizeof full, "%s%s%s", name[0] == '/' ? "" : p->cwd,
                 name[0] == '/' ? "" : "/", name);
        int e = executable(rootfd, full);
        if (e) {
            snprintf(err, len, "process.args[0] %s: %s in the container's root", name,
                     strerror(-e));
            rc = -1;
        }
    }
    close(rootfd);
    return rc;
}
