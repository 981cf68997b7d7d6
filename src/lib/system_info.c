/* sm_get_paths and sm_get_disk_usage: what `supermachine info` and
 * `system df` show. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/abi.h"
#include "lib/paths.h"
#include "lib/vm_registry.h"
#include "oci/store.h"
#include "supermachine.h"
#include "util/error.h"

int sm_get_paths(sm_paths *paths)
{
    if (!paths)
        return sm_fail(EINVAL, "sm_get_paths: paths is required");
    sm_paths *p = calloc(1, sizeof *p);
    if (!p)
        return sm_fail(ENOMEM, "out of memory");
    p->size = sizeof *p;
    int err = sm_abi_check(paths, "sm_paths");
    if (!err)
        err = sm_store_default_root(p->data_dir, sizeof p->data_dir);
    if (!err)
        err = sm_vm_base_dir(p->runtime_dir, sizeof p->runtime_dir);
    if (!err && sm_find_guest_file("vmlinux", "SUPERMACHINE_KERNEL", p->kernel,
                                   sizeof p->kernel) != 0) {
        snprintf(p->kernel_error, sizeof p->kernel_error, "%s", sm_last_error());
        p->kernel[0] = '\0';
    }
    if (!err && sm_find_guest_file("initramfs-image.cpio", "SUPERMACHINE_IMAGE_INITRD",
                                   p->initramfs, sizeof p->initramfs) != 0)
        p->initramfs[0] = '\0';
    if (!err && sm_find_worker(p->worker, sizeof p->worker) != 0)
        p->worker[0] = '\0';
    if (!err)
        SM_ABI_OUT(paths, p, sm_paths);
    free(p);
    return err;
}

typedef struct walk {
    uint64_t bytes, entries;
    int depth;              /* entries counted this many levels down */
} walk;

/* Allocated bytes under the directory fd (which it closes), symlinks not
 * followed; nothing there, nothing counted. */
static void walk_dir(walk *w, int fd, int level)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        w->bytes += (uint64_t)st.st_blocks * 512;
        if (level + 1 == w->depth)
            w->entries++;
        if (S_ISDIR(st.st_mode) && level < 64) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sub >= 0)
                walk_dir(w, sub, level + 1);
        }
    }
    closedir(d);
}

/* Bytes under dir, and how many entries sit `depth` levels below it. */
static uint64_t du(const char *dir, int depth, uint64_t *entries)
{
    walk w = {.depth = depth};
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        walk_dir(&w, fd, 0);
    if (entries)
        *entries = w.entries;
    return w.bytes;
}

int sm_get_disk_usage(sm_disk_usage *usage)
{
    if (!usage)
        return sm_fail(EINVAL, "sm_get_disk_usage: usage is required");
    sm_disk_usage u = {.size = sizeof u};
    char root[4096], dir[4200];
    int err = sm_abi_check(usage, "sm_disk_usage");
    if (!err)
        err = sm_store_default_root(root, sizeof root);
    if (err)
        return err;
    snprintf(dir, sizeof dir, "%s/blobs", root);
    u.image_bytes = du(dir, 0, NULL);
    snprintf(dir, sizeof dir, "%s/rootfs", root);
    u.rootfs_bytes = du(dir, 0, NULL);
    snprintf(dir, sizeof dir, "%s/snapshots", root);
    u.snapshot_bytes = du(dir, 1, &u.snapshots);
    if (sm_vm_base_dir(dir, sizeof dir) == 0) {
        u.vm_bytes = du(dir, 1, &u.vms);
        /* names/ holds the names, not a VM */
        struct stat st;
        char names[4300];
        snprintf(names, sizeof names, "%s/names", dir);
        if (u.vms && stat(names, &st) == 0)
            u.vms--;
    }
    sm_image_info **list;
    size_t n;
    if (sm_image_list(&list, &n) == 0) {
        u.images = n;
        sm_image_list_free(list, n);
    }
    return SM_ABI_OUT(usage, &u, sm_disk_usage);
}
