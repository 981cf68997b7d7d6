/* sm_boot: the low-level boot path behind `supermachine boot`. It runs
 * the VMM in the calling process; embedders use sm_vm_start, which puts
 * each VM in a worker process of its own. */
#include <stdio.h>
#include <string.h>

#include "agent/boot_channel.h"
#include "lib/abi.h"
#include "lib/boot_payload.h"
#include "lib/launch.h"
#include "supermachine.h"
#include "util/error.h"
#include "vmm/machine.h"
#include "util/clock.h"

static void fill_result(const sm_machine_result *mr, sm_boot_result *r)
{
    size_t size = r->size;
    uint64_t t_call = r->t_call_ns;
    memset(r, 0, sizeof *r);
    r->size = size;
    r->t_call_ns = t_call;
    r->t_guest_entry_ns = mr->t_entry_ns;
    r->t_init_ns = mr->t_init_ns;
    r->t_exit_ns = mr->stop == SM_MACHINE_EXITED ? mr->t_stop_ns : 0;
    if (mr->stop == SM_MACHINE_EXITED) {
        r->outcome = SM_BOOT_EXITED;
        r->exit_status = mr->signal ? 128 + mr->signal : mr->exit_code;
        return;
    }
    r->outcome = mr->kernel_panicked ? SM_BOOT_PANICKED : SM_BOOT_RESET;
    r->exit_status = -1;
    snprintf(r->detail, sizeof r->detail, "%s", mr->console_tail);
}

/* What the machine's config points at, beside it. */
typedef struct boot_parts {
    sm_boot_channel channel;
    sm_machine_disk disks[SM_MACHINE_MAX_DISKS];
} boot_parts;

static int machine_config(const sm_boot_config *c, const sm_launch *l, boot_parts *parts,
                          sm_machine_config *mc)
{
    *mc = (sm_machine_config){
        .memory_mib = c->memory_mib ? c->memory_mib : SM_DEFAULT_MEMORY_MIB,
        .cpus = c->cpus ? c->cpus : 1, .console_fd = c->console_fd,
        .vsock_dir = c->vsock_dir, .status = sm_launch_status_reader(&parts->channel),
        .disks = parts->disks};
    sm_launch_fill(l, mc);
    if (c->ndisks > SM_MACHINE_MAX_DISKS)
        return sm_fail(EINVAL, "%u disks: at most %d can be attached", c->ndisks,
                       SM_MACHINE_MAX_DISKS);
    for (unsigned i = 0; i < c->ndisks; i++)
        parts->disks[mc->ndisks++] = (sm_machine_disk){c->disks[i].path, c->disks[i].read_only};
    return 0;
}

static int run_machine(const sm_boot_config *c, const sm_launch *l, sm_boot_result *r)
{
    sm_machine_config mc;
    boot_parts parts;
    sm_machine *m;
    int err = machine_config(c, l, &parts, &mc);
    if (err || (err = sm_machine_create(&mc, &m)) != 0)
        return err;
    sm_machine_result mr;
    err = sm_machine_run(m, &mr);
    sm_machine_destroy(m);
    if (!err && mr.stop == SM_MACHINE_FAILED)
        err = sm_fail(EIO, "the VM failed: %s", mr.error);
    if (!err)
        fill_result(&mr, r);
    return err;
}

static int boot(const sm_boot_config *c, sm_boot_result *r)
{
    r->t_call_ns = sm_now_ns();
    static const char *const shell[] = {"/bin/sh", NULL};
    sm_launch l;
    int err = sm_launch_prepare(&l, c->kernel, c->initrd, c->cmdline);
    if (!err)
        err = sm_boot_payload_build(l.initrd.data, l.initrd.len, c->argv ? c->argv : shell,
                                    &l.payload, &l.payload_len);
    if (!err)
        err = run_machine(c, &l, r);
    sm_launch_release(&l);
    return err;
}

int sm_boot(const sm_boot_config *config, sm_boot_result *result)
{
    if (!config || !result)
        return sm_fail(EINVAL, "sm_boot: config and result are required");
    sm_boot_config c;
    sm_boot_result r = {.size = sizeof r};
    int err = SM_ABI_IN(&c, config, sm_boot_config);
    if (!err)
        err = sm_abi_check(result, "sm_boot_result");
    if (err)
        return err;
    err = boot(&c, &r);
    SM_ABI_OUT(result, &r, sm_boot_result);
    return err;
}
