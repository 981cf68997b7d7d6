/*
 * A container of a pod in a real VM, through the public API only: a host
 * directory holding a busybox root is shared into the guest, sm_vm_mount
 * builds the container's filesystems there (proc, a tmpfs, a read-only
 * bind of a file), and sm_vm_exec runs commands in it with sm_exec's root,
 * umask, groups and no_new_privileges.
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})
#define BUSYBOX "/bin/busybox"
#define POD "/run/pod"
#define ROOT POD "/rootfs"

typedef struct fixture {
    sm_vm *vm;
    char dir[64];
} fixture;

static fixture fx;

static const char *const applets[] = {"sh", "cat", "grep", "stat", "pwd", "touch", "id"};

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

/* DIR/{rootfs/bin/{busybox,applets}, hosts}: the pod's directory. */
static int make_pod(fixture *f)
{
    char p[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-pod-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(p, sizeof p, "%s/rootfs", f->dir);
    if (mkdir(p, 0755) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/rootfs/bin", f->dir);
    if (mkdir(p, 0755) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/rootfs/bin/busybox", f->dir);
    if (copy_file(BUSYBOX, p, 0755) < 0)
        return -1;
    for (size_t i = 0; i < sizeof applets / sizeof *applets; i++) {
        snprintf(p, sizeof p, "%s/rootfs/bin/%s", f->dir, applets[i]);
        if (symlink("busybox", p) < 0)
            return -1;
    }
    snprintf(p, sizeof p, "%s/hosts", f->dir);
    FILE *fp = fopen(p, "w");
    if (!fp)
        return -1;
    fputs("10.0.0.1 pod\n", fp);
    return fclose(fp);
}

static int setup(void **state)
{
    fixture *f = &fx;
    if (make_pod(f) < 0) {
        fprintf(stderr, "cannot make the pod's directory\n");
        return -1;
    }
    sm_share share = {.host_path = f->dir, .guest_path = POD};
    sm_vm_config c = {.size = sizeof c, .shares = &share, .nshares = 1,
                      .start_timeout_ms = 600000};
    if (sm_vm_start(NULL, &c, &f->vm) != 0) {
        fprintf(stderr, "sm_vm_start: %s\n", sm_last_error());
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state ? *state : &fx;
    char cmd[128];
    if (!f->dir[0])
        return 0;
    if (f->vm)
        sm_vm_stop(f->vm);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int mount_one(sm_vm *vm, const char *type, const char *source, const char *target,
                     const char *options)
{
    return sm_vm_mount(vm, &(sm_mount){.size = sizeof(sm_mount), .type = type, .source = source,
                                       .target = target, .options = options});
}

/* Run in the container; its stdout then stderr, and its exit status. */
static char *run(fixture *f, sm_exec ex, int *status)
{
    static char out[8192];
    sm_exec_result r = {.size = sizeof r};
    ex.size = sizeof ex;
    if (sm_vm_exec(f->vm, &ex, &r) != 0)
        fail_msg("exec failed: %s", sm_last_error());
    snprintf(out, sizeof out, "%s%s", r.stdout_data ? r.stdout_data : "",
             r.stderr_data ? r.stderr_data : "");
    *status = r.exit_status;
    sm_exec_result_free(&r);
    return out;
}

static void container_process(void **state)
{
    fixture *f = *state;
    if (mount_one(f->vm, "proc", NULL, ROOT "/proc", "nosuid,nodev,noexec") != 0 ||
        mount_one(f->vm, "tmpfs", NULL, ROOT "/tmp", "nosuid,size=8m,mode=1775") != 0 ||
        mount_one(f->vm, "bind", POD "/hosts", ROOT "/etc/hosts", "rbind,ro") != 0)
        fail_msg("sm_vm_mount: %s", sm_last_error());
    const uint32_t groups[] = {5, 7};
    int st;
    char *out = run(f,
                    (sm_exec){.size = sizeof(sm_exec),
                              .argv = ARGV("sh", "-c",
                                           "pwd; umask; grep -E '^(Uid|Gid|Groups|NoNewPrivs):' "
                                           "/proc/self/status; stat -c %a /tmp; cat /etc/hosts"),
                              .cwd = "/tmp",
                              .uid = 1000,
                              .gid = 1000,
                              .root = ROOT,
                              .has_umask = 1,
                              .umask = 027,
                              .groups = groups,
                              .ngroups = 2,
                              .has_groups = 1,
                              .no_new_privileges = 1},
                    &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "/tmp\n0027\n"));
    assert_non_null(strstr(out, "Uid:\t1000\t1000\t1000\t1000\n"));
    assert_non_null(strstr(out, "Groups:\t5 7 \n"));
    assert_non_null(strstr(out, "NoNewPrivs:\t1\n"));
    assert_non_null(strstr(out, "1775\n10.0.0.1 pod\n"));
    /* Read-only even to root, who may write the shared file itself. */
    out = run(f,
              (sm_exec){.size = sizeof(sm_exec),
                        .argv = ARGV("sh", "-c",
                                     "touch /etc/hosts || echo read-only; "
                                     "touch /hosts-of-root && echo writable"),
                        .root = ROOT},
              &st);
    assert_non_null(strstr(out, "read-only\nwritable\n"));
    /* The VM's own root is still there for a command without one. */
    out = run(f,
              (sm_exec){.size = sizeof(sm_exec),
                        .argv = ARGV("sh", "-c", "test -e " ROOT "/bin/busybox && echo ok")},
              &st);
    assert_string_equal(out, "ok\n");
}

/* Another process's handle, as an OCI runtime's every command has. */
static void mount_through_opened_handle(void **state)
{
    fixture *f = *state;
    sm_vm *h;
    if (sm_vm_open(sm_vm_id(f->vm), &h) != 0)
        fail_msg("sm_vm_open: %s", sm_last_error());
    /* The target as the container sees it, resolved inside its root. */
    int err = sm_vm_mount(h, &(sm_mount){.size = sizeof(sm_mount), .type = "mqueue",
                                         .target = "/dev/mqueue", .root = ROOT,
                                         .options = "nosuid,nodev,noexec"});
    sm_vm_release(h);
    if (err)
        fail_msg("sm_vm_mount: %s", sm_last_error());
    int st;
    char *out =
        run(f,
            (sm_exec){.size = sizeof(sm_exec),
                      .argv = ARGV("grep", "-c", "^mqueue /dev/mqueue mqueue", "/proc/mounts"),
                      .root = ROOT},
            &st);
    assert_string_equal(out, "1\n");
}

static void refusals(void **state)
{
    fixture *f = *state;
    assert_int_equal(mount_one(f->vm, "ext9", NULL, ROOT "/x", NULL), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "unknown type ext9"));
    assert_int_equal(mount_one(f->vm, "proc", NULL, "relative/proc", NULL), -EINVAL);
    assert_int_equal(mount_one(f->vm, "bind", NULL, ROOT "/y", NULL), -EINVAL);
    assert_int_equal(mount_one(f->vm, "bind", "/no/such/file", ROOT "/z", NULL), -ENOENT);
    assert_non_null(strstr(sm_last_error(), ROOT "/z"));
    int st;
    char *out = run(
        f, (sm_exec){.size = sizeof(sm_exec), .argv = ARGV("sh"), .root = "/no/such/root"}, &st);
    assert_int_equal(st, 127);
    assert_non_null(strstr(out, "cannot change the root to /no/such/root"));
    sm_exec ex = {.size = sizeof ex, .argv = ARGV("sh"), .has_umask = 1, .umask = 01000};
    sm_exec_result r = {.size = sizeof r};
    assert_int_equal(sm_vm_exec(f->vm, &ex, &r), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(container_process),
        cmocka_unit_test(mount_through_opened_handle),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests_name("pod_container", tests, setup, teardown);
}
