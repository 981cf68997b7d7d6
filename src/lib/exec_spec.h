/* What a command in a VM runs as, worked out from sm_exec and, with
 * from_image, the image config: docker's run/exec semantics. */
#ifndef SM_LIB_EXEC_SPEC_H
#define SM_LIB_EXEC_SPEC_H

#include "agent/client.h"
#include "lib/vm_int.h"
#include "oci/user.h"
#include "supermachine.h"

typedef struct sm_exec_spec {
    char **argv;                /* owned, NULL-terminated */
    char **env;                 /* owned, NULL-terminated; NULL: the agent's default */
    const char *cwd;            /* borrowed from sm_exec or the image */
    int mkcwd;                  /* create it: a container's working directory */
    int has_user;
    sm_oci_user user;
} sm_exec_spec;

/* Fills *out; reads the guest's /etc/passwd and /etc/group over `c` when a
 * user must be resolved. */
int sm_exec_spec_build(const sm_vm *vm, sm_agent_conn *c, const sm_exec *ex, int tty,
                       sm_exec_spec *out);
/* The agent's EXEC request for it (pointing into ex and s). */
sm_agent_exec_req sm_exec_spec_request(const sm_exec *ex, const sm_exec_spec *s);
void sm_exec_spec_free(sm_exec_spec *s);

/* The same environment merge on its own: `base` then `over`, a later
 * "NAME=..." replacing an earlier one in place. Exposed for tests. */
char **sm_env_merge(const char *const *base, const char *const *over);

#endif
