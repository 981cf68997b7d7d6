/*
 * libFuzzer harness for the 9P server: the input is a stream of messages
 * as a guest would queue them (each cut at its size field, or where the
 * input ends). Every message goes through the decoder and then through a
 * read-only export of a small scratch tree, after a fixed Tversion and
 * Tattach (fid 1) so that walks, opens and reads reach the file system.
 * ASan/UBSan catch any access out of bounds; the asserts catch a reply
 * that is longer than the room it was given or claims another size.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/p9/p9_codec.h"
#include "devices/p9/p9_server.h"

typedef struct harness {
    char root[64];
    sm_p9_server *dir, *file;
    sm_p9_req req;
    uint8_t reply[SM_P9_MAX_MSIZE];
} harness;

static harness *h;

static void remove_tree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->root);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", h->root);
}

static void put(const char *rel, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", h->root, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void make_tree(void)
{
    char p[128];
    h = calloc(1, sizeof *h);
    snprintf(h->root, sizeof h->root, "/tmp/sm-p9-fuzz-XXXXXX");
    if (!h || !mkdtemp(h->root))
        abort();
    atexit(remove_tree);
    snprintf(p, sizeof p, "%s/a", h->root);
    mkdir(p, 0755);
    put("f", "0123456789");
    put("a/g", "nested");
    snprintf(p, sizeof p, "%s/l", h->root);
    if (symlink("/etc", p) < 0)
        abort();
    snprintf(p, sizeof p, "%s/f", h->root);
    if (sm_p9_server_create(h->root, true, &h->dir) || sm_p9_server_create(p, true, &h->file))
        abort();
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!h)
        make_tree();
    if (sm_p9_decode(data, size, &h->req) == 0)
        assert(h->req.strings_used <= sizeof h->req.strings);
    run_stream(h->dir, data, size);
    run_stream(h->file, data, size);
    return 0;
}
