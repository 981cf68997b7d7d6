/* supermachine restart: stop VMs as `stop` does, then start them again
 * from their records (docker restart). */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine restart [-t SECONDS] VM...\n\n"
               "Stop each VM as 'stop' does (its image's StopSignal, then after SECONDS,\n"
               "default 10, the VM), then start it again as 'start' does; print their\n"
               "names. An ended or created VM is just started.\n\n"
               "Options:\n"
               "  -t, --time SECONDS  how long the process may take to end\n"
               "  -h, --help          show this help\n");
}

int sm_cmd_restart(int argc, char **argv)
{
    uint32_t ms;
    int rc = sm_cli_stop_options("restart", argc, argv, usage, &ms);
    if (rc >= 0)
        return rc;
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        if (sm_vm_restart(argv[i], ms, &vm) != 0)
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
        sm_vm_release(vm);
    }
    return status;
}
