/* Copies between the host and a VM, as docker cp makes them: shared by
 * vm_copy.c (docker's rules for SRC and DST) and the walks and writers
 * of copy_*.c. Everything the guest says (names, types, link targets,
 * sizes) is checked here before the host acts on it. */
#ifndef SM_LIB_COPY_H
#define SM_LIB_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/client.h"

/* Directories nested deeper are refused: a guest's bind mounts can make a
 * tree without end, and each level holds an fd on the host. */
#define COPY_MAX_DEPTH 128
/* The guest's listings held at once (those of the directories a walk is
 * in) are at most this long together. */
#define COPY_LIST_MAX (64u << 20)

/* Where a walk of the guest's tree puts what it finds. `parent` and
 * `*child` are the sink's own handles for directories. */
typedef struct copy_sink {
    void *ctx;
    int (*dir)(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
               void **child);
    /* The directory's entries are done (or failed): finish and free it. */
    int (*dir_end)(void *ctx, void *dir, const sm_agent_stat_reply *st);
    /* A regular file: read it with sm_agent_read_file(c, path, ...). */
    int (*file)(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                sm_agent_conn *c, const char *path);
    int (*link)(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                const char *target);
} copy_sink;

/* copy_guest.c: the guest's `path` (its stat in *st) as `name` in parent,
 * a directory with all it holds. Special files (devices, FIFOs, sockets)
 * are left out. */
int copy_guest_entry(sm_agent_conn *c, const char *path, const sm_agent_stat_reply *st,
                     const copy_sink *s, void *parent, const char *name);
/* The entries of the guest's directory `path` into the sink's dir. */
int copy_guest_children(sm_agent_conn *c, const char *path, const copy_sink *s, void *dir);
/* A name one directory entry may have: not empty, ".", ".." or with a '/'. */
bool copy_name_ok(const char *name, size_t len);
/* "dir" + "/" + "name", malloc'd (NULL: out of memory, error set). */
char *copy_join(const char *dir, const char *name);

/* copy_to_host.c: a sink writing under a host directory; handles are fds. */
extern const copy_sink copy_host_sink;
/* copy_to_tar.c: the guest's path as a tar stream on fd, named `name`. */
int copy_guest_tar(sm_agent_conn *c, const char *path, const sm_agent_stat_reply *st,
                   const char *name, int fd);

/* copy_from_host.c: the host's `name` in dir_fd (AT_FDCWD: a path) to the
 * guest's path; follow: a symlink there is followed. archive: keep uid/gid. */
int copy_host_entry(sm_agent_conn *c, int dir_fd, const char *name, const char *path,
                    bool follow, bool archive);
/* The entries of the host directory dir_fd into the guest's directory. */
int copy_host_children(sm_agent_conn *c, int dir_fd, const char *path, bool archive);

/* copy_from_tar.c: a tar stream on fd extracted into the guest's directory. */
int copy_tar_guest(sm_agent_conn *c, int fd, const char *dir, bool archive);

#endif
