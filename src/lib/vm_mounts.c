#include "lib/vm_mounts.h"

#include <errno.h>
#include <string.h>

#include "agent/client.h"
#include "agent/client_mount.h"
#include "lib/vm_int.h"
#include "util/error.h"

#define OPTIONS_MAX 255

int sm_vm_mounts_check(const sm_vm_config *c, bool has_image)
{
    if (c->read_only && !has_image)
        return sm_fail(EINVAL, "a read-only root needs an image or a root directory: "
                       "without one the root is the built-in initramfs");
    if (c->ntmpfs > SM_VM_MAX_TMPFS)
        return sm_fail(EINVAL, "%u tmpfs mounts: at most %d", c->ntmpfs, SM_VM_MAX_TMPFS);
    if (c->ntmpfs && !c->tmpfs)
        return sm_fail(EINVAL, "ntmpfs is %u but tmpfs is NULL", c->ntmpfs);
    for (unsigned i = 0; i < c->ntmpfs; i++) {
        const sm_tmpfs *t = &c->tmpfs[i];
        if (!t->path || t->path[0] != '/' || strlen(t->path) > 4095)
            return sm_fail(EINVAL, "tmpfs mount '%s': the path must be absolute",
                           t->path ? t->path : "(null)");
        if (!strcmp(t->path, "/"))
            return sm_fail(EINVAL, "a tmpfs cannot replace the root ('/')");
        if (t->options && strlen(t->options) > OPTIONS_MAX)
            return sm_fail(EINVAL, "tmpfs mount %s: options longer than %d bytes", t->path,
                           OPTIONS_MAX);
    }
    return 0;
}

static int send(sm_agent_conn *conn, const sm_agent_mount *m)
{
    int err = sm_agent_mount_share(conn, m);
    if (err && m->kind == SM_AGENT_MOUNT_TMPFS)
        return sm_fail_context(err, "the tmpfs at %s", m->path);
    if (err)
        return sm_fail_context(err, "making the root read-only");
    return 0;
}

int sm_vm_mounts_apply(sm_vm *vm, const sm_vm_config *c)
{
    if (!c->ntmpfs && !c->read_only)
        return 0;
    int fd;
    sm_agent_conn *conn;
    int err = sm_vm_connect_vsock(vm, SM_AGENT_PORT, &fd);
    if (err)
        return sm_fail_context(err, "mounting tmpfs: the VM's agent is not answering");
    if ((err = sm_agent_conn_open(fd, &conn)) != 0)
        return err;
    for (unsigned i = 0; !err && i < c->ntmpfs; i++)
        err = send(conn, &(sm_agent_mount){.kind = SM_AGENT_MOUNT_TMPFS,
                                           .path = c->tmpfs[i].path,
                                           .options = c->tmpfs[i].options});
    if (!err && c->read_only)
        err = send(conn, &(sm_agent_mount){.kind = SM_AGENT_MOUNT_REMOUNT_RO, .path = "/",
                                           .read_only = true});
    sm_agent_conn_close(conn);
    return err;
}
