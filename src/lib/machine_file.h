/* machine.json: what machine a VM is (memory, vCPUs, network, disks), as
 * its worker writes it into the VM's directory and every snapshot of it,
 * so that a restore builds the same machine again. */
#ifndef SM_LIB_MACHINE_FILE_H
#define SM_LIB_MACHINE_FILE_H

#include <limits.h>
#include <stdint.h>

#include "vmm/machine.h"

#define SM_MACHINE_FILE "machine.json"

typedef struct sm_machine_file_disk {
    char path[PATH_MAX];
    int read_only;
    uint64_t size;
    int64_t mtime_ns;          /* the disk must not change under a snapshot */
} sm_machine_file_disk;

typedef struct sm_machine_file {
    uint32_t memory_mib, vcpus;
    int net_user;
    unsigned ndisks;
    sm_machine_file_disk disks[SM_MACHINE_MAX_DISKS];
    char kernel_id[80], init_id[80];
    char restored_from[PATH_MAX];  /* the snapshot it was resumed from, or "" */
} sm_machine_file;

int sm_machine_file_write(const char *path, const sm_machine_file *f);
int sm_machine_file_read(const char *path, sm_machine_file *f);

/* Fill disk i's size and mtime from the file itself. */
int sm_machine_file_stat_disk(sm_machine_file_disk *d);

/* -ESTALE with a sentence when a disk is gone or changed since. */
int sm_machine_file_check_disks(const sm_machine_file *f);

/* "sha256:<hex>" naming a file as it is now (path, size, mtime, inode):
 * cheap, and changes whenever the file is rebuilt. */
int sm_file_identity(const char *path, char out[80]);

#endif
