/*
 * The fid table of one 9P session: the guest's 32-bit handles mapped to
 * host file descriptors. Hashed, since the guest chooses the numbers, and
 * bounded twice: at most SM_P9_MAX_FIDS fids, and at most max_fds host
 * descriptors held through them (a fid holds up to three: its own O_PATH,
 * its parent's, and one opened for I/O), so that a guest walking or
 * opening forever gets EMFILE instead of the worker's last descriptors.
 */
#ifndef SM_DEVICES_P9_P9_FID_H
#define SM_DEVICES_P9_P9_FID_H

#include <stdbool.h>
#include <stdint.h>

#define SM_P9_MAX_FIDS 4096
#define SM_P9_MAX_FDS 8192      /* the default descriptor budget */
#define SM_P9_FID_BUCKETS 1024
#define SM_P9_NO_UID UINT32_MAX  /* a fid of no known guest user */

typedef enum sm_p9_fid_kind {
    SM_P9_FID_NODE,     /* a file, directory or symlink of the export */
    SM_P9_FID_VROOT,    /* the synthetic root of a single-file export */
    SM_P9_FID_XATTR,    /* from Txattrwalk: reads as an empty attribute list */
} sm_p9_fid_kind;

typedef struct sm_p9_fid {
    struct sm_p9_fid *next;
    uint32_t id;
    sm_p9_fid_kind kind;
    int fd;             /* O_PATH, never followed through a symlink; -1 for VROOT/XATTR */
    int parent_fd;      /* O_PATH of the directory it was reached from; -1 at the root */
    char *name;         /* its name in parent_fd (Tremove, Trename) */
    int ofd;            /* opened by Tlopen/Tlcreate, else -1 */
    bool opened;        /* VROOT can be opened without an fd */
    bool writable;      /* opened for writing */
    uint32_t uid;       /* the guest user it was attached for (clones inherit it) */
} sm_p9_fid;

typedef struct sm_p9_fids {
    sm_p9_fid *buckets[SM_P9_FID_BUCKETS];
    unsigned count;
    unsigned fds;           /* host descriptors the fids hold */
    unsigned max_fds;       /* 0: SM_P9_MAX_FDS */
} sm_p9_fids;

sm_p9_fid *sm_p9_fid_get(sm_p9_fids *t, uint32_t id);

/* A new, empty fid (fds -1): NULL with -EBADF if id is NOFID or in use,
 * -EMFILE when the table is full. */
sm_p9_fid *sm_p9_fid_add(sm_p9_fids *t, uint32_t id, int *err);

/* Close its fds and forget it. */
void sm_p9_fid_remove(sm_p9_fids *t, uint32_t id);
void sm_p9_fid_clear(sm_p9_fids *t);

/* 0 if fid f (NULL: one still to be added) may hold n descriptors in
 * place of those it holds now; -EMFILE if that passes the budget. */
int sm_p9_fid_room(const sm_p9_fids *t, const sm_p9_fid *f, unsigned n);

/* Replace a fid's location: 0, taking ownership of fd, parent_fd and
 * name; or -EMFILE past the budget, taking nothing. */
int sm_p9_fid_set(sm_p9_fids *t, sm_p9_fid *f, int fd, int parent_fd, char *name);

/* A located fid's new place after a rename (no more descriptors than
 * before: it takes ownership and cannot fail). */
void sm_p9_fid_move(sm_p9_fids *t, sm_p9_fid *f, int parent_fd, char *name);

/* Give f its open descriptor, with the same rules. */
int sm_p9_fid_set_open(sm_p9_fids *t, sm_p9_fid *f, int ofd);

#endif
