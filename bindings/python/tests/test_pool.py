"""A pool of the busybox image's VMs (resumed from the bake the first VM
of test_vm.py made: the same store and config): acquire as a context
manager, fresh VMs after a release, max and its timeout, stats, close
with a VM still out or a thread waiting in acquire, and an image closed
under its pool (the pool keeps it open until it is closed itself)."""
import errno
import threading
import time

import pytest

import supermachine


def _wait_idle(pool, n, limit=600):
    t = time.monotonic()
    while pool.stats().idle < n:
        assert time.monotonic() - t < limit, pool.stats()
        time.sleep(0.1)


def test_pool(image, kvm):
    own = supermachine.Image.open(image.name, pull="never")
    with supermachine.Pool(own, min=1, max=2, acquire_timeout=3) as pool:
        own.close()   # deferred: the pool still starts VMs of it
        with pytest.raises(supermachine.Error) as ei:
            own.start()
        assert ei.value.errno == errno.EBADF
        _wait_idle(pool, 1)
        with pool.acquire() as vm:
            assert vm.exec(["sh", "-c", "echo used > /root/mark; echo ok"]).stdout == b"ok\n"
            first = vm.id
        assert vm.stopped
        with pytest.raises(supermachine.NotRunningError):
            vm.exec(["true"])
        # A released VM is never handed out again: the next is fresh.
        with pool.acquire() as vm2:
            assert vm2.id != first
            r = vm2.exec(["sh", "-c", "cat /root/mark 2>/dev/null || echo fresh"])
            assert r.stdout == b"fresh\n"
            # At max (this one and one starting or idle): the third waits
            # acquire_timeout and gives up.
            held = pool.acquire()
            t = time.monotonic()
            with pytest.raises(supermachine.TimedOutError) as ei:
                pool.acquire()
            assert ei.value.errno == errno.ETIMEDOUT and isinstance(ei.value, TimeoutError)
            assert time.monotonic() - t >= 2.5
        st = pool.stats()
        assert st.acquisitions == 3 and st.timeouts == 1 and st.discarded >= 2, st
        # close() with a VM still out: it is stopped with the pool.
    assert held.stopped
    with pytest.raises(supermachine.NotRunningError):
        held.exec(["true"])
    with pytest.raises(supermachine.Error) as ei:
        pool.acquire()
    assert ei.value.errno == errno.EBADF


def test_close_ends_a_waiting_acquire(image, kvm):
    pool = supermachine.Pool(image, min=1, max=1)   # acquires wait for ever
    held = pool.acquire()
    got = []

    def waiter():
        try:
            got.append(pool.acquire())
        except supermachine.Error as e:
            got.append(e)
    t = threading.Thread(target=waiter)
    t.start()
    deadline = time.monotonic() + 60
    while pool.stats().waiting == 0:
        assert time.monotonic() < deadline, pool.stats()
        time.sleep(0.05)
    pool.close()
    t.join(60)
    assert not t.is_alive()
    assert isinstance(got[0], supermachine.Error) and got[0].errno == errno.EBADF, got
    assert held.stopped


def test_pool_refuses_ports(image):
    with pytest.raises(supermachine.InvalidArgumentError) as ei:
        supermachine.Pool(image, ports=["8080:80"])
    assert "cannot publish host ports" in str(ei.value)
