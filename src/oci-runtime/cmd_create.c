/* create: check the bundle, start the VM in a keeper process, run the
 * prestart and createRuntime hooks, write --pid-file. Nothing is left
 * behind when any step fails. run: create, start, and wait. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oci-runtime/cleanup.h"
#include "oci-runtime/hooks.h"
#include "oci-runtime/keeper.h"
#include "oci-runtime/lookpath.h"
#include "oci-runtime/report.h"
#include "oci-runtime/runtime.h"
#include "oci-runtime/supervise.h"
#include "oci-runtime/vm_plan.h"

typedef struct create_opts {
    char bundle[PATH_MAX];
    const char *pid_file, *console_socket, *id;
    sm_oci_role role;
    bool detach;                /* run only */
} create_opts;

static int parse(const sm_oci_globals *g, int argc, char **argv, create_opts *o)
{
    static const struct option longs[] = {
        {"bundle", required_argument, NULL, 'b'}, {"pid-file", required_argument, NULL, 'p'},
        {"console-socket", required_argument, NULL, 'c'},
        {"preserve-fds", required_argument, NULL, 'P'}, {"pidfd-socket", required_argument, NULL, 'F'},
        {"no-pivot", no_argument, NULL, 'n'}, {"no-new-keyring", no_argument, NULL, 'k'},
        {"detach", no_argument, NULL, 'd'}, {"keep", no_argument, NULL, 'K'},
        {NULL, 0, NULL, 0}};
    const char *bundle = ".";
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "b:d", longs, NULL)) != -1) {
        if (c == 'b')
            bundle = optarg;
        else if (c == 'p')
            o->pid_file = optarg;
        else if (c == 'c')
            o->console_socket = optarg;
        else if (c == 'd')
            o->detach = true;
        else if (c == '?')
            return sm_oci_fail(g, "%s: unknown option %s", argv[0], argv[optind - 1]);
    }
    if (optind != argc - 1)
        return sm_oci_fail(g, "%s needs exactly one container id", argv[0]);
    o->id = argv[optind];
    if (!realpath(bundle, o->bundle))
        return sm_oci_fail(g, "bundle %s: %s", bundle, strerror(errno));
    return 0;
}

static int start_keeper(const sm_oci_globals *g, sm_oci_state *st, const sm_oci_spec *spec,
                        const create_opts *o)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return sm_oci_fail(g, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        sm_oci_keeper_args a = {g, st, spec, spec->process.terminal ? o->console_socket : NULL,
                                p[1], o->role};
        sm_oci_keeper_main(&a);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return sm_oci_fail(g, "fork: %s", strerror(errno));
    }
    char line[1100];
    int rc = sm_oci_read_report(p[0], line, sizeof line);
    close(p[0]);
    if (rc < 0) {
        waitpid(pid, NULL, 0);
        return sm_oci_fail(g, "%s", sm_oci_report_why(line, "the container's keeper ended "
                                                      "before its VM started"));
    }
    st->pid = pid;
    st->pid_start = sm_oci_pid_start(pid);
    snprintf(st->vm_id, sizeof st->vm_id, "%s", line + 3);
    return 0;
}

static int run_create_hooks(const sm_oci_globals *g, const sm_oci_spec *spec,
                            const sm_oci_state *st)
{
    char err[1200];
    if (sm_oci_hooks_run(spec, SM_OCI_HOOK_PRESTART, st, "created", err, sizeof err) < 0 ||
        sm_oci_hooks_run(spec, SM_OCI_HOOK_CREATE_RUNTIME, st, "created", err, sizeof err) < 0)
        return sm_oci_fail(g, "%s", err);
    return 0;
}

/* Everything after the checks; on failure the container is removed. */
static int make(const sm_oci_globals *g, sm_oci_state *st, const sm_oci_spec *spec,
                const create_opts *o)
{
    snprintf(st->bundle, sizeof st->bundle, "%s", o->bundle);
    snprintf(st->rootfs, sizeof st->rootfs, "%s", spec->root_path);
    sm_oci_now_rfc3339(st->created, sizeof st->created);
    st->annotations = json_incref(spec->annotations);
    int rc = sm_oci_state_write(st) < 0
                 ? sm_oci_fail(g, "cannot write the state of %s: %s", st->id, strerror(errno))
                 : start_keeper(g, st, spec, o);
    if (!rc && sm_oci_state_write(st) < 0)
        rc = sm_oci_fail(g, "cannot write the state of %s: %s", st->id, strerror(errno));
    if (!rc)
        rc = run_create_hooks(g, spec, st);
    if (!rc && o->pid_file && sm_oci_write_pid_file(o->pid_file, st->pid) < 0)
        rc = sm_oci_fail(g, "cannot write the pid file %s: %s", o->pid_file, strerror(errno));
    if (rc)
        sm_oci_cleanup(g, st);
    return rc;
}

/* A pod's container runs in its sandbox's VM, which must be up. */
static int find_sandbox(const sm_oci_globals *g, const char *sandbox_id, sm_oci_state *st)
{
    sm_oci_state sb = {0};
    if (!sandbox_id)
        return sm_oci_fail(g, "annotations: a pod's container needs "
                           "io.kubernetes.cri.sandbox-id (or io.kubernetes.cri-o.SandboxID)");
    if (sm_oci_state_open(g, sandbox_id, &sb))
        return 1;
    const char *status = sm_oci_status(&sb);
    int rc = 0;
    if (strcmp(status, "running") && strcmp(status, "created"))
        rc = sm_oci_fail(g, "the pod's sandbox %s is %s", sandbox_id, status);
    else if (sb.sandbox[0])
        rc = sm_oci_fail(g, "%s is a container of a pod, not a pod's sandbox", sandbox_id);
    snprintf(st->sandbox, sizeof st->sandbox, "%s", sandbox_id);
    snprintf(st->vm_id, sizeof st->vm_id, "%s", sb.vm_id);
    sm_oci_state_free(&sb);
    return rc;
}

static int check(const sm_oci_globals *g, create_opts *o, sm_oci_spec *spec,
                 sm_oci_state *st)
{
    char err[1200];
    sm_oci_vm_plan plan;
    if (sm_oci_state_init(g, o->id, st))
        return 1;
    if (sm_oci_spec_load(o->bundle, spec, err, sizeof err) < 0 ||
        sm_oci_vm_plan_make(spec, &plan, err, sizeof err) < 0)
        return sm_oci_fail(g, "%s", err);
    if (spec->process.terminal && !o->console_socket && !o->detach)
        return sm_oci_fail(g, "process.terminal is true, but no --console-socket was given");
    if (sm_oci_lookpath(spec->root_path, &spec->process, err, sizeof err) < 0)
        return sm_oci_fail(g, "%s", err);
    const char *sandbox_id;
    o->role = sm_oci_pod_role(spec, &sandbox_id);
    if (o->role == SM_OCI_MEMBER && find_sandbox(g, sandbox_id, st))
        return 1;
    if (mkdir(st->dir, 0700) < 0)
        return errno == EEXIST ? sm_oci_fail(g, "container with id %s already exists", o->id)
                               : sm_oci_fail(g, "cannot create %s: %s", st->dir,
                                             strerror(errno));
    return 0;
}

static int create(const sm_oci_globals *g, int argc, char **argv, sm_oci_state *st,
                  create_opts *o)
{
    sm_oci_spec spec;
    memset(&spec, 0, sizeof spec);
    memset(st, 0, sizeof *st);
    int rc = parse(g, argc, argv, o);
    if (!rc)
        rc = check(g, o, &spec, st);
    if (!rc)
        rc = make(g, st, &spec, o);
    sm_oci_spec_free(&spec);
    return rc;
}

int sm_oci_cmd_create(const sm_oci_globals *g, int argc, char **argv)
{
    sm_oci_state st;
    create_opts o = {.detach = false};
    int rc = create(g, argc, argv, &st, &o);
    sm_oci_state_free(&st);
    return rc;
}

/* run: the keeper is our child, so its end is ours to wait for. */
int sm_oci_cmd_run(const sm_oci_globals *g, int argc, char **argv)
{
    sm_oci_state st;
    create_opts o = {.detach = false};
    char err[1200];
    int rc = create(g, argc, argv, &st, &o);
    if (!rc && sm_oci_keeper_request(&st, "start\n", err, sizeof err) < 0)
        rc = sm_oci_fail(g, "%s", err);
    if (rc || o.detach) {
        if (rc && st.pid > 0)
            sm_oci_cleanup(g, &st);
        sm_oci_state_free(&st);
        return rc;
    }
    int status = 0;
    while (waitpid(st.pid, &status, 0) < 0 && errno == EINTR)
        ;
    sm_oci_cleanup(g, &st);
    sm_oci_state_free(&st);
    sm_oci_exit_like(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
