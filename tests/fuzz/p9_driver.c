/*
 * Runs the 9P harness without libFuzzer (gcc builds, the sanitizer build):
 * a stream of valid requests of most types, then seeded random mutations
 * of it (flipped bytes, cut streams, bent size and length fields). A
 * regression smoke test of the same entry point, not a fuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/p9/p9_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seq {
    uint8_t b[4096];
    size_t len, start;
} seq;

static void put(seq *s, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n && s->len < sizeof s->b; i++)
        s->b[s->len++] = (uint8_t)(v >> (8 * i));
}

static void str(seq *s, const char *t)
{
    put(s, strlen(t), 2);
    for (; *t; t++)
        put(s, (uint8_t)*t, 1);
}

static void begin(seq *s, uint8_t type)
{
    s->start = s->len;
    put(s, 0, 4);
    put(s, type, 1);
    put(s, 7, 2);
}

static void end(seq *s)
{
    size_t n = s->len - s->start;
    for (int i = 0; i < 4; i++)
        s->b[s->start + i] = (uint8_t)(n >> (8 * i));
}

static void walk(seq *s, uint32_t fid, uint32_t nfid, const char *a, const char *b)
{
    begin(s, SM_P9_TWALK);
    put(s, fid, 4), put(s, nfid, 4), put(s, b ? 2 : a ? 1 : 0, 2);
    if (a) str(s, a);
    if (b) str(s, b);
    end(s);
}

static void fid_op(seq *s, uint8_t type, uint32_t fid, uint32_t a, uint64_t off, uint32_t count)
{
    begin(s, type);
    put(s, fid, 4);
    if (type == SM_P9_TLOPEN || type == SM_P9_TFSYNC)
        put(s, a, 4);
    if (type == SM_P9_TREAD || type == SM_P9_TREADDIR)
        put(s, off, 8), put(s, count, 4);
    if (type == SM_P9_TGETATTR)
        put(s, SM_P9_GETATTR_BASIC, 8);
    end(s);
}

static void seeds(seq *s)
{
    s->len = 0;
    put(s, 0x80, 1);   /* reply room: 64 KiB */
    walk(s, 1, 2, "f", NULL);
    fid_op(s, SM_P9_TLOPEN, 2, 0, 0, 0);
    fid_op(s, SM_P9_TREAD, 2, 0, 3, 100);
    fid_op(s, SM_P9_TGETATTR, 2, 0, 0, 0);
    walk(s, 1, 3, "a", "g");
    walk(s, 1, 4, "l", "passwd");
    walk(s, 1, 5, NULL, NULL);
    fid_op(s, SM_P9_TLOPEN, 5, 0, 0, 0);
    fid_op(s, SM_P9_TREADDIR, 5, 0, 0, 200);
    fid_op(s, SM_P9_TREADLINK, 4, 0, 0, 0);
    fid_op(s, SM_P9_TSTATFS, 1, 0, 0, 0);
    fid_op(s, SM_P9_TFSYNC, 2, 1, 0, 0);
    begin(s, SM_P9_TXATTRWALK), put(s, 1, 4), put(s, 9, 4), str(s, ""), end(s);
    begin(s, SM_P9_TLCREATE), put(s, 1, 4), str(s, "n"), put(s, 0102, 4), put(s, 0644, 4),
        put(s, 0, 4), end(s);
    begin(s, SM_P9_TRENAMEAT), put(s, 1, 4), str(s, "f"), put(s, 1, 4), str(s, "g"), end(s);
    begin(s, SM_P9_TLOCK), put(s, 2, 4), put(s, 1, 1), put(s, 0, 4), put(s, 0, 8),
        put(s, 0, 8), put(s, 1, 4), str(s, "host"), end(s);
    begin(s, SM_P9_TWRITE), put(s, 2, 4), put(s, 0, 8), put(s, 3, 4), put(s, 'a', 1),
        put(s, 'b', 1), put(s, 'c', 1), end(s);
    fid_op(s, SM_P9_TCLUNK, 2, 0, 0, 0);
    fid_op(s, SM_P9_TREMOVE, 3, 0, 0, 0);
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 20000;
    static seq s;
    static uint8_t m[sizeof s.b];
    seeds(&s);
    LLVMFuzzerTestOneInput(s.b, s.len);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (long r = 0; r < rounds; r++) {
        memcpy(m, s.b, s.len);
        size_t len = s.len;
        for (int k = (int)(next(&x) % 8); k >= 0; k--) {
            size_t at = next(&x) % len;
            switch (next(&x) % 4) {
            case 0: m[at] ^= (uint8_t)(1u << (next(&x) % 8)); break;
            case 1: m[at] = (uint8_t)next(&x); break;
            case 2: len = at + 1; break;
            default: m[at] = (uint8_t)(m[at] + (next(&x) % 8) - 4); break;
            }
        }
        LLVMFuzzerTestOneInput(m, len);
    }
    printf("%ld mutated request streams served\n", rounds);
    return 0;
}
