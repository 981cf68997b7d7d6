/* The client's MOUNT request (see protocol.h): mount a virtio-9p share, a
 * tmpfs or a container's filesystem in the guest, or make a mount
 * read-only. */
#ifndef SM_AGENT_CLIENT_MOUNT_H
#define SM_AGENT_CLIENT_MOUNT_H

#include "agent/client.h"

/* 0, or the guest's errno with its sentence (the connection stays usable). */
int sm_agent_mount_share(sm_agent_conn *c, const sm_agent_mount *m);

#endif
