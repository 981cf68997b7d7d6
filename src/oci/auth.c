#include "oci/auth.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oci/cred_helper.h"
#include "oci/docker_config.h"
#include "util/error.h"

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    return p;
}

/* One key=value or key="quoted \"value\"" pair; returns the rest. */
static const char *param(const char *p, char *key, size_t klen, char *val, size_t vlen)
{
    size_t k = 0, v = 0;
    while (*p && *p != '=' && *p != ',' && k + 1 < klen)
        key[k++] = *p++;
    key[k] = '\0';
    if (*p != '=') {
        val[0] = '\0';
        return p;
    }
    p++;
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (v + 1 < vlen)
                val[v++] = *p;
        }
        if (*p == '"')
            p++;
    } else {
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            if (v + 1 < vlen)
                val[v++] = *p++;
            else
                p++;
    }
    val[v] = '\0';
    return p;
}

int sm_challenge_parse(const char *header, sm_challenge *out)
{
    memset(out, 0, sizeof *out);
    const char *p = header ? skip_space(header) : "";
    size_t n = strcspn(p, " \t");
    if (!n || n >= sizeof out->scheme)
        return sm_fail(EPROTO, "the registry sent an authentication challenge that is not "
                       "understood: '%.200s'", header ? header : "");
    snprintf(out->scheme, sizeof out->scheme, "%.*s", (int)n, p);
    for (p = skip_space(p + n); *p; p = skip_space(p)) {
        char key[64], val[1024];
        const char *next = param(p, key, sizeof key, val, sizeof val);
        if (next == p)
            next++;   /* a stray character: move on */
        p = next;
        if (!strcasecmp(key, "realm"))
            snprintf(out->realm, sizeof out->realm, "%s", val);
        else if (!strcasecmp(key, "service"))
            snprintf(out->service, sizeof out->service, "%s", val);
        else if (!strcasecmp(key, "scope"))
            snprintf(out->scope, sizeof out->scope, "%s", val);
    }
    if (!strcasecmp(out->scheme, "bearer") && !out->realm[0])
        return sm_fail(EPROTO, "the registry asked for a bearer token but named no token "
                       "server (no realm in '%.200s')", header);
    return 0;
}

bool sm_auth_key_matches(const char *key, const char *registry)
{
    if (!strcmp(registry, "docker.io"))
        return !strcmp(key, "https://index.docker.io/v1/") || !strcmp(key, "docker.io") ||
               !strcmp(key, "index.docker.io") || !strcmp(key, "registry-1.docker.io") ||
               !strcmp(key, "https://index.docker.io/v1");
    const char *host = key;
    if (!strncmp(host, "https://", 8))
        host += 8;
    else if (!strncmp(host, "http://", 7))
        host += 7;
    size_t n = strcspn(host, "/");
    return n == strlen(registry) && !strncmp(host, registry, n);
}

static int decode_auth(const char *b64, const char *path, sm_credentials *out)
{
    size_t n = strlen(b64);
    unsigned char *raw = malloc(n + 4);
    int len = raw ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n) : -1;
    if (len >= 0) {
        while (n && b64[n - 1] == '=')   /* DecodeBlock counts padding as data */
            n--, len--;
        raw[len < 0 ? 0 : len] = '\0';
    }
    char *colon = len > 0 ? strchr((char *)raw, ':') : NULL;
    if (!colon) {
        free(raw);
        return sm_fail(EINVAL, "an \"auth\" entry in '%s' is not base64 of user:password", path);
    }
    *colon = '\0';
    snprintf(out->username, sizeof out->username, "%s", (char *)raw);
    snprintf(out->password, sizeof out->password, "%s", colon + 1);
    free(raw);
    return 1;
}

static int from_entry(json_t *e, const char *path, sm_credentials *out)
{
    const char *auth = json_string_value(json_object_get(e, "auth"));
    if (auth && *auth)
        return decode_auth(auth, path, out);
    const char *u = json_string_value(json_object_get(e, "username"));
    const char *p = json_string_value(json_object_get(e, "password"));
    if (!u || !p)
        return 0;
    snprintf(out->username, sizeof out->username, "%s", u);
    snprintf(out->password, sizeof out->password, "%s", p);
    return 1;
}

const char *sm_docker_config_helper(json_t *root, const char *registry, const char **setting)
{
    const char *key;
    json_t *e;
    json_object_foreach(json_object_get(root, "credHelpers"), key, e) {
        if (sm_auth_key_matches(key, registry) && json_string_value(e)) {
            *setting = "credHelpers";
            return json_string_value(e);
        }
    }
    *setting = "credsStore";
    const char *store = json_string_value(json_object_get(root, "credsStore"));
    return store && *store ? store : NULL;
}

static int from_helper(const char *helper, const char *setting, const char *registry,
                       const char *path, sm_credentials *out)
{
    char origin[4200];
    snprintf(origin, sizeof origin, "\"%s\" in %s", setting, path);
    /* The server names `docker login` stores credentials under. */
    const char *server = strcmp(registry, "docker.io") ? registry : "https://index.docker.io/v1/";
    return sm_cred_helper_get(helper, server, origin, out);
}

int sm_docker_credentials(const char *registry, sm_credentials *out)
{
    char path[4096];
    memset(out, 0, sizeof *out);
    json_t *root;
    int err = sm_docker_config_load(path, sizeof path, &root);
    if (err || !root)
        return err;
    const char *setting, *helper = sm_docker_config_helper(root, registry, &setting);
    int found = 0;
    if (helper) {
        /* With a helper, "auths" entries are placeholders holding no secret. */
        found = from_helper(helper, setting, registry, path, out);
        json_decref(root);
        return found;
    }
    const char *key;
    json_t *e;
    json_object_foreach(json_object_get(root, "auths"), key, e) {
        if (sm_auth_key_matches(key, registry) && (found = from_entry(e, path, out)) != 0)
            break;
    }
    json_decref(root);
    return found;
}

int sm_token_parse(const char *body, size_t len, const char *realm, char **token)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *t = json_string_value(json_object_get(root, "token"));
    if (!t || !*t)
        t = json_string_value(json_object_get(root, "access_token"));
    *token = t && *t ? strdup(t) : NULL;
    json_decref(root);
    if (!*token)
        return sm_fail(EPROTO, "the token server %s answered without a token", realm);
    return 0;
}

void sm_basic_authorization(const sm_credentials *c, char *out, size_t len)
{
    char plain[sizeof c->username + sizeof c->password + 1];
    int n = snprintf(plain, sizeof plain, "%s:%s", c->username, c->password);
    unsigned char b64[(sizeof plain + 2) / 3 * 4 + 1];
    _Static_assert(sizeof b64 + 6 <= SM_BASIC_AUTH_MAX, "Basic header too small");
    EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
    snprintf(out, len, "Basic %s", b64);
}
