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
    memset(s, 0, sizeof *s);
}
