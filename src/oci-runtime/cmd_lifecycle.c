/* start, kill and delete: the container's life after create. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "oci-runtime/cleanup.h"
#include "oci-runtime/hooks.h"
#include "oci-runtime/keeper.h"
#include "oci-runtime/runtime.h"
#include "oci-runtime/state.h"
#include "supermachine.h"

/* Options of a command that takes only flags: those named in longs set
 * their flag; anything else is refused. The index of the first operand. */
static int flags(const sm_oci_globals *g, int argc, char **argv, const struct option *longs,
                 const char *shorts)
{
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1)
        if (c == '?') {
            sm_oci_fail(g, "%s: unknown option %s", argv[0], argv[optind - 1]);
            return -1;
        }
    return optind;
}

int sm_oci_cmd_start(const sm_oci_globals *g, int argc, char **argv)
{
    static const struct option longs[] = {{NULL, 0, NULL, 0}};
    int i = flags(g, argc, argv, longs, "");
    const char *id = i < 0 ? NULL : sm_oci_id_arg(g, argc, argv, i, false);
    sm_oci_state st = {0};
    if (!id || sm_oci_state_open(g, id, &st))
        return 1;
    const char *status = sm_oci_status(&st);
    char err[1200];
    int rc = 0;
    if (strcmp(status, "created") != 0)
        rc = sm_oci_fail(g, "cannot start container %s: it is %s, not created", id, status);
    else if (sm_oci_keeper_request(&st, "start\n", err, sizeof err) < 0)
        rc = sm_oci_fail(g, "cannot start container %s: %s", id, err);
    sm_oci_spec spec;
    /* A poststart hook that fails is a warning: the container runs on. */
    if (!rc && sm_oci_spec_load(st.bundle, &spec, err, sizeof err) == 0) {
        if (sm_oci_hooks_run(&spec, SM_OCI_HOOK_POSTSTART, &st, "running", err, sizeof err))
            sm_oci_fail(g, "warning: %s", err);
        sm_oci_spec_free(&spec);
    }
    sm_oci_state_free(&st);
    return rc;
}

int sm_oci_cmd_kill(const sm_oci_globals *g, int argc, char **argv)
{
    static const struct option longs[] = {{"all", no_argument, NULL, 'a'},
                                          {NULL, 0, NULL, 0}};
    int i = flags(g, argc, argv, longs, "a");
    if (i < 0)
        return 1;
    if (i >= argc || argc - i > 2)
        return sm_oci_fail(g, "kill needs a container id and at most a signal");
    const char *id = argv[i];
    int signo = argc - i == 2 ? sm_signal_parse(argv[i + 1]) : SIGTERM;
    if (signo <= 0)
        return sm_oci_fail(g, "unknown signal '%s'", argv[i + 1]);
    sm_oci_state st = {0};
    if (sm_oci_state_open(g, id, &st))
        return 1;
    const char *status = sm_oci_status(&st);
    int rc = 0;
    /* The keeper stands for the container's process: what it is sent
     * reaches that process, and SIGKILL ends both as it would runc's. */
    if (!strcmp(status, "stopped") || !strcmp(status, "creating"))
        rc = sm_oci_fail(g, "container %s is not running", id);
    else if (kill(st.pid, signo) < 0)
        rc = sm_oci_fail(g, "cannot signal container %s: %s", id, strerror(errno));
    sm_oci_state_free(&st);
    return rc;
}

static void poststop(const sm_oci_globals *g, sm_oci_state *st)
{
    sm_oci_spec spec;
    char err[1200];
    if (sm_oci_spec_load(st->bundle, &spec, err, sizeof err) < 0)
        return;
    if (sm_oci_hooks_run(&spec, SM_OCI_HOOK_POSTSTOP, st, "stopped", err, sizeof err))
        sm_oci_fail(g, "warning: %s", err);
    sm_oci_spec_free(&spec);
}

int sm_oci_cmd_delete(const sm_oci_globals *g, int argc, char **argv)
{
    static const struct option longs[] = {{"force", no_argument, NULL, 'f'},
                                          {NULL, 0, NULL, 0}};
    bool force = false;
    for (int k = 1; k < argc; k++)
        force |= !strcmp(argv[k], "--force") || !strcmp(argv[k], "-f");
    int i = flags(g, argc, argv, longs, "f");
    const char *id = i < 0 ? NULL : sm_oci_id_arg(g, argc, argv, i, false);
    sm_oci_state st = {0};
    if (!id)
        return 1;
    int err = sm_oci_state_read(g, id, &st);
    if (err == -EINVAL)
        return 1;
    if (err) {
        /* No state.json: a create killed before it wrote one. */
        int rc = access(st.dir, F_OK) == 0 ? sm_oci_cleanup(g, &st)
                 : force                   ? 0
                                           : sm_oci_fail(g, "container %s does not exist", id);
        sm_oci_state_free(&st);
        return rc;
    }
    const char *status = sm_oci_status(&st);
    if ((!strcmp(status, "running") || !strcmp(status, "paused")) && !force) {
        sm_oci_state_free(&st);
        return sm_oci_fail(g, "cannot delete container %s that is not stopped: %s (use "
                           "--force)", id, status);
    }
    int rc = sm_oci_cleanup(g, &st);
    if (st.pid > 0)
        poststop(g, &st);
    sm_oci_state_free(&st);
    return rc;
}
