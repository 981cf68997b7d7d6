/* supermachine boot: the low-level boot path, for testing the VMM and
 * guest kernel. The user-facing `run` builds on images instead. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine boot [OPTIONS] [--] [CMD [ARG...]]\n\n"
            "Boot the guest kernel with sm-init as PID 1, run CMD (default /bin/sh)\n"
            "inside, copy the console to standard output and exit with CMD's status.\n\n"
            "Options:\n"
            "  --kernel PATH    vmlinux to boot (default: the built-in kernel)\n"
            "  --initrd PATH    initramfs holding sm-init (default: the built-in one)\n"
            "  --cmdline TEXT   extra kernel command-line words\n"
            "  --memory MIB     guest memory in MiB (default 128)\n"
            "  --cpus N         number of vCPUs (default 1)\n"
            "  --disk PATH[:ro] attach a raw disk image (vda, vdb, ...), read-only with :ro\n"
            "  --vsock DIR      add a vsock device whose host side is in DIR\n"
            "  --timing         print how long each boot phase took, on stderr\n"
            "  -h, --help       show this help\n\n"
            "Exit status: CMD's status (128+N when killed by signal N); 125 when the\n"
            "VM could not run or the guest kernel panicked.\n");
}

#define MAX_DISKS 8

/* PATH or PATH:ro; the suffix is split off in place. */
static int add_disk(char *arg, sm_disk *disks, unsigned *n)
{
    if (*n == MAX_DISKS)
        return sm_cli_usage_error("boot", "at most %d disks", MAX_DISKS);
    size_t len = strlen(arg);
    int ro = len > 3 && strcmp(arg + len - 3, ":ro") == 0;
    if (ro)
        arg[len - 3] = '\0';
    if (!*arg)
        return sm_cli_usage_error("boot", "--disk needs a path");
    disks[(*n)++] = (sm_disk){.path = arg, .read_only = ro};
    return 0;
}

static double ms_between(uint64_t from, uint64_t to)
{
    return from && to ? (double)(to - from) / 1e6 : -1;
}

/* Phases in milliseconds (-1: not reached), and the absolute monotonic time
 * sm-init started, which bench/boot compares with its own clock. */
static void print_timing(const sm_boot_result *r)
{
    fprintf(stderr,
            "supermachine: timing: setup_ms=%.1f kernel_to_init_ms=%.1f command_ms=%.1f "
            "init_monotonic_s=%.6f\n",
            ms_between(r->t_call_ns, r->t_guest_entry_ns),
            ms_between(r->t_guest_entry_ns, r->t_init_ns),
            ms_between(r->t_init_ns, r->t_exit_ns), (double)r->t_init_ns / 1e9);
}

static int report(const sm_boot_result *r)
{
    switch (r->outcome) {
    case SM_BOOT_EXITED:
        return r->exit_status;
    case SM_BOOT_PANICKED:
        fprintf(stderr, "supermachine: the guest kernel panicked; its last console lines:\n%s\n",
                r->detail);
        return SM_CLI_EXIT_FAILURE;
    default:
        fprintf(stderr, "supermachine: the guest powered off or rebooted before the command "
                        "finished; its last console lines:\n%s\n", r->detail);
        return SM_CLI_EXIT_FAILURE;
    }
}

int sm_cmd_boot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kernel", required_argument, NULL, 'k'}, {"initrd", required_argument, NULL, 'i'},
        {"cmdline", required_argument, NULL, 'c'}, {"memory", required_argument, NULL, 'm'},
        {"cpus", required_argument, NULL, 'n'},    {"timing", no_argument, NULL, 't'},
        {"disk", required_argument, NULL, 'd'},
        {"vsock", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    sm_disk disks[MAX_DISKS];
    sm_boot_config c = {.size = sizeof c, .console_fd = STDOUT_FILENO, .disks = disks};
    int o, timing = 0;
    /* '+': options end at the command, whose own flags are not ours. */
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case 'k': c.kernel = optarg; break;
        case 'i': c.initrd = optarg; break;
        case 'c': c.cmdline = optarg; break;
        case 'm': bad = sm_cli_count("boot", "--memory", optarg, 1u << 20, &c.memory_mib); break;
        case 'n': bad = sm_cli_count("boot", "--cpus", optarg, 254, &c.cpus); break;
        case 't': timing = 1; break;
        case 'd': bad = add_disk(optarg, disks, &c.ndisks); break;
        case 'v': c.vsock_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("boot", "unknown option");
        }
        if (bad)
            return bad;
    }
    if (optind < argc)
        c.argv = (const char *const *)argv + optind;
    sm_boot_result r = {.size = sizeof r};
    if (sm_boot(&c, &r) < 0)
        return sm_cli_fail();
    if (timing)
        print_timing(&r);
    return report(&r);
}
