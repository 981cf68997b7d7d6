/* sm_boot: the low-level boot path behind `supermachine boot`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/boot_payload.h"
#include "lib/paths.h"
#include "supermachine.h"
#include "util/error.h"
#include "util/file.h"
#include "vmm/host_quirks.h"
#include "vmm/machine.h"

#define DEFAULT_MEMORY_MIB 128
/* reboot=k: reset through the keyboard controller, which the VMM sees as
 * a port write; panic=-1: reboot at once on a panic so the VMM can report
 * it instead of the guest hanging. */
#define BASE_CMDLINE "console=ttyS0 reboot=k panic=-1 quiet"

static int build_cmdline(const char *extra, char *out, size_t len)
{
    const char *q = sm_host_cmdline_quirks();
    int n = snprintf(out, len, "%s%s%s%s%s", BASE_CMDLINE, *q ? " " : "", q,
                     extra && *extra ? " " : "", extra ? extra : "");
    if (n < 0 || (size_t)n >= len)
        return sm_fail(E2BIG, "the kernel command line is too long");
    return 0;
}

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

static int run_machine(const sm_boot_config *c, const sm_mapped_file *kernel,
                       const uint8_t *initrd, size_t initrd_len, const char *kernel_path,
                       sm_boot_result *r)
{
    char cmdline[4096];
    int err = build_cmdline(c->cmdline, cmdline, sizeof cmdline);
    if (err)
        return err;
    sm_machine_config mc = {
        .kernel = kernel->data, .kernel_len = kernel->len, .kernel_name = kernel_path,
        .initrd = initrd, .initrd_len = initrd_len, .cmdline = cmdline,
        .memory_mib = c->memory_mib ? c->memory_mib : DEFAULT_MEMORY_MIB,
        .cpus = c->cpus ? c->cpus : 1, .console_fd = c->console_fd,
        .vsock_dir = c->vsock_dir};
    if (c->ndisks > SM_MACHINE_MAX_DISKS)
        return sm_fail(EINVAL, "%u disks: at most %d can be attached", c->ndisks,
                       SM_MACHINE_MAX_DISKS);
    for (unsigned i = 0; i < c->ndisks; i++)
        mc.disks[mc.ndisks++] = (sm_machine_disk){c->disks[i].path, c->disks[i].read_only};
    sm_machine *m;
    if ((err = sm_machine_create(&mc, &m)) != 0)
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

int sm_boot(const sm_boot_config *c, sm_boot_result *r)
{
    if (!c || c->size < sizeof *c || !r || r->size < sizeof *r)
        return sm_fail(EINVAL, "sm_boot: config and result need their size set");
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->t_call_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    char kpath[4096], ipath[4096];
    int err = 0;
    if (c->kernel)
        snprintf(kpath, sizeof kpath, "%s", c->kernel);
    else
        err = sm_find_guest_file("vmlinux", "SUPERMACHINE_KERNEL", kpath, sizeof kpath);
    if (!err && c->initrd)
        snprintf(ipath, sizeof ipath, "%s", c->initrd);
    else if (!err)
        err = sm_find_guest_file("initramfs.cpio", "SUPERMACHINE_INITRD", ipath, sizeof ipath);
    sm_mapped_file kernel = {0}, initrd = {0};
    if (!err)
        err = sm_file_map(kpath, "kernel", &kernel);
    if (!err)
        err = sm_file_map(ipath, "initramfs", &initrd);
    uint8_t *payload = NULL;
    size_t payload_len = 0;
    if (!err)
        err = sm_boot_payload_build(initrd.data, initrd.len, c->argv, &payload, &payload_len);
    if (!err)
        err = run_machine(c, &kernel, payload, payload_len, kpath, r);
    free(payload);
    sm_file_unmap(&initrd);
    sm_file_unmap(&kernel);
    return err;
}
