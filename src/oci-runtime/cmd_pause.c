/* pause, resume and update: the running VM itself. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci-runtime/runtime.h"
#include "oci-runtime/state.h"
#include "supermachine.h"

static int with_vm(const sm_oci_globals *g, int argc, char **argv, const char *need,
                   int (*act)(sm_vm *), const char *marker, bool on)
{
    const char *id = sm_oci_id_arg(g, argc, argv, 1, false);
    sm_oci_state st = {0};
    if (!id || sm_oci_state_open(g, id, &st))
        return 1;
    const char *status = sm_oci_status(&st);
    sm_vm *vm = NULL;
    int rc = 0;
    if (strcmp(status, need) != 0)
        rc = sm_oci_fail(g, "cannot %s container %s: it is %s", argv[0], id, status);
    else if (sm_vm_open(st.vm_id, &vm) < 0 || act(vm) < 0)
        rc = sm_oci_fail(g, "cannot %s container %s: %s", argv[0], id, sm_last_error());
    else if (sm_oci_mark(&st, marker, on) < 0)
        rc = sm_oci_fail(g, "cannot record the state of %s: %s", id, strerror(errno));
    sm_vm_release(vm);
    sm_oci_state_free(&st);
    return rc;
}

int sm_oci_cmd_pause(const sm_oci_globals *g, int argc, char **argv)
{
    return with_vm(g, argc, argv, "running", sm_vm_pause, "paused", true);
}

int sm_oci_cmd_resume(const sm_oci_globals *g, int argc, char **argv)
{
    return with_vm(g, argc, argv, "paused", sm_vm_unpause, "paused", false);
}

/* Which of the resources asks for something: a VM's RAM and vCPUs are
 * fixed once it runs, and it has no cgroup for the rest. */
static const char *asked(json_t *r)
{
    static const char *const fields[][2] = {
        {"memory", "limit"}, {"memory", "reservation"}, {"memory", "swap"},
        {"cpu", "quota"},    {"cpu", "shares"},         {"cpu", "cpus"},
        {"pids", "limit"},   {"blockIO", "weight"},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(json_object_get(r, fields[i][0]), fields[i][1]);
        if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0) &&
            !(json_is_string(v) && !*json_string_value(v)))
            return fields[i][0];
    }
    return NULL;
}

int sm_oci_cmd_update(const sm_oci_globals *g, int argc, char **argv)
{
    static const struct option longs[] = {{"resources", required_argument, NULL, 'r'},
                                          {NULL, 0, NULL, 0}};
    const char *file = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "r:", longs, NULL)) != -1) {
        if (c == 'r')
            file = optarg;
        else
            return sm_oci_fail(g, "update: %s cannot be changed on a running VM; only "
                               "--resources is read, and a VM honours none of it",
                               argv[optind - 1]);
    }
    const char *id = sm_oci_id_arg(g, argc, argv, optind, false);
    sm_oci_state st = {0};
    if (!id || sm_oci_state_open(g, id, &st))
        return 1;
    sm_oci_state_free(&st);
    json_error_t je;
    json_t *r = !file ? json_object()
                : strcmp(file, "-") ? json_load_file(file, 0, &je)
                                    : json_loadf(stdin, 0, &je);
    if (!r)
        return sm_oci_fail(g, "update: %s: %s", file, je.text);
    const char *what = asked(r);
    json_decref(r);
    if (what)
        return sm_oci_fail(g, "update: the %s of container %s cannot change while its VM runs "
                           "(its RAM and vCPUs are fixed at create, from "
                           "linux.resources): recreate the container", what, id);
    return 0;
}
