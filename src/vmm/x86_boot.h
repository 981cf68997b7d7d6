/* Putting a Linux guest into RAM for the PVH boot protocol. */
#ifndef SM_VMM_X86_BOOT_H
#define SM_VMM_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "memory/guest_mem.h"

/* Linux on x86 truncates longer command lines. */
#define SM_X86_CMDLINE_MAX 2048
/* What a booted kernel needs beyond its image and initramfs to get to
 * userspace with room to run a command. */
#define SM_X86_RUNTIME_HEADROOM (32ull << 20)

typedef struct sm_x86_boot_input {
    const uint8_t *kernel;      /* vmlinux bytes */
    size_t kernel_len;
    const char *kernel_name;    /* for messages */
    const uint8_t *initrd;      /* may be NULL */
    size_t initrd_len;
    const char *cmdline;
    unsigned cpus;
} sm_x86_boot_input;

typedef struct sm_x86_boot_entry {
    uint64_t rip;           /* PVH entry */
    uint64_t start_info;    /* guest-physical address for rbx */
} sm_x86_boot_entry;

/* Smallest guest RAM, in MiB, that can boot this kernel and initramfs. */
int sm_x86_boot_min_mib(const sm_x86_boot_input *in, uint64_t *mib);

/* Load kernel, initramfs, command line, memory map and MP table. */
int sm_x86_boot_load(const sm_gmem *mem, const sm_x86_boot_input *in,
                     sm_x86_boot_entry *out);

#endif
