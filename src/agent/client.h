/*
 * The host's side of the agent protocol (protocol.h), over any connected
 * stream fd: a vsock connection through the VMM in production, a Unix
 * socket in tests. The library wraps it; everything the agent sends is
 * treated as untrusted (bounded, checked, never trusted for sizes).
 *
 * A connection carries one request: any number of file operations, then
 * at most one exec, which ends it. Functions return 0 or a negative errno
 * and leave a sentence in sm_last_error(); an error the agent reports
 * (say ENOENT from a read) comes back as that errno with the agent's
 * message, and the connection stays usable. Any other error (a broken
 * connection, a malformed frame) makes the connection unusable.
 */
#ifndef SM_AGENT_CLIENT_H
#define SM_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/protocol.h"

typedef struct sm_agent_conn sm_agent_conn;

/* Take over a connected, blocking stream fd (closed by sm_agent_conn_close).
 * Nothing is sent yet: HELLO goes out with the first request, in the same
 * write, so that a request costs the guest one wakeup. */
int sm_agent_conn_open(int fd, sm_agent_conn **out);
void sm_agent_conn_close(sm_agent_conn *c);
/* Its stream, to poll (a kept connection is checked before reuse). */
int sm_agent_conn_fd(const sm_agent_conn *c);
/* Break the connection from another thread: whatever waits on it returns
 * an error. The handle stays to be closed by its owner. */
void sm_agent_conn_abort(sm_agent_conn *c);

/* Receives a chunk of a stream; a non-zero return (a negative errno) stops
 * the operation and is returned by it. */
typedef int (*sm_agent_sink)(void *ctx, const void *data, size_t len);

/* ---- files ---- */

/* Hostname, wall clock and RNG seed of the guest; fields left empty in m
 * stay as they are. */
int sm_agent_system_set(sm_agent_conn *c, const sm_agent_system *m);

/* out->target (a symlink's, with nofollow) is valid until the next call on c. */
int sm_agent_stat(sm_agent_conn *c, const char *path, bool nofollow, sm_agent_stat_reply *out);

/* Write a whole file from memory (req->path, mode, mkdirs, uid, gid). The
 * agent writes a temporary file beside it and renames it into place. */
int sm_agent_write_file(sm_agent_conn *c, const sm_agent_file_req *req, const void *data,
                        size_t len);
/* The same from an fd, read to its end. */
int sm_agent_write_file_fd(sm_agent_conn *c, const sm_agent_file_req *req, int src_fd);
/* Fills buf with up to len bytes: their count, 0 at the end, or a negative
 * errno (with sm_last_error set) that abandons the write. */
typedef ssize_t (*sm_agent_source)(void *ctx, void *buf, size_t len);
/* The same from a source, pulled to its end. */
int sm_agent_write_file_src(sm_agent_conn *c, const sm_agent_file_req *req,
                            sm_agent_source src, void *ctx);
/* A directory (req->path, mode, mkdirs, uid, gid); an existing one is
 * kept and given the mode and owner. */
int sm_agent_mkdir(sm_agent_conn *c, const sm_agent_file_req *req);
/* A symlink (or, req->hard, a hard link) at req->path to req->target,
 * replacing what is there unless it is a directory. */
int sm_agent_link(sm_agent_conn *c, const sm_agent_file_req *req);

/* Stream a file's contents to sink. A missing file is -ENOENT. */
int sm_agent_read_file(sm_agent_conn *c, const char *path, sm_agent_sink sink, void *ctx);
/* The same into a malloc'd buffer of at most max bytes (-EFBIG beyond). */
int sm_agent_read_file_buf(sm_agent_conn *c, const char *path, size_t max, uint8_t **data,
                           size_t *len);
/* A directory's entry names, each ended by a NUL ("." and ".." left out),
 * as the guest says them: check each before use. */
int sm_agent_list_dir(sm_agent_conn *c, const char *path, size_t max, uint8_t **data,
                      size_t *len);

/* ---- TCP ---- */

/* A TCP connection to `port` on the guest's loopback, over `fd`: a fresh
 * stream to the agent, not an sm_agent_conn, since after the agent's OK it
 * carries the guest socket's bytes. HELLO and TCP_CONNECT go out; then the
 * agent's HELLO and its OK or ERROR are read and not one byte more, so
 * what the guest's server sends first (a banner) stays in fd for the
 * caller. -ECONNREFUSED when nothing listens there. fd stays the caller's. */
int sm_agent_tcp_open(int fd, uint16_t port);

/* The same in two steps, for a poll loop over a non-blocking fd: send,
 * then call sm_agent_tcp_reply_read each time fd is readable: 1 once connected,
 * 0 while it waits for more, or a negative errno. */
typedef struct sm_agent_tcp_reply {
    uint16_t port;
    bool hello_seen;
    size_t have;
    uint8_t buf[4096];  /* one frame: the agent's answers are short */
} sm_agent_tcp_reply;
int sm_agent_tcp_send(int fd, uint16_t port, sm_agent_tcp_reply *r);
int sm_agent_tcp_reply_read(int fd, sm_agent_tcp_reply *r);

/* ---- exec ---- */

typedef struct sm_agent_exec sm_agent_exec;

/* Send EXEC (without waiting for the command to start: its failure to start
 * is reported by sm_agent_exec_wait). The conn stays owned by the caller
 * and must outlive the handle; it is used up by the exec. */
int sm_agent_exec_start(sm_agent_conn *c, const sm_agent_exec_req *req, sm_agent_exec **out);

/* The same handle for a command started with req->keep whose connection
 * has gone: its output from now on, its signals, its end (or, if it has
 * ended already, just its exit status). Waits for the agent's answer:
 * -ESRCH when the guest has no kept command with that pid, -EBUSY when
 * another connection is attached to it; both leave c usable. No stdin:
 * the agent ended it when the first connection went. */
int sm_agent_exec_attach(sm_agent_conn *c, uint32_t pid, sm_agent_exec **out);

/* Thread-safe, callable while another thread is in sm_agent_exec_wait.
 * write_stdin blocks while more than SM_AGENT_CLIENT_BACKLOG bytes wait to
 * be sent; without a concurrent wait() it can deadlock against a command
 * that writes more than the transport buffers without reading its stdin,
 * so pass large stdin through sm_agent_exec_io instead. All fail with
 * -EPIPE once the command has exited. */
#define SM_AGENT_CLIENT_BACKLOG (256u << 10)
int sm_agent_exec_write_stdin(sm_agent_exec *e, const void *data, size_t len);
int sm_agent_exec_close_stdin(sm_agent_exec *e);
int sm_agent_exec_signal(sm_agent_exec *e, int signo, bool group);
int sm_agent_exec_resize(sm_agent_exec *e, uint16_t rows, uint16_t cols);

/* Where wait() gets stdin and puts output. Start from SM_AGENT_EXEC_IO_INIT. */
typedef struct sm_agent_exec_io {
    sm_agent_sink on_stdout, on_stderr;  /* take precedence over the fds */
    void *ctx;
    int stdout_fd, stderr_fd;            /* -1: discard */
    /* Stdin (EXEC must have set stdin_pipe or pty): stdin_data is sent,
     * then stdin_fd is read to its end, then EOF is sent. With neither,
     * stdin is left to sm_agent_exec_write_stdin/close_stdin. */
    const void *stdin_data;
    size_t stdin_len;
    int stdin_fd;                        /* -1: none */
    /* Called with the command's pid when the agent reports it started
     * (not after sm_agent_exec_attach, which knows it already). */
    void (*on_started)(void *ctx, uint32_t pid);
} sm_agent_exec_io;
#define SM_AGENT_EXEC_IO_INIT \
    ((sm_agent_exec_io){.stdout_fd = -1, .stderr_fd = -1, .stdin_fd = -1})

/* Pump stdin and output until the command ends; *result then says how.
 * Call once. io may be NULL (discard output, no stdin). */
int sm_agent_exec_wait(sm_agent_exec *e, const sm_agent_exec_io *io, sm_agent_exit *result);
/* The command's pid in the guest once wait() has seen it start, else 0. */
uint32_t sm_agent_exec_pid(const sm_agent_exec *e);
void sm_agent_exec_free(sm_agent_exec *e);

/* ---- exec, buffered ---- */

typedef struct sm_agent_output {
    uint8_t *out, *err;       /* NUL-terminated for convenience; free with _free */
    size_t out_len, err_len;
    bool truncated;           /* more than max_output came; the rest was dropped */
} sm_agent_output;

/* Run a command to its end with stdin from memory (if stdin_data is not
 * NULL) and each output stream kept up to max_output bytes. */
int sm_agent_exec_run(sm_agent_conn *c, const sm_agent_exec_req *req, const void *stdin_data,
                      size_t stdin_len, size_t max_output, sm_agent_output *out,
                      sm_agent_exit *result);
void sm_agent_output_free(sm_agent_output *o);

#endif
