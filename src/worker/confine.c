/* The worker's confinement steps (confine.h) and the report of a syscall
 * the allow-list refused. */
#include "worker/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "util/error.h"
#include "worker/capabilities.h"
#include "worker/jail.h"
#include "worker/landlock.h"
#include "worker/seccomp_filter.h"
#include "worker/syscall_names.h"

#define LOG_PREFIX "supermachine worker: "
#define RESOLV_CONF "/etc/resolv.conf"
/* Beyond the plan's paths: the VM dir, the hypervisor device, the
 * snapshot, resolv.conf and /proc/self. */
#define FIXED_PATHS 5
#define MAX_RULES (SM_CONFINE_MAX_PATHS + FIXED_PATHS)

static bool env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* Always on; off only for debugging, and then the log says so. */
bool sm_confine_disabled(void)
{
    return env_set("SUPERMACHINE_UNCONFINED");
}

/* ---- the SIGSYS report: async-signal-safe, so no stdio ---- */

typedef struct msg {
    char text[512];
    size_t len;
} msg;

static void put(msg *m, const char *s)
{
    while (*s && m->len < sizeof m->text - 1)
        m->text[m->len++] = *s++;
}

static void put_num(msg *m, unsigned long long v, int base)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % (unsigned)base];
        v /= (unsigned)base;
    } while (v && n < (int)sizeof digits);
    if (base == 16)
        put(m, "0x");
    while (n > 0 && m->len < sizeof m->text - 1)
        m->text[m->len++] = digits[--n];
}

static void put_args(msg *m, const void *uc)
{
#ifdef __x86_64__
    const greg_t *r = ((const ucontext_t *)uc)->uc_mcontext.gregs;
    put(m, " (arguments "), put_num(m, (unsigned long long)r[REG_RDI], 16);
    put(m, ", "), put_num(m, (unsigned long long)r[REG_RSI], 16);
    put(m, ", "), put_num(m, (unsigned long long)r[REG_RDX], 16), put(m, ")");
#else
    (void)m, (void)uc;
#endif
}

/* The worker stops: a refused syscall means a bug in the worker or a
 * guest that took it over, and neither should go on. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    msg m = {.len = 0};
    char thread[17] = "?";
    unsigned nr = (unsigned)si->si_syscall;
    const char *name = nr < sizeof sm_syscall_names / sizeof sm_syscall_names[0] &&
                       sm_syscall_names[nr] ? sm_syscall_names[nr] : "unknown";
    prctl(PR_GET_NAME, thread, 0, 0, 0);
    put(&m, LOG_PREFIX "confinement stopped the VM: thread '"), put(&m, thread);
    put(&m, "' made syscall "), put(&m, name), put(&m, " ("), put_num(&m, nr, 10), put(&m, ")");
    put_args(&m, uc);
    put(&m, ", which is not on its allow-list (src/worker/seccomp_lists.c)\n");
    ssize_t w = write(STDERR_FILENO, m.text, m.len);
    (void)w;
    syscall(SYS_exit_group, 128 + SIGSYS);
}

static int catch_sigsys(void)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSYS, &sa, NULL) < 0
        ? sm_fail(errno, "cannot catch SIGSYS: %s", strerror(errno)) : 0;
}

/* ---- the steps ---- */

static void add_path(sm_ll_path *ll, unsigned *n, const char *path, sm_ll_access a)
{
    if (path && *n < MAX_RULES)
        ll[(*n)++] = (sm_ll_path){path, a};
}

/* A worker run as root keeps only what its devices need from root:
 * acting on a share's files for the guest's root, binding a published
 * port below 1024. */
static int drop_capabilities(const sm_confine_plan *p)
{
    uint64_t keep = p->shares ? sm_caps_for_shares() : 0;
    if (p->ports)
        keep |= 1ULL << CAP_NET_BIND_SERVICE;
    return sm_caps_keep_only(keep);
}

/* Root first gets a jail (jail.h): it needs CAP_SYS_ADMIN, which goes
 * right after. Where root may not make one, landlock and seccomp hold
 * alone, and the log says so. */
static int jail(const sm_ll_path *ll, unsigned n, const char *vm_dir)
{
    char why[256];
    int rc = sm_jail_enter(ll, n, vm_dir, why, sizeof why);
    if (rc == 0 && geteuid() == 0)
        fprintf(stderr, LOG_PREFIX "run as root but not jailed: %s; landlock and seccomp "
                "still hold\n", why);
    return rc < 0 ? rc : 0;
}

int sm_confine_filesystem(const sm_confine_plan *p)
{
    if (sm_confine_disabled()) {
        fprintf(stderr, LOG_PREFIX "WARNING: confinement is OFF (SUPERMACHINE_UNCONFINED is "
                "set): a guest that breaks this VMM gets every right of user %u\n",
                (unsigned)geteuid());
        return 0;
    }
    sm_ll_path ll[MAX_RULES];
    unsigned n = 0;
    add_path(ll, &n, p->vm_dir, SM_LL_READ_WRITE);
    add_path(ll, &n, p->hv_device, SM_LL_DEVICE);
    add_path(ll, &n, p->restore_dir, SM_LL_READ);
    for (unsigned i = 0; i < p->npaths && i < SM_CONFINE_MAX_PATHS; i++)
        add_path(ll, &n, p->paths[i].path, p->paths[i].read_only ? SM_LL_READ : SM_LL_READ_WRITE);
    /* libslirp forwards the guest's DNS to the host's resolver, which it
     * reads when asked. */
    if (p->network && access(RESOLV_CONF, R_OK) == 0)
        add_path(ll, &n, RESOLV_CONF, SM_LL_READ);
    /* Diff snapshots read which pages changed in /proc/self/pagemap. */
    add_path(ll, &n, "/proc/self", SM_LL_READ);
    int err = jail(ll, n, p->vm_dir);
    if (!err)
        err = drop_capabilities(p);
    if (err)
        return err;
    int abi = sm_landlock_restrict(ll, n);
    if (abi == 0)
        fprintf(stderr, LOG_PREFIX "this kernel has no landlock: the filesystem is not "
                "limited beyond the allow-list of syscalls\n");
    return abi < 0 ? abi : 0;
}

/* Test hook (SUPERMACHINE_TEST_CONFINEMENT): act as a guest that took the
 * VMM over would, right after confinement, so tests see it hold. */
static void test_escape(void)
{
    const char *what = getenv("SUPERMACHINE_TEST_CONFINEMENT");
    if (!what)
        return;
    if (!strncmp(what, "open:", 5)) {
        int fd = open(what + 5, O_RDONLY | O_CLOEXEC);
        fprintf(stderr, LOG_PREFIX "test: open %s: %s\n", what + 5,
                fd < 0 ? strerror(errno) : "opened");
        if (fd >= 0)
            close(fd);
    } else if (!strcmp(what, "exec") || !strcmp(what, "exec-sigsys-blocked")) {
        /* Blocked, SIGSYS kills without our report, as a refusal inside
         * glibc's pthread_create (which blocks every signal) would. */
        if (strcmp(what, "exec") != 0) {
            sigset_t sys;
            sigemptyset(&sys);
            sigaddset(&sys, SIGSYS);
            pthread_sigmask(SIG_BLOCK, &sys, NULL);
        }
        char *argv[] = {"/bin/true", NULL};
        execve(argv[0], argv, argv + 1);
    }
}

int sm_confine_syscalls(const sm_confine_plan *p)
{
    if (sm_confine_disabled())
        return 0;
    /* Time zone files are read on first use: read them now. */
    tzset();
    sm_seccomp_role role = p->network ? SM_SECCOMP_PROCESS_NET : SM_SECCOMP_PROCESS;
    int err = catch_sigsys();
    if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        err = sm_fail(errno, "cannot set no-new-privs: %s", strerror(errno));
    if (!err)
        err = sm_seccomp_load(role, true);
    if (err)
        return err;
    /* A role's own list stacks on this one: it gets what both allow. */
    fprintf(stderr, LOG_PREFIX "seccomp: %u syscalls allowed on every thread, %u of them on "
            "the device thread, %u on vCPU threads\n", sm_seccomp_count(role),
            sm_seccomp_count(SM_SECCOMP_DEVICE), sm_seccomp_count(SM_SECCOMP_VCPU));
    test_escape();
    return 0;
}

static int narrow(sm_seccomp_role role)
{
    return sm_confine_disabled() ? 0 : sm_seccomp_load(role, false);
}

int sm_confine_vcpu(void) { return narrow(SM_SECCOMP_VCPU); }
int sm_confine_device(void) { return narrow(SM_SECCOMP_DEVICE); }
