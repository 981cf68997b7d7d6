/* MMIO dispatch for the devices the VMM emulates (the LAPIC and IOAPIC are
 * in the kernel and never show up here). */
#ifndef SM_DEVICES_MMIO_BUS_H
#define SM_DEVICES_MMIO_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define SM_MMIO_MAX_DEVICES 32

typedef void sm_mmio_fn(void *dev, uint64_t offset, uint8_t *data, uint32_t len, bool write);

typedef struct sm_mmio_range {
    uint64_t base, len;
    sm_mmio_fn *fn;
    void *dev;
} sm_mmio_range;

/* Filled before the vCPUs start, only read afterwards. */
typedef struct sm_mmio_bus {
    unsigned n;
    sm_mmio_range ranges[SM_MMIO_MAX_DEVICES];
} sm_mmio_bus;

int sm_mmio_register(sm_mmio_bus *bus, uint64_t base, uint64_t len, sm_mmio_fn *fn, void *dev);

/* False when nothing is mapped there: reads see all ones. */
bool sm_mmio_dispatch(const sm_mmio_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
                      bool write);

#endif
