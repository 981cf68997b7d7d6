/*
 * The agent's insides, shared by its files:
 *   agent_loop.c   the epoll loop, accepting, reaping, timeouts
 *   agent_util.c   the fd -> watch table and the buffer pool
 *   agent_conn.c   one connection: reading frames, dispatching, writing
 *   agent_exec.c   a running command: stdin, stdout/stderr, signals, EXIT
 *   agent_spawn.c  starting a command (the child side of fork)
 *   agent_files.c  STAT, FILE_READ, FILE_WRITE
 *   agent_nodes.c  MKDIR, LINK
 *   agent_proxy.c  TCP_CONNECT: the connection becomes a pipe to a TCP port
 *   agent_keep.c   commands that outlive their connection (F_KEEP), ATTACH
 *
 * Every fd is non-blocking and registered edge-triggered once, so the loop
 * never calls epoll_ctl to pause a source: it remembers readiness in flags
 * and stops reading a source while its sink is full (that is the flow
 * control). A read shorter than asked means the source is drained, which
 * saves the extra read that would return EAGAIN: syscalls are slow under
 * an emulating KVM.
 */
#ifndef SM_GUEST_AGENT_INT_H
#define SM_GUEST_AGENT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "agent/protocol.h"

/* Per-connection input and output buffers, from a pool: big enough for a
 * few data chunks so that one write carries several frames. */
#define AGENT_BUF_SIZE (128u << 10)
#define AGENT_POOL_MAX 16

typedef struct agent agent;
typedef struct conn conn;

enum watch_kind { W_LISTEN, W_SIGNAL, W_SOCK, W_STDIN, W_STDOUT, W_STDERR, W_PTY, W_TCP };

typedef struct watch {
    uint8_t kind;
    conn *c;
} watch;

struct agent {
    int epfd, sigfd, listen_fd, devnull;
    mode_t umask;
    unsigned long tmp_seq;   /* names temporary files */
    conn *conns;
    bool again;              /* some connection stopped with work left */
    watch **watches;         /* by fd; events carry the fd, not a pointer,
                                so a stale event finds NULL or a new owner */
    size_t nwatches;
    watch w_listen, w_signal;
    void *pool[AGENT_POOL_MAX];
    int npool;
};

typedef struct exec_state {
    pid_t pid;
    bool reaped, timed_out, pty;
    int status;
    struct rusage ru;
    uint64_t deadline_ns;       /* CLOCK_MONOTONIC; 0: none */
    int in_fd, out_fd, err_fd;  /* our ends; in pty mode in_fd == out_fd */
    int slave_fd;               /* pty mode: held until the command is reaped */
    bool in_ready, out_ready, err_ready;
    bool stdin_allowed;         /* EXEC asked for stdin */
    bool stdin_gone;            /* the command closed it: drop input */
    bool stdin_eof;             /* the host sent EOF */
    bool keep;                  /* F_KEEP: outlives its connection */
    uint64_t detached_ns;       /* when its connection went (CLOCK_MONOTONIC) */
} exec_state;

enum conn_state {
    S_HELLO,    /* waiting for the host's HELLO */
    S_IDLE,     /* between operations */
    S_WRITE,    /* receiving FILE_DATA */
    S_READ,     /* sending FILE_DATA; input waits */
    S_EXEC,     /* a command runs */
    S_DONE,     /* EXIT (or the EXEC's ERROR) sent; waiting for the close */
    S_CLOSING,  /* protocol error: flush the ERROR and close */
    S_PROXY,    /* TCP_CONNECT: connecting, then raw bytes (agent_proxy.c) */
    S_KEPT,     /* no socket: holds a kept command until ATTACH (agent_keep.c) */
};

typedef struct proxy proxy;

struct conn {
    agent *a;
    conn *next;
    int fd;
    enum conn_state state;
    bool readable, writable, hup, dead, again;
    bool out_armed;             /* EPOLLOUT requested: a write fell short */
    watch w_sock, w_in, w_out, w_err;
    uint8_t *in;
    size_t in_len, in_pos, in_cap;
    size_t in_done;             /* payload bytes of the current frame consumed */
    sm_agent_wbuf out;
    size_t out_off;             /* flushed bytes at the front of out */
    exec_state *x;
    proxy *proxy;
    struct {
        int fd;
        bool failed;            /* an ERROR went out: drop the rest */
        uint64_t size;
        char *tmp, *path;
    } file;
};

/* agent_util.c */
int agent_watch(agent *a, int fd, watch *w, uint32_t events);
int agent_rewatch(agent *a, int fd, uint32_t events);
watch *agent_watch_of(agent *a, int fd);
void agent_close(agent *a, int *fd);
void *agent_buf_get(agent *a);
void agent_buf_put(agent *a, void *buf);
uint64_t agent_now_ns(void);
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* agent_conn.c */
conn *conn_new(agent *a, int fd);
void conn_run(conn *c);
void conn_free(conn *c);
/* A protocol error: send ERROR if there is room and close the connection.
 * Returns -1 so that frame handlers can `return conn_fail(...)`. */
int conn_fail(conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An operation failed: answer ERROR and carry on. Returns 0. */
int conn_reply_error(conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Room in the output buffer for a frame with n payload bytes. */
bool conn_room(conn *c, size_t n);

/* agent_exec.c: frame handlers return 0 when the frame is consumed, 1 when
 * it must wait (a full sink), -1 after conn_fail. */
int exec_begin(conn *c, const sm_agent_frame *f);
int exec_frame(conn *c, const sm_agent_frame *f);
bool exec_pump(conn *c);
void exec_reaped(conn *c, int status, const struct rusage *ru);
void exec_timeout(conn *c);
void exec_free(conn *c);
/* Close the command's stdin as the host's EOF would. */
void exec_stdin_end(conn *c);

/* agent_spawn.c: fork and exec; the child's stdio fds (or the pty master)
 * are given; returns the pid or a negative errno. */
typedef struct spawn_io {
    int in, out, err;  /* child ends (all the pty's slave in pty mode) */
    int pty;           /* the pty's master, or -1 */
} spawn_io;
pid_t agent_spawn(const sm_agent_exec_req *r, const spawn_io *io);

/* agent_keep.c: a connection whose kept command outlives it stays, without
 * its socket and buffers, in state S_KEPT, where conn_run calls keep_run
 * to read and drop the command's output. */
void keep_detach(conn *c);  /* c is dead: keep its command, if kept */
void keep_run(conn *c);
void keep_started(conn *c);  /* a kept command started: forget stale records */
int keep_attach(conn *c, const sm_agent_frame *f);

/* agent_files.c */
int files_begin(conn *c, const sm_agent_frame *f);
/* Create the missing directories above path (0755); 0 or -errno. */
int files_mkdir_parents(const char *path);

/* agent_nodes.c: MKDIR and LINK (from files_begin), answered at once. */
int nodes_mkdir(conn *c, const sm_agent_file_req *r);
int nodes_link(conn *c, const sm_agent_file_req *r);

/* agent_system.c */
int system_begin(conn *c, const sm_agent_frame *f);

/* agent_proxy.c: in S_PROXY, conn_run hands the connection to proxy_run,
 * which uses `in` for host->guest bytes and `out` for guest->host ones. */
int proxy_begin(conn *c, const sm_agent_frame *f);
void proxy_event(conn *c, bool in, bool out, bool hup);
void proxy_run(conn *c);
void proxy_free(conn *c);

/* agent_mount.c */
int mount_begin(conn *c, const sm_agent_frame *f);
/* mkdir -p with 0755; 0 or -errno. */
int mount_mkdirs(const char *path);
/* An empty file to bind onto, with its parents; an existing directory
 * cannot take a file. 0 or -errno. */
int mount_file_target(const char *path);

/* agent_in_root.c: an O_PATH fd of path resolved inside root as inside a
 * chroot, its missing directories made (and the last an empty file, if
 * file); 0 or -errno. */
int in_root_open(const char *root, const char *path, bool file, int *fd);

/* agent_mount_fs.c: a container's mount (SM_AGENT_MOUNT_FS), answered. */
int mount_fs_begin(conn *c, const sm_agent_mount *m);
int files_frame(conn *c, const sm_agent_frame *f);
bool files_pump(conn *c);
void files_free(conn *c);

#endif
