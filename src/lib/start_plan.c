#include "lib/start_plan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/bake.h"
#include "lib/vm_rootdir.h"
#include "oci/digest.h"
#include "util/error.h"
#include "util/log.h"
#include "util/clock.h"

/* How long the first VM of an image's process may take until its exposed
 * ports accept, for that moment to be baked. */
#define MAIN_READY_MS 60000

/* Resume `dir` if it holds a usable snapshot: 1 if c is now set for it. A
 * bake that fails its checks is removed (it is a cache) and 0 returned. */
static int try_resume(sm_vm *vm, const sm_image *image, const sm_vm_config *given,
                      const char *dir, sm_vm_config *c, sm_vm_restore_plan *plan)
{
    if (access(dir, F_OK) != 0)
        return 0;
    sm_vm_config r = *given;
    r.snapshot = dir;
    if (sm_vm_restore_prepare(vm, image, &r, plan) == 0) {
        *c = r;
        return 1;
    }
    sm_debug("baked snapshot %s is unusable, baking it again: %s", dir, sm_last_error());
    vm->restored = 0;
    sm_bake_discard(dir);
    return 0;
}

/* The bake with the image's process running sits next to the plain one. */
static void main_bake_path(const char *dir, const char *fp, char *mdir, char mfp[80])
{
    char text[128], digest[SM_DIGEST_STR];
    int n = snprintf(text, sizeof text, "%s\nmain: the image's own process", fp);
    sm_digest_of(text, (size_t)n, digest);
    snprintf(mfp, 80, "%s", sm_digest_hex(digest));
    snprintf(mdir, PATH_MAX, "%.*s/%s", (int)(strrchr(dir, '/') - dir), dir, mfp);
}

static void choose_bake(sm_vm *vm, const sm_image *image, const sm_vm_config *given,
                        sm_vm_config *c, sm_start_plan *p)
{
    char dir[PATH_MAX];
    if (sm_bake_locate(image, c, dir, sizeof dir, p->fingerprint) < 0) {
        sm_debug("no baked snapshot: %s", sm_last_error());
        return;
    }
    if (given->run_image_process) {
        main_bake_path(dir, p->fingerprint, p->main_dir, p->main_fingerprint);
        if (try_resume(vm, image, given, p->main_dir, c, &p->restore)) {
            p->main_resumed = 1;
            p->main_dir[0] = '\0';
            return;
        }
    }
    if (!try_resume(vm, image, given, dir, c, &p->restore))
        snprintf(p->bake_dir, sizeof p->bake_dir, "%s", dir);
}

int sm_start_plan_prepare(sm_vm *vm, const sm_image *image, sm_vm_config *c,
                          sm_start_plan *p)
{
    sm_vm_config given = *c;
    if (c->run_image_process && (!c->detached || !image))
        return sm_fail(EINVAL, "run_image_process is for detached VMs from an image");
    if (c->snapshot)
        return sm_vm_restore_prepare(vm, image, c, &p->restore);
    /* Never baked: the directory's files may change before the next VM. */
    if (c->root_dir)
        return sm_vm_root_dir_prepare(vm, c, &p->boot);
    if (!image)
        return 0;
    int err = sm_vm_image_prepare(vm, image, c, &p->boot);
    if (!err && sm_bake_fits(image, &given))
        choose_bake(vm, image, &given, c, p);
    return err;
}

/* Every exposed TCP port accepts (through the agent, so with any network). */
static int ports_accept(sm_vm *vm, const sm_image_info *info)
{
    uint64_t until = sm_now_ns() / 1000000 + MAIN_READY_MS;
    for (size_t i = 0; info->exposed_ports && info->exposed_ports[i]; i++) {
        unsigned port = 0;
        char proto[8] = "tcp";
        if (sscanf(info->exposed_ports[i], "%u/%7s", &port, proto) < 1 || !port ||
            port > 65535 || strcmp(proto, "tcp"))
            continue;
        int fd = -1;
        while (sm_vm_connect(vm, (uint16_t)port, &fd) < 0) {
            if (sm_now_ns() / 1000000 > until)
                return sm_fail(ETIMEDOUT, "port %u did not accept within %d s", port,
                               MAIN_READY_MS / 1000);
            usleep(100 * 1000);
        }
        close(fd);
    }
    return 0;
}

/* The image's process, as `docker run -d IMAGE` starts it; baked once it
 * serves, so the next VM resumes it serving. */
static int start_image_process(sm_vm *vm, const sm_image *image, sm_start_plan *p)
{
    sm_exec ex = {.size = sizeof ex, .from_image = 1};
    int err = sm_vm_start_main(vm, &ex);
    if (err || !p->main_dir[0])
        return err;
    const sm_image_info *info = sm_image_get_info(image);
    if (!info->exposed_ports || !info->exposed_ports[0])
        return 0;  /* nothing says when it is ready: not baked */
    if (ports_accept(vm, info) < 0 || sm_bake_take(vm, p->main_dir, p->main_fingerprint, 0) < 0)
        sm_debug("no bake of the image's process: %s", sm_last_error());
    return 0;
}

int sm_start_plan_finish(sm_vm *vm, const sm_image *image, const sm_vm_config *c,
                         sm_start_plan *p)
{
    if (p->bake_dir[0] && c->progress)
        c->progress("baking", c->progress_ctx);
    if (p->bake_dir[0] && sm_bake_take(vm, p->bake_dir, p->fingerprint, 1) < 0)
        sm_debug("bake into %s failed: %s", p->bake_dir, sm_last_error());
    uint64_t t0 = sm_now_ns() / 1000000;
    /* A root directory's /etc files are its own: only the kernel's
     * hostname, the clock and the RNG seed are set. */
    int err = vm->restored ? sm_vm_restore_setup(vm, c, &p->restore)
              : image || c->root_dir ? sm_vm_image_setup(vm, c, image != NULL) : 0;
    sm_debug("the VM's own settings took %llu ms",
             (unsigned long long)(sm_now_ns() / 1000000 - t0));
    if (!err && c->run_image_process && !p->main_resumed)
        err = start_image_process(vm, image, p);
    return err;
}
