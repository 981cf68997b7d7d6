/* sm_machine_snapshot: pause the guest, write its memory and every piece
 * of state into a directory, let it run on. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_state.h"
#include "snapshot/mem_changes.h"
#include "snapshot/snap_dir.h"
#include "snapshot/state_file.h"
#include "util/error.h"
#include "util/le.h"
#include "vmm/hv_state.h"
#include "vmm/machine_int.h"

typedef struct save_job {
    sm_machine *m;
    const sm_machine_snapshot_files *files;
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned ndevs;
    sm_snap_run *runs;         /* diff: what changed since the restore */
    size_t nruns;
} save_job;

static int add_machine(sm_snap_writer *w, const save_job *j)
{
    uint8_t p[16];
    sm_le32_put(p, j->m->ncpus);
    sm_le32_put(p + 4, j->ndevs);
    sm_le64_put(p + 8, j->m->mem.mapped);
    return sm_snap_writer_add_section(w, SM_SNAP_MACHINE, 0, 0, p, sizeof p);
}

static int add_serials(sm_snap_writer *w, sm_machine *m)
{
    uint8_t p[SM_SERIAL_STATE_LEN];
    sm_serial_save(&m->com1.uart, p);
    int err = sm_snap_writer_add_section(w, SM_SNAP_SERIAL, 0, 0, p, sizeof p);
    sm_serial_save(&m->com2.uart, p);
    return err ? err : sm_snap_writer_add_section(w, SM_SNAP_SERIAL, 1, 0, p, sizeof p);
}

static int add_devices(sm_snap_writer *w, const save_job *j)
{
    for (unsigned i = 0; i < j->ndevs; i++) {
        uint8_t *p;
        size_t n;
        int err = sm_virtio_state_save(j->devs[i], &p, &n);
        if (err)
            return err;
        err = sm_snap_writer_add_section(w, SM_SNAP_DEVICE, (uint16_t)i, 0, p, n);
        free(p);
        if (err)
            return err;
    }
    return 0;
}

static int add_runs(sm_snap_writer *w, const save_job *j)
{
    size_t n = 8 + j->nruns * 16;
    uint8_t *p = malloc(n);
    if (!p)
        return sm_fail(ENOMEM, "out of memory");
    sm_le64_put(p, j->nruns);
    for (size_t i = 0; i < j->nruns; i++) {
        sm_le64_put(p + 8 + i * 16, j->runs[i].off);
        sm_le64_put(p + 16 + i * 16, j->runs[i].len);
    }
    int err = sm_snap_writer_add_section(w, SM_SNAP_MEMORY_RUNS, 0, 0, p, n);
    free(p);
    return err;
}

static int write_state(const save_job *j)
{
    sm_snap_writer *w;
    int err = sm_snap_writer_begin(&w);
    if (err)
        return err;
    err = add_machine(w, j);
    if (!err)
        err = sm_hv_vm_save(j->m->hv, w);
    for (unsigned i = 0; !err && i < j->m->ncpus; i++)
        err = sm_hv_vcpu_save(j->m->vcpus[i].vcpu, w, (uint16_t)i);
    if (!err)
        err = add_serials(w, j->m);
    if (!err)
        err = add_devices(w, j);
    if (!err && j->runs)
        err = add_runs(w, j);
    if (err) {
        sm_snap_writer_abort(w);
        return err;
    }
    return sm_snap_writer_finish_fd(w, j->files->state_fd, SM_SNAP_STATE_FILE);
}

static int write_all(save_job *j, const char *parent)
{
    int err = 0;
    if (parent)
        err = sm_mem_changed_runs(j->m->mem.base, j->m->mem.mapped, &j->runs, &j->nruns);
    if (!err)
        err = sm_snap_memory_write_fd(j->files->memory_fd, SM_SNAP_MEMORY_FILE, j->m->mem.base,
                                      j->m->mem.mapped, parent ? j->runs : NULL, j->nruns);
    if (!err)
        err = write_state(j);
    return err;
}

static int check_parent(const sm_machine *m, const char *parent)
{
    char real[PATH_MAX];
    if (!parent)
        return 0;
    if (!m->restored)
        return sm_fail(EINVAL, "a diff snapshot needs a VM restored from a snapshot; this one "
                       "was booted");
    if (!realpath(parent, real) || strcmp(real, m->restore_dir))
        return sm_fail(EINVAL, "a diff snapshot's parent must be the snapshot the VM was "
                       "restored from (%s), not %s", m->restore_dir, parent);
    return 0;
}

int sm_machine_snapshot(sm_machine *m, const sm_machine_snapshot_files *f, const char *parent)
{
    if (m->virtio.nshares)
        return sm_fail(EOPNOTSUPP, "a VM with shared directories cannot be snapshotted: "
                       "the files its guest has open on the host are not part of a snapshot");
    int err = check_parent(m, parent);
    if (err || (err = sm_machine_pause(m)) != 0)
        return err;
    save_job j = {.m = m, .files = f};
    j.ndevs = sm_virtio_set_list(&m->virtio, j.devs);
    /* Device threads must not touch rings or guest RAM while they are
     * written: their locks are held for the whole save. */
    for (unsigned i = 0; i < j.ndevs; i++)
        pthread_mutex_lock(&j.devs[i]->lock);
    err = write_all(&j, parent);
    for (unsigned i = j.ndevs; i-- > 0;)
        pthread_mutex_unlock(&j.devs[i]->lock);
    sm_machine_resume(m);
    free(j.runs);
    return err;
}
