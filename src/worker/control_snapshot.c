/* The control socket's SNAPSHOT request: a live snapshot of this worker's
 * machine into files the library made. */
#include "worker/control_snapshot.h"

#include "snapshot/snap_take.h"
#include "util/error.h"

int sm_worker_snapshot(sm_machine *m, const char *restored_from, const char *parent,
                       const int *fds, unsigned nfds)
{
    if (!m)
        return sm_fail(ESHUTDOWN, "the VM is stopping");
    if (nfds != 2)
        return sm_fail(EINVAL, "SNAPSHOT wants two files (memory, state), not %u", nfds);
    if (parent && parent[0] != '/')
        return sm_fail(EINVAL, "SNAPSHOT wants an absolute parent path");
    sm_snap_files f = {.memory_fd = fds[0], .state_fd = fds[1]};
    return sm_snap_take(m, &f, parent, restored_from);
}
