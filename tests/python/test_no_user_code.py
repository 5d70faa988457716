"""refgraph runs none of the user's code while it looks at the heap: no `__class__` property, no metaclass
`__getattribute__`, no replaced module function. Each hostile method counts its calls; the count must stay 0.

(The objects given to a user callable such as `filter` or `predicate` are the exception, by request.)
"""

import io
import sys

import pytest
import refgraph
from refgraph import _core

CALLS = {"n": 0}


@pytest.fixture(autouse=True)
def reset_calls():
    CALLS["n"] = 0
    yield


class Disguised:
    """An object that lies about its class: `isinstance(obj, C)` reads this property when obj's type is not C."""

    @property
    def __class__(self):
        CALLS["n"] += 1
        return list


class Meta(type):
    """A metaclass whose attribute lookup is user code: `type(obj).__name__` runs it."""

    def __getattribute__(cls, name):
        CALLS["n"] += 1
        return type.__getattribute__(cls, name)


class Metaclassed(metaclass=Meta):
    pass


HELD = []  # module -> __dict__ -> HELD -> [0]: what the chain searches find


@pytest.fixture
def disguised():
    obj = Disguised()
    HELD.append(obj)
    yield obj
    HELD.clear()


def test_find_backref_chain_reads_no_class_property(disguised):
    chain = refgraph.find_backref_chain(disguised, refgraph.is_proper_module)
    assert chain[-1] is disguised and refgraph.is_proper_module(chain[0])
    assert CALLS["n"] == 0


def test_is_proper_module_reads_no_class_property(disguised):
    assert refgraph.is_proper_module(disguised) is False
    assert refgraph.is_proper_module(sys) is True
    assert CALLS["n"] == 0


def test_show_chain_reads_no_class_property(disguised):
    chain = refgraph.find_backref_chain(disguised, refgraph.is_proper_module)
    for kw in ({}, {"refcounts": True}):
        out = io.StringIO()
        refgraph.show_chain(chain, output=out, **kw)
        assert "Disguised" in out.getvalue()
    assert CALLS["n"] == 0


@pytest.mark.parametrize("extra", [{}, {"filter": id}], ids=["fast-path", "capture"])
@pytest.mark.parametrize("show", [refgraph.show_backrefs, refgraph.show_refs])
def test_show_graphs_read_no_class_property(disguised, show, extra):
    # GIVEN the object itself, not in a list: refgraph must tell whether `objs` is a list without asking it
    for objs in (disguised, [disguised], (disguised,)):
        out = io.StringIO()
        show(objs, output=out, extra_ignore=[disguised], **extra)
        assert "Disguised" in out.getvalue()
    assert CALLS["n"] == 0


def test_by_type_and_counts_run_no_metaclass_getattribute():
    objs = [Metaclassed(), Metaclassed()]
    CALLS["n"] = 0
    assert refgraph.by_type("Metaclassed") == objs
    assert refgraph.by_type(f"{__name__}.Metaclassed", objs) == objs
    assert refgraph.count("Metaclassed", objs) == 2
    assert refgraph.count(f"{__name__}.Metaclassed", objs) == 2
    assert refgraph.typestats(objs) == {"Metaclassed": 2}
    assert refgraph.typestats(objs, shortnames=False) == {f"{__name__}.Metaclassed": 2}
    assert refgraph.count("Metaclassed") == 2
    assert CALLS["n"] == 0


def test_get_new_ids_runs_no_metaclass_getattribute():
    refgraph.get_new_ids(limit=0)
    objs = [Metaclassed()]
    CALLS["n"] = 0
    new = refgraph.get_new_ids(limit=0)
    assert id(objs[0]) in new["Metaclassed"]
    refgraph.get_new_ids(limit=0, shortnames=False)
    objs.append(Metaclassed())
    new = refgraph.get_new_ids(limit=0)
    assert id(objs[1]) in new[f"{__name__}.Metaclassed"]
    refgraph.get_new_ids(limit=0, shortnames=True)
    assert CALLS["n"] == 0


def test_capture_calls_no_replaced_getallocatedblocks(monkeypatch):
    def hook():
        CALLS["n"] += 1
        raise MemoryError("a hostile hook")

    monkeypatch.setattr(sys, "getallocatedblocks", hook)
    graph = _core.capture()
    assert graph.num_nodes > 1000
    refgraph.snapshot()
    assert CALLS["n"] == 0


def test_type_names_are_objgraphs():
    nested = type("Inner", (), {"__module__": "mod", "__qualname__": "Outer.Inner"})()
    no_module = type("Loose", (), {"__module__": None})()
    objs = [1, "s", [], nested, no_module, Metaclassed()]
    assert _core.type_names(objs) == ["int", "str", "list", "Inner", "Loose", "Metaclassed"]
    assert _core.type_names(tuple(objs), qualified=True) == [
        "builtins.int",
        "builtins.str",
        "builtins.list",
        "mod.Inner",
        "Loose",
        f"{__name__}.Metaclassed",
    ]
    with pytest.raises(TypeError, match="list or a tuple"):
        _core.type_names(iter(objs))


def test_chain_report_runs_no_metaclass_getattribute():
    obj = Metaclassed()
    CALLS["n"] = 0
    report = refgraph.chain_report(obj)
    assert report.startswith("thread frame ") and report.endswith("-> f_locals['obj'] -> Metaclassed")
    # a temporary, at module level: only the call holds it
    namespace = {"refgraph": refgraph, "Metaclassed": Metaclassed}
    exec(compile("report = refgraph.chain_report(Metaclassed())", "<module-level>", "exec"), namespace)  # noqa: S102
    assert namespace["report"] == "Metaclassed (unreachable: no root reaches it)"
    assert CALLS["n"] == 0
