"""One VM of the busybox image for the module (128 MiB): commands, files,
TCP, 32 threads at once; then VMs resumed from its snapshot, and the
errors of a stopped VM."""
import errno
import signal
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

import supermachine


@pytest.fixture(scope="module")
def vm(image, kvm):
    steps = []
    t = time.monotonic()
    with image.start(memory_mib=128, progress=steps.append) as v:
        print(f"VM started in {time.monotonic() - t:.1f} s ({', '.join(steps) or 'resumed'})")
        yield v
    assert v.stopped


def test_exec_output_and_exit_code(vm):
    r = vm.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (r.exit_code, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
    assert not r.timed_out and r.signal == 0 and not r.ok
    assert vm.exec(["true"]).ok


def test_exec_env_cwd_user_stdin(vm):
    r = vm.exec(["sh", "-c", 'echo "$GREETING $IMAGE_VAR"; pwd; id -un; cat'],
                env={"GREETING": "hello"}, cwd="/tmp", user="app", stdin=b"from stdin")
    assert r.stdout == b"hello from-image\n/tmp\napp\nfrom stdin", r
    assert vm.exec(["cat"], stdin="text").stdout == b"text"


def test_exec_signal(vm):
    r = vm.exec(["sh", "-c", "kill -TERM $$"])
    assert (r.signal, r.exit_code) == (signal.SIGTERM, 128 + signal.SIGTERM)


def test_exec_timeout(vm):
    t = time.monotonic()
    r = vm.exec(["sleep", "60"], timeout=1)
    assert r.timed_out and r.signal == signal.SIGKILL, r
    assert time.monotonic() - t < 30


def test_exec_stream_output_as_it_comes(vm):
    chunks, first = [], None
    t = time.monotonic()
    with vm.exec_stream(["sh", "-c", "echo a; sleep 2; echo b >&2; echo c; exit 5"]) as s:
        for stream, data in s:
            first = first or time.monotonic()
            chunks.append((stream, data))
        end = time.monotonic()
        assert s.exit_code == 5 and s.result.stdout == b""
    out = b"".join(d for n, d in chunks if n == "stdout")
    err = b"".join(d for n, d in chunks if n == "stderr")
    assert (out, err) == (b"a\nc\n", b"b\n"), chunks
    assert chunks[0] == ("stdout", b"a\n")
    assert first - t < end - t - 1.5, "the first line came only at the end"


def test_exec_stream_stdin_and_wait(vm):
    s = vm.exec_stream(["sh", "-c", "read x; echo got $x; echo bye >&2"], open_stdin=True)
    s.write_stdin(b"it\n")
    s.close_stdin()
    r = s.wait()   # output not iterated lands in the result
    assert (r.exit_code, r.stdout, r.stderr) == (0, b"got it\n", b"bye\n")
    with pytest.raises(supermachine.NotRunningError):
        s.signal(signal.SIGTERM)   # ended


def test_exec_stream_closed_early_kills(vm):
    t = time.monotonic()
    s = vm.exec_stream(["sh", "-c", "echo start; sleep 60"])
    assert next(iter(s)) == ("stdout", b"start\n")
    s.close()
    assert time.monotonic() - t < 30 and not s.running
    assert list(s) == []
    assert s.wait().signal == signal.SIGKILL


def test_exec_bad_argument(vm):
    with pytest.raises(supermachine.InvalidArgumentError) as ei:
        vm.exec([])
    assert ei.value.errno == errno.EINVAL
    assert "argv needs at least a program name" in str(ei.value)
    with pytest.raises(TypeError):
        vm.exec("echo hi")


def test_file_round_trip(vm):
    data = bytes(range(256)) * 1000
    vm.write_file("/tmp/py/deep/f.bin", data, mode=0o600, mkdirs=True)
    assert vm.read_file("/tmp/py/deep/f.bin") == data
    st = vm.stat("/tmp/py/deep/f.bin")
    assert (st.mode & 0o7777, st.size) == (0o600, len(data))
    vm.write_file("/tmp/py/t.txt", "text\n")
    assert vm.exec(["cat", "/tmp/py/t.txt"]).stdout == b"text\n"
    with pytest.raises(supermachine.NotFoundError) as ei:
        vm.read_file("/tmp/py/absent")
    assert ei.value.errno == errno.ENOENT and "/tmp/py/absent" in str(ei.value)


@pytest.fixture(scope="module")
def httpd(vm):
    """busybox httpd serving /var/www (index.html: served-from-the-guest)
    on the guest's port 8080, for as long as its stream runs."""
    s = vm.exec_stream(["httpd", "-f", "-p", "8080", "-h", "/var/www"])
    for _ in range(200):
        try:
            vm.connect(8080).close()
            break
        except supermachine.PortRefusedError:
            time.sleep(0.05)
    yield 8080
    s.close()


def _get(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /index.html HTTP/1.0\r\nHost: guest\r\n\r\n")
    body = b""
    while True:
        b = sock.recv(65536)
        if not b:
            return body
        body += b


def test_connect_to_guest_server(vm, httpd):
    with vm.connect(httpd, timeout=30) as s:
        assert isinstance(s, socket.socket)
        reply = _get(s)
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"served-from-the-guest\n"), reply


def test_connect_refused(vm):
    with pytest.raises(supermachine.PortRefusedError) as ei:
        vm.connect(9)
    assert ei.value.errno == errno.ECONNREFUSED and isinstance(ei.value, ConnectionRefusedError)


def test_expose_tcp(vm, httpd):
    port = vm.expose_tcp(httpd)
    assert 0 < port < 65536
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=60) as r:
        assert r.read() == b"served-from-the-guest\n"
    vm.unexpose_tcp(port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=60).close()
    with pytest.raises(supermachine.Error) as ei:
        vm.unexpose_tcp(port)
    assert ei.value.errno == errno.ENOENT and "exposes nothing" in str(ei.value)


def test_32_threads_exec_at_once(vm):
    """Each thread's own output comes back, and the commands overlap: 32
    one-second sleeps end in far less than 32 s, which they could only
    if the GIL is released while sm_vm_exec waits."""
    def one(i):
        r = vm.exec(["sh", "-c", f"sleep 1; echo thread-{i}; echo e{i} >&2; exit {i % 7}"])
        return i, r

    t = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))
    elapsed = time.monotonic() - t
    for i, r in results:
        assert (r.exit_code, r.stdout, r.stderr) == (i % 7, f"thread-{i}\n".encode(),
                                                     f"e{i}\n".encode()), (i, r)
    print(f"32 execs of a 1 s sleep from 32 threads: {elapsed:.1f} s")
    assert elapsed < 16, f"32 concurrent execs took {elapsed:.1f} s: they ran one by one"


def test_snapshot_and_vms_from_it(vm, image, tmp_path):
    vm.write_file("/root/marker", b"before the snapshot\n")
    snap = tmp_path / "snap"
    vm.snapshot(snap)
    assert (snap / "metadata.json").exists()
    vm.write_file("/root/marker", b"after\n")
    with supermachine.Image.from_snapshot(snap) as img:
        assert img.digest == image.digest and img.rootfs is None
        with img.start() as a, img.start() as b:
            assert a.restored and b.restored and a.id != b.id
            assert a.read_file("/root/marker") == b"before the snapshot\n"
            a.write_file("/root/marker", b"a's own\n")
            assert b.exec(["cat", "/root/marker"]).stdout == b"before the snapshot\n"
            assert vm.read_file("/root/marker") == b"after\n"
            _stop_with_calls_in_flight(b)
            _stopped_vm_errors(b)


def _stop_with_calls_in_flight(v):
    """stop() while other threads are inside calls: they end with an
    error, and stop returns once they have."""
    errors = []

    def sleeper():
        try:
            v.exec(["sleep", "60"])
        except supermachine.Error as e:
            errors.append(e)

    threads = [threading.Thread(target=sleeper) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(2)
    t0 = time.monotonic()
    v.stop()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 3, errors
    assert time.monotonic() - t0 < 30


def _stopped_vm_errors(v):
    assert v.stopped
    v.stop()   # again: nothing
    with pytest.raises(supermachine.NotRunningError) as ei:
        v.exec(["true"])
    assert ei.value.errno == errno.ESRCH
    assert f"VM {v.id[:12]} is stopped" in str(ei.value)
    for call in (lambda: v.read_file("/etc/hostname"), lambda: v.connect(80),
                 lambda: v.snapshot("/tmp/never"), lambda: v.exec_stream(["true"])):
        with pytest.raises(supermachine.NotRunningError):
            call()
