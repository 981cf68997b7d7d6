#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "memory/guest_mem.h"

static void low_memory_bounds(void **state)
{
    (void)state;
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 1 << 20), 0);
    assert_int_equal(m.nregions, 1);
    assert_ptr_equal(sm_gmem_ptr(&m, 0, 16), m.base);
    assert_non_null(sm_gmem_ptr(&m, (1 << 20) - 16, 16));
    assert_null(sm_gmem_ptr(&m, (1 << 20) - 16, 17));   /* straddles the end */
    assert_null(sm_gmem_ptr(&m, 1 << 20, 0));           /* one past the end */
    assert_null(sm_gmem_ptr(&m, 16, UINT64_MAX));       /* length wraps */
    assert_null(sm_gmem_ptr(&m, UINT64_MAX, 2));        /* address wraps */
    sm_gmem_free(&m);
}

static void high_memory_skips_the_hole(void **state)
{
    (void)state;
    sm_gmem m;
    uint64_t size = SM_GMEM_HOLE_START + (64ull << 20);
    assert_int_equal(sm_gmem_init(&m, size), 0);
    assert_int_equal(m.nregions, 2);
    assert_int_equal(sm_gmem_low_end(&m), SM_GMEM_HOLE_START);
    assert_null(sm_gmem_ptr(&m, SM_GMEM_HOLE_START, 1));
    assert_null(sm_gmem_ptr(&m, SM_GMEM_HOLE_START - 4, 8));
    uint8_t *hi = sm_gmem_ptr(&m, SM_GMEM_HOLE_END, 4096);
    assert_ptr_equal(hi, m.base + SM_GMEM_HOLE_START);
    assert_null(sm_gmem_ptr(&m, SM_GMEM_HOLE_END + (64ull << 20) - 1, 2));
    sm_gmem_free(&m);
}

static void copy_helpers_check_ranges(void **state)
{
    (void)state;
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 8192), 0);
    uint32_t v = 0xdeadbeef, r = 0;
    assert_true(sm_gmem_write(&m, 100, &v, 4));
    assert_true(sm_gmem_read(&m, 100, &r, 4));
    assert_int_equal(r, v);
    assert_false(sm_gmem_write(&m, 8190, &v, 4));
    assert_false(sm_gmem_read(&m, 8190, &r, 4));
    sm_gmem_free(&m);
}

static void rejects_odd_sizes(void **state)
{
    (void)state;
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 0), -EINVAL);
    assert_int_equal(sm_gmem_init(&m, 4097), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(low_memory_bounds),
        cmocka_unit_test(high_memory_skips_the_hole),
        cmocka_unit_test(copy_helpers_check_ranges),
        cmocka_unit_test(rejects_odd_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
