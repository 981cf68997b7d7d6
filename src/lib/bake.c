#include "lib/bake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "lib/machine_file.h"
#include "lib/paths.h"
#include "lib/vm_snapshot.h"
#include "oci/digest.h"
#include "oci/store.h"
#include "snapshot/dedup.h"
#include "snapshot/snap_dir.h"
#include "persist/state_file.h"
#include "util/cpuinfo.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

/* A VM in a network namespace boots: a bake would hold one namespace's
 * address for every VM of the image (and slirp's is not it). */
int sm_bake_fits(const sm_image *image, const sm_vm_config *c)
{
    return image && !c->no_snapshot && !c->snapshot && !c->ndisks && !c->nshares &&
           !c->upper_disk && c->network != SM_NETWORK_NETNS;
}

typedef struct key_builder {
    sm_hasher h;
    int err;
} key_builder;

static void add_text(key_builder *k, const char *label, const char *value)
{
    if (k->err)
        return;
    sm_hasher_update(&k->h, label, strlen(label) + 1);
    sm_hasher_update(&k->h, value ? value : "", strlen(value ? value : "") + 1);
}

static void add_file(key_builder *k, const char *label, const char *path)
{
    char id[80];
    if (!k->err && (k->err = sm_file_identity(path, id)) == 0)
        add_text(k, label, id);
}

static void add_guest_file(key_builder *k, const char *given, const char *name,
                           const char *env)
{
    char path[PATH_MAX];
    if (given)
        add_file(k, name, given);
    else if (!k->err && (k->err = sm_find_guest_file(name, env, path, sizeof path)) == 0)
        add_file(k, name, path);
}

/* The host a snapshot's guest state was made on: its CPU (the CPUID the
 * guest was given, the XSAVE layout of its saved registers) and its
 * kernel, whose KVM decides what of both it offers. A data directory
 * copied to another host (a CI cache, a shared home) bakes anew there
 * instead of resuming a guest on features it does not have. */
static void add_host(key_builder *k)
{
    char cpu[4096];
    struct utsname u;
    if (sm_cpuinfo_identity(NULL, cpu, sizeof cpu) != 0)
        snprintf(cpu, sizeof cpu, "unknown");
    add_text(k, "host-cpu", cpu);
    add_text(k, "host-kernel", uname(&u) == 0 ? u.release : "unknown");
}

static void add_config(key_builder *k, const sm_image *image, const sm_vm_config *c)
{
    char num[64], worker[PATH_MAX];
    snprintf(num, sizeof num, "%u", SM_SNAP_FORMAT_VERSION);
    add_text(k, "format", num);
    add_text(k, "image", sm_image_get_info(image)->digest);
    /* A bake has no disks but the image's root: its own and those it
     * builds on, each a file whose identity counts. */
    for (unsigned i = 0; i < c->ndisks; i++)
        add_file(k, "rootfs", c->disks[i].path);
    add_guest_file(k, c->kernel, "vmlinux", "SUPERMACHINE_KERNEL");
    add_file(k, "initrd", c->initrd);
    if (!k->err && (k->err = sm_find_worker(worker, sizeof worker)) == 0)
        add_file(k, "worker", worker);
    add_text(k, "cmdline", c->cmdline);
    snprintf(num, sizeof num, "%u %u %d", c->memory_mib ? c->memory_mib : 128,
             c->cpus ? c->cpus : 1, c->network == SM_NETWORK_USER);
    add_text(k, "machine", num);
    add_host(k);
}

/* The 64 hex digits of a SHA-256 over everything that shapes the bake. */
static int fingerprint(const sm_image *image, const sm_vm_config *c, char out[80])
{
    key_builder k = {0};
    char digest[SM_DIGEST_STR];
    if ((k.err = sm_hasher_init(&k.h)) != 0)
        return k.err;
    add_config(&k, image, c);
    sm_hasher_final(&k.h, digest);
    sm_hasher_free(&k.h);
    if (!k.err)
        snprintf(out, 80, "%s", sm_digest_hex(digest));
    return k.err;
}

int sm_bake_locate(const sm_image *image, const sm_vm_config *c, char *dir, size_t len,
                   char fp[80])
{
    char root[PATH_MAX];
    int err = fingerprint(image, c, fp);
    if (!err)
        err = sm_store_default_root(root, sizeof root);
    if (err)
        return err;
    if (snprintf(dir, len, "%s/snapshots/%s", root, fp) >= (int)len)
        return sm_fail(ENAMETOOLONG, "the data directory's path is too long");
    return 0;
}

static int ensure_parent(const char *dir)
{
    char parent[PATH_MAX];
    sm_path_dir(dir, parent, sizeof parent);
    if (mkdir(parent, 0755) < 0 && errno != EEXIST)
        return sm_fail(errno, "cannot create %s: %s", parent, strerror(errno));
    return 0;
}

/* Sibling snapshots of one image share most pages; where the filesystem
 * can share extents, the new one shares them at once. */
static void auto_dedup(const char *dir)
{
    char parent[PATH_MAX];
    sm_path_dir(dir, parent, sizeof parent);
    sm_snap_dedup_after_bake(parent, dir);
}

/* A guest's first exec reads its shell, libc and /etc/passwd from the root
 * disk and faults in its kernel's exec paths: seconds on a slow host, and
 * the same for every VM resumed from a cold bake. One exec of the image's
 * shell before the snapshot puts all that in the snapshot instead. An
 * image without a shell just skips it. */
static void warm_up(sm_vm *vm)
{
    static const char *const sh[] = {"/bin/sh", "-c", ":", NULL};
    sm_exec ex = {.size = sizeof ex, .from_image = 1, .has_entrypoint = 1, .cmd = sh,
                  .timeout_ms = 60000};
    sm_exec_result r = {.size = sizeof r};
    if (sm_vm_exec(vm, &ex, &r) < 0)
        sm_debug("bake warm-up skipped: %s", sm_last_error());
    sm_exec_result_free(&r);
}

int sm_bake_take(sm_vm *vm, const char *dir, const char *fp, int warm)
{
    if (warm)
        warm_up(vm);
    sm_snap_meta m = {0};
    snprintf(m.fingerprint, sizeof m.fingerprint, "%s", fp);
    strcpy(m.kind, "bake");
    int err = ensure_parent(dir);
    if (!err)
        err = sm_vm_snapshot_write(vm, dir, &m, NULL);
    if (err == -EEXIST)
        return 0;  /* a concurrent bake of the same fingerprint won */
    if (!err)
        auto_dedup(dir);
    return err;
}

void sm_bake_discard(const char *dir)
{
    sm_snap_dir_remove(dir);
}
