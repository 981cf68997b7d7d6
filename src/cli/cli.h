/* Shared by the subcommands of the supermachine command. */
#ifndef SM_CLI_CLI_H
#define SM_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* docker's convention: 125 when the tool itself failed. */
#define SM_CLI_EXIT_FAILURE 125

/* Print "supermachine: <sm_last_error()>" and return SM_CLI_EXIT_FAILURE. */
int sm_cli_fail(void);
int sm_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A count from 1 to max for option opt of cmd, else a usage error. */
int sm_cli_count(const char *cmd, const char *opt, const char *s, uint32_t max, uint32_t *out);
/* The same without a message: 0, or -1 for a bad value. */
int sm_cli_parse_memory(const char *s, uint32_t *mib);
int sm_cli_parse_cpus(double v, uint32_t *cpus, uint32_t *quota_milli);
/* A memory size as docker takes it ("512m", "2g"; bare: MiB), in MiB. */
int sm_cli_memory(const char *cmd, const char *opt, const char *s, uint32_t *mib);
/* docker's --cpus ("1.5"): whole vCPUs (2), and the fraction as a CPU
 * quota in thousandths (1500; 0 for a whole number). */
int sm_cli_cpus(const char *cmd, const char *opt, const char *s, uint32_t *cpus,
                uint32_t *quota_milli);

int sm_cmd_boot(int argc, char **argv);
int sm_cmd_run(int argc, char **argv);
int sm_cmd_ps(int argc, char **argv);
int sm_cmd_exec(int argc, char **argv);
int sm_cmd_logs(int argc, char **argv);
int sm_cmd_stop(int argc, char **argv);
int sm_cmd_rm(int argc, char **argv);
int sm_cmd_pull(int argc, char **argv);
int sm_cmd_push(int argc, char **argv);
int sm_cmd_import(int argc, char **argv);
int sm_cmd_load(int argc, char **argv);
int sm_cmd_images(int argc, char **argv);
int sm_cmd_inspect(int argc, char **argv);
int sm_cmd_rmi(int argc, char **argv);
int sm_cmd_gc(int argc, char **argv);
int sm_cmd_bake(int argc, char **argv);
int sm_cmd_snapshot(int argc, char **argv);
int sm_cmd_dedup(int argc, char **argv);
int sm_cmd_info(int argc, char **argv);
int sm_cmd_tag(int argc, char **argv);
int sm_cmd_save(int argc, char **argv);
int sm_cmd_system(int argc, char **argv);
int sm_cmd_prune(int argc, char **argv);
int sm_cmd_kill(int argc, char **argv);
int sm_cmd_wait(int argc, char **argv);
int sm_cmd_port(int argc, char **argv);
int sm_cmd_cp(int argc, char **argv);
int sm_cmd_pause(int argc, char **argv);
int sm_cmd_stats(int argc, char **argv);
int sm_cmd_top(int argc, char **argv);
int sm_cmd_attach(int argc, char **argv);
int sm_cmd_unpause(int argc, char **argv);
int sm_cmd_rename(int argc, char **argv);
int sm_cmd_version(int argc, char **argv);
int sm_cmd_history(int argc, char **argv);

/* stop's and restart's options (cmd_stop.c): -t SECONDS (default 10), -h
 * (help printed), then at least one VM from optind. -1 to go on with *ms
 * set, else the exit status to return. */
int sm_cli_stop_options(const char *cmd, int argc, char **argv, void (*help)(FILE *),
                        uint32_t *ms);
int sm_cmd_create(int argc, char **argv);
int sm_cmd_start(int argc, char **argv);
int sm_cmd_restart(int argc, char **argv);
int sm_cmd_login(int argc, char **argv);
int sm_cmd_logout(int argc, char **argv);

/* Follow the detached VM's output written since since_ns (unix ns) until
 * it ends, passing our signals on; frees vm. The process's exit status
 * (cmd_attach.c). */
struct sm_vm;
int sm_cli_attach(struct sm_vm *vm, int64_t since_ns);

/* The sm_vm_info of the VM of that name or id; on failure the message is
 * printed and SM_CLI_EXIT_FAILURE returned. */
struct sm_vm_info;
int sm_cli_vm_info(const char *name, struct sm_vm_info *out);

/* "12.3 MB": sizes as people read them (defined in cmd_images.c). */
void sm_cli_human_size(uint64_t bytes, char *out, size_t len);
/* "3 days ago", from an RFC 3339 time; "-" if there is none (cmd_images.c). */
void sm_cli_age(const char *created, char *out, size_t len);

#endif
