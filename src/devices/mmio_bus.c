#include "devices/mmio_bus.h"

#include <string.h>

#include "util/error.h"

int sm_mmio_register(sm_mmio_bus *bus, uint64_t base, uint64_t len, sm_mmio_fn *fn, void *dev)
{
    if (bus->n == SM_MMIO_MAX_DEVICES)
        return sm_fail(ENOSPC, "too many MMIO devices");
    if (len == 0 || base + len < base)
        return sm_fail(EINVAL, "bad MMIO range");
    for (unsigned i = 0; i < bus->n; i++) {
        const sm_mmio_range *r = &bus->ranges[i];
        if (base < r->base + r->len && r->base < base + len)
            return sm_fail(EEXIST, "MMIO range %#llx is taken", (unsigned long long)base);
    }
    bus->ranges[bus->n++] = (sm_mmio_range){base, len, fn, dev};
    return 0;
}

bool sm_mmio_dispatch(const sm_mmio_bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
                      bool write)
{
    for (unsigned i = 0; i < bus->n; i++) {
        const sm_mmio_range *r = &bus->ranges[i];
        if (addr >= r->base && addr - r->base < r->len && len <= r->len - (addr - r->base)) {
            r->fn(r->dev, addr - r->base, data, len, write);
            return true;
        }
    }
    if (!write)
        memset(data, 0xff, len);
    return false;
}
