/*
 * mkinitramfs OUT SM_INIT BUSYBOX [DEST=SRC...]: the built-in initramfs,
 * sm-init as /init and a static busybox with its applet links, plus any
 * extra executables (the tests add their guest-side tools). BUSYBOX "-"
 * leaves busybox out: the initramfs for VMs whose root is an image holds
 * sm-init alone, which the kernel unpacks in a blink. Written
 * without root: device nodes are cpio entries, not files on disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supermachine.h"
#include "util/cpio.h"
#include "util/file.h"

static const char *const dirs[] = {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev",
                                   "proc", "sys", "tmp", "root", "etc", "sm"};

static int add_file(sm_cpio *c, const char *path, const char *src)
{
    sm_mapped_file f;
    int err = sm_file_map(src, "input", &f);
    if (!err)
        err = sm_cpio_add_file(c, path, 0755, f.data, f.len);
    sm_file_unmap(&f);
    return err;
}

/* One link per applet, where busybox itself would install it. */
static int add_applets(sm_cpio *c, const char *busybox)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --list-full", busybox);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    int err = 0, n = 0;
    while (!err && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        if (!*line || !strcmp(line, "bin/busybox"))
            continue;
        err = sm_cpio_add_symlink(c, line, "/bin/busybox");
        n++;
    }
    if (pclose(p) != 0 || n == 0) {
        fprintf(stderr, "mkinitramfs: '%s --list-full' failed\n", busybox);
        return -1;
    }
    return err;
}

/* DEST=SRC, DEST relative to the image root. */
static int add_extras(sm_cpio *c, char **extras, int n)
{
    int err = 0;
    for (int i = 0; !err && i < n; i++) {
        char *eq = strchr(extras[i], '=');
        if (!eq || eq == extras[i] || extras[i][0] == '/') {
            fprintf(stderr, "mkinitramfs: '%s' is not DEST=SRC\n", extras[i]);
            return -1;
        }
        *eq = '\0';
        err = add_file(c, extras[i], eq + 1);
    }
    return err;
}

static int build(sm_cpio *c, const char *init, const char *busybox)
{
    int err = 0;
    for (size_t i = 0; !err && i < sizeof dirs / sizeof dirs[0]; i++)
        err = sm_cpio_add_dir(c, dirs[i], 0755);
    if (!err)
        err = sm_cpio_add_chardev(c, "dev/console", 0600, 5, 1);
    if (!err)
        err = sm_cpio_add_chardev(c, "dev/ttyS1", 0600, 4, 65);
    if (!err)
        err = sm_cpio_add_file(c, "etc/passwd", 0644, "root:x:0:0:root:/root:/bin/sh\n", 30);
    if (!err)
        err = sm_cpio_add_file(c, "etc/group", 0644, "root:x:0:\n", 10);
    if (!err)
        err = add_file(c, "init", init);
    if (!err && strcmp(busybox, "-") != 0)
        err = add_file(c, "bin/busybox", busybox);
    if (!err && strcmp(busybox, "-") != 0)
        err = add_applets(c, busybox);
    return err;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: mkinitramfs OUT SM_INIT BUSYBOX [DEST=SRC...]\n");
        return 2;
    }
    sm_cpio *c;
    uint8_t *data = NULL;
    size_t len = 0;
    int err = sm_cpio_new(&c);
    if (!err && ((err = build(c, argv[2], argv[3])) != 0 ||
                 (err = add_extras(c, argv + 4, argc - 4)) != 0))
        sm_cpio_free(c);
    else if (!err)
        err = sm_cpio_finish(c, &data, &len);
    FILE *out = err ? NULL : fopen(argv[1], "wb");
    if (err || !out || fwrite(data, 1, len, out) != len || fclose(out) != 0) {
        fprintf(stderr, "mkinitramfs: %s\n", err ? sm_last_error() : "cannot write output");
        free(data);
        return 1;
    }
    free(data);
    return 0;
}
