/* The server: what is exported, and one request in, one reply out. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/p9/p9_int.h"
#include "util/error.h"

static sm_p9_handler *handler(uint8_t type)
{
    switch (type) {
    case SM_P9_TVERSION: return sm_p9_version;
    case SM_P9_TATTACH: return sm_p9_attach;
    case SM_P9_TWALK: return sm_p9_walk;
    case SM_P9_TCLUNK: return sm_p9_clunk;
    case SM_P9_TFLUSH: return sm_p9_flush;
    case SM_P9_TXATTRWALK: return sm_p9_xattrwalk;
    case SM_P9_TXATTRCREATE: return sm_p9_xattrcreate;
    case SM_P9_TSTATFS: return sm_p9_statfs;
    case SM_P9_TGETATTR: return sm_p9_getattr;
    case SM_P9_TSETATTR: return sm_p9_setattr;
    case SM_P9_TLOPEN: return sm_p9_lopen;
    case SM_P9_TLCREATE: return sm_p9_lcreate;
    case SM_P9_TREAD: return sm_p9_read;
    case SM_P9_TWRITE: return sm_p9_write;
    case SM_P9_TFSYNC: return sm_p9_fsync;
    case SM_P9_TREADLINK: return sm_p9_readlink;
    case SM_P9_TLOCK: return sm_p9_lock;
    case SM_P9_TGETLOCK: return sm_p9_getlock;
    case SM_P9_TREADDIR: return sm_p9_readdir;
    case SM_P9_TMKDIR: return sm_p9_mkdir;
    case SM_P9_TSYMLINK: return sm_p9_symlink;
    case SM_P9_TMKNOD: return sm_p9_mknod;
    case SM_P9_TLINK: return sm_p9_link;
    case SM_P9_TUNLINKAT: return sm_p9_unlinkat;
    case SM_P9_TRENAMEAT: return sm_p9_renameat;
    case SM_P9_TRENAME: return sm_p9_rename;
    case SM_P9_TREMOVE: return sm_p9_remove;
    default: return NULL;
    }
}

size_t sm_p9_server_handle(sm_p9_server *s, const uint8_t *msg, size_t len, uint8_t *reply,
                           size_t cap)
{
    sm_p9_req *r = &s->req;
    if (cap > s->msize)
        cap = s->msize;
    uint32_t size = sm_p9_msg_size(msg, len);
    /* The buffer may be longer than the message; never shorter. */
    if (size >= SM_P9_HEADER && size <= len)
        len = size;
    int err = sm_p9_decode(msg, len, r);
    if (len < SM_P9_HEADER)
        return 0;
    if (!err && size > s->msize)
        err = -EMSGSIZE;
    sm_p9_handler *h = handler(r->type);
    if (!err && !h)
        err = -EOPNOTSUPP;
    if (!err) {
        sm_p9_w w;
        sm_p9_w_begin(&w, reply, cap, (uint8_t)(r->type + 1), r->tag);
        err = h(s, r, &w);
        size_t n = err ? 0 : sm_p9_w_end(&w);
        if (n)
            return n;
        if (!err)
            err = -ENOBUFS;   /* the guest's reply buffer is too small */
    }
    /* 9P2000.L's error numbers are Linux's, and so are this host's: an
     * errno goes to the guest as it is. */
    return sm_p9_error_reply(reply, cap, r->tag, -err);
}

static int export_file(sm_p9_server *s, const char *real)
{
    char *dir_copy = strdup(real), *base_copy = strdup(real);
    int err = dir_copy && base_copy ? 0 : -ENOMEM;
    if (!err) {
        s->file_name = strdup(basename(base_copy));
        s->root_fd = open(dirname(dir_copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (!s->file_name)
            err = -ENOMEM;
        else if (s->root_fd < 0)
            err = -errno;
    }
    free(dir_copy);
    free(base_copy);
    return err;
}

static int export(sm_p9_server *s, const char *host_path)
{
    char *real = realpath(host_path, NULL);
    struct stat st;
    if (!real || stat(real, &st) < 0) {
        int e = errno;
        free(real);
        return sm_fail(e, "cannot share %s: %s", host_path, strerror(e));
    }
    int err = 0;
    if (S_ISDIR(st.st_mode)) {
        s->root_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
        err = s->root_fd < 0 ? -errno : 0;
    } else if (S_ISREG(st.st_mode)) {
        err = export_file(s, real);
    } else {
        err = -EINVAL;
    }
    free(real);
    if (err == -EINVAL)
        return sm_fail(EINVAL, "cannot share %s: only a directory or a regular file can be "
                       "shared", host_path);
    struct stat root;
    if (!err && fstat(s->root_fd, &root) < 0)
        err = -errno;
    if (err)
        return sm_fail(-err, "cannot share %s: %s", host_path, strerror(-err));
    s->root_dev = root.st_dev;
    s->root_ino = root.st_ino;
    return 0;
}

int sm_p9_server_create(const char *host_path, bool read_only, sm_p9_server **out)
{
    sm_p9_server *s = calloc(1, sizeof *s);
    if (!s)
        return sm_fail(ENOMEM, "out of memory");
    s->root_fd = -1;
    s->read_only = read_only;
    s->msize = SM_P9_MAX_MSIZE;
    s->scratch_len = SM_P9_MAX_MSIZE;
    s->scratch = malloc(s->scratch_len);
    int err = s->scratch ? export(s, host_path) : sm_fail(ENOMEM, "out of memory");
    if (err) {
        sm_p9_server_destroy(s);
        return err;
    }
    *out = s;
    return 0;
}

void sm_p9_server_limit_fds(sm_p9_server *s, unsigned max)
{
    s->fids.max_fds = max;
}

void sm_p9_server_destroy(sm_p9_server *s)
{
    if (!s)
        return;
    sm_p9_fid_clear(&s->fids);
    if (s->root_fd >= 0)
        close(s->root_fd);
    free(s->file_name);
    free(s->scratch);
    free(s);
}
