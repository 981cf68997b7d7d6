#include "lib/vm_rootdir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/paths.h"
#include "lib/vm_shares.h"
#include "util/error.h"
#include "vmm/machine.h"

static int check_dir(const char *dir)
{
    struct stat st;
    if (!*dir)
        return sm_fail(EINVAL, "root_dir is empty: name the directory to boot from");
    if (stat(dir, &st) < 0)
        return sm_fail(errno, "cannot boot from root directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return sm_fail(ENOTDIR, "cannot boot from %s: it is not a directory (a root "
                       "directory holds the guest's /bin, /etc, ...)", dir);
    return 0;
}

int sm_vm_root_dir_check(const sm_image *image, const sm_vm_config *c)
{
    if (!c->root_dir)
        return c->root_read_only
            ? sm_fail(EINVAL, "root_read_only is for a root directory: set root_dir too")
            : 0;
    if (image)
        return sm_fail(EINVAL, "a VM's root is an image or a directory, not both: drop "
                       "the image or root_dir (%s)", c->root_dir);
    if (c->snapshot)
        return sm_fail(EINVAL, "a VM resumed from a snapshot keeps the snapshot's root: "
                       "root_dir (%s) cannot be given with snapshot", c->root_dir);
    if (c->upper_disk)
        return sm_fail(EINVAL, "upper_disk holds the writable layer over an image; a root "
                       "directory (%s) is written in place: drop upper_disk", c->root_dir);
    /* The root share takes the image disk's device slot. */
    if (c->ndisks > SM_MACHINE_MAX_DISKS - 1)
        return sm_fail(EINVAL, "%u disks: a VM from a root directory takes at most %d",
                       c->ndisks, SM_MACHINE_MAX_DISKS - 1);
    return check_dir(c->root_dir);
}

int sm_vm_root_dir_prepare(sm_vm *vm, sm_vm_config *c, sm_vm_image_boot *b)
{
    int err = sm_vm_pick_hostname(vm, c->hostname);
    if (!err && !c->initrd)
        err = sm_find_guest_file("initramfs-image.cpio", "SUPERMACHINE_IMAGE_INITRD", b->initrd,
                                 sizeof b->initrd);
    if (err)
        return err;
    /* docker's --read-only on a directory: the host's server refuses
     * every write, which no guest remount could undo. */
    c->root_read_only = c->root_read_only || c->read_only;
    c->read_only = 0;
    int len = snprintf(b->cmdline, sizeof b->cmdline, "sm_root=9p:" SM_VM_ROOT_TAG "%s%s%s",
                       c->root_read_only ? " sm_root_ro=1" : "", c->cmdline ? " " : "",
                       c->cmdline ? c->cmdline : "");
    if (len < 0 || (size_t)len >= sizeof b->cmdline)
        return sm_fail(E2BIG, "the kernel command line is too long");
    c->cmdline = b->cmdline;
    if (!c->initrd)
        c->initrd = b->initrd;
    if (c->network == SM_NETWORK_DEFAULT)
        c->network = SM_NETWORK_USER;
    vm->root_dir = 1;
    return 0;
}
