/* The worker's launch spec: everything one VM's worker process needs,
 * written by the library (src/lib/vm.c) and read by the worker
 * (src/worker/main.c) in this one place, so the two cannot drift apart.
 *
 * On the wire it is a JSON object, one key per field below (arrays of
 * objects for disks, ports and shares), handed over in a sealed memfd
 * whose number the worker is given as `--spec-fd N`. The reader refuses
 * what the writer would never produce: unknown keys, wrong types, more
 * entries than the machine takes, strings too long for their field,
 * numbers out of range, a missing or relative dir. */
#ifndef SM_WORKER_SPEC_H
#define SM_WORKER_SPEC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net_slirp.h"
#include "vmm/machine.h"

#define SM_WORKER_SPEC_VERSION 1
/* A full spec (every path PATH_MAX long, all 64 ports) stays well under
 * this; anything larger was not written by the library. */
#define SM_WORKER_SPEC_MAX_BYTES (256 * 1024)
#define SM_WORKER_MAX_MEMORY_MIB (1u << 20)      /* 1 TiB */
#define SM_WORKER_MAX_CPUS 254                   /* the MP table's limit */
#define SM_WORKER_MAX_FD 65535
#define SM_WORKER_TAG_MAX 32

typedef struct sm_worker_disk {
    char path[PATH_MAX];
    bool read_only;
} sm_worker_disk;

typedef struct sm_worker_share {
    char host_path[PATH_MAX];  /* absolute, links resolved */
    char tag[SM_WORKER_TAG_MAX];   /* the guest mounts it by this tag */
    bool read_only;
} sm_worker_share;

typedef struct sm_worker_spec {
    char dir[PATH_MAX];        /* the VM's runtime directory; required */
    /* Inherited descriptors, -1 when absent: "ready" or the failure goes
     * to ready_fd; the lifeline's closing stops the VM; lock_fd is the
     * registry's lock, held for as long as the worker lives. */
    int ready_fd, lifeline_fd, lock_fd;
    char kernel[PATH_MAX], initrd[PATH_MAX];  /* "": the built-in ones */
    char cmdline[4096];        /* appended to the kernel's base line */
    uint32_t memory_mib, cpus, cpu_quota_milli;   /* 0: defaults, no quota */
    unsigned ndisks;
    sm_worker_disk disks[SM_MACHINE_MAX_DISKS];
    bool net_user;
    unsigned nports;
    sm_net_port ports[SM_NET_MAX_PORTS];
    /* Or a NIC on the tap the library made in the VM's network namespace,
     * inherited as net_tap_fd (-1: none), with that namespace interface's
     * MAC ("02:00:00:00:00:01") and MTU. */
    int net_tap_fd;
    char net_mac[18];
    uint32_t net_mtu;
    unsigned nshares;
    sm_worker_share shares[SM_MACHINE_MAX_SHARES];
    char restore[PATH_MAX];    /* resume this snapshot instead of booting */
    bool auto_remove;          /* forget the VM's record when it ends */
    bool detach;               /* leave the caller's process tree */
} sm_worker_spec;

/* "aa:bb:cc:dd:ee:ff" into six bytes: false unless exactly that form. */
bool sm_worker_spec_mac(const char *text, uint8_t mac[6]);

/* Zero fields and -1 descriptors. */
void sm_worker_spec_init(sm_worker_spec *s);

/* The spec as JSON text (malloc'd, NUL-terminated; *len without it). */
int sm_worker_spec_encode(const sm_worker_spec *s, char **out, size_t *len);

/* Parse text into *s; -EINVAL (or -E2BIG) with a sentence naming the
 * offending key when it is not a spec this worker can run. */
int sm_worker_spec_decode(const char *text, size_t len, sm_worker_spec *s);

/* The spec in a sealed memfd (close-on-exec, offset 0) for the worker to
 * inherit; nothing is left on any filesystem. */
int sm_worker_spec_to_fd(const sm_worker_spec *s, int *fd);

/* Read and decode the whole spec from fd (a memfd or a pipe) and close
 * it. */
int sm_worker_spec_from_fd(int fd, sm_worker_spec *s);

#endif
