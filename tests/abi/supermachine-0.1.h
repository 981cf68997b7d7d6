/*
 * The structs and calls of supermachine.h as they stood on 2026-11-27
 * (commit 7b913c5, library 0.1), copied from the project's own history
 * and frozen: test_old_header.c is built against this instead of the
 * current header, as a program built then would have been, and runs with
 * the current library. Do not update it; add a newer copy beside it.
 */
#ifndef SUPERMACHINE_0_1_H
#define SUPERMACHINE_0_1_H

#include <stddef.h>
#include <stdint.h>

const char *sm_last_error(void);

typedef struct sm_disk {
    const char *path;
    int read_only;
} sm_disk;

typedef struct sm_vm sm_vm;
typedef struct sm_image sm_image;

typedef enum sm_network {
    SM_NETWORK_DEFAULT = 0,
    SM_NETWORK_USER,
    SM_NETWORK_NONE,
} sm_network;

typedef struct sm_port {
    const char *host_ip;        /* NULL: 127.0.0.1 */
    uint16_t host_port;
    uint16_t guest_port;
    int udp;                    /* 0: TCP */
} sm_port;

/* A host file or directory shared with the guest, as `-v HOST:GUEST[:ro]`. */
typedef struct sm_share {
    const char *host_path;
    const char *guest_path;     /* absolute, inside the image's root */
    int read_only;
} sm_share;

typedef struct sm_vm_config {
    size_t size;                /* sizeof(sm_vm_config), or 0 for this header's */
    const char *kernel;         /* NULL: built-in */
    const char *initrd;         /* NULL: built-in */
    const char *cmdline;        /* extra kernel command line; may be NULL */
    uint32_t memory_mib;        /* 0: 128 */
    uint32_t cpus;              /* 0: 1 */
    const sm_disk *disks;       /* ndisks entries (at most 8): vda, vdb, ... */
    unsigned ndisks;
    uint32_t start_timeout_ms;  /* until the agent answers; 0: 120 s */
    /* hostname and upper_disk need sm_vm_start to be given an image. */
    const char *hostname;       /* NULL: the first 12 hex digits of the VM's id */
    sm_network network;
    const sm_port *ports;       /* nports published ports */
    unsigned nports;
    const sm_share *shares;     /* nshares shared files and directories */
    unsigned nshares;
    const char *upper_disk;
    const char *name;
    int detached;
    int auto_remove;            /* detached: forget the record when it ends */
} sm_vm_config;

int sm_vm_start(const sm_image *image, const sm_vm_config *config, sm_vm **out);
int sm_vm_stop(sm_vm *vm);

typedef struct sm_file {
    const char *path;
    const void *data;
    size_t len;
    uint32_t mode;              /* 0: 0644 */
} sm_file;

typedef int (*sm_output_fn)(void *ctx, const void *data, size_t len);

typedef struct sm_exec {
    size_t size;                /* sizeof(sm_exec), or 0 for this header's */
    const char *const *argv;    /* NULL-terminated; searched in PATH */
    const char *const *env;     /* "NAME=value", NULL-terminated; NULL: PATH and HOME */
    const char *cwd;            /* NULL: / */
    uint32_t uid, gid;          /* 0: root */
    uint32_t timeout_ms;        /* 0: none; else the process group is killed */
    int pty;                    /* run on a pseudo-terminal (stderr joins stdout) */
    uint16_t rows, cols;        /* its window; 0: 24x80 */
    const void *stdin_data;
    size_t stdin_len;
    int has_stdin_fd, stdin_fd;
    int stdin_stream;           /* keep stdin open for sm_exec_write_stdin */
    sm_output_fn on_stdout, on_stderr;
    void *ctx;
    int stdout_fd, stderr_fd;
    size_t max_output;
    const sm_file *files;       /* staged before the command starts */
    unsigned nfiles;
    const char *user;
    int from_image;
    const char *const *entrypoint;
    int has_entrypoint;         /* entrypoint replaces the image's (NULL: none) */
    const char *const *cmd;
} sm_exec;

typedef struct sm_exec_result {
    size_t size;                /* sizeof(sm_exec_result), or 0 for this header's */
    int exit_status;            /* shell style: code, or 128+signal */
    int signal;                 /* the signal that ended it, or 0 */
    int timed_out;              /* killed because timeout_ms passed */
    uint64_t peak_rss_kib;      /* the command's peak resident memory */
    char *stdout_data, *stderr_data;  /* kept output, NUL-terminated */
    size_t stdout_len, stderr_len;
    int output_truncated;       /* more than max_output came */
} sm_exec_result;

int sm_vm_exec(sm_vm *vm, const sm_exec *exec, sm_exec_result *result);
void sm_exec_result_free(sm_exec_result *result);

#endif
