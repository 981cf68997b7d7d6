/* Test helper: mkrootfs OUT.ext4 LAYER[=DIGEST]... builds an image with
 * sm_rootfs_build and prints the library's sentence on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/rootfs.h"
#include "supermachine.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mkrootfs OUT LAYER[=DIGEST]...\n");
        return 2;
    }
    size_t n = (size_t)argc - 2;
    sm_rootfs_layer *layers = calloc(n ? n : 1, sizeof *layers);
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(argv[i + 2], '=');
        if (eq)
            *eq = '\0';
        layers[i].path = argv[i + 2];
        layers[i].digest = eq ? eq + 1 : NULL;
    }
    int err = sm_rootfs_build(layers, n, argv[1], NULL);
    free(layers);
    if (err) {
        fprintf(stderr, "mkrootfs: %s\n", sm_last_error());
        return 1;
    }
    return 0;
}
