#include "oci/ref.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

static int bad(const char *s, const char *why)
{
    return sm_fail(EINVAL, "invalid image reference '%.300s': %s", s, why);
}

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* alpha-numeric (separator alpha-numeric)*, separator: [_.] | __ | -+ */
static bool path_component_ok(const char *c, size_t n)
{
    if (n == 0 || !is_alnum_lower(c[0]) || !is_alnum_lower(c[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (is_alnum_lower(c[i]))
            continue;
        if (c[i] == '-')
            continue;
        if (c[i] == '.' || c[i] == '_') {
            bool dunder = c[i] == '_' && c[i + 1] == '_';
            size_t next = i + (dunder ? 2 : 1);
            if (next >= n || !is_alnum_lower(c[next]) || !is_alnum_lower(c[i - 1]))
                return false;
            i = next - 1;
            continue;
        }
        return false;
    }
    return true;
}

static bool path_ok(const char *p)
{
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (!path_component_ok(p, n))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

static bool domain_ok(const char *d)
{
    if (!*d)
        return false;
    for (const char *p = d; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
            return false;
    return true;
}

static bool tag_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && !strchr("_.-", t[i]))
            return false;
    return true;
}

/* The first component names a registry when it looks like a host name. */
static bool looks_like_domain(const char *c, size_t n)
{
    if (n == 9 && !strncmp(c, "localhost", 9))
        return true;
    for (size_t i = 0; i < n; i++)
        if (c[i] == '.' || c[i] == ':' || c[i] == '[' || isupper((unsigned char)c[i]))
            return true;
    return false;
}

static int split_name(const char *s, const char *name, sm_ref *out)
{
    const char *slash = strchr(name, '/');
    if (slash && looks_like_domain(name, (size_t)(slash - name))) {
        snprintf(out->domain, sizeof out->domain, "%.*s", (int)(slash - name), name);
        snprintf(out->path, sizeof out->path, "%s", slash + 1);
    } else {
        snprintf(out->domain, sizeof out->domain, "docker.io");
        snprintf(out->path, sizeof out->path, "%s", name);
    }
    if (!strcmp(out->domain, "index.docker.io"))
        snprintf(out->domain, sizeof out->domain, "docker.io");
    if (!domain_ok(out->domain))
        return bad(s, "the registry host is malformed");
    if (!strcmp(out->domain, "docker.io") && !strchr(out->path, '/')) {
        char p[SM_REF_NAME_MAX];
        snprintf(p, sizeof p, "library/%s", out->path);
        snprintf(out->path, sizeof out->path, "%s", p);
    }
    for (const char *p = out->path; *p; p++)
        if (isupper((unsigned char)*p))
            return bad(s, "repository names must be lowercase");
    if (!path_ok(out->path))
        return bad(s, "the repository name may hold only lowercase letters, digits and "
                   "single separators (. _ __ -) between them, in /-separated parts");
    if (strlen(out->domain) + 1 + strlen(out->path) > 255)
        return bad(s, "the name is longer than 255 characters");
    return 0;
}

int sm_ref_parse(const char *s, sm_ref *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return sm_fail(EINVAL, "invalid image reference: it is empty");
    if (strlen(s) >= SM_REF_STR_MAX)
        return bad(s, "it is too long");
    char buf[SM_REF_STR_MAX];
    snprintf(buf, sizeof buf, "%s", s);
    char *at = strchr(buf, '@');
    if (at) {
        *at = '\0';
        if (sm_digest_check(at + 1, "the reference") < 0)
            return bad(s, "the part after '@' must be sha256: and 64 lowercase hex digits");
        snprintf(out->digest, sizeof out->digest, "%s", at + 1);
    }
    char *last_slash = strrchr(buf, '/');
    char *colon = strrchr(last_slash ? last_slash : buf, ':');
    if (colon) {
        *colon = '\0';
        if (!tag_ok(colon + 1))
            return bad(s, "a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting "
                       "with '.' or '-'");
        snprintf(out->tag, sizeof out->tag, "%s", colon + 1);
    }
    if (!*buf)
        return bad(s, "the repository name is missing");
    int err = split_name(s, buf, out);
    if (err)
        return err;
    if (!out->tag[0] && !out->digest[0])
        snprintf(out->tag, sizeof out->tag, "latest");
    return 0;
}

void sm_ref_repo(const sm_ref *r, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", r->domain, r->path);
}

void sm_ref_string(const sm_ref *r, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
             r->digest[0] ? "@" : "", r->digest);
}

const char *sm_ref_reference(const sm_ref *r)
{
    return r->digest[0] ? r->digest : r->tag;
}
