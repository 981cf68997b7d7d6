/* The client's SYSTEM request: hostname, clock and RNG seed of the guest. */
#include <errno.h>

#include "agent/client_int.h"
#include "util/error.h"

int sm_agent_system_set(sm_agent_conn *c, const sm_agent_system *m)
{
    sm_agent_frame f;
    int err = sm_agent_conn_begin(c);
    if (!err && (err = sm_agent_encode_system(&c->out, m)) < 0)
        return sm_fail(err, "the guest's system settings do not fit in one request");
    if (!err)
        err = sm_agent_conn_send(c, NULL, 0);
    if (!err && (err = sm_agent_conn_next(c, &f, false)) > 0) {
        if (f.type == SM_AGENT_ERROR)
            return sm_agent_conn_error(&f, "setting up the guest system failed");
        if (f.type != SM_AGENT_OK)
            return sm_agent_conn_unexpected(c, &f, "system settings");
        err = 0;
    }
    return err;
}
