/* supermachine cp: files and directories between the host and a VM, or a
 * tar stream of them (docker cp). The rules live in the library
 * (sm_vm_copy_in/out and their tar forms); this parses the arguments. */
#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
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

static int usage(void)
{
    printf("Usage: supermachine cp [OPTIONS] VM:SRC DST|-\n"
           "       supermachine cp [OPTIONS] SRC|- VM:DST\n\n"
           "Copy files and directories out of or into a running VM, as docker cp:\n"
           "into an existing directory under the source's own name, else as DST;\n"
           "SRC/. copies a directory's content; - is a tar stream on stdout or stdin.\n\n"
           "Options:\n"
           "  -a, --archive       keep uid/gid in the VM (else files there are root's)\n"
           "  -L, --follow-link   follow SRC if it is a symlink\n"
           "  -q, --quiet         accepted for docker's sake (no progress is shown)\n");
    return 0;
}

static int copy(sm_vm *vm, const char *src, const char *dst, bool out, int flags)
{
    if (out)
        return !strcmp(dst, "-") ? sm_vm_copy_out_tar(vm, src, STDOUT_FILENO, flags)
                                 : sm_vm_copy_out(vm, src, dst, flags);
    return !strcmp(src, "-") ? sm_vm_copy_in_tar(vm, STDIN_FILENO, dst, flags)
                             : sm_vm_copy_in(vm, src, dst, flags);
}

int sm_cmd_cp(int argc, char **argv)
{
    static const struct option opts[] = {{"archive", no_argument, NULL, 'a'},
                                         {"follow-link", no_argument, NULL, 'L'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c, flags = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+aLqh", opts, NULL)) != -1) {
        if (c == 'h')
            return usage();
        if (c == 'a')
            flags |= SM_COPY_ARCHIVE;
        else if (c == 'L')
            flags |= SM_COPY_FOLLOW_LINK;
        else if (c != 'q')
            return sm_cli_usage_error("cp", "unknown option");
    }
    if (argc - optind != 2)
        return sm_cli_usage_error("cp", "wants a source and a destination");
    char vm_src[128], vm_dst[128];
    const char *src = vm_part(argv[optind], vm_src, sizeof vm_src);
    const char *dst = vm_part(argv[optind + 1], vm_dst, sizeof vm_dst);
    if (!!src == !!dst)
        return sm_cli_usage_error("cp", "one of source and destination must be VM:PATH");
    if (!*(src ? src : dst))
        return sm_cli_usage_error("cp", "the VM's path is empty");
    sm_vm *vm;
    if (sm_vm_open(src ? vm_src : vm_dst, &vm) != 0)
        return sm_cli_fail();
    int err = src ? copy(vm, src, argv[optind + 1], true, flags)
                  : copy(vm, argv[optind], dst, false, flags);
    sm_vm_release(vm);
    return err ? sm_cli_fail() : 0;
}
