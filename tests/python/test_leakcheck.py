"""refgraph.no_leaks / refgraph.leak_check / refgraph.LeakError.

The first part drives the detection with hand-made per-step stats and a fake heap, so every expectation is exact;
the second part runs the checks on the real live heap through refgraph._core.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import os
import re
import tracemalloc
import weakref

import pytest
import refgraph
from refgraph import leakcheck
from refgraph.leakcheck import Leak, LeakError, _judge, _Options

# ------------------------------------------------------------------------------------------------------------
# The judgement on hand-made series: {type: (count, size)} after warm-up, then after each measured call


def series_of(type_name, counts, sizes=None, other=None):
    sizes = sizes or [c * 10 for c in counts]
    steps = [{type_name: (c, s)} for c, s in zip(counts, sizes)]
    for step in steps:
        step.update(other or {})
    return steps


def judged(series, **options):
    return [
        (leak.type, leak.objects_per_call, leak.bytes_per_call, leak.by_size)
        for leak in _judge(series, _Options.make(calls=len(series) - 1, **options))
    ]


def test_one_object_per_call_is_a_leak():
    assert judged(series_of("User", [2, 3, 4, 5, 6, 7])) == [("User", 1.0, 10.0, False)]


def test_one_off_growth_during_the_measured_calls_is_not_a_leak():
    # a cache of 10 entries built by the third call: growth, but not with every call
    assert judged(series_of("dict", [5, 5, 5, 15, 15, 15])) == []


def test_one_quiet_step_is_tolerated_two_are_not():
    assert judged(series_of("User", [0, 1, 2, 2, 3, 5])) == [("User", 1.0, 10.0, False)]
    assert judged(series_of("User", [0, 1, 1, 1, 3, 5])) == []


def test_with_two_calls_every_step_must_rise():
    assert judged(series_of("User", [0, 1, 2])) == [("User", 1.0, 10.0, False)]
    assert judged(series_of("User", [0, 0, 2])) == []


def test_growth_in_fewer_steps_is_not_a_leak_but_an_object_freed_meanwhile_does_not_hide_one():
    assert judged(series_of("User", [0, 1, 2, 3, 3, 3])) == []
    # one User leaked per call, and an older one freed by the third call: still rising in 4 steps of 5
    assert judged(series_of("User", [10, 11, 12, 12, 13, 14])) == [("User", 0.8, 8.0, False)]


def test_size_growth_without_new_objects_is_a_size_leak():
    counts = [3, 3, 3, 3, 3, 3]
    sizes = [100, 1100, 2100, 3100, 4100, 5100]
    assert judged(series_of("str", counts, sizes)) == [("str", 0.0, 1000.0, True)]


def test_size_growth_below_the_threshold_or_falling_is_not_a_leak():
    counts = [3] * 6
    assert judged(series_of("str", counts, [0, 100, 200, 300, 400, 500])) == []  # 100 B/call < 256
    assert judged(series_of("str", counts, [0, 100, 200, 300, 400, 500]), min_bytes_per_call=100) == [
        ("str", 0.0, 100.0, True)
    ]
    assert judged(series_of("str", counts, [0, 2000, 1000, 3000, 4000, 5000])) == []  # fell once


def test_allowed_growth_per_call_globally_and_per_type():
    two_per_call = series_of("User", [0, 2, 4, 6, 8, 10])
    assert judged(two_per_call, allowed=2) == []
    assert judged(two_per_call, allowed=1.5) == [("User", 2.0, 20.0, False)]
    assert judged(two_per_call, allowed={"User": 2}) == []
    assert judged(two_per_call, allowed={"Other": 2}) == [("User", 2.0, 20.0, False)]


def test_watched_and_ignored_types_by_name_or_class():
    class User:
        pass

    steps = series_of("User", [0, 1, 2, 3, 4, 5], other=None)
    for k, step in enumerate(steps):
        step["Order"] = (k * 2, k * 20)
    assert [t for t, *_ in judged(steps)] == ["Order", "User"]  # the larger growth first
    assert [t for t, *_ in judged(steps, types=[User])] == ["User"]
    assert [t for t, *_ in judged(steps, types="Order")] == ["Order"]
    assert [t for t, *_ in judged(steps, ignore=[User, "Order"])] == []


def test_a_type_absent_after_the_warm_up_counts_from_zero():
    steps = [{}, {"User": (1, 48)}, {"User": (2, 96)}, {"User": (3, 144)}]
    assert judged(steps) == [("User", 1.0, 48.0, False)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calls": 0}, "calls must be an integer >= 1, got 0"),
        ({"warmup": -1}, "warmup must be an integer >= 0, got -1"),
        ({"warmup": 1.5}, "warmup must be an integer >= 0, got 1.5"),
        ({"allowed": -1}, "allowed growth must be a number of objects per call >= 0, got -1"),
        ({"min_bytes_per_call": 0}, "min_bytes_per_call must be an integer >= 1, got 0"),
    ],
)
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        refgraph.no_leaks(**options)


def test_a_type_that_is_not_a_class_or_name_is_named():
    with pytest.raises(TypeError, match="types: expected a class or a type name, got 3"):
        refgraph.no_leaks(types=[3])


def test_leak_error_message_leads_with_the_holders_then_details():
    user = Leak(
        type="User",
        objects_per_call=1.0,
        bytes_per_call=48.0,
        objects=5,
        bytes=240,
        chain="module app -> attr 'CACHE' (list) -> [6] -> User",
        root_kind="module",
        allocated_at="app.py:12",
        image="leaks/app-User.png",
        sample_id=1234,
        signature="module app -> attr 'CACHE' (list) -> [*] -> User",
        holder="module app -> attr 'CACHE' -> list",
    )
    name = Leak(
        type="str",
        objects_per_call=2.0,
        bytes_per_call=100.0,
        objects=10,
        bytes=500,
        chain="module app -> attr 'CACHE' (list) -> [6] (User) -> attr 'name' -> str",
        root_kind="module",
        signature="module app -> attr 'CACHE' (list) -> [*] -> User",
        holder="module app -> attr 'CACHE' -> list",
        rank=2,
    )
    error = LeakError([name, user], "test_app", calls=5, warmup=2)
    assert isinstance(error, AssertionError)
    assert error.leaks == [user, name]  # the program's types first, then builtins
    assert error.where == "test_app" and error.calls == 5 and error.warmup == 2
    (holder,) = error.holders
    assert holder.signature == "module app -> attr 'CACHE' (list) -> [*] -> User"
    assert holder.types == ("User", "str") and holder.objects_per_call == 3 and holder.bytes_per_call == 148
    assert str(error) == (
        "refgraph: test_app leaks through 1 holder (2 types grew with 5 measured calls after 2 warm-up calls)\n"
        "  module app -> attr 'CACHE' (list) -> [*] -> User  [root: module]\n"
        "    +3 objects/call, +148 B/call: User +1, str +2\n"
        "details:\n"
        "  User: +1 object/call, +48 B/call\n"
        "    held by:  module app -> attr 'CACHE' (list) -> [6] -> User  [root: module]\n"
        "    allocated at: app.py:12\n"
        "    image:    leaks/app-User.png\n"
        "  str: +2 objects/call, +100 B/call\n"
        "    held by:  module app -> attr 'CACHE' (list) -> [6] (User) -> attr 'name' -> str  [root: module]"
    )
    assert error.one_line() == (
        "module app -> attr 'CACHE' (list) -> [*] -> User: +3 objects/call, +148 B/call: User +1, str +2"
    )


def test_leak_error_of_a_block_without_a_chain():
    leak = Leak(type="str", objects_per_call=2, bytes_per_call=3 * 1024, objects=2, bytes=3 * 1024)
    error = LeakError([leak], "with block", calls=1, warmup=0)
    assert str(error) == (
        "refgraph: with block leaks through 1 holder (1 type grew with the block)\n"
        "  (no chain to a root found)  [root: None]\n"
        "    +2 objects, +3.0 KiB: str +2\n"
        "details:\n"
        "  str: +2 objects, +3.0 KiB\n"
        "    held by:  (no chain to a root found for a sample object)"
    )


def test_a_test_item_counts_in_runs():
    leak = Leak(type="User", objects_per_call=1.0, bytes_per_call=48.0, objects=5, bytes=240)
    error = LeakError([leak], "test_x.py::test_y", calls=5, warmup=2, unit="run")
    assert str(error).startswith(
        "refgraph: test_x.py::test_y leaks through 1 holder (1 type grew with 5 measured runs after 2 warm-up runs)"
    )
    assert "User: +1 object/run, +48 B/run" in str(error)


# ------------------------------------------------------------------------------------------------------------
# The measurement loop on a fake heap: what is captured is FAKE_HEAP plus the measurement's own live graphs


class FakeGraph:
    """Just enough of refgraph._core.Graph: nodes (id, type, size), a holder per node, roots of kind 'module'."""

    live = weakref.WeakSet()

    def __init__(self, nodes, holders):
        self.nodes = {oid: (t, size) for oid, t, size in nodes}
        self.holders = holders  # id -> (holder id, edge label); a node without holder is a module root
        FakeGraph.live.add(self)

    def type_stats(self):
        stats = {}
        for t, size in self.nodes.values():
            count, total = stats.get(t, (0, 0))
            stats[t] = (count + 1, total + size)
        return [(t, c, s) for t, (c, s) in sorted(stats.items())]

    def find(self, oid):
        return oid if oid in self.nodes else -1

    def node(self, index):
        t, size = self.nodes[index]
        return {"id": index, "type": t, "size": size, "gc": True, "root": None, "label": "app" if t == "module" else ""}

    def ids_of_type(self, type_name):
        return sorted(oid for oid, (t, _) in self.nodes.items() if t == type_name)

    def backref_chain(self, ids, **_):
        hops, oid, edge = [], ids[0], ""
        while True:
            hops.append((oid, self.nodes[oid][0], edge))
            if oid not in self.holders:
                return hops[::-1]
            oid, edge = self.holders[oid]

    def chain_root_kind(self, ids):
        return "module" if self.nodes[ids[0]][0] == "module" else None

    def unreachable_ids(self):
        return []

    def new_ids(self, older):
        return sorted(
            oid for oid, node in self.nodes.items() if older.nodes.get(oid) is None or older.nodes[oid][0] != node[0]
        )


FAKE_HEAP = {
    "nodes": [(1, "module", 100), (2, "dict", 200), (3, "list", 64)],
    "holders": {2: (1, "__dict__"), 3: (2, "['CACHE']")},
}


def fake_capture():
    nodes = list(FAKE_HEAP["nodes"])
    nodes += [(id(g), "Graph", 32) for g in list(FakeGraph.live)]  # the tool's own wrappers are on the heap too
    return FakeGraph(nodes, dict(FAKE_HEAP["holders"]))


@pytest.fixture
def fake_heap(monkeypatch):
    saved = (list(FAKE_HEAP["nodes"]), dict(FAKE_HEAP["holders"]))
    monkeypatch.setattr(leakcheck, "_capture", fake_capture)
    monkeypatch.setattr(leakcheck, "_counts", lambda: {t: [c, s] for t, c, s in fake_capture().type_stats()})
    monkeypatch.setattr(leakcheck, "_ranks", lambda names: {})
    yield FAKE_HEAP
    FAKE_HEAP["nodes"], FAKE_HEAP["holders"] = saved


def fake_leaky_call(heap, per_call=1, size=48):
    for _ in range(per_call):
        oid = 1000 + len(heap["nodes"])
        heap["nodes"].append((oid, "User", size))
        heap["holders"][oid] = (3, f"[{len(heap['holders']) - 2}]")


def test_fake_leak_gives_the_chain_and_counts_per_call(fake_heap):
    # GIVEN a function that appends one 48-byte User to CACHE per call
    @refgraph.no_leaks
    def handle():
        fake_leaky_call(fake_heap)

    # WHEN it runs under the check THEN the error has the growth per call and the labelled chain
    with pytest.raises(LeakError) as caught:
        handle()
    (leak,) = caught.value.leaks
    assert (leak.type, leak.objects_per_call, leak.bytes_per_call, leak.objects, leak.bytes) == ("User", 1, 48, 5, 240)
    assert leak.root_kind == "module"
    assert leak.sample_id == fake_heap["nodes"][-2][0]  # made by the first call between the captures
    assert leak.chain is not None and leak.chain.endswith("User")
    assert "CACHE" in leak.chain
    assert leak.signature == "module app -> attr 'CACHE' (list) -> [*] -> User"
    assert len(fake_heap["nodes"]) == 3 + 9  # 2 warm-up + 5 measured calls, 2 between the captures


def test_fake_clean_function_passes_and_the_measurement_does_not_count_itself(fake_heap):
    # the graphs the measurement keeps are on the fake heap like on the real one: they must not look like growth
    calls = []

    @refgraph.no_leaks(warmup=0, calls=3)
    def clean():
        calls.append(1)
        return len(calls)

    # a leak must rise in 2 of 3 steps: after 2 flat steps none can, so the calls stop early
    assert clean() == 2


def test_fake_measurement_goes_on_while_a_type_may_still_leak(fake_heap):
    calls = []

    @refgraph.no_leaks(warmup=1, calls=5)
    def leaks_on_the_first_two_calls_only():
        calls.append(1)
        if len(calls) in (2, 3):
            fake_leaky_call(fake_heap)

    leaks_on_the_first_two_calls_only()
    assert len(calls) == 1 + 4  # after step 4 the Users had 2 rises of the 4 needed, with one step left


def test_fake_one_off_growth_in_warm_up_passes(fake_heap):
    state = {"filled": False}

    @refgraph.no_leaks(warmup=1, calls=4)
    def fill_once():
        if not state["filled"]:
            fake_leaky_call(fake_heap, per_call=50)
            state["filled"] = True

    fill_once()


def test_fake_leak_in_async_function_through_the_running_loop(fake_heap):
    @refgraph.no_leaks(calls=3)
    async def handle():
        await asyncio.sleep(0)
        fake_leaky_call(fake_heap, per_call=2)
        return "done"

    assert inspect.iscoroutinefunction(handle)
    with pytest.raises(LeakError) as caught:
        asyncio.run(handle())
    assert [(x.type, x.objects_per_call) for x in caught.value.leaks] == [("User", 2.0)]


def test_the_last_call_result_is_returned_and_exceptions_propagate(fake_heap):
    seen = []

    @refgraph.no_leaks(warmup=1, calls=2)
    def numbered(x):
        seen.append(x)
        if len(seen) > 3:
            raise KeyError("boom")
        return len(seen)

    assert numbered("a") == 2 and seen == ["a"] * 2  # 1 warm-up, 1 measured: nothing rose, none can leak
    with pytest.raises(KeyError, match="boom"):
        numbered("b")


def test_decorator_keeps_the_name_and_works_on_methods(fake_heap):
    class Service:
        def __init__(self):
            self.handled = 0

        @refgraph.no_leaks(calls=2)
        def handle(self, n):
            self.handled += n
            return self.handled

    assert Service.handle.__name__ == "handle"
    service = Service()
    assert service.handle(2) == 6 and service.handled == 6  # 2 warm-up calls, 1 measured: nothing can leak


# ------------------------------------------------------------------------------------------------------------
# The real heap


class Leaky:
    pass


CACHE = []


def test_real_leak_names_type_list_and_module():
    @refgraph.no_leaks
    def remember():
        CACHE.append(Leaky())

    with pytest.raises(LeakError) as caught:
        remember()
    leak = next(x for x in caught.value.leaks if x.type == "Leaky")
    assert leak.objects_per_call == 1 and leak.objects == 5
    assert leak.bytes_per_call > 0
    assert leak.root_kind == "module"
    assert leak.chain.startswith(f"module {__name__}") and "attr 'CACHE' (list)" in leak.chain
    assert leak.chain.endswith("-> Leaky")
    assert "Leaky: +1 object/call" in str(caught.value)
    CACHE.clear()


def test_real_clean_function_and_the_tool_itself_do_not_leak():
    @refgraph.no_leaks(warmup=0, calls=8)
    def clean():
        return [Leaky() for _ in range(10)]

    assert len(clean()) == 10


@functools.cache
def table(n):
    return [Leaky() for _ in range(n)]


def test_real_cache_filled_during_warm_up_is_not_a_leak():
    table.cache_clear()

    @refgraph.no_leaks
    def lookup():
        return table(100)

    lookup()


BLOB = ""


def test_real_growing_string_is_caught_by_size():
    @refgraph.no_leaks
    def grow():
        global BLOB
        BLOB += "x" * 1000

    with pytest.raises(LeakError) as caught:
        grow()
    (leak,) = caught.value.leaks
    assert leak.type == "str" and leak.by_size
    assert 950 <= leak.bytes_per_call <= 1050  # 1000 B per call, give or take a small str freed meanwhile
    assert leak.chain == f"module {__name__} -> attr 'BLOB' -> str" and leak.root_kind == "module"


class Slotted:
    # tracemalloc of Python 3.11 finds no allocation site for instances with a managed __dict__: use __slots__
    __slots__ = ("n",)


def test_real_async_leak_and_allocation_site_and_image(tmp_path):
    @refgraph.no_leaks(calls=3, trace=True, images=tmp_path / "leaks")
    async def handle():
        await asyncio.sleep(0)
        CACHE.append(Slotted())  # the allocation site

    site_line = inspect.getsourcelines(handle.__wrapped__)[1] + 3
    with pytest.raises(LeakError) as caught:
        asyncio.run(handle())
    leak = next(x for x in caught.value.leaks if x.type == "Slotted")
    assert leak.allocated_at == f"{__file__}:{site_line}"
    assert not tracemalloc.is_tracing()  # turned off again
    assert os.path.dirname(leak.image) == str(tmp_path / "leaks")
    with open(leak.image, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert f"image:    {leak.image}" in str(caught.value)
    CACHE.clear()


class Registry:
    instances = []

    def register(self):
        Registry.instances.append(self)


def test_real_method_storing_self_in_class_registry():
    @refgraph.no_leaks(types=[Registry])
    def create():
        Registry().register()

    with pytest.raises(LeakError) as caught:
        create()
    (leak,) = caught.value.leaks
    assert leak.type == "Registry"
    assert "attr 'Registry' (type) -> attr 'instances' (list)" in leak.chain
    Registry.instances.clear()


def test_block_reports_new_objects_held_outside_the_block_frame():
    with pytest.raises(LeakError) as caught:
        with refgraph.leak_check(types=[Leaky]):
            CACHE.append(Leaky())
            CACHE.append(Leaky())
    (leak,) = caught.value.leaks
    assert (leak.type, leak.objects, leak.root_kind) == ("Leaky", 2, "module")
    assert "attr 'CACHE' (list)" in leak.chain
    assert str(caught.value).startswith("refgraph: with block leaks through 1 holder (1 type grew with the block)")
    assert caught.value.holders[0].signature == f"module {__name__} -> attr 'CACHE' (list) -> [*] -> Leaky"
    CACHE.clear()


def test_block_locals_allowed_growth_and_exceptions():
    with refgraph.leak_check(types=[Leaky]) as check:
        kept_here = [Leaky(), Leaky()]  # held by this frame: the caller's, not a leak
    assert check.leaks == [] and len(kept_here) == 2

    with refgraph.leak_check(types=[Leaky], allowed=1):
        CACHE.append(Leaky())
    with pytest.raises(ZeroDivisionError):
        with refgraph.leak_check():
            CACHE.append(Leaky())
            1 / 0  # noqa: B018
    CACHE.clear()


def test_running_a_check_leaves_no_objects_behind():
    @refgraph.no_leaks(warmup=1, calls=2)
    def clean():
        pass

    clean()
    gc.collect()
    before = len(gc.get_objects())
    clean()
    gc.collect()
    assert len(gc.get_objects()) == before


def test_the_article_sample_prints_and_draws_the_leak(tmp_path):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    package_parent = os.path.dirname(os.path.dirname(refgraph.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [sys.executable, os.path.join(root, "samples", "leak_decorator.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "No leaks were found!"
    assert lines[1] == "Memory leaks!"
    assert lines[2] == (
        "refgraph: function_with_leak leaks through 1 holder (1 type grew with 5 measured calls after 2 warm-up calls)"
    )
    assert lines[3] == "  module __main__ -> attr 'cache' (list) -> [*] -> MyLeakyObject  [root: module]"
    size = sys.getsizeof(object.__new__(Leaky))
    assert lines[4] == f"    +1 object/call, +{size} B/call: MyLeakyObject +1"
    assert lines[5] == "details:"
    assert lines[6] == f"  MyLeakyObject: +1 object/call, +{size} B/call"
    assert lines[7].startswith("    held by:  module __main__ -> attr 'cache' (list) -> [")
    assert lines[7].endswith("] -> MyLeakyObject  [root: module]")
    image = tmp_path / "function_with_leak-MyLeakyObject.png"
    assert lines[8] == f"    image:    {image}"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the cache list's share of the heap: at least the 2 warm-up and 5 measured calls' objects it holds alone
    retained = re.fullmatch(r"    the holder retains (\d+) B in all", lines[9])
    assert retained and int(retained.group(1)) >= 7 * size, lines[9]


def test_an_image_that_cannot_be_written_is_reported_beside_the_leak(tmp_path):
    # GIVEN an image directory that is a file
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")

    @refgraph.no_leaks(calls=3, images=blocker)
    def remember():
        CACHE.append(Leaky())

    # THEN the leak is still what is raised, and it says why there is no image
    with pytest.raises(LeakError) as caught:
        remember()
    leak = next(x for x in caught.value.leaks if x.type == "Leaky")
    assert leak.image is None and "not-a-dir" in leak.image_error
    assert f"    image:    not written: {leak.image_error}" in str(caught.value)
    CACHE.clear()


def test_the_check_adds_nothing_between_its_counts():
    # GIVEN a check of a function that keeps nothing, counted after every call
    check = leakcheck._Check(_Options.make(warmup=1, calls=8), "clean")
    try:
        check.start()
        done = False
        while not done:
            [Leaky() for _ in range(10)]
            done = check.after_run()
        series, _memory = check.series()
    finally:
        check.close()
    # THEN no type's count or size rises from one count to the next: the tool's own objects do not show
    rises = [
        (k, t)
        for k in range(1, len(series))
        for t, (count, size) in series[k].items()
        if count > series[k - 1].get(t, (0, 0))[0] or size > series[k - 1].get(t, (0, 0))[1]
    ]
    assert len(series) >= 3 and rises == []


def test_the_screen_stops_a_clean_function_after_one_measured_call_and_catches_a_leak():
    calls = []

    @refgraph.no_leaks(screen=True)
    def clean():
        calls.append(1)
        calls.pop()
        [Leaky() for _ in range(10)]
        calls.append(0)

    clean()
    assert len(calls) == 2 + 1  # 2 warm-up calls, 1 screened
    assert gc.get_freeze_count() == 0  # the objects frozen for the screen are unfrozen

    @refgraph.no_leaks(screen=True)
    def remember():
        CACHE.append(Leaky())

    with pytest.raises(LeakError) as caught:
        remember()
    assert caught.value.holders[0].signature == f"module {__name__} -> attr 'CACHE' (list) -> [*] -> Leaky"
    CACHE.clear()


def test_screened_counts_read_tracked_objects_and_turn_to_full_counts_for_untracked_growth(monkeypatch):
    # GIVEN the counts the check asks for, recorded
    asked = []
    counts = leakcheck._counts

    def recording(tracked_only=False):
        asked.append(tracked_only)
        return counts(tracked_only=tracked_only)

    monkeypatch.setattr(leakcheck, "_counts", recording)

    # WHEN a screened function leaks instances (young, tracked objects)
    @refgraph.no_leaks(screen=True)
    def remember():
        CACHE.append(Leaky())

    with pytest.raises(LeakError) as caught:
        remember()
    # THEN every count reads the tracked objects alone, and the leak is found with its holder
    assert asked and all(asked)
    assert caught.value.leaks[0].type == "Leaky"
    CACHE.clear()

    # WHEN it leaks strings alone (untracked: 20 a call, more than the screen's noise) into a list frozen with the
    # rest of the heap
    asked.clear()

    made = [0]

    @refgraph.no_leaks(screen=True)
    def remember_text():
        made[0] += 1
        CACHE.extend("text %d %d" % (made[0], k) for k in range(20))

    with pytest.raises(LeakError) as caught:
        remember_text()
    # THEN the memory the tracked counts cannot explain turns the check to full counts, which find the strings
    assert False in asked
    assert [leak.type for leak in caught.value.leaks] == ["str"]
    assert caught.value.holders[0].signature == f"module {__name__} -> attr 'CACHE' (list) -> [*] -> str"
    CACHE.clear()


def test_a_leak_through_a_traceback_leads_with_its_holder_and_the_user_type():
    errors = ERRORS

    @refgraph.no_leaks
    def fail_and_keep():
        user = Leaky()  # noqa: F841 - a local of the frame the traceback keeps
        try:
            raise ValueError("boom")
        except ValueError as error:
            errors.append(error)

    with pytest.raises(LeakError) as caught:
        fail_and_keep()
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("refgraph: ") and "leaks through 1 holder" in lines[0]
    assert lines[1] == f"  module {__name__} -> attr 'ERRORS' (list) -> [*] -> ValueError  [root: module]"
    assert lines[2].split(": ", 1)[1].startswith("Leaky +1, ")  # the program's type first
    assert caught.value.leaks[0].type == "Leaky"
    errors.clear()


ERRORS = []


# ------------------------------------------------------------------------------------------------------------
# Caches of the interpreter and the standard library, put back between runs (refgraph._cleanup)


def test_the_cleanup_drops_what_the_runs_added_to_the_restored_caches_and_keeps_the_rest(tmp_path):
    import importlib.machinery
    import linecache
    import re
    import sys

    from refgraph._cleanup import Cleanup

    before = tmp_path / "before"
    before.mkdir()
    importlib.machinery.PathFinder.find_spec("nothing_here", [str(before)])
    re.compile("kept-pattern-4711")
    cleanup = Cleanup()
    try:
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        importlib.machinery.PathFinder.find_spec("nothing_here", [str(fresh)])
        (fresh / "lines.txt").write_text("one\n")
        linecache.getline(str(fresh / "lines.txt"), 1)
        re.compile("fresh-pattern-4711")
        assert str(fresh) in sys.path_importer_cache
        cleanup()
        assert str(fresh) not in sys.path_importer_cache
        assert str(fresh / "lines.txt") not in linecache.cache
        assert not any("fresh-pattern-4711" in str(key) for key in re._cache)
        assert str(before) in sys.path_importer_cache
        assert any("kept-pattern-4711" in str(key) for key in re._cache)
    finally:
        cleanup.close()
        sys.path_importer_cache.pop(str(before), None)


def test_a_function_that_fills_the_interpreters_caches_every_call_does_not_leak(tmp_path):
    import importlib.machinery
    import re

    runs = []

    @refgraph.no_leaks
    def look_up():
        fresh = tmp_path / f"run{len(runs)}"
        fresh.mkdir()
        runs.append(None)
        importlib.machinery.PathFinder.find_spec("nothing_here", [str(fresh)])  # a FileFinder per directory
        re.compile(f"pattern {len(runs)}")

    look_up()
    assert len(runs) >= 4


def test_a_function_that_keeps_what_it_makes_still_leaks_beside_the_caches(tmp_path):
    import importlib.machinery

    kept = []

    @refgraph.no_leaks
    def look_up():
        fresh = tmp_path / f"run{len(kept)}"
        fresh.mkdir()
        importlib.machinery.PathFinder.find_spec("nothing_here", [str(fresh)])
        kept.append(Leaky())

    with pytest.raises(LeakError) as caught:
        look_up()
    types = [leak.type for leak in caught.value.leaks]
    assert types[0] == "Leaky" and "FileFinder" not in types


def test_signatures_wildcard_by_the_cores_rule():
    from refgraph import _core, _signature

    text = "module app -> attr 'CACHE' (dict) -> ['k 1'] (list) -> [6] (dict) -> ['name'] -> [<str len=5>] -> User"
    assert _signature.wildcard(text) == (
        "module app -> attr 'CACHE' (dict) -> [*] (list) -> [*] (dict) -> ['name'] -> [*] -> User"
    )
    assert _signature.wildcard(text) == _core.wildcard_text(text)
    assert _signature.wildcard("['a]b'] -> [\"c]\"] -> ['unclosed") == "[*] -> [*] -> ['unclosed"  # quoted ]
    assert _signature.wildcard("['café']") == "['café']"  # a Python identifier may be non-ASCII


# ------------------------------------------------------------------------------------------------------------
# Known leaks: holders acknowledged with ignore_holders


def test_holder_patterns_star_any_text_and_match_the_whole_signature_or_key():
    from refgraph._signature import HolderPatterns

    patterns = HolderPatterns(["module lib -> attr 'CACHE' (dict) -> [*] -> *", "IncrementalDecoder (held from C)"])
    assert patterns.match("module lib -> attr 'CACHE' (dict) -> [*] -> Session", "") is not None
    assert patterns.match("module lib -> attr 'CACHE' (list) -> [*] -> Session", "") is None  # ( ) [ ] are literal
    assert patterns.match("module library -> attr 'CACHE' (dict) -> [*] -> Session", "") is None
    assert patterns.match("IncrementalDecoder (held from C)", "") == "IncrementalDecoder (held from C)"
    assert patterns.match("x IncrementalDecoder (held from C)", "") is None  # the whole text, not a part
    assert patterns.match("other", "module lib -> attr 'CACHE' (dict) -> [*] -> dict") is not None  # the key
    assert not HolderPatterns([])
    with pytest.raises(ValueError, match="a holder pattern must be a non-empty string, got ' '"):
        HolderPatterns([" "])
    with pytest.raises(TypeError, match="ignore_holders: expected a pattern or a list of patterns, got 3"):
        refgraph.no_leaks(ignore_holders=3)


VENDOR_CACHE = []
OWN_CACHE = []


class Owned:
    pass


def test_growth_only_through_an_acknowledged_holder_is_not_a_failure_but_stays_on_the_error():
    pattern = f"module {__name__} -> attr 'VENDOR_CACHE' (list) -> *"

    @refgraph.no_leaks(ignore_holders=pattern, calls=3)
    def vendor_only():
        VENDOR_CACHE.append(Leaky())
        return "done"

    @refgraph.no_leaks(ignore_holders=[pattern], calls=3)
    def vendor_and_own():
        VENDOR_CACHE.append(Leaky())
        OWN_CACHE.append(Owned())

    assert vendor_only() == "done"
    with pytest.raises(LeakError) as caught:
        vendor_and_own()
    error = caught.value
    assert [h.signature for h in error.holders] == [f"module {__name__} -> attr 'OWN_CACHE' (list) -> [*] -> Owned"]
    assert [h.signature for h in error.known] == [f"module {__name__} -> attr 'VENDOR_CACHE' (list) -> [*] -> Leaky"]
    assert error.known[0].types == ("Leaky",)
    assert (
        f"  ignored, a known leak (ignore_holders): module {__name__} -> attr 'VENDOR_CACHE' (list) -> [*] -> Leaky"
        in str(error).splitlines()
    )
    VENDOR_CACHE.clear()
    OWN_CACHE.clear()
