/*
 * spec.json, the record a detached VM is started again from: every field
 * of the config and the main process survives encoding, writing, reading
 * and decoding; relative paths come back absolute; what is not a record
 * is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/vm_spec.h"

static const sm_port ports[] = {{NULL, 8080, 80, 0}, {"127.0.0.2", 5353, 53, 1}};
static const sm_share shares[] = {{"/srv/data", "/data", 1}};
static const sm_disk disks[] = {{"/var/disk.img", 0}, {"rel.img", 1}};
static const sm_tmpfs tmpfs[] = {{"/run", NULL}, {"/tmp", "size=64m,exec"}};
static const char *const env[] = {"A=1", "B=two words", NULL};
static const char *const cmd[] = {"sh", "-c", "echo hi", NULL};
static const char *const ep[] = {"/entry", NULL};

static sm_vm_config full_config(void)
{
    return (sm_vm_config){
        .size = sizeof(sm_vm_config), .memory_mib = 256, .cpus = 2, .cpu_quota_milli = 1500,
        .network = SM_NETWORK_USER, .ports = ports, .nports = 2, .shares = shares,
        .nshares = 1, .disks = disks, .ndisks = 2, .tmpfs = tmpfs, .ntmpfs = 2,
        .hostname = "web", .upper_disk = "/d/upper.ext4", .kernel = "/k/vmlinux",
        .cmdline = "quiet", .no_snapshot = 1, .auto_remove = 1, .read_only = 1,
        .name = "not-kept", .snapshot = "/not/kept"};
}

static const uint32_t groups[] = {5, 0, 4294967295u};

static sm_exec full_main(void)
{
    return (sm_exec){.size = sizeof(sm_exec), .env = env, .cwd = "/w", .user = "nobody",
                     .pty = 1, .from_image = 1, .entrypoint = ep, .has_entrypoint = 1,
                     .cmd = cmd, .stdout_fd = 7, .root = "/run/pod/c1", .has_umask = 1,
                     .umask = 0, .groups = groups, .ngroups = 3, .has_groups = 1,
                     .no_new_privileges = 1};
}

static void check_strv(const char *const *got, const char *const *want)
{
    assert_non_null(got);
    size_t i = 0;
    for (; want[i]; i++)
        assert_string_equal(got[i], want[i]);
    assert_null(got[i]);
}

static void check_config(const sm_vm_config *c)
{
    assert_int_equal(c->memory_mib, 256);
    assert_int_equal(c->cpus, 2);
    assert_int_equal(c->cpu_quota_milli, 1500);
    assert_int_equal(c->network, SM_NETWORK_USER);
    assert_int_equal(c->nports, 2);
    assert_null(c->ports[0].host_ip);
    assert_int_equal(c->ports[0].host_port, 8080);
    assert_string_equal(c->ports[1].host_ip, "127.0.0.2");
    assert_int_equal(c->ports[1].guest_port, 53);
    assert_true(c->ports[1].udp);
    assert_int_equal(c->nshares, 1);
    assert_string_equal(c->shares[0].guest_path, "/data");
    assert_true(c->shares[0].read_only);
    assert_int_equal(c->ndisks, 2);
    assert_string_equal(c->disks[0].path, "/var/disk.img");
    assert_int_equal(c->ntmpfs, 2);
    assert_null(c->tmpfs[0].options);
    assert_string_equal(c->tmpfs[1].options, "size=64m,exec");
    assert_string_equal(c->hostname, "web");
    assert_string_equal(c->upper_disk, "/d/upper.ext4");
    assert_string_equal(c->kernel, "/k/vmlinux");
    assert_null(c->initrd);
    assert_string_equal(c->cmdline, "quiet");
    assert_true(c->no_snapshot && c->auto_remove && c->read_only && c->detached);
    assert_false(c->run_image_process);
    /* The name lives in meta.json; a snapshot is never a start's. */
    assert_null(c->name);
    assert_null(c->snapshot);
    assert_null(c->root_dir);
    assert_false(c->root_read_only);
}

static void check_main(const sm_vm_spec *s)
{
    assert_true(s->has_main);
    check_strv(s->main.env, env);
    check_strv(s->main.cmd, cmd);
    check_strv(s->main.entrypoint, ep);
    assert_null(s->main.argv);
    assert_string_equal(s->main.cwd, "/w");
    assert_string_equal(s->main.user, "nobody");
    assert_true(s->main.pty && s->main.from_image && s->main.has_entrypoint);
    assert_int_equal(s->main.stdout_fd, 0);
    assert_string_equal(s->main.root, "/run/pod/c1");
    assert_true(s->main.has_umask && s->main.has_groups && s->main.no_new_privileges);
    assert_int_equal(s->main.umask, 0);
    assert_int_equal(s->main.ngroups, 3);
    assert_int_equal(s->main.groups[0], 5);
    assert_int_equal(s->main.groups[1], 0);
    assert_int_equal(s->main.groups[2], 4294967295u);
}

static void round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/sm-spec-XXXXXX", cwd[4096];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    sm_vm_config c = full_config();
    sm_exec m = full_main();
    json_t *o = sm_vm_spec_encode(&c, &m, "localhost/img:1", "sha256:abc");
    assert_int_equal(sm_vm_spec_write(dir, o), 0);
    json_decref(o);
    sm_vm_spec s;
    assert_int_equal(sm_vm_spec_read(dir, &s), 0);
    assert_string_equal(s.image, "localhost/img:1");
    assert_string_equal(s.image_digest, "sha256:abc");
    check_config(&s.config);
    check_main(&s);
    char want[4200];
    snprintf(want, sizeof want, "%s/rel.img", cwd);
    assert_string_equal(s.config.disks[1].path, want);
    assert_true(s.config.disks[1].read_only);
    sm_vm_spec_free(&s);
    unlink(strcat(strcpy(want, dir), "/" SM_VM_SPEC_NAME));
    rmdir(dir);
}

/* run -d writes the config first, the main process once it starts. */
static void main_added_later(void **state)
{
    (void)state;
    char dir[] = "/tmp/sm-spec-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    sm_vm_config c = {.size = sizeof(sm_vm_config), .run_image_process = 1};
    json_t *o = sm_vm_spec_encode(&c, NULL, "", "sha256:abc");
    assert_int_equal(sm_vm_spec_write(dir, o), 0);
    json_decref(o);
    sm_vm_spec s;
    assert_int_equal(sm_vm_spec_read(dir, &s), 0);
    assert_false(s.has_main);
    assert_true(s.config.run_image_process);
    assert_int_equal(s.config.nports + s.config.nshares + s.config.ndisks, 0);
    sm_vm_spec_free(&s);
    const char *const argv[] = {"true", NULL};
    sm_exec m = {.size = sizeof(sm_exec), .argv = argv};
    assert_int_equal(sm_vm_spec_set_main(dir, &m), 0);
    assert_int_equal(sm_vm_spec_read(dir, &s), 0);
    assert_true(s.has_main);
    check_strv(s.main.argv, argv);
    assert_null(s.main.env);
    assert_null(s.main.cmd);
    assert_null(s.main.root);
    assert_false(s.main.has_umask || s.main.has_groups || s.main.no_new_privileges);
    sm_vm_spec_free(&s);
    snprintf(path, sizeof path, "%s/" SM_VM_SPEC_NAME, dir);
    unlink(path);
    rmdir(dir);
}

/* A VM from a root directory has no image: the directory, made absolute,
 * is what a start again boots. */
static void root_dir_record(void **state)
{
    (void)state;
    char dir[] = "/tmp/sm-spec-XXXXXX", path[64], cwd[4096], want[4200];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    sm_vm_config c = {.size = sizeof(sm_vm_config), .root_dir = "rel/root", .root_read_only = 1};
    json_t *o = sm_vm_spec_encode(&c, NULL, NULL, NULL);
    assert_int_equal(sm_vm_spec_write(dir, o), 0);
    json_decref(o);
    sm_vm_spec s;
    assert_int_equal(sm_vm_spec_read(dir, &s), 0);
    snprintf(want, sizeof want, "%s/rel/root", cwd);
    assert_string_equal(s.config.root_dir, want);
    assert_true(s.config.root_read_only);
    assert_string_equal(s.image_digest, "");
    sm_vm_spec_free(&s);
    snprintf(path, sizeof path, "%s/" SM_VM_SPEC_NAME, dir);
    unlink(path);
    rmdir(dir);
}

static void refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]", "{}", "{\"version\": 2, \"image_digest\": \"sha256:a\", \"config\": {}}",
        "{\"version\": 1, \"config\": {}}",
        "{\"version\": 1, \"image_digest\": \"sha256:a\", \"config\": []}",
        "{\"version\": 1, \"image_digest\": \"sha256:a\", \"config\": {}, "
        "\"main\": {\"argv\": [1]}}",
        "{\"version\": 1, \"image_digest\": \"sha256:a\", \"config\": {}, "
        "\"main\": {\"groups\": [-1]}}",
        "{\"version\": 1, \"image_digest\": \"sha256:a\", \"config\": {}, "
        "\"main\": {\"groups\": [\"5\"]}}",
        "{\"version\": 1, \"image_digest\": \"sha256:a\", \"config\": {}, "
        "\"main\": {\"umask\": 512}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = json_loads(bad[i], 0, NULL);
        sm_vm_spec s;
        assert_non_null(o);
        assert_int_equal(sm_vm_spec_decode(o, &s), -EBADMSG);
        json_decref(o);
    }
    char dir[] = "/tmp/sm-spec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    sm_vm_spec s;
    assert_int_equal(sm_vm_spec_read(dir, &s), -ENOENT);
    assert_int_equal(sm_vm_spec_set_main(dir, &(sm_exec){.size = sizeof(sm_exec)}), 0);
    assert_int_equal(rmdir(dir), 0);  /* nothing was written */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(main_added_later),
        cmocka_unit_test(root_dir_record),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
