/* Starting a command: the environment it gets and what the child does
 * between fork and exec. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "agent_int.h"

static const char default_path[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static bool has_var(const char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return true;
    return false;
}

/* The request's environment with PATH, HOME (and TERM on a pty) added
 * when missing. */
static char **build_env(const sm_agent_exec_req *r)
{
    size_t n = 0;
    while (r->env && r->env[n])
        n++;
    char **env = malloc((n + 5) * sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        env[i] = (char *)r->env[i];
    if (!has_var(r->env, "PATH"))
        env[n++] = (char *)default_path;
    if (!has_var(r->env, "HOME"))
        env[n++] = (char *)"HOME=/root";
    if (r->pty && !has_var(r->env, "TERM"))
        env[n++] = (char *)"TERM=xterm";
    char *tunables = agent_inherited_env("GLIBC_TUNABLES");
    if (tunables && !has_var(r->env, "GLIBC_TUNABLES"))
        env[n++] = tunables;
    env[n] = NULL;
    return env;
}

static __attribute__((noreturn)) void die(const char *what, const char *arg)
{
    int err = errno;
    dprintf(STDERR_FILENO, "sm-init: %s %s: %s\n", what, arg, strerror(err));
    _exit(err == ENOENT ? 127 : 126);
}

static void child_pty(int slave)
{
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        _exit(126);
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0)
            _exit(126);
}

/* The pipes were made non-blocking for the agent's ends; the command's
 * ends must block, as every program expects. */
static void child_pipes(const spawn_io *io)
{
    const int fds[3] = {io->in, io->out, io->err};
    for (int fd = 0; fd < 3; fd++) {
        if (dup2(fds[fd], fd) < 0 || fcntl(fd, F_SETFL, 0) < 0)
            _exit(126);
    }
}

static void child_ids(const sm_agent_exec_req *r)
{
    if (r->has_groups || r->uid >= 0) {
        gid_t *g = malloc((r->ngroups + 1) * sizeof *g);
        for (size_t i = 0; g && i < r->ngroups; i++)
            g[i] = r->groups[i];
        if (!g || setgroups(r->ngroups, g) < 0)
            die("cannot set supplementary groups for", r->argv[0]);
    }
    if (r->gid >= 0 && setgid((gid_t)r->gid) < 0)
        die("cannot set the group id for", r->argv[0]);
    if (r->uid >= 0 && setuid((uid_t)r->uid) < 0)
        die("cannot set the user id for", r->argv[0]);
}

/* mkdir -p: errors show up as chdir's. */
static void make_dirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return;
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
    mkdir(buf, 0755);
}

/* A container of a pod: its mounts are already made under root, so cwd,
 * PATH and the program are all looked up inside it. The old working
 * directory lies outside the new root: a relative cwd must not start there. */
static void child_root(const sm_agent_exec_req *r)
{
    if (!r->root)
        return;
    if (chroot(r->root) < 0)
        die("cannot change the root to", r->root);
    if (chdir("/") < 0)
        die("cannot change to directory", "/");
}

static __attribute__((noreturn)) void child(const sm_agent_exec_req *r, char **env,
                                            const spawn_io *io)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();  /* its own process group, so a timeout kills all of it */
    if (io->pty >= 0)
        child_pty(io->in);
    else
        child_pipes(io);
    child_root(r);
    if (r->cwd && r->mkcwd)
        make_dirs(r->cwd);
    if (r->cwd && chdir(r->cwd) < 0)
        die("cannot change to directory", r->cwd);
    child_ids(r);
    if (r->has_umask)
        umask((mode_t)r->umask);
    /* Last before the exec, as runc sets it: only the exec is bound by it. */
    if (r->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("cannot set no_new_privs for", r->argv[0]);
    environ = env;
    execvp(r->argv[0], (char *const *)r->argv);
    die("cannot run", r->argv[0]);
}

pid_t agent_spawn(const sm_agent_exec_req *r, const spawn_io *io)
{
    char **env = build_env(r);
    if (!env)
        return -ENOMEM;
    pid_t pid = fork();
    if (pid == 0)
        child(r, env, io);
    int err = errno;
    free(env);
    return pid < 0 ? -err : pid;
}
