/* supermachine cp: files between the host and a VM (docker cp, for
 * regular files). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

/* "NAME:PATH" names a path in VM NAME: docker's rule for names, so a host
 * path with a colon is written "./a:b". */
static const char *vm_part(const char *arg, char *vm, size_t len)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= len || !isalnum((unsigned char)arg[0]))
        return NULL;
    for (const char *p = arg; p < colon; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return NULL;
    snprintf(vm, len, "%.*s", (int)(colon - arg), arg);
    return colon + 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int fail_path(const char *what, const char *path, int err)
{
    fprintf(stderr, "supermachine: %s %s: %s\n", what, path, strerror(err));
    return SM_CLI_EXIT_FAILURE;
}

static int from_vm(sm_vm *vm, const char *src, const char *dst)
{
    sm_file_stat st;
    if (sm_vm_stat(vm, src, &st) != 0)
        return sm_cli_fail();
    if (S_ISDIR(st.mode)) {
        fprintf(stderr, "supermachine: %s is a directory: cp copies files\n", src);
        return SM_CLI_EXIT_FAILURE;
    }
    void *data;
    size_t len;
    if (sm_vm_read_file(vm, src, 0, &data, &len) != 0)
        return sm_cli_fail();
    char target[4096];
    struct stat hs;
    if (stat(dst, &hs) == 0 && S_ISDIR(hs.st_mode))
        snprintf(target, sizeof target, "%s/%s", dst, base_name(src));
    else
        snprintf(target, sizeof target, "%s", dst);
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.mode & 07777);
    int err = fd < 0 ? errno : 0;
    if (!err && write(fd, data, len) != (ssize_t)len)
        err = errno ? errno : EIO;
    if (fd >= 0 && close(fd) < 0 && !err)
        err = errno;
    free(data);
    return err ? fail_path("cannot write", target, err) : 0;
}

static int to_vm(sm_vm *vm, const char *src, const char *dst)
{
    struct stat hs;
    if (stat(src, &hs) < 0)
        return fail_path("cannot read", src, errno);
    if (S_ISDIR(hs.st_mode)) {
        fprintf(stderr, "supermachine: %s is a directory: cp copies files\n", src);
        return SM_CLI_EXIT_FAILURE;
    }
    FILE *f = fopen(src, "rbe");
    char *data = malloc(hs.st_size ? (size_t)hs.st_size : 1);
    size_t len = f && data ? fread(data, 1, (size_t)hs.st_size, f) : 0;
    int err = !f ? errno : !data ? ENOMEM : ferror(f) ? EIO : 0;
    if (f)
        fclose(f);
    if (err) {
        free(data);
        return fail_path("cannot read", src, err);
    }
    char target[4096];
    sm_file_stat gs;
    if (sm_vm_stat(vm, dst, &gs) == 0 && S_ISDIR(gs.mode))
        snprintf(target, sizeof target, "%s/%s", dst, base_name(src));
    else
        snprintf(target, sizeof target, "%s", dst);
    err = sm_vm_write_file(vm, target, data, len, hs.st_mode & 07777, 0);
    free(data);
    return err ? sm_cli_fail() : 0;
}

int sm_cmd_cp(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("cp", "unknown option");
        printf("Usage: supermachine cp VM:SRC DST\n"
               "       supermachine cp SRC VM:DST\n\n"
               "Copy a file out of or into a running VM, keeping its mode; into a\n"
               "directory, under the file's own name. Directories are not copied.\n");
        return 0;
    }
    if (argc - optind != 2)
        return sm_cli_usage_error("cp", "wants a source and a destination");
    char vm_src[128], vm_dst[128];
    const char *src = vm_part(argv[optind], vm_src, sizeof vm_src);
    const char *dst = vm_part(argv[optind + 1], vm_dst, sizeof vm_dst);
    if (!!src == !!dst)
        return sm_cli_usage_error("cp", "one of source and destination must be VM:PATH");
    sm_vm *vm;
    if (sm_vm_open(src ? vm_src : vm_dst, &vm) != 0)
        return sm_cli_fail();
    int status = src ? from_vm(vm, src, argv[optind + 1]) : to_vm(vm, argv[optind], dst);
    sm_vm_release(vm);
    return status;
}
