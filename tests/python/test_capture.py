"""_core.capture and _core.pin_heap on the live heap of this test process."""

import collections
import ctypes
import gc
import os
import platform
import sys
import threading
import types
import weakref

import pytest
from refgraph import _core


class User:
    def __init__(self, name):
        self.name = name
        self.tags = []


class Slotted:
    __slots__ = ("alpha", "beta")


class Node:
    pass


def node_of(g, obj):
    i = g.find(id(obj))
    assert i >= 0, "object not captured: %r" % (obj,)
    return g.node(i)


def out_edges(g, obj):
    return g.out_edges(g.find(id(obj)))


def labelled(g, holder, target):
    """Labels of the edges from holder to target."""
    return [label for to, label, _weak, _deferred in out_edges(g, holder) if to == id(target)]


# ---- chains and roots ----


@pytest.fixture
def app_module():
    mod = types.ModuleType("refgraph_test_app")
    users = [User("u%d" % i) for i in range(20)]
    mod.REGISTRY = {"USERS": users}
    sys.modules[mod.__name__] = mod
    yield mod
    del sys.modules[mod.__name__]


def test_module_chain_has_labelled_hops_and_root_kind_module(app_module):
    # GIVEN a module-level dict -> list -> instance
    target = app_module.REGISTRY["USERS"][17]
    # WHEN
    g = _core.capture()
    chain = g.backref_chain([id(target)])
    # THEN
    assert chain == [
        (id(app_module), "module", "__dict__"),
        (id(app_module.__dict__), "dict", "['REGISTRY']"),
        (id(app_module.REGISTRY), "dict", "['USERS']"),
        (id(app_module.REGISTRY["USERS"]), "list", "[17]"),
        (id(target), "User", ""),
    ]
    assert g.chain_root_kind([hop[0] for hop in chain]) == "module"
    module_node = node_of(g, app_module)
    assert module_node["root"] == "module" and module_node["label"] == "refgraph_test_app"


def test_local_variable_is_held_by_a_thread_frame_through_f_locals():
    leak = User("only-a-local")
    g = _core.capture()
    chain = g.backref_chain([id(leak)])
    frame_id, frame_type, label = chain[0]
    assert (frame_type, label) == ("frame", "f_locals['leak']")
    assert chain[-1] == (id(leak), "User", "")
    assert g.chain_root_kind([hop[0] for hop in chain]) == "thread frame"
    frame = g.node(g.find(frame_id))
    assert frame["root"] == "thread frame"
    assert frame["label"].startswith("test_capture.py:") and frame["label"].endswith(
        " in test_local_variable_is_held_by_a_thread_frame_through_f_locals"
    )
    # the caller's own frames are deferred: they rarely explain a leak
    assert all(deferred for _to, _label, _weak, deferred in g.out_edges(g.find(frame_id)))


def test_local_of_another_thread_is_held_by_that_thread_frame():
    ready, done = threading.Event(), threading.Event()
    holder = {}

    def worker():
        kept = User("in another thread")
        holder["id"] = id(kept)
        ready.set()
        done.wait()

    t = threading.Thread(target=worker)
    t.start()
    try:
        ready.wait()
        g = _core.capture()
        chain = g.backref_chain([holder["id"]])
        assert chain[0][1:] == ("frame", "f_locals['kept']")
        assert g.chain_root_kind([hop[0] for hop in chain]) == "thread frame"
        assert g.node(g.find(chain[0][0]))["label"].endswith(".<locals>.worker")
        # not the calling thread: its locals are not deferred
        assert [d for to, label, _w, d in g.out_edges(g.find(chain[0][0])) if label == "f_locals['kept']"] == [False]
    finally:
        done.set()
        t.join()


def test_object_held_from_c_is_an_external_root():
    obj = User("held from C")
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    try:
        g = _core.capture()
        assert node_of(g, obj)["root"] == "external"
        assert g.backref_chain([id(obj)]) == [(id(obj), "User", "")]
        assert g.chain_root_kind([id(obj)]) == "external"
    finally:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(obj))
    g = _core.capture()
    assert node_of(g, obj)["root"] is None  # only this frame holds it now


def test_garbage_cycle_is_unreachable():
    gc.collect()
    gc.disable()
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        ids = {id(a), id(b)}
        del a, b
        g = _core.capture()
        unreachable = set(g.unreachable_ids())
        assert ids <= unreachable
        for i in ids:
            n = g.node(g.find(i))
            assert n["root"] is None and n["type"] == "Node"
        assert g.backref_chain(sorted(ids)) is None
    finally:
        gc.enable()
        gc.collect()


def test_frozen_garbage_cycle_is_captured():
    # gc.freeze() moves objects to the permanent generation, which gc.get_objects() leaves out: the capture reads
    # the gc's lists itself and must still see a cycle that nothing else reaches, with its string attribute.
    gc.collect()
    gc.disable()
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a
        a.text = "frozen %d" % id(a)  # refcount 1, not gc-tracked: reached only through a
        a_id, ids = id(a), {id(a), id(b)}
        text_id = id(a.text)
        del a, b
        gc.freeze()
        try:
            g = _core.capture()
        finally:
            gc.unfreeze()
        assert ids <= set(g.unreachable_ids())
        assert g.node(g.find(text_id))["type"] == "str"
        assert [(src, label) for src, label, _, _ in g.in_edges(g.find(text_id))] == [(a_id, "text")]
    finally:
        gc.enable()
        gc.collect()


def test_str_with_one_reference_is_one_node_with_one_referrer():
    holder = ["one ref %d" % id(object())]  # a fresh str only the list holds
    (text,) = holder
    text_id = id(text)
    del text
    g = _core.capture()
    assert g.node(g.find(text_id))["type"] == "str"
    assert [(src, label) for src, label, _, _ in g.in_edges(g.find(text_id))] == [(id(holder), "[0]")]
    assert node_of(g, holder)["root"] is None


def test_sole_leaves_have_their_getsizeof_sizes():
    # Objects with one reference, made at run time: each becomes a node when its holder is walked, sized there.
    n = len(sys.argv)  # a value the compiler cannot fold
    cached = "caf\u00e9 %d" % n
    ctypes.pythonapi.PyUnicode_AsUTF8.restype = ctypes.c_char_p
    ctypes.pythonapi.PyUnicode_AsUTF8(ctypes.py_object(cached))  # a utf8 cache sys.getsizeof counts
    held = [
        "a" * (40 + n),
        "x%d" % n,
        "\u00e9t\u00e9 %d" % n,
        "\u4e2d %d" % n,
        "\U0001f600 %d" % n,
        cached,
        10**30 + n,
        -(2**70) - n,
        1000 + n,
        1.5 * n,
        b"b" * (10 + n),
        3 + 4j * n,
    ]
    del cached
    g = _core.capture()
    assert [node_of(g, x)["size"] for x in held] == [sys.getsizeof(x) for x in held]
    assert [len(g.in_edges(g.find(id(x)))) for x in held] == [1] * len(held)


def test_refcount_lower_than_its_references_still_gives_one_node():
    # An extension's refcount bug can leave an object with fewer references counted than held. The capture
    # trusts a count of 1 to mean one referrer; it must still record the object once, with both in-edges.
    a = ["low refcount %d" % id(object())]
    b = [a[0]]
    text_id = id(a[0])
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(a[0]))  # 2 -> 1 (held by a and b)
    try:
        g = _core.capture()
    finally:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(a[0]))
    i = g.find(text_id)
    assert g.node(i)["type"] == "str"
    assert sorted(src for src, _, _, _ in g.in_edges(i)) == sorted([id(a), id(b)])
    assert list(g.ids_of_type("str")).count(text_id) == 1


# ---- the capture leaves no trace ----


def test_capture_leaks_nothing():
    samples = [User("x"), {"k": [1, 2]}, "some text", (1, 2), sys.modules[__name__]]

    def capture_and_pin():
        g = _core.capture()
        del g
        with _core.pin_heap() as heap:
            assert heap.object(id(samples[0])) is samples[0]

    capture_and_pin()  # once first: frame objects of this stack and pybind11's lazy state get created
    gc.collect()
    refs_before = [sys.getrefcount(s) for s in samples]
    live_before = len(gc.get_objects())
    for _ in range(3):
        capture_and_pin()
    gc.collect()
    assert [sys.getrefcount(s) for s in samples] == refs_before
    assert len(gc.get_objects()) == live_before


def test_pinned_heap_hands_out_live_objects_until_released():
    obj = User("pinned")
    before = sys.getrefcount(obj)
    heap = _core.pin_heap()
    assert sys.getrefcount(obj) == before + 1
    assert heap.pinned
    assert heap.object(id(obj)) is obj
    assert heap.graph.find(id(obj)) >= 0
    with pytest.raises(KeyError):
        heap.object(id(object()) + 1)  # never an object's address
    heap.release()
    assert sys.getrefcount(obj) == before
    assert not heap.pinned
    with pytest.raises(_core.QueryError):
        heap.object(id(obj))
    heap.release()  # twice is harmless
    assert sys.getrefcount(obj) == before


def test_pinned_heap_is_released_on_exit_and_deletion():
    obj = User("pinned")
    before = sys.getrefcount(obj)
    with _core.pin_heap() as heap:
        assert sys.getrefcount(obj) == before + 1
    assert sys.getrefcount(obj) == before
    heap = _core.pin_heap()
    del heap
    assert sys.getrefcount(obj) == before


# ---- edges and labels ----


def test_edge_labels_of_known_structures():
    u = User("alice")
    s = Slotted()
    s.alpha = u
    d = {3: u, "name": u, "not an identifier!": u, (1, 2): u, "x" * 41: u}
    lst = [None, u]

    def outer():
        captured = u

        def inner():
            return captured

        return inner

    closure = outer()
    method = User.__init__.__get__(u)
    ref = weakref.ref(u)
    g = _core.capture()
    assert labelled(g, u, u.name) == ["name"]  # inline instance values (3.11) by bare name
    assert labelled(g, u, User) == ["__class__"]
    assert labelled(g, s, u) == ["alpha"]  # __slots__ member by name
    assert sorted(labelled(g, d, u)) == sorted(["[<int>]", "['name']", "[<str len=18>]", "[<tuple>]", "[<str len=41>]"])
    assert labelled(g, lst, u) == ["[1]"]
    cell = closure.__closure__[0]
    assert labelled(g, closure, closure.__closure__) == ["__closure__"]
    assert labelled(g, cell, u) == ["cell_contents"]
    assert labelled(g, closure, closure.__code__) == ["__code__"]
    assert labelled(g, method, u) == ["__self__"]
    assert labelled(g, method, User.__init__) == ["__func__"]
    assert "__dict__" in [label for to, label, w, d_ in out_edges(g, User)]
    weak = [(label, w) for to, label, w, d_ in out_edges(g, ref) if to == id(u)]
    assert weak == [("referent", True)]
    deferred = {label: d_ for to, label, w, d_ in out_edges(g, closure)}
    assert deferred["__globals__"] is True and deferred["__code__"] is False
    mro = {label: d_ for to, label, w, d_ in out_edges(g, User)}
    assert mro["__mro__"] is True and mro["__bases__"] is True


def test_every_referent_reported_by_tp_traverse_is_an_edge():
    gc.collect()
    missing = []
    exact_mismatch = []
    with _core.pin_heap() as heap:
        g = heap.graph
        for i in range(g.num_nodes):
            n = g.node(i)
            if not n["gc"]:
                continue
            obj = heap.object(n["id"])
            if obj is missing or obj is exact_mismatch:
                continue  # our own result lists change while we look
            edges = [to for to, _l, _w, _d in g.out_edges(i)]
            referents = [id(r) for r in gc.get_referents(obj)]
            left = list(edges)
            for r in referents:
                if r in left:
                    left.remove(r)
                elif g.find(r) >= 0:
                    missing.append((n["type"], r))
            if type(obj) in (list, tuple, set, frozenset, User, Slotted, Node) and sorted(edges) != sorted(referents):
                exact_mismatch.append(n["type"])
    assert missing == []
    assert exact_mismatch == []


def test_labels_are_not_duplicated_as_unlabelled_edges():
    u = User("bob")
    d = {"only": u}
    g = _core.capture()
    assert [(label, w) for to, label, w, _d in out_edges(g, d) if to == id(u)] == [("['only']", False)]
    assert [label for to, label, _w, _d in out_edges(g, u) if to == id(u.tags)] == ["tags"]


def test_type_names_short_and_long():
    class Inner:
        pass

    obj = Inner()
    g = _core.capture()
    assert node_of(g, obj)["type"] == "Inner"
    g = _core.capture(shortnames=False)
    assert node_of(g, obj)["type"] == __name__ + ".test_type_names_short_and_long.<locals>.Inner"
    assert node_of(g, sys.modules)["type"] == "builtins.dict"
    assert node_of(g, obj)["type"] in {name for name, _c, _s in g.type_stats()}


def test_node_labels():
    def some_function():
        pass

    g = _core.capture()
    assert node_of(g, some_function)["label"] == "test_node_labels.<locals>.some_function"
    assert node_of(g, User)["label"] == "User"
    assert node_of(g, sys)["label"] == "sys"
    assert node_of(g, some_function.__code__)["label"] == "test_node_labels.<locals>.some_function"


# ---- sizes ----


def _builtin_sizeof_types():
    kinds = [
        object,
        int,
        str,
        bytearray,
        list,
        dict,
        set,
        frozenset,
        type,
        types.FrameType,
        types.CodeType,
        types.GeneratorType,
        types.CoroutineType,
        types.AsyncGeneratorType,
    ]
    return [k.__dict__["__sizeof__"] for k in kinds]


def _claimed(t, impls):
    for k in type.__getattribute__(t, "__mro__"):
        d = type.__getattribute__(k, "__dict__")
        if "__sizeof__" in d:
            return any(d["__sizeof__"] is impl for impl in impls)
    return False


def test_sizes_equal_sys_getsizeof_for_builtin_types():
    def gen():
        yield 1

    async def coro():
        pass

    async def agen():
        yield 1

    utf8_cached = "caf\u00e9 na\u00efve"
    ctypes.pythonapi.PyUnicode_AsUTF8.restype = ctypes.c_char_p
    ctypes.pythonapi.PyUnicode_AsUTF8(ctypes.py_object(utf8_cached))  # fills the utf8 cache sys.getsizeof counts
    grown = []
    for i in range(17):
        grown.append(i)
    ba = bytearray(b"abc")
    ba.extend(b"defghijk")
    inst = User("sized")
    inst.__dict__  # noqa: B018 - materialises the instance dict

    class S(str):
        pass

    class L(list):
        pass

    class D(dict):
        pass

    Pair = collections.namedtuple("Pair", "a b")
    subclassed = [S("text"), L([1, 2, 3]), D(a=1), collections.defaultdict(list, {1: []}), Pair(1, 2)]
    samples = [
        0,
        1,
        -1,
        2**100,
        -(2**70),
        True,
        1.5,
        "",
        "ascii",
        "\u00e9t\u00e9",
        "\u4e2d\u6587",
        "\U0001f600",
        utf8_cached,
        b"",
        b"bytes",
        ba,
        grown,
        [],
        (),
        (1, 2, 3),
        {},
        {i: i for i in range(100)},
        set(),
        set(range(50)),
        frozenset({1, 2}),
        inst,
        User,
        *subclassed,
        gen(),
        coro(),
        agen(),
        sys._getframe(),
        gen.__code__,
    ]
    gc.collect()
    impls = _builtin_sizeof_types()
    mismatches = []
    checked = set()
    with _core.pin_heap() as heap:
        g = heap.graph
        for i in range(g.num_nodes):
            n = g.node(i)
            obj = heap.object(n["id"])
            if obj is mismatches or obj is checked or not _claimed(type(obj), impls):
                continue
            if sys.getsizeof(obj) != n["size"]:
                mismatches.append((n["type"], sys.getsizeof(obj), n["size"]))
            checked.add(type(obj).__name__)
        for s in samples:
            assert sys.getsizeof(s) == node_of(g, s)["size"], s
    samples[-4].close()  # the coroutine was never awaited
    assert mismatches == []
    assert {
        "int",
        "str",
        "bytes",
        "bytearray",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "User",
        "type",
        "generator",
        "coroutine",
        "async_generator",
        "frame",
        "code",
        "float",
        "bool",
        "S",
        "L",
        "D",
        "defaultdict",
        "Pair",
    } <= checked


def test_user_sizeof_is_not_called_and_basicsize_is_used():
    class Big:
        calls = 0

        def __sizeof__(self):
            Big.calls += 1
            return 10**6

    b = Big()
    g = _core.capture()
    assert Big.calls == 0
    assert node_of(g, b)["size"] == type(b).__basicsize__ + 16 + 16  # GC header and managed-dict pointers


# ---- no user code ----


def test_hostile_objects_are_captured_without_running_their_code():
    calls = []

    class Hostile:
        def __getattr__(self, name):
            calls.append("getattr")
            raise RuntimeError("no")

        def __getattribute__(self, name):
            calls.append("getattribute")
            raise RuntimeError("no")

        def __sizeof__(self):
            calls.append("sizeof")
            raise RuntimeError("no")

        def __repr__(self):
            calls.append("repr")
            raise RuntimeError("no")

        def __eq__(self, other):
            calls.append("eq")
            raise RuntimeError("no")

        def __hash__(self):
            calls.append("hash")
            return 7

        def __del__(self):
            calls.append("del")

    h = Hostile()
    table = {h: "value", "key": h}
    calls.clear()
    g = _core.capture(values=True)
    with _core.pin_heap(values=True) as heap:
        assert heap.object(id(h)) is h
    assert calls == []
    assert labelled(g, table, "value") == ["[<Hostile>]"]
    assert node_of(g, h)["type"] == "Hostile"


def test_object_mid_construction_is_survived():
    class Half:
        def __init__(self):
            self.before = [1]
            global_grab.append(_core.capture())  # captured while __init__ runs
            self.after = [2]

    global_grab = []
    h = Half()
    g = global_grab[0]
    assert labelled(g, h, h.before) == ["before"]
    assert g.find(id(h.after)) < 0


# ---- privacy ----

SECRET = "s3cr3t-T0ken-Value!42"


def test_values_false_leaks_no_string_value(tmp_path):
    secret = "".join(SECRET)  # a fresh object, not the interned constant
    holder = {"password": secret, secret + "-key": 1, "blob": secret.encode()}
    g = _core.capture(values=False)
    assert g.metadata["values_included"] is False
    for i in range(g.num_nodes):
        assert "T0ken" not in g.node(i)["label"]
        for _to, label, _w, _d in g.out_edges(i):
            assert "T0ken" not in label
    assert labelled(g, holder, secret) == ["['password']"]
    g.save(str(tmp_path / "snap.rgd"))
    g.save_jsonl(str(tmp_path / "snap.jsonl"))
    assert b"T0ken" not in (tmp_path / "snap.rgd").read_bytes()
    assert b"T0ken" not in (tmp_path / "snap.jsonl").read_bytes()
    assert holder


def test_values_true_shows_cut_values():
    secret = "".join(SECRET)
    long_text = "y" * 100
    g = _core.capture(values=True, max_value_len=8)
    assert g.metadata["values_included"] is True
    assert node_of(g, secret)["label"] == SECRET[:8] + "..."
    assert node_of(g, long_text)["label"] == "y" * 8 + "..."
    data = {"a b": 1}
    g = _core.capture(values=True)
    assert labelled(g, data, 1) == ["['a b']"]


# ---- size of heap, depth ----


def test_two_million_ints():
    big = list(range(2_000_000))
    g = _core.capture()
    assert g.num_nodes > 2_000_000
    n = node_of(g, big)
    assert n["size"] == sys.getsizeof(big)
    assert g.find(id(big[1_999_999])) >= 0
    assert labelled(g, big, big[123_456]) == ["[123456]"]


def test_every_edge_of_a_big_heap_survives_the_two_threaded_build(tmp_path):
    # Past 65,536 nodes the build fills the node and edge arrays on two threads: every node's out-edges must still
    # be its own, in order, and the in-edges their mirror. The capture's graph is assembled without re-checking
    # each node and edge; loading its dump checks them all.
    users = [User("big-%d" % i) for i in range(60_000)]
    for i, u in enumerate(users):
        u.tags.append(users[(i * 7919) % len(users)])
    g = _core.capture()
    assert g.num_nodes > 240_000
    g.save(str(tmp_path / "big.rgd"))
    loaded = _core.load(str(tmp_path / "big.rgd"))
    assert (loaded.num_nodes, loaded.num_edges) == (g.num_nodes, g.num_edges)
    assert loaded.out_edges(loaded.find(id(users))) == out_edges(g, users)
    assert [to for to, _, _, _ in out_edges(g, users)] == [id(u) for u in users]
    for i in range(0, len(users), 997):
        u = users[i]
        assert labelled(g, u, u.name) == ["name"]
        assert [(to, label) for to, label, _, _ in out_edges(g, u.tags)] == [(id(u.tags[0]), "[0]")]
        target = users[(i * 7919) % len(users)]
        assert (id(u.tags), "[0]") in [(src, label) for src, label, _, _ in g.in_edges(g.find(id(target)))]
    assert sum(len(out_edges(g, u)) for u in users[:1000]) >= 3000


def test_deeply_nested_list():
    nested = []
    innermost = id(nested)
    for _ in range(100_000):
        nested = [nested]
    g = _core.capture()
    chain = g.backref_chain([innermost])
    assert len(chain) == 100_002  # frame -> 100,000 lists -> innermost
    assert chain[0][2] == "f_locals['nested']"
    assert all(hop[2] == "[0]" for hop in chain[1:-1])


# ---- the tool's own frames ----


def test_tool_frames_and_their_objects_are_not_nodes(tmp_path):
    tool = tmp_path / "fake_tool"
    tool.mkdir()
    (tool / "toolmod.py").write_text(
        "def grab(core, skip, user_obj, out):\n"
        "    mine = ['tool-only']\n"
        "    out.append(id(mine))\n"
        "    return core.capture(skip_files=skip)\n"
    )
    sys.path.insert(0, str(tool))
    try:
        import toolmod
    finally:
        sys.path.remove(str(tool))
        sys.modules.pop("toolmod", None)
    user_obj = User("passed to the tool")
    out = []
    g = toolmod.grab(_core, [str(tool)], user_obj, out)
    assert g.find(out[0]) < 0
    for i in g.ids_of_type("frame"):
        assert "toolmod.py" not in g.node(g.find(i))["label"]
    assert node_of(g, user_obj)["root"] is None  # held by the tool frame, which is not "from C"
    g = toolmod.grab(_core, [], user_obj, out)  # not skipped: the frame is a node
    assert any("toolmod.py" in g.node(g.find(i))["label"] for i in g.ids_of_type("frame"))


def test_metadata():
    g = _core.capture(tag="after request 3")
    md = g.metadata
    assert md["pid"] == os.getpid()
    assert md["python_version"] == platform.python_version()
    assert md["rss"] > 1_000_000
    assert md["tag"] == "after request 3"
    assert md["host"] == platform.node()
    assert md["time"] > 1.6e9


def test_capture_while_another_thread_allocates_and_exits():
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            junk = [User(str(i)) for i in range(200)]
            junk.append({"x": junk})
            del junk

    def short_lived():
        _ = [User("brief") for _ in range(50)]

    workers = [threading.Thread(target=churn) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        for _ in range(5):
            starters = [threading.Thread(target=short_lived) for _ in range(4)]  # threads that start and exit
            for t in starters:
                t.start()
            g = _core.capture()
            with _core.pin_heap() as heap:
                assert heap.graph.num_nodes > 1000
            for t in starters:
                t.join()
            assert g.num_nodes > 1000
            assert any(g.node(g.find(i))["root"] == "thread frame" for i in g.ids_of_type("frame"))
    finally:
        stop.set()
        for w in workers:
            w.join()


# ---- the gc headers the walk borrows (header mode, capture/internals.hpp) ----


def gc_header(obj):
    """The two words of obj's gc header (next, prev) as CPython 3.11 lays it out before the object."""
    return tuple(ctypes.c_uint64.from_address(id(obj) - 16 + 8 * k).value for k in range(2))


def broken_gc_links():
    """How many tracked objects' successors do not link back to them (prev of next), over the gc's lists."""
    bad = 0
    for o in gc.get_objects():
        header = id(o) - 16
        successor = ctypes.c_uint64.from_address(header).value
        bad += ctypes.c_uint64.from_address(successor + 8).value & ~3 != header
    return bad


class Resurrect:
    kept = []

    def __del__(self):
        Resurrect.kept.append(self)  # runs once: the object is marked "finalized" in its gc header


needs_311 = pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="header layout read with ctypes is 3.11's")


@needs_311
def test_capture_and_garbage_search_put_every_gc_header_back():
    gc.collect()
    gc.disable()
    try:
        users = [User("h%d" % i) for i in range(500)]
        untracked = [{"n": i} for i in range(500)]  # dicts of ints: not tracked, but with a gc header
        many = [[i] for i in range(70_000)]  # past 65,536 tracked objects the links are put back by two threads
        cycle = Resurrect()
        cycle.me = cycle
        del cycle
        gc.collect()  # runs __del__, which resurrects: "finalized" (bit 0 of prev) is set from now on
        finalized = Resurrect.kept[-1]
        gc.collect()  # everything now sits in the oldest generation, whose links nothing below changes
        samples = users + untracked + many[::97] + [finalized, users, untracked, many]
        assert not any(gc.is_tracked(d) for d in untracked)
        before = [gc_header(o) for o in samples]
        assert gc_header(finalized)[1] & 1 == 1
        g, stats = _core._testing.capture_with_stats()
        assert stats["header_index"]
        assert [gc_header(o) for o in samples] == before
        assert broken_gc_links() == 0
        assert g.find(id(finalized)) >= 0 and g.find(id(untracked[7])) >= 0
        # The garbage search (count_types) keeps its marks there too; it also puts the links back on two threads.
        assert _core.count_types(find_garbage=True, skip_garbage=True)[1] == 0
        assert [gc_header(o) for o in samples] == before
        assert broken_gc_links() == 0
        gc.collect()  # would crash on a broken list
        assert len(gc.get_objects()) > 1000
    finally:
        Resurrect.kept.clear()
        gc.enable()


def graph_facts(g, objs):
    """What a capture says of these objects: type, size, root kind, labelled out-edges to one another."""
    ids = {id(o) for o in objs}
    facts = {}
    for o in objs:
        n = g.node(g.find(id(o)))
        edges = sorted((to, label, weak) for to, label, weak, _ in out_edges(g, o) if to in ids)
        facts[id(o)] = (n["type"], n["size"], n["root"], edges)
    return facts


def test_header_mode_and_address_set_give_the_same_graph(app_module):
    # gc.freeze() turns header mode off (frozen objects' pages must stay shared): the same heap captured both ways.
    users = app_module.REGISTRY["USERS"]
    objs = [app_module, app_module.__dict__, app_module.REGISTRY, users] + users + [u.__dict__ for u in users]
    objs += [u.tags for u in users] + [u.name for u in users] + [{"untracked": 1}]
    held = objs[-1]
    gc.collect()
    with_headers, with_stats = _core._testing.capture_with_stats()
    gc.freeze()
    try:
        without, without_stats = _core._testing.capture_with_stats()
    finally:
        gc.unfreeze()
    assert with_stats["header_index"] and not without_stats["header_index"]
    assert with_stats["address_set_entries"] < without_stats["address_set_entries"]
    assert graph_facts(with_headers, objs) == graph_facts(without, objs)
    assert node_of(with_headers, held)["type"] == "dict"
    counts = [
        {t: c for t, c, _ in g.type_stats() if t in ("User", "function", "module", "type")}
        for g in (with_headers, without)
    ]
    assert counts[0] == counts[1] and counts[0]["User"] >= 20


def test_capture_inside_a_collection_uses_the_address_set():
    # From a gc callback a collection is under way, and its counts are in the prev links: hands off.
    seen = []

    def callback(phase, info):
        if phase == "start" and not seen:
            seen.append(_core._testing.capture_with_stats())

    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    assert seen and not seen[0][1]["header_index"]
    assert seen[0][0].num_nodes > 1000
    gc.collect()
    assert len(gc.get_objects()) > 1000


STATS_KEYS = (
    "timing",
    "build_timing",
    "walk_seconds",
    "build_seconds",
    "gc_tracked",
    "address_set_entries",
    "header_index",
)


def test_statistics_stay_out_of_dumps(tmp_path):
    # Timings and counts of the walk are the capture's statistics (_testing.capture_with_stats), not metadata: two
    # dumps of one heap do not differ by them.
    g, stats = _core._testing.capture_with_stats()
    assert not set(STATS_KEYS) & set(g.metadata["extra"])
    assert stats["gc_tracked"] > 1000 and stats["walk_seconds"] > 0 and stats["build_seconds"] > 0
    assert stats["phase1_seconds"] <= stats["walk_seconds"]
    g.save(str(tmp_path / "now.rgd"))
    assert not set(STATS_KEYS) & set(_core.load(str(tmp_path / "now.rgd")).metadata["extra"])


def test_dumps_with_the_old_timing_keys_still_load(tmp_path):
    # Dumps written before the statistics left the metadata carry them in `extra`: they load, keys and all.
    users = [User("old%d" % i) for i in range(5)]
    g = _core.capture()
    path = tmp_path / "old.jsonl"
    g.save_jsonl(str(path))
    lines = path.read_text().splitlines()
    import json

    for i, line in enumerate(lines):
        rec = json.loads(line)
        if "extra" in rec.get("metadata", rec):
            md = rec.get("metadata", rec)
            md["extra"].update({k: "0.5" for k in STATS_KEYS})
            lines[i] = json.dumps(rec)
            break
    else:
        raise AssertionError("no metadata line with 'extra' in a JSONL dump")
    path.write_text("\n".join(lines) + "\n")
    old = _core.load(str(path))
    assert old.metadata["extra"]["walk_seconds"] == "0.5"
    assert old.num_nodes == g.num_nodes and old.find(id(users[0])) >= 0
