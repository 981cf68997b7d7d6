#!/usr/bin/env python3
"""`supermachine run --rootfs DIR` (podman's flag): a host directory as the
VM's root, shared over 9p and written in place.

rootfs_test.py CASE

Each case builds a small root directory out of the host's busybox (the
applets as links, /etc/passwd and /etc/group) in a private data directory
and boots it. What is expected comes from podman's --rootfs: the command
runs in DIR as its root, what the guest writes is in DIR on the host, and
-v, --tmpfs, -e, -w, -u, --hostname, --read-only and -d work as with an
image.
"""
import os, re, shutil, stat, subprocess, sys, tempfile, time

SM = os.environ["SM"]
BUSYBOX = shutil.which("busybox", path="/bin:/usr/bin")


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def sm(*args, timeout=600):
    p = subprocess.run([SM, *args], capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def make_root(parent):
    """A root directory as a container runtime prepares one: /tmp 1777,
    root-owned, the mount points there."""
    root = os.path.join(parent, "root")
    for d in ["bin", "etc", "dev", "proc", "sys", "tmp", "root"]:
        os.makedirs(os.path.join(root, d))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    return root


def read(root, rel):
    with open(os.path.join(root, rel)) as f:
        return f.read()


def case_exit_and_writes(tmp):
    root = make_root(tmp)
    t0 = time.monotonic()
    rc, o, e = sm("run", "--rootfs", root, "sh", "-c", "echo hi; exit 3")
    print(f"run --rootfs DIR took {time.monotonic() - t0:.1f} s")
    check(rc == 3 and o == "hi\n", "the command's output and exit status", rc, o, e)
    # Written in place: no overlay between the guest and the directory. The
    # default network is user-mode NAT, as for an image.
    rc, o, e = sm("run", "--rootfs", root, "sh", "-c",
                  "echo from-guest > /written && mkdir -p /made/deeper && "
                  "ln -s written /link && cat /sys/class/net/eth0/operstate && "
                  "grep ' / ' /proc/mounts")
    check(rc == 0, "writes into the root", rc, o, e)
    check(o.startswith("up\nsmroot / 9p rw"), "eth0 is up and the root is the 9p share", o)
    check(read(root, "written") == "from-guest\n", "the file is in DIR on the host")
    check(os.path.isdir(os.path.join(root, "made", "deeper")), "the directories too")
    check(os.readlink(os.path.join(root, "link")) == "written", "and the symlink")
    st = os.lstat(os.path.join(root, "written"))
    check(st.st_uid == os.geteuid(), "the guest's root's file is ours on the host",
          st.st_uid)


def case_attributes(tmp):
    """What a package manager does to its root: chmod, chown, truncate,
    times, hard links, renames, FIFOs. Set-user-ID bits and device nodes
    never reach the host; a set-uid file of DIR's is one in the guest."""
    root = make_root(tmp)
    os.chmod(os.path.join(root, "bin", "busybox"), 0o4755)
    script = ("cp /bin/busybox /b2 && chmod 4755 /b2 && ls -ln /bin/busybox | cut -c1-10 && "
              "echo 0123456789 > /f && truncate -s 4 /f && touch -d '2001-02-03 04:05:06' /f && "
              "chown 123:45 /f && ln /f /f2 && mv /f2 /f3 && mkfifo /fifo && "
              "chmod 0600 /f3 && ls -ln /f3 | cut -c1-10; mknod /nul c 1 3 || echo no-device")
    rc, o, e = sm("run", "--network", "none", "--rootfs", root, "sh", "-c", script)
    check(rc == 0 and o == "-rwsr-xr-x\n-rw-------\nno-device\n",
          "the guest changes attributes and lives on", rc, o, e)
    st = os.stat(os.path.join(root, "f3"))
    check(read(root, "f3") == "0123" and st.st_mode & 0o7777 == 0o600, "truncate, chmod", st)
    check(time.gmtime(st.st_mtime)[:6] == (2001, 2, 3, 4, 5, 6), "touch -d",
          time.gmtime(st.st_mtime))
    if os.geteuid() == 0:
        check((st.st_uid, st.st_gid) == (123, 45), "chown (as root)", st)
    check(os.stat(os.path.join(root, "b2")).st_mode & 0o7777 == 0o755, "no set-uid on the host")
    check(not os.path.exists(os.path.join(root, "nul")), "no device node on the host")
    check(stat.S_ISFIFO(os.lstat(os.path.join(root, "fifo")).st_mode), "a FIFO on the host")


def case_options(tmp):
    root = make_root(tmp)
    hosts = os.path.join(tmp, "hosts")
    with open(hosts, "w") as f:
        f.write("10.1.2.3\tfrom-host\n")
    script = ("hostname; cat /etc/hosts; echo FOO=$FOO HOME=$HOME; pwd; id -u; "
              "grep -c ' /scratch tmpfs' /proc/mounts; ls /sys/class/net; "
              "echo mine > /tmp/mine && echo more >> /tmp/mine && ls -n /tmp/mine")
    rc, o, e = sm("run", "--rootfs", root, "--hostname", "x", "-v", hosts + ":/etc/hosts:ro",
                  "-e", "FOO=bar", "-w", "/work", "--tmpfs", "/scratch", "-u", "nobody",
                  "-m", "256m", "--cpus", "1", "--network", "none", "sh", "-c", script)
    check(rc == 0, "run with options", rc, o, e)
    lines = o.splitlines()
    check(lines[0] == "x", "--hostname", lines)
    check(lines[1] == "10.1.2.3\tfrom-host", "-v FILE:/etc/hosts, a single-file share", lines)
    check(lines[2] == "FOO=bar HOME=/", "-e, and HOME from the directory's /etc/passwd", lines)
    check(lines[3] == "/work", "-w, created", lines)
    check(lines[4] == "65534", "-u nobody, from the directory's /etc/passwd", lines)
    check(lines[5] == "1", "--tmpfs", lines)
    check(lines[6] == "lo", "--network none: loopback only", lines)
    # A guest user owns what it creates, and can write it again.
    check(re.match(r"-rw-r--r-- +1 65534 +65534 ", lines[7]), "the guest sees its owner",
          lines[7])
    check(read(root, "tmp/mine") == "mine\nmore\n", "the file is in DIR")
    want = 65534 if os.geteuid() == 0 else os.getuid()
    check(os.stat(os.path.join(root, "tmp", "mine")).st_uid == want,
          "on the host it is the guest user's (as root)", want)
    # As runc does, the mount point is made in DIR: an empty file.
    check(read(root, "etc/hosts") == "", "the share's mount point is empty in DIR")
    check(not os.path.exists(os.path.join(root, "etc", "hostname")),
          "no /etc/hostname is written into DIR")


def case_read_only(tmp):
    root = make_root(tmp)
    rc, o, e = sm("run", "--rootfs", root, "--read-only", "--network", "none", "sh", "-c",
                  "echo x > /nope || echo refused; echo y > /dev/shm/ok && echo shm-ok; "
                  "grep -c ' / 9p ro' /proc/mounts")
    check(rc == 0 and o == "refused\nshm-ok\n1\n", "--read-only: the root refuses writes",
          rc, o, e)
    check(not os.path.exists(os.path.join(root, "nope")), "nothing reached DIR")


def case_refused(tmp):
    gone = os.path.join(tmp, "not-there")
    rc, o, e = sm("run", "--rootfs", gone, "true")
    check(rc == 125 and gone in e and "No such file" in e, "a missing DIR is named", rc, e)
    f = os.path.join(tmp, "a-file")
    open(f, "w").close()
    rc, o, e = sm("run", "--rootfs", f, "true")
    check(rc == 125 and f in e and "not a directory" in e, "a file is named", rc, e)
    rows = sm("ps", "-a", "-q")[1].split()
    check(rows == [], "no VM is left behind", rows)


def wait_for(what, cond, seconds=120):
    until = time.monotonic() + seconds
    while not cond():
        check(time.monotonic() < until, f"timed out waiting for {what}")
        time.sleep(0.2)


def case_detached_again(tmp):
    """run -d keeps the directory in the VM's record: exec runs in it, and
    start boots it again."""
    root = make_root(tmp)
    count = os.path.join(root, "count")
    rc, vid, e = sm("run", "-d", "--name", "r1", "--network", "none", "--rootfs", root,
                    "sh", "-c", "echo run >> /count; echo logged; exec sleep 600")
    check(rc == 0 and re.fullmatch(r"[0-9a-f]{64}\n", vid), "run -d prints the id", rc, e)
    wait_for("its log", lambda: sm("logs", "r1")[1] == "logged\n")
    rc, o, e = sm("exec", "-u", "nobody", "r1", "sh", "-c", "cat /count; id -u")
    check(rc == 0 and o == "run\n65534\n", "exec in it, -u from DIR's /etc/passwd", rc, o, e)
    check(sm("stop", "-t", "1", "r1")[0] == 0, "stop")
    rc, o, e = sm("start", "r1")
    check(rc == 0, "start boots it again", rc, o, e)
    wait_for("the second run", lambda: read(root, "count") == "run\nrun\n")
    check(sm("rm", "-f", "r1")[0] == 0, "rm -f")


def main():
    case = sys.argv[1]
    data = tempfile.mkdtemp(prefix="sm-rootfs-test-")
    os.environ["SUPERMACHINE_DATA_DIR"] = data
    os.environ["XDG_RUNTIME_DIR"] = os.path.join(data, "run")
    os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
    try:
        globals()["case_" + case](data)
    finally:
        subprocess.run(["rm", "-rf", data])
    print("ok", case)


if __name__ == "__main__":
    main()
