"""The same tests against objgraph and refgraph: `import refgraph as objgraph` must be a drop-in.

Each test is parametrised over both modules (as re2's tests run against `re` and `re2`); refgraph-only behaviour
is tested in test_api.py.
"""

import gc
import inspect
import io
import random
import re
import sys

import objgraph
import pytest
import refgraph

MODULES = [pytest.param(objgraph, id="objgraph"), pytest.param(refgraph, id="refgraph")]


@pytest.fixture(params=MODULES)
def og(request):
    return request.param


class Counted:
    pass


class Grower:
    pass


class Target:
    pass


class MyBigFatObject:
    pass


# A structure hanging off this module, for the chain searches: module -> __dict__ -> HOLDER -> ['k'] -> [0].
HOLDER = {}


def test_signatures_match_objgraph():
    # GIVEN every public function objgraph has
    names = [n for n in dir(objgraph) if not n.startswith("_") and inspect.isfunction(getattr(objgraph, n))]
    for name in names:
        # THEN refgraph has it, and its parameters start with objgraph's, with the same defaults
        theirs = inspect.signature(getattr(objgraph, name)).parameters
        ours = inspect.signature(getattr(refgraph, name)).parameters
        assert list(ours)[: len(theirs)] == list(theirs), name
        for p in theirs:
            if isinstance(theirs[p].default, dict):  # state kept between calls (growth, get_new_ids): its type
                assert type(ours[p].default) is dict, (name, p)
            else:
                assert ours[p].default == theirs[p].default, (name, p)
            assert ours[p].kind == theirs[p].kind, (name, p)


def test_count(og):
    things = [Counted() for _ in range(3)]
    assert og.count("Counted") == 3
    assert og.count(f"{__name__}.Counted") == 3
    assert og.count("Counted", things[:2]) == 2
    assert og.count("int", [1, 2, "x"]) == 2
    del things
    assert og.count("Counted") == 0


def test_typestats(og):
    things = [Counted() for _ in range(5)]
    things[0].flag = True
    stats = og.typestats()
    assert stats["Counted"] == 5
    assert "str" not in stats  # objgraph's view: gc-tracked objects only
    assert og.typestats(shortnames=False)[f"{__name__}.Counted"] == 5
    assert og.typestats(things[:3]) == {"Counted": 3}
    assert og.typestats(filter=lambda o: isinstance(o, Counted) and hasattr(o, "flag")) == {"Counted": 1}


def test_most_common_types(og):
    things = [Counted() for _ in range(20000)]
    assert og.most_common_types(limit=1) == [("Counted", 20000)]
    out = io.StringIO()
    og.show_most_common_types(limit=1, file=out)
    assert out.getvalue() == "Counted 20000\n"
    del things


def test_typestats_equal_objgraph_on_the_same_heap():
    # GIVEN a quiet heap: warm both up so neither creates lazily-built objects during the comparison
    objgraph.typestats()
    refgraph.typestats()
    gc.collect()
    gc.disable()
    try:
        # WHEN both count the same heap, objgraph before and after refgraph
        before = objgraph.typestats()
        ours = refgraph.typestats()
        after = objgraph.typestats()
    finally:
        gc.enable()
    # THEN refgraph's counts equal objgraph's for every type objgraph saw unchanged across the two calls
    stable = {name for name in before.keys() | after.keys() if before.get(name) == after.get(name)}
    mismatched = {name: (ours.get(name), after.get(name)) for name in stable if ours.get(name) != after.get(name)}
    assert mismatched == {}
    assert len(stable) > 50
    # and the types that changed are objgraph's own temporaries, not things refgraph missed
    assert {name for name in before.keys() | after.keys()} - stable <= {"frame", "list", "dict", "tuple", "cell"}


def test_by_type(og):
    things = [Counted() for _ in range(4)]
    assert sorted(map(id, og.by_type("Counted"))) == sorted(map(id, things))
    assert og.by_type(f"{__name__}.Counted", things[:1]) == things[:1]
    assert og.by_type("NoSuchType") == []


def test_at(og):
    thing = Counted()
    assert og.at(id(thing)) is thing
    assert og.at_addrs({id(thing)}) == [thing]


def test_find_backref_chain_to_module(og):
    # GIVEN an object held by this module through a dict and a list
    target = Target()
    HOLDER["k"] = [target]
    try:
        # WHEN searching back to a module
        chain = og.find_backref_chain(target, og.is_proper_module)
        # THEN the chain runs from this module to the object, each item referring to the next
        assert chain[0] is sys.modules[__name__]
        assert chain[-1] is target
        assert [type(o).__name__ for o in chain] == ["module", "dict", "dict", "list", "Target"]
        for holder, held in zip(chain, chain[1:]):
            assert any(r is held for r in gc.get_referents(holder))
    finally:
        HOLDER.clear()


def test_find_backref_chain_not_found(og):
    lonely = Target()
    assert og.find_backref_chain(lonely, og.is_proper_module, max_depth=0) == [lonely]


def test_find_backref_chain_extra_ignore(og):
    target = Target()
    HOLDER["a"] = [target]
    try:
        chain = og.find_backref_chain(target, og.is_proper_module, extra_ignore=[id(HOLDER)])
        assert HOLDER not in chain
        assert chain[-1] is target
    finally:
        HOLDER.clear()


def test_find_ref_chain(og):
    leaf = Target()
    tree = {"branch": [1, 2, leaf]}
    chain = og.find_ref_chain(tree, lambda x: isinstance(x, Target))
    assert chain == [tree, tree["branch"], leaf]
    assert og.find_ref_chain(tree, lambda x: False) == [tree]


def test_growth(og):
    peak = {}
    og.growth(limit=None, peak_stats=peak)
    growers = [Grower() for _ in range(7)]
    assert ("Grower", 7, 7) in og.growth(limit=None, peak_stats=peak)
    assert [row for row in og.growth(limit=None, peak_stats=peak) if row[0] == "Grower"] == []
    del growers


def test_show_growth(og):
    peak = {}
    og.show_growth(peak_stats=peak, file=io.StringIO())
    growers = [Grower() for _ in range(3)]
    out = io.StringIO()
    og.show_growth(limit=None, peak_stats=peak, file=out)
    assert re.search(r"^Grower +3 +\+3$", out.getvalue(), re.M)
    del growers


def test_get_new_ids(og):
    og.get_new_ids(limit=0)
    og.get_new_ids(limit=0)
    a = [0, 1, 2]
    b = [3, 4, 5]
    out = io.StringIO()
    new_ids = og.get_new_ids(limit=3, file=out)
    assert {id(a), id(b)} <= new_ids["list"]
    new_lists = og.at_addrs(new_ids["list"])
    assert any(x is a for x in new_lists) and any(x is b for x in new_lists)
    assert out.getvalue().splitlines()[1].split() == ["Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"]
    assert og.get_new_ids(skip_update=True) is new_ids


@pytest.mark.parametrize("ext,magic", [(".dot", b"digraph"), (".png", b"\x89PNG"), (".svg", b"<"), (".pdf", b"%PDF")])
def test_show_backrefs_and_refs_write_files(og, tmp_path, capsys, ext, magic):
    x = []
    y = [x, [x], dict(x=x)]
    for show, name in ((og.show_refs, "refs"), (og.show_backrefs, "backrefs")):
        path = tmp_path / (name + ext)
        show([y] if name == "refs" else [x], filename=str(path))
        data = path.read_bytes()
        assert data.lstrip().startswith(magic), (name, data[:20])
    assert "Image generated as" in capsys.readouterr().out or ext == ".dot"


def test_show_refs_to_output(og):
    x = []
    y = [x, [x], dict(x=x)]
    out = io.StringIO()
    og.show_refs([y], output=out)
    dot = out.getvalue()
    assert dot.startswith("digraph")
    assert dot.count("->") >= 5  # y->x, y->[x], y->dict, [x]->x, dict->x
    with pytest.raises(ValueError):
        og.show_refs([y], output=out, filename="both.png")


def computate_something(_cache={}):  # noqa: B006 - objgraph's documented leak, kept as written
    _cache[42] = dict(foo=MyBigFatObject(), bar=MyBigFatObject())
    # a very explicit and easy-to-find "leak" but oh well
    x = MyBigFatObject()  # this one doesn't leak
    return x is None


# ---- the examples of objgraph's documentation (https://mg.pov.lt/objgraph/), run against both modules ----


def test_doc_quickstart(og, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    x = []
    y = [x, [x], dict(x=x)]
    og.show_refs([y], filename="sample-graph.png")
    og.show_backrefs([x], filename="sample-backref-graph.png")
    assert (tmp_path / "sample-graph.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "sample-backref-graph.png").read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert "Image generated as sample-graph.png" in out


def test_doc_show_most_common_types(og, capsys):
    og.show_most_common_types()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    counts = [int(line.split()[1]) for line in lines]
    assert counts == sorted(counts, reverse=True)


def test_doc_memory_leak_example(og, tmp_path, capsys):
    # The leak example of objgraph's docs: a function default caches objects.
    computate_something.__defaults__[0].clear()  # the other module's run filled it
    og.show_growth(limit=3)
    computate_something()
    capsys.readouterr()
    og.show_growth()
    out = capsys.readouterr().out
    assert re.search(r"^MyBigFatObject +2 +\+2$", out, re.M), out
    chain = og.find_backref_chain(random.choice(og.by_type("MyBigFatObject")), og.is_proper_module)
    assert og.is_proper_module(chain[0]) and type(chain[-1]) is MyBigFatObject
    assert any(o is computate_something.__defaults__[0] for o in chain)
    path = tmp_path / "chain.png"
    og.show_chain(chain, filename=str(path))
    assert path.read_bytes().startswith(b"\x89PNG")
    assert "Image generated as" in capsys.readouterr().out


def test_doc_is_proper_module(og):
    import types

    assert og.is_proper_module([]) is False
    assert og.is_proper_module(types) is True
    assert og.is_proper_module(types.ModuleType("foo")) is False


def test_doc_show_chain_of_ref_chain(og):
    leaf = Target()
    tree = {"branch": [leaf]}
    out = io.StringIO()
    og.show_chain(og.find_ref_chain(tree, lambda x: isinstance(x, Target)), backrefs=False, output=out)
    assert out.getvalue().startswith("digraph")
    assert out.getvalue().count("->") == 2


def test_doc_get_leaking_objects(og):
    leaking = og.get_leaking_objects()
    assert all(gc.is_tracked(o) for o in leaking)
    # objects held by something gc-tracked are never among them
    assert not any(o is HOLDER for o in leaking)
    del leaking


# ---- objects passed as temporaries: the objects a call asks about are always in the graph it searches ----
# The calls run as module-level code (as in a doctest or a script): there no frame of the caller's holds them.


def _run_at_module_level(og, source):
    namespace = {"og": og, "io": io, "Target": Target, "out": io.StringIO()}
    exec(compile(source, "<module-level>", "exec"), namespace)  # noqa: S102 (code run as a module runs)
    return namespace


def test_find_ref_chain_from_a_temporary(og):
    ns = _run_at_module_level(og, "chain = og.find_ref_chain({'a': [Target()]}, lambda x: type(x) is Target)")
    assert [type(o).__name__ for o in ns["chain"]] == ["dict", "list", "Target"]


@pytest.mark.parametrize("kw", ["", ", filter=lambda x: True", ", refcounts=True", ", too_many=5"])
def test_show_refs_of_a_temporary(og, kw):
    ns = _run_at_module_level(og, f"og.show_refs([list(range(7))], output=out{kw})")
    dot = ns["out"].getvalue()
    assert "list" in dot
    assert dot.count("->") >= 5  # the list's items


@pytest.mark.parametrize("kw", ["", ", filter=lambda x: True", ", refcounts=True"])
def test_show_refs_and_backrefs_of_a_temporary_dict_and_list(og, kw):
    ns = _run_at_module_level(og, f"og.show_refs({{'a': [1]}}, output=out{kw})")
    dot = ns["out"].getvalue()
    assert "dict" in dot and "list" in dot
    assert dot.count("->") >= 2  # dict -> list -> 1
    ns = _run_at_module_level(og, f"og.show_backrefs([[1, 2]], output=out{kw})")
    assert "list" in ns["out"].getvalue()


def test_show_chain_of_a_temporary_chain(og):
    ns = _run_at_module_level(
        og,
        "og.show_chain(og.find_ref_chain({'a': [Target()]}, lambda x: type(x) is Target), backrefs=False, output=out)",
    )
    assert ns["out"].getvalue().count("->") == 2


def test_show_refs_of_a_temporary_to_a_png(tmp_path, capsys):
    path = tmp_path / "too-many.png"
    _run_at_module_level(refgraph, f"og.show_refs([list(range(7))], too_many=5, filename={str(path)!r})")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert "Image generated as" in capsys.readouterr().out


def test_the_list_passing_a_temporary_is_not_drawn():
    # the objects asked about are kept, the list (and refgraph's copy of it) that passes them is not a referrer
    for kw in ("", ", filter=lambda x: True"):
        ns = _run_at_module_level(refgraph, f"og.show_backrefs([[1, 2]], output=out{kw})")
        dot = ns["out"].getvalue()
        assert len(re.findall(r"^  o[0-9a-f]+ \[", dot, re.MULTILINE)) == 1, dot
        assert "held from C" not in dot
