#include "oci-runtime/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "oci-runtime/console.h"
#include "oci-runtime/report.h"
#include "oci-runtime/supervise.h"
#include "oci-runtime/vm_plan.h"

#define REPLY_MAX 1024

typedef struct keeper {
    const sm_oci_keeper_args *a;
    sm_vm *vm;
    int tty;                    /* host pty slave, or -1 */
    int listen_fd, sigfd;
    sm_oci_supervised main;
    bool started;
    char guest_root[4096];      /* a member's root in the pod's VM; "" for the VM's own */
} keeper;

/* Through the state directory's descriptor: its path (--root and a
 * 64-digit id) can be longer than a socket address takes. *dirfd is
 * closed by the caller once the address was used. */
static int ctl_address(const sm_oci_state *st, struct sockaddr_un *a, int *dirfd)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    *dirfd = open(st->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0)
        return -errno;
    snprintf(a->sun_path, sizeof a->sun_path, "/proc/self/fd/%d/ctl.sock", *dirfd);
    return 0;
}

static int listen_ctl(const sm_oci_state *st)
{
    struct sockaddr_un a;
    int dirfd, err = ctl_address(st, &a, &dirfd);
    if (err)
        return err;
    unlink(a.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0) {
        err = -errno;
        if (fd >= 0)
            close(fd);
    }
    close(dirfd);
    return err ? err : fd;
}

/* Stop the VM and end as the container's process did. */
__attribute__((noreturn)) static void finish(keeper *k, int status, int signo)
{
    char sock[4200];
    if (k->a->role == SM_OCI_MEMBER)
        sm_vm_release(k->vm);  /* the pod's VM is the sandbox's */
    else
        sm_vm_stop(k->vm);
    sm_oci_state_path(k->a->st, "ctl.sock", sock, sizeof sock);
    unlink(sock);
    sm_oci_exit_like(status, signo);
}

static void serve_one(keeper *k, int conn)
{
    char req[64] = "", err[REPLY_MAX];
    ssize_t n = read(conn, req, sizeof req - 1);
    req[n > 0 ? n : 0] = '\0';
    if (strcmp(req, "start\n") != 0) {
        sm_oci_report(conn, "error unknown request");
        return;
    }
    if (k->started) {
        sm_oci_report(conn, "error the container was started already");
        return;
    }
    if (sm_oci_supervise_start(k->vm, &k->a->spec->process,
                               k->guest_root[0] ? k->guest_root : NULL, k->tty, &k->main, err,
                               sizeof err) < 0) {
        sm_oci_report(conn, "error %s", err);
        return;
    }
    k->started = true;
    sm_oci_mark(k->a->st, "started", true);
    sm_oci_report(conn, "ok");
}

__attribute__((noreturn)) static void serve(keeper *k)
{
    for (;;) {
        int fds[2] = {k->listen_fd, k->started ? sm_oci_supervise_done_fd(&k->main) : -1};
        int signo = 0, which = sm_oci_wait_event(k->sigfd, fds, k->started ? 2 : 1, &signo);
        if (which == 0) {
            int conn = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (conn >= 0) {
                serve_one(k, conn);
                close(conn);
            }
        } else if (which == -1 && k->started) {
            sm_oci_supervise_signal(&k->main, signo);
        } else if (which == -1 && signo != SIGWINCH) {
            finish(k, 128 + signo, signo);  /* signalled before start: as runc's init */
        } else if (which == 1 || which == -2) {
            int status = -1;
            if (k->started)
                sm_oci_supervise_end(&k->main, &status, &signo);
            finish(k, status, signo);
        }
    }
}

/* A member joins its pod's VM instead. */
static int join_pod(keeper *k, char *err, size_t len)
{
    if (sm_vm_open(k->a->st->vm_id, &k->vm) < 0) {
        snprintf(err, len, "the pod's VM (sandbox %s): %s", k->a->st->sandbox, sm_last_error());
        return -1;
    }
    return sm_oci_pod_join(k->a->st, k->a->spec, k->vm, k->guest_root, sizeof k->guest_root,
                           err, len);
}

static int start_vm(keeper *k, char *err, size_t len)
{
    sm_oci_vm_plan plan;
    if (k->a->role == SM_OCI_MEMBER)
        return join_pod(k, err, len);
    if (sm_oci_vm_plan_make(k->a->spec, &plan, err, len) < 0)
        return -1;
    const char *vms = getenv("XDG_RUNTIME_DIR");  /* main.c's, under --root */
    if (vms && mkdir(vms, 0700) < 0 && errno != EEXIST) {
        snprintf(err, len, "cannot create %s: %s", vms, strerror(errno));
        return -1;
    }
    if (k->a->role == SM_OCI_SANDBOX && sm_oci_pod_prepare(k->a->st, &plan, err, len) < 0)
        return -1;
    int rc = sm_vm_start(NULL, &plan.config, &k->vm);
    /* A namespace with loopback alone (podman's --network none): so has
     * the VM. Nothing started yet when the tap was refused. */
    if (rc == -ENODEV && plan.config.network == SM_NETWORK_NETNS) {
        plan.config.network = SM_NETWORK_NONE;
        plan.config.netns_path = NULL;
        rc = sm_vm_start(NULL, &plan.config, &k->vm);
    }
    if (rc < 0) {
        snprintf(err, len, "the container's VM did not start: %s", sm_last_error());
        return -1;
    }
    return 0;
}

void sm_oci_keeper_main(const sm_oci_keeper_args *a)
{
    keeper k = {.a = a, .tty = -1, .listen_fd = -1};
    char err[REPLY_MAX];
    setsid();
    char pidpath[4200];
    sm_oci_state_path(a->st, "keeper.pid", pidpath, sizeof pidpath);
    sm_oci_write_pid_file(pidpath, (int)getpid());  /* for a delete after create died */
    if (a->console_socket &&
        (k.tty = sm_oci_console_open(a->console_socket, a->spec->process.rows,
                                     a->spec->process.cols, err, sizeof err)) < 0) {
        sm_oci_report(a->report_fd, "error %s", err);
        _exit(1);
    }
    if (start_vm(&k, err, sizeof err) < 0) {
        sm_oci_report(a->report_fd, "error %s", err);
        _exit(1);
    }
    k.listen_fd = listen_ctl(a->st);
    k.sigfd = k.listen_fd < 0 ? k.listen_fd : sm_oci_signals_take();
    if (k.listen_fd < 0 || k.sigfd < 0) {
        sm_oci_report(a->report_fd, "error cannot listen for start in %s: %s", a->st->dir,
               strerror(-(k.listen_fd < 0 ? k.listen_fd : k.sigfd)));
        finish(&k, 1, 0);
    }
    /* create is waiting for this; if it is gone (killed), so is the
     * container: nobody knows its pid. */
    char line[128];
    int n = snprintf(line, sizeof line, "ok %s\n", sm_vm_id(k.vm));
    if (write(a->report_fd, line, (size_t)n) != n)
        finish(&k, 1, 0);
    close(a->report_fd);
    serve(&k);
}

int sm_oci_keeper_request(const sm_oci_state *st, const char *request, char *err,
                          size_t errlen)
{
    struct sockaddr_un a;
    int dirfd = -1, fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ctl_address(st, &a, &dirfd) < 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        snprintf(err, errlen, "the container's keeper does not answer: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        if (dirfd >= 0)
            close(dirfd);
        return -1;
    }
    close(dirfd);
    char reply[REPLY_MAX];
    int rc = write(fd, request, strlen(request)) < 0 ? -1 : 0;
    if (!rc)
        rc = sm_oci_read_report(fd, reply, sizeof reply);
    else
        reply[0] = '\0';
    close(fd);
    if (rc < 0)
        snprintf(err, errlen, "%s",
                 sm_oci_report_why(reply, "the container's keeper ended without an answer"));
    return rc;
}
