#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/pio_bus.h"

static void record(void *dev, uint16_t offset, uint8_t *data, uint8_t size, bool write)
{
    int *last = dev;
    *last = offset;
    if (!write)
        for (uint8_t i = 0; i < size; i++)
            data[i] = 0x42;
}

static void dispatches_by_range(void **state)
{
    (void)state;
    sm_pio_bus bus = {0};
    int last = -1;
    assert_int_equal(sm_pio_register(&bus, 0x3f8, 8, record, &last), 0);
    uint8_t d[4] = {0};
    assert_true(sm_pio_dispatch(&bus, 0x3fd, d, 1, false));
    assert_int_equal(last, 5);
    assert_int_equal(d[0], 0x42);
    assert_false(sm_pio_dispatch(&bus, 0x400, d, 4, false));
    assert_int_equal(d[0] & d[1] & d[2] & d[3], 0xff);  /* empty bus */
    assert_false(sm_pio_dispatch(&bus, 0x3f7, d, 1, true));
}

static void refuses_overlaps_and_overflow(void **state)
{
    (void)state;
    sm_pio_bus bus = {0};
    int last;
    assert_int_equal(sm_pio_register(&bus, 0x3f8, 8, record, &last), 0);
    assert_int_equal(sm_pio_register(&bus, 0x3ff, 1, record, &last), -EEXIST);
    assert_int_equal(sm_pio_register(&bus, 0x3f0, 9, record, &last), -EEXIST);
    for (int i = 1; i < SM_PIO_MAX_DEVICES; i++)
        assert_int_equal(sm_pio_register(&bus, (uint16_t)(0x100 + i * 8), 8, record, &last), 0);
    assert_int_equal(sm_pio_register(&bus, 0x20, 1, record, &last), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dispatches_by_range),
        cmocka_unit_test(refuses_overlaps_and_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
