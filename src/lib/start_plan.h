/* How sm_vm_start gets its guest: resumed from a snapshot (the caller's, a
 * bake with the image's process running, or a plain bake) or booted (and
 * then baked), and what it does after the agent answers. */
#ifndef SM_LIB_START_PLAN_H
#define SM_LIB_START_PLAN_H

#include <limits.h>

#include "lib/vm_image.h"
#include "lib/vm_restore.h"

typedef struct sm_start_plan {
    sm_vm_image_boot boot;
    sm_vm_restore_plan restore;
    char bake_dir[PATH_MAX];      /* a boot to bake into here, or "" */
    char fingerprint[80];
    char main_dir[PATH_MAX];      /* run_image_process: its bake, or "" */
    char main_fingerprint[80];
    int main_resumed;             /* resumed with the image's process running */
} sm_start_plan;

/* Changes *c (the caller's config, copied) to boot or to resume. */
int sm_start_plan_prepare(sm_vm *vm, const sm_image *image, sm_vm_config *c,
                          sm_start_plan *p);

/* After the agent answers: bake, make the VM its own, start or resume the
 * image's process (and bake that once its ports accept). */
int sm_start_plan_finish(sm_vm *vm, const sm_image *image, const sm_vm_config *c,
                         sm_start_plan *p);

#endif
