"""Where a process's memory is: resident pages, Python objects, the object allocator's arenas, the C heap.

``memory()`` answers "RSS grows: is it Python objects?" with figures that add up to RSS (docs/production.md
explains the accounting and its limits).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from . import _common, _core

__all__ = ["Memory", "memory"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    """One reading of the process's memory, in bytes (``str()`` gives a readable table).

    ``rss`` = ``rss_file`` (mapped files: the interpreter, libraries) + ``rss_anon`` (everything else) +
    ``rss_shmem``. ``python_objects`` is the total ``sys.getsizeof`` of every object (``python_object_count`` of
    them), tracked by the gc or not. The object allocator (obmalloc) holds objects of 512 bytes or less in 1 MiB
    arenas: ``arenas_allocated`` = ``arenas_used`` (blocks handed out) + ``arenas_free``. Larger objects and every
    C allocation live in the C heap (glibc malloc): ``heap_in_use`` (including chunks mapped on their own) and
    ``heap_free`` (freed but kept by malloc: fragmentation shows here). ``unaccounted`` is ``rss_anon`` less the
    arenas and the C heap: thread stacks, other mappings, and (negative) heap pages that are not resident.
    """

    rss: int
    rss_file: int
    rss_anon: int
    rss_shmem: int
    python_objects: int
    python_object_count: int
    arenas_allocated: int
    arenas_used: int
    arenas_free: int
    heap_in_use: int
    heap_free: int

    @property
    def unaccounted(self) -> int:
        return self.rss_anon - self.arenas_allocated - self.heap_in_use - self.heap_free

    @property
    def not_python_objects(self) -> int:
        """In use by the allocators but not by Python objects: C allocations (extensions, ctypes, the interpreter
        itself) and blocks kept for reuse. Grows when memory grows outside Python objects."""
        return max(0, self.arenas_used + self.heap_in_use - self.python_objects)

    def as_dict(self) -> dict:
        """The fields and the derived figures as a plain dict (for JSON and metrics)."""
        d = asdict(self)
        d["unaccounted"] = self.unaccounted
        d["not_python_objects"] = self.not_python_objects
        return d

    def __str__(self) -> str:
        h = _common.human_size
        rows = [
            (
                "RSS",
                (
                    f"{h(self.rss)} = {h(self.rss_file)} mapped files + {h(self.rss_anon)} anonymous"
                    + (f" + {h(self.rss_shmem)} shared" if self.rss_shmem else "")
                ),
            ),
            ("Python objects", f"{h(self.python_objects)} in {self.python_object_count:,} objects"),
            (
                "object allocator",
                (f"{h(self.arenas_allocated)} in arenas: {h(self.arenas_used)} used, {h(self.arenas_free)} free"),
            ),
            ("C heap (malloc)", f"{h(self.heap_in_use)} in use, {h(self.heap_free)} free"),
            ("not Python objects", f"{h(self.not_python_objects)} (C allocations, allocator rounding)"),
            ("unaccounted", f"{h(self.unaccounted)} (stacks, other mappings, pages not resident)"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _rss():
    """(rss, rss_file, rss_anon, rss_shmem) from /proc/self/status, in bytes."""
    fields = {}
    with open("/proc/self/status", encoding="ascii", errors="replace") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssFile", "RssAnon", "RssShmem"):
                fields[key] = int(value.split()[0]) * 1024
    return fields.get("VmRSS", 0), fields.get("RssFile", 0), fields.get("RssAnon", 0), fields.get("RssShmem", 0)


_ARENAS = re.compile(r"^(\d+) arenas \* (\d+) bytes/arena", re.MULTILINE)
_ALLOCATED_BLOCKS = re.compile(r"^# bytes in allocated blocks\s*=\s*([\d,]+)", re.MULTILINE)


def _arenas(report):
    """(allocated, used) bytes of the object allocator, from its report; (0, 0) when it is not in use."""
    arenas = _ARENAS.search(report)
    used = _ALLOCATED_BLOCKS.search(report)
    if not arenas or not used:
        return 0, 0
    return int(arenas.group(1)) * int(arenas.group(2)), int(used.group(1).replace(",", ""))


def memory():
    """Where this process's memory is: RSS, bytes in Python objects, obmalloc arenas, the C heap, as a
    :class:`Memory`.

    Every object is counted (the gc-tracked ones and those they reach: ``str``, ``int``...), in C++ without
    building a graph, as ``summary()`` counts them; cyclic garbage not yet collected is counted too (it still
    holds memory). Costs about as much as ``summary()``: a walk of the heap with the GIL held.

    >>> m = memory()
    >>> m.python_objects < m.rss
    True
    """
    counts = _common.count_types(sizes=True)
    if counts is None:  # this CPython's gc lists cannot be read: count a capture
        rows = _common.capture().type_stats(sort="count")
        objects, count = sum(r[2] for r in rows), sum(r[1] for r in rows)
    else:
        objects = sum(size for _, _, size in counts.values())
        count = sum(tracked + untracked for tracked, untracked, _ in counts.values())
    return memory_with(objects, count)


def memory_with(python_objects, python_object_count):
    """:func:`memory` for a caller that has just counted the objects itself (refgraph.web's sampler): only the
    figures that need no walk of the heap are read (a fraction of a millisecond)."""
    stats = _core.allocator_stats()
    allocated, used = _arenas(stats["obmalloc"])
    heap = stats["heap"]
    rss, rss_file, rss_anon, rss_shmem = _rss()
    return Memory(
        rss=rss,
        rss_file=rss_file,
        rss_anon=rss_anon,
        rss_shmem=rss_shmem,
        python_objects=python_objects,
        python_object_count=python_object_count,
        arenas_allocated=allocated,
        arenas_used=used,
        arenas_free=allocated - used,
        heap_in_use=heap["in_use"] + heap["mmapped"],
        heap_free=heap["free"],
    )
