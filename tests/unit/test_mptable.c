#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/x86_mptable.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return s;
}

/* Read the table back the way Linux does: find "_MP_", follow it to
 * "PCMP", verify both checksums, count processors. */
static unsigned count_cpus(const sm_gmem *m, unsigned *ioapic_id)
{
    const uint8_t *f = sm_gmem_ptr(m, SM_MPTABLE_ADDR, 16);
    assert_non_null(f);
    assert_memory_equal(f, "_MP_", 4);
    assert_int_equal(sum(f, 16), 0);
    uint32_t table;
    memcpy(&table, f + 4, 4);
    const uint8_t *h = sm_gmem_ptr(m, table, 44);
    assert_non_null(h);
    assert_memory_equal(h, "PCMP", 4);
    uint16_t len, count;
    memcpy(&len, h + 4, 2);
    memcpy(&count, h + 34, 2);
    assert_non_null(sm_gmem_ptr(m, table, len));
    assert_int_equal(sum(h, len), 0);
    const uint8_t *e = h + 44;
    unsigned cpus = 0;
    for (unsigned i = 0; i < count; i++) {
        switch (e[0]) {
        case 0:
            assert_int_equal(e[1], cpus);                /* APIC id */
            assert_int_equal(e[3] & 2, cpus == 0 ? 2 : 0); /* BSP flag */
            cpus++;
            e += 20;
            break;
        case 2:
            *ioapic_id = e[1];
            e += 8;
            break;
        default:
            e += 8;
        }
    }
    assert_ptr_equal(e, h + len);
    return cpus;
}

static void describes_every_cpu(void **state)
{
    (void)state;
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 2 << 20), 0);
    unsigned counts[] = {1, 2, 64, SM_MPTABLE_MAX_CPUS};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        unsigned ioapic = 0;
        assert_int_equal(sm_mptable_write(&m, counts[i]), 0);
        assert_int_equal(count_cpus(&m, &ioapic), counts[i]);
        assert_int_equal(ioapic, counts[i]);  /* distinct from every LAPIC */
    }
    sm_gmem_free(&m);
}

static void rejects_bad_counts(void **state)
{
    (void)state;
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 2 << 20), 0);
    assert_int_equal(sm_mptable_write(&m, 0), -EINVAL);
    assert_int_equal(sm_mptable_write(&m, SM_MPTABLE_MAX_CPUS + 1), -EINVAL);
    sm_gmem_free(&m);
}

static void needs_the_bios_area(void **state)
{
    (void)state;
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 512 << 10), 0);  /* ends below 0xF0000 */
    assert_int_equal(sm_mptable_write(&m, 1), -ENOMEM);
    sm_gmem_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(describes_every_cpu),
        cmocka_unit_test(rejects_bad_counts),
        cmocka_unit_test(needs_the_bios_area),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
