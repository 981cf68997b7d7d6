/* Errors go to stderr and to --log, where containerd's shim looks for the
 * last one when a command fails (as JSON lines with --log-format json). */
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci-runtime/runtime.h"

void sm_oci_now_rfc3339(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static void to_log(const sm_oci_globals *g, const char *level, const char *msg)
{
    if (!g->log_path)
        return;
    int fd = open(g->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char when[48], *line = NULL;
    sm_oci_now_rfc3339(when, sizeof when);
    if (g->log_json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", when);
        line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
    } else {
        json_t *s = json_string(msg);
        char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
        json_decref(s);
        if (quoted && asprintf(&line, "time=\"%s\" level=%s msg=%s", when, level, quoted) < 0)
            line = NULL;
        free(quoted);
    }
    if (line) {
        size_t n = strlen(line);
        line[n] = '\n';  /* over the NUL: written with its length */
        ssize_t w = write(fd, line, n + 1);
        (void)w;
        free(line);
    }
    close(fd);
}

int sm_oci_fail(const sm_oci_globals *g, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "supermachine-oci: %s\n", msg);
    to_log(g, "error", msg);
    return 1;
}

void sm_oci_debug(const sm_oci_globals *g, const char *fmt, ...)
{
    if (!g->debug)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    to_log(g, "debug", msg);
}
