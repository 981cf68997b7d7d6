/*
 * The worker's Linux capabilities, cut down to what it still needs once
 * confined. A worker started as root would otherwise keep every one of
 * them, and seccomp and landlock would be its only fences; with this, a
 * guest that takes it over is a root without root's powers.
 */
#ifndef SM_WORKER_CAPABILITIES_H
#define SM_WORKER_CAPABILITIES_H

#include <stdbool.h>
#include <stdint.h>

/* The capabilities a 9P server needs to act for the guest's root on its
 * shares (its files owned by other users, their owners and modes). */
uint64_t sm_caps_for_shares(void);

/* Keeps only `keep` (a mask of 1 << CAP_*) of those the worker has, in its
 * effective and permitted sets, and empties its bounding, inheritable and
 * ambient sets. A worker without CAP_SETPCAP (not root) leaves its
 * bounding set as it is: it holds nothing to drop there. */
int sm_caps_keep_only(uint64_t keep);

#endif
