/* Landlock by raw syscalls (glibc has no wrappers). Every right the
 * running kernel knows is handled, so what no rule grants is denied; newer
 * rights than the headers know are named here by their ABI numbers. */
#include "worker/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)      /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)     /* ABI 5 */
#endif

#define READ_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define WRITE_RIGHTS                                                              \
    (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |              \
     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |               \
     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |                 \
     LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |                 \
     LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE)

/* Rights by ABI version: each version's set includes the earlier ones. */
static uint64_t handled_rights(int abi)
{
    uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;   /* ABI 1: bits 0-12 */
    if (abi >= 2)
        all |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        all |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return all;
}

static int add_path(int ruleset, const sm_ll_path *p, uint64_t handled)
{
    int fd = open(p->path, O_PATH | O_CLOEXEC);
    /* Missing: whoever opens it next says so in their own words. */
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return sm_fail(errno, "landlock: cannot open %s: %s", p->path, strerror(errno));
    struct stat st;
    uint64_t rights = READ_RIGHTS | (p->access == SM_LL_READ_WRITE ? WRITE_RIGHTS : 0);
    if (p->access == SM_LL_DEVICE)
        rights = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                 LANDLOCK_ACCESS_FS_IOCTL_DEV;
    /* A rule on a file may only carry the rights that apply to files. */
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        rights &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                  LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
    struct landlock_path_beneath_attr attr = {.allowed_access = rights & handled,
                                              .parent_fd = fd};
    int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
    int e = errno;
    /* The descriptor stays open for the worker's life, on purpose: a rule
     * binds an inode, and where the kernel keeps no unused dentries (9p
     * with cache=none, as a share into a VM is mounted) the next lookup
     * of the path would make a new inode no rule names. Held, the dentry
     * and its inode are the ones every later lookup finds. */
    if (rc < 0)
        close(fd);
    return rc < 0 ? sm_fail(e, "landlock: cannot allow %s: %s", p->path, strerror(e)) : 0;
}

int sm_landlock_restrict(const sm_ll_path *paths, unsigned n)
{
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
                           LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0)
        return errno == ENOSYS || errno == EOPNOTSUPP ? 0
               : sm_fail(errno, "landlock: %s", strerror(errno));
    uint64_t handled = handled_rights(abi);
    struct landlock_ruleset_attr ra = {.handled_access_fs = handled};
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0);
    if (ruleset < 0)
        return sm_fail(errno, "landlock: cannot make a ruleset: %s", strerror(errno));
    int err = 0;
    for (unsigned i = 0; i < n && !err; i++)
        err = add_path(ruleset, &paths[i], handled);
    if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        err = sm_fail(errno, "cannot set no-new-privs: %s", strerror(errno));
    if (!err && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
        err = sm_fail(errno, "landlock: cannot restrict the worker: %s", strerror(errno));
    close(ruleset);
    return err ? err : abi;
}
