/* A process in the VM, run on behalf of a host process (the keeper for
 * the container's main process, exec for the others) that stands for it:
 * signals sent to the host process are passed on to it, a resize of its
 * terminal too, and the host process ends as it ends (exit code, or
 * killed by the same signal). */
#ifndef SM_OCI_SUPERVISE_H
#define SM_OCI_SUPERVISE_H

#include <pthread.h>
#include <signal.h>

#include "oci-runtime/spec.h"
#include "supermachine.h"

typedef struct sm_oci_supervised {
    sm_exec_handle *h;
    int tty_fd;                 /* the host pty's slave, or -1 */
    pthread_t waiter;
    int done[2];                /* readable once the process ended */
    sm_exec_result result;
    int wait_err;
} sm_oci_supervised;

/* Blocks the signals a supervisor passes on and returns a signalfd for
 * them (close-on-exec), or a negative errno. Call before any thread. */
int sm_oci_signals_take(void);

/* Start proc in vm with the caller's stdin/stdout/stderr (or tty_fd),
 * chrooted into the guest's root (NULL: the VM's own). */
int sm_oci_supervise_start(sm_vm *vm, const sm_oci_process *proc, const char *root, int tty_fd,
                           sm_oci_supervised *s, char *err, size_t errlen);
/* One signal read off the signalfd: passed on (SIGWINCH: the new size). */
void sm_oci_supervise_signal(sm_oci_supervised *s, int signo);
/* The fd that turns readable when the process ended. */
int sm_oci_supervise_done_fd(const sm_oci_supervised *s);
/* Joins the waiter; the exit status (shell style) and the signal that
 * ended the process (0 if none); -1 status if the wait failed. */
void sm_oci_supervise_end(sm_oci_supervised *s, int *status, int *signo);

/* End this process as the guest process ended. */
__attribute__((noreturn)) void sm_oci_exit_like(int status, int signo);

/* Waits for a readable fd among fds (or a signal on sigfd) and returns
 * which: the index in fds, or -1 for sigfd with *signo set. */
int sm_oci_wait_event(int sigfd, const int *fds, int nfds, int *signo);

#endif
