#include "rootfs/ext4_data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/ext4.h"
#include "util/error.h"
#include "util/zero.h"

#define PEND_BLOCKS 256u    /* 1 MiB gathered before a write */
#define SCAN_BLOCKS 256u    /* runs this long ask the spool where its holes are */

/* Room reserved but never written must read as zeros, not fault: the
 * file is extended by writing its last byte, not by ftruncate, which a
 * 9P share refuses for a file already unlinked (ENOENT). */
static int reach_the_end(const sm_spool *spool)
{
    struct stat st;
    if (fstat(spool->fd, &st) == 0 && (uint64_t)st.st_size >= spool->len)
        return 0;
    static const uint8_t zero;
    errno = 0;
    if (pwrite(spool->fd, &zero, 1, (off_t)spool->len - 1) == 1)
        return 0;
    return sm_fail(errno ? errno : EIO, "cannot size the temporary file in '%s': %s",
                   spool->dir, strerror(errno ? errno : EIO));
}

int sm_ext4_data_open(sm_ext4_data *d, ext2_filsys fs, const sm_spool *spool)
{
    memset(d, 0, sizeof *d);
    d->fs = fs;
    d->spool = spool;
    if (!(d->pend = malloc((size_t)PEND_BLOCKS * SM_EXT4_BLOCK_SIZE)))
        return sm_fail(ENOMEM, "out of memory writing the image");
    if (!spool->len)
        return 0;
    int err = reach_the_end(spool);
    if (err)
        return err;
    void *m = mmap(NULL, spool->len, PROT_READ, MAP_SHARED, spool->fd, 0);
    if (m == MAP_FAILED)
        return sm_fail(errno, "cannot map the temporary file in '%s': %s", spool->dir,
                       strerror(errno));
    d->map = m;
    d->map_len = spool->len;
    return 0;
}

static int flush(sm_ext4_data *d)
{
    if (!d->pend_cnt)
        return 0;
    errcode_t e = io_channel_write_blk64(d->fs->io, d->pend_blk, (int)d->pend_cnt, d->pend);
    d->pend_cnt = 0;
    if (e)
        return sm_fail(sm_ext2_errno(e), "cannot write file data: %s", sm_ext2_strerror(e));
    return 0;
}

/* `cnt` blocks for pblk, `have` bytes of them from src and zeros after. */
static int put(sm_ext4_data *d, blk64_t pblk, blk64_t cnt, const uint8_t *src, uint64_t have)
{
    if (d->pend_cnt && (pblk != d->pend_blk + d->pend_cnt || d->pend_cnt + cnt > PEND_BLOCKS)) {
        int err = flush(d);
        if (err)
            return err;
    }
    if (!d->pend_cnt)
        d->pend_blk = pblk;
    uint8_t *at = d->pend + d->pend_cnt * SM_EXT4_BLOCK_SIZE;
    memcpy(at, src, have);
    memset(at + have, 0, cnt * SM_EXT4_BLOCK_SIZE - have);
    d->pend_cnt += cnt;
    return 0;
}

/* Blocks of zeros are not written: the image file is new and sparse, so
 * they read as zeros already and cost no disk on the host. Long runs ask
 * the spool for its holes (a sparse file's, a bomb's zeros), so that a
 * 64 GiB sparse file costs no 64 GiB of reads. */
int sm_ext4_data_copy(sm_ext4_data *d, const sm_inode *in, blk64_t lblk, blk64_t pblk,
                      blk64_t len)
{
    while (len > 0) {
        blk64_t cnt = len < PEND_BLOCKS ? len : PEND_BLOCKS;
        uint64_t off = lblk * SM_EXT4_BLOCK_SIZE, want = cnt * SM_EXT4_BLOCK_SIZE;
        uint64_t have = off < in->size ? in->size - off : 0;
        uint64_t from = in->data_off + off;
        have = have < want ? have : want;
        bool hole = have == 0 || from + have > d->map_len ||
                    (cnt >= SCAN_BLOCKS && sm_spool_data_from(d->spool, from) - from >= have);
        if (!hole && !sm_all_zero(d->map + from, have)) {
            int err = put(d, pblk, cnt, d->map + from, have);
            if (err)
                return err;
        }
        lblk += cnt, pblk += cnt, len -= cnt;
    }
    return 0;
}

int sm_ext4_data_close(sm_ext4_data *d, int err)
{
    if (!err)
        err = flush(d);
    if (d->map)
        munmap((void *)d->map, d->map_len);
    free(d->pend);
    memset(d, 0, sizeof *d);
    return err;
}
