/* sm_vm_mount: a container's mount in the running guest, made by its
 * agent (which knows the types and splits the options). Here only what
 * the request itself needs is checked, each with its own sentence. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "agent/client.h"
#include "agent/client_mount.h"
#include "agent/protocol.h"
#include "supermachine.h"
#include "lib/abi.h"
#include "util/error.h"

#define TYPE_MAX 31
#define PATH_MAX_LEN 4095

static bool is_bind(const char *type)
{
    return !strcmp(type, "bind") || !strcmp(type, "rbind");
}

static int check(const sm_mount *m)
{
    if (!m->type || !*m->type || strlen(m->type) > TYPE_MAX)
        return sm_fail(EINVAL, "sm_vm_mount: a mount needs a type (\"bind\", \"proc\", ...)");
    if (!m->target || m->target[0] != '/' || strlen(m->target) > PATH_MAX_LEN)
        return sm_fail(EINVAL, "sm_vm_mount: the target %.100s is not an absolute guest path",
                       m->target ? m->target : "(none)");
    if (is_bind(m->type) &&
        (!m->source || m->source[0] != '/' || strlen(m->source) > PATH_MAX_LEN))
        return sm_fail(EINVAL, "sm_vm_mount: a bind onto %.100s needs an absolute guest path "
                       "as its source", m->target);
    if (m->root && (m->root[0] != '/' || strlen(m->root) > PATH_MAX_LEN))
        return sm_fail(EINVAL, "sm_vm_mount: the root %.100s is not an absolute guest path",
                       m->root);
    if (m->options && strlen(m->options) > SM_AGENT_MOUNT_OPTIONS_MAX)
        return sm_fail(EINVAL, "sm_vm_mount: the options of %.100s are longer than %u bytes",
                       m->target, SM_AGENT_MOUNT_OPTIONS_MAX);
    return 0;
}

int sm_vm_mount(sm_vm *vm, const sm_mount *mount)
{
    sm_mount m;
    if (!mount)
        return sm_fail(EINVAL, "sm_vm_mount: no mount given");
    int err = SM_ABI_IN(&m, mount, sm_mount);
    if (!err)
        err = check(&m);
    /* Its agent cannot answer: fail now rather than at a timeout. */
    if (!err && sm_vm_paused(vm))
        err = sm_fail(EBUSY, "VM %.12s is paused; unpause it first", sm_vm_id(vm));
    if (err)
        return err;
    int fd;
    sm_agent_conn *c;
    if ((err = sm_vm_connect_vsock(vm, SM_AGENT_PORT, &fd)) != 0)
        return sm_fail_context(err, "the VM's agent is not answering");
    if ((err = sm_agent_conn_open(fd, &c)) != 0)
        return err;
    sm_agent_mount req = {.kind = SM_AGENT_MOUNT_FS, .fstype = m.type, .path = m.target,
                          .source = is_bind(m.type) ? m.source : NULL,
                          .options = m.options && *m.options ? m.options : NULL,
                          .root = m.root};
    err = sm_agent_mount_share(c, &req);
    sm_agent_conn_close(c);
    return err;
}
