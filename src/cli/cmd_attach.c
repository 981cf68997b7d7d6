/* supermachine attach: follow a detached VM's main process from now on
 * (docker attach, without stdin: a detached process reads /dev/null).
 * Ctrl-C and SIGTERM go to the process (docker's --sig-proxy); the exit
 * status is the process's. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

typedef struct proxy {
    sm_vm *vm;
    sigset_t set;
} proxy;

static void *forward_signals(void *arg)
{
    proxy *p = arg;
    int sig;
    while (sigwait(&p->set, &sig) == 0)
        sm_vm_kill(p->vm, sig);
    return NULL;
}

typedef struct follower {
    const char *id;
    int64_t since_ns;
} follower;

static void *follow(void *arg)
{
    const follower *f = arg;
    sm_logs_options o = {.size = sizeof o, .follow = 1, .stdout_fd = STDOUT_FILENO,
                         .stderr_fd = STDERR_FILENO, .since_ns = f->since_ns};
    sm_vm_logs_ex(f->id, &o);
    return NULL;
}

int sm_cli_attach(sm_vm *vm, int64_t since_ns)
{
    proxy p = {.vm = vm};
    follower f = {sm_vm_id(vm), since_ns};
    sigemptyset(&p.set);
    sigaddset(&p.set, SIGINT);
    sigaddset(&p.set, SIGTERM);
    sigaddset(&p.set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &p.set, NULL);
    int code = -1;
    pthread_t fwd, out;
    pthread_create(&fwd, NULL, forward_signals, &p);
    pthread_create(&out, NULL, follow, &f);
    pthread_join(out, NULL);
    int err = sm_vm_wait(p.vm, -1, &code);
    sm_vm_release(p.vm);
    if (err)
        return sm_cli_fail();
    return code >= 0 ? code : 0;
}

int sm_cmd_attach(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("attach", "unknown option");
        printf("Usage: supermachine attach VM\n\n"
               "Follow a detached VM's main process from now on: its output, until it\n"
               "ends. Ctrl-C (SIGINT) and SIGTERM are passed to it; the exit status is\n"
               "its own.\n");
        return 0;
    }
    if (argc - optind != 1)
        return sm_cli_usage_error("attach", "name one VM");
    sm_vm *vm;
    if (sm_vm_open(argv[optind], &vm) != 0)
        return sm_cli_fail();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return sm_cli_attach(vm, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
}
