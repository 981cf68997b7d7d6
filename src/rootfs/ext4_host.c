#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "rootfs/ext4.h"
#include "util/file.h"

/* Finish a write that stopped part way, as write(2) callers must. */
static errcode_t finish(const char *path, off_t off, const char *p, size_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    errcode_t e = (errcode_t)-sm_pwrite_all(fd, p, len, (uint64_t)off);
    close(fd);
    return e;
}

/* The unix I/O manager calls this after its pwrite and write both came up
 * short. buf, size and actual describe the whole request only when size is
 * what block and count ask for (its bounce path moves them on): only then
 * can the rest be written where it belongs. */
static errcode_t on_write_error(io_channel ch, unsigned long block, int count, const void *buf,
                                size_t size, int actual, errcode_t error)
{
    sm_ext4_host *h = ch->app_data;
    size_t whole = count < 0 ? (size_t)-count : (size_t)count * (size_t)ch->block_size;
    if (error == EXT2_ET_SHORT_WRITE && actual >= 0 && (size_t)actual < size && size == whole)
        error = finish(h->path, (off_t)block * ch->block_size + actual,
                       (const char *)buf + actual, size - (size_t)actual);
    if (error && !h->err)
        h->err = error > 0 && error < 4096 ? (int)error : EIO;
    return error;
}

void sm_ext4_host_watch(ext2_filsys fs, sm_ext4_host *h)
{
    h->err = 0;
    fs->io->app_data = h;
    fs->io->write_error = on_write_error;
}
