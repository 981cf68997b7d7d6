#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "supermachine.h"
#include "vmm/hv.h"

/* A program tells "no KVM here" from other failures by number. */
static void missing_device_is_no_kvm(void **state)
{
    (void)state;
    int api = 0;
    assert_int_equal(sm_hv_check("/nonexistent/kvm", &api), -SM_ENOKVM);
    assert_non_null(strstr(sm_last_error(), "/nonexistent/kvm does not exist"));
}

static void other_device_is_no_kvm(void **state)
{
    (void)state;
    int api = 0;
    assert_int_equal(sm_hv_check("/dev/null", &api), -SM_ENOKVM);
    assert_non_null(strstr(sm_last_error(), "not a KVM device"));
}

static void names_of_our_errors(void **state)
{
    (void)state;
    assert_string_equal(sm_strerror(-SM_ENOKVM), "No usable KVM");
    assert_string_equal(sm_strerror(SM_EKVMPERM), "No permission to use KVM");
    assert_string_equal(sm_strerror(-ENOENT), strerror(ENOENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_device_is_no_kvm),
        cmocka_unit_test(other_device_is_no_kvm),
        cmocka_unit_test(names_of_our_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
