#include "lib/launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/boot_channel.h"
#include "lib/machine_file.h"
#include "lib/paths.h"
#include "util/error.h"
#include "vmm/host_quirks.h"

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

static int resolve(const char *given, const char *name, const char *env, char *out, size_t len)
{
    if (!given)
        return sm_find_guest_file(name, env, out, len);
    snprintf(out, len, "%s", given);
    return 0;
}

int sm_launch_prepare(sm_launch *l, const char *kernel, const char *initrd,
                      const char *extra_cmdline)
{
    memset(l, 0, sizeof *l);
    char ipath[4096];
    int err = resolve(kernel, "vmlinux", "SUPERMACHINE_KERNEL", l->kernel_path,
                      sizeof l->kernel_path);
    if (!err)
        err = resolve(initrd, "initramfs.cpio", "SUPERMACHINE_INITRD", ipath, sizeof ipath);
    if (!err)
        err = sm_file_map(l->kernel_path, "kernel", &l->kernel);
    if (!err)
        err = sm_file_map(ipath, "initramfs", &l->initrd);
    if (!err)
        err = sm_file_identity(ipath, l->initrd_id);
    if (!err)
        err = build_cmdline(extra_cmdline, l->cmdline, sizeof l->cmdline);
    if (err)
        sm_launch_release(l);
    return err;
}

void sm_launch_fill(const sm_launch *l, sm_machine_config *mc)
{
    mc->kernel = l->kernel.data;
    mc->kernel_len = l->kernel.len;
    mc->kernel_name = l->kernel_path;
    mc->initrd = l->payload ? l->payload : l->initrd.data;
    mc->initrd_len = l->payload ? l->payload_len : l->initrd.len;
    mc->cmdline = l->cmdline;
}

void sm_launch_release(sm_launch *l)
{
    free(l->payload);
    l->payload = NULL;
    sm_file_unmap(&l->initrd);
    sm_file_unmap(&l->kernel);
}

static sm_guest_status read_boot_channel(void *state, uint8_t byte, int *value)
{
    switch (sm_boot_channel_feed(state, byte, value)) {
    case SM_BOOT_EVENT_START: return SM_GUEST_STARTED;
    case SM_BOOT_EVENT_READY: return SM_GUEST_READY;
    case SM_BOOT_EVENT_EXIT: return SM_GUEST_EXITED;
    case SM_BOOT_EVENT_SIGNAL: return SM_GUEST_KILLED;
    case SM_BOOT_EVENT_NONE: break;
    }
    return SM_GUEST_NOTHING;
}

sm_guest_status_reader sm_launch_status_reader(struct sm_boot_channel *channel)
{
    *channel = (sm_boot_channel){0};
    return (sm_guest_status_reader){read_boot_channel, channel};
}
