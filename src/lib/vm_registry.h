/* The VMs of this user, as `ps`, `stop`, `logs` and `rm` find them: one
 * runtime directory per VM under $XDG_RUNTIME_DIR/supermachine (or
 * /tmp/supermachine-<uid>), named by the first 12 hex digits of its id,
 * holding meta.json, a lock its worker holds while it lives, the log of a
 * detached VM's process and its exit status. Names are symlinks in
 * names/, so claiming one is atomic. */
#ifndef SM_LIB_VM_REGISTRY_H
#define SM_LIB_VM_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "supermachine.h"

#define SM_VM_SHORT_ID 12

typedef struct sm_vm_meta {
    char id[65];
    char name[128];
    char image[SM_IMAGE_NAME_MAX];
    char image_digest[SM_IMAGE_DIGEST_MAX];
    char hostname[65];
    char command[512];
    char ports[512];
    int64_t created;
    int detached, auto_remove;
    int stop_signal;            /* 0: SIGTERM */
    int never_started;          /* sm_vm_create's, not started yet */
    int root_dir;               /* its root is a host directory (vm_rootdir.c) */
} sm_vm_meta;

/* Creates the base directory if needed; it must be private to this user. */
int sm_vm_base_dir(char *out, size_t len);

/* A new VM's directory, with a fresh random id and its lock taken (the
 * fd in *lock_fd, for the worker to inherit). */
int sm_vm_dir_new(char *dir, size_t len, char id[65], int *lock_fd);

int sm_vm_meta_write(const char *dir, const sm_vm_meta *m);
int sm_vm_meta_read(const char *dir, sm_vm_meta *m);

/* Reserve `name` for the VM whose short id is given; -EEXIST (with a
 * sentence) when another VM has it. */
int sm_vm_name_claim(const char *name, const char *short_id);
void sm_vm_name_release(const char *name);

/* The directory of a VM given by name, full id or unique id prefix. */
int sm_vm_find(const char *name_or_id, char *dir, size_t len);

/* 1 while the VM's worker lives (it holds the directory's lock), else 0. */
int sm_vm_alive(const char *dir);

/* The lock a new worker inherits: created and taken here, so that the VM
 * counts as alive from before its worker starts. */
int sm_vm_lock_take(const char *dir);

/* Present while the VM is paused (docker pause). */
#define SM_VM_PAUSED_NAME "paused"
int sm_vm_is_paused(const char *dir);

/* Present while a restart stops the VM: its worker keeps an auto_remove
 * VM's record then, for the start that follows. */
#define SM_VM_RESTARTING_NAME "restarting"

/* The detached VM's exit status as its worker recorded it, or -1. */
int sm_vm_exit_read(const char *dir);
int sm_vm_exit_write(const char *dir, int status);

/* Remove a VM's directory and its name (from its meta.json, if any). */
void sm_vm_forget(const char *dir);

#endif
