/* Writing and reading a detached VM's process log. */
#include "lib/vm_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/vm_registry.h"
#include "util/error.h"
#include "util/file.h"

#define MAX_RECORD (1u << 20)

int sm_vm_log_append(int fd, int stream, const void *data, size_t len)
{
    while (len) {
        uint32_t n = len > MAX_RECORD ? MAX_RECORD : (uint32_t)len;
        uint8_t head[5] = {(uint8_t)(stream == 2 ? '2' : '1'), (uint8_t)n, (uint8_t)(n >> 8),
                           (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        /* One write per record: O_APPEND keeps records whole. */
        uint8_t *rec = malloc(5 + n);
        if (!rec)
            return -ENOMEM;
        memcpy(rec, head, 5);
        memcpy(rec + 5, data, n);
        int err = sm_write_all(fd, rec, 5 + n);
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

/* One record; 0 at a clean end (or a record still being written), 1 after
 * copying one, negative on a broken log. */
static int copy_record(int fd, int out_fd, int err_fd, uint8_t *buf)
{
    uint8_t head[5];
    off_t at = lseek(fd, 0, SEEK_CUR);
    int n = read_full(fd, head, 5);
    uint32_t len = head[1] | (uint32_t)head[2] << 8 | (uint32_t)head[3] << 16 |
                   (uint32_t)head[4] << 24;
    if (n == 5 && ((head[0] != '1' && head[0] != '2') || len > MAX_RECORD))
        return sm_fail(EBADMSG, "the VM's log is damaged");
    if (n < 5 || read_full(fd, buf, len) != (int)len) {
        lseek(fd, at, SEEK_SET);
        return 0;
    }
    int err = sm_write_all(head[0] == '2' ? err_fd : out_fd, buf, len);
    return err == -EPIPE ? err : 1;
}

int sm_vm_log_copy(const char *dir, int follow, int out_fd, int err_fd)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" SM_VM_LOG_NAME, dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return sm_fail(errno, "cannot read %s: %s", path, strerror(errno));
    uint8_t *buf = malloc(MAX_RECORD);
    int r = buf ? 0 : sm_fail(ENOMEM, "out of memory");
    while (r == 0) {
        /* Sampled before draining: what a dying VM wrote last is read. */
        int alive = follow && sm_vm_alive(dir);
        if (fd < 0)
            fd = open(path, O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && (r = copy_record(fd, out_fd, err_fd, buf)) == 1)
            ;
        if (r < 0 || !alive)
            break;
        usleep(100 * 1000);
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    return r < 0 && r != -EPIPE ? r : 0;
}
