/* supermachine bake: boot an image once and snapshot it when it is ready. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine bake [OPTIONS] IMAGE\n\n"
            "Boot IMAGE once (pulling it first if it is not stored) and snapshot it as\n"
            "soon as its agent is ready, so that 'supermachine run' of the same image\n"
            "and machine resumes in milliseconds instead of booting. 'run' bakes on\n"
            "its first use by itself; bake does it ahead of time. Prints the snapshot's\n"
            "directory. An image already baked for this machine is not baked again.\n\n"
            "Options:\n"
            "  -m, --memory SIZE        guest memory: 512m, 2g, or MiB (default 128)\n"
            "      --cpus N             vCPUs; a fraction rounds up, as for run (default 1)\n"
            "      --network user|none  the network the VMs will have (default user)\n"
            "  -f, --force              bake again even if a snapshot fits\n"
            "  -q, --quiet              no progress display\n"
            "  -h, --help               show this help\n");
}

static void show_boot(const char *name, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "booting %s to bake its snapshot\n", name);
}

typedef struct bake_args {
    sm_vm_config vc;
    int force, quiet;
    const char *image;
} bake_args;

static int parse(bake_args *a, int argc, char **argv)
{
    static const struct option opts[] = {
        {"memory", required_argument, NULL, 'm'}, {"cpus", required_argument, NULL, 'c'},
        {"network", required_argument, NULL, 'n'}, {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {0}};
    int o, err = 0;
    uint32_t quota; /* not baked: each run that resumes the bake has its own */
    while (!err && (o = getopt_long(argc, argv, "m:fqh", opts, NULL)) != -1) {
        switch (o) {
        case 'm': err = sm_cli_memory("bake", "--memory", optarg, &a->vc.memory_mib); break;
        case 'c': err = sm_cli_cpus("bake", "--cpus", optarg, &a->vc.cpus, &quota); break;
        case 'f': a->force = 1; break;
        case 'q': a->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        case 'n':
            if (!strcmp(optarg, "user") || !strcmp(optarg, "none"))
                a->vc.network = strcmp(optarg, "user") ? SM_NETWORK_NONE : SM_NETWORK_USER;
            else
                err = sm_cli_usage_error("bake", "--network: unknown value '%s'", optarg);
            break;
        default: err = sm_cli_usage_error("bake", "unknown option");
        }
    }
    if (!err && argc - optind != 1)
        err = sm_cli_usage_error("bake", "wants one image");
    a->image = err ? NULL : argv[optind];
    return err;
}

int sm_cmd_bake(int argc, char **argv)
{
    bake_args a = {.vc = {.size = sizeof(sm_vm_config)}};
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    a.vc.memory_mib = cfg->memory_mib, a.vc.cpus = cfg->cpus;
    a.vc.network = cfg->has_network ? cfg->network : a.vc.network;
    int err = parse(&a, argc, argv);
    if (err)
        return err < 0 ? 0 : err;
    int show = !a.quiet && isatty(STDERR_FILENO);
    sm_bake_options bo = {.size = sizeof bo, .vm = &a.vc, .force = a.force,
                          .booting = show ? show_boot : NULL};
    sm_image *img;
    char dir[PATH_MAX];
    sm_kvm_status kvm = {.size = sizeof kvm};
    /* An image bake pulls is pulled as run pulls it: the config's
     * registries and mirrors apply. */
    sm_pull_options po = {.size = sizeof po, .insecure_registries = cfg->insecure,
                          .mirrors = cfg->mirrors};
    sm_image_open_options io = {.size = sizeof io, .pull = &po};
    if (sm_kvm_check(&kvm) != 0 || sm_image_open(a.image, &io, &img) < 0)
        return sm_cli_fail();
    err = sm_image_bake(img, &bo, dir, sizeof dir);
    sm_image_close(img);
    if (err < 0)
        return sm_cli_fail();
    printf("%s\n", dir);
    return 0;
}
