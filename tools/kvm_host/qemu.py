"""The QEMU command line of the emulated KVM host.

TCG emulates SVM (AMD's virtualization) with nested paging, not Intel's
VMX, so the CPU is an AMD model whatever the machine's own vendor:
EPYC-Rome, which also keeps the host kernel off 5-level paging (`max`
turns it on). TCG lacks some of Rome's features (qemu.log lists them) and
leaves them out; nrip-save is one, turned off so KVM does not expect it.

One vCPU by default. With two, about half of the full VM test runs went
wrong inside the emulated machine (its kernel lost its timer interrupts,
stalled with both CPUs spinning with interrupts off, or overflowed a
stack), while three runs with one vCPU (153 tests) and 14 runs of the
API test passed; a nested guest with two vCPUs still runs on it."""
import os

CPU = "EPYC-Rome,svm=on,npt=on,nrip-save=off"


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


def argv(image_dir, ctl_dir, sockets, shares, console_log, monitor, memory=None, cpus=None):
    """shares: [(tag, host path)], writable; sockets: {port name: path}
    (out, err, beat);
    monitor: a socket path for QEMU's human monitor, to look inside a host
    that seems stuck (info registers, sendkey alt-sysrq-t)."""
    memory = memory or _memory_default()
    cpus = cpus or 1
    a = [
        "qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot",
        "-display", "none", "-machine", "q35", "-accel", "tcg",
        "-cpu", CPU, "-smp", str(cpus), "-m", f"{memory}M",
        "-kernel", os.path.join(image_dir, "vmlinuz"),
        "-initrd", os.path.join(image_dir, "initramfs.cpio"),
        # nokaslr: the RIPs QEMU's monitor shows match the symbols that
        # SM_KVM_HOST_DEBUG copies out (ctl/kallsyms).
        "-append", "console=ttyS0 panic=-1 nokaslr quiet loglevel="
                   + ("7" if os.environ.get("SM_KVM_HOST_DEBUG") else "4"),
        "-chardev", f"file,id=console,path={_opt(console_log)}", "-serial", "chardev:console",
        "-monitor", f"unix:{_opt(monitor)},server=on,wait=off",
        "-device", "virtio-rng-pci",
        # The machine's network as seen through QEMU's user-mode NAT: a
        # command that fetches (apt, debootstrap) works as it does outside.
        "-netdev", "user,id=net", "-device", "virtio-net-pci,netdev=net",
        "-device", "virtio-serial-pci,id=vser",
    ]
    for name, path in sockets.items():
        a += ["-chardev", f"socket,id={name},path={_opt(path)},server=off",
              "-device", f"virtserialport,bus=vser.0,chardev={name},name={name}"]
    if os.environ.get("SM_KVM_HOST_DEBUG"):
        # A root shell inside the running host, for whoever connects.
        shell = os.path.join(os.path.dirname(console_log), "shell.sock")
        a += ["-chardev", f"socket,id=shell,path={_opt(shell)},server=on,wait=off",
              "-device", "virtserialport,bus=vser.0,chardev=shell,name=shell"]
    fs = [("hostroot", "/", True), ("ctl", ctl_dir, False)]
    fs += [(tag, path, False) for tag, path in shares]
    for tag, path, ro in fs:
        a += ["-fsdev", f"local,id={tag},path={_opt(path)},security_model=none,multidevs=remap"
                        + (",readonly=on" if ro else ""),
              "-device", f"virtio-9p-pci,fsdev={tag},mount_tag={tag}"]
    return a
