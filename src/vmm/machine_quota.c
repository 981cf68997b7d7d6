/* The thread that holds the vCPUs to their CPU quota (cpu_budget.h): it
 * reads their threads' CPU clocks, which count guest time too, and parks
 * them the way a pause does once the period's budget is spent. A VM
 * without a quota has no such thread and pays nothing. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"
#include "vmm/cpu_budget.h"
#include "vmm/machine_int.h"

static uint64_t vcpus_cpu_ns(const sm_machine *m)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < m->ncpus; i++) {
        clockid_t id;
        struct timespec ts;
        if (m->vcpus[i].started && pthread_getcpuclockid(m->vcpus[i].thread, &id) == 0 &&
            clock_gettime(id, &ts) == 0)
            sum += (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    return sum;
}

static struct timespec at(uint64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
                             .tv_nsec = (long)(ns % 1000000000u)};
}

static void apply(sm_machine *m, sm_cpu_budget_action act)
{
    if (act == SM_CPU_BUDGET_THROTTLE) {
        m->throttled = true;
        sm_machine_kick_all(m);
    } else if (act == SM_CPU_BUDGET_RELEASE) {
        m->throttled = false;
        pthread_cond_broadcast(&m->park_cond);
    }
}

static void *quota_main(void *arg)
{
    sm_machine *m = arg;
    sm_cpu_budget b;
    pthread_mutex_lock(&m->lock);
    sm_cpu_budget_init(&b, m->quota_milli, m->ncpus, sm_now_ns(), vcpus_cpu_ns(m));
    while (!m->stopping) {
        uint64_t next;
        apply(m, sm_cpu_budget_step(&b, sm_now_ns(), vcpus_cpu_ns(m), &next));
        struct timespec ts = at(next);
        pthread_cond_timedwait(&m->quota_cond, &m->lock, &ts);
    }
    m->throttled = false;
    pthread_cond_broadcast(&m->park_cond);
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int sm_machine_quota_start(sm_machine *m)
{
    if (!m->quota_milli)
        return 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->quota_cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&m->quota_thread, NULL, quota_main, m);
    if (rc)
        return sm_fail(rc, "cannot start the CPU quota thread: %s", strerror(rc));
    m->quota_started = true;
    pthread_setname_np(m->quota_thread, "sm-quota");
    sm_debug("CPU quota: %u.%03u CPUs over %u vCPUs", m->quota_milli / 1000,
                 m->quota_milli % 1000, m->ncpus);
    return 0;
}

/* After request_stop, which woke it: it has left its loop or will. */
void sm_machine_quota_join(sm_machine *m)
{
    if (!m->quota_started)
        return;
    pthread_join(m->quota_thread, NULL);
    pthread_cond_destroy(&m->quota_cond);
    m->quota_started = false;
}
