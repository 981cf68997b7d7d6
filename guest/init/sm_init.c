/*
 * sm-init: PID 1 inside the microVM. It enters the image's root when the
 * host attached one (root_setup.c), sets up the kernel filesystems, then
 * either
 *  - runs the command the host gave it (SM_BOOT_ARGV_PATH in the
 *    initramfs), reaps every orphan, reports how the command ended on the
 *    boot channel (COM2) and resets the VM; or, without a command,
 *  - becomes the agent: listens on vsock port SM_AGENT_PORT, says "ready"
 *    on the boot channel and serves the host until the VM is stopped.
 *
 * Every system call here is expensive on an emulating KVM (hundreds of
 * microseconds each), so it does only what the command needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent/boot_channel.h"
#include "agent.h"
#include "agent/protocol.h"
#include "net_setup.h"
#include "root_setup.h"

#define CHANNEL_TTY "/dev/ttyS1"
#define MAX_ARGV_BYTES (1 << 20)
#define MAX_ARGS 4096

static void say(const char *msg)
{
    ssize_t n = write(STDERR_FILENO, msg, strlen(msg));
    (void)n;
}

static void mount_fs(const char *type, const char *dir, unsigned long flags, const char *opts)
{
    mkdir(dir, 0755);
    if (mount(type, dir, type, flags, opts) < 0 && errno != EBUSY) {
        char msg[160];
        snprintf(msg, sizeof msg, "sm-init: cannot mount %s on %s: %s\n", type, dir,
                 strerror(errno));
        say(msg);
    }
}

/* In an image's root the container's view follows what docker sets up:
 * /tmp stays the image's own directory there. */
static void mount_all(bool image_root)
{
    const unsigned long nodev = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    mount_fs("proc", "/proc", nodev, NULL);
    mount_fs("sysfs", "/sys", nodev, NULL);
    if (!image_root)
        mount_fs("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_fs("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666");
    mount_fs("tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_fs("mqueue", "/dev/mqueue", nodev, NULL);
}

/* Raw output: the host must see exactly the bytes the command wrote, not
 * "\n" turned into "\r\n" by the tty layer. */
static void make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        t.c_oflag &= ~(tcflag_t)OPOST;
        tcsetattr(fd, TCSANOW, &t);
    }
}

static void send_event(int fd, sm_boot_event ev, int value)
{
    char line[SM_BOOT_CHANNEL_LINE_MAX];
    int n = sm_boot_channel_format(line, sizeof line, ev, value);
    if (fd >= 0 && n > 0 && write(fd, line, (size_t)n) == n)
        tcdrain(fd);
}

/* The command, NUL-separated; NULL if there is none. *present says whether
 * the file exists at all. */
static char **read_argv(bool *present)
{
    int fd = open(SM_BOOT_ARGV_PATH, O_RDONLY | O_CLOEXEC);
    *present = fd >= 0 || errno != ENOENT;
    if (fd < 0)
        return NULL;
    static char buf[MAX_ARGV_BYTES + 1];
    static char *args[MAX_ARGS + 1];
    ssize_t len = read(fd, buf, MAX_ARGV_BYTES);
    close(fd);
    if (len <= 0)
        return NULL;
    buf[len] = '\0';
    int n = 0;
    for (ssize_t off = 0; off < len && n < MAX_ARGS; off += (ssize_t)strlen(buf + off) + 1)
        args[n++] = buf + off;
    args[n] = NULL;
    return n ? args : NULL;
}

static void exec_command(char **argv)
{
    /* GLIBC_TUNABLES comes from the kernel command line on hosts that need
     * it (see src/vmm/host_quirks.c) and is passed on; NULL otherwise. */
    char *const envp[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root", "TERM=linux", agent_inherited_env("GLIBC_TUNABLES"), NULL};
    setsid();
    int null = open("/dev/null", O_RDONLY);
    if (null > 0) {
        dup2(null, STDIN_FILENO);
        close(null);
    }
    environ = (char **)envp;
    execvp(argv[0], argv);
    int err = errno;
    char msg[256];
    snprintf(msg, sizeof msg, "sm-init: cannot run '%s': %s\n", argv[0], strerror(err));
    say(msg);
    _exit(err == ENOENT ? 127 : 126);
}

/* Reap every child (PID 1 inherits orphans) until the command ends. */
static int wait_for(pid_t child)
{
    for (;;) {
        int status;
        pid_t p = wait(&status);
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            return -1;
        if (p == child)
            return status;
    }
}

/* Returns only if the agent cannot run. */
static void run_agent(int channel)
{
    int fd = sm_agent_listen_vsock(SM_AGENT_PORT);
    if (fd < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "sm-init: cannot listen on vsock port %d: %s\n",
                 SM_AGENT_PORT, strerror(-fd));
        say(msg);
        return;
    }
    send_event(channel, SM_BOOT_EVENT_READY, 0);
    sm_agent_serve(fd);
}

int main(void)
{
    /* The initramfs carries the channel's device node, so the host hears
     * "start" before anything else runs. */
    int channel = open(CHANNEL_TTY, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (channel >= 0)
        make_raw(channel);
    send_event(channel, SM_BOOT_EVENT_START, 0);
    mount_fs("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
    int image_root = sm_init_root_setup();
    if (image_root < 0) {
        send_event(channel, SM_BOOT_EVENT_EXIT, 125);
        reboot(RB_AUTOBOOT);
    }
    mount_all(image_root == 1);
    sm_init_net_up(); /* network (helper) */
    make_raw(STDOUT_FILENO);

    static char *fallback[] = {"/bin/sh", NULL};
    bool present;
    char **argv = read_argv(&present);
    if (!present) {
        run_agent(channel);
        send_event(channel, SM_BOOT_EVENT_EXIT, 125);
        reboot(RB_AUTOBOOT);
        return 0;
    }
    pid_t child = fork();
    if (child == 0)
        exec_command(argv ? argv : fallback);
    int status = child < 0 ? -1 : wait_for(child);

    tcdrain(STDOUT_FILENO);
    if (status < 0)
        send_event(channel, SM_BOOT_EVENT_EXIT, 125);
    else if (WIFSIGNALED(status))
        send_event(channel, SM_BOOT_EVENT_SIGNAL, WTERMSIG(status));
    else
        send_event(channel, SM_BOOT_EVENT_EXIT, WEXITSTATUS(status));
    sync();
    reboot(RB_AUTOBOOT);
    return 0;
}
