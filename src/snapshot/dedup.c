/* Dedup of a snapshots directory: find the committed snapshots, group the
 * siblings (same image digest, memory size and format) and share each
 * one's memory pages with its group's oldest. */
#include "snapshot/dedup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "util/error.h"
#include "util/log.h"

typedef struct snap {
    char name[256];
    char digest[80];
    uint32_t mib, version;
    int64_t created;
} snap;

static int same_group(const snap *a, const snap *b)
{
    return a->mib == b->mib && a->version == b->version && !strcmp(a->digest, b->digest);
}

/* Oldest first, so that a new snapshot is deduped against an old one and
 * not the other way round; the name breaks ties so runs agree. */
static int by_age(const void *x, const void *y)
{
    const snap *a = x, *b = y;
    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* Fills `s` from `dir`/`name` if that is a committed snapshot with
 * readable metadata; 1 when it is not one (skipped), 0 when it is. */
static int read_snap(const char *dir, const char *name, snap *s)
{
    char path[PATH_MAX], meta[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
        snprintf(meta, sizeof meta, "%s/" SM_SNAP_META_FILE, path) >= (int)sizeof meta)
        return 1;
    sm_snap_meta m;
    if (sm_snap_dir_check(path) < 0 || sm_snap_meta_read(meta, &m) < 0) {
        sm_debug("dedup: skipping %s: %s", path, sm_error_text());
        return 1;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->digest, sizeof s->digest, "%s", m.manifest_digest);
    s->mib = m.memory_mib;
    s->version = m.format_version;
    s->created = m.created;
    return 0;
}

static int list_snaps(const char *dir, snap **out, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return sm_fail(errno, "dedup: cannot open the snapshots directory %s: %s", dir,
                       strerror(errno));
    snap *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || sm_snap_dir_is_temp_name(e->d_name))
            continue;
        if (n == cap) {
            snap *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv) {
                rc = sm_fail(ENOMEM, "dedup: out of memory");
                break;
            }
            v = nv;
        }
        if (read_snap(dir, e->d_name, &v[n]) == 0)
            n++;
    }
    closedir(d);
    if (rc < 0) {
        free(v);
        return rc;
    }
    qsort(v, n, sizeof *v, by_age);
    *out = v;
    *count = n;
    return 0;
}

static uint64_t count_groups(const snap *s, size_t n)
{
    uint64_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && !same_group(&s[j], &s[i]))
            j++;
        groups += j == i;
    }
    return groups;
}

static int open_memory(const char *dir, const snap *s, char *path, size_t len)
{
    if (snprintf(path, len, "%s/%s/" SM_SNAP_MEMORY_FILE, dir, s->name) >= (int)len)
        return sm_fail(ENAMETOOLONG, "dedup: path too long in %s", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT)
        return sm_fail(errno, "dedup: cannot open %s: %s", path, strerror(errno));
    return fd < 0 ? -ENOENT : fd;
}

/* Shares `dst`'s memory pages with `src`'s. A snapshot removed meanwhile
 * is skipped. Opened read-only: FIDEDUPERANGE lets the file's owner (or
 * anyone who could write it) share its extents without write access. */
static int dedup_pair(const char *dir, const snap *src, const snap *dst,
                      sm_snap_dedup_stats *st)
{
    char sp[PATH_MAX], dp[PATH_MAX];
    int sfd = open_memory(dir, src, sp, sizeof sp);
    if (sfd < 0)
        return sfd == -ENOENT ? 0 : sfd;
    int dfd = open_memory(dir, dst, dp, sizeof dp);
    if (dfd < 0) {
        close(sfd);
        return dfd == -ENOENT ? 0 : dfd;
    }
    int rc = sm_dedup_fs_check(dir, sfd, st);
    if (rc == 0) {
        rc = sm_dedup_file(sfd, dfd, dp, st);
        if (rc == -EOPNOTSUPP)
            rc = sm_dedup_fs_refused(dir, st);
        if (rc == 0)
            st->files++;
    }
    close(sfd);
    close(dfd);
    return rc;
}

int sm_snap_dedup_dir(const char *snapshots_dir, sm_snap_dedup_stats *st)
{
    int rc = sm_dedup_fs_check(snapshots_dir, -1, st);
    snap *s = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = list_snaps(snapshots_dir, &s, &n);
    if (rc < 0)
        return rc;
    st->snapshots += n;
    st->groups += count_groups(s, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t first = 0;
        while (!same_group(&s[first], &s[i]))
            first++;
        if (first != i)
            rc = dedup_pair(snapshots_dir, &s[first], &s[i], st);
    }
    free(s);
    return rc;
}

/* The last component of `path`, without trailing slashes. */
static int base_name(const char *path, char *out, size_t size)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t from = len;
    while (from > 0 && path[from - 1] != '/')
        from--;
    if (len - from >= size || len == from)
        return sm_fail(EINVAL, "dedup: %s does not name a snapshot directory", path);
    memcpy(out, path + from, len - from);
    out[len - from] = '\0';
    return 0;
}

/* The new one against its oldest sibling (the next one if it is itself
 * the oldest). */
static int dedup_one(const char *dir, const char *name, sm_snap_dedup_stats *st)
{
    snap *s;
    size_t n, me = 0;
    int rc = list_snaps(dir, &s, &n);
    if (rc < 0)
        return rc;
    while (me < n && strcmp(s[me].name, name) != 0)
        me++;
    st->snapshots += n;
    st->groups += count_groups(s, n);
    if (me == n) {
        free(s);
        return sm_fail(ENOENT, "dedup: %s/%s is not a committed snapshot", dir, name);
    }
    size_t sib = 0;
    while (sib < n && (sib == me || !same_group(&s[sib], &s[me])))
        sib++;
    if (sib < n)
        rc = dedup_pair(dir, &s[sib], &s[me], st);
    free(s);
    return rc;
}

int sm_snap_dedup_new(const char *snapshots_dir, const char *new_snapshot,
                      sm_snap_dedup_stats *st)
{
    char name[256];
    int rc = base_name(new_snapshot, name, sizeof name);
    if (rc == 0)
        rc = sm_dedup_fs_check(snapshots_dir, -1, st);
    if (rc == 0)
        rc = dedup_one(snapshots_dir, name, st);
    if (rc == -EOPNOTSUPP && st->unsupported) {
        sm_clear_error();
        return 0;   /* a bake on ext4 is normal, not a failure */
    }
    return rc;
}

void sm_snap_dedup_after_bake(const char *snapshots_dir, const char *new_snapshot)
{
    const char *env = getenv("SUPERMACHINE_AUTO_DEDUP");
    if (env && !strcmp(env, "0"))
        return;
    sm_snap_dedup_stats st = {0};
    int rc = sm_snap_dedup_new(snapshots_dir, new_snapshot, &st);
    if (rc < 0)
        sm_debug("dedup after bake of %s: %s", new_snapshot, sm_error_text());
    else if (st.unsupported)
        sm_debug("dedup after bake: %s is on %s, which cannot share pages", snapshots_dir,
                 st.fs_name);
    else
        sm_debug("dedup after bake of %s: %llu bytes compared, %llu newly shared",
                 new_snapshot, (unsigned long long)st.bytes_compared,
                 (unsigned long long)st.bytes_shared);
    sm_clear_error();
}
