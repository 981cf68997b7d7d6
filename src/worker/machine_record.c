/* machine.json in the VM's directory (lib/machine_file.h): what a snapshot
 * of this VM must rebuild, copied into every snapshot taken of it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/machine_file.h"
#include "util/error.h"
#include "worker/worker.h"

static int record_disks(const sm_machine_config *mc, sm_machine_file *f)
{
    for (unsigned i = 0; i < mc->ndisks; i++) {
        if (!realpath(mc->disks[i].path, f->disks[i].path))
            return sm_fail(errno, "disk %s: %s", mc->disks[i].path, strerror(errno));
        f->disks[i].read_only = mc->disks[i].read_only;
        int err = sm_machine_file_stat_disk(&f->disks[i]);
        if (err)
            return err;
    }
    return 0;
}

/* A restored VM is the machine of its snapshot. */
static int record_origin(const char *snapshot, sm_machine_file *f)
{
    char path[PATH_MAX + 32];
    sm_machine_file was;
    snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, snapshot);
    int err = sm_machine_file_read(path, &was);
    if (err)
        return err;
    memcpy(f->kernel_id, was.kernel_id, sizeof f->kernel_id);
    memcpy(f->init_id, was.init_id, sizeof f->init_id);
    if (!realpath(snapshot, f->restored_from))
        return sm_fail(errno, "snapshot %s: %s", snapshot, strerror(errno));
    return 0;
}

int sm_worker_record_machine(const sm_worker *w, const sm_machine_config *mc,
                             const sm_launch *l)
{
    sm_machine_file f = {.memory_mib = mc->memory_mib, .vcpus = mc->cpus,
                         .net_user = mc->net_user, .ndisks = mc->ndisks};
    char path[PATH_MAX + 32];
    int err = record_disks(mc, &f);
    if (!err && l && (err = sm_file_identity(l->kernel_path, f.kernel_id)) == 0)
        snprintf(f.init_id, sizeof f.init_id, "%s", l->initrd_id);
    if (!err && !l)
        err = record_origin(w->spec->restore, &f);
    snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, w->spec->dir);
    return err ? err : sm_machine_file_write(path, &f);
}
