"""Snapshot.save() and load() at the edges: special output files and malformed dumps."""

from __future__ import annotations

import os
import resource
import stat
import struct
import subprocess
import threading
from pathlib import Path

import pytest
import refgraph
import xxhash
import zstandard
from test_cli import CLI

ROOT = Path(__file__).resolve().parents[2]
AFTER = ROOT / "samples" / "dumps" / "after.rgd"


@pytest.fixture(scope="module")
def small():
    return refgraph.load(AFTER)


# ---- Snapshot.save() to files that are not regular files ----


@pytest.mark.parametrize("name", ["heap.rgd", "heap.jsonl"])
def test_save_to_a_full_device_raises_and_keeps_the_device(small, full_device, name):
    target = full_device.parent / name
    target.symlink_to(full_device)  # the extension picks the format; the link leads to the device
    with pytest.raises(refgraph.Error, match=f"{target}: write failed: No space left on device"):
        small.save(target)
    assert stat.S_ISCHR(os.lstat(full_device).st_mode)
    assert target.is_symlink()


def test_save_to_a_fifo_streams(small, tmp_path):
    fifo = tmp_path / "heap.rgd"
    os.mkfifo(fifo)
    got: list[bytes] = []
    # A daemon: a regression that replaces the FIFO leaves the reader blocked in open() for good.
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    small.save(fifo)
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    copy = tmp_path / "copy.rgd"
    copy.write_bytes(got[0])
    assert refgraph.load(copy).typestats() == small.typestats()


def test_save_through_a_symlink_replaces_its_target(small, tmp_path):
    target = tmp_path / "target.rgd"
    target.write_bytes(b"old")
    link = tmp_path / "link.rgd"
    link.symlink_to(target)
    small.save(link)
    assert link.is_symlink()
    assert refgraph.load(target).typestats() == small.typestats()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.rgd", "target.rgd"]


# ---- dumps that are wrong in ways a checksum cannot see ----


def _section(kind: int, count: int, first: int, raw: bytes) -> bytes:
    packed = zstandard.ZstdCompressor().compress(raw)
    header = struct.pack("<IIQQQQ", kind, count, first, len(raw), len(packed), xxhash.xxh64_intdigest(packed))
    return header + struct.pack("<Q", xxhash.xxh64_intdigest(header)) + packed


def _varints(*values: int) -> bytes:
    out = bytearray()
    for v in values:
        while v >= 0x80:
            out.append(v & 0x7F | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def _one_node_dump(type_name: bytes) -> bytes:
    """A .rgd (docs/dump-format.md) of one object of type `type_name`: checksums right whatever the name is."""
    strings = _varints(len(type_name)) + type_name
    node = _varints(0x1000, 1, 16, 0, 0) + b"\x01"  # id, type string 1, size, no label, no refs; gc-tracked
    return (
        b"\x89RGD\r\n\x1a\n"
        + struct.pack("<I", 1)
        + _section(1, 0, 0, struct.pack("<QQQ", 2, 1, 0) + b"{}")
        + _section(2, 1, 1, strings)
        + _section(3, 1, 0, node)
        + _section(5, 0, 0, struct.pack("<QQQQ", 2, 1, 0, 3))
    )


def test_a_type_name_that_is_not_utf8_is_rejected_at_load(tmp_path):
    good = tmp_path / "good.rgd"
    good.write_bytes(_one_node_dump("Caf\u00e9".encode()))
    assert refgraph.load(good).typestats() == {"Café": 1}  # the hand-made file is right but for the name

    bad = tmp_path / "bad.rgd"
    bad.write_bytes(_one_node_dump(b"Caf\xe9"))
    strings_at = 12 + 48 + len(zstandard.ZstdCompressor().compress(struct.pack("<QQQ", 2, 1, 0) + b"{}"))
    message = (
        f"{bad}: strings section at byte {strings_at}: string 1 is not valid UTF-8 (at byte 4 of the "
        "uncompressed payload)"
    )
    with pytest.raises(refgraph.DumpFormatError) as e:
        refgraph.load(bad)
    assert str(e.value) == message


def test_the_cli_names_the_bad_string_too(tmp_path):
    bad = tmp_path / "bad.rgd"
    bad.write_bytes(_one_node_dump(b"\xed\xa0\x80"))  # an encoded surrogate: Python's decoder refuses it
    p = subprocess.run([CLI, "summary", str(bad)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "string 1 is not valid UTF-8" in p.stderr


def test_importing_an_empty_jsonl_is_rejected(tmp_path):
    for text in ("", "\n\n  \n"):
        empty = tmp_path / "empty.jsonl"
        empty.write_text(text)
        out = tmp_path / "out.rgd"
        p = subprocess.run([CLI, "import", str(empty), "-o", str(out)], capture_output=True, text=True, timeout=60)
        assert p.returncode == 1
        assert p.stderr == f"refgraph: error: {empty}: empty file (no header line and no objects)\n"
        assert not out.exists()
        with pytest.raises(refgraph.DumpFormatError, match="empty file"):
            refgraph.load(empty)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": 1, "type": "int", "size": 28, "id": 2}', "line 1: duplicate key 'id'"),
        ('{"id": 1, "type": "int", "size": 28}\0{"id": 2}', "line 1: NUL byte at column 37"),
    ],
)
def test_jsonl_lines_that_the_json_parser_would_misread_are_rejected(tmp_path, line, message):
    f = tmp_path / "x.jsonl"
    f.write_text(line + "\n")
    with pytest.raises(refgraph.DumpFormatError) as e:
        refgraph.load(f)
    assert str(e.value) == f"{f}: {message}"


def test_out_of_memory_says_so(tmp_path):
    # GIVEN a JSON Lines line longer than the memory the command may use
    out = tmp_path / "out.rgd"
    if b"__asan_init" in Path(CLI).read_bytes():
        pytest.skip(
            "ASan's operator new aborts instead of throwing std::bad_alloc, even with "
            "allocator_may_return_null=1 (google/sanitizers#295)"
        )

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))

    with subprocess.Popen(
        [CLI, "import", "-", "-o", str(out)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        preexec_fn=limit_memory,
    ) as p:
        chunk = b"a" * (1 << 20)
        try:
            for _ in range(400):
                p.stdin.write(chunk)
            p.stdin.close()
        except BrokenPipeError:
            pass  # it gave up reading: what it says is the test
        # WHEN it runs out THEN it says so, rather than blaming the input
        assert p.wait(timeout=60) == 1
        assert p.stderr.read().decode() == "refgraph: error: out of memory\n"
    assert not out.exists()
