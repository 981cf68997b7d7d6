/*
 * The agent protocol: how the host drives the agent in sm-init over one
 * reliable byte stream (vsock port SM_AGENT_PORT in a VM, any stream socket
 * in tests). This file is its one definition; both sides encode and decode
 * through protocol.c and nothing else.
 *
 * Frame: an 8-byte little-endian header, then the payload.
 *   u32 length   payload bytes, at most SM_AGENT_MAX_PAYLOAD
 *   u16 type     sm_agent_type; an unknown type is malformed
 *   u16 flags    per type (SM_AGENT_F_*); a bit the type does not allow is
 *                malformed
 *
 * Control frames carry TLVs: u16 tag, u32 length, then that many bytes.
 * Integers are u32 or u64 little-endian by tag; strings end in one NUL and
 * hold no other. Unknown tags are skipped (a newer peer may add optional
 * fields); a known tag of the wrong size, a repeated single tag or a missing
 * required one makes the frame malformed. Data frames (STDIN, STDOUT,
 * STDERR, FILE_DATA) carry raw bytes; SM_AGENT_F_EOF marks the last one.
 *
 * A connection carries one request. Both sides first send HELLO with their
 * version (the host need not wait for the agent's). Then the host sends
 * any number of file operations, each answered before the next is read,
 * and optionally one EXEC, which ends the conversation:
 *
 *   STAT path                     -> STAT_REPLY | ERROR
 *                                    (F_NOFOLLOW on a symlink: with its TARGET)
 *   FILE_READ path                -> FILE_DATA... (last has EOF) | ERROR
 *                                    (a directory: its entry names, a line each,
 *                                    or with F_NAMES0 each ended by a NUL)
 *   MKDIR path mode               -> OK | ERROR (an existing directory is kept,
 *                                    its mode and owner set)
 *   LINK path target              -> OK | ERROR (a symlink, F_HARD a hard link;
 *                                    it replaces a non-directory at path)
 *   FILE_WRITE path, FILE_DATA... -> OK | ERROR (the data still ends in EOF)
 *   EXEC  -> STARTED, then STDOUT/STDERR as produced, then EXIT.
 *            Meanwhile the host may send STDIN (if EXEC asked for it),
 *            SIGNAL and RESIZE (pty mode).
 *   ATTACH pid -> the same stream for a command started with F_KEEP whose
 *            connection closed: STARTED, its output from then on, EXIT
 *            (at once if it has ended); SIGNAL and RESIZE work as for
 *            EXEC, STDIN is dropped | ERROR (ESRCH: no kept command with
 *            that pid; EBUSY: another connection has it), which leaves
 *            the connection usable.
 *   TCP_CONNECT port -> OK, then the guest socket's raw bytes both ways
 *                       (this too ends the conversation) | ERROR
 *
 * An ERROR answering an operation leaves the connection usable; a
 * malformed or unexpected frame makes the agent send ERROR and close that
 * connection. The host closes the connection when it is done; if it does
 * so while a command runs, the agent kills the command's process group,
 * unless EXEC set F_KEEP: then the command runs on with stdin at its end,
 * its output is read and dropped, and its exit status waits for an ATTACH
 * (the agent keeps the last SM_AGENT_KEPT_MAX ended ones at least).
 */
#ifndef SM_AGENT_PROTOCOL_H
#define SM_AGENT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_AGENT_PORT 1024
#define SM_AGENT_VERSION 1
#define SM_AGENT_HEADER_SIZE 8
#define SM_AGENT_TLV_HEADER_SIZE 6
#define SM_AGENT_MAX_PAYLOAD (1u << 20)
/* The largest data frame a sender produces; receivers accept up to
 * SM_AGENT_MAX_PAYLOAD. */
#define SM_AGENT_CHUNK (64u << 10)
/* Detached kept commands the agent holds; beyond it, ended ones are
 * forgotten, oldest first. */
#define SM_AGENT_KEPT_MAX 64

typedef enum sm_agent_type {
    SM_AGENT_HELLO = 1,       /* both ways: VERSION */
    SM_AGENT_ERROR = 2,       /* agent: ERRNO, MESSAGE */
    SM_AGENT_OK = 3,          /* agent: FILE_WRITE succeeded: SIZE */
    SM_AGENT_EXEC = 16,       /* host: F_STDIN, F_PTY, F_MKCWD, F_KEEP, F_NO_NEW_PRIVS;
                                 ARG+ ENV* CWD UID GID GROUPS TIMEOUT ROWS COLS
                                 ROOT UMASK */
    SM_AGENT_STARTED = 17,    /* agent: PID */
    SM_AGENT_STDIN = 18,      /* host: data, F_EOF */
    SM_AGENT_STDOUT = 19,     /* agent: data (the pty's output in pty mode) */
    SM_AGENT_STDERR = 20,     /* agent: data */
    SM_AGENT_SIGNAL = 21,     /* host: F_GROUP; SIGNO */
    SM_AGENT_RESIZE = 22,     /* host: ROWS COLS */
    SM_AGENT_EXIT = 23,       /* agent: F_TIMED_OUT; STATUS or TERMSIG, MAXRSS, UTIME, STIME */
    SM_AGENT_ATTACH = 24,     /* host: PID of a kept command; answered as EXEC is */
    SM_AGENT_FILE_WRITE = 32, /* host: F_MKDIRS; PATH MODE UID GID */
    SM_AGENT_FILE_READ = 33,  /* host: PATH */
    SM_AGENT_FILE_DATA = 34,  /* both: data, F_EOF */
    SM_AGENT_STAT = 35,       /* host: F_NOFOLLOW; PATH */
    SM_AGENT_STAT_REPLY = 36, /* agent: MODE SIZE UID GID MTIME MTIME_NSEC TARGET? */
    SM_AGENT_MKDIR = 37,      /* host: F_MKDIRS; PATH MODE UID? GID? */
    SM_AGENT_LINK = 38,       /* host: F_MKDIRS F_HARD; PATH TARGET UID? GID? */
    /* host: F_RDONLY; SHARE_TAG PATH SHARE_ENTRY?; answered by OK or ERROR.
     * Mount a virtio-9p share at PATH; with SHARE_ENTRY (a single-file
     * share) bind only that entry of the share onto PATH.
     * F_TMPFS; PATH MOUNT_OPTIONS?: a tmpfs at PATH instead (docker's
     * --tmpfs PATH:OPTIONS), no share tag.
     * F_REMOUNT F_RDONLY; PATH: make the mount at PATH read-only, for this
     * mount point only (docker's --read-only root).
     * FSTYPE PATH SOURCE? MOUNT_OPTIONS? ROOT?: a container's mount, as an OCI
     * runtime makes it (the FSTYPE tag marks this kind; no flags): a bind
     * of the guest path SOURCE ("bind", "rbind"), or a kernel filesystem
     * ("proc", "sysfs", ...); the options are mount(8)'s words, the
     * guest splits them into flags and data; with ROOT, PATH is resolved
     * inside it as inside a chroot (a symlink cannot lead out). Codec in
     * protocol_mount.c. */
    SM_AGENT_MOUNT = 48,
    /* host: PORT; answered by OK or ERROR. Connect to that TCP port on the
     * guest's loopback (127.0.0.1, then ::1). After OK the connection is
     * a raw byte pipe to the guest's socket in both directions, with no
     * more frames; a half close on one side is passed on as one; ERROR
     * leaves the connection usable. Codec in protocol_tcp.c; types and
     * tags 64-79 belong to it. */
    SM_AGENT_TCP_CONNECT = 64,
    /* host: HOSTNAME? REALTIME_NS? SEED?; answered by OK or ERROR. The
     * per-VM settings of the guest system, sent after boot (and, later,
     * after every restore of a snapshot). */
    SM_AGENT_SYSTEM = 80,
} sm_agent_type;

/* Flags, by frame type. */
#define SM_AGENT_F_EOF 0x1u       /* data frames */
#define SM_AGENT_F_STDIN 0x1u     /* EXEC: stdin streams from the host, else /dev/null */
#define SM_AGENT_F_PTY 0x2u       /* EXEC: run on a pseudo-terminal */
#define SM_AGENT_F_MKCWD 0x4u     /* EXEC: create CWD (and parents) if missing */
#define SM_AGENT_F_KEEP 0x8u      /* EXEC: the command outlives its connection */
#define SM_AGENT_F_NO_NEW_PRIVS 0x10u /* EXEC: PR_SET_NO_NEW_PRIVS before exec */
#define SM_AGENT_F_GROUP 0x1u     /* SIGNAL: to the process group */
#define SM_AGENT_F_TIMED_OUT 0x1u /* EXIT: killed by its timeout */
#define SM_AGENT_F_MKDIRS 0x1u    /* FILE_WRITE: create missing parent dirs */
#define SM_AGENT_F_NOFOLLOW 0x1u  /* STAT: lstat */
#define SM_AGENT_F_NAMES0 0x1u    /* FILE_READ: a directory's names end in NUL */
#define SM_AGENT_F_HARD 0x2u      /* LINK: a hard link to the file TARGET */
#define SM_AGENT_F_RDONLY 0x1u    /* MOUNT: read-only */
#define SM_AGENT_F_TMPFS 0x2u     /* MOUNT: a tmpfs, not a share */
#define SM_AGENT_F_REMOUNT 0x4u   /* MOUNT: change the mount at PATH */
#define SM_AGENT_F_ETC_HOSTNAME 0x1u /* SYSTEM: also write /etc/hostname */

typedef enum sm_agent_tag {
    SM_AGENT_T_VERSION = 1, /* u32 */
    SM_AGENT_T_ERRNO,       /* u32, positive */
    SM_AGENT_T_MESSAGE,     /* string */
    SM_AGENT_T_ARG,         /* string, repeated, in order */
    SM_AGENT_T_ENV,         /* string "NAME=value", repeated */
    SM_AGENT_T_CWD,         /* string */
    SM_AGENT_T_UID,         /* u32 */
    SM_AGENT_T_GID,         /* u32 */
    SM_AGENT_T_GROUPS,      /* n x u32 (n may be 0: drop all) */
    SM_AGENT_T_TIMEOUT_MS,  /* u64 */
    SM_AGENT_T_ROWS,        /* u32 */
    SM_AGENT_T_COLS,        /* u32 */
    SM_AGENT_T_PID,         /* u32 */
    SM_AGENT_T_SIGNO,       /* u32 */
    SM_AGENT_T_STATUS,      /* u32, exit code */
    SM_AGENT_T_TERMSIG,     /* u32 */
    SM_AGENT_T_MAXRSS_KIB,  /* u64 */
    SM_AGENT_T_UTIME_US,    /* u64 */
    SM_AGENT_T_STIME_US,    /* u64 */
    SM_AGENT_T_PATH,        /* string */
    SM_AGENT_T_MODE,        /* u32 */
    SM_AGENT_T_SIZE,        /* u64 */
    SM_AGENT_T_MTIME,       /* u64, seconds since the epoch (two's complement) */
    SM_AGENT_T_MTIME_NSEC,  /* u32 */
    SM_AGENT_T_TARGET,      /* string: a link's target, at most 4095 bytes */
    /* Explicit numbers: these belong to EXEC (ROOT to MOUNT's container
     * kind too). */
    SM_AGENT_T_ROOT = 26,   /* string: an absolute guest directory: EXEC chroots
                               into it, MOUNT resolves its PATH inside it */
    SM_AGENT_T_UMASK = 27,  /* u32, 0-0777 */
    /* Explicit numbers: these belong to SYSTEM. */
    SM_AGENT_T_HOSTNAME = 40,    /* string, 1-64 bytes */
    SM_AGENT_T_REALTIME_NS = 41, /* u64, wall clock: ns since the epoch */
    SM_AGENT_T_SEED = 42,        /* bytes (at most 512): mixed into the guest's RNG */
    SM_AGENT_T_ETC_HOSTS = 43,   /* string (at most 4 KiB): the new /etc/hosts */
    SM_AGENT_T_RESOLV_CONF = 44, /* string (at most 4 KiB): the new /etc/resolv.conf */
    /* These belong to MOUNT. */
    SM_AGENT_T_SHARE_TAG = 48,   /* string: the 9p mount tag */
    SM_AGENT_T_SHARE_ENTRY = 49, /* string: the one entry of a single-file share */
    SM_AGENT_T_MOUNT_OPTIONS = 50, /* string: a tmpfs's options ("size=64m,noexec") */
    SM_AGENT_T_FSTYPE = 51,      /* string: a container mount's type ("proc", "bind") */
    SM_AGENT_T_SOURCE = 52,      /* string: a bind's source, an absolute guest path */
    /* These belong to TCP_CONNECT. */
    SM_AGENT_T_PORT = 64,        /* u32, 1-65535 */
} sm_agent_tag;

/* ---- frames ---- */

typedef struct sm_agent_frame {
    uint16_t type;
    uint16_t flags;
    uint32_t len;
    const uint8_t *payload;
} sm_agent_frame;

/* Parse the frame at the start of buf[0..len). Returns its total size when
 * it is complete; 0 when more bytes are needed (*need: the total size to
 * wait for, when known from the header); or a negative errno (-EMSGSIZE
 * too large, -EBADMSG bad type or flags) with a static reason in *why. */
int sm_agent_frame_parse(const uint8_t *buf, size_t len, sm_agent_frame *f, size_t *need,
                         const char **why);

bool sm_agent_type_is_data(uint16_t type);
const char *sm_agent_type_name(uint16_t type);

/* ---- writing frames ----
 * A buffer frames are appended to. With `grow` set it reallocs `data` as
 * needed; otherwise a frame that does not fit fails with -ENOBUFS. A frame
 * over SM_AGENT_MAX_PAYLOAD fails with -EMSGSIZE. A failed frame leaves
 * the buffer as it was. */
typedef struct sm_agent_wbuf {
    uint8_t *data;
    size_t len, cap;
    bool grow;
    int overflow;        /* errno once the current frame did not fit */
    size_t frame_start;  /* offset of the frame being written */
} sm_agent_wbuf;

void sm_agent_frame_begin(sm_agent_wbuf *b, uint16_t type, uint16_t flags);
void sm_agent_put_u32(sm_agent_wbuf *b, uint16_t tag, uint32_t v);
void sm_agent_put_u64(sm_agent_wbuf *b, uint16_t tag, uint64_t v);
void sm_agent_put_str(sm_agent_wbuf *b, uint16_t tag, const char *s);
void sm_agent_put_tlv(sm_agent_wbuf *b, uint16_t tag, const void *v, size_t n);
/* Raw payload bytes (data frames). */
void sm_agent_put_raw(sm_agent_wbuf *b, const void *v, size_t n);
/* Room for raw payload written in place: the caller fills up to the
 * returned size at data + len and adds what it wrote to len. */
size_t sm_agent_raw_room(sm_agent_wbuf *b);
/* Change the flags of the frame being written. */
void sm_agent_frame_flags(sm_agent_wbuf *b, uint16_t flags);
/* Seal the frame: 0, or -ENOBUFS / -EMSGSIZE with the frame dropped. */
int sm_agent_frame_end(sm_agent_wbuf *b);
/* Drop the frame being written. */
void sm_agent_frame_cancel(sm_agent_wbuf *b);
void sm_agent_wbuf_free(sm_agent_wbuf *b);

/* ---- TLV iteration ---- */

typedef struct sm_agent_tlv_iter {
    const uint8_t *p;
    size_t left;
} sm_agent_tlv_iter;

/* 1 with the next TLV, 0 at the end, -EBADMSG if one overruns the payload. */
int sm_agent_tlv_next(sm_agent_tlv_iter *it, uint16_t *tag, const uint8_t **val, uint32_t *len);

/* ---- messages: one struct each, used to encode and to decode ----
 * Decoded strings point into the frame's payload; decoders return 0 or
 * -EBADMSG with a static reason in *why. */

typedef struct sm_agent_hello {
    uint32_t version;
} sm_agent_hello;

typedef struct sm_agent_error {
    int err;              /* positive errno */
    const char *message;  /* may be NULL */
} sm_agent_error;

typedef struct sm_agent_exec_req {
    const char *const *argv;  /* NULL-terminated, at least argv[0] */
    const char *const *env;   /* NULL-terminated "NAME=value"; NULL: a default
                                 PATH and HOME (and TERM in pty mode); PATH and
                                 HOME are added when missing */
    const char *cwd;          /* NULL: / */
    int64_t uid, gid;         /* -1: keep the agent's (root) */
    const uint32_t *groups;   /* supplementary groups, if has_groups */
    size_t ngroups;
    bool has_groups;
    uint64_t timeout_ms;      /* 0: none; then the process group gets SIGKILL */
    bool stdin_pipe;          /* stdin streams from the host; else /dev/null */
    bool pty;                 /* stdin/stdout/stderr on a pty; output comes as STDOUT */
    bool mkcwd;               /* create cwd first, as docker creates WorkingDir */
    bool keep;                /* outlive the connection; see ATTACH */
    uint16_t rows, cols;      /* pty window size; 0 means 24x80 */
    const char *root;         /* chroot here first (absolute); NULL: / */
    bool has_umask;
    uint32_t umask;           /* 0-0777, if has_umask; else the agent's */
    bool no_new_privs;        /* prctl(PR_SET_NO_NEW_PRIVS) last before exec */
} sm_agent_exec_req;

typedef struct sm_agent_signal {
    uint32_t signo;  /* 1..64 */
    bool group;
} sm_agent_signal;

typedef struct sm_agent_winsize {
    uint16_t rows, cols;
} sm_agent_winsize;

typedef struct sm_agent_exit {
    int status;           /* exit code 0..255, or -1 when killed by a signal */
    int termsig;          /* the signal that ended it, 0 if it exited */
    bool timed_out;       /* its timeout expired and the agent killed it */
    uint64_t maxrss_kib;  /* peak resident set size (ru_maxrss) */
    uint64_t utime_us, stime_us;
} sm_agent_exit;

typedef struct sm_agent_file_req {
    const char *path;
    uint32_t mode;        /* FILE_WRITE, MKDIR: permission bits; 0 means 0644
                             (MKDIR: 0755) */
    bool mkdirs;          /* FILE_WRITE, MKDIR, LINK: create missing parents (0755) */
    bool nofollow;        /* STAT: do not follow a final symlink */
    bool names0;          /* FILE_READ: a directory's names end in NUL */
    bool hard;            /* LINK: a hard link, not a symlink */
    const char *target;   /* LINK: what the link points to (required) */
    int64_t uid, gid;     /* FILE_WRITE, MKDIR, LINK: owner, -1 to keep root */
} sm_agent_file_req;

typedef struct sm_agent_stat_reply {
    uint32_t mode;        /* st_mode: type and permission bits */
    uint32_t uid, gid;
    uint64_t size;
    int64_t mtime;
    uint32_t mtime_nsec;
    const char *target;   /* a symlink's (lstat only), else NULL; decoded, it
                             points into the frame */
} sm_agent_stat_reply;

/* A link target's longest (PATH_MAX less its NUL). */
#define SM_AGENT_TARGET_MAX 4095
#define SM_AGENT_SEED_MAX 512
#define SM_AGENT_ETC_MAX 4096

/* One request for all that makes a VM its own after a boot or a restore:
 * one round trip matters when the guest's kernel is slow. */
typedef struct sm_agent_system {
    const char *hostname;       /* NULL: unchanged */
    uint64_t realtime_ns;       /* 0: unchanged */
    const uint8_t *seed;        /* NULL: none */
    uint32_t seed_len;
    bool etc_hostname;          /* also write hostname to /etc/hostname */
    const char *etc_hosts;      /* NULL: /etc/hosts unchanged */
    const char *resolv_conf;    /* NULL: /etc/resolv.conf unchanged */
} sm_agent_system;

int sm_agent_encode_hello(sm_agent_wbuf *b, const sm_agent_hello *m);
int sm_agent_encode_error(sm_agent_wbuf *b, const sm_agent_error *m);
int sm_agent_encode_ok(sm_agent_wbuf *b, uint64_t size);
int sm_agent_encode_exec(sm_agent_wbuf *b, const sm_agent_exec_req *m);
int sm_agent_encode_started(sm_agent_wbuf *b, uint32_t pid);
int sm_agent_encode_signal(sm_agent_wbuf *b, const sm_agent_signal *m);
int sm_agent_encode_resize(sm_agent_wbuf *b, const sm_agent_winsize *m);
int sm_agent_encode_exit(sm_agent_wbuf *b, const sm_agent_exit *m);
/* type: FILE_WRITE, FILE_READ, STAT, MKDIR or LINK. */
int sm_agent_encode_file_req(sm_agent_wbuf *b, uint16_t type, const sm_agent_file_req *m);
int sm_agent_encode_stat_reply(sm_agent_wbuf *b, const sm_agent_stat_reply *m);
/* type: STDIN, STDOUT, STDERR or FILE_DATA. */
int sm_agent_encode_data(sm_agent_wbuf *b, uint16_t type, const void *data, size_t len, bool eof);

/* Only the header of a data frame whose len payload bytes the caller sends
 * separately (no copy). */
int sm_agent_encode_data_header(sm_agent_wbuf *b, uint16_t type, uint32_t len, bool eof);

int sm_agent_decode_hello(const sm_agent_frame *f, sm_agent_hello *m, const char **why);
int sm_agent_decode_error(const sm_agent_frame *f, sm_agent_error *m, const char **why);
int sm_agent_decode_ok(const sm_agent_frame *f, uint64_t *size, const char **why);
/* Allocates the argv/env/groups arrays: release with sm_agent_exec_req_release.
 * -ENOMEM when out of memory. */
int sm_agent_decode_exec(const sm_agent_frame *f, sm_agent_exec_req *m, const char **why);
void sm_agent_exec_req_release(sm_agent_exec_req *m);
int sm_agent_decode_started(const sm_agent_frame *f, uint32_t *pid, const char **why);
/* ATTACH: pid is 1..INT32_MAX. */
int sm_agent_encode_attach(sm_agent_wbuf *b, uint32_t pid);
int sm_agent_decode_attach(const sm_agent_frame *f, uint32_t *pid, const char **why);
int sm_agent_decode_signal(const sm_agent_frame *f, sm_agent_signal *m, const char **why);
int sm_agent_decode_resize(const sm_agent_frame *f, sm_agent_winsize *m, const char **why);
int sm_agent_decode_exit(const sm_agent_frame *f, sm_agent_exit *m, const char **why);
int sm_agent_decode_file_req(const sm_agent_frame *f, sm_agent_file_req *m, const char **why);
int sm_agent_decode_stat_reply(const sm_agent_frame *f, sm_agent_stat_reply *m, const char **why);
typedef enum sm_agent_mount_kind {
    SM_AGENT_MOUNT_SHARE,     /* a virtio-9p share */
    SM_AGENT_MOUNT_TMPFS,     /* a tmpfs with options */
    SM_AGENT_MOUNT_REMOUNT_RO, /* the mount at path becomes read-only */
    SM_AGENT_MOUNT_FS         /* a container's mount: fstype, source, options */
} sm_agent_mount_kind;

/* The longest options string: a tmpfs's, and a container mount's. */
#define SM_AGENT_TMPFS_OPTIONS_MAX 255
#define SM_AGENT_MOUNT_OPTIONS_MAX 4095

typedef struct sm_agent_mount {
    sm_agent_mount_kind kind;
    const char *tag;          /* a share's: 1-31 bytes */
    const char *path;         /* absolute */
    const char *entry;        /* NULL: mount the whole share at path */
    const char *options;      /* a tmpfs's or a container mount's, or NULL */
    bool read_only;
    const char *fstype;       /* a container mount's: 1-31 bytes */
    const char *source;       /* a container mount's bind: absolute */
    const char *root;         /* a container mount's: path is resolved inside it */
} sm_agent_mount;

int sm_agent_encode_mount(sm_agent_wbuf *b, const sm_agent_mount *m);
int sm_agent_decode_mount(const sm_agent_frame *f, sm_agent_mount *m, const char **why);
typedef struct sm_agent_tcp_connect {
    uint16_t port;            /* 1-65535 */
} sm_agent_tcp_connect;

int sm_agent_encode_tcp_connect(sm_agent_wbuf *b, const sm_agent_tcp_connect *m);
int sm_agent_decode_tcp_connect(const sm_agent_frame *f, sm_agent_tcp_connect *m,
                                const char **why);
int sm_agent_encode_system(sm_agent_wbuf *b, const sm_agent_system *m);
int sm_agent_decode_system(const sm_agent_frame *f, sm_agent_system *m, const char **why);

#endif
