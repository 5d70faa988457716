"""Retained sizes, dominators and leak suspects: Python API and CLI, on live heaps."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
import types

import pytest
import refgraph
from test_cli import CLI, ROOT, assert_clean_failure, run, run_json


class Holder:
    __slots__ = ("payload", "extra")


def make_module(name):
    mod = types.ModuleType(name)
    sys.modules[name] = mod
    return mod


def test_retained_size_of_a_container_is_the_sum_of_what_it_alone_holds():
    # GIVEN a list that alone holds holders, each alone holding a bytearray and a tuple of fresh floats
    app = make_module("retained_app")
    try:
        app.CACHE = []
        for i in range(200):
            h = Holder()
            h.payload = bytearray(100 + i)
            h.extra = (float(i) + 0.5, float(i) + 0.25)
            app.CACHE.append(h)
        del h  # a local would share the last holder with the list
        expected = sys.getsizeof(app.CACHE) + sum(
            sys.getsizeof(h) + sys.getsizeof(h.payload) + sys.getsizeof(h.extra) + sum(map(sys.getsizeof, h.extra))
            for h in app.CACHE
        )
        # WHEN a snapshot computes retained sizes
        snap = refgraph.snapshot()
        # THEN the container retains exactly its own size and everything in it
        assert snap.retained(app.CACHE) == expected
        first = app.CACHE[0]
        assert snap.retained(first) == sys.getsizeof(first) + sys.getsizeof(first.payload) + sys.getsizeof(
            first.extra
        ) + 2 * sys.getsizeof(0.5)
        del first
        assert snap.accumulation_point(app).id == id(app.CACHE)
    finally:
        del sys.modules["retained_app"]


def test_a_shared_object_is_retained_by_neither_holder():
    app = make_module("shared_app")
    try:
        shared = bytearray(10_000)
        app.A, app.B = [shared], [shared]
        snap = refgraph.snapshot()
        assert snap.retained(app.A) == sys.getsizeof(app.A)
        assert snap.retained(app.B) == sys.getsizeof(app.B)
        del shared
    finally:
        del sys.modules["shared_app"]


def test_dominators_rows_and_type_table_with_retained_sizes():
    app = make_module("dom_app")
    try:
        app.BIG = [bytearray(1 << 20) for _ in range(64)]  # 64 MiB under one module: the biggest retainer
        snap = refgraph.snapshot()
        rows = snap.dominators(limit=5)
        assert rows[0].id == id(app) and rows[0].type == "module"
        assert rows[0].retained > 64 << 20
        assert rows == sorted(rows, key=lambda r: -r.retained)
        assert str(rows[0].chain) == "module dom_app"
        table = snap.type_table(retained=True, limit=0)
        by_type = {r.type: r for r in table}
        assert by_type["bytearray"].retained >= 64 << 20
        assert by_type["bytearray"].retained == by_type["bytearray"].size  # bytearrays hold nothing more
        assert table == sorted(table, key=lambda r: (-r.retained, -r.size, r.type))
        out = io.StringIO()
        refgraph.summary(limit=3, file=out, retained=True)
        lines = out.getvalue().splitlines()
        assert lines[0].split("|")[-1].strip() == "retained size"
        assert len(lines) == 5
    finally:
        del sys.modules["dom_app"]


def test_retained_of_an_object_not_in_the_snapshot_is_an_error():
    snap = refgraph.snapshot()
    with pytest.raises(refgraph.Error, match="not in the graph"):
        snap.retained(12345)


def test_nothing_kept_alive_by_the_analyses():
    target = [bytearray(10)]
    gc.disable()
    try:
        before = len(gc.get_referrers(target))
        snap = refgraph.snapshot()
        snap.retained(target)
        snap.dominators(limit=3)
        refgraph.leak_suspects(snap, snap, snap)
        assert len(gc.get_referrers(target)) == before
    finally:
        gc.enable()


@pytest.fixture(scope="module")
def three_dumps(tmp_path_factory):
    out = tmp_path_factory.mktemp("suspects")
    p = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "leak_suspects.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    return out, p.stdout


def test_suspects_rank_the_two_leaks_first_and_leave_the_one_off_cache_out(three_dumps):
    out, report = three_dumps
    # The Python report, from the same run
    assert report.splitlines()[0] == "1. module __main__ -> attr 'LISTENERS' (dict) -> [*] -> Listener"
    assert "2. module __main__ -> attr 'SESSIONS' (list) -> [*] -> Session" in report
    assert "LOOKUP" not in report and "Snapshot" not in report
    # The CLI on the saved dumps
    j = json.loads(run("suspects", out / "a.rgd", out / "b.rgd", out / "c.rgd", "--json").stdout)
    assert j["schema"] == "refgraph.suspects/1"
    top = j["suspects"][:2]
    assert [s["signature"] for s in top] == [
        "module __main__ -> attr 'LISTENERS' (dict) -> [*] -> Listener",
        "module __main__ -> attr 'SESSIONS' (list) -> [*] -> Session",
    ]
    assert all(s["grew"] for s in top)
    assert top[1]["objects_c"] == 2 * top[1]["objects_b"] == 1600  # 200 requests a batch, 4 objects a session
    assert top[1]["accumulation_point"]["type"] == "list"
    assert top[1]["sample_chain"].startswith("module __main__ -> attr 'SESSIONS' (list) -> [")
    assert not any("LOOKUP" in s["signature"] for s in j["suspects"])
    stable = json.loads(
        run("suspects", out / "a.rgd", out / "b.rgd", out / "c.rgd", "--all", "--top", "0", "--json").stdout
    )
    lookup = [s for s in stable["suspects"] if "LOOKUP" in s["signature"]]
    assert lookup and not any(s["grew"] for s in lookup)  # with --all the cache shows, as stable


def test_suspects_draws_the_top_chain(three_dumps, tmp_path):
    out, _ = three_dumps
    png = tmp_path / "s.png"
    p = run("suspects", out / "a.rgd", out / "b.rgd", out / "c.rgd", "-o", png)
    assert p.stdout.startswith("1. module __main__ -> attr 'LISTENERS'")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_retained_and_dominators_commands(three_dumps):
    out, _ = three_dumps
    j = json.loads(run("retained", out / "c.rgd", "--top", "3", "--json").stdout)
    assert j["schema"] == "refgraph.retained/1"
    rows = j["top_dominators"]
    assert len(rows) == 3 and rows[0]["retained_size"] >= rows[1]["retained_size"] >= rows[2]["retained_size"]
    assert j["total_size"] >= rows[0]["retained_size"]
    j = json.loads(run("retained", out / "c.rgd", "--type", "Session", "--top", "2", "--json").stdout)
    assert j["type"] == "Session" and len(j["instances"]) == 2
    assert j["type_retained_size"] >= 400 * j["instances"][0]["retained_size"] * 0.9
    main_dict = next(
        r
        for r in json.loads(run("retained", out / "c.rgd", "--top", "0", "--json").stdout)["top_dominators"]
        if r["type"] == "dict" and r["chain"] == "module __main__ -> __dict__ -> dict"
    )
    text = run("dominators", out / "c.rgd", "--id", main_dict["id"], "--children", "2", "--depth", "1").stdout
    lines = text.splitlines()
    # The module's namespace spreads over its globals; LISTENERS (800 objects) and SESSIONS lead.
    assert lines[2].startswith("  accumulates here: ")
    assert lines[3].split()[2:] == ["dict", lines[3].split()[-1]] and lines[4].split()[2] == "list"
    assert lines[5].startswith("  +") and "more (" in lines[5]
    j = json.loads(run("dominators", out / "c.rgd", "--id", lines[4].split()[-1], "--json").stdout)
    assert j["schema"] == "refgraph.dominators/1"
    assert j["chain"] == "module __main__ -> attr 'SESSIONS' -> list"
    assert j["accumulation_point"]["id"] == j["tree"]["id"]  # the list of sessions is where they accumulate
    assert len(j["tree"]["children"]) == 10 and j["tree"]["more_children"] == 390
    svg = out / "sessions.svg"
    text = run(
        "dominators", out / "c.rgd", "--id", lines[4].split()[-1], "--depth", "1", "--children", "3", "-o", svg
    ).stdout
    assert text.endswith(f"wrote {svg}\n")
    drawing = svg.read_text()
    assert drawing.count(">Session<") == 3 and "+397 more objects" in drawing and ">retains " in drawing


def test_bad_input_to_the_new_commands(three_dumps, tmp_path):
    out, _ = three_dumps
    assert_clean_failure(run("dominators", out / "c.rgd", "--id", "0x1", check=False), 1, "0x1")
    assert_clean_failure(run("retained", out / "c.rgd", "--type", "NoSuchType", check=False), 1, "NoSuchType")
    assert_clean_failure(run("suspects", out / "a.rgd", out / "b.rgd", check=False), 2)
    truncated = tmp_path / "t.rgd"
    truncated.write_bytes((out / "c.rgd").read_bytes()[:1000])
    assert_clean_failure(run("suspects", out / "a.rgd", out / "b.rgd", truncated, check=False), 1, "t.rgd")


def test_suspects_name_their_allocation_sites_while_tracemalloc_traces():
    import tracemalloc

    class Order:  # a managed __dict__ on 3.11: tracemalloc.get_object_traceback alone cannot see these
        def __init__(self, i):
            self.i = i

    app = make_module("sites_app")
    app.ORDERS = []
    tracemalloc.start(1)
    try:

        def work(n):
            for i in range(n):
                line = sys._getframe().f_lineno + 1  # the next line's: one statement a line survives formatting
                app.ORDERS.append(Order(i))
            return line

        a = refgraph.snapshot()
        line = work(100)
        b = refgraph.snapshot()
        work(100)
        c = refgraph.snapshot()
        groups = refgraph.leak_suspects(a, b, c)
        top = next(g for g in groups if g.signature == "module sites_app -> attr 'ORDERS' (list) -> [*] -> Order")
        assert top.sites[0] == (f"{__file__}:{line}", 200)
        assert f"allocated at: {__file__}:{line} (200)" in str(groups)
    finally:
        tracemalloc.stop()
        del sys.modules["sites_app"]


def test_new_objects_returns_nodes_in_one_pass():
    before = refgraph.snapshot()
    fresh = [{"n": i} for i in range(1000)]
    after = refgraph.snapshot()
    nodes = after.new_objects(before)
    by_id = {n.id: n for n in nodes}
    for d in fresh[:10]:
        assert by_id[id(d)] == refgraph.Node(id(d), "dict", sys.getsizeof(d), False, None, "")
    assert all(type(n) is refgraph.Node for n in nodes)
    del fresh


def test_summary_retained_column_matches_the_python_type_table():
    # GIVEN the sample dumps: app.cache holds, through a HistoryBuffer, a list of 70 LeakedItems (72 bytes each)
    dumps = ROOT / "samples" / "dumps"
    after, before = dumps / "after.rgd", dumps / "before.rgd"
    # WHEN summary is asked for the retained column
    j = json.loads(run("summary", after, "--retained", "--top", "0", "--json").stdout)
    # THEN every type's retained size is what the Python type table says, biggest first
    assert j["sort"] == "retained"
    rows = j["processes"][0]["types"]
    expected = {r.type: r for r in refgraph.load(str(after)).type_table(retained=True)}
    assert {r["type"]: (r["count"], r["size"], r["retained_size"]) for r in rows} == {
        t: (r.count, r.size, r.retained) for t, r in expected.items()
    }
    assert [r["retained_size"] for r in rows] == sorted((r["retained_size"] for r in rows), reverse=True)
    by_type = {r["type"]: r for r in rows}
    assert by_type["HistoryBuffer"]["retained_size"] >= 70 * 72 + by_type["HistoryBuffer"]["size"]
    assert by_type["LeakedItem"]["retained_size"] == by_type["LeakedItem"]["size"] == 70 * 72
    # the text: a retained column; --sort size keeps the size order; several dumps: the total sums them
    text = run("summary", after, "--retained", "--top", "3").stdout.splitlines()
    assert text[1].split() == ["type", "count", "size", "retained"]
    assert text[2].split()[0] == rows[0]["type"]
    j2 = json.loads(run("summary", after, "--retained", "--sort", "size", "--top", "0", "--json").stdout)
    sizes = [r["size"] for r in j2["processes"][0]["types"]]
    assert sizes == sorted(sizes, reverse=True) and "retained_size" in j2["processes"][0]["types"][0]
    j3 = json.loads(run("summary", after, before, "--retained", "--top", "0", "--json").stdout)
    total = {r["type"]: r["retained_size"] for r in j3["total"]["types"]}
    each = [{r["type"]: r["retained_size"] for r in p["types"]} for p in j3["processes"]]
    assert total == {t: each[0].get(t, 0) + each[1].get(t, 0) for t in total}
    # and without the flag, no retained column (and no dominator tree)
    assert "retained_size" not in run_json("summary", after)["processes"][0]["types"][0]


def run_with_terminal_stderr(*args, env_extra=None):
    """Runs the CLI with stderr on a pseudo-terminal (stdout a file); returns (stdout, what the terminal got)."""
    import os
    import pty
    import select
    import tempfile

    master, slave = pty.openpty()  # the slave stays open here too, so that reads never fail with EIO
    try:
        with tempfile.TemporaryFile() as stdout:
            p = subprocess.Popen(
                [CLI, *map(str, args)], stdout=stdout, stderr=slave, env=dict(os.environ, **(env_extra or {}))
            )
            seen = b""
            for _ in range(600):  # at most 60 s
                exited = p.poll() is not None
                while select.select([master], [], [], 0 if exited else 0.1)[0]:
                    seen += os.read(master, 65536)
                if exited:
                    break
            assert p.wait(timeout=1) == 0
            stdout.seek(0)
            return stdout.read().decode(), seen.decode()
    finally:
        os.close(master)
        os.close(slave)


def test_progress_line_on_a_terminal_only(three_dumps):
    out, _ = three_dumps
    now = {"REFGRAPH_PROGRESS_AFTER": "0"}  # the sample dumps are quick: show the line from the start
    stdout, terminal = run_with_terminal_stderr("retained", out / "c.rgd", "--top", "3", env_extra=now)
    assert "\r\x1b[Kretained: dominator tree 0% (" in terminal and "\x1b[Kretained: chains (" in terminal
    assert terminal.endswith("\r\x1b[K")  # erased before the result is printed
    assert stdout.startswith("heap ") and "dominator tree" not in stdout
    _, terminal = run_with_terminal_stderr("suspects", out / "a.rgd", out / "b.rgd", out / "c.rgd", env_extra=now)
    for step in ("suspects: retainers of B", "suspects: dominator tree", "suspects: groups"):
        assert step in terminal
    _, terminal = run_with_terminal_stderr("summary", out / "c.rgd", "--retained", env_extra=now)
    assert "summary: dominator tree" in terminal
    # By default a quick command shows nothing, even on a terminal.
    _, terminal = run_with_terminal_stderr("retained", out / "c.rgd", "--top", "3")
    assert terminal == ""
    # Not a terminal: no progress text at all, whatever the delay.
    import os

    p = subprocess.run(
        [CLI, "retained", str(out / "c.rgd"), "--top", "3"],
        capture_output=True,
        text=True,
        env=dict(os.environ, **now),
        timeout=60,
    )
    assert p.returncode == 0 and p.stderr == ""


def test_new_objects_while_tracing_makes_its_nodes_untraced_and_leaves_tracemalloc_working():
    import tracemalloc

    # (bytearrays and ints: tracemalloc.get_object_traceback sees objects without a gc header on 3.11)
    tracemalloc.start(5)
    try:
        before = refgraph.snapshot()
        fresh = [bytearray(100) for _ in range(2000)]
        after = refgraph.snapshot()
        traced_before, _ = tracemalloc.get_traced_memory()
        nodes = after.new_objects(before)
        # the nodes are the tool's answer, not the program's memory: tracemalloc does not count them
        assert {id(b) for b in fresh} <= {n.id for n in nodes}
        assert all(tracemalloc.get_object_traceback(n.id) is None for n in nodes[:100])
        assert tracemalloc.get_object_traceback(int("9" * 30)) is not None  # an int made by the program is traced
        assert tracemalloc.get_traced_memory()[0] - traced_before < 64 * 1024
        # the program's objects are still traced, before and after the call, and freeing the nodes is harmless
        assert tracemalloc.get_object_traceback(fresh[0]) is not None
        later = bytearray(50)
        assert tracemalloc.get_object_traceback(later) is not None
        nodes.append(later)  # a list made untraced, then grown while tracing
        del nodes
        gc.collect()
        assert abs(tracemalloc.get_traced_memory()[0] - traced_before) < 64 * 1024
        by_id = {n.id: n for n in after.new_objects(before)}
        assert by_id[id(fresh[0])] == refgraph.Node(id(fresh[0]), "bytearray", sys.getsizeof(fresh[0]), False, None, "")
    finally:
        tracemalloc.stop()
