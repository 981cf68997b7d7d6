/*
 * libFuzzer harness for a snapshot's metadata.json: the input is the
 * file. Metadata that reads is written again by the project's writer
 * (when it takes it) and read back, and must come back the same: a
 * snapshot's own description survives being copied or re-made.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fs.h"
#include "snapshot/metadata.h"

static const char *dir;
static char in_path[256], out_path[256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sm_snap_meta a, b;
    if (!dir) {
        dir = fuzz_scratch("metadata-json");
        snprintf(in_path, sizeof in_path, "%s/metadata.json", dir);
        snprintf(out_path, sizeof out_path, "%s/again.json", dir);
    }
    fuzz_put(dir, "metadata.json", data, size);
    if (sm_snap_meta_read(in_path, &a) != 0)
        return 0;
    if (sm_snap_meta_write(out_path, &a) != 0)
        return 0;
    if (sm_snap_meta_read(out_path, &b) != 0 || memcmp(&a, &b, sizeof a)) {
        fprintf(stderr, "metadata.json does not read back as written\n");
        abort();
    }
    return 0;
}
