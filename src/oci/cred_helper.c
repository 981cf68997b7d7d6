#include "oci/cred_helper.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"

extern char **environ;

#define OUT_MAX (64 * 1024)
#define ERR_MAX 1024

/* What one run of a helper said. */
typedef struct helper_output {
    char out[OUT_MAX + 1], err[ERR_MAX + 1];
    size_t out_len, err_len;
    int status;           /* as waitpid gives it */
    bool timed_out;
} helper_output;

/* stdin is a socket so that writing to a helper that already exited
 * fails with EPIPE instead of raising SIGPIPE in the caller's process. */
static int spawn(const char *prog, const char *action, int in, int out, int err, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    char *argv[] = {(char *)prog, (char *)action, NULL};
    int rc = posix_spawnp(pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read a stream into buf (keeping at most max bytes); 0 at its end. */
static int drain(int fd, char *buf, size_t *len, size_t max)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 1 : 0;
    size_t keep = (size_t)n < max - *len ? (size_t)n : max - *len;
    memcpy(buf + *len, chunk, keep);
    *len += keep;
    buf[*len] = '\0';
    return n > 0;
}

static void collect(int out, int err, helper_output *h)
{
    struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
    int64_t deadline = now_ms() + SM_CRED_HELPER_TIMEOUT_MS;
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            h->timed_out = true;
            return;
        }
        if (poll(p, 2, (int)left) < 0)
            continue;
        if (p[0].revents && !drain(out, h->out, &h->out_len, OUT_MAX))
            p[0].fd = -1;
        if (p[1].revents && !drain(err, h->err, &h->err_len, ERR_MAX))
            p[1].fd = -1;
    }
}

/* Run `prog ACTION` with `input` on its stdin. 0, or the spawn's errno. */
static int run(const char *prog, const char *action, const char *input, helper_output *h)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    pid_t pid;
    int rc = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(err, O_CLOEXEC) < 0)
        rc = errno;
    if (!rc)
        rc = spawn(prog, action, in[1], out[1], err[1], &pid);
    int ends[] = {in[1], out[1], err[1]};
    for (int i = 0; i < 3; i++)
        if (ends[i] >= 0)
            close(ends[i]);
    if (!rc) {
        /* A helper that does not read its stdin still gets to answer. */
        (void)!send(in[0], input, strlen(input), MSG_NOSIGNAL);
        shutdown(in[0], SHUT_WR);
        collect(out[0], err[0], h);
        if (h->timed_out)
            kill(pid, SIGKILL);
        while (waitpid(pid, &h->status, 0) < 0 && errno == EINTR)
            ;
    }
    int mine[] = {in[0], out[0], err[0]};
    for (int i = 0; i < 3; i++)
        if (mine[i] >= 0)
            close(mine[i]);
    return rc;
}

/* The first line of what the helper said about its failure. */
static void reason(const helper_output *h, char *out, size_t len)
{
    const char *text = h->out_len ? h->out : h->err;
    while (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t')
        text++;
    snprintf(out, len, "%.*s", (int)strcspn(text, "\r\n"), text);
    if (!out[0]) {
        if (WIFSIGNALED(h->status))
            snprintf(out, len, "killed by signal %d", WTERMSIG(h->status));
        else
            snprintf(out, len, "exit status %d, and no message", WEXITSTATUS(h->status));
    }
}

static int parse(const helper_output *h, const char *prog, const char *origin,
                 sm_credentials *c)
{
    json_t *root = json_loadb(h->out, h->out_len, 0, NULL);
    const char *user = json_string_value(json_object_get(root, "Username"));
    const char *secret = json_string_value(json_object_get(root, "Secret"));
    int rc = 0;
    if (!user || !secret)
        rc = sm_fail(EPROTO, "the credential helper %s (named by %s) did not answer with "
                     "{\"Username\",\"Secret\"}", prog, origin);
    else if (*secret) {
        snprintf(c->username, sizeof c->username, "%s", user);
        snprintf(c->password, sizeof c->password, "%s", secret);
        /* docker's convention for an OAuth2 refresh token. */
        c->identity_token = !strcmp(user, "<token>");
        rc = 1;
    }
    json_decref(root);
    return rc;
}

/* Run `docker-credential-NAME action` (its name into prog) and sort out
 * how it went, alike for get, store and erase: 1 it succeeded (h holds
 * its answer), 0 it has no credentials for server, else a negative errno. */
static int call(const char *name, const char *action, const char *input, const char *server,
                const char *origin, char prog[300], helper_output *h)
{
    if (!*name || strchr(name, '/') ||
        (size_t)snprintf(prog, 300, "docker-credential-%s", name) >= 300)
        return sm_fail(EINVAL, "the credential helper name '%.100s' (in %s) is not valid",
                       name, origin);
    int rc = run(prog, action, input, h);
    char why[300];
    if (rc == ENOENT)
        return sm_fail(ENOENT, "the credential helper %s (named by %s) is not installed: it "
                       "is not in PATH; install it, or remove it from that file", prog, origin);
    if (rc)
        return sm_fail(rc, "cannot run the credential helper %s (named by %s): %s", prog,
                       origin, strerror(rc));
    if (h->timed_out)
        return sm_fail(ETIMEDOUT, "the credential helper %s (named by %s) did not answer "
                       "within %d s", prog, origin, SM_CRED_HELPER_TIMEOUT_MS / 1000);
    if (WIFEXITED(h->status) && WEXITSTATUS(h->status) == 0)
        return 1;
    if (strstr(h->out, "credentials not found") || strstr(h->err, "credentials not found"))
        return 0;   /* the helper's documented answer for "no login for this server" */
    reason(h, why, sizeof why);
    return sm_fail(EACCES, "the credential helper %s (named by %s) could not %s the "
                   "credentials for %s: %s", prog, origin, action, server, why);
}

/* call() with a helper_output of its own (64 KiB: not for the stack). */
static int call_alone(const char *name, const char *action, const char *input,
                      const char *server, const char *origin)
{
    char prog[300];
    helper_output *h = calloc(1, sizeof *h);
    if (!h)
        return sm_fail(ENOMEM, "out of memory");
    int rc = call(name, action, input, server, origin, prog, h);
    free(h);
    return rc;
}

int sm_cred_helper_get(const char *name, const char *server, const char *origin,
                       sm_credentials *out)
{
    char prog[300];
    helper_output *h = calloc(1, sizeof *h);
    if (!h)
        return sm_fail(ENOMEM, "out of memory");
    int rc = call(name, "get", server, server, origin, prog, h);
    if (rc == 1)
        rc = parse(h, prog, origin, out);
    free(h);
    return rc;
}

int sm_cred_helper_store(const char *name, const char *server, const char *user,
                         const char *secret, const char *origin)
{
    json_t *msg = json_pack("{s:s, s:s, s:s}", "ServerURL", server, "Username", user,
                            "Secret", secret);
    char *input = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!input)
        return sm_fail(ENOMEM, "out of memory");
    int rc = call_alone(name, "store", input, server, origin);
    /* The secret is not left lying in freed memory. */
    explicit_bzero(input, strlen(input));
    free(input);
    return rc < 0 ? rc : 0;
}

int sm_cred_helper_erase(const char *name, const char *server, const char *origin)
{
    return call_alone(name, "erase", server, server, origin);
}
