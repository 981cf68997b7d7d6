#include "devices/i8042.h"

#include <string.h>

#define CMD_PULSE_RESET 0xfe

void sm_i8042_pio(void *dev, uint16_t offset, uint8_t *data, uint8_t size, bool write)
{
    sm_i8042 *k = dev;
    if (!write) {
        /* Status 0: no data waiting and an empty input buffer, so the
         * kernel's wait loop before the reset command ends at once. */
        memset(data, 0, size);
        return;
    }
    if (offset == 0 && data[0] == CMD_PULSE_RESET && k->reset)
        k->reset(k->ctx);
}
