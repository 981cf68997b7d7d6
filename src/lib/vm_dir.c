#include "lib/vm_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

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

int sm_vm_dir_read_number(const char *dir, const char *name, long *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    long n = 0;
    int ok = f && fscanf(f, "%ld", &n) == 1 && n > 0;
    if (f)
        fclose(f);
    *out = ok ? n : 0;
    return ok ? 0 : -ENOENT;
}
