"""Run one command in the emulated KVM host and give back its output and
exit status; never leave a QEMU behind.

QEMU runs in a session of its own (so a terminal's Ctrl-C reaches only us,
and we decide), dies with us (PR_SET_PDEATHSIG), and we die with our
caller; a timeout, a signal or the caller's death all end in SIGKILL to
QEMU's process group."""
import ctypes
import fcntl
import os
import re
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from . import qemu

PR_SET_PDEATHSIG = 1
EXIT_FAILED = 125   # kvm-host itself failed: no status of the command
EXIT_TIMEOUT = 124  # as timeout(1)


class HostError(Exception):
    """kvm-host cannot run the command; one line says why."""


def _prctl_pdeathsig(sig):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def die_with_parent():
    """Our caller's death (even SIGKILL) becomes our SIGTERM."""
    parent = os.getppid()
    _prctl_pdeathsig(signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _kvm_group():
    try:
        import grp
        return grp.getgrnam("kvm").gr_gid
    except (KeyError, ImportError):
        return None


def _user_script(argv, cwd, env):
    q = shlex.quote
    lines = ["# The command, in the caller's directory and environment."]
    lines += [f"export {k}={q(v)}" for k, v in sorted(env.items())
              if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)]
    lines += [f"cd {q(cwd)} || exit 125", "exec " + " ".join(q(a) for a in argv)]
    return "\n".join(lines) + "\n"


def _root_script(env, uid, gid):
    """Set-up as root, then the user script as the caller's uid and groups."""
    q = shlex.quote
    lines = ["# As root: what the caller's environment expects to exist."]
    kvm = _kvm_group()
    lines.append(f"chgrp {kvm} /dev/kvm; chmod 0660 /dev/kvm" if kvm is not None else
                 "chmod 0600 /dev/kvm")
    for var in ("XDG_RUNTIME_DIR", "TMPDIR"):
        if env.get(var):
            lines.append(f"mkdir -p -m 0700 {q(env[var])} && chown {uid}:{gid} {q(env[var])}")
    if uid == 0:
        lines.append("exec /bin/sh /run/kvm-host/user.sh")
    else:
        # Not root on the machine, not root here either; the device is
        # this throwaway host's, so the caller may use it.
        groups = ",".join(str(g) for g in os.getgroups()) or str(gid)
        lines.append("chmod 0666 /dev/kvm")
        lines.append(f"exec setpriv --reuid={uid} --regid={gid} --groups={groups} "
                     "--inh-caps=-all /bin/sh /run/kvm-host/user.sh")
    return "\n".join(lines) + "\n"


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _listen(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s


# The host's init writes to the port "beat" every few seconds. A host whose
# CPUs all stopped (seen: both spinning with interrupts off inside the
# emulated machine's kernel) says nothing else; this much silence ends it.
SILENCE_LIMIT = float(os.environ.get("SM_KVM_HOST_SILENCE_LIMIT") or 120)
BOOT_LIMIT = max(300, SILENCE_LIMIT)


class _Relay:
    """Copies the guest's serial ports "out" and "err" to our stdout and
    stderr, and notes when "beat" last spoke."""

    def __init__(self, listeners):
        self.sel = selectors.DefaultSelector()
        self.out = {"out": sys.stdout.buffer, "err": sys.stderr.buffer, "beat": None}
        self.started = self.last_beat = time.monotonic()
        self.beating = False
        for name, s in listeners.items():
            self.sel.register(s, selectors.EVENT_READ, ("listen", name))

    def add_process(self, pidfd):
        self.sel.register(pidfd, selectors.EVENT_READ, ("exit", None))

    def step(self, timeout):
        """Moves what is ready; True once the process has exited."""
        exited = False
        for key, _ in self.sel.select(timeout):
            kind, name = key.data
            if kind == "listen":
                conn, _ = key.fileobj.accept()
                self.sel.register(conn, selectors.EVENT_READ, ("data", name))
            elif kind == "data":
                self._copy(key.fileobj, name)
            else:
                exited = True
        return exited

    def _copy(self, conn, name):
        data = conn.recv(65536)
        if not data:
            self.sel.unregister(conn)
            conn.close()
            return
        if self.out[name] is None:
            self.last_beat, self.beating = time.monotonic(), True
            return
        self.out[name].write(data)
        self.out[name].flush()

    def silent(self):
        """Seconds of silence past what a live host allows, or 0."""
        limit = SILENCE_LIMIT if self.beating else BOOT_LIMIT
        quiet = time.monotonic() - self.last_beat
        return quiet if quiet > limit else 0

    def drain(self):
        """Whatever the ports still hold, up to their end."""
        for key in list(self.sel.get_map().values()):
            if key.data[0] != "data":
                continue
            conn = key.fileobj
            conn.setblocking(False)
            try:
                while conn.fileno() >= 0:
                    self._copy(conn, key.data[1])
            except BlockingIOError:
                pass


TMP_PREFIX = "sm-kvm-host-"


def _claim(tmp):
    """The working directory's lock, held while we live. It is locked
    before it gets its name, so a sweep never sees it free."""
    lock = open(os.path.join(tmp, ".lock-new"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.rename(os.path.join(tmp, ".lock-new"), os.path.join(tmp, "lock"))
    return lock


def sweep_stale():
    """Working directories of kvm-hosts killed with SIGKILL (their QEMU
    died with them): nobody holds their lock any more."""
    top = tempfile.gettempdir()
    for name in os.listdir(top):
        path = os.path.join(top, name)
        if not name.startswith(TMP_PREFIX) or os.stat(path).st_uid != os.getuid():
            continue
        try:
            with open(os.path.join(path, "lock")) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass  # in use, or not ours to judge


def _console_story(path):
    """What the host's console said last: from its last alarm (a panic, an
    oops, a lockup) when there is one near the end, else the last lines."""
    lines = _tail(path, 120).splitlines(keepends=True)
    alarms = [i for i, l in enumerate(lines)
              if re.search(r"Kernel panic|BUG:|Oops|watchdog:|INFO: rcu|rcu: INFO", l)]
    first = alarms[0] if alarms else max(0, len(lines) - 25)
    return "".join(lines[first:first + 60])


def _qemu_story(path):
    """QEMU's own messages, without the expected list of CPU features TCG
    leaves out."""
    return "".join(l for l in _tail(path, 200).splitlines(keepends=True)
                   if "TCG doesn't support requested feature" not in l)


def _tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class Host:
    def __init__(self, image_dir, memory=None, cpus=None, shares=(), timeout=None):
        self.image_dir = image_dir
        self.memory, self.cpus = memory, cpus
        self.shares = list(shares)
        self.timeout = timeout
        self.proc = None
        self.signal = None

    def _on_signal(self, sig, _frame):
        self.signal = sig
        self._kill()

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def run(self, argv, cwd):
        qemu_bin = shutil.which("qemu-system-x86_64")
        if not qemu_bin:
            raise HostError("qemu-system-x86_64 is missing: install Debian's "
                            "qemu-system-x86 (make deps does)")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, self._on_signal)
        sweep_stale()
        with tempfile.TemporaryDirectory(prefix=TMP_PREFIX) as tmp:
            with _claim(tmp):
                try:
                    return self._run_in(tmp, argv, cwd)
                finally:
                    self._kill()
                    if self.proc:
                        self.proc.wait()

    def _run_in(self, tmp, argv, cwd):
        ctl = os.path.join(tmp, "ctl")
        os.mkdir(ctl)
        env = dict(os.environ, SM_KVM_HOST="emulated")
        _write(os.path.join(ctl, "user.sh"), _user_script(argv, cwd, env))
        _write(os.path.join(ctl, "run.sh"), _root_script(env, os.getuid(), os.getgid()))
        shares = [(f"share{i}", p) for i, p in enumerate([cwd] + self.shares)]
        _write(os.path.join(ctl, "shares"), "".join(f"{t} {p}\n" for t, p in shares))
        socks = {n: os.path.join(tmp, n + ".sock") for n in ("out", "err", "beat")}
        listeners = {n: _listen(p) for n, p in socks.items()}
        console = os.path.join(tmp, "console.log")
        if os.environ.get("SM_KVM_HOST_DEBUG"):
            print(f"kvm-host: console log, QEMU log, monitor and shell sockets in {tmp}",
                  file=sys.stderr, flush=True)
        qlog = open(os.path.join(tmp, "qemu.log"), "wb")
        relay = _Relay(listeners)
        self.proc = subprocess.Popen(
            qemu.argv(self.image_dir, ctl, socks, shares, console,
                      os.path.join(tmp, "monitor.sock"), self.memory, self.cpus),
            stdin=subprocess.DEVNULL, stdout=qlog, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _prctl_pdeathsig(signal.SIGKILL))
        relay.add_process(os.pidfd_open(self.proc.pid))
        deadline = time.monotonic() + self.timeout if self.timeout else None
        while not relay.step(1.0):
            if deadline is not None and time.monotonic() >= deadline:
                self._kill()
                relay.drain()
                raise HostError(f"the command did not finish within {self.timeout:g} s; "
                                "the emulated KVM host was stopped", EXIT_TIMEOUT)
            if relay.silent():
                self._kill()
                relay.drain()
                raise HostError(f"the emulated KVM host stopped responding ({relay.silent():.0f} s "
                                "without a sign of life) and was stopped", EXIT_FAILED,
                                _console_story(console))
        self.proc.wait()
        relay.drain()
        return self._result(tmp, ctl, console)

    def _result(self, tmp, ctl, console):
        if self.signal:
            raise HostError(f"stopped by signal {self.signal}; the emulated KVM host "
                            "was stopped", 128 + self.signal)
        try:
            with open(os.path.join(ctl, "status")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            pass
        why = _tail(os.path.join(ctl, "error"), 1).strip()
        detail = _console_story(console) + _qemu_story(os.path.join(tmp, "qemu.log"))
        if why:
            raise HostError(f"the emulated KVM host failed: {why}", EXIT_FAILED, detail)
        raise HostError("the emulated KVM host stopped before the command finished "
                        f"(QEMU exit status {self.proc.returncode})", EXIT_FAILED, detail)
