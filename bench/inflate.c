/* bench/inflate FILE.gz...: how fast zlib, libdeflate and ISA-L's igzip
 * inflate real layers, to choose the one the rootfs builder uses
 * (src/rootfs/gunzip.c). Each file is read into memory first, then
 * inflated three times by each; the best time counts. zlib and igzip
 * stream into a 1 MiB buffer as the builder does; libdeflate can only
 * inflate a whole buffer into a whole buffer, sized by the gzip trailer. */
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define OUT (1u << 20)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t with_zlib(const uint8_t *in, size_t len, uint8_t *out)
{
    z_stream z = {0};
    inflateInit2(&z, 16 + MAX_WBITS);
    z.next_in = (uint8_t *)in;
    z.avail_in = (uInt)len;
    uint64_t total = 0;
    for (;;) {
        z.next_out = out;
        z.avail_out = OUT;
        int r = inflate(&z, Z_NO_FLUSH);
        total += OUT - z.avail_out;
        if (r == Z_STREAM_END && z.avail_in && z.next_in[0] == 0x1f)
            inflateReset(&z);
        else if (r != Z_OK)
            break;
    }
    inflateEnd(&z);
    return total;
}

static uint64_t with_isal(const uint8_t *in, size_t len, uint8_t *out)
{
    static struct inflate_state st;
    isal_inflate_init(&st);
    st.crc_flag = ISAL_GZIP;
    st.next_in = (uint8_t *)in;
    st.avail_in = (uint32_t)len;
    uint64_t total = 0;
    for (;;) {
        st.next_out = out;
        st.avail_out = OUT;
        if (isal_inflate(&st) < 0)
            break;
        total += OUT - st.avail_out;
        if (st.block_state == ISAL_BLOCK_FINISH) {
            if (!st.avail_in || st.next_in[0] != 0x1f)
                break;
            isal_inflate_reset(&st);
            st.crc_flag = ISAL_GZIP;
        }
    }
    return total;
}

static uint64_t with_libdeflate(const uint8_t *in, size_t len, uint8_t *unused)
{
    (void)unused;
    uint32_t isize;
    memcpy(&isize, in + len - 4, 4);
    uint8_t *out = malloc(isize ? isize : 1);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t got = 0;
    if (libdeflate_gzip_decompress(d, in, len, out, isize, &got) != LIBDEFLATE_SUCCESS)
        got = 0;
    libdeflate_free_decompressor(d);
    free(out);
    return got;
}

typedef uint64_t (*inflater)(const uint8_t *, size_t, uint8_t *);

static void measure(const char *name, inflater fn, const uint8_t *in, size_t len, uint8_t *out)
{
    double best = 1e9;
    uint64_t got = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = now();
        got = fn(in, len, out);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("  %-10s %7.3f s  %7.1f MiB/s out  (%.1f MiB)\n", name, best,
           (double)got / (1 << 20) / best, (double)got / (1 << 20));
}

int main(int argc, char **argv)
{
    uint8_t *out = malloc(OUT);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        size_t len = (size_t)ftell(f);
        rewind(f);
        uint8_t *in = malloc(len);
        if (fread(in, 1, len, f) != len)
            return 1;
        fclose(f);
        printf("%s (%.1f MiB compressed)\n", argv[i], (double)len / (1 << 20));
        measure("zlib", with_zlib, in, len, out);
        measure("libdeflate", with_libdeflate, in, len, out);
        measure("isa-l", with_isal, in, len, out);
        free(in);
    }
    free(out);
    return 0;
}
