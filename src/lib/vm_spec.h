/* What starts a detached VM again (sm_vm_create, sm_vm_start_again):
 * the config it was given, its main process and its image, kept as
 * spec.json in its runtime directory next to meta.json. */
#ifndef SM_LIB_VM_SPEC_H
#define SM_LIB_VM_SPEC_H

#include <jansson.h>

#include "supermachine.h"

#define SM_VM_SPEC_NAME "spec.json"

/* A decoded record. The config and main point into storage owned here
 * (the JSON and the arrays), valid until sm_vm_spec_free. */
typedef struct sm_vm_spec {
    sm_vm_config config;
    sm_exec main;
    int has_main;               /* the main process is known (else none yet) */
    const char *image;          /* as the user named it; "" if unknown */
    const char *image_digest;   /* the manifest's: what a start opens */
    json_t *json;
    void *owned[9];             /* arrays behind config and main */
} sm_vm_spec;

/* The record of config (what a start needs of it; callbacks, name and
 * snapshot are not kept), main (may be NULL: set later) and the image.
 * Relative paths are made absolute, as a later start may run elsewhere. */
json_t *sm_vm_spec_encode(const sm_vm_config *config, const sm_exec *main, const char *image,
                          const char *image_digest);
/* The exec part alone, for sm_vm_spec_set_main. */
json_t *sm_vm_spec_encode_main(const sm_exec *main);
/* Fills *out from o, taking a reference to it; -EBADMSG if it is no record. */
int sm_vm_spec_decode(json_t *o, sm_vm_spec *out);
void sm_vm_spec_free(sm_vm_spec *s);

/* spec.json in dir. read: -ENOENT (quietly) when the VM has none. */
int sm_vm_spec_write(const char *dir, json_t *o);
int sm_vm_spec_read(const char *dir, sm_vm_spec *out);
/* Add the main process to the record in dir, if it has one. */
int sm_vm_spec_set_main(const char *dir, const sm_exec *main);

#endif
