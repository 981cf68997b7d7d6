/* sm_registry_login and sm_registry_logout over the store's login
 * (src/oci/login.h): the options' size is checked here. */
#include <string.h>

#include "oci/login.h"
#include "supermachine.h"
#include "util/error.h"

SM_API int sm_registry_login(const char *server, const char *user, const char *password,
                             const sm_login_options *opts)
{
    sm_login_options o = {0};
    if (opts && opts->size < offsetof(sm_login_options, insecure_registries))
        return sm_fail(EINVAL, "sm_login_options.size must be set to sizeof(sm_login_options)");
    if (opts)
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    return sm_oci_login(server, user, password, o.insecure_registries);
}

SM_API int sm_registry_logout(const char *server)
{
    return sm_oci_logout(server);
}
