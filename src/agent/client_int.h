/* Shared by the client's files: the connection and its frame I/O. */
#ifndef SM_AGENT_CLIENT_INT_H
#define SM_AGENT_CLIENT_INT_H

#include "agent/client.h"

struct sm_agent_conn {
    int fd;
    bool hello_sent, hello_seen;
    bool broken;   /* unusable: say so rather than misread the stream */
    bool used;     /* an exec took it */
    uint8_t *in;
    size_t in_len, in_pos, in_cap;
    sm_agent_wbuf out;  /* frames to send with the next write */
};

/* Fail unless the connection can take a request; then start the frames to
 * send with HELLO if it has not gone out yet. */
int sm_agent_conn_begin(sm_agent_conn *c);
/* Send the queued frames, then `len` bytes of data, in one write. */
int sm_agent_conn_send(sm_agent_conn *c, const void *data, size_t len);
/* The next frame (after the agent's HELLO, checked on the way). 1 with a
 * frame valid until the next call; 0 if nonblock and none is complete;
 * negative errno when the connection broke. */
int sm_agent_conn_next(sm_agent_conn *c, sm_agent_frame *f, bool nonblock);
/* An ERROR frame as an errno and a sentence. */
int sm_agent_conn_error(const sm_agent_frame *f, const char *what);
/* A frame that has no business here: the connection is done. */
int sm_agent_conn_unexpected(sm_agent_conn *c, const sm_agent_frame *f, const char *what);

#endif
