/* The worker's seccomp filters, one per thread role, compiled from the
 * allow-lists at build time (seccomp_gen.c) and installed here. */
#ifndef SM_WORKER_SECCOMP_FILTER_H
#define SM_WORKER_SECCOMP_FILTER_H

#include <stdbool.h>

typedef enum sm_seccomp_role {
    SM_SECCOMP_PROCESS,      /* every thread */
    SM_SECCOMP_PROCESS_NET,  /* every thread, with a libslirp network */
    SM_SECCOMP_VCPU,         /* stacked on the above by each vCPU thread */
    SM_SECCOMP_DEVICE,       /* and by the device thread */
} sm_seccomp_role;

/* Installs the role's filter: anything it does not allow traps (SIGSYS),
 * the ENOSYS list fails with ENOSYS. all_threads: on every thread of the
 * process at once (TSYNC), else on the calling thread only. The caller
 * sets no-new-privs first, or has CAP_SYS_ADMIN. */
int sm_seccomp_load(sm_seccomp_role role, bool all_threads);
/* The number of distinct syscalls the role's filter allows. */
unsigned sm_seccomp_count(sm_seccomp_role role);

#endif
