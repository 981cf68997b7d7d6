#include "oci-runtime/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci-runtime/pod.h"
#include "supermachine.h"

/* A pid from keeper.pid is ours only if it runs this very program. */
static bool runs_us(int pid)
{
    char path[64], exe[PATH_MAX], self[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t a = readlink(path, exe, sizeof exe - 1), b = readlink("/proc/self/exe", self,
                                                                   sizeof self - 1);
    if (a <= 0 || b <= 0)
        return false;
    exe[a] = self[b] = '\0';
    return strcmp(exe, self) == 0;
}

static void find_keeper(sm_oci_state *st)
{
    if (st->pid > 0)
        return;
    char path[4200];
    sm_oci_state_path(st, "keeper.pid", path, sizeof path);
    FILE *f = fopen(path, "re");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    if (pid > 0 && pid != getpid() && runs_us(pid)) {
        st->pid = pid;
        st->pid_start = sm_oci_pid_start(pid);
    }
}

void sm_oci_kill_keeper(sm_oci_state *st)
{
    find_keeper(st);
    if (!sm_oci_keeper_alive(st))
        return;
    kill(st->pid, SIGKILL);
    for (int i = 0; i < 1000 && sm_oci_keeper_alive(st); i++)
        usleep(10 * 1000);
}

/* rm -r that never leaves the directory's filesystem: were a pod's bind
 * still mounted there, a container's root must not be emptied through it. */
static void remove_tree(int dirfd, dev_t dev, int depth)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 8) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                remove_tree(sub, dev, depth + 1);
        }
        unlinkat(dirfd, e->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
    }
    closedir(d);
}

static int remove_dir(const char *dir)
{
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -errno;
    }
    remove_tree(fd, st.st_dev, 0);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -errno;
}

int sm_oci_cleanup(const sm_oci_globals *g, sm_oci_state *st)
{
    sm_oci_kill_keeper(st);
    /* The worker ends with its keeper; sm_vm_remove forgets its record
     * (and kills a worker that somehow outlived it). */
    /* A member's VM is its sandbox's: only its own mounts go. */
    if (!st->sandbox[0] && st->vm_id[0] && sm_vm_remove(st->vm_id, 1) < 0)
        sm_oci_debug(g, "removing VM %s: %s", st->vm_id, sm_last_error());
    sm_oci_pod_unmount(g, st);
    int err = remove_dir(st->dir);
    /* The VMs' records' directory goes with the last container, so that
     * --root is left as empty as runc leaves its own. */
    char vms[PATH_MAX];
    snprintf(vms, sizeof vms, "%s/.vms/supermachine", g->root);
    rmdir(vms);
    snprintf(vms, sizeof vms, "%s/.vms", g->root);
    rmdir(vms);
    if (err)
        return sm_oci_fail(g, "cannot remove %s: %s", st->dir, strerror(-err));
    return 0;
}
