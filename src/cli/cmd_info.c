/* supermachine info and version: what this machine can do and where
 * things live. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "supermachine.h"

static const char *kind_name(sm_kvm_kind k)
{
    switch (k) {
    case SM_KVM_HARDWARE: return "hardware (the CPU's own VMX/SVM)";
    case SM_KVM_NESTED: return "nested (KVM inside a VM)";
    case SM_KVM_PVM: return "kvm_pvm (paravirtual; guest kernels run emulated, boots are slower)";
    default: return "none";
    }
}

static void print_kvm(const sm_kvm_status *k)
{
    if (k->error)
        printf("KVM:           unusable: %s\n", k->detail);
    else
        printf("KVM:           %s, %s (API %d)\n", k->device, kind_name(k->kind),
               k->api_version);
}

static void print_usage(void)
{
    sm_disk_usage u = {.size = sizeof u};
    char a[32], b[32], c[32], d[32];
    if (sm_get_disk_usage(&u) != 0)
        return;
    sm_cli_human_size(u.image_bytes, a, sizeof a);
    sm_cli_human_size(u.rootfs_bytes, b, sizeof b);
    sm_cli_human_size(u.snapshot_bytes, c, sizeof c);
    sm_cli_human_size(u.vm_bytes, d, sizeof d);
    printf("Images:        %llu (%s of layers, %s of root filesystems)\n",
           (unsigned long long)u.images, a, b);
    printf("Snapshots:     %llu (%s)\n", (unsigned long long)u.snapshots, c);
    printf("VMs:           %llu (%s)\n", (unsigned long long)u.vms, d);
}

static int parse_help(const char *cmd, int argc, char **argv, const char *text)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error(cmd, "unknown option");
        printf("%s", text);
        return -1;
    }
    if (optind < argc)
        return sm_cli_usage_error(cmd, "takes no arguments");
    return 0;
}

int sm_cmd_info(int argc, char **argv)
{
    int err = parse_help("info", argc, argv,
                         "Usage: supermachine info\n\n"
                         "Show whether VMs can start here (and on which KVM), where images,\n"
                         "bakes and VM records live, which guest kernel VMs boot, and how\n"
                         "much disk each kind of data takes. Exits 0 even without KVM.\n");
    if (err)
        return err < 0 ? 0 : err;
    sm_kvm_status k = {.size = sizeof k};
    sm_kvm_check(&k);
    sm_paths p = {.size = sizeof p};
    if (sm_get_paths(&p) != 0)
        return sm_cli_fail();
    struct utsname un;
    uname(&un);
    printf("Version:       %d.%d\n", SM_VERSION_MAJOR, SM_VERSION_MINOR);
    printf("Host:          %s %s %s\n", un.sysname, un.release, un.machine);
    print_kvm(&k);
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    printf("Config:        %s%s\n", cfg->path, cfg->found ? "" : " (none)");
    printf("Data:          %s\n", p.data_dir);
    printf("Runtime:       %s\n", p.runtime_dir);
    printf("Guest kernel:  %s\n", p.kernel[0] ? p.kernel : p.kernel_error);
    printf("Guest init:    %s\n", p.initramfs[0] ? p.initramfs : "missing");
    printf("Worker:        %s\n", p.worker[0] ? p.worker : "missing");
    print_usage();
    return 0;
}

int sm_cmd_version(int argc, char **argv)
{
    int err = parse_help("version", argc, argv,
                         "Usage: supermachine version\n\nShow the versions of the CLI and the "
                         "library.\n");
    if (err)
        return err < 0 ? 0 : err;
    printf("supermachine %d.%d\nlibsupermachine %d.%d\n", SM_VERSION_MAJOR, SM_VERSION_MINOR,
           SM_VERSION_MAJOR, SM_VERSION_MINOR);
    return 0;
}
