/* sm_snapshot_dedup: the public face of snapshot/dedup.c. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/abi.h"
#include "oci/store.h"
#include "snapshot/dedup.h"
#include "supermachine.h"
#include "util/error.h"

/* <data dir>/snapshots, where bakes put their snapshots. */
static int default_dir(char *out, size_t len)
{
    char root[PATH_MAX - 16];
    int rc = sm_store_default_root(root, sizeof root);
    if (rc < 0)
        return rc;
    snprintf(out, len, "%s/snapshots", root);
    return 0;
}

SM_API int sm_snapshot_dedup(const char *dir, sm_dedup_result *result)
{
    char def[PATH_MAX];
    if (!dir) {
        int rc = default_dir(def, sizeof def);
        if (rc < 0)
            return rc;
        struct stat st;
        if (stat(def, &st) < 0 && errno == ENOENT)
            dir = NULL;   /* nothing baked yet: nothing to do */
        else
            dir = def;
    }
    sm_snap_dedup_stats st = {0};
    int rc = dir ? sm_snap_dedup_dir(dir, &st) : 0;
    sm_dedup_result r = {.size = sizeof r, .snapshots = st.snapshots, .groups = st.groups,
                         .bytes_compared = st.bytes_compared, .bytes_shared = st.bytes_shared};
    int out = result ? SM_ABI_OUT(result, &r, sm_dedup_result) : 0;
    return rc ? rc : out;
}
