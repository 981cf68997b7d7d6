/*
 * libFuzzer harness for the 9P server: the input is a stream of messages
 * as a guest would queue them (each cut at its size field, or where the
 * input ends). Every message goes through the decoder and then through
 * three exports of small scratch trees, each after a fixed Tversion and
 * Tattach (fid 1): a read-only directory, a read-only file, and a
 * writable directory, so that walks, opens and reads reach the file
 * system and creates, writes, renames, unlinks and setattrs change it.
 *
 * The writable tree is made again before every input, so each run starts
 * from the same files. Beside it lies a directory no guest may reach,
 * which symlinks in the export point to: it must still be empty and
 * unchanged after every input. ASan/UBSan catch any access out of
 * bounds; the asserts catch a reply that is longer than the room it was
 * given or claims another size, and a write that left the export.
 */
#include <stdint.h>
#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/p9/p9_codec.h"
#include "devices/p9/p9_server.h"
#include "fuzz_fs.h"

typedef struct harness {
    char top[64];             /* ro/, rw/ and outside/ */
    char ro[96], rw[96], outside[96];
    sm_p9_server *dir, *file, *writable;
    sm_p9_req req;
    uint8_t reply[SM_P9_MAX_MSIZE];
} harness;

static harness *h;

/* f, a/g and a symlink l, the same in each tree. */
static void fill(const char *root, const char *link_to)
{
    char p[160];
    snprintf(p, sizeof p, "%s/a", root);
    mkdir(p, 0755);
    fuzz_put(root, "f", "0123456789", 10);
    fuzz_put(root, "a/g", "nested", 6);
    snprintf(p, sizeof p, "%s/l", root);
    if (symlink(link_to, p) < 0)
        abort();
}

static void reset_writable(void)
{
    fuzz_empty(h->rw);
    fill(h->rw, "../outside");
}

static void make_trees(void)
{
    h = calloc(1, sizeof *h);
    if (!h)
        abort();
    snprintf(h->top, sizeof h->top, "%s", fuzz_scratch("p9"));
    snprintf(h->ro, sizeof h->ro, "%s/ro", h->top);
    snprintf(h->rw, sizeof h->rw, "%s/rw", h->top);
    snprintf(h->outside, sizeof h->outside, "%s/outside", h->top);
    if (mkdir(h->ro, 0755) || mkdir(h->rw, 0755) || mkdir(h->outside, 0755))
        abort();
    fill(h->ro, "/etc");
    reset_writable();
    char p[160];
    snprintf(p, sizeof p, "%s/f", h->ro);
    if (sm_p9_server_create(h->ro, true, &h->dir) || sm_p9_server_create(p, true, &h->file) ||
        sm_p9_server_create(h->rw, false, &h->writable))
        abort();
}

/* Nothing reached the directory beside the export. */
static void check_outside(void)
{
    struct stat st;
    DIR *d = opendir(h->outside);
    assert(d && stat(h->outside, &st) == 0 && (st.st_mode & 07777) == 0755);
    struct dirent *e;
    while ((e = readdir(d)))
        assert(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
    closedir(d);
}

static void serve(sm_p9_server *s, const uint8_t *msg, size_t len, size_t cap)
{
    size_t n = sm_p9_server_handle(s, msg, len, h->reply, cap);
    assert(n <= cap);
    assert(n == 0 || (n >= 7 && sm_p9_msg_size(h->reply, n) == n));
}

/* Tversion (msize 65536, "9P2000.L") then Tattach of fid 1. */
static const uint8_t session[] = {
    21, 0, 0, 0, 100, 0xff, 0xff, 0, 0, 1, 0, 8, 0, '9', 'P', '2', '0', '0', '0', '.', 'L',
    23, 0, 0, 0, 104, 1, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void run_stream(sm_p9_server *s, const uint8_t *data, size_t size)
{
    serve(s, session, 21, sizeof h->reply);
    serve(s, session + 21, 23, sizeof h->reply);
    /* The first byte picks how much reply room the guest gave. */
    size_t cap = size ? (size_t)data[0] * 512 + 1 : sizeof h->reply;
    if (cap > sizeof h->reply)
        cap = sizeof h->reply;
    for (size_t off = size ? 1 : 0; off < size;) {
        size_t left = size - off, len = sm_p9_msg_size(data + off, left);
        len = len >= 7 && len <= left ? len : left;
        serve(s, data + off, len, cap);
        off += len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!h)
        make_trees();
    if (sm_p9_decode(data, size, &h->req) == 0)
        assert(h->req.strings_used <= sizeof h->req.strings);
    run_stream(h->dir, data, size);
    run_stream(h->file, data, size);
    reset_writable();
    run_stream(h->writable, data, size);
    /* A new session clunks every fid, so no descriptor outlives the input. */
    serve(h->writable, session, 21, sizeof h->reply);
    check_outside();
    return 0;
}
