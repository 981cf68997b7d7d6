/* Reading a vmlinux ELF image: what to load where, and its PVH entry. */
#ifndef SM_VMM_VMLINUX_H
#define SM_VMM_VMLINUX_H

#include <stddef.h>
#include <stdint.h>

#include "memory/guest_mem.h"

#define SM_VMLINUX_MAX_SEGMENTS 16

typedef struct sm_vmlinux_segment {
    uint64_t paddr;
    uint64_t file_offset;
    uint64_t file_size;
    uint64_t mem_size;
} sm_vmlinux_segment;

typedef struct sm_vmlinux {
    uint64_t pvh_entry;      /* 32-bit physical entry from the Xen PVH note */
    uint64_t load_end;       /* highest guest-physical byte the image fills */
    unsigned nsegments;
    sm_vmlinux_segment segments[SM_VMLINUX_MAX_SEGMENTS];
} sm_vmlinux;

/* Validate an ELF image held in memory; `name` is for error messages. Every
 * offset and size is checked against len, so garbage yields an error. */
int sm_vmlinux_parse(const uint8_t *img, size_t len, const char *name, sm_vmlinux *out);

/* Copy the parsed segments into guest RAM (zeroing .bss). */
int sm_vmlinux_load(const sm_vmlinux *k, const uint8_t *img, const sm_gmem *mem);

#endif
