"""Drive real podman and real containerd (ctr, the io.containerd.runc.v2
shim) against a runc-compatible OCI runtime binary, each with private
state: podman's storage and containerd's root, state and socket live in a
tmpfs the harness mounts (overlay storage cannot sit on the emulated KVM
host's overlay-over-9p root), and are torn down at exit.

The runtime under test is a path or a name on PATH (runc, crun); the
tests name it as their second argument or in OCI_RUNTIME. OCI_TRACE=FILE
wraps it in a script that appends each call's arguments to FILE (how the
calls podman and the shim make were captured).

Everything here needs root; without it, or without podman/containerd, a
test is skipped (exit 77) with the reason."""
import atexit
import contextlib
import ctypes
import gzip
import hashlib
import io
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "run"))
from mkrunimage import add as _add, applets as _applets  # noqa: E402  (one busybox layer maker)

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
IMAGE = "localhost/ocitest/busybox:latest"
MTIME = 1700000000
CNI_PATH = "/usr/lib/cni"
SKIP = 77


# ---------------------------------------------------------------- reporting

def skip(why):
    print("skipped:", why, flush=True)
    sys.exit(SKIP)


def describe(p):
    """A finished command as a failure message shows it."""
    return (f"  command: {' '.join(map(str, p.args))}\n  exit status: {p.returncode}\n"
            f"  stdout: {p.stdout!r}\n  stderr: {p.stderr!r}")


def fail(what, p=None):
    print("FAIL:", what, file=sys.stderr)
    if p is not None:
        print(describe(p), file=sys.stderr)
    sys.stderr.flush()
    sys.exit(1)


def check(cond, what, p=None):
    if not cond:
        fail(what, p)


def run(args, timeout=180, input=None, env=None):
    """args run to their end; stdout and stderr captured as text. A
    timeout is a failure that names the command."""
    try:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired as e:
        fail(f"timed out after {timeout}s: {' '.join(map(str, args))}\n"
             f"  stdout so far: {e.stdout!r}\n  stderr so far: {e.stderr!r}")


def attempt(args, timeout=60, env=None):
    """A cleanup's command: its failure or timeout is not the test's."""
    try:
        return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        return None


def ok(args, what=None, **kw):
    """args must exit 0; returns the finished process."""
    p = run(args, **kw)
    check(p.returncode == 0, what or "the command failed", p)
    return p


def wait_for(cond, what, timeout=60, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    fail(f"{what}: not within {timeout}s")


# ---------------------------------------------------------------- the runtime

def runtime_from_argv(index=2):
    """The runtime under test: argv[index], else $OCI_RUNTIME, else runc.
    A named supermachine-oci that is not built yet skips the test."""
    name = sys.argv[index] if len(sys.argv) > index else os.environ.get("OCI_RUNTIME", "runc")
    if os.path.basename(name) == "supermachine-oci" and not os.path.exists(name):
        skip(f"supermachine-oci not built ({name})")
    path = name if "/" in name else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        skip(f"the OCI runtime {name} is not installed (make deps installs runc and crun)")
    return os.path.abspath(path)


def needs(*programs):
    if os.geteuid() != 0:
        skip("needs root (podman, containerd and an OCI runtime run as root here)")
    for prog in programs:
        if not shutil.which(prog) and not os.path.exists(prog):
            skip(f"{prog} is not installed (make deps installs it)")


def traced(runtime, where):
    """With OCI_TRACE=FILE, a wrapper of the same base name (podman and the
    shim look at it) that logs every call, then becomes the runtime."""
    log = os.environ.get("OCI_TRACE")
    if not log:
        return runtime
    d = os.path.join(where, "trace")
    os.makedirs(d, exist_ok=True)
    wrapper = os.path.join(d, os.path.basename(runtime))
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                f"printf '%s ppid=%s [%s]\\n' \"$(date +%s.%N)\" \"$PPID\" "
                f"\"$(cat /proc/$PPID/comm)\" >>'{log}'\n"
                f"for a; do printf '  %s\\n' \"$a\" >>'{log}'; done\n"
                f"exec '{runtime}' \"$@\"\n")
    os.chmod(wrapper, 0o755)
    return wrapper


def subreaper():
    """Orphans (a runtime's daemonized container process, a shim) become
    this process's children, so that leftovers can be seen and reaped."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        fail("prctl(PR_SET_CHILD_SUBREAPER) failed")


def children():
    """pid -> command line of this process's live children."""
    me, out = os.getpid(), {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            out[int(d)] = cmd
    return out


def kill_children():
    """SIGKILL what is left of ours (with subreaper on: orphans too) until
    nothing is; the last cleanup, after the polite ones."""
    for _ in range(20):
        left = children()
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
        reap()


def processes_naming(word):
    """pids whose command line holds word."""
    out = []
    for d in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError), open(f"/proc/{d}/cmdline", "rb") as f:
            if word.encode() in f.read():
                out.append(int(d))
    return out


def reap():
    """Collect exited children (orphans included), status by pid."""
    got = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return got
        if pid == 0:
            return got
        got[pid] = os.waitstatus_to_exitcode(status)


# ---------------------------------------------------------------- workspace

class Workspace:
    """A private tmpfs under /run, unmounted (with all below it) at exit;
    cleanups registered with on_exit run first, last first."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"ocitest-{name}-", dir="/run")
        ok(["mount", "-t", "tmpfs", "-o", "mode=0755", "ocitest", self.dir], "mount a tmpfs")
        self.stack = contextlib.ExitStack()
        self.stack.callback(kill_children)   # runs last
        atexit.register(self.close)

    def path(self, *parts):
        p = os.path.join(self.dir, *parts)
        return p

    def mkdir(self, *parts):
        p = self.path(*parts)
        os.makedirs(p, exist_ok=True)
        return p

    def on_exit(self, fn, *args):
        self.stack.callback(fn, *args)

    def close(self):
        try:
            self.stack.close()
        finally:
            subprocess.run(["umount", "-R", "-l", self.dir], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- the image

def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar():
    """The one layer: static busybox, every applet linked, /etc basics."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp",
                  "var", "www", "proc", "sys", "dev", "run"]:
            _add(t, d, "dir", mode=0o1777 if d == "tmp" else None)
        with open(BUSYBOX, "rb") as f:
            _add(t, "bin/busybox", "file", f.read(), 0o755)
        for a in _applets():
            _add(t, a, "sym", "/bin/busybox")
        _add(t, "etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n")
        _add(t, "etc/group", "file", b"root:x:0:\n")
        _add(t, "www/index.html", "file", b"served-from-the-container\n")
    return buf.getvalue()


def image_archive(out, layer):
    """One tar that is both an OCI image layout (index.json, which
    containerd's import reads) and a docker archive (manifest.json with
    RepoTags, which podman load reads), both naming IMAGE."""
    blobs = {}

    def put(data):
        d = _sha(data)
        blobs[d] = data
        return d

    gz = gzip.compress(layer, mtime=0)
    ldigest = put(gz)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [_sha(layer)]}}, sort_keys=True).encode()
    cdigest = put(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cdigest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": ldigest, "size": len(gz)}]}, sort_keys=True).encode()
    mdigest = put(manifest)
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest,
        "size": len(manifest), "annotations": {"io.containerd.image.name": IMAGE,
                                               "org.opencontainers.image.ref.name": "latest"}}]}
    docker = [{"Config": "blobs/sha256/" + cdigest[7:], "RepoTags": [IMAGE],
               "Layers": ["blobs/sha256/" + ldigest[7:]]}]
    with tarfile.open(out, "w") as t:
        _add(t, "blobs", "dir")
        _add(t, "blobs/sha256", "dir")
        for d, data in blobs.items():
            _add(t, "blobs/sha256/" + d[7:], "file", data)
        _add(t, "oci-layout", "file", b'{"imageLayoutVersion":"1.0.0"}')
        _add(t, "index.json", "file", json.dumps(index).encode())
        _add(t, "manifest.json", "file", json.dumps(docker).encode())
    return out


def make_image(ws):
    return image_archive(ws.path("image.tar"), layer_tar())


def make_rootfs(dest):
    """The image's filesystem unpacked at dest (a bundle's rootfs)."""
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(layer_tar())) as t:
        if hasattr(tarfile, "fully_trusted_filter"):   # our own tar: absolute links are fine
            t.extractall(dest, filter="fully_trusted")
        else:
            t.extractall(dest)
    return dest


# ---------------------------------------------------------------- bundles

def spec(args, cwd="/", terminal=False, netns=None, annotations=None, cgroup=None):
    """config.json as `runc spec` writes it (a root container with the
    default namespaces, mounts and masked paths), with args, a network
    namespace (None: a new one; a path: join it) and annotations."""
    ns = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    ns.append({"type": "network", "path": netns} if netns else {"type": "network"})
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN",
            "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_SETGID", "CAP_SETUID",
            "CAP_SETPCAP", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD"]
    s = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": terminal, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"], "cwd": cwd,
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True},
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "ocitest",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": ns,
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"]},
    }
    if annotations:
        s["annotations"] = annotations
    if cgroup:
        s["linux"]["cgroupsPath"] = cgroup
    return s


def bundle(where, config, rootfs=True):
    """A bundle directory: config.json (unless config is None) and the
    image's rootfs (unless rootfs is False)."""
    os.makedirs(where, exist_ok=True)
    if rootfs:
        make_rootfs(os.path.join(where, "rootfs"))
    if config is not None:
        with open(os.path.join(where, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
    return where


class Runtime:
    """The runtime's CLI, as a shim calls it: --root a private directory."""

    def __init__(self, ws, binary):
        self.binary = traced(binary, ws.dir)
        self.root = ws.mkdir("runtime-root")
        self.ws = ws
        ws.on_exit(self.cleanup)
        self.ids = []

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def __call__(self, *args, timeout=180):
        return run(self.argv(*args), timeout=timeout)

    def create(self, cid, bundle_dir, timeout=180):
        """create with the container's stdio in files (a pipe would be
        held open by the container); returns (process, stdout, stderr
        paths of the container)."""
        self.ids.append(cid)
        out, err = self.ws.path(f"{cid}.out"), self.ws.path(f"{cid}.err")
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run(self.argv("create", "--bundle", bundle_dir, cid),
                               stdin=subprocess.DEVNULL, stdout=o, stderr=e, timeout=timeout)
        # what the runtime itself printed is in the same files, before the
        # container's output: the caller reads both
        with open(err) as e:
            p.stderr = e.read()
        with open(out) as o:
            p.stdout = o.read()
        return p, out, err

    def state(self, cid):
        p = self("state", cid)
        check(p.returncode == 0, f"state {cid}", p)
        try:
            return json.loads(p.stdout)
        except ValueError:
            fail(f"state {cid}: not JSON", p)

    def wait_status(self, cid, status, timeout=60):
        return wait_for(lambda: self.state(cid)["status"] == status,
                        f"container {cid} to be {status}", timeout)

    def leftovers(self):
        return sorted(os.listdir(self.root))

    def cleanup(self):
        for cid in self.ids:
            attempt(self.argv("delete", "--force", cid))


# ---------------------------------------------------------------- podman

def can_raise_rlimits():
    """Whether this process may raise a hard limit (CAP_SYS_RESOURCE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard + 1))
    except (ValueError, OSError):
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return True


class Podman:
    """podman with private storage (overlay on the workspace tmpfs),
    runroot, libpod tmpdir, file locks and events, cgroupfs, no network
    by default (the emulated host has no iptables modules)."""

    def __init__(self, ws, runtime):
        self.runtime = traced(runtime, ws.dir)
        d = ws.mkdir("podman")
        self.storage, self.runroot = ws.mkdir("podman", "storage"), ws.mkdir("podman", "run")
        self.tmpdir = ws.mkdir("podman", "tmp")
        conf = os.path.join(d, "containers.conf")
        # podman raises RLIMIT_NOFILE and RLIMIT_NPROC for a root container,
        # which fails where this process's hard limits are lower (a sandbox
        # without CAP_SYS_RESOURCE): there it asks for the limits it has
        ulimits = ""
        if not can_raise_rlimits():
            n = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            u = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            ulimits = f'default_ulimits = ["nofile={n}:{n}", "nproc={u}:{u}"]\n'
        with open(conf, "w") as f:
            f.write(f'[containers]\nlog_driver = "k8s-file"\nnetns = "none"\n{ulimits}'
                    f'[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                    f'events_logfile_path = "{d}/events.log"\nlock_type = "file"\n'
                    f'tmp_dir = "{self.tmpdir}"\n'
                    f'[network]\nnetwork_config_dir = "{ws.mkdir("podman", "cni")}"\n')
        storage = os.path.join(d, "storage.conf")
        with open(storage, "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{self.storage}"\n'
                    f'runroot = "{self.runroot}"\n')
        registries = os.path.join(d, "registries.conf")
        with open(registries, "w") as f:
            f.write('unqualified-search-registries = []\nshort-name-mode = "disabled"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage,
                        CONTAINERS_REGISTRIES_CONF=registries)
        ws.on_exit(self.cleanup)

    def argv(self, *args):
        return ["podman", "--runtime", self.runtime, *args]

    def __call__(self, *args, timeout=300, input=None):
        return run(self.argv(*args), timeout=timeout, env=self.env, input=input)

    def load(self, archive):
        p = self("load", "-i", archive)
        check(p.returncode == 0 and IMAGE in p.stdout + p.stderr,
              f"podman load names {IMAGE}", p)

    def cleanup(self):
        attempt(self.argv("rm", "--all", "--force", "--time", "0"), timeout=120, env=self.env)


# ---------------------------------------------------------------- containerd

class Containerd:
    """A containerd of our own: config, socket, root and state in the
    workspace, the CRI plugin off, the overlayfs snapshotter."""

    NAMESPACE = "ocitest"
    DISABLED = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
                "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                "io.containerd.snapshotter.v1.devmapper",
                "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

    def __init__(self, ws, runtime):
        self.runtime = traced(runtime, ws.dir)
        d = ws.mkdir("containerd")
        self.dir, self.sock = d, os.path.join(d, "containerd.sock")
        self.runtime_root = ws.mkdir("containerd", "runtime-root")
        cfg = os.path.join(d, "config.toml")
        with open(cfg, "w") as f:
            f.write(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                    f'plugin_dir = ""\n'
                    f'disabled_plugins = {json.dumps(self.DISABLED)}\n'
                    f'[grpc]\naddress = "{self.sock}"\n'
                    f'[ttrpc]\naddress = "{d}/containerd.sock.ttrpc"\n'
                    f'[debug]\naddress = ""\nlevel = "info"\n'
                    f'[metrics]\naddress = ""\n')
        self.log = os.path.join(d, "containerd.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["containerd", "--config", cfg], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, start_new_session=True)
        ws.on_exit(self.stop)
        wait_for(self.ready, "containerd to answer on its socket", timeout=120, step=0.2)

    def ready(self):
        if self.proc.poll() is not None:
            with open(self.log) as f:
                fail(f"containerd exited {self.proc.returncode}:\n{f.read()[-3000:]}")
        return os.path.exists(self.sock) and \
            subprocess.run(self.argv("version"), capture_output=True).returncode == 0

    def argv(self, *args):
        return ["ctr", "--address", self.sock, "--namespace", self.NAMESPACE, *args]

    def __call__(self, *args, timeout=300):
        return run(self.argv(*args), timeout=timeout)

    def runc_flags(self):
        """How ctr hands the runtime to the runc.v2 shim (BinaryName, Root)."""
        return ["--runc-binary", self.runtime, "--runc-root", self.runtime_root]

    def load(self, archive):
        p = self("image", "import", archive)
        check(p.returncode == 0, "ctr image import", p)
        p = self("image", "ls", "-q")
        check(IMAGE in p.stdout.split(), f"ctr image import names {IMAGE}", p)

    def stop(self):
        p = attempt(self.argv("task", "ls", "-q"))
        for tid in p.stdout.split() if p else []:
            attempt(self.argv("task", "kill", "-s", "SIGKILL", tid))
            attempt(self.argv("task", "delete", "--force", tid))
        p = attempt(self.argv("container", "ls", "-q"))
        for cid in p.stdout.split() if p else []:
            attempt(self.argv("container", "delete", cid))
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        # what a broken runtime left: the containers' init processes (their
        # pid files; the end of a PID namespace's init ends the rest), then
        # the shims (they name our socket)
        tasks = os.path.join(self.dir, "state", "io.containerd.runtime.v2.task", self.NAMESPACE)
        for cid in os.listdir(tasks) if os.path.isdir(tasks) else []:
            with contextlib.suppress(OSError, ValueError), \
                    open(os.path.join(tasks, cid, "init.pid")) as f:
                os.kill(int(f.read().strip()), 9)
        for pid in processes_naming(self.sock):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)


# ---------------------------------------------------------------- CNI

class Cni:
    """A network namespace (ip netns) given an address by the bridge
    plugin with host-local IPAM, its own bridge, subnet and IPAM data
    directory; no masquerade (no iptables in the emulated host)."""

    def __init__(self, ws, name="ocitest"):
        # bridge and subnet of this process's own, beside other tests' runs
        pid = os.getpid()
        bridge, subnet = f"oct{pid}", f"10.89.{pid % 250}.0/24"
        self.ws, self.name = ws, f"{name}-{pid}"
        self.netns = f"/run/netns/{self.name}"
        self.bridge = bridge
        self.conf = {"cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": bridge,
                     "isGateway": True, "ipMasq": False,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]],
                              "dataDir": ws.mkdir("cni-ipam")}}
        ok(["ip", "netns", "add", self.name], "ip netns add")
        ws.on_exit(self.remove)
        self.plugin("loopback", "ADD", {"cniVersion": "1.0.0", "name": "lo", "type": "loopback"})
        self.result = self.plugin("bridge", "ADD", self.conf)
        ips = self.result.get("ips") or []
        check(ips, f"the bridge plugin gave an address: {self.result}")
        self.ip = ips[0]["address"].split("/")[0]

    def plugin(self, kind, command, conf):
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=self.name,
                   CNI_NETNS=self.netns, CNI_IFNAME="lo" if kind == "loopback" else "eth0",
                   CNI_PATH=CNI_PATH)
        p = run([os.path.join(CNI_PATH, kind)], input=json.dumps(conf), env=env, timeout=60)
        check(p.returncode == 0, f"CNI {kind} {command}", p)
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def remove(self):
        env = dict(os.environ, CNI_COMMAND="DEL", CNI_CONTAINERID=self.name,
                   CNI_NETNS=self.netns, CNI_IFNAME="eth0", CNI_PATH=CNI_PATH)
        try:
            subprocess.run([os.path.join(CNI_PATH, "bridge")], input=json.dumps(self.conf),
                           env=env, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        attempt(["ip", "netns", "delete", self.name])
        attempt(["ip", "link", "delete", self.bridge])


def tcp_read(host, port, timeout=60, send=b""):
    """Connect (retrying until the server listens) and read to EOF."""
    end = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=10) as s:
                if send:
                    s.sendall(send)
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data
        except OSError as e:
            if time.monotonic() > end:
                fail(f"connect to {host}:{port}: {e}")
            time.sleep(0.3)
