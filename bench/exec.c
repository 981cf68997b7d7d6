/*
 * bench/exec: exec round-trip latency (p50, p99 over RUNS runs of `true`)
 * and stream throughput through the agent over vsock, in both directions,
 * in one VM; beside them, the same spawn of /bin/true on the host, for
 * scale. Usage: exec [RUNS] [MIB]
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "supermachine.h"

extern char **environ;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static int run_true(sm_vm *vm)
{
    sm_exec_result r = {.size = sizeof r};
    int err = sm_vm_exec(
        vm, &(sm_exec){.size = sizeof(sm_exec), .argv = (const char *[]){"true", NULL}}, &r);
    sm_exec_result_free(&r);
    return err || r.exit_status ? -1 : 0;
}

static double host_spawn(void)
{
    char *argv[] = {"/bin/true", NULL};
    double t = now();
    pid_t pid;
    if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
        waitpid(pid, NULL, 0);
    return now() - t;
}

static int count(void *ctx, const void *data, size_t len)
{
    (void)data;
    *(size_t *)ctx += len;
    return 0;
}

static void throughput(sm_vm *vm, size_t mib)
{
    size_t size = mib << 20, got = 0;
    char *buf = calloc(1, size);
    double t = now();
    sm_exec_result r = {.size = sizeof r};
    sm_vm_exec(vm,
               &(sm_exec){.size = sizeof(sm_exec),
                          .argv = (const char *[]){"sh", "-c", "cat >/dev/null", NULL},
                          .stdin_data = buf,
                          .stdin_len = size},
               &r);
    double in = now() - t;
    char cmd[64];
    snprintf(cmd, sizeof cmd, "head -c %zu /dev/zero", size);
    t = now();
    sm_vm_exec(vm,
               &(sm_exec){.size = sizeof(sm_exec),
                          .argv = (const char *[]){"sh", "-c", cmd, NULL},
                          .on_stdout = count,
                          .ctx = &got},
               &r);
    double out = now() - t;
    printf("stream host->guest: %.1f MiB/s (%zu MiB in %.2f s)\n", (double)mib / in, mib, in);
    printf("stream guest->host: %.1f MiB/s (%zu MiB in %.2f s)%s\n", (double)(got >> 20) / out,
           got >> 20, out, got == size ? "" : " SHORT");
    free(buf);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 200;
    size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 32;
    sm_vm *vm;
    double t = now();
    if (sm_vm_start(NULL, &(sm_vm_config){.size = sizeof(sm_vm_config), .start_timeout_ms = 600000},
                    &vm)) {
        fprintf(stderr, "bench/exec: %s\n", sm_last_error());
        return 1;
    }
    printf("VM start (boot, no snapshot): %.2f s\n", now() - t);
    double *lat = calloc((size_t)runs, sizeof *lat), *host = calloc((size_t)runs, sizeof *host);
    for (int i = 0; i < 5; i++)
        run_true(vm);
    for (int i = 0; i < runs; i++) {
        t = now();
        if (run_true(vm)) {
            fprintf(stderr, "bench/exec: exec failed: %s\n", sm_last_error());
            return 1;
        }
        lat[i] = now() - t;
        host[i] = host_spawn();
    }
    double p50 = pct(lat, runs, 0.5), p99 = pct(lat, runs, 0.99);
    double h50 = pct(host, runs, 0.5), h99 = pct(host, runs, 0.99);
    printf("exec `true`, %d runs: p50 %.2f ms, p99 %.2f ms\n", runs, p50 * 1e3, p99 * 1e3);
    printf("host posix_spawn `true`: p50 %.3f ms, p99 %.3f ms (ratio p50 %.0fx)\n", h50 * 1e3,
           h99 * 1e3, p50 / h50);
    throughput(vm, mib);
    sm_vm_stop(vm);
    return 0;
}
