#!/usr/bin/env python3
"""`supermachine run` against docker's documented run semantics.

run_test.py CASE

Each case imports the images of mkrunimage.py into a private data
directory and runs one VM. The expectations come from the OCI image config
of each variant (see mkrunimage.py) and docker's documented `run`
behaviour, not from our output:
  - COMMAND replaces Cmd and is appended to Entrypoint; --entrypoint
    replaces Entrypoint and drops the image's Cmd;
  - Env: PATH (image's, else a default), HOSTNAME, HOME (from the user's
    passwd entry; "/" for a uid passwd lacks), the image's Env, then -e and
    --env-file, later names replacing earlier ones;
  - WorkingDir (-w) is the cwd and is created if missing; default "/";
  - User (-u) by name or id, resolved in the image's /etc/passwd and
    /etc/group; supplementary groups from /etc/group unless a group is
    given explicitly;
  - the hostname is the VM's id (12 hex digits) unless --hostname;
  - the exit status is the process's, 128+N for signal N; 125 when
    supermachine itself fails.
"""
import os, pty, re, select, signal, struct, subprocess, sys, tempfile, termios, fcntl, time

SM = os.environ["SM"]
HERE = os.path.dirname(os.path.abspath(__file__))
IMG = "localhost/runtest:"
# On hosts whose KVM cannot save AVX state (kvm_pvm), the VMM passes
# GLIBC_TUNABLES to every guest process; see src/vmm/host_quirks.c.
HOST_QUIRK_ENV = {"GLIBC_TUNABLES"}


def setup():
    data = tempfile.mkdtemp(prefix="sm-run-test-")
    os.environ["SUPERMACHINE_DATA_DIR"] = data
    # A registry of VMs of our own: `ps` must see only this test's.
    os.environ["XDG_RUNTIME_DIR"] = os.path.join(data, "run")
    os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
    layout = os.path.join(data, "layout")
    subprocess.run([sys.executable, os.path.join(HERE, "mkrunimage.py"), layout], check=True)
    subprocess.run([SM, "import", layout], check=True, stdout=subprocess.DEVNULL)
    return data


def run(*args, stdin=subprocess.DEVNULL, timeout=600):
    p = subprocess.run([SM, "run", "--network", "none", *args], stdin=stdin,
                       capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def expect(args, code, out=None, **kw):
    rc, o, e = run(*args, **kw)
    check(rc == code, f"exit status {rc}, wanted {code}", "\nstdout:", o, "\nstderr:", e)
    if out is not None:
        check(o == out, f"stdout {o!r}, wanted {out!r}", "\nstderr:", e)
    return o, e


def case_plain_shell(tmp):
    envfile = os.path.join(tmp, "env")
    with open(envfile, "w") as f:
        f.write("# a comment\n\nBAZ=from-file\nFOO=from-file\n")
    script = ('id; pwd; cat /etc/hostname; hostname; '
              'echo "HOME=$HOME FOO=$FOO IMAGE_VAR=$IMAGE_VAR BAZ=$BAZ"; '
              'echo to-stderr >&2; ls -la /; exit 42')
    o, e = expect(["-e", "FOO=from-flag", "--env-file", envfile, "-e", "IMAGE_VAR=override",
                   "--hostname", "testhost", IMG + "plain", "sh", "-c", script], 42)
    lines = o.splitlines()
    check(lines[0] == "uid=0(root) gid=0(root)", "id as root", lines[0])
    check(lines[1] == "/", "no WorkingDir means /", lines[1])
    check(lines[2] == "testhost" and lines[3] == "testhost", "--hostname", lines[2:4])
    # --env-file is read before -e in docker; a later -e replaces it.
    check(lines[4] == "HOME=/root FOO=from-flag IMAGE_VAR=override BAZ=from-file",
          "environment merge", lines[4])
    check(e.strip() == "to-stderr", "stderr stays separate", repr(e))
    names = {l.split()[-1] for l in lines[5:] if l and not l.startswith("total")}
    for d in ["bin", "etc", "srv", "home", "proc", "sys", "dev", "tmp", "var"]:
        check(d in names, f"/{d} listed by ls -la /", sorted(names))


def case_plain_env(tmp):
    o, _ = expect([IMG + "plain", "env"], 0)
    env = dict(l.split("=", 1) for l in o.splitlines())
    check(env.get("PATH") == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "the image's PATH", env)
    check(re.fullmatch(r"[0-9a-f]{12}", env.get("HOSTNAME", "")), "HOSTNAME is the id", env)
    check(env.get("HOME") == "/root", "HOME of root", env)
    check(env.get("IMAGE_VAR") == "from-image", "the image's Env", env)
    extra = set(env) - {"PATH", "HOSTNAME", "HOME", "IMAGE_VAR"} - HOST_QUIRK_ENV
    check(not extra, "nothing else in the environment", extra)


def case_signal_exit(tmp):
    # Without -i, stdin is empty: cat ends at once, then the shell kills itself.
    expect([IMG + "plain", "sh", "-c", "cat; kill -TERM $$"], 143, "")


def case_worker_error(tmp):
    """A VM whose worker fails to start says why, in one line, with or
    without --rm and -d (the worker's log is gone after --rm)."""
    bad = os.path.join(tmp, "not-a-kernel")
    with open(bad, "w") as f:
        f.write("garbage\n")
    os.environ["SUPERMACHINE_KERNEL"] = bad
    for flags in (["--rm", "-d"], ["-d"], ["--rm"]):
        rc, o, e = run(*flags, IMG + "plain", "true")
        check(rc == 125, f"exit status {rc} with {flags}", e)
        lines = e.strip().splitlines()
        check(len(lines) == 1 and "not a usable vmlinux" in lines[0],
              f"the worker's reason with {flags}", e)
    del os.environ["SUPERMACHINE_KERNEL"]


def case_docker_units(tmp):
    """-m in docker's units and a fractional --cpus reach the guest."""
    o, _ = expect(["--no-snapshot", "-m", "192m", "--cpus", "1.5", IMG + "plain", "sh", "-c",
                   "grep MemTotal /proc/meminfo; grep -c ^processor /proc/cpuinfo"], 0)
    kib = int(o.split()[1])
    check(150 * 1024 < kib <= 192 * 1024, "192m of guest memory", o)
    check(o.split()[-1] == "2", "--cpus 1.5 gives two vCPUs", o)
    # The same from the config file; an option still wins over it.
    conf = os.path.join(tmp, "config.json")
    with open(conf, "w") as f:
        f.write('{"memory": "176m", "cpus": 2, "pull": "never"}')
    os.environ["SUPERMACHINE_CONFIG"] = conf
    o, _ = expect(["--no-snapshot", IMG + "plain", "sh", "-c",
                   "grep MemTotal /proc/meminfo; grep -c ^processor /proc/cpuinfo"], 0)
    check(140 * 1024 < int(o.split()[1]) <= 176 * 1024 and o.split()[-1] == "2",
          "memory and cpus from the config", o)
    o, _ = expect(["--no-snapshot", "--cpus", "1", IMG + "plain", "sh", "-c",
                   "grep -c ^processor /proc/cpuinfo"], 0)
    check(o == "1\n", "--cpus overrides the config", o)
    rc, o, e = run("example.org/absent:1", "true")
    check(rc == 125 and "no image 'example.org/absent:1'" in e, "pull: never from the config", e)
    del os.environ["SUPERMACHINE_CONFIG"]


def read_counter(name):
    """The guest's `echo $i > /tmp/n` truncates before it writes, so a read
    can land between the two and see an empty file: read again."""
    for _ in range(20):
        o = sm("exec", name, "cat", "/tmp/n")[1].strip()
        if o:
            return int(o)
        time.sleep(0.05)
    check(False, "the counter file stays empty")


def case_cpu_quota(tmp):
    """--cpus 0.5: a guest spinning on its one vCPU gets half a CPU of the
    host, held by the VMM each 100 ms, and still makes progress."""
    rc, _, e = sm("run", "-d", "--name", "cq", "--network", "none", "--cpus", "0.5",
                  IMG + "plain", "sh", "-c",
                  "i=0; while :; do i=$((i+1)); [ $((i % 1000)) = 0 ] && echo $i > /tmp/n; done")
    check(rc == 0, "run -d --cpus 0.5", e)
    wait_for("the counter", lambda: sm("exec", "cq", "cat", "/tmp/n")[0] == 0)
    samples = []
    for _ in range(6):
        rc, o, e = sm("stats", "--no-stream", "cq")
        check(rc == 0, "stats", o, e)
        samples.append(float(o.splitlines()[1].split()[2].rstrip("%")))
    mean = sum(samples) / len(samples)
    check(mean <= 70, "the worker holds to about half a CPU", samples)
    first = read_counter("cq")
    time.sleep(1)
    check(read_counter("cq") > first, "the guest still runs", samples)
    check(sm("stop", "-t", "1", "cq")[0] == 0, "stop of a throttled VM")
    sm("rm", "cq")


def case_read_only_tmpfs(tmp):
    """--read-only: the image's root refuses writes, /dev/shm and --tmpfs
    mounts take them (docker's defaults: noexec, nosuid, nodev, unless the
    options say otherwise); from the bake, as a plain run is."""
    o, e = expect(["--read-only", IMG + "plain", "sh", "-c",
                   "touch /x 2>&1; echo rc=$?; echo y > /dev/shm/y && cat /dev/shm/y"], 0)
    check("Read-only file system" in o and "rc=1" in o and o.endswith("y\n"),
          "the root refuses writes, /dev/shm takes them", o, e)
    o, e = expect(["--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run/x:size=1m,exec,mode=700",
                   IMG + "plain", "sh", "-c",
                   "echo hi > /tmp/f && cat /tmp/f; grep -E ' /tmp | /run/x ' /proc/mounts; "
                   "stat -c %a /run/x"], 0)
    lines = o.splitlines()
    tmp_line = [l for l in lines if " /tmp " in l]
    run_line = [l for l in lines if " /run/x " in l]
    check(lines[0] == "hi" and tmp_line and run_line, "both tmpfs mounted, /tmp written", o, e)
    check(all(w in tmp_line[0].split()[3].split(",") for w in ["noexec", "nosuid", "nodev"]),
          "docker's default tmpfs options", tmp_line)
    opts = run_line[0].split()[3].split(",")
    check("noexec" not in opts and "size=1024k" in opts and lines[-1] == "700",
          "the options given", run_line, lines)
    o, e = expect(["--tmpfs", "/data", IMG + "plain", "sh", "-c",
                   "touch /x && echo ok > /data/f && cat /data/f"], 0, "ok\n")
    for bad, words in ((["--tmpfs", "data"], "--tmpfs wants /PATH"),
                       (["--tmpfs", "/"], "not the root")):
        rc, o, e = run(*bad, IMG + "plain", "true")
        check(rc == 125 and words in e, f"{bad} refused", e)


def case_disk_persists(tmp):
    """--disk keeps the writable layer: what a process wrote, without a
    sync of its own, is there for the next VM on that disk."""
    disk = os.path.join(tmp, "upper.ext4")
    expect(["--rm", "--disk", disk, IMG + "plain", "sh", "-c", "echo kept > /kept"], 0)
    expect(["--rm", "--disk", disk, IMG + "plain", "cat", "/kept"], 0, "kept\n")


def case_ep_default(tmp):
    expect([IMG + "ep"], 0, "ep: default-arg\n")


def case_ep_cmd(tmp):
    expect([IMG + "ep", "hello", "world"], 0, "ep: hello world\n")


def case_ep_entrypoint(tmp):
    # --entrypoint drops the image's Cmd; User app is in group extra.
    expect(["--entrypoint", "id", IMG + "ep"], 0,
           "uid=1000(app) gid=1000(app) groups=2000(extra)\n")


def case_ep_workdir_home(tmp):
    expect(["--entrypoint", "sh", IMG + "ep", "-c", "pwd; echo $HOME; id -u"], 0,
           "/srv/app\n/home/app\n1000\n")


def case_ep_overrides(tmp):
    expect(["-u", "root", "-w", "/tmp", "--entrypoint", "sh", IMG + "ep", "-c", "id -u; pwd"],
           0, "0\n/tmp\n")


def case_numeric_user(tmp):
    # An explicit group: no supplementary groups.
    expect([IMG + "numeric"], 0, "uid=1000(app) gid=2000(extra)\n")


def case_missing_workdir(tmp):
    expect([IMG + "nowd"], 0, "/does/not/exist/yet\n")


def case_stdin(tmp):
    p = subprocess.run([SM, "run", "--network", "none", "-i", IMG + "plain", "sh", "-c",
                        "cat; echo done"], input=b"piped line\n", capture_output=True,
                       timeout=600)
    check(p.returncode == 0 and p.stdout == b"piped line\ndone\n", "-i forwards stdin",
          p.returncode, p.stdout, p.stderr)


def read_until(fd, pattern, timeout):
    buf, end = b"", time.time() + timeout
    while time.time() < end and not re.search(pattern, buf):
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def case_tty(tmp):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(SM, [SM, "run", "--network", "none", "-t", IMG + "plain", "sh", "-c",
                      "tty; stty size; exit 7"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    out = read_until(fd, rb"\d+ \d+\s", 600)
    _, status = os.waitpid(pid, 0)
    check(re.search(rb"/dev/pts/\d+", out), "-t gives a terminal", out)
    check(b"33 101" in out, "-t passes the window size", out)
    check(os.waitstatus_to_exitcode(status) == 7, "exit status through -t", status)


def case_signal_forward(tmp):
    p = subprocess.Popen([SM, "run", "--network", "none", IMG + "plain", "sh", "-c",
                          'trap "echo got-term; exit 3" TERM; echo ready; '
                          'while :; do sleep 1; done'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline()
    check(line == b"ready\n", "the process started", line)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    check(out == b"got-term\n" and p.returncode == 3, "SIGTERM reaches the process",
          p.returncode, out, err)


def case_missing_image(tmp):
    p = subprocess.run([SM, "run", "--pull", "never", "localhost/nothing:here", "true"],
                       capture_output=True, timeout=60)
    check(p.returncode == 125, "exit 125 when supermachine fails", p.returncode)
    check(b"nothing" in p.stderr and len(p.stderr.splitlines()) == 1,
          "one line naming the image", p.stderr)


def case_bad_publish(tmp):
    p = subprocess.run([SM, "run", "-p", "80", IMG + "plain", "true"], capture_output=True,
                       timeout=60)
    check(p.returncode == 125 and b"-p" in p.stderr, "a malformed -p is refused", p.stderr)


def sm(*args, timeout=600):
    p = subprocess.run([SM, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def ps_rows(*flags):
    rc, o, e = sm("ps", *flags)
    check(rc == 0, "ps works", e)
    return [l for l in o.splitlines()[1:] if l.strip()]


def wait_for(what, cond, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.5)
    check(False, "timed out waiting for " + what)


def case_kill_wait_rename_port(tmp):
    """docker's kill (a signal to the main process), wait (its status),
    rename and port, on a detached VM."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    rc, vid, e = sm("run", "-d", "--name", "k1", "-p", f"127.0.0.1:{port}:80", IMG + "plain", "sh",
                    "-c", 'trap "echo got-hup" HUP; trap "exit 7" USR1; '
                    'echo ready; while :; do sleep 0.2; done')
    check(rc == 0, "run -d", e)
    wait_for("the VM's first output", lambda: sm("logs", "k1")[1] == "ready\n")
    rc, o, e = sm("port", "k1")
    check(rc == 0 and o == f"80/tcp -> 127.0.0.1:{port}\n", "port lists it", o, e)
    check(sm("port", "k1", "80")[1] == o, "port VM 80")
    rc, _, e = sm("port", "k1", "81")
    check(rc == 125 and "publishes no port 81" in e, "a port not published", e)
    check(sm("rename", "k1", "k2")[0] == 0, "rename")
    check(sm("logs", "k1")[0] == 125 and sm("logs", "k2")[0] == 0, "the new name, not the old")
    rc, _, e = sm("kill", "-s", "HUP", "k2")
    check(rc == 0, "kill -s HUP", e)
    wait_for("the trap to run", lambda: "got-hup" in sm("logs", "k2")[1])
    check(" Up " in ps_rows()[0], "HUP left it running", ps_rows())
    check(sm("kill", "-s", "USR1", "k2")[0] == 0, "kill -s USR1")
    rc, o, e = sm("wait", "k2")
    check(rc == 0 and o == "7\n", "wait prints the exit status", rc, o, e)
    rc, _, e = sm("kill", "k2")
    check(rc == 125 and "not running" in e, "kill of an ended VM", e)
    rc, _, e = sm("kill", "-s", "NOPE", "k2")
    check(rc == 125 and "-s wants a signal" in e, "a bad signal name", e)
    sm("rm", "k2")


def case_logs_options(tmp):
    """logs --tail, --since, --until and -t, as docker takes them."""
    rc, _, e = sm("run", "-d", "--name", "lg", "--network", "none", IMG + "plain", "sh", "-c",
                  "echo one; echo two >&2; echo three; sleep 2; echo four; printf five")
    check(rc == 0, "run -d", e)
    check(sm("wait", "lg")[1] == "0\n", "the process ends")
    rc, o, e = sm("logs", "--tail", "2", "lg")
    check(o == "four\nfive" and e == "", "--tail 2: the last two lines", repr(o), repr(e))
    rc, o, e = sm("logs", "-n", "0", "lg")
    check(rc == 0 and o == e == "", "--tail 0: nothing", repr(o), repr(e))
    rc, o, e = sm("logs", "--tail", "all", "lg")
    check(o == "one\nthree\nfour\nfive" and e == "two\n", "--tail all", repr(o), repr(e))
    rc, o, e = sm("logs", "-t", "lg")
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z "
    lines = o.split("\n")
    check(len(lines) == 4 and all(re.match(stamp + w + "$", l) for l, w in
                                   zip(lines, ["one", "three", "four", "five"])),
          "-t stamps every line", repr(o))
    check(re.fullmatch(stamp + "two\n", e), "-t on stderr too", repr(e))
    since = lines[2].split()[0]   # when "four" was written, 2 s after the rest
    rc, o, e = sm("logs", "--since", since, "lg")
    check(o == "four\nfive" and e == "", "--since an RFC 3339 time", repr(o), repr(e))
    rc, o, e = sm("logs", "--since", "1h", "lg")
    check(o == "one\nthree\nfour\nfive", "--since a duration", repr(o))
    rc, o, e = sm("logs", "--since", "2h30m", "--tail", "1", "lg")
    check(o == "five", "--since with --tail", repr(o))
    rc, o, e = sm("logs", "--until", since, "lg")
    check(o == "one\nthree\n" and e == "two\n", "--until: what came before", repr(o), repr(e))
    rc, o, e = sm("logs", "--since", "1h", "--until", since, "--tail", "1", "lg")
    check(o == "three\n", "--since, --until and --tail together", repr(o), repr(e))
    import json
    row = json.loads(sm("ps", "-a", "--format", "json")[1])
    check(row["Names"] == "lg" and row["State"] == "exited" and row["Status"] == "Exited (0)",
          "ps --format json", row)
    check(sm("ps", "-a", "--format", "{{.Names}} {{.Image}}")[1] == f"lg {IMG}plain\n",
          "ps --format with a template")
    vm = json.loads(sm("inspect", "lg")[1])[0]
    check(vm["Name"] == "lg" and vm["State"]["ExitCode"] == 0 and not vm["State"]["Running"],
          "inspect of a VM", vm)
    for bad, words in ((["--tail", "x"], "--tail wants"), (["--since", "yesterday"], "--since wants"),
                       (["--until", "x"], "--until wants")):
        rc, o, e = sm("logs", *bad, "lg")
        check(rc == 125 and words in e.splitlines()[0], f"logs {bad} refused", e)
    sm("rm", "lg")


def case_logs_bounded(tmp):
    """A process and a console printing past SUPERMACHINE_MAX_LOG_SIZE
    (64k here): each log and its .1 stay within it on the host, and logs
    gives the newest lines in order, --tail reaching into the older half."""
    os.environ["SUPERMACHINE_MAX_LOG_SIZE"] = "64k"
    pad = "x" * 60
    rc, vid, e = sm("run", "-d", "--name", "chatty", "--network", "none", IMG + "plain", "sh",
                    "-c", f'i=0; while [ $i -lt 3000 ]; do echo "$i {pad}"; '
                    f'echo "c$i {pad[:20]}" > /dev/console; i=$((i+1)); done')
    del os.environ["SUPERMACHINE_MAX_LOG_SIZE"]
    check(rc == 0, "run -d", e)
    check(sm("wait", "chatty")[1] == "0\n", "the process ends")
    vm_dir = os.path.join(os.environ["XDG_RUNTIME_DIR"], "supermachine", vid.strip()[:12])
    size = lambda n: os.path.getsize(os.path.join(vm_dir, n)) \
        if os.path.exists(os.path.join(vm_dir, n)) else 0
    for log in ("process.log", "console.log"):
        check(size(log + ".1") > 0, f"{log} was rotated", os.listdir(vm_dir))
        check(size(log) + size(log + ".1") <= 64 << 10, f"{log} within its budget",
              size(log), size(log + ".1"))
    rc, o, e = sm("logs", "chatty")
    nums = [int(l.split()[0]) for l in o.splitlines()]
    check(rc == 0 and e == "" and nums[-1] == 2999 and
          nums == list(range(nums[0], 3000)) and len(nums) >= 350,
          "logs: the newest lines, in order", nums[:3], nums[-3:], e)
    rc, o, e = sm("logs", "--tail", str(len(nums) - 5), "chatty")
    check([int(l.split()[0]) for l in o.splitlines()] == nums[5:], "--tail across the rotation")
    with open(os.path.join(vm_dir, "console.log")) as f:
        check(f.read().rstrip().endswith(f"c2999 {pad[:20]}"), "the console's newest line")
    sm("rm", "chatty")


def case_cp(tmp):
    """cp of files into and out of a running VM, keeping the mode; into a
    directory under the file's name; refusals in one line."""
    rc, _, e = sm("run", "-d", "--name", "cpvm", "--network", "none", IMG + "plain",
                  "sleep", "600")
    check(rc == 0, "run -d", e)
    src = os.path.join(tmp, "hello.sh")
    payload = os.urandom(300000)
    with open(src, "wb") as f:
        f.write(payload)
    os.chmod(src, 0o751)
    check(sm("cp", src, "cpvm:/tmp/in.sh")[0] == 0, "cp into the VM")
    rc, o, _ = sm("exec", "cpvm", "sh", "-c", "stat -c %a /tmp/in.sh; md5sum < /tmp/in.sh")
    import hashlib
    check(o == f"751\n{hashlib.md5(payload).hexdigest()}  -\n", "bytes and mode arrive", o)
    check(sm("cp", src, "cpvm:/root")[0] == 0, "cp into a directory")
    check(sm("exec", "cpvm", "test", "-f", "/root/hello.sh")[0] == 0, "under its own name")
    out = os.path.join(tmp, "out")
    check(sm("cp", "cpvm:/tmp/in.sh", out)[0] == 0, "cp out of the VM")
    check(open(out, "rb").read() == payload and os.stat(out).st_mode & 0o777 == 0o751,
          "bytes and mode come back")
    os.mkdir(os.path.join(tmp, "d"))
    check(sm("cp", "cpvm:/etc/hostname", os.path.join(tmp, "d"))[0] == 0, "out into a dir")
    check(os.path.exists(os.path.join(tmp, "d", "hostname")), "under its own name")
    for args, words in ((["cpvm:/nope", out], "nope"), (["cpvm:/etc", out], "directory"),
                        ([src, os.path.join(tmp, "x")], "must be VM:PATH"),
                        (["novm:/etc/hostname", out], "no such VM")):
        rc, _, e = sm("cp", *args)
        check(rc == 125 and words in e.splitlines()[0], f"cp {args} refused", e)
    sm("rm", "-f", "cpvm")


def tree_listing(root):
    """Every entry under root: (path, kind, permission bits, content or link
    target), sorted."""
    out = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out.append((rel, "l", 0, os.readlink(p)))
            elif os.path.isdir(p):
                out.append((rel, "d", st.st_mode & 0o7777, None))
            else:
                out.append((rel, "f", st.st_mode & 0o7777, open(p, "rb").read()))
    return sorted(out)


def sm_io(*args, data=b""):
    p = subprocess.run([SM, *args], input=data, capture_output=True, timeout=600)
    return p.returncode, p.stdout, p.stderr.decode()


def case_cp_dirs(tmp):
    """cp of trees as docker cp: nested and empty directories, a symlink,
    modes, a name with spaces; in, out, SRC/., tar streams both ways (read
    and made by Python's tarfile); root-owned in the VM unless -a;
    refusals of a missing path and of a tar entry climbing out."""
    import io, tarfile
    rc, _, e = sm("run", "-d", "--name", "cpd", "--network", "none", IMG + "plain",
                  "sleep", "600")
    check(rc == 0, "run -d", e)
    src = os.path.join(tmp, "tree")
    os.makedirs(os.path.join(src, "sub", "deeper"))
    os.mkdir(os.path.join(src, "empty"))
    with open(os.path.join(src, "with space.txt"), "w") as f:
        f.write("spaced\n")
    with open(os.path.join(src, "sub", "deeper", "f"), "wb") as f:
        f.write(os.urandom(200000))
    os.chmod(os.path.join(src, "sub", "deeper", "f"), 0o741)
    os.symlink("../with space.txt", os.path.join(src, "sub", "link"))
    os.chmod(os.path.join(src, "sub"), 0o750)
    want = tree_listing(src)
    rc, _, e = sm("cp", src, "cpd:/tmp")
    check(rc == 0, "cp of a tree into an existing directory", e)
    rc, o, e = sm("exec", "cpd", "sh", "-c",
                  "cd /tmp/tree && find . | sort | tr '\\n' ' '; echo; "
                  "stat -c '%a %u %g' sub sub/deeper/f; readlink sub/link; cat sub/link")
    check(o == ". ./empty ./sub ./sub/deeper ./sub/deeper/f ./sub/link ./with space.txt \n"
          "750 0 0\n741 0 0\n../with space.txt\nspaced\n",
          "the tree arrives, root-owned, modes and link kept", o, e)
    back = os.path.join(tmp, "back")
    rc, _, e = sm("cp", "cpd:/tmp/tree", back)
    check(rc == 0 and tree_listing(back) == want, "the tree comes back as DST", e)
    rc, _, e = sm("cp", "cpd:/tmp/tree", back)
    check(rc == 0 and tree_listing(os.path.join(back, "tree")) == want,
          "into an existing directory under its own name", e)
    content = os.path.join(tmp, "content")
    os.mkdir(content)
    rc, _, e = sm("cp", "cpd:/tmp/tree/.", content)
    check(rc == 0 and tree_listing(content) == want, "SRC/. copies the content out", e)
    sm("exec", "cpd", "mkdir", "/tmp/c")
    rc, _, e = sm("cp", src + "/.", "cpd:/tmp/c")
    rc2, o, _ = sm("exec", "cpd", "ls", "/tmp/c")
    check(rc == 0 and o.split("\n")[:3] == ["empty", "sub", "with space.txt"],
          "SRC/. copies the content in", o, e)
    # A tar stream out, read by Python's tarfile.
    rc, out, e = sm_io("cp", "cpd:/tmp/tree", "-")
    check(rc == 0, "cp to -", e)
    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        members = {m.name: m for m in t.getmembers()}
        check(set(members) == {"tree"} | {"tree/" + w[0] for w in want},
              "the stream holds the tree", sorted(members))
        f = members["tree/sub/deeper/f"]
        check(f.isfile() and f.mode & 0o7777 == 0o741 and
              t.extractfile(f).read() == dict((w[0], w[3]) for w in want)["sub/deeper/f"],
              "a file with its mode and bytes", f.mode)
        check(members["tree/sub/link"].issym() and
              members["tree/sub/link"].linkname == "../with space.txt", "the symlink")
        check(members["tree/empty"].isdir(), "the empty directory")
    # A tar stream in, made by Python's tarfile.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("t/d")
        d.type, d.mode = tarfile.DIRTYPE, 0o705
        t.addfile(d)
        a = tarfile.TarInfo("t/d/a b.txt")
        a.size, a.mode, a.uid, a.gid = 3, 0o640, 1234, 4321
        t.addfile(a, io.BytesIO(b"abc"))
        l = tarfile.TarInfo("t/l")
        l.type, l.linkname = tarfile.SYMTYPE, "d/a b.txt"
        t.addfile(l)
    sm("exec", "cpd", "mkdir", "/tmp/tin", "/tmp/tin2")
    rc, _, e = sm_io("cp", "-", "cpd:/tmp/tin", data=buf.getvalue())
    check(rc == 0, "cp from -", e)
    rc, o, e = sm("exec", "cpd", "sh", "-c",
                  "cd /tmp/tin/t && stat -c '%a %u %g' d 'd/a b.txt' && cat l")
    check(o == "705 0 0\n640 0 0\nabc", "the tar arrives, root-owned", o, e)
    rc, _, e = sm_io("cp", "-a", "-", "cpd:/tmp/tin2", data=buf.getvalue())
    rc, o, e = sm("exec", "cpd", "stat", "-c", "%u %g", "/tmp/tin2/t/d/a b.txt")
    check(o == "1234 4321\n", "-a keeps the tar's owner", o, e)
    # Refusals: one line, exit 125.
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w") as t:
        x = tarfile.TarInfo("../x")
        x.size = 1
        t.addfile(x, io.BytesIO(b"x"))
    rc, _, e = sm_io("cp", "-", "cpd:/tmp/tin", data=bad.getvalue())
    check(rc == 125 and "refused" in e and len(e.splitlines()) == 1, "a tar with ../x", e)
    check(sm("exec", "cpd", "test", "-e", "/tmp/x")[0] != 0, "nothing escaped")
    for args, words in ((["cpd:/nope", back], "nope"), ([os.path.join(tmp, "nope"), "cpd:/tmp"], "nope"),
                        ([src, "cpd:/etc/hostname"], "directory"),
                        (["-", "cpd:/etc/hostname"], "not a directory")):
        rc, _, e = sm("cp", *args)
        check(rc == 125 and words in e and len(e.splitlines()) == 1, f"cp {args} refused", e)
    sm("rm", "-f", "cpd")


def case_pause_stats(tmp):
    """pause freezes the guest (its clock too), unpause lets it on; stats
    reads the worker's cost; stop works on a paused VM."""
    rc, _, e = sm("run", "-d", "--name", "pz", "--network", "none", IMG + "plain", "sh", "-c",
                  "i=0; while :; do i=$((i+1)); echo $i > /tmp/t; mv /tmp/t /tmp/n; done")
    check(rc == 0, "run -d", e)
    check(sm("pause", "pz")[0] == 0, "pause")
    rows = ps_rows()
    check("Up (Paused)" in rows[0], "ps shows it paused", rows)
    rc, _, e = sm("exec", "pz", "true")
    check(rc == 125 and "is paused" in e, "exec refused while paused", e)
    rc, _, e = sm("pause", "pz")
    check(rc == 125 and "paused already" in e, "pause twice", e)
    rc, o, e = sm("stats", "--no-stream", "pz")
    cpu = float(o.splitlines()[1].split()[2].rstrip("%"))
    check(rc == 0 and cpu < 20, "a paused VM uses no CPU", o, e)
    check(sm("unpause", "pz")[0] == 0, "unpause")
    wait_for("the counter", lambda: sm("exec", "pz", "cat", "/tmp/n")[0] == 0)
    first = sm("exec", "pz", "cat", "/tmp/n")[1]
    time.sleep(1)
    check(int(sm("exec", "pz", "cat", "/tmp/n")[1]) > int(first), "it runs on after unpause")
    rc, o, e = sm("stats", "--no-stream", "pz")
    fields = o.splitlines()[1].split()
    check(rc == 0 and fields[1] == "pz" and float(fields[2].rstrip("%")) > 20,
          "a busy VM uses CPU", o, e)
    rc, _, e = sm("unpause", "pz")
    check(rc == 125 and "not paused" in e, "unpause of a running VM", e)
    check(sm("pause", "pz")[0] == 0, "pause again")
    rc, _, e = sm("stop", "-t", "20", "pz")
    check(rc == 0 and not ps_rows(), "stop of a paused VM", e, ps_rows())
    rc, _, e = sm("stats", "--no-stream", "pz")
    check(rc == 125 and "not running" in e, "stats of an ended VM", e)
    sm("rm", "pz")


def case_top(tmp):
    """top lists the image's processes in the VM, not the kernel's threads."""
    rc, _, e = sm("run", "-d", "--name", "tp", "--network", "none", "-u", "1000",
                  IMG + "plain", "sh", "-c", "sleep 1000 & exec sleep 2000")
    check(rc == 0, "run -d", e)

    def rows():
        out = sm("top", "tp")[1].splitlines()
        return {l.split(None, 7)[7]: l.split() for l in out[1:]}
    wait_for("both sleeps", lambda: {"sleep 1000", "sleep 2000"} <= set(rows()))
    r = rows()
    check(all(not c.startswith("[") for c in r), "no kernel threads", r)
    check(r["sleep 1000"][2] == r["sleep 2000"][1], "the parent of the background sleep", r)
    check(r["sleep 2000"][0] == "1000", "the uid it runs as", r)
    rc, _, e = sm("top", "nope")
    check(rc == 125 and "no such VM" in e, "top of a missing VM", e)
    sm("rm", "-f", "tp")


def case_attach(tmp):
    """attach follows the main process from now on and passes Ctrl-C to it;
    its exit status is the process's."""
    rc, _, e = sm("run", "-d", "--name", "at", "--network", "none", IMG + "plain", "sh", "-c",
                  'trap "echo got-int; exit 3" INT; echo before; '
                  'while :; do echo tick; sleep 0.3; done')
    check(rc == 0, "run -d", e)
    wait_for("its first output", lambda: "before" in sm("logs", "at")[1])
    p = subprocess.Popen([SM, "attach", "at"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline()
    check(first == b"tick\n", "attach streams new output", first)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    check(p.returncode == 3, f"attach exits with the process's status, not {p.returncode}", err)
    check(b"got-int" in out and b"before" not in out, "Ctrl-C reached the process", out)
    sm("rm", "at")


def case_create_start(tmp):
    """docker's create, start and restart: a created VM is listed as Created
    and starts detached with its command; started again after it ended it
    keeps its id and name, resumes the bake, and its log goes on; restart
    of a server serves again; start of a running VM does nothing; create
    --rm is removed when it ends; errors are one line, exit 125."""
    rc, vid, e = sm("create", "--name", "cs", "--network", "none", "-e", "WHO=vm",
                    IMG + "plain", "sh", "-c", 'echo "hello $WHO"; exit 3')
    check(rc == 0 and re.fullmatch(r"[0-9a-f]{64}\n", vid), "create prints the id", vid, e)
    rows = ps_rows("-a")
    check(len(rows) == 1 and " Created " in rows[0] and rows[0].endswith("cs"),
          "ps -a lists it Created", rows)
    check(ps_rows() == [], "ps: it does not run")
    check(sm("ps", "-a", "--format", "{{.State}}")[1] == "created\n", "State: created")
    # As docker's: a wait on a created VM waits for it to be started and end.
    waiter = subprocess.Popen([SM, "wait", "cs"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1)
    check(waiter.poll() is None, "wait on a created VM waits", waiter.returncode)
    rc, o, e = sm("start", "cs")
    check(rc == 0 and o == "cs\n", "start prints the name", rc, o, e)
    out, err = waiter.communicate(timeout=300)
    check(waiter.returncode == 0 and out == b"3\n", "that wait gives its status", out, err)
    check(sm("wait", "cs")[1] == "3\n", "its process ran to its status")
    check(sm("logs", "cs")[1] == "hello vm\n", "its output is in the log", sm("logs", "cs"))
    rc, o, e = sm("start", "cs")
    check(rc == 0 and o == "cs\n", "start again once it ended", e)
    check(sm("wait", "cs")[1] == "3\n", "it ran again")
    check(sm("logs", "cs")[1] == "hello vm\nhello vm\n", "the log goes on", sm("logs", "cs"))
    rows = ps_rows("-a")
    check(len(rows) == 1 and rows[0].startswith(vid[:12]) and " Exited (3) " in rows[0] and
          rows[0].endswith("cs"), "the same id and name", rows)
    run_dir = os.path.join(os.environ["XDG_RUNTIME_DIR"], "supermachine", vid[:12])
    check(os.path.exists(os.path.join(run_dir, "restore.timing")), "the start resumed the bake")
    rc, o, e = sm("start", "-a", "cs")
    check(rc == 3 and o == "hello vm\n", "start -a follows it to its status", rc, o, e)
    # The image's own server (run -d IMAGE): start of it running does
    # nothing; restart serves again, with the same id (its hostname).
    port = free_port()
    rc, sid, e = sm("run", "-d", "--name", "srv", "-p", f"127.0.0.1:{port}:80", IMG + "web")
    check(rc == 0, "run -d a server", e)

    def serves():
        import urllib.request
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=5) as r:
                return r.read().decode() == sid[:12] + "\n"
        except OSError:
            return False
    wait_for("it to serve", serves)
    rc, o, e = sm("start", "srv")
    check(rc == 0 and o == "srv\n", "start of a running VM succeeds", rc, o, e)
    rc, o, e = sm("restart", "-t", "2", "srv")
    check(rc == 0 and o == "srv\n", "restart", rc, o, e)
    rows = ps_rows()
    check(len(rows) == 1 and rows[0].startswith(sid[:12]) and " Up " in rows[0],
          "it runs again with its id", rows)
    wait_for("it to serve again", serves)
    check(sm("rm", "-f", "srv")[0] == 0, "rm -f")
    # create --rm: removed when it ends, as docker does.
    rc, _, e = sm("create", "--rm", "--name", "gone", "--network", "none", IMG + "plain", "true")
    check(rc == 0 and sm("start", "gone")[0] == 0, "create --rm, start", e)
    wait_for("it to be removed", lambda: all("gone" not in r for r in ps_rows("-a")))
    # Errors: one line, exit 125.
    rc, o, e = sm("start", "nope")
    check(rc == 125 and "no such VM: nope" in e and len(e.splitlines()) == 1, "an unknown VM", e)
    os.remove(os.path.join(run_dir, "spec.json"))  # as an older version left it
    for cmd in ("start", "restart"):
        rc, o, e = sm(cmd, "cs")
        check(rc == 125 and "no start record" in e and len(e.splitlines()) == 1,
              cmd + " of a VM without a record", rc, e)
    rc, _, e = sm("create", "-d", IMG + "plain")
    check(rc == 125 and "-d" in e, "create -d is refused", e)
    # The image's own process (nothing overridden), as run -d IMAGE starts it.
    check(sm("create", "--name", "c2", "--network", "none", IMG + "plain")[0] == 0,
          "create without a command")
    check(sm("start", "c2")[0] == 0 and sm("wait", "c2")[1] == "0\n", "its Cmd ran")
    check(sm("create", "--name", "c3", IMG + "plain")[0] == 0, "one more created VM")
    check(sm("rm", "c3")[0] == 0, "rm of a created VM")
    # --disk keeps the root's writable layer from one start to the next
    # (what reached the disk: the VM stops without the guest's sync).
    disk = os.path.join(tmp, "upper.ext4")
    rc, _, e = sm("create", "--name", "dk", "--network", "none", "--disk", disk, IMG + "plain",
                  "sh", "-c", "cat /keep 2>/dev/null; echo kept > /keep; sync")
    check(rc == 0 and sm("start", "-a", "dk")[1] == "", "create --disk; nothing kept yet", e)
    rc, o, e = sm("start", "-a", "dk")
    check(rc == 0 and o == "kept\n", "the next start finds the last one's file", rc, o, e)
    # restart keeps an --rm VM.
    check(sm("run", "-d", "--rm", "--name", "rr", "--network", "none", IMG + "plain", "sleep",
             "600")[0] == 0, "run -d --rm")
    rc, o, e = sm("restart", "-t", "0", "rr")
    check(rc == 0 and any(r.endswith(" rr") and " Up " in r for r in ps_rows()),
          "restart keeps an --rm VM", rc, e, ps_rows("-a"))
    check(sm("rm", "-f", "rr")[0] == 0, "rm -f")
    check(sm("rm", "c2")[0] == 0 and sm("rm", "cs")[0] == 0 and sm("rm", "dk")[0] == 0 and
          ps_rows("-a") == [], "rm of ended VMs")


def case_detached(tmp):
    rc, vid, e = sm("run", "-d", "--name", "web", "--network", "none", IMG + "plain", "sh",
                    "-c", 'echo started; echo warned >&2; trap "echo stopping; exit 5" TERM; '
                    'while :; do sleep 1; done')
    check(rc == 0 and re.fullmatch(r"[0-9a-f]{64}\n", vid), "run -d prints the id", rc, vid, e)
    rows = ps_rows()
    check(len(rows) == 1 and rows[0].startswith(vid[:12]) and " Up " in rows[0] and
          rows[0].rstrip().endswith("web"), "ps shows it up, by id and name", rows)
    # The two streams reach the log separately: wait for both.
    wait_for("its first output", lambda: sm("logs", "web")[1:] == ("started\n", "warned\n"))
    rc, o, e = sm("logs", "web")
    check(o == "started\n" and e == "warned\n", "logs keeps stdout and stderr apart", o, e)
    rc, o, e = sm("exec", "web", "sh", "-c", "echo $HOSTNAME; cat /etc/hostname; exit 3")
    host = vid[:12]
    check(rc == 3 and o == f"{host}\n{host}\n", "exec runs in the VM, with its status", rc, o, e)
    rc, o, e = sm("rm", "web")
    check(rc == 125 and "running" in e, "rm refuses a running VM", rc, e)
    rc, o, e = sm("stop", "-t", "30", "web")
    check(rc == 0, "stop", e)
    rows = ps_rows("-a")
    check(len(rows) == 1 and "Exited (5)" in rows[0], "ps -a shows the exit status", rows)
    check(ps_rows() == [], "ps without -a hides ended VMs")
    rc, o, e = sm("logs", "web")
    check(o == "started\nstopping\n", "the log keeps what came after the stop signal", o)
    check(sm("rm", "web")[0] == 0 and ps_rows("-a") == [], "rm forgets it")
    check(sm("logs", "web")[0] == 125, "logs of a removed VM fails")
    # The name is free again.
    rc, o, e = sm("run", "-d", "--rm", "--name", "web", "--network", "none", IMG + "plain",
                  "sh", "-c", "echo bye")
    check(rc == 0, "--rm -d reuses the name", e)
    wait_for("the --rm VM to go", lambda: ps_rows("-a") == [])
    base = os.path.join(os.environ["XDG_RUNTIME_DIR"], "supermachine")
    left = [n for n in os.listdir(base) if n != "names"] + os.listdir(os.path.join(base, "names"))
    check(left == [], "--rm leaves nothing behind", left)


def case_orphan(tmp):
    """A worker whose owner dies stops; the next ps cleans its files."""
    p = subprocess.Popen([SM, "run", "--name", "orphan", "--network", "none", IMG + "plain",
                          "sh", "-c", "echo up; sleep 1000"], stdout=subprocess.PIPE)
    check(p.stdout.readline() == b"up\n", "the attached VM runs")
    rows = ps_rows()
    check(len(rows) == 1 and 'sh -c "echo up; sleep' in rows[0] and "orphan" in rows[0],
          "ps lists an attached VM with its command and name", rows)
    p.kill()
    p.wait()
    wait_for("the orphaned worker to stop", lambda: ps_rows("-a") == [])
    base = os.path.join(os.environ["XDG_RUNTIME_DIR"], "supermachine")
    left = [n for n in os.listdir(base) if n != "names"] + os.listdir(os.path.join(base, "names"))
    check(left == [], "nothing of the orphan is left", left)


def case_name_conflict(tmp):
    check(sm("run", "-d", "--name", "dup", "--network", "none", IMG + "plain", "sleep",
             "1000")[0] == 0, "first VM named dup")
    rc, o, e = sm("run", "-d", "--name", "dup", "--network", "none", IMG + "plain", "true")
    check(rc == 125 and "already in use" in e, "a second VM cannot take the name", rc, e)
    check(len(ps_rows("-a")) == 1, "the refused VM left no record")
    check(sm("rm", "-f", "dup")[0] == 0 and ps_rows("-a") == [], "rm -f stops and removes")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_listener():
    """A TCP server on host loopback that records what one client sends."""
    import socket, threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def serve():
        conn, _ = srv.accept()
        got.append(conn.recv(100))
        conn.close()
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], got


def nginx_image():
    fixture = os.path.join(HERE, "..", "fixtures", "debian-image.sh")
    p = subprocess.run(["bash", fixture, "nginx"], capture_output=True, text=True)
    if p.returncode == 77:
        print("skipped:", p.stderr.strip())
        sys.exit(77)
    check(p.returncode == 0, "the nginx fixture builds", p.stderr)
    layout = p.stdout.strip().rsplit(":", 1)[0]
    marker = subprocess.run(["bash", fixture, "--marker"], capture_output=True,
                            text=True).stdout.strip()
    rc, o, e = sm("import", "--name", "localhost/nginx-test:latest", layout)
    check(rc == 0, "import the nginx image", e)
    return "localhost/nginx-test:latest", marker


def http_get(port):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def case_nginx_publish(tmp):
    image, marker = nginx_image()
    port = free_port()
    rc, vid, e = sm("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", image)
    check(rc == 0, "run -d -p", e)
    rows = ps_rows()
    check(f"127.0.0.1:{port}->80/tcp" in rows[0], "ps shows the published port", rows)
    wait_for("nginx to serve", lambda: marker in http_get(port), timeout=600)
    # The guest reaches a server on the host through the user-mode network.
    hport, got = host_listener()
    rc, o, e = sm("exec", "web", "bash", "-c", f"echo from-guest >/dev/tcp/10.0.2.2/{hport}")
    check(rc == 0, "the guest connects to the host", rc, e)
    wait_for("the host to hear the guest", lambda: got == [b"from-guest\n"], timeout=60)
    # nginx's image says StopSignal SIGQUIT: a graceful stop exits 0.
    check(sm("stop", "web")[0] == 0, "stop nginx")
    rows = ps_rows("-a")
    check("Exited (0)" in rows[0], "nginx stopped gracefully on its StopSignal", rows)
    check(http_get(port) == "", "the port is closed once the VM has stopped")
    sm("rm", "web")


def case_network_none(tmp):
    image, _ = nginx_image()
    hport, got = host_listener()
    rc, o, e = run(image, "bash", "-c",
                   f"ls /sys/class/net; tail -n +2 /proc/net/route; "
                   f"echo x >/dev/tcp/10.0.2.2/{hport} && echo connected")
    check(rc != 0 and "connected" not in o, "no route out without a network", rc, o, e)
    check(o.split() == ["lo"], "loopback is the only interface", o)
    check(got == [], "nothing reached the host")


NETNS = "smnet1"
NETNS_HOST_IF = "smnh1"


def netns_teardown():
    subprocess.run(f"ip link del {NETNS_HOST_IF}; ip netns del {NETNS}", shell=True,
                   stderr=subprocess.DEVNULL)


def netns_setup():
    """CNI's part for a pod: a namespace whose eth0 (a veth, MTU 1400) is
    10.202.0.2/24 with a default route via the host end, 10.202.0.1."""
    netns_teardown()
    n = f"ip -n {NETNS}"
    subprocess.run(f"set -e; ip netns add {NETNS}; "
                   f"ip link add {NETNS_HOST_IF} type veth peer name eth0 netns {NETNS}; "
                   f"ip addr add 10.202.0.1/24 dev {NETNS_HOST_IF}; "
                   f"ip link set {NETNS_HOST_IF} up; {n} link set lo up; "
                   f"{n} link set eth0 mtu 1400 up; {n} addr add 10.202.0.2/24 dev eth0; "
                   f"{n} route add default via 10.202.0.1", shell=True, check=True)
    link = subprocess.run(["ip", "-n", NETNS, "-o", "link", "show", "eth0"],
                          capture_output=True, text=True, check=True).stdout
    return re.search(r"link/ether ([0-9a-f:]{17})", link).group(1)


def netns_listener():
    """A TCP server on the host end of the veth that records one client."""
    import socket, threading
    srv = socket.socket()
    srv.bind(("10.202.0.1", 0))
    srv.listen(1)
    got = []

    def serve():
        conn, _ = srv.accept()
        got.append(conn.recv(100))
        conn.close()
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], got


def netns_get(path):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://10.202.0.2:8080{path}", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def case_netns(tmp):
    """--network ns:PATH, as a VM in a pod's namespace that CNI made: the
    guest's eth0 has the namespace interface's address, MTU and MAC, the
    host end of the veth reaches a server in the guest at that address,
    the guest reaches the host, and the tap goes when the VM does."""
    if os.geteuid() != 0:
        print("skipped: a network namespace and a veth pair need root")
        sys.exit(77)
    ns = f"ns:/var/run/netns/{NETNS}"
    mac = netns_setup()
    try:
        hport, got = netns_listener()
        p = subprocess.run(
            [SM, "run", "--network", ns, IMG + "plain", "sh", "-c",
             "ip -o addr show eth0; ip -o link show eth0; ip route; cat /etc/hosts; "
             "ping -c 1 -W 10 10.202.0.1 >/dev/null && echo ping-ok; "
             f"echo from-guest | nc 10.202.0.1 {hport} && echo nc-ok"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
        o = p.stdout
        check(p.returncode == 0, "run --network ns:", p.returncode, o, p.stderr)
        check(re.search(r"eth0\s+inet 10\.202\.0\.2/24", o), "eth0 has the namespace's "
              "address", o)
        check(re.search(r"eth0: .*mtu 1400", o), "eth0 has the namespace's MTU", o)
        check(f"link/ether {mac}" in o, f"eth0 has the namespace's MAC {mac}", o)
        check("default via 10.202.0.1 dev eth0" in o, "the namespace's default route", o)
        check(re.search(r"^10\.202\.0\.2\t", o, re.M), "/etc/hosts names the guest's "
              "address", o)
        check("ping-ok" in o, "the guest pings the host end", o, p.stderr)
        check("nc-ok" in o, "the guest connects to the host end", o, p.stderr)
        wait_for("the host to hear the guest", lambda: got == [b"from-guest\n"], timeout=60)
        # A server in the guest answers the host at the namespace's address.
        rc, vid, e = sm("run", "-d", "--name", "nsweb", "--network", ns, IMG + "plain",
                        "httpd", "-f", "-p", "8080", "-h", "/etc")
        check(rc == 0, "run -d --network ns:", e)
        rc, hostname, e = sm("exec", "nsweb", "hostname")
        wait_for("the guest's server to answer at 10.202.0.2",
                 lambda: hostname.strip() and hostname.strip() in netns_get("/hostname"),
                 timeout=300)
        tap = ["ip", "-n", NETNS, "link", "show", "smeth0"]
        check(subprocess.run(tap, capture_output=True).returncode == 0,
              "the tap is there while the VM runs")
        # Its address is the namespace's: no copy of it may run elsewhere.
        rc, o, e = sm("snapshot", "nsweb", os.path.join(tmp, "snap"))
        check(rc != 0 and "network namespace cannot be snapshotted" in e,
              "a snapshot is refused", rc, e)
        check(netns_get("/hostname"), "the VM serves on after the refusal")
        check(sm("rm", "-f", "nsweb")[0] == 0, "rm -f")
        wait_for("the tap to go with the VM",
                 lambda: subprocess.run(tap, capture_output=True).returncode != 0, timeout=60)
        # What such a VM cannot have.
        rc, o, e = sm("run", "--network", ns, "-p", "8080:80", IMG + "plain", "true")
        check(rc == 125 and "publishes no ports" in e, "ports are refused", rc, e)
    finally:
        netns_teardown()


def case_volumes(tmp):
    share = os.path.join(tmp, "share")
    os.mkdir(share)
    with open(os.path.join(share, "in"), "w") as f:
        f.write("from-host\n")
    conf = os.path.join(tmp, "app.conf")
    with open(conf, "w") as f:
        f.write("setting=1\n")
    script = ("cat /data/in; echo from-guest > /data/out; cat /etc/app.conf; "
              "(echo changed > /etc/app.conf) 2>/dev/null && echo wrote-ro || echo ro-refused; "
              "ls /etc/app.conf")
    o, e = expect(["-v", f"{share}:/data", "-v", f"{conf}:/etc/app.conf:ro", IMG + "plain",
                   "sh", "-c", script], 0)
    check(o == "from-host\nsetting=1\nro-refused\n/etc/app.conf\n",
          "-v shares a directory read-write and a file read-only", o, e)
    with open(os.path.join(share, "out")) as f:
        check(f.read() == "from-guest\n", "the guest's write is on the host")
    with open(conf) as f:
        check(f.read() == "setting=1\n", "the read-only file is unchanged")
    rc, o, e = run("-v", "/does/not/exist:/x", IMG + "plain", "true")
    check(rc == 125 and "/does/not/exist" in e, "a missing host path is refused", rc, e)


def vm_dir(vm):
    return os.path.join(os.environ["XDG_RUNTIME_DIR"], "supermachine", vm[:12])


def worker_log(vm):
    with open(os.path.join(vm_dir(vm), "worker.log")) as f:
        return f.read()


def check_jail(vm, share):
    """Run as root, the worker's root is a jail holding its own paths
    alone (src/worker/jail.h): seen from here through /proc/PID/root."""
    with open(os.path.join(vm_dir(vm), "worker.pid")) as f:
        proc = f"/proc/{f.read().split()[0]}"
    root = proc + "/root"
    share, own = os.path.realpath(share), os.path.realpath(vm_dir(vm))
    check(os.readlink(proc + "/ns/mnt") != os.readlink("/proc/self/ns/mnt"),
          "the worker has its own mount namespace")
    check(not os.path.exists(root + "/etc/passwd") and not os.path.exists(root + "/usr"),
          "nothing of the host's is in the jail", os.listdir(root))
    check(os.path.exists(root + share + "/f") and os.path.exists(root + own + "/worker.log"),
          "its share and directory are, at their host paths", os.listdir(root))


def case_confinement(tmp):
    """The worker is confined by default (docs/security.md): a syscall off
    its allow-list stops the VM with a sentence naming it, and a host file
    outside its VM directory, disks and shares cannot be opened, while a
    share can. SUPERMACHINE_TEST_CONFINEMENT makes the worker try, right
    after confinement, what a guest that took it over would."""
    secret = os.path.join(tmp, "secret")
    share = os.path.join(tmp, "share")
    os.mkdir(share)
    for path in (secret, os.path.join(share, "f")):
        with open(path, "w") as f:
            f.write("x\n")
    env = dict(os.environ)
    try:
        # An exec is not on the list: the start fails, saying which call.
        os.environ["SUPERMACHINE_TEST_CONFINEMENT"] = "exec"
        for flags in (["--rm"], ["-d"]):
            rc, o, e = run(*flags, "--no-snapshot", IMG + "plain", "true")
            check(rc == 125 and "confinement stopped the VM" in e and "execve" in e,
                  f"a refused execve is reported ({flags})", rc, e)
        # Refused where SIGSYS is blocked, the kernel kills the worker
        # without a word from it: the library says what the signal means.
        os.environ["SUPERMACHINE_TEST_CONFINEMENT"] = "exec-sigsys-blocked"
        rc, o, e = run("--rm", "--no-snapshot", IMG + "plain", "true")
        check(rc == 125 and "killed by signal 31" in e and "confinement refused" in e,
              "a silent seccomp kill is explained", rc, e)
        # A file beside the VM's directory is out of reach (not even there
        # for root, whose worker is jailed); a share is not.
        hidden = "No such file or directory" if os.geteuid() == 0 else "Permission denied"
        for path, want in ((secret, hidden), (os.path.join(share, "f"), "opened")):
            os.environ["SUPERMACHINE_TEST_CONFINEMENT"] = "open:" + path
            rc, o, e = run("-d", "--no-snapshot", "-v", f"{share}:/data", IMG + "plain",
                           "sleep", "600")
            check(rc == 0, "a VM starts confined", rc, e)
            vm = o.strip()
            log = worker_log(vm)
            check("syscalls allowed on every thread" in log, "seccomp is on by default", log)
            if os.geteuid() == 0:
                check("not jailed" not in log, "root's worker is jailed", log)
                check_jail(vm, share)
            if "has no landlock" in log and os.geteuid() != 0:
                print("this kernel has no landlock: the open test is skipped")
            else:
                check(f"test: open {path}: {want}" in log, f"open {path}: {want}", log)
            out = subprocess.run([SM, "exec", vm, "cat", "/data/f"], capture_output=True)
            check(out.stdout == b"x\n", "the confined VM runs on", out)
            subprocess.run([SM, "rm", "-f", vm], capture_output=True)
    finally:
        os.environ.clear()
        os.environ.update(env)


def main():
    case = sys.argv[1]
    data = setup()
    try:
        globals()["case_" + case](data)
    finally:
        subprocess.run(["rm", "-rf", data])
    print("ok", case)


if __name__ == "__main__":
    main()
