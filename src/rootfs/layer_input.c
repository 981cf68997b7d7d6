#include "rootfs/layer_input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

#define BLOCK (1u << 20)

static int open_path(sm_layer_input *in)
{
    in->fd = open(in->path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0)
        return sm_fail(errno, "cannot open '%s': %s", in->path, strerror(errno));
    posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return 0;
}

int sm_layer_input_open(sm_layer_input *in, const char *path, sm_file_feed *feed)
{
    memset(in, 0, sizeof *in);
    in->path = path;
    in->feed = feed;
    in->fd = -1;
    if (!(in->buf = malloc(BLOCK)))
        return sm_fail(ENOMEM, "out of memory for reading a layer");
    if (feed) {
        in->generation = sm_file_feed_generation(feed);
        return 0;
    }
    int err = open_path(in);
    if (err) {
        sm_layer_input_close(in);
        sm_fail_context(err, "cannot read the layer");
    }
    return err;
}

void sm_layer_input_close(sm_layer_input *in)
{
    if (in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    free(in->buf);
    in->buf = NULL;
}

static ssize_t from_feed(sm_layer_input *in, uint8_t *buf, size_t len)
{
    ssize_t n = sm_file_feed_read(in->feed, in->generation, buf, len, in->off);
    if (n == -ENOENT && in->off == 0) { /* someone else stored it: read it there */
        in->feed = NULL;
        int err = open_path(in);
        return err ? err : -EAGAIN;
    }
    if (n == -ESTALE)
        return sm_fail(ESTALE, "the download of the layer started over");
    if (n < 0)
        return sm_fail((int)-n, "the layer's download failed");
    return n;
}

/* Appends what comes next to buf[len..]: >0 bytes, 0 at the end. */
static ssize_t fill(sm_layer_input *in)
{
    for (;;) {
        uint8_t *at = in->buf + in->len;
        size_t room = BLOCK - in->len;
        ssize_t n;
        if (in->feed) {
            n = from_feed(in, at, room);
            if (n == -EAGAIN)
                continue;
        } else {
            do
                n = pread(in->fd, at, room, (off_t)in->off);
            while (n < 0 && errno == EINTR);
            if (n < 0)
                return sm_fail(errno, "%s", strerror(errno));
        }
        if (n > 0) {
            in->off += (uint64_t)n;
            in->len += (size_t)n;
        }
        return n;
    }
}

ssize_t sm_layer_input_read(sm_layer_input *in, const void **buf)
{
    if (in->pos == in->len) {
        in->pos = in->len = 0;
        ssize_t n = fill(in);
        if (n <= 0)
            return n;
    }
    *buf = in->buf + in->pos;
    size_t n = in->len - in->pos;
    in->pos = in->len;
    return (ssize_t)n;
}

ssize_t sm_layer_input_peek(sm_layer_input *in, size_t want, const uint8_t **buf)
{
    while (in->len - in->pos < want) {
        ssize_t n = fill(in);
        if (n < 0)
            return n;
        if (n == 0)
            break;
    }
    *buf = in->buf + in->pos;
    return (ssize_t)(in->len - in->pos);
}
