/* How sm-init mounts a host's 9P share: the root directory at boot
 * (root_setup.c) and the shares the host asks for (agent_mount.c), alike. */
#ifndef SM_GUEST_P9_MOUNT_H
#define SM_GUEST_P9_MOUNT_H

#include "devices/p9/p9_guest.h"

/* cache=mmap: reads and writes go to the host at once (the host's changes
 * show at once too), yet shared writable mappings still work. msize is
 * SM_P9_MAX_MSIZE. */
#define SM_INIT_9P_OPTIONS_FMT "trans=virtio,version=9p2000.L,msize=%u,cache=mmap,access=client"

#endif
