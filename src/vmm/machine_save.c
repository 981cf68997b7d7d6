/* A machine held still for a snapshot, and its state as sections; the
 * snapshot directory (src/snapshot) writes its memory and the file. */
#include <stdlib.h>

#include "devices/virtio/virtio_state.h"
#include "persist/state_file.h"
#include "util/error.h"
#include "util/le.h"
#include "vmm/machine_int.h"

int sm_machine_hold(sm_machine *m)
{
    if (m->virtio.nshares)
        return sm_fail(EOPNOTSUPP, "a VM with shared directories cannot be snapshotted: "
                       "the files its guest has open on the host are not part of a snapshot");
    /* Its address is the namespace's: a copy resumed elsewhere would
     * claim it twice, and a bake is shared by every VM of an image. */
    if (m->virtio.tap)
        return sm_fail(EOPNOTSUPP, "a VM in a network namespace cannot be snapshotted: its "
                       "network address belongs to the namespace");
    int err = sm_machine_pause(m);
    if (err)
        return err;
    /* Device threads must not touch rings or guest RAM while the
     * snapshot is written: their locks are held until the release. */
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned n = sm_virtio_set_list(&m->virtio, devs);
    for (unsigned i = 0; i < n; i++)
        pthread_mutex_lock(&devs[i]->lock);
    return 0;
}

void sm_machine_release(sm_machine *m)
{
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned n = sm_virtio_set_list(&m->virtio, devs);
    for (unsigned i = n; i-- > 0;)
        pthread_mutex_unlock(&devs[i]->lock);
    sm_machine_resume(m);
}

sm_machine_ram sm_machine_ram_of(const sm_machine *m)
{
    return (sm_machine_ram){m->mem.base, m->mem.mapped};
}

static int add_machine(sm_snap_writer *w, const sm_machine *m, unsigned ndevs)
{
    uint8_t p[16];
    sm_le32_put(p, m->ncpus);
    sm_le32_put(p + 4, ndevs);
    sm_le64_put(p + 8, m->mem.mapped);
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

static int add_devices(sm_snap_writer *w, sm_virtio_device **devs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p;
        size_t len;
        int err = sm_virtio_state_save(devs[i], &p, &len);
        if (err)
            return err;
        err = sm_snap_writer_add_section(w, SM_SNAP_DEVICE, (uint16_t)i, 0, p, len);
        free(p);
        if (err)
            return err;
    }
    return 0;
}

int sm_machine_save_state(sm_machine *m, sm_snap_writer *w)
{
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned n = sm_virtio_set_list(&m->virtio, devs);
    int err = add_machine(w, m, n);
    if (!err)
        err = sm_hv_vm_save(m->hv, w);
    for (unsigned i = 0; !err && i < m->ncpus; i++)
        err = sm_hv_vcpu_save(m->vcpus[i].vcpu, w, (uint16_t)i);
    if (!err)
        err = add_serials(w, m);
    if (!err)
        err = add_devices(w, devs, n);
    return err;
}
