/*
 * sm-init's reading of sm_net= (guest/init/net_config.c), built with the
 * host's compiler: the form the library writes, with and without a
 * gateway, and everything else refused rather than half applied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net_config.h"

static const char *dotted(struct in_addr a, char *buf)
{
    return inet_ntop(AF_INET, &a, buf, 16);
}

static void reads_the_hosts_form(void **state)
{
    (void)state;
    sm_init_net_config c;
    char b[16];
    assert_int_equal(sm_init_net_parse("10.202.0.2/24,10.202.0.1,1400", &c), 0);
    assert_string_equal(dotted(c.ip, b), "10.202.0.2");
    assert_string_equal(dotted(c.netmask, b), "255.255.255.0");
    assert_true(c.has_gateway);
    assert_string_equal(dotted(c.gateway, b), "10.202.0.1");
    assert_int_equal(c.mtu, 1400);
    assert_int_equal(sm_init_net_parse("192.168.7.9/17,,9000", &c), 0);
    assert_string_equal(dotted(c.netmask, b), "255.255.128.0");
    assert_false(c.has_gateway);
    assert_int_equal(c.mtu, 9000);
    assert_int_equal(sm_init_net_parse("1.2.3.4/32,,68", &c), 0);
    assert_string_equal(dotted(c.netmask, b), "255.255.255.255");
    assert_int_equal(sm_init_net_parse("1.2.3.4/1,1.0.0.1,65535", &c), 0);
    assert_string_equal(dotted(c.netmask, b), "128.0.0.0");
}

static void refuses_anything_else(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", "10.0.0.2", "10.0.0.2/24", "10.0.0.2/24,10.0.0.1", "10.0.0.2/24,10.0.0.1,",
        "10.0.0.2/0,,1500", "10.0.0.2/33,,1500", "10.0.0.2/,,1500", "/24,,1500",
        "10.0.0.2/24,,67", "10.0.0.2/24,,65536", "10.0.0.2/24,,1500,", "10.0.0.2/24,,15a0",
        "10.0.0.256/24,,1500", "10.0.0.2/24,gw,1500", "10.0.0.2/24,10.0.0.1,1500,x",
        "10.0.0.2/+24,,1500", "10.0.0.2/24,,-1500", "ten/24,,1500", "10.0.0.2/24,,0001500",
        "255.255.255.255.255/24,,1500",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sm_init_net_config c;
        if (sm_init_net_parse(bad[i], &c) != -EINVAL)
            fail_msg("'%s' was taken", bad[i]);
    }
}

static void slirp_has_its_fixed_address(void **state)
{
    (void)state;
    sm_init_net_config c;
    char b[16];
    sm_init_net_slirp(&c);
    assert_string_equal(dotted(c.ip, b), "10.0.2.15");
    assert_string_equal(dotted(c.gateway, b), "10.0.2.2");
    assert_int_equal(c.mtu, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_the_hosts_form),
        cmocka_unit_test(refuses_anything_else),
        cmocka_unit_test(slirp_has_its_fixed_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
