#include "snapshot/snap_take.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persist/state_file.h"
#include "snapshot/mem_changes.h"
#include "snapshot/snap_dir.h"
#include "util/error.h"
#include "util/le.h"

static int check_parent(const char *parent, const char *restored_from)
{
    char real[PATH_MAX], from[PATH_MAX];
    if (!parent)
        return 0;
    if (!restored_from || !restored_from[0])
        return sm_fail(EINVAL, "a diff snapshot needs a VM restored from a snapshot; this one "
                       "was booted");
    if (!realpath(restored_from, from))
        snprintf(from, sizeof from, "%s", restored_from);
    if (!realpath(parent, real) || strcmp(real, from))
        return sm_fail(EINVAL, "a diff snapshot's parent must be the snapshot the VM was "
                       "restored from (%s), not %s", from, parent);
    return 0;
}

static int add_runs(sm_snap_writer *w, const sm_snap_run *runs, size_t nruns)
{
    size_t n = 8 + nruns * 16;
    uint8_t *p = malloc(n);
    if (!p)
        return sm_fail(ENOMEM, "out of memory");
    sm_le64_put(p, nruns);
    for (size_t i = 0; i < nruns; i++) {
        sm_le64_put(p + 8 + i * 16, runs[i].off);
        sm_le64_put(p + 16 + i * 16, runs[i].len);
    }
    int err = sm_snap_writer_add_section(w, SM_SNAP_MEMORY_RUNS, 0, 0, p, n);
    free(p);
    return err;
}

/* With the machine held: its memory (a diff's changed runs alone), then
 * its sections and the runs' list into the state file. */
static int write_held(sm_machine *m, const sm_snap_files *f, bool diff)
{
    sm_machine_ram ram = sm_machine_ram_of(m);
    sm_snap_run *runs = NULL;
    size_t nruns = 0;
    sm_snap_writer *w = NULL;
    int err = diff ? sm_mem_changed_runs(ram.base, ram.len, &runs, &nruns) : 0;
    if (!err)
        err = sm_snap_memory_write_fd(f->memory_fd, SM_SNAP_MEMORY_FILE, ram.base, ram.len,
                                      runs, nruns);
    if (!err)
        err = sm_snap_writer_begin(&w);
    if (!err)
        err = sm_machine_save_state(m, w);
    if (!err && diff)
        err = add_runs(w, runs, nruns);
    free(runs);
    if (err) {
        if (w)
            sm_snap_writer_abort(w);
        return err;
    }
    return sm_snap_writer_finish_fd(w, f->state_fd, SM_SNAP_STATE_FILE);
}

int sm_snap_take(sm_machine *m, const sm_snap_files *f, const char *parent,
                 const char *restored_from)
{
    int err = check_parent(parent, restored_from);
    if (err || (err = sm_machine_hold(m)) != 0)
        return err;
    err = write_held(m, f, parent != NULL);
    sm_machine_release(m);
    return err;
}
