#include "devices/virtio/virtio_blk.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/error.h"

#define VIRTIO_ID_BLOCK 2
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define SECTOR 512ull
#define HEADER 16
#define SEG_MAX (SM_VQ_MAX_CHAIN - 2)

struct __attribute__((packed)) blk_config {
    uint64_t capacity;
    uint32_t size_max;
    uint32_t seg_max;
};

static sm_virtio_blk *blk_of(sm_virtio_device *d)
{
    return d->priv;
}

static uint8_t do_rw(sm_virtio_blk *b, const sm_vq_chain *c, uint32_t type, uint64_t sector,
                     uint32_t *written)
{
    bool in = type == T_IN;
    uint64_t len = in ? c->write_len - 1 : c->read_len - HEADER;
    if (!in && b->read_only)
        return S_IOERR;
    if (len % SECTOR || sector > b->sectors || len / SECTOR > b->sectors - sector)
        return S_IOERR;
    struct iovec iov[SM_VQ_MAX_CHAIN];
    unsigned n = sm_vq_chain_iov(c, in, in ? 0 : HEADER, len, iov, SM_VQ_MAX_CHAIN);
    off_t off = (off_t)(sector * SECTOR);
    uint64_t done = 0;
    while (done < len) {
        ssize_t r = in ? preadv(b->fd, iov, (int)n, off + (off_t)done)
                       : pwritev(b->fd, iov, (int)n, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return S_IOERR;
        done += (uint64_t)r;
        /* Short transfers are rare on regular files; step past them. */
        while (n && (uint64_t)r >= iov[0].iov_len) {
            r -= (ssize_t)iov[0].iov_len;
            memmove(iov, iov + 1, --n * sizeof iov[0]);
        }
        if (n && r) {
            iov[0].iov_base = (uint8_t *)iov[0].iov_base + r;
            iov[0].iov_len -= (size_t)r;
        }
    }
    if (in)
        *written = (uint32_t)len;
    return S_OK;
}

static uint8_t handle(sm_virtio_blk *b, const sm_vq_chain *c, uint32_t *written)
{
    struct { uint32_t type, reserved; uint64_t sector; } h;
    if (c->nwrite == 0 || sm_vq_chain_read(c, 0, &h, HEADER) != HEADER)
        return S_IOERR;
    switch (h.type) {
    case T_IN:
    case T_OUT:
        return do_rw(b, c, h.type, h.sector, written);
    case T_FLUSH:
        return b->read_only || fdatasync(b->fd) == 0 ? S_OK : S_IOERR;
    case T_GET_ID:
        if (c->write_len < 1 + sizeof b->id)
            return S_IOERR;
        *written = (uint32_t)sm_vq_chain_write(c, 0, b->id, sizeof b->id);
        return S_OK;
    default:
        return S_UNSUPP;
    }
}

static uint32_t serve(sm_virtio_device *d, const sm_vq_chain *c)
{
    uint32_t written = 0;
    uint8_t status = handle(blk_of(d), c, &written);
    if (!c->nwrite)
        return 0;
    /* The status byte is the chain's last writable byte. */
    sm_vq_chain_write(c, c->write_len - 1, &status, 1);
    return written + 1;
}

static void blk_notify(sm_virtio_device *d, unsigned queue)
{
    sm_virtio_serve_queue(d, queue, serve);
}

static void blk_config_read(sm_virtio_device *d, uint32_t off, uint8_t *data, uint32_t len)
{
    sm_virtio_blk *b = blk_of(d);
    struct blk_config cfg = {.capacity = b->sectors, .seg_max = SEG_MAX};
    memcpy(data, (uint8_t *)&cfg + off, len);
}

static const sm_virtio_ops blk_ops_rw = {
    .name = "virtio-blk", .device_id = VIRTIO_ID_BLOCK,
    .features = VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_SEG_MAX, .nqueues = 1,
    .config_len = sizeof(struct blk_config), .config_read = blk_config_read,
    .notify = blk_notify,
};

static const sm_virtio_ops blk_ops_ro = {
    .name = "virtio-blk", .device_id = VIRTIO_ID_BLOCK,
    .features = VIRTIO_BLK_F_RO | VIRTIO_BLK_F_SEG_MAX, .nqueues = 1,
    .config_len = sizeof(struct blk_config), .config_read = blk_config_read,
    .notify = blk_notify,
};

int sm_virtio_blk_init(sm_virtio_blk *b, const char *path, bool read_only, const char *id,
                       const sm_virtio_env *env, uint64_t base, uint32_t irq)
{
    memset(b, 0, sizeof *b);
    b->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (b->fd < 0)
        return sm_fail(errno, "cannot open disk image '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)SECTOR) {
        close(b->fd);
        b->fd = -1;
        return sm_fail(EINVAL, "disk image '%s' is not a regular file of at least 512 bytes",
                       path);
    }
    b->read_only = read_only;
    b->sectors = (uint64_t)st.st_size / SECTOR;
    strncpy(b->id, id ? id : "", sizeof b->id);
    return sm_virtio_mmio_init(&b->dev, read_only ? &blk_ops_ro : &blk_ops_rw, b, env,
                               base, irq);
}

void sm_virtio_blk_destroy(sm_virtio_blk *b)
{
    sm_virtio_mmio_destroy(&b->dev);
    if (b->fd >= 0)
        close(b->fd);
}
