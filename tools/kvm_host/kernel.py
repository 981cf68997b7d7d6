"""The emulated host's kernel: Debian's own packaged kernel (not ours: it
must be an ordinary distribution kernel that loads kvm_amd), fetched with
apt-get download and unpacked without installing anything.

Only the modules the host needs are taken, in an order that satisfies the
`depends=` field each .ko carries (the machine may have no modinfo or
depmod)."""
import os
import re
import subprocess
import tarfile
import tempfile


class KernelError(Exception):
    """One line that says what is missing and what to do."""


DEFAULT_PACKAGE = "linux-image-amd64"

# What the emulated host needs, each for a reason:
#   virtio_pci, virtio_console, 9pnet_virtio, 9p: its devices and shares
#   virtio_net: the machine's network, through QEMU's user-mode NAT
#   virtio_rng: entropy at once, so nothing blocks on getrandom
#   overlay: a writable tmpfs over the read-only host root
#   kvm_amd: /dev/kvm itself
#   loop, ext4, xfs: tests that make filesystems on loop devices
#   tun, veth, bridge: networking tests (TAP, namespaces, CNI's bridge)
#   sch_ingress, cls_u32, act_mirred: a VM in a network namespace joins its
#   tap to the namespace's interface with tc redirects (src/lib/tc_mirred.c)
#   crc32c_generic: ext4 and xfs checksums ask for "crc32c" only as a soft
#   dependency, which the depends= field does not name
MODULES = [
    "virtio_pci", "virtio_console", "virtio_rng", "virtio_net", "9pnet_virtio", "9p", "overlay",
    "kvm_amd", "loop", "crc32c_generic", "ext4", "xfs", "tun", "veth", "bridge",
    "sch_ingress", "cls_u32", "act_mirred",
]


def _apt(args, cwd=None):
    try:
        p = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    except FileNotFoundError:
        raise KernelError(f"{args[0]} is missing: the emulated KVM host needs "
                          "Debian's apt to fetch its kernel")
    return p


def _fields(text):
    """The fields of the first stanza of apt-cache show output."""
    out = {}
    for line in text.splitlines():
        if not line.strip():
            break
        m = re.match(r"([A-Za-z-]+): (.*)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _show(package):
    p = _apt(["apt-cache", "show", "--no-all-versions", package])
    f = _fields(p.stdout) if p.returncode == 0 else {}
    if "Version" not in f:
        raise KernelError(
            f"no Debian kernel package '{package}' is known to apt; run "
            "'apt-get update', or name another with SM_KVM_HOST_KERNEL_PACKAGE")
    return f


def resolve(package=None):
    """(name, version) of the kernel image package, following a
    metapackage such as linux-image-amd64 to the image it depends on."""
    package = package or os.environ.get("SM_KVM_HOST_KERNEL_PACKAGE") or DEFAULT_PACKAGE
    f = _show(package)
    if not re.match(r"linux-image-\d", package):
        deps = re.findall(r"(linux-image-\d[^\s,(]*)", f.get("Depends", ""))
        if deps:
            package = deps[0]
            f = _show(package)
    return package, f["Version"]


def download(name, version, into):
    """The .deb of name=version, downloaded into the directory `into`."""
    # apt-get download writes into its current directory; as root its
    # sandbox user _apt could not write into our private temporary one.
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    p = _apt(["apt-get", "download", "-q", *sandbox, f"{name}={version}"], cwd=into)
    debs = [f for f in os.listdir(into) if f.endswith(".deb")]
    if p.returncode != 0 or not debs:
        last = (p.stderr.strip().splitlines() or ["no .deb appeared"])[-1]
        raise KernelError(f"cannot download the kernel package {name}={version}: {last}")
    return os.path.join(into, debs[0])


def _members(deb):
    """The package's data archive, streamed as (TarInfo, file) pairs."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for m in tar:
                if m.isfile():
                    yield m, tar.extractfile(m)
    finally:
        proc.stdout.close()
        if proc.wait() != 0:
            raise KernelError(f"dpkg-deb cannot read {deb}")


def _modname(path):
    base = os.path.basename(path)
    return base[:-3].replace("-", "_") if base.endswith(".ko") else None


def _depends(data):
    m = re.search(rb"\0depends=([^\0]*)\0", b"\0" + data)
    if not m or not m.group(1):
        return []
    return [d.decode().replace("-", "_") for d in m.group(1).split(b",") if d]


def _order(wanted, deps, builtin):
    """Modules in load order: each after what it depends on."""
    order, seen = [], set()

    def visit(name):
        if name in seen or name in builtin:
            return
        seen.add(name)
        if name not in deps:
            raise KernelError(f"the kernel package has no module {name}")
        for d in deps[name]:
            visit(d)
        order.append(name)
    for w in wanted:
        visit(w)
    return order


def unpack(deb, outdir):
    """vmlinuz and the needed modules of `deb` into outdir; returns the
    module file names (relative to outdir/modules) in load order."""
    deps, builtin, kernel = {}, set(), None
    for m, f in _members(deb):
        if "/boot/vmlinuz-" in m.name:
            kernel = f.read()
        elif m.name.endswith("/modules.builtin"):
            builtin = {_modname(l.strip()) for l in f.read().decode().splitlines()}
        elif _modname(m.name):
            deps[_modname(m.name)] = _depends(f.read())
    if kernel is None:
        raise KernelError(f"{os.path.basename(deb)} holds no /boot/vmlinuz")
    with open(os.path.join(outdir, "vmlinuz"), "wb") as out:
        out.write(kernel)
    order = _order(MODULES, deps, builtin)
    os.mkdir(os.path.join(outdir, "modules"))
    for m, f in _members(deb):
        name = _modname(m.name)
        if name in order:
            with open(os.path.join(outdir, "modules", name + ".ko"), "wb") as out:
                out.write(f.read())
    return [n + ".ko" for n in order]


def fetch(outdir):
    """Resolve, download and unpack into outdir; returns (package, modules)."""
    name, version = resolve()
    with tempfile.TemporaryDirectory(prefix="sm-kvm-host-deb-") as tmp:
        deb = download(name, version, tmp)
        return f"{name}={version}", unpack(deb, outdir)
