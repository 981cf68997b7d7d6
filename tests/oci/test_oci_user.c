#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "oci/user.h"
#include "supermachine.h"

static const char passwd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "broken line\n"
    "nginx:x:101:101:nginx user:/var/cache/nginx:/sbin/nologin\n"
    "app:x:1000:1000::/home/app:/bin/sh\n"
    "nohome:x:1001:1001:::/bin/sh\n";

static const char group[] =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "nginx:x:101:\n"
    "app:x:1000:\n"
    "audio:x:29:nginx,app\n";

static sm_oci_user resolve(const char *user)
{
    sm_oci_user u;
    if (sm_oci_user_resolve(user, passwd, group, &u))
        fail_msg("'%s': %s", user ? user : "(null)", sm_last_error());
    return u;
}

static void resolves_names_and_ids(void **state)
{
    (void)state;
    sm_oci_user u = resolve(NULL);
    assert_int_equal(u.uid, 0);
    assert_string_equal(u.home, "/root");
    assert_int_equal(u.group_count, 1);   /* wheel */
    u = resolve("nginx");
    assert_int_equal(u.uid, 101);
    assert_int_equal(u.gid, 101);
    assert_string_equal(u.home, "/var/cache/nginx");
    assert_int_equal(u.group_count, 1);
    assert_int_equal(u.groups[0], 29);
    u = resolve("1000");
    assert_int_equal(u.gid, 1000);
    assert_string_equal(u.home, "/home/app");
    assert_int_equal(u.group_count, 2);   /* wheel, audio */
    u = resolve("4242");                  /* not in passwd: fine when numeric */
    assert_int_equal(u.uid, 4242);
    assert_int_equal(u.gid, 0);
    assert_string_equal(u.home, "/");
    assert_int_equal(u.group_count, 0);
    u = resolve("nohome");
    assert_string_equal(u.home, "/");
}

static void explicit_groups_win(void **state)
{
    (void)state;
    sm_oci_user u = resolve("app:audio");
    assert_int_equal(u.uid, 1000);
    assert_int_equal(u.gid, 29);
    assert_int_equal(u.group_count, 0);
    u = resolve("nginx:10");
    assert_int_equal(u.gid, 10);
    u = resolve("5:7");
    assert_int_equal(u.uid, 5);
    assert_int_equal(u.gid, 7);
}

static void unknown_names_are_errors(void **state)
{
    (void)state;
    sm_oci_user u;
    assert_true(sm_oci_user_resolve("ghost", passwd, group, &u) < 0);
    assert_string_equal(sm_last_error(), "user 'ghost' of the image's User is not in its /etc/passwd");
    assert_true(sm_oci_user_resolve("app:ghosts", passwd, group, &u) < 0);
    assert_non_null(strstr(sm_last_error(), "group 'ghosts'"));
    assert_true(sm_oci_user_resolve("app", NULL, NULL, &u) < 0);
    assert_int_equal(sm_oci_user_resolve("0:0", NULL, NULL, &u), 0);
    assert_true(sm_oci_user_resolve("-1", passwd, group, &u) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resolves_names_and_ids),
        cmocka_unit_test(explicit_groups_win),
        cmocka_unit_test(unknown_names_are_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
