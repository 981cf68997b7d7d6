/* The keeper: the process `create` leaves behind for a container. It
 * starts the VM, waits on <dir>/ctl.sock for `start`, then stands for the
 * container's main process (supervise.h) and, when that ends, stops the
 * VM and ends the same way. Its pid is the container's. */
#ifndef SM_OCI_KEEPER_H
#define SM_OCI_KEEPER_H

#include "oci-runtime/pod.h"
#include "oci-runtime/spec.h"
#include "oci-runtime/state.h"

typedef struct sm_oci_keeper_args {
    const sm_oci_globals *g;
    const sm_oci_state *st;
    const sm_oci_spec *spec;
    const char *console_socket;   /* NULL without a terminal */
    int report_fd;                /* "ok VMID\n" or "error SENTENCE\n" to create */
    sm_oci_role role;             /* a member runs in its sandbox's VM (pod.h) */
} sm_oci_keeper_args;

/* In the child of create's fork; never returns. */
__attribute__((noreturn)) void sm_oci_keeper_main(const sm_oci_keeper_args *a);

/* Ask a keeper over its control socket: "start" → 0, or -1 with its
 * sentence in err. */
int sm_oci_keeper_request(const sm_oci_state *st, const char *request, char *err,
                          size_t errlen);

#endif
