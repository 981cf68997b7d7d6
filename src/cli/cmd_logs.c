/* supermachine logs: a detached VM's process output. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine logs [OPTIONS] VM\n\n"
               "Print what a detached VM's process wrote, stdout to stdout and stderr\n"
               "to stderr.\n\n"
               "Options:\n"
               "  -f, --follow        keep printing until the VM ends\n"
               "  -n, --tail N        only the last N lines (\"all\": every line)\n"
               "      --since TIME    only output since TIME: 2026-12-04T10:00:00Z, a unix\n"
               "                      time, or a duration before now (42s, 10m, 1h30m)\n"
               "      --until TIME    only output before TIME (the same forms); with -f,\n"
               "                      stop following once it has passed\n"
               "  -t, --timestamps    start each line with its time (RFC 3339, UTC)\n"
               "  -h, --help          show this help\n");
}

/* "1h30m", "10m", "42s", "1.5h": seconds, or -1. */
static double duration(const char *s)
{
    double total = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        switch (*end) {
        case 'h': total += v * 3600; break;
        case 'm': total += v * 60; break;
        case 's': total += v; break;
        default: return -1;
        }
        s = end + 1;
    }
    return total;
}

/* RFC 3339 ("2026-12-04T10:00:00.5Z", "+01:00") or a date: unix ns, or -1. */
static int64_t rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p && !(p = strptime(s, "%Y-%m-%d", &tm)))
        return -1;
    double frac = 0;
    if (*p == '.') {
        char *end;
        frac = strtod(p, &end);
        p = end;
    }
    long offset = 0;
    int hh, mm;
    if (*p == 'Z')
        p++;
    else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
        offset = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L), p += 6;
    if (*p)
        return -1;
    time_t t = timegm(&tm) - offset;
    return (int64_t)t * 1000000000 + (int64_t)(frac * 1e9);
}

static int parse_time(const char *opt, const char *s, int64_t *ns)
{
    char *end;
    errno = 0;
    double unix_time = strtod(s, &end);
    double d;
    if (!errno && end != s && !*end && unix_time >= 0)
        *ns = (int64_t)(unix_time * 1e9);
    else if ((d = duration(s)) >= 0 && *s)
        *ns = (int64_t)((double)time(NULL) - d) * 1000000000;
    else if ((*ns = rfc3339(s)) < 0)
        return sm_cli_usage_error("logs", "%s wants a time (2026-12-04T10:00:00Z), a "
                                  "unix time or a duration (10m), not '%s'", opt, s);
    return 0;
}

static int parse_tail(const char *s, sm_logs_options *o)
{
    char *end;
    errno = 0;
    if (!strcmp(s, "all"))
        return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return sm_cli_usage_error("logs", "--tail wants a number of lines or \"all\", not '%s'",
                                  s);
    o->has_tail = 1, o->tail = v;
    return 0;
}

int sm_cmd_logs(int argc, char **argv)
{
    enum { O_SINCE = 256, O_UNTIL };
    static const struct option opts[] = {
        {"follow", no_argument, NULL, 'f'}, {"tail", required_argument, NULL, 'n'},
        {"since", required_argument, NULL, O_SINCE}, {"until", required_argument, NULL, O_UNTIL},
        {"timestamps", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    sm_logs_options o = {.size = sizeof o, .stdout_fd = STDOUT_FILENO,
                         .stderr_fd = STDERR_FILENO};
    int c, err = 0;
    optind = 1;
    while (!err && (c = getopt_long(argc, argv, "fn:th", opts, NULL)) != -1) {
        switch (c) {
        case 'f': o.follow = 1; break;
        case 't': o.timestamps = 1; break;
        case 'n': err = parse_tail(optarg, &o); break;
        case O_SINCE: err = parse_time("--since", optarg, &o.since_ns); break;
        case O_UNTIL: err = parse_time("--until", optarg, &o.until_ns); break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("logs", "unknown option");
        }
    }
    if (err)
        return err;
    if (optind + 1 != argc)
        return sm_cli_usage_error("logs", "name exactly one VM");
    return sm_vm_logs_ex(argv[optind], &o) ? sm_cli_fail() : 0;
}
