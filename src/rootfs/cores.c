#include "rootfs/cores.h"

void sm_cores_take(sm_cores *c)
{
    __atomic_add_fetch(&c->busy, 1, __ATOMIC_RELAXED);
}

bool sm_cores_claim(sm_cores *c)
{
    unsigned busy = __atomic_load_n(&c->busy, __ATOMIC_RELAXED);
    while (busy < c->total)
        if (__atomic_compare_exchange_n(&c->busy, &busy, busy + 1, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return true;
    return false;
}

void sm_cores_release(sm_cores *c)
{
    __atomic_sub_fetch(&c->busy, 1, __ATOMIC_RELAXED);
}
