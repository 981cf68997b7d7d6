#!/usr/bin/env python3
"""Prints one line per path of a directory tree, in the format of
ext4_manifest.c, so that an unpacked rootfs and an image compare with diff:
  path type mode uid gid size sha256 target mtime hardlink-group capability"""
import hashlib
import os
import stat
import sys

TYPES = {stat.S_IFDIR: "dir", stat.S_IFREG: "file", stat.S_IFLNK: "symlink",
         stat.S_IFCHR: "chr", stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo"}


def walk(root):
    paths = ["."]
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            paths.append("./" + (name if rel == "." else os.path.join(rel, name)))
    return sorted(paths)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def capability(path):
    try:
        return os.getxattr(path, "security.capability", follow_symlinks=False).hex()
    except OSError:
        return "-"


def manifest(root):
    paths = walk(root)
    st = {p: os.lstat(os.path.join(root, p)) for p in paths}
    first = {}
    for p in paths:  # sorted, so the first name of an inode is the smallest
        first.setdefault((st[p].st_dev, st[p].st_ino), p)
    lines = []
    for p in paths:
        s = st[p]
        full = os.path.join(root, p)
        kind = TYPES.get(stat.S_IFMT(s.st_mode), "other")
        size = sha = target = mtime = group = "-"
        if kind == "file":
            size, sha = str(s.st_size), sha256(full)
        if kind in ("chr", "blk"):
            size = "%d:%d" % (os.major(s.st_rdev), os.minor(s.st_rdev))
        if kind == "symlink":
            target = os.readlink(full)
        if kind != "dir":
            mtime = str(int(s.st_mtime))
            if s.st_nlink > 1:
                group = first[(s.st_dev, s.st_ino)]
        lines.append("%s %s %04o %d %d %s %s %s %s %s %s" % (
            p, kind, stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid, size, sha, target,
            mtime, group, capability(full)))
    return lines


if __name__ == "__main__":
    print("\n".join(manifest(sys.argv[1])))
