#!/usr/bin/env python3
"""tools/kvm-host, the emulated KVM host, as its callers use it.

kvm_host_test.py CASE   (KVM_HOST names the tool)

  output_and_status  stdout, stderr and the exit status come back; the
                     command runs in the caller's directory, which is
                     writable, sees the machine's files (/tmp's too), and
                     a write elsewhere stays in the host; /dev/kvm works
                     there (a KVM VM can be created)
  timeout            a command that hangs is ended at --timeout: status
                     124, one line that says so, no QEMU left
  caller_killed      kill -9 of kvm-host mid-run leaves no QEMU behind, and
                     the next kvm-host removes the working directory it left
  interrupted        SIGINT (Ctrl-C) ends it: status 130, no QEMU left
  host_hangs         a host that falls silent (its QEMU paused) is ended
                     once the silence limit passes: 125, one line
  host_crashes       a host whose kernel panics: 125, the panic's lines
  missing_package    a kernel package apt does not know: status 125 and
                     one line naming it, nothing cached
  missing_qemu       no qemu-system-x86_64 on PATH: status 125, one line

Exit 0 pass, 1 fail."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOOL = os.environ["KVM_HOST"]
TOOLS = os.path.dirname(os.path.realpath(TOOL))


def fail(msg, p=None):
    print("FAIL:", msg)
    if p is not None:
        print("--- status", p.returncode, "\n--- stdout\n" + p.stdout + "--- stderr\n" + p.stderr)
    sys.exit(1)


def host(*args, env=None, cwd=None, timeout=600):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def qemus(marker):
    """PIDs of QEMUs whose command line holds `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        if cmd[0].endswith(b"qemu-system-x86_64") and any(marker.encode() in a for a in cmd):
            found.append(int(pid))
    return found


def wait_gone(marker, seconds):
    end = time.monotonic() + seconds
    while qemus(marker) and time.monotonic() < end:
        time.sleep(0.2)
    return not qemus(marker)


def one_line(p, words):
    lines = p.stderr.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith("kvm-host: ") or words not in lines[0]:
        fail(f"expected one line on stderr saying '{words}'", p)


def output_and_status(work):
    outside = f"/var/tmp/sm-kvm-host-test-{os.getpid()}"
    with tempfile.NamedTemporaryFile("w", prefix="sm-kvm-host-seen-") as seen:
        seen.write("seen\n")
        seen.flush()
        script = ("echo to-stdout; echo to-stderr >&2; pwd; echo made >written-inside; "
                  f"echo x >{outside} && cat {outside}; cat {seen.name}; "
                  f"{TOOLS}/kvm-probe; exit 7")
        p = host("--timeout", "300", "--", "sh", "-c", script, cwd=work)
    if p.returncode != 7:
        fail("the command's exit status 7 did not come back", p)
    want = ["to-stdout", os.path.realpath(work), "x", "seen", "kvm_amd"]
    if p.stdout.split() != want:
        fail(f"stdout is not {want}", p)
    if p.stderr.strip() != "to-stderr":
        fail("stderr is not the command's", p)
    with open(os.path.join(work, "written-inside")) as f:
        if f.read() != "made\n":
            fail("a file written in the caller's directory did not reach it")
    if os.path.exists(outside):
        os.unlink(outside)
        fail(f"a write to {outside}, outside the caller's directory, reached the machine")


def timeout(work):
    t0 = time.monotonic()
    p = host("--timeout", "20", "--", "sleep", "1000", cwd=work)
    took = time.monotonic() - t0
    if p.returncode != 124:
        fail("a command past its timeout did not end with status 124", p)
    one_line(p, "did not finish within 20 s")
    if took > 120:
        fail(f"kvm-host returned {took:.0f} s after a 20 s timeout")
    if not wait_gone(work, 10):
        fail("a QEMU is still running after the timeout")


def _started(work, proc):
    """Waits until the command runs inside (it touches a file)."""
    end = time.monotonic() + 300
    while not os.path.exists(os.path.join(work, "running")):
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            fail("the command never started: " + proc.communicate()[1].decode())
        time.sleep(0.2)
    if not qemus(work):
        fail("no QEMU found while the command runs")


def _start_sleeper(work):
    return subprocess.Popen([sys.executable, TOOL, "--", "sh", "-c", "touch running; sleep 1000"],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _working_dirs(work):
    """kvm-host's working directories that hold a QEMU started in `work`."""
    top = tempfile.gettempdir()
    found = []
    for name in os.listdir(top):
        try:
            with open(os.path.join(top, name, "ctl", "shares")) as f:
                if os.path.realpath(work) in f.read():
                    found.append(name)
        except OSError:
            pass
    return found


def caller_killed(work):
    proc = _start_sleeper(work)
    _started(work, proc)
    left = _working_dirs(work)
    proc.kill()
    proc.wait()
    if not wait_gone(work, 10):
        for pid in qemus(work):
            os.kill(pid, signal.SIGKILL)
        fail("QEMU outlived a kvm-host killed with SIGKILL")
    if len(left) != 1:
        fail(f"expected one working directory of the killed kvm-host, found {left}")
    p = host("--prepare", cwd=work)
    if p.returncode != 0:
        fail("kvm-host --prepare failed", p)
    if _working_dirs(work):
        fail(f"the next kvm-host did not remove the dead one's {left}")


def interrupted(work):
    proc = _start_sleeper(work)
    _started(work, proc)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("kvm-host did not end within 30 s of SIGINT")
    if proc.returncode != 130:
        fail(f"status {proc.returncode} after SIGINT, wanted 130: {err.decode()}")
    if not wait_gone(work, 10):
        fail("a QEMU is still running after SIGINT")


def _monitor(work, command):
    """Sends one command to the QEMU monitor of the kvm-host in `work`."""
    import socket
    dirs = _working_dirs(work)
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(tempfile.gettempdir(), dirs[0], "monitor.sock"))
    s.sendall(command.encode() + b"\n")
    time.sleep(1)
    s.close()


def host_hangs(work):
    env = dict(os.environ, SM_KVM_HOST_SILENCE_LIMIT="15")
    proc = subprocess.Popen([sys.executable, TOOL, "--", "sh", "-c", "touch running; sleep 1000"],
                            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _started(work, proc)
    _monitor(work, "stop")
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("kvm-host did not end a silent host")
    p = subprocess.CompletedProcess(proc.args, proc.returncode, "", err.decode())
    if p.returncode != 125 or "stopped responding" not in p.stderr.splitlines()[-1]:
        fail("a silent host did not end with 125 and 'stopped responding'", p)
    if not wait_gone(work, 10):
        fail("a QEMU is still running after a silent host was ended")


def host_crashes(work):
    p = host("--", "sh", "-c", "echo c >/proc/sysrq-trigger; sleep 1000", cwd=work)
    if p.returncode != 125:
        fail("a host whose kernel panicked did not give status 125", p)
    if "stopped before the command finished" not in p.stderr.splitlines()[-1]:
        fail("the last line does not say the host stopped", p)
    if "Kernel panic" not in p.stderr:
        fail("the host's last console lines (the panic) are not shown", p)


def missing_package(work):
    env = dict(os.environ, XDG_CACHE_HOME=work,
               SM_KVM_HOST_KERNEL_PACKAGE="linux-image-sm-no-such-kernel")
    p = host("--", "true", env=env, cwd=work)
    if p.returncode != 125:
        fail("a missing kernel package did not give status 125", p)
    one_line(p, "'linux-image-sm-no-such-kernel'")
    cache = os.path.join(work, "supermachine", "kvm-host")
    if os.path.exists(cache) and os.listdir(cache):
        fail("a failed preparation left something in the cache")


def missing_qemu(work):
    # PATH keeps apt-cache (to resolve the cached kernel) and nothing else.
    bin_dir = os.path.join(work, "bin")
    os.mkdir(bin_dir)
    os.symlink(shutil.which("apt-cache"), os.path.join(bin_dir, "apt-cache"))
    p = host("--", "true", env=dict(os.environ, PATH=bin_dir), cwd=work)
    if p.returncode != 125:
        fail("a missing QEMU did not give status 125", p)
    one_line(p, "qemu-system-x86_64 is missing")


CASES = {f.__name__: f for f in (output_and_status, timeout, caller_killed, interrupted,
                                 host_hangs, host_crashes, missing_package, missing_qemu)}

if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="sm-kvm-host-test-") as work:
        CASES[sys.argv[1]](work)
    print("ok:", sys.argv[1])
