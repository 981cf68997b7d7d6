/* MKDIR and LINK: what a copy into the VM creates besides files
 * (directories, symlinks, hard links). As tar extraction does, an entry
 * of another kind in the way is replaced, a directory never. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"

static int reply_errno(conn *c, int err, const char *what, const char *path)
{
    return conn_reply_error(c, err, "cannot %s %s: %s", what, path, strerror(err));
}

static int parents(const sm_agent_file_req *r)
{
    return r->mkdirs ? files_mkdir_parents(r->path) : 0;
}

/* Remove what stands at path unless it is a directory: -EEXIST then. */
static int clear_way(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EEXIST;
    return unlink(path) < 0 ? -errno : 0;
}

static int owner(const sm_agent_file_req *r)
{
    if (r->uid < 0 && r->gid < 0)
        return 0;
    return lchown(r->path, r->uid >= 0 ? (uid_t)r->uid : (uid_t)-1,
                  r->gid >= 0 ? (gid_t)r->gid : (gid_t)-1) < 0 ? -errno : 0;
}

static int make_dir(const sm_agent_file_req *r)
{
    int err = parents(r);
    if (err)
        return err;
    if (mkdir(r->path, 0700) < 0) {
        struct stat st;
        if (errno != EEXIST || lstat(r->path, &st) < 0)
            return -errno;
        if (!S_ISDIR(st.st_mode) && ((err = clear_way(r->path)) || mkdir(r->path, 0700) < 0))
            return err ? err : -errno;
    }
    /* chmod, not mkdir's mode: the umask must not take bits away. */
    if ((err = owner(r)))
        return err;
    return chmod(r->path, r->mode) < 0 ? -errno : 0;
}

int nodes_mkdir(conn *c, const sm_agent_file_req *r)
{
    int err = make_dir(r);
    if (err)
        return reply_errno(c, -err, "make the directory", r->path);
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}

static int make_link(const sm_agent_file_req *r)
{
    int err = parents(r);
    if (err)
        return err;
    for (int tries = 0;; tries++) {
        if ((r->hard ? link(r->target, r->path) : symlink(r->target, r->path)) == 0)
            break;
        if (errno != EEXIST || tries || (err = clear_way(r->path)))
            return err ? err : -errno;
    }
    /* A hard link's owner is its file's: leave it. */
    return r->hard ? 0 : owner(r);
}

int nodes_link(conn *c, const sm_agent_file_req *r)
{
    int err = make_link(r);
    if (err)
        return reply_errno(c, -err, "make the link", r->path);
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}
