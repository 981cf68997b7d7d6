#!/usr/bin/env python3
"""`supermachine dedup` on real filesystems made by the test on loop devices.
Usage: dedup_test.py CASE; SM names the binary, MKSNAP the snapshot maker.

  xfs_shares      XFS reflink=1: siblings share exactly their identical
                  non-hole pages (FIEMAP shows it), stay byte-identical,
                  other groups and unfinished dirs are left alone, a second
                  run shares nothing new; the after-bake path shares one
                  new snapshot
  xfs_kill        kill -9 in the middle of a dedup of 512 MiB files leaves
                  them byte-identical, and a rerun finishes the job
  xfs_no_reflink  XFS made with reflink=0: unsupported, nothing changed
  ext4            ext4: unsupported (exit 1, the sentence), nothing changed

Needs root and loop devices: without them it fails and says why (it never
passes without testing). Exit 0 pass, 1 fail."""
import fcntl
import hashlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

SM = os.environ["SM"]
MKSNAP = os.environ["MKSNAP"]
PAGE = 4096
ZERO = bytes(PAGE)
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def run(*cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        fail(f"{' '.join(cmd)}: status {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def need_loop_devices():
    if os.geteuid() != 0:
        fail("this test makes XFS and ext4 filesystems on loop devices and needs root")
    for tool in ("losetup", "mkfs.xfs", "mkfs.ext4", "mount"):
        if not shutil.which(tool):
            fail(f"{tool} is missing (tools/install-deps.sh installs xfsprogs and e2fsprogs)")
    p = run("losetup", "-f", check=False)
    if p.returncode != 0:
        fail(f"no free loop device (losetup -f: {p.stderr.strip()}); load the loop module")


class LoopFs:
    """A filesystem in a sparse file, mounted through a loop device; always
    unmounted and detached, whatever happens in between."""

    def __init__(self, mkfs, size):
        self.dir = tempfile.mkdtemp(prefix="sm-dedup-")
        self.img = os.path.join(self.dir, "fs.img")
        self.mnt = os.path.join(self.dir, "mnt")
        self.dev = None
        self.mkfs, self.size = mkfs, size

    def __enter__(self):
        try:
            # Allocated up front and never discarded: a sparse image that the
            # guest filesystem scatters takes a minute to delete afterwards.
            with open(self.img, "wb") as f:
                os.posix_fallocate(f.fileno(), 0, self.size)
            run(*self.mkfs, self.img)
            self.dev = run("losetup", "-f", "--show", self.img).stdout.strip()
            os.mkdir(self.mnt)
            run("mount", self.dev, self.mnt)
            os.mkdir(self.snaps)
        except BaseException:
            self.__exit__()
            raise
        return self

    @property
    def snaps(self):
        return os.path.join(self.mnt, "snapshots")

    def __exit__(self, *exc):
        if os.path.ismount(self.mnt):
            if run("umount", self.mnt, check=False).returncode != 0:
                run("umount", "-l", self.mnt, check=False)
        if self.dev:
            run("losetup", "-d", self.dev, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def mksnap(fs, name, mib, digest, variant, every=11):
    run(MKSNAP, fs.snaps, name, str(mib), digest, str(variant), str(every))


def memory(fs, name):
    return os.path.join(fs.snaps, name, "memory")


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def pages(path):
    with open(path, "rb") as f:
        while page := f.read(PAGE):
            yield page


def identical_bytes(a, b):
    """Bytes in pages both files hold, with the same non-zero content (the
    writer leaves every zero page a hole)."""
    return sum(PAGE for x, y in zip(pages(a), pages(b)) if x == y and x != ZERO)


def data_in_both(a, b):
    return sum(PAGE for x, y in zip(pages(a), pages(b)) if x != ZERO and y != ZERO)


FS_IOC_FIEMAP = 0xC020660B
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_SHARED = 0x2000


def extents(path):
    """(logical, physical, length, flags) of every extent, via FIEMAP."""
    out, start, n = [], 0, 256
    with open(path, "rb") as f:
        while True:
            buf = bytearray(struct.pack("=QQLLLL", start, 2**64 - 1 - start, 0, 0, n, 0))
            buf += bytes(56 * n)
            fcntl.ioctl(f.fileno(), FS_IOC_FIEMAP, buf)
            mapped = struct.unpack_from("=L", buf, 20)[0]
            exts = [struct.unpack_from("=QQQ16xL12x", buf, 32 + 56 * i) for i in range(mapped)]
            out += exts
            if not exts or exts[-1][3] & FIEMAP_EXTENT_LAST:
                return out
            start = exts[-1][0] + exts[-1][2]


def shared_bytes(path):
    return sum(e[2] for e in extents(path) if e[3] & FIEMAP_EXTENT_SHARED)


def dedup(dir_, expect_status=0):
    p = run(SM, "dedup", "--bytes", dir_, check=False)
    if p.returncode != expect_status:
        fail(f"supermachine dedup {dir_}: status {p.returncode}, expected {expect_status}\n"
             f"{p.stdout}{p.stderr}")
    return p


def parse(out):
    m = re.fullmatch(r"(\d+) snapshots? in (\d+) groups?: (\d+) bytes compared, "
                     r"(\d+) bytes newly shared\n", out)
    if not m:
        fail(f"unexpected dedup output: {out!r}")
    return tuple(int(x) for x in m.groups())


def dedup_new(fs, name):
    out = run(MKSNAP, "--dedup-new", fs.snaps, os.path.join(fs.snaps, name)).stdout
    counts, fs_name = out.rstrip("\n").split(" fs=", 1)
    return dict([kv.split("=", 1) for kv in counts.split()] + [("fs", fs_name)])


def mib(n):
    return f"{n / 2**20:.1f} MiB"


def used(fs):
    s = os.statvfs(fs.mnt)
    return (s.f_blocks - s.f_bfree) * s.f_frsize


def xfs_shares():
    with LoopFs(["mkfs.xfs", "-q", "-K", "-m", "reflink=1"], 1 << 30) as fs:
        # One group of three (a oldest), and two that look alike but are not
        # siblings: another memory size, another image.
        for name, size, digest, variant in [("a", 64, DIGEST_A, 0), ("b", 64, DIGEST_A, 1),
                                            ("c", 64, DIGEST_A, 2), ("d", 32, DIGEST_A, 3),
                                            ("e", 64, DIGEST_B, 4)]:
            mksnap(fs, name, size, digest, variant)
        # An unfinished bake and an incomplete directory, both copies of b.
        for leftover, files in [(".f.tmp-x1y2z3", ("memory", "state", "metadata.json")),
                                ("g", ("memory", "metadata.json"))]:
            os.mkdir(os.path.join(fs.snaps, leftover))
            for f in files:
                shutil.copyfile(os.path.join(fs.snaps, "b", f), os.path.join(fs.snaps, leftover, f))
        files = {n: memory(fs, n) for n in ["a", "b", "c", "d", "e", ".f.tmp-x1y2z3", "g"]}
        before = {n: sha(p) for n, p in files.items()}
        if any(shared_bytes(p) for p in files.values()):
            fail("files share extents before any dedup")
        want_ab = identical_bytes(files["a"], files["b"])
        want_ac = identical_bytes(files["a"], files["c"])
        both_ab = data_in_both(files["a"], files["b"])
        both_ac = data_in_both(files["a"], files["c"])
        print(f"a/b: {mib(want_ab)} identical of {mib(both_ab)} in both; "
              f"a/c: {mib(want_ac)} of {mib(both_ac)}")
        if not 0 < want_ab < both_ab or identical_bytes(files["a"], files["d"]) == 0:
            fail("the fixture does not have identical and differing pages as planned")

        # After a bake of c: c against its oldest sibling, a; b untouched.
        st = dedup_new(fs, "c")
        if st != {"unsupported": "0", "files": "1", "compared": str(both_ac), "fs": "-",
                  "shared": str(want_ac)}:
            fail(f"dedup of the new snapshot c: {st}, expected {mib(want_ac)} shared "
                 f"of {both_ac} bytes compared")
        if shared_bytes(files["c"]) != want_ac or shared_bytes(files["b"]) != 0:
            fail(f"after dedup of c: c shares {shared_bytes(files['c'])} bytes (want {want_ac}), "
                 f"b {shared_bytes(files['b'])} (want 0)")

        used_before = used(fs)
        counts = parse(dedup(fs.snaps).stdout)
        if counts != (5, 3, both_ab + both_ac, want_ab):
            fail(f"dedup reported {counts}, expected (5 snapshots, 3 groups, "
                 f"{both_ab + both_ac} compared, {want_ab} newly shared)")
        os.sync()
        freed = used_before - used(fs)
        for n, p in files.items():
            if sha(p) != before[n]:
                fail(f"{n}'s memory changed")
        got = {n: shared_bytes(p) for n, p in files.items()}
        if got["b"] != want_ab or got["c"] != want_ac or got["a"] < max(want_ab, want_ac):
            fail(f"FIEMAP shared bytes {got}, expected b {want_ab}, c {want_ac}")
        for n in ["d", "e", ".f.tmp-x1y2z3", "g"]:
            if got[n]:
                fail(f"{n} is not a sibling of a or not a snapshot, yet shares {got[n]} bytes")
        print(f"shared: b {mib(got['b'])}, c {mib(got['c'])}, a {mib(got['a'])}; "
              f"the filesystem's used space fell by {mib(freed)}")
        if freed < want_ab * 9 // 10:
            fail(f"used space fell by {freed} bytes only; {want_ab} were shared")

        counts = parse(dedup(fs.snaps).stdout)
        if counts != (5, 3, both_ab + both_ac, 0):
            fail(f"a second run reported {counts}: it should share nothing new")
        for n, p in files.items():
            if sha(p) != before[n]:
                fail(f"{n}'s memory changed in the second run")


def xfs_kill():
    with LoopFs(["mkfs.xfs", "-q", "-K", "-m", "reflink=1"], 2 << 30) as fs:
        # Short runs (a differing page every 6), so that the dedup takes a
        # while and makes many calls.
        mksnap(fs, "a", 512, DIGEST_A, 0, every=6)
        mksnap(fs, "b", 512, DIGEST_A, 1, every=6)
        a, b = memory(fs, "a"), memory(fs, "b")
        before = (sha(a), sha(b))
        want = identical_bytes(a, b)
        interrupted = None
        for attempt in range(8):
            p = subprocess.Popen([SM, "dedup", "--bytes", fs.snaps], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            t0 = time.monotonic()
            start = shared_bytes(b)
            # Wait until it has shared something more, then kill it at once.
            while p.poll() is None and shared_bytes(b) == start:
                time.sleep(0.005)
            time.sleep(0.002 * attempt)
            p.send_signal(signal.SIGKILL)
            p.wait()
            now = shared_bytes(b)
            if (sha(a), sha(b)) != before:
                fail(f"after kill -9 {time.monotonic() - t0:.2f} s in, a memory file changed")
            if p.returncode == -signal.SIGKILL and start < now < want:
                interrupted = now
                print(f"killed {time.monotonic() - t0:.2f} s in, with {mib(now)} of "
                      f"{mib(want)} shared; both files byte-identical")
                break
        if interrupted is None:
            fail("the dedup always ended before it could be killed: make the files bigger")
        counts = parse(dedup(fs.snaps).stdout)
        if counts[3] != want - interrupted or shared_bytes(b) != want:
            fail(f"the rerun shared {counts[3]} (want {want - interrupted}); b now shares "
                 f"{shared_bytes(b)} of {want}")
        if (sha(a), sha(b)) != before:
            fail("a memory file changed in the rerun")
        print(f"the rerun shared the remaining {mib(counts[3])}; total {mib(want)}")


def unsupported(mkfs, size, fs_words):
    with LoopFs(mkfs, size) as fs:
        mksnap(fs, "a", 64, DIGEST_A, 0)
        mksnap(fs, "b", 64, DIGEST_A, 1)
        files = [memory(fs, "a"), memory(fs, "b")]
        before = [(sha(p), extents(p), os.stat(p).st_mtime_ns) for p in files]
        p = dedup(fs.snaps, expect_status=1)
        want = f"supermachine: dedup: {fs.snaps} is on {fs_words}, which cannot share file " \
               "extents (XFS with reflink=1 or btrfs can); nothing was changed\n"
        if p.stdout or p.stderr != want:
            fail(f"expected only {want!r} on stderr, got {p.stdout!r} {p.stderr!r}")
        if [(sha(p), extents(p), os.stat(p).st_mtime_ns) for p in files] != before:
            fail("the memory files or their extents changed")
        # After a bake this is no error: it must never fail a bake.
        st = dedup_new(fs, "b")
        if st["unsupported"] != "1" or st["shared"] != "0":
            fail(f"dedup after a bake on {fs_words}: {st}")
        print(f"unsupported on {fs_words}, as said: {p.stderr.strip()}")


CASES = {
    "xfs_shares": xfs_shares,
    "xfs_kill": xfs_kill,
    "xfs_no_reflink": lambda: unsupported(["mkfs.xfs", "-q", "-K", "-m", "reflink=0"],
                                          512 << 20, "XFS made without reflink"),
    "ext4": lambda: unsupported(["mkfs.ext4", "-q", "-F", "-E", "nodiscard"], 256 << 20, "ext4"),
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        fail(f"usage: dedup_test.py {{{','.join(CASES)}}}")
    # meson's timeout sends SIGTERM: unwind so that the loop fs is cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    need_loop_devices()
    CASES[sys.argv[1]]()
    print("ok:", sys.argv[1])
