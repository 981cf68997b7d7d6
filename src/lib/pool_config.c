/* A pool's configuration, checked and copied: its VMs start long after
 * sm_pool_new returns, from the pool's threads, so nothing of the caller's
 * may be pointed to then. What cannot work for many VMs side by side is
 * refused here, with what to do instead. */
#include <stdlib.h>
#include <string.h>

#include "lib/abi.h"
#include "lib/pool.h"
#include "lib/vm_shares.h"
#include "util/error.h"
#include "vmm/machine.h"

#define MAX_VMS 4096
#define DEFAULT_PARALLEL_STARTS 4
_Static_assert(SM_MACHINE_MAX_DISKS == SM_VM_MAX_SHARES, "one limit in the message below");

/* Every pointer of sm_vm_config is copied below (or refused). A new field
 * that points at something must be copied too: then update this size. */
_Static_assert(sizeof(sm_vm_config) == 208,
               "sm_vm_config changed: copy its new pointer fields in pool_config.c");

/* *to becomes a copy of from (NULL stays NULL). */
static int copy_str(const char **to, const char *from)
{
    *to = from ? strdup(from) : NULL;
    return from && !*to ? -ENOMEM : 0;
}

static int copy_disks(sm_vm_config *c, const sm_vm_config *in)
{
    sm_disk *d = in->ndisks ? calloc(in->ndisks, sizeof *d) : NULL;
    if (in->ndisks && !d)
        return -ENOMEM;
    c->disks = d, c->ndisks = in->ndisks;
    for (unsigned i = 0; i < in->ndisks; i++) {
        d[i].read_only = in->disks[i].read_only;
        if (copy_str(&d[i].path, in->disks[i].path))
            return -ENOMEM;
    }
    return 0;
}

static int copy_tmpfs(sm_vm_config *c, const sm_vm_config *in)
{
    sm_tmpfs *t = in->ntmpfs ? calloc(in->ntmpfs, sizeof *t) : NULL;
    if (in->ntmpfs && !t)
        return -ENOMEM;
    c->tmpfs = t, c->ntmpfs = in->ntmpfs;
    for (unsigned i = 0; i < in->ntmpfs; i++)
        if (copy_str(&t[i].path, in->tmpfs[i].path) ||
            copy_str(&t[i].options, in->tmpfs[i].options))
            return -ENOMEM;
    return 0;
}

static int copy_shares(sm_vm_config *c, const sm_vm_config *in)
{
    sm_share *s = in->nshares ? calloc(in->nshares, sizeof *s) : NULL;
    if (in->nshares && !s)
        return -ENOMEM;
    c->shares = s, c->nshares = in->nshares;
    for (unsigned i = 0; i < in->nshares; i++) {
        s[i].read_only = in->shares[i].read_only;
        if (copy_str(&s[i].host_path, in->shares[i].host_path) ||
            copy_str(&s[i].guest_path, in->shares[i].guest_path))
            return -ENOMEM;
    }
    return 0;
}

/* Before the copy: pointers here are still the caller's. */
static int check_vm(const sm_vm_config *c)
{
    if (c->detached)
        return sm_fail(EINVAL, "a pool cannot hold detached VMs: it stops every VM it "
                       "started; leave detached unset in the pool's VM config");
    if (c->name)
        return sm_fail(EINVAL, "VMs of a pool cannot be named '%s': a name belongs to one VM "
                       "and a pool starts many; leave name unset", c->name);
    if (c->upper_disk)
        return sm_fail(EINVAL, "VMs of a pool cannot keep their writable layer in '%s': "
                       "each VM must start fresh and no two can share that file; leave "
                       "upper_disk unset", c->upper_disk);
    if (c->root_dir)
        return sm_fail(EINVAL, "VMs of a pool cannot have a root directory (%s): they run "
                       "side by side and each must start fresh; give the pool an image",
                       c->root_dir);
    if (c->nports)
        return sm_fail(EINVAL, "VMs of a pool cannot publish host ports: they run side by "
                       "side and only one can have a port; use sm_vm_expose_tcp on an "
                       "acquired VM");
    if (c->network == SM_NETWORK_NETNS)
        return sm_fail(EINVAL, "VMs of a pool cannot share a network namespace: each takes "
                       "over its interface's address; start them with sm_vm_start, each in "
                       "a namespace of its own");
    /* Checked now, not at each start: every start would fail the same way. */
    if (c->ndisks > SM_MACHINE_MAX_DISKS || c->nshares > SM_VM_MAX_SHARES)
        return sm_fail(EINVAL, "%u disks and %u shares: a VM takes at most %d of each",
                       c->ndisks, c->nshares, SM_MACHINE_MAX_DISKS);
    for (unsigned i = 0; c->disks && i < c->ndisks; i++)
        if (!c->disks[i].read_only)
            return sm_fail(EINVAL, "disk %s is writable: VMs of a pool run side by side and "
                           "would corrupt it; set read_only",
                           c->disks[i].path ? c->disks[i].path : "(null)");
    if (c->ndisks && !c->disks)
        return sm_fail(EINVAL, "the pool's VM config has %u disks but no disks array",
                       c->ndisks);
    if (c->nshares && !c->shares)
        return sm_fail(EINVAL, "the pool's VM config has %u shares but no shares array",
                       c->nshares);
    if (c->ntmpfs && !c->tmpfs)
        return sm_fail(EINVAL, "the pool's VM config has %u tmpfs mounts but no tmpfs array",
                       c->ntmpfs);
    return 0;
}

/* c is all zeros on entry and holds only pointers of its own whenever
 * this returns, so that sm_pool_settings_free can always free it. */
static int copy_vm(const sm_vm_config *from, sm_vm_config *c)
{
    sm_vm_config in = {.size = sizeof(sm_vm_config)};
    int err = from ? SM_ABI_IN(&in, from, sm_vm_config) : 0;
    if (!err)
        err = check_vm(&in);
    if (err)
        return err;
    /* Scalars as they are; every pointer dropped before it is copied. */
    *c = in;
    c->size = sizeof *c;
    c->kernel = c->initrd = c->cmdline = c->hostname = c->snapshot = NULL;
    c->disks = NULL, c->ndisks = 0;
    c->shares = NULL, c->nshares = 0;
    c->tmpfs = NULL, c->ntmpfs = 0;
    c->ports = NULL;   /* refused above when any */
    c->netns_path = NULL;   /* refused above with SM_NETWORK_NETNS */
    if (copy_str(&c->kernel, in.kernel) || copy_str(&c->initrd, in.initrd) ||
        copy_str(&c->cmdline, in.cmdline) || copy_str(&c->hostname, in.hostname) ||
        copy_str(&c->snapshot, in.snapshot) ||
        copy_disks(c, &in) || copy_shares(c, &in) || copy_tmpfs(c, &in))
        return sm_fail(ENOMEM, "out of memory");
    return 0;
}

static int check_sizes(sm_pool_settings *s)
{
    if (s->max == 0)
        s->max = s->min ? s->min : 1;
    if (s->max < s->min)
        return sm_fail(EINVAL, "the pool's max (%u) is below its min (%u): max counts every "
                       "VM, the idle ones too; raise max or lower min", s->max, s->min);
    if (s->max > MAX_VMS)
        return sm_fail(EINVAL, "a pool of %u VMs: at most %d; use several pools", s->max,
                       MAX_VMS);
    if (s->parallel_starts == 0)
        s->parallel_starts = DEFAULT_PARALLEL_STARTS;
    if (s->parallel_starts > s->max)
        s->parallel_starts = s->max;
    return 0;
}

int sm_pool_settings_load(const sm_pool_config *config, sm_pool_settings *s)
{
    sm_pool_config c = {.size = sizeof(sm_pool_config)};
    memset(s, 0, sizeof *s);
    int err = config ? SM_ABI_IN(&c, config, sm_pool_config) : 0;
    if (err)
        return err;
    s->min = c.min;
    s->max = c.max;
    s->parallel_starts = c.max_parallel_starts;
    s->idle_timeout_ms = c.idle_timeout_ms;
    s->acquire_timeout_ms = c.acquire_timeout_ms;
    err = check_sizes(s);
    if (!err)
        err = copy_vm(c.vm, &s->vm);
    if (err)
        sm_pool_settings_free(s);
    return err;
}

void sm_pool_settings_free(sm_pool_settings *s)
{
    sm_vm_config *c = &s->vm;
    free((char *)c->kernel), free((char *)c->initrd), free((char *)c->cmdline);
    free((char *)c->hostname), free((char *)c->snapshot);
    for (unsigned i = 0; c->disks && i < c->ndisks; i++)
        free((char *)c->disks[i].path);
    free((sm_disk *)c->disks);
    for (unsigned i = 0; c->shares && i < c->nshares; i++)
        free((char *)c->shares[i].host_path), free((char *)c->shares[i].guest_path);
    free((sm_share *)c->shares);
    for (unsigned i = 0; c->tmpfs && i < c->ntmpfs; i++)
        free((char *)c->tmpfs[i].path), free((char *)c->tmpfs[i].options);
    free((sm_tmpfs *)c->tmpfs);
    memset(s, 0, sizeof *s);
}
