/* A container of a pod, served by the agent on the host: a busybox root
 * with its mounts made by MOUNT (proc, sysfs, tmpfs, binds), and commands
 * run in it with EXEC's root, umask, groups and no_new_privs. Needs root
 * and a mount namespace of its own (made here, so nothing leaks to the
 * host's mounts); skipped without. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/client_mount.h"
#include "agent_harness.h"
#include "supermachine.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define BUSYBOX "/bin/busybox"

typedef struct fixture {
    harness h;
    char dir[64];        /* holds rootfs/ and the binds' sources */
    char root[128];
} fixture;

static const char *const applets[] = {"sh", "cat", "id", "grep", "touch", "stat", "pwd",
                                      "ls", "echo", "test"};

static void path_in(const fixture *f, char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", f->root, rel);
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ssize_t n = 0;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    int err = in < 0 || out < 0 || n < 0 ? -1 : 0;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return err;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* rootfs/bin/busybox and its applets; a file and a directory to bind. */
static void make_root(fixture *f)
{
    char p[256], q[256];
    snprintf(f->root, sizeof f->root, "%s/rootfs", f->dir);
    path_in(f, p, sizeof p, "bin");
    assert_int_equal(mkdir(f->root, 0755) | mkdir(p, 0755), 0);
    path_in(f, p, sizeof p, "bin/busybox");
    assert_int_equal(copy_file(BUSYBOX, p, 0755), 0);
    for (size_t i = 0; i < sizeof applets / sizeof *applets; i++) {
        path_in(f, q, sizeof q, "bin");
        snprintf(p, sizeof p, "%s/%s", q, applets[i]);
        assert_int_equal(symlink("busybox", p), 0);
    }
    snprintf(p, sizeof p, "%s/hosts", f->dir);
    write_text(p, "127.0.0.1 pod\n");
    snprintf(p, sizeof p, "%s/data", f->dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/data/f", f->dir);
    write_text(p, "data\n");
}

static int setup(void **state)
{
    if (getuid() != 0 || access(BUSYBOX, X_OK) != 0)
        return 0;
    /* The agent, forked below, shares this namespace: its mounts end with
     * the test. */
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 0;
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sm-container-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    make_root(f);
    harness_start(&f->h);
    *state = f;
    return 0;
}

/* Everything mounted under the root goes before the files are removed:
 * rm must not walk into proc or through a bind into its source. */
static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    harness_stop(&f->h);
    static const char *const mounted[] = {"etc/hosts", "data", "sys", "proc", "tmp", "dev/pts",
                                          "dev/mqueue", "rdata", "etc/hosts2", "escaped",
                                          "run/sm-secrets"};
    char p[256];
    for (size_t i = 0; i < sizeof mounted / sizeof *mounted; i++) {
        path_in(f, p, sizeof p, mounted[i]);
        while (umount2(p, MNT_DETACH) == 0) {
        }
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf --one-file-system '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

static fixture *fix(void **state)
{
    if (!*state)
        skip();  /* not root, no busybox or no mount namespace */
    return *state;
}

/* A MOUNT of a container's kind; 0 or the negative errno, with the
 * agent's sentence in sm_last_error(). */
static int mount_in(fixture *f, const char *type, const char *source, const char *rel,
                    const char *options)
{
    char target[256];
    path_in(f, target, sizeof target, rel);
    sm_agent_conn *c = harness_conn(&f->h);
    sm_agent_mount m = {.kind = SM_AGENT_MOUNT_FS, .fstype = type, .source = source,
                        .path = target, .options = options};
    int err = sm_agent_mount_share(c, &m);
    sm_agent_conn_close(c);
    return err;
}

/* The same with the target inside the root, as the container sees it. */
static int mount_root(fixture *f, const char *type, const char *source, const char *target,
                      const char *options)
{
    sm_agent_conn *c = harness_conn(&f->h);
    sm_agent_mount m = {.kind = SM_AGENT_MOUNT_FS, .fstype = type, .source = source,
                        .path = target, .options = options, .root = f->root};
    int err = sm_agent_mount_share(c, &m);
    sm_agent_conn_close(c);
    return err;
}

static bool mount_point(const char *path)
{
    struct stat st, up;
    char parent[300];
    snprintf(parent, sizeof parent, "%s/..", path);
    return stat(path, &st) == 0 && stat(parent, &up) == 0 && st.st_dev != up.st_dev;
}

static sm_agent_exit run_in(fixture *f, sm_agent_exec_req req, sm_agent_output *o)
{
    req.root = f->root;
    sm_agent_conn *c = harness_conn(&f->h);
    sm_agent_exit x;
    int err = sm_agent_exec_run(c, &req, NULL, 0, 1 << 20, o, &x);
    if (err)
        fail_msg("exec %s: %s", req.argv[0], sm_last_error());
    sm_agent_conn_close(c);
    return x;
}

#define REQ(...) ((sm_agent_exec_req){.uid = -1, .gid = -1, __VA_ARGS__})

/* The root is /, PATH finds the root's programs, a relative cwd is made
 * inside it, and the umask is the request's. */
static void root_cwd_and_umask(void **state)
{
    fixture *f = fix(state);
    sm_agent_output o;
    sm_agent_exit x = run_in(f, REQ(.argv = ARGV("sh", "-c", "pwd; ls /; umask"),
                                    .cwd = "work/dir", .mkcwd = true, .has_umask = true,
                                    .umask = 027),
                             &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "/work/dir\nbin\nwork\n0027\n");
    sm_agent_output_free(&o);
    char p[256];
    path_in(f, p, sizeof p, "work/dir");
    assert_int_equal(access(p, F_OK), 0);
    /* Without a umask: the agent's own. */
    x = run_in(f, REQ(.argv = ARGV("sh", "-c", "umask")), &o);
    assert_string_equal(o.out, "0022\n");
    sm_agent_output_free(&o);
}

static void user_and_groups(void **state)
{
    fixture *f = fix(state);
    sm_agent_output o;
    sm_agent_exit x = run_in(f, (sm_agent_exec_req){
                                 .argv = ARGV("sh", "-c", "id -u; id -g; id -G"), .uid = 1000,
                                 .gid = 1001, .has_groups = true,
                                 .groups = (const uint32_t[]){5, 7}, .ngroups = 2},
                             &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "1000\n1001\n1001 5 7\n");
    sm_agent_output_free(&o);
}

/* A root that is missing or a file fails the command with a sentence
 * naming it, as a missing cwd does. */
static void bad_root(void **state)
{
    fixture *f = fix(state);
    sm_agent_conn *c = harness_conn(&f->h);
    sm_agent_output o;
    sm_agent_exit x;
    sm_agent_exec_req req = REQ(.argv = ARGV("sh"), .root = "/no/such/root");
    assert_int_equal(sm_agent_exec_run(c, &req, NULL, 0, 1 << 20, &o, &x), 0);
    sm_agent_conn_close(c);
    assert_int_equal(x.status, 127);
    assert_non_null(strstr((char *)o.err, "cannot change the root to /no/such/root"));
    sm_agent_output_free(&o);
    char file[256];
    path_in(f, file, sizeof file, "bin/busybox");
    c = harness_conn(&f->h);
    req.root = file;
    assert_int_equal(sm_agent_exec_run(c, &req, NULL, 0, 1 << 20, &o, &x), 0);
    sm_agent_conn_close(c);
    assert_int_equal(x.status, 126);
    assert_non_null(strstr((char *)o.err, "Not a directory"));
    sm_agent_output_free(&o);
}

/* proc at <root>/proc (made by MOUNT), then no_new_privs as the command
 * sees it. */
static void proc_and_no_new_privs(void **state)
{
    fixture *f = fix(state);
    assert_int_equal(mount_in(f, "proc", NULL, "proc", "nosuid,noexec,nodev"), 0);
    sm_agent_output o;
    sm_agent_exit x = run_in(f, REQ(.argv = ARGV("grep", "NoNewPrivs", "/proc/self/status"),
                                    .no_new_privs = true),
                             &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "NoNewPrivs:\t1\n");
    sm_agent_output_free(&o);
    x = run_in(f, REQ(.argv = ARGV("grep", "NoNewPrivs", "/proc/self/status")), &o);
    assert_string_equal(o.out, "NoNewPrivs:\t0\n");
    sm_agent_output_free(&o);
    /* Its flags are the mount's own. */
    x = run_in(f, REQ(.argv = ARGV("grep", "^proc /proc proc rw,nosuid,nodev,noexec",
                                   "/proc/mounts")),
               &o);
    assert_int_equal(x.status, 0);
    sm_agent_output_free(&o);
}

/* sysfs and a tmpfs with its data (size, mode) apart from its flags. */
static void sysfs_and_tmpfs(void **state)
{
    fixture *f = fix(state);
    assert_int_equal(mount_in(f, "sysfs", NULL, "sys", "ro,nosuid"), 0);
    assert_int_equal(mount_in(f, "tmpfs", NULL, "tmp", "nosuid,size=1m,mode=1770"), 0);
    assert_int_equal(mount_in(f, "proc", NULL, "proc", NULL), 0);
    sm_agent_output o;
    sm_agent_exit x = run_in(f, REQ(.argv = ARGV("sh", "-c",
                                                 "test -d /sys/kernel && stat -c %a /tmp && "
                                                 "grep -c '^tmpfs /tmp tmpfs rw,nosuid,.*"
                                                 "size=1024k,mode=1770' /proc/mounts && "
                                                 "grep -c '^sysfs /sys sysfs ro,nosuid' "
                                                 "/proc/mounts")),
                             &o);
    if (x.status != 0)
        fail_msg("status %d: %s%s", x.status, o.out, o.err);
    assert_string_equal(o.out, "1770\n1\n1\n");
    sm_agent_output_free(&o);
}

/* /dev/pts and /dev/mqueue as podman's default spec asks for them. */
static void devpts_and_mqueue(void **state)
{
    fixture *f = fix(state);
    assert_int_equal(mount_in(f, "devpts", NULL, "dev/pts",
                              "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"), 0);
    assert_int_equal(mount_in(f, "mqueue", NULL, "dev/mqueue", "nosuid,nodev,noexec"), 0);
    sm_agent_output o;
    sm_agent_exit x = run_in(f, REQ(.argv = ARGV("sh", "-c",
                                                 "grep -c '^devpts /dev/pts devpts "
                                                 "rw,nosuid,noexec,.*gid=5,mode=620,"
                                                 "ptmxmode=666' /proc/mounts && "
                                                 "grep -c '^mqueue /dev/mqueue mqueue "
                                                 "rw,nosuid,nodev,noexec' /proc/mounts")),
                             &o);
    if (x.status != 0)
        fail_msg("status %d: %s%s", x.status, o.out, o.err);
    assert_string_equal(o.out, "1\n1\n");
    sm_agent_output_free(&o);
}

/* A file onto a file created for it; a directory read-only (bind, then a
 * bind remount); rbind. */
static void binds(void **state)
{
    fixture *f = fix(state);
    char hosts[128], data[128];
    snprintf(hosts, sizeof hosts, "%s/hosts", f->dir);
    snprintf(data, sizeof data, "%s/data", f->dir);
    assert_int_equal(mount_in(f, "bind", hosts, "etc/hosts", "rbind,rprivate"), 0);
    assert_int_equal(mount_in(f, "bind", data, "data", "ro,nosuid"), 0);
    assert_int_equal(mount_in(f, "rbind", data, "rdata", NULL), 0);
    sm_agent_output o;
    sm_agent_exit x = run_in(f, REQ(.argv = ARGV("sh", "-c",
                                                 "cat /etc/hosts /data/f; "
                                                 "touch /data/new || echo read-only; "
                                                 "touch /rdata/new && echo rw")),
                             &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "127.0.0.1 pod\ndata\nread-only\nrw\n");
    assert_non_null(strstr((char *)o.err, "Read-only file system"));
    sm_agent_output_free(&o);
    struct stat st;
    char p[256];
    path_in(f, p, sizeof p, "etc/hosts");
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

/* With a root, a target is the container's path: the image's symlinks
 * resolve inside the root, an absolute one, one climbing out and a
 * legitimate /var/run -> /run alike; a read-only bind's remount finds the
 * new mount. */
static void targets_resolve_inside_root(void **state)
{
    fixture *f = fix(state);
    char p[256], hosts[128];
    path_in(f, p, sizeof p, "evil");
    assert_int_equal(symlink("/", p), 0);
    path_in(f, p, sizeof p, "up");
    assert_int_equal(symlink("../../../../../..", p), 0);
    path_in(f, p, sizeof p, "var");
    assert_int_equal(mkdir(p, 0755), 0);
    path_in(f, p, sizeof p, "var/run");
    assert_int_equal(symlink("/run", p), 0);
    path_in(f, p, sizeof p, "dangling");
    assert_int_equal(symlink("/not/made", p), 0);
    /* Where a dangling link leads is not made: the mount fails. */
    assert_int_equal(mount_root(f, "tmpfs", NULL, "/var/run/sm-secrets", NULL), -ENOENT);
    assert_int_equal(mount_root(f, "tmpfs", NULL, "/dangling/x", NULL), -ENOENT);
    path_in(f, p, sizeof p, "run");
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(hosts, sizeof hosts, "%s/hosts", f->dir);
    assert_int_equal(mount_root(f, "bind", hosts, "/evil/etc/hosts2", "ro"), 0);
    assert_int_equal(mount_root(f, "tmpfs", NULL, "/up/escaped", "size=1m"), 0);
    assert_int_equal(mount_root(f, "tmpfs", NULL, "/var/run/sm-secrets", NULL), 0);
    assert_int_not_equal(access("/etc/hosts2", F_OK), 0);
    assert_int_not_equal(access("/escaped", F_OK), 0);
    assert_int_not_equal(access("/run/sm-secrets", F_OK), 0);
    path_in(f, p, sizeof p, "escaped");
    assert_true(mount_point(p));
    path_in(f, p, sizeof p, "run/sm-secrets");
    assert_true(mount_point(p));
    sm_agent_output o;
    sm_agent_exit x = run_in(f, REQ(.argv = ARGV("sh", "-c", "cat /etc/hosts2; "
                                                 "touch /etc/hosts2 || echo read-only")),
                             &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "127.0.0.1 pod\nread-only\n");
    sm_agent_output_free(&o);
    /* A missing root, and a path through a file. */
    sm_agent_conn *c = harness_conn(&f->h);
    sm_agent_mount m = {.kind = SM_AGENT_MOUNT_FS, .fstype = "tmpfs", .path = "/x",
                        .root = "/no/such/root"};
    assert_int_equal(sm_agent_mount_share(c, &m), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "inside /no/such/root"));
    sm_agent_conn_close(c);
    assert_int_equal(mount_root(f, "tmpfs", NULL, "/bin/busybox/x", NULL), -ENOTDIR);
}

/* Refusals come back as the guest's errno with a sentence naming the
 * target; the connection's next request still works. */
static void mount_errors(void **state)
{
    fixture *f = fix(state);
    char data[128];
    snprintf(data, sizeof data, "%s/data", f->dir);
    assert_int_equal(mount_in(f, "ext9", NULL, "x", NULL), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "unknown type ext9"));
    assert_non_null(strstr(sm_last_error(), "/rootfs/x"));
    assert_int_equal(mount_in(f, "bind", data, "y", "ro,size=1m"), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "unknown options size=1m"));
    assert_int_equal(mount_in(f, "bind", "/no/such/source", "z", NULL), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "/rootfs/z"));
    assert_int_equal(mount_in(f, "bind", NULL, "w", NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(root_cwd_and_umask),
        cmocka_unit_test(user_and_groups),
        cmocka_unit_test(bad_root),
        cmocka_unit_test(proc_and_no_new_privs),
        cmocka_unit_test(sysfs_and_tmpfs),
        cmocka_unit_test(devpts_and_mqueue),
        cmocka_unit_test(binds),
        cmocka_unit_test(targets_resolve_inside_root),
        cmocka_unit_test(mount_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
