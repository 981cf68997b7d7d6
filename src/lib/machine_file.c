#include "lib/machine_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/digest.h"
#include "util/error.h"
#include "util/file.h"

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int sm_machine_file_stat_disk(sm_machine_file_disk *d)
{
    struct stat st;
    if (stat(d->path, &st) < 0)
        return sm_fail(errno, "cannot stat disk %s: %s", d->path, strerror(errno));
    d->size = (uint64_t)st.st_size;
    d->mtime_ns = mtime_ns(&st);
    return 0;
}

int sm_machine_file_check_disks(const sm_machine_file *f)
{
    for (unsigned i = 0; i < f->ndisks; i++) {
        sm_machine_file_disk now = f->disks[i];
        if (sm_machine_file_stat_disk(&now) < 0)
            return sm_fail(ESTALE, "the snapshot's disk %s is gone", now.path);
        if (now.size != f->disks[i].size || now.mtime_ns != f->disks[i].mtime_ns)
            return sm_fail(ESTALE, "the disk %s changed since the snapshot was taken, so "
                           "the snapshot's memory no longer matches it", now.path);
    }
    return 0;
}

int sm_file_identity(const char *path, char out[80])
{
    struct stat st;
    char text[PATH_MAX + 96];
    if (stat(path, &st) < 0)
        return sm_fail(errno, "cannot stat %s: %s", path, strerror(errno));
    int n = snprintf(text, sizeof text, "%s\n%lld\n%lld\n%llu", path, (long long)st.st_size,
                     (long long)mtime_ns(&st), (unsigned long long)st.st_ino);
    sm_digest_of(text, (size_t)n, out);
    return 0;
}

static json_t *disks_json(const sm_machine_file *f)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < f->ndisks; i++) {
        const sm_machine_file_disk *d = &f->disks[i];
        json_array_append_new(a, json_pack("{s:s, s:b, s:I, s:I}", "path", d->path,
                                           "read_only", d->read_only, "size",
                                           (json_int_t)d->size, "mtime_ns",
                                           (json_int_t)d->mtime_ns));
    }
    return a;
}

int sm_machine_file_write(const char *path, const sm_machine_file *f)
{
    json_t *o = json_pack("{s:i, s:i, s:s, s:o, s:s, s:s}", "memory_mib",
                          (json_int_t)f->memory_mib, "vcpus", (json_int_t)f->vcpus,
                          "network", f->net_user ? "user" : "none", "disks", disks_json(f),
                          "kernel_id", f->kernel_id, "init_id", f->init_id);
    if (o && f->restored_from[0])
        json_object_set_new(o, "restored_from", json_string(f->restored_from));
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!text)
        return sm_fail(ENOMEM, "cannot encode %s", path);
    int err = sm_file_write_atomic(path, text, strlen(text), 0644);
    free(text);
    return err;
}

static int bad(const char *path, const char *what)
{
    return sm_fail(EPROTO, "%s: %s is missing or malformed", path, what);
}

static int read_disk(const char *path, json_t *j, sm_machine_file_disk *d)
{
    const char *p = NULL;
    int ro = 0;
    json_int_t size = 0, mtime = 0;
    if (json_unpack(j, "{s:s, s:b, s:I, s:I}", "path", &p, "read_only", &ro, "size", &size,
                    "mtime_ns", &mtime) < 0 || size < 0 ||
        snprintf(d->path, sizeof d->path, "%s", p) >= (int)sizeof d->path)
        return bad(path, "a disk");
    d->read_only = ro;
    d->size = (uint64_t)size;
    d->mtime_ns = mtime;
    return 0;
}

static int parse(const char *path, json_t *o, sm_machine_file *f)
{
    json_int_t mem = 0, cpus = 0;
    const char *net = NULL, *kid = NULL, *iid = NULL, *from = NULL;
    json_t *disks = NULL;
    if (json_unpack(o, "{s:I, s:I, s:s, s:o, s:s, s:s, s?s}", "memory_mib", &mem, "vcpus",
                    &cpus, "network", &net, "disks", &disks, "kernel_id", &kid, "init_id",
                    &iid, "restored_from", &from) < 0 || !json_is_array(disks))
        return bad(path, "a field");
    if (mem < 1 || mem > 1 << 20 || cpus < 1 || cpus > 255)
        return bad(path, "memory_mib or vcpus");
    if (strcmp(net, "user") && strcmp(net, "none"))
        return bad(path, "network");
    if (json_array_size(disks) > SM_MACHINE_MAX_DISKS)
        return bad(path, "the disk list");
    *f = (sm_machine_file){.memory_mib = (uint32_t)mem, .vcpus = (uint32_t)cpus,
                           .net_user = !strcmp(net, "user"),
                           .ndisks = (unsigned)json_array_size(disks)};
    snprintf(f->kernel_id, sizeof f->kernel_id, "%s", kid);
    snprintf(f->init_id, sizeof f->init_id, "%s", iid);
    snprintf(f->restored_from, sizeof f->restored_from, "%s", from ? from : "");
    for (unsigned i = 0; i < f->ndisks; i++) {
        int err = read_disk(path, json_array_get(disks, i), &f->disks[i]);
        if (err)
            return err;
    }
    return 0;
}

int sm_machine_file_read(const char *path, sm_machine_file *f)
{
    json_error_t e;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!o)
        return sm_fail(errno == ENOENT ? ENOENT : EPROTO, "cannot read %s: %s", path, e.text);
    int err = parse(path, o, f);
    json_decref(o);
    return err;
}
