/* The client's MOUNT request. */
#include <errno.h>

#include "agent/client_int.h"
#include "agent/client_mount.h"
#include "util/error.h"

int sm_agent_mount_share(sm_agent_conn *c, const sm_agent_mount *m)
{
    sm_agent_frame f;
    int err = sm_agent_conn_begin(c);
    if (!err && (err = sm_agent_encode_mount(&c->out, m)) < 0)
        return sm_fail(-err, "the mount of %.100s does not fit in one request", m->path);
    if (!err)
        err = sm_agent_conn_send(c, NULL, 0);
    if (!err && (err = sm_agent_conn_next(c, &f, false)) > 0) {
        if (f.type == SM_AGENT_ERROR)
            return sm_agent_conn_error(&f, m->kind == SM_AGENT_MOUNT_FS
                                               ? "mounting in the guest failed"
                                               : "mounting a share in the guest failed");
        if (f.type != SM_AGENT_OK)
            return sm_agent_conn_unexpected(c, &f, "mount");
        err = 0;
    }
    return err;
}
