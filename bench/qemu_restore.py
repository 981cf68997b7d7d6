#!/usr/bin/env python3
"""The QEMU half of bench/restore: QEMU's `microvm` machine booting the
project's guest kernel (build/guest/vmlinux, PVH entry) with a busybox
initramfs built here, saved once with QMP `migrate` to a file and restored
from it with `-incoming "exec:cat FILE"`.

The guest's /init mounts proc/sys/dev, brings up eth0 (virtio-net over
virtio-mmio, named on the kernel command line), starts `httpd -p 80 -h
/www` (the same busybox and the same index.html as the supermachine image)
and then reads commands from its console (ttyS0, QEMU's stdio), each a
simple command whose fork and execve of busybox match the supermachine
agent's exec of `echo`.

The guest is saved while running (a live migration into the file, as
sm_vm_snapshot is live), so each restore resumes by itself as soon as QEMU
has read the stream: no QMP `cont` round trip is counted against it.

Per restore (a new QEMU process each, own hostfwd port and QMP socket),
alternately timing a command and an HTTP request:
  start->running  process start -> first KVM_RUN of the vCPU (from QEMU's
                  own trace log, `-trace kvm_vcpu_ioctl`, µs wall clock)
  load->running   QEMU's loadvm_state_setup trace event -> first KVM_RUN:
                  what QEMU spends restoring, without its process start-up
  start->running (QMP)  process start -> QMP says the guest runs
  start->exec     process start -> first byte of the answer to a command
                  written to the console once QMP says the guest runs
  start->http     process start -> first byte of `GET /` through the
                  hostfwd port, connected once QMP says the guest runs

Usable alone: qemu_restore.py BUILD_DIR [COUNT]."""
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUSYBOX = "/bin/busybox"
INDEX = b"served-from-the-guest\n"
READY = b"BENCH-READY"
MTIME = 1700000000

INIT = b"""#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
httpd -p 80 -h /www
stty -echo
echo BENCH-READY
while read -r line; do $line; done
"""

# The console loop runs each line as a simple command (word splitting, no
# other expansion): a path with a slash is a fork and an execve of busybox
# even in a busybox built to prefer its applets, as the agent's exec of
# `echo` is. The answer, R42, is not in the command itself, so a tty echo
# of the input could not be mistaken for it.
PROBE, ANSWER = b"/usr/bin/printf R%s\\n 42\n", b"R42"


# microvm without ACPI has 8 virtio-mmio transports, 512 bytes apart from
# 0xfeb00000, on IRQs 5-12 (with ACPI, which our kernel lacks, they would be
# on a second IOAPIC). The network device is put on the first, and named on
# the command line here rather than by microvm's auto-kernel-cmdline, so the
# line is the same whatever QEMU version runs.
NET_DEVICE = "virtio_mmio.device=512@0xfeb00000:5"


def cmdline():
    """The kernel command line supermachine gives the same kernel on this
    host (src/lib/boot.c, src/vmm/host_quirks.c): the kvm_pvm words only
    where that module is loaded."""
    line = "console=ttyS0 reboot=k panic=-1 quiet " + NET_DEVICE
    if os.path.exists("/sys/module/kvm_pvm"):
        line += (" noxsave clearcpuid=popcnt,smap,erms,fsrm,cx16 rodata=off sm_pvm_quirks"
                 " noreplace-smp")
    return line


# --- initramfs (newc cpio, written here so device nodes need no root) ------

def cpio_entry(ino, name, mode, data=b"", rdev=(0, 0)):
    name_b = name.encode() + b"\0"
    hdr = b"070701" + b"".join(b"%08X" % v for v in (
        ino, mode, 0, 0, 1, MTIME, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0))
    out = hdr + name_b
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def applets():
    out = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                         text=True).stdout.split()
    return sorted(set(a for a in out if a and a != "bin/busybox"))


def make_initramfs(path):
    entries = []
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "proc", "sys", "dev", "www",
              "tmp"):
        entries.append((d, 0o040755, b""))
    entries.append(("dev/console", 0o020600, None))
    with open(BUSYBOX, "rb") as f:
        entries.append(("bin/busybox", 0o100755, f.read()))
    for a in applets():
        entries.append((a, 0o120777, b"/bin/busybox"))
    entries.append(("init", 0o100755, INIT))
    entries.append(("www/index.html", 0o100644, INDEX))
    with open(path, "wb") as f:
        for ino, (name, mode, data) in enumerate(entries, 1):
            if data is None:
                f.write(cpio_entry(ino, name, mode, rdev=(5, 1)))
            else:
                f.write(cpio_entry(ino, name, mode, data))
        f.write(cpio_entry(len(entries) + 1, "TRAILER!!!", 0))


# --- QEMU processes ---------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def qemu_cmd(kernel, initrd, port, log, extra):
    return ["qemu-system-x86_64",
            "-M", "microvm,x-option-roms=off,pit=on,pic=on,rtc=off,isa-serial=on,acpi=off,"
                  "auto-kernel-cmdline=off",
            "-accel", "kvm", "-cpu", "host,-arch-capabilities", "-m", "128", "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio",
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
            "-device", "virtio-net-device,netdev=n0,bus=virtio-mmio-bus.0",
            "-trace", "kvm_vcpu_ioctl", "-trace", "loadvm_state_setup",
            "-msg", "timestamp=on", "-D", log,
            "-kernel", kernel, "-initrd", initrd, "-append", cmdline()] + extra


class Qemu:
    """One QEMU process with its console on a pipe; t0 is time.time() just
    before the spawn (the trace log's clock is the wall clock)."""

    def __init__(self, cmd):
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self.seen = b""

    def write(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def wait_for(self, word, timeout):
        """Returns time.time() of the read that brought `word`, or None."""
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while word not in self.seen:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.seen += chunk
            if word in self.seen:
                return time.time()
        return time.time()

    def kill(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
        _, err = self.p.communicate()
        return err.decode(errors="replace")


def http_first_byte(port, timeout):
    """time.time() of the first byte of `GET /` on 127.0.0.1:port. slirp's
    hostfwd accepts before the guest listens, so a connection the guest
    refuses comes back as an immediate EOF: that is retried."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                if s.recv(1):
                    return time.time()
        except OSError:
            pass
        time.sleep(0.001)
    return None


def qmp(path, *commands, timeout=30):
    """Runs QMP commands in order; returns the reply to each."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    f = s.makefile("rwb")
    json.loads(f.readline())
    replies = []
    for cmd in ({"execute": "qmp_capabilities"},) + commands:
        f.write(json.dumps(cmd).encode() + b"\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                replies.append(msg)
                break
    s.close()
    return replies[1:]


TRACE = re.compile(rb"^\d+@(\d+\.\d+):(\w+)(.*)$")


def trace_times(log):
    """(first loadvm event, first KVM_RUN) from QEMU's trace log, as
    time.time() values; None where absent."""
    load = run = None
    with open(log, "rb") as f:
        for line in f:
            m = TRACE.match(line.strip())
            if not m:
                continue
            ts, ev = float(m.group(1)), m.group(2)
            if ev == b"loadvm_state_setup" and load is None:
                load = ts
            elif ev == b"kvm_vcpu_ioctl" and b"type 0xae80," in m.group(3):
                run = ts
                break
    return load, run


# --- boot and save, then restore -------------------------------------------

class Fail(Exception):
    pass


def save(work, kernel, log=print):
    """Boots the guest, waits until httpd answers through hostfwd, saves it
    (live) to work/qemu.state. Returns (initrd, state)."""
    initrd = os.path.join(work, "qemu-initramfs.cpio")
    make_initramfs(initrd)
    state = os.path.join(work, "qemu.state")
    sock = os.path.join(work, "qmp.sock")
    port = free_port()
    q = Qemu(qemu_cmd(kernel, initrd, port, os.path.join(work, "qemu-boot.log"),
                      ["-qmp", f"unix:{sock},server=on,wait=off"]))
    try:
        if q.wait_for(READY, 300) is None:
            raise Fail(f"QEMU's guest never said {READY.decode()}:\n"
                       f"{q.seen.decode(errors='replace')[-2000:]}")
        if http_first_byte(port, 60) is None:
            raise Fail("QEMU's guest httpd never answered through hostfwd")
        booted = time.time() - q.t0
        # One console round trip first, so the shell loop has run once and
        # sits in read() when the guest is saved.
        q.write(PROBE)
        if q.wait_for(ANSWER, 60) is None:
            raise Fail("QEMU's guest console loop does not answer")
        log(f"  QEMU guest booted, httpd answering, in {booted:.1f} s; saving")
        qmp(sock, {"execute": "migrate", "arguments": {"uri": f"exec:cat > {state}"}})
        end = time.monotonic() + 120
        while True:
            st = qmp(sock, {"execute": "query-migrate"})[0]["return"].get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled") or time.monotonic() > end:
                raise Fail(f"QEMU migration to a file ended: {st}")
            time.sleep(0.05)
    finally:
        q.kill()
    return initrd, state


def wait_running(path, timeout):
    """time.time() at which QEMU reported its guest running over QMP (the
    RESUME event, or query-status if it came before we listened), or None.
    The socket appears once QEMU has set its machine up; it is polled."""
    end = time.monotonic() + timeout
    s = socket.socket(socket.AF_UNIX)
    while True:
        try:
            s.connect(path)
            break
        except OSError:
            if time.monotonic() > end:
                return None
            time.sleep(0.0005)
    s.settimeout(max(end - time.monotonic(), 0.1))
    f = s.makefile("rwb")
    try:
        f.readline()
        f.write(b'{"execute":"qmp_capabilities"}\n{"execute":"query-status"}\n')
        f.flush()
        replies = 0
        while True:
            line = f.readline()
            if not line:
                return None
            msg = json.loads(line)
            if msg.get("event") == "RESUME":
                return time.time()
            if "return" in msg:
                replies += 1
                if replies == 2 and msg["return"].get("running"):
                    return time.time()
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def restore_once(work, kernel, initrd, state, i, kind):
    """One restore, measuring `kind` ("exec" or "http") and the times to
    running; returns a dict of seconds, or raises Fail. The command and
    the HTTP connection wait until QEMU says the guest runs, as a client of
    supermachine waits for sm_vm_start: bytes that reach the UART while the
    stream loads are lost when its saved state is loaded over it, and a SYN
    that slirp forwards then is dropped and retried seconds later."""
    port = free_port()
    log = os.path.join(work, f"qemu-restore-{i}.log")
    sock = os.path.join(work, f"qmp-{i}.sock")
    q = Qemu(qemu_cmd(kernel, initrd, port, log, ["-incoming", f"exec:cat {state}",
                                                   "-qmp", f"unix:{sock},server=on,wait=off"]))
    t_http = t_exec = t_qmp = None
    try:
        t_qmp = wait_running(sock, 60)
        if t_qmp is not None and kind == "http":
            t_http = http_first_byte(port, 60)
        elif t_qmp is not None:
            q.write(PROBE)
            t_exec = q.wait_for(ANSWER, 60)
    finally:
        err = q.kill()
        if os.path.exists(sock):
            os.unlink(sock)
    got = t_http if kind == "http" else t_exec
    if got is None or t_qmp is None:
        raise Fail(f"QEMU restore {i}: no {kind} answer"
                   f"{'' if t_qmp else ' (never reported running)'}; stderr: "
                   f"{err.strip()[-500:]}; console: {q.seen.decode(errors='replace')[-500:]}")
    load, run = trace_times(log)
    os.unlink(log)
    if run is None:
        raise Fail(f"QEMU restore {i}: no KVM_RUN in its trace log")
    r = {"start->running": run - q.t0, "start->running (QMP)": t_qmp - q.t0,
         f"start->{kind}": got - q.t0}
    if load is not None:
        r["load->running"] = run - load
    return r


def restore_many(work, kernel, initrd, state, count, first=0):
    """count restores, alternately measuring exec and http."""
    return [restore_once(work, kernel, initrd, state, first + i,
                         "exec" if (first + i) % 2 == 0 else "http") for i in range(count)]


def pss_rss(pid):
    """(RSS, PSS) in KiB of one process, from smaps_rollup."""
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                vals[parts[0]] = int(parts[1])
    return vals["Rss:"], vals["Pss:"]


def memory(work, kernel, initrd, state, n):
    """Restores n guests at once, waits until each httpd answers, and
    returns [(rss_kib, pss_kib)] of each QEMU process."""
    qs = []
    try:
        for i in range(n):
            port = free_port()
            q = Qemu(qemu_cmd(kernel, initrd, port, os.path.join(work, f"qemu-mem-{i}.log"),
                              ["-incoming", f"exec:cat {state}"]))
            q.port = port
            qs.append(q)
        for q in qs:
            if http_first_byte(q.port, 120) is None:
                raise Fail("a QEMU restored for the memory figures never answered")
        return [pss_rss(q.p.pid) for q in qs]
    finally:
        for q in qs:
            q.kill()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    kernel = os.path.realpath(os.path.join(build, "guest", "vmlinux"))
    with tempfile.TemporaryDirectory(prefix="sm-bench-qemu-") as work:
        initrd, state = save(work, kernel)
        print(f"  state file: {os.path.getsize(state) / 2**20:.1f} MiB")
        rs = restore_many(work, kernel, initrd, state, count)
        for k in sorted(set(k for r in rs for k in r)):
            v = sorted(r[k] for r in rs if k in r)
            print(f"  {k:16s} p50 {v[len(v) // 2] * 1e3:8.1f} ms  max {v[-1] * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
