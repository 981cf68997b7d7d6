#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/x86_cpuid.h"

static sm_cpuid_entry *find(sm_cpuid_entry *e, size_t n, uint32_t fn, uint32_t idx)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].function == fn && e[i].index == idx)
            return &e[i];
    fail_msg("leaf %#x.%u missing", fn, idx);
    return NULL;
}

static void host_like_table(sm_cpuid_entry *e)
{
    /* What a 16-thread host might report. */
    e[0] = (sm_cpuid_entry){.function = 1, .ebx = 0x0a100800, .edx = 1u << 28};
    e[1] = (sm_cpuid_entry){.function = 4, .eax = 0x1c004121};
    e[2] = (sm_cpuid_entry){.function = 0xb, .index = 0, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 10};
    e[3] = (sm_cpuid_entry){.function = 0xb, .index = 1, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 10};
    e[4] = (sm_cpuid_entry){.function = 0xb, .index = 2, .ecx = 2, .edx = 10};
    e[5] = (sm_cpuid_entry){.function = 0x40000000, .ebx = 0x4b4d564b};
}

static void second_of_four_vcpus(void **state)
{
    (void)state;
    sm_cpuid_entry e[6];
    host_like_table(e);
    sm_cpuid_for_vcpu(e, 6, 1, 4);
    sm_cpuid_entry *l1 = find(e, 6, 1, 0);
    assert_int_equal(l1->ebx >> 24, 1);
    assert_int_equal((l1->ebx >> 16) & 0xff, 4);
    assert_true(l1->ecx & (1u << 31));          /* hypervisor present */
    assert_true(l1->edx & (1u << 28));          /* HTT: several logical CPUs */
    assert_int_equal(find(e, 6, 4, 0)->eax >> 26, 3);
    sm_cpuid_entry *smt = find(e, 6, 0xb, 0), *core = find(e, 6, 0xb, 1);
    assert_int_equal(smt->ebx, 1);
    assert_int_equal(smt->eax, 0);
    assert_int_equal(core->ebx, 4);
    assert_int_equal(core->eax, 2);             /* ids 0-3 need 2 bits */
    assert_int_equal(core->edx, 1);
    assert_int_equal(find(e, 6, 0xb, 2)->ebx, 0);
    assert_int_equal(find(e, 6, 0x40000000, 0)->ebx, 0x4b4d564b);  /* untouched */
}

static void single_vcpu_has_no_htt(void **state)
{
    (void)state;
    sm_cpuid_entry e[6];
    host_like_table(e);
    sm_cpuid_for_vcpu(e, 6, 0, 1);
    sm_cpuid_entry *l1 = find(e, 6, 1, 0);
    assert_int_equal(l1->ebx >> 24, 0);
    assert_false(l1->edx & (1u << 28));
    assert_int_equal(find(e, 6, 0xb, 1)->eax, 0);
    assert_int_equal(find(e, 6, 0xb, 1)->ebx, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_of_four_vcpus),
        cmocka_unit_test(single_vcpu_has_no_htt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
