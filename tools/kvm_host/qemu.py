"""The QEMU command line of the emulated KVM host.

TCG emulates SVM (AMD's virtualization) with nested paging, not Intel's
VMX, so the CPU is AMD whatever the machine's own vendor: `max` is every
feature TCG implements, and the vendor, svm and npt are named rather than
left to QEMU's defaults."""
import os

CPU = "max,vendor=AuthenticAMD,svm=on,npt=on,nrip-save=on"


def _opt(value):
    """A value inside a QEMU option list, where a comma is written twice."""
    return str(value).replace(",", ",,")


def _memory_default():
    """Half the machine's RAM, at most 8 GiB: room for the tmpfs overlay
    and a few 128 MiB guests without starving the machine itself."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4096
    return max(1024, min(8192, pages // 2 // (1 << 20)))


def argv(image_dir, ctl_dir, sockets, shares, console_log, memory=None, cpus=None):
    """shares: [(tag, host path)], writable; sockets: {'out': path, 'err': path}."""
    memory = memory or _memory_default()
    cpus = cpus or min(os.cpu_count() or 1, 8)
    a = [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot",
        "-display", "none", "-machine", "q35", "-accel", "tcg,thread=multi",
        "-cpu", CPU, "-smp", str(cpus), "-m", f"{memory}M",
        "-kernel", os.path.join(image_dir, "vmlinuz"),
        "-initrd", os.path.join(image_dir, "initramfs.cpio"),
        "-append", "console=ttyS0 panic=-1 loglevel=4 quiet",
        "-chardev", f"file,id=console,path={_opt(console_log)}", "-serial", "chardev:console",
        "-device", "virtio-rng-pci",
        # The machine's network as seen through QEMU's user-mode NAT: a
        # command that fetches (apt, debootstrap) works as it does outside.
        "-netdev", "user,id=net", "-device", "virtio-net-pci,netdev=net",
        "-device", "virtio-serial-pci,id=vser",
    ]
    for name, path in sockets.items():
        a += ["-chardev", f"socket,id={name},path={_opt(path)},server=off",
              "-device", f"virtserialport,bus=vser.0,chardev={name},name={name}"]
    fs = [("hostroot", "/", True), ("ctl", ctl_dir, False)]
    fs += [(tag, path, False) for tag, path in shares]
    for tag, path, ro in fs:
        a += ["-fsdev", f"local,id={tag},path={_opt(path)},security_model=none,multidevs=remap"
                        + (",readonly=on" if ro else ""),
              "-device", f"virtio-9p-pci,fsdev={tag},mount_tag={tag}"]
    return a
