"""Leak signatures: what holds a leak, as text that stays the same from run to run and from test to test.

A leak's signature is the chain of references from a root to the first new object on it (the object the leak hangs
from), with list indices and dict keys that are data rather than identifiers wildcarded:

    module app -> attr 'CACHE' (dict) -> [*] -> Session

Everything a leak keeps alive below that object (its ``__dict__``, its strings) shares the signature, so the types
that grow through one holder are reported once, as one :class:`Holder`; :func:`group_tests` groups the holders of
many tests (a suite whose tests all leak through one cache shows that cache once). Plain data in, plain data out:
the leak checks, the CLI and the leak-suspect analysis use the same functions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from . import _core
from ._snapshot import Hop, _steps

__all__ = [
    "HARNESS",
    "Growth",
    "Holder",
    "HolderPatterns",
    "TestGroup",
    "group_holders",
    "group_tests",
    "harness_held",
    "holder_key",
    "signature",
    "type_rank",
    "wildcard",
]

USER, LIBRARY, BUILTIN = 0, 1, 2
NO_CHAIN = "(no chain to a root found)"


def wildcard(text):
    """``module app -> attr 'CACHE' (dict) -> [*] -> Session`` from ``... -> ['k 1'] -> Session``: every index
    and every key that is not an identifier (``['name']`` names a slot) is ``[*]``, by the core's rule for leak
    signatures (``refgraph::wildcard_text``), so the leak checks and the leak-suspect analysis group alike."""
    return _core.wildcard_text(text)


def _cut(hops, end):
    cut = list(hops[: end + 1])
    if end > 0:  # the last object by its type: its own label (a function's name...) differs from run to run
        cut[-1] = Hop(cut[-1].id, cut[-1].type, "", "")
    return cut


def signature(hops, root_kind, first_new=None):
    """The signature of a chain: ``hops`` root first (:class:`refgraph.Hop`), cut after hop ``first_new`` (the
    first object that did not exist before the leak; None: the last hop), indices and data keys wildcarded.

    >>> hops = [Hop(1, "module", "app", "__dict__"), Hop(2, "dict", "", "['CACHE']"), Hop(3, "dict", "", "['k 1']"),
    ...         Hop(4, "Session", "", "__dict__"), Hop(5, "dict", "", "['name']"), Hop(6, "str", "", "")]
    >>> signature(hops, "module", first_new=3)
    "module app -> attr 'CACHE' (dict) -> [*] -> Session"
    >>> holder_key(hops, "module", first_new=3)
    "module app -> attr 'CACHE' -> dict"
    """
    if not hops:
        return NO_CHAIN
    end = len(hops) - 1 if first_new is None else max(0, min(first_new, len(hops) - 1))
    return wildcard(" -> ".join(text for text, _ in _steps(_cut(hops, end), root_kind)))


def holder_key(hops, root_kind, first_new=None):
    """What a leak hangs from: the chain to the last object that existed before it (the holder), wildcarded.

    The keys and the values that a dict gains, or the items of a list, share the holder's key; it is what the
    holders are grouped by (the signature of the largest growth names them)."""
    if not hops:
        return NO_CHAIN
    end = len(hops) - 1 if first_new is None else min(first_new, len(hops) - 1)
    return wildcard(" -> ".join(text for text, _ in _steps(_cut(hops, max(0, end - 1)), root_kind)))


# The test harness's packages. Its types rank with the standard library's: a leak through a traceback keeps pytest's
# frames and their locals alive too, and the program's types are the news.
HARNESS = frozenset({"_pytest", "pytest", "pluggy", "xdist", "execnet", "refgraph"})


def harness_held(hops, first_new, harness_types):
    """True if the object that gains the new objects of a chain is the test harness's own bookkeeping.

    ``hops`` root first, ``first_new`` the index of the first new object (as for :func:`signature`),
    ``harness_types`` the type names defined only in the harness's packages (:data:`HARNESS`). The holder (the
    last object that existed before) is the harness's when it is an object of a harness type or of a harness
    module, that object's ``__dict__``, or a container held directly by one of its attributes: pluggy's record
    of historic hook calls (``HookCaller._call_history``), pytest's per-item lists. A container reached through
    anything else, such as the value of a fixture that pytest caches (``FixtureDef -> attr 'cached_result'
    (tuple) -> [0] (list)``), is the program's.

    >>> hops = [Hop(1, "HookCaller", "", "_call_history"), Hop(2, "list", "", "[3]"), Hop(3, "tuple", "", "")]
    >>> harness_held(hops, 2, {"HookCaller"})
    True
    >>> hops = [Hop(1, "FixtureDef", "", "cached_result"), Hop(2, "tuple", "", "[0]"), Hop(3, "list", "", "[4]"),
    ...         Hop(4, "Session", "", "")]
    >>> harness_held(hops, 3, {"FixtureDef"})
    False
    """
    holder = (first_new if first_new is not None else len(hops) - 1) - 1
    if holder < 0 or holder >= len(hops):
        return False

    def owned(k):
        hop = hops[k]
        if hop.type == "module":
            return hop.label.partition(".")[0] in HARNESS
        return hop.type in harness_types

    if owned(holder):
        return True
    if (
        holder >= 1
        and owned(holder - 1)
        and (hops[holder - 1].edge == "__dict__" or hops[holder - 1].edge.isidentifier())
    ):
        return True  # the owner's __dict__, or a container in one of its slots
    return (
        holder >= 2
        and owned(holder - 2)
        and hops[holder - 2].edge == "__dict__"
        and re.fullmatch(r"\['[A-Za-z_][A-Za-z0-9_]*'\]", hops[holder - 1].edge) is not None
    )


class HolderPatterns:
    """Holders acknowledged as known leaks (a third-party library's cache): glob patterns on a holder's signature.

    ``*`` matches any text (``[*]`` in a pattern therefore matches the ``[*]`` of a signature); every other
    character matches itself, so a pattern is a signature copied from a report with the part that varies starred:
    ``module click._compat -> *``. A pattern matches a leak when it matches its signature (the chain to the first
    new object) or its holder's key (the chain to the holding object) in full.

    >>> patterns = HolderPatterns(["module click._compat -> *", "IncrementalDecoder (held from C)"])
    >>> patterns.match("module click._compat -> attr 'x' (function) -> [*] -> CaptureIO", "")
    'module click._compat -> *'
    >>> patterns.match("module app -> attr 'CACHE' (dict) -> [*] -> Session", "module app -> attr 'CACHE' -> dict")
    """

    __slots__ = ("_compiled", "patterns")

    def __init__(self, patterns):
        self.patterns = tuple(patterns)
        for pattern in self.patterns:
            if not isinstance(pattern, str) or not pattern.strip():
                raise ValueError(f"refgraph: a holder pattern must be a non-empty string, got {pattern!r}")
        self._compiled = tuple(
            (pattern, re.compile(".*".join(re.escape(part) for part in pattern.strip().split("*")), re.DOTALL))
            for pattern in self.patterns
        )

    def __bool__(self):
        return bool(self.patterns)

    def match(self, sig, key):
        """The first pattern matching ``sig`` or ``key`` in full, or None."""
        for pattern, compiled in self._compiled:
            if compiled.fullmatch(sig or "") or compiled.fullmatch(key or ""):
                return pattern
        return None


def type_rank(qualified_name):
    """USER (0), LIBRARY (1: the standard library, pytest) or BUILTIN (2) for a ``module.qualname`` type name."""
    module, _, _ = qualified_name.rpartition(".")
    top = module.partition(".")[0]
    if not module or module == "builtins":
        return BUILTIN
    if top in sys.stdlib_module_names or top.lstrip("_") in sys.stdlib_module_names or top in HARNESS:
        return LIBRARY
    return USER


@dataclass(frozen=True)
class Growth:
    """One type's growth through a holder, per run (or per call)."""

    type: str
    objects_per_call: float
    bytes_per_call: float
    rank: int = USER


@dataclass(frozen=True)
class Holder:
    """What keeps a leak alive: ``key`` the chain to the holding object (see :func:`holder_key`), ``signature`` the
    chain on to the first new object of its first growth (see :func:`signature`), its root's kind, and the types
    growing through it (user types first, then the standard library's, then builtins; the largest first within
    each)."""

    key: str
    signature: str
    root_kind: str | None
    growth: tuple

    @property
    def objects_per_call(self):
        return sum(g.objects_per_call for g in self.growth)

    @property
    def bytes_per_call(self):
        return sum(g.bytes_per_call for g in self.growth)

    @property
    def types(self):
        return tuple(g.type for g in self.growth)


def _growth_order(g):
    return (g.rank, -g.objects_per_call, -g.bytes_per_call, g.type)


def group_holders(entries):
    """[:class:`Holder`] from ``(key, signature, root_kind, Growth)`` entries: one holder per key.

    Holders through which a user type grows come first, then the largest.
    """
    by_key = {}
    for key, sig, root_kind, growth in entries:
        signatures, growths = by_key.setdefault(key, ({}, {}))
        signatures.setdefault(growth.type, (sig, root_kind))
        old = growths.get(growth.type)
        if old is None or (old.objects_per_call, old.bytes_per_call) < (growth.objects_per_call, growth.bytes_per_call):
            growths[growth.type] = growth
    holders = []
    for key, (signatures, growths) in by_key.items():
        growth = tuple(sorted(growths.values(), key=_growth_order))
        sig, root_kind = signatures[growth[0].type]
        holders.append(Holder(key, sig, root_kind, growth))
    holders.sort(key=lambda h: (min(g.rank for g in h.growth), -h.objects_per_call, -h.bytes_per_call, h.key))
    return holders


@dataclass(frozen=True)
class TestGroup:
    """The tests that leak through one holder: its key, the signature first seen, the root kind, the types grown
    (in all those tests) and the test ids."""

    __test__ = False  # not a pytest test class

    key: str
    signature: str
    root_kind: str | None
    types: tuple
    tests: tuple


def group_tests(pairs):
    """[:class:`TestGroup`] from ``(test id, holder)`` pairs (any object with ``key``, ``signature``, ``root_kind``
    and ``types``), the holder with the most tests first."""
    groups = {}
    for test_id, holder in pairs:
        _, _, types, tests = groups.setdefault(holder.key, (holder.signature, holder.root_kind, {}, {}))
        for t in holder.types:
            types.setdefault(t, None)
        tests.setdefault(test_id, None)
    result = [
        TestGroup(key, sig, kind, tuple(types), tuple(tests)) for key, (sig, kind, types, tests) in groups.items()
    ]
    result.sort(key=lambda g: (-len(g.tests), g.key))
    return result
