/*
 * Build-time tool: turns the worker's allow-lists (seccomp_lists.c, with
 * the hypervisor's ioctl requests from the backend) into one BPF program
 * per thread role, written as a C header the worker compiles in.
 *
 * Compiling the lists with libseccomp cost 1.5-6 ms per filter at every
 * VM start, three filters per start, most of it between the worker
 * opening a snapshot and the first vCPU entry; installing a ready program
 * costs microseconds, and the worker no longer links libseccomp.
 *
 * The one value known only at run time, the worker's own pid (tgkill may
 * only signal our own threads), is compiled in as a placeholder: each
 * program is built twice with two different placeholders, and the
 * instructions that differ are the slots the worker fills with getpid().
 *
 *   seccomp-gen OUTPUT
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/filter.h>

#include "worker/seccomp_lists.h"

/* Above any pid_max (2^22), so no real pid is mistaken for a slot. */
#define PID_A 0x5e1f0001u
#define PID_B 0x5e1f0002u

typedef struct role {
    const char *name;
    sm_sys_list lists[2];
    unsigned n;
} role;

typedef struct program {
    struct sock_filter *code;
    size_t len;
} program;

static void die(const char *what, int err)
{
    fprintf(stderr, "seccomp-gen: %s: %s\n", what, strerror(err));
    exit(1);
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const sm_sys_rule *r,
                    uint32_t pid)
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
        cmp.op = SCMP_CMP_EQ, cmp.datum_a = pid;
        break;
    }
    return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

/* A name this architecture lacks (e.g. "access" off x86) is skipped. */
static void add_one(scmp_filter_ctx ctx, uint32_t action, const sm_sys_rule *r, uint32_t pid,
                    unsigned char *seen)
{
    int nr = seccomp_syscall_resolve_name(r->name);
    if (nr == __NR_SCMP_ERROR)
        return;
    int rc = add_rule(ctx, action, nr, r, pid);
    if (rc < 0)
        die(r->name, -rc);
    if (seen && nr >= 0 && nr < 1024)
        seen[nr] = 1;
}

static void add_list(scmp_filter_ctx ctx, uint32_t action, sm_sys_list l, uint32_t pid,
                     unsigned char *seen)
{
    for (unsigned i = 0; i < l.n; i++)
        add_one(ctx, action, &l.rules[i], pid, seen);
    for (unsigned bit = 1; bit && bit <= l.hv_uses; bit <<= 1) {
        sm_hv_requests q = l.hv_uses & bit ? sm_hv_requests_for((sm_hv_use)bit)
                                           : (sm_hv_requests){NULL, 0};
        for (unsigned i = 0; i < q.n; i++) {
            sm_sys_rule r = {"ioctl", 1, SM_ARG_EQ, q.req[i]};
            add_one(ctx, action, &r, pid, seen);
        }
    }
}

/* Kill by default through SIGSYS, so that confine.c can say what
 * happened; a foreign architecture's syscalls kill outright. */
static program build(const role *ro, uint32_t pid, unsigned *allowed)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        die("seccomp_init", ENOMEM);
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc < 0)
        die("the bad-architecture action", -rc);
    unsigned char seen[1024] = {0};
    for (unsigned i = 0; i < ro->n; i++)
        add_list(ctx, SCMP_ACT_ALLOW, ro->lists[i], pid, seen);
    add_list(ctx, SCMP_ACT_ERRNO(ENOSYS), sm_seccomp_list_enosys(), pid, NULL);
    int fd = memfd_create("bpf", 0);
    if (fd < 0 || (rc = seccomp_export_bpf(ctx, fd)) < 0)
        die("exporting the program", fd < 0 ? errno : -rc);
    seccomp_release(ctx);
    off_t size = lseek(fd, 0, SEEK_END);
    program p = {malloc((size_t)size), (size_t)size / sizeof(struct sock_filter)};
    if (!p.code || pread(fd, p.code, (size_t)size, 0) != size)
        die("reading the program back", errno);
    close(fd);
    *allowed = 0;
    for (unsigned i = 0; i < 1024; i++)
        *allowed += seen[i];
    return p;
}

static void emit(FILE *out, const role *ro)
{
    unsigned allowed;
    program a = build(ro, PID_A, &allowed), b = build(ro, PID_B, &allowed);
    if (a.len != b.len || a.len > 0xffff)
        die(ro->name, EINVAL);
    fprintf(out, "static const unsigned short %s_pid_at[] = {", ro->name);
    unsigned npid = 0;
    for (size_t i = 0; i < a.len; i++) {
        if (!memcmp(&a.code[i], &b.code[i], sizeof a.code[i]))
            continue;
        if (a.code[i].k != PID_A || b.code[i].k != PID_B)
            die("a pid slot that is not a constant", EINVAL);
        fprintf(out, "%s%zu", npid++ ? ", " : "", i);
    }
    fprintf(out, "%s};\nstatic const struct sock_filter %s_code[] = {\n", npid ? "" : "0",
            ro->name);
    for (size_t i = 0; i < a.len; i++)
        fprintf(out, "    {0x%04x, %u, %u, 0x%08x},\n", a.code[i].code, a.code[i].jt,
                a.code[i].jf, a.code[i].k);
    fprintf(out, "};\n#define %s_ALLOWED %uu\n#define %s_NPID %uu\n\n", ro->name, allowed,
            ro->name, npid);
    free(a.code);
    free(b.code);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seccomp-gen OUTPUT\n");
        return 2;
    }
    const role roles[] = {
        {"process", {sm_seccomp_list_process()}, 1},
        {"process_net", {sm_seccomp_list_process(), sm_seccomp_list_network()}, 2},
        {"vcpu", {sm_seccomp_list_vcpu()}, 1},
        {"device", {sm_seccomp_list_device()}, 1},
    };
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *out = fopen(tmp, "w");
    if (!out)
        die(tmp, errno);
    fprintf(out, "/* Generated by src/worker/seccomp_gen.c from seccomp_lists.c. */\n\n");
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        emit(out, &roles[i]);
    if (fclose(out) != 0 || rename(tmp, argv[1]) < 0)
        die(argv[1], errno);
    return 0;
}
