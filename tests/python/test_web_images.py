"""show_backrefs, show_refs and show_chain write images to binary file objects: no temporary file needed."""

from __future__ import annotations

import io
import os

import pytest
import refgraph


class Leaf:
    pass


TREE = {"branch": [Leaf()]}


@pytest.mark.parametrize(
    "fmt, magic",
    [(None, b"\x89PNG\r\n\x1a\n"), ("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF"), ("dot", b"digraph")],
)
def test_show_backrefs_to_bytesio(fmt, magic, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    out = io.BytesIO()
    refgraph.show_backrefs([TREE["branch"][0]], output=out, format=fmt)
    assert out.getvalue().startswith(magic)
    assert os.listdir(tmp_path) == []  # drawn in memory


def test_show_refs_and_show_chain_to_binary_files(tmp_path):
    out = io.BytesIO()
    refgraph.show_refs([TREE], output=out, format="svg")
    assert b"<svg" in out.getvalue() and b"Leaf" in out.getvalue()
    chain = refgraph.find_backref_chain(TREE["branch"][0], refgraph.is_proper_module)
    out = io.BytesIO()
    refgraph.show_chain(chain, output=out)
    assert out.getvalue().startswith(b"\x89PNG")
    with open(tmp_path / "chain.svg", "wb") as f:
        refgraph.show_chain(chain, output=f, format="svg")
    assert b"<svg" in (tmp_path / "chain.svg").read_bytes()


def test_text_output_still_gets_dot():
    out = io.StringIO()
    refgraph.show_backrefs([TREE["branch"][0]], output=out)
    assert out.getvalue().startswith("digraph")


def test_bad_format_choices_fail_before_anything_is_drawn(tmp_path):
    with pytest.raises(ValueError, match="binary file object"):
        refgraph.show_backrefs([TREE], output=io.StringIO(), format="png")
    with pytest.raises(ValueError, match="format: expected one of"):
        refgraph.show_backrefs([TREE], output=io.BytesIO(), format="gif")
    with pytest.raises(ValueError, match="does not match the extension"):
        refgraph.show_refs([TREE], filename=str(tmp_path / "x.png"), format="svg")
    assert os.listdir(tmp_path) == []
