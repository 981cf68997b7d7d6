#!/usr/bin/env python3
"""supermachine used by a plain user, as README promises: no root anywhere.

rootless_test.py

Run as root (CI), it makes an unprivileged user out of a uid that no
account uses and gives it /dev/kvm the way distributions do, through a
group: in a private mount namespace of its own, a fresh /dev/kvm node of
mode 0660 in that uid's group is mounted over the real one, so nothing on
the machine changes. Run as any other user, it is that user.

The user then pulls from a registry on loopback, imports an image layout,
lists images, runs (the first run boots and bakes, the next resume the
bake), runs with the default user-mode network, execs into a detached VM,
stops and removes it, collects garbage and removes an image. Afterwards no
file of that user exists outside supermachine's three directories
($XDG_DATA_HOME, $XDG_CACHE_HOME and the runtime directory, here their
defaults under HOME and /tmp) and the fixtures the test made itself.
"""
import os, shutil, stat, subprocess, sys, tempfile

SM = os.environ["SM"]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "run"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import loopback_registry  # noqa: E402
MKRUNIMAGE = os.path.join(HERE, "..", "run", "mkrunimage.py")
MKIMAGE = os.path.join(HERE, "..", "oci", "mkimage.py")
IMG = "localhost/runtest:plain"
# Where a user can create files on a Debian machine besides HOME.
SHARED_WRITABLE = ["/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock"]


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr, flush=True)
        sys.exit(1)


def sm(*args, ok=True, timeout=600):
    p = subprocess.run([SM, *args], capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if ok:
        check(p.returncode == 0, f"supermachine {' '.join(args)}: exit {p.returncode}",
              "\nstdout:", p.stdout.decode(), "\nstderr:", p.stderr.decode())
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# ---- as root: fixtures, then the drop to a plain user ----

def world_readable(path):
    """Whether a user in no group of path's owners can read path."""
    path = os.path.realpath(path)
    parts = path.split("/")
    for i in range(2, len(parts)):
        if not os.stat("/".join(parts[:i])).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def unused_uid():
    import pwd, grp
    for uid in range(61000, 65000):
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(uid)
            continue
        except KeyError:
            return uid
    sys.exit("FAIL: no free uid between 61000 and 65000")


def start_registry(base):
    """Debian's docker-registry on loopback with one image pushed to it
    (as root: the user under test only pulls)."""
    proc, reg = loopback_registry.start(base)
    layout = os.path.join(base, "bb-layout")
    subprocess.run([sys.executable, MKIMAGE, layout, "1"], check=True,
                   stdout=subprocess.DEVNULL)
    loopback_registry.push(layout, "1", reg, "bb")
    return proc, reg


def as_user(base, uid, env):
    """Runs this script again as uid, with /dev/kvm usable through its group."""
    kvm = ""
    if os.path.exists("/dev/kvm"):
        st = os.stat("/dev/kvm")
        kvm = (f"mknod $d/kvm c {os.major(st.st_rdev)} {os.minor(st.st_rdev)} && "
               f"chown 0:{uid} $d/kvm && chmod 660 $d/kvm && mount --bind $d/kvm /dev/kvm && ")
    script = ("set -e; mount --make-rprivate /; d=$(mktemp -d); "
              "mount -t tmpfs -o mode=755 tmpfs $d; " + kvm +
              f'exec setpriv --reuid={uid} --regid={uid} --groups={uid} --inh-caps=-all '
              '--bounding-set=-all --no-new-privs "$@"')
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sys.executable,
                           os.path.abspath(__file__), "--as-user"],
                          env=env, cwd=os.path.join(env["HOME"], "cwd")).returncode


def setup(uid):
    """The fixtures, the user's environment and the registry."""
    base = tempfile.mkdtemp(prefix="sm-rootless-")
    os.chmod(base, 0o755)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "SM": SM, "SM_TEST_BASE": base,
           "HOME": os.path.join(base, "home"), "LANG": "C.UTF-8"}
    fixtures = os.path.join(base, "fixtures")
    os.makedirs(os.path.join(env["HOME"], "cwd"))
    os.makedirs(fixtures)
    kernel = os.environ.get("SUPERMACHINE_KERNEL") or os.path.join(
        os.path.dirname(SM), "guest", "vmlinux")
    if os.environ.get("SUPERMACHINE_KERNEL"):
        env["SUPERMACHINE_KERNEL"] = kernel
    if not world_readable(kernel):
        # A build by root links the kernel from root's private cache; a user
        # building for themselves has their own. Lend this user a copy.
        shutil.copy(kernel, os.path.join(fixtures, "vmlinux"))
        env["SUPERMACHINE_KERNEL"] = os.path.join(fixtures, "vmlinux")
    subprocess.run([sys.executable, MKRUNIMAGE, os.path.join(fixtures, "layout")], check=True,
                   stdout=subprocess.DEVNULL)
    for d in [env["HOME"], os.path.join(env["HOME"], "cwd")]:
        os.chown(d, uid, uid)
    registry, env["SM_TEST_REGISTRY"] = start_registry(base)
    return base, env, registry


def main():
    root = os.geteuid() == 0
    if root:
        check(world_readable(SM), f"{SM} must be readable by every user for this test")
    uid = unused_uid() if root else os.getuid()
    base, env, registry = setup(uid)
    try:
        if root:
            rc = as_user(base, uid, env)
        else:
            os.environ.clear()
            os.environ.update(env)
            os.chdir(os.path.join(env["HOME"], "cwd"))
            rc = main_user()
    finally:
        registry.terminate()
        registry.wait()
        if root:
            leftovers = subprocess.run(["find", *[d for d in SHARED_WRITABLE if os.path.isdir(d)],
                                        "-xdev", "-uid", str(uid)], capture_output=True, text=True)
            for line in leftovers.stdout.split():
                subprocess.run(["rm", "-rf", line])
        shutil.rmtree(base, ignore_errors=True)
    return rc


# ---- as the plain user ----

def vm_dir(vm):
    return os.path.join(f"/tmp/supermachine-{os.getuid()}", vm[:12])


def files_of_user(roots):
    out = subprocess.run(["find", *[r for r in roots if os.path.isdir(r)], "-xdev",
                          "-uid", str(os.getuid())], capture_output=True, text=True).stdout
    return out.split()


def only_in_our_directories(base, before):
    home = os.environ["HOME"]
    allowed = [os.path.join(home, ".local", "share", "supermachine"),
               os.path.join(home, ".cache", "supermachine"),
               f"/tmp/supermachine-{os.getuid()}",
               # The directories leading to the allowed ones, and the test's own.
               home, os.path.join(home, ".local"), os.path.join(home, ".local", "share"),
               os.path.join(home, ".cache"), os.path.join(home, "cwd")]
    stray = []
    for f in set(files_of_user(SHARED_WRITABLE + [home])) - before:
        if f in allowed or any(f.startswith(a + "/") for a in allowed[:3]):
            continue
        if (f == base or f.startswith(base + "/")) and not f.startswith(home + "/"):
            continue  # the test's own fixtures (as a plain user, they are this user's)
        stray.append(f)
    check(not stray, "files written outside the data, cache and runtime directories", stray)
    cwd = os.listdir(os.path.join(home, "cwd"))
    check(not cwd, "files left in the working directory", cwd)


def main_user():
    base = os.environ["SM_TEST_BASE"]
    reg = os.environ["SM_TEST_REGISTRY"]
    check(os.getuid() != 0 and os.geteuid() != 0, "this part runs as a plain user")
    print(f"as uid {os.getuid()}, /dev/kvm:", oct(os.stat("/dev/kvm").st_mode & 0o777)
          if os.path.exists("/dev/kvm") else "absent", flush=True)

    before = set(files_of_user(SHARED_WRITABLE))  # a real user's own files in /tmp
    out = sm("pull", f"{reg}/bb:1")[1]
    check(out.startswith(f"{reg}/bb:1 sha256:"), "pull prints name and digest", out)
    sm("import", os.path.join(base, "fixtures", "layout"))
    listed = sm("images", "-q")[1].split()
    check(f"{reg}/bb:1" in listed and IMG in listed, "images lists both", listed)

    rc, out, err = sm("run", "--rm", "--network", "none", IMG, "sh", "-c", "id -u; echo hi",
                      ok=False)
    check(rc == 0 and out == "0\nhi\n", "the first run boots, bakes and runs", rc, out, err)
    vm = sm("run", "-d", "--network", "none", IMG, "sleep", "600")[1].strip()
    check(os.path.exists(os.path.join(vm_dir(vm), "restore.timing")),
          "the next run resumes the bake")
    for i in range(3):
        check(sm("exec", vm, "echo", f"exec {i}")[1] == f"exec {i}\n", "exec as a user")
    sm("stop", "-t", "1", vm)
    sm("rm", vm)

    # The default network is user-mode NAT: no root, no bridge, no tap.
    rc, out, err = sm("run", "--rm", IMG, "sh", "-c", "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'",
                      ok=False)
    check(rc == 0 and out.strip() == "inet 10.0.2.15", "user-mode network", rc, out, err)

    sm("gc")
    sm("rmi", f"{reg}/bb:1")
    check(f"{reg}/bb:1" not in sm("images", "-q")[1].split(), "rmi removes the image")
    only_in_our_directories(base, before)
    print("ok: pull, import, images, run, bake, resume, exec, stop, rm, network, gc, rmi")
    return 0


if __name__ == "__main__":
    sys.exit(main_user() if "--as-user" in sys.argv else main())
