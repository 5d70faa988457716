"""The counting path (_core.count_types): the objects, counts and sizes a capture would report, without a graph.

Comparisons against a capture run with this file among the skipped files, so the test's own locals (the results
being compared) are the tool's objects for both and neither counts them.
"""

import collections
import gc
import io
import sys
import threading
import types
import weakref

import pytest
import refgraph
from refgraph import _common, _core, _snapshot

SKIP = _common.SKIP_FILES + (__file__,)

if _core.count_types() is None:  # pragma: no cover - another CPython: the callers fall back to a capture
    pytest.skip("count_types cannot read this CPython's gc lists", allow_module_level=True)


class Slotted:
    __slots__ = ("a", "b")


class Plain:
    pass


class KeyedDict(dict):
    pass


class Unique:
    pass


def _gen(n):
    local = [n]
    yield local
    yield n


def _traceback():
    try:
        raise ValueError("x")
    except ValueError as e:
        return e


# A heap with every kind of object the capture reads field by field, held from a module.
VARIETY = types.ModuleType("count_variety")
VARIETY.slotted = [Slotted() for _ in range(3)]
for _i, _s in enumerate(VARIETY.slotted):
    _s.a = "slot-%d" % _i
    _s.b = 10**30 + _i
VARIETY.plain = Plain()
VARIETY.plain.name = "plain"
VARIETY.plain.more = {"k": (1, 2.5, b"bytes", bytearray(b"ba"))}
VARIETY.keyed = KeyedDict(alpha=1, beta="two")
VARIETY.ref = weakref.ref(VARIETY.plain)
VARIETY.cells = (lambda x: lambda: x)(["closed"])
VARIETY.gen = _gen(5)
next(VARIETY.gen)
VARIETY.exc = _traceback()  # a traceback holding a frame owned by its frame object
VARIETY.method = VARIETY.keyed.get
VARIETY.sets = ({1, 2, "three"}, frozenset({"f"}))
VARIETY.text = ("ünïcode" * 5, "\U0001f600" * 3, "x" * 1000)
VARIETY.rng = range(7, 70, 7)
VARIETY.deque = collections.deque([1, 2, 3])
VARIETY.cls = type("Made", (Plain,), {"attr": [1, 2]})
sys.modules["count_variety"] = VARIETY


def _compare(shortnames=True):
    """{type: (count_types' (tracked, untracked, size), capture's (tracked, all, size))} for types that differ."""
    gc.collect()
    gc.disable()
    try:
        counts, garbage = _core.count_types(shortnames=shortnames, sizes=True, skip_files=SKIP)
        graph = _core.capture(shortnames=shortnames, skip_files=SKIP)
    finally:
        gc.enable()
    every = {name: (n, size) for name, n, size in graph.type_stats()}
    tracked = {name: n for name, n, _size in graph.type_stats(gc_only=True)}
    differ = {}
    for name in every.keys() | counts.keys():
        t, u, size = counts.get(name, (0, 0, 0))
        n, csize = every.get(name, (0, 0))
        if (t, t + u, size) != (tracked.get(name, 0), n, csize):
            differ[name] = ((t, u, size), (tracked.get(name, 0), n, csize))
    return counts, garbage, differ


@pytest.fixture(autouse=True, scope="module")
def _warm():
    # First calls create lazily-built objects (argument parsers' keyword tuples, frame objects): not under test.
    _core.capture(skip_files=SKIP)
    _core.count_types(sizes=True, skip_files=SKIP)


def test_counts_and_sizes_equal_a_capture_of_the_same_heap():
    counts, garbage, differ = _compare()
    assert differ == {}
    assert garbage == -1
    # and the variety is there: tracked and untracked objects of each kind
    assert counts["Slotted"][0] == 3 and counts["KeyedDict"][0] == 1 and counts["generator"][0] >= 1
    assert counts["str"][0] == 0 and counts["str"][1] > 1000
    assert counts["range"][1] >= 1 and counts["code"][1] > 100 and counts["traceback"][0] >= 1


def test_long_names_equal_a_capture_too():
    counts, _garbage, differ = _compare(shortnames=False)
    assert differ == {}
    assert counts[f"{__name__}.Slotted"][0] == 3
    assert counts["builtins.str"][1] > 1000


def test_big_string_held_in_a_global_is_counted_with_its_size():
    # GIVEN a 64 MiB str in a global (the article's sample: objgraph cannot see it)
    global BIG
    BIG = "b" * 2**26
    try:
        counts, _garbage, differ = _compare()
        # THEN the counts and sizes equal the capture's, and the str row holds the string's bytes
        assert differ == {}
        assert counts["str"][2] >= sys.getsizeof(BIG)
        # and summary() puts str first with at least 64 MiB
        out = io.StringIO()
        refgraph.summary(limit=1, file=out)
        row = out.getvalue().splitlines()[2].split("|")
        assert row[0].strip() == "str"
        assert row[2].strip().endswith("MiB") and float(row[2].split()[0]) >= 64.0
    finally:
        del BIG


@pytest.mark.parametrize("sort", ["size", "count"])
def test_summary_rows_equal_the_snapshots(monkeypatch, sort):
    # GIVEN a quiet heap, and this file counted as the tool's (so the rows we hold are not counted)
    monkeypatch.setattr(_common, "SKIP_FILES", SKIP)
    gc.collect()
    gc.disable()
    try:
        # WHEN summary() counts without a graph, then a capture of the same heap
        rows = _snapshot._summary_rows(0, False, True, sort)
        graph = _core.capture(skip_files=SKIP, distinct_names=True)
    finally:
        gc.enable()
    # THEN summary's rows are the snapshot's type table, row for row
    assert len(rows) > 50
    assert rows == [_snapshot.TypeRow(*row) for row in graph.type_stats(sort=sort)]
    # and the table printed is made of those rows
    out = io.StringIO()
    refgraph.summary(limit=2, file=out, sort=sort)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and lines[0].split() == ["types", "|", "#", "objects", "|", "total", "size"]


def test_untracked_objects_held_only_by_a_thread_frame_are_counted():
    # GIVEN a thread whose frame alone holds a complex number and a range (untracked objects)
    ready, done = threading.Event(), threading.Event()

    def hold(n):
        z = complex(n, 2)  # noqa: F841 (held by the frame)
        r = range(n)  # noqa: F841
        ready.set()
        done.wait()

    before = _core.count_types()[0]
    t = threading.Thread(target=hold, args=(12345,))
    t.start()
    ready.wait()
    try:
        during = _core.count_types()[0]
    finally:
        done.set()
        t.join()
    # THEN each is counted once, as untracked
    assert during["complex"][1] == before.get("complex", (0, 0, 0))[1] + 1
    assert during["range"][1] == before.get("range", (0, 0, 0))[1] + 1


def test_shared_untracked_objects_are_counted_once():
    # GIVEN 1000 instances all holding the same str, and 1000 holding a str of their own
    shared = "shared-value-%d" % id(test_shared_untracked_objects_are_counted_once)
    VARIETY.many = [Plain() for _ in range(2000)]
    for k, p in enumerate(VARIETY.many):
        p.value = shared if k < 1000 else "own-%d" % k
    del shared, p
    try:
        counts, _garbage, differ = _compare()
        assert differ == {}
        with_them = counts["str"][1]
        del VARIETY.many
        counts, _garbage, differ = _compare()
        assert differ == {}
        # THEN the shared str counted once, the 1000 own ones each once
        assert with_them - counts["str"][1] == 1001
    finally:
        VARIETY.__dict__.pop("many", None)


def test_what_only_the_tools_frames_hold_is_not_counted():
    # GIVEN objects held only by a frame running a skipped file (here: this test's frame)
    held = [Unique() for _ in range(50)]
    names = ["tool-held-%d" % k for k in range(50)]
    # WHEN counting with this file skipped, and without
    skipped = _core.count_types(skip_files=SKIP)[0]
    seen = _core.count_types(skip_files=_common.SKIP_FILES)[0]
    # THEN the skipped frame's objects are left out, and counted once the frame is not the tool's
    assert "Unique" not in skipped
    assert seen["Unique"] == (50, 0, 0)
    assert seen["str"][1] >= skipped["str"][1] + 50
    # and an object the tool's frame shares with the heap is still counted
    VARIETY.shared_unique = held[0]
    try:
        assert _core.count_types(skip_files=SKIP)[0]["Unique"] == (1, 0, 0)
    finally:
        del VARIETY.shared_unique
    del held, names


def test_tracked_only_counts_equal_the_full_counts_tracked_column():
    # GIVEN the tool's frame (this file skipped) holding 50 objects, and the varied heap
    held = [Unique() for _ in range(50)]
    # WHEN counting the gc lists alone, then everything
    tracked = _core.count_types(skip_files=SKIP, tracked_only=True)[0]
    full = _core.count_types(skip_files=SKIP)[0]
    # THEN the same tracked counts (the first result is held by this skipped frame alone, so neither counts it);
    # nothing untracked was looked for, and the tool's objects are left out of both
    assert {name: row[0] for name, row in full.items() if row[0]} == {name: row[0] for name, row in tracked.items()}
    assert all(row[1] == 0 for row in tracked.values())
    assert "Unique" not in tracked and tracked["Slotted"] == (3, 0, 0)
    assert refgraph.typestats()["Slotted"] == 3
    del held


def test_counting_leaves_the_live_objects_unchanged():
    probe = Plain()
    refs = sys.getrefcount(probe)
    for call in (
        lambda: _core.count_types(sizes=True, skip_files=SKIP),
        lambda: refgraph.typestats(untracked=True),
        lambda: refgraph.typestats(),
        lambda: refgraph.summary(file=io.StringIO()),
    ):
        call()  # warm up
        gc.collect()
        before = len(gc.get_objects())
        call()
        gc.collect()
        assert len(gc.get_objects()) == before
    assert sys.getrefcount(probe) == refs


def test_typestats_untracked_counts_every_object():
    stats = refgraph.typestats(untracked=True)
    tracked = refgraph.typestats()
    assert "str" not in tracked and stats["str"] > 1000
    assert stats["Slotted"] == tracked["Slotted"] == 3
    assert refgraph.count("str") == 0
    assert refgraph.count("str", untracked=True) > 1000
    assert refgraph.count(f"{__name__}.Slotted", untracked=True) == 3


def test_summary_rejects_an_unknown_sort():
    with pytest.raises(ValueError, match="sort"):
        refgraph.summary(sort="colour")


# ---- cyclic garbage (collect=True) ----


class Cyclic:
    pass


def _make_garbage():
    """Cycles no one holds: a self-referencing list, a pair of instances, a closure's cell, a dict, and a
    str only the garbage holds."""
    lst = []
    lst.append(lst)
    a, b = Cyclic(), Cyclic()
    a.other, b.other = b, a
    a.text = "held-by-garbage-only-%d" % id(a)

    def inner():
        return inner

    d = {}
    d["self"] = d


def test_no_garbage_found_in_a_collected_heap():
    gc.collect()
    gc.disable()
    try:
        counts, garbage = _core.count_types(find_garbage=True, skip_files=SKIP)
    finally:
        gc.enable()
    assert garbage == 0
    assert counts["Slotted"][0] == 3


def test_garbage_found_is_what_the_collector_collects():
    gc.collect()
    gc.disable()
    try:
        _make_garbage()
        counts, garbage = _core.count_types(find_garbage=True, skip_files=SKIP)
        # THEN the garbage is counted (collect=False's view) and found, object for object as gc.collect finds it
        assert counts["Cyclic"][0] == 2
        collected = gc.collect()
        assert garbage == collected and garbage >= 6
        assert _core.count_types(find_garbage=True, skip_files=SKIP)[1] == 0
    finally:
        gc.enable()


def test_frozen_objects_are_not_garbage():
    gc.collect()
    gc.disable()
    try:
        _make_garbage()
        gc.freeze()  # the collector never examines the permanent generation
        try:
            assert _core.count_types(find_garbage=True, skip_files=SKIP)[1] == 0
        finally:
            gc.unfreeze()
        assert _core.count_types(find_garbage=True, skip_files=SKIP)[1] == gc.collect() > 0
    finally:
        gc.enable()


def test_the_gc_lists_are_intact_after_looking_for_garbage():
    # The search keeps its marks in the gc headers' prev links and rebuilds them: the collector must work after.
    gc.collect()
    tracked = len(gc.get_objects())
    gc.disable()
    try:
        for _ in range(20):
            _make_garbage()
            keep = [[k] for k in range(500)]
            garbage = _core.count_types(find_garbage=True, sizes=True, skip_files=SKIP)[1]
            assert gc.collect() == garbage >= 6
            del keep
    finally:
        gc.enable()
    gc.collect()
    assert len(gc.get_objects()) == tracked
    assert _core._gc_tracked_count() == tracked


def test_garbage_search_stays_out_of_a_collection_under_way():
    # A finalizer runs mid-collection, when the prev links hold the collector's state: no search (None, and the
    # Python layer falls back to a capture); plain counting still works.
    results = []

    class Finalized:
        def __del__(self):
            results.append((_core.count_types(find_garbage=True, skip_files=SKIP), _core.count_types(skip_files=SKIP)))

    gc.collect()
    x = Finalized()
    x.me = x
    del x
    gc.collect()
    assert len(results) == 1
    assert results[0][0] is None
    assert results[0][1][0]["function"][0] > 100  # (the object being finalized is in none of the lists read)
    gc.collect()
    assert _core._gc_tracked_count() == len(gc.get_objects())


def test_garbage_left_out_equals_a_collected_heap():
    # GIVEN garbage the collector has not collected yet
    gc.collect()
    gc.disable()
    try:
        _make_garbage()
        # WHEN counting with the garbage skipped, then collecting and counting plainly
        skipped, garbage = _core.count_types(sizes=True, skip_files=SKIP, skip_garbage=True)
        collected = gc.collect()
        after, none = _core.count_types(sizes=True, skip_files=SKIP, find_garbage=True)
    finally:
        gc.enable()
    # THEN the garbage was found, and the counts and sizes are those of the collected heap (the collection may
    # untrack some tuples and dicts: the totals per type are what must agree), the garbage's own str included
    assert garbage == collected >= 6 and none == 0
    assert "Cyclic" not in skipped
    totals = lambda counts: {name: (t + u, size) for name, (t, u, size) in counts.items()}  # noqa: E731
    assert totals(skipped) == totals(after)


def test_growth_leaves_garbage_out_without_collecting(monkeypatch):
    calls = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(a) or real_collect(*a))
    peak = {}
    refgraph.growth(limit=None, peak_stats=peak)
    gc.disable()
    try:
        # WHEN the heap holds garbage: growth does not count it, and collects nothing
        _make_garbage()
        rows = refgraph.growth(limit=None, peak_stats=peak)
        assert [r for r in rows if r[0] == "Cyclic"] == []
        assert calls == []
        # and collect=False counts it
        rows = refgraph.growth(limit=None, peak_stats=peak, collect=False)
        assert ("Cyclic", 2, 2) in rows
        assert calls == []
    finally:
        gc.enable()
    real_collect()
