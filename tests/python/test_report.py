"""The texts both faces print are core's (report.hpp, units.hpp): the Python package reads them through _core."""

import io
import json
import re
import subprocess

import pytest
import refgraph
from refgraph import _common, _core, _retained, _snapshot
from refgraph.web import _render
from test_cli import CLI


def test_sizes_read_as_the_cli_prints_them():
    assert [_common.human_size(n) for n in (0, 1023, 1024, 5040, 18088, 64 << 20)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "4.9 KiB",
        "18 KiB",
        "64 MiB",
    ]
    assert _core.human_size(74.5) == "74.5 B"  # an average per call
    assert _core.human_size(-1536) == "-1.5 KiB"
    assert _render._signed_size(1536) == "+1.5 KiB" and _render._signed_size(-72) == "-72 B"


def test_chain_report_is_the_core_chain_text():
    hops = [
        _snapshot.Hop(1, "module", "app", "__dict__"),
        _snapshot.Hop(2, "dict", "", "['CACHE']"),
        _snapshot.Hop(3, "list", "", "[3]"),
        _snapshot.Hop(4, "Session", "", ""),
    ]
    assert _snapshot.Chain(hops, "module").report() == "module app -> attr 'CACHE' (list) -> [3] -> Session"
    assert _snapshot.Chain(hops[-1:], _snapshot.UNREACHABLE).report() == ("Session (unreachable: no root reaches it)")
    assert _snapshot.Chain([], None).report() == ""


def test_suspects_report_is_the_cli_one():
    group = _retained.SuspectGroup(
        "module app -> attr 'CACHE' (list) -> [*] -> Session",
        10,
        480,
        20,
        5040,
        10,
        18088,
        [("Session", 10), ("dict", 10)],
        None,
        4,
        "module app -> attr 'CACHE' (list) -> [7] -> Session",
        [("app.py:3", 20)],
    )
    assert str(_retained.Suspects([group])) == (
        "1. module app -> attr 'CACHE' (list) -> [*] -> Session\n"
        "   10 objects (480 B) new in B, 20 (4.9 KiB) in C, growing; retains 18 KiB\n"
        "   gains per B->C: Session +10, dict +10\n"
        "   e.g. module app -> attr 'CACHE' (list) -> [7] -> Session\n"
        "   allocated at: app.py:3 (20)"
    )
    assert str(_retained.Suspects()) == "no leak suspects: no group of objects made after A survived to C and grew"


def test_metadata_is_the_json_the_cli_prints(tmp_path):
    path = tmp_path / "x.rgd"
    refgraph.snapshot(tag="report test").save(str(path))
    graph = _core.load(str(path))
    info = subprocess.run([CLI, "info", "--json", str(path)], capture_output=True, text=True, check=True)
    assert json.loads(info.stdout)["metadata"] == graph.metadata
    assert graph.metadata["tag"] == "report test"


def test_output_formats_are_the_cli_table():
    assert _common.IMAGE_FORMATS == {".dot": "dot", ".gv": "dot", ".png": "png", ".svg": "svg", ".pdf": "pdf"}
    assert _common.format_for("a/b.SVG") == "svg"
    with pytest.raises(ValueError, match=re.escape("x.jpg: unknown output format 'jpg' (expected .dot, .gv, ")):
        _common.format_for("x.jpg")


class Thing:
    pass


def test_node_attributes_go_into_the_node_statement():
    x = Thing()
    holder = [x]
    out = io.StringIO()
    refgraph.show_backrefs(
        [x], output=out, max_depth=1, extra_node_attrs=lambda o: {"URL": "u%d" % id(o), "tooltip": 'a "b" & c'}
    )
    dot = out.getvalue()
    statement = next(line for line in dot.splitlines() if line.lstrip().startswith("o%x [" % id(holder)))
    assert statement.endswith(', URL="u%d", tooltip="a \\"b\\" & c"];' % id(holder))
    assert dot.count('URL="u%d"' % id(holder)) == 1
    with pytest.raises(ValueError, match="not a DOT identifier"):
        refgraph.show_backrefs([x], output=io.StringIO(), max_depth=1, extra_node_attrs=lambda o: {"a b": "1"})
