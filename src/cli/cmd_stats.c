/* supermachine stats: what running VMs cost the host (docker stats). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

#define MAX_VMS 256

typedef struct sample {
    char id[13], name[128];
    sm_vm_stats s;
    int ok;
} sample;

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine stats [--no-stream] [VM...]\n\n"
               "Show the CPU, memory and disk I/O each running VM costs the host (its\n"
               "worker process), every second until interrupted, or once with\n"
               "--no-stream. Without VMs: every running VM.\n");
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static size_t take(char **names, size_t n, sample *out)
{
    for (size_t i = 0; i < n; i++) {
        sm_vm *vm;
        out[i] = (sample){.s = {.size = sizeof(sm_vm_stats)}};
        snprintf(out[i].name, sizeof out[i].name, "%s", names[i]);
        if (sm_vm_open(names[i], &vm) != 0)
            continue;
        snprintf(out[i].id, sizeof out[i].id, "%.12s", sm_vm_id(vm));
        out[i].ok = sm_vm_get_stats(vm, &out[i].s) == 0;
        sm_vm_release(vm);
    }
    return n;
}

static void print(const sample *a, const sample *b, size_t n, uint64_t dt_ns)
{
    printf("%-12s  %-20s  %7s  %10s  %s\n", "VM ID", "NAME", "CPU %", "MEM", "BLOCK I/O");
    for (size_t i = 0; i < n; i++) {
        if (!b[i].ok)
            continue;
        double cpu = dt_ns ? 100.0 * (double)(b[i].s.cpu_ns - a[i].s.cpu_ns) / (double)dt_ns : 0;
        char mem[32], rd[32], wr[32];
        sm_cli_human_size(b[i].s.rss_bytes, mem, sizeof mem);
        sm_cli_human_size(b[i].s.read_bytes, rd, sizeof rd);
        sm_cli_human_size(b[i].s.write_bytes, wr, sizeof wr);
        printf("%-12s  %-20.20s  %6.2f%%  %10s  %s / %s\n", b[i].id, b[i].name, cpu, mem, rd, wr);
    }
    fflush(stdout);
}

/* The running VMs, by name where they have one. */
static size_t running(char **names, size_t max)
{
    sm_vm_info **list;
    size_t n, k = 0;
    if (sm_vm_list(&list, &n) != 0)
        return 0;
    for (size_t i = 0; i < n && k < max; i++)
        if (list[i]->running)
            names[k++] = strdup(list[i]->name[0] ? list[i]->name : list[i]->id);
    sm_vm_list_free(list, n);
    return k;
}

int sm_cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-stream", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {0}};
    int c, stream = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'n') stream = 0;
        else if (c == 'h') { usage(stdout); return 0; }
        else return sm_cli_usage_error("stats", "unknown option");
    }
    static char *names[MAX_VMS];
    static sample a[MAX_VMS], b[MAX_VMS];
    int given = optind < argc;
    size_t n = given ? (size_t)(argc - optind) : running(names, MAX_VMS);
    if (n > MAX_VMS)
        return sm_cli_usage_error("stats", "at most %d VMs", MAX_VMS);
    for (size_t i = 0; given && i < n; i++)
        names[i] = argv[optind + (int)i];
    take(names, n, a);
    for (size_t i = 0; given && i < n; i++) {
        sm_vm *vm;
        if (sm_vm_open(names[i], &vm) != 0)
            return sm_cli_fail();
        sm_vm_release(vm);
        if (!a[i].ok) {
            fprintf(stderr, "supermachine: VM %s is not running\n", names[i]);
            return SM_CLI_EXIT_FAILURE;
        }
    }
    for (;;) {
        uint64_t t0 = now_ns();
        usleep(stream ? 1000000 : 500000);
        take(names, n, b);
        if (stream && isatty(STDOUT_FILENO))
            printf("\033[H\033[2J");
        print(a, b, n, now_ns() - t0);
        if (!stream)
            return 0;
        memcpy(a, b, sizeof(sample) * n);
    }
}
