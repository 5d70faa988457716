"""show_backrefs and find_backref_chain without a whole-heap capture (bindings/native/local_graph.cpp).

The fast path must draw exactly what the whole capture draws: each test draws the same objects both ways from the
same line (so that the calling frames' labels agree) and compares the DOT text.
"""

import gc
import io
import sys
import types
import weakref

import pytest
import refgraph
from refgraph import _common, _core

SKIP = list(_common.SKIP_FILES)


class Thing:
    pass


class Slotted:
    __slots__ = ("held",)


def _answered(kind):
    """How many calls of the local path's `kind` (backrefs_dot, backref_chain, chain_dot, capture) it answered."""
    return _core._testing.local_answers()[kind]


def _both(objs, **kw):
    """show_backrefs' DOT through the fast path, then through the whole (pinned) capture: a `filter` that keeps
    everything sends it down the capture path without changing what is drawn (a builtin, so that the filter
    itself is not among the objects drawn). Fails unless the fast path drew the first (it returns None, and the
    caller silently draws from a whole capture, when it cannot answer or its self-check fails)."""
    outs = []
    for extra in ({}, {"filter": id}):
        before = _answered("backrefs_dot")
        out = io.StringIO()
        refgraph.show_backrefs(objs, output=out, **kw, **extra)
        outs.append(out.getvalue())
        drawn_fast = _answered("backrefs_dot") - before
        assert drawn_fast == (0 if extra else 1), (kw, extra, f"fast path answers: {drawn_fast}")
    return outs


def _node_count(dot):
    return len({line.split()[0] for line in dot.splitlines() if line.startswith("  o") and "->" not in line})


@pytest.fixture
def no_full_capture(monkeypatch):
    """Makes any whole-heap capture fail, to prove the fast path did not fall back to one."""

    def refuse(*a, **k):
        raise AssertionError("a whole-heap capture was taken")

    monkeypatch.setattr(_common, "capture", refuse)
    monkeypatch.setattr(_common, "pin_heap", refuse)
    monkeypatch.setattr(_core, "capture", refuse)


def test_fast_path_takes_no_whole_capture(no_full_capture):
    x = Thing()
    holder = [x]
    out = io.StringIO()
    refgraph.show_backrefs([x], output=out)
    dot = out.getvalue()
    assert dot.startswith("digraph")
    assert 'label="Thing\\n' in dot and 'label="list\\n' in dot and '[label="[0]"' in dot
    assert holder[0] is x


def test_same_drawing_as_whole_capture_small_structure():
    x = Thing()
    y = [x, [x], dict(x=x)]
    z = {"k": y}
    for depth in (0, 1, 2, 3, 5):
        fast, full = _both([x], max_depth=depth)
        assert fast == full, depth
    fast, _ = _both([x], max_depth=2)
    # y[0], y[1][0], y[2]['x'] and the test frame's local `x`; y itself one level up
    assert "['x']" in fast and "[0]" in fast and "f_locals['x']" in fast
    assert z["k"] is y


def test_same_drawing_with_cap_summaries_and_weakrefs():
    many = [Thing() for _ in range(30)]
    w = weakref.ref(many[0])
    for kw in ({"max_depth": 2}, {"max_depth": 3, "too_many": 3}, {"max_depth": 3, "too_many": 0}):
        fast, full = _both([Thing], **kw)
        assert fast == full, kw
    fast, _ = _both([Thing], max_depth=2, too_many=3)
    assert "more Thing" in fast  # 30 instances refer to their class: 3 drawn, the rest summarised
    fast, full = _both([many[0]], max_depth=2)
    assert fast == full
    assert "style=dashed" in fast or "referent" in fast  # the weakref's edge is drawn
    assert w() is many[0]


def test_same_drawing_with_closures_slots_and_extra_ignore():
    x = Thing()
    s = Slotted()
    s.held = x

    def make():
        local = x

        def inner():
            return local

        return inner

    fn = make()
    fast, full = _both([x], max_depth=4)
    assert fast == full
    assert "cell_contents" in fast and "held" in fast
    fast, full = _both([x], max_depth=3, extra_ignore=[id(s)])
    assert fast == full
    assert "held" not in fast
    assert fn() is x


def test_same_drawing_for_several_starts_and_a_long_chain():
    mod = types.ModuleType("refgraph_test_local_mod")
    sys.modules[mod.__name__] = mod
    try:
        leaf = Thing()
        node = leaf
        for _ in range(6):
            nxt = Thing()
            nxt.next = node
            node = nxt
        mod.ROOT = node
        del node, nxt
        other = Thing()
        mod.OTHER = [other]
        fast, full = _both([leaf, other], max_depth=2)
        assert fast == full
        # the nearer start's chain is highlighted: module -> __dict__ -> ['OTHER'] -> list -> [0]
        assert "refgraph_test_local_mod" in fast and "['OTHER']" in fast and "['ROOT']" not in fast
        fast, full = _both([leaf], max_depth=2)
        assert fast == full
        # the chain to the module is drawn whole, 7 references past max_depth
        assert "['ROOT']" in fast and fast.count('[label="next", style=bold') == 6
    finally:
        del sys.modules[mod.__name__]


def test_same_drawing_with_other_threads_generators_and_long_names():
    import threading

    x = Thing()
    ready, release = threading.Event(), threading.Event()

    def hold(obj):
        held_by_thread = obj  # a running frame of another thread: its locals are references too
        ready.set()
        release.wait(10)
        return held_by_thread

    def gen(obj):
        kept = obj
        yield 1
        yield kept

    worker = threading.Thread(target=hold, args=(x,))
    worker.start()
    try:
        assert ready.wait(10)
        suspended = gen(x)
        next(suspended)
        fast, full = _both([x], max_depth=2)
        assert fast == full
        assert "f_locals['held_by_thread']" in fast and 'label="generator\\n' in fast
        fast, full = _both([x], max_depth=2, shortnames=False)
        assert fast == full
        assert "test_local.Thing" in fast
    finally:
        release.set()
        worker.join(10)


def _full_chain(obj, **kw):
    graph = _common.capture()
    hops = graph.backref_chain([id(obj)], types=("module",), **kw)
    return [hop[0] for hop in hops] if hops else []


def test_chain_ids_match_whole_capture():
    mod = types.ModuleType("refgraph_test_local_chain")
    sys.modules[mod.__name__] = mod
    try:
        leaf = Thing()
        mod.DATA = {"a": [1, (2, leaf)]}
        Thing.REGISTRY = [leaf]
        for obj, depth in ((leaf, 20), (Thing, 20), (leaf, 2)):
            fast = _core.local_backref_chain([id(obj)], ["module"], depth, [], SKIP)
            assert fast == _full_chain(obj, max_depth=depth)
        assert _core.local_backref_chain([id(leaf)], ["module"], 2, [], SKIP) == []
        chain = refgraph.find_backref_chain(leaf, refgraph.is_proper_module)
        assert chain[-1] is leaf and refgraph.is_proper_module(chain[0])
        assert [type(o).__name__ for o in chain] in (
            ["module", "dict", "type", "dict", "list", "Thing"],  # via Thing.REGISTRY, found first
            ["module", "dict", "dict", "list", "tuple", "Thing"],
        )
    finally:
        del Thing.REGISTRY
        del sys.modules[mod.__name__]


def test_chains_of_several_objects_from_one_scan_match_their_own_searches():
    # GIVEN three objects: two below a module by different ways, one held from nowhere the scan sees
    mod = types.ModuleType("refgraph_test_local_chains")
    sys.modules[mod.__name__] = mod
    try:
        near, far = Thing(), Thing()
        mod.NEAR = near
        mod.DATA = {"a": [1, (2, far)]}
        alone = Thing()
        chains = [_core.local_backref_chain([id(obj)], ["module"], 20, [], SKIP) for obj in (near, far, alone)]
        assert chains[0] == [id(mod), id(mod.__dict__), id(near)] and chains[2] == []  # this frame holds `alone`
        # WHEN one scan captures the three and what their chains pass through
        graph = _core.local_chains_capture([id(near), id(far), id(alone)], ["module"], 20, SKIP)
        # THEN the graph holds exactly the objects of each one's own search, and the starts
        assert {graph.node(k)["id"] for k in range(len(graph))} == set(chains[0] + chains[1] + [id(alone)])
        # AND in it, each chain is the one the whole capture finds, labelled the same
        assert graph.backref_chain([id(far)]) == _common.capture().backref_chain([id(far)])
        assert _core.local_chains_capture([12345], ["module"], 20, SKIP) is None  # not an object: no answer
    finally:
        del sys.modules[mod.__name__]


def test_chain_uses_globals_only_when_nothing_else_holds(no_full_capture):
    namespace = {}
    exec("def get():\n    return held\n", namespace)
    mod = types.ModuleType("refgraph_test_local_globals")
    sys.modules[mod.__name__] = mod
    try:
        namespace["held"] = held = Thing()
        mod.get = namespace["get"]
        del namespace
        chain = refgraph.find_backref_chain(held, refgraph.is_proper_module)
        # module -> __dict__ -> ['get'] -> function -> __globals__ -> dict -> ['held'] -> Thing
        assert [type(o).__name__ for o in chain] == ["module", "dict", "function", "dict", "Thing"]
        assert chain[0] is mod and chain[2] is mod.get
        mod.DIRECT = held
        chain = refgraph.find_backref_chain(held, refgraph.is_proper_module)
        assert [type(o).__name__ for o in chain] == ["module", "dict", "Thing"]
    finally:
        del sys.modules[mod.__name__]


def test_chain_with_deferred_edges_matches_whole_capture():
    namespace = {}
    exec("def get():\n    return held\n", namespace)
    mod = types.ModuleType("refgraph_test_local_globals2")
    sys.modules[mod.__name__] = mod
    try:
        namespace["held"] = held = Thing()
        mod.get = namespace["get"]
        del namespace
        fast = _core.local_backref_chain([id(held)], ["module"], 20, [], SKIP)
        assert fast and fast == _full_chain(held, max_depth=20)
        assert fast[0] == id(mod) and fast[-1] == id(held)
    finally:
        del sys.modules[mod.__name__]


def test_chain_reaches_a_class_through_its_module_not_its_instances(no_full_capture):
    # An instance's reference to its class is deferred: from an object in a class attribute, the chain goes up
    # through the class's module even when thousands of instances (held from a module too) refer to the class.
    mod = types.ModuleType("refgraph_test_local_class_attr")
    sys.modules[mod.__name__] = mod
    try:
        cls = type("Registry", (), {"ITEMS": []})
        mod.Registry = cls
        mod.INSTANCES = [cls() for _ in range(5000)]
        leaked = Thing()
        cls.ITEMS.append(leaked)
        chain = refgraph.find_backref_chain(leaked, refgraph.is_proper_module)
        assert chain[0] is mod and chain[2] is cls and chain[-2] is cls.ITEMS and chain[-1] is leaked
        assert len(chain) == 6  # module, its dict, the class, the class's dict, the list, the object
    finally:
        del sys.modules[mod.__name__]


def test_class_held_only_by_its_instances_is_found_through_them():
    # The deferred __class__ reference is still used when nothing else holds the class (a second search phase),
    # the same way by the fast path and the whole capture.
    mod = types.ModuleType("refgraph_test_local_class_only")
    sys.modules[mod.__name__] = mod
    try:
        cls = type("Orphan", (), {})
        mod.KEPT = [cls()]
        cls_id = id(cls)
        del cls
        fast = _core.local_backref_chain([cls_id], ["module"], 20, [], SKIP)
        assert fast == _full_chain(mod.KEPT[0].__class__, max_depth=20)
        assert fast[0] == id(mod) and fast[-2] == id(mod.KEPT[0]) and fast[-1] == cls_id
        graph = _common.capture()
        assert graph.out_edges(graph.find(id(mod.KEPT[0])))[-1][1:] == ("__class__", False, True)  # deferred
    finally:
        del sys.modules[mod.__name__]


def test_keeps_no_reference_and_leaves_object_count_unchanged():
    x = Thing()
    holder = {"x": x}
    refgraph.show_backrefs([x], output=io.StringIO())  # warm up caches (type names, labels)
    refgraph.find_backref_chain(x, refgraph.is_proper_module)
    refs_before = sys.getrefcount(x)
    # A leak adds objects on every round; something else in the process (pytest) may free a few once: up to three
    # rounds, each of which must leave the count as it found it.
    for _ in range(3):
        gc.collect()
        objects_before = len(gc.get_objects())
        for _ in range(3):
            refgraph.show_backrefs([x], output=io.StringIO())
            _core.local_backrefs_dot([id(x)], skip_files=SKIP)
            _core.local_backref_chain([id(x)], ["module"], 20, [], SKIP)
            _core.local_chain_dot([id(holder), id(x)], skip_files=SKIP)
        gc.collect()
        objects_after = len(gc.get_objects())
        if objects_after == objects_before:
            break
    assert sys.getrefcount(x) == refs_before
    assert objects_after == objects_before
    assert holder["x"] is x


def test_untracked_objects_fall_back_to_the_whole_capture():
    text = "".join(["not", "interned", "value"])
    holder = [text]
    assert not gc.is_tracked(text)
    assert _core.local_backrefs_dot([id(text)], skip_files=SKIP) is None
    assert _core.local_backref_chain([id(text)], ["module"], 20, [], SKIP) is None
    out = io.StringIO()
    refgraph.show_backrefs([text], output=out)  # drawn through the whole capture
    assert 'label="str\\n' in out.getvalue() and 'label="list\\n' in out.getvalue()
    assert holder[0] is text


def test_bad_input_errors_clearly(tmp_path):
    x = Thing()
    with pytest.raises(ValueError, match="unknown output format"):
        refgraph.show_backrefs([x], filename=str(tmp_path / "graph.bmp"))
    assert not (tmp_path / "graph.bmp").exists()
    with pytest.raises(ValueError, match="both output and filename"):
        refgraph.show_backrefs([x], filename=str(tmp_path / "g.png"), output=io.StringIO())
    with pytest.raises(TypeError):
        _core.local_backrefs_dot([id(x)], max_depth="deep")
    with pytest.raises(TypeError):
        _core.local_backref_chain([id(x)], "module", -1)
    assert _core.local_backref_chain([id(x)], [], 20, [], SKIP) is None  # nothing to look for
    # ids are only compared with the objects the scan found, never followed: a number that is no object is refused
    assert _core.local_backrefs_dot([12345], skip_files=SKIP) is None
    assert _core.local_backref_chain([8], ["module"], 20, [8, 16], SKIP) is None
    assert _core.local_backrefs_dot([], skip_files=SKIP) is None


def test_png_through_fast_path(tmp_path, no_full_capture):
    x = Thing()
    holder = [x]
    path = tmp_path / "backrefs.png"
    refgraph.show_backrefs([x], filename=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert holder[0] is x


def test_show_chain_of_one_chain_matches_whole_capture(tmp_path):
    mod = types.ModuleType("refgraph_test_local_show_chain")
    sys.modules[mod.__name__] = mod
    try:
        leaf = Thing()
        mod.DATA = {"k": [Slotted()]}
        mod.DATA["k"][0].held = leaf
        chain = refgraph.find_backref_chain(leaf, refgraph.is_proper_module)
        assert [type(o).__name__ for o in chain] == ["module", "dict", "dict", "list", "Slotted", "Thing"]
        ids = [id(o) for o in chain]
        draws = [lambda: _core.local_chain_dot(ids, skip_files=SKIP), lambda: _common.capture().chain_dot(ids)]
        fast, full = [draw() for draw in draws]
        assert fast == full
        assert "['DATA']" in fast and "['k']" in fast and 'label="held"' in fast
        out = io.StringIO()
        refgraph.show_chain(chain, output=out)
        assert out.getvalue() == fast
        # not a chain: two objects that do not refer to each other; the whole capture decides what to draw
        assert _core.local_chain_dot([id(leaf), id(mod)], skip_files=SKIP) is None
        out = io.StringIO()
        refgraph.show_chain([leaf, mod], output=out)
        assert out.getvalue().startswith("digraph")
    finally:
        del sys.modules[mod.__name__]
