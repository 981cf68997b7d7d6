/* Installs the programs seccomp_gen.c compiled at build time: a copy of
 * the role's program with the worker's pid in its slots, handed to the
 * kernel as it is. */
#include "worker/seccomp_filter.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "seccomp_programs.h"

typedef struct program {
    const struct sock_filter *code;
    unsigned short len;
    const unsigned short *pid_at;
    unsigned npid;
    unsigned allowed;
} program;

#define PROGRAM(name)                                                         \
    {name##_code, sizeof name##_code / sizeof name##_code[0], name##_pid_at,  \
     name##_NPID, name##_ALLOWED}

static const program programs[] = {
    [SM_SECCOMP_PROCESS] = PROGRAM(process),
    [SM_SECCOMP_PROCESS_NET] = PROGRAM(process_net),
    [SM_SECCOMP_VCPU] = PROGRAM(vcpu),
    [SM_SECCOMP_DEVICE] = PROGRAM(device),
};

unsigned sm_seccomp_count(sm_seccomp_role role) { return programs[role].allowed; }

static int install(struct sock_fprog *prog, bool all_threads)
{
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      all_threads ? SECCOMP_FILTER_FLAG_TSYNC : 0, prog);
    if (rc < 0)
        return sm_fail(errno, "seccomp: cannot load the filter: %s", strerror(errno));
    /* With TSYNC, a positive answer names a thread that could not take it. */
    if (rc > 0)
        return sm_fail(EBUSY, "seccomp: thread %ld cannot take the filter", rc);
    return 0;
}

int sm_seccomp_load(sm_seccomp_role role, bool all_threads)
{
    const program *p = &programs[role];
    struct sock_filter *code = malloc(p->len * sizeof *code);
    if (!code)
        return sm_fail(ENOMEM, "seccomp: out of memory for the filter");
    memcpy(code, p->code, p->len * sizeof *code);
    for (unsigned i = 0; i < p->npid; i++)
        code[p->pid_at[i]].k = (uint32_t)getpid();
    struct sock_fprog prog = {.len = p->len, .filter = code};
    int err = install(&prog, all_threads);
    free(code);
    return err;
}
