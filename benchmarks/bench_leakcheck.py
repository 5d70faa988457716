"""Overhead of a leak check per test on a heap of about 200,000 objects (target: at most 0.5 s).

Runs in this fresh process: builds the heap, then times `@refgraph.no_leaks` with its defaults (2 warm-up + up to
5 measured calls) around a function that does almost nothing, minus the calls themselves (a clean test: it stops
after 2 measured calls, 3 collections and counts), the same screened (`screen=True`, what `pytest --refgraph-leaks`
does: 1 screened call, no count), and around one that leaks an object per call (the worst case: 6 counts, then 2
more calls between 3 captures and the chain of a sample). Also times the single-block `with refgraph.leak_check():`.

Run: PYTHONPATH=bindings python3 benchmarks/bench_leakcheck.py [--objects N] [--repeat R]
"""

import argparse
import gc
import os
import time

import refgraph
from refgraph import _core

TARGET_SECONDS = 0.5


class Record:
    def __init__(self, i):
        self.name = f"record-{i}"  # a str per record: untracked by gc, captured all the same
        self.tags = [i]


def build_heap(objects):
    """About `objects` objects on the heap in total: records, their strs and lists, plus the interpreter's own."""
    baseline = _core.capture().num_nodes
    per_record = 4  # the Record, its str, its list, and an int above the small-int cache
    return [Record(1000 + i) for i in range(max(0, (objects - baseline) // per_record))]


def body():
    return sum(range(10))


def best_of(repeat, fn):
    """(wall seconds, CPU seconds of this process, all threads): the best of `repeat` runs.

    Both, because the machine may be shared: wall time grows with other processes' load, CPU time does not (but
    counts every thread of a parallel capture)."""
    times = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    heap = build_heap(args.objects)  # noqa: F841 - kept alive for the measurement
    gc.collect()
    nodes = _core.capture().num_nodes

    checked = refgraph.no_leaks(body)
    plain = best_of(args.repeat, lambda: [body() for _ in range(7)])
    with_check = best_of(args.repeat, checked)
    overhead = with_check[0] - plain[0], with_check[1] - plain[1]
    screened = best_of(args.repeat, refgraph.no_leaks(body, screen=True))

    kept = []

    @refgraph.no_leaks
    def leaky():  # the worst case: all 5 measured calls, then the leak's chain
        kept.append(Record(0))

    def leaky_once():
        try:
            leaky()
        except refgraph.LeakError:
            pass
        else:
            raise AssertionError("the leak was not found")

    worst = best_of(args.repeat, leaky_once)

    def block():
        with refgraph.leak_check():
            body()

    block_time = best_of(args.repeat, block)
    capture_time = best_of(args.repeat, _core.capture)
    collect_time = best_of(args.repeat, gc.collect)

    print(f"heap: {nodes:,} objects (captured, untracked ones included)")
    print(f"one capture:                 {capture_time[0]:.3f} s wall, {capture_time[1]:.3f} s CPU")
    print(f"one gc.collect():            {collect_time[0]:.3f} s wall, {collect_time[1]:.3f} s CPU")
    rows = (
        ("clean test (stops early)", overhead),
        ("clean test, screened", screened),
        ("leaking test (5 calls + chain)", worst),
    )
    for label, (wall, cpu) in rows:
        print(
            f"@no_leaks, {label + ':':31s} {wall:.3f} s wall, {cpu:.3f} s CPU  (target <= {TARGET_SECONDS} s: "
            f"wall ratio {wall / TARGET_SECONDS:.2f}, {'OK' if wall <= TARGET_SECONDS else 'OVER'})"
        )
    print(f"with leak_check() per block: {block_time[0]:.3f} s wall, {block_time[1]:.3f} s CPU")
    if os.path.exists("/proc/loadavg"):
        with open("/proc/loadavg") as f:
            print(f"load average while measuring: {f.read().split()[0]} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
