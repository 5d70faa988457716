"""What keeps the most memory alive: retained sizes from the dominator tree of a snapshot.

An object's retained size is its own size plus the size of every object that only it keeps alive (the objects it
dominates: every chain of strong references from a root to them passes through it). Weak references never retain.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _core


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
    rows = [RetainedTypeRow(name, count, size, by_type.get(name, 0))
            for name, count, size in graph.type_stats(sort="size", top=0, gc_only=False)]
    rows.sort(key=lambda r: (-r.retained, -r.size, r.type))
    return rows[:limit] if limit else rows
