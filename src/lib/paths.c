#include "lib/paths.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supermachine.h"
#include "util/error.h"
#include "util/file.h"

/* The directory holding this code: the shared library, or the executable
 * it is linked into. */
static int own_dir(char *out, size_t len)
{
    Dl_info info;
    if (!dladdr((void *)sm_last_error, &info) || !info.dli_fname)
        return -1;
    char path[4096];
    if (!realpath(info.dli_fname, path))
        return -1;
    sm_path_dir(path, out, len);
    return 0;
}

int sm_find_guest_file(const char *name, const char *env_var, char *out, size_t len)
{
    const char *env = getenv(env_var);
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return 0;
    }
    char dir[4096], tried[2][4200];
    if (own_dir(dir, sizeof dir) < 0)
        return sm_fail(ENOENT, "cannot locate the built-in %s; set %s", name, env_var);
    snprintf(tried[0], sizeof tried[0], "%s/guest/%s", dir, name);
    snprintf(tried[1], sizeof tried[1], "%s/%s", SM_INSTALL_DATADIR, name);
    for (int i = 0; i < 2; i++) {
        if (access(tried[i], R_OK) == 0) {
            snprintf(out, len, "%s", tried[i]);
            return 0;
        }
        /* There, but not ours to read: a build by another user whose
         * kernel sits in that user's private cache. */
        if (errno == EACCES)
            return sm_fail(EACCES, "cannot read the built-in guest %s at %s: %s (built by "
                           "another user?); set %s", name, tried[i], strerror(errno), env_var);
    }
    return sm_fail(ENOENT, "the built-in guest %s is missing (looked in %s and %s): "
                   "run 'make' to build it, or set %s", name, tried[0], tried[1], env_var);
}

int sm_find_worker(char *out, size_t len)
{
    const char *env = getenv("SUPERMACHINE_WORKER");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return 0;
    }
    char dir[4096], tried[2][4200];
    if (own_dir(dir, sizeof dir) < 0)
        return sm_fail(ENOENT, "cannot locate supermachine-worker; set SUPERMACHINE_WORKER");
    /* Beside this code in a build tree (and wherever both were installed
     * into one directory); else where `meson install` put it. */
    snprintf(tried[0], sizeof tried[0], "%s/supermachine-worker", dir);
    snprintf(tried[1], sizeof tried[1], "%s/supermachine-worker", SM_INSTALL_LIBEXECDIR);
    for (int i = 0; i < 2; i++) {
        if (access(tried[i], X_OK) == 0) {
            snprintf(out, len, "%s", tried[i]);
            return 0;
        }
    }
    return sm_fail(ENOENT, "supermachine-worker, which runs each VM, is not at %s or %s; "
                   "install it or set SUPERMACHINE_WORKER", tried[0], tried[1]);
}
