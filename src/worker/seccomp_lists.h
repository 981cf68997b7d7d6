/* The worker's seccomp allow-lists (seccomp_lists.c), as data: which
 * syscalls each thread role may make, and with which arguments. The
 * filter builder (seccomp_filter.c) turns them into BPF. */
#ifndef SM_WORKER_SECCOMP_LISTS_H
#define SM_WORKER_SECCOMP_LISTS_H

#include <stdint.h>

#include "vmm/hv.h"

/* How one argument is checked; a syscall listed several times is allowed
 * when any of its rows matches. */
typedef enum {
    SM_ARG_ANY,          /* no check */
    SM_ARG_EQ,           /* args[arg] == value */
    SM_ARG_MASK_SET,     /* (args[arg] & value) == value */
    SM_ARG_MASK_CLEAR,   /* (args[arg] & value) == 0 */
    SM_ARG_SELF_PID,     /* args[arg] == the worker's pid */
    SM_ARG_FILE_TYPE,    /* (args[arg] & S_IFMT) == value */
} sm_arg_check;

typedef struct sm_sys_rule {
    const char *name;    /* as libseccomp knows it, e.g. "openat" */
    unsigned arg;
    sm_arg_check check;
    uint64_t value;
} sm_sys_rule;

/* A role's syscalls by name, and the hypervisor's ioctl requests by use:
 * the numbers are the backend's (sm_hv_requests_for in vmm/hv.h), so no
 * list here names a KVM request. */
typedef struct sm_sys_list {
    const sm_sys_rule *rules;
    unsigned n;
    unsigned hv_uses;    /* sm_hv_use bits */
} sm_sys_list;

/* Every thread of a confined worker. */
sm_sys_list sm_seccomp_list_process(void);
/* Added when the VM has a libslirp network: IPv4/IPv6 sockets. */
sm_sys_list sm_seccomp_list_network(void);
/* What a vCPU thread may still do, stacked on the process list. */
sm_sys_list sm_seccomp_list_vcpu(void);
sm_sys_list sm_seccomp_list_device(void);
/* Syscalls that fail with ENOSYS instead of stopping the worker: glibc
 * falls back from them to ones the lists can check. */
sm_sys_list sm_seccomp_list_enosys(void);

#endif
