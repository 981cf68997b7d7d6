/* Writing and reading a detached VM's process log. */
#include "lib/vm_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/vm_registry.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log_rotate.h"

#define MAX_RECORD (1u << 20)
#define STAMP 8

/* The longest record body: a file holds at least two before it rotates,
 * so the newest half of the budget stays however the output comes. */
static uint32_t piece_max(uint64_t budget)
{
    uint64_t quarter = budget / 4 - 5 - STAMP;
    return quarter < MAX_RECORD - STAMP ? (uint32_t)quarter : MAX_RECORD - STAMP;
}

int sm_vm_log_append(int fd, int stream, const void *data, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t budget = sm_log_max_bytes();
    uint32_t piece = piece_max(budget);
    while (len) {
        uint32_t n = len > piece ? piece : (uint32_t)len;
        uint32_t body = n + STAMP;
        /* Rotated only between records, so each file is whole records;
         * a failure to rotate loses no output. */
        sm_log_make_room(fd, 5 + body, budget);
        /* One write per record: O_APPEND keeps records whole. */
        uint8_t *rec = malloc(5 + body);
        if (!rec)
            return -ENOMEM;
        rec[0] = (uint8_t)(stream == 2 ? 'e' : 'o');
        for (int i = 0; i < 4; i++)
            rec[1 + i] = (uint8_t)(body >> (8 * i));
        for (int i = 0; i < STAMP; i++)
            rec[5 + i] = (uint8_t)(ns >> (8 * i));
        memcpy(rec + 5 + STAMP, data, n);
        int err = sm_write_all(fd, rec, 5 + body);
        free(rec);
        if (err)
            return err;
        data = (const uint8_t *)data + n;
        len -= n;
    }
    return 0;
}

static int read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return (int)got;
        got += (size_t)r;
    }
    return (int)got;
}

typedef struct record {
    int stream;          /* 1 or 2 */
    uint64_t ns;         /* 0 in logs from before timestamps */
    const uint8_t *data;
    uint32_t len;
} record;

/* One record into buf; 1 read, 0 at a clean end (or a record still being
 * written: the position stays before it), negative on a broken log. */
static int next_record(int fd, uint8_t *buf, record *r)
{
    uint8_t head[5];
    off_t at = lseek(fd, 0, SEEK_CUR);
    int n = read_full(fd, head, 5);
    uint32_t len = head[1] | (uint32_t)head[2] << 8 | (uint32_t)head[3] << 16 |
                   (uint32_t)head[4] << 24;
    int stamped = head[0] == 'o' || head[0] == 'e';
    if (n == 5 && ((!stamped && head[0] != '1' && head[0] != '2') || len > MAX_RECORD ||
                   (stamped && len < STAMP)))
        return sm_fail(EBADMSG, "the VM's log is damaged");
    if (n < 5 || read_full(fd, buf, len) != (int)len) {
        lseek(fd, at, SEEK_SET);
        return 0;
    }
    r->stream = head[0] == '2' || head[0] == 'e' ? 2 : 1;
    r->ns = 0;
    for (int i = 0; stamped && i < STAMP; i++)
        r->ns |= (uint64_t)buf[i] << (8 * i);
    r->data = buf + (stamped ? STAMP : 0);
    r->len = len - (stamped ? STAMP : 0);
    return 1;
}

typedef struct reader {
    const sm_log_view *v;
    int out_fd, err_fd;
    uint64_t skip_lines;    /* lines still to drop for --tail */
    int line_start[3];      /* per stream: the next byte starts a line */
} reader;

static int put_stamp(int fd, uint64_t ns)
{
    time_t s = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    char text[64];
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(text + n, sizeof text - n, ".%09lluZ ",
                          (unsigned long long)(ns % 1000000000u));
    return sm_write_all(fd, text, n);
}

/* A record's bytes, less the lines --tail drops, each line stamped when
 * asked. */
static int emit(reader *rd, const record *r)
{
    int fd = r->stream == 2 ? rd->err_fd : rd->out_fd;
    const uint8_t *p = r->data, *end = r->data + r->len;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl ? nl + 1 : end;
        int err = 0;
        if (rd->skip_lines) {
            rd->skip_lines -= nl != NULL;
        } else {
            if (rd->v->timestamps && rd->line_start[r->stream])
                err = put_stamp(fd, r->ns);
            if (!err)
                err = sm_write_all(fd, p, (size_t)(stop - p));
        }
        if (err)
            return err;
        rd->line_start[r->stream] = nl != NULL;
        p = stop;
    }
    return 0;
}

/* Whether --since and --until keep a record; one without a time (an
 * older log's) is kept. */
static int kept(const sm_log_view *v, const record *r)
{
    if (!r->ns)
        return 1;
    return !(v->since_ns && r->ns < (uint64_t)v->since_ns) &&
           !(v->until_ns && r->ns >= (uint64_t)v->until_ns);
}

/* Lines (a final unterminated one counts) in the records kept. */
static int count_lines(int fd, uint8_t *buf, const sm_log_view *v, uint64_t *lines)
{
    record r;
    int n, open_line = 0;
    *lines = 0;
    while ((n = next_record(fd, buf, &r)) == 1) {
        if (!kept(v, &r))
            continue;
        for (uint32_t i = 0; i < r.len; i++)
            *lines += r.data[i] == '\n';
        open_line = r.len && r.data[r.len - 1] != '\n';
    }
    *lines += (uint64_t)open_line;
    lseek(fd, 0, SEEK_SET);
    return n;
}

static int copy_available(reader *rd, int fd, uint8_t *buf)
{
    record r;
    int n;
    while ((n = next_record(fd, buf, &r)) == 1) {
        if (!kept(rd->v, &r))
            continue;
        int err = emit(rd, &r);
        if (err == -EPIPE)
            return err;
        if (err)
            return sm_fail(-err, "cannot write the VM's output: %s", strerror(-err));
    }
    return n;
}

static int past(int64_t unix_ns)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return unix_ns && (int64_t)now.tv_sec * 1000000000 + now.tv_nsec >= unix_ns;
}

/* Opened for reading; -1 if it does not exist (yet, or any more). */
static int open_log(const char *path, int *fd)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 && errno != ENOENT)
        return sm_fail(errno, "cannot read %s: %s", path, strerror(errno));
    return 0;
}

static int same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

/* Whether the log at path is no longer the file fd reads: the writer
 * rotated it (sm_log_make_room), or is doing so. Either way it wrote its
 * last record there before the rename that this sees. */
static int rotated(const char *path, int fd)
{
    struct stat now, mine;
    if (fstat(fd, &mine) < 0)
        return 0;
    return stat(path, &now) < 0 || now.st_ino != mine.st_ino || now.st_dev != mine.st_dev;
}

/* Lines in both files, the older first. */
static int count_all(int prev, int fd, uint8_t *buf, const sm_log_view *v, uint64_t *lines)
{
    uint64_t a = 0, b = 0;
    int r = prev >= 0 ? count_lines(prev, buf, v, &a) : 0;
    if (!r && fd >= 0)
        r = count_lines(fd, buf, v, &b);
    *lines = a + b;
    return r;
}

int sm_vm_log_copy(const char *dir, const sm_log_view *v, int out_fd, int err_fd)
{
    char path[4200], old[4200 + sizeof SM_LOG_OLD_SUFFIX];
    snprintf(path, sizeof path, "%s/" SM_VM_LOG_NAME, dir);
    snprintf(old, sizeof old, "%s" SM_LOG_OLD_SUFFIX, path);
    int fd = -1, prev = -1;
    int r = open_log(path, &fd);
    /* The older half, unless a rotation between the two opens made it
     * the very file fd reads. */
    if (!r && (r = open_log(old, &prev)) == 0 && prev >= 0 && fd >= 0 && same_file(prev, fd))
        close(prev), prev = -1;
    uint8_t *buf = malloc(MAX_RECORD);
    reader rd = {.v = v, .out_fd = out_fd, .err_fd = err_fd, .line_start = {1, 1, 1}};
    if (!r && !buf)
        r = sm_fail(ENOMEM, "out of memory");
    if (!r && v->tail >= 0) {
        uint64_t lines;
        r = count_all(prev, fd, buf, v, &lines);
        rd.skip_lines = lines > (uint64_t)v->tail ? lines - (uint64_t)v->tail : 0;
    }
    if (!r && prev >= 0)
        r = copy_available(&rd, prev, buf);
    while (r == 0) {
        /* Sampled before draining: what a dying VM wrote last is read. */
        int alive = v->follow && sm_vm_alive(dir);
        if (fd < 0)
            fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            r = copy_available(&rd, fd, buf);
        if (r == 0 && fd >= 0 && rotated(path, fd)) {
            /* What came after the drain above, then on in the new file
             * from its start. */
            r = copy_available(&rd, fd, buf);
            close(fd);
            fd = -1;
            continue;
        }
        if (r < 0 || !alive || past(v->until_ns))
            break;
        usleep(100 * 1000);
    }
    free(buf);
    if (prev >= 0)
        close(prev);
    if (fd >= 0)
        close(fd);
    return r < 0 && r != -EPIPE ? r : 0;
}
