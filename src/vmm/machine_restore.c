/* A restored machine's state set back from its sections, and the guest
 * told it was restored; its RAM is mapped by whoever handed the sections
 * in (src/snapshot maps a snapshot directory's chain). */
#include "devices/virtio/virtio_state.h"
#include "persist/state_file.h"
#include "util/error.h"
#include "util/le.h"
#include "vmm/machine_int.h"

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
    if (!m->virtio.vsock ||
        sm_virtio_vsock_transport_reset(m->virtio.vsock, agent_ready, m) < 0)
        agent_ready(m);
}
