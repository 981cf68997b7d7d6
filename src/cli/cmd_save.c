/* supermachine save: images as a tar that docker load and OCI tools read. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

/* Into a temporary file renamed over FILE at the end: an interrupted or
 * failed save (a full disk) leaves no half archive under the name. */
static int save_to(const char *file, const char *const *refs, size_t n)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", file, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "supermachine: cannot create %s: %s\n", tmp, strerror(errno));
        return SM_CLI_EXIT_FAILURE;
    }
    int err = sm_image_save(refs, n, fd);
    if (!err && fsync(fd) < 0)
        err = -errno;
    if (close(fd) < 0 && !err)
        err = -errno;
    if (!err && rename(tmp, file) < 0)
        err = -errno;
    if (err) {
        unlink(tmp);
        if (strcmp(sm_last_error(), "no error"))
            return sm_cli_fail();
        fprintf(stderr, "supermachine: cannot write %s: %s\n", file, strerror(-err));
        return SM_CLI_EXIT_FAILURE;
    }
    return 0;
}

int sm_cmd_save(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') {
            out = optarg;
        } else if (c == 'h') {
            printf("Usage: supermachine save [-o FILE] IMAGE...\n\n"
                   "Write the images (names, digests or IDs) as one tar, to FILE or standard\n"
                   "output: an OCI image layout with docker's manifest.json, which docker\n"
                   "load, supermachine load and OCI tools (skopeo oci-archive:) read.\n\n"
                   "Options:\n"
                   "  -o, --output FILE   write FILE (replaced whole at the end)\n"
                   "  -h, --help          show this help\n");
            return 0;
        } else {
            return sm_cli_usage_error("save", "unknown option");
        }
    }
    if (optind >= argc)
        return sm_cli_usage_error("save", "which images?");
    const char *const *refs = (const char *const *)argv + optind;
    size_t n = (size_t)(argc - optind);
    if (out)
        return save_to(out, refs, n);
    if (isatty(STDOUT_FILENO))
        return sm_cli_usage_error("save", "standard output is a terminal: use -o FILE or a "
                                  "redirect");
    return sm_image_save(refs, n, STDOUT_FILENO) ? sm_cli_fail() : 0;
}
