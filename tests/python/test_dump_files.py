"""Snapshot.save() and load() at the edges: special output files and malformed dumps."""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

import refgraph

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
