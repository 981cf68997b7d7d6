#include "util/file.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

/* A stand-in for an empty file, which mmap refuses. */
static const uint8_t empty_file[1];

int sm_file_map(const char *path, const char *what, sm_mapped_file *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot open %s '%s': %s", what, path, strerror(errno));
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) < 0)
        err = sm_fail(errno, "cannot stat %s '%s': %s", what, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        err = sm_fail(EINVAL, "%s '%s' is not a regular file", what, path);
    if (!err && st.st_size == 0) {
        out->data = empty_file;
    } else if (!err) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            err = sm_fail(errno, "cannot read %s '%s': %s", what, path, strerror(errno));
        else
            out->data = p, out->len = (size_t)st.st_size;
    }
    close(fd);
    return err;
}

void sm_file_unmap(sm_mapped_file *f)
{
    if (f->len)
        munmap((void *)f->data, f->len);
    memset(f, 0, sizeof *f);
}
