"""Fixtures shared by the test files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest


def _char_device(tmp_path: Path, name: str, minor: int) -> Path:
    # A private copy of the memory device (major 1), so that a regression replaces the test's own node and not the
    # machine's; without the right to make device nodes, the real one, which correct code leaves alone.
    own = tmp_path / name
    try:
        os.mknod(own, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        return Path("/dev") / name
    return own


@pytest.fixture
def full_device(tmp_path: Path) -> Path:
    """A character device on which every write fails with ENOSPC (/dev/full)."""
    return _char_device(tmp_path, "full", 7)


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A character device that discards what is written (/dev/null)."""
    return _char_device(tmp_path, "null", 3)
