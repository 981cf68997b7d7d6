/* sm_vm_list: the VMs of this user, from the registry's directories. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/vm_dir.h"
#include "lib/vm_registry.h"
#include "supermachine.h"
#include "util/error.h"

/* A dead worker's sockets are of no use to anyone. */
static void drop_sockets(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (!strcmp(e->d_name, "control.sock") || !strncmp(e->d_name, "vsock", 5))
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
}

/* 1 with *info filled, 0 for a directory that is no VM of ours (any more). */
static int examine(const char *dir, sm_vm_info *info)
{
    sm_vm_meta m;
    int alive = sm_vm_alive(dir);
    if (sm_vm_meta_read(dir, &m) != 0) {
        if (!alive)
            sm_vm_forget(dir);  /* died before it was recorded */
        return 0;
    }
    if (!alive && !m.detached) {
        /* Its owner died without stopping it: nothing will read it again. */
        sm_vm_forget(dir);
        return 0;
    }
    if (!alive)
        drop_sockets(dir);
    memset(info, 0, sizeof *info);
    snprintf(info->id, sizeof info->id, "%s", m.id);
    snprintf(info->name, sizeof info->name, "%s", m.name);
    snprintf(info->image, sizeof info->image, "%s", m.image);
    snprintf(info->command, sizeof info->command, "%s", m.command);
    snprintf(info->ports, sizeof info->ports, "%s", m.ports);
    info->created = m.created;
    info->running = alive;
    info->detached = m.detached;
    info->exit_status = alive ? -1 : sm_vm_exit_read(dir);
    info->never_started = !alive && m.never_started;
    return 1;
}

static int newest_first(const void *a, const void *b)
{
    const sm_vm_info *x = a, *y = b;
    return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp(x->id, y->id);
}

int sm_vm_list(sm_vm_info **out, size_t *count)
{
    char base[512], dir[1024];
    int err = sm_vm_base_dir(base, sizeof base);
    if (err)
        return err;
    DIR *d = opendir(base);
    if (!d)
        return sm_fail(errno, "cannot read %s: %s", base, strerror(errno));
    size_t n = 0, cap = 16;
    sm_vm_info *list = malloc(cap * sizeof *list);
    struct dirent *e;
    while (list && (e = readdir(d)) != NULL) {
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        /* A VM directory being made when its maker died. */
        if (!strncmp(e->d_name, ".new-", 5) && !sm_vm_alive(dir))
            sm_vm_dir_remove(dir);
        if (strlen(e->d_name) != SM_VM_SHORT_ID ||
            strspn(e->d_name, "0123456789abcdef") != SM_VM_SHORT_ID)
            continue;
        if (n == cap) {
            sm_vm_info *more = realloc(list, (cap *= 2) * sizeof *list);
            if (!more) {
                free(list);
                list = NULL;
                break;
            }
            list = more;
        }
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        n += (size_t)examine(dir, &list[n]);
    }
    closedir(d);
    if (!list)
        return sm_fail(ENOMEM, "out of memory");
    qsort(list, n, sizeof *list, newest_first);
    *out = list;
    *count = n;
    return 0;
}
