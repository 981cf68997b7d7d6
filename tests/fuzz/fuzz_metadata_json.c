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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sm_snap_meta a, b;
    if (sm_snap_meta_read(fuzz_input_file("metadata.json", data, size), &a) != 0)
        return 0;
    const char *again = fuzz_beside_input("again.json");
    if (sm_snap_meta_write(again, &a) != 0)
        return 0;
    if (sm_snap_meta_read(again, &b) != 0 || memcmp(&a, &b, sizeof a)) {
        fprintf(stderr, "metadata.json does not read back as written\n");
        abort();
    }
    return 0;
}
