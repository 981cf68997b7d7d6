/* A container's state under --root: <root>/<id>/state.json (written
 * atomically) and two markers beside it, "started" and "paused". The
 * status is read off them and off the keeper process: a container whose
 * keeper is gone is stopped, whatever the files say. */
#ifndef SM_OCI_STATE_H
#define SM_OCI_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "oci-runtime/runtime.h"

typedef struct sm_oci_state {
    char id[256];
    char dir[4096];             /* <root>/<id> */
    char bundle[4096];
    char rootfs[4096];
    int pid;                    /* the keeper; 0 while being created */
    uint64_t pid_start;         /* its start time (/proc/PID/stat), against pid reuse */
    char vm_id[65];             /* the VM's, "" until it started */
    char created[40];           /* RFC 3339 */
    char sandbox[256];          /* the pod's sandbox container, "" if none */
    json_t *annotations;        /* owned; may be NULL */
} sm_oci_state;

/* runc's rule for ids: letters, digits, '_', '+', '-', '.'; not "." or "..". */
bool sm_oci_id_valid(const char *id);
/* Fills st->id and st->dir; -1 with a message for a bad id. */
int sm_oci_state_init(const sm_oci_globals *g, const char *id, sm_oci_state *st);
int sm_oci_state_write(const sm_oci_state *st);
/* 0, -ENOENT (no such container) or another negative errno. */
int sm_oci_state_read(const sm_oci_globals *g, const char *id, sm_oci_state *st);
void sm_oci_state_free(sm_oci_state *st);

/* "creating", "created", "running", "paused" or "stopped". */
const char *sm_oci_status(const sm_oci_state *st);
/* Whether the keeper still runs (a zombie does not). */
bool sm_oci_keeper_alive(const sm_oci_state *st);
/* A process's start time in clock ticks since boot; 0 if it is gone. */
uint64_t sm_oci_pid_start(int pid);

/* --pid-file: written under another name and renamed, so that a
 * reader never sees half of it. 0 or a negative errno. */
int sm_oci_write_pid_file(const char *path, int pid);

/* The marker files ("started", "paused"). */
int sm_oci_mark(const sm_oci_state *st, const char *name, bool on);

/* The OCI state object (`state`, hooks' stdin). */
json_t *sm_oci_state_json(const sm_oci_state *st, const char *status);

/* "<dir>/<name>" into out. */
void sm_oci_state_path(const sm_oci_state *st, const char *name, char *out, size_t len);

/* sm_oci_state_read, reporting failures: "container X does not exist". */
int sm_oci_state_open(const sm_oci_globals *g, const char *id, sm_oci_state *st);

/* The container id after a command's options: argv[optind], which must
 * be the last argument unless extra is set; NULL after reporting. */
const char *sm_oci_id_arg(const sm_oci_globals *g, int argc, char **argv, int first,
                          bool extra);
#endif
