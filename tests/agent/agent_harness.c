#include "agent_harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static void die(const char *what)
{
    perror(what);
    abort();
}

void harness_start(harness *h)
{
    memset(h, 0, sizeof *h);
    strcpy(h->dir, "/tmp/sm-agent-test-XXXXXX");
    if (!mkdtemp(h->dir))
        die("mkdtemp");
    h->addr.sun_family = AF_UNIX;
    snprintf(h->addr.sun_path, sizeof h->addr.sun_path, "%s/agent.sock", h->dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&h->addr, sizeof h->addr) < 0 || listen(fd, 128) < 0)
        die("agent socket");
    h->pid = fork();
    if (h->pid < 0)
        die("fork");
    if (h->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(sm_agent_serve(fd) ? 1 : 0);
    }
    close(fd);
}

void harness_stop(harness *h)
{
    if (h->pid > 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, NULL, 0);
    }
    unlink(h->addr.sun_path);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", h->dir);
}

int harness_socket(harness *h)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&h->addr, sizeof h->addr) < 0)
        die("connect to the agent");
    return fd;
}

sm_agent_conn *harness_conn(harness *h)
{
    sm_agent_conn *c;
    if (sm_agent_conn_open(harness_socket(h), &c) < 0)
        die("sm_agent_conn_open");
    return c;
}

long harness_peak_rss_kib(harness *h)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)h->pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}
