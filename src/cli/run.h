/* What `supermachine run` (and its siblings) parse from the command line
 * and how they attach the terminal to a process in the VM. */
#ifndef SM_CLI_RUN_H
#define SM_CLI_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "supermachine.h"

#define SM_RUN_MAX_LIST 64

typedef struct sm_run_opts {
    const char *verb;                       /* "run" or "create", for messages */
    int interactive, tty, rm, detach, quiet, no_snapshot;
    const char *name, *workdir, *user, *hostname, *upper_disk, *image, *snapshot, *platform;
    const char *rootfs;                     /* --rootfs DIR: no image then */
    int has_entrypoint;
    const char *entrypoint[2];
    char *env[SM_RUN_MAX_LIST * 4 + 1];     /* "NAME=value", owned */
    size_t nenv, nfile_env;
    sm_port ports[SM_RUN_MAX_LIST];
    unsigned nports;
    sm_share shares[8];
    unsigned nshares;
    sm_tmpfs tmpfs[16];
    unsigned ntmpfs;
    int read_only;
    sm_network network;
    const char *netns_path;                 /* --network ns:PATH */
    sm_pull_policy pull;
    uint32_t memory_mib, cpus, cpu_quota_milli;
    char **cmd;                             /* NULL-terminated; NULL: the image's Cmd */
} sm_run_opts;

/* -e NAME=value, or -e NAME: the value from our environment, else skipped
 * (as docker does). */
int sm_run_add_env(sm_run_opts *o, const char *arg);
/* --env-file: NAME=value or NAME lines; blank lines and # comments skipped. */
int sm_run_add_env_file(sm_run_opts *o, const char *path);
/* -p [IP:]HOST:GUEST[/tcp|/udp] */
int sm_run_add_port(sm_run_opts *o, char *arg);
/* -v HOST:GUEST[:ro|:rw] */
int sm_run_add_share(sm_run_opts *o, char *arg);
/* --tmpfs /PATH[:OPTIONS] */
int sm_run_add_tmpfs(sm_run_opts *o, char *arg);
void sm_run_opts_free(sm_run_opts *o);

/* *o with the config file's defaults (memory, cpus, network, pull);
 * else the exit status after the message. */
int sm_run_defaults(sm_run_opts *o, const char *verb);
/* run's and create's options and operands (run_parse.c): 0; -1 after
 * --help printed usage; else the exit status after the message. */
int sm_run_parse(sm_run_opts *o, int argc, char **argv, void (*usage)(FILE *));
/* The options' lines of --help; create's leave out run's own. */
void sm_run_options_help(FILE *f, int create);

/* What the options make (run_setup.c): the image opened (pulled if need
 * be), the VM's config, its main process, and whether that is the
 * image's own with nothing overridden (sm_vm_config.run_image_process). */
int sm_run_open_image(const sm_run_opts *o, sm_image **img);
sm_vm_config sm_run_vm_config(sm_run_opts *o);
sm_exec sm_run_exec_config(const sm_run_opts *o);
int sm_run_image_process(const sm_run_opts *o);

/* Runs the exec on this terminal: stdin with -i, a raw tty and window-size
 * changes with -t, our signals forwarded. Returns the process's exit
 * status (128+N for signal N), or SM_CLI_EXIT_FAILURE. */
int sm_run_attached(sm_vm *vm, const sm_exec *ex);

#endif
