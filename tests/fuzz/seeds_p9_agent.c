/* Seeds for the 9P server and the agent's frame decoder, written by the
 * tests' 9P client and the agent's own encoders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/protocol.h"
#include "fuzz_fs.h"
#include "p9_client.h"
#include "seeds.h"

/* A stream for fuzz_p9: the reply-room byte, then each request the
 * client sent (it keeps the last one in msg). */
typedef struct stream {
    uint8_t b[1 << 16];
    size_t len;
} stream;

static void keep(stream *st, const p9c *c)
{
    if (st->len + c->mlen > sizeof st->b)
        abort();
    memcpy(st->b + st->len, c->msg, c->mlen);
    st->len += c->mlen;
}

#define SEND(st, c, call) ((void)(call), keep(st, c))

/* The client runs against a writable export of the harness's tree, so the
 * requests are ones that succeed there. */
static void p9(void)
{
    static p9c c;
    static stream st;
    char dir[4096], buf[256];
    uint32_t n;
    snprintf(dir, sizeof dir, "%s/p9", seed_scratch());
    mkdir(dir, 0755);
    snprintf(buf, sizeof buf, "%s/a", dir);
    mkdir(buf, 0755);
    fuzz_put(dir, "f", "0123456789", 10);
    fuzz_put(dir, "a/g", "nested", 6);
    if (sm_p9_server_create(dir, false, &c.s) != 0)
        abort();
    p9c_version(&c, 65536, "9P2000.L", &n);
    p9c_attach(&c, 1);

    st.len = 0;
    st.b[st.len++] = 0x80;
    SEND(&st, &c, p9c_walk(&c, 1, 2, NULL, "f"));
    SEND(&st, &c, p9c_lopen(&c, 2, 2));
    SEND(&st, &c, p9c_write(&c, 2, 3, "abc", 3));
    SEND(&st, &c, p9c_read(&c, 2, 0, 64, buf, &n));
    SEND(&st, &c, p9c_getattr(&c, 2, NULL, NULL, NULL));
    SEND(&st, &c, p9c_setattr_mode(&c, 2, 0600));
    SEND(&st, &c, p9c_clunk(&c, 2));
    seed("p9", "file_rw", st.b, st.len);

    st.len = 1;
    SEND(&st, &c, p9c_walk(&c, 1, 3, NULL, ""));
    SEND(&st, &c, p9c_lcreate(&c, 3, "new", 2 | 0100, 0644));
    SEND(&st, &c, p9c_write(&c, 3, 0, "data", 4));
    SEND(&st, &c, p9c_mkdir(&c, 1, "d", 0755));
    SEND(&st, &c, p9c_symlink(&c, 1, "s", "f"));
    SEND(&st, &c, p9c_mknod(&c, 1, "fifo", 0010644));
    SEND(&st, &c, p9c_walk(&c, 1, 4, NULL, "f"));
    SEND(&st, &c, p9c_link(&c, 1, 4, "hard"));
    SEND(&st, &c, p9c_renameat(&c, 1, "new", 1, "renamed"));
    SEND(&st, &c, p9c_walk(&c, 1, 5, NULL, "s"));
    SEND(&st, &c, p9c_readlink(&c, 5, buf, sizeof buf));
    SEND(&st, &c, p9c_unlinkat(&c, 1, "hard", 0));
    SEND(&st, &c, p9c_unlinkat(&c, 1, "d", 0x200));
    SEND(&st, &c, p9c_walk(&c, 1, 6, NULL, "a"));
    SEND(&st, &c, p9c_lopen(&c, 6, 0));
    SEND(&st, &c, p9c_readdir_all(&c, 6, 200, buf, sizeof buf));
    SEND(&st, &c, p9c_walk(&c, 1, 7, NULL, "renamed"));
    SEND(&st, &c, p9c_remove(&c, 7));
    seed("p9", "tree_changes", st.b, st.len);
    sm_p9_server_destroy(c.s);
}

static void frame(const char *name, int (*encode)(sm_agent_wbuf *b, const void *m),
                  const void *m)
{
    sm_agent_wbuf b = {.grow = true};
    if (encode(&b, m) != 0 || b.overflow)
        abort();
    seed("agent_frame", name, b.data, b.len);
    sm_agent_wbuf_free(&b);
}

static int exec_frame(sm_agent_wbuf *b, const void *m) { return sm_agent_encode_exec(b, m); }
static int mount_frame(sm_agent_wbuf *b, const void *m) { return sm_agent_encode_mount(b, m); }
static int system_frame(sm_agent_wbuf *b, const void *m) { return sm_agent_encode_system(b, m); }
static int tcp_frame(sm_agent_wbuf *b, const void *m) { return sm_agent_encode_tcp_connect(b, m); }
static int link_frame(sm_agent_wbuf *b, const void *m)
{
    return sm_agent_encode_file_req(b, SM_AGENT_LINK, m);
}

static void agent(void)
{
    const char *argv[] = {"sh", "-c", "echo hi", NULL}, *env[] = {"PATH=/bin", NULL};
    const uint32_t groups[] = {10, 20};
    const uint8_t rnd[16] = {1, 2, 3};
    frame("exec", exec_frame, &(sm_agent_exec_req){
        .argv = argv, .env = env, .cwd = "/root", .uid = 1000, .gid = 1000, .groups = groups,
        .ngroups = 2, .has_groups = true, .timeout_ms = 1000, .stdin_pipe = true, .pty = true,
        .rows = 24, .cols = 80});
    frame("exec_container", exec_frame, &(sm_agent_exec_req){
        .argv = argv, .uid = 1000, .gid = 1000, .groups = groups, .ngroups = 2,
        .has_groups = true, .root = "/pod/c1", .has_umask = true, .umask = 027,
        .no_new_privs = true});
    frame("mount", mount_frame, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_SHARE, .tag = "share0", .path = "/mnt", .entry = "sub",
        .read_only = true});
    frame("mount_fs", mount_frame, &(sm_agent_mount){
        .kind = SM_AGENT_MOUNT_FS, .fstype = "bind", .source = "/pod/hosts",
        .path = "/etc/hosts", .options = "rbind,ro,nosuid", .root = "/pod/c1"});
    frame("system", system_frame, &(sm_agent_system){
        .hostname = "vm", .realtime_ns = 1700000000000000000ull, .seed = rnd,
        .seed_len = sizeof rnd, .etc_hostname = true, .etc_hosts = "127.0.0.1 vm\n",
        .resolv_conf = "nameserver 10.0.2.3\n"});
    frame("tcp", tcp_frame, &(sm_agent_tcp_connect){.port = 8080});
    frame("link", link_frame, &(sm_agent_file_req){.path = "/a/b", .mkdirs = true,
                                                   .target = "../c"});
}

void seeds_p9_agent(void)
{
    p9();
    agent();
}
