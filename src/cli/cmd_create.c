/* supermachine create: a VM recorded with run's options, not started
 * (docker create); `start` starts it. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/run.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine create [OPTIONS] IMAGE [COMMAND [ARG...]]\n\n"
               "Make a VM of IMAGE (pulling the image first if it is not stored) as\n"
               "'docker create' makes a container, and print its id; 'supermachine start'\n"
               "starts it, detached. The options are run's; the root's writable layer\n"
               "is fresh on each start unless --disk keeps it.\n\n"
               "Options:\n");
    sm_run_options_help(f, 1);
}

/* run's own options make no sense for a VM that does not start. */
static int refuse_run_only(const sm_run_opts *o)
{
    if (o->detach)
        return sm_cli_usage_error("create", "-d: a created VM starts detached ('supermachine "
                                  "start')");
    if (o->snapshot)
        return sm_cli_usage_error("create", "--snapshot: a created VM starts from its image");
    if (o->rootfs)
        return sm_cli_usage_error("create", "--rootfs: a created VM starts from an image; "
                                  "'run -d --rootfs DIR COMMAND' starts one from a directory");
    return 0;
}

static int create(sm_run_opts *o)
{
    sm_image *img = NULL;
    sm_vm_config vc = sm_run_vm_config(o);
    sm_exec ex = sm_run_exec_config(o);
    /* Its process reads no terminal of ours: its output goes to the log. */
    ex.has_stdin_fd = 0;
    ex.stdout_fd = ex.stderr_fd = 0;
    vc.progress = NULL;
    vc.detached = 1;
    vc.run_image_process = sm_run_image_process(o);
    char id[65];
    int status = 0;
    if (sm_run_open_image(o, &img) != 0 ||
        sm_vm_create(img, &vc, vc.run_image_process ? NULL : &ex, id) != 0)
        status = sm_cli_fail();
    else
        printf("%s\n", id);
    sm_image_close(img);
    return status;
}

int sm_cmd_create(int argc, char **argv)
{
    sm_run_opts o;
    int err = sm_run_defaults(&o, "create");
    if (err)
        return err;
    err = sm_run_parse(&o, argc, argv, usage);
    if (!err)
        err = refuse_run_only(&o);
    if (!err)
        err = create(&o);
    sm_run_opts_free(&o);
    return err < 0 ? 0 : err;
}
