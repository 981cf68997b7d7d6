/* sm_registry_login and sm_registry_logout over the store's login
 * (src/oci/login.h): the options' size is checked here. */
#include <string.h>

#include "lib/abi.h"
#include "oci/login.h"
#include "supermachine.h"
#include "util/error.h"

SM_API int sm_registry_login(const char *server, const char *user, const char *password,
                             const sm_login_options *opts)
{
    sm_login_options o = {.size = sizeof(sm_login_options)};
    int err = opts ? SM_ABI_IN(&o, opts, sm_login_options) : 0;
    if (err)
        return err;
    return sm_oci_login(server, user, password, o.insecure_registries);
}

SM_API int sm_registry_logout(const char *server)
{
    return sm_oci_logout(server);
}
