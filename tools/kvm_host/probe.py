"""Is /dev/kvm usable here, and what kind of KVM is it?

The test of usability is the one the VMM depends on: open the device,
check the API version and create (then drop) a VM. A device node that
exists but cannot make a VM (no permission, another hypervisor holds the
hardware, a module loaded without the CPU feature) counts as unusable,
with the reason."""
import errno
import fcntl
import os

KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
KVM_API_VERSION = 12


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def kind():
    """'kvm_pvm', 'kvm_intel', 'kvm_amd' or 'kvm' (the module behind
    /dev/kvm, as far as /sys/module tells)."""
    for mod in ("kvm_pvm", "kvm_intel", "kvm_amd"):
        if os.path.isdir("/sys/module/" + mod):
            return mod
    return "kvm"


def _missing_reason(device):
    flags = _cpu_flags()
    if not flags & {"vmx", "svm"}:
        return (f"{device} does not exist: this CPU offers no hardware "
                "virtualization (no vmx or svm in /proc/cpuinfo)")
    return (f"{device} does not exist: load the kvm_intel or kvm_amd module "
            "(modprobe), or enable virtualization in the firmware")


def check(device="/dev/kvm"):
    """(True, kind) when a VM can be created, else (False, reason)."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False, _missing_reason(device)
    except PermissionError:
        return False, (f"no permission to open {device}: add this user to its "
                       "group (usually kvm) and log in again")
    except OSError as e:
        return False, f"cannot open {device}: {e.strerror}"
    try:
        try:
            version = fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
        except OSError as e:
            return False, f"{device} is not a KVM device ({e.strerror})"
        if version != KVM_API_VERSION:
            return False, f"{device} speaks KVM API {version}, not {KVM_API_VERSION}"
        try:
            vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        except OSError as e:
            why = {errno.EBUSY: "another hypervisor holds the CPU's virtualization",
                   errno.ENOMEM: "out of memory"}.get(e.errno, e.strerror)
            return False, f"{device} cannot create a VM: {why}"
        os.close(vm)
        return True, kind()
    finally:
        os.close(fd)
