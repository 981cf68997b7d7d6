/* A 16550A UART: the guest console and, on a second port, a byte channel. */
#ifndef SM_DEVICES_SERIAL_8250_H
#define SM_DEVICES_SERIAL_8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pio_bus.h"

#define SM_SERIAL_PORTS 8
#define SM_SERIAL_FIFO 16

typedef struct sm_serial_ops {
    void (*output)(void *ctx, const uint8_t *buf, size_t len);
    void (*irq)(void *ctx, bool level);
} sm_serial_ops;

typedef struct sm_serial {
    pthread_mutex_t lock;       /* vCPUs of an SMP guest share the port */
    sm_serial_ops ops;
    void *ctx;
    uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
    bool irq_level;
    uint8_t rx[SM_SERIAL_FIFO];
    unsigned rx_head, rx_count;
} sm_serial;

void sm_serial_init(sm_serial *s, const sm_serial_ops *ops, void *ctx);
void sm_serial_destroy(sm_serial *s);

/* The sm_pio_fn for the port's eight registers. */
void sm_serial_pio(void *dev, uint16_t offset, uint8_t *data, uint8_t size, bool write);

/* Register access, one byte: exposed for the unit tests. */
uint8_t sm_serial_read(sm_serial *s, uint16_t offset);
void sm_serial_write(sm_serial *s, uint16_t offset, uint8_t value);

/* The registers and receive FIFO, for snapshots. */
#define SM_SERIAL_STATE_LEN (10 + SM_SERIAL_FIFO)
void sm_serial_save(sm_serial *s, uint8_t out[SM_SERIAL_STATE_LEN]);
/* -EINVAL for a payload that is not one a save could have made. */
int sm_serial_restore(sm_serial *s, const uint8_t *in, size_t len);

#endif
