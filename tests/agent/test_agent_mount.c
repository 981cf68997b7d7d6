/* The MOUNT message's codec: what the host sends round-trips, and what a
 * broken or hostile peer sends is refused. (The agent's mount itself needs
 * a VM: tests/integration/test_shares.c.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/protocol.h"

static int decode(sm_agent_wbuf *b, sm_agent_mount *m, const char **why)
{
    sm_agent_frame f;
    size_t need;
    int n = sm_agent_frame_parse(b->data, b->len, &f, &need, why);
    assert_true(n > 0);
    return sm_agent_decode_mount(&f, m, why);
}

static void round_trip(void **state)
{
    (void)state;
    sm_agent_wbuf b = {.grow = true};
    sm_agent_mount m;
    const char *why = "";
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .tag = "smshare3", .path = "/etc/x.conf", .entry = "x.conf", .read_only = true}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_string_equal(m.tag, "smshare3");
    assert_string_equal(m.path, "/etc/x.conf");
    assert_string_equal(m.entry, "x.conf");
    assert_true(m.read_only);
    b.len = 0;
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){.tag = "t", .path = "/mnt"}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_null(m.entry);
    assert_false(m.read_only);
    sm_agent_wbuf_free(&b);
}

static void refuses_bad_mounts(void **state)
{
    (void)state;
    sm_agent_wbuf b = {.grow = true};
    sm_agent_mount m;
    const char *why = "";
    const sm_agent_mount bad[] = {
        {.tag = "t", .path = "relative"},
        {.tag = "", .path = "/mnt"},
        {.tag = "t", .path = ""},
        {.tag = "a-tag-that-is-longer-than-31-bytes", .path = "/mnt"},
        {.tag = "t", .path = "/mnt", .entry = "../passwd"},
        {.tag = "t", .path = "/mnt", .entry = ".."},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b.len = 0;
        assert_int_equal(sm_agent_encode_mount(&b, &bad[i]), 0);
        assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    }
    /* A repeated tag, and a missing one. */
    b.len = 0;
    sm_agent_frame_begin(&b, SM_AGENT_MOUNT, 0);
    sm_agent_put_str(&b, SM_AGENT_T_SHARE_TAG, "a");
    sm_agent_put_str(&b, SM_AGENT_T_SHARE_TAG, "b");
    sm_agent_put_str(&b, SM_AGENT_T_PATH, "/mnt");
    assert_int_equal(sm_agent_frame_end(&b), 0);
    assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    assert_string_equal(why, "a field appears twice");
    b.len = 0;
    sm_agent_frame_begin(&b, SM_AGENT_MOUNT, 0);
    sm_agent_put_str(&b, SM_AGENT_T_PATH, "/mnt");
    assert_int_equal(sm_agent_frame_end(&b), 0);
    assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    /* A string without its NUL. */
    b.len = 0;
    sm_agent_frame_begin(&b, SM_AGENT_MOUNT, 0);
    sm_agent_put_tlv(&b, SM_AGENT_T_SHARE_TAG, "abc", 3);
    sm_agent_put_str(&b, SM_AGENT_T_PATH, "/mnt");
    assert_int_equal(sm_agent_frame_end(&b), 0);
    assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    /* A flag MOUNT does not have. */
    b.len = 0;
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){.tag = "t", .path = "/m"}), 0);
    b.data[6] = 0x8;
    sm_agent_frame f;
    size_t need;
    assert_int_equal(sm_agent_frame_parse(b.data, b.len, &f, &need, &why), -EBADMSG);
    sm_agent_wbuf_free(&b);
}

/* --tmpfs and --read-only: their own fields only, each kind alone. */
static void tmpfs_and_remount(void **state)
{
    (void)state;
    sm_agent_wbuf b = {.grow = true};
    sm_agent_mount m;
    const char *why = "";
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_TMPFS, .path = "/run", .options = "size=8m,exec"}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_int_equal(m.kind, SM_AGENT_MOUNT_TMPFS);
    assert_string_equal(m.path, "/run");
    assert_string_equal(m.options, "size=8m,exec");
    assert_null(m.tag);
    b.len = 0;
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_REMOUNT_RO, .path = "/", .read_only = true}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_int_equal(m.kind, SM_AGENT_MOUNT_REMOUNT_RO);
    assert_true(m.read_only);
    const sm_agent_mount bad[] = {
        {.kind = SM_AGENT_MOUNT_TMPFS, .path = "/run", .entry = "x"},
        {.kind = SM_AGENT_MOUNT_TMPFS, .path = "tmp"},
        {.kind = SM_AGENT_MOUNT_REMOUNT_RO, .path = "/", .options = "size=1m",
         .read_only = true},
        {.kind = SM_AGENT_MOUNT_SHARE, .tag = "t", .path = "/m", .options = "size=1m"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b.len = 0;
        assert_int_equal(sm_agent_encode_mount(&b, &bad[i]), 0);
        assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    }
    /* A tag on a tmpfs, and tmpfs with remount at once. */
    b.len = 0;
    sm_agent_frame_begin(&b, SM_AGENT_MOUNT, SM_AGENT_F_TMPFS);
    sm_agent_put_str(&b, SM_AGENT_T_SHARE_TAG, "t");
    sm_agent_put_str(&b, SM_AGENT_T_PATH, "/mnt");
    assert_int_equal(sm_agent_frame_end(&b), 0);
    assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    b.len = 0;
    sm_agent_frame_begin(&b, SM_AGENT_MOUNT,
                         SM_AGENT_F_TMPFS | SM_AGENT_F_REMOUNT | SM_AGENT_F_RDONLY);
    sm_agent_put_str(&b, SM_AGENT_T_PATH, "/");
    assert_int_equal(sm_agent_frame_end(&b), 0);
    assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    /* A remount that would not make it read-only. */
    b.len = 0;
    sm_agent_frame_begin(&b, SM_AGENT_MOUNT, SM_AGENT_F_REMOUNT);
    sm_agent_put_str(&b, SM_AGENT_T_PATH, "/");
    assert_int_equal(sm_agent_frame_end(&b), 0);
    assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    sm_agent_wbuf_free(&b);
}

/* A container's mount: its type marks the kind; its own fields only. */
static void container_mounts(void **state)
{
    (void)state;
    sm_agent_wbuf b = {.grow = true};
    sm_agent_mount m;
    const char *why = "";
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_FS, .fstype = "bind", .source = "/pod/etc/hosts",
        .path = "/pod/c1/etc/hosts", .options = "rbind,ro,rprivate", .read_only = true}), 0);
    assert_int_equal(b.data[6] | b.data[7], 0);  /* no flags: ro is in the options */
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_int_equal(m.kind, SM_AGENT_MOUNT_FS);
    assert_string_equal(m.fstype, "bind");
    assert_string_equal(m.source, "/pod/etc/hosts");
    assert_string_equal(m.path, "/pod/c1/etc/hosts");
    assert_string_equal(m.options, "rbind,ro,rprivate");
    assert_false(m.read_only);
    assert_null(m.tag);
    b.len = 0;
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_FS, .fstype = "proc", .path = "/c/proc"}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_int_equal(m.kind, SM_AGENT_MOUNT_FS);
    assert_null(m.source);
    assert_null(m.options);
    assert_null(m.root);
    b.len = 0;
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_FS, .fstype = "proc", .path = "/proc", .root = "/pod/c1"}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    assert_string_equal(m.root, "/pod/c1");
    assert_string_equal(m.path, "/proc");
    /* OCI's option lists run longer than a tmpfs's. */
    char opts[1000];
    memset(opts, 'x', sizeof opts - 1);
    opts[sizeof opts - 1] = '\0';
    b.len = 0;
    assert_int_equal(sm_agent_encode_mount(&b, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_FS, .fstype = "tmpfs", .path = "/c/dev", .options = opts}), 0);
    assert_int_equal(decode(&b, &m, &why), 0);
    const sm_agent_mount bad[] = {
        {.kind = SM_AGENT_MOUNT_FS, .fstype = "", .path = "/c/proc"},
        {.kind = SM_AGENT_MOUNT_FS, .fstype = "proc", .path = "c/proc"},
        {.kind = SM_AGENT_MOUNT_FS, .fstype = "bind", .source = "rel", .path = "/c/x"},
        {.kind = SM_AGENT_MOUNT_FS, .fstype = "a-type-that-is-longer-than-31-bytes",
         .path = "/c/x"},
        {.kind = SM_AGENT_MOUNT_FS, .fstype = "bind", .path = "/c/x", .entry = "x"},
        {.kind = SM_AGENT_MOUNT_TMPFS, .path = "/c/x", .source = "/s"},
        {.kind = SM_AGENT_MOUNT_TMPFS, .path = "/c/x", .root = "/r"},
        {.kind = SM_AGENT_MOUNT_FS, .fstype = "proc", .path = "/proc", .root = "r"},
        {.kind = SM_AGENT_MOUNT_TMPFS, .path = "/c/x", .options = opts},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b.len = 0;
        assert_int_equal(sm_agent_encode_mount(&b, &bad[i]), 0);
        assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    }
    /* A type with a share's or a tmpfs's flag: which kind would it be? */
    static const uint16_t flags[] = {SM_AGENT_F_TMPFS, SM_AGENT_F_RDONLY};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        b.len = 0;
        sm_agent_frame_begin(&b, SM_AGENT_MOUNT, flags[i]);
        sm_agent_put_str(&b, SM_AGENT_T_FSTYPE, "proc");
        sm_agent_put_str(&b, SM_AGENT_T_PATH, "/c/proc");
        assert_int_equal(sm_agent_frame_end(&b), 0);
        assert_int_equal(decode(&b, &m, &why), -EBADMSG);
    }
    assert_int_equal(SM_AGENT_T_FSTYPE, 51);
    assert_int_equal(SM_AGENT_T_SOURCE, 52);
    sm_agent_wbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(tmpfs_and_remount),
        cmocka_unit_test(refuses_bad_mounts),
        cmocka_unit_test(container_mounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
