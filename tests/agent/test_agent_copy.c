/* MKDIR, LINK and NUL-separated listings in the agent, and the library's
 * copies (src/lib/copy*.c) over them: a tree into the "guest" (a directory
 * the agent serves on the host) and back, as files and as tar; and, from
 * a fake agent that lies, that nothing lands outside the destination. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent_harness.h"
#include "lib/copy.h"
#include "supermachine.h"

static int setup(void **state)
{
    harness *h = malloc(sizeof *h);
    harness_start(h);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    free(*state);
    return 0;
}

static char *path_in(harness *h, const char *name, char path[static 256])
{
    snprintf(path, 256, "%s/%s", h->dir, name);
    return path;
}
#define path_in(h, name) path_in(h, name, (char[256]){0})

static void sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        fail_msg("failed: %s", cmd);
}

static void mkdir_and_links(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    char *d = path_in(h, "m/n/o");
    sm_agent_file_req r = {.path = d, .mode = 0751, .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_mkdir(c, &r), -ENOENT);
    r.mkdirs = true;
    assert_int_equal(sm_agent_mkdir(c, &r), 0);
    struct stat st;
    assert_int_equal(stat(d, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0751);
    r.mode = 0700;  /* an existing directory is kept, its mode set */
    assert_int_equal(sm_agent_mkdir(c, &r), 0);
    assert_int_equal(stat(d, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    char *l = path_in(h, "m/link");
    r = (sm_agent_file_req){.path = l, .target = "n/o", .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_link(c, &r), 0);
    sm_agent_stat_reply sr;
    assert_int_equal(sm_agent_stat(c, l, true, &sr), 0);
    assert_true(S_ISLNK(sr.mode));
    assert_string_equal(sr.target, "n/o");
    assert_int_equal(sm_agent_stat(c, l, false, &sr), 0);
    assert_null(sr.target);
    r.target = "elsewhere";  /* a link in the way is replaced */
    assert_int_equal(sm_agent_link(c, &r), 0);
    char buf[64] = {0};
    assert_int_equal(readlink(l, buf, sizeof buf), 9);
    r.path = path_in(h, "m/n");  /* a directory is not */
    assert_int_equal(sm_agent_link(c, &r), -EEXIST);
    sh("echo data > '%s'", path_in(h, "m/file"));
    r = (sm_agent_file_req){.path = path_in(h, "m/hard"), .target = path_in(h, "m/file"),
                            .hard = true, .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_link(c, &r), 0);
    assert_int_equal(stat(path_in(h, "m/hard"), &st), 0);
    assert_int_equal(st.st_nlink, 2);
    /* A directory over a file replaces it. */
    r = (sm_agent_file_req){.path = path_in(h, "m/hard"), .mode = 0755, .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_mkdir(c, &r), 0);
    assert_int_equal(stat(path_in(h, "m/hard"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    sm_agent_conn_close(c);
}

static void list_with_nuls(void **state)
{
    harness *h = *state;
    sh("mkdir '%s' && touch '%s/a\nb'", path_in(h, "l"), path_in(h, "l"));
    sm_agent_conn *c = harness_conn(h);
    uint8_t *data;
    size_t len;
    assert_int_equal(sm_agent_list_dir(c, path_in(h, "l"), 1024, &data, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "a\nb\0", 4);
    free(data);
    sm_agent_conn_close(c);
}

/* A tree of every kind copy handles. */
static void make_tree(const char *root)
{
    sh("mkdir -p '%s/sub/deeper' '%s/empty' && cd '%s' && printf 'x%%.0s' $(seq 1 70000) > big"
       " && echo hi > 'with space' && echo s > sub/deeper/f && chmod 0741 sub/deeper/f"
       " && chmod 0750 sub && ln -s ../big sub/up && ln -s /nowhere dangling"
       " && touch 'new\nline'", root, root, root);
}

/* Same names, kinds, modes, contents and link targets. */
static void same_tree(const char *a, const char *b)
{
    sh("cd '%s' && find . -printf '%%p %%y %%m %%l\\n' | sort > /tmp/sm-copy-a.$PPID && "
       "cd '%s' && find . -printf '%%p %%y %%m %%l\\n' | sort > /tmp/sm-copy-b.$PPID && "
       "cmp /tmp/sm-copy-a.$PPID /tmp/sm-copy-b.$PPID && diff -r --no-dereference '%s' '%s' && "
       "rm /tmp/sm-copy-a.$PPID /tmp/sm-copy-b.$PPID", a, b, a, b);
}

static void tree_in_and_out(void **state)
{
    harness *h = *state;
    char src[256], guest[256], back[256];
    snprintf(src, sizeof src, "%s", path_in(h, "src"));
    snprintf(guest, sizeof guest, "%s", path_in(h, "guest"));
    snprintf(back, sizeof back, "%s", path_in(h, "back"));
    make_tree(src);
    sm_agent_conn *c = harness_conn(h);
    if (copy_host_entry(c, AT_FDCWD, src, guest, false, false))
        fail_msg("copy in: %s", sm_last_error());
    same_tree(src, guest);
    assert_int_equal(mkdir(back, 0755), 0);
    int fd = open(back, O_RDONLY | O_DIRECTORY);
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, guest, true, &st), 0);
    if (copy_guest_entry(c, guest, &st, &copy_host_sink, (void *)(intptr_t)fd, "tree"))
        fail_msg("copy out: %s", sm_last_error());
    /* Into what is there: the content again, merged. */
    if (copy_guest_children(c, guest, &copy_host_sink, (void *)(intptr_t)fd))
        fail_msg("copy out of the content: %s", sm_last_error());
    close(fd);
    same_tree(src, path_in(h, "back/tree"));
    sh("test -f '%s/big' && test -d '%s/empty'", back, back);
    sm_agent_conn_close(c);
}

static void tar_out_and_in(void **state)
{
    harness *h = *state;
    char src[256], tar[256], dst[256];
    snprintf(src, sizeof src, "%s", path_in(h, "tsrc"));
    snprintf(tar, sizeof tar, "%s", path_in(h, "t.tar"));
    snprintf(dst, sizeof dst, "%s", path_in(h, "tdst"));
    make_tree(src);
    sm_agent_conn *c = harness_conn(h);
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, src, true, &st), 0);
    int fd = open(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (copy_guest_tar(c, src, &st, "tsrc", fd))
        fail_msg("tar out: %s", sm_last_error());
    close(fd);
    sh("tar tf '%s' | grep -qx 'tsrc/sub/deeper/f'", tar);
    assert_int_equal(mkdir(dst, 0755), 0);
    fd = open(tar, O_RDONLY);
    if (copy_tar_guest(c, fd, dst, false))
        fail_msg("tar in: %s", sm_last_error());
    close(fd);
    char got[300];
    snprintf(got, sizeof got, "%s/tsrc", dst);
    same_tree(src, got);
    sm_agent_conn_close(c);
}

/* A tar of one file named name, in a file. */
static void tar_with(const char *path, const char *name)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 3);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, "bad", 3), 3);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
}

static void tar_names_refused(void **state)
{
    harness *h = *state;
    char tar[256], dst[256];
    snprintf(tar, sizeof tar, "%s", path_in(h, "bad.tar"));
    snprintf(dst, sizeof dst, "%s", path_in(h, "bdst"));
    assert_int_equal(mkdir(dst, 0755), 0);
    const char *names[] = {"../escaped", "a/../../escaped", "/abs"};
    sm_agent_conn *c = harness_conn(h);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tar_with(tar, names[i]);
        int fd = open(tar, O_RDONLY);
        assert_int_equal(copy_tar_guest(c, fd, dst, false), -EINVAL);
        close(fd);
        assert_non_null(strstr(sm_last_error(), "refused"));
    }
    assert_int_equal(access(path_in(h, "escaped"), F_OK), -1);
    sm_agent_conn_close(c);
}

/* ---- a lying agent ---- */

typedef struct liar {
    int fd;
    int stats;        /* STATs answered */
    const char *listing;  /* every directory's, NUL-separated */
    size_t listing_len;
    const char *link_to;  /* the first STAT of a non-root: a link there */
} liar;

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void answer(liar *l, sm_agent_wbuf *b, const sm_agent_frame *f)
{
    sm_agent_file_req r;
    const char *why;
    if (f->type == SM_AGENT_HELLO) {
        sm_agent_encode_hello(b, &(sm_agent_hello){SM_AGENT_VERSION});
    } else if (f->type == SM_AGENT_STAT && sm_agent_decode_file_req(f, &r, &why) == 0) {
        bool root = !strcmp(r.path, "/root");
        bool link = !root && l->link_to && l->stats++ == 0;
        sm_agent_encode_stat_reply(b, &(sm_agent_stat_reply){
            .mode = root || !l->link_to ? 040755 : link ? 0120777 : 0100644,
            .size = link ? 0 : 5, .target = link ? l->link_to : NULL});
    } else if (f->type == SM_AGENT_FILE_READ) {
        sm_agent_decode_file_req(f, &r, &why);
        if (r.names0)
            sm_agent_encode_data(b, SM_AGENT_FILE_DATA, l->listing, l->listing_len, true);
        else
            sm_agent_encode_data(b, SM_AGENT_FILE_DATA, "EVIL!", 5, true);
    }
}

static void *liar_main(void *arg)
{
    liar *l = arg;
    uint8_t hdr[SM_AGENT_HEADER_SIZE], *payload = malloc(SM_AGENT_MAX_PAYLOAD);
    while (read_full(l->fd, hdr, sizeof hdr) == 0) {
        uint32_t n = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
        memcpy(payload, hdr, sizeof hdr);
        if (n > SM_AGENT_MAX_PAYLOAD - sizeof hdr || read_full(l->fd, payload + sizeof hdr, n))
            break;
        sm_agent_frame f;
        size_t need;
        const char *why;
        if (sm_agent_frame_parse(payload, sizeof hdr + n, &f, &need, &why) <= 0)
            break;
        sm_agent_wbuf b = {.grow = true};
        answer(l, &b, &f);
        if (b.len && write(l->fd, b.data, b.len) != (ssize_t)b.len)
            break;
        sm_agent_wbuf_free(&b);
    }
    free(payload);
    close(l->fd);
    return NULL;
}

/* Copy the liar's /root out into a fresh directory: the error, if any. */
static int copy_from_liar(liar *l, const char *dst)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    l->fd = sv[1];
    pthread_t t;
    pthread_create(&t, NULL, liar_main, l);
    sm_agent_conn *c;
    assert_int_equal(sm_agent_conn_open(sv[0], &c), 0);
    sh("rm -rf '%s' && mkdir '%s'", dst, dst);
    int fd = open(dst, O_RDONLY | O_DIRECTORY);
    int err = copy_guest_children(c, "/root", &copy_host_sink, (void *)(intptr_t)fd);
    close(fd);
    sm_agent_conn_close(c);
    pthread_join(t, NULL);
    return err;
}

static void liar_cannot_escape(void **state)
{
    harness *h = *state;
    char dst[256], outside[256];
    snprintf(dst, sizeof dst, "%s", path_in(h, "ldst"));
    snprintf(outside, sizeof outside, "%s", path_in(h, "outside"));
    sh("echo safe > '%s'", outside);
    static const struct { const char *names; size_t len; } bad[] = {
        {"..\0", 3}, {".\0", 2}, {"a/b\0", 4}, {"\0", 1}, {"unended", 7},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        liar l = {.listing = bad[i].names, .listing_len = bad[i].len};
        assert_int_equal(copy_from_liar(&l, dst), -EPROTO);
        sh("test -z \"$(ls -A '%s')\"", dst);
    }
    /* Every directory holds a directory: the depth limit ends it. */
    liar deep = {.listing = "d\0", .listing_len = 2};
    assert_int_equal(copy_from_liar(&deep, dst), -ELOOP);
    /* "x" a link to outside, then "x" again as a file: the file replaces
     * the link and is not written through it. */
    liar twice = {.listing = "x\0x\0", .listing_len = 4, .link_to = outside};
    if (copy_from_liar(&twice, dst))
        fail_msg("copy from the liar: %s", sm_last_error());
    sh("grep -qx safe '%s' && test ! -L '%s/x' && grep -qx 'EVIL!' '%s/x'", outside, dst, dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mkdir_and_links),
        cmocka_unit_test(list_with_nuls),
        cmocka_unit_test(tree_in_and_out),
        cmocka_unit_test(tar_out_and_in),
        cmocka_unit_test(tar_names_refused),
        cmocka_unit_test(liar_cannot_escape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
