/* exec: another process in the container's VM. The process that stands
 * for it (supervise.h) is this one, or with --detach a child whose pid
 * goes to --pid-file, as runc's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci-runtime/console.h"
#include "oci-runtime/pod.h"
#include "oci-runtime/report.h"
#include "oci-runtime/runtime.h"
#include "oci-runtime/spec.h"
#include "oci-runtime/state.h"
#include "oci-runtime/supervise.h"

#define MAX_ENV 256

typedef struct exec_opts {
    const char *process_file, *pid_file, *console_socket, *cwd, *user, *id;
    const char *env[MAX_ENV + 1];
    size_t nenv;
    bool detach, tty;
    char **args;                /* the command after the id, if no --process */
} exec_opts;

static int parse(const sm_oci_globals *g, int argc, char **argv, exec_opts *o)
{
    static const struct option longs[] = {
        {"process", required_argument, NULL, 'p'}, {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, 'P'}, {"console-socket", required_argument, NULL, 'c'},
        {"tty", no_argument, NULL, 't'}, {"cwd", required_argument, NULL, 'w'},
        {"env", required_argument, NULL, 'e'}, {"user", required_argument, NULL, 'u'},
        {"preserve-fds", required_argument, NULL, 'F'}, {"no-new-privs", no_argument, NULL, 'N'},
        {"cap", required_argument, NULL, 'C'}, {"additional-gids", required_argument, NULL, 'g'},
        {"process-label", required_argument, NULL, 'L'}, {"apparmor", required_argument, NULL, 'A'},
        {"ignore-paused", no_argument, NULL, 'I'}, {"cgroup", required_argument, NULL, 'G'},
        {"pidfd-socket", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    /* "+": the command after the id keeps its own options. */
    while ((c = getopt_long(argc, argv, "+p:dte:u:g:", longs, NULL)) != -1) {
        switch (c) {
        case 'p': o->process_file = optarg; break;
        case 'd': o->detach = true; break;
        case 'P': o->pid_file = optarg; break;
        case 'c': o->console_socket = optarg; break;
        case 't': o->tty = true; break;
        case 'w': o->cwd = optarg; break;
        case 'u': o->user = optarg; break;
        case 'e':
            if (o->nenv == MAX_ENV)
                return sm_oci_fail(g, "exec: at most %d --env", MAX_ENV);
            o->env[o->nenv++] = optarg;
            break;
        case '?': return sm_oci_fail(g, "exec: unknown option %s", argv[optind - 1]);
        default: break;
        }
    }
    if (!(o->id = sm_oci_id_arg(g, argc, argv, optind, true)))
        return 1;
    o->args = argv + optind + 1;
    if (!o->process_file && !o->args[0])
        return sm_oci_fail(g, "exec needs --process FILE or a command after the id");
    return 0;
}

/* runc's exec without --process: the container's own process with the
 * command, --env, --cwd, --user and --tty laid over it. */
static int process_from_args(const sm_oci_globals *g, const exec_opts *o,
                             const sm_oci_state *st, sm_oci_spec *spec, sm_oci_process *p)
{
    char err[1200];
    if (sm_oci_spec_load(st->bundle, spec, err, sizeof err) < 0)
        return sm_oci_fail(g, "%s", err);
    *p = spec->process;
    p->args = (const char **)o->args;
    p->terminal = o->tty;
    if (o->cwd)
        p->cwd = o->cwd;
    if (o->user && sscanf(o->user, "%u:%u", &p->uid, &p->gid) < 1)
        return sm_oci_fail(g, "exec: --user %s: give UID[:GID]", o->user);
    size_t n = 0;
    static const char *env[2 * MAX_ENV + 1];
    for (size_t i = 0; spec->process.env && spec->process.env[i] && n < MAX_ENV; i++)
        env[n++] = spec->process.env[i];
    for (size_t i = 0; i < o->nenv; i++)
        env[n++] = o->env[i];
    env[n] = NULL;
    p->env = env;
    return 0;
}

/* In the process that stands for the guest's; returns only on failure
 * to start it (report_fd, if any, told why). */
static int supervise(const sm_oci_globals *g, const sm_oci_state *st, const sm_oci_process *p,
                     const char *console_socket, int report_fd)
{
    char err[1200];
    sm_vm *vm = NULL;
    int tty = -1, rc = 0;
    if (report_fd >= 0)
        setsid();
    if (p->terminal && console_socket &&
        (tty = sm_oci_console_open(console_socket, p->rows, p->cols, err, sizeof err)) < 0)
        rc = -1;
    else if (sm_vm_open(st->vm_id, &vm) < 0)
        rc = -1, snprintf(err, sizeof err, "the container's VM: %s", sm_last_error());
    int sigfd = rc ? -1 : sm_oci_signals_take();
    sm_oci_supervised s;
    if (!rc && sigfd < 0)
        rc = -1, snprintf(err, sizeof err, "signalfd: %s", strerror(-sigfd));
    char root[4096] = "";
    if (st->sandbox[0])
        sm_oci_pod_guest_root(st, root, sizeof root);
    if (!rc && sm_oci_supervise_start(vm, p, root[0] ? root : NULL, tty, &s, err, sizeof err) < 0)
        rc = -1;
    if (rc) {
        if (report_fd >= 0) {
            sm_oci_report(report_fd, "error %s", err);
            _exit(1);
        }
        return sm_oci_fail(g, "%s", err);
    }
    if (report_fd >= 0) {
        /* exec gone (killed) before it heard: nobody has our pid. */
        if (write(report_fd, "ok\n", 3) != 3)
            sm_oci_supervise_signal(&s, SIGKILL);
        close(report_fd);
    }
    int done = sm_oci_supervise_done_fd(&s), signo = 0, status;
    while (sm_oci_wait_event(sigfd, &done, 1, &signo) == -1)
        sm_oci_supervise_signal(&s, signo);
    sm_oci_supervise_end(&s, &status, &signo);
    sm_vm_release(vm);
    sm_oci_exit_like(status, signo);
}

static int detached(const sm_oci_globals *g, const exec_opts *o, const sm_oci_state *st,
                    const sm_oci_process *p)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return sm_oci_fail(g, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        supervise(g, st, p, o->console_socket, fds[1]);
    }
    close(fds[1]);
    char line[1300] = "";
    int rc = pid < 0 ? -1 : sm_oci_read_report(fds[0], line, sizeof line);
    close(fds[0]);
    if (rc < 0) {
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return sm_oci_fail(g, "%s", sm_oci_report_why(line, "the exec'd process did not start"));
    }
    if (o->pid_file && sm_oci_write_pid_file(o->pid_file, pid) < 0)
        return sm_oci_fail(g, "cannot write the pid file %s: %s", o->pid_file, strerror(errno));
    return 0;
}

int sm_oci_cmd_exec(const sm_oci_globals *g, int argc, char **argv)
{
    exec_opts o = {0};
    sm_oci_state st = {0};
    sm_oci_spec spec = {0};
    sm_oci_process p;
    json_t *doc = NULL;
    char err[1200];
    int rc = parse(g, argc, argv, &o);
    if (!rc && (rc = sm_oci_state_open(g, o.id, &st)) == 0 &&
        strcmp(sm_oci_status(&st), "running") != 0)
        rc = sm_oci_fail(g, "cannot exec in container %s: it is %s", o.id, sm_oci_status(&st));
    if (!rc && o.process_file && sm_oci_process_load(o.process_file, &doc, &p, err,
                                                      sizeof err) < 0)
        rc = sm_oci_fail(g, "%s", err);
    else if (!rc && !o.process_file)
        rc = process_from_args(g, &o, &st, &spec, &p);
    if (!rc && p.terminal && !o.console_socket && o.detach)
        rc = sm_oci_fail(g, "exec: a terminal with --detach needs --console-socket");
    if (!rc)
        rc = o.detach ? detached(g, &o, &st, &p) : supervise(g, &st, &p, o.console_socket, -1);
    if (doc)
        sm_oci_process_free(&p);
    json_decref(doc);
    sm_oci_spec_free(&spec);
    sm_oci_state_free(&st);
    return rc;
}
