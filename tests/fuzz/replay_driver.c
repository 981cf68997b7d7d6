/*
 * Replays a harness's corpus without libFuzzer: every file named, or in a
 * directory named, goes once through LLVMFuzzerTestOneInput, in name order
 * so that a failure is reproducible. With any compiler (gcc, the ASan
 * build), it keeps the inputs that once crashed a harness crashing no more.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 4096)))
            abort();
        size_t n = fread(buf + len, 1, cap - len, f);
        if (!n)
            break;
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, long *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "cannot list %s\n", dir);
        return -1;
    }
    int err = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (!err && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            err = run_file(path);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return err;
}

int main(int argc, char **argv)
{
    long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int err = stat(argv[i], &st) < 0 ? -1
                  : S_ISDIR(st.st_mode) ? run_dir(argv[i], &count)
                                        : (count++, run_file(argv[i]));
        if (err) {
            fprintf(stderr, "cannot replay %s\n", argv[i]);
            return 1;
        }
    }
    printf("%ld inputs replayed\n", count);
    return count ? 0 : 1;
}
