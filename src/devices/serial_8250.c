#include "devices/serial_8250.h"

#include <errno.h>
#include <string.h>

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO_BITS 0xc0
#define FCR_ENABLE_FIFO 0x01
#define FCR_CLEAR_RCVR 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void sm_serial_init(sm_serial *s, const sm_serial_ops *ops, void *ctx)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->ops = *ops;
    s->ctx = ctx;
    s->mcr = MCR_OUT2;
}

void sm_serial_destroy(sm_serial *s)
{
    pthread_mutex_destroy(&s->lock);
}

/* Transmission is instantaneous, so the holding register is always empty
 * and "THR empty" is pending whenever the guest enables it, as a real
 * 16550 reasserts it while idle. */
static uint8_t pending_iir(const sm_serial *s)
{
    if ((s->ier & IER_RDI) && s->rx_count)
        return IIR_RDI;
    if (s->ier & IER_THRI)
        return IIR_THRI;
    return IIR_NO_INT;
}

static void update_irq(sm_serial *s)
{
    bool level = pending_iir(s) != IIR_NO_INT;
    if (level != s->irq_level) {
        s->irq_level = level;
        if (s->ops.irq)
            s->ops.irq(s->ctx, level);
    }
}

static void rx_push(sm_serial *s, uint8_t b)
{
    if (s->rx_count == SM_SERIAL_FIFO)
        return; /* overrun: the byte is lost, as on hardware */
    s->rx[(s->rx_head + s->rx_count++) % SM_SERIAL_FIFO] = b;
}

static uint8_t rx_pop(sm_serial *s)
{
    if (!s->rx_count)
        return 0;
    uint8_t b = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SM_SERIAL_FIFO;
    s->rx_count--;
    return b;
}

/* In loopback mode the modem outputs feed the modem inputs; the Linux
 * driver checks this to decide that a UART is present. */
static uint8_t modem_status(const sm_serial *s)
{
    if (!(s->mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    uint8_t m = 0;
    if (s->mcr & MCR_RTS) m |= MSR_CTS;
    if (s->mcr & MCR_DTR) m |= MSR_DSR;
    if (s->mcr & MCR_OUT1) m |= MSR_RI;
    if (s->mcr & MCR_OUT2) m |= MSR_DCD;
    return m;
}

static uint8_t read_reg(sm_serial *s, uint16_t offset)
{
    bool dlab = s->lcr & LCR_DLAB;
    switch (offset) {
    case RBR_THR: return dlab ? s->dll : rx_pop(s);
    case IER: return dlab ? s->dlm : s->ier;
    case IIR_FCR:
        return pending_iir(s) | ((s->fcr & FCR_ENABLE_FIFO) ? IIR_FIFO_BITS : 0);
    case LCR: return s->lcr;
    case MCR: return s->mcr;
    case LSR: return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
    case MSR: return modem_status(s);
    case SCR: return s->scr;
    default: return 0xff;
    }
}

static void transmit(sm_serial *s, uint8_t b)
{
    if (s->mcr & MCR_LOOP)
        rx_push(s, b);
    else if (s->ops.output)
        s->ops.output(s->ctx, &b, 1);
}

static void write_reg(sm_serial *s, uint16_t offset, uint8_t v)
{
    bool dlab = s->lcr & LCR_DLAB;
    switch (offset) {
    case RBR_THR:
        if (dlab) s->dll = v; else transmit(s, v);
        break;
    case IER:
        if (dlab) s->dlm = v; else s->ier = v & 0x0f;
        break;
    case IIR_FCR:
        s->fcr = v & 0xc9;
        if (v & FCR_CLEAR_RCVR)
            s->rx_count = 0;
        break;
    case LCR: s->lcr = v; break;
    case MCR: s->mcr = v & 0x1f; break;
    case SCR: s->scr = v; break;
    default: break; /* LSR and MSR are read-only */
    }
}

uint8_t sm_serial_read(sm_serial *s, uint16_t offset)
{
    pthread_mutex_lock(&s->lock);
    uint8_t v = read_reg(s, offset);
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return v;
}

void sm_serial_write(sm_serial *s, uint16_t offset, uint8_t value)
{
    pthread_mutex_lock(&s->lock);
    write_reg(s, offset, value);
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

void sm_serial_pio(void *dev, uint16_t offset, uint8_t *data, uint8_t size, bool write)
{
    /* The registers are bytes; a wider access touches the first one only. */
    if (write) {
        sm_serial_write(dev, offset, data[0]);
    } else {
        memset(data, 0, size);
        data[0] = sm_serial_read(dev, offset);
    }
}

void sm_serial_save(sm_serial *s, uint8_t out[SM_SERIAL_STATE_LEN])
{
    pthread_mutex_lock(&s->lock);
    uint8_t regs[] = {s->ier, s->lcr, s->mcr, s->scr, s->fcr, s->dll, s->dlm,
                      s->irq_level, (uint8_t)s->rx_head, (uint8_t)s->rx_count};
    memcpy(out, regs, sizeof regs);
    memcpy(out + sizeof regs, s->rx, SM_SERIAL_FIFO);
    pthread_mutex_unlock(&s->lock);
}

int sm_serial_restore(sm_serial *s, const uint8_t *in, size_t len)
{
    if (len != SM_SERIAL_STATE_LEN || in[7] > 1 || in[8] >= SM_SERIAL_FIFO ||
        in[9] > SM_SERIAL_FIFO)
        return -EINVAL;
    pthread_mutex_lock(&s->lock);
    s->ier = in[0], s->lcr = in[1], s->mcr = in[2], s->scr = in[3];
    s->fcr = in[4], s->dll = in[5], s->dlm = in[6];
    s->rx_head = in[8], s->rx_count = in[9];
    memcpy(s->rx, in + 10, SM_SERIAL_FIFO);
    /* The interrupt controllers were restored with the line's level;
     * recompute ours so the next change is seen as one. */
    s->irq_level = pending_iir(s) != IIR_NO_INT;
    pthread_mutex_unlock(&s->lock);
    return 0;
}
