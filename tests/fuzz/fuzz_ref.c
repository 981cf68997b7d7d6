/*
 * libFuzzer harness for image references and digests: the input, as a
 * string, is parsed as a reference as the CLI and archives give them. A
 * reference that parses is printed and parsed again: the normal form is
 * a fixed point (what the store lists must name the same image when read
 * back), and fits the buffers callers size for it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fs.h"
#include "oci/digest.h"
#include "oci/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_string(data, size);
    if (!s)
        return 0;
    sm_ref a, b;
    if (sm_ref_parse(s, &a) == 0) {
        char one[SM_REF_STR_MAX], two[SM_REF_STR_MAX], repo[SM_REF_STR_MAX];
        sm_ref_string(&a, one, sizeof one);
        sm_ref_repo(&a, repo, sizeof repo);
        if (strlen(one) >= sizeof one - 1 || sm_ref_parse(one, &b) != 0)
            abort();
        sm_ref_string(&b, two, sizeof two);
        if (strcmp(one, two) || strcmp(a.domain, b.domain) || strcmp(a.path, b.path) ||
            strcmp(a.tag, b.tag) || strcmp(a.digest, b.digest) || !*sm_ref_reference(&a) ||
            strncmp(one, repo, strlen(repo)))
            abort();
    }
    if (sm_digest_valid(s)) {
        char d[SM_DIGEST_STR];
        if (strlen(sm_digest_hex(s)) != 64 || sm_digest_check(s, "input") != 0)
            abort();
        sm_digest_of(data, size, d);
        if (!sm_digest_valid(d))
            abort();
    }
    free(s);
    return 0;
}
