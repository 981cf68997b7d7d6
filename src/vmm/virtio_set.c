#include "vmm/virtio_set.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_9p.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_rng.h"
#include "devices/net_tap.h"
#include "util/error.h"

/* Where the next device goes: its window and line. */
typedef struct place {
    const sm_machine_config *cfg;
    const sm_virtio_env *env;
    uint64_t base;
    uint32_t irq;
} place;

/* A kind of device: how many of it cfg asks for, and how to make the
 * i-th into *slot (its object allocated, its transport initialised). */
typedef struct kind {
    unsigned (*count)(const sm_machine_config *cfg);
    int (*add)(sm_virtio_set *s, const place *p, unsigned i, sm_virtio_slot *slot);
} kind;

static void *alloc_obj(size_t size, sm_virtio_slot *slot, void (*destroy)(void *))
{
    void *obj = calloc(1, size);
    if (!obj)
        sm_fail(ENOMEM, "out of memory");
    *slot = (sm_virtio_slot){.obj = obj, .destroy = destroy};
    return obj;
}

/* Every destroy frees its object; one that failed half-way was set to
 * what it could undo (the device files' own init cleans up after itself). */
static void destroy_blk(void *obj)
{
    sm_virtio_blk_destroy(obj);
    free(obj);
}

static unsigned count_disks(const sm_machine_config *cfg)
{
    return cfg->ndisks;
}

static int add_disk(sm_virtio_set *s, const place *p, unsigned i, sm_virtio_slot *slot)
{
    (void)s;
    char id[24];
    snprintf(id, sizeof id, "sm-disk-%u", i);
    sm_virtio_blk *b = alloc_obj(sizeof *b, slot, free);
    if (!b)
        return -ENOMEM;
    const sm_machine_disk *d = &p->cfg->disks[i];
    int err = sm_virtio_blk_init(b, d->path, d->read_only, id, p->env, p->base, p->irq);
    if (!err)
        *slot = (sm_virtio_slot){&b->dev, b, destroy_blk};
    return err;
}

static void destroy_rng(void *obj)
{
    sm_virtio_mmio_destroy(obj);
    free(obj);
}

static unsigned one(const sm_machine_config *cfg)
{
    (void)cfg;
    return 1;
}

static int add_rng(sm_virtio_set *s, const place *p, unsigned i, sm_virtio_slot *slot)
{
    (void)s, (void)i;
    sm_virtio_device *d = alloc_obj(sizeof *d, slot, free);
    if (!d)
        return -ENOMEM;
    int err = sm_virtio_mmio_init(d, &sm_virtio_rng_ops, NULL, p->env, p->base, p->irq);
    if (!err)
        *slot = (sm_virtio_slot){d, d, destroy_rng};
    return err;
}

static void destroy_vsock(void *obj)
{
    sm_virtio_vsock_destroy(obj);
    free(obj);
}

static unsigned count_vsock(const sm_machine_config *cfg)
{
    return cfg->vsock_dir != NULL;
}

static int add_vsock(sm_virtio_set *s, const place *p, unsigned i, sm_virtio_slot *slot)
{
    (void)i;
    sm_virtio_vsock *v = alloc_obj(sizeof *v, slot, free);
    if (!v)
        return -ENOMEM;
    int err = sm_virtio_vsock_init(v, p->cfg->guest_cid ? p->cfg->guest_cid : 3,
                                   p->cfg->vsock_dir, p->env, p->base, p->irq);
    if (!err) {
        *slot = (sm_virtio_slot){&v->dev, v, destroy_vsock};
        s->vsock = v;
    }
    return err;
}

static void destroy_9p(void *obj)
{
    sm_virtio_9p_destroy(obj);
    free(obj);
}

static unsigned count_shares(const sm_machine_config *cfg)
{
    return cfg->nshares;
}

static int add_share(sm_virtio_set *s, const place *p, unsigned i, sm_virtio_slot *slot)
{
    sm_virtio_9p *d = alloc_obj(sizeof *d, slot, free);
    if (!d)
        return -ENOMEM;
    const sm_machine_share *sh = &p->cfg->shares[i];
    int err = sm_virtio_9p_init(d, sh->path, sh->tag, sh->read_only, p->env, p->base, p->irq);
    if (!err) {
        *slot = (sm_virtio_slot){&d->dev, d, destroy_9p};
        s->nshares++;
    }
    return err;
}

/* As slirp4netns: near the 64 KiB IP limit, so bulk data crosses in few
 * large frames; per-frame work dominates both slirp and the guest. */
#define NET_MTU 65520

/* The NIC and the user-mode NAT or the tap behind it (one of them). */
typedef struct nic {
    sm_virtio_net net;
    sm_net_slirp *slirp;
    sm_net_tap *tap;
    bool net_made;
} nic;

static int deliver_to_guest(void *net, const void *frame, size_t len)
{
    return sm_virtio_net_receive(net, frame, len);
}

static void resume_guest_tx(void *net)
{
    sm_virtio_net_tx_resume(net);
}

static void destroy_nic(void *obj)
{
    nic *n = obj;
    /* The network thread delivers into the NIC: it goes first. */
    sm_net_slirp_free(n->slirp);
    sm_net_tap_free(n->tap);
    if (n->net_made)
        sm_virtio_net_destroy(&n->net);
    free(n);
}

static unsigned count_nic(const sm_machine_config *cfg)
{
    return cfg->net_user || cfg->tap;
}

/* A published port the host cannot give fails the machine here, before
 * it boots. */
static int add_slirp(nic *n, const place *p)
{
    /* Locally administered, and the same for every VM: each has a
     * network of its own. */
    static const uint8_t mac[6] = {0x02, 0x53, 0x4d, 0x00, 0x00, 0x01};
    int err = sm_net_slirp_new(p->cfg->ports, p->cfg->nports, NET_MTU, &n->slirp);
    sm_net_backend backend = {.send = sm_net_slirp_send, .ctx = n->slirp};
    if (!err && (err = sm_virtio_net_init(&n->net, mac, NET_MTU, &backend, p->env, p->base,
                                          p->irq)) == 0)
        n->net_made = true;
    if (err)
        return err;
    sm_net_slirp_peer peer = {.deliver = deliver_to_guest, .resume = resume_guest_tx,
                              .ctx = &n->net};
    memcpy(peer.guest_mac, mac, sizeof mac);
    return sm_net_slirp_start(n->slirp, &peer);
}

/* The namespace interface's MAC and MTU: the guest takes its place. */
static int add_tap(nic *n, const place *p)
{
    const sm_machine_tap *t = p->cfg->tap;
    int fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return sm_fail(errno, "the network's tap (fd %d): %s", t->fd, strerror(errno));
    int err = sm_net_tap_new(fd, t->mtu, &n->tap);
    sm_net_backend backend = {.send = sm_net_tap_send, .ctx = n->tap};
    if (!err && (err = sm_virtio_net_init(&n->net, t->mac, t->mtu, &backend, p->env, p->base,
                                          p->irq)) == 0)
        n->net_made = true;
    if (err)
        return err;
    sm_net_tap_peer peer = {.deliver = deliver_to_guest, .resume = resume_guest_tx,
                            .ctx = &n->net};
    return sm_net_tap_start(n->tap, &peer);
}

static int add_nic(sm_virtio_set *s, const place *p, unsigned i, sm_virtio_slot *slot)
{
    (void)i;
    nic *n = alloc_obj(sizeof *n, slot, destroy_nic);
    if (!n)
        return -ENOMEM;
    s->tap = p->cfg->tap != NULL;
    int err = s->tap ? add_tap(n, p) : add_slirp(n, p);
    if (n->net_made)
        slot->dev = &n->net.dev;
    return err;
}

/* The order is the guest's: disks first (the first is vda), and the
 * order of a snapshot's device sections. */
static const kind kinds[] = {
    {count_disks, add_disk},
    {one, add_rng},
    {count_vsock, add_vsock},
    {count_shares, add_share},
    {count_nic, add_nic},
};

static int declare(sm_virtio_device *d, sm_mmio_bus *bus, char *cmdline, size_t len)
{
    char word[96];
    int err = sm_mmio_register(bus, d->base, SM_VIRTIO_MMIO_SIZE, sm_virtio_mmio_access, d);
    if (!err && sm_virtio_mmio_cmdline(d, word, sizeof word) == 0) {
        size_t used = strlen(cmdline);
        if (used + 1 + strlen(word) >= len)
            return sm_fail(E2BIG, "the kernel command line is too long for all devices");
        snprintf(cmdline + used, len - used, " %s", word);
    }
    return err;
}

static int add_one(sm_virtio_set *s, const kind *k, place *p, unsigned i, sm_mmio_bus *bus,
                   char *cmdline, size_t len)
{
    if (s->count == SM_VIRTIO_MAX_DEVICES)
        return sm_fail(ENOSPC, "too many virtio devices (at most %d)", SM_VIRTIO_MAX_DEVICES);
    p->base = SM_VIRTIO_MMIO_BASE + (uint64_t)s->count * SM_VIRTIO_MMIO_SIZE;
    p->irq = SM_VIRTIO_FIRST_IRQ + s->count;
    sm_virtio_slot *slot = &s->slots[s->count];
    int err = k->add(s, p, i, slot);
    if (slot->obj)
        s->count++;  /* placed, even half-made: the destroy undoes it */
    return err ? err : declare(slot->dev, bus, cmdline, len);
}

int sm_virtio_set_create(sm_virtio_set *s, const sm_machine_config *cfg,
                         const sm_virtio_env *env, sm_mmio_bus *bus, char *cmdline,
                         size_t cmdline_len)
{
    memset(s, 0, sizeof *s);
    place p = {.cfg = cfg, .env = env};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        unsigned n = kinds[k].count(cfg);
        for (unsigned i = 0; i < n; i++) {
            int err = add_one(s, &kinds[k], &p, i, bus, cmdline, cmdline_len);
            if (err)
                return err;
        }
    }
    return 0;
}

void sm_virtio_set_destroy(sm_virtio_set *s)
{
    for (unsigned i = 0; i < s->count; i++)
        s->slots[i].destroy(s->slots[i].obj);
    memset(s, 0, sizeof *s);
}

unsigned sm_virtio_set_list(sm_virtio_set *s, sm_virtio_device **out)
{
    for (unsigned i = 0; i < s->count; i++)
        out[i] = s->slots[i].dev;
    return s->count;
}
