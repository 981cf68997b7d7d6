#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/serial_8250.h"

enum { THR, IER, IIR, LCR, MCR, LSR, MSR, SCR };

typedef struct sink {
    uint8_t out[64];
    size_t n;
    int irq_edges_up, irq_edges_down;
    bool level;
} sink;

static void on_output(void *ctx, const uint8_t *buf, size_t len)
{
    sink *s = ctx;
    for (size_t i = 0; i < len && s->n < sizeof s->out; i++)
        s->out[s->n++] = buf[i];
}

static void on_irq(void *ctx, bool level)
{
    sink *s = ctx;
    s->level = level;
    if (level)
        s->irq_edges_up++;
    else
        s->irq_edges_down++;
}

static sm_serial *fresh(sink *k)
{
    static sm_serial s;
    memset(k, 0, sizeof *k);
    sm_serial_ops ops = {.output = on_output, .irq = on_irq};
    sm_serial_init(&s, &ops, k);
    return &s;
}

static void transmits_bytes(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    assert_int_equal(sm_serial_read(s, LSR) & 0x60, 0x60);   /* THRE | TEMT */
    sm_serial_write(s, THR, 'h');
    sm_serial_write(s, THR, 'i');
    assert_int_equal(k.n, 2);
    assert_memory_equal(k.out, "hi", 2);
    sm_serial_destroy(s);
}

static void divisor_latch_hides_data_registers(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    sm_serial_write(s, LCR, 0x80);
    sm_serial_write(s, THR, 0x01);  /* DLL */
    sm_serial_write(s, IER, 0x02);  /* DLM */
    assert_int_equal(k.n, 0);
    assert_int_equal(sm_serial_read(s, THR), 0x01);
    assert_int_equal(sm_serial_read(s, IER), 0x02);
    sm_serial_write(s, LCR, 0x03);
    assert_int_equal(sm_serial_read(s, IER), 0);
    assert_int_equal(k.irq_edges_up, 0);
    sm_serial_destroy(s);
}

static void thr_empty_interrupt_follows_ier(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    assert_int_equal(sm_serial_read(s, IIR) & 0x0f, 0x01);    /* none pending */
    sm_serial_write(s, IER, 0x02);
    assert_true(k.level);
    assert_int_equal(k.irq_edges_up, 1);
    assert_int_equal(sm_serial_read(s, IIR) & 0x0f, 0x02);    /* THRI */
    sm_serial_write(s, THR, 'x');
    assert_int_equal(k.irq_edges_up, 1);                      /* still high */
    sm_serial_write(s, IER, 0);
    assert_false(k.level);
    sm_serial_write(s, IER, 0x02);                            /* a new edge */
    assert_int_equal(k.irq_edges_up, 2);
    sm_serial_destroy(s);
}

static void fifo_bits_and_scratch(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    sm_serial_write(s, IIR, 0x01);  /* FCR: enable FIFO */
    assert_int_equal(sm_serial_read(s, IIR) & 0xc0, 0xc0);
    sm_serial_write(s, SCR, 0x5a);
    assert_int_equal(sm_serial_read(s, SCR), 0x5a);
    sm_serial_destroy(s);
}

static void loopback_reflects_modem_lines(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    /* Linux's probe: LOOP | OUT2 | RTS must read back as DCD | CTS. */
    sm_serial_write(s, MCR, 0x10 | 0x0a);
    assert_int_equal(sm_serial_read(s, MSR) & 0xf0, 0x90);
    sm_serial_write(s, THR, 'z');
    assert_int_equal(k.n, 0);                        /* not transmitted */
    assert_int_equal(sm_serial_read(s, LSR) & 0x01, 0x01);
    assert_int_equal(sm_serial_read(s, THR), 'z');
    assert_int_equal(sm_serial_read(s, LSR) & 0x01, 0);
    sm_serial_destroy(s);
}

static void loopback_overrun_drops_bytes(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    sm_serial_write(s, MCR, 0x10);
    for (int i = 0; i < 100; i++)
        sm_serial_write(s, THR, (uint8_t)i);
    for (int i = 0; i < SM_SERIAL_FIFO; i++)
        assert_int_equal(sm_serial_read(s, THR), i);
    assert_int_equal(sm_serial_read(s, LSR) & 0x01, 0);
    sm_serial_destroy(s);
}

static void wide_access_is_safe(void **state)
{
    (void)state;
    sink k;
    sm_serial *s = fresh(&k);
    uint8_t data[4] = {'a', 'b', 'c', 'd'};
    sm_serial_pio(s, THR, data, 4, true);
    assert_int_equal(k.n, 1);
    sm_serial_pio(s, LSR, data, 4, false);
    assert_int_equal(data[0] & 0x60, 0x60);
    assert_int_equal(data[1], 0);
    sm_serial_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transmits_bytes),
        cmocka_unit_test(divisor_latch_hides_data_registers),
        cmocka_unit_test(thr_empty_interrupt_follows_ier),
        cmocka_unit_test(fifo_bits_and_scratch),
        cmocka_unit_test(loopback_reflects_modem_lines),
        cmocka_unit_test(loopback_overrun_drops_bytes),
        cmocka_unit_test(wide_access_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
