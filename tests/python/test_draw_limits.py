"""Drawings of huge or dense neighbourhoods: parallel references are one edge with a count, and every drawing is
capped, so no heap can crash or stall Graphviz (issue 10, item 1). Each face is tested: the CLI on a dump, the
objgraph-compatible show_refs/show_backrefs on the live heap (whole capture and the show_backrefs fast path).

Renders that used to crash run in a child process, so a crash fails one test instead of killing the run.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import refgraph
from refgraph import _core
from test_cli import run, run_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OBJECT_NODE = re.compile(r"^  o[0-9a-f]+ \[", re.MULTILINE)
OBJECT_EDGE = re.compile(r"^  (o[0-9a-f]+) -> (o[0-9a-f]+)\b(.*)$", re.MULTILINE)


def write_dump(tmp_path: Path, nodes: list[dict]) -> Path:
    """A .rgd made by the JSONL importer from node records."""
    header = {
        "refgraph": "jsonl",
        "version": 1,
        "metadata": {
            "pid": 1,
            "host": "test",
            "python_version": "3.11.7",
            "time": 1767226200.0,
            "rss": 0,
            "tag": "limits",
            "values_included": False,
            "extra": {},
        },
    }
    jsonl = tmp_path / "heap.jsonl"
    with jsonl.open("w") as f:
        f.write(json.dumps(header) + "\n")
        for n in nodes:
            f.write(json.dumps(n, separators=(",", ":")) + "\n")
    rgd = tmp_path / "heap.rgd"
    run("import", jsonl, "-o", rgd)
    return rgd


def held_many_times(tmp_path: Path, times: int) -> Path:
    """module app -> dict -['HOLDER']-> list, which holds one Leaf `times` times (what [leaf] * times is)."""
    return write_dump(
        tmp_path,
        [
            {
                "id": 0x100,
                "type": "module",
                "size": 72,
                "root": "module",
                "label": "app",
                "refs": [{"to": 0x200, "label": "__dict__"}],
            },
            {"id": 0x200, "type": "dict", "size": 232, "refs": [{"to": 0x300, "label": "['HOLDER']"}]},
            {
                "id": 0x300,
                "type": "list",
                "size": 56 + 8 * times,
                "refs": [{"to": 0x400, "index": i} for i in range(times)],
            },
            {"id": 0x400, "type": "Leaf", "size": 48},
        ],
    )


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False, timeout=timeout
    )


# ---- the CLI ----


@pytest.mark.parametrize("command, start", [("backrefs", 0x400), ("refs", 0x300)])
@pytest.mark.parametrize("ext", ["png", "svg"])
def test_cli_draws_700000_references_between_two_objects_as_one_edge(tmp_path, command, start, ext):
    dump = held_many_times(tmp_path, 700_000)
    out = tmp_path / f"graph.{ext}"
    j = run_json(command, dump, "--id", hex(start), "-o", out)
    assert j["edges"] == (700_002 if command == "backrefs" else 700_000)
    data = out.read_bytes()
    if ext == "png":
        assert data.startswith(PNG_MAGIC)
    else:
        assert "[0..699999] x700000" in data.decode()

    dot = tmp_path / "graph.dot"
    run(command, dump, "--id", hex(start), "-o", dot)
    edges = [
        attrs for source, target, attrs in OBJECT_EDGE.findall(dot.read_text()) if (source, target) == ("o300", "o400")
    ]
    assert len(edges) == 1 and edges[0].startswith(' [label="[0..699999] x700000"')


def test_cli_caps_a_drawing_that_asks_for_no_limit(tmp_path):
    # A list of 30,000 distinct objects, drawn with no per-object and no overall limit asked for.
    n = 30_000
    dump = write_dump(
        tmp_path,
        [
            {
                "id": 0x100,
                "type": "list",
                "size": 56 + 8 * n,
                "refs": [{"to": 0x1000 + i, "index": i} for i in range(n)],
            },
            *({"id": 0x1000 + i, "type": "Leaf", "size": 48} for i in range(n)),
        ],
    )
    dot = tmp_path / "wide.dot"
    j = run_json("refs", dump, "--id", "0x100", "--too-many", "0", "--max-objects", "0", "-o", dot)
    text = dot.read_text()
    drawn = len(OBJECT_NODE.findall(text))
    assert drawn == j["nodes"] == _core.MAX_DRAWN_OBJECTS
    assert j["summarised_objects"] == n + 1 - drawn
    assert f"+{n + 1 - drawn} more Leaf" in text
    png = tmp_path / "wide.png"
    run("refs", dump, "--id", "0x100", "--too-many", "0", "--max-objects", "0", "-o", png)
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_cli_draws_a_long_list_whose_items_refer_back_to_its_head(tmp_path):
    # 1000 rows; every item's reference to the head crosses the rows above it. Graphviz crashed on 300 of those.
    n = 1000
    dump = write_dump(
        tmp_path,
        [
            {
                "id": 0x1000 + i,
                "type": "Node",
                "size": 56,
                "refs": ([{"to": 0x1000 + i + 1, "label": "next"}] if i + 1 < n else [])
                + ([{"to": 0x1000, "label": "head"}] if i > 0 else []),
            }
            for i in range(n)
        ],
    )
    png = tmp_path / "list.png"
    j = run_json("refs", dump, "--id", "0x1000", "--depth", str(n), "-o", png)
    assert j["nodes"] == n and png.read_bytes().startswith(PNG_MAGIC)
    dot = tmp_path / "list.dot"
    run("refs", dump, "--id", "0x1000", "--depth", str(n), "-o", dot)
    text = dot.read_text()
    assert text.count('"next"') == n - 1
    drawn_heads = text.count('"head"')
    assert 0 < drawn_heads < n - 1
    assert f"+{n - 1 - drawn_heads} more references not drawn" in text


# ---- the objgraph-compatible calls on the live heap ----


def test_show_refs_of_a_list_holding_one_int_800000_times_is_one_edge(tmp_path):
    # Whole capture (show_refs has no fast path). In a child: this crashed Graphviz.
    path = tmp_path / "z.png"
    p = run_python(f"""
        import refgraph
        refgraph.show_refs([[0] * 800_000], filename={str(path)!r})
    """)
    assert p.returncode == 0, p.stderr
    assert path.read_bytes().startswith(PNG_MAGIC)

    big = [0] * 800_000
    out = io.StringIO()
    refgraph.show_refs([big], output=out)
    edges = OBJECT_EDGE.findall(out.getvalue())
    assert len(edges) == 1 and edges[0][2] == ' [label="[0..799999] x800000"];'


def test_show_backrefs_of_an_object_a_list_holds_a_million_times(tmp_path):
    # show_backrefs' fast path (a plain gc-tracked object, no callables): the list is captured with its references.
    path = tmp_path / "leaf.svg"
    p = run_python(f"""
        import refgraph
        class Leaf:
            pass
        leaf = Leaf()
        holder = [leaf] * 1_000_000
        refgraph.show_backrefs([leaf], filename={str(path)!r})
    """)
    assert p.returncode == 0, p.stderr
    assert "[0..999999] x1000000" in path.read_text()


def test_show_backrefs_merges_parallel_references_through_the_whole_capture_too():
    class Leaf:
        pass

    leaf = Leaf()
    holder = [leaf] * 300_000
    out = io.StringIO()
    refgraph.show_backrefs([leaf], output=out, filter=lambda o: True)  # a filter: the whole (pinned) capture
    labels = [attrs for _, _, attrs in OBJECT_EDGE.findall(out.getvalue()) if "x300000" in attrs]
    assert labels == [' [label="[0..299999] x300000"];']
    assert holder[0] is leaf


def test_show_refs_caps_a_drawing_with_no_per_object_limit():
    wide = [object() for _ in range(20_000)]
    out = io.StringIO()
    refgraph.show_refs([wide], output=out, too_many=0, max_depth=1)
    text = out.getvalue()
    drawn = len(OBJECT_NODE.findall(text))
    assert drawn == _core.MAX_DRAWN_OBJECTS
    assert f"+{20_001 - drawn} more object" in text


def test_cli_cuts_a_megabyte_label_even_with_no_label_limit(tmp_path):
    # Without a hard cut, pango failed on such a line (errors on stderr, an empty 161-byte image).
    dump = write_dump(
        tmp_path,
        [
            {
                "id": 0x1,
                "type": "Start",
                "size": 10,
                "label": "x" * 1_000_000,
                "refs": [{"to": 0x2, "label": "y" * 1_000_000}],
            },
            {"id": 0x2, "type": "T" * 100_000, "size": 10},
        ],
    )
    png = tmp_path / "label.png"
    run("refs", dump, "--id", "0x1", "--max-label", "0", "-o", png)  # checks that stderr is empty
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 1000
    dot = tmp_path / "label.dot"
    run("refs", dump, "--id", "0x1", "--max-label", "0", "-o", dot)
    assert "x" * 497 + "..." in dot.read_text() and "x" * 498 not in dot.read_text()
