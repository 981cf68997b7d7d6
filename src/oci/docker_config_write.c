#include "oci/docker_config_write.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/auth.h"
#include "util/error.h"
#include "util/file.h"

/* "auths", made an object if absent; NULL when root or it is no object
 * (sm_docker_config_load refuses such a file before it gets here). */
static json_t *auths_of(json_t *root)
{
    json_t *auths = json_object_get(root, "auths");
    if (auths || !json_is_object(root))
        return json_is_object(auths) ? auths : NULL;
    json_object_set_new(root, "auths", json_object());
    return json_object_get(root, "auths");
}

int sm_docker_config_drop_auth(json_t *root, const char *registry)
{
    json_t *auths = json_object_get(root, "auths"), *e;
    const char *key;
    void *tmp;
    int n = 0;
    json_object_foreach_safe(auths, tmp, key, e) {
        if (sm_auth_key_matches(key, registry)) {
            json_object_del(auths, key);
            n++;
        }
    }
    return n;
}

/* {"auth": base64(user:password)}, as docker writes it. */
static json_t *auth_entry(const char *user, const char *password)
{
    sm_credentials c = {0};
    snprintf(c.username, sizeof c.username, "%s", user);
    snprintf(c.password, sizeof c.password, "%s", password);
    char basic[SM_BASIC_AUTH_MAX];
    sm_basic_authorization(&c, basic, sizeof basic);
    json_t *e = json_pack("{s:s}", "auth", basic + strlen("Basic "));
    explicit_bzero(basic, sizeof basic);
    explicit_bzero(&c, sizeof c);
    return e;
}

int sm_docker_config_put_auth(json_t *root, const char *registry, const char *key,
                              const char *user, const char *password)
{
    if (user && (strlen(user) >= sizeof((sm_credentials *)0)->username ||
                 strlen(password) >= sizeof((sm_credentials *)0)->password))
        return sm_fail(ENAMETOOLONG, "the username or password is too long");
    if (user && strchr(user, ':'))
        return sm_fail(EINVAL, "a username cannot hold ':' (it separates the password)");
    json_t *auths = auths_of(root);
    if (!auths)
        return sm_fail(EINVAL, "Docker's config file has no \"auths\" object to add to");
    json_t *e = user ? auth_entry(user, password) : json_object();
    sm_docker_config_drop_auth(root, registry);
    if (!e || json_object_set_new(auths, key, e) < 0)
        return sm_fail(ENOMEM, "out of memory");
    return 0;
}

/* mkdir -p, each new directory 0700 as docker makes ~/.docker. */
static int make_dirs(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : sm_fail(ENOTDIR, "'%s' is not a directory", dir);
    char parent[PATH_MAX];
    sm_path_dir(dir, parent, sizeof parent);
    int err = strcmp(parent, dir) ? make_dirs(parent) : 0;
    if (!err && mkdir(dir, 0700) < 0 && errno != EEXIST)
        err = sm_fail(errno, "cannot create the directory '%s': %s", dir, strerror(errno));
    return err;
}

/* Where the file really is: a symbolic link (a config kept elsewhere) is
 * written through, not replaced by a file of its own. */
static void target_of(const char *path, char *out, size_t len)
{
    struct stat st;
    char *real = lstat(path, &st) == 0 && S_ISLNK(st.st_mode) ? realpath(path, NULL) : NULL;
    snprintf(out, len, "%s", real ? real : path);
    free(real);
}

int sm_docker_config_save(const char *path, const json_t *root)
{
    char target[PATH_MAX], dir[PATH_MAX];
    target_of(path, target, sizeof target);
    sm_path_dir(target, dir, sizeof dir);
    int err = make_dirs(dir);
    if (err)
        return err;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    if (!text)
        return sm_fail(ENOMEM, "out of memory");
    size_t len = strlen(text);
    char *body = realloc(text, len + 2);   /* docker ends the file with a newline */
    if (!body) {
        free(text);
        return sm_fail(ENOMEM, "out of memory");
    }
    memcpy(body + len, "\n", 2);
    err = sm_file_write_atomic(target, body, len + 1, 0600);
    explicit_bzero(body, len);
    free(body);
    return err ? sm_fail_context(err, "cannot save Docker's config file") : 0;
}
