#!/usr/bin/env python3
"""bench/exec_python.py [BUILD_DIR] [RUNS]: what the Python binding adds to
one exec, measured in the same run against the C call.

One VM (the built-in initramfs, as bench/exec), started through the
binding. Python: `vm.exec(["true"])` timed around the call, as a caller
sees it. C: sm_vm_exec of the same `true` on the same VM, timed in C by
bench/exec_loop.c, loaded with ctypes (timed inside the foreign call, so
ctypes is outside the figure). RUNS (default 200) of each, alternating
one and one so that both see the same machine load, in pairs whose
first is Python in half of them and C in the other half.

Prints p50 and p99 of each, the p50 ratio Python / C, and the median of
the pairs' differences: the binding's cost per exec (argument
conversion, the result's bytes and dataclass, the GIL released and
taken back)."""
import ctypes
import os
import statistics
import sys
import time

build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
sys.path.insert(0, os.path.join(build, "bindings", "python"))
import supermachine  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[int(p * (len(v) - 1) + 0.5)]


def main():
    loop = ctypes.CDLL(os.path.join(build, "bench", "libexec_loop.so"))
    loop.sm_bench_exec_true.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                        ctypes.POINTER(ctypes.c_double)]
    t = time.monotonic()
    with supermachine.start(start_timeout=600) as vm:
        print(f"VM start (boot, no snapshot): {time.monotonic() - t:.2f} s")
        one = (ctypes.c_double * 1)()
        addr = vm._vm.address()
        c_times, py_times = [], []
        for _ in range(5):   # warm both paths
            vm.exec(["true"])
            loop.sm_bench_exec_true(addr, 1, one)
        for i in range(2 * runs):
            # Each goes first in half the pairs: neither inherits the
            # other's tail (the guest still reaping the last command).
            if (i + i // 2) % 2:
                err = loop.sm_bench_exec_true(addr, 1, one)
                if err:
                    sys.exit(f"bench/exec_python: the C exec failed ({err})")
                c_times.append(one[0])
            else:
                t = time.perf_counter()
                r = vm.exec(["true"])
                py_times.append(time.perf_counter() - t)
                if r.exit_code:
                    sys.exit(f"bench/exec_python: `true` exited {r.exit_code}")
    c50, c99 = pct(c_times, 0.5), pct(c_times, 0.99)
    p50, p99 = pct(py_times, 0.5), pct(py_times, 0.99)
    diff = statistics.median(p - c for p, c in zip(py_times, c_times))
    print(f"exec `true`, {runs} runs each, same VM, alternating:")
    print(f"  C sm_vm_exec:    p50 {c50 * 1e3:.3f} ms, p99 {c99 * 1e3:.3f} ms")
    print(f"  Python vm.exec:  p50 {p50 * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms")
    print(f"  Python / C (p50): {p50 / c50:.3f}x; median difference of the pairs "
          f"{diff * 1e6:+.0f} us per exec")


if __name__ == "__main__":
    main()
