/* The image config's User ("name", "uid", "name:group", "uid:gid", ...)
 * resolved through the image's own /etc/passwd and /etc/group, the way
 * runc does it, for `run` to apply inside the guest. */
#ifndef SM_OCI_USER_H
#define SM_OCI_USER_H

#include <stddef.h>
#include <stdint.h>

#define SM_USER_GROUPS_MAX 64

typedef struct sm_oci_user {
    uint32_t uid, gid;
    uint32_t groups[SM_USER_GROUPS_MAX];   /* supplementary groups */
    size_t group_count;
    char home[256];                        /* "/" when passwd has none */
} sm_oci_user;

/* user: the config's User (NULL or "" is root). passwd, group: the files'
 * contents, NULL when the image lacks them. */
int sm_oci_user_resolve(const char *user, const char *passwd, const char *group,
                        sm_oci_user *out);

#endif
