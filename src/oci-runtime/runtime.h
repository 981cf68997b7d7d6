/* supermachine-oci: runc's command line over libsupermachine. Each
 * container is a microVM owned by a small "keeper" process (keeper.c)
 * whose pid is the container's pid: it lives as long as the container's
 * main process and ends as that process ended, so a shim's reaper sees
 * what it sees with runc. */
#ifndef SM_OCI_RUNTIME_H
#define SM_OCI_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#define SM_OCI_DEFAULT_ROOT "/run/supermachine-oci"
#define SM_OCI_SPEC_VERSION "1.1.0"

/* The global options, as runc takes them. */
typedef struct sm_oci_globals {
    const char *root;       /* --root: state of every container */
    const char *log_path;   /* --log: where errors also go (NULL: stderr only) */
    bool log_json;          /* --log-format json (containerd's shim reads it) */
    bool debug;
} sm_oci_globals;

/* Report a failure (stderr and --log) and return 1, runc's exit status. */
int sm_oci_fail(const sm_oci_globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A debug line in --log when --debug is given. */
void sm_oci_debug(const sm_oci_globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The wall clock as RFC 3339 UTC with nanoseconds (state, log lines). */
void sm_oci_now_rfc3339(char *out, size_t len);

typedef int (*sm_oci_cmd)(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_create(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_run(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_start(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_state(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_kill(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_delete(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_exec(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_ps(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_features(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_list(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_pause(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_resume(const sm_oci_globals *g, int argc, char **argv);
int sm_oci_cmd_update(const sm_oci_globals *g, int argc, char **argv);

#endif
