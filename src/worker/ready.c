/* The ready fd: how the library learns that the VM's agent listens, or
 * why the start failed. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/file.h"
#include "worker/worker.h"

static void write_timing(const sm_worker *w)
{
    char path[PATH_MAX + 32], text[96];
    snprintf(path, sizeof path, "%s/restore.timing", w->spec->dir);
    int n = snprintf(text, sizeof text, "%llu %llu %llu\n", (unsigned long long)w->t_open_ns,
                     (unsigned long long)sm_machine_entry_ns(w->machine),
                     (unsigned long long)sm_now_ns());
    sm_file_write_atomic(path, text, (size_t)n, 0600);
}

/* Once, and then the fd is closed: the library reads a single message. */
static void tell(sm_worker *w, const char *text, size_t len)
{
    if (w->ready_fd < 0)
        return;
    ssize_t n = write(w->ready_fd, text, len);
    (void)n;
    close(w->ready_fd);
    w->ready_fd = -1;
}

void sm_worker_on_ready(void *ctx)
{
    sm_worker *w = ctx;
    if (w->spec->restore[0])
        write_timing(w);
    tell(w, "ready\n", 6);
}

void sm_worker_report_failure(sm_worker *w, int err)
{
    char text[1200];
    int n = snprintf(text, sizeof text, "error %d %s\n", -err, sm_error_text());
    tell(w, text, n < (int)sizeof text ? (size_t)n : sizeof text - 1);
}
