"""The emulated host's initramfs: static busybox, the kernel modules and
init.sh as /init, written as an uncompressed newc cpio archive (no cpio
program needed; uncompressed because TCG pays for every instruction of an
inflate)."""
import os
import stat

HERE = os.path.dirname(os.path.abspath(__file__))
BUSYBOX = "/bin/busybox"


class InitramfsError(Exception):
    pass


def _is_static_elf(path):
    """True for an ELF file without a program interpreter (PT_INTERP)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(int.from_bytes(table[i:i + 4], "little") != 3
               for i in range(0, len(table), phentsize))


def busybox():
    if not os.path.exists(BUSYBOX) or not _is_static_elf(BUSYBOX):
        raise InitramfsError(f"{BUSYBOX} is missing or not static: install Debian's "
                             "busybox-static (make deps does)")
    return BUSYBOX


class _Cpio:
    def __init__(self, out):
        self.out = out
        self.ino = 1
        self.pos = 0

    def _write(self, b):
        self.out.write(b)
        self.pos += len(b)

    def _pad(self):
        self._write(b"\0" * (-self.pos % 4))

    def entry(self, name, mode, data=b""):
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        self.ino += 1
        self._write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self._write(name.encode() + b"\0")
        self._pad()
        self._write(data)
        self._pad()

    def trailer(self):
        self.entry("TRAILER!!!", 0)


def write(path, modules_dir, modules):
    """The archive at `path`; `modules` are file names in modules_dir, in
    load order."""
    with open(path, "wb") as out:
        c = _Cpio(out)
        for d in ("bin", "dev", "proc", "sys", "mnt", "lib", "lib/modules"):
            c.entry(d, stat.S_IFDIR | 0o755)
        with open(busybox(), "rb") as f:
            c.entry("bin/busybox", stat.S_IFREG | 0o755, f.read())
        with open(os.path.join(HERE, "init.sh"), "rb") as f:
            c.entry("init", stat.S_IFREG | 0o755, f.read())
        for m in modules:
            with open(os.path.join(modules_dir, m), "rb") as f:
                c.entry("lib/modules/" + m, stat.S_IFREG | 0o644, f.read())
        c.entry("lib/modules/order", stat.S_IFREG | 0o644, "".join(m + "\n" for m in modules).encode())
        c.trailer()
