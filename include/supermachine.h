/*
 * supermachine: run OCI images as hardware-isolated microVMs on Linux KVM.
 *
 * Conventions: every function returns 0 or a negative errno; on failure
 * sm_last_error() gives the calling thread a sentence saying what failed and
 * what to do. Option structs start with a `size` field set by the caller to
 * sizeof(struct), so that later versions can grow them without breaking old
 * callers. Everything public carries the sm_ prefix.
 */
#ifndef SUPERMACHINE_H
#define SUPERMACHINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SM_API __attribute__((visibility("default")))
#else
#define SM_API
#endif

#define SM_VERSION_MAJOR 0
#define SM_VERSION_MINOR 1

/* The sentence describing the calling thread's last failure. */
SM_API const char *sm_last_error(void);

/*
 * Low-level boot: boot a kernel and initramfs in a fresh microVM, run one
 * command inside with the project's sm-init as PID 1, and wait until it ends.
 * The guest console (kernel messages and the command's output) is copied to
 * console_fd.
 */
typedef struct sm_boot_config {
    size_t size;               /* sizeof(sm_boot_config) */
    const char *kernel;        /* vmlinux (ELF with a PVH entry); NULL: built-in */
    const char *initrd;        /* initramfs holding sm-init; NULL: built-in */
    const char *cmdline;       /* extra kernel command line, appended; may be NULL */
    uint32_t memory_mib;       /* guest RAM; 0: 128 */
    uint32_t cpus;             /* vCPUs; 0: 1 */
    const char *const *argv;   /* command to run (NULL-terminated); NULL: /bin/sh */
    int console_fd;            /* where the console goes; -1: discarded */
} sm_boot_config;

/* How a booted guest ended. */
typedef enum sm_boot_outcome {
    SM_BOOT_EXITED = 1,   /* the command ended; see exit_status */
    SM_BOOT_PANICKED,     /* the guest kernel panicked; see detail */
    SM_BOOT_RESET,        /* the guest rebooted or powered off unexpectedly */
} sm_boot_outcome;

typedef struct sm_boot_result {
    size_t size;              /* sizeof(sm_boot_result) */
    sm_boot_outcome outcome;
    int exit_status;          /* shell-style: code, or 128+signal */
    char detail[1024];        /* for PANICKED/RESET: the last console lines */
    /* CLOCK_MONOTONIC nanoseconds of each phase, 0 if not reached: the
     * call, the first vCPU entry, sm-init's first word, the command's end. */
    uint64_t t_call_ns, t_guest_entry_ns, t_init_ns, t_exit_ns;
} sm_boot_result;

/* Returns 0 when the guest ran and ended (whatever the outcome), or a
 * negative errno when the VM could not be set up or failed in the VMM. */
SM_API int sm_boot(const sm_boot_config *config, sm_boot_result *result);

#ifdef __cplusplus
}
#endif

#endif
