/*
 * Shared host directories and files (sm_vm_config.shares, `-v`) in a real
 * VM, booted once for the group: a read-only directory, a read-write one,
 * a read-only and a read-write single file; what the guest can read and
 * change there, and what it must not reach. Then the refusals that need
 * no VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

typedef struct fixture {
    sm_vm *vm;
    char root[64];
} fixture;

static fixture fx;

static void host_path(const fixture *f, const char *rel, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", f->root, rel);
}

static int put(const fixture *f, const char *rel, const char *text)
{
    char p[256];
    host_path(f, rel, p, sizeof p);
    FILE *fp = fopen(p, "w");
    if (!fp)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static char *slurp(const fixture *f, const char *rel)
{
    static char buf[4096];
    char p[256];
    host_path(f, rel, p, sizeof p);
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static bool exists(const fixture *f, const char *rel)
{
    char p[256];
    struct stat st;
    host_path(f, rel, p, sizeof p);
    return lstat(p, &st) == 0;
}

/* ROOT/{ro/hello.txt, rw/, files/{x.conf,sibling.txt}, single/counter.txt,
 * secret.txt} and links in rw/ that point out of the share. */
static int make_tree(fixture *f)
{
    char p[256], q[256];
    snprintf(f->root, sizeof f->root, "/tmp/sm-shares-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    const char *dirs[] = {"ro", "rw", "files", "single"};
    for (size_t i = 0; i < 4; i++) {
        host_path(f, dirs[i], p, sizeof p);
        if (mkdir(p, 0755) < 0)
            return -1;
    }
    if (put(f, "ro/hello.txt", "hello from the host\n") || put(f, "files/x.conf", "key=value\n") ||
        put(f, "files/sibling.txt", "sibling\n") || put(f, "single/counter.txt", "1\n") ||
        put(f, "secret.txt", "SECRET-OUTSIDE\n"))
        return -1;
    host_path(f, "secret.txt", q, sizeof q);
    host_path(f, "rw/leak", p, sizeof p);
    if (symlink(q, p) < 0)
        return -1;
    host_path(f, "rw/up", p, sizeof p);
    return symlink("../secret.txt", p);
}

static int setup(void **state)
{
    fixture *f = &fx;
    char ro[128], rw[128], file[128], single[128];
    if (make_tree(f) < 0) {
        fprintf(stderr, "cannot make the host tree\n");
        return -1;
    }
    host_path(f, "ro", ro, sizeof ro);
    host_path(f, "rw", rw, sizeof rw);
    host_path(f, "files/x.conf", file, sizeof file);
    host_path(f, "single/counter.txt", single, sizeof single);
    sm_share shares[] = {
        {.host_path = ro, .guest_path = "/mnt/ro", .read_only = 1},
        {.host_path = rw, .guest_path = "/mnt/rw"},
        {.host_path = file, .guest_path = "/etc/x.conf", .read_only = 1},
        {.host_path = single, .guest_path = "/data/counter.txt"},
    };
    sm_vm_config c = {.size = sizeof c, .shares = shares, .nshares = 4,
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
    if (!f->root[0])
        return 0;
    sm_vm_stop(f->vm);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run a shell line in the guest; its stdout, and its exit status in *status. */
static char *sh(fixture *f, const char *line, int *status)
{
    static char out[8192];
    sm_exec_result r = {.size = sizeof r};
    if (sm_vm_exec(f->vm, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("sh", "-c", line)},
                   &r) != 0)
        fail_msg("exec failed: %s", sm_last_error());
    snprintf(out, sizeof out, "%s%s", r.stdout_data ? r.stdout_data : "",
             r.stderr_data ? r.stderr_data : "");
    if (status)
        *status = r.exit_status;
    sm_exec_result_free(&r);
    return out;
}

static void read_only_directory(void **state)
{
    fixture *f = *state;
    int st;
    assert_string_equal(sh(f, "cat /mnt/ro/hello.txt", &st), "hello from the host\n");
    assert_int_equal(st, 0);
    sh(f, "echo x > /mnt/ro/new.txt", &st);
    assert_int_not_equal(st, 0);
    sh(f, "echo x >> /mnt/ro/hello.txt", &st);
    assert_int_not_equal(st, 0);
    sh(f, "rm /mnt/ro/hello.txt", &st);
    assert_int_not_equal(st, 0);
    sh(f, "mkdir /mnt/ro/d", &st);
    assert_int_not_equal(st, 0);
    assert_false(exists(f, "ro/new.txt"));
    assert_false(exists(f, "ro/d"));
    assert_string_equal(slurp(f, "ro/hello.txt"), "hello from the host\n");
}

static void read_write_directory(void **state)
{
    fixture *f = *state;
    int st;
    sh(f, "echo guest-data > /mnt/rw/out.txt && mkdir /mnt/rw/d && "
          "mv /mnt/rw/out.txt /mnt/rw/d/moved.txt && echo tmp > /mnt/rw/gone && "
          "rm /mnt/rw/gone", &st);
    assert_int_equal(st, 0);
    assert_string_equal(slurp(f, "rw/d/moved.txt"), "guest-data\n");
    assert_false(exists(f, "rw/out.txt"));
    assert_false(exists(f, "rw/gone"));
    /* What the host writes now, the guest sees now. */
    assert_int_equal(put(f, "rw/from-host.txt", "fresh\n"), 0);
    assert_string_equal(sh(f, "cat /mnt/rw/from-host.txt", &st), "fresh\n");
    assert_int_equal(put(f, "rw/from-host.txt", "fresher\n"), 0);
    assert_string_equal(sh(f, "cat /mnt/rw/from-host.txt", &st), "fresher\n");
}

/* Files larger than one message, both ways. */
static void large_files(void **state)
{
    fixture *f = *state;
    int st;
    char p[256], cmd[300], host_sum[64] = "";
    sh(f, "yes 0123456789abcdef | head -c 300000 > /mnt/rw/big.txt", &st);
    assert_int_equal(st, 0);
    host_path(f, "rw/big.txt", p, sizeof p);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 300000);
    snprintf(cmd, sizeof cmd, "head -c 300000 /dev/urandom > %s/rw/random.bin && "
             "md5sum < %s/rw/random.bin", f->root, f->root);
    FILE *fp = popen(cmd, "r");
    assert_non_null(fp);
    assert_non_null(fgets(host_sum, sizeof host_sum, fp));
    pclose(fp);
    char *out = sh(f, "md5sum < /mnt/rw/random.bin; grep -vc 0123456789abcdef /mnt/rw/big.txt",
                   &st);
    assert_memory_equal(out, host_sum, 32);
    /* The last line is cut short by head -c: it alone differs. */
    assert_string_equal(out + strlen(host_sum), "1\n");
}

static void symlinks_do_not_lead_out(void **state)
{
    fixture *f = *state;
    int st;
    /* The guest sees the links as links and resolves them in its own
     * tree, where the host's path does not exist. */
    char *out = sh(f, "cat /mnt/rw/leak; cat /mnt/rw/up; ls /mnt/rw/leak/..", &st);
    assert_int_not_equal(st, 0);
    assert_null(strstr(out, "SECRET-OUTSIDE"));
    /* Writing through a link does not write the host's target. */
    sh(f, "echo pwned > /mnt/rw/up", &st);
    assert_string_equal(slurp(f, "secret.txt"), "SECRET-OUTSIDE\n");
    /* A link the guest makes leads into the guest, not the host. */
    out = sh(f, "ln -s / /mnt/rw/root && ls /mnt/rw/root/", &st);
    assert_int_equal(st, 0);
    assert_null(strstr(out, "sm-shares-"));
}

static void read_only_single_file(void **state)
{
    fixture *f = *state;
    int st;
    assert_string_equal(sh(f, "cat /etc/x.conf", &st), "key=value\n");
    sh(f, "echo more >> /etc/x.conf", &st);
    assert_int_not_equal(st, 0);
    assert_string_equal(slurp(f, "files/x.conf"), "key=value\n");
    /* No staging directory is left, and the share itself, mounted again
     * by hand, holds that file alone. */
    /* No staging directory is left; the share is mounted at the file
     * alone, and cannot be mounted again to look around (the unit tests
     * show the server would list that file alone anyway). */
    char *out = sh(f, "ls -a /dev | grep -c sm-share; grep smshare2 /proc/mounts | "
                      "cut -d' ' -f2; mkdir -p /probe && "
                      "mount -t 9p -o trans=virtio,version=9p2000.L smshare2 /probe", &st);
    assert_int_not_equal(st, 0);
    assert_string_equal(out, "0\n/etc/x.conf\nmount: mounting smshare2 on /probe failed: "
                             "Device or resource busy\n");
}

static void read_write_single_file(void **state)
{
    fixture *f = *state;
    int st;
    sh(f, "echo 2 >> /data/counter.txt", &st);
    assert_int_equal(st, 0);
    assert_string_equal(slurp(f, "single/counter.txt"), "1\n2\n");
    sh(f, "touch /data/other.txt && ls /data", &st);
    assert_false(exists(f, "single/other.txt"));
}

/* ---- refused before any VM starts ---- */

static int try_start(const sm_share *shares, unsigned n)
{
    sm_vm *vm = NULL;
    sm_vm_config c = {.size = sizeof c, .shares = shares, .nshares = n};
    int err = sm_vm_start(NULL, &c, &vm);
    if (!err)
        sm_vm_stop(vm);
    return err;
}

static void refuses_bad_shares(void **state)
{
    (void)state;
    assert_int_equal(try_start(&(sm_share){"/nonexistent/sm-share-dir", "/mnt", 0}, 1), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "/nonexistent/sm-share-dir"));
    assert_int_equal(try_start(&(sm_share){"/tmp", "mnt/relative", 0}, 1), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "absolute"));
    assert_int_equal(try_start(&(sm_share){"/dev/null", "/mnt/null", 0}, 1), -EINVAL);
    sm_share many[9];
    for (int i = 0; i < 9; i++)
        many[i] = (sm_share){"/tmp", "/mnt", 1};
    assert_int_equal(try_start(many, 9), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "at most 8"));
}

int main(void)
{
    const struct CMUnitTest refusals[] = {
        cmocka_unit_test(refuses_bad_shares),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_only_directory),
        cmocka_unit_test(read_write_directory),
        cmocka_unit_test(large_files),
        cmocka_unit_test(symlinks_do_not_lead_out),
        cmocka_unit_test(read_only_single_file),
        cmocka_unit_test(read_write_single_file),
    };
    int failed = cmocka_run_group_tests_name("share_refusals", refusals, NULL, NULL);
    return failed + cmocka_run_group_tests_name("shares", tests, setup, teardown);
}
