"""Heap dumps on a signal, for a process in production: ``kill -USR2 <pid>`` writes ``<pid>-<time>.rgd``."""

from __future__ import annotations

import os
import signal
import time

from . import _snapshot

__all__ = ["dump_on_signal"]


class _DumpOnSignal:
    """The handler: one dump at a time; a signal that arrives while a dump is being written is ignored (Python runs
    a handler between bytecodes, so it can run again inside this one, during the capture's collection or save)."""

    __slots__ = ("busy", "directory")

    def __init__(self, directory):
        self.directory = directory
        self.busy = False

    def __call__(self, signum, frame):
        del frame  # the handler must not keep the interrupted frame (and its locals) alive
        name = signal.Signals(signum).name
        pid = os.getpid()
        if self.busy:
            _say(f"pid {pid}: {name} ignored: a dump is already being written")
            return
        self.busy = True
        try:
            started = time.time()
            path = os.path.join(self.directory, dump_name(pid, started))
            snap = _snapshot.snapshot(tag=f"{name}")
            objects = len(snap)
            snap.save(path)  # atomic: written beside, then renamed
            del snap
            _say(f"pid {pid}: wrote {path} ({objects} objects, {time.time() - started:.1f} s)")
        except Exception as e:  # noqa: BLE001 - a signal handler must not raise into the code it interrupted
            _say(f"pid {pid}: dump on {name} failed: {type(e).__name__}: {e}")
        finally:
            self.busy = False


def _say(line):
    # os.write, not sys.stderr: the interrupted code may be in the middle of writing to sys.stderr itself.
    try:
        os.write(2, f"refgraph: {line}\n".encode("utf-8", "replace"))
    except OSError:
        pass


def dump_name(pid, when):
    """``<pid>-<UTC time with milliseconds>.rgd``: ``4242-20261205T091502.123Z.rgd``."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
    return f"{pid}-{stamp}.{int(when * 1000) % 1000:03d}Z.rgd"


def dump_on_signal(signum=signal.SIGUSR2, directory="."):
    """Write a heap dump ``<directory>/<pid>-<time>.rgd`` each time the process receives ``signum``.

    The dump is a full :func:`refgraph.snapshot` (no ``str``/``bytes`` values), written atomically, and a line
    saying where it went is written to stderr; the process then carries on. A signal that arrives while a dump is
    being written does not start a second one. Python runs the handler in the main thread between bytecodes, so
    a main thread blocked for long in C code delays the dump until it returns.

    ``signum``: the signal (``SIGUSR2`` by default: gunicorn's workers do not use it; its master does, so signal
    the worker). ``directory``: where dumps go, made absolute now; it must exist.

    Returns the previous handler, as ``signal.signal`` does. Call it from the main thread. Under gunicorn, use the
    hook in ``refgraph.gunicorn``: a worker resets its signals after it forks.

    >>> import signal, tempfile
    >>> previous = dump_on_signal(signal.SIGUSR2, tempfile.gettempdir())
    >>> _ = signal.signal(signal.SIGUSR2, previous)
    """
    directory = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(directory):
        raise ValueError(f"dump_on_signal: {directory}: not an existing directory")
    return signal.signal(signum, _DumpOnSignal(directory))
