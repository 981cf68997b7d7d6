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
    info->size = sizeof *info;
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
    const sm_vm_info *x = *(sm_vm_info *const *)a, *y = *(sm_vm_info *const *)b;
    return x->created < y->created ? 1 : x->created > y->created ? -1 : strcmp(x->id, y->id);
}

void sm_vm_list_free(sm_vm_info **list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        free(list[i]);
    free(list);
}

/* One more entry for the VM in dir, if it is one; -ENOMEM. */
static int add(sm_vm_info ***list, size_t *n, size_t *cap, const char *dir)
{
    if (*n == *cap) {
        sm_vm_info **more = realloc(*list, (*cap ? *cap * 2 : 16) * sizeof **list);
        if (!more)
            return -ENOMEM;
        *list = more;
        *cap = *cap ? *cap * 2 : 16;
    }
    sm_vm_info *info = malloc(sizeof *info);
    if (!info)
        return -ENOMEM;
    if (examine(dir, info))
        (*list)[(*n)++] = info;
    else
        free(info);
    return 0;
}

int sm_vm_list(sm_vm_info ***out, size_t *count)
{
    char base[512], dir[1024];
    if (!out || !count)
        return sm_fail(EINVAL, "sm_vm_list: out and count are required");
    int err = sm_vm_base_dir(base, sizeof base);
    if (err)
        return err;
    DIR *d = opendir(base);
    if (!d)
        return sm_fail(errno, "cannot read %s: %s", base, strerror(errno));
    size_t n = 0, cap = 0;
    sm_vm_info **list = NULL;
    struct dirent *e;
    while (!err && (e = readdir(d)) != NULL) {
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        /* A VM directory being made when its maker died. */
        if (!strncmp(e->d_name, ".new-", 5) && !sm_vm_alive(dir))
            sm_vm_dir_remove(dir);
        if (strlen(e->d_name) == SM_VM_SHORT_ID &&
            strspn(e->d_name, "0123456789abcdef") == SM_VM_SHORT_ID)
            err = add(&list, &n, &cap, dir);
    }
    closedir(d);
    if (err) {
        sm_vm_list_free(list, n);
        return sm_fail(ENOMEM, "out of memory");
    }
    if (n)
        qsort(list, n, sizeof *list, newest_first);
    *out = list;
    *count = n;
    return 0;
}
