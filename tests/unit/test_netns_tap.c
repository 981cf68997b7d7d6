/* The tap a VM gets in a CNI network namespace: made beside the
 * namespace's interface, joined to it both ways by tc, with that
 * interface's address, route, MTU and MAC read for the guest. A veth
 * pair stands for CNI's: an ARP request written to the tap (as the
 * guest would send it) must leave through the namespace's interface, and
 * the host's answer must come back out of the tap. Needs root (skipped
 * without: exit 77, as meson counts a skip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/netns_tap.h"

#define NS "smtaptest"
#define HOST_IF "smtt0"

static int sh(const char *cmd)
{
    return system(cmd);
}

static void teardown_net(void)
{
    sh("ip link del " HOST_IF " 2>/dev/null; ip netns del " NS " 2>/dev/null");
}

/* CNI's part: a namespace whose eth0 is 10.201.0.2/24 via 10.201.0.1. */
static int setup_net(void)
{
    teardown_net();
    return sh("ip netns add " NS " && ip link add " HOST_IF " type veth peer name eth0 netns "
              NS " && ip addr add 10.201.0.1/24 dev " HOST_IF " && ip link set " HOST_IF " up"
              " && ip -n " NS " link set eth0 mtu 1400 up && ip -n " NS
              " addr add 10.201.0.2/24 dev eth0 && ip -n " NS " route add default via "
              "10.201.0.1");
}

static size_t arp_request(uint8_t *f, const uint8_t mac[6])
{
    static const uint8_t sip[4] = {10, 201, 0, 2}, tip[4] = {10, 201, 0, 1};
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08, f[13] = 0x06;                       /* ARP */
    const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};  /* Ethernet, IPv4, request */
    memcpy(f + 14, hdr, 8);
    memcpy(f + 22, mac, 6);
    memcpy(f + 28, sip, 4);
    memset(f + 32, 0, 6);
    memcpy(f + 38, tip, 4);
    return 42;
}

/* An ARP request through the tap gets its answer back out of it. */
static void arp_round_trip(const sm_netns_link *l)
{
    uint8_t frame[1600];
    size_t n = arp_request(frame, l->mac);
    assert_int_equal(write(l->tap_fd, frame, n), (ssize_t)n);
    /* The host answers 10.201.0.1's MAC to eth0's: it must come out of
     * the tap, not reach the namespace's own stack. */
    struct pollfd p = {.fd = l->tap_fd, .events = POLLIN};
    int got_reply = 0;
    for (int tries = 0; tries < 20 && !got_reply && poll(&p, 1, 1000) > 0; tries++) {
        ssize_t r = read(l->tap_fd, frame, sizeof frame);
        got_reply = r >= 42 && frame[12] == 0x08 && frame[13] == 0x06 && frame[21] == 2 &&
                    memcmp(frame, l->mac, 6) == 0;
    }
    assert_true(got_reply);
}

static void test_attach_and_frames(void **state)
{
    (void)state;
    sm_netns_link l;
    assert_int_equal(sm_netns_attach("/var/run/netns/" NS, &l), 0);
    assert_string_equal(l.ifname, "eth0");
    assert_string_equal(l.ip, "10.201.0.2");
    assert_int_equal(l.prefix, 24);
    assert_string_equal(l.gateway, "10.201.0.1");
    assert_int_equal(l.mtu, 1400);
    arp_round_trip(&l);
    close(l.tap_fd);
}

/* A VM started again in the same namespace: the first one's tap is gone
 * (its last descriptor closed) and its redirect must not swallow the
 * frames meant for the second's. */
static void test_attach_again_after_the_first_ended(void **state)
{
    (void)state;
    sm_netns_link l;
    assert_int_equal(sm_netns_attach("/var/run/netns/" NS, &l), 0);
    close(l.tap_fd);
    assert_int_equal(sm_netns_attach("/var/run/netns/" NS, &l), 0);
    arp_round_trip(&l);
    close(l.tap_fd);
}

static void test_refusals(void **state)
{
    (void)state;
    sm_netns_link l;
    assert_int_equal(sm_netns_attach("/nonexistent/netns", &l), -ENOENT);
    assert_int_equal(l.tap_fd, -1);
    /* Our own namespace (a pod's /proc/PID/ns/net of a host process):
     * its interface must never be redirected into a tap. */
    assert_int_equal(sm_netns_attach("/proc/self/ns/net", &l), -EINVAL);
    assert_int_equal(l.tap_fd, -1);
    /* A namespace without an addressed interface: CNI did not run. */
    assert_int_equal(sh("ip netns add smtapempty"), 0);
    assert_int_equal(sm_netns_attach("/var/run/netns/smtapempty", &l), -ENODEV);
    sh("ip netns del smtapempty");
}

int main(void)
{
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
        printf("skipped: needs root and /dev/net/tun\n");
        return 77;
    }
    if (setup_net() != 0) {
        teardown_net();
        printf("skipped: cannot make a network namespace and a veth pair here\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_and_frames),
        cmocka_unit_test(test_attach_again_after_the_first_ended),
        cmocka_unit_test(test_refusals),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    teardown_net();
    return rc;
}
