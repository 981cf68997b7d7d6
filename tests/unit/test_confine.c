/* The worker's confinement (src/worker/confine.c), each case in a child
 * process (confinement cannot be undone): what it must stop stops the
 * process with a message naming the syscall, what a VMM needs still works. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "worker/confine.h"

typedef struct child {
    int status;
    char log[4096];
} child;

typedef int (*child_fn)(const char *dir);

static char dir[] = "/tmp/sm-confine-XXXXXX";

/* Runs fn in a child whose stderr is captured; its return is the exit code. */
static void run_child(child_fn fn, child *c)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        _exit(fn(dir));
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], c->log + len, sizeof c->log - 1 - len)) > 0)
        len += (size_t)n;
    c->log[len] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, &c->status, 0), pid);
}

static int exit_code(const child *c)
{
    return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
}

static sm_confine_plan plan_for(const char *vm_dir, bool network)
{
    sm_confine_plan p = {.vm_dir = vm_dir, .hv_device = "/dev/null", .network = network};
    return p;
}

static int confine_all(const char *d, bool network)
{
    sm_confine_plan p = plan_for(d, network);
    if (sm_confine_filesystem(&p) || sm_confine_syscalls(&p))
        return 2;
    return 0;
}

/* ---- children ---- */

static int do_exec(const char *d)
{
    if (confine_all(d, false))
        return 2;
    char *argv[] = {"/bin/true", NULL};
    execve(argv[0], argv, argv + 1);
    return 3;
}

static int do_fork(const char *d)
{
    if (confine_all(d, false))
        return 2;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    return 3;
}

static void *thread_main(void *arg)
{
    *(int *)arg = 1;
    return NULL;
}

/* What the worker does all day: threads, files in its directory, Unix
 * sockets, memory. */
static int do_allowed(const char *d)
{
    if (confine_all(d, false))
        return 2;
    pthread_t t;
    int ran = 0;
    if (pthread_create(&t, NULL, thread_main, &ran) || pthread_join(t, NULL) || !ran)
        return 3;
    char path[256];
    snprintf(path, sizeof path, "%s/console.log", d);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) < 0 || unlink(path) < 0)
        return 4;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 5;
    close(s);
    void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return 6;
    munmap(m, 1 << 20);
    /* A kick: a signal to one of our own threads (the pid in the filter
     * is filled in when it is installed). */
    if (syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), 0) < 0)
        return 7;
    return 0;
}

/* The same call toward another process: the worker's parent. */
static int do_signal_other(const char *d)
{
    pid_t parent = getppid();
    if (confine_all(d, false))
        return 2;
    syscall(SYS_tgkill, parent, parent, 0);
    return 3;
}

static int do_device_node(const char *d)
{
    if (confine_all(d, false))
        return 2;
    char path[256];
    snprintf(path, sizeof path, "%s/fifo", d);
    if (mknod(path, S_IFIFO | 0600, 0) < 0 || unlink(path) < 0)
        return 3;   /* a share's guest may make FIFOs */
    snprintf(path, sizeof path, "%s/mem", d);
    mknod(path, S_IFCHR | 0600, makedev(1, 1));
    return 4;
}

static int do_exec_memory(const char *d)
{
    if (confine_all(d, false))
        return 2;
    mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return 3;
}

static int do_netlink(const char *d)
{
    if (confine_all(d, true))
        return 2;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 3;   /* a VM with a network keeps its IPv4 sockets */
    close(s);
    socket(AF_NETLINK, SOCK_RAW, 0);
    return 4;
}

static int do_inet_without_network(const char *d)
{
    if (confine_all(d, false))
        return 2;
    socket(AF_INET, SOCK_STREAM, 0);
    return 3;
}

static int do_vcpu_open(const char *d)
{
    if (confine_all(d, false))
        return 2;
    pthread_setname_np(pthread_self(), "sm-vcpu0");
    if (sm_confine_vcpu())
        return 3;
    if (write(STDERR_FILENO, "", 0) < 0)
        return 4;   /* a vCPU still writes (the console) */
    open("/tmp", O_RDONLY);
    return 5;
}

/* The device thread serves the guest's rings: it reads no vCPU state and
 * binds no socket, though the rest of the worker may (a live snapshot, the
 * control socket). */
static int do_device_thread(const char *d, bool read_vcpu)
{
    if (confine_all(d, false))
        return 2;
    pthread_setname_np(pthread_self(), "sm-devices");
    if (sm_confine_device())
        return 3;
    char path[256];
    snprintf(path, sizeof path, "%s/dev.sock", d);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC) < 0)
        return 4;   /* vsock connects to the host, 9P opens files */
    if (read_vcpu) {
        struct kvm_regs regs;
        ioctl(fd, KVM_GET_REGS, &regs);
        return 5;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    return 6;
}

static int do_device_vcpu_state(const char *d) { return do_device_thread(d, true); }
static int do_device_bind(const char *d) { return do_device_thread(d, false); }

static int do_outside_file_errno(const char *d, int want)
{
    if (confine_all(d, false))
        return 2;
    /* A sibling of the VM's directory: as private as it, but not its. */
    char path[256];
    snprintf(path, sizeof path, "%s-victim", d);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        return 3;
    return errno == want ? 0 : 4;
}

/* Root's jail holds no such file; landlock refuses one that is. */
static int do_outside_file(const char *d)
{
    return do_outside_file_errno(d, geteuid() == 0 ? ENOENT : EACCES);
}

/* Run as root, the worker's root is a jail of its allowed paths alone,
 * bound at their host paths with their rights: here its directory
 * (read-write, and what it writes is the host's), a read-only file and
 * the hypervisor device. */
static int do_jailed(const char *d)
{
    char ro[256], path[256], mnt_before[64] = "", mnt_after[64] = "";
    snprintf(ro, sizeof ro, "%s-ro", d);
    if (readlink("/proc/self/ns/mnt", mnt_before, sizeof mnt_before - 1) < 0)
        return 2;
    sm_confine_plan p = plan_for(d, false);
    p.npaths = 1, p.paths[0].path = ro, p.paths[0].read_only = true;
    if (sm_confine_filesystem(&p))
        return 2;
    if (readlink("/proc/self/ns/mnt", mnt_after, sizeof mnt_after - 1) < 0 ||
        !strcmp(mnt_before, mnt_after))
        return 3;   /* its own mount namespace */
    if (access("/etc/passwd", F_OK) == 0 || access("/bin/sh", F_OK) == 0 || errno != ENOENT)
        return 4;   /* nothing of the host's beyond the plan */
    snprintf(path, sizeof path, "%s/from-jail", d);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "j", 1) != 1)
        return 5;
    close(fd);
    if (open(ro, O_RDWR | O_CLOEXEC) >= 0 || errno != EROFS || access(ro, R_OK) < 0)
        return 6;   /* read-only, yet readable */
    fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0 || write(fd, "x", 1) != 1)
        return 7;   /* the hypervisor device works */
    close(fd);
    return mkdir("/new", 0700) < 0 && errno == EROFS ? 0 : 8;   /* the jail's root is fixed */
}

/* The hex value of a "Cap...:" line of /proc/self/status, or -1. */
static long long status_caps(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, strlen(field)))
            v = strtoll(line + strlen(field), NULL, 16);
    if (f)
        fclose(f);
    return v;
}

/* Run as root (as the tests here are), the worker keeps none of root's
 * capabilities without shares, and only the 9P server's with them. */
static int do_capabilities(const char *d, bool shares, long long want)
{
    sm_confine_plan p = plan_for(d, false);
    p.shares = shares;
    if (sm_confine_filesystem(&p) || sm_confine_syscalls(&p))
        return 2;
    if (status_caps("CapEff:") != want || status_caps("CapPrm:") != want)
        return 3;
    return status_caps("CapBnd:") == want && status_caps("CapInh:") == 0 ? 0 : 4;
}

static int do_no_capabilities(const char *d) { return do_capabilities(d, false, 0); }
static int do_share_capabilities(const char *d)
{
    /* CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID */
    return do_capabilities(d, true, 0x1b);
}

static int do_unconfined(const char *d)
{
    setenv("SUPERMACHINE_UNCONFINED", "1", 1);
    if (confine_all(d, false))
        return 2;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    return pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : 3;
}

/* ---- tests ---- */

static void assert_stopped(child_fn fn, const char *syscall_name, const char *thread)
{
    child c;
    run_child(fn, &c);
    assert_int_equal(exit_code(&c), 128 + SIGSYS);
    char want[128];
    snprintf(want, sizeof want, "made syscall %s (", syscall_name);
    if (!strstr(c.log, want) || !strstr(c.log, "not on its allow-list") ||
        (thread && !strstr(c.log, thread)))
        fail_msg("log lacks '%s' (thread %s): %s", want, thread ? thread : "-", c.log);
}

static void test_exec_stops_the_worker(void **s) { (void)s; assert_stopped(do_exec, "execve", NULL); }
static void test_fork_stops_the_worker(void **s) { (void)s; assert_stopped(do_fork, "clone", NULL); }
static void test_device_node_stops_the_worker(void **s) { (void)s; assert_stopped(do_device_node, "mknodat", NULL); }
static void test_exec_memory_stops_the_worker(void **s) { (void)s; assert_stopped(do_exec_memory, "mmap", NULL); }
static void test_netlink_stops_the_worker(void **s) { (void)s; assert_stopped(do_netlink, "socket", NULL); }
static void test_inet_needs_a_network(void **s) { (void)s; assert_stopped(do_inet_without_network, "socket", NULL); }
static void test_vcpu_opens_nothing(void **s) { (void)s; assert_stopped(do_vcpu_open, "openat", "sm-vcpu0"); }
static void test_device_thread_reads_no_vcpu(void **s) { (void)s; assert_stopped(do_device_vcpu_state, "ioctl", "sm-devices"); }
static void test_device_thread_binds_none(void **s) { (void)s; assert_stopped(do_device_bind, "bind", "sm-devices"); }
static void test_signal_to_another_process_stops_the_worker(void **s) { (void)s; assert_stopped(do_signal_other, "tgkill", NULL); }

static void test_worker_work_allowed(void **s)
{
    (void)s;
    child c;
    run_child(do_allowed, &c);
    if (exit_code(&c) != 0)
        fail_msg("exit %d: %s", exit_code(&c), c.log);
    assert_non_null(strstr(c.log, "syscalls allowed on every thread"));
}

/* fn in a child while a file beside the VM's directory exists: as
 * private as the directory, but not the VM's. */
static void run_beside_a_victim(child_fn fn, child *c)
{
    char victim[64];
    snprintf(victim, sizeof victim, "%s-victim", dir);
    int fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    run_child(fn, c);
    unlink(victim);
}

static void test_files_outside_unreachable(void **s)
{
    (void)s;
    child c;
    run_beside_a_victim(do_outside_file, &c);
    if (strstr(c.log, "has no landlock"))
        skip();
    if (exit_code(&c) != 0)
        fail_msg("exit %d (3: opened a file outside its directory): %s", exit_code(&c), c.log);
}

static void test_root_loses_its_capabilities(void **s)
{
    (void)s;
    if (geteuid() != 0)
        skip();
    child_fn fns[] = {do_no_capabilities, do_share_capabilities};
    for (unsigned i = 0; i < 2; i++) {
        child c;
        run_child(fns[i], &c);
        if (exit_code(&c) != 0)
            fail_msg("case %u: exit %d (3: effective/permitted, 4: bounding): %s", i,
                     exit_code(&c), c.log);
    }
}

static int mount_count(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_root_is_jailed(void **s)
{
    (void)s;
    if (geteuid() != 0)
        skip();
    char ro[256], path[256];
    snprintf(ro, sizeof ro, "%s-ro", dir);
    snprintf(path, sizeof path, "%s/from-jail", dir);
    int fd = open(ro, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    close(fd);
    int mounts = mount_count();
    child c;
    run_child(do_jailed, &c);
    unlink(ro);
    if (strstr(c.log, "not jailed"))
        skip();   /* no CAP_SYS_ADMIN here (a container): the log says so */
    if (exit_code(&c) != 0)
        fail_msg("exit %d: %s", exit_code(&c), c.log);
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
    assert_int_equal(mount_count(), mounts);   /* the host never sees its mounts */
}

/* Root in a container without CAP_SYS_ADMIN: no jail, and the log says
 * so, but landlock still keeps the file beside the VM's directory out. */
static int do_jail_refused(const char *d)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct c[2];
    if (syscall(SYS_capget, &h, c) < 0)
        return 2;
    c[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
    c[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
    if (syscall(SYS_capset, &h, c) < 0)
        return 2;
    return do_outside_file_errno(d, EACCES);
}

static void test_root_without_sys_admin_still_confined(void **s)
{
    (void)s;
    if (geteuid() != 0)
        skip();
    child c;
    run_beside_a_victim(do_jail_refused, &c);
    if (!strstr(c.log, "run as root but not jailed: cannot make a mount namespace"))
        fail_msg("the log does not say why there is no jail: %s", c.log);
    if (strstr(c.log, "has no landlock"))
        skip();
    if (exit_code(&c) != 0)
        fail_msg("exit %d (3: opened a file outside its directory): %s", exit_code(&c), c.log);
}

static void test_unconfined_says_so(void **s)
{
    (void)s;
    child c;
    run_child(do_unconfined, &c);
    assert_int_equal(exit_code(&c), 0);
    assert_non_null(strstr(c.log, "confinement is OFF"));
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    unsetenv("SUPERMACHINE_UNCONFINED");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_work_allowed),
        cmocka_unit_test(test_exec_stops_the_worker),
        cmocka_unit_test(test_fork_stops_the_worker),
        cmocka_unit_test(test_exec_memory_stops_the_worker),
        cmocka_unit_test(test_device_node_stops_the_worker),
        cmocka_unit_test(test_netlink_stops_the_worker),
        cmocka_unit_test(test_inet_needs_a_network),
        cmocka_unit_test(test_vcpu_opens_nothing),
        cmocka_unit_test(test_device_thread_reads_no_vcpu),
        cmocka_unit_test(test_device_thread_binds_none),
        cmocka_unit_test(test_signal_to_another_process_stops_the_worker),
        cmocka_unit_test(test_files_outside_unreachable),
        cmocka_unit_test(test_root_loses_its_capabilities),
        cmocka_unit_test(test_root_is_jailed),
        cmocka_unit_test(test_root_without_sys_admin_still_confined),
        cmocka_unit_test(test_unconfined_says_so),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
