#!/usr/bin/env python3
"""What podman and containerd users rely on from an OCI runtime, driven
through the real podman, the real containerd (ctr, io.containerd.runc.v2
shim) and the runtime's own CLI, each with private state (oci_harness).

oci_runtime_test.py CASE [RUNTIME]

RUNTIME is a path or a name on PATH (default $OCI_RUNTIME, else runc): the
same cases run against runc, crun and supermachine-oci. OCI_TRACE=FILE
logs every call made to the runtime. Exit 77: skipped (not root, a tool
missing, the runtime not built)."""
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_harness as h  # noqa: E402
from oci_harness import IMAGE, check, fail, ok  # noqa: E402

RUNTIME = None   # set in main
MARK = 100000 + os.getpid() % 100000   # a sleep argument no other test uses


# ---------------------------------------------------------------- podman

def podman(name):
    h.needs("podman", "conmon")
    ws = h.Workspace(name)
    pm = h.Podman(ws, RUNTIME)
    pm.load(h.make_image(ws))
    return ws, pm


def case_podman_run_exit():
    _, pm = podman("run-exit")
    p = pm("run", "--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 7")
    check(p.returncode == 7, "podman run exits with the container's status 7", p)
    check(p.stdout == "out\n", "the container's stdout on podman's stdout", p)
    check("err\n" in p.stderr, "the container's stderr on podman's stderr", p)
    check(pm("ps", "-aq").stdout.strip() == "", "--rm removed the container", pm("ps", "-a"))


def read_until(fd, want, timeout=120):
    """What a pty gives until `want` appears in it."""
    got, end = b"", time.monotonic() + timeout
    while want not in got:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            fail(f"the terminal did not show {want!r} within {timeout}s; it showed {got!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            fail(f"the terminal closed before showing {want!r}; it showed {got!r}")
        got += chunk
    return got


def case_podman_tty():
    """run --rm -it: podman hands the runtime a console socket; what is
    typed reaches the shell, its output and exit status come back."""
    _, pm = podman("tty")
    argv = pm.argv("run", "--rm", "-it", IMAGE, "sh")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, pm.env)
    try:
        read_until(fd, b"# ")   # the prompt of a root shell
        os.write(fd, b"tty; echo answer-$((6*7))\r")
        got = read_until(fd, b"answer-42")
        check(b"/dev/pts/" in got or b"/dev/console" in got,
              f"the shell's stdin is a terminal (tty printed {got!r})")
        os.write(fd, b"exit 3\r")
        deadline = time.monotonic() + 120
        while True:
            try:
                os.read(fd, 4096)   # drain, or podman may block on a full pty
            except OSError:
                pass
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                fail("podman run -it did not end within 120s of `exit 3`")
            time.sleep(0.1)
        code = os.waitstatus_to_exitcode(status)
        check(code == 3, f"podman run -it exits with the shell's status 3, not {code}")
    finally:
        with_pid_gone(pid)


def with_pid_gone(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def case_podman_exec():
    _, pm = podman("exec")
    ok(pm.argv("run", "-d", "--name", "ct", IMAGE, "sleep", MARK), "podman run -d", env=pm.env)
    p = pm("exec", "ct", "echo", "hi")
    check(p.returncode == 0 and p.stdout == "hi\n", "podman exec ct echo hi prints hi", p)
    p = pm("exec", "ct", "sh", "-c", f"ps -o args | grep -c '^sleep {MARK}'; exit 4")
    check(p.returncode == 4, "podman exec exits with the process's status 4", p)
    check(p.stdout.strip() == "1", "the exec runs beside the container's sleep "
          "(same PID namespace)", p)
    p = pm("exec", "-i", "ct", "cat", input="through stdin\n")
    check(p.returncode == 0 and p.stdout == "through stdin\n", "podman exec -i passes stdin", p)


def case_podman_stop():
    _, pm = podman("stop")
    script = "trap 'echo got TERM; exit 0' TERM; echo ready; sleep 1000 & wait"
    ok(pm.argv("run", "-d", "--name", "ct", IMAGE, "sh", "-c", script), "podman run -d",
       env=pm.env)
    h.wait_for(lambda: "ready" in pm("logs", "ct").stdout, "the container to print ready", 120)
    t = time.monotonic()
    p = pm("stop", "--time", "60", "ct")
    took = time.monotonic() - t
    check(p.returncode == 0, "podman stop", p)
    check(took < 30, f"stop was prompt (SIGTERM handled), not the 60s timeout: {took:.1f}s")
    p = pm("logs", "ct")
    check("got TERM" in p.stdout, "the trap ran: the container logged got TERM", p)
    p = pm("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "ct")
    check(p.stdout.split() == ["exited", "0"], "stopped with the trap's status 0", p)


def no_leftovers(what, runtime_root, marker):
    """No state in the runtime's root, no orphan of ours, no process of
    the container's (found by its unique command line) left."""
    check(os.listdir(runtime_root) == [],
          f"{what}: the runtime's root {runtime_root} is empty, holds {os.listdir(runtime_root)}")
    h.reap()
    h.wait_for(lambda: h.reap() is not None and not h.children(), f"{what}: every process "
               f"left behind to end (still: {h.children()})", 30)
    found = []
    for d in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:2] == [b"sleep", str(marker).encode()]:
                    found.append(d)
        except OSError:
            pass
    check(not found, f"{what}: the container's process (sleep {marker}) is gone: pids {found}")


def case_podman_rm():
    """rm -f of a running container: nothing stays in the runtime's
    --root (podman passes none of its own: it is given one with
    --runtime-flag, as a user would) and no process stays."""
    h.subreaper()
    ws, pm = podman("rm")
    root = ws.mkdir("runtime-root")
    flag = ["--runtime-flag", f"root={root}"]
    ok(pm.argv(*flag, "run", "-d", "--name", "ct", IMAGE, "sleep", MARK), "podman run -d",
       env=pm.env)
    check(os.listdir(root) != [], f"the runtime keeps the running container's state in "
          f"--root {root}")
    p = pm(*flag, "rm", "--force", "--time", "0", "ct")
    check(p.returncode == 0, "podman rm -f", p)
    check(pm("ps", "-aq").stdout.strip() == "", "podman forgot the container", pm("ps", "-a"))
    no_leftovers("after podman rm -f", root, MARK)


# ---------------------------------------------------------------- containerd

def containerd(name):
    h.needs("containerd", "ctr", "containerd-shim-runc-v2")
    ws = h.Workspace(name)
    cd = h.Containerd(ws, RUNTIME)
    cd.load(h.make_image(ws))
    return ws, cd


def case_ctr_run_exit():
    _, cd = containerd("ctr-run")
    p = cd("run", "--rm", *cd.runc_flags(), IMAGE, "ct",
           "sh", "-c", "echo out; echo err >&2; exit 5")
    check(p.returncode == 5, "ctr run exits with the task's status 5", p)
    check(p.stdout == "out\n" and "err\n" in p.stderr, "stdout and stderr come through", p)
    check(cd("container", "ls", "-q").stdout.strip() == "", "--rm removed the container",
          cd("container", "ls"))


def case_ctr_exec():
    _, cd = containerd("ctr-exec")
    ok(cd.argv("run", "-d", *cd.runc_flags(), IMAGE, "ct", "sleep", MARK), "ctr run -d")
    p = cd("task", "exec", "--exec-id", "e1", "ct", "sh", "-c", "echo hi; echo oops >&2; exit 3")
    check(p.returncode == 3, "ctr task exec exits with the process's status 3", p)
    check(p.stdout == "hi\n" and "oops" in p.stderr, "exec's stdout and stderr come through", p)
    p = cd("task", "ps", "ct")
    check(p.returncode == 0 and len(p.stdout.strip().splitlines()) >= 2,
          "ctr task ps lists the container's process", p)


def case_ctr_kill():
    """ctr task kill -s SIGTERM reaches the process (its trap runs), the
    task ends with the trap's status, which ctr run (through the shim's
    wait) returns; ctr task ls shows it RUNNING before."""
    ws, cd = containerd("ctr-kill")
    script = "trap 'echo got TERM; exit 9' TERM; echo ready; sleep 1000 & wait"
    out = ws.path("ctr-run.out")
    with open(out, "w") as f:
        runner = subprocess.Popen(cd.argv("run", "--rm", *cd.runc_flags(), IMAGE, "ct",
                                          "sh", "-c", script),
                                  stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    ws.on_exit(with_pid_gone, runner.pid)
    h.wait_for(lambda: "ready" in open(out).read(), "the task to print ready", 120)
    p = cd("task", "ls")
    row = [l.split() for l in p.stdout.splitlines() if l.split()[:1] == ["ct"]]
    check(row and row[0][2] == "RUNNING" and int(row[0][1]) > 0,
          "ctr task ls shows ct RUNNING with a pid", p)
    p = cd("task", "kill", "--signal", "SIGTERM", "ct")
    check(p.returncode == 0, "ctr task kill", p)
    try:
        code = runner.wait(60)
    except subprocess.TimeoutExpired:
        fail(f"ctr run did not end within 60s of SIGTERM; it printed {open(out).read()!r}")
    text = open(out).read()
    check("got TERM" in text, f"the signal reached the trap: ctr run printed {text!r}")
    check(code == 9, f"ctr run returns the task's status 9, not {code} (printed {text!r})")


def case_ctr_pause():
    """ctr task pause freezes the container (its counter stops, ctr task
    ls says PAUSED) and resume lets it go on."""
    ws, cd = containerd("ctr-pause")
    log = ws.path("ct.log")
    ok(cd.argv("run", "-d", "--log-uri", f"file://{log}", *cd.runc_flags(), IMAGE, "ct",
               "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done"), "ctr run -d")

    def lines():
        return len(open(log).read().splitlines()) if os.path.exists(log) else 0

    h.wait_for(lambda: lines() >= 3, "the counter to count", 120)
    ok(cd.argv("task", "pause", "ct"), "ctr task pause")
    p = cd("task", "ls")
    rows = [l.split() for l in p.stdout.splitlines()]
    check(any(r[:1] == ["ct"] and r[-1] == "PAUSED" for r in rows),
          "ctr task ls shows ct PAUSED", p)
    time.sleep(1)   # what was on its way out is out
    before = lines()
    time.sleep(3)
    check(lines() == before, f"paused, the counter stood still: {before} lines, then {lines()}")
    ok(cd.argv("task", "resume", "ct"), "ctr task resume")
    h.wait_for(lambda: lines() >= before + 3, "the counter to go on after resume", 60)


# ---------------------------------------------------------------- runtime CLI

def cli(name):
    h.needs()
    h.subreaper()
    ws = h.Workspace(name)
    return ws, h.Runtime(ws, RUNTIME)


def case_pod_shared_netns():
    """A sandbox and two containers as containerd's CRI plugin makes them
    (annotations, the containers joining the sandbox's network namespace
    by path): a server on localhost in one is reached from the other."""
    ws, rt = cli("pod")
    cri = "io.kubernetes.cri"
    sb = h.bundle(ws.path("sandbox"), h.spec(["sleep", str(MARK)], annotations={
        f"{cri}.container-type": "sandbox", f"{cri}.sandbox-id": "sb",
        f"{cri}.sandbox-name": "ocitest-pod", f"{cri}.sandbox-namespace": "default"}))
    p, _, _ = rt.create("sb", sb)
    check(p.returncode == 0, "create the sandbox", p)
    p = rt("start", "sb")
    check(p.returncode == 0, "start the sandbox", p)
    st = rt.state("sb")
    check(st["status"] == "running" and st.get("pid", 0) > 0, f"the sandbox runs: {st}")
    netns = f"/proc/{st['pid']}/ns/net"

    def member(cid, args):
        ann = {f"{cri}.container-type": "container", f"{cri}.sandbox-id": "sb",
               f"{cri}.container-name": cid}
        b = h.bundle(ws.path(cid), h.spec(args, netns=netns, annotations=ann))
        p, out, _ = rt.create(cid, b)
        check(p.returncode == 0, f"create {cid} in the sandbox's network namespace", p)
        p = rt("start", cid)
        check(p.returncode == 0, f"start {cid}", p)
        return out

    server_out = member("server", ["sh", "-c", "echo pong | nc -l -p 7777"])
    time.sleep(1)
    client_out = member("client", ["sh", "-c",
                                   "for i in $(seq 60); do echo ping | nc 127.0.0.1 7777 && "
                                   "exit 0; sleep 1; done; exit 1"])
    rt.wait_status("client", "stopped", 120)
    rt.wait_status("server", "stopped", 60)
    got_c, got_s = open(client_out).read(), open(server_out).read()
    check("pong" in got_c, f"the client got the server's pong over 127.0.0.1: {got_c!r}")
    check("ping" in got_s, f"the server got the client's ping: {got_s!r}")
    for cid in ("client", "server"):
        ok(rt.argv("delete", cid), f"delete {cid}")
    ok(rt.argv("kill", "sb", "KILL"), "kill the sandbox")
    rt.wait_status("sb", "stopped", 60)
    ok(rt.argv("delete", "sb"), "delete the sandbox")
    no_leftovers("after the pod's delete", rt.root, MARK)


def case_cni_bridge():
    """A network namespace set up by the CNI bridge plugin (host-local
    IPAM) named in config.json: a server in the container is reached
    from the host at the address CNI gave."""
    ws, rt = cli("cni")
    h.needs(os.path.join(h.CNI_PATH, "bridge"), "ip")
    net = h.Cni(ws)
    b = h.bundle(ws.path("web"), h.spec(["sh", "-c", "echo from-the-container | nc -l -p 8080"],
                                        netns=net.netns))
    p, _, _ = rt.create("web", b)
    check(p.returncode == 0, "create in the CNI network namespace", p)
    ok(rt.argv("start", "web"), "start")
    got = h.tcp_read(net.ip, 8080, timeout=120)
    check(got == b"from-the-container\n", f"the host reached {net.ip}:8080 and read {got!r}")
    rt.wait_status("web", "stopped", 60)
    ok(rt.argv("delete", "web"), "delete")


def refused(rt, ws, name, config, words, rootfs=True):
    """create of a bad bundle: exit 1, one message on stderr naming the
    problem, nothing left in --root."""
    b = h.bundle(ws.path(name), config, rootfs=rootfs)
    p, _, _ = rt.create(name, b)
    check(p.returncode == 1, f"create of a bundle with {name.replace('-', ' ')} exits 1", p)
    check(any(w in p.stderr.lower() for w in words),
          f"stderr names the problem (one of {words})", p)
    run_delete = rt("delete", "--force", name)
    check(rt.leftovers() == [], f"nothing of {name} stays in --root: {rt.leftovers()}",
          run_delete)


def case_hooks():
    """The spec's hooks on the host, each with the state on stdin: prestart
    and createRuntime by create (the container then created, its pid the
    one create reports), poststart by start (running), poststop by delete
    (stopped), in that order; a failing createRuntime hook fails create and
    leaves nothing behind."""
    ws, rt = cli("hooks")
    log = ws.path("hooks.log")

    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c",
                f"read -r state; echo \"{name} $state\" >> {log}"]}

    s = h.spec(["sh", "-c", "exit 0"])
    s["hooks"] = {k: [hook(k)] for k in ("prestart", "createRuntime", "poststart",
                                         "poststop")}
    p, _, _ = rt.create("hooked", h.bundle(ws.path("hooked"), s))
    check(p.returncode == 0, "create with hooks", p)
    pid = rt.state("hooked")["pid"]
    ok(rt.argv("start", "hooked"), "start")
    rt.wait_status("hooked", "stopped", 120)
    ok(rt.argv("delete", "hooked"), "delete")
    lines = open(log).read().splitlines()
    names = [l.split(" ", 1)[0] for l in lines]
    check(names == ["prestart", "createRuntime", "poststart", "poststop"],
          f"the hooks ran once each, in the spec's order: {names}")
    states = [json.loads(l.split(" ", 1)[1]) for l in lines]
    check([st["status"] for st in states] == ["created", "created", "running", "stopped"],
          f"each hook saw the status of its moment: {states}")
    check(states[0]["id"] == "hooked" and states[0]["pid"] == pid and
          states[0]["bundle"] == ws.path("hooked"), f"the state names the container: {states[0]}")

    s = h.spec(["sleep", str(MARK)])
    s["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    p, _, _ = rt.create("failing", h.bundle(ws.path("failing"), s))
    check(p.returncode == 1 and "createRuntime" in p.stderr,
          "a failing createRuntime hook fails create, naming it", p)
    check(rt.leftovers() == [], f"nothing of the failed create stays: {rt.leftovers()}")
    no_leftovers("after a failed createRuntime hook", rt.root, MARK)


def case_bad_no_config():
    ws, rt = cli("bad-config")
    refused(rt, ws, "no-config", None, ["config.json"])


def case_bad_log_json():
    """--log FILE --log-format json, as podman (through conmon) and the
    containerd shim call create: the error goes to FILE as JSON lines
    ({"level", "msg"}), where they read the message they show the user."""
    ws, rt = cli("bad-log")
    b = h.bundle(ws.path("no-config"), None)
    log = ws.path("log.json")
    p = rt("--log", log, "--log-format", "json", "create", "--bundle", b, "no-config")
    check(p.returncode == 1, "create of a bundle without config.json exits 1", p)
    text = open(log).read() if os.path.exists(log) else ""
    try:
        lines = [json.loads(l) for l in text.splitlines() if l.strip()]
    except ValueError:
        fail(f"every line of --log is JSON: {text!r}", p)
    errors = [l.get("msg", "") for l in lines if l.get("level") == "error"]
    check(any("config.json" in m for m in errors),
          f"an error line of --log names config.json: {text!r}", p)
    check(rt.leftovers() == [], f"nothing stays in --root: {rt.leftovers()}")


def case_bad_no_rootfs():
    ws, rt = cli("bad-rootfs")
    refused(rt, ws, "no-rootfs", h.spec(["true"]), ["rootfs", "root"], rootfs=False)


def case_bad_oci_version():
    ws, rt = cli("bad-version")
    s = h.spec(["true"])
    s["ociVersion"] = "9.0.0"
    refused(rt, ws, "oci-version-9", s, ["9.0.0", "ociversion", "version"])


def case_bad_empty_args():
    ws, rt = cli("bad-args")
    refused(rt, ws, "empty-args", h.spec([]), ["args"])


def case_half_created():
    """A container whose process cannot start (its program is missing),
    and a create killed with SIGKILL half way (in its createRuntime hook):
    delete --force cleans each, nothing stays in --root, no process."""
    ws, rt = cli("half")
    b = h.bundle(ws.path("missing-program"), h.spec(["/no/such/program"]))
    p, _, _ = rt.create("missing", b)
    if p.returncode == 0:   # a runtime may find out only at start
        p = rt("start", "missing")
        check(p.returncode != 0, "start of a missing program fails", p)
    ok(rt.argv("delete", "--force", "missing"), "delete --force of the failed container")
    check(rt.leftovers() == [], f"nothing stays in --root: {rt.leftovers()}")

    marker = ws.path("hook-ran")
    s = h.spec(["sleep", str(MARK)])
    s["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"touch {marker}; exec sleep {MARK + 1}"]}]}
    b = h.bundle(ws.path("killed"), s)
    with open(ws.path("killed.err"), "w") as err:
        proc = subprocess.Popen(rt.argv("create", "--bundle", b, "killed"),
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        rt.ids.append("killed")
    end = time.monotonic() + 60
    while not os.path.exists(marker) and time.monotonic() < end and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        hook = "after running" if os.path.exists(marker) else "without running"
        fail(f"create ended (exit {proc.returncode}) {hook} its createRuntime hook (which "
             f"sleeps), so it could not be killed half way; it printed "
             f"{open(ws.path('killed.err')).read()!r}")
    proc.kill()
    proc.wait()
    for pid, cmd in h.children().items():   # the hook's sleep: ours, not the runtime's
        if cmd == f"sleep {MARK + 1}":
            os.kill(pid, signal.SIGKILL)
    p = rt("delete", "--force", "killed")
    check(p.returncode == 0 or "not exist" in p.stderr or "not found" in p.stderr,
          "delete --force of the half-created container", p)
    no_leftovers("after delete --force of a create killed half way", rt.root, MARK)


def main():
    global RUNTIME
    if len(sys.argv) < 2 or "case_" + sys.argv[1] not in globals():
        cases = sorted(n[5:] for n in globals() if n.startswith("case_"))
        sys.exit(f"usage: oci_runtime_test.py CASE [RUNTIME]\ncases: {' '.join(cases)}")
    RUNTIME = h.runtime_from_argv(2)
    print(f"runtime: {RUNTIME}", flush=True)
    globals()["case_" + sys.argv[1]]()
    print("ok", flush=True)


if __name__ == "__main__":
    main()
