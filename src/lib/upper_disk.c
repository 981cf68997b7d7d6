/* A persistent writable layer: a sparse file formatted as ext4 by mke2fs
 * (e2fsprogs), which the guest mounts as the overlay's upper layer. */
#include "lib/upper_disk.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/error.h"

extern char **environ;

/* The superblock sits at byte 1024; its magic 0xEF53 at offset 56. */
static int is_ext(int fd)
{
    uint8_t m[2];
    return pread(fd, m, 2, 1024 + 56) == 2 && m[0] == 0x53 && m[1] == 0xEF;
}

static int format(const char *path)
{
    char tmp[4200], size[32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
    snprintf(size, sizeof size, "%lluk", SM_UPPER_DISK_BYTES >> 10);
    char *argv[] = {"mke2fs", "-q", "-F", "-t", "ext4", "-E",
                    "lazy_itable_init=1,lazy_journal_init=1", tmp, size, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "mke2fs", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    int status = 0;
    if (rc)
        return sm_fail(rc, "cannot run mke2fs (install e2fsprogs): %s", strerror(rc));
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        unlink(tmp);
        return sm_fail(EIO, "mke2fs could not format %s", tmp);
    }
    /* Renamed only once whole, so a crash never leaves a half-made disk
     * under the name the next start would trust. */
    if (rename(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        return sm_fail(err, "cannot create %s: %s", path, strerror(err));
    }
    return 0;
}

int sm_upper_disk_ensure(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return sm_fail(errno, "cannot open the upper disk %s: %s", path, strerror(errno));
    if (fd < 0)
        return format(path);
    int ok = is_ext(fd);
    close(fd);
    return ok ? 0 : sm_fail(EINVAL, "%s exists and is not an ext4 disk; refusing to use or "
                            "overwrite it as the VM's writable layer", path);
}
