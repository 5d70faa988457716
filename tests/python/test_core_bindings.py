"""refgraph._core bindings over a small hand-built graph (JSON Lines): every Graph method of the contract."""

import json

import pytest
from refgraph import _core

# app (module root) -> __dict__ -> ['USERS'] list -> [1] User; a garbage cycle 5 <-> 6; 7 is referenced by nothing.
NODES = [
    {"id": 1, "type": "module", "size": 72, "root": "module", "label": "app", "refs": [{"to": 2, "label": "__dict__"}]},
    {"id": 2, "type": "dict", "size": 232, "refs": [{"to": 3, "label": "['USERS']"}]},
    {"id": 3, "type": "list", "size": 72, "refs": [{"to": 8, "label": "[0]"}, {"to": 4, "label": "[1]"}]},
    {"id": 4, "type": "User", "size": 48, "refs": [{"to": 9, "label": "name", "weak": True}]},
    {"id": 5, "type": "Node", "size": 48, "refs": [{"to": 6, "label": "next"}]},
    {"id": 6, "type": "Node", "size": 48, "refs": [{"to": 5, "label": "next"}]},
    {"id": 7, "type": "str", "size": 50, "gc": False},
    {"id": 8, "type": "User", "size": 48},
    {"id": 9, "type": "str", "size": 60, "gc": False},
]


@pytest.fixture
def graph(tmp_path):
    path = tmp_path / "small.jsonl"
    with open(path, "w") as f:
        f.write(json.dumps({"refgraph": "jsonl", "version": 1, "metadata": {"pid": 42, "tag": "small"}}) + "\n")
        for n in NODES:
            f.write(json.dumps(n) + "\n")
    return _core.load(str(path))


def test_sizes_and_metadata(graph):
    assert (graph.num_nodes, graph.num_edges) == (9, 7)
    assert len(graph) == 9
    assert graph.metadata["pid"] == 42 and graph.metadata["tag"] == "small"


def test_find_and_node(graph):
    assert graph.find(4) == 3  # nodes are sorted by id
    assert graph.find(12345) == -1
    assert graph.node(0) == {"id": 1, "type": "module", "size": 72, "gc": True, "root": "module", "label": "app"}
    assert graph.node(6)["gc"] is False and graph.node(6)["root"] is None
    with pytest.raises(IndexError):
        graph.node(9)
    with pytest.raises(IndexError):
        graph.node(-1)


def test_edges(graph):
    assert graph.out_edges(graph.find(3)) == [(8, "[0]", False, False), (4, "[1]", False, False)]
    assert graph.in_edges(graph.find(9)) == [(4, "name", True, False)]


def test_ids_of_type_and_type_stats(graph):
    assert graph.ids_of_type("User") == [4, 8]
    assert graph.ids_of_type("Nope") == []
    # count descending, then size descending, then name
    assert graph.type_stats() == [
        ("str", 2, 110),
        ("Node", 2, 96),
        ("User", 2, 96),
        ("dict", 1, 232),
        ("list", 1, 72),
        ("module", 1, 72),
    ]
    assert graph.type_stats(sort="size", top=2) == [("dict", 1, 232), ("str", 2, 110)]
    assert ("str", 2, 110) not in graph.type_stats(gc_only=True)
    with pytest.raises(_core.QueryError):
        graph.type_stats(sort="colour")


def test_backref_chain_labels_and_root_kind(graph):
    chain = graph.backref_chain([4])
    assert chain == [(1, "module", "__dict__"), (2, "dict", "['USERS']"), (3, "list", "[1]"), (4, "User", "")]
    assert graph.chain_root_kind([h[0] for h in chain]) == "module"
    assert graph.chain_root_kind([3, 4]) is None
    assert graph.backref_chain([5]) is None  # garbage: no root reaches it
    assert graph.backref_chain([4], types=["dict"]) == [(2, "dict", "['USERS']"), (3, "list", "[1]"), (4, "User", "")]
    assert graph.backref_chain([4], max_depth=1) is None
    with pytest.raises(_core.QueryError):
        graph.backref_chain([999])


def test_chain_with_python_predicate(graph):
    seen = []

    def is_list(index):
        seen.append(index)
        return graph.node(index)["type"] == "list"

    assert graph.backref_chain([4], predicate=is_list) == [(3, "list", "[1]"), (4, "User", "")]
    assert seen  # the predicate was called with node indices
    assert graph.ref_chain([1], predicate=lambda i: graph.node(i)["type"] == "User") == [
        (1, "module", "__dict__"),
        (2, "dict", "['USERS']"),
        (3, "list", "[0]"),
        (8, "User", ""),
    ]
    assert graph.ref_chain([1], predicate=lambda i: graph.node(i)["type"] == "User", ignore_ids=[8]) == [
        (1, "module", "__dict__"),
        (2, "dict", "['USERS']"),
        (3, "list", "[1]"),
        (4, "User", ""),
    ]


def test_predicate_exception_propagates(graph):
    def boom(index):
        raise ValueError("from the predicate")

    with pytest.raises(ValueError, match="from the predicate"):
        graph.backref_chain([4], predicate=boom)


def test_leaking_and_unreachable(graph):
    assert graph.leaking_ids() == [7, 9]  # a weak edge does not count as a referrer
    assert graph.unreachable_ids() == [5, 6, 7, 9]  # 9 is held only through a weak edge


def test_growth_and_new_ids(graph, tmp_path):
    path = tmp_path / "older.jsonl"
    with open(path, "w") as f:
        for n in NODES[:4]:
            f.write(json.dumps({**n, "refs": [r for r in n["refs"] if r["to"] <= 4]} if "refs" in n else n) + "\n")
    older = _core.load(str(path))
    assert graph.new_ids(older) == [5, 6, 7, 8, 9]
    grown = graph.growth(older)
    assert ("User", 2, 1, 96, 48) in grown
    assert ("Node", 2, 2, 96, 96) in grown
    assert all(t[2] > 0 for t in grown)
    assert graph.growth(graph) == []


def test_dot_outputs(graph):
    dot = graph.neighbourhood_dot([4], direction="back", max_depth=5, title="who holds User")
    assert dot.startswith("digraph") and "who holds User" in dot
    assert "USERS" in dot
    dot = graph.chain_dot([1, 2, 3, 4], title="chain")
    assert "digraph" in dot and "[1]" in dot
    with pytest.raises(_core.QueryError):
        graph.chain_dot([1, 3])  # no edge from 1 to 3
    with pytest.raises(_core.QueryError):
        graph.neighbourhood_dot([4], direction="sideways")
    calls = []
    dot = graph.neighbourhood_dot([4], filter=lambda i: calls.append(i) or True, extra_info=lambda i: "info%d" % i)
    assert calls and "info" in dot


def test_save_and_load_round_trip(graph, tmp_path):
    rgd = tmp_path / "copy.rgd"
    graph.save(str(rgd))
    again = _core.load(str(rgd))
    assert again.num_nodes == graph.num_nodes and again.num_edges == graph.num_edges
    assert again.backref_chain([4]) == graph.backref_chain([4])
    jsonl = tmp_path / "copy.jsonl"
    graph.save_jsonl(str(jsonl))
    assert _core.load(str(jsonl)).type_stats() == graph.type_stats()


def test_load_errors(tmp_path):
    with pytest.raises(_core.Error):
        _core.load(str(tmp_path / "missing.rgd"))
    bad = tmp_path / "bad.rgd"
    bad.write_bytes(b"RGD\x00 not really a dump")
    with pytest.raises(_core.Error):
        _core.load(str(bad))
    assert issubclass(_core.DumpFormatError, _core.Error) and issubclass(_core.Error, Exception)
    assert issubclass(_core.QueryError, _core.Error) and issubclass(_core.RenderError, _core.Error)


def test_render(graph, tmp_path):
    dot = graph.chain_dot([1, 2, 3, 4])
    assert _core.render(dot, "dot").startswith(b"digraph")
    assert _core.render(dot, "png").startswith(b"\x89PNG")
    assert b"<svg" in _core.render(dot, "svg")
    assert _core.render(dot, "pdf").startswith(b"%PDF")
    out = tmp_path / "chain.svg"
    _core.render_to_file(dot, str(out))
    assert b"<svg" in out.read_bytes()
    out_png = tmp_path / "chain.img"
    _core.render_to_file(dot, str(out_png), "png")
    assert out_png.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(_core.QueryError):
        _core.render(dot, "gif")
    with pytest.raises(_core.RenderError):
        _core.render("digraph { this is not dot", "png")


def test_gc_lists_read_in_place_match_gc_get_objects():
    import gc

    from refgraph import _core

    gc.collect()
    keep = [[i] for i in range(1000)]
    n = _core._gc_tracked_count()
    objects = gc.get_objects()
    # gc.get_objects() leaves out itself and the permanent generation (gc.freeze()); the in-place walk counts both
    # lists but not the result list, which did not exist yet.
    expected = len(objects) + gc.get_freeze_count()
    del objects
    assert n == expected
    assert len(keep) == 1000


def _fresh_python(code, timeout=60):
    """Runs code in a new interpreter that imports this refgraph; returns its stdout."""
    import os
    import subprocess
    import sys

    import refgraph

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.path.dirname(os.path.dirname(refgraph.__file__)), env.get("PYTHONPATH")) if p
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


PREWARM_DOT = 'digraph { a [shape=box, label="list\\\\n88 B"]; b [label="caf\\u00e9"]; a -> b [label="[0]"]; }'


def test_prewarm_leaves_the_first_render_unchanged():
    # In fresh processes, where the warm-up really runs: the first SVG after prewarm() equals one without it.
    code = (
        "import hashlib, refgraph._core as c\n{warm}svg = c.render({dot!r}, 'svg')\n"
        "assert b'<svg' in svg\nprint(hashlib.sha256(svg).hexdigest())"
    )
    plain = _fresh_python(code.format(warm="", dot=PREWARM_DOT))
    warmed = _fresh_python(code.format(warm="c.prewarm('svg'); c.prewarm('svg'); c.prewarm('dot')\n", dot=PREWARM_DOT))
    assert plain.strip() and plain == warmed
    with pytest.raises(_core.QueryError):
        _core.prewarm("gif")


# Forks a child that renders a PNG and reports over a pipe: 'ok', 'bad', or 'hung' when it has not answered
# within 30 s (it would wait forever on a renderer lock inherited locked from a thread it does not have).
FORK_CHILD_RENDERS = f"""
import os, select
def fork_child_renders(c):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        png = c.render({PREWARM_DOT!r}, 'png')
        os.write(w, b'ok' if png.startswith(b'\\x89PNG') else b'bad')
        os._exit(0)
    ready, _, _ = select.select([r], [], [], 30)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    return os.read(r, 8).decode() if ready else 'hung'
"""


def test_fork_right_after_prewarm_leaves_the_child_able_to_render():
    # The fork waits for the warm-up thread, which holds the renderer's lock.
    code = (
        FORK_CHILD_RENDERS
        + """
import time, refgraph._core as c
c.prewarm('png')
time.sleep(0.005)  # the warm-up is under way, its lock held
print(fork_child_renders(c))
"""
    )
    assert _fresh_python(code).strip() == "ok"


def test_fork_while_another_thread_renders_leaves_the_child_able_to_render():
    # A thread renders in a loop with the GIL released; forks land mid-render. Each child must render too.
    code = (
        FORK_CHILD_RENDERS
        + """
import threading, refgraph._core as c
big = 'digraph { ' + ' '.join('n%d -> n%d [label="x"];' % (i, i + 1) for i in range(40)) + ' }'
stop = False
def loop():
    while not stop:
        c.render(big, 'png')
t = threading.Thread(target=loop)
t.start()
results = []
while len(results) < 5 and 'hung' not in results:
    results.append(fork_child_renders(c))
stop = True
t.join()
print(' '.join(results))
"""
    )
    assert _fresh_python(code, timeout=200).split() == ["ok"] * 5
