/* The host CPU's identity, which a bake's fingerprint holds: the same for
 * any reading on one host, different for another CPU. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/cpuinfo.h"

/* Two processors of one CPU, as Linux lists them; %s are the fields a
 * test varies (the first CPU's MHz, its flags, the second's APIC id). */
#define CPUINFO                                                                   \
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 49\n"  \
    "model name\t: AMD EPYC 7B12\nstepping\t: 0\ncpu MHz\t\t: %s\napicid\t\t: 0\n" \
    "flags\t\t: fpu vme %s\nbogomips\t: 4491.54\n\n"                                  \
    "processor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 49\n"  \
    "stepping\t: 0\napicid\t\t: %s\nflags\t\t: fpu vme avx2\n\n"

static void identity_of(const char *mhz, const char *flags, const char *apicid, char *out,
                        size_t len)
{
    char path[] = "/tmp/sm-cpuinfo-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, CPUINFO, mhz, flags, apicid);
    fclose(f);
    assert_int_equal(sm_cpuinfo_identity(path, out, len), 0);
    unlink(path);
}

static void same_cpu_same_identity(void **state)
{
    (void)state;
    char a[1024], b[1024];
    identity_of("2245.780", "avx2", "1", a, sizeof a);
    identity_of("3300.000", "avx2", "7", b, sizeof b);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "AuthenticAMD"));
    assert_non_null(strstr(a, "model\t\t: 49"));
    assert_null(strstr(a, "MHz"));
}

static void other_flags_other_identity(void **state)
{
    (void)state;
    char a[1024], b[1024];
    identity_of("2245.780", "avx2", "1", a, sizeof a);
    identity_of("2245.780", "avx2 avx512f", "1", b, sizeof b);
    assert_string_not_equal(a, b);
}

static void unreadable_is_an_error(void **state)
{
    (void)state;
    char a[64];
    assert_int_equal(sm_cpuinfo_identity("/nonexistent/cpuinfo", a, sizeof a), -ENOENT);
    assert_int_equal(sm_cpuinfo_identity("/dev/null", a, sizeof a), -ENODATA);
}

static void this_host_has_one(void **state)
{
    (void)state;
    char a[4096], b[4096];
    assert_int_equal(sm_cpuinfo_identity(NULL, a, sizeof a), 0);
    assert_int_equal(sm_cpuinfo_identity(NULL, b, sizeof b), 0);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "flags"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_cpu_same_identity),
        cmocka_unit_test(other_flags_other_identity),
        cmocka_unit_test(unreadable_is_an_error),
        cmocka_unit_test(this_host_has_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
