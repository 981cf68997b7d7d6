/*
 * docker-credential-fuzz: the credential helper fuzz_cred_helper runs.
 * It answers whatever $SM_FUZZ_HELPER_ANSWER holds: byte 0 the exit
 * status (0xf0 and up: killed by signal 1 to 15 instead), bytes 1-2 how
 * many of the rest go to stdout, the others to stderr. Built without
 * sanitizers, so that the fuzzer spends its time in the caller.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void out(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
}

int main(void)
{
    static unsigned char buf[1 << 17];
    const char *path = getenv("SM_FUZZ_HELPER_ANSWER");
    FILE *f = path ? fopen(path, "rb") : NULL;
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (n < 3)
        return 1;
    size_t split = (size_t)(buf[1] | buf[2] << 8);
    split = split < n - 3 ? split : n - 3;
    out(1, buf + 3, split);
    out(2, buf + 3 + split, n - 3 - split);
    if (buf[0] >= 0xf0) {
        signal(buf[0] - 0xef, SIG_DFL);
        raise(buf[0] - 0xef);
    }
    return buf[0];
}
