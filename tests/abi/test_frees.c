/* The frees of what the library hands out, on lists it really fills, in
 * the unit suite that `make check` runs under ASan and UBSan: a leak or
 * a double free in one of them fails there. (Image lists, infos and
 * import results are freed the same way in tests/oci; exec results,
 * process lists and file contents, which need a VM, in test_frees_vm
 * under valgrind's memcheck.) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/vm_registry.h"
#include "supermachine.h"

static char runtime[] = "/tmp/sm-frees-XXXXXX";

/* An ended detached VM's record, as its worker leaves one. */
static void record(const char *name, int64_t created)
{
    char dir[4096], id[65];
    int lock;
    assert_int_equal(sm_vm_dir_new(dir, sizeof dir, id, &lock), 0);
    close(lock);
    sm_vm_meta m = {.created = created, .detached = 1};
    snprintf(m.id, sizeof m.id, "%s", id);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.image, sizeof m.image, "docker.io/library/busybox:latest");
    assert_int_equal(sm_vm_meta_write(dir, &m), 0);
    assert_int_equal(sm_vm_exit_write(dir, 3), 0);
}

static void vm_list_entries_and_their_free(void **state)
{
    (void)state;
    sm_vm_info **list = NULL;
    size_t n = 99;
    assert_int_equal(sm_vm_list(&list, &n), 0);
    assert_int_equal(n, 0);
    sm_vm_list_free(list, n);

    record("older", 100);
    record("newer", 200);
    assert_int_equal(sm_vm_list(&list, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0]->size, sizeof(sm_vm_info));
    assert_string_equal(list[0]->name, "newer");
    assert_string_equal(list[1]->name, "older");
    assert_int_equal(list[1]->exit_status, 3);
    assert_false(list[1]->running);
    sm_vm_list_free(list, n);
    sm_vm_list_free(NULL, 0);
    assert_int_equal(sm_vm_list(NULL, &n), -EINVAL);
}

static void plain_frees_take_null(void **state)
{
    (void)state;
    sm_free(NULL);
    sm_free(malloc(16));
    sm_vm_processes_free(NULL, 0);
    sm_image_ref_list_free(NULL, 0);
    sm_image_list_free(NULL, 0);
    sm_image_info_free(NULL);
    sm_image_close(NULL);
    sm_exec_result r = SM_EXEC_RESULT_INIT;
    sm_exec_result_free(&r);
    sm_exec_free(NULL);
}

int main(void)
{
    if (!mkdtemp(runtime))
        return 1;
    setenv("XDG_RUNTIME_DIR", runtime, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vm_list_entries_and_their_free),
        cmocka_unit_test(plain_frees_take_null),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", runtime);
    if (system(cmd) != 0)
        return 1;
    return failed;
}
