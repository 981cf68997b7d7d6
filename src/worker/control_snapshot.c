/* The control socket's SNAPSHOT request: a live snapshot of this worker's
 * machine into a directory the library prepared. */
#include "worker/control_snapshot.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/machine_file.h"
#include "util/error.h"

/* The machine description goes with the memory and state it explains. */
static int copy_machine_file(const char *vm_dir, const char *snap_dir)
{
    char from[PATH_MAX], to[PATH_MAX];
    sm_machine_file f;
    snprintf(from, sizeof from, "%s/" SM_MACHINE_FILE, vm_dir);
    snprintf(to, sizeof to, "%s/" SM_MACHINE_FILE, snap_dir);
    int err = sm_machine_file_read(from, &f);
    return err ? err : sm_machine_file_write(to, &f);
}

int sm_worker_snapshot(sm_machine *m, const char *vm_dir, char *args)
{
    if (!m)
        return sm_fail(ESHUTDOWN, "the VM is stopping");
    /* "<dir>" or "<dir>\t<parent>": paths may hold spaces, not tabs. */
    char *parent = strchr(args, '\t');
    if (parent)
        *parent++ = '\0';
    if (!args[0] || args[0] != '/' || (parent && parent[0] != '/'))
        return sm_fail(EINVAL, "SNAPSHOT wants absolute paths");
    int err = sm_machine_snapshot(m, args, parent);
    return err ? err : copy_machine_file(vm_dir, args);
}
