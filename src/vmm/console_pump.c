#include "vmm/console_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"
#include "util/log_rotate.h"

#define CHUNK 65536

struct sm_console_pump {
    int fd;                 /* the console: not ours */
    uint64_t max;
    int pipe_r, pipe_w;
    pthread_t thread;
};

static void *pump(void *arg)
{
    sm_console_pump *p = arg;
    uint8_t buf[CHUNK];
    for (;;) {
        ssize_t n = read(p->pipe_r, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        /* A full disk or a failed rotation must not stop the guest: its
         * console is then lost, not the VM. */
        sm_log_make_room(p->fd, (uint64_t)n, p->max);
        sm_write_all(p->fd, buf, (size_t)n);
    }
    return NULL;
}

int sm_console_pump_start(int fd, uint64_t max, sm_console_pump **out)
{
    sm_console_pump *p = calloc(1, sizeof *p);
    int fds[2];
    if (!p)
        return sm_fail(ENOMEM, "out of memory");
    if (pipe2(fds, O_CLOEXEC) < 0) {
        int e = errno;
        free(p);
        return sm_fail(e, "console: pipe: %s", strerror(e));
    }
    *p = (sm_console_pump){.fd = fd, .max = max, .pipe_r = fds[0], .pipe_w = fds[1]};
    int rc = pthread_create(&p->thread, NULL, pump, p);
    if (rc) {
        close(fds[0]);
        close(fds[1]);
        free(p);
        return sm_fail(rc, "console: cannot start its thread: %s", strerror(rc));
    }
    pthread_setname_np(p->thread, "sm-console");
    *out = p;
    return 0;
}

void sm_console_pump_write(sm_console_pump *p, const uint8_t *buf, size_t len)
{
    sm_write_all(p->pipe_w, buf, len);
}

void sm_console_pump_stop(sm_console_pump *p)
{
    if (!p)
        return;
    close(p->pipe_w);
    pthread_join(p->thread, NULL);
    close(p->pipe_r);
    free(p);
}
