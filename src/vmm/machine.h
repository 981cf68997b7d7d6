/* A booted microVM: guest RAM, vCPU threads, legacy devices, and how it
 * ended. */
#ifndef SM_VMM_MACHINE_H
#define SM_VMM_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include "devices/net_slirp.h"

typedef struct sm_machine sm_machine;
struct sm_gmem;
struct sm_snap_reader;
struct sm_snap_writer;

/* Where a restored machine's guest comes from (src/snapshot opens a
 * snapshot directory as one). */
typedef struct sm_machine_origin {
    /* Map guest RAM into mem (its size set, nothing mapped yet), before the
     * hypervisor maps it. */
    int (*map_memory)(void *ctx, struct sm_gmem *mem);
    void *ctx;
    /* The sections sm_machine_save_state wrote. */
    const struct sm_snap_reader *state;
} sm_machine_origin;

typedef struct sm_machine_disk {
    const char *path;
    int read_only;
} sm_machine_disk;

/* The most disks and shares a VM is given (the library and the worker's
 * spec hold to them); the machine takes what its device slots fit. */
#define SM_MACHINE_MAX_DISKS 8

/* A host directory or file served to the guest over virtio-9p. */
typedef struct sm_machine_share {
    const char *path;
    const char *tag;           /* the guest mounts it by this tag */
    int read_only;
} sm_machine_share;

/* The user's eight and a root directory's (sm_vm_config.root_dir), which
 * takes the place of the image's disk: 8 disks, 9 shares and rng, vsock
 * and net never all come together (SM_VIRTIO_MAX_DEVICES). */
#define SM_MACHINE_MAX_SHARES 9

/* A NIC on a tap the library made in the VM's network namespace
 * (lib/netns_tap.c): the guest's eth0 takes the namespace interface's MAC
 * and MTU. The machine works on a copy of fd; the caller's stays its own. */
typedef struct sm_machine_tap {
    int fd;
    uint8_t mac[6];
    uint16_t mtu;
} sm_machine_tap;

/* What the guest says on its status port (the second serial port) that the
 * machine acts on. The words on the wire are the guest init's; the reader
 * that turns them into these is handed in, so the VMM knows no protocol. */
typedef enum sm_guest_status {
    SM_GUEST_NOTHING = 0,
    SM_GUEST_STARTED,          /* its user space began (for timing) */
    SM_GUEST_READY,            /* it takes work: on_ready */
    SM_GUEST_EXITED,           /* its command ended with exit code *value */
    SM_GUEST_KILLED,           /* ... was killed by signal *value */
} sm_guest_status;

typedef struct sm_guest_status_reader {
    /* One byte of the port at a time, from one vCPU at a time; returns a
     * status when the byte completes one. The guest is untrusted: any
     * bytes. NULL: the port's bytes are dropped. */
    sm_guest_status (*feed)(void *state, uint8_t byte, int *value);
    void *state;               /* outlives the machine */
} sm_guest_status_reader;

typedef struct sm_machine_config {
    const uint8_t *kernel;
    size_t kernel_len;
    const char *kernel_name;
    const uint8_t *initrd;
    size_t initrd_len;
    const char *cmdline;
    uint32_t memory_mib;
    unsigned cpus;
    /* CPU time the vCPUs may use together, in thousandths of a CPU
     * (docker's --cpus 1.5 is 1500); 0, or cpus * 1000 and more: none. */
    uint32_t cpu_quota_milli;
    int console_fd;            /* -1: console discarded (still kept in the tail) */
    const char *hv_device;     /* NULL: /dev/kvm */
    unsigned ndisks;           /* virtio-blk devices: /dev/vda, vdb, ... */
    const sm_machine_disk *disks;
    const char *vsock_dir;     /* NULL: no vsock device */
    uint32_t guest_cid;        /* 0: 3 */
    unsigned nshares;          /* virtio-9p devices */
    const sm_machine_share *shares;
    int net_user;              /* a virtio-net NIC behind user-mode NAT (libslirp) */
    unsigned nports;           /* guest ports published on the host (needs net_user) */
    const sm_net_port *ports;
    const sm_machine_tap *tap; /* a virtio-net NIC on a tap instead; NULL: none */
    /* Resume this guest instead of booting: kernel, initrd and cmdline are
     * not used; everything else must describe the machine it was taken of
     * (devices are checked). NULL: boot. */
    const struct sm_machine_origin *restore;
    sm_guest_status_reader status;
    /* Called once, on the device thread, when the guest is ready (its
     * status port says so after the boot; after a restore, once it dropped
     * its old vsock connections). */
    void (*on_ready)(void *ctx);
    void *ready_ctx;
    /* Called by each vCPU thread before it first enters the guest (the
     * worker narrows the thread's syscalls there); an error stops the
     * machine with that error. NULL: nothing. */
    int (*on_vcpu_thread)(void);
    /* The same, by the device thread (virtio rings, 9P, vsock) before it
     * serves its first event. */
    int (*on_device_thread)(void);
} sm_machine_config;

typedef enum sm_machine_end {
    SM_MACHINE_EXITED = 1,     /* sm-init reported the command's end */
    SM_MACHINE_RESET,          /* the guest reset itself (reboot, panic=-1) */
    SM_MACHINE_TRIPLE_FAULT,
    SM_MACHINE_FAILED,         /* the VMM or KVM failed; see error */
    SM_MACHINE_STOPPED,        /* sm_machine_stop was called */
} sm_machine_end;

typedef struct sm_machine_result {
    sm_machine_end stop;
    int exit_code;             /* SM_MACHINE_EXITED: code, or -1 */
    int signal;                /* SM_MACHINE_EXITED: killing signal, or 0 */
    char error[1024];          /* SM_MACHINE_FAILED: what and where */
    char console_tail[1024];   /* the console's last lines */
    int kernel_panicked;       /* the console shows a kernel panic */
    uint64_t t_entry_ns;       /* CLOCK_MONOTONIC: vCPUs started */
    uint64_t t_init_ns;        /* sm-init said "start"; 0 if it never did */
    uint64_t t_stop_ns;        /* the guest ended */
} sm_machine_result;

int sm_machine_create(const sm_machine_config *cfg, sm_machine **out);

/* Run the vCPUs until the guest ends; fills *res. Returns 0 when the guest
 * ran (whatever its end) and a negative errno only if it could not start. */
int sm_machine_run(sm_machine *m, sm_machine_result *res);

/* Ask a running machine to stop; callable from any thread. */
void sm_machine_stop(sm_machine *m);

void sm_machine_destroy(sm_machine *m);

/* A snapshot of the running machine (src/snapshot/snap_take.c): hold
 * it still (vCPUs parked, devices' threads kept off rings and RAM), read
 * its RAM and write its state as sections, release it to run on. Hold
 * refuses a machine with shares (-EOPNOTSUPP: the guest's open host files
 * are not part of a snapshot), and -ESHUTDOWN when it is stopping. */
int sm_machine_hold(sm_machine *m);
void sm_machine_release(sm_machine *m);

typedef struct sm_machine_ram {
    const uint8_t *base;
    size_t len;
} sm_machine_ram;
sm_machine_ram sm_machine_ram_of(const sm_machine *m);

/* The machine, hypervisor, vCPU, serial and device sections, held. */
int sm_machine_save_state(sm_machine *m, struct sm_snap_writer *w);

/* docker pause: freeze the guest's vCPUs until unpause (devices finish
 * what they hold; a snapshot meanwhile leaves it frozen). -ESHUTDOWN
 * when the machine is stopping. */
int sm_machine_freeze(sm_machine *m);
void sm_machine_thaw(sm_machine *m);

/* CLOCK_MONOTONIC ns when the vCPUs were started (0 before). */
uint64_t sm_machine_entry_ns(const sm_machine *m);

#endif
