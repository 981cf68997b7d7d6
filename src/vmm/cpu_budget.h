/* A CPU quota as docker's --cpus 1.5 means it: the vCPUs together may use
 * quota CPU-time per period, as CFS bandwidth control does for a cgroup.
 * Enforced by the VMM itself, so it needs no cgroup, no root and no
 * delegation: what a rootless user gets is what root gets.
 * Pure arithmetic over clocks the caller reads, so it can be tested. */
#ifndef SM_VMM_CPU_BUDGET_H
#define SM_VMM_CPU_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define SM_CPU_BUDGET_PERIOD_NS 100000000ull   /* CFS's default period */

typedef enum sm_cpu_budget_action {
    SM_CPU_BUDGET_NONE,
    SM_CPU_BUDGET_THROTTLE,     /* stop the vCPUs until the period ends */
    SM_CPU_BUDGET_RELEASE,      /* a new period: let them run again */
} sm_cpu_budget_action;

typedef struct sm_cpu_budget {
    uint64_t period_ns, quota_ns;
    unsigned vcpus;
    uint64_t period_start_ns;   /* monotonic time the period began */
    uint64_t cpu_at_start_ns;   /* the vCPUs' CPU time then */
    bool throttled;
} sm_cpu_budget;

/* milli_cpus: thousandths of a CPU (1500 for --cpus 1.5). */
void sm_cpu_budget_init(sm_cpu_budget *b, uint32_t milli_cpus, unsigned vcpus,
                        uint64_t now_ns, uint64_t cpu_ns);
/* Given the time and the vCPUs' CPU time now: what to do, and in *next_ns
 * the soonest time the budget could run out or the period end. */
sm_cpu_budget_action sm_cpu_budget_step(sm_cpu_budget *b, uint64_t now_ns, uint64_t cpu_ns,
                                        uint64_t *next_ns);

#endif
