/* Builds the worker's seccomp filters from seccomp_lists.c, with the
 * hypervisor's ioctl requests as its backend numbers them (hv.h). Kill by
 * default (through SIGSYS, so that confine.c can say what happened), a
 * foreign architecture's syscalls kill outright. */
#include "worker/seccomp_filter.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const sm_sys_rule *r)
{
    struct scmp_arg_cmp cmp = {.arg = r->arg};
    switch (r->check) {
    case SM_ARG_ANY:
        return seccomp_rule_add(ctx, action, nr, 0);
    case SM_ARG_EQ:
        cmp.op = SCMP_CMP_EQ, cmp.datum_a = r->value;
        break;
    case SM_ARG_MASK_SET:
        cmp.op = SCMP_CMP_MASKED_EQ, cmp.datum_a = r->value, cmp.datum_b = r->value;
        break;
    case SM_ARG_MASK_CLEAR:
        cmp.op = SCMP_CMP_MASKED_EQ, cmp.datum_a = r->value, cmp.datum_b = 0;
        break;
    case SM_ARG_FILE_TYPE:
        cmp.op = SCMP_CMP_MASKED_EQ, cmp.datum_a = S_IFMT, cmp.datum_b = r->value;
        break;
    case SM_ARG_SELF_PID:
        cmp.op = SCMP_CMP_EQ, cmp.datum_a = (uint64_t)getpid();
        break;
    }
    return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

static int add_one(scmp_filter_ctx ctx, uint32_t action, const sm_sys_rule *r,
                   unsigned char *seen)
{
    int nr = seccomp_syscall_resolve_name(r->name);
    if (nr == __NR_SCMP_ERROR)
        return 0;  /* not a syscall on this architecture (e.g. "access") */
    int rc = add_rule(ctx, action, nr, r);
    if (rc < 0)
        return sm_fail(-rc, "seccomp: cannot add the rule for %s: %s", r->name, strerror(-rc));
    if (seen && nr >= 0 && nr < 1024)
        seen[nr] = 1;
    return 0;
}

/* The requests of one sm_hv_use bit of `uses`; none when it is clear. */
static sm_hv_requests hv_requests(unsigned uses, unsigned bit)
{
    return uses & bit ? sm_hv_requests_for((sm_hv_use)bit) : (sm_hv_requests){NULL, 0};
}

/* The hypervisor's requests for the list's uses, each an ioctl rule on
 * its request number, as the backend gives them. */
static int add_hv_uses(scmp_filter_ctx ctx, uint32_t action, unsigned uses,
                       unsigned char *seen)
{
    for (unsigned bit = 1; bit && bit <= uses; bit <<= 1) {
        sm_hv_requests q = hv_requests(uses, bit);
        for (unsigned i = 0; i < q.n; i++) {
            sm_sys_rule r = {"ioctl", 1, SM_ARG_EQ, q.req[i]};
            int rc = add_one(ctx, action, &r, seen);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int add_list(scmp_filter_ctx ctx, uint32_t action, sm_sys_list l, unsigned char *seen)
{
    for (unsigned i = 0; i < l.n; i++) {
        int rc = add_one(ctx, action, &l.rules[i], seen);
        if (rc < 0)
            return rc;
    }
    return add_hv_uses(ctx, action, l.hv_uses, seen);
}

static unsigned count(const unsigned char *seen)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 1024; i++)
        n += seen[i];
    return n;
}

static void mark(const char *name, unsigned char *seen)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr >= 0 && nr < 1024)
        seen[nr] = 1;
}

unsigned sm_seccomp_count(sm_sys_list l)
{
    unsigned char seen[1024] = {0};
    for (unsigned i = 0; i < l.n; i++)
        mark(l.rules[i].name, seen);
    for (unsigned bit = 1; bit && bit <= l.hv_uses; bit <<= 1)
        if (hv_requests(l.hv_uses, bit).n)
            mark("ioctl", seen);
    return count(seen);
}

int sm_seccomp_load(const sm_sys_list *lists, unsigned n, bool all_threads, unsigned *allowed)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        return sm_fail(ENOMEM, "seccomp: cannot make a filter");
    unsigned char seen[1024] = {0};
    int err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* Set once by the caller; a vCPU's own filter must not need prctl. */
    if (!err)
        err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (!err && all_threads)
        err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (err)
        err = sm_fail(-err, "seccomp: cannot set the filter's attributes: %s", strerror(-err));
    for (unsigned i = 0; i < n && !err; i++)
        err = add_list(ctx, SCMP_ACT_ALLOW, lists[i], seen);
    if (!err)
        err = add_list(ctx, SCMP_ACT_ERRNO(ENOSYS), sm_seccomp_list_enosys(), NULL);
    int rc = err ? 0 : seccomp_load(ctx);
    if (rc < 0)
        err = sm_fail(-rc, "seccomp: cannot load the filter: %s", strerror(-rc));
    seccomp_release(ctx);
    if (!err && allowed)
        *allowed = count(seen);
    return err;
}
