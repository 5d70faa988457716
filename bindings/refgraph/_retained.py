"""What keeps the most memory alive: retained sizes from the dominator tree of a snapshot.

An object's retained size is its own size plus the size of every object that only it keeps alive (the objects it
dominates: every chain of strong references from a root to them passes through it). Weak references never retain.
"""

from __future__ import annotations

import tracemalloc
from typing import NamedTuple

from . import _common, _core


class DominatorRow(NamedTuple):
    """One big retainer: its id, type, retained and shallow size in bytes, and the chain that holds it."""

    id: int
    type: str
    retained: int
    size: int
    chain: object  # refgraph.Chain


class RetainedTypeRow(NamedTuple):
    """A type's objects, their total shallow size, and the retained size of all of them together (an instance
    held only through another instance of the same type is counted once, inside that one's share)."""

    type: str
    count: int
    size: int
    retained: int


def tree(graph):
    """The native dominator tree of a graph (computed without the GIL)."""
    return _core.Dominators(graph)


def retained_type_rows(graph, dominators, limit=0):
    by_type = dominators.by_type()
    rows = [
        RetainedTypeRow(name, count, size, by_type.get(name, 0))
        for name, count, size in graph.type_stats(sort="size", top=0, gc_only=False)
    ]
    rows.sort(key=lambda r: (-r.retained, -r.size, r.type))
    return rows[:limit] if limit else rows


class SuspectGroup(NamedTuple):
    """New objects that one holder keeps gaining: made after snapshot A, still there in B and C, grown from B to C.

    ``signature`` is the chain that retains them with indices and data keys as ``[*]``; ``objects_b``/``bytes_b``
    and ``objects_c``/``bytes_c`` count the group's objects new since A in B and in C; ``survivors`` those present in
    both; ``retained`` what they keep alive in C; ``types`` [(type, objects gained from B to C)];
    ``accumulation_point`` the id of the container they accumulate in; ``sample`` one object's id and
    ``sample_chain`` its chain in C; ``sites`` while ``tracemalloc`` traces, where the group's objects were
    allocated (the most recent frame), most objects first.
    """

    signature: str
    objects_b: int
    bytes_b: int
    objects_c: int
    bytes_c: int
    survivors: int
    retained: int
    types: list
    accumulation_point: int | None
    sample: int
    sample_chain: str | None
    sites: list | None = None  # [("file:line", objects)] while tracemalloc traces, most first

    @property
    def grew(self):
        return self.objects_c > self.objects_b or self.bytes_c > self.bytes_b


class Suspects(list):
    """[:class:`SuspectGroup`], biggest retained size first; ``str()`` is the readable report."""

    def __str__(self):
        return _core.suspects_text(self)


def leak_suspects(a, b, c, limit=0, include_stable=False):
    """Which of the new objects are the leak, from three snapshots of one process: a baseline ``a``, ``b`` after
    some work and ``c`` after more. Returns :class:`Suspects`.

    Objects made after ``a`` and still alive in ``b`` and ``c`` are grouped by what retains them (their shortest
    chain from a root, with indices and data keys wildcarded); a group is a suspect when it grew from ``b`` to
    ``c``. Objects of a warm-up (there in ``b``, gone by ``c``) and a cache filled once are left out
    (``include_stable=True`` lists groups that survived without growing). ``limit``: at most this many groups.

    >>> import refgraph
    >>> LEAK = []
    >>> a = refgraph.snapshot(); LEAK.extend(object() for _ in range(100)); b = refgraph.snapshot()
    >>> LEAK.extend(object() for _ in range(100)); c = refgraph.snapshot()
    >>> any(g.types[0][0] == 'object' for g in leak_suspects(a, b, c))
    True
    """
    # The snapshots themselves are new objects too: the caller's bookkeeping, never a suspect.
    own = [id(x) for s in (a, b, c) for x in (s, s.graph, s._dominators) if x is not None]
    rows = _core.leak_suspects(a.graph, b.graph, c.graph, top=limit, include_stable=include_stable, ignore_ids=own)
    sites = _sites(c, rows) if tracemalloc.is_tracing() else [None] * len(rows)
    return Suspects(
        SuspectGroup(
            r["signature"],
            r["objects_b"],
            r["bytes_b"],
            r["objects_c"],
            r["bytes_c"],
            r["survivors"],
            r["retained"],
            [tuple(t) for t in r["types"]],
            r["accumulation_point"],
            r["sample"],
            r["sample_chain"],
            s,
        )
        for r, s in zip(rows, sites)
    )


def _sites(c, rows):
    """Each group's allocation sites, read in one native pass per group over a pinned heap: only objects still
    alive with the type they had in ``c`` are asked about."""
    heap = _common.pin_heap()
    try:
        out = []
        for r in rows:
            counted, _ = _core.allocation_sites(heap.graph, c.graph, r["members"])
            out.append([(f"{filename}:{lineno}", n) for (filename, lineno), n in counted])
        return out
    finally:
        heap.release()
