#include "devices/virtio/virtio_9p.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "devices/p9/p9_fid.h"
#include "devices/p9/p9_proto.h"
#include "util/error.h"

#define VIRTIO_ID_9P 9
#define VIRTIO_9P_MOUNT_TAG (1ull << 0)

/* config: u16 tag_len, then the tag's bytes (no NUL) */
#define CONFIG_LEN (2 + SM_VIRTIO_9P_TAG_MAX)

static uint32_t serve(sm_virtio_device *d, const sm_vq_chain *c)
{
    sm_virtio_9p *p = d->priv;
    uint64_t in = c->read_len < SM_P9_MAX_MSIZE ? c->read_len : SM_P9_MAX_MSIZE;
    uint64_t room = c->write_len < SM_P9_MAX_MSIZE ? c->write_len : SM_P9_MAX_MSIZE;
    size_t len = (size_t)sm_vq_chain_read(c, 0, p->req, in);
    /* A message with no room for its reply, or none at all, goes back
     * empty: the server answers nothing it cannot address. */
    size_t n = sm_p9_server_handle(p->server, p->req, len, p->reply, (size_t)room);
    return (uint32_t)sm_vq_chain_write(c, 0, p->reply, n);
}

static void p9_notify(sm_virtio_device *d, unsigned queue)
{
    sm_virtio_serve_queue(d, queue, serve);
}

static void p9_config_read(sm_virtio_device *d, uint32_t off, uint8_t *data, uint32_t len)
{
    sm_virtio_9p *p = d->priv;
    uint8_t cfg[CONFIG_LEN] = {(uint8_t)p->tag_len, (uint8_t)(p->tag_len >> 8)};
    memcpy(cfg + 2, p->tag, p->tag_len);
    memcpy(data, cfg + off, len);
}

static const sm_virtio_ops p9_ops = {
    .name = "virtio-9p", .device_id = VIRTIO_ID_9P, .features = VIRTIO_9P_MOUNT_TAG,
    .nqueues = 1, .config_len = CONFIG_LEN, .config_read = p9_config_read,
    .notify = p9_notify,
};

/* Each fid the guest holds is a host fd or up to three: use the hard
 * limit, and give this export its share of it. */
static unsigned fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t share = rl.rlim_cur / SM_VIRTIO_9P_FD_SHARE;
    return share < SM_P9_MAX_FDS ? (unsigned)(share ? share : 1) : SM_P9_MAX_FDS;
}

int sm_virtio_9p_init(sm_virtio_9p *p, const char *host_path, const char *tag, bool read_only,
                      const sm_virtio_env *env, uint64_t base, uint32_t irq)
{
    memset(p, 0, sizeof *p);
    size_t tag_len = strlen(tag);
    if (tag_len == 0 || tag_len > SM_VIRTIO_9P_TAG_MAX)
        return sm_fail(EINVAL, "a 9p mount tag has 1 to %d characters, not %zu",
                       SM_VIRTIO_9P_TAG_MAX, tag_len);
    memcpy(p->tag, tag, tag_len);
    p->tag_len = (uint16_t)tag_len;
    p->req = malloc(SM_P9_MAX_MSIZE);
    p->reply = malloc(SM_P9_MAX_MSIZE);
    int err = p->req && p->reply ? 0 : sm_fail(ENOMEM, "out of memory");
    if (!err)
        err = sm_p9_server_create(host_path, read_only, &p->server);
    if (!err) {
        sm_p9_server_limit_fds(p->server, fd_budget());
        err = sm_virtio_mmio_init(&p->dev, &p9_ops, p, env, base, irq);
        if (err)
            sm_virtio_mmio_destroy(&p->dev);
    }
    if (err) {
        sm_p9_server_destroy(p->server);
        free(p->req);
        free(p->reply);
        memset(p, 0, sizeof *p);
    }
    return err;
}

void sm_virtio_9p_destroy(sm_virtio_9p *p)
{
    sm_virtio_mmio_destroy(&p->dev);
    sm_p9_server_destroy(p->server);
    free(p->req);
    free(p->reply);
    p->server = NULL;
    p->req = p->reply = NULL;
}
