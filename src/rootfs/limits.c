/* The layer budget's settings from the environment (rootfs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rootfs/rootfs.h"
#include "util/error.h"

/* "64g", "512m", "1t", "100k" or bytes; 0 for a value that is none. */
static uint64_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return 0;
    static const char units[] = "kmgt";
    const char *u = *end ? strchr(units, *end | 0x20) : NULL;
    if (*end && (!u || (end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib"))))
        return 0;
    for (const char *p = units; u && p <= u; p++) {
        if (v > UINT64_MAX / 1024)
            return 0;
        v *= 1024;
    }
    return v;
}

static int one(const char *name, uint64_t *out)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    if (!(*out = parse_size(s)))
        return sm_fail(EINVAL, "%s=%s is not a size such as 64g or 512m", name, s);
    return 0;
}

int sm_rootfs_limits_from_env(sm_rootfs_options *o)
{
    int err = one("SUPERMACHINE_MAX_FILE_SIZE", &o->max_file_bytes);
    return err ? err : one("SUPERMACHINE_MAX_IMAGE_SIZE", &o->max_image_bytes);
}
