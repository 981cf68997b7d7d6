/* The one job left to the PC keyboard controller: "reboot=k" resets the
 * machine by writing 0xFE to its command port. */
#ifndef SM_DEVICES_I8042_H
#define SM_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define SM_I8042_COMMAND_PORT 0x64

typedef struct sm_i8042 {
    void (*reset)(void *ctx);
    void *ctx;
} sm_i8042;

/* Register at SM_I8042_COMMAND_PORT, length 1. */
void sm_i8042_pio(void *dev, uint16_t offset, uint8_t *data, uint8_t size, bool write);

#endif
