#include "devices/virtio/virtio_mmio.h"

#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

enum {
    REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008, REG_VENDOR_ID = 0x00c,
    REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
    REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
    REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
    REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
    REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
    REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
    REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094,
    REG_QUEUE_DEVICE_LOW = 0x0a0, REG_QUEUE_DEVICE_HIGH = 0x0a4,
    REG_CONFIG_GENERATION = 0x0fc, REG_CONFIG = 0x100,
};

#define MAGIC 0x74726976 /* "virt" */
#define VENDOR 0x534d4348 /* "SMCH" */
#define INT_USED_BUFFER 1

static void notify_ready(void *ctx, uint32_t events);

static uint64_t offered(const sm_virtio_device *d)
{
    return d->ops->features | SM_VIRTIO_F_VERSION_1;
}

static sm_vq *selected(sm_virtio_device *d)
{
    return d->queue_sel < d->ops->nqueues ? &d->queues[d->queue_sel] : NULL;
}

static void reset(sm_virtio_device *d)
{
    d->status = d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
    d->interrupt_status = 0;
    d->driver_features = 0;
    for (unsigned i = 0; i < SM_VIRTIO_MAX_QUEUES; i++)
        sm_vq_reset(&d->queues[i]);
    if (d->ops->reset)
        d->ops->reset(d);
}

static void set_status(sm_virtio_device *d, uint32_t v)
{
    if (v == 0) {
        reset(d);
        return;
    }
    /* A driver may only add bits (2.1.2); one that clears them without a
     * reset must not turn a live device half off. */
    v |= d->status;
    /* FEATURES_OK sticks only for a subset of what we offered that
     * includes VERSION_1: legacy drivers are not supported. */
    if ((v & SM_VIRTIO_STATUS_FEATURES_OK) && !(d->status & SM_VIRTIO_STATUS_FEATURES_OK) &&
        ((d->driver_features & ~offered(d)) || !(d->driver_features & SM_VIRTIO_F_VERSION_1)))
        v &= ~(uint32_t)SM_VIRTIO_STATUS_FEATURES_OK;
    /* Nothing is served for a driver that never agreed on features. */
    if (!(v & SM_VIRTIO_STATUS_FEATURES_OK))
        v &= ~(uint32_t)SM_VIRTIO_STATUS_DRIVER_OK;
    bool activating = (v & SM_VIRTIO_STATUS_DRIVER_OK) && !(d->status & SM_VIRTIO_STATUS_DRIVER_OK);
    d->status = v;
    if (activating && d->ops->activate)
        d->ops->activate(d);
}

static void set_queue_ready(sm_virtio_device *d, sm_vq *q, uint32_t v)
{
    if (!v) {
        q->ready = false;
        return;
    }
    if (!sm_vq_valid(q, d->env.mem)) {
        sm_debug("%s: queue %u placed outside guest RAM or badly sized", d->ops->name,
                 d->queue_sel);
        d->status |= SM_VIRTIO_STATUS_NEEDS_RESET;
        return;
    }
    q->ready = true;
}

static void set_half(uint64_t *field, bool high, uint32_t v)
{
    *field = high ? (*field & 0xffffffffull) | ((uint64_t)v << 32)
                  : (*field & ~0xffffffffull) | v;
}

static void write_queue_reg(sm_virtio_device *d, uint64_t off, uint32_t v)
{
    sm_vq *q = selected(d);
    if (!q || q->ready)
        return; /* a live queue's layout cannot change */
    switch (off) {
    case REG_QUEUE_NUM: q->size = (uint16_t)(v <= SM_VQ_MAX_SIZE ? v : 0); break;
    case REG_QUEUE_DESC_LOW: case REG_QUEUE_DESC_HIGH:
        set_half(&q->desc_gpa, off == REG_QUEUE_DESC_HIGH, v); break;
    case REG_QUEUE_DRIVER_LOW: case REG_QUEUE_DRIVER_HIGH:
        set_half(&q->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, v); break;
    case REG_QUEUE_DEVICE_LOW: case REG_QUEUE_DEVICE_HIGH:
        set_half(&q->used_gpa, off == REG_QUEUE_DEVICE_HIGH, v); break;
    }
}

/* A notify the ioeventfd did not catch (another access width, say) comes
 * from a vCPU, which never walks rings: that keeps its seccomp list small
 * (src/worker/seccomp_lists.c). It goes to the device thread as the
 * ioeventfd would have sent it. Without wiring (tests, fuzzers) the
 * caller plays the device thread. */
static void kick(sm_virtio_device *d, uint32_t q)
{
    uint64_t one = 1;
    if (d->env.wiring.ioeventfd && d->env.loop && d->notify_fd[q] >= 0) {
        /* Fails only when the counter is full: a kick is pending anyway. */
        ssize_t n = write(d->notify_fd[q], &one, sizeof one);
        (void)n;
        return;
    }
    if (d->ops->notify && (d->status & SM_VIRTIO_STATUS_DRIVER_OK))
        d->ops->notify(d, q);
}

static void write_reg(sm_virtio_device *d, uint64_t off, uint32_t v)
{
    switch (off) {
    case REG_DEVICE_FEATURES_SEL: d->dev_features_sel = v; break;
    case REG_DRIVER_FEATURES_SEL: d->drv_features_sel = v; break;
    case REG_DRIVER_FEATURES:
        if (d->drv_features_sel < 2 && !(d->status & SM_VIRTIO_STATUS_FEATURES_OK))
            set_half(&d->driver_features, d->drv_features_sel == 1, v);
        break;
    case REG_QUEUE_SEL: d->queue_sel = v; break;
    case REG_QUEUE_READY:
        if (selected(d))
            set_queue_ready(d, selected(d), v);
        break;
    case REG_QUEUE_NOTIFY:
        if (v < d->ops->nqueues)
            kick(d, v);
        break;
    case REG_INTERRUPT_ACK: d->interrupt_status &= ~v; break;
    case REG_STATUS: set_status(d, v); break;
    default: write_queue_reg(d, off, v); break;
    }
}

static uint32_t read_reg(sm_virtio_device *d, uint64_t off)
{
    sm_vq *q = selected(d);
    switch (off) {
    case REG_MAGIC: return MAGIC;
    case REG_VERSION: return 2;
    case REG_DEVICE_ID: return d->ops->device_id;
    case REG_VENDOR_ID: return VENDOR;
    case REG_DEVICE_FEATURES:
        return d->dev_features_sel < 2 ? (uint32_t)(offered(d) >> (32 * d->dev_features_sel)) : 0;
    case REG_QUEUE_NUM_MAX: return q ? SM_VQ_MAX_SIZE : 0;
    case REG_QUEUE_READY: return q ? q->ready : 0;
    case REG_INTERRUPT_STATUS: return d->interrupt_status;
    case REG_STATUS: return d->status;
    case REG_CONFIG_GENERATION: return d->config_generation;
    default: return 0;
    }
}

static void config_access(sm_virtio_device *d, uint64_t off, uint8_t *data, uint32_t len,
                          bool write)
{
    uint64_t c = off - REG_CONFIG;
    if (c >= d->ops->config_len || len > d->ops->config_len - c) {
        if (!write)
            memset(data, 0, len);
        return;
    }
    if (write && d->ops->config_write)
        d->ops->config_write(d, (uint32_t)c, data, len);
    else if (!write && d->ops->config_read)
        d->ops->config_read(d, (uint32_t)c, data, len);
    else if (!write)
        memset(data, 0, len);
}

void sm_virtio_mmio_access(void *dev, uint64_t off, uint8_t *data, uint32_t len, bool write)
{
    sm_virtio_device *d = dev;
    pthread_mutex_lock(&d->lock);
    if (off >= REG_CONFIG) {
        config_access(d, off, data, len, write);
    } else if (len != 4 || (off & 3)) {
        /* Registers are 32-bit; other accesses are a driver bug. */
        if (!write)
            memset(data, 0, len);
    } else if (write) {
        uint32_t v;
        memcpy(&v, data, 4);
        write_reg(d, off, v);
    } else {
        uint32_t v = read_reg(d, off);
        memcpy(data, &v, 4);
    }
    pthread_mutex_unlock(&d->lock);
}

void sm_virtio_used_interrupt(sm_virtio_device *d)
{
    d->interrupt_status |= INT_USED_BUFFER;
    uint64_t one = 1;
    if (d->irq_fd >= 0 && write(d->irq_fd, &one, sizeof one) < 0)
        sm_debug("%s: interrupt: %s", d->ops->name, strerror(errno));
}

void sm_virtio_handle_bad(sm_virtio_device *d, sm_vq *q, sm_vq_pop_result r, uint16_t head)
{
    if (r == SM_VQ_BAD_CHAIN) {
        sm_debug("%s: malformed request dropped", d->ops->name);
        sm_vq_push(q, d->env.mem, head, 0);
        sm_virtio_used_interrupt(d);
    } else if (r == SM_VQ_BROKEN) {
        sm_debug("%s: corrupt virtqueue; device needs a reset", d->ops->name);
        d->status |= SM_VIRTIO_STATUS_NEEDS_RESET;
    }
}

void sm_virtio_serve_queue(sm_virtio_device *d, unsigned queue, sm_virtio_request_fn *fn)
{
    sm_vq *q = &d->queues[queue];
    sm_vq_chain c;
    sm_vq_pop_result r;
    bool used = false;
    while ((r = sm_vq_pop(q, d->env.mem, &c)) != SM_VQ_EMPTY) {
        if (r != SM_VQ_CHAIN) {
            sm_virtio_handle_bad(d, q, r, c.head);
            if (r == SM_VQ_BROKEN)
                break;
            continue;
        }
        sm_vq_push(q, d->env.mem, c.head, fn(d, &c));
        used = true;
    }
    if (used && sm_vq_should_notify(q, d->env.mem))
        sm_virtio_used_interrupt(d);
}

/* A notification that KVM took without a vCPU exit. */
static void notify_ready(void *ctx, uint32_t events)
{
    (void)events;
    sm_virtio_device *d = ctx;
    for (unsigned q = 0; q < d->ops->nqueues; q++) {
        uint64_t n;
        if (read(d->notify_fd[q], &n, sizeof n) != sizeof n)
            continue;
        pthread_mutex_lock(&d->lock);
        if (d->ops->notify && (d->status & SM_VIRTIO_STATUS_DRIVER_OK))
            d->ops->notify(d, q);
        pthread_mutex_unlock(&d->lock);
    }
}

static int wire_eventfds(sm_virtio_device *d)
{
    d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->irq_fd < 0)
        return sm_fail(errno, "eventfd: %s", strerror(errno));
    const sm_virtio_wiring *w = &d->env.wiring;
    if (w->irqfd && w->irqfd(w->ctx, d->irq_fd, d->irq) < 0)
        return -EIO;
    for (unsigned q = 0; q < d->ops->nqueues; q++) {
        d->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->notify_fd[q] < 0)
            return sm_fail(errno, "eventfd: %s", strerror(errno));
        int err = 0;
        if (w->ioeventfd)
            err = w->ioeventfd(w->ctx, d->notify_fd[q], d->base + REG_QUEUE_NOTIFY, 4, q);
        if (!err && d->env.loop)
            err = sm_event_loop_add(d->env.loop, d->notify_fd[q], EPOLLIN, notify_ready, d);
        if (err)
            return err;
    }
    return 0;
}

int sm_virtio_mmio_init(sm_virtio_device *d, const sm_virtio_ops *ops, void *priv,
                        const sm_virtio_env *env, uint64_t base, uint32_t irq)
{
    memset(d, 0, sizeof *d);
    if (ops->nqueues > SM_VIRTIO_MAX_QUEUES)
        return sm_fail(EINVAL, "%s: too many queues", ops->name);
    pthread_mutex_init(&d->lock, NULL);
    d->ops = ops;
    d->priv = priv;
    d->env = *env;
    d->base = base;
    d->irq = irq;
    d->irq_fd = -1;
    for (unsigned q = 0; q < SM_VIRTIO_MAX_QUEUES; q++)
        d->notify_fd[q] = -1;
    return wire_eventfds(d);
}

void sm_virtio_mmio_destroy(sm_virtio_device *d)
{
    for (unsigned q = 0; q < SM_VIRTIO_MAX_QUEUES; q++) {
        if (d->notify_fd[q] < 0)
            continue;
        if (d->env.loop)
            sm_event_loop_del(d->env.loop, d->notify_fd[q]);
        close(d->notify_fd[q]);
    }
    if (d->irq_fd >= 0)
        close(d->irq_fd);
    pthread_mutex_destroy(&d->lock);
}

void sm_virtio_mmio_drain(sm_virtio_device *d)
{
    pthread_mutex_lock(&d->lock);
    for (unsigned q = 0; q < d->ops->nqueues; q++)
        if (d->ops->notify && (d->status & SM_VIRTIO_STATUS_DRIVER_OK))
            d->ops->notify(d, q);
    pthread_mutex_unlock(&d->lock);
}

int sm_virtio_mmio_cmdline(const sm_virtio_device *d, char *buf, size_t len)
{
    int n = snprintf(buf, len, "virtio_mmio.device=4K@0x%llx:%u",
                     (unsigned long long)d->base, d->irq);
    return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}
