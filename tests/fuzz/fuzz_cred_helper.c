/*
 * libFuzzer harness for what a docker credential helper says: the input's
 * first byte picks get, store or erase; the rest is the helper's answer
 * (exit status, stdout and stderr, as cred_helper_stub.c reads them),
 * which a real helper process gives back through the real pipes. The
 * credentials taken from it must be strings that fit their fields.
 */
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_fs.h"
#include "oci/cred_helper.h"

static bool ready;

/* The stub sits beside this program; PATH finds it there first. */
static void setup(void)
{
    char self[PATH_MAX], path[2 * PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        abort();
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    const char *old = getenv("PATH");
    snprintf(path, sizeof path, "%s:%s", self, old ? old : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    setenv("SM_FUZZ_HELPER_ANSWER", fuzz_beside_input("answer"), 1);
    ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 1)
        return 0;
    fuzz_input_file("answer", data + 1, size - 1);
    const char *origin = "\"credsStore\" in fuzz/config.json";
    sm_credentials c;
    memset(&c, 0xaa, sizeof c);
    switch (data[0] % 3) {
    case 0:
        if (sm_cred_helper_get("fuzz", "registry.example", origin, &c) == 1 &&
            (!memchr(c.username, 0, sizeof c.username) || !memchr(c.password, 0, sizeof c.password) ||
             !c.password[0]))
            abort();
        break;
    case 1:
        sm_cred_helper_store("fuzz", "registry.example", "user", "secret", origin);
        break;
    default:
        sm_cred_helper_erase("fuzz", "registry.example", origin);
        break;
    }
    return 0;
}
