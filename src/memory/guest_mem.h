/* Guest RAM and the one checked guest-physical -> host translation: a
 * layer of its own below the devices (which read and write the guest's
 * buffers through it) and the VMM (which lays RAM out and maps it). */
#ifndef SM_MEMORY_GUEST_MEM_H
#define SM_MEMORY_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_GMEM_MAX_REGIONS 2

/* RAM ends below the 32-bit MMIO hole; above it, it resumes at 4 GiB. */
#define SM_GMEM_HOLE_START 0xC0000000ull
#define SM_GMEM_HOLE_END 0x100000000ull

typedef struct sm_gmem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
} sm_gmem_region;

typedef struct sm_gmem {
    uint8_t *base;      /* one anonymous mapping backing every region */
    uint64_t mapped;    /* its length */
    unsigned nregions;
    sm_gmem_region regions[SM_GMEM_MAX_REGIONS];
} sm_gmem;

/* Reserve `bytes` of guest RAM laid out around the MMIO hole. */
int sm_gmem_init(sm_gmem *m, uint64_t bytes);
void sm_gmem_free(sm_gmem *m);

/* Back all of guest RAM (its host mapping, byte for byte) with `fd` from
 * offset 0, MAP_PRIVATE: pages load lazily from the page cache, which
 * every VM mapping the same file shares until it writes. */
int sm_gmem_map_file(sm_gmem *m, int fd);

/* The same for one run [off, off+len) of the host mapping, from the same
 * offset of `fd` (a diff snapshot over its parent). Page-aligned. */
int sm_gmem_map_run(sm_gmem *m, int fd, uint64_t off, uint64_t len);

/* The only way to turn a guest-physical address into a host pointer:
 * returns NULL unless [gpa, gpa+len) lies wholly inside one RAM region
 * (overflow-safe; len 0 is allowed and checks gpa alone). */
void *sm_gmem_ptr(const sm_gmem *m, uint64_t gpa, uint64_t len);

/* Copy helpers over sm_gmem_ptr; return false when out of range. */
bool sm_gmem_write(const sm_gmem *m, uint64_t gpa, const void *src, uint64_t len);
bool sm_gmem_read(const sm_gmem *m, uint64_t gpa, void *dst, uint64_t len);

/* End of the RAM region that starts at guest-physical 0. */
uint64_t sm_gmem_low_end(const sm_gmem *m);

#endif
