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
            "       supermachine run [OPTIONS] --snapshot DIR [COMMAND [ARG...]]\n\n"
            "Run IMAGE's process in a new microVM (pulling the image first if it is\n"
            "not stored), as 'docker run' runs a container: COMMAND replaces the\n"
            "image's Cmd, and the exit status is the process's. The first run of an\n"
            "image boots it and bakes a snapshot; later runs resume that snapshot.\n\n"
            "Options:\n"
            "  -i, --interactive          keep standard input open to the process\n"
            "  -t, --tty                  give the process a terminal\n"
            "  -d, --detach               run in the background; print the VM's id\n"
            "      --rm                   remove the VM when it ends\n"
            "      --name NAME            name the VM\n"
            "  -e, --env NAME[=VALUE]     set an environment variable\n"
            "      --env-file FILE        read NAME=VALUE lines from FILE\n"
            "  -w, --workdir DIR          working directory in the VM\n"
            "  -u, --user USER[:GROUP]    user to run as (name or id)\n"
            "      --entrypoint CMD       replace the image's entrypoint\n"
            "  -m, --memory SIZE          guest memory: 512m, 2g, or MiB (default 128)\n"
            "      --cpus N               CPUs: whole vCPUs, a fraction as a quota (1.5: 2 vCPUs\n"
            "                             that together use at most 1.5 CPUs; default 1)\n"
            "  -p, --publish [IP:]HOST:GUEST[/udp]  publish a guest port on the host\n"
            "                             (IP defaults to 127.0.0.1)\n"
            "      --network user|none    user-mode NAT (default) or no network\n"
            "  -v, --volume HOST:GUEST[:ro]  share a host file or directory\n"
            "      --read-only            the image's root cannot be written\n"
            "      --tmpfs PATH[:OPTIONS] a tmpfs at PATH (default noexec,nosuid,nodev;\n"
            "                             e.g. size=64m,mode=1777,exec)\n"
            "  -h, --hostname NAME        the VM's hostname (default: its id)\n"
            "      --disk FILE            keep the writable layer in FILE (sparse ext4,\n"
            "                             created if missing) instead of in memory\n"
            "      --pull missing|always|never  when to pull (default missing)\n"
            "      --platform OS/ARCH     the image's platform; only this machine's\n"
            "                             own (linux/amd64) can run in its VMs\n"
            "      --snapshot DIR         resume this snapshot (from 'supermachine\n"
            "                             snapshot') instead of an image; without\n"
            "                             COMMAND, with -d, its main process runs on\n"
            "      --no-snapshot          boot, and neither use nor bake a snapshot\n"
            "  -q, --quiet                no progress display\n"
            "      --help                 show this help\n\n"
            "Exit status: the process's (128+N when killed by signal N); 125 when\n"
            "supermachine itself failed.\n");
}

enum { O_RM = 256, O_NAME, O_ENV_FILE, O_ENTRYPOINT, O_CPUS, O_NETWORK, O_DISK, O_PULL, O_HELP,
       O_SNAPSHOT, O_NO_SNAPSHOT, O_PLATFORM, O_READ_ONLY, O_TMPFS };

static int choice(const char *opt, const char *s, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    return sm_cli_usage_error("run", "%s: unknown value '%s'", opt, s);
}

static int option(sm_run_opts *o, int c, char *arg)
{
    static const char *const nets[] = {"user", "none", NULL};
    static const char *const pulls[] = {"missing", "always", "never", NULL};
    int v = 0, err = 0;
    switch (c) {
    case 'i': o->interactive = 1; return 0;
    case 't': o->tty = 1; return 0;
    case 'd': o->detach = 1; return 0;
    case 'q': o->quiet = 1; return 0;
    case O_RM: o->rm = 1; return 0;
    case O_NAME: o->name = arg; return 0;
    case 'e': return sm_run_add_env(o, arg);
    case O_ENV_FILE: return sm_run_add_env_file(o, arg);
    case 'w': o->workdir = arg; return 0;
    case 'u': o->user = arg; return 0;
    case 'h': o->hostname = arg; return 0;
    case O_ENTRYPOINT:
        o->has_entrypoint = 1;
        o->entrypoint[0] = *arg ? arg : NULL;
        return 0;
    case 'm': return sm_cli_memory("run", "--memory", arg, &o->memory_mib);
    case O_CPUS: return sm_cli_cpus("run", "--cpus", arg, &o->cpus, &o->cpu_quota_milli);
    case 'p': return sm_run_add_port(o, arg);
    case 'v': return sm_run_add_share(o, arg);
    case O_READ_ONLY: o->read_only = 1; return 0;
    case O_TMPFS: return sm_run_add_tmpfs(o, arg);
    case O_NETWORK:
        err = choice("--network", arg, nets, &v);
        o->network = v ? SM_NETWORK_NONE : SM_NETWORK_USER;
        return err;
    case O_DISK: o->upper_disk = arg; return 0;
    case O_SNAPSHOT: o->snapshot = arg; return 0;
    case O_NO_SNAPSHOT: o->no_snapshot = 1; return 0;
    case O_PLATFORM:
        /* A VM runs the host's instruction set: nothing else can start. */
        if (strcmp(arg, "linux/amd64") && strcmp(arg, "amd64"))
            return sm_cli_usage_error("run", "--platform %s: VMs here run linux/amd64 "
                                      "only (KVM runs the host's own instruction set)", arg);
        o->platform = "linux/amd64";
        return 0;
    case O_PULL:
        err = choice("--pull", arg, pulls, &v);
        o->pull = (sm_pull_policy)v;
        return err;
    default: return SM_CLI_EXIT_FAILURE;
    }
}

static int parse(sm_run_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
        {"detach", no_argument, NULL, 'd'}, {"rm", no_argument, NULL, O_RM},
        {"name", required_argument, NULL, O_NAME}, {"env", required_argument, NULL, 'e'},
        {"env-file", required_argument, NULL, O_ENV_FILE},
        {"workdir", required_argument, NULL, 'w'}, {"user", required_argument, NULL, 'u'},
        {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
        {"memory", required_argument, NULL, 'm'}, {"cpus", required_argument, NULL, O_CPUS},
        {"publish", required_argument, NULL, 'p'},
        {"network", required_argument, NULL, O_NETWORK},
        {"volume", required_argument, NULL, 'v'}, {"hostname", required_argument, NULL, 'h'},
        {"disk", required_argument, NULL, O_DISK}, {"pull", required_argument, NULL, O_PULL},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, O_HELP},
        {"snapshot", required_argument, NULL, O_SNAPSHOT},
        {"no-snapshot", no_argument, NULL, O_NO_SNAPSHOT},
        {"platform", required_argument, NULL, O_PLATFORM},
        {"read-only", no_argument, NULL, O_READ_ONLY},
        {"tmpfs", required_argument, NULL, O_TMPFS}, {0},
    };
    int c;
    optind = 1;
    /* "+": options end at the image name; the rest is the command. */
    while ((c = getopt_long(argc, argv, "+itdqe:w:u:m:p:v:h:", opts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return -1;
        }
        if (c == '?')
            return sm_cli_usage_error("run", "unknown option");
        int err = option(o, c, optarg);
        if (err)
            return err;
    }
    if (o->snapshot) {
        /* The snapshot names its image: what follows is the command. */
        if (o->no_snapshot)
            return sm_cli_usage_error("run", "--snapshot and --no-snapshot contradict");
        o->cmd = optind < argc ? argv + optind : NULL;
        return 0;
    }
    if (optind >= argc)
        return sm_cli_usage_error("run", "which image? 'supermachine run IMAGE [COMMAND]'");
    o->image = argv[optind];
    o->cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
    return 0;
}

static void show_pull(const sm_pull_progress *p, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r\033[Kpulling %s: %u/%u layers, %.1f/%.1f MiB", p->name,
            p->layers_done, p->layers, (double)p->bytes_done / (1 << 20),
            (double)p->bytes / (1 << 20));
    if (p->finished)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void show_building(const char *name, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "building root filesystem for %s\n", name);
}

static void show_step(const char *step, void *ctx)
{
    const sm_run_opts *o = ctx;
    if (!strcmp(step, "booting"))
        fprintf(stderr, "booting %s once, to bake a snapshot that later runs resume\n",
                o->image);
}

static int open_image(const sm_run_opts *o, sm_image **img)
{
    if (!o->image)
        return 0;
    int show = !o->quiet && isatty(STDERR_FILENO);
    sm_pull_options po = {.size = sizeof po, .progress = show ? show_pull : NULL,
                          .insecure_registries = sm_cli_config_get()->insecure,
                          .mirrors = sm_cli_config_get()->mirrors,
                          .platform = o->platform};
    sm_image_open_options io = {.size = sizeof io, .pull_policy = o->pull, .pull = &po,
                                .building = show ? show_building : NULL};
    return sm_image_open(o->image, &io, img);
}

static sm_vm_config vm_config(sm_run_opts *o)
{
    int show = !o->quiet && isatty(STDERR_FILENO);
    return (sm_vm_config){
        .snapshot = o->snapshot, .no_snapshot = o->no_snapshot,
        .progress = show ? show_step : NULL, .progress_ctx = o,
        .size = sizeof(sm_vm_config), .memory_mib = o->memory_mib, .cpus = o->cpus,
        .cpu_quota_milli = o->cpu_quota_milli, .read_only = o->read_only,
        .tmpfs = o->tmpfs, .ntmpfs = o->ntmpfs,
        .hostname = o->hostname, .network = o->network, .ports = o->ports,
        .nports = o->nports, .shares = o->shares, .nshares = o->nshares,
        .upper_disk = o->upper_disk, .name = o->name, .detached = o->detach,
        .auto_remove = o->rm};
}

static sm_exec exec_config(const sm_run_opts *o)
{
    return (sm_exec){
        .size = sizeof(sm_exec), .from_image = 1, .cmd = (const char *const *)o->cmd,
        .entrypoint = o->entrypoint, .has_entrypoint = o->has_entrypoint,
        .env = (const char *const *)o->env, .cwd = o->workdir, .user = o->user,
        .pty = o->tty, .has_stdin_fd = o->interactive, .stdin_fd = STDIN_FILENO,
        .stdout_fd = STDOUT_FILENO, .stderr_fd = STDERR_FILENO};
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
    sm_run_opts o = {0};
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    /* The user's defaults first: options given override them. */
    o.memory_mib = cfg->memory_mib, o.cpus = cfg->cpus, o.cpu_quota_milli = cfg->cpu_quota_milli;
    o.network = cfg->has_network ? cfg->network : o.network;
    o.pull = cfg->has_pull ? cfg->pull : o.pull;
    int err = parse(&o, argc, argv);
    if (err) {
        sm_run_opts_free(&o);
        return err < 0 ? 0 : err;
    }
    sm_image *img = NULL;
    sm_vm *vm = NULL;
    int status = SM_CLI_EXIT_FAILURE;
    sm_vm_config vc = vm_config(&o);
    sm_exec ex = exec_config(&o);
    /* docker run -d IMAGE, nothing overridden: the library starts the
     * image's process itself, and resumes it serving once it was baked. */
    vc.run_image_process = o.detach && o.image && !o.cmd && !o.has_entrypoint && !o.nenv &&
                           !o.workdir && !o.user && !o.tty && !o.interactive;
    /* Before any pull: a machine that cannot run VMs says so at once. */
    sm_kvm_status kvm = {.size = sizeof kvm};
    if (sm_kvm_check(&kvm) != 0 || open_image(&o, &img) != 0 ||
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
