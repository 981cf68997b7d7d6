/* The options of `run` and `create` (docker's run flags): one table, one
 * parser, one help text for both. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/run.h"

/* Lines marked 1 are run's alone: create starts nothing and takes an image. */
static const struct { int run_only; const char *text; } help_lines[] = {
    {0, "  -i, --interactive          keep standard input open to the process\n"},
    {0, "  -t, --tty                  give the process a terminal\n"},
    {1, "  -d, --detach               run in the background; print the VM's id\n"},
    {0, "      --rm                   remove the VM when it ends\n"},
    {0, "      --name NAME            name the VM\n"},
    {0, "  -e, --env NAME[=VALUE]     set an environment variable\n"},
    {0, "      --env-file FILE        read NAME=VALUE lines from FILE\n"},
    {0, "  -w, --workdir DIR          working directory in the VM\n"},
    {0, "  -u, --user USER[:GROUP]    user to run as (name or id)\n"},
    {0, "      --entrypoint CMD       replace the image's entrypoint\n"},
    {0, "  -m, --memory SIZE          guest memory: 512m, 2g, or MiB (default 128)\n"},
    {0, "      --cpus N               CPUs: whole vCPUs, a fraction as a quota (1.5: 2 vCPUs\n"
        "                             that together use at most 1.5 CPUs; default 1)\n"},
    {0, "  -p, --publish [IP:]HOST:GUEST[/udp]  publish a guest port on the host\n"
        "                             (IP defaults to 127.0.0.1)\n"},
    {0, "      --network user|none|ns:PATH  user-mode NAT (default), no network, or\n"
        "                             the interface of the network namespace PATH\n"
        "                             (/var/run/netns/NAME), taken over: its address,\n"
        "                             route, MTU and MAC (needs CAP_NET_ADMIN there)\n"},
    {0, "  -v, --volume HOST:GUEST[:ro]  share a host file or directory\n"},
    {0, "      --read-only            the image's root cannot be written\n"},
    {0, "      --tmpfs PATH[:OPTIONS] a tmpfs at PATH (default noexec,nosuid,nodev;\n"
        "                             e.g. size=64m,mode=1777,exec)\n"},
    {0, "  -h, --hostname NAME        the VM's hostname (default: its id)\n"},
    {0, "      --disk FILE            keep the writable layer in FILE (sparse ext4,\n"
        "                             created if missing) instead of in memory\n"},
    {0, "      --pull missing|always|never  when to pull (default missing)\n"},
    {0, "      --platform OS/ARCH     the image's platform; only this machine's\n"
        "                             own (linux/amd64) can run in its VMs\n"},
    {1, "      --snapshot DIR         resume this snapshot (from 'supermachine\n"
        "                             snapshot') instead of an image; without\n"
        "                             COMMAND, with -d, its main process runs on\n"},
    {0, "      --no-snapshot          boot, and neither use nor bake a snapshot\n"},
    {1, "      --rootfs DIR           DIR is the VM's root instead of an image's (no\n"
        "                             IMAGE then): shared, written in place, not at\n"
        "                             all with --read-only\n"},
    {0, "  -q, --quiet                no progress display\n"},
    {0, "      --help                 show this help\n"},
};

void sm_run_options_help(FILE *f, int create)
{
    for (size_t i = 0; i < sizeof help_lines / sizeof help_lines[0]; i++)
        if (!create || !help_lines[i].run_only)
            fputs(help_lines[i].text, f);
}

enum { O_RM = 256, O_NAME, O_ENV_FILE, O_ENTRYPOINT, O_CPUS, O_NETWORK, O_DISK, O_PULL, O_HELP,
       O_SNAPSHOT, O_NO_SNAPSHOT, O_PLATFORM, O_READ_ONLY, O_TMPFS, O_ROOTFS };

static int choice(const char *verb, const char *opt, const char *s, const char *const *names,
                  int *out)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    return sm_cli_usage_error(verb, "%s: unknown value '%s'", opt, s);
}

static int platform(sm_run_opts *o, const char *arg)
{
    /* A VM runs the host's instruction set: nothing else can start. */
    if (strcmp(arg, "linux/amd64") && strcmp(arg, "amd64"))
        return sm_cli_usage_error(o->verb, "--platform %s: VMs here run linux/amd64 "
                                  "only (KVM runs the host's own instruction set)", arg);
    o->platform = "linux/amd64";
    return 0;
}

/* user, none, or podman's ns:PATH. */
static int network(sm_run_opts *o, const char *arg)
{
    static const char *const nets[] = {"user", "none", NULL};
    int v = 0;
    if (!strncmp(arg, "ns:", 3)) {
        if (!arg[3])
            return sm_cli_usage_error(o->verb, "--network ns:PATH: the namespace's file is "
                                      "missing (e.g. ns:/var/run/netns/NAME)");
        o->network = SM_NETWORK_NETNS;
        o->netns_path = arg + 3;
        return 0;
    }
    int err = choice(o->verb, "--network", arg, nets, &v);
    o->network = v ? SM_NETWORK_NONE : SM_NETWORK_USER;
    o->netns_path = NULL;
    return err;
}

static int option(sm_run_opts *o, int c, char *arg)
{
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
    case 'm': return sm_cli_memory(o->verb, "--memory", arg, &o->memory_mib);
    case O_CPUS: return sm_cli_cpus(o->verb, "--cpus", arg, &o->cpus, &o->cpu_quota_milli);
    case 'p': return sm_run_add_port(o, arg);
    case 'v': return sm_run_add_share(o, arg);
    case O_READ_ONLY: o->read_only = 1; return 0;
    case O_TMPFS: return sm_run_add_tmpfs(o, arg);
    case O_NETWORK: return network(o, arg);
    case O_DISK: o->upper_disk = arg; return 0;
    case O_SNAPSHOT: o->snapshot = arg; return 0;
    case O_ROOTFS: o->rootfs = arg; return 0;
    case O_NO_SNAPSHOT: o->no_snapshot = 1; return 0;
    case O_PLATFORM: return platform(o, arg);
    case O_PULL:
        err = choice(o->verb, "--pull", arg, pulls, &v);
        o->pull = (sm_pull_policy)v;
        return err;
    default: return SM_CLI_EXIT_FAILURE;
    }
}

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
    {"tmpfs", required_argument, NULL, O_TMPFS},
    {"rootfs", required_argument, NULL, O_ROOTFS}, {0},
};

/* --rootfs DIR COMMAND...: a directory has no image config to take a
 * command from. */
static int rootfs_operands(sm_run_opts *o, int argc, char **argv)
{
    if (o->snapshot)
        return sm_cli_usage_error(o->verb, "--rootfs and --snapshot contradict: a snapshot "
                                  "resumes its own root");
    if (o->upper_disk)
        return sm_cli_usage_error(o->verb, "--disk keeps an image's writable layer; --rootfs "
                                  "%s is written in place", o->rootfs);
    if (optind >= argc)
        return sm_cli_usage_error(o->verb, "which command? 'supermachine %s --rootfs DIR "
                                  "COMMAND' (a directory has no image to take one from)",
                                  o->verb);
    o->cmd = argv + optind;
    return 0;
}

/* What follows the options: IMAGE [COMMAND...], or with --snapshot only
 * the command (the snapshot names its image), or with --rootfs. */
static int operands(sm_run_opts *o, int argc, char **argv)
{
    if (o->rootfs)
        return rootfs_operands(o, argc, argv);
    if (o->snapshot) {
        if (o->no_snapshot)
            return sm_cli_usage_error(o->verb, "--snapshot and --no-snapshot contradict");
        o->cmd = optind < argc ? argv + optind : NULL;
        return 0;
    }
    if (optind >= argc)
        return sm_cli_usage_error(o->verb, "which image? 'supermachine %s IMAGE [COMMAND]'",
                                  o->verb);
    o->image = argv[optind];
    o->cmd = optind + 1 < argc ? argv + optind + 1 : NULL;
    return 0;
}

int sm_run_parse(sm_run_opts *o, int argc, char **argv, void (*usage)(FILE *))
{
    int c;
    optind = 1;
    /* "+": options end at the image name; the rest is the command. */
    while ((c = getopt_long(argc, argv, "+itdqe:w:u:m:p:v:h:", opts, NULL)) != -1) {
        if (c == O_HELP) {
            usage(stdout);
            return -1;
        }
        if (c == '?')
            return sm_cli_usage_error(o->verb, "unknown option");
        int err = option(o, c, optarg);
        if (err)
            return err;
    }
    return operands(o, argc, argv);
}

int sm_run_defaults(sm_run_opts *o, const char *verb)
{
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    *o = (sm_run_opts){.verb = verb};
    /* The user's defaults first: options given override them. */
    o->memory_mib = cfg->memory_mib, o->cpus = cfg->cpus, o->cpu_quota_milli = cfg->cpu_quota_milli;
    o->network = cfg->has_network ? cfg->network : o->network;
    o->pull = cfg->has_pull ? cfg->pull : o->pull;
    return 0;
}
