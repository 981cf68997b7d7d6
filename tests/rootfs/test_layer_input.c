/* The decode's input side: a layer's bytes from a file or a download,
 * gunzip, and libarchive opening the tar; errors keep their own words
 * whenever they happen. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rootfs/gunzip.h"
#include "rootfs/layer_decode.h"
#include "util/error.h"
#include "util/file_feed.h"

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sm-gzthread-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- layers: a gzip tar of files of pseudo-random letters ---- */

/* Half-compressible bytes, as real files' are, so that a few MiB of
 * output take several source blocks and several of the thread's. */
static void letters(char *buf, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (char)('a' + ((seed >> 16) & 15));
    }
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
}

/* `bytes` gzip-compressed onto the end of `out`: one more member. */
static void gzip_member(const void *bytes, size_t len, uint8_t *out, size_t cap, size_t *used)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_raw(a);
    archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    size_t n = 0;
    assert_int_equal(archive_write_open_memory(a, out + *used, cap - *used, &n), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, bytes, len), (la_ssize_t)len);
    archive_entry_free(e);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *used += n;
}

/* `files` files of `size` bytes each after a directory, as a tar gzipped
 * in two members; returns where the second starts. */
static size_t write_layer(const char *path, int files, size_t size)
{
    size_t cap = (size_t)files * (size + 1024) + 65536, tar_len = 0;
    uint8_t *tar = malloc(cap), *gz = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    assert_int_equal(archive_write_open_memory(a, tar, cap, &tar_len), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data/");
    archive_entry_set_mode(e, AE_IFDIR | 0755);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    char *buf = malloc(size);
    for (int i = 0; i < files; i++) {
        char name[64];
        snprintf(name, sizeof name, "data/file%03d", i);
        letters(buf, size, (uint32_t)i);
        e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_mode(e, AE_IFREG | 0644);
        archive_entry_set_size(e, (la_int64_t)size);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, buf, size), (la_ssize_t)size);
        archive_entry_free(e);
    }
    free(buf);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    size_t used = 0;
    gzip_member(tar, tar_len / 2, gz, cap, &used);
    size_t second = used;
    gzip_member(tar + tar_len / 2, tar_len - tar_len / 2, gz, cap, &used);
    spit(path, gz, used);
    free(tar);
    free(gz);
    return second;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

typedef struct decoded {
    sm_spool spool;
    sm_layer_budget budget;
    sm_layer_entries e;
    int err;
    char why[1024];
} decoded;

static void decode(fixture *f, const char *path, sm_file_feed *feed, uint64_t max_file,
                   decoded *d)
{
    memset(d, 0, sizeof *d);
    assert_int_equal(sm_spool_open(&d->spool, f->dir), 0);
    d->budget = (sm_layer_budget){.max_file = max_file, .max_total = 1ull << 32};
    d->err = sm_layer_decode(path, feed, &d->spool, &d->budget, &d->e);
    snprintf(d->why, sizeof d->why, "%s", d->err ? sm_error_text() : "");
}

static void decoded_free(decoded *d)
{
    sm_layer_entries_free(&d->e);
    sm_spool_close(&d->spool);
}

/* ---- errors while libarchive still tells the format ---- */

typedef struct memory {
    const uint8_t *data;
    size_t len;
    bool given;
} memory;

static ssize_t all_at_once(void *ctx, const void **buf)
{
    memory *m = ctx;
    if (m->given)
        return 0;
    m->given = true;
    *buf = m->data;
    return (ssize_t)m->len;
}

/* How many of the layer's first bytes inflate to some bytes but fewer
 * than the 512 of a tar header: libarchive has begun to look at them. */
static size_t cut_inside_the_first_header(const uint8_t *gz, size_t len)
{
    for (size_t cut = 11; cut < len; cut++) {
        memory m = {.data = gz, .len = cut};
        sm_gunzip *g;
        assert_int_equal(sm_gunzip_open(&g, all_at_once, &m), 0);
        const void *buf;
        ssize_t n = sm_gunzip_read(g, &buf);
        sm_gunzip_free(g);
        if (n > 0 && n < 512)
            return cut;
        if (n >= 512)
            break;
    }
    fail_msg("no cut inflates to a part of the first header");
    return 0;
}

/* Cut inside the first header: the gunzip's error is what the sentence
 * says, not libarchive's "Unrecognized archive format" after it. */
static void truncated_inside_the_first_header(void **state)
{
    fixture *f = *state;
    char p[128];
    snprintf(p, sizeof p, "%s/l.tar.gz", f->dir);
    write_layer(p, 4, 1000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    spit(p, gz, cut_inside_the_first_header(gz, len));
    free(gz);
    decoded d;
    decode(f, p, NULL, 1 << 20, &d);
    assert_int_equal(d.err, -EILSEQ);
    assert_string_equal(d.why, "truncated or corrupt layer: truncated gzip data");
    decoded_free(&d);
}

typedef struct restarter {
    sm_file_feed *feed;
    decoded *d;
    fixture *f;
    const char *path;
} restarter;

static void *decode_main(void *arg)
{
    restarter *r = arg;
    decode(r->f, r->path, r->feed, 1 << 20, r->d);
    return NULL;
}

/* A download that starts over while the first bytes are being looked at
 * is -ESTALE (read the layer again once stored), not a corrupt layer. */
static void restart_while_the_format_is_told(void **state)
{
    fixture *f = *state;
    char p[128], to[160];
    snprintf(p, sizeof p, "%s/l.tar.gz", f->dir);
    snprintf(to, sizeof to, "%s/fed", f->dir);
    write_layer(p, 4, 1000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    sm_file_feed feed;
    assert_int_equal(sm_file_feed_init(&feed), 0);
    int out = open(to, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(sm_file_feed_attach(&feed, out), 0);
    size_t cut = cut_inside_the_first_header(gz, len);
    assert_int_equal(write(out, gz, cut), (ssize_t)cut);
    sm_file_feed_grow(&feed, cut);
    decoded d;
    restarter r = {.feed = &feed, .d = &d, .f = f, .path = to};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, decode_main, &r), 0);
    usleep(50000); /* most likely waiting for more by now; if not, the same */
    sm_file_feed_restart(&feed);
    sm_file_feed_end(&feed, -ECANCELED);
    pthread_join(t, NULL);
    assert_int_equal(d.err, -ESTALE);
    assert_non_null(strstr(d.why, "the download of the layer started over"));
    decoded_free(&d);
    close(out);
    sm_file_feed_destroy(&feed);
    free(gz);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(truncated_inside_the_first_header),
        T(restart_while_the_format_is_told),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
