/*
 * The 9P server's insides, shared by its files:
 *   p9_server.c    creation, the request loop, dispatch
 *   p9_path.c      checked names, lookups beneath a directory, qids
 *   p9_session.c   version, attach, walk, clunk, flush, xattrs, statfs
 *   p9_ops_file.c  getattr, setattr, lopen, lcreate, read, write, fsync,
 *                  readlink, locks
 *   p9_ops_dir.c   readdir, mkdir, symlink, mknod, link, unlinkat,
 *                  renameat, rename, remove
 * A handler gets the decoded request and a reply writer already past the
 * header; it returns 0 with the reply's body written, or a negative errno
 * that becomes Rlerror.
 */
#ifndef SM_DEVICES_P9_P9_INT_H
#define SM_DEVICES_P9_P9_INT_H

#include <sys/stat.h>

#include "devices/p9/p9_codec.h"
#include "devices/p9/p9_fid.h"
#include "devices/p9/p9_server.h"

struct sm_p9_server {
    int root_fd;            /* O_PATH: the export, or the shared file's directory */
    char *file_name;        /* single-file export: its one entry; else NULL */
    bool read_only;
    dev_t root_dev;
    ino_t root_ino;
    uint32_t msize;         /* negotiated by Tversion */
    sm_p9_fids fids;
    sm_p9_req req;          /* large: kept here rather than on the stack */
    uint8_t *scratch;       /* directory reads */
    size_t scratch_len;
};

typedef int sm_p9_handler(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w);

/* p9_path.c */
bool sm_p9_name_ok(const char *name);
/* openat2 beneath dirfd, never through a symlink; fd or -errno. */
int sm_p9_open_beneath(int dirfd, const char *name, int flags, mode_t mode);
/* Reopen what an O_PATH fd refers to with real access: fd or -errno. */
int sm_p9_reopen(int path_fd, int flags);
void sm_p9_proc_path(char buf[32], int fd);
/* Give a new entry of dirfd (or the open ofd, when name is NULL) to the
 * guest user who made it, where the host allows: best effort. */
void sm_p9_own(int dirfd, const char *name, uint32_t uid, uint32_t gid);
int sm_p9_stat(int fd, struct stat *st);
sm_p9_qid sm_p9_qid_of(const sm_p9_server *s, const struct stat *st);
/* The fid, which must exist (-EBADF) and not be an xattr fid. */
int sm_p9_node(sm_p9_server *s, uint32_t id, sm_p9_fid **out);
/* A directory fid to change entries in, and a valid name: -EROFS on a
 * read-only export, -EPERM for a single-file export's root. */
int sm_p9_dir_for_change(sm_p9_server *s, uint32_t id, const char *name, sm_p9_fid **out);
/* Check that a fid's remembered parent and name still lead to it. */
int sm_p9_located(const sm_p9_fid *f, struct stat *st);
/* The synthetic root's attributes (a read-only directory). */
int sm_p9_vroot_stat(const sm_p9_server *s, struct stat *st);

/* p9_session.c */
sm_p9_handler sm_p9_version, sm_p9_attach, sm_p9_walk, sm_p9_clunk, sm_p9_flush,
    sm_p9_xattrwalk, sm_p9_xattrcreate, sm_p9_statfs;
/* p9_ops_file.c */
sm_p9_handler sm_p9_getattr, sm_p9_setattr, sm_p9_lopen, sm_p9_lcreate, sm_p9_read,
    sm_p9_write, sm_p9_fsync, sm_p9_readlink, sm_p9_lock, sm_p9_getlock;
/* p9_ops_dir.c */
sm_p9_handler sm_p9_readdir, sm_p9_mkdir, sm_p9_symlink, sm_p9_mknod, sm_p9_link,
    sm_p9_unlinkat, sm_p9_renameat, sm_p9_rename, sm_p9_remove;

#endif
