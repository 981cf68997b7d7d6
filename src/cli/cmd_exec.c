/* supermachine exec: run a command in a running VM, as docker exec does:
 * with the image's Env, WorkingDir and User unless given. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine exec [OPTIONS] VM COMMAND [ARG...]\n\n"
               "Run COMMAND in the running VM (by name or id).\n\n"
               "Options:\n"
               "  -i, --interactive       keep standard input open to the command\n"
               "  -t, --tty               give the command a terminal\n"
               "  -e, --env NAME[=VALUE]  set an environment variable\n"
               "  -w, --workdir DIR       working directory\n"
               "  -u, --user USER[:GROUP] user to run as\n"
               "  -h, --help              show this help\n\n"
               "Exit status: the command's; 125 when supermachine failed.\n");
}

static int parse(sm_run_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
        {"env", required_argument, NULL, 'e'}, {"workdir", required_argument, NULL, 'w'},
        {"user", required_argument, NULL, 'u'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    int c, err = 0;
    optind = 1;
    while (!err && (c = getopt_long(argc, argv, "+ite:w:u:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o->interactive = 1; break;
        case 't': o->tty = 1; break;
        case 'e': err = sm_run_add_env(o, optarg); break;
        case 'w': o->workdir = optarg; break;
        case 'u': o->user = optarg; break;
        case 'h': usage(stdout); return -1;
        default: return sm_cli_usage_error("exec", "unknown option");
        }
    }
    if (!err && optind + 2 > argc)
        return sm_cli_usage_error("exec", "'supermachine exec VM COMMAND [ARG...]'");
    o->image = argv[optind];  /* here: the VM */
    o->cmd = argv + optind + 1;
    return err;
}

int sm_cmd_exec(int argc, char **argv)
{
    sm_run_opts o = {0};
    int err = parse(&o, argc, argv);
    if (err) {
        sm_run_opts_free(&o);
        return err < 0 ? 0 : err;
    }
    sm_vm *vm;
    int status;
    if (sm_vm_open(o.image, &vm) != 0) {
        status = sm_cli_fail();
    } else {
        sm_exec ex = {
            .size = sizeof ex, .from_image = 1, .argv = (const char *const *)o.cmd,
            .env = (const char *const *)o.env, .cwd = o.workdir, .user = o.user,
            .pty = o.tty, .has_stdin_fd = o.interactive, .stdin_fd = STDIN_FILENO,
            .stdout_fd = STDOUT_FILENO, .stderr_fd = STDERR_FILENO};
        status = sm_run_attached(vm, &ex);
        sm_vm_release(vm);
    }
    sm_run_opts_free(&o);
    return status;
}
