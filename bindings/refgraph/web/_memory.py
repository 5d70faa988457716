"""The process's memory beside the type tables: ``refgraph.memory()``'s accounting, without its walk of the heap
(the sampler has just counted the objects)."""

from __future__ import annotations

from .. import _memory

# Figures in bytes, in the order the pages show them; the object count and bytes are shown from the count itself.
_SHOWN = (
    "rss",
    "rss_file",
    "rss_anon",
    "rss_shmem",
    "arenas_allocated",
    "arenas_used",
    "arenas_free",
    "heap_in_use",
    "heap_free",
    "not_python_objects",
    "unaccounted",
)


def process_memory(python_objects, python_object_count):
    """{figure: bytes} of this process's memory (``refgraph.Memory``'s fields); always has ``rss``."""
    try:
        figures = _memory.memory_with(python_objects, python_object_count).as_dict()
    except (OSError, KeyError, ValueError):  # no /proc, or an allocator report this build cannot read
        return {"rss": 0}
    return {name: int(figures[name]) for name in _SHOWN}
