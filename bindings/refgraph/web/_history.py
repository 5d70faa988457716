"""Samples of the heap by type, taken by the counting path (no graph), kept in a bounded ring buffer.

A sample is ``(time, seconds, memory, counts, sizes, cpu)``: ``counts`` and ``sizes`` are ``array('q')`` columns
indexed by type (``History.names``), ``seconds`` how long the count held the GIL, ``cpu`` the CPU time it used
(the process's, which while the GIL is held is the count's: on a busy machine ``seconds`` is longer). The first
sample of the process is kept apart as the baseline for "since start". The history's own objects are subtracted
from every sample, so refgraph's bookkeeping never shows as growth.
"""

from __future__ import annotations

import collections
import sys
import time
from array import array

from .. import _common
from . import _memory

OTHER = "(other types)"  # where types beyond max_types are counted, so memory stays bounded


class History:
    def __init__(self, size=60, max_types=5000):
        self.size = size
        self.max_types = max_types
        self.names = []
        self.column = {}
        self.ring = collections.deque(maxlen=size)
        self.start = None

    def take(self, also_own=()):
        """Count the heap now and append the sample; returns it. ``also_own``: more objects of the caller's
        bookkeeping to leave out of the count."""
        own = self._own(also_own)
        t0, c0 = time.perf_counter(), time.process_time()
        counts = _common.count_types(shortnames=True, sizes=True, collect=True)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if counts is None:  # this CPython's gc lists cannot be read in place: count a capture
            t0 = time.perf_counter()
            graph = _common.capture_collected()
            counts = {name: (n, 0, size) for name, n, size in graph.type_stats()}
            del graph
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        ncols = len(self.names)
        for name in counts:
            if name not in self.column:
                self._add_name(name)
        col_counts = array("q", bytes(8 * len(self.names)))
        col_sizes = array("q", bytes(8 * len(self.names)))
        for name, (tracked, untracked, size) in counts.items():
            k = self.column[name]
            n_own, b_own = own.get(name, (0, 0))
            col_counts[k] += max(tracked + untracked - n_own, 0)
            col_sizes[k] += max(size - b_own, 0)
        del counts, ncols
        memory = _memory.process_memory(sum(col_sizes), sum(col_counts))
        sample = (time.time(), seconds, memory, col_counts, col_sizes, cpu)
        if self.start is None:
            self.start = sample
        self.ring.append(sample)
        return sample

    def _add_name(self, name):
        if len(self.names) >= self.max_types:
            if OTHER not in self.column:
                self.column[OTHER] = len(self.names)
                self.names.append(OTHER)
            self.column[name] = self.column[OTHER]
            return
        self.column[name] = len(self.names)
        self.names.append(name)

    def _own(self, also_own=()):
        """{type name: (objects, bytes)} of what this history holds, to subtract from a count."""
        own = collections.Counter()
        size = collections.Counter()

        def add(obj):
            name = type(obj).__name__
            own[name] += 1
            size[name] += sys.getsizeof(obj)

        for obj in also_own:
            add(obj)
        add(self.ring)
        add(self.names)
        add(self.column)
        for name in self.names:
            add(name)
        samples = list(self.ring)
        if self.start is not None and (not samples or samples[0] is not self.start):
            samples.append(self.start)
        for sample in samples:
            add(sample)
            for item in sample:
                add(item)
            for figure in sample[2].values():
                add(figure)
        return {name: (own[name], size[name]) for name in own}

    @property
    def latest(self):
        return self.ring[-1] if self.ring else None

    @property
    def previous(self):
        return self.ring[-2] if len(self.ring) > 1 else None


def value(sample, k):
    """(count, bytes) of column k in a sample (0 for a type first seen after it)."""
    counts, sizes = sample[3], sample[4]
    return (counts[k], sizes[k]) if k < len(counts) else (0, 0)


def report(history, top_spark=40, spark_points=60):
    """The plain-data report a worker publishes: every type's latest count and size with growth since the previous
    sample and since start, sparklines for the largest types, timings and memory. JSON-ready."""
    latest, previous, start = history.latest, history.previous, history.start
    rows = []
    for k, name in enumerate(history.names):
        n, b = value(latest, k)
        pn, pb = value(previous, k) if previous is not None else (n, b)
        sn, sb = value(start, k)
        if n or b or pn or pb:
            rows.append([name, n, b, n - pn, b - pb, n - sn, b - sb])
    rows.sort(key=lambda r: (-r[2], -r[1], r[0]))
    by_growth = sorted((r for r in rows if r[5] > 0), key=lambda r: (-r[5], -r[6], r[0]))
    shown = {r[0] for r in rows[:top_spark]} | {r[0] for r in by_growth[: top_spark // 2]}
    ring = list(history.ring)[-spark_points:]
    spark = {name: [value(s, history.column[name])[0] for s in ring] for name in shown}
    when, seconds, memory = latest[0], latest[1], latest[2]
    return {
        "time": when,
        "started": start[0],
        "samples": len(history.ring),
        "sample_times": [s[0] for s in ring],
        "capture_seconds": seconds,
        "capture_seconds_max": max(s[1] for s in history.ring),
        "capture_cpu_seconds": latest[5],
        "memory": dict(memory),
        "objects": sum(r[1] for r in rows),
        "object_bytes": sum(r[2] for r in rows),
        "types": rows,
        "spark": spark,
    }
