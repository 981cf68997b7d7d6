/*
 * The worker's seccomp allow-lists: everything a confined VMM may ask of
 * the host kernel once its devices are set up. Anything else stops the
 * worker with a message naming the syscall (confine.c). When a change
 * makes the worker need one more syscall, the message says which; add it
 * here with the reason, and to the narrowest role that needs it.
 *
 * What is absent on purpose: execve/execveat, fork (clone without
 * CLONE_THREAD), ptrace, process_vm_*, mount and the namespace calls, bpf,
 * perf_event_open, keyctl, io_uring, userfaultfd, kill of other processes,
 * chroot, setuid and friends, module and reboot calls, open_by_handle_at,
 * new executable memory, sockets other than Unix (and IPv4/IPv6 with a
 * network), and every hypervisor request that builds a VM (no new VM,
 * vCPU or memory slot after setup: the sm_hv_use sets name none of them).
 */
#include "worker/seccomp_lists.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define ANY(name) {name, 0, SM_ARG_ANY, 0}
#define IOCTL(req) {"ioctl", 1, SM_ARG_EQ, (uint64_t)(req)}
#define LIST(a, hv_uses) ((sm_sys_list){a, sizeof a / sizeof a[0], hv_uses})

/* Hypervisor requests a running machine makes: the run loop, and the
 * legacy devices' interrupt lines (serial, keyboard controller). Devices'
 * irqfds and ioeventfds are all wired before confinement. */
#define HV_RUNTIME (SM_HV_USE_RUN | SM_HV_USE_IRQ_LINE)

/* Groups of rules more than one role shares. */

/* Memory: guest RAM and the heap. No new executable pages: the code the
 * worker runs is all mapped before it is confined. */
#define MEMORY_RULES                                                          \
    ANY("brk"), ANY("munmap"), ANY("mremap"), ANY("madvise"),                 \
    {"mmap", 2, SM_ARG_MASK_CLEAR, PROT_EXEC},                                \
    {"mprotect", 2, SM_ARG_MASK_CLEAR, PROT_EXEC}

/* A thread's life once started: locks, its end, its signals (kicking a
 * vCPU out of KVM_RUN is a signal to one of our threads), the SIGSYS
 * report (which reads its thread's name), time. */
#define THREAD_RULES                                                          \
    ANY("futex"), ANY("exit"), ANY("exit_group"), ANY("gettid"), ANY("getpid"), \
    ANY("sched_yield"), {"tgkill", 0, SM_ARG_SELF_PID, 0},                    \
    {"prctl", 0, SM_ARG_EQ, PR_GET_NAME},                                     \
    ANY("rt_sigprocmask"), ANY("rt_sigreturn"), ANY("restart_syscall"),       \
    ANY("clock_gettime"), ANY("nanosleep"), ANY("clock_nanosleep")

/* I/O on descriptors: disks, the console, eventfds, sockets. */
#define FD_IO_RULES                                                           \
    ANY("read"), ANY("write"), ANY("readv"), ANY("writev"), ANY("pread64"),   \
    ANY("pwrite64"), ANY("preadv"), ANY("pwritev"), ANY("preadv2"),           \
    ANY("pwritev2"), ANY("lseek"), ANY("close"), ANY("dup"), ANY("dup3"),     \
    ANY("fcntl"), ANY("fsync"), ANY("fdatasync"), ANY("fallocate"),           \
    ANY("ftruncate"), ANY("fstat"), ANY("newfstatat"), ANY("statx"),          \
    ANY("poll"), ANY("ppoll"), ANY("epoll_wait"), ANY("epoll_pwait"),         \
    ANY("epoll_ctl"), ANY("eventfd2"), ANY("clock_getres"),                   \
    ANY("gettimeofday"), ANY("getrandom")

/* Paths: the 9P server (a share), logs and the vsock sockets in the VM's
 * directory, snapshots. Which paths they reach is the jail's and
 * landlock's (jail.c, landlock.c), and 9P resolves beneath its share
 * (openat2). A guest's mknod in a share makes FIFOs and sockets; never a
 * device node, which would open the host's disks or memory to it.
 * glibc's path calls on x86-64 use the old forms (absent elsewhere, where
 * the *at forms serve). */
#define PATH_RULES                                                            \
    ANY("openat"), ANY("openat2"), ANY("unlinkat"), ANY("mkdirat"),           \
    ANY("renameat"), ANY("renameat2"), ANY("linkat"), ANY("symlinkat"),       \
    ANY("readlinkat"), ANY("fchmod"), ANY("fchmodat"), ANY("fchown"),         \
    ANY("fchownat"), ANY("utimensat"), ANY("getdents64"), ANY("statfs"),      \
    ANY("fstatfs"), ANY("faccessat"), ANY("faccessat2"), ANY("access"),       \
    ANY("fgetxattr"), ANY("fsetxattr"), ANY("flistxattr"), ANY("fremovexattr"), \
    {"mknodat", 2, SM_ARG_FILE_TYPE, S_IFIFO},                                \
    {"mknodat", 2, SM_ARG_FILE_TYPE, S_IFSOCK},                               \
    {"mknodat", 2, SM_ARG_FILE_TYPE, S_IFREG}, {"mknodat", 2, SM_ARG_FILE_TYPE, 0}, \
    ANY("open"), ANY("unlink"), ANY("rmdir"), ANY("mkdir"), ANY("rename"),    \
    ANY("readlink"), ANY("stat"), ANY("lstat"), ANY("chmod"), ANY("truncate")

/* Unix sockets already listening or connecting (vsock's host side, the
 * agent); SO_PEERCRED answers are compared with our own ids. */
#define UNIX_CONNECTION_RULES                                                 \
    {"socket", 0, SM_ARG_EQ, AF_UNIX}, ANY("accept"), ANY("accept4"),         \
    ANY("connect"), ANY("sendmsg"), ANY("recvmsg"), ANY("sendto"),            \
    ANY("recvfrom"), ANY("shutdown"), ANY("setsockopt"), ANY("getsockopt"),   \
    ANY("getsockname"), ANY("getpeername"), ANY("getuid"), ANY("geteuid"),    \
    ANY("getgid"), ANY("getegid")

/* Non-blocking sockets and isatty() on the log. */
#define TTY_IOCTLS IOCTL(FIONBIO), IOCTL(FIONREAD), IOCTL(TCGETS)

/* Every thread but a vCPU's: the control connections, the watchdog, the
 * main thread, libslirp's, the console's and the quota's. */
static const sm_sys_rule process_rules[] = {
    MEMORY_RULES, THREAD_RULES, FD_IO_RULES, PATH_RULES, UNIX_CONNECTION_RULES, TTY_IOCTLS,

    /* Threads (control connections, a detached VM's main process), never
     * processes. */
    {"clone", 0, SM_ARG_MASK_SET, CLONE_THREAD},
    ANY("set_robust_list"), ANY("rseq"), ANY("set_tid_address"), ANY("sched_getaffinity"),
    {"prctl", 0, SM_ARG_EQ, PR_SET_NAME},
    /* The device and vCPU threads narrow their own filters when they
     * start (filters only ever add restrictions). */
    {"seccomp", 0, SM_ARG_EQ, SECCOMP_SET_MODE_FILTER},
    ANY("rt_sigaction"), ANY("sigaltstack"),
    /* The CPU quota reads how long each vCPU ran. */
    ANY("getrusage"),
    ANY("epoll_create1"), ANY("pipe2"),
    /* The control socket, and a socket pair per exec. */
    ANY("bind"), ANY("listen"), {"socketpair", 0, SM_ARG_EQ, AF_UNIX},
};
/* The run loop, and machine state for a live snapshot (the vCPUs are
 * parked). */
#define PROCESS_HV (HV_RUNTIME | SM_HV_USE_STATE_GET)

/* The device thread serves what a guest puts in its virtio rings: block
 * requests, 9P (files of a share), vsock (Unix sockets toward the host),
 * the entropy device, and the guest's READY. Most of what a hostile guest
 * reaches runs here, so it loses what only other threads need: it starts
 * no thread, binds or listens on no socket (vsock's listener is made at
 * setup), makes no IPv4/IPv6 socket (libslirp has its own thread), reads
 * no vCPU state and runs no vCPU. */
static const sm_sys_rule device_rules[] = {
    MEMORY_RULES, THREAD_RULES, FD_IO_RULES, PATH_RULES, UNIX_CONNECTION_RULES, TTY_IOCTLS,
};
/* The legacy lines (serial input arrives here); virtio's go through irqfds
 * wired at setup. */
#define DEVICE_HV SM_HV_USE_IRQ_LINE

/* libslirp's sockets toward the outside world. */
static const sm_sys_rule network_rules[] = {
    {"socket", 0, SM_ARG_EQ, AF_INET}, {"socket", 0, SM_ARG_EQ, AF_INET6},
};

/* A vCPU runs the guest and handles its exits: MMIO and port I/O to the
 * devices' registers, interrupts, the console, parking for a snapshot,
 * the quota's throttle. It opens no path, makes no socket, reads no file
 * and starts no thread: a guest that takes over an exit handler through a
 * bug is held to this. Rings are never processed here: a queue notify that
 * reaches a vCPU (one ioeventfd did not match) only kicks the device
 * thread through its eventfd (virtio_mmio.c). */
static const sm_sys_rule vcpu_rules[] = {
    MEMORY_RULES, THREAD_RULES,
    ANY("write"), ANY("getrusage"), ANY("rt_sigaction"),
};

static const sm_sys_rule enosys_rules[] = {
    /* clone3 passes its flags in memory, where BPF cannot look: glibc
     * then uses clone, whose flags the list checks. */
    ANY("clone3"),
};

sm_sys_list sm_seccomp_list_process(void) { return LIST(process_rules, PROCESS_HV); }
sm_sys_list sm_seccomp_list_network(void) { return LIST(network_rules, 0); }
sm_sys_list sm_seccomp_list_vcpu(void)
{
    return LIST(vcpu_rules, HV_RUNTIME | SM_HV_USE_DESCRIBE);
}
sm_sys_list sm_seccomp_list_device(void) { return LIST(device_rules, DEVICE_HV); }
sm_sys_list sm_seccomp_list_enosys(void) { return LIST(enosys_rules, 0); }
