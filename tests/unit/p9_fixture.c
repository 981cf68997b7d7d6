#include "p9_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int put_file(const char *dir, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int p9_tree_make(p9_tree *t)
{
    char p[256];
    snprintf(t->root, sizeof t->root, "/tmp/sm-p9-test-XXXXXX");
    if (!mkdtemp(t->root))
        return -1;
    snprintf(t->share, sizeof t->share, "%s/share", t->root);
    snprintf(p, sizeof p, "%s/sub", t->share);
    if (mkdir(t->share, 0755) < 0 || mkdir(p, 0755) < 0)
        return -1;
    if (put_file(t->root, "outside.txt", "SECRET\n") || put_file(t->share, "hello.txt", "hello\n") ||
        put_file(t->share, "sibling.txt", "sibling\n"))
        return -1;
    snprintf(p, sizeof p, "%s/up", t->share);
    if (symlink("../outside.txt", p) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/abs", t->share);
    if (symlink(t->root, p) < 0)
        return -1;
    snprintf(p, sizeof p, "%s/etc", t->share);
    return symlink("/etc", p);
}

void p9_tree_remove(p9_tree *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    if (t->root[0] && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", t->root);
}

int p9_tree_read(const p9_tree *t, const char *rel, char *buf, size_t len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", t->share, rel);
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n < 0 ? -1 : 0;
}

bool p9_tree_exists(const p9_tree *t, const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", t->share, rel);
    return lstat(p, &st) == 0;
}

bool p9_has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

unsigned p9_open_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}
