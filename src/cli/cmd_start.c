/* supermachine start: created or ended VMs started again from their
 * records (docker start); -a follows the one VM's output. */
#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine start [-a] VM...\n\n"
               "Start created or ended VMs again, detached, with the same id, name,\n"
               "options and command as before; print their names. Their output goes on\n"
               "in the same log. A running VM is left as it is. Only VMs made by\n"
               "'create' or 'run -d' from an image can be started again.\n\n"
               "Options:\n"
               "  -a, --attach  follow the VM's output until it ends (one VM), as\n"
               "                'attach' does; the exit status is its process's\n"
               "  -h, --help    show this help\n");
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int start_attached(const char *name)
{
    sm_vm *vm;
    int64_t since = now_ns();
    if (sm_vm_start_again(name, &vm) != 0)
        return sm_cli_fail();
    return sm_cli_attach(vm, since);
}

int sm_cmd_start(int argc, char **argv)
{
    static const struct option opts[] = {
        {"attach", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    int attach = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        }
        if (c != 'a')
            return sm_cli_usage_error("start", "unknown option");
        attach = 1;
    }
    if (optind >= argc)
        return sm_cli_usage_error("start", "which VM?");
    if (attach && argc - optind != 1)
        return sm_cli_usage_error("start", "-a follows one VM: name only one");
    if (attach)
        return start_attached(argv[optind]);
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        if (sm_vm_start_again(argv[i], &vm) != 0)
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
        sm_vm_release(vm);
    }
    return status;
}
