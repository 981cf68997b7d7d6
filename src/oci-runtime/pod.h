/* Pods: one VM per pod, as Kata runs them. CRI marks the pod's sandbox
 * and its containers with annotations; the sandbox's keeper starts the VM
 * and each container of the pod becomes a process in it, chrooted into
 * its own root and sharing the pod's network and localhost.
 *
 * A container's root reaches the running VM through the sandbox's pod
 * directory, <root>/<sandbox>/pod, shared into the guest at
 * SM_OCI_POD_GUEST when the VM starts: the directory is made a shared
 * mount on the host, so a container's root bound beneath it later also
 * appears in the worker's jail (which takes the host's mounts as a
 * slave) and so in the guest. Binding needs root, as CRI runtimes have. */
#ifndef SM_OCI_POD_H
#define SM_OCI_POD_H

#include "oci-runtime/spec.h"
#include "oci-runtime/state.h"
#include "oci-runtime/vm_plan.h"
#include "supermachine.h"

/* In the guest's devtmpfs, not in the sandbox's root: nothing is written
 * into the pause image's directory for it. */
#define SM_OCI_POD_GUEST "/dev/.sm-pod"

typedef enum sm_oci_role {
    SM_OCI_SOLO,                /* a container that is a VM of its own */
    SM_OCI_SANDBOX,             /* a pod's sandbox: the pod's VM */
    SM_OCI_MEMBER,              /* a container of a pod: a process in the pod's VM */
} sm_oci_role;

/* From CRI's (containerd's and CRI-O's) annotations; *sandbox_id for a
 * member (NULL if the annotation is missing). */
sm_oci_role sm_oci_pod_role(const sm_oci_spec *spec, const char **sandbox_id);

/* The sandbox's pod directory, made a shared mount, and its share. */
int sm_oci_pod_prepare(const sm_oci_state *st, sm_oci_vm_plan *plan, char *err, size_t len);
/* The member's root and bind mounts bound into the pod directory, then
 * mounted in the guest as the member's filesystems; its guest root. */
int sm_oci_pod_join(const sm_oci_state *st, const sm_oci_spec *spec, sm_vm *vm,
                    char *guest_root, size_t root_len, char *err, size_t len);
/* The guest root of a member (for exec). */
void sm_oci_pod_guest_root(const sm_oci_state *st, char *out, size_t len);
/* Undo the host's mounts: a member's binds, or the sandbox's pod dir. */
void sm_oci_pod_unmount(const sm_oci_globals *g, const sm_oci_state *st);

#endif
