"""The process's memory figures shown beside the type tables: RSS for now.

This is the one place the web pages get process memory from. When ``refgraph.memory()`` (RSS, Python-object
bytes, arenas, mallinfo2) exists, ``process_memory`` returns its figures instead; every caller only reads keys it
knows and shows the others as they come.
"""

from __future__ import annotations

import os

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes():
    """Resident set size of this process in bytes, from /proc/self/statm; 0 where there is no /proc."""
    try:
        with open("/proc/self/statm", "rb") as f:
            fields = f.read().split()
        return int(fields[1]) * _PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def process_memory():
    """{name: bytes} of this process's memory; always has ``rss``.

    The hook for ``refgraph.memory()``: once the package has it, its figures are merged in here (numbers only, so
    what is published to the other workers stays plain JSON).
    """
    facts = {"rss": rss_bytes()}
    try:
        from .. import memory
    except ImportError:
        memory = None
    if callable(memory):
        try:
            more = memory()
        except Exception:  # a figure that cannot be read must not take the page down
            more = None
        items = more.items() if isinstance(more, dict) else getattr(more, "_asdict", lambda: {})().items()
        for name, value in items:
            if isinstance(value, int) and not isinstance(value, bool):
                facts[str(name)] = value
    return facts
