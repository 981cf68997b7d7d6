/*
 * sm_vm_config.root_dir refused before anything starts (no KVM needed):
 * a missing directory and a file are named; an image, a snapshot or an
 * upper disk with it, and root_read_only without it, contradict it. No
 * VM directory is left behind by a refusal.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

static char scratch[] = "/tmp/sm-rootdir-test-XXXXXX";
static char run_dir[256], root[256], file[256];

/* Entries in the VM registry (the runtime directory), hidden ones too. */
static int vm_dirs(void)
{
    char base[300];
    snprintf(base, sizeof base, "%s/supermachine", run_dir);
    DIR *d = opendir(base);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "names") &&
             strncmp(e->d_name, "lock", 4);
    if (d)
        closedir(d);
    return n;
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(scratch))
        return -1;
    snprintf(run_dir, sizeof run_dir, "%s/run", scratch);
    snprintf(root, sizeof root, "%s/root", scratch);
    snprintf(file, sizeof file, "%s/file", scratch);
    char data[300];
    snprintf(data, sizeof data, "%s/data", scratch);
    if (mkdir(run_dir, 0700) || mkdir(root, 0755) || mkdir(data, 0700))
        return -1;
    FILE *f = fopen(file, "w");
    if (!f)
        return -1;
    fclose(f);
    setenv("XDG_RUNTIME_DIR", run_dir, 1);
    setenv("SUPERMACHINE_DATA_DIR", data, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

static void refused(const sm_image *image, sm_vm_config c, int err, const char *says)
{
    sm_vm *vm = NULL;
    c.size = sizeof c;
    assert_int_equal(sm_vm_start(image, &c, &vm), -err);
    assert_null(vm);
    if (!strstr(sm_last_error(), says))
        fail_msg("error '%s' does not say '%s'", sm_last_error(), says);
    assert_int_equal(vm_dirs(), 0);
}

static void missing_dir(void **state)
{
    (void)state;
    char gone[300];
    snprintf(gone, sizeof gone, "%s/not-there", scratch);
    refused(NULL, (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = gone}, ENOENT, gone);
    refused(NULL, (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = ""}, EINVAL,
            "root_dir is empty");
}

static void file_not_dir(void **state)
{
    (void)state;
    refused(NULL, (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = file}, ENOTDIR, file);
}

/* The image is never looked at: the contradiction is found first. */
static void with_image(void **state)
{
    (void)state;
    const sm_image *image = (const sm_image *)(uintptr_t)1;
    refused(image, (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = root}, EINVAL,
            "not both");
}

static void contradictions(void **state)
{
    (void)state;
    static const sm_disk disks[8] = {{"/a", 1}};
    refused(NULL, (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = root, .snapshot = root},
            EINVAL, "cannot be given with snapshot");
    refused(NULL,
            (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = root, .upper_disk = file},
            EINVAL, "written in place");
    refused(
        NULL,
        (sm_vm_config){.size = sizeof(sm_vm_config), .root_dir = root, .disks = disks, .ndisks = 8},
        EINVAL, "at most 7");
    refused(NULL, (sm_vm_config){.size = sizeof(sm_vm_config), .root_read_only = 1}, EINVAL,
            "set root_dir too");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_dir),
        cmocka_unit_test(file_not_dir),
        cmocka_unit_test(with_image),
        cmocka_unit_test(contradictions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
