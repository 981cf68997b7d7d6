/* Recording a starting VM in the registry (see vm_registry.h). */
#ifndef SM_LIB_VM_RECORD_H
#define SM_LIB_VM_RECORD_H

#include "supermachine.h"

/* Claim c->name and write meta.json; before the worker starts. */
int sm_vm_record(sm_vm *vm, const sm_vm_config *c);
/* Add the main process's command line to meta.json. */
void sm_vm_record_command(const sm_vm *vm, const char *const *argv);
/* A VM started again: meta.json says it is no longer only created. */
int sm_vm_record_again(sm_vm *vm);
/* spec.json (vm_spec.h): what sm_vm_start_again starts it from. */
int sm_vm_record_spec(const char *dir, const sm_image *image, const sm_vm_config *c,
                      const sm_exec *main);
/* sm_vm_create's meta.json, and its name claimed: state "created". */
int sm_vm_record_created(const char *dir, const char *id, const sm_image *image,
                         const sm_vm_config *c, const sm_exec *main);

#endif
