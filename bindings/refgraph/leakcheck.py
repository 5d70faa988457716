"""Leak checks for tests: a decorator that repeats a function, a context manager around a block.

    @refgraph.no_leaks                     # 2 warm-up calls, then measured calls
    def test_request():
        app.handle("/users")

    with refgraph.leak_check():            # one block, compared before/after
        app.handle("/users")

A leak is growth that scales with the number of calls: after ``gc.collect()``, a type that gains at least one
object per measured call in (nearly) every call, or whose total size grows in every call by at least
``min_bytes_per_call`` (strings and other objects the garbage collector does not track). One-off growth, such as a
cache filled on first use, is not a leak. On a leak, :class:`LeakError` (an ``AssertionError``) leads with what
holds the leak (one :class:`refgraph._signature.Holder` per chain of references from a root, indices wildcarded),
then each leaking type with what it gains per call and the chain that keeps a sample object alive.

Measuring is cheap while nothing leaks: the heap is counted by type in C++ (no graph) after each measured call,
the counting stops as soon as no type can meet the rule, and the heap is captured with its references only to
explain a leak. ``pytest --refgraph-leaks`` screens each test more cheaply still before counting (see
:class:`_Check`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import gc
import inspect
import json
import math
import os
import re
import sys
import tempfile
import tracemalloc
from dataclasses import dataclass

from . import _core, _signature
from ._cleanup import Cleanup
from ._snapshot import _chain as _snapshot_chain

__all__ = ["Leak", "LeakError", "leak_check", "no_leaks"]

# Frames running this package's code are left out of every capture: the tool must not measure itself.
_SKIP_FILES = (os.path.dirname(os.path.abspath(__file__)) + os.sep,)
_MAX_SAMPLES = 8  # new objects tried per leaking type before giving up on a chain to a root
_MAX_BLOCK_CHECKS = 50  # new objects per type whose holder the context manager checks one by one
_MAX_REPORTED_TYPES = 10
_MAX_REPORTED_HOLDERS = 5


def _capture():
    return _core.capture(skip_files=_SKIP_FILES)


def _pin_heap():
    return _core.pin_heap(skip_files=_SKIP_FILES)


@dataclass(frozen=True)
class Leak:
    """One leaking type, as :class:`LeakError` reports it.

    ``objects_per_call`` and ``bytes_per_call`` are the type's growth divided by the measured calls; ``chain`` is
    the one-line chain of references from a root to a sample new object (None if none was found), ``root_kind``
    that root's kind (``'module'``, ``'thread frame'``, ``'external'``, ``'unreachable'``), ``signature`` the
    chain cut at the first new object with indices wildcarded, ``holder`` the chain to the object that holds it
    (what the leaks are grouped by), ``holder_retained`` the bytes that holding object retains (its dominator-tree
    share in the last capture: everything freeing it would free), ``allocated_at``
    ``file:line`` where the sample was allocated (only while ``tracemalloc`` traces), ``image`` the PNG of the
    chain (only with image output on; ``image_error`` says why it could not be written). ``rank``: 0 for a type
    of the program, 1 for the standard library's, 2 for a builtin.
    """

    type: str
    objects_per_call: float
    bytes_per_call: float
    objects: int
    bytes: int
    by_size: bool = False
    chain: str | None = None
    root_kind: str | None = None
    allocated_at: str | None = None
    image: str | None = None
    sample_id: int | None = None
    image_error: str | None = None
    signature: str | None = None
    holder: str | None = None
    rank: int = _signature.USER
    holder_retained: int | None = None

    def one_line(self, block=False, unit="call"):
        """``User +1 object/call, +56 B/call: module app -> attr 'CACHE' (list) -> [6] -> User``."""
        growth = _growth_text(self, block, unit)
        return f"{self.type} {growth}: {self.chain}" if self.chain else f"{self.type} {growth}"


def _holders_of(leaks):
    return _signature.group_holders(
        (
            leak.holder or _signature.NO_CHAIN,
            leak.signature or _signature.NO_CHAIN,
            leak.root_kind,
            _signature.Growth(leak.type, leak.objects_per_call, leak.bytes_per_call, leak.rank),
        )
        for leak in leaks
    )


class LeakError(AssertionError):
    """Raised when checked code leaks; a subclass of ``AssertionError`` so every test runner reports it.

    ``holders`` is a list of :class:`refgraph._signature.Holder`: what keeps the leak alive, one per holding
    object, those that hold a type of the program first; ``leaks`` is a list of :class:`Leak`, one per leaking
    type, the program's types first, then the standard library's, then builtins, the largest first within each;
    ``where`` names the checked code; ``calls`` and ``warmup`` are the measured and warm-up calls (``calls == 1``
    and ``warmup == 0`` for a ``with`` block); ``unit`` is ``'call'``, or ``'run'`` for a test; ``known`` the
    holders that ``ignore_holders`` acknowledges, growing too but not the failure.
    """

    def __init__(self, leaks, where, calls, warmup, unit="call", known=()):
        self.leaks = sorted(leaks, key=lambda x: (x.rank, -x.objects_per_call, -x.bytes_per_call, x.type))
        self.holders = _holders_of(self.leaks)
        self.known = _holders_of(known)
        self.where = where
        self.calls = calls
        self.warmup = warmup
        self.unit = unit
        super().__init__(self._message())

    def one_line(self):
        """The first holder on one line, for summaries."""
        holder = self.holders[0]
        more = len(self.holders) - 1
        return f"{holder.signature}: {_holder_growth_text(holder, self._block, self.unit)}" + (
            f" (and {more} more holder{'s' * (more > 1)})" if more else ""
        )

    @property
    def _block(self):
        return self.calls == 1 and self.warmup == 0

    def _message(self):
        u = self.unit
        if self._block:
            run = "the block"
        else:
            run = f"{self.calls} measured {u}s after {self.warmup} warm-up {u}{'s' * (self.warmup != 1)}"
        n, t = len(self.holders), len(self.leaks)
        lines = [
            (
                f"refgraph: {self.where} leaks through {n} holder{'s' * (n != 1)} "
                f"({t} type{'s' * (t != 1)} grew with {run})"
            )
        ]
        for holder in self.holders[:_MAX_REPORTED_HOLDERS]:
            lines.append(f"  {holder.signature}  [root: {holder.root_kind}]")
            lines.append(f"    {_holder_growth_text(holder, self._block, u)}")
        if n > _MAX_REPORTED_HOLDERS:
            lines.append(f"  ... and {n - _MAX_REPORTED_HOLDERS} more holders")
        for holder in self.known:
            lines.append(f"  ignored, a known leak (ignore_holders): {holder.signature}")
        lines.append("details:")
        for leak in self.leaks[:_MAX_REPORTED_TYPES]:
            lines.append(f"  {leak.type}: {_growth_text(leak, self._block, u)}")
            if leak.chain:
                chain = leak.chain.replace("\n", "\n" + " " * 14)
                lines.append(f"    held by:  {chain}  [root: {leak.root_kind}]")
            else:
                lines.append("    held by:  (no chain to a root found for a sample object)")
            if leak.allocated_at:
                lines.append(f"    allocated at: {leak.allocated_at}")
            if leak.image:
                lines.append(f"    image:    {leak.image}")
            elif leak.image_error:
                lines.append(f"    image:    not written: {leak.image_error}")
            if leak.holder_retained is not None:
                lines.append(f"    the holder retains {_size_text(leak.holder_retained)} in all")
        if t > _MAX_REPORTED_TYPES:
            lines.append(f"  ... and {t - _MAX_REPORTED_TYPES} more types")
        return "\n".join(lines)


def _number(x):
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def _size_text(n):
    return _core.human_size(n)


def _objects_text(n):
    return f"{'+' if n >= 0 else ''}{_number(n)} object{'' if n == 1 else 's'}"


def _growth_text(leak, block=False, unit="call"):
    """``+1 object/call, +56 B/call``; for a block, run once: ``+2 objects, +112 B``."""
    per = "" if block else f"/{unit}"
    return f"{_objects_text(leak.objects_per_call)}{per}, +{_size_text(leak.bytes_per_call)}{per}"


def _holder_growth_text(holder, block=False, unit="call"):
    """``+2 objects/run, +112 B/run: User +1, dict +1`` (user types first)."""
    per = "" if block else f"/{unit}"
    types = ", ".join(
        f"{g.type} {'+' if g.objects_per_call >= 0 else ''}{_number(g.objects_per_call)}"
        if g.objects_per_call
        else f"{g.type} +{_size_text(g.bytes_per_call)}"
        for g in holder.growth
    )
    return f"{_objects_text(holder.objects_per_call)}{per}, +{_size_text(holder.bytes_per_call)}{per}: {types}"


# ---------------------------------------------------------------------------------------------------------------
# Options


def _type_names(value, what):
    if value is None:
        return None
    if isinstance(value, (str, type)):
        value = [value]
    names = set()
    for item in value:
        if isinstance(item, type):
            names.add(item.__name__)
        elif isinstance(item, str):
            names.add(item)
        else:
            raise TypeError(f"refgraph: {what}: expected a class or a type name, got {item!r}")
    return frozenset(names)


def _whole(value, what, least):
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"refgraph: {what} must be an integer >= {least}, got {value!r}")
    return value


@dataclass(frozen=True)
class _Options:
    types: frozenset | None = None  # None: every type
    ignore: frozenset = frozenset()
    warmup: int = 2
    calls: int = 5
    allowed: float = 0.0
    allowed_by_type: tuple = ()  # ((type name, objects per call), ...)
    min_bytes_per_call: int = 256
    images: str | None = None
    trace: bool = False
    screen: bool = False
    ignore_holders: tuple = ()  # glob patterns on holder signatures: known leaks, not failures

    @classmethod
    def make(
        cls,
        types=None,
        ignore=(),
        warmup=2,
        calls=5,
        allowed=0,
        min_bytes_per_call=256,
        images=None,
        trace=False,
        screen=False,
        ignore_holders=(),
    ):
        by_type = ()
        if isinstance(allowed, dict):
            by_type = tuple(sorted((name, _rate(v)) for k, v in allowed.items() for name in _type_names(k, "allowed")))
            allowed = 0
        return cls(
            types=_type_names(types, "types"),
            ignore=_type_names(ignore, "ignore") or frozenset(),
            warmup=_whole(warmup, "warmup", 0),
            calls=_whole(calls, "calls", 1),
            allowed=_rate(allowed),
            allowed_by_type=by_type,
            min_bytes_per_call=_whole(min_bytes_per_call, "min_bytes_per_call", 1),
            images=os.fspath(images) if images is not None else None,
            trace=bool(trace),
            screen=bool(screen),
            ignore_holders=_holder_patterns(ignore_holders),
        )

    def watches(self, type_name):
        return (self.types is None or type_name in self.types) and type_name not in self.ignore

    def allowed_for(self, type_name):
        return dict(self.allowed_by_type).get(type_name, self.allowed)


def _holder_patterns(value):
    if isinstance(value, str):
        value = [value]
    try:
        patterns = tuple(value)
    except TypeError:
        raise TypeError(f"refgraph: ignore_holders: expected a pattern or a list of patterns, got {value!r}") from None
    _signature.HolderPatterns(patterns)  # ValueError for a pattern that is not a non-empty string
    return tuple(p.strip() for p in patterns)


def _rate(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or math.isinf(value):
        raise ValueError(f"refgraph: allowed growth must be a number of objects per call >= 0, got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------------------------------------------
# Judging a series of per-type counts and sizes


def _judge(series, opts):
    """Leaking types from per-step stats: ``series[0]`` after warm-up, ``series[k]`` after measured call k.

    Each step is ``{type: (count, size)}``. A type leaks by count if its count rises in every step (every step but
    one from 3 calls on, so a call that happens to free an older object of the type does not hide a leak), and by
    more than ``allowed`` per call on average. It leaks by size if its total size never
    falls, rises in the same number of steps, and grows by at least ``min_bytes_per_call`` per call.
    Returns [Leak] without chains, the largest first.
    """
    calls = len(series) - 1
    if calls < 1:
        return []
    rising_steps_needed = _rising_steps_needed(calls)
    first, last = series[0], series[-1]
    leaks = []
    for type_name, (count_last, size_last) in last.items():
        if not opts.watches(type_name):
            continue
        count_first, size_first = first.get(type_name, (0, 0))
        count_gain, size_gain = count_last - count_first, size_last - size_first
        if count_gain < rising_steps_needed and size_gain < calls * opts.min_bytes_per_call:
            continue
        counts = [step.get(type_name, (0, 0))[0] for step in series]
        sizes = [step.get(type_name, (0, 0))[1] for step in series]
        count_rises = sum(b > a for a, b in zip(counts, counts[1:]))
        size_steps = list(zip(sizes, sizes[1:]))
        by_count = (
            count_gain >= rising_steps_needed
            and count_gain / calls > opts.allowed_for(type_name)
            and count_rises >= rising_steps_needed
        )
        by_size = (
            size_gain >= calls * opts.min_bytes_per_call
            and all(b >= a for a, b in size_steps)
            and sum(b > a for a, b in size_steps) >= rising_steps_needed
        )
        if by_count or by_size:
            leaks.append(
                Leak(
                    type=type_name,
                    objects_per_call=count_gain / calls,
                    bytes_per_call=size_gain / calls,
                    objects=count_gain,
                    bytes=size_gain,
                    by_size=not by_count,
                )
            )
    leaks.sort(key=lambda leak: (-leak.objects_per_call, -leak.bytes_per_call, leak.type))
    return leaks


def _rising_steps_needed(calls):
    return calls if calls < 3 else calls - 1


def _may_still_leak(series, opts):
    """False when no type can meet the rule whatever the remaining calls do: the measurement may stop early.

    A leaking type must rise in all steps but one; a type that already stayed flat (or, by size, fell) in more
    steps than that cannot, so a clean function usually stops after 2 measured calls instead of `calls`.
    """
    steps_left = opts.calls - (len(series) - 1)
    needed = _rising_steps_needed(opts.calls)
    names = set().union(*series)
    for type_name in names:
        if not opts.watches(type_name):
            continue
        counts = [step.get(type_name, (0, 0))[0] for step in series]
        sizes = [step.get(type_name, (0, 0))[1] for step in series]
        count_rises = sum(b > a for a, b in zip(counts, counts[1:]))
        size_steps = list(zip(sizes, sizes[1:]))
        size_rises = sum(b > a for a, b in size_steps) if all(b >= a for a, b in size_steps) else -steps_left
        if max(count_rises, size_rises) + steps_left >= needed:
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# Measuring repeated runs


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc_in_use():
    """A function returning the bytes in use through C's malloc (glibc), where objects over 512 B live; or None."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _Mallinfo2
    mallinfo2.argtypes = []

    def in_use():
        info = mallinfo2()
        return info.uordblks + info.hblkhd

    return in_use


_MALLOC_IN_USE = _malloc_in_use()
# Memory blocks a screened run may add without being counted: besides objects, Python's allocator serves tables
# (of dicts, lists, interned strings) that move by a few blocks from run to run in a clean test suite.
_SCREEN_BLOCKS = 8


def _screen_memory():
    """(blocks of Python's allocator, malloc's bytes in use), read without a collection."""
    return sys.getallocatedblocks(), _MALLOC_IN_USE() if _MALLOC_IN_USE is not None else 0


def _screen_into(out):
    """Cheap measures of what the heap holds, after a full collection, into `out` (no new object kept):
    the gc-tracked objects made since ``gc.freeze()``, the memory blocks of Python's allocator, malloc's bytes.

    A full collection empties the free lists, so the blocks count live objects exactly; frozen objects are
    outside the collection, so it costs in proportion to what was made since the freeze.
    """
    gc.collect()
    young = len(gc.get_objects(2))
    blocks, in_use = _screen_memory()
    out[0], out[1], out[2] = young, blocks, in_use


def _counts(tracked_only=False):
    """{type name: [count, size]} of the live heap after a collection, counted without a graph (a capture's stats
    where this CPython's gc lists cannot be read). ``tracked_only``: the gc-tracked objects alone, read from the
    collector's lists without following a reference (a tenth of the time or less)."""
    gc.collect()
    result = _core.count_types(sizes=True, skip_files=_SKIP_FILES, tracked_only=tracked_only)
    if result is None:
        return {t: [count, size] for t, count, size in _capture().type_stats(gc_only=tracked_only)}
    return {name: [tracked + untracked, size] for name, (tracked, untracked, size) in result[0].items()}


def _memory_steps(memory, opts):
    """How many steps of a series of (blocks, malloc bytes) readings rose beyond noise."""
    return sum(
        b[0] > a[0] + _SCREEN_BLOCKS / 2 or b[1] >= a[1] + opts.min_bytes_per_call for a, b in zip(memory, memory[1:])
    )


def _classes():
    """Every class, found by walking ``object``'s subclasses (milliseconds: no count of the heap by qualified name,
    which would take a tenth of a second on a big heap)."""
    seen = set()
    todo = [object]
    while todo:
        cls = todo.pop()
        yield cls
        try:
            subclasses = type.__subclasses__(cls)
        except TypeError:
            continue
        for sub in subclasses:
            if id(sub) not in seen:
                seen.add(id(sub))
                todo.append(sub)


def _qualified(cls):
    return f"{getattr(cls, '__module__', '') or ''}.{cls.__name__}"


def _ranks(names):
    """{type name: rank} for the names given (a type of the program ranks before a builtin)."""
    ranks = {}
    for cls in _classes():
        if cls.__name__ in names:
            rank = _signature.type_rank(_qualified(cls))
            ranks[cls.__name__] = min(rank, ranks.get(cls.__name__, rank))
    return ranks


def _harness_types():
    """The short type names that only the test harness's packages (pytest, pluggy...) define."""
    harness, other = set(), set()
    for cls in _classes():
        module = getattr(cls, "__module__", "") or ""
        (harness if isinstance(module, str) and module.partition(".")[0] in _signature.HARNESS else other).add(
            cls.__name__
        )
    return frozenset(harness - other)


class _Check:
    """The leak check of a run repeated several times, driven by its caller.

    ``start()`` once, then ``after_run()`` after each run until it returns True; ``leaks()`` then says what leaked
    (it raises nothing); ``close()`` always. The phases:

    - ``warmup`` runs: caches fill. With the screen on, the collector's objects are frozen (``gc.freeze()``)
      before the last one, so that the objects later runs leave are the collector's young ones, counted in
      microseconds;
    - with the screen on, one screened run: compared with the last warm-up run, did it leave more young objects,
      more than a few more memory blocks (small objects, tracked or not), more malloc'd bytes (larger objects)?
      If no, nothing grew: clean. Young objects go straight to counting; memory alone gets a second screened run;
    - up to ``calls`` counted runs: the heap counted by type (``_core.count_types``) after each, stopped as soon
      as no type can meet the rule (:func:`_judge`). After a screen that saw young objects, only the gc-tracked
      objects are counted (the collector's lists, read without following references: a tenth of the cost), with
      the screen's memory measures beside them; if no tracked type leaks while memory rose in nearly every run,
      the counted runs start again counting every object (untracked strings or bytes grew);
    - a leak found, two more runs between two captures: the objects that the first run made (read from the
      collector's lists) and the second kept (not replaced), their chains and holders.

    When objects were frozen before the check (the program's own ``gc.freeze()``, or a check inside a check), the
    screen is skipped and every measured run is counted.

    After every run, before anything is measured, the interpreter's and the standard library's caches are put back
    (:class:`refgraph._cleanup.Cleanup`, as ``regrtest -R`` does); a leaking type whose every sample is held by the
    test harness's own bookkeeping (:func:`refgraph._signature.harness_held`) is not reported.
    """

    __slots__ = (
        "opts",
        "where",
        "unit",
        "runs",
        "phase",
        "frozen",
        "ref",
        "now",
        "store",
        "found",
        "made",
        "base",
        "final",
        "heap",
        "started_tracing",
        "result",
        "known",
        "cleanup",
        "tracked_first",
    )

    def __init__(self, opts, where, unit="call"):
        self.opts = opts
        self.where = where
        self.unit = unit
        self.runs = 0
        self.phase = "warmup"
        self.frozen = False
        self.ref = self.now = None  # made at the reference: until then the check allocates nothing but itself
        self.store = None
        self.found = ()
        self.made = None
        self.base = self.final = self.heap = None
        self.started_tracing = False
        self.result = ()
        self.known = []
        self.cleanup = None
        # screened: the counted runs count gc-tracked objects only, unless memory grows without them
        self.tracked_first = False

    def start(self):
        self.cleanup = Cleanup()
        if self.opts.warmup <= 1:
            self._freeze()
        if self.opts.warmup == 0:
            self._reference()

    def after_run(self):
        """Measure after a run; True when the check is done (the caller stops running)."""
        self.runs += 1
        self.cleanup()  # what the interpreter and the standard library cache is not the run's growth
        if self.phase == "warmup":
            if self.runs == self.opts.warmup - 1:
                self._freeze()
            elif self.runs == self.opts.warmup:
                self._reference()
            return False
        if self.phase in ("screen", "screen again"):
            _screen_into(self.now)
            ref, now = self.ref, self.now
            if now[0] > ref[0]:
                self.tracked_first = True  # young objects: counting the tracked ones is likely to tell
                self._count_from_here()
            elif self.phase == "screen again" and self._memory_rose():
                self._count_from_here()
            elif self._memory_rose():
                # blocks come and go by a few (dict and list tables resized, strings interned): a second
                # screened run tells noise from a leak of objects the collector does not track
                ref[0], ref[1], ref[2] = now[0], now[1], now[2]
                self.phase = "screen again"
            else:
                return self._done([])
            return False
        if self.phase == "count":
            self._record_count()
            series, memory = self.series()
            counted = len(series) - 1
            steps_left = self.opts.calls - counted
            needed = _rising_steps_needed(self.opts.calls)
            memory_may_rise = self.tracked_first and _memory_steps(memory, self.opts) + steps_left >= needed
            if steps_left > 0 and (_may_still_leak(series, self.opts) or memory_may_rise):
                return False
            leaks = _judge(series, self.opts) if counted == self.opts.calls else []
            del series
            if not leaks and memory_may_rise:
                # memory rose in nearly every run and no tracked type explains it: objects the collector does not
                # track (strings, bytes, or a frozen container's table) grew; counting every object tells which
                self.tracked_first = False
                self.store.close()
                self._count_from_here()
                return False
            if not leaks:
                return self._done([])
            ranks = _ranks({leak.type for leak in leaks})
            self.found = [dataclasses.replace(leak, rank=ranks.get(leak.type, _signature.USER)) for leak in leaks]
            if self._known_without_captures():
                return True
            self._capture_base()
            return False
        if self.phase == "report":
            self._capture_middle()
            return False
        if self.phase == "report again":
            return self._done(*self._explain())
        raise AssertionError(f"after_run in phase {self.phase}")

    def _memory_rose(self):
        ref, now = self.ref, self.now
        return now[1] > ref[1] + _SCREEN_BLOCKS or now[2] >= ref[2] + self.opts.min_bytes_per_call

    def _freeze(self):
        if not self.opts.screen or gc.get_freeze_count():
            return  # objects frozen by someone else: unfreezing at the end would undo their freeze
        gc.collect(1)
        gc.freeze()
        self.frozen = True

    def _reference(self):
        if not self.frozen or not self.opts.screen:
            self._count_from_here()
            return
        # twice: the second reading is taken while the first one's numbers exist, as every later reading will be
        self.ref, self.now = [0, 0, 0], [0, 0, 0]
        _screen_into(self.ref)
        _screen_into(self.ref)
        self.phase = "screen"

    def _count_from_here(self):
        self.store = tempfile.TemporaryFile()
        self._record_count()
        self.phase = "count"

    def _record_count(self):
        """One step's stats go to a file: the series adds no Python object between two counts. Beside the
        counts, the allocator's blocks and malloc's bytes (the screen's measures) tell untracked growth apart."""
        stats = _counts(tracked_only=True) if self.tracked_first else _counts()
        self.store.write(json.dumps([stats, _screen_memory()]).encode() + b"\n")

    def series(self):
        """([{type: (count, size)}] by step, [(blocks, malloc bytes)] by step)."""
        self.store.seek(0)
        series, memory = [], []
        for line in self.store:
            stats, mem = json.loads(line)
            series.append({t: tuple(v) for t, v in stats.items()})
            memory.append(tuple(mem))
        self.store.seek(0, os.SEEK_END)
        return series, memory

    def _known_without_captures(self):
        """Whether every leaking type is a known leak, judged without a capture; then the check is done.

        Only with holders acknowledged (``ignore_holders``), the collector's objects frozen and the tracked objects
        counted: the objects of each leaking type that the collector holds since the freeze (the latest first: the
        last runs' leak) are the samples, and one scan of the references finds each one's chain back to a module
        (``_core.local_chains_capture``), or none (an object held from C). If every sample's holder is
        acknowledged, the leak is known, found in milliseconds; else the leak is explained as any other, with its
        two captures and two more runs, and this cost nothing but the scan."""
        if not (self.opts.ignore_holders and self.frozen and self.tracked_first):
            return False
        gc.collect()
        samples = {leak.type: [] for leak in self.found}
        young = set()
        obj = None
        for obj in gc.get_objects(2):  # the young objects (frozen ones are in no generation)
            young.add(id(obj))
            ids = samples.get(type(obj).__name__)
            if ids is not None:
                ids.append(id(obj))
        del obj
        samples = {name: ids[-_MAX_SAMPLES:] for name, ids in samples.items()}
        if not all(samples.values()):
            return False
        graph = _core.local_chains_capture([oid for ids in samples.values() for oid in ids], ["module"], 0, _SKIP_FILES)
        if graph is None:
            return False
        patterns = _signature.HolderPatterns(self.opts.ignore_holders)
        harness = _harness_types()
        known = []
        for leak in self.found:
            first = None
            for oid in samples[leak.type]:
                chain = _chain(graph, oid, lambda hop: hop.id in young, harness)
                if chain is None or chain[4] or patterns.match(*chain[3]) is None:
                    return False
                first = first or (oid, chain)
            known.append(_with_chain(leak, first, graph, None, _NO_IMAGES, self.where, _no_retained))
        self._done([], known)
        return True

    def _capture_base(self):
        if self.opts.images is not None:
            _core.prewarm("png")  # Graphviz starts up while the runs and the chain searches go on
        gc.collect()
        self.base = _capture()
        if self.opts.trace and not tracemalloc.is_tracing():
            tracemalloc.start()
            self.started_tracing = True
        self.phase = "report"

    def _capture_middle(self):
        """The gc-tracked objects of each leaking type that one run made: the samples, if the next run keeps them.

        Read from the collector's lists (only the young ones while objects are frozen), not from a capture: a
        third capture would cost more than the rest of the report. Untracked types get no such list."""
        gc.collect()
        types = {leak.type for leak in self.found}
        base = self.base
        made = {}
        obj = None
        for obj in gc.get_objects(2) if self.frozen else gc.get_objects():
            name = type(obj).__name__
            if name in types:
                index = base.find(id(obj))
                if index < 0 or base.node(index)["type"] != name:
                    made.setdefault(name, set()).add(id(obj))
        del obj
        self.made = made
        self.phase = "report again"

    def _explain(self):
        gc.collect()
        if tracemalloc.is_tracing():
            self.heap = _pin_heap()  # live objects, for tracemalloc's allocation sites
            self.final = self.heap.graph
        else:
            self.final = _capture()
        new = set(self.final.new_ids(self.base))
        made = self.made or {}
        harness = _harness_types()
        retained = _retained_lookup(self.final)
        patterns = _signature.HolderPatterns(self.opts.ignore_holders)
        leaks, known = [], []
        for leak in self.found:
            leak, is_known = _explain(
                leak,
                self.base,
                self.final,
                self.heap,
                self.opts,
                self.where,
                new,
                made.get(leak.type),
                harness,
                retained,
                patterns,
            )
            if leak is not None:
                (known if is_known else leaks).append(leak)
        if self.tracked_first:
            self._add_untracked_growth(leaks, known, new, harness, retained, patterns)
        return leaks, known

    def _add_untracked_growth(self, leaks, known, new, harness, retained, patterns):
        """After counts of tracked objects only: the untracked objects (a dict's new str keys beside its new
        values) that the two captures show growing by one a run or more, reported where they hang from a holder
        of the leak found, not judged on their own."""
        holders = {leak.holder for leak in (*leaks, *known) if leak.holder}
        if not holders:
            return
        runs = 2  # between the two captures
        counted = {leak.type for leak in self.found}

        def untracked(graph):
            every = {name: (n, size) for name, n, size in graph.type_stats()}
            for name, n, size in graph.type_stats(gc_only=True):
                n_all, size_all = every[name]
                every[name] = (n_all - n, size_all - size)
            return every

        before, after = untracked(self.base), untracked(self.final)
        grown = []
        for name, (n, size) in after.items():
            n0, size0 = before.get(name, (0, 0))
            if name not in counted and n - n0 >= runs:
                grown.append(Leak(name, (n - n0) / runs, (size - size0) / runs, n - n0, size - size0))
        ranks = _ranks({leak.type for leak in grown})
        for leak in grown:
            leak = dataclasses.replace(leak, rank=ranks.get(leak.type, _signature.BUILTIN))
            leak, is_known = _explain(
                leak, self.base, self.final, self.heap, self.opts, self.where, new, None, harness, retained, patterns
            )
            if leak is not None and leak.holder in holders:
                (known if is_known else leaks).append(leak)

    def _done(self, leaks, known=()):
        self.result = leaks
        self.known = list(known)
        self.phase = "done"
        return True

    def leaks(self):
        return self.result

    def known_leaks(self):
        """The leaking types held only through holders that ``ignore_holders`` acknowledges (not failures)."""
        return self.known

    def error(self):
        return LeakError(self.result, self.where, self.opts.calls, self.opts.warmup, unit=self.unit, known=self.known)

    def close(self):
        if self.cleanup is not None:
            self.cleanup.close()
            self.cleanup = None
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
        if self.started_tracing:
            tracemalloc.stop()
            self.started_tracing = False
        if self.heap is not None:
            self.heap.release()
            self.heap = None
        if self.store is not None:
            self.store.close()
            self.store = None
        self.base = self.final = None
        self.made = None


def _new_ids_of_type(final, type_name, new):
    """The ids of `type_name` objects in `final` among `new` (``set(final.new_ids(base))``: by id and type)."""
    return sorted(new.intersection(final.ids_of_type(type_name)))


def _samples(base, final, leak, new, made=None):
    """Candidate objects whose chain explains the leak: new objects, the largest first for a size leak.

    ``made``: the ids of the type that one run made (new since `base`) as found before a last run: those that
    `final` still holds are kept, not replaced, and come first (a run also replaces objects of a leaking type
    that are not the leak, such as a handler's fresh list).
    """
    ids = _new_ids_of_type(final, leak.type, new)
    if made and not leak.by_size:
        kept = set(ids).intersection(made)
        ids = sorted(kept) + [oid for oid in ids if oid not in kept]
    if leak.by_size:
        grown = []
        for oid in ids or final.ids_of_type(leak.type):
            old = base.find(oid)
            before = base.node(old)["size"] if old >= 0 and base.node(old)["type"] == leak.type else 0
            grown.append((final.node(final.find(oid))["size"] - before, oid))
        grown.sort(reverse=True)
        return [oid for gain, oid in grown[:_MAX_SAMPLES] if gain > 0]
    return ids[:_MAX_SAMPLES]


def _not_in(base):
    """``is_new`` for :func:`_chain`: a hop that the graph `base` does not hold (by id and type)."""

    def is_new(hop):
        index = base.find(hop.id)
        return index < 0 or base.node(index)["type"] != hop.type

    return is_new


def _chain(graph, oid, is_new=None, harness_types=frozenset()):
    """(one-line chain text, root kind, ids root first, (signature, holder key), harness held, holder id) for an
    object of `graph`, or None if no chain was found. The signature is cut at the first hop for which
    ``is_new(hop)`` is true (None: no cut); harness held: the holder is the test harness's bookkeeping
    (:func:`_signature.harness_held`)."""
    chain = _snapshot_chain(graph, oid)
    if not chain.hops or chain.root_kind is None:
        return None
    first_new = None
    if is_new is not None:
        first_new = next((k for k, hop in enumerate(chain.hops) if is_new(hop)), None)
    sig = _signature.signature(chain.hops, chain.root_kind, first_new)
    key = _signature.holder_key(chain.hops, chain.root_kind, first_new)
    harness = first_new is not None and _signature.harness_held(chain.hops, first_new, harness_types)
    holder_id = chain.hops[first_new - 1].id if first_new else None
    return chain.report(), chain.root_kind, [hop.id for hop in chain.hops], (sig, key), harness, holder_id


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80] or "leak"


# Which sample's chain explains a leak best, by its root: a module's or a thread's, rather than an object held from
# C (whose holder the chain cannot name) or garbage.
_ROOT_PREFERENCE = {"module": 0, "thread frame": 1, "external": 2, "unreachable": 3}


def _explain(
    leak, base, final, heap, opts, where, new, made=None, harness_types=frozenset(), retained=None, ignored_holders=None
):
    """(`leak` with the chain of its best sample, known): None for the leak if every sample with a chain is held by
    the test harness's own bookkeeping (pytest's, pluggy's): growth the harness keeps is not the test's leak. Known
    is True when every other sample hangs from a holder that `ignored_holders` (:class:`_signature.HolderPatterns`)
    matches: a known leak, reported with that sample's chain but no image and no retained size."""
    found = known = None
    harness_only = False
    for oid in _samples(base, final, leak, new, made):
        chain = _chain(final, oid, _not_in(base), harness_types)
        if chain is None:
            continue
        if chain[4]:
            harness_only = True
            continue
        if ignored_holders and ignored_holders.match(*chain[3]) is not None:
            known = known or (oid, chain)
            continue
        rank = _ROOT_PREFERENCE.get(chain[1], 2)
        if found is None or rank < found[0]:
            found = (rank, oid, chain)
            if rank == 0:
                break
    if found is None and known is not None:
        return _with_chain(leak, known, final, None, _NO_IMAGES, where, _no_retained), True
    if found is None and harness_only:
        return None, False
    return _with_chain(leak, found[1:] if found else None, final, heap, opts, where, retained), False


_NO_IMAGES = _Options()


def _no_retained(_oid):
    return None


def _retained_lookup(final):
    """holder id -> the bytes it retains in `final`: one dominator tree for all the leaks of a report, made on first
    use; None where `final` is not a native graph (the tests' stand-ins) or does not have the id."""
    tree = []

    def retained(oid):
        try:
            if not tree:
                tree.append(_core.Dominators(final))
            return tree[0].retained(oid)
        except (_core.Error, TypeError):
            return None

    return retained


def _with_chain(leak, found, final, heap, opts, where, retained=None):
    """`leak` with the chain of a sample object, its allocation site and image: `found` is (id, _chain(...))."""
    if found is None:
        return leak
    oid, (text, kind, ids, (sig, key), _, holder_id) = found
    holder_retained = None
    if holder_id is not None:
        holder_retained = (retained or _retained_lookup(final))(holder_id)
    allocated_at = image = image_error = None
    if heap is not None:
        try:
            trace = tracemalloc.get_object_traceback(heap.object(oid))
        except KeyError:
            trace = None
        if trace:
            allocated_at = f"{trace[-1].filename}:{trace[-1].lineno}"
    if opts.images is not None:
        image = os.path.join(opts.images, f"{_slug(where)}-{_slug(leak.type)}.png")
        try:
            os.makedirs(opts.images, exist_ok=True)
            _core.render_to_file(final.chain_dot(ids, title=f"{leak.type} leaked by {where}"), image, "png")
        except (OSError, _core.Error) as error:  # the leak is the news: report it, and why there is no image
            image, image_error = None, f"{error}"
    return dataclasses.replace(
        leak,
        chain=text,
        root_kind=kind,
        allocated_at=allocated_at,
        image=image,
        sample_id=oid,
        image_error=image_error,
        signature=sig,
        holder=key,
        holder_retained=holder_retained,
    )


def _run_sync(fn, args, kwargs, opts, where):
    """Call `fn` under a check until the check is done; the last call's result, or LeakError."""
    __tracebackhide__ = True
    check = _Check(opts, where)
    try:
        check.start()
        while True:
            result = fn(*args, **kwargs)
            if check.after_run():
                break
        leaks = check.leaks()
        error = check.error() if leaks else None
    finally:
        check.close()
    if error is not None:
        raise error
    return result


async def _run_async(fn, args, kwargs, opts, where):
    __tracebackhide__ = True
    check = _Check(opts, where)
    try:
        check.start()
        while True:
            result = await fn(*args, **kwargs)
            if check.after_run():
                break
        leaks = check.leaks()
        error = check.error() if leaks else None
    finally:
        check.close()
    if error is not None:
        raise error
    return result


def no_leaks(
    func=None,
    /,
    *,
    types=None,
    ignore=(),
    warmup=2,
    calls=5,
    allowed=0,
    min_bytes_per_call=256,
    images=None,
    trace=False,
    screen=False,
    ignore_holders=(),
):
    """Check that a function does not leak: each call of the decorated function runs it several times.

    After ``warmup`` calls (which fill caches), up to ``calls`` more calls are measured: after each, the heap is
    collected (``gc.collect()``) and counted by type. A type that gains at least one object in (nearly) every
    measured call, or whose total size grows by ``min_bytes_per_call`` in every call, is a leak: two more calls
    run between two captures of the heap to find the chains of references that hold its new objects, and
    :class:`LeakError` is raised, leading with each holder. The measured calls stop as soon as no type can meet
    the rule any more (a clean function usually runs ``warmup + 2`` times); then the decorated call returns the
    last call's result. Works on functions, methods and ``async def`` functions (the wrapper stays a coroutine
    function and awaits every call in the running loop).

    ``types``: the classes or type names to watch (default: all). ``ignore``: classes or type names never
    reported. ``warmup``, ``calls``: calls before measuring and measured calls. ``allowed``: objects per call a
    type may gain without being reported, a number or ``{type: number}``. ``min_bytes_per_call``: the growth in
    bytes per call that makes a size leak. ``images``: a directory to write a PNG of each leak's chain to.
    ``trace``: turn ``tracemalloc`` on for the call that explains a leak so the report says where a sample was
    allocated. ``screen``: screen a call cheaply before counting (see :class:`_Check`; what ``pytest
    --refgraph-leaks`` does): faster on clean code, blind to a leak of fewer than 8 small untracked objects per call.
    ``ignore_holders``: glob patterns (``*`` any text) on holders' signatures, known leaks that are not failures
    (a third-party library's cache: ``"module click* -> attr '_default_text_std*"``): a leaking type whose every
    sample hangs from such a holder is listed in ``LeakError.known`` (or :meth:`_Check.known_leaks`), not raised.

    >>> CACHE = []
    >>> @no_leaks
    ... def remember():
    ...     CACHE.append(object())
    >>> remember()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    refgraph.leakcheck.LeakError: refgraph: ...remember leaks through 1 holder (1 type grew with 5 measured calls...)
    ...
    """
    opts = _Options.make(
        types=types,
        ignore=ignore,
        warmup=warmup,
        calls=calls,
        allowed=allowed,
        min_bytes_per_call=min_bytes_per_call,
        images=images,
        trace=trace,
        screen=screen,
        ignore_holders=ignore_holders,
    )

    def decorate(fn):
        where = getattr(fn, "__qualname__", repr(fn))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def checked_async(*args, **kwargs):
                __tracebackhide__ = True
                return await _run_async(fn, args, kwargs, opts, where)

            return checked_async

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            __tracebackhide__ = True
            return _run_sync(fn, args, kwargs, opts, where)

        return checked

    if func is not None:
        if not callable(func):
            raise TypeError(f"refgraph.no_leaks: expected a function or keyword options, got {func!r}")
        return decorate(func)
    return decorate


# ---------------------------------------------------------------------------------------------------------------
# A block run once


class leak_check:  # noqa: N801 - used like a function: `with refgraph.leak_check():`
    """Check that a ``with`` block leaves no new objects alive, apart from what its own frame holds.

    A block runs once, so it cannot show growth per call: the check compares the heap after the block with the
    heap before it (both after ``gc.collect()``) and reports every type with new objects still alive, except
    objects held only by local variables of the running function (or another frame of this thread): a local
    assigned in the block is the caller's, not a leak. Run the code once before the block so that caches and
    other one-off state exist before it: they would be reported otherwise. Up to 50 new objects per type are
    checked one by one; beyond that the share held by local variables is estimated from those 50.

    ``types``, ``ignore``, ``images``, ``trace`` as for :func:`no_leaks`; ``allowed`` is the number of new
    objects a type may keep. On exit from the block (unless it raised) a leak raises :class:`LeakError`;
    ``check.leaks`` holds the same list afterwards.

    >>> KEEP = []
    >>> with leak_check() as check:
    ...     KEEP.append(object())
    Traceback (most recent call last):
    ...
    refgraph.leakcheck.LeakError: refgraph: with block leaks through 1 holder (1 type grew with the block)
    ...
    """

    def __init__(self, types=None, ignore=(), allowed=0, images=None, trace=False, where="with block"):
        self.opts = _Options.make(
            types=types, ignore=ignore, warmup=0, calls=1, allowed=allowed, images=images, trace=trace
        )
        self.where = where
        self.leaks = []
        self._base = None
        self._started_tracing = False

    def __enter__(self):
        gc.collect()
        self._base = _capture()
        if self.opts.trace and not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracing = True
        return self

    def __exit__(self, exc_type, exc, tb):
        __tracebackhide__ = True
        heap = None
        try:
            if exc_type is not None:
                return False
            gc.collect()
            if tracemalloc.is_tracing():
                heap = _pin_heap()
                final = heap.graph
            else:
                final = _capture()
            self.leaks = self._find(final, heap)
        finally:
            if self._started_tracing:
                tracemalloc.stop()
                self._started_tracing = False
            if heap is not None:
                heap.release()
            self._base = None
        if self.leaks:
            raise LeakError(self.leaks, self.where, 1, 0)
        return False

    def _find(self, final, heap):
        base = self._base
        own = {id(self._base)}
        this_thread = set()
        frame = sys._getframe()
        while frame is not None:
            this_thread.add(id(frame))
            frame = frame.f_back
        leaks = []
        all_new = set(final.new_ids(base))
        retained = _retained_lookup(final)
        for type_name, _count, count_gain, _size, _size_gain in final.growth(base):
            if not self.opts.watches(type_name) or count_gain <= self.opts.allowed_for(type_name):
                continue
            new = [oid for oid in _new_ids_of_type(final, type_name, all_new) if oid not in own]
            kept, kept_size, first_chain = self._kept(final, new, this_thread)
            if kept > count_gain:  # some new objects replaced old ones: the net growth is what stays
                kept, kept_size = count_gain, round(kept_size * count_gain / kept)
            if kept < 1 or kept <= self.opts.allowed_for(type_name):
                continue
            leak = Leak(type=type_name, objects_per_call=kept, bytes_per_call=kept_size, objects=kept, bytes=kept_size)
            leaks.append(_with_chain(leak, first_chain, final, heap, self.opts, self.where, retained))
        if leaks:
            ranks = _ranks({leak.type for leak in leaks})
            leaks = [dataclasses.replace(leak, rank=ranks.get(leak.type, _signature.USER)) for leak in leaks]
        leaks.sort(key=lambda leak: (-leak.objects, -leak.bytes, leak.type))
        return leaks

    def _kept(self, final, new, frames):
        """How many of `new` (and their bytes) something other than this thread's frames holds."""
        checked = kept = kept_size = 0
        first_chain = None
        for oid in new[-_MAX_BLOCK_CHECKS:]:
            checked += 1
            found = _chain(final, oid, _not_in(self._base))
            if found is not None and found[1] == "thread frame" and found[2][0] in frames:
                continue
            kept += 1
            kept_size += final.node(final.find(oid))["size"]
            if first_chain is None and found is not None:
                first_chain = (oid, found)
        if checked and len(new) > checked:
            scale = len(new) / checked
            kept, kept_size = round(kept * scale), round(kept_size * scale)
        return kept, kept_size, first_chain
