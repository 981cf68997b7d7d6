/* What every way of starting a guest shares: finding and mapping the
 * kernel and initramfs, the command line, the boot payload. */
#ifndef SM_LIB_LAUNCH_H
#define SM_LIB_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "util/file.h"
#include "vmm/machine.h"

#define SM_DEFAULT_MEMORY_MIB 128

typedef struct sm_launch {
    char kernel_path[4096];
    char initrd_id[80];        /* sm_file_identity of the initramfs */
    sm_mapped_file kernel, initrd;
    /* The initramfs followed by a command's archive (sm_boot's, built by
     * its caller); NULL: the initramfs alone, as a worker boots it. */
    uint8_t *payload;
    size_t payload_len;
    char cmdline[4096];
} sm_launch;

/* kernel/initrd NULL: the built-in ones. Without a payload, sm-init
 * starts its agent instead of a command. */
int sm_launch_prepare(sm_launch *l, const char *kernel, const char *initrd,
                      const char *extra_cmdline);

/* Point the machine config's kernel, initramfs and command line at l. */
void sm_launch_fill(const sm_launch *l, sm_machine_config *mc);

void sm_launch_release(sm_launch *l);

/* The machine's reader of sm-init's boot channel (agent/boot_channel.h),
 * parsing into *channel, which must outlive the machine: a booted guest
 * and a restored one speak it alike. */
struct sm_boot_channel;
sm_guest_status_reader sm_launch_status_reader(struct sm_boot_channel *channel);

#endif
