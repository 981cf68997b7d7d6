/* Recording a starting VM in the registry (see vm_registry.h). */
#ifndef SM_LIB_VM_RECORD_H
#define SM_LIB_VM_RECORD_H

#include "supermachine.h"

/* Claim c->name and write meta.json; before the worker starts. */
int sm_vm_record(sm_vm *vm, const sm_vm_config *c);
/* Add the main process's command line to meta.json. */
void sm_vm_record_command(const sm_vm *vm, const char *const *argv);

#endif
