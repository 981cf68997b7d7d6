#include "oci/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

bool sm_digest_valid(const char *s)
{
    if (!s || strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
        return false;
    for (const char *p = s + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int sm_digest_check(const char *s, const char *what)
{
    if (sm_digest_valid(s))
        return 0;
    if (s && strchr(s, ':') && strncmp(s, "sha256:", 7) != 0)
        return sm_fail(ENOTSUP, "%s has digest '%.80s', but only sha256 digests are supported",
                       what, s);
    return sm_fail(EINVAL, "%s has a malformed digest '%.80s' (expected sha256: and 64 "
                   "lowercase hex digits)", what, s ? s : "");
}

const char *sm_digest_hex(const char *digest)
{
    return digest + 7;
}

int sm_hasher_init(sm_hasher *h)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        h->ctx = NULL;
        return sm_fail(ENOMEM, "cannot set up SHA-256 (OpenSSL)");
    }
    h->ctx = ctx;
    return 0;
}

void sm_hasher_update(sm_hasher *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void sm_hasher_final(sm_hasher *h, char out[SM_DIGEST_STR])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

void sm_hasher_free(sm_hasher *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

void sm_digest_of(const void *data, size_t len, char out[SM_DIGEST_STR])
{
    unsigned char md[32];
    EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}
