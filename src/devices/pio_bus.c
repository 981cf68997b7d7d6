#include "devices/pio_bus.h"

#include <string.h>

#include "util/error.h"

int sm_pio_register(sm_pio_bus *bus, uint16_t base, uint16_t len, sm_pio_fn *fn, void *dev)
{
    if (bus->n == SM_PIO_MAX_DEVICES)
        return sm_fail(ENOSPC, "too many port I/O devices");
    for (unsigned i = 0; i < bus->n; i++) {
        const sm_pio_range *r = &bus->ranges[i];
        if (base < r->base + r->len && r->base < base + len)
            return sm_fail(EEXIST, "I/O ports %#x-%#x are taken", base, base + len - 1);
    }
    bus->ranges[bus->n++] = (sm_pio_range){base, len, fn, dev};
    return 0;
}

bool sm_pio_dispatch(const sm_pio_bus *bus, uint16_t port, uint8_t *data, uint8_t size,
                     bool write)
{
    for (unsigned i = 0; i < bus->n; i++) {
        const sm_pio_range *r = &bus->ranges[i];
        if (port >= r->base && port - r->base < r->len) {
            r->fn(r->dev, (uint16_t)(port - r->base), data, size, write);
            return true;
        }
    }
    if (!write)
        memset(data, 0xff, size);
    return false;
}
