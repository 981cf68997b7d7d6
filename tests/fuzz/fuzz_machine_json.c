/*
 * libFuzzer harness for machine.json, as a snapshot directory brings it
 * (whoever made that directory): the input is the file. One that reads is
 * written again by the project's writer and read back, and must come back
 * the same: what restore rebuilds is what the file said.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fs.h"
#include "lib/machine_file.h"

/* Field by field: the structs' padding is not part of what was read. */
static bool same(const sm_machine_file *a, const sm_machine_file *b)
{
    bool eq = a->memory_mib == b->memory_mib && a->vcpus == b->vcpus &&
              a->net_user == b->net_user && a->ndisks == b->ndisks &&
              !strcmp(a->kernel_id, b->kernel_id) && !strcmp(a->init_id, b->init_id) &&
              !strcmp(a->restored_from, b->restored_from);
    for (unsigned i = 0; eq && i < a->ndisks; i++) {
        const sm_machine_file_disk *x = &a->disks[i], *y = &b->disks[i];
        eq = !strcmp(x->path, y->path) && x->read_only == y->read_only &&
             x->size == y->size && x->mtime_ns == y->mtime_ns;
    }
    return eq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sm_machine_file a, b;
    if (sm_machine_file_read(fuzz_input_file("machine.json", data, size), &a) != 0)
        return 0;
    const char *again = fuzz_beside_input("again.json");
    if (a.ndisks > SM_MACHINE_MAX_DISKS || a.memory_mib == 0 || a.vcpus == 0)
        abort();
    if (sm_machine_file_write(again, &a) != 0 || sm_machine_file_read(again, &b) != 0 ||
        !same(&a, &b))
        abort();
    return 0;
}
