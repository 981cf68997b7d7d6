/* supermachine run: an image's process in a microVM of its own, with
 * docker's run semantics. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/run.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine run [OPTIONS] IMAGE [COMMAND [ARG...]]\n"
            "       supermachine run [OPTIONS] --snapshot DIR [COMMAND [ARG...]]\n"
            "       supermachine run [OPTIONS] --rootfs DIR COMMAND [ARG...]\n\n"
            "Run IMAGE's process in a new microVM (pulling the image first if it is\n"
            "not stored), as 'docker run' runs a container: COMMAND replaces the\n"
            "image's Cmd, and the exit status is the process's. The first run of an\n"
            "image boots it and bakes a snapshot; later runs resume that snapshot.\n"
            "With --rootfs, DIR is the root (as podman's --rootfs): every run boots.\n\n"
            "Options:\n");
    sm_run_options_help(f, 0);
    fprintf(f, "\nExit status: the process's (128+N when killed by signal N); 125 when\n"
               "supermachine itself failed.\n");
}

/* docker run -d: the worker runs the process; we print the id and go. */
static int detached(sm_vm *vm, sm_exec *ex)
{
    ex->has_stdin_fd = 0;
    ex->stdout_fd = ex->stderr_fd = 0;
    if (sm_vm_start_main(vm, ex) != 0) {
        int status = sm_cli_fail();
        char id[65];
        snprintf(id, sizeof id, "%s", sm_vm_id(vm));
        sm_vm_stop(vm);
        sm_vm_remove(id, 1);  /* it never ran: leave no record */
        return status;
    }
    printf("%s\n", sm_vm_id(vm));
    sm_vm_release(vm);
    return 0;
}

/* run -d IMAGE and run -d --snapshot DIR: the library started the image's
 * process or resumed the snapshot's (its worker supervises it); a
 * snapshot without one just runs. */
static int resumed_main(sm_vm *vm)
{
    printf("%s\n", sm_vm_id(vm));
    sm_vm_release(vm);
    return 0;
}

int sm_cmd_run(int argc, char **argv)
{
    sm_run_opts o;
    int err = sm_run_defaults(&o, "run");
    if (err)
        return err;
    err = sm_run_parse(&o, argc, argv, usage);
    if (err) {
        sm_run_opts_free(&o);
        return err < 0 ? 0 : err;
    }
    sm_image *img = NULL;
    sm_vm *vm = NULL;
    int status = SM_CLI_EXIT_FAILURE;
    sm_vm_config vc = sm_run_vm_config(&o);
    sm_exec ex = sm_run_exec_config(&o);
    vc.run_image_process = o.detach && sm_run_image_process(&o);
    /* Before any pull: a machine that cannot run VMs says so at once. */
    sm_kvm_status kvm = {.size = sizeof kvm};
    if (sm_kvm_check(&kvm) != 0 || sm_run_open_image(&o, &img) != 0 ||
        sm_vm_start(img, &vc, &vm) != 0) {
        status = sm_cli_fail();
    } else if (o.detach && (vc.run_image_process || (o.snapshot && !o.cmd))) {
        status = resumed_main(vm);
        vm = NULL;
    } else if (o.detach) {
        status = detached(vm, &ex);
        vm = NULL;
    } else {
        status = sm_run_attached(vm, &ex);
    }
    sm_vm_stop(vm);
    sm_image_close(img);
    sm_run_opts_free(&o);
    return status;
}
