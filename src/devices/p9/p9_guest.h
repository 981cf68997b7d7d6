/* What the guest's 9P mounts must agree on with the host's server: shared
 * on purpose with sm-init (guest/init/agent_mount.c), which builds against
 * this header alone of the device's, as it does against the agent's
 * protocol. Plain constants: nothing here may need the host's code. */
#ifndef SM_DEVICES_P9_P9_GUEST_H
#define SM_DEVICES_P9_P9_GUEST_H

/* The largest msize offered; the guest mounts with this. Kept so that a
 * request and its reply, split at page boundaries by the Linux client,
 * fit the transport's chain limit (SM_VQ_MAX_CHAIN descriptors). */
#define SM_P9_MAX_MSIZE (128u << 10)

#endif
