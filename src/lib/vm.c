/* sm_vm_start/stop: a VM in a worker process of its own. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/paths.h"
#include "lib/vm_dir.h"
#include "lib/vm_int.h"
#include "supermachine.h"
#include "util/error.h"
#include "vmm/machine.h"

#define DEFAULT_START_TIMEOUT_MS 120000
#define STOP_GRACE_MS 5000
#define READY_FD 3
#define LIFELINE_FD 4
#define MAX_ARGS (32 + 2 * SM_MACHINE_MAX_DISKS)

extern char **environ;

typedef struct worker_args {
    char *argv[MAX_ARGS];
    char nums[4][16];
    char disks[SM_MACHINE_MAX_DISKS][4200];
    int n;
} worker_args;

static void add(worker_args *a, const char *s)
{
    if (a->n < MAX_ARGS - 1)
        a->argv[a->n++] = (char *)s;
}

static void build_args(worker_args *a, const char *exe, const char *dir, const sm_vm_config *c)
{
    memset(a, 0, sizeof *a);
    add(a, exe), add(a, "__worker"), add(a, "--dir"), add(a, dir);
    snprintf(a->nums[0], 16, "%d", READY_FD);
    snprintf(a->nums[1], 16, "%d", LIFELINE_FD);
    add(a, "--ready-fd"), add(a, a->nums[0]), add(a, "--lifeline-fd"), add(a, a->nums[1]);
    if (c->kernel) add(a, "--kernel"), add(a, c->kernel);
    if (c->initrd) add(a, "--initrd"), add(a, c->initrd);
    if (c->cmdline) add(a, "--cmdline"), add(a, c->cmdline);
    if (c->memory_mib) {
        snprintf(a->nums[2], 16, "%u", c->memory_mib);
        add(a, "--memory"), add(a, a->nums[2]);
    }
    if (c->cpus) {
        snprintf(a->nums[3], 16, "%u", c->cpus);
        add(a, "--cpus"), add(a, a->nums[3]);
    }
    for (unsigned i = 0; i < c->ndisks; i++) {
        snprintf(a->disks[i], sizeof a->disks[i], "%s%s", c->disks[i].path,
                 c->disks[i].read_only ? ":ro" : "");
        add(a, "--disk"), add(a, a->disks[i]);
    }
}

static int spawn_worker(sm_vm *vm, const sm_vm_config *c, int ready_w, int lifeline_r)
{
    char exe[4096], log[4200];
    int err = sm_find_worker(exe, sizeof exe);
    if (err)
        return err;
    snprintf(log, sizeof log, "%s/worker.log", vm->dir);
    worker_args a;
    build_args(&a, exe, vm->dir, c);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, ready_w, READY_FD);
    posix_spawn_file_actions_adddup2(&fa, lifeline_r, LIFELINE_FD);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    /* Its own process group: a Ctrl-C meant for the caller's terminal is
     * the caller's to pass on. */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    int rc = posix_spawn(&vm->pid, exe, &fa, &attr, a.argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return sm_fail(rc, "cannot start the VM worker %s: %s", exe, strerror(rc));
    return 0;
}

static int worker_failed(sm_vm *vm, const char *why)
{
    char line[1024];
    int status = 0;
    if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        waitpid(vm->pid, &status, 0);
        vm->pid = 0;
    }
    sm_vm_dir_last_line(vm->dir, "worker.log", line, sizeof line);
    const char *msg = strncmp(line, "supermachine worker: ", 21) == 0 ? line + 21 : line;
    return sm_fail(EIO, "the VM did not start: %s", *msg ? msg : why);
}

static int wait_ready(sm_vm *vm, int ready_r, uint32_t timeout_ms)
{
    struct pollfd p = {.fd = ready_r, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, (int)timeout_ms)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        return worker_failed(vm, "its agent did not answer in time");
    char buf[8] = {0};
    if (read(ready_r, buf, sizeof buf - 1) <= 0 || strncmp(buf, "ready", 5) != 0)
        return worker_failed(vm, "the worker ended early");
    return 0;
}

static int start(sm_vm *vm, const sm_vm_config *c)
{
    int ready[2], lifeline[2];
    int err = sm_vm_dir_create(vm->dir, sizeof vm->dir);
    if (err)
        return err;
    if (pipe2(ready, O_CLOEXEC) < 0)
        return sm_fail(errno, "pipe: %s", strerror(errno));
    if (pipe2(lifeline, O_CLOEXEC) < 0) {
        close(ready[0]), close(ready[1]);
        return sm_fail(errno, "pipe: %s", strerror(errno));
    }
    vm->lifeline_fd = lifeline[1];
    err = spawn_worker(vm, c, ready[1], lifeline[0]);
    close(ready[1]);
    close(lifeline[0]);
    if (!err)
        err = wait_ready(vm, ready[0],
                         c->start_timeout_ms ? c->start_timeout_ms : DEFAULT_START_TIMEOUT_MS);
    close(ready[0]);
    return err;
}

int sm_vm_start(const sm_image *image, const sm_vm_config *config, sm_vm **out)
{
    sm_vm_config c = {0};
    if (!out)
        return sm_fail(EINVAL, "sm_vm_start: out is required");
    if (config) {
        size_t size = config->size ? config->size : sizeof c;
        memcpy(&c, config, size < sizeof c ? size : sizeof c);
    }
    (void)image;
    /* Checked here, not in the worker: extra disks must not vanish quietly. */
    if (c.ndisks > SM_MACHINE_MAX_DISKS)
        return sm_fail(EINVAL, "%u disks: at most %d can be attached", c.ndisks,
                       SM_MACHINE_MAX_DISKS);
    sm_vm *vm = calloc(1, sizeof *vm);
    if (!vm)
        return sm_fail(ENOMEM, "out of memory");
    vm->lifeline_fd = -1;
    int err = start(vm, &c);
    if (err) {
        sm_vm_stop(vm);
        return err;
    }
    *out = vm;
    return 0;
}

/* Wait up to ms for the worker; true when it has been reaped. */
static bool reap_within(pid_t pid, int ms)
{
    for (int waited = 0; waited <= ms; waited += 10) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return true;
        struct timespec t = {0, 10 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    return false;
}

int sm_vm_stop(sm_vm *vm)
{
    if (!vm)
        return 0;
    if (vm->pid > 0) {
        kill(vm->pid, SIGTERM);
        if (!reap_within(vm->pid, STOP_GRACE_MS)) {
            kill(vm->pid, SIGKILL);
            waitpid(vm->pid, NULL, 0);
        }
    }
    if (vm->lifeline_fd >= 0)
        close(vm->lifeline_fd);
    if (vm->dir[0])
        sm_vm_dir_remove(vm->dir);
    free(vm);
    return 0;
}

const char *sm_vm_dir(const sm_vm *vm)
{
    return vm->dir;
}

static int read_reply(int fd, char *line, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        ssize_t r = read(fd, line + n, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (line[n++] == '\n')
            break;
    }
    line[n] = '\0';
    return n && line[n - 1] == '\n' ? 0 : -1;
}

int sm_vm_connect(sm_vm *vm, uint32_t port, int *out)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/vsock.sock", vm->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int err = sm_fail(errno, "cannot reach the VM's vsock (is it running?): %s",
                          strerror(errno));
        if (fd >= 0)
            close(fd);
        return err;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "CONNECT %u\n", port);
    if (write(fd, line, (size_t)n) != n || read_reply(fd, line, sizeof line) < 0 ||
        strncmp(line, "OK ", 3) != 0) {
        close(fd);
        return sm_fail(ECONNREFUSED, "nothing listens on guest vsock port %u", port);
    }
    *out = fd;
    return 0;
}
