#include "snapshot/snap_origin.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist/state_file.h"
#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "util/error.h"
#include "util/le.h"
#include "memory/guest_mem.h"

struct sm_snap_origin {
    char dir[PATH_MAX];
    sm_snap_reader *state;
    sm_machine_origin machine;
};

/* Diff snapshots on diff snapshots: deeper chains are refused. */

static int map_parent(sm_gmem *mem, const char *dir, unsigned depth);

static int open_memory(const char *dir, uint64_t want, int *fd_out)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/" SM_SNAP_MEMORY_FILE, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sm_fail(errno, "snapshot %s: cannot open its memory: %s", dir, strerror(errno));
    if (fstat(fd, &st) < 0)
        st.st_size = -1;
    if ((uint64_t)st.st_size != want) {
        close(fd);
        return sm_fail(EINVAL, "snapshot %s: its memory file is %lld bytes, not the %llu "
                       "the VM has (truncated or made for another memory size)", dir,
                       (long long)st.st_size, (unsigned long long)want);
    }
    *fd_out = fd;
    return 0;
}

static int open_state(const char *dir, sm_snap_reader **r)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/" SM_SNAP_STATE_FILE, dir);
    int err = sm_snap_reader_open(path, r);
    return err ? sm_fail_context(err, "snapshot %s", dir) : 0;
}

static int map_runs(sm_gmem *mem, int fd, const sm_snap_section *s)
{
    if (s->len < 8 || (s->len - 8) % 16 || sm_le64_get(s->data) != (s->len - 8) / 16)
        return sm_fail(EINVAL, "snapshot: its list of changed memory is malformed");
    for (uint64_t i = 0; i < (s->len - 8) / 16; i++) {
        int err = sm_gmem_map_run(mem, fd, sm_le64_get(s->data + 8 + i * 16),
                                  sm_le64_get(s->data + 16 + i * 16));
        if (err)
            return err;
    }
    return 0;
}

/* A full snapshot maps its file over all of RAM; a diff one maps its
 * parent (recursively, each read here) and then its own runs over it. */
static int map_chain(sm_gmem *mem, const char *dir, const sm_snap_reader *r, unsigned depth)
{
    if (depth == SM_SNAP_MAX_CHAIN)
        return sm_fail(ELOOP, "snapshot %s: more than %d diff snapshots on top of each other",
                       dir, SM_SNAP_MAX_CHAIN);
    int fd = -1, err = 0;
    const sm_snap_section *runs = sm_snap_reader_find(r, SM_SNAP_MEMORY_RUNS, 0);
    if (runs)
        err = map_parent(mem, dir, depth);
    if (!err)
        err = open_memory(dir, mem->mapped, &fd);
    if (!err)
        err = runs ? map_runs(mem, fd, runs) : sm_gmem_map_file(mem, fd);
    if (fd >= 0)
        close(fd);  /* the mappings keep the file */
    return err;
}

static int map_parent(sm_gmem *mem, const char *dir, unsigned depth)
{
    char meta_path[PATH_MAX];
    sm_snap_meta meta;
    sm_snap_reader *pr;
    snprintf(meta_path, sizeof meta_path, "%s/" SM_SNAP_META_FILE, dir);
    int err = sm_snap_meta_read(meta_path, &meta);
    if (!err && !meta.parent[0])
        err = sm_fail(EINVAL, "snapshot %s is a diff snapshot without a parent", dir);
    /* The parent is named by the snapshot's own file: held to the same
     * checks as the snapshot the caller named. */
    if (!err && (err = sm_snap_dir_check(meta.parent)) != 0)
        err = sm_fail_context(err, "the parent of snapshot %s", dir);
    if (err || (err = open_state(meta.parent, &pr)) != 0)
        return err;
    err = map_chain(mem, meta.parent, pr, depth + 1);
    sm_snap_reader_close(pr);
    return err;
}

static int map_memory(void *ctx, sm_gmem *mem)
{
    const sm_snap_origin *o = ctx;
    return map_chain(mem, o->dir, o->state, 0);
}

int sm_snap_origin_open(const char *dir, sm_snap_origin **out)
{
    sm_snap_origin *o = calloc(1, sizeof *o);
    if (!o)
        return sm_fail(ENOMEM, "out of memory");
    /* Opening its state is the check that it is there: no realpath on
     * the way (a restore's every syscall counts; only a diff snapshot's
     * parent check, at snapshot time, needs the resolved path). */
    snprintf(o->dir, sizeof o->dir, "%s", dir);
    int err = open_state(dir, &o->state);
    if (err) {
        free(o);
        return err;
    }
    o->machine = (sm_machine_origin){.map_memory = map_memory, .ctx = o, .state = o->state};
    *out = o;
    return 0;
}

const sm_machine_origin *sm_snap_origin_machine(const sm_snap_origin *o)
{
    return &o->machine;
}

void sm_snap_origin_close(sm_snap_origin *o)
{
    if (!o)
        return;
    sm_snap_reader_close(o->state);
    free(o);
}
