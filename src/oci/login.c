#include "oci/login.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "oci/auth.h"
#include "oci/cred_helper.h"
#include "oci/docker_config.h"
#include "oci/docker_config_write.h"
#include "oci/registry.h"
#include "util/error.h"

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

static bool is_docker_hub(const char *host)
{
    return !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
           !strcmp(host, "registry-1.docker.io");
}

/* Letters, digits and what a host[:port] or [v6]:port may hold. */
static bool plausible_host(const char *host)
{
    if (!*host)
        return false;
    for (const char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
            return false;
    return true;
}

int sm_login_server_parse(const char *server, sm_login_server *out)
{
    memset(out, 0, sizeof *out);
    const char *p = server && *server ? server : "docker.io";
    if (!strncasecmp(p, "https://", 8))
        p += 8;
    else if (!strncasecmp(p, "http://", 7))
        p += 7;
    size_t n = strcspn(p, "/");
    if (n >= sizeof out->registry)
        return sm_fail(ENAMETOOLONG, "the registry name '%.100s...' is too long", p);
    snprintf(out->registry, sizeof out->registry, "%.*s", (int)n, p);
    if (!plausible_host(out->registry))
        return sm_fail(EINVAL, "'%s' is not a registry (host[:port])", server);
    if (is_docker_hub(out->registry))
        snprintf(out->registry, sizeof out->registry, "docker.io");
    snprintf(out->key, sizeof out->key, "%s",
             strcmp(out->registry, "docker.io") ? out->registry : DOCKER_HUB_KEY);
    return 0;
}

/* Ask the registry whether it takes these credentials (GET /v2/, with
 * Basic or through its token server, as a pull would). */
static int check(const sm_login_server *s, const char *user, const char *password,
                 const char *const *insecure)
{
    sm_ref ref = {0};
    sm_credentials c = {0};
    snprintf(ref.domain, sizeof ref.domain, "%s", s->registry);
    snprintf(c.username, sizeof c.username, "%s", user);
    snprintf(c.password, sizeof c.password, "%s", password);
    sm_registry reg;
    sm_http h;
    int err = sm_registry_open(&reg, &ref, insecure, &c);
    explicit_bzero(&c, sizeof c);
    if (err)
        return sm_fail_context(err, "login to %s failed", s->registry);
    if (!(err = sm_http_init(&h))) {
        err = sm_registry_ping(&reg, &h);
        sm_http_free(&h);
    }
    explicit_bzero(&reg.creds, sizeof reg.creds);
    sm_registry_close(&reg);
    if (err == -EACCES)
        return sm_fail(EACCES, "login to %s failed: unauthorized (wrong username or password)",
                       s->registry);
    return err ? sm_fail_context(err, "login to %s failed", s->registry) : 0;
}

/* "\"credsStore\" in /x/config.json", for the helper's errors. */
static void origin_of(const char *setting, const char *path, char *out, size_t len)
{
    snprintf(out, len, "\"%s\" in %s", setting, path);
}

/* Keep them as docker does: with the helper the file names for this
 * registry (the file then holds an empty entry), else in the file. */
static int remember(const sm_login_server *s, const char *user, const char *password)
{
    char path[4096], origin[4200];
    json_t *root;
    /* Read again: another program may have changed it while we asked. */
    int err = sm_docker_config_load(path, sizeof path, &root);
    if (err)
        return err;
    if (!root && !(root = json_object()))
        return sm_fail(ENOMEM, "out of memory");
    const char *setting, *helper = sm_docker_config_helper(root, s->registry, &setting);
    if (helper) {
        origin_of(setting, path, origin, sizeof origin);
        err = sm_cred_helper_store(helper, s->key, user, password, origin);
    }
    if (!err)
        err = sm_docker_config_put_auth(root, s->registry, s->key, helper ? NULL : user,
                                        password);
    if (!err)
        err = sm_docker_config_save(path, root);
    json_decref(root);
    return err;
}

int sm_oci_login(const char *server, const char *user, const char *password,
                 const char *const *insecure_registries)
{
    sm_login_server s;
    int err = sm_login_server_parse(server, &s);
    if (err)
        return err;
    if (!user || !*user || !password || !*password)
        return sm_fail(EINVAL, "logging in to %s needs a username and a password", s.registry);
    if (strlen(user) >= sizeof((sm_credentials *)0)->username ||
        strlen(password) >= sizeof((sm_credentials *)0)->password)
        return sm_fail(ENAMETOOLONG, "the username or password is too long");
    /* A damaged file is refused before the registry is asked anything. */
    char path[4096];
    json_t *root;
    if ((err = sm_docker_config_load(path, sizeof path, &root)))
        return err;
    json_decref(root);
    if ((err = check(&s, user, password, insecure_registries)))
        return err;
    return remember(&s, user, password);
}

/* Erase through the helper the file names for this registry, if any:
 * 1 it had credentials, 0 not, or a negative errno. */
static int forget_in_helper(json_t *root, const char *path, const sm_login_server *s)
{
    char origin[4200];
    const char *setting, *helper = sm_docker_config_helper(root, s->registry, &setting);
    if (!helper)
        return 0;
    origin_of(setting, path, origin, sizeof origin);
    return sm_cred_helper_erase(helper, s->key, origin);
}

int sm_oci_logout(const char *server)
{
    sm_login_server s;
    char path[4096];
    json_t *root;
    int err = sm_login_server_parse(server, &s);
    if (!err)
        err = sm_docker_config_load(path, sizeof path, &root);
    if (err || !root)
        return err;   /* no file: logged in nowhere */
    int in_helper = forget_in_helper(root, path, &s);
    int in_file = in_helper < 0 ? 0 : sm_docker_config_drop_auth(root, s.registry);
    err = in_helper < 0 ? in_helper : in_file ? sm_docker_config_save(path, root) : 0;
    json_decref(root);
    return err < 0 ? err : in_helper > 0 || in_file > 0;
}
