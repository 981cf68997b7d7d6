/*
 * sm_image_from_snapshot: a snapshot taken with sm_vm_snapshot, opened as
 * an image, starts VMs that resume it (two at once, each with the file the
 * snapshotted VM wrote), and the calls that cannot take one refuse it.
 * The refusals of bad directories need no KVM and run first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

static char scratch[] = "/tmp/sm-snapimg-XXXXXX";

static void missing_dir_is_enoent(void **state)
{
    (void)state;
    sm_image *img = NULL;
    assert_int_equal(sm_image_from_snapshot("/no/such/snapshot", &img), -ENOENT);
    assert_null(img);
    assert_non_null(strstr(sm_last_error(), "/no/such/snapshot"));
    assert_int_equal(sm_image_from_snapshot(NULL, &img), -EINVAL);
}

static void damaged_dir_is_refused(void **state)
{
    (void)state;
    char dir[300], cmd[400];
    snprintf(dir, sizeof dir, "%s/damaged", scratch);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && echo garbage > %s/snapshot.json", dir, dir);
    assert_int_equal(system(cmd), 0);
    sm_image *img = NULL;
    assert_true(sm_image_from_snapshot(dir, &img) < 0);
    assert_null(img);
    assert_non_null(strstr(sm_last_error(), "cannot restore snapshot"));
}

static char *run(sm_vm *vm, const char *const *argv)
{
    sm_exec ex = SM_EXEC_INIT;
    sm_exec_result r = SM_EXEC_RESULT_INIT;
    ex.argv = argv;
    if (sm_vm_exec(vm, &ex, &r) != 0 || r.exit_status != 0) {
        fprintf(stderr, "%s: exit %d: %s\n", argv[0], r.exit_status, sm_last_error());
        sm_exec_result_free(&r);
        return NULL;
    }
    char *out = strdup(r.stdout_data ? r.stdout_data : "");
    sm_exec_result_free(&r);
    return out;
}

/* A VM (the built-in initramfs) with /tmp/mark written, snapshotted. */
static void take(const char *dir)
{
    sm_vm_config c = SM_VM_CONFIG_INIT;
    c.start_timeout_ms = 600000;
    sm_vm *vm;
    if (sm_vm_start(NULL, &c, &vm) != 0)
        fail_msg("sm_vm_start: %s", sm_last_error());
    free(run(vm, ARGV("sh", "-c", "echo before > /tmp/mark")));
    if (sm_vm_snapshot(vm, dir) != 0)
        fail_msg("sm_vm_snapshot: %s", sm_last_error());
    sm_vm_stop(vm);
}

static void resumes_in_each_vm(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/snap", scratch);
    take(dir);
    sm_image *img;
    if (sm_image_from_snapshot(dir, &img) != 0)
        fail_msg("sm_image_from_snapshot: %s", sm_last_error());
    assert_null(sm_image_get_info(img));  /* taken of a VM without an image */
    assert_null(sm_image_rootfs(img));

    sm_vm *a, *b;
    if (sm_vm_start(img, NULL, &a) != 0 || sm_vm_start(img, NULL, &b) != 0)
        fail_msg("sm_vm_start: %s", sm_last_error());
    assert_int_equal(sm_vm_restored(a), 1);
    assert_int_equal(sm_vm_restored(b), 1);
    char *ma = run(a, ARGV("cat", "/tmp/mark")), *mb = run(b, ARGV("cat", "/tmp/mark"));
    assert_non_null(ma);
    assert_non_null(mb);
    assert_string_equal(ma, "before\n");
    assert_string_equal(mb, "before\n");
    free(ma), free(mb);
    /* Each its own from there on. */
    free(run(a, ARGV("sh", "-c", "echo a > /tmp/mark")));
    char *again = run(b, ARGV("cat", "/tmp/mark"));
    assert_non_null(again);
    assert_string_equal(again, "before\n");
    free(again);
    sm_vm_stop(a);
    sm_vm_stop(b);

    /* What cannot take a snapshot as its image says so. */
    sm_vm_config c = SM_VM_CONFIG_INIT;
    c.snapshot = dir;
    sm_vm *vm = NULL;
    assert_int_equal(sm_vm_start(img, &c, &vm), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "leave the config's snapshot NULL"));
    char path[4096];
    assert_int_equal(sm_image_bake(img, NULL, path, sizeof path), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "nothing to bake"));
    sm_image_close(img);
}

static int teardown_group(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (!mkdtemp(scratch))
        return 1;
    const struct CMUnitTest host[] = {
        cmocka_unit_test(missing_dir_is_enoent),
        cmocka_unit_test(damaged_dir_is_refused),
    };
    const struct CMUnitTest vm[] = {
        cmocka_unit_test(resumes_in_each_vm),
    };
    if (argc > 1 && !strcmp(argv[1], "host"))
        return cmocka_run_group_tests(host, NULL, teardown_group);
    return cmocka_run_group_tests(vm, NULL, teardown_group);
}
