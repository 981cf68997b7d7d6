/* sm_snapshot_gc: baked snapshots that no VM will resume again, and what
 * interrupted bakes left behind. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/abi.h"
#include "lib/machine_file.h"
#include "lib/paths.h"
#include "lib/vm_restore.h"
#include "oci/store.h"
#include "snapshot/snap_dir.h"
#include "supermachine.h"
#include "util/error.h"

/* A bake in progress keeps its temp dir for a second or two. */
#define TEMP_AGE_S 600

typedef struct current_ids {
    char kernel[80], init[80];
} current_ids;

static void current(current_ids *ids)
{
    char path[PATH_MAX];
    memset(ids, 0, sizeof *ids);
    if (sm_find_guest_file("vmlinux", "SUPERMACHINE_KERNEL", path, sizeof path) == 0)
        sm_file_identity(path, ids->kernel);
    if (sm_find_guest_file("initramfs-image.cpio", "SUPERMACHINE_IMAGE_INITRD", path,
                           sizeof path) == 0)
        sm_file_identity(path, ids->init);
}

/* A bake no fingerprint can name again: it fails its checks, its image is
 * gone, or it was made with another kernel or sm-init than today's. */
static int stale(const char *dir, const current_ids *ids)
{
    sm_snap_meta meta;
    sm_machine_file *mf = malloc(sizeof *mf);
    int gone = !mf || sm_snapshot_check(dir, &meta, mf) < 0;
    if (!gone && meta.manifest_digest[0]) {
        sm_image_info *info = NULL;
        gone = sm_image_inspect(meta.manifest_digest, &info) < 0;
        sm_image_info_free(info);
    }
    if (!gone)
        gone = (ids->kernel[0] && strcmp(mf->kernel_id, ids->kernel)) ||
               (ids->init[0] && strcmp(mf->init_id, ids->init));
    free(mf);
    return gone;
}

static uint64_t usage(const char *dir)
{
    static const char *const files[] = {SM_SNAP_MEMORY_FILE, SM_SNAP_STATE_FILE,
                                        SM_SNAP_META_FILE, SM_MACHINE_FILE};
    uint64_t n = 0;
    char path[PATH_MAX];
    struct stat st;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &st) == 0)
            n += (uint64_t)st.st_blocks * 512;
    }
    return n;
}

static void sweep(const char *root, DIR *d, sm_gc_result *r)
{
    current_ids ids;
    current(&ids);
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        int temp = sm_snap_dir_is_temp_name(e->d_name);
        if (temp ? now - st.st_mtime < TEMP_AGE_S : !stale(path, &ids))
            continue;
        uint64_t bytes = usage(path);
        if (sm_snap_dir_remove(path) == 0) {
            r->snapshots_removed++;
            r->bytes_freed += bytes;
        }
    }
}

int sm_snapshot_gc(sm_gc_result *result)
{
    sm_gc_result r = {.size = sizeof r};
    char root[PATH_MAX], dir[PATH_MAX + 16];
    int err = sm_store_default_root(root, sizeof root);
    if (err)
        return err;
    snprintf(dir, sizeof dir, "%s/snapshots", root);
    DIR *d = opendir(dir);
    if (!d && errno != ENOENT)
        return sm_fail(errno, "cannot read %s: %s", dir, strerror(errno));
    if (d) {
        sweep(dir, d, &r);
        closedir(d);
    }
    return result ? SM_ABI_OUT(result, &r, sm_gc_result) : 0;
}
