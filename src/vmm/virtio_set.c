#include "vmm/virtio_set.h"

#include <stdio.h>
#include <string.h>

#include "devices/virtio/virtio_rng.h"
#include "util/error.h"

static int declare(sm_virtio_set *s, sm_virtio_device *d, sm_mmio_bus *bus, char *cmdline,
                   size_t len)
{
    char word[96];
    int err = sm_mmio_register(bus, d->base, SM_VIRTIO_MMIO_SIZE, sm_virtio_mmio_access, d);
    if (!err && sm_virtio_mmio_cmdline(d, word, sizeof word) == 0) {
        size_t used = strlen(cmdline);
        if (used + 1 + strlen(word) >= len)
            return sm_fail(E2BIG, "the kernel command line is too long for all devices");
        snprintf(cmdline + used, len - used, " %s", word);
    }
    s->count++;
    return err;
}

static int next_slot(const sm_virtio_set *s, uint64_t *base, uint32_t *irq)
{
    if (s->count == SM_VIRTIO_MAX_DEVICES)
        return sm_fail(ENOSPC, "too many virtio devices (at most %d)", SM_VIRTIO_MAX_DEVICES);
    *base = SM_VIRTIO_MMIO_BASE + (uint64_t)s->count * SM_VIRTIO_MMIO_SIZE;
    *irq = SM_VIRTIO_FIRST_IRQ + s->count;
    return 0;
}

static int add_disks(sm_virtio_set *s, const sm_machine_config *cfg, const sm_virtio_env *env,
                     sm_mmio_bus *bus, char *cmdline, size_t len)
{
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        uint64_t base = 0;
        uint32_t irq = 0;
        char id[24];
        snprintf(id, sizeof id, "sm-disk-%u", i);
        int err = next_slot(s, &base, &irq);
        if (!err)
            err = sm_virtio_blk_init(&s->disks[i], cfg->disks[i].path, cfg->disks[i].read_only,
                                     id, env, base, irq);
        if (err)
            return err;
        s->ndisks++;
        if ((err = declare(s, &s->disks[i].dev, bus, cmdline, len)) != 0)
            return err;
    }
    return 0;
}

static int add_vsock(sm_virtio_set *s, const sm_machine_config *cfg, const sm_virtio_env *env,
                     sm_mmio_bus *bus, char *cmdline, size_t len)
{
    uint64_t base = 0;
    uint32_t irq = 0;
    int err = next_slot(s, &base, &irq);
    if (!err)
        err = sm_virtio_vsock_init(&s->vsock, cfg->guest_cid ? cfg->guest_cid : 3,
                                   cfg->vsock_dir, env, base, irq);
    if (err)
        return err;
    s->has_vsock = 1;
    return declare(s, &s->vsock.dev, bus, cmdline, len);
}

/* As slirp4netns: near the 64 KiB IP limit, so bulk data crosses in few
 * large frames; per-frame work dominates both slirp and the guest. */
#define NET_MTU 65520

static int deliver_to_guest(void *net, const void *frame, size_t len)
{
    return sm_virtio_net_receive(net, frame, len);
}

static void resume_guest_tx(void *net)
{
    sm_virtio_net_tx_resume(net);
}

/* The NIC and its user-mode NAT; a published port the host cannot give
 * fails the machine here, before it boots. */
static int add_net(sm_virtio_set *s, const sm_machine_config *cfg, const sm_virtio_env *env,
                   sm_mmio_bus *bus, char *cmdline, size_t len)
{
    /* Locally administered, and the same for every VM: each has a
     * network of its own. */
    static const uint8_t mac[6] = {0x02, 0x53, 0x4d, 0x00, 0x00, 0x01};
    uint64_t base = 0;
    uint32_t irq = 0;
    int err = next_slot(s, &base, &irq);
    if (!err)
        err = sm_net_slirp_new(cfg->ports, cfg->nports, NET_MTU, &s->slirp);
    if (err)
        return err;
    sm_net_backend backend = {.send = sm_net_slirp_send, .ctx = s->slirp};
    if ((err = sm_virtio_net_init(&s->net, mac, NET_MTU, &backend, env,
                                  base, irq)) != 0)
        return err;
    s->has_net = 1;
    if ((err = declare(s, &s->net.dev, bus, cmdline, len)) != 0)
        return err;
    sm_net_slirp_peer peer = {.deliver = deliver_to_guest, .resume = resume_guest_tx,
                              .ctx = &s->net};
    return sm_net_slirp_start(s->slirp, &peer);
}

static int add_shares(sm_virtio_set *s, const sm_machine_config *cfg, const sm_virtio_env *env,
                      sm_mmio_bus *bus, char *cmdline, size_t len)
{
    if (cfg->nshares > SM_MACHINE_MAX_SHARES)
        return sm_fail(EINVAL, "at most %d shared directories or files", SM_MACHINE_MAX_SHARES);
    for (unsigned i = 0; i < cfg->nshares; i++) {
        const sm_machine_share *sh = &cfg->shares[i];
        uint64_t base = 0;
        uint32_t irq = 0;
        int err = next_slot(s, &base, &irq);
        if (!err)
            err = sm_virtio_9p_init(&s->shares[i], sh->path, sh->tag, sh->read_only, env, base,
                                    irq);
        if (err)
            return err;
        s->nshares++;
        if ((err = declare(s, &s->shares[i].dev, bus, cmdline, len)) != 0)
            return err;
    }
    return 0;
}

int sm_virtio_set_create(sm_virtio_set *s, const sm_machine_config *cfg,
                         const sm_virtio_env *env, sm_mmio_bus *bus, char *cmdline,
                         size_t cmdline_len)
{
    memset(s, 0, sizeof *s);
    if (cfg->ndisks > SM_MACHINE_MAX_DISKS)
        return sm_fail(EINVAL, "at most %d disks", SM_MACHINE_MAX_DISKS);
    int err = add_disks(s, cfg, env, bus, cmdline, cmdline_len);
    uint64_t base = 0;
    uint32_t irq = 0;
    if (!err)
        err = next_slot(s, &base, &irq);
    if (!err)
        err = sm_virtio_mmio_init(&s->rng, &sm_virtio_rng_ops, NULL, env, base, irq);
    if (!err) {
        s->has_rng = 1;
        err = declare(s, &s->rng, bus, cmdline, cmdline_len);
    }
    if (!err && cfg->vsock_dir)
        err = add_vsock(s, cfg, env, bus, cmdline, cmdline_len);
    if (!err)
        err = add_shares(s, cfg, env, bus, cmdline, cmdline_len);
    if (!err && cfg->net_user)
        err = add_net(s, cfg, env, bus, cmdline, cmdline_len);
    return err;
}

void sm_virtio_set_destroy(sm_virtio_set *s)
{
    for (unsigned i = 0; i < s->ndisks; i++)
        sm_virtio_blk_destroy(&s->disks[i]);
    if (s->has_rng)
        sm_virtio_mmio_destroy(&s->rng);
    if (s->has_vsock)
        sm_virtio_vsock_destroy(&s->vsock);
    for (unsigned i = 0; i < s->nshares; i++)
        sm_virtio_9p_destroy(&s->shares[i]);
    /* The network thread delivers into the NIC: it goes first. */
    sm_net_slirp_free(s->slirp);
    if (s->has_net)
        sm_virtio_net_destroy(&s->net);
    memset(s, 0, sizeof *s);
}

unsigned sm_virtio_set_list(sm_virtio_set *s, sm_virtio_device **out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->ndisks; i++)
        out[n++] = &s->disks[i].dev;
    if (s->has_rng)
        out[n++] = &s->rng;
    if (s->has_vsock)
        out[n++] = &s->vsock.dev;
    for (unsigned i = 0; i < s->nshares; i++)
        out[n++] = &s->shares[i].dev;
    if (s->has_net)
        out[n++] = &s->net.dev;
    /* Slots were handed out in creation order, which the list above
     * follows; sort by window anyway so the order is the guest's. */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && out[j - 1]->base > out[j]->base; j--) {
            sm_virtio_device *t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}
