#include "oci-runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[SM_OCI_HOOK_KINDS] = {"prestart", "createRuntime",
                                                          "poststart", "poststop"};

extern char **environ;

__attribute__((noreturn)) static void exec_hook(const sm_oci_hook *h, int in)
{
    dup2(in, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    static const char *const no_env[] = {NULL};
    const char *argv0[] = {h->path, NULL};
    execve(h->path, (char *const *)(h->args && h->args[0] ? h->args : argv0),
           (char *const *)(h->env ? h->env : no_env));
    _exit(127);
}

/* Its wait status, or -1 after its timeout (it is killed then). */
static int wait_hook(pid_t pid, int timeout_s)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, timeout_s ? WNOHANG : 0);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -2;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timeout_s && now.tv_sec - start.tv_sec >= timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        if (timeout_s)
            usleep(10 * 1000);
    }
}

/* The state goes through a pipe, written before the wait: a hook that
 * never reads stdin must not block us, so it is small enough to fit. */
static int run_one(const sm_oci_hook *h, const char *state, char *err, size_t errlen,
                   const char *kind, size_t i)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return snprintf(err, errlen, "pipe: %s", strerror(errno)), -1;
    ssize_t w = write(p[1], state, strlen(state));
    (void)w;
    close(p[1]);
    pid_t pid = fork();
    if (pid == 0)
        exec_hook(h, p[0]);
    close(p[0]);
    if (pid < 0)
        return snprintf(err, errlen, "cannot run hook %s: %s", h->path, strerror(errno)), -1;
    int status = wait_hook(pid, h->timeout_s);
    if (status == -1)
        return snprintf(err, errlen, "%s hook %zu (%s) did not end within %d s", kind, i,
                        h->path, h->timeout_s), -1;
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return snprintf(err, errlen, "%s hook %zu (%s) failed: %s %d", kind, i, h->path,
                        status >= 0 && WIFSIGNALED(status) ? "killed by signal" : "exit status",
                        status < 0 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status)
                                                              : WEXITSTATUS(status)), -1;
    return 0;
}

int sm_oci_hooks_run(const sm_oci_spec *spec, sm_oci_hook_kind kind, const sm_oci_state *st,
                     const char *status, char *err, size_t errlen)
{
    const sm_oci_hooks *hs = &spec->hooks[kind];
    if (!hs->n)
        return 0;
    json_t *o = sm_oci_state_json(st, status);
    char *state = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!state)
        return snprintf(err, errlen, "out of memory"), -1;
    int rc = 0;
    for (size_t i = 0; i < hs->n && rc == 0; i++)
        rc = run_one(&hs->v[i], state, err, errlen, kind_names[kind], i);
    free(state);
    return rc;
}
