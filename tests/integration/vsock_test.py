#!/usr/bin/env python3
"""vsock integration tests: a real guest (sm-vsock-test in the test
initramfs) against the host side of supermachine's user-space vsock.
Usage: vsock_test.py CASE; SM and TEST_INITRD name the binary and initramfs.
Exit 0 pass, 1 fail (run through tests/kvm_test.py, which skips it
where no KVM can run it)."""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

SM = os.environ["SM"]
INITRD = os.environ["TEST_INITRD"]
BOOT_TIMEOUT = 240


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


class Guest:
    """A VM running one sm-vsock-test command, its vsock directory and output."""

    def __init__(self, *cmd):
        self.dir = tempfile.mkdtemp(prefix="sm-vsock-")
        self.out = open(os.path.join(self.dir, "console"), "w+")
        self.proc = subprocess.Popen(
            [SM, "boot", "--initrd", INITRD, "--vsock", self.dir, "--", "sm-vsock-test", *cmd],
            stdout=self.out, stderr=subprocess.STDOUT)

    def console(self):
        self.out.flush()
        with open(self.out.name) as f:
            return f.read()

    def wait_for(self, text):
        deadline = time.time() + BOOT_TIMEOUT
        while time.time() < deadline:
            if text in self.console():
                return
            if self.proc.poll() is not None:
                fail(f"guest ended before '{text}':\n{self.console()}")
            time.sleep(0.1)
        fail(f"timed out waiting for '{text}'")

    def finish(self):
        try:
            rc = self.proc.wait(BOOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("guest did not finish")
        return rc, self.console()

    def connect(self, port):
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.path.join(self.dir, "vsock.sock"))
        s.sendall(b"CONNECT %d\n" % port)
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                return s, None
            line += b
        return s, line


def echo_roundtrip():
    g = Guest("echo", "5000")
    g.wait_for("listening 5000")
    s, line = g.connect(5000)
    if not line or not line.startswith(b"OK "):
        fail(f"handshake answered {line!r}")
    data = os.urandom(2 * 1024 * 1024)
    got = bytearray()

    def reader():
        while True:
            b = s.recv(65536)
            if not b:
                return
            got.extend(b)

    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)   # half close: the echo must still come back
    t.join(BOOT_TIMEOUT)
    if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
        fail(f"echo differs: sent {len(data)} bytes, got {len(got)}\n--- guest\n{g.console()}")
    rc, out = g.finish()
    if rc != 0:
        fail(f"guest exited {rc}:\n{out}")


def recv_to_end(s):
    """All a stream brings until its end of file."""
    got = b""
    while True:
        b = s.recv(4096)
        if not b:
            return got
        got += b


def guest_connects_to_host():
    g = Guest("send", "6000", "hello from the guest")
    path = os.path.join(g.dir, "vsock_6000")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(BOOT_TIMEOUT)
    c, _ = srv.accept()
    msg = recv_to_end(c)
    if msg != b"hello from the guest":
        fail(f"host received {msg!r}")
    c.sendall(b"hello from the host\n")
    c.close()
    rc, out = g.finish()
    if rc != 0 or "hello from the host" not in out:
        fail(f"guest exited {rc} without the reply:\n{out}")


def refused_ports():
    # The guest listens on 5000; 5001 has no listener: the host's attempt
    # must end without "OK", and the guest's to a missing host socket too.
    g = Guest("echo", "5000")
    g.wait_for("listening 5000")
    s, line = g.connect(5001)
    if line is not None:
        fail(f"connection to a closed guest port answered {line!r}")
    s.close()
    # A host client that goes away mid-handshake must not disturb the VM.
    half = socket.socket(socket.AF_UNIX)
    half.connect(os.path.join(g.dir, "vsock.sock"))
    half.sendall(b"CONN")
    half.close()
    s, line = g.connect(5000)
    if not line or not line.startswith(b"OK "):
        fail(f"the device stopped answering: {line!r}")
    s.sendall(b"still works")
    s.shutdown(socket.SHUT_WR)
    # A stream: the echo may come back in pieces, up to the guest's close.
    got = recv_to_end(s)
    if got != b"still works":
        fail(f"no echo after the refused attempts: {got!r}\n--- guest\n{g.console()}")
    s.close()
    g.finish()


CASES = {f.__name__: f for f in (echo_roundtrip, guest_connects_to_host, refused_ports)}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
    print("ok:", sys.argv[1])
