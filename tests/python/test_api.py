"""refgraph's own API on real live heaps: exact labelled chains, root kinds, sizes, dumps, and no leaks of its own."""

import ctypes
import gc
import io
import os
import sys
import threading
import tracemalloc
import types
import weakref

import pytest
import refgraph


class User:
    pass


class Thing:
    pass


class Holder:
    ITEMS = []  # a list that is a class attribute: objgraph's slowest case


@pytest.fixture
def app_cache():
    """A module `app_cache_for_test` in sys.modules holding USERS = {'alice': [...18 Users]}."""
    module = types.ModuleType("app_cache_for_test")
    module.USERS = {"alice": [User() for _ in range(18)]}
    sys.modules[module.__name__] = module
    yield module
    del sys.modules[module.__name__]


# ---- chains: exact labels and root kinds ----


def test_chain_report_module_root(app_cache):
    # GIVEN a User held by a module-level dict of lists
    user = app_cache.USERS["alice"][17]
    # WHEN asking who keeps it alive
    report = refgraph.chain_report(user)
    # THEN the chain reads like the program, __dict__ + ['USERS'] collapsed into attr 'USERS'
    assert report == "module app_cache_for_test -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> User"


def test_snapshot_chain_hops(app_cache):
    user = app_cache.USERS["alice"][3]
    chain = refgraph.snapshot().chain(user)
    assert chain.root_kind == "module"
    assert chain.found
    assert [(hop.type, hop.edge) for hop in chain.hops] == [
        ("module", "__dict__"),
        ("dict", "['USERS']"),
        ("dict", "['alice']"),
        ("list", "[3]"),
        ("User", ""),
    ]
    assert chain.hops[0].label == "app_cache_for_test"
    assert chain.ids[-1] == id(user)
    # the snapshot works from an id as well as from the object
    assert refgraph.snapshot().chain(id(user)).ids == chain.ids


def test_chain_report_instance_attribute(app_cache):
    holder = Thing()
    holder.handlers = [Thing()]
    app_cache.APP = holder
    report = refgraph.chain_report(holder.handlers[0])
    assert report == "module app_cache_for_test -> attr 'APP' (Thing) -> attr 'handlers' (list) -> [0] -> Thing"


def test_chain_thread_frame_root():
    # GIVEN an object only a local variable of another thread's frame holds
    ready, release = threading.Event(), threading.Event()
    box = {}

    def worker():
        held = Thing()
        box["id"] = id(held)
        ready.set()
        release.wait()
        assert held is not None

    t = threading.Thread(target=worker)
    t.start()
    try:
        ready.wait()
        # WHEN asking for its chain
        chain = refgraph.snapshot().chain(box["id"])
        # THEN the root is that thread's frame and the hop is the local's name
        assert chain.root_kind == "thread frame"
        assert chain.hops[0].type == "frame"
        assert "worker" in chain.hops[0].label
        assert [(hop.type, hop.edge) for hop in chain.hops[-2:]] == [("frame", "f_locals['held']"), ("Thing", "")]
        assert str(chain).startswith("thread frame ")
        assert str(chain).endswith("-> f_locals['held'] -> Thing")
    finally:
        release.set()
        t.join()


def test_chain_external_root():
    # GIVEN an object whose only reference is held from C (a reference count no object explains)
    thing = Thing()
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(thing))
    thing_id = id(thing)
    del thing
    try:
        # WHEN asking for its chain THEN the object itself is the root, held from C
        chain = refgraph.snapshot().chain(thing_id)
        assert chain.root_kind == "external"
        assert [hop.id for hop in chain.hops] == [thing_id]
        assert str(chain) == "Thing (held from C)"
    finally:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(refgraph.at(thing_id)))


def test_chain_unreachable_garbage():
    # GIVEN a reference cycle nothing else holds, not yet collected
    gc.disable()
    try:
        cycle = [Thing()]
        cycle.append(cycle)
        cycle_id = id(cycle)
        del cycle
        # WHEN a snapshot is taken without collecting
        snap = refgraph.snapshot(collect=False)
        chain = snap.chain(cycle_id)
        # THEN the cycle is there and reported as unreachable
        assert chain.root_kind == "unreachable"
        assert not chain.found
        assert cycle_id in snap.graph.unreachable_ids()
        assert "unreachable" in str(chain)
        # and a collecting snapshot no longer has it
        assert refgraph.snapshot(collect=True).node(cycle_id) is None
    finally:
        gc.enable()


def test_growth_collect_false_counts_garbage():
    peak = {}
    refgraph.growth(limit=None, peak_stats=peak)
    gc.disable()
    try:
        for _ in range(4):
            cycle = [Thing()]
            cycle.append(cycle)
        del cycle
        counted = dict((name, delta) for name, _, delta in refgraph.growth(None, dict(peak), collect=False))
        collected = dict((name, delta) for name, _, delta in refgraph.growth(None, dict(peak), collect=True))
    finally:
        gc.enable()
    assert counted.get("Thing") == 4
    assert "Thing" not in collected


def test_find_backref_chain_class_attribute_is_fast():
    # A list that is a class attribute: every instance of the class refers to the class, so a breadth-first
    # search from the class wanders through all of them. refgraph searches natively.
    instances = [Holder() for _ in range(20000)]
    leaked = Thing()
    Holder.ITEMS.append(leaked)
    try:
        chain = refgraph.find_backref_chain(leaked, refgraph.is_proper_module)
        assert chain[0] is sys.modules[__name__]
        assert chain[-1] is leaked
        assert Holder in chain and Holder.ITEMS in chain
    finally:
        Holder.ITEMS.clear()
        del instances


# ---- find_backref_chain without a chain: where the references end (refgraph.ChainToRoot) ----


def test_find_backref_chain_not_found_names_a_thread_frame_root():
    # GIVEN an object only a local variable of another thread's frame holds
    ready, release = threading.Event(), threading.Event()
    box = {}

    def worker():
        held = Thing()
        box["ref"] = weakref.ref(held)
        ready.set()
        release.wait()
        assert held is not None

    t = threading.Thread(target=worker)
    t.start()
    try:
        ready.wait()
        # WHEN no module leads to it
        chain = refgraph.find_backref_chain(box["ref"](), refgraph.is_proper_module)
        # THEN objgraph's answer, [obj], says where its references end: that thread's frame
        assert chain == [box["ref"]()] and isinstance(chain, refgraph.ChainToRoot)
        assert chain.root_kind == "thread frame"
        assert isinstance(chain.root_chain, refgraph.Chain)
        assert [(hop.type, hop.edge) for hop in chain.root_chain.hops] == [("frame", "f_locals['held']"), ("Thing", "")]
        assert "worker" in chain.root_chain.hops[0].label
        # AND show_chain draws that root, not the object alone
        out = io.StringIO()
        refgraph.show_chain(chain, output=out)
        assert 'label="frame' in out.getvalue() and "f_locals['held']" in out.getvalue()
        del chain
    finally:
        release.set()
        t.join()


def test_find_backref_chain_not_found_names_an_external_root():
    thing = Thing()
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(thing))
    ref = weakref.ref(thing)
    del thing
    try:
        chain = refgraph.find_backref_chain(ref(), refgraph.is_proper_module)
        assert chain == [ref()]
        assert chain.root_kind == "external"
        assert chain.root_chain.ids == [id(ref())]
        del chain
    finally:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(ref()))


def test_find_backref_chain_cycle_held_only_by_the_caller_is_unreachable():
    # GIVEN cyclic garbage but for the caller's own variable
    cycle = [Thing()]
    cycle.append(cycle)
    # WHEN its chain is searched THEN it is unreachable, not a chain through the caller's frame
    for predicate in (refgraph.is_proper_module, lambda o: False):
        chain = refgraph.find_backref_chain(cycle, predicate)
        assert chain == [cycle]
        assert chain.root_kind == "unreachable"
        assert chain.root_chain.ids == [id(cycle)]
        assert "held only by the caller" in str(chain.root_chain)
        out = io.StringIO()
        refgraph.show_chain(chain, output=out)
        assert 'label="frame' not in out.getvalue()


MODULE_HELD = {"a": [[[[Thing()]]]]}


def test_find_backref_chain_beyond_max_depth_names_the_module_root():
    leaf = MODULE_HELD["a"][0][0][0][0]
    chain = refgraph.find_backref_chain(leaf, refgraph.is_proper_module, max_depth=2)
    assert chain == [leaf]
    assert chain.root_kind == "module"
    assert str(chain.root_chain).startswith(f"module {__name__} -> attr 'MODULE_HELD' (dict) -> ['a'] (list)")
    out = io.StringIO()
    refgraph.show_chain(chain, output=out)
    assert out.getvalue().count("->") == 7  # module -> __dict__ -> dict -> list x4 -> Thing


def test_chain_report_with_tracemalloc(app_cache):
    tracemalloc.start()
    try:
        app_cache.CACHE = {"k": list(range(100))}
        report = refgraph.chain_report(app_cache.CACHE["k"])
    finally:
        tracemalloc.stop()
    lines = report.splitlines()
    assert lines[0].startswith("module app_cache_for_test")
    here = os.path.basename(__file__)
    assert any("allocated at" in line and here in line for line in lines), report


# ---- sizes and counts ----


def test_big_string_size_in_summary():
    big = "a" * 2**26
    snap = refgraph.snapshot()
    assert snap.node(big).size == sys.getsizeof(big)
    top = snap.type_table(limit=1)[0]
    assert top.type == "str" and top.size >= sys.getsizeof(big)
    out = io.StringIO()
    refgraph.summary(limit=3, file=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["types", "|", "#", "objects", "|", "total", "size"]
    assert lines[2].split()[0] == "str" and lines[2].endswith("MiB")
    assert float(lines[2].split("|")[2].split()[0]) >= 64.0
    del big


def test_sizes_agree_with_getsizeof():
    samples = [
        [],
        [1, 2, 3],
        {},
        {"a": 1},
        "text",
        "ü" * 10,
        b"bytes",
        10**30,
        1.5,
        (1, 2),
        {1, 2},
        frozenset(),
        bytearray(b"xy"),
        User(),
        type,
        len,
        sys,
    ]
    holder = list(samples)
    snap = refgraph.snapshot()
    for obj in holder:
        assert snap.node(id(obj)).size == sys.getsizeof(obj), type(obj)  # an int argument is an id


def test_snapshot_counts_untracked_objects():
    words = ["w%d" % i for i in range(1000)]
    stats = refgraph.snapshot().typestats()
    assert stats["str"] >= 1000
    assert "str" not in refgraph.typestats()
    assert refgraph.snapshot().typestats(gc_only=True)["list"] == refgraph.typestats()["list"]
    del words


def test_growth_and_new_objects():
    before = refgraph.snapshot()
    sessions = [User() for _ in range(100)]
    after = refgraph.snapshot()
    rows = {row.type: row for row in after.growth(before)}
    assert rows["User"].count_delta == 100
    assert rows["User"].size_delta == 100 * sys.getsizeof(sessions[0])
    fresh = {node.id for node in after.new_objects(before) if node.type == "User"}
    assert fresh == {id(s) for s in sessions}


def test_save_and_load(tmp_path):
    snap = refgraph.snapshot(tag="unit test")
    path = tmp_path / "heap.rgd"
    snap.save(path)
    loaded = refgraph.load(path)
    assert loaded.typestats() == snap.typestats()
    assert loaded.metadata["tag"] == "unit test"
    assert len(loaded) == len(snap)


def test_load_rejects_garbage(tmp_path):
    path = tmp_path / "bad.rgd"
    path.write_bytes(b"not a dump at all")
    with pytest.raises(refgraph.Error, match="bad.rgd"):
        refgraph.load(path)


def test_values_are_private_by_default():
    secret = "hunter2-" + "x" * 10
    holder = {"password": secret}
    labels = {refgraph.snapshot().node(secret).label, refgraph.snapshot(values=True).node(secret).label}
    assert labels == {"", secret}
    del holder


def test_show_refs_bad_extension_fails_before_work(tmp_path):
    with pytest.raises(ValueError, match="bmp"):
        refgraph.show_refs([[]], filename=str(tmp_path / "graph.bmp"))
    assert list(tmp_path.iterdir()) == []


def test_show_backrefs_callables_see_live_objects(tmp_path):
    x = Thing()
    holders = [[x], {"x": x}]
    seen = []

    def keep(obj):
        seen.append(type(obj).__name__)
        return True

    out = io.StringIO()
    refgraph.show_backrefs(
        [x],
        output=out,
        filter=keep,
        highlight=lambda o: isinstance(o, dict),
        extra_info=lambda o: "info-%s" % type(o).__name__,
        extra_node_attrs=lambda o: {"URL": "u%d" % id(o)},
    )
    dot = out.getvalue()
    assert "list" in seen and "dict" in seen
    assert "info-list" in dot and 'URL="u%d"' % id(holders[0]) in dot
    assert 'fillcolor="0.6,0.6,0.8"' in dot
    del seen[:]


def test_show_without_filename_writes_temp_png(capsys):
    x = []
    refgraph.show_refs([x, [x]])
    out = capsys.readouterr().out
    path = out.strip().rsplit(" ", 1)[-1]
    try:
        assert path.endswith(".png")
        with open(path, "rb") as f:
            assert f.read(4) == b"\x89PNG"
    finally:
        os.unlink(path)


# ---- one short name, two types ----


@pytest.fixture
def two_requests():
    """Two modules that each define a class `Request` (as werkzeug and gunicorn do)."""
    made = []
    for name in ("werkzeug_like.wrappers.request", "gunicorn_like.http.message"):
        module = types.ModuleType(name)
        exec("class Request:\n    pass\n", module.__dict__)  # noqa: S102 (a class made in a given module)
        sys.modules[name] = module
        made.append(module)
    yield made
    for module in made:
        del sys.modules[module.__name__]


W_NAME, G_NAME = "Request (werkzeug_like.wrappers.request)", "Request (gunicorn_like.http.message)"


def test_reports_tell_apart_types_that_share_a_short_name(two_requests):
    w, g = two_requests
    before = refgraph.snapshot()
    w_objs, g_objs = [w.Request() for _ in range(30)], [g.Request() for _ in range(20)]
    snap = refgraph.snapshot()
    rows = {row.type: row.count for row in snap.type_table(sort="count")}
    assert rows[W_NAME] == 30 and rows[G_NAME] == 20
    assert "Request" not in rows
    grown = {row.type: row.count_delta for row in snap.growth(before)}
    assert grown[W_NAME] == 30 and grown[G_NAME] == 20
    assert snap.count("Request") == 50
    assert snap.count("werkzeug_like.wrappers.request.Request") == 30
    assert snap.count(G_NAME) == 20
    assert set(snap.ids_of_type("gunicorn_like.http.message.Request")) == {id(o) for o in g_objs}
    out = io.StringIO()
    refgraph.summary(limit=0, file=out, sort="count")
    table = {
        line.rsplit("|", 2)[0].strip(): int(line.rsplit("|", 2)[1])
        for line in out.getvalue().splitlines()
        if line.strip().startswith("Request")
    }
    assert table == {W_NAME: 30, G_NAME: 20}
    del w_objs, g_objs


def test_objgraph_calls_keep_objgraphs_names(two_requests):
    w, g = two_requests
    w_objs, g_objs = [w.Request() for _ in range(30)], [g.Request() for _ in range(20)]
    assert refgraph.typestats()["Request"] == 50
    assert refgraph.count("Request") == 50
    assert refgraph.count("werkzeug_like.wrappers.request.Request") == 30
    assert not any("(" in name for name in refgraph.typestats())
    assert len(refgraph.by_type("Request")) == 50
    del w_objs, g_objs


def test_a_unique_short_name_stays_short():
    things = [Thing(), Thing()]
    names = refgraph.snapshot().typestats()
    assert names["Thing"] >= 2
    assert not any(name.startswith("Thing (") for name in names)
    del things


# ---- the tool must not leak or distort ----


def _referrers_unchanged(call, obj):
    gc.collect()
    gc.disable()
    try:
        before = [id(r) for r in gc.get_referrers(obj)]
        call(obj)
        after = [id(r) for r in gc.get_referrers(obj)]
    finally:
        gc.enable()
    return sorted(before) == sorted(after)


CALLS_TAKING_OBJECTS = {
    "count": lambda o: refgraph.count("Thing", [o]),
    "typestats": lambda o: refgraph.typestats([o]),
    "typestats_filter": lambda o: refgraph.typestats(filter=lambda x: x is o),
    "most_common_types": lambda o: refgraph.most_common_types(objects=[o]),
    "show_most_common_types": lambda o: refgraph.show_most_common_types(objects=[o], file=io.StringIO()),
    "by_type": lambda o: refgraph.by_type("Thing", [o]),
    "at": lambda o: refgraph.at(id(o)),
    "at_addrs": lambda o: refgraph.at_addrs({id(o)}),
    "get_leaking_objects": lambda o: refgraph.get_leaking_objects([o]),
    "find_backref_chain": lambda o: refgraph.find_backref_chain(o, refgraph.is_proper_module),
    "find_backref_chain_pred": lambda o: refgraph.find_backref_chain(o, lambda x: isinstance(x, type)),
    "find_ref_chain": lambda o: refgraph.find_ref_chain(o, lambda x: isinstance(x, str)),
    "show_backrefs": lambda o: refgraph.show_backrefs([o], output=io.StringIO(), filter=lambda x: True),
    "show_refs": lambda o: refgraph.show_refs(o, output=io.StringIO(), extra_info=lambda x: "x"),
    "show_chain": lambda o: refgraph.show_chain(
        refgraph.find_backref_chain(o, refgraph.is_proper_module), output=io.StringIO()
    ),
    "is_proper_module": refgraph.is_proper_module,
    "chain_report": refgraph.chain_report,
    "snapshot.chain": lambda o: refgraph.snapshot().chain(o),
    "snapshot.node": lambda o: refgraph.snapshot().node(o),
}


@pytest.mark.parametrize("name", sorted(CALLS_TAKING_OBJECTS))
def test_no_references_kept(name, app_cache):
    # GIVEN an object held by a module
    app_cache.OBJ = Thing()
    app_cache.OBJ.name = "x"
    # WHEN a refgraph function is called with it THEN its referrers are the same before and after
    assert _referrers_unchanged(CALLS_TAKING_OBJECTS[name], app_cache.OBJ)


def test_no_references_kept_with_tracemalloc(app_cache):
    app_cache.OBJ = [Thing()]
    tracemalloc.start()
    try:
        assert _referrers_unchanged(refgraph.chain_report, app_cache.OBJ)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "analysis",
    [
        lambda: refgraph.typestats(),
        lambda: refgraph.growth(),
        lambda: refgraph.show_growth(file=io.StringIO()),
        lambda: refgraph.most_common_types(),
        lambda: refgraph.snapshot().typestats(),
        lambda: refgraph.snapshot().type_table(limit=5),
        lambda: refgraph.summary(file=io.StringIO()),
        lambda: refgraph.count("dict"),
    ],
    ids=[
        "typestats",
        "growth",
        "show_growth",
        "most_common_types",
        "Snapshot.typestats",
        "type_table",
        "summary",
        "count",
    ],
)
def test_capture_and_analysis_leave_live_objects_unchanged(analysis):
    analysis()  # warm up: first calls may import or cache
    gc.collect()
    before = len(gc.get_objects())
    analysis()
    gc.collect()
    after = len(gc.get_objects())
    assert after == before


def test_own_frames_are_not_captured():
    snap = refgraph.snapshot()
    package_dir = os.path.dirname(refgraph.__file__)
    frames = [snap.graph.node(snap.graph.find(i))["label"] for i in snap.ids_of_type("frame")]
    assert frames, "the test's own frame is captured"
    assert not any(package_dir in label or "refgraph/_" in label for label in frames)


# ---- docs/api.md: every example runs ----

API_DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs", "api.md")


def _doc_examples():
    import re

    with open(API_DOC, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


@pytest.mark.parametrize("index", range(len(_doc_examples())))
def test_api_doc_example_runs(index, tmp_path):
    import subprocess

    code = _doc_examples()[index]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.path.dirname(os.path.dirname(refgraph.__file__)), env.get("PYTHONPATH")) if p
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, code + "\n" + result.stderr


# ---- every docstring example runs ----


@pytest.mark.parametrize(
    "module_name", ["refgraph", "refgraph._compat", "refgraph._snapshot", "refgraph.web._wsgi", "refgraph._signature"]
)
def test_docstring_examples(module_name):
    import doctest
    import importlib

    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
