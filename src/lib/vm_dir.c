#include "lib/vm_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
}

int sm_vm_dir_create(char *out, size_t len)
{
    char base[512];
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt) {
        snprintf(base, sizeof base, "%s/supermachine", rt);
    } else {
        snprintf(base, sizeof base, "/tmp/supermachine-%u", (unsigned)getuid());
    }
    int err = ensure_dir(base);
    struct stat st;
    /* A shared /tmp: the directory must be ours and private. */
    if (!err && (lstat(base, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
                 (st.st_mode & 077)))
        err = sm_fail(EPERM, "%s is not a private directory of this user", base);
    if (err)
        return err;
    if ((size_t)snprintf(out, len, "%s/vm-XXXXXX", base) >= len)
        return sm_fail(ENAMETOOLONG, "runtime directory path too long");
    if (!mkdtemp(out))
        return sm_fail(errno, "cannot create a VM directory in %s: %s", base, strerror(errno));
    return 0;
}

void sm_vm_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

void sm_vm_dir_last_line(const char *dir, const char *name, char *out, size_t len)
{
    char path[4200], buf[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(buf, sizeof buf, f))
        if (buf[0] != '\n')
            snprintf(out, len, "%s", buf);
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}
