/* supermachine system df|prune (and prune): disk use, and removing what
 * nothing needs: ended VMs, then with -a images no VM uses, then blobs and
 * bakes nothing refers to. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine system df\n"
               "       supermachine system prune [-a] [-f]\n\n"
               "df: the disk taken by images, root filesystems, bakes and VM records.\n"
               "prune: remove ended VMs, then blobs and bakes nothing needs (as gc); with\n"
               "-a also every image no remaining VM uses. Asks first on a terminal;\n"
               "elsewhere -f is required.\n\n"
               "Options:\n"
               "  -a, --all     also remove images no VM uses\n"
               "  -f, --force   do not ask\n"
               "  -h, --help    show this help\n");
}

static int df(void)
{
    sm_disk_usage u = {.size = sizeof u};
    if (sm_get_disk_usage(&u) != 0)
        return sm_cli_fail();
    char a[32], b[32], c[32];
    sm_cli_human_size(u.image_bytes + u.rootfs_bytes, a, sizeof a);
    sm_cli_human_size(u.snapshot_bytes, b, sizeof b);
    sm_cli_human_size(u.vm_bytes, c, sizeof c);
    printf("%-12s %8s %10s\n", "TYPE", "TOTAL", "SIZE");
    printf("%-12s %8" PRIu64 " %10s\n", "Images", u.images, a);
    printf("%-12s %8" PRIu64 " %10s\n", "Snapshots", u.snapshots, b);
    printf("%-12s %8" PRIu64 " %10s\n", "VMs", u.vms, c);
    return 0;
}

static int prune_vms(uint64_t *removed)
{
    sm_vm_info **list;
    size_t n;
    if (sm_vm_list(&list, &n) != 0)
        return sm_cli_fail();
    for (size_t i = 0; i < n; i++)
        if (!list[i]->running && sm_vm_remove(list[i]->id, 0) == 0)
            (*removed)++;
    sm_vm_list_free(list, n);
    return 0;
}

static int in_use(const char *image, sm_vm_info *const *vms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(vms[i]->image, image))
            return 1;
    return 0;
}

static int prune_images(uint64_t *removed)
{
    sm_vm_info **vms = NULL;
    size_t nv = 0;
    sm_image_info **imgs;
    size_t ni;
    if (sm_vm_list(&vms, &nv) != 0)
        return sm_cli_fail();
    if (sm_image_list(&imgs, &ni) != 0) {
        sm_vm_list_free(vms, nv);
        return sm_cli_fail();
    }
    for (size_t i = 0; i < ni; i++) {
        const char *name = imgs[i]->name[0] ? imgs[i]->name : imgs[i]->digest;
        if (!in_use(name, vms, nv) && sm_image_remove(name) == 0)
            (*removed)++;
    }
    sm_image_list_free(imgs, ni);
    sm_vm_list_free(vms, nv);
    return 0;
}

static int confirm(int all, int force)
{
    if (force)
        return 0;
    if (!isatty(STDIN_FILENO))
        return sm_cli_usage_error("system prune", "removes data: confirm with -f");
    printf("This removes ended VMs%s, and blobs and bakes nothing needs.\n"
           "Are you sure? [y/N] ", all ? ", images no VM uses" : "");
    fflush(stdout);
    char line[16] = "";
    if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y'))
        return SM_CLI_EXIT_FAILURE;
    return 0;
}

static int prune(int all, int force)
{
    int err = confirm(all, force);
    uint64_t vms = 0, images = 0;
    if (err || (err = prune_vms(&vms)) || (all && (err = prune_images(&images))))
        return err;
    sm_gc_result r = {.size = sizeof r}, sr = {.size = sizeof sr};
    if (sm_image_gc(&r) < 0 || sm_snapshot_gc(&sr) < 0)
        return sm_cli_fail();
    char size[32];
    sm_cli_human_size(r.bytes_freed + sr.bytes_freed, size, sizeof size);
    printf("Removed %" PRIu64 " VMs, %" PRIu64 " images, %" PRIu64 " blobs, %" PRIu64
           " snapshots; reclaimed %s\n", vms, images, r.blobs_removed, sr.snapshots_removed,
           size);
    return 0;
}

static int run_sub(const char *sub, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'}, {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'}, {0}};
    int all = 0, force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "afh", opts, NULL)) != -1) {
        if (c == 'a') all = 1;
        else if (c == 'f') force = 1;
        else if (c == 'h') { usage(stdout); return 0; }
        else return sm_cli_usage_error("system", "unknown option");
    }
    if (optind != argc)
        return sm_cli_usage_error("system", "%s takes no arguments", sub);
    if (!strcmp(sub, "df"))
        return all || force ? sm_cli_usage_error("system", "df takes no options") : df();
    return prune(all, force);
}

int sm_cmd_system(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "df") && strcmp(argv[1], "prune")))
        return sm_cli_usage_error("system", "wants df or prune");
    return run_sub(argv[1], argc - 1, argv + 1);
}

int sm_cmd_prune(int argc, char **argv)
{
    argv[0] = "prune";
    return run_sub("prune", argc, argv);
}
