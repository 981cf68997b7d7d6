/* Content digests ("sha256:<64 hex>") and streaming SHA-256. */
#ifndef SM_OCI_DIGEST_H
#define SM_OCI_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define SM_DIGEST_STR 72   /* "sha256:" + 64 hex + NUL */

/* true when s is "sha256:" followed by exactly 64 lowercase hex digits, the
 * only form the store accepts (it becomes a file name). */
bool sm_digest_valid(const char *s);

/* Like sm_digest_valid, but records why `s` is unusable; `what` names it. */
int sm_digest_check(const char *s, const char *what);

/* The 64 hex digits of a valid digest. */
const char *sm_digest_hex(const char *digest);

typedef struct sm_hasher {
    void *ctx;   /* EVP_MD_CTX */
} sm_hasher;

int sm_hasher_init(sm_hasher *h);
void sm_hasher_update(sm_hasher *h, const void *data, size_t len);
/* Writes "sha256:<hex>" and leaves the hasher ready for new input. */
void sm_hasher_final(sm_hasher *h, char out[SM_DIGEST_STR]);
void sm_hasher_free(sm_hasher *h);

void sm_digest_of(const void *data, size_t len, char out[SM_DIGEST_STR]);

#endif
