#include "lib/vm_shares.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/client_mount.h"
#include "agent/protocol.h"
#include "util/error.h"
#include "vmm/machine.h"

static void tag_of(unsigned i, char *buf, size_t len)
{
    snprintf(buf, len, "smshare%u", i);
}

static int check_one(const sm_share *s)
{
    struct stat st;
    if (!s->host_path || !*s->host_path)
        return sm_fail(EINVAL, "a share needs a host path");
    if (!s->guest_path || s->guest_path[0] != '/')
        return sm_fail(EINVAL, "cannot share %s at '%s': the guest path must be absolute",
                       s->host_path, s->guest_path ? s->guest_path : "");
    if (strcmp(s->guest_path, "/") == 0)
        return sm_fail(EINVAL, "cannot share %s over the guest's root directory", s->host_path);
    if (strlen(s->host_path) >= PATH_MAX || strlen(s->guest_path) >= 4096)
        return sm_fail(ENAMETOOLONG, "cannot share %.100s: the path is too long", s->host_path);
    if (stat(s->host_path, &st) < 0)
        return sm_fail(errno, "cannot share %s: %s", s->host_path, strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return sm_fail(EINVAL, "cannot share %s: only a directory or a regular file can be "
                       "shared", s->host_path);
    return 0;
}

int sm_vm_shares_check(const sm_vm_config *c)
{
    if (c->nshares > SM_VM_MAX_SHARES)
        return sm_fail(EINVAL, "%u shares: at most %d directories or files can be shared",
                       c->nshares, SM_VM_MAX_SHARES);
    if (c->nshares && !c->shares)
        return sm_fail(EINVAL, "nshares is %u but shares is NULL", c->nshares);
    for (unsigned i = 0; i < c->nshares; i++) {
        int err = check_one(&c->shares[i]);
        if (err)
            return err;
    }
    return 0;
}

/* Absolute, links resolved: the worker may not share our cwd's view,
 * and a single-file share is named by the file's real name. */
static int spec_path(const char *given, char *out, size_t len)
{
    char *real = realpath(given, NULL);
    const char *path = real ? real : given;
    int err = 0;
    if (snprintf(out, len, "%s", path) >= (int)len)
        err = sm_fail(ENAMETOOLONG, "cannot share %.100s: the path is too long", path);
    free(real);
    return err;
}

int sm_vm_share_spec(const sm_vm_config *c, unsigned i, sm_worker_share *out)
{
    const sm_share *s = &c->shares[i];
    tag_of(i, out->tag, sizeof out->tag);
    out->read_only = s->read_only;
    return spec_path(s->host_path, out->host_path, sizeof out->host_path);
}

int sm_vm_root_share_spec(const sm_vm_config *c, sm_worker_share *out)
{
    snprintf(out->tag, sizeof out->tag, "%s", SM_VM_ROOT_TAG);
    out->read_only = c->root_read_only;
    return spec_path(c->root_dir, out->host_path, sizeof out->host_path);
}

/* The single-file share's one entry: the host file's real name. */
static char *entry_of(const sm_share *s)
{
    struct stat st;
    if (stat(s->host_path, &st) < 0 || S_ISDIR(st.st_mode))
        return NULL;
    char *real = realpath(s->host_path, NULL);
    char *name = real ? strdup(basename(real)) : NULL;
    free(real);
    return name;
}

static int mount_one(sm_agent_conn *conn, const sm_vm_config *c, unsigned i)
{
    const sm_share *s = &c->shares[i];
    char tag[16];
    tag_of(i, tag, sizeof tag);
    char *entry = entry_of(s);
    sm_agent_mount m = {.tag = tag, .path = s->guest_path, .entry = entry,
                        .read_only = s->read_only};
    int err = sm_agent_mount_share(conn, &m);
    free(entry);
    if (err)
        return sm_fail_context(err, "sharing %s at %s", s->host_path, s->guest_path);
    return 0;
}

int sm_vm_shares_mount(sm_vm *vm, const sm_vm_config *c)
{
    if (!c->nshares)
        return 0;
    int fd;
    sm_agent_conn *conn;
    int err = sm_vm_connect_vsock(vm, SM_AGENT_PORT, &fd);
    if (err)
        return sm_fail_context(err, "mounting shares: the VM's agent is not answering");
    if ((err = sm_agent_conn_open(fd, &conn)) != 0)
        return err;
    for (unsigned i = 0; !err && i < c->nshares; i++)
        err = mount_one(conn, c, i);
    sm_agent_conn_close(conn);
    return err;
}
