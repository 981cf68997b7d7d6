/*
 * The virtio-mmio transport, version 2 ("modern") registers (virtio 1.2
 * section 4.2.2). A device model supplies an ops table; the transport owns
 * feature negotiation, the queues, notifications (ioeventfd) and
 * interrupts (irqfd).
 */
#ifndef SM_DEVICES_VIRTIO_VIRTIO_MMIO_H
#define SM_DEVICES_VIRTIO_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtqueue.h"
#include "util/event_loop.h"
#include "memory/guest_mem.h"

#define SM_VIRTIO_MMIO_SIZE 0x1000
#define SM_VIRTIO_MAX_QUEUES 4
#define SM_VIRTIO_F_VERSION_1 (1ull << 32)

#define SM_VIRTIO_STATUS_ACKNOWLEDGE 1
#define SM_VIRTIO_STATUS_DRIVER 2
#define SM_VIRTIO_STATUS_DRIVER_OK 4
#define SM_VIRTIO_STATUS_FEATURES_OK 8
#define SM_VIRTIO_STATUS_NEEDS_RESET 0x40
#define SM_VIRTIO_STATUS_FAILED 0x80

typedef struct sm_virtio_device sm_virtio_device;

/* Every callback runs with the device's lock held. */
typedef struct sm_virtio_ops {
    const char *name;
    uint32_t device_id;
    uint64_t features;              /* offered; VERSION_1 is added */
    unsigned nqueues;
    uint32_t config_len;
    void (*config_read)(sm_virtio_device *d, uint32_t off, uint8_t *data, uint32_t len);
    void (*config_write)(sm_virtio_device *d, uint32_t off, const uint8_t *data, uint32_t len);
    void (*notify)(sm_virtio_device *d, unsigned queue);
    void (*activate)(sm_virtio_device *d);
    void (*reset)(sm_virtio_device *d);
    /* Device state beyond the transport's, for snapshots (both may be
     * NULL: none). save returns the bytes written (at most max). */
    size_t (*state_save)(sm_virtio_device *d, uint8_t *out, size_t max);
    int (*state_restore)(sm_virtio_device *d, const uint8_t *in, size_t len);
} sm_virtio_ops;

/* How a device's eventfds reach the guest without a vCPU exit, when the
 * hypervisor can do it: `irqfd` makes a write to fd raise interrupt line
 * irq; `ioeventfd` makes a guest write of `len` bytes equal to `value` at
 * MMIO address `addr` signal fd. */
typedef struct sm_virtio_wiring {
    int (*irqfd)(void *ctx, int fd, uint32_t irq);
    int (*ioeventfd)(void *ctx, int fd, uint64_t addr, uint32_t len, uint64_t value);
    void *ctx;
} sm_virtio_wiring;

/* What the VMM lends a device: the guest's RAM, the loop its eventfds are
 * served on, and their wiring. Without wiring (unit tests: its functions
 * NULL) notifications arrive only through MMIO writes and interrupts go
 * to irq_fd alone. */
typedef struct sm_virtio_env {
    const sm_gmem *mem;
    sm_event_loop *loop;
    sm_virtio_wiring wiring;
} sm_virtio_env;

struct sm_virtio_device {
    pthread_mutex_t lock;
    const sm_virtio_ops *ops;
    void *priv;
    sm_virtio_env env;
    uint64_t base;
    uint32_t irq;
    uint32_t status, dev_features_sel, drv_features_sel, queue_sel;
    uint32_t interrupt_status, config_generation;
    uint64_t driver_features;
    sm_vq queues[SM_VIRTIO_MAX_QUEUES];
    int notify_fd[SM_VIRTIO_MAX_QUEUES];
    int irq_fd;
};

int sm_virtio_mmio_init(sm_virtio_device *d, const sm_virtio_ops *ops, void *priv,
                        const sm_virtio_env *env, uint64_t base, uint32_t irq);
void sm_virtio_mmio_destroy(sm_virtio_device *d);

/* Serve once every queue of a device whose guest has stopped: what it
 * handed over before (vsock bytes, network frames) still goes out. */
void sm_virtio_mmio_drain(sm_virtio_device *d);

/* The sm_mmio_fn for the device's register window. */
void sm_virtio_mmio_access(void *dev, uint64_t offset, uint8_t *data, uint32_t len, bool write);

/* Tell the driver that used buffers are ready (lock held). */
void sm_virtio_used_interrupt(sm_virtio_device *d);

/* Serve every available request of a queue (lock held): fn gets each
 * valid chain and returns how many bytes it wrote into it; malformed ones
 * go back empty; a corrupt ring stops the queue. One interrupt at the
 * end, if the driver wants it. */
typedef uint32_t sm_virtio_request_fn(sm_virtio_device *d, const sm_vq_chain *c);
void sm_virtio_serve_queue(sm_virtio_device *d, unsigned queue, sm_virtio_request_fn *fn);

/* Give back a malformed request and mark a corrupt ring (lock held). */
void sm_virtio_handle_bad(sm_virtio_device *d, sm_vq *q, sm_vq_pop_result r, uint16_t head);

/* The kernel command-line word declaring this device. */
int sm_virtio_mmio_cmdline(const sm_virtio_device *d, char *buf, size_t len);

#endif
