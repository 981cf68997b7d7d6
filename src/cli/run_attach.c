/* A process in the VM on this terminal, as `docker run` attaches one:
 * our signals go to it, -t makes our terminal raw and follows its size,
 * -i streams our stdin. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

typedef struct attach {
    sm_exec_handle *h;
    sigset_t set;
} attach;

static void window_size(uint16_t *rows, uint16_t *cols)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

static void *forward_signals(void *arg)
{
    attach *a = arg;
    for (;;) {
        int sig;
        if (sigwait(&a->set, &sig) != 0)
            continue;
        if (sig == SIGWINCH) {
            uint16_t rows = 0, cols = 0;
            window_size(&rows, &cols);
            if (rows)
                sm_exec_resize(a->h, rows, cols);
        } else {
            sm_exec_signal(a->h, sig);
        }
    }
    return NULL;
}

/* Raw: every key, Ctrl-C included, goes to the guest's pty, whose line
 * discipline turns it into SIGINT for the process there. */
static int make_raw(struct termios *saved)
{
    struct termios t;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) < 0)
        return 0;
    t = *saved;
    cfmakeraw(&t);
    return tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

int sm_run_attached(sm_vm *vm, const sm_exec *ex)
{
    attach a = {0};
    sigemptyset(&a.set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&a.set, forwarded[i]);
    /* Blocked before any thread starts, so only the forwarder takes them. */
    pthread_sigmask(SIG_BLOCK, &a.set, NULL);
    sm_exec e = *ex;
    if (e.pty)
        window_size(&e.rows, &e.cols);
    if (sm_vm_exec_start(vm, &e, &a.h) != 0)
        return sm_cli_fail();
    struct termios saved;
    int raw = e.pty && make_raw(&saved);
    pthread_t t;
    int forwarding = pthread_create(&t, NULL, forward_signals, &a) == 0;
    sm_exec_result r = {.size = sizeof r};
    int err = sm_exec_wait(a.h, &r);
    if (forwarding) {
        pthread_cancel(t);
        pthread_join(t, NULL);
    }
    sm_exec_free(a.h);
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    if (err)
        return sm_cli_fail();
    int status = r.exit_status;
    sm_exec_result_free(&r);
    return status;
}
