"""Shared plumbing of the refgraph package: captures that leave the package itself out, type names, output."""

from __future__ import annotations

import gc
import io
import os
import sys

from . import _core

# Frames running code of this package are not captured: the tool must not find itself.
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
SKIP_FILES = (PACKAGE_DIR,)

IMAGE_FORMATS = dict(_core.OUTPUT_FORMATS)  # {".dot": "dot", ".gv": "dot", ".png": "png", ...}: the CLI's table


def capture(values=False, shortnames=True, tag="", keep=None, distinct_names=False):
    """A capture of the whole heap with refgraph's own frames left out; ``keep``: objects the call asks about,
    captured even when only refgraph's frames hold them (a temporary argument); the list itself is not."""
    return _core.capture(
        values=values, shortnames=shortnames, skip_files=SKIP_FILES, tag=tag, keep=keep, distinct_names=distinct_names
    )


def capture_collected(values=False, shortnames=True, tag="", distinct_names=False):
    """A capture without cyclic garbage, as after ``gc.collect()``.

    A full collection costs about a third of a capture on a big heap, so it runs only when the capture finds
    objects no root reaches; then the heap is captured again.
    """
    graph = capture(values=values, shortnames=shortnames, tag=tag, distinct_names=distinct_names)
    if graph.unreachable_ids():
        del graph
        gc.collect()
        graph = capture(values=values, shortnames=shortnames, tag=tag, distinct_names=distinct_names)
    return graph


def count_types(shortnames=True, sizes=False, collect=False, distinct_names=False, tracked_only=False):
    """{type name: (gc-tracked count, untracked count, total size)} of what a capture would hold, counted in C++
    without building a graph (``_core.count_types``); sizes are 0 unless ``sizes``. None when this CPython's gc
    lists cannot be read (then count a capture instead).

    ``collect``: leave cyclic garbage out, and what only it holds, as if ``gc.collect()`` had run. The count
    finds the garbage itself, with the collector's own test, and does not collect it: no ``__del__`` runs, and a
    steady heap costs no collection (a full ``gc.collect()`` costs twice the count on a big heap).

    ``tracked_only``: count the gc-tracked objects alone (untracked counts are 0), reading the gc lists without
    following a reference; not with ``collect``, whose garbage search follows them.
    """
    result = _core.count_types(
        shortnames=shortnames,
        sizes=sizes,
        skip_files=SKIP_FILES,
        skip_garbage=collect,
        distinct_names=distinct_names,
        tracked_only=tracked_only,
    )
    return None if result is None else result[0]


def pin_heap(shortnames=True, keep=None):
    """A capture that also holds every captured object until released (for user predicates); ``keep`` as for
    :func:`capture`."""
    return _core.pin_heap(shortnames=shortnames, skip_files=SKIP_FILES, keep=keep)


def short_typename(obj):
    return type(obj).__name__


def long_typename(obj):
    objtype = type(obj)
    module = getattr(objtype, "__module__", None)
    return f"{module}.{objtype.__name__}" if module else objtype.__name__


def format_for(filename):
    """The renderer's format name for an output file name, or ValueError naming the file."""
    try:
        return _core.format_from_path(os.fspath(filename))
    except _core.QueryError as e:
        raise ValueError(str(e)) from None


def is_binary_file(output):
    """True for a file object that takes bytes (``io.BytesIO``, ``open(..., 'wb')``, a socket's file)."""
    if isinstance(output, io.TextIOBase):
        return False
    if isinstance(output, (io.RawIOBase, io.BufferedIOBase)):
        return True
    mode = getattr(output, "mode", None)
    return isinstance(mode, str) and "b" in mode


def prepare_output(filename, output, fmt=None):
    """Checks the output a ``show_*`` call will write before it scans the heap; for an image, starts Graphviz's
    start-up (tens of milliseconds before a first PNG) on a helper thread meanwhile. Returns the format to write
    (``format=``, else the filename's extension; for ``output``: DOT to a text file, PNG to a binary one).
    ValueError on a bad choice."""
    if filename and output:
        raise ValueError("Cannot specify both output and filename.")
    formats = sorted(set(IMAGE_FORMATS.values()))
    if fmt is not None and fmt not in formats:
        raise ValueError(f"format: expected one of {', '.join(formats)}, not {fmt!r}")
    if output is not None:
        if is_binary_file(output):
            fmt = fmt or "png"
        elif fmt not in (None, "dot"):
            raise ValueError(
                f"format {fmt!r} needs a binary file object as output (io.BytesIO(), open(..., 'wb')); "
                "a text one takes DOT"
            )
        else:
            fmt = "dot"
    elif filename:
        by_name = format_for(filename)
        if fmt is not None and fmt != by_name:
            raise ValueError(f"{filename}: format {fmt!r} does not match the extension (a {by_name} file)")
        fmt = by_name
    else:
        fmt = fmt or "png"  # no file named: a temporary image
    if fmt != "dot":
        _core.prewarm(fmt)
    return fmt


def human_size(n, sign=False):
    """Bytes as text with binary units, as the CLI prints them: 512 B, 1.5 KiB, 64 MiB; ``sign``: +1.5 KiB."""
    return _core.human_size(n, sign)


def stdout(file):
    return sys.stdout if file is None else file
