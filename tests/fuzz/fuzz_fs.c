#include "fuzz_fs.h"

#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SCRATCH 4

static char scratch[MAX_SCRATCH][96];
static int nscratch;

/* Empties the directory fd, and closes it. A directory a run made
 * unreadable or unsearchable is opened up first. */
static void empty_fd(int fd)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue;
        fchmodat(dirfd(d), e->d_name, 0700, 0);
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            empty_fd(sub);
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
        }
    }
    closedir(d);
}

void fuzz_empty(const char *path)
{
    chmod(path, 0755);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        empty_fd(fd);
}

static void remove_scratch(void)
{
    for (int i = 0; i < nscratch; i++) {
        fuzz_empty(scratch[i]);
        rmdir(scratch[i]);
    }
}

const char *fuzz_scratch(const char *name)
{
    struct stat st;
    const char *base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0
                           ? "/dev/shm" : "/tmp";
    if (nscratch == MAX_SCRATCH)
        abort();
    char *dir = scratch[nscratch];
    snprintf(dir, sizeof scratch[0], "%s/sm-fuzz-%s-XXXXXX", base, name);
    if (!mkdtemp(dir))
        abort();
    if (nscratch++ == 0)
        atexit(remove_scratch);
    return dir;
}

void fuzz_put(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

static const char *input_dir;
static char input_path[256];

const char *fuzz_beside_input(const char *name)
{
    if (!input_dir)
        input_dir = fuzz_scratch("input");
    snprintf(input_path, sizeof input_path, "%s/%s", input_dir, name);
    return input_path;
}

const char *fuzz_input_file(const char *name, const void *data, size_t len)
{
    const char *path = fuzz_beside_input(name);
    fuzz_put(input_dir, name, data, len);
    return path;
}

char *fuzz_string(const void *data, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, data, len);
        s[len] = '\0';
    }
    return s;
}
