/* The layer budget's settings from the environment (rootfs.h). */
#include <errno.h>
#include <stdlib.h>

#include "rootfs/rootfs.h"
#include "util/error.h"
#include "util/size.h"

static int one(const char *name, uint64_t *out)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    if (!(*out = sm_parse_size(s)))
        return sm_fail(EINVAL, "%s=%s is not a size such as 64g or 512m", name, s);
    return 0;
}

int sm_rootfs_limits_from_env(sm_rootfs_options *o)
{
    int err = one("SUPERMACHINE_MAX_FILE_SIZE", &o->max_file_bytes);
    return err ? err : one("SUPERMACHINE_MAX_IMAGE_SIZE", &o->max_image_bytes);
}
