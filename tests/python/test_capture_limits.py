"""The capture's 32-bit indices: past a limit it fails with an error naming it, before any index wraps.

The real limits (2^32 - 2 objects, 2^32 - 1 references, 2^31 label strings) need a heap of hundreds of GiB, so the
tests lower them through the test-only hook _core._testing and check the same code path on a small heap.
"""

import gc
import re
import sys

import pytest
import refgraph
from refgraph import _core

testing = _core._testing


@pytest.fixture
def limits():
    saved = testing.capture_limits()
    yield testing.set_capture_limits
    testing.set_capture_limits(*saved)


def test_the_default_limits_are_what_32_bit_indices_hold():
    assert testing.capture_limits() == (2**32 - 2, 2**32 - 1, 2**31)


def test_the_hook_only_lowers_the_limits(limits):
    limits(2**40, 2**40, 2**40)
    assert testing.capture_limits() == (2**32 - 2, 2**32 - 1, 2**31)


@pytest.mark.parametrize(
    ("which", "message"),
    [
        (0, "more than 1000 objects, the most one capture can index (32-bit node indices)"),
        (1, "more than 1000 references, the most one capture can index (32-bit edge indices)"),
        (2, "more than 50 distinct label strings, the most one capture can index (31-bit string ids"),
    ],
)
def test_past_a_limit_the_capture_fails_naming_it_and_leaves_the_heap_as_it_was(limits, which, message):
    default = testing.capture_limits()
    lowered = list(default)
    lowered[which] = 50 if which == 2 else 1000
    held = [object() for _ in range(10)]
    item = held[3]
    before = sys.getrefcount(item)
    gc_enabled = gc.isenabled()
    limits(*lowered)
    for call in (_core.capture, _core.pin_heap, refgraph.snapshot):
        with pytest.raises(_core.Error, match=re.escape(message)):
            call()
    limits(*default)
    assert sys.getrefcount(item) == before  # no reference kept
    assert gc.isenabled() == gc_enabled
    gc.collect()  # the gc's links were put back: a collection walks them
    g = _core.capture()
    assert g.find(id(held)) >= 0 and g.num_nodes > 1000


def test_a_heap_just_within_the_limits_is_captured(limits):
    g = _core.capture()
    headroom = 100_000  # the test's own allocations between the two captures
    limits(g.num_nodes + headroom, g.num_edges + headroom, 2**31)
    assert _core.capture().num_nodes > g.num_nodes - headroom


@pytest.mark.parametrize(
    ("which", "message"),
    [
        (0, "more than 1000 gc-tracked objects, the most it can index (32-bit indices)"),
        (1, "more than 1000 references between them, the most it can index (32-bit indices)"),
    ],
)
def test_the_garbage_search_fails_the_same_way(limits, which, message):
    default = testing.capture_limits()
    assert _core.count_types(find_garbage=True) is not None  # this build reads the gc lists in place
    lowered = list(default)
    lowered[which] = 1000
    limits(*lowered)
    assert _core.count_types() is not None  # a count without the search indexes nothing
    with pytest.raises(_core.Error, match=re.escape("garbage search: the heap has " + message)):
        _core.count_types(find_garbage=True)
    limits(*default)
    gc.collect()  # the gc's links were put back
    counts, garbage = _core.count_types(find_garbage=True)
    assert counts["list"][0] > 0 and garbage >= 0
