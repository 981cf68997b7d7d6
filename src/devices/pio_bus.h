/* Port I/O dispatch: which device owns which x86 I/O ports. */
#ifndef SM_DEVICES_PIO_BUS_H
#define SM_DEVICES_PIO_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define SM_PIO_MAX_DEVICES 16

/* `offset` is relative to the range's base; `data` holds `size` bytes,
 * filled by the device on a read. */
typedef void sm_pio_fn(void *dev, uint16_t offset, uint8_t *data, uint8_t size, bool write);

typedef struct sm_pio_range {
    uint16_t base, len;
    sm_pio_fn *fn;
    void *dev;
} sm_pio_range;

/* Filled before the vCPUs start and only read afterwards, so the vCPU
 * threads share it without a lock. */
typedef struct sm_pio_bus {
    unsigned n;
    sm_pio_range ranges[SM_PIO_MAX_DEVICES];
} sm_pio_bus;

int sm_pio_register(sm_pio_bus *bus, uint16_t base, uint16_t len, sm_pio_fn *fn, void *dev);

/* Returns false when no device owns the port; reads then see all ones, as
 * on an empty ISA bus. */
bool sm_pio_dispatch(const sm_pio_bus *bus, uint16_t port, uint8_t *data, uint8_t size,
                     bool write);

#endif
