#include "lib/boot_payload.h"

#include <stdlib.h>
#include <string.h>

#include "agent/boot_channel.h"
#include "util/cpio.h"
#include "util/error.h"

static int argv_archive(const char *const *argv, uint8_t **out, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; argv[i]; i++)
        total += strlen(argv[i]) + 1;
    char *flat = malloc(total ? total : 1);
    if (!flat)
        return sm_fail(ENOMEM, "out of memory");
    size_t off = 0;
    for (size_t i = 0; argv[i]; i++) {
        size_t n = strlen(argv[i]) + 1;
        memcpy(flat + off, argv[i], n);
        off += n;
    }
    sm_cpio *c;
    int err = sm_cpio_new(&c);
    if (!err && (err = sm_cpio_add_dir(c, "sm", 0755)) == 0)
        err = sm_cpio_add_file(c, &SM_BOOT_ARGV_PATH[1], 0644, flat, total);
    if (!err)
        err = sm_cpio_finish(c, out, len);
    else
        sm_cpio_free(c);
    free(flat);
    return err;
}

int sm_boot_payload_build(const uint8_t *base, size_t base_len, const char *const *argv,
                          uint8_t **out, size_t *out_len)
{
    uint8_t *extra = NULL;
    size_t extra_len = 0;
    if (argv && argv[0]) {
        int err = argv_archive(argv, &extra, &extra_len);
        if (err)
            return err;
    }
    /* The kernel looks for each further archive at a 4-byte boundary. */
    size_t pad = (4 - base_len % 4) % 4;
    uint8_t *buf = malloc(base_len + pad + extra_len + 1);
    if (!buf) {
        free(extra);
        return sm_fail(ENOMEM, "out of memory");
    }
    if (base_len)
        memcpy(buf, base, base_len);
    memset(buf + base_len, 0, pad);
    if (extra_len)
        memcpy(buf + base_len + pad, extra, extra_len);
    free(extra);
    *out = buf;
    *out_len = base_len + pad + extra_len;
    return 0;
}
