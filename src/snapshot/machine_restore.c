/* Building a machine's guest from a snapshot directory: its RAM mapped
 * from the memory file(s), then the hypervisor, UART and virtio state. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/virtio_state.h"
#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "snapshot/state_file.h"
#include "util/error.h"
#include "util/le.h"
#include "vmm/hv_state.h"
#include "vmm/machine_int.h"

/* Diff snapshots on diff snapshots: deeper chains are refused. */

static int map_parent(sm_machine *m, const char *dir, unsigned depth);

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

static int map_runs(sm_machine *m, int fd, const sm_snap_section *s)
{
    if (s->len < 8 || (s->len - 8) % 16 || sm_le64_get(s->data) != (s->len - 8) / 16)
        return sm_fail(EINVAL, "snapshot: its list of changed memory is malformed");
    for (uint64_t i = 0; i < (s->len - 8) / 16; i++) {
        int err = sm_gmem_map_run(&m->mem, fd, sm_le64_get(s->data + 8 + i * 16),
                                  sm_le64_get(s->data + 16 + i * 16));
        if (err)
            return err;
    }
    return 0;
}

/* A full snapshot maps its file over all of RAM; a diff one maps its
 * parent (recursively, each read here) and then its own runs over it. */
static int map_chain(sm_machine *m, const char *dir, const sm_snap_reader *r, unsigned depth)
{
    if (depth == SM_SNAP_MAX_CHAIN)
        return sm_fail(ELOOP, "snapshot %s: more than %d diff snapshots on top of each other",
                       dir, SM_SNAP_MAX_CHAIN);
    int fd = -1, err = 0;
    const sm_snap_section *runs = sm_snap_reader_find(r, SM_SNAP_MEMORY_RUNS, 0);
    if (runs)
        err = map_parent(m, dir, depth);
    if (!err)
        err = open_memory(dir, m->mem.mapped, &fd);
    if (!err)
        err = runs ? map_runs(m, fd, runs) : sm_gmem_map_file(&m->mem, fd);
    if (fd >= 0)
        close(fd);  /* the mappings keep the file */
    return err;
}

static int map_parent(sm_machine *m, const char *dir, unsigned depth)
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
    err = map_chain(m, meta.parent, pr, depth + 1);
    sm_snap_reader_close(pr);
    return err;
}

int sm_machine_restore_memory(sm_machine *m, const sm_machine_config *cfg,
                              const sm_snap_reader *r)
{
    return map_chain(m, cfg->restore_dir, r, 0);
}

static int check_machine(const sm_machine *m, const sm_snap_reader *r, unsigned ndevs)
{
    const sm_snap_section *s;
    int err = sm_snap_reader_need(r, SM_SNAP_MACHINE, 0, &s);
    if (err)
        return err;
    if (s->len != 16)
        return sm_fail(EINVAL, "snapshot: its machine section is malformed");
    if (sm_le32_get(s->data) != m->ncpus || sm_le64_get(s->data + 8) != m->mem.mapped)
        return sm_fail(EINVAL, "the snapshot was taken of a VM with %u vCPUs and %llu MiB, "
                       "not %u and %llu MiB", sm_le32_get(s->data),
                       (unsigned long long)(sm_le64_get(s->data + 8) >> 20), m->ncpus,
                       (unsigned long long)(m->mem.mapped >> 20));
    if (sm_le32_get(s->data + 4) != ndevs)
        return sm_fail(EINVAL, "the snapshot was taken of a VM with %u devices, not %u "
                       "(another network, disk or share setting)", sm_le32_get(s->data + 4),
                       ndevs);
    return 0;
}

static int restore_serials(sm_machine *m, const sm_snap_reader *r)
{
    sm_serial *ports[2] = {&m->com1.uart, &m->com2.uart};
    for (uint16_t i = 0; i < 2; i++) {
        const sm_snap_section *s;
        int err = sm_snap_reader_need(r, SM_SNAP_SERIAL, i, &s);
        if (!err && sm_serial_restore(ports[i], s->data, s->len) < 0)
            err = sm_fail(EINVAL, "snapshot: the state of serial port %u is malformed", i);
        if (err)
            return err;
    }
    return 0;
}

static int restore_devices(sm_virtio_device **devs, unsigned n, const sm_snap_reader *r)
{
    for (unsigned i = 0; i < n; i++) {
        const sm_snap_section *s;
        int err = sm_snap_reader_need(r, SM_SNAP_DEVICE, (uint16_t)i, &s);
        if (!err) {
            pthread_mutex_lock(&devs[i]->lock);
            err = sm_virtio_state_restore(devs[i], s->data, s->len);
            pthread_mutex_unlock(&devs[i]->lock);
        }
        if (err)
            return err;
    }
    return 0;
}

int sm_machine_restore_state(sm_machine *m, const sm_snap_reader *r)
{
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned n = sm_virtio_set_list(&m->virtio, devs);
    int err = check_machine(m, r, n);
    if (!err)
        err = sm_hv_vm_restore(m->hv, r);
    for (unsigned i = 0; !err && i < m->ncpus; i++)
        err = sm_hv_vcpu_restore(m->vcpus[i].vcpu, r, (uint16_t)i);
    if (!err)
        err = restore_serials(m, r);
    if (!err)
        err = restore_devices(devs, n, r);
    return err;
}

int sm_machine_restore_open(const sm_machine_config *cfg, sm_snap_reader **r)
{
    return open_state(cfg->restore_dir, r);
}

static void agent_ready(void *ctx)
{
    sm_machine *m = ctx;
    if (m->on_ready)
        m->on_ready(m->ready_ctx);
}

void sm_machine_restore_finish(sm_machine *m)
{
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned n = sm_virtio_set_list(&m->virtio, devs);
    for (unsigned i = 0; i < n; i++)
        sm_virtio_state_resume(devs[i]);
    /* Without an event buffer the guest cannot be told; its old streams
     * then die on their next packet, which the device answers with RST. */
    if (!m->virtio.has_vsock ||
        sm_virtio_vsock_transport_reset(&m->virtio.vsock, agent_ready, m) < 0)
        agent_ready(m);
}
