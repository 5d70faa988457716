"""End-to-end tests of the `refgraph` command on the committed sample dumps.

The samples come from `samples/gen_dump.py --nodes 300 --leak 40 --grow 10 --seed 1` (see samples/README.md):
a module `app.cache` holds, through ten objects, a list of LeakedItem objects: 40 in before.rgd, 70 in after.rgd.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DUMPS = ROOT / "samples" / "dumps"
BEFORE = DUMPS / "before.rgd"
AFTER = DUMPS / "after.rgd"
AFTER_JSONL = DUMPS / "after.jsonl"

# The planted leak, as generated.
BEFORE_NODES, BEFORE_EDGES = 300, 900
AFTER_NODES, AFTER_EDGES = 330, 960
LEAKED_BEFORE, LEAKED_AFTER, LEAKED_SIZE = 40, 70, 72
CHAIN_TYPES = [
    "module",
    "dict",
    "Registry",
    "dict",
    "list",
    "Handler",
    "dict",
    "Session",
    "dict",
    "HistoryBuffer",
    "list",
    "LeakedItem",
]
CHAIN_EDGES = [
    "__dict__",
    "['registry']",
    "__dict__",
    "['handlers']",
    "[0]",
    "__dict__",
    "['session']",
    "__dict__",
    "['history']",
    "_items",
]


def find_cli() -> str:
    candidates = [os.environ.get("REFGRAPH_CLI"), shutil.which("refgraph"), str(ROOT / "build" / "dev" / "refgraph")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    pytest.fail("the refgraph command was not found: set REFGRAPH_CLI, put it on PATH, or build build/dev/refgraph")


CLI = find_cli()


def run(*args: object, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"exit {p.returncode}: {p.stderr}"
        assert p.stderr == ""
    return p


def run_json(*args: object) -> dict:
    return json.loads(run(*args, "--json").stdout)


def assert_clean_failure(p: subprocess.CompletedProcess, status: int, *needles: str) -> None:
    """A failure is one line on stderr, the status asked for, and no crash."""
    assert p.returncode == status, (p.returncode, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("refgraph: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    for crash in ("Traceback", "terminate called", "Segmentation", "Aborted", "what():"):
        assert crash not in p.stderr


# ---- info ----


def test_info_text_and_json():
    out = run("info", BEFORE).stdout
    assert f"objects:        {BEFORE_NODES} (" in out
    assert f"references:     {BEFORE_EDGES} (" in out
    assert "tag:            before" in out
    assert "pid:            4242" in out

    j = run_json("info", AFTER)
    assert j["schema"] == "refgraph.info/1"
    assert (j["num_nodes"], j["num_edges"]) == (AFTER_NODES, AFTER_EDGES)
    assert j["metadata"]["tag"] == "after"
    assert j["metadata"]["pid"] == 4242
    assert j["metadata"]["values_included"] is False
    assert j["roots"]["module"] >= 1
    assert j["file_size"] == AFTER.stat().st_size


def test_info_reads_jsonl_too():
    j = run_json("info", AFTER_JSONL)
    assert (j["num_nodes"], j["num_edges"]) == (AFTER_NODES, AFTER_EDGES)


# ---- summary ----


def test_summary_counts_the_planted_objects():
    out = run("summary", AFTER, "--top", "3").stdout
    lines = out.splitlines()
    assert lines[0].startswith("== ") and "pid 4242" in lines[0] and "tag 'after'" in lines[0]
    assert f"{AFTER_NODES} objects" in lines[0]
    assert lines[1].split() == ["type", "count", "size"]
    assert lines[2].split()[:2] == ["LeakedItem", str(LEAKED_AFTER)]  # the most common type after the leak
    assert len([ln for ln in lines if ln.startswith("  ") and not ln.startswith("  ...")]) == 4  # header + 3

    j = run_json("summary", AFTER, "--top", "0")
    assert j["schema"] == "refgraph.summary/1"
    assert j["sort"] == "count"
    (p,) = j["processes"]
    assert p["objects"] == AFTER_NODES
    leaked = [t for t in p["types"] if t["type"] == "LeakedItem"]
    assert leaked == [{"type": "LeakedItem", "count": LEAKED_AFTER, "size": LEAKED_AFTER * LEAKED_SIZE}]
    assert sum(t["count"] for t in p["types"]) == AFTER_NODES
    counts = [t["count"] for t in p["types"]]
    assert counts == sorted(counts, reverse=True)


def test_summary_of_several_dumps_has_a_section_each_and_a_total():
    out = run("summary", BEFORE, AFTER, "--top", "5").stdout
    headers = [ln for ln in out.splitlines() if ln.startswith("== ")]
    assert len(headers) == 3
    assert "before.rgd" in headers[0] and "after.rgd" in headers[1]
    assert headers[2].startswith("== total over 2 dumps: 630 objects")

    j = run_json("summary", BEFORE, AFTER, "--top", "0")
    assert [p["tag"] for p in j["processes"]] == ["before", "after"]
    assert j["total"]["dumps"] == 2
    assert j["total"]["objects"] == BEFORE_NODES + AFTER_NODES
    total = {t["type"]: t for t in j["total"]["types"]}
    assert total["LeakedItem"]["count"] == LEAKED_BEFORE + LEAKED_AFTER


def test_summary_sort_by_size():
    j = run_json("summary", BEFORE, "--sort", "size", "--top", "4")
    sizes = [t["size"] for t in j["processes"][0]["types"]]
    assert len(sizes) == 4
    assert sizes == sorted(sizes, reverse=True)
    assert j["sort"] == "size"


# ---- growth ----


def test_growth_shows_the_leak():
    out = run("growth", BEFORE, AFTER).stdout
    lines = out.splitlines()
    assert lines[0] == f"growth from {BEFORE} (pid 4242, tag 'before')"
    assert lines[1] == f"         to {AFTER} (pid 4242, tag 'after')"
    rows = [ln.split() for ln in lines]
    assert rows[2] == ["type", "count", "delta", "size", "size", "delta"]
    assert rows[3] == ["LeakedItem", str(LEAKED_AFTER), "+30", "4.9", "KiB", "+2.1", "KiB"]
    assert len(rows) == 5
    assert "new objects: 30 (LeakedItem 30)" in out

    j = run_json("growth", BEFORE, AFTER)
    assert j["schema"] == "refgraph.growth/1"
    assert j["types"] == [
        {
            "type": "LeakedItem",
            "count_before": LEAKED_BEFORE,
            "count_after": LEAKED_AFTER,
            "count_delta": 30,
            "size_before": LEAKED_BEFORE * LEAKED_SIZE,
            "size_after": LEAKED_AFTER * LEAKED_SIZE,
            "size_delta": 30 * LEAKED_SIZE,
        }
    ]
    assert j["new_objects"] == 30
    assert j["new_objects_by_type"] == [{"type": "LeakedItem", "count": 30}]


def test_growth_by_size_also_sees_the_list_grow():
    j = run_json("growth", BEFORE, AFTER, "--by-size")
    by_type = {t["type"]: t for t in j["types"]}
    assert by_type["LeakedItem"]["size_delta"] == 30 * LEAKED_SIZE
    assert by_type["list"]["size_delta"] == 30 * 8  # the leaking list's item array
    assert by_type["list"]["count_delta"] == 0


def test_growth_of_a_dump_against_itself_is_empty():
    out = run("growth", AFTER, AFTER).stdout
    assert "no type grew" in out
    assert "new objects: 0" in out


# ---- chain ----


def test_chain_from_a_type_ends_at_the_module_root():
    j = run_json("chain", AFTER, "--type", "LeakedItem")
    assert j["schema"] == "refgraph.chain/1"
    assert j["found"] is True
    assert j["root_kind"] == "module"
    assert j["used_deferred"] is False
    hops = j["hops"]
    assert [h["type"] for h in hops] == CHAIN_TYPES
    assert hops[0]["label"] == "app.cache" and hops[0]["root"] == "module" and hops[0]["edge"] is None
    edges = [h["edge"] for h in hops[1:]]
    assert edges[:-1] == CHAIN_EDGES
    assert edges[-1].startswith("[") and edges[-1].endswith("]")

    out = run("chain", AFTER, "--type", "LeakedItem").stdout
    lines = out.splitlines()
    assert lines[0].startswith("module app.cache (module root) keeps LeakedItem 0x")
    assert "through 11 references" in lines[0]
    assert lines[2].split()[:4] == ["0", "module", "app.cache", "72"]
    assert lines[3].split()[:3] == ["1", "__dict__", "dict"]
    assert lines[-1].split()[2] == "LeakedItem"


def test_chain_by_id_in_hex_and_decimal():
    leaked_id = run_json("chain", AFTER, "--type", "LeakedItem")["hops"][-1]["id"]
    by_hex = run_json("chain", AFTER, "--id", hex(leaked_id))
    by_dec = run_json("chain", AFTER, "--id", str(leaked_id))
    assert by_hex["hops"] == by_dec["hops"]
    assert [h["type"] for h in by_hex["hops"]] == CHAIN_TYPES


def test_chain_to_a_type_and_to_a_label():
    j = run_json("chain", AFTER, "--type", "LeakedItem", "--to-type", "Session")
    assert [h["type"] for h in j["hops"]] == ["Session", "dict", "HistoryBuffer", "list", "LeakedItem"]
    assert j["root_kind"] is None
    j = run_json("chain", AFTER, "--type", "LeakedItem", "--to-label", "app.cache")
    assert j["hops"][0]["label"] == "app.cache"
    # A repeatable option takes one value each time: the dump after it stays the positional argument.
    j = run_json("chain", "--to-type", "Handler", "--to-type", "Session", "--type", "LeakedItem", AFTER)
    assert [h["type"] for h in j["hops"]][:1] == ["Session"]


def test_chain_forward_and_image(tmp_path):
    module_id = run_json("chain", AFTER, "--type", "LeakedItem")["hops"][0]["id"]
    j = run_json("chain", AFTER, "--id", module_id, "--forward", "--to-type", "LeakedItem")
    assert [h["type"] for h in j["hops"]] == CHAIN_TYPES
    png = tmp_path / "chain.png"
    out = run("chain", AFTER, "--type", "LeakedItem", "-o", png).stdout
    assert f"wrote {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- backrefs / refs ----


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF"), ("dot", b"digraph")])
def test_backrefs_render(tmp_path, ext, magic):
    out_file = tmp_path / f"leak.{ext}"
    j = run_json("backrefs", AFTER, "--type", "LeakedItem", "--depth", "12", "-o", out_file)
    assert j["schema"] == "refgraph.draw/1"
    data = out_file.read_bytes()
    assert len(data) > 0 and data.startswith(magic)
    assert j["bytes"] == len(data)
    assert j["format"] == ext
    assert len(j["start"]) == 1
    assert j["nodes"] >= len(CHAIN_TYPES)
    assert j["chain_edges"] == len(CHAIN_TYPES) - 1


def test_backrefs_svg_shows_the_chain(tmp_path):
    svg = tmp_path / "leak.svg"
    out = run("backrefs", AFTER, "--type", "LeakedItem", "--depth", "12", "-o", svg).stdout
    assert out.startswith(f"wrote {svg} (svg, ")
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text
    for needle in ("app.cache", "HistoryBuffer", "_items", "[module root]", "LeakedItem"):
        assert needle in text


def test_backrefs_summarises_a_crowd(tmp_path):
    # The list of 70 LeakedItems, drawn forward with at most 10 neighbours: 60 go into one summary node.
    list_id = run_json("chain", AFTER, "--type", "LeakedItem")["hops"][-2]["id"]
    dot = tmp_path / "items.dot"
    j = run_json("refs", AFTER, "--id", hex(list_id), "--depth", "1", "--too-many", "10", "-o", dot)
    assert j["direction"] == "forward"
    assert j["summaries"] == 1 and j["summarised_objects"] == 60
    assert "+60 more LeakedItem" in dot.read_text()


# ---- export / import ----


def test_export_import_round_trip(tmp_path):
    jsonl = tmp_path / "after.jsonl"
    run("export", AFTER, "--jsonl", "-o", jsonl)
    rgd = tmp_path / "again.rgd"
    out = run("import", jsonl, "-o", rgd).stdout
    assert out == f"wrote {rgd}: {AFTER_NODES} objects, {AFTER_EDGES} references\n"
    assert (
        run_json("summary", rgd, "--top", "0")["processes"][0]["types"]
        == run_json("summary", AFTER, "--top", "0")["processes"][0]["types"]
    )
    stdout_export = run("export", AFTER, "--jsonl").stdout
    assert stdout_export == jsonl.read_text()


def test_import_from_stdin(tmp_path):
    rgd = tmp_path / "piped.rgd"
    p = subprocess.run(
        [CLI, "import", "-", "-o", str(rgd)], input=AFTER_JSONL.read_text(), capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    assert run_json("info", rgd)["num_nodes"] == AFTER_NODES


# ---- bad input ----


def test_missing_file(tmp_path):
    out_file = tmp_path / "x.png"
    p = run("backrefs", tmp_path / "nope.rgd", "--type", "dict", "-o", out_file, check=False)
    assert_clean_failure(p, 1, "nope.rgd")
    assert not out_file.exists()
    assert_clean_failure(run("summary", tmp_path / "nope.rgd", check=False), 1, "refgraph: error:", "nope.rgd")


def test_corrupt_and_truncated_dumps(tmp_path):
    data = BEFORE.read_bytes()
    truncated = tmp_path / "truncated.rgd"
    truncated.write_bytes(data[: len(data) // 2])
    assert_clean_failure(run("summary", truncated, check=False), 1, "refgraph: error:", "truncated.rgd")

    corrupt = tmp_path / "corrupt.rgd"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(flipped))
    assert_clean_failure(run("info", corrupt, check=False), 1, "refgraph: error:", "corrupt.rgd")

    garbage = tmp_path / "garbage.rgd"
    garbage.write_bytes(b"\x00\xff not a dump \x01" * 100)
    assert_clean_failure(run("info", garbage, check=False), 1, "refgraph: error:", "garbage.rgd")

    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"id": 1, "type": "dict", "size": 10}\n{"id": 2, "type": \n')
    rgd = tmp_path / "out.rgd"
    assert_clean_failure(run("import", bad_jsonl, "-o", rgd, check=False), 1, "refgraph: error:", "bad.jsonl")
    assert not rgd.exists()


def test_unknown_type_suggests_similar_names(tmp_path):
    out_file = tmp_path / "x.svg"
    p = run("backrefs", AFTER, "--type", "LeakItem", "-o", out_file, check=False)
    assert_clean_failure(p, 1, "no objects of type 'LeakItem'", "similar types: LeakedItem")
    assert not out_file.exists()
    assert_clean_failure(run("chain", AFTER, "--type", "leakeditem", check=False), 1, "LeakedItem")


def test_unknown_id():
    assert_clean_failure(run("chain", AFTER, "--id", "0x10", check=False), 1, "no object with id 0x10")
    assert_clean_failure(run("chain", AFTER, "--id", "0xZZ", check=False), 1, "bad object id '0xZZ'")


def test_usage_errors_exit_2(tmp_path):
    assert_clean_failure(run("summary", AFTER, "--sort", "colour", check=False), 2, "usage error", "--sort")
    assert_clean_failure(run(check=False), 2, "usage error")
    assert_clean_failure(run("frobnicate", check=False), 2, "usage error")
    assert_clean_failure(run("chain", AFTER, check=False), 2, "--id or --type")
    assert_clean_failure(run("chain", AFTER, "--id", "1", "--type", "dict", check=False), 2, "usage error")
    assert_clean_failure(run("summary", AFTER, "--top", "many", check=False), 2, "--top")
    assert_clean_failure(run("backrefs", AFTER, "--type", "dict", check=False), 2, "--output")


def test_bad_output_format_leaves_nothing(tmp_path):
    out_file = tmp_path / "leak.gif"
    assert_clean_failure(run("backrefs", AFTER, "--type", "LeakedItem", "-o", out_file, check=False), 1, "gif")
    assert not out_file.exists()
    assert list(tmp_path.iterdir()) == []


def test_help_and_version():
    assert run("--help").stdout.startswith("refgraph: find what keeps")
    assert "--depth" in run("backrefs", "--help").stdout
    version = re.search(r'^version = "([0-9.]+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert run("--version").stdout.strip() == f"refgraph {version}"


def test_chain_of_a_root_is_the_root_alone():
    module_id = run_json("chain", AFTER, "--type", "LeakedItem")["hops"][0]["id"]
    out = run("chain", AFTER, "--id", hex(module_id)).stdout
    assert out.splitlines()[0] == f"module {hex(module_id)} is itself a root (module):"
    j = run_json("chain", AFTER, "--id", hex(module_id))
    assert [h["type"] for h in j["hops"]] == ["module"] and j["root_kind"] == "module"


def doc_examples() -> dict:
    """The complete JSON examples in docs/cli.md, by schema."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    examples = {}
    for block in text.split("```json\n")[1:]:
        body = block.split("```", 1)[0]
        if "..." not in body:
            j = json.loads(body)
            if "schema" in j:
                examples[j["schema"]] = j
    return examples


def test_docs_json_examples_are_real_output(tmp_path):
    examples = doc_examples()

    def here(*args: str) -> dict:
        p = subprocess.run([CLI, *args, "--json"], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    # Run from the repository root with relative paths: these examples are exact.
    assert here("info", "samples/dumps/after.rgd") == examples["refgraph.info/1"]
    assert here("summary", "samples/dumps/before.rgd", "--top", "2") == examples["refgraph.summary/1"]
    assert here("growth", "samples/dumps/before.rgd", "samples/dumps/after.rgd") == examples["refgraph.growth/1"]
    # These name output files: same fields.
    draw = here(
        "backrefs", "samples/dumps/after.rgd", "--type", "LeakedItem", "--depth", "12", "-o", str(tmp_path / "leak.png")
    )
    assert list(draw) == list(examples["refgraph.draw/1"])
    assert draw["nodes"] == examples["refgraph.draw/1"]["nodes"]
    imported = here("import", "samples/dumps/after.jsonl", "-o", str(tmp_path / "after.rgd"))
    assert list(imported) == list(examples["refgraph.import/1"])


# ---- one short name, two types ----

TWO_REQUESTS = """
import sys, types, refgraph
for name, n in (("werkzeug_like.wrappers.request", 30), ("gunicorn_like.http.message", 20)):
    module = types.ModuleType(name)
    exec("class Request:\\n    pass\\n", module.__dict__)
    sys.modules[name] = module
    module.HELD = [module.Request() for _ in range(n)]
refgraph.snapshot().save(sys.argv[1])
"""


def test_types_that_share_a_short_name_are_told_apart(tmp_path):
    import sys

    dump = tmp_path / "requests.rgd"
    subprocess.run([sys.executable, "-c", TWO_REQUESTS, str(dump)], check=True, timeout=120)
    (p,) = run_json("summary", dump, "--top", "0")["processes"]
    counts = {t["type"]: t["count"] for t in p["types"] if t["type"].startswith("Request")}
    assert counts == {"Request (werkzeug_like.wrappers.request)": 30, "Request (gunicorn_like.http.message)": 20}
    # --type takes the qualified name (one type) or the short one (both)
    out = run("chain", dump, "--type", "gunicorn_like.http.message.Request").stdout
    assert "(the nearest of 20)" in out and "['HELD']" in out and "gunicorn_like.http.message" in out
    out = run("chain", dump, "--type", "Request").stdout
    assert "(the nearest of 50)" in out
    assert_clean_failure(run("chain", dump, "--type", "elsewhere.Request", check=False), 1, "no objects of type")


# ---- output files that are not regular files ----


def read_fifo_in_background(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []
    # A daemon: a regression that replaces the FIFO leaves the reader blocked in open() for good.
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    return reader, got


def test_a_write_error_on_a_device_fails_and_keeps_the_device(tmp_path, full_device):
    # GIVEN a device on which every write fails (ENOSPC)
    for args in (
        ["export", AFTER, "--jsonl"],
        ["import", AFTER_JSONL],
        ["backrefs", AFTER, "--type", "LeakedItem", "--format", "dot"],
    ):
        # WHEN a command writes its output there
        p = run(*args, "-o", full_device, check=False)
        # THEN it fails with the reason, and the device is still a device
        assert_clean_failure(p, 1, f"{full_device}: write failed: No space left on device")
        assert stat.S_ISCHR(os.lstat(full_device).st_mode)
    assert sorted(tmp_path.iterdir()) == ([full_device] if full_device.parent == tmp_path else [])


def test_writing_to_a_null_device_succeeds_and_keeps_it(null_device):
    run("export", AFTER, "--jsonl", "-o", null_device)
    run("import", AFTER_JSONL, "-o", null_device)
    assert stat.S_ISCHR(os.lstat(null_device).st_mode)


def test_dev_stdout_and_dash_stream(tmp_path):
    jsonl = tmp_path / "after.jsonl"
    run("export", AFTER, "--jsonl", "-o", jsonl)
    assert run("export", AFTER, "--jsonl", "-o", "/dev/stdout").stdout == jsonl.read_text()
    assert run("export", AFTER, "--jsonl", "-o", "-").stdout == jsonl.read_text()

    rgd = tmp_path / "after.rgd"
    run("import", AFTER_JSONL, "-o", rgd)
    p = subprocess.run([CLI, "import", str(AFTER_JSONL), "-o", "-"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == rgd.read_bytes()  # the summary line went to stderr, not into the dump
    assert p.stderr.decode() == f"wrote -: {AFTER_NODES} objects, {AFTER_EDGES} references\n"

    p = subprocess.run(
        [CLI, "backrefs", str(AFTER), "--type", "Registry", "--format", "dot", "-o", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("digraph") and p.stdout.rstrip().endswith("}")
    assert p.stderr.startswith("wrote -")
    assert_clean_failure(run("import", AFTER_JSONL, "-o", "-", "--json", check=False), 1, "standard output")


def test_a_fifo_is_written_as_a_stream(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader, got = read_fifo_in_background(fifo)
    run("export", AFTER, "--jsonl", "-o", fifo)
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got == [run("export", AFTER, "--jsonl").stdout.encode()]


def test_a_symlink_is_followed_and_kept(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.jsonl"
    target.write_text("old")
    link = tmp_path / "out.jsonl"
    link.symlink_to("real/out.jsonl")
    run("export", AFTER, "--jsonl", "-o", link)
    assert link.is_symlink()
    assert target.read_text() == run("export", AFTER, "--jsonl").stdout
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["out.jsonl"]


def test_a_directory_is_not_written_over(tmp_path):
    assert_clean_failure(
        run("export", AFTER, "--jsonl", "-o", tmp_path, check=False), 1, f"{tmp_path}: cannot write: is a directory"
    )
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []
