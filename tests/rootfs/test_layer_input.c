/* The decode's input side: a layer's bytes from a file or a download,
 * gunzip in line or on a thread of its own (rootfs/gunzip_thread.h), and
 * libarchive opening the tar: the same bytes, errors and sentences either
 * way, whoever stops first. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
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
#include "rootfs/cores.h"
#include "rootfs/gunzip_thread.h"
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

/* The test's layer, <dir>/l.tar.gz, made by write_layer: its path in p
 * (128 bytes), where its second member starts returned. */
static size_t make_layer(const fixture *f, char *p, int files, size_t size)
{
    snprintf(p, 128, "%s/l.tar.gz", f->dir);
    return write_layer(p, files, size);
}

/* Deflate data that no longer inflates half way: the second member's first
 * block (right after its 10-byte header) gets the reserved block type. */
static void break_second_member(uint8_t *gz, size_t second)
{
    assert_int_equal(gz[second], 0x1f);
    assert_int_equal(gz[second + 3], 0); /* no name or comment: data at 10 */
    gz[second + 10] |= 0x06;
}

/* Bytes in the middle that still inflate, to garbage, until the member's
 * checksum at its end. */
static void garble_middle(uint8_t *gz, size_t len)
{
    for (size_t i = len / 4; i < len / 4 + 64; i++)
        gz[i] ^= 0x5a;
}

typedef struct decoded {
    int fd;                 /* the image file the data region writes */
    sm_data_region region;
    sm_layer_budget budget;
    sm_layer_entries e;
    int err;
    char why[1024];
} decoded;

/* `cores` 0: the gunzip in line; 1: on its thread (sm_layer_decode takes
 * no core for itself). */
static void decode(fixture *f, const char *path, sm_file_feed *feed, unsigned cores,
                   uint64_t max_file, decoded *d)
{
    memset(d, 0, sizeof *d);
    char image[PATH_MAX];
    snprintf(image, sizeof image, "%s/image-XXXXXX", f->dir);
    assert_true((d->fd = mkstemp(image)) >= 0);
    unlink(image);
    assert_int_equal(sm_data_region_init(&d->region, d->fd, "the test image"), 0);
    size_t lane;
    assert_int_equal(sm_data_region_add_lanes(&d->region, (uint64_t[]){0}, 1, &lane), 0);
    sm_data_writer w;
    assert_int_equal(sm_data_writer_init(&w, &d->region, lane), 0);
    d->budget = (sm_layer_budget){.max_file = max_file, .max_total = 1ull << 32,
                                  .cores = {.total = cores}};
    d->err = sm_layer_decode(path, feed, &w, &d->budget, &d->e);
    sm_data_writer_done(&w);
    snprintf(d->why, sizeof d->why, "%s", d->err ? sm_error_text() : "");
    assert_int_equal(d->budget.cores.busy, 0); /* the thread's core given back */
}

static void decoded_free(decoded *d)
{
    sm_layer_entries_free(&d->e);
    sm_data_region_free(&d->region);
    close(d->fd);
}

static void assert_same_decode(const decoded *a, const decoded *b)
{
    assert_int_equal(a->err, b->err);
    assert_string_equal(a->why, b->why);
    assert_int_equal(a->e.n, b->e.n);
    for (size_t i = 0; i < a->e.n; i++) {
        const sm_layer_entry *x = &a->e.v[i], *y = &b->e.v[i];
        assert_int_equal(x->kind, y->kind);
        assert_string_equal(x->path, y->path);
        assert_int_equal(x->inode->mode, y->inode->mode);
        assert_int_equal(x->inode->size, y->inode->size);
        size_t n = (size_t)x->inode->size;
        char *bx = malloc(n + 1), *by = malloc(n + 1);
        assert_int_equal(pread(a->fd, bx, n, (off_t)(SM_DATA_HEAD + x->inode->data_off)),
                         (ssize_t)n);
        assert_int_equal(pread(b->fd, by, n, (off_t)(SM_DATA_HEAD + y->inode->data_off)),
                         (ssize_t)n);
        assert_memory_equal(bx, by, n);
        free(bx);
        free(by);
    }
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
    make_layer(f, p, 4, 1000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    spit(p, gz, cut_inside_the_first_header(gz, len));
    free(gz);
    for (unsigned cores = 0; cores < 2; cores++) {
        decoded d;
        decode(f, p, NULL, cores, 1 << 20, &d);
        assert_int_equal(d.err, -EILSEQ);
        assert_string_equal(d.why, "truncated or corrupt layer: truncated gzip data");
        decoded_free(&d);
    }
}

typedef struct restarter {
    sm_file_feed *feed;
    decoded *d;
    fixture *f;
    const char *path;
    unsigned cores;
} restarter;

static void *decode_main(void *arg)
{
    restarter *r = arg;
    decode(r->f, r->path, r->feed, r->cores, 1 << 20, r->d);
    return NULL;
}

/* Waits until every other thread of the process sleeps: a reader that
 * took all there was then waits for the next bytes. */
static void wait_until_the_others_sleep(void)
{
    for (int tries = 0; tries < 10000; tries++) {
        DIR *d = opendir("/proc/self/task");
        bool all = true;
        for (struct dirent *de; (de = readdir(d)) && all;) {
            if (de->d_name[0] == '.' || atoi(de->d_name) == gettid())
                continue;
            char path[300], line[512] = "";
            snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
            FILE *fp = fopen(path, "r");
            if (fp) {
                if (!fgets(line, sizeof line, fp))
                    line[0] = '\0';
                fclose(fp);
            }
            const char *state = strrchr(line, ')'); /* past the name */
            all = !state || state[2] == 'S';
        }
        closedir(d);
        if (all)
            return;
        usleep(1000);
    }
    fail_msg("the reader never waited for more bytes");
}

/* A download that starts over while the first bytes are being looked at
 * is -ESTALE (read the layer again once stored), not a corrupt layer. */
static void restart_while_the_format_is_told(void **state)
{
    fixture *f = *state;
    char p[128], to[160];
    snprintf(to, sizeof to, "%s/fed", f->dir);
    make_layer(f, p, 4, 1000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    size_t cut = cut_inside_the_first_header(gz, len);
    for (unsigned cores = 0; cores < 2; cores++) {
        sm_file_feed feed;
        assert_int_equal(sm_file_feed_init(&feed), 0);
        int out = open(to, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_int_equal(sm_file_feed_attach(&feed, out), 0);
        assert_int_equal(write(out, gz, cut), (ssize_t)cut);
        sm_file_feed_grow(&feed, cut);
        decoded d;
        restarter r = {.feed = &feed, .d = &d, .f = f, .path = to, .cores = cores};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, decode_main, &r), 0);
        wait_until_the_others_sleep();
        sm_file_feed_restart(&feed);
        sm_file_feed_end(&feed, -ECANCELED);
        pthread_join(t, NULL);
        assert_int_equal(d.err, -ESTALE);
        assert_non_null(strstr(d.why, "the download of the layer started over"));
        decoded_free(&d);
        close(out);
        sm_file_feed_destroy(&feed);
    }
    free(gz);
}

/* ---- the gunzip alone, from memory ---- */

typedef struct source {
    const uint8_t *data;
    size_t len, off;
    size_t fail_at;         /* the read past this fails with -ESTALE; 0: never */
    pthread_t reader;       /* who read last */
} source;

static ssize_t from_memory(void *ctx, const void **buf)
{
    source *s = ctx;
    s->reader = pthread_self();
    if (s->fail_at && s->off >= s->fail_at)
        return sm_fail(ESTALE, "the download of the layer started over");
    size_t n = s->len - s->off < 100000 ? s->len - s->off : 100000; /* odd blocks */
    *buf = s->data + s->off;
    s->off += n;
    return (ssize_t)n;
}

typedef struct outcome {
    uint8_t *bytes;
    size_t len;
    ssize_t end;            /* 0, or the -errno that ended it */
    char why[1024];
} outcome;

/* Everything the gunzip gives, in line or through the thread. */
static void drain(source *s, bool threaded, size_t stop_after, outcome *o)
{
    sm_gunzip *g;
    assert_int_equal(sm_gunzip_open(&g, from_memory, s), 0);
    sm_gunzip_thread *t = NULL;
    if (threaded)
        assert_int_equal(sm_gunzip_thread_start(&t, g), 0);
    memset(o, 0, sizeof *o);
    size_t cap = 0;
    for (;;) {
        const void *buf;
        ssize_t n = t ? sm_gunzip_thread_read(t, &buf) : sm_gunzip_read(g, &buf);
        if (n <= 0) {
            o->end = n;
            if (n < 0)
                snprintf(o->why, sizeof o->why, "%s", sm_error_text());
            break;
        }
        if (o->len + (size_t)n > cap) {
            cap = (o->len + (size_t)n) * 2;
            o->bytes = realloc(o->bytes, cap);
        }
        memcpy(o->bytes + o->len, buf, (size_t)n);
        o->len += (size_t)n;
        if (stop_after && o->len >= stop_after)
            break;
    }
    sm_gunzip_thread_stop(t);
    if (threaded)
        assert_false(pthread_equal(s->reader, pthread_self()));
    sm_gunzip_free(g);
}

static void compare(source *s1, source *s2, bool *same_error)
{
    outcome inline_, threaded;
    drain(s1, false, 0, &inline_);
    drain(s2, true, 0, &threaded);
    assert_int_equal(inline_.len, threaded.len);
    assert_memory_equal(inline_.bytes, threaded.bytes, inline_.len);
    assert_int_equal(inline_.end, threaded.end);
    assert_string_equal(inline_.why, threaded.why);
    *same_error = inline_.end < 0;
    free(inline_.bytes);
    free(threaded.bytes);
}

static void thread_gives_the_bytes_inline_gives(void **state)
{
    fixture *f = *state;
    char p[128];
    make_layer(f, p, 40, 200000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    source a = {.data = gz, .len = len}, b = a;
    bool failed;
    compare(&a, &b, &failed);
    assert_false(failed);
    free(gz);
}

/* A corrupt stream mid-layer: the bytes before it, then its sentence. */
static void corrupt_stream_reaches_the_reader(void **state)
{
    fixture *f = *state;
    char p[128];
    size_t second = make_layer(f, p, 40, 200000), len;
    uint8_t *gz = slurp(p, &len);
    break_second_member(gz, second);
    source a = {.data = gz, .len = len}, b = a, c = a;
    bool failed;
    compare(&a, &b, &failed);
    assert_true(failed);
    outcome o;
    drain(&c, true, 0, &o);
    assert_int_equal(o.end, -EILSEQ);
    assert_string_equal(o.why, "corrupt gzip data: bad deflate data");
    assert_true(o.len > 3000000); /* the first member's bytes came first */
    free(o.bytes);
    /* Garbled bytes inflate to garbage until the member's checksum says so. */
    write_layer(p, 40, 200000);
    free(gz);
    gz = slurp(p, &len);
    garble_middle(gz, len);
    source d = {.data = gz, .len = len}, e = d, g = d;
    compare(&d, &e, &failed);
    assert_true(failed);
    drain(&g, true, 0, &o);
    assert_string_equal(o.why, "corrupt gzip data: its checksum does not match");
    free(o.bytes);
    free(gz);
}

/* The source's error (a download starting over) with the source's words. */
static void source_error_reaches_the_reader(void **state)
{
    fixture *f = *state;
    char p[128];
    make_layer(f, p, 40, 200000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    source a = {.data = gz, .len = len, .fail_at = len / 2}, b = a, c = a;
    bool failed;
    compare(&a, &b, &failed);
    assert_true(failed);
    outcome o;
    drain(&c, true, 0, &o);
    assert_int_equal(o.end, -ESTALE);
    assert_string_equal(o.why, "the download of the layer started over");
    assert_true(o.len > 3000000);
    free(o.bytes);
    free(gz);
}

/* The reader stops with the thread ahead of it, blocked on a full queue,
 * or before reading a byte: the thread is joined, nothing leaks (the
 * sanitizer build checks). */
static void reader_stops_early(void **state)
{
    fixture *f = *state;
    char p[128];
    make_layer(f, p, 60, 200000);
    size_t len;
    uint8_t *gz = slurp(p, &len);
    size_t stops[] = {1, 1 << 20, 3 << 20};
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        source s = {.data = gz, .len = len};
        outcome o;
        drain(&s, true, stops[i], &o);
        assert_int_equal(o.end, 0);
        assert_true(s.off < len); /* the thread had not read it all */
        free(o.bytes);
    }
    source s = {.data = gz, .len = len};
    sm_gunzip *g;
    assert_int_equal(sm_gunzip_open(&g, from_memory, &s), 0);
    sm_gunzip_thread *t;
    assert_int_equal(sm_gunzip_thread_start(&t, g), 0);
    sm_gunzip_thread_stop(t);
    sm_gunzip_free(g);
    free(gz);
}

/* ---- whole layers: sm_layer_decode with and without a spare core ---- */

static void layer_decodes_the_same_threaded(void **state)
{
    fixture *f = *state;
    char p[128];
    make_layer(f, p, 40, 200000);
    decoded a, b;
    decode(f, p, NULL, 0, 1 << 20, &a);
    decode(f, p, NULL, 1, 1 << 20, &b);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.e.n, 41);
    assert_same_decode(&a, &b);
    decoded_free(&a);
    decoded_free(&b);
}

/* Corrupt mid-layer: the same entries before it, the same sentence. */
static void corrupt_layer_same_sentence_threaded(void **state)
{
    fixture *f = *state;
    char p[128];
    size_t second = make_layer(f, p, 40, 200000), len;
    uint8_t *gz = slurp(p, &len);
    break_second_member(gz, second);
    spit(p, gz, len);
    free(gz);
    decoded a, b;
    decode(f, p, NULL, 0, 1 << 20, &a);
    decode(f, p, NULL, 1, 1 << 20, &b);
    assert_int_equal(a.err, -EILSEQ);
    assert_non_null(strstr(a.why, "truncated or corrupt layer: corrupt gzip data: "
                                  "bad deflate data"));
    assert_true(a.e.n > 10 && a.e.n < 30);
    assert_same_decode(&a, &b);
    decoded_free(&a);
    decoded_free(&b);
}

/* The tar side fails early (a file past the budget) while the thread is
 * ahead: it is stopped and joined, the tar side's sentence stays. */
static void tar_error_stops_the_thread(void **state)
{
    fixture *f = *state;
    char p[128];
    make_layer(f, p, 40, 200000);
    decoded a, b;
    decode(f, p, NULL, 0, 100000, &a);
    decode(f, p, NULL, 1, 100000, &b);
    assert_int_equal(a.err, -EFBIG);
    assert_non_null(strstr(a.why, "entry 'data/file000'"));
    assert_same_decode(&a, &b);
    decoded_free(&a);
    decoded_free(&b);
}

/* ---- whole layers as they download ---- */

typedef struct feeder {
    sm_file_feed *feed;
    const uint8_t *data;
    size_t len;
    const char *to;
    bool restart;           /* feed half, then start over */
    int status;             /* how the feed ends; an error after half */
    int most_threads;       /* of this process, seen while feeding */
} feeder;

static int threads_now(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void feed_bytes(feeder *fd, int out, size_t from, size_t to)
{
    for (size_t off = from; off < to; off += 65536) {
        size_t n = to - off < 65536 ? to - off : 65536;
        assert_int_equal(pwrite(out, fd->data + off, n, (off_t)off), (ssize_t)n);
        sm_file_feed_grow(fd->feed, n);
        int t = threads_now();
        fd->most_threads = t > fd->most_threads ? t : fd->most_threads;
        usleep(500);
    }
}

static void *feeder_main(void *arg)
{
    feeder *fd = arg;
    int out = open(fd->to, O_RDWR | O_CREAT | O_TRUNC, 0644);
    sm_file_feed_attach(fd->feed, out);
    if (fd->restart) {
        feed_bytes(fd, out, 0, fd->len / 2);
        /* As the downloader does: readers told first, so that none reads
         * the file cut short as if it ended there. */
        sm_file_feed_restart(fd->feed);
        assert_int_equal(ftruncate(out, 0), 0);
    }
    feed_bytes(fd, out, 0, fd->status ? fd->len / 2 : fd->len);
    close(out);
    sm_file_feed_end(fd->feed, fd->status);
    return NULL;
}

static void decode_fed(fixture *f, const char *layer, bool restart, int status,
                       unsigned cores, decoded *d, int *most_threads)
{
    char to[160];
    snprintf(to, sizeof to, "%s/fed", f->dir);
    size_t len;
    uint8_t *data = slurp(layer, &len);
    sm_file_feed feed;
    assert_int_equal(sm_file_feed_init(&feed), 0);
    feeder fd = {.feed = &feed, .data = data, .len = len, .to = to, .restart = restart,
                 .status = status};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feeder_main, &fd), 0);
    decode(f, to, &feed, cores, 1 << 20, d);
    pthread_join(t, NULL);
    sm_file_feed_destroy(&feed);
    free(data);
    *most_threads = fd.most_threads;
}

/* Read while it downloads, the thread waits for bytes with the reader;
 * a restart (-ESTALE) and a failed download reach the reader as they do
 * in line. */
static void downloading_layer_threaded(void **state)
{
    fixture *f = *state;
    char p[128];
    make_layer(f, p, 20, 200000);
    decoded want;
    decode(f, p, NULL, 0, 1 << 20, &want);
    assert_int_equal(want.err, 0);
    for (unsigned cores = 0; cores < 2; cores++) {
        decoded d;
        int most;
        decode_fed(f, p, false, 0, cores, &d, &most);
        assert_same_decode(&want, &d);
        assert_int_equal(most, cores ? 3 : 2); /* main, feeder, and the gunzip's */
        decoded_free(&d);
    }
    decoded_free(&want);
    /* Where the reader was when the download stopped is the scheduler's
     * choice: the error and its words are what must agree. */
    const struct { bool restart; int status; int err; const char *words; } stops[] = {
        {true, 0, -ESTALE, "the download of the layer started over"},
        {false, -EBADMSG, -EBADMSG, "the layer's download failed"},
    };
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++)
        for (unsigned cores = 0; cores < 2; cores++) {
            decoded d;
            int most;
            decode_fed(f, p, stops[i].restart, stops[i].status, cores, &d, &most);
            assert_int_equal(d.err, stops[i].err);
            if (!strstr(d.why, stops[i].words))
                fail_msg("'%s' does not say '%s'", d.why, stops[i].words);
            decoded_free(&d);
        }
}

/* A spare core is claimed only while one is spare. */
static void cores_are_claimed_while_spare(void **state)
{
    (void)state;
    sm_cores c = {.total = 2};
    sm_cores_take(&c);
    assert_true(sm_cores_claim(&c));
    assert_false(sm_cores_claim(&c));
    sm_cores_release(&c);
    sm_cores_take(&c); /* a decoder runs whether or not one is spare */
    sm_cores_take(&c);
    assert_int_equal(c.busy, 3);
    assert_false(sm_cores_claim(&c));
    sm_cores_release(&c);
    sm_cores_release(&c);
    assert_true(sm_cores_claim(&c));
    sm_cores_release(&c);
    sm_cores_release(&c);
    assert_int_equal(c.busy, 0);
    sm_cores none = {0};
    assert_false(sm_cores_claim(&none));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(truncated_inside_the_first_header),
        T(restart_while_the_format_is_told),
        T(thread_gives_the_bytes_inline_gives),
        T(corrupt_stream_reaches_the_reader),
        T(source_error_reaches_the_reader),
        T(reader_stops_early),
        T(layer_decodes_the_same_threaded),
        T(corrupt_layer_same_sentence_threaded),
        T(tar_error_stops_the_thread),
        T(downloading_layer_threaded),
        T(cores_are_claimed_while_spare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
