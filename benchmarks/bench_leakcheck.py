"""Overhead of a leak check per test on a heap of about 200,000 objects (target: at most 0.5 s).

Runs in this fresh process: builds the heap, then times `@refgraph.no_leaks` (2 warm-up + 5 measured calls, so
6 collections and captures) around a function that does almost nothing, minus the 7 calls themselves.
Also times the single-block `with refgraph.leak_check():`.

Run: PYTHONPATH=bindings python3 benchmarks/bench_leakcheck.py [--objects N] [--repeat R]
"""

import argparse
import gc
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
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
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
    overhead = with_check - plain

    def block():
        with refgraph.leak_check():
            body()

    block_time = best_of(args.repeat, block)
    capture_time = best_of(args.repeat, _core.capture)

    print(f"heap: {nodes:,} objects (captured, untracked ones included)")
    print(f"one capture:                     {capture_time:.3f} s")
    print(f"@no_leaks overhead per test:     {overhead:.3f} s  (2 warm-up + 5 measured calls; target <= "
          f"{TARGET_SECONDS} s: ratio {overhead / TARGET_SECONDS:.2f} of the budget) "
          f"{'OK' if overhead <= TARGET_SECONDS else 'OVER'}")
    print(f"with leak_check() per block:     {block_time:.3f} s")


if __name__ == "__main__":
    main()
