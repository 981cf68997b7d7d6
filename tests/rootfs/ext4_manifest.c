/* Prints one line per path of an ext4 image, read with libext2fs (no mount,
 * no root), in the format of manifest.py, so that an image and a directory
 * can be compared with diff:
 *   path type mode uid gid size sha256 target mtime hardlink-group capability */
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct entry {
    char *path;
    ext2_ino_t ino;
} entry;

typedef struct walk {
    ext2_filsys fs;
    entry *v;
    size_t len, cap;
    char prefix[4096];
} walk;

static void die(const char *what, errcode_t e)
{
    fprintf(stderr, "ext4_manifest: %s: error %ld\n", what, (long)e);
    exit(1);
}

static void add(walk *w, const char *path, ext2_ino_t ino)
{
    if (w->len == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->v = realloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->len].path = strdup(path);
    w->v[w->len++].ino = ino;
}

static void walk_dir(walk *w, ext2_ino_t dir);

static int visit(struct ext2_dir_entry *d, int offset, int blocksize, char *buf, void *priv)
{
    (void)offset, (void)blocksize, (void)buf;
    walk *w = priv;
    int len = ext2fs_dirent_name_len(d);
    char name[256];
    memcpy(name, d->name, (size_t)len);
    name[len] = '\0';
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", w->prefix, name);
    add(w, path, d->inode);
    if (ext2fs_dirent_file_type(d) == EXT2_FT_DIR) {
        char saved[4096];
        strcpy(saved, w->prefix);
        strcpy(w->prefix, path);
        walk_dir(w, d->inode);
        strcpy(w->prefix, saved);
    }
    return 0;
}

static void walk_dir(walk *w, ext2_ino_t dir)
{
    errcode_t e = ext2fs_dir_iterate(w->fs, dir, 0, NULL, visit, w);
    if (e)
        die("dir_iterate", e);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

static void file_sha(ext2_filsys fs, ext2_ino_t ino, char *out)
{
    ext2_file_t f;
    errcode_t e = ext2fs_file_open(fs, ino, 0, &f);
    if (e)
        die("file_open", e);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    static char buf[1 << 16];
    for (;;) {
        unsigned int got = 0;
        e = ext2fs_file_read(f, buf, sizeof buf, &got);
        if (e)
            die("file_read", e);
        if (!got)
            break;
        EVP_DigestUpdate(ctx, buf, got);
    }
    ext2fs_file_close(f);
    unsigned char md[32];
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    hex(md, 32, out);
}

static void symlink_target(ext2_filsys fs, ext2_ino_t ino, struct ext2_inode *in, char *out)
{
    if (ext2fs_is_fast_symlink(in)) {
        memcpy(out, in->i_block, EXT2_I_SIZE(in));
        out[EXT2_I_SIZE(in)] = '\0';
        return;
    }
    ext2_file_t f;
    unsigned int got = 0;
    if (ext2fs_file_open(fs, ino, 0, &f) || ext2fs_file_read(f, out, 4095, &got))
        die("symlink read", 0);
    out[got] = '\0';
    ext2fs_file_close(f);
}

static void capability(ext2_filsys fs, ext2_ino_t ino, char *out)
{
    strcpy(out, "-");
    struct ext2_xattr_handle *h;
    if (ext2fs_xattrs_open(fs, ino, &h))
        return;
    void *val;
    size_t len;
    if (!ext2fs_xattrs_read(h) && !ext2fs_xattr_get(h, "security.capability", &val, &len)) {
        hex(val, len, out);
        ext2fs_free_mem(&val);
    }
    ext2fs_xattrs_close(&h);
}

static const char *type_of(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR: return "dir";
    case S_IFREG: return "file";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    case S_IFIFO: return "fifo";
    default: return "other";
    }
}

static void print(walk *w, size_t i)
{
    struct ext2_inode_large in;
    ext2_ino_t ino = w->v[i].ino;
    errcode_t e = ext2fs_read_inode_full(w->fs, ino, (struct ext2_inode *)&in, sizeof in);
    if (e)
        die("read_inode", e);
    unsigned mode = in.i_mode;
    char sha[65] = "-", target[4096] = "-", cap[512], size[32] = "-", mtime[32] = "-";
    const char *group = "-";
    if (S_ISREG(mode)) {
        file_sha(w->fs, ino, sha);
        snprintf(size, sizeof size, "%llu", (unsigned long long)EXT2_I_SIZE(&in));
    }
    if (S_ISLNK(mode))
        symlink_target(w->fs, ino, (struct ext2_inode *)&in, target);
    if (!S_ISDIR(mode)) {
        snprintf(mtime, sizeof mtime, "%ld", (long)(int32_t)in.i_mtime);
        for (size_t j = 0; in.i_links_count > 1 && j < w->len; j++)
            if (w->v[j].ino == ino) { /* sorted: the first is the smallest */
                group = w->v[j].path;
                break;
            }
    }
    capability(w->fs, ino, cap);
    if (S_ISCHR(mode) || S_ISBLK(mode)) {
        unsigned ma, mi;
        if (in.i_block[0]) {
            ma = (in.i_block[0] >> 8) & 255;
            mi = in.i_block[0] & 255;
        } else {
            ma = (in.i_block[1] & 0xfff00) >> 8;
            mi = (in.i_block[1] & 0xff) | ((in.i_block[1] >> 12) & 0xfff00);
        }
        snprintf(size, sizeof size, "%u:%u", ma, mi);
    }
    printf("%s %s %04o %u %u %s %s %s %s %s %s\n", w->v[i].path, type_of(mode), mode & 07777,
           inode_uid(in), inode_gid(in), size, sha, target, mtime, group, cap);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ext4_manifest IMAGE\n");
        return 2;
    }
    walk w = {0};
    errcode_t e = ext2fs_open(argv[1], EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &w.fs);
    if (e)
        die("open", e);
    add(&w, ".", EXT2_ROOT_INO);
    strcpy(w.prefix, ".");
    walk_dir(&w, EXT2_ROOT_INO);
    qsort(w.v, w.len, sizeof *w.v, by_path);
    for (size_t i = 0; i < w.len; i++)
        print(&w, i);
    ext2fs_close_free(&w.fs);
    for (size_t i = 0; i < w.len; i++)
        free(w.v[i].path);
    free(w.v);
    return 0;
}
