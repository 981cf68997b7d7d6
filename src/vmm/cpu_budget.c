#include "vmm/cpu_budget.h"

/* Polling more often than this buys no precision worth its wake-ups. */
#define MIN_LOOK_NS 1000000ull

void sm_cpu_budget_init(sm_cpu_budget *b, uint32_t milli_cpus, unsigned vcpus,
                        uint64_t now_ns, uint64_t cpu_ns)
{
    *b = (sm_cpu_budget){
        .period_ns = SM_CPU_BUDGET_PERIOD_NS,
        .quota_ns = SM_CPU_BUDGET_PERIOD_NS * milli_cpus / 1000,
        .vcpus = vcpus ? vcpus : 1,
        .period_start_ns = now_ns,
        .cpu_at_start_ns = cpu_ns,
    };
}

/* Periods are whole steps from the first, so a late look does not shift
 * them; time that passed throttled or idle is not owed back. */
static bool new_period(sm_cpu_budget *b, uint64_t now_ns, uint64_t cpu_ns)
{
    uint64_t end = b->period_start_ns + b->period_ns;
    if (now_ns < end)
        return false;
    b->period_start_ns += (now_ns - b->period_start_ns) / b->period_ns * b->period_ns;
    b->cpu_at_start_ns = cpu_ns;
    return true;
}

sm_cpu_budget_action sm_cpu_budget_step(sm_cpu_budget *b, uint64_t now_ns, uint64_t cpu_ns,
                                        uint64_t *next_ns)
{
    sm_cpu_budget_action act = SM_CPU_BUDGET_NONE;
    if (new_period(b, now_ns, cpu_ns)) {
        if (b->throttled)
            act = SM_CPU_BUDGET_RELEASE;
        b->throttled = false;
    }
    uint64_t used = cpu_ns - b->cpu_at_start_ns;
    if (!b->throttled && used >= b->quota_ns) {
        b->throttled = true;
        act = SM_CPU_BUDGET_THROTTLE;
    }
    uint64_t end = b->period_start_ns + b->period_ns;
    *next_ns = end;
    if (!b->throttled) {
        /* All vCPUs busy is the fastest the rest can go. */
        uint64_t soonest = (b->quota_ns - used) / b->vcpus;
        if (soonest < MIN_LOOK_NS)
            soonest = MIN_LOOK_NS;
        if (now_ns + soonest < end)
            *next_ns = now_ns + soonest;
    }
    return act;
}
