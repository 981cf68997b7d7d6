#include "rootfs/layer_archive.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util/error.h"

int sm_layer_archive_fail(struct archive *ar, const char *what)
{
    const char *msg = archive_error_string(ar);
    int e = archive_errno(ar);
    return sm_fail(e > 0 ? e : EIO, "%s: %s", what, msg ? msg : "unknown libarchive error");
}

/* libarchive's read callback: the sentence goes with the error. */
static la_ssize_t pass(sm_layer_archive *la, struct archive *ar, ssize_t n)
{
    if (n >= 0)
        return n;
    if (!la->read_err)
        la->read_err = (int)n;
    archive_set_error(ar, (int)-n, "%s", sm_error_text());
    return -1;
}

static la_ssize_t read_raw(struct archive *ar, void *ctx, const void **buf)
{
    sm_layer_archive *la = ctx;
    return pass(la, ar, sm_layer_input_read(&la->in, buf));
}

/* Asked at every block, not once at the start: a layer that began beside
 * others gets its second core when they finish. */
static la_ssize_t read_gzip(struct archive *ar, void *ctx, const void **buf)
{
    sm_layer_archive *la = ctx;
    if (!la->gzt && la->cores && sm_cores_claim(la->cores) &&
        sm_gunzip_thread_start(&la->gzt, la->gz) < 0)
        sm_cores_release(la->cores); /* no thread to be had: inflate here */
    return pass(la, ar, la->gzt ? sm_gunzip_thread_read(la->gzt, buf)
                                : sm_gunzip_read(la->gz, buf));
}

static ssize_t gzip_source(void *ctx, const void **buf)
{
    return sm_layer_input_read(ctx, buf);
}

static int is_gzip(sm_layer_archive *la, bool *yes)
{
    const uint8_t *b;
    ssize_t n = sm_layer_input_peek(&la->in, 2, &b);
    if (n < 0)
        return sm_fail_context((int)n, "cannot read the layer");
    *yes = n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    return 0;
}

static int open_archive(sm_layer_archive *la, bool gzip)
{
    struct archive *ar = la->ar = archive_read_new();
    if (!ar)
        return sm_fail(ENOMEM, "out of memory");
    if (!gzip) { /* the others docker accepts; none that runs a program */
        archive_read_support_filter_zstd(ar);
        archive_read_support_filter_xz(ar);
        archive_read_support_filter_bzip2(ar);
    }
    archive_read_support_format_tar(ar);
    if (archive_read_open(ar, la, NULL, gzip ? read_gzip : read_raw, NULL) != ARCHIVE_OK) {
        /* Opening already reads the first block to recognise the format.
         * A read that failed then is the cause: libarchive says only
         * "Unrecognized archive format" (EILSEQ) after it, which would
         * hide a download that started over (-ESTALE: read it again). */
        int e = la->read_err ? -la->read_err : archive_errno(ar);
        bool io = e > 0 && e != EILSEQ && e != EINVAL && e != ESTALE;
        const char *what = io ? "cannot read the layer" : "truncated or corrupt layer";
        /* The read's sentence is still this thread's: libarchive sets none. */
        return la->read_err ? sm_fail_context(la->read_err, "%s", what)
                            : sm_layer_archive_fail(ar, what);
    }
    return 0;
}

int sm_layer_archive_open(sm_layer_archive *la, const char *path, sm_file_feed *feed,
                          sm_cores *cores)
{
    memset(la, 0, sizeof *la);
    la->cores = cores;
    int err = sm_layer_input_open(&la->in, path, feed);
    if (err)
        return err;
    bool gzip = false;
    err = is_gzip(la, &gzip);
    if (!err && gzip)
        err = sm_gunzip_open(&la->gz, gzip_source, &la->in);
    if (!err)
        err = open_archive(la, gzip);
    if (err)
        sm_layer_archive_close(la);
    return err;
}

void sm_layer_archive_close(sm_layer_archive *la)
{
    if (la->gzt) { /* first: it reads gz and in */
        sm_gunzip_thread_stop(la->gzt);
        sm_cores_release(la->cores);
        la->gzt = NULL;
    }
    if (la->ar)
        archive_read_free(la->ar);
    la->ar = NULL;
    sm_gunzip_free(la->gz);
    la->gz = NULL;
    sm_layer_input_close(&la->in);
}
