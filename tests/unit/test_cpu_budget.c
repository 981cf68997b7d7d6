/* The CPU quota's arithmetic: when the vCPUs are stopped, when they run
 * again, and how soon it looks again. Clocks are fed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/cpu_budget.h"

#define MS 1000000ull
#define T0 (5000 * MS)

/* --cpus 1.5 over 2 vCPUs: 150 ms of CPU in each 100 ms period. */
static void throttles_once_the_period_budget_is_spent(void **state)
{
    (void)state;
    sm_cpu_budget b;
    uint64_t next;
    sm_cpu_budget_init(&b, 1500, 2, T0, 0);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 10 * MS, 20 * MS, &next), SM_CPU_BUDGET_NONE);
    /* 130 ms left, both vCPUs busy: it cannot run out before 65 ms on. */
    assert_int_equal(next, T0 + 75 * MS);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 75 * MS, 150 * MS, &next),
                     SM_CPU_BUDGET_THROTTLE);
    assert_int_equal(next, T0 + 100 * MS);
    /* Throttled, it says so once. */
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 80 * MS, 151 * MS, &next), SM_CPU_BUDGET_NONE);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 100 * MS, 151 * MS, &next),
                     SM_CPU_BUDGET_RELEASE);
    assert_int_equal(next, T0 + 175 * MS);
}

/* An idle guest is never stopped, and a late look does not shift the
 * periods or carry unused time over. */
static void idle_time_is_not_banked(void **state)
{
    (void)state;
    sm_cpu_budget b;
    uint64_t next;
    sm_cpu_budget_init(&b, 500, 1, T0, 0);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 40 * MS, 1 * MS, &next), SM_CPU_BUDGET_NONE);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 1030 * MS, 2 * MS, &next), SM_CPU_BUDGET_NONE);
    assert_int_equal(b.period_start_ns, T0 + 1000 * MS);
    assert_int_equal(next, T0 + 1030 * MS + 50 * MS);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 1081 * MS, 52 * MS, &next),
                     SM_CPU_BUDGET_THROTTLE);
}

/* Spending the budget at the very end of a period, or a period that ends
 * while throttled and is already spent again at the first look. */
static void edges(void **state)
{
    (void)state;
    sm_cpu_budget b;
    uint64_t next;
    sm_cpu_budget_init(&b, 250, 4, T0, 0);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 99 * MS, 25 * MS, &next),
                     SM_CPU_BUDGET_THROTTLE);
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 100 * MS, 25 * MS, &next),
                     SM_CPU_BUDGET_RELEASE);
    /* Nearly nothing left: it looks again after 1 ms, not sooner. */
    assert_int_equal(sm_cpu_budget_step(&b, T0 + 101 * MS, 49 * MS, &next), SM_CPU_BUDGET_NONE);
    assert_int_equal(next, T0 + 102 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(throttles_once_the_period_budget_is_spent),
        cmocka_unit_test(idle_time_is_not_banked),
        cmocka_unit_test(edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
