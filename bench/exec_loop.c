/*
 * bench/exec_loop: the C side of bench/exec_python.py, loaded with ctypes
 * into the same process as the Python binding: n execs of `true` through
 * sm_vm_exec on the binding's own VM, each timed here in C, so that the
 * Python figures and these differ by the binding alone.
 */
#include <time.h>

#include "supermachine.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Seconds of each of n execs into out; 0, or the first failure's
 * negative errno (or -1 for a non-zero exit). */
__attribute__((visibility("default"))) int sm_bench_exec_true(sm_vm *vm, int n, double *out)
{
    const char *argv[] = {"true", NULL};
    for (int i = 0; i < n; i++) {
        sm_exec ex = SM_EXEC_INIT;
        sm_exec_result r = SM_EXEC_RESULT_INIT;
        ex.argv = argv;
        double t = now();
        int err = sm_vm_exec(vm, &ex, &r);
        out[i] = now() - t;
        int status = r.exit_status;
        sm_exec_result_free(&r);
        if (err)
            return err;
        if (status)
            return -1;
    }
    return 0;
}
