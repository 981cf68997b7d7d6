/*
 * The worker's launch spec (src/worker/spec.h): every field survives the
 * library's writer and the worker's reader, as text, through a sealed
 * memfd and through a pipe; and each kind of malformed spec is refused
 * with a sentence that names what is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"
#include "worker/spec.h"

/* Every field away from its default, every list full, paths with the
 * characters the old argv split on (':') and some that JSON escapes. */
static void full_spec(sm_worker_spec *s)
{
    sm_worker_spec_init(s);
    snprintf(s->dir, sizeof s->dir, "/run/user/1000/supermachine/0123456789ab");
    s->ready_fd = 3, s->lifeline_fd = 4, s->lock_fd = 5;
    snprintf(s->kernel, sizeof s->kernel, "/k/vmlinux \"quoted\"");
    snprintf(s->initrd, sizeof s->initrd, "/k/initramfs\\back.cpio");
    snprintf(s->cmdline, sizeof s->cmdline, "quiet loglevel=3\tü");
    s->memory_mib = SM_WORKER_MAX_MEMORY_MIB, s->cpus = SM_WORKER_MAX_CPUS;
    s->cpu_quota_milli = 1500;
    s->ndisks = SM_MACHINE_MAX_DISKS;
    for (unsigned i = 0; i < s->ndisks; i++) {
        snprintf(s->disks[i].path, sizeof s->disks[i].path, "/d/disk:%u.img", i);
        s->disks[i].read_only = i % 2;
    }
    s->net_user = true;
    s->nports = SM_NET_MAX_PORTS;
    for (unsigned i = 0; i < s->nports; i++) {
        snprintf(s->ports[i].host_ip, sizeof s->ports[i].host_ip,
                 i % 2 ? "::1" : "127.0.0.%u", i + 1);
        s->ports[i].host_port = (uint16_t)(65535 - i);
        s->ports[i].guest_port = (uint16_t)(i + 1);
        s->ports[i].udp = i % 3 == 0;
    }
    s->nshares = SM_MACHINE_MAX_SHARES;
    for (unsigned i = 0; i < s->nshares; i++) {
        snprintf(s->shares[i].host_path, sizeof s->shares[i].host_path, "/srv/a:b/%u", i);
        snprintf(s->shares[i].tag, sizeof s->shares[i].tag, "smshare%u", i);
        s->shares[i].read_only = i % 2 == 0;
    }
    snprintf(s->restore, sizeof s->restore, "/snap/shots/x");
    s->auto_remove = true, s->detach = true;
}

static void check_same(const sm_worker_spec *got, const sm_worker_spec *want)
{
    assert_string_equal(got->dir, want->dir);
    assert_int_equal(got->ready_fd, want->ready_fd);
    assert_int_equal(got->lifeline_fd, want->lifeline_fd);
    assert_int_equal(got->lock_fd, want->lock_fd);
    assert_string_equal(got->kernel, want->kernel);
    assert_string_equal(got->initrd, want->initrd);
    assert_string_equal(got->cmdline, want->cmdline);
    assert_int_equal(got->memory_mib, want->memory_mib);
    assert_int_equal(got->cpus, want->cpus);
    assert_int_equal(got->cpu_quota_milli, want->cpu_quota_milli);
    assert_int_equal(got->ndisks, want->ndisks);
    assert_int_equal(got->net_user, want->net_user);
    assert_int_equal(got->nports, want->nports);
    assert_int_equal(got->nshares, want->nshares);
    assert_string_equal(got->restore, want->restore);
    assert_int_equal(got->auto_remove, want->auto_remove);
    assert_int_equal(got->detach, want->detach);
    /* The lists, and anything a field-by-field check would miss: both
     * started zeroed, so the whole structs match byte for byte. */
    assert_memory_equal(got, want, sizeof *got);
}

/* want as text and back: the same spec. */
static void round_trip(const sm_worker_spec *want)
{
    sm_worker_spec *got = malloc(sizeof *got);
    char *text;
    size_t len;
    assert_int_equal(sm_worker_spec_encode(want, &text, &len), 0);
    assert_true(len < SM_WORKER_SPEC_MAX_BYTES);
    assert_int_equal(sm_worker_spec_decode(text, len, got), 0);
    check_same(got, want);
    free(text);
    free(got);
}

static void round_trips_every_field(void **state)
{
    (void)state;
    sm_worker_spec *want = malloc(sizeof *want);
    full_spec(want);
    round_trip(want);
    free(want);
}

static void round_trips_the_defaults(void **state)
{
    (void)state;
    sm_worker_spec *want = malloc(sizeof *want), *got = malloc(sizeof *got);
    sm_worker_spec_init(want);
    snprintf(want->dir, sizeof want->dir, "/d");
    round_trip(want);
    /* Keys left out take their defaults, descriptors -1. */
    const char *bare = "{\"version\":1,\"dir\":\"/d\"}";
    assert_int_equal(sm_worker_spec_decode(bare, strlen(bare), got), 0);
    check_same(got, want);
    assert_int_equal(got->ready_fd, -1);
    free(want);
    free(got);
}

/* A NIC on a network namespace's tap instead of user-mode NAT. */
static void round_trips_a_tap(void **state)
{
    (void)state;
    sm_worker_spec *want = malloc(sizeof *want);
    full_spec(want);
    want->net_user = false, want->nports = 0;
    memset(want->ports, 0, sizeof want->ports);
    want->net_tap_fd = 7;
    snprintf(want->net_mac, sizeof want->net_mac, "0a:5B:cc:00:ff:01");
    want->net_mtu = 1400;
    round_trip(want);
    uint8_t mac[6];
    assert_true(sm_worker_spec_mac(want->net_mac, mac));
    assert_memory_equal(mac, ((uint8_t[6]){0x0a, 0x5b, 0xcc, 0x00, 0xff, 0x01}), 6);
    static const char *bad[] = {"", "0a:5b:cc:00:ff", "0a:5b:cc:00:ff:011", " a:5b:cc:00:ff:01",
                                "0a-5b-cc-00-ff-01", "0g:5b:cc:00:ff:01", "+a:5b:cc:00:ff:01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (sm_worker_spec_mac(bad[i], mac))
            fail_msg("'%s' was taken for a MAC address", bad[i]);
    free(want);
}

/* A sealed memfd at offset 0, as the worker inherits it; then a pipe. */
static void round_trips_through_fds(void **state)
{
    (void)state;
    sm_worker_spec *want = malloc(sizeof *want), *got = malloc(sizeof *got);
    full_spec(want);
    int fd = -1;
    assert_int_equal(sm_worker_spec_to_fd(want, &fd), 0);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
    assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
                                                 F_SEAL_SEAL);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fd, "x", 1), -1);
    assert_int_equal(sm_worker_spec_from_fd(fd, got), 0);
    check_same(got, want);
    assert_int_equal(fcntl(fd, F_GETFD), -1);   /* the reader closed it */

    int p[2];
    char *text;
    size_t len;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(sm_worker_spec_encode(want, &text, &len), 0);
    assert_true(len < 65536);                   /* fits the pipe's buffer */
    assert_int_equal(write(p[1], text, len), (ssize_t)len);
    close(p[1]);
    assert_int_equal(sm_worker_spec_from_fd(p[0], got), 0);
    check_same(got, want);
    free(text);
    free(want);
    free(got);
}

static void refuses_an_oversized_fd(void **state)
{
    (void)state;
    int fd = memfd_create("big", 0);
    size_t n = SM_WORKER_SPEC_MAX_BYTES + 10;
    char *spaces = malloc(n);
    memset(spaces, ' ', n);
    assert_int_equal(write(fd, spaces, n), (ssize_t)n);
    lseek(fd, 0, SEEK_SET);
    sm_worker_spec *s = malloc(sizeof *s);
    assert_int_equal(sm_worker_spec_from_fd(fd, s), -E2BIG);
    assert_non_null(strstr(sm_last_error(), "at most"));
    assert_int_equal(sm_worker_spec_decode(spaces, n, s), -E2BIG);
    free(spaces);
    free(s);
}

static void refuses_what_json_cannot_carry(void **state)
{
    (void)state;
    sm_worker_spec *s = malloc(sizeof *s);
    sm_worker_spec_init(s);
    snprintf(s->dir, sizeof s->dir, "/d/\xff\xfe");
    char *text = NULL;
    size_t len;
    assert_int_equal(sm_worker_spec_encode(s, &text, &len), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "not valid UTF-8"));
    assert_null(text);
    free(s);
}

#define V "{\"version\":1,\"dir\":\"/d\","
typedef struct bad_case {
    const char *text;
    const char *says;
} bad_case;

static const bad_case bad_cases[] = {
    {"{", "not JSON"},
    {"", "not JSON"},
    {"[1]", "not a JSON object"},
    {V "\"bogus\":1}", "unknown key 'bogus'"},
    {V "\"disks\":[{\"path\":\"/a\",\"rw\":true}]}", "unknown key 'disks[0].rw'"},
    {V "\"dir\":\"/e\"}", "duplicate"},
    {"{\"version\":1,\"dir\":5}", "dir must be a string"},
    {V "\"memory_mib\":\"128\"}", "memory_mib must be an integer"},
    {V "\"cpus\":1.5}", "cpus must be an integer"},
    {V "\"cpus\":true}", "cpus must be an integer"},
    {V "\"detach\":1}", "detach must be true or false"},
    {V "\"disks\":{}}", "disks must be an array"},
    {V "\"disks\":[\"/a\"]}", "disks[0] must be an object"},
    {V "\"shares\":[{\"host_path\":\"/a\",\"tag\":\"t\",\"read_only\":\"no\"}]}",
     "shares[0].read_only must be true or false"},
    {V "\"disks\":[{},{},{},{},{},{},{},{},{}]}", "9 disks, at most 8"},
    /* The user's eight and a root directory's. */
    {V "\"shares\":[{},{},{},{},{},{},{},{},{},{}]}", "10 shares, at most 9"},
    {"{\"version\":1}", "dir is required"},
    {"{\"version\":1,\"dir\":\"\"}", "dir is required"},
    {"{\"version\":1,\"dir\":\"run/x\"}", "dir must be an absolute path"},
    {"{\"dir\":\"/d\"}", "version is required"},
    {"{\"version\":\"1\",\"dir\":\"/d\"}", "version must be 1"},
    {V "\"version\":2}", "duplicate"},
    {"{\"version\":2,\"dir\":\"/d\"}", "version must be 1"},
    {V "\"memory_mib\":2097152}", "memory_mib is 2097152, not between 0 and 1048576"},
    {V "\"memory_mib\":-1}", "memory_mib is -1, not between 0 and 1048576"},
    {V "\"cpus\":255}", "cpus is 255, not between 0 and 254"},
    {V "\"cpu_quota_milli\":99999999999}", "cpu_quota_milli is 99999999999"},
    {V "\"ready_fd\":-2}", "ready_fd is -2, not between -1 and 65535"},
    {V "\"lock_fd\":70000}", "lock_fd is 70000"},
    {V "\"net_user\":true,\"ports\":[{\"host_port\":70000}]}",
     "ports[0].host_port is 70000, not between 0 and 65535"},
    {V "\"ports\":[{\"host_port\":80,\"guest_port\":80}]}", "ports need net_user"},
    {V "\"net_tap_fd\":7,\"net_user\":true,\"net_mac\":\"02:00:00:00:00:01\",\"net_mtu\":1500}",
     "net_tap_fd and net_user exclude each other"},
    {V "\"net_tap_fd\":7,\"net_mac\":\"02:00:00:00:00\",\"net_mtu\":1500}",
     "net_mac must be a MAC address"},
    {V "\"net_tap_fd\":7,\"net_mtu\":1500}", "net_mac must be a MAC address"},
    {V "\"net_tap_fd\":7,\"net_mac\":\"02:00:00:00:00:01\",\"net_mtu\":67}",
     "net_mtu is 67, at least 68"},
    {V "\"net_mtu\":65536}", "net_mtu is 65536, not between 0 and 65535"},
    {V "\"net_mac\":\"02:00:00:00:00:01:02\"}", "net_mac is 20 bytes long, at most 17"},
    {V "\"shares\":[{\"tag\":\"0123456789012345678901234567890123\"}]}",
     "shares[0].tag is 34 bytes long, at most 31"},
    {V "\"cmdline\":\"a\\u0000b\"}", "\\u0000 is not allowed"},
};

static void refuses_malformed_specs(void **state)
{
    (void)state;
    sm_worker_spec *s = malloc(sizeof *s);
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        int err = sm_worker_spec_decode(c->text, strlen(c->text), s);
        const char *msg = sm_last_error();
        if (err != -EINVAL || !strstr(msg, c->says) || strncmp(msg, "worker spec: ", 13))
            fail_msg("%s: got %d '%s', wanted -EINVAL '%s'", c->text, err, msg, c->says);
    }
    free(s);
}

/* A path one byte longer than its field holds. */
static void refuses_a_path_too_long(void **state)
{
    (void)state;
    size_t n = PATH_MAX + 64;
    char *text = malloc(n);
    int len = snprintf(text, n, "{\"version\":1,\"dir\":\"/%0*d\"}", PATH_MAX - 1, 0);
    sm_worker_spec *s = malloc(sizeof *s);
    assert_int_equal(sm_worker_spec_decode(text, (size_t)len, s), -EINVAL);
    char want[80];
    snprintf(want, sizeof want, "dir is %d bytes long, at most %d", PATH_MAX, PATH_MAX - 1);
    assert_non_null(strstr(sm_last_error(), want));
    free(text);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips_every_field),
        cmocka_unit_test(round_trips_the_defaults),
        cmocka_unit_test(round_trips_a_tap),
        cmocka_unit_test(round_trips_through_fds),
        cmocka_unit_test(refuses_an_oversized_fd),
        cmocka_unit_test(refuses_what_json_cannot_carry),
        cmocka_unit_test(refuses_malformed_specs),
        cmocka_unit_test(refuses_a_path_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
