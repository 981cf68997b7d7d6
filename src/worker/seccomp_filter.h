/* Turning the allow-lists into a loaded seccomp filter (libseccomp). */
#ifndef SM_WORKER_SECCOMP_FILTER_H
#define SM_WORKER_SECCOMP_FILTER_H

#include <stdbool.h>

#include "worker/seccomp_lists.h"

/* Loads a filter allowing the rows of lists[0..n) (and failing the ENOSYS
 * list with ENOSYS); anything else traps (SIGSYS). all_threads: on every
 * thread of the process at once (TSYNC), else on the calling thread only.
 * *allowed gets the number of distinct syscalls allowed. */
int sm_seccomp_load(const sm_sys_list *lists, unsigned n, bool all_threads, unsigned *allowed);
/* The number of distinct syscalls a list names on this architecture. */
unsigned sm_seccomp_count(sm_sys_list l);

#endif
