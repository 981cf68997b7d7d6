#!/usr/bin/env python3
"""Bake, snapshot and restore, through the CLI as users drive it.

snapshot_test.py CASE

The cases share one data directory (images from tests/run/mkrunimage.py,
baked once per test run under a lock), except those that need a bake of
their own. What they hold us to:
  - a run after a bake resumes the snapshot (the worker leaves
    restore.timing) and execs work, again and again;
  - a live snapshot keeps the files and processes of the moment it was
    taken, and the VM it was taken of runs on;
  - VMs resumed from one snapshot get their own RNG (uuid streams differ),
    the current wall clock and their own hostname;
  - a diff snapshot holds only what changed and restores to the same
    state as a full one;
  - a damaged snapshot (truncated, bit-flipped, another version, a
    changed disk) is refused with a sentence saying what is wrong, and a
    damaged baked snapshot is baked again rather than failing every run;
  - a bake killed at any moment leaves no snapshot that loads, and
    concurrent bakes of one image make one snapshot.
"""
import fcntl, glob, json, os, re, signal, subprocess, sys, tempfile, time, urllib.request

SM = os.environ["SM"]
HERE = os.path.dirname(os.path.abspath(__file__))
MKIMAGE = os.path.join(HERE, "..", "run", "mkrunimage.py")
IMG = "localhost/runtest:plain"
FIXTURE = os.environ.get("SM_SNAPSHOT_FIXTURE",
                         os.path.join(tempfile.gettempdir(), "sm-snapshot-fixture"))


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def sm(*args, timeout=600, ok=True):
    p = subprocess.run([SM, *args], capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if ok:
        check(p.returncode == 0, f"supermachine {' '.join(args)}: exit {p.returncode}",
              "\nstdout:", p.stdout.decode(), "\nstderr:", p.stderr.decode())
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def use_data(data):
    os.environ["SUPERMACHINE_DATA_DIR"] = data


def import_images(data):
    layout = os.path.join(data, "layout")
    if not os.path.isdir(layout):
        subprocess.run([sys.executable, MKIMAGE, layout], check=True)
    sm("import", layout)


def shared_data():
    """The data dir every case shares, baked once per test run."""
    os.makedirs(FIXTURE, exist_ok=True)
    use_data(FIXTURE)
    # The bake key names the worker too: a rebuilt worker alone makes the
    # fixture's snapshot stale.
    build = ""
    for path in (SM, os.path.join(os.path.dirname(SM), "supermachine-worker")):
        st = os.stat(path)
        build += f"{path} {st.st_size} {st.st_mtime_ns}\n"
    ready = os.path.join(FIXTURE, "ready")
    with open(os.path.join(FIXTURE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(ready) or open(ready).read() != build:
            import_images(FIXTURE)
            sm("bake", "--network", "none", IMG)
            with open(ready, "w") as f:
                f.write(build)
    return FIXTURE


def private_data(tmp):
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    use_data(data)
    import_images(data)
    return data


def vm_dir(vm_id):
    return os.path.join(os.environ["XDG_RUNTIME_DIR"], "supermachine", vm_id[:12])


def start(*args):
    """run -d; returns the VM id and whether it was resumed from a snapshot."""
    _, out, _ = sm("run", "-d", *args)
    vm = out.strip()
    return vm, os.path.exists(os.path.join(vm_dir(vm), "restore.timing"))


def exec_out(vm, *cmd):
    return sm("exec", vm, *cmd)[1]


def snapshots(data):
    d = os.path.join(data, "snapshots")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


# ---- cases ----

def case_restore_exec(tmp):
    shared_data()
    for i in range(3):
        vm, restored = start("--network", "none", IMG, "sleep", "600")
        check(restored, "a run after the bake resumes the snapshot")
        for j in range(4):
            out = exec_out(vm, "echo", f"hello {i} {j}")
            check(out == f"hello {i} {j}\n", "exec after restore", repr(out))
        sm("rm", "-f", vm)
    # Attached runs resume too and give the command's status.
    rc, out, _ = sm("run", "--rm", "--network", "none", IMG, "sh", "-c", "echo hi; exit 3",
                    ok=False)
    check(rc == 3 and out == "hi\n", "attached run after a bake", rc, repr(out))


def case_live_snapshot(tmp):
    shared_data()
    vm, _ = start("--network", "none", IMG, "sleep", "600")
    exec_out(vm, "sh", "-c", "echo before-snapshot > /root/marker; "
                             "setsid sleep 777 >/dev/null 2>&1 &")
    snap = os.path.join(tmp, "live")
    sm("snapshot", vm, snap)
    # The VM it was taken of runs on, and changes after the snapshot stay its own.
    exec_out(vm, "sh", "-c", "echo after-snapshot > /root/marker")
    check(exec_out(vm, "cat", "/root/marker") == "after-snapshot\n", "the VM runs on")
    for _ in range(2):
        r, restored = start("--snapshot", snap)
        check(restored, "run --snapshot resumes")
        check(exec_out(r, "cat", "/root/marker") == "before-snapshot\n",
              "a file written before the snapshot is there after restoring it")
        check("sleep 777" in exec_out(r, "ps"), "a process of the moment runs on")
        exec_out(r, "sh", "-c", "echo changed > /root/marker")
        sm("rm", "-f", r)
    rc, _, err = sm("snapshot", vm, snap, ok=False)
    check(rc != 0 and "exists" in err, "a snapshot never overwrites a directory", err)
    sm("rm", "-f", vm)


def uuids(vm):
    """Three uuids and 16 bytes of /dev/urandom, as four strings."""
    out = exec_out(vm, "sh", "-c", "for i in 1 2 3; do cat /proc/sys/kernel/random/uuid; "
                                   "done; head -c 16 /dev/urandom | od -An -tx1")
    lines = out.split("\n")
    return lines[:3] + ["".join(" ".join(lines[3:]).split())]


def case_fresh_identity(tmp):
    shared_data()
    a, _ = start("--network", "none", IMG, "sleep", "600")
    b, _ = start("--network", "none", IMG, "sleep", "600")
    ua, ub = uuids(a), uuids(b)
    check(not set(ua) & set(ub), "VMs from one snapshot have their own RNG", ua, ub)
    for vm in (a, b):
        guest = int(exec_out(vm, "date", "+%s"))
        check(abs(guest - time.time()) < 5, "the wall clock is now", guest, time.time())
        check(exec_out(vm, "hostname").strip() == vm[:12], "each VM has its own hostname")
        check(exec_out(vm, "cat", "/etc/hostname").strip() == vm[:12], "/etc/hostname")
    # Time goes on in the guest: sleeps end (timers survived the restore).
    t = time.time()
    exec_out(a, "sleep", "1")
    check(time.time() - t < 30, "a sleep in a restored guest ends")
    sm("rm", "-f", a, b)


def allocated(path):
    return os.stat(path).st_blocks * 512


def case_diff_snapshot(tmp):
    shared_data()
    vm, _ = start("--network", "none", IMG, "sleep", "600")
    exec_out(vm, "sh", "-c", "echo base > /root/base")
    full = os.path.join(tmp, "full")
    sm("snapshot", vm, full)
    sm("rm", "-f", vm)
    r, _ = start("--snapshot", full)
    exec_out(r, "sh", "-c", "echo diff > /root/diff")
    diff = os.path.join(tmp, "diff")
    sm("snapshot", "--diff", r, diff)
    sm("rm", "-f", r)
    meta = json.load(open(os.path.join(diff, "metadata.json")))
    check(meta["parent"] == os.path.realpath(full), "the diff names its parent", meta)
    a_full, a_diff = allocated(os.path.join(full, "memory")), allocated(os.path.join(diff, "memory"))
    print(f"full snapshot memory {a_full} bytes on disk, diff {a_diff}")
    check(a_diff * 4 < a_full, "a diff snapshot is much smaller", a_full, a_diff)
    for _ in range(2):
        d, restored = start("--snapshot", diff)
        check(restored, "a diff snapshot resumes")
        check(exec_out(d, "cat", "/root/base", "/root/diff") == "base\ndiff\n",
              "a diff snapshot restores the parent's and its own changes")
        sm("rm", "-f", d)
    # A booted VM has no parent to diff against.
    vm, _ = start("--no-snapshot", "--network", "none", IMG, "sleep", "600")
    rc, _, err = sm("snapshot", "--diff", vm, os.path.join(tmp, "x"), ok=False)
    check(rc != 0 and "restored from a snapshot" in err, "diff of a booted VM", err)
    sm("rm", "-f", vm)


def damaged(tmp, src, name, how):
    dst = os.path.join(tmp, name)
    subprocess.run(["cp", "-a", "--sparse=always", src, dst], check=True)
    how(dst)
    return dst


def truncate(path, size):
    with open(path, "r+b") as f:
        f.truncate(size)


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x10]))


def set_version(dst):
    p = os.path.join(dst, "metadata.json")
    m = json.load(open(p))
    m["format_version"] = 99
    json.dump(m, open(p, "w"))


def case_damaged(tmp):
    shared_data()
    vm, _ = start("--network", "none", IMG, "sleep", "600")
    good = os.path.join(tmp, "good")
    sm("snapshot", vm, good)
    sm("rm", "-f", vm)
    size = os.path.getsize(os.path.join(good, "state"))
    cases = {
        "truncated-state": (lambda d: truncate(os.path.join(d, "state"), size // 2),
                            "truncated"),
        "flipped-state": (lambda d: flip(os.path.join(d, "state"), size - 100), "checksum"),
        "flipped-header": (lambda d: flip(os.path.join(d, "state"), 9), "version"),
        "wrong-version": (set_version, "another version"),
        "truncated-memory": (lambda d: truncate(os.path.join(d, "memory"), 1 << 20), "memory"),
        "no-state": (lambda d: os.unlink(os.path.join(d, "state")), "state"),
    }
    for name, (how, word) in cases.items():
        d = damaged(tmp, good, name, how)
        rc, out, err = sm("run", "-d", "--snapshot", d, ok=False)
        check(rc == 125 and word in err.lower() and d in err,
              f"{name}: refused with a sentence naming it ({word!r})", rc, err)
        check(sm("ps", "-q")[1].strip() == "", f"{name}: no VM left behind")
    # The good copy still works.
    r, restored = start("--snapshot", good)
    check(restored and exec_out(r, "echo", "ok") == "ok\n", "the undamaged snapshot")
    sm("rm", "-f", r)


def machine_json(d, edit):
    p = os.path.join(d, "machine.json")
    m = json.load(open(p))
    edit(m)
    json.dump(m, open(p, "w"))


def case_untrusted(tmp):
    """A snapshot is checked, not trusted: files another user owns or may
    write, symlinked files, a disk outside the image store or a parent the
    snapshot names are refused in one line; the image's root filesystem is
    always read-only, whatever machine.json says."""
    shared_data()
    vm, _ = start("--network", "none", IMG, "sleep", "600")
    good = os.path.join(tmp, "good")
    sm("snapshot", vm, good)
    sm("rm", "-f", vm)
    victim = os.path.join(tmp, "victim.txt")
    open(victim, "w").write("precious\n")
    os.chmod(victim, 0o600)

    def other_disk(m):
        # With the victim's size and time, as a crafted file would have.
        st = os.stat(victim)
        m["disks"].append(dict(m["disks"][0], path=victim, read_only=False,
                               size=st.st_size, mtime_ns=st.st_mtime_ns))

    def memory_symlink(d):
        os.rename(os.path.join(d, "memory"), os.path.join(tmp, "memory-elsewhere"))
        os.symlink(os.path.join(tmp, "memory-elsewhere"), os.path.join(d, "memory"))

    cases = {
        "group-writable": (lambda d: os.chmod(d, 0o775), "can be written by other users"),
        "writable-state": (lambda d: os.chmod(os.path.join(d, "state"), 0o666),
                           "can be written by other users"),
        "memory-symlink": (memory_symlink, "is a symlink"),
        "victim-disk": (lambda d: machine_json(d, other_disk),
                        "not an image's root filesystem in the store"),
    }
    if os.geteuid() == 0:
        cases["other-owner"] = (lambda d: chown_tree(d, 61237), "owned by uid 61237")
    for name, (how, words) in cases.items():
        d = damaged(tmp, good, name, how)
        rc, out, err = sm("run", "-d", "--snapshot", d, ok=False)
        check(rc == 125 and words in err and len(err.strip().splitlines()) == 1,
              f"{name}: refused in one line saying {words!r}", rc, err)
        check(sm("ps", "-q")[1].strip() == "", f"{name}: no VM left behind")
    check(open(victim).read() == "precious\n", "the victim file is untouched")
    # A diff snapshot's parent, named by its metadata, is held to the same
    # checks.
    parent = damaged(tmp, good, "parent", lambda d: None)
    r, _ = start("--snapshot", parent)
    child = os.path.join(tmp, "child")
    sm("snapshot", "--diff", r, child)
    sm("rm", "-f", r)
    os.chmod(parent, 0o777)
    rc, out, err = sm("run", "-d", "--snapshot", child, ok=False)
    check(rc == 125 and "the parent of snapshot" in err and "other users" in err,
          "an untrusted parent refused", rc, err)
    check(sm("ps", "-q")[1].strip() == "", "parent: no VM left behind")
    # machine.json that makes the shared root filesystem writable is
    # overruled: the guest cannot write to it.
    d = damaged(tmp, good, "rootfs-writable",
                lambda d: machine_json(d, lambda m: m["disks"][0].update(read_only=False)))
    rc, out, err = sm("run", "-d", "--snapshot", d, ok=False)
    if rc == 0:
        r = out.strip()
        rc, o, e = sm("exec", r, "sh", "-c", "cat /sys/block/vda/ro", ok=False)
        check(o.strip() == "1", "the image's disk stays read-only", o, e)
        sm("rm", "-f", r)
    else:
        check("read-only" in err or "feature" in err or "disk" in err,
              "refused, or run read-only", err)


def chown_tree(d, uid):
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, uid)
    os.lchown(d, uid, uid)


def case_rebake_damaged(tmp):
    data = private_data(tmp)
    sm("bake", "--network", "none", IMG)
    [fp] = snapshots(data)
    flip(os.path.join(data, "snapshots", fp, "state"), 200)
    # A damaged bake is a cache entry gone bad: the run boots and bakes again.
    rc, out, _ = sm("run", "--rm", "--network", "none", IMG, "echo", "still-runs")
    check(out == "still-runs\n", "a run over a damaged bake")
    check(snapshots(data) == [fp], "baked again under the same name", snapshots(data))
    vm, restored = start("--network", "none", IMG, "sleep", "600")
    check(restored, "the new bake resumes")
    sm("rm", "-f", vm)


def case_kill_bake(tmp):
    data = private_data(tmp)
    snaps = os.path.join(data, "snapshots")
    # Kill -9 the bake at the moment its snapshot is being written (its
    # temporary directory exists), then at random points of the boot.
    p = subprocess.Popen([SM, "bake", "--network", "none", IMG], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if glob.glob(os.path.join(snaps, ".*.tmp-*")):
            break
        time.sleep(0.002)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    for s in snapshots(data):
        if s.startswith("."):
            continue
        # Whatever survived is whole: it resumes.
        vm, restored = start("--snapshot", os.path.join(snaps, s))
        check(restored, "a committed snapshot after kill -9 is complete")
        sm("rm", "-f", vm)
    p = subprocess.Popen([SM, "bake", "--network", "none", IMG], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(3)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    # The next run bakes (or resumes a complete bake) and works.
    rc, out, _ = sm("run", "--rm", "--network", "none", IMG, "echo", "after-kill")
    check(out == "after-kill\n", "a run after a killed bake")
    finals = [s for s in snapshots(data) if not s.startswith(".")]
    check(len(finals) == 1, "one snapshot", snapshots(data))
    vm, restored = start("--network", "none", IMG, "sleep", "600")
    check(restored, "the bake after the kill resumes")
    sm("rm", "-f", vm)


def case_concurrent_bake(tmp):
    data = private_data(tmp)
    procs = [subprocess.Popen([SM, "bake", "--network", "none", IMG], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (o, e) in zip(procs, outs):
        check(p.returncode == 0, "concurrent bake", o.decode(), e.decode())
    dirs = {o.decode().strip() for o, _ in outs}
    finals = [s for s in snapshots(data) if not s.startswith(".")]
    check(len(dirs) == 1 and len(finals) == 1, "two bakes of one image make one snapshot",
          dirs, snapshots(data))


def case_http_server(tmp):
    shared_data()
    sm("bake", IMG)  # the default network
    port = 20000 + os.getpid() % 20000
    vm, restored = start("-p", f"127.0.0.1:{port}:80", IMG, "httpd", "-f", "-p", "80", "-h",
                         "/etc")
    check(restored, "a run with a published port resumes the bake")
    snap = os.path.join(tmp, "web")
    # Wait until the server answers inside, then snapshot it serving.
    for _ in range(100):
        if "hostname" in exec_out(vm, "sh", "-c", "wget -qO- 127.0.0.1/hostname >/dev/null "
                                                  "&& echo hostname || true"):
            break
        time.sleep(0.2)
    sm("snapshot", vm, snap)
    sm("rm", "-f", vm)
    r, restored = start("-p", f"127.0.0.1:{port + 1}:80", "--snapshot", snap)
    check(restored, "the server's snapshot resumes")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port + 1}/hostname", timeout=60).read()
    check(body.decode().strip() == r[:12],
          "the server that ran at the snapshot answers, with the new VM's hostname", body)
    sm("rm", "-f", r)


def case_baked_server(tmp):
    """`run -d -p` of a server image: the first VM bakes it serving (once its
    exposed port accepts); the next ones resume it serving, each answering
    with its own hostname, supervised (ps, stop)."""
    shared_data()
    web = "localhost/runtest:web"
    port = 20000 + os.getpid() % 20000
    first, _ = start("-p", f"127.0.0.1:{port}:80", web)
    check(urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=60).read()
          .decode().strip() == first[:12], "the first VM serves")
    for i in (1, 2):
        vm, restored = start("-p", f"127.0.0.1:{port + i}:80", web)
        check(restored, "a later run -d of the server resumes a bake")
        body = urllib.request.urlopen(f"http://127.0.0.1:{port + i}/hostname",
                                      timeout=60).read().decode().strip()
        check(body == vm[:12], "it serves at once, as itself", body, vm)
        check("httpd -f -p 80" in sm("ps")[1], "ps shows the image's process")
    sm("stop", vm)
    check("Exited (143)" in sm("ps", "-a")[1], "stop ends the resumed server")


def case_gc(tmp):
    """gc removes bakes no run can resume and old leftovers of interrupted
    bakes, and keeps the rest (no VM needed: copies of the shared bake)."""
    shared_data()
    src = sm("bake", "--network", "none", IMG)[1].strip()  # baked already: its path
    data = private_data(tmp)
    snaps = os.path.join(data, "snapshots")
    os.mkdir(snaps)
    def copy(name):
        subprocess.run(["cp", "-a", "--sparse=always", src, os.path.join(snaps, name)],
                       check=True)
        return os.path.join(snaps, name)
    copy("good")
    old_kernel = copy("old-kernel")
    m = json.load(open(os.path.join(old_kernel, "machine.json")))
    m["kernel_id"] = "sha256:" + "0" * 64
    json.dump(m, open(os.path.join(old_kernel, "machine.json"), "w"))
    flip(os.path.join(copy("damaged"), "state"), 100)
    old_tmp, new_tmp = copy(".x.tmp-old"), copy(".y.tmp-new")
    os.utime(old_tmp, (time.time() - 3600, time.time() - 3600))
    os.utime(new_tmp)  # cp -a kept the bake's own time
    out = sm("gc")[1]
    check("Deleted 3 snapshots" in out, "gc reports what it removed", out)
    check(sorted(os.listdir(snaps)) == [".y.tmp-new", "good"],
          "gc keeps the usable bake and a bake in progress", os.listdir(snaps))
    check(sm("gc")[1].endswith("Deleted 0 snapshots, 0 B\n"), "a second gc finds nothing")


def case_resumed_main(tmp):
    """A detached VM's main process runs on in VMs resumed from its snapshot,
    supervised again: its output reaches their logs, `stop` ends it."""
    shared_data()
    vm, _ = start("--network", "none", IMG, "sh", "-c",
                  "i=0; while true; i=$((i+1)); do echo tick $i; sleep 1; done")
    for _ in range(100):
        if "tick 2" in sm("logs", vm)[1]:
            break
        time.sleep(0.2)
    snap = os.path.join(tmp, "ticking")
    sm("snapshot", vm, snap)
    sm("rm", "-f", vm)
    r, restored = start("--snapshot", snap)
    check(restored, "resumes")
    seen = ""
    for _ in range(150):
        seen = sm("logs", r)[1]
        if re.search(r"tick ([3-9]|\d\d)", seen):
            break
        time.sleep(0.2)
    check(re.search(r"tick ([3-9]|\d\d)", seen), "the resumed main process logs on", seen)
    check("while true" in sm("ps")[1], "ps shows the resumed main process's command")
    sm("stop", r)
    check("Exited (143)" in sm("ps", "-a")[1], "stop ends the resumed main process",
          sm("ps", "-a")[1])


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    name = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="sm-snap-case-") as tmp:
        # A registry of VMs of this case's own: `ps` must see only them.
        os.environ["XDG_RUNTIME_DIR"] = os.path.join(tmp, "run")
        os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
        try:
            CASES[name](tmp)
        finally:
            subprocess.run([SM, "rm", "-f", *sm("ps", "-aq", ok=False)[1].split()],
                           capture_output=True)
    print("ok", name)
