#include "devices/virtio/virtio_state.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/le.h"

/* Offsets of the fixed part; docs/snapshot.md has the same table. */
enum {
    O_KIND = 0, O_RESERVED = 4, O_BASE = 8, O_IRQ = 16, O_STATUS = 20, O_DEV_FEATURES = 24,
    O_DRV_FEATURES = 32, O_INT_STATUS = 40, O_CONFIG_GEN = 44, O_QUEUE_SEL = 48,
    O_DEV_FSEL = 52, O_DRV_FSEL = 56, O_NQUEUES = 60, O_QUEUES = 64,
};
#define QUEUE_LEN 40
#define Q_BROKEN 1u
#define MAX_CONFIG 256u
#define MAX_EXTRA 256u

static uint64_t offered(const sm_virtio_device *d)
{
    return d->ops->features | SM_VIRTIO_F_VERSION_1;
}

static void put_queue(uint8_t *p, const sm_vq *q)
{
    sm_le64_put(p, q->desc_gpa);
    sm_le64_put(p + 8, q->avail_gpa);
    sm_le64_put(p + 16, q->used_gpa);
    sm_le16_put(p + 24, q->size);
    sm_le16_put(p + 26, q->ready);
    sm_le16_put(p + 28, q->last_avail);
    sm_le16_put(p + 30, q->used_idx);
    sm_le32_put(p + 32, q->broken ? Q_BROKEN : 0);
    sm_le32_put(p + 36, 0);
}

int sm_virtio_state_save(sm_virtio_device *d, uint8_t **out, size_t *len)
{
    uint32_t clen = d->ops->config_len;
    if (clen > MAX_CONFIG)
        return sm_fail(EINVAL, "%s: config space too large to save", d->ops->name);
    size_t n = O_QUEUES + (size_t)d->ops->nqueues * QUEUE_LEN + 4 + clen;
    uint8_t *p = calloc(1, n + MAX_EXTRA);
    if (!p)
        return sm_fail(ENOMEM, "out of memory");
    sm_le32_put(p + O_KIND, d->ops->device_id);
    sm_le64_put(p + O_BASE, d->base);
    sm_le32_put(p + O_IRQ, d->irq);
    sm_le32_put(p + O_STATUS, d->status);
    sm_le64_put(p + O_DEV_FEATURES, offered(d));
    sm_le64_put(p + O_DRV_FEATURES, d->driver_features);
    sm_le32_put(p + O_INT_STATUS, d->interrupt_status);
    sm_le32_put(p + O_CONFIG_GEN, d->config_generation);
    sm_le32_put(p + O_QUEUE_SEL, d->queue_sel);
    sm_le32_put(p + O_DEV_FSEL, d->dev_features_sel);
    sm_le32_put(p + O_DRV_FSEL, d->drv_features_sel);
    sm_le32_put(p + O_NQUEUES, d->ops->nqueues);
    for (unsigned i = 0; i < d->ops->nqueues; i++)
        put_queue(p + O_QUEUES + i * QUEUE_LEN, &d->queues[i]);
    uint8_t *c = p + O_QUEUES + d->ops->nqueues * QUEUE_LEN;
    sm_le32_put(c, clen);
    if (clen && d->ops->config_read)
        d->ops->config_read(d, 0, c + 4, clen);
    if (d->ops->state_save)
        n += d->ops->state_save(d, p + n, MAX_EXTRA);
    *out = p;
    *len = n;
    return 0;
}

static int mismatch(const sm_virtio_device *d, const char *what)
{
    return sm_fail(EINVAL, "the snapshot does not fit this VM: its %s at %#llx has another %s "
                   "than when the snapshot was taken", d->ops->name,
                   (unsigned long long)d->base, what);
}

/* The device this VM built must be the one the guest saw. */
static int check_identity(const sm_virtio_device *d, const uint8_t *p, size_t len)
{
    if (len < O_QUEUES)
        return sm_fail(EINVAL, "snapshot: a device section is truncated");
    if (sm_le32_get(p + O_KIND) != d->ops->device_id)
        return mismatch(d, "device kind");
    /* Zero as the format says, so that a later version may give it a meaning. */
    if (sm_le32_get(p + O_RESERVED))
        return sm_fail(EINVAL, "snapshot: the section of %s has reserved bytes set",
                       d->ops->name);
    if (sm_le64_get(p + O_BASE) != d->base || sm_le32_get(p + O_IRQ) != d->irq)
        return mismatch(d, "address or interrupt line");
    if (sm_le64_get(p + O_DEV_FEATURES) != offered(d))
        return mismatch(d, "feature set");
    if (sm_le32_get(p + O_NQUEUES) != d->ops->nqueues)
        return mismatch(d, "number of queues");
    size_t qend = O_QUEUES + (size_t)d->ops->nqueues * QUEUE_LEN;
    if (len < qend + 4 || sm_le32_get(p + qend) != d->ops->config_len ||
        len - qend - 4 < d->ops->config_len)
        return sm_fail(EINVAL, "snapshot: the section of %s has a bad length", d->ops->name);
    uint8_t now[MAX_CONFIG];
    uint32_t clen = d->ops->config_len;
    if (clen > MAX_CONFIG)
        return -EINVAL;
    memset(now, 0, clen);
    if (clen && d->ops->config_read)
        d->ops->config_read((sm_virtio_device *)d, 0, now, clen);
    if (memcmp(now, p + qend + 4, clen))
        return mismatch(d, "configuration (disk size, MAC address, CID or tag)");
    return 0;
}

static int get_queue(sm_virtio_device *d, unsigned i, const uint8_t *p)
{
    sm_vq q = {
        .desc_gpa = sm_le64_get(p), .avail_gpa = sm_le64_get(p + 8),
        .used_gpa = sm_le64_get(p + 16), .size = sm_le16_get(p + 24),
        .ready = sm_le16_get(p + 26) != 0, .last_avail = sm_le16_get(p + 28),
        .used_idx = sm_le16_get(p + 30), .broken = (sm_le32_get(p + 32) & Q_BROKEN) != 0,
    };
    if (sm_le16_get(p + 26) > 1 || (sm_le32_get(p + 32) & ~Q_BROKEN) || sm_le32_get(p + 36))
        return sm_fail(EINVAL, "snapshot: queue %u of %s has unknown flags", i, d->ops->name);
    if (q.ready && !sm_vq_valid(&q, d->env.mem))
        return sm_fail(EINVAL, "snapshot: queue %u of %s lies outside guest memory or over "
                       "itself", i, d->ops->name);
    d->queues[i] = q;
    return 0;
}

/* What follows the config space is the device's own. */
static int restore_extra(sm_virtio_device *d, const uint8_t *p, size_t len)
{
    size_t at = O_QUEUES + (size_t)d->ops->nqueues * QUEUE_LEN + 4 + d->ops->config_len;
    if (at == len)
        return d->ops->state_restore ? d->ops->state_restore(d, p + at, 0) : 0;
    if (!d->ops->state_restore)
        return sm_fail(EINVAL, "snapshot: the section of %s has trailing bytes", d->ops->name);
    return d->ops->state_restore(d, p + at, len - at);
}

int sm_virtio_state_restore(sm_virtio_device *d, const uint8_t *p, size_t len)
{
    int err = check_identity(d, p, len);
    if (err)
        return err;
    uint64_t drv = sm_le64_get(p + O_DRV_FEATURES);
    /* A driver may write features never offered: they only keep
     * FEATURES_OK from sticking (virtio_mmio.c), so with it they cannot be. */
    if ((drv & ~offered(d)) && (sm_le32_get(p + O_STATUS) & SM_VIRTIO_STATUS_FEATURES_OK))
        return sm_fail(EINVAL, "snapshot: %s has features the device never offered",
                       d->ops->name);
    for (unsigned i = 0; i < d->ops->nqueues; i++)
        if ((err = get_queue(d, i, p + O_QUEUES + i * QUEUE_LEN)) != 0)
            return err;
    d->status = sm_le32_get(p + O_STATUS);
    d->driver_features = drv;
    d->interrupt_status = sm_le32_get(p + O_INT_STATUS);
    d->config_generation = sm_le32_get(p + O_CONFIG_GEN);
    d->queue_sel = sm_le32_get(p + O_QUEUE_SEL);
    d->dev_features_sel = sm_le32_get(p + O_DEV_FSEL);
    d->drv_features_sel = sm_le32_get(p + O_DRV_FSEL);
    return restore_extra(d, p, len);
}

void sm_virtio_state_resume(sm_virtio_device *d)
{
    pthread_mutex_lock(&d->lock);
    if (d->interrupt_status) {
        uint64_t one = 1;
        if (d->irq_fd >= 0 && write(d->irq_fd, &one, sizeof one) < 0) {
            /* The guest may miss one interrupt; its timeouts recover. */
        }
    }
    for (unsigned q = 0; q < d->ops->nqueues; q++)
        if (d->queues[q].ready && !d->queues[q].broken && d->ops->notify &&
            (d->status & SM_VIRTIO_STATUS_DRIVER_OK))
            d->ops->notify(d, q);
    pthread_mutex_unlock(&d->lock);
}
