/* supermachine-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID: runc's command
 * line, so that containerd's runc shim, CRI-O, podman and docker run each
 * container as a microVM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci-runtime/runtime.h"
#include "supermachine.h"

typedef struct command {
    const char *name;
    sm_oci_cmd run;
    const char *summary;
    bool needs_root;            /* creates --root and the VMs' records there */
} command;

static const command commands[] = {
    {"create", sm_oci_cmd_create, "create a container (a VM) from a bundle", true},
    {"start", sm_oci_cmd_start, "run a created container's process"},
    {"run", sm_oci_cmd_run, "create and start a container, and wait for it", true},
    {"state", sm_oci_cmd_state, "print a container's state as JSON"},
    {"kill", sm_oci_cmd_kill, "send a signal to a container's process"},
    {"delete", sm_oci_cmd_delete, "delete a container and its VM"},
    {"exec", sm_oci_cmd_exec, "run another process in a container", true},
    {"ps", sm_oci_cmd_ps, "list a container's processes"},
    {"list", sm_oci_cmd_list, "list containers"},
    {"pause", sm_oci_cmd_pause, "stop a container's vCPUs", true},
    {"resume", sm_oci_cmd_resume, "let a paused container run again", true},
    {"update", sm_oci_cmd_update, "change a container's resources"},
    {"features", sm_oci_cmd_features, "print what this runtime supports as JSON"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: supermachine-oci [--root DIR] [--log FILE] [--log-format text|json] "
               "[--debug] COMMAND [OPTIONS] ID\n\nAn OCI runtime with runc's command line: "
               "each container runs in a hardware-isolated microVM.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nGlobal options:\n"
               "  --root DIR        container state (default " SM_OCI_DEFAULT_ROOT ")\n"
               "  --log FILE        also write errors there\n"
               "  --log-format F    text (default) or json\n"
               "  --debug           write debug lines to the log\n"
               "  --systemd-cgroup  accepted, for runc's callers: a VM needs no cgroup\n"
               "  --version, -v     print the version\n");
}

static int version(void)
{
    printf("supermachine-oci version %d.%d\nspec: %s\n", SM_VERSION_MAJOR, SM_VERSION_MINOR,
           SM_OCI_SPEC_VERSION);
    return 0;
}

/* "--name VALUE" or "--name=VALUE" (runc also takes one dash). */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i] + (argv[*i][1] == '-' ? 2 : 1);
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0' || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static bool flag(const char *arg, const char *name)
{
    const char *a = arg + (arg[1] == '-' ? 2 : 1);
    return strcmp(a, name) == 0;
}

/* The global options before the command; the command's index, or -1
 * with the exit status in *status. */
static int globals(int argc, char **argv, sm_oci_globals *g, int *status)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        if ((v = option_value(argc, argv, &i, "root")))
            g->root = v;
        else if ((v = option_value(argc, argv, &i, "log")))
            g->log_path = *v ? v : NULL;
        else if ((v = option_value(argc, argv, &i, "log-format")))
            g->log_json = strcmp(v, "json") == 0;
        else if ((v = option_value(argc, argv, &i, "rootless")) ||
                 (v = option_value(argc, argv, &i, "criu")))
            continue;  /* runc's; nothing to do for a VM */
        else if (flag(argv[i], "debug"))
            g->debug = true;
        else if (flag(argv[i], "systemd-cgroup"))
            continue;
        else if (flag(argv[i], "version") || flag(argv[i], "v"))
            return *status = version(), -1;
        else if (flag(argv[i], "help") || flag(argv[i], "h"))
            return usage(stdout), *status = 0, -1;
        else
            return *status = sm_oci_fail(g, "unknown global option %s", argv[i]), -1;
    }
    if (i == argc) {
        usage(stderr);
        return *status = 1, -1;
    }
    return i;
}

static int use_root(const sm_oci_globals *g)
{
    if (mkdir(g->root, 0700) < 0 && errno != EEXIST)
        return sm_oci_fail(g, "cannot create the state directory %s: %s", g->root,
                           strerror(errno));
    return 0;
}

int main(int argc, char **argv)
{
    sm_oci_globals g = {.root = SM_OCI_DEFAULT_ROOT};
    int status = 0;
    int i = globals(argc, argv, &g, &status);
    if (i < 0)
        return status;
    if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "version"))
        return version();
    /* Every container's VM keeps its record under --root too (made by
     * the keeper that starts it), apart from the user's own `supermachine
     * ps`; the commands that find VMs look there. */
    char vms[4200];
    snprintf(vms, sizeof vms, "%s/.vms", g.root);
    setenv("XDG_RUNTIME_DIR", vms, 1);
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(argv[i], commands[c].name) != 0)
            continue;
        if (commands[c].needs_root && use_root(&g))
            return 1;
        return commands[c].run(&g, argc - i, argv + i);
    }
    return sm_oci_fail(&g, "unknown command '%s' (supermachine-oci --help lists them)", argv[i]);
}
