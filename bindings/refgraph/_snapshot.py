"""refgraph's own API: snapshots of the whole heap, their differences, chains that read like Python, summaries."""

from __future__ import annotations

import os
import tracemalloc
from typing import NamedTuple

from . import _common, _core, _retained

__all__ = ["Snapshot", "Chain", "Hop", "Node", "TypeRow", "GrowthRow", "snapshot", "load", "summary", "chain_report"]


class Node(NamedTuple):
    """One captured object: its id, type name, shallow size in bytes (as ``sys.getsizeof``), whether the garbage
    collector tracks it, its root kind (``'module'``, ``'thread frame'``, ``'external'``, or None) and its label
    (a module's name, a function's qualname, a frame's ``file:line in func``)."""

    id: int
    type: str
    size: int
    gc: bool
    root: str | None
    label: str


class TypeRow(NamedTuple):
    """How many objects of one type, and their total shallow size in bytes."""

    type: str
    count: int
    size: int


class GrowthRow(NamedTuple):
    """What one type looks like in the newer snapshot, and how much it grew since the older one."""

    type: str
    count: int
    count_delta: int
    size: int
    size_delta: int


class Hop(NamedTuple):
    """One object on a chain: ``edge`` is the label of its reference to the next hop ('' for the last)."""

    id: int
    type: str
    label: str
    edge: str


UNREACHABLE = "unreachable"  # root kind of an object no root reaches: cyclic garbage not yet collected


class Chain:
    """The shortest chain of references from a root to an object, in reference order (root first).

    ``hops`` is a list of :class:`Hop`; ``root_kind`` is ``'module'``, ``'thread frame'``, ``'external'`` (held
    from C), ``'unreachable'`` (cyclic garbage: no root reaches the object) or None (not in the snapshot).
    ``str(chain)`` is the one-line report of :func:`chain_report`.
    """

    __slots__ = ("hops", "root_kind", "_sites")

    def __init__(self, hops, root_kind, sites=None):
        self.hops = hops
        self.root_kind = root_kind
        self._sites = sites

    @property
    def found(self):
        """True if the chain reaches a root."""
        return self.root_kind not in (None, UNREACHABLE)

    @property
    def ids(self):
        return [hop.id for hop in self.hops]

    def __len__(self):
        return len(self.hops)

    def __iter__(self):
        return iter(self.hops)

    def __repr__(self):
        return f"<refgraph.Chain {self.root_kind or 'not found'}: {self.report()}>"

    def __str__(self):
        return self.report()

    def report(self):
        """The chain as text: ``module app.cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> User``."""
        steps = _steps(self.hops, self.root_kind)
        if self._sites is None:
            return " -> ".join(text for text, _ in steps)
        width = max(len(text) for text, _ in steps) + 3
        lines = []
        for k, (text, hop_index) in enumerate(steps):
            line = ("    -> " if k else "") + text
            site = self._sites.get(hop_index)
            lines.append(f"{line:<{width + 7}} allocated at {site}" if site else line)
        return "\n".join(lines)


def _describe(hop):
    return f"{hop.type} {hop.label}" if hop.label else hop.type


def _steps(hops, root_kind):
    """[(text, index of the hop the text ends at)], the root first: the core's chain text (report.hpp), which the
    CLI prints too."""
    return _core.chain_steps([(h.type, h.label, h.edge) for h in hops], root_kind)


class Snapshot:
    """A capture of the whole heap: every object, its type, size and references, and the roots.

    A snapshot holds no reference to any object of the program: it is plain data (ids, type names, sizes, labelled
    edges) in C++, so keeping one never keeps anything alive. ``graph`` is the native ``refgraph._core.Graph``.

    >>> s = snapshot()
    >>> s.typestats()['str'] > 0
    True
    """

    __slots__ = ("graph", "_dominators")

    def __init__(self, graph):
        self.graph = graph
        self._dominators = None

    def __len__(self):
        return self.graph.num_nodes

    def __repr__(self):
        return f"<refgraph.Snapshot {self.graph.num_nodes} objects, {self.graph.num_edges} references>"

    @property
    def metadata(self):
        """Facts about the captured process: pid, host, python_version, time, rss, tag, values_included."""
        return self.graph.metadata

    def typestats(self, gc_only=False):
        """{type name: number of objects}, most common first, untracked objects (``str``, ``int``...) included.

        ``gc_only``: count only gc-tracked objects, as objgraph does.

        >>> snapshot().typestats()['module'] > 10
        True
        """
        return {name: n for name, n, _ in self.graph.type_stats(sort="count", gc_only=gc_only)}

    def type_table(self, sort="size", limit=0, gc_only=False, retained=False):
        """[:class:`TypeRow`] (type, count, total size in bytes), sorted by ``'size'`` or ``'count'``, descending.

        ``limit``: at most this many rows (0: all). ``retained``: rows are :class:`RetainedTypeRow` (type, count,
        size, retained: what all the type's objects keep alive together), biggest retained first.

        >>> row = snapshot().type_table(limit=1)[0]
        >>> row.size > 0
        True
        """
        if retained:
            return _retained.retained_type_rows(self.graph, self._dominator_tree(), limit)
        if sort not in ("size", "count"):
            raise ValueError(f"type_table: sort must be 'size' or 'count', not {sort!r}")
        return [TypeRow(*row) for row in self.graph.type_stats(sort=sort, top=limit, gc_only=gc_only)]

    def _dominator_tree(self):
        if self._dominators is None:
            self._dominators = _retained.tree(self.graph)
        return self._dominators

    def retained(self, obj_or_id):
        """The bytes that would be freed with an object (or an id): its size plus all that only it keeps alive.

        Raises ``refgraph.QueryError`` for an object the snapshot does not have.

        >>> class Cache: pass
        >>> cache = Cache(); cache.items = [bytearray(1000) for _ in range(10)]
        >>> snapshot().retained(cache) > 10 * 1000
        True
        """
        return self._dominator_tree().retained(_as_id(obj_or_id))

    def dominators(self, limit=20):
        """[:class:`DominatorRow`] (id, type, retained, size, chain) of the objects that retain the most memory
        directly under the roots (a module, a thread's frame, an object held from C), biggest first.

        >>> rows = snapshot().dominators(limit=3)
        >>> rows[0].retained >= rows[-1].retained
        True
        """
        dom = self._dominator_tree()
        graph = self.graph
        rows = []
        for node_id, retained in dom.top(limit):
            node = graph.node(graph.find(node_id))
            rows.append(_retained.DominatorRow(node_id, node["type"], retained, node["size"], _chain(graph, node_id)))
        return rows

    def accumulation_point(self, obj_or_id):
        """The container under an object (or id) where its retained size spreads over many children (the list
        or dict that grows), as a :class:`Node`; None when the memory is not spread that way."""
        found = self._dominator_tree().accumulation_point(_as_id(obj_or_id))
        return None if found is None else self.node(found)

    def count(self, typename):
        """The number of objects of a type: its name as the snapshot shows it, its short name (which names every
        type told apart as ``Request (module)``), or ``module.Request``.

        >>> snapshot().count('module') > 10
        True
        """
        return len(self.graph.ids_of_type(typename))

    def ids_of_type(self, typename):
        """Ids of the objects of a type, ascending. ``refgraph.at(i)`` gives a live object back.

        >>> class Widget: pass
        >>> w = Widget()
        >>> snapshot().ids_of_type('Widget') == [id(w)]
        True
        """
        return self.graph.ids_of_type(typename)

    def node(self, obj_or_id):
        """The :class:`Node` of an object (or an id), or None if the snapshot does not have it.

        >>> d = {'k': 1}
        >>> snapshot().node(d).type
        'dict'
        """
        index = self.graph.find(_as_id(obj_or_id))
        return None if index < 0 else Node(**self.graph.node(index))

    def growth(self, older, limit=0, by_size=False):
        """[:class:`GrowthRow`] for the types that grew since ``older``, largest growth first.

        ``limit``: at most this many rows (0: all). ``by_size``: rank by growth in bytes instead of count.

        >>> before = snapshot()
        >>> class UserSession: pass
        >>> sessions = [UserSession() for _ in range(100)]
        >>> [r for r in snapshot().growth(before) if r.type == 'UserSession'][0].count_delta
        100
        """
        return [GrowthRow(*row) for row in self.graph.growth(older.graph, top=limit, by_size=by_size)]

    def new_objects(self, older):
        """[:class:`Node`] of the objects that are in this snapshot and not in ``older`` (same id and type).

        >>> before = snapshot()
        >>> fresh = {'request': 1}
        >>> id(fresh) in {n.id for n in snapshot().new_objects(before)}
        True
        """
        return self.graph.new_nodes(older.graph, Node)

    def chain(self, obj_or_id, max_depth=0):
        """The shortest :class:`Chain` of references from a root to an object (or an id).

        Roots are modules in ``sys.modules``, the frames of live threads, and objects held from C. References
        from the frames of the thread that took the snapshot and a function's ``__globals__`` are used only when
        no other chain exists. If no root reaches the object, the chain is just the object and its
        ``root_kind`` is ``'unreachable'``.

        ``max_depth``: the longest chain searched (0: no limit).

        >>> import sys
        >>> chain = snapshot().chain(sys.modules[__name__].__dict__)
        >>> chain.root_kind
        'module'
        """
        return _chain(self.graph, _as_id(obj_or_id), max_depth)

    def save(self, path):
        """Write the snapshot to a ``.rgd`` dump (or ``.jsonl``), atomically; the ``refgraph`` command reads it.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'heap.rgd')
        >>> snapshot().save(path)
        >>> load(path).typestats()['module'] > 10
        True
        """
        path = os.fspath(path)
        if path.endswith(".jsonl"):
            self.graph.save_jsonl(path)
        else:
            self.graph.save(path)

    def summary(self, limit=15, file=None, sort="size"):
        """Print the table of :func:`summary` for this snapshot.

        >>> snapshot().summary(limit=3)  # doctest: +SKIP
        """
        _print_table(self.type_table(sort=sort, limit=limit), _common.stdout(file))


def _as_id(obj_or_id):
    return obj_or_id if type(obj_or_id) is int else id(obj_or_id)


def _chain(graph, target, max_depth=0, sites_of=None):
    index = graph.find(target)
    if index < 0:
        return Chain([], None)
    raw = graph.backref_chain([target], max_depth=max_depth)
    if raw is None:
        node = graph.node(index)
        kind = UNREACHABLE if target in set(graph.unreachable_ids()) else None
        return Chain([Hop(target, node["type"], node["label"], "")], kind)
    hops = []
    for hop_id, type_name, edge in raw:
        hops.append(Hop(hop_id, type_name, graph.node(graph.find(hop_id))["label"], edge))
    kind = graph.chain_root_kind([h.id for h in hops])
    sites = sites_of(hops) if sites_of is not None else None
    return Chain(hops, kind, sites)


def snapshot(values=False, collect=True, shortnames=True, tag=""):
    """Capture the whole heap into a :class:`Snapshot`.

    ``values``: keep ``str`` and ``bytes`` values (cut short) as labels, and show every dict key as it is; off by
    default, so no data of the program ends up in a snapshot or a dump: a key is shown only when the program's
    code chose it (an interned name such as ``['alice']`` written in the code or an attribute name), otherwise
    as ``[<str len=N>]`` or ``[<int>]``.

    ``collect``: leave cyclic garbage out, as after ``gc.collect()`` (which runs only when the capture finds
    garbage: a full collection is a third of the cost of a capture). With False, uncollected garbage is captured
    and shows as unreachable (``Snapshot.chain(...).root_kind == 'unreachable'``).

    ``shortnames``: type names as ``__name__`` (True) or ``module.qualname`` (False). With short names, distinct
    types that share one are told apart: ``Request (werkzeug.wrappers.request)`` and ``Request
    (gunicorn.http.message)``; ``count('Request')`` counts both, ``count('gunicorn.http.message.Request')`` one.
    ``tag``: free text stored in the metadata.

    >>> s = snapshot(tag='after warm-up')
    >>> s.metadata['tag']
    'after warm-up'
    """
    capture = _common.capture_collected if collect else _common.capture
    return Snapshot(capture(values=values, shortnames=shortnames, tag=tag, distinct_names=True))


def load(path):
    """Read a snapshot from a ``.rgd`` or ``.jsonl`` dump (written by :meth:`Snapshot.save` or the CLI).

    Raises ``refgraph.Error`` (``DumpFormatError``) naming the file and the place if it is not a valid dump.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'heap.rgd')
    >>> snapshot().save(path)
    >>> len(load(path)) > 1000
    True
    """
    return Snapshot(_core.load(os.fspath(path)))


def _print_table(rows, file):
    header = ("types", "# objects", "total size")
    cells = [(row.type, str(row.count), _common.human_size(row.size)) for row in rows]
    if rows and isinstance(rows[0], _retained.RetainedTypeRow):
        header += ("retained size",)
        cells = [c + (_common.human_size(row.retained),) for c, row in zip(cells, rows)]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(header)]
    file.write(" | ".join(f"{h:>{w}}" for h, w in zip(header, widths)) + "\n")
    file.write(" | ".join("=" * w for w in widths) + "\n")
    for c in cells:
        file.write(" | ".join(f"{v:>{w}}" for v, w in zip(c, widths)) + "\n")


def summary(limit=15, file=None, collect=True, shortnames=True, sort="size", retained=False):
    """Print a table of the types using the most memory: type, number of objects, total size.

    Every object is counted, including those the garbage collector does not track (``str``, ``bytes``,
    ``int``...), with sizes as ``sys.getsizeof`` reports them (shallow sizes, as Pympler's ``summary`` shows).

    ``limit``: the number of rows. ``file``: where to write (default ``sys.stdout``; pass an ``io.StringIO``
    to serve the table from a debug endpoint). ``collect``: leave cyclic garbage out, as if ``gc.collect()`` had
    run (the count finds it and leaves it out, without collecting). ``shortnames``: if False, qualify type names
    with their module; if True, distinct types that share a short name are still told apart, as
    ``Request (werkzeug.wrappers.request)``. ``sort``: ``'size'`` or ``'count'``. ``retained``: add the retained
    size of each type's objects together (what they keep alive, from a full snapshot's dominator tree) and sort by
    it.

    >>> big = 'a' * 2**26
    >>> summary(limit=1)  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    types | # objects | total size
    ===== | ========= | ==========
      str |       ... |  ... MiB
    """
    if sort not in ("size", "count"):
        raise ValueError(f"summary: sort must be 'size' or 'count', not {sort!r}")
    if retained:
        rows = snapshot(collect=collect, shortnames=shortnames).type_table(limit=limit, retained=True)
    else:
        rows = _summary_rows(limit, collect, shortnames, sort)
    _print_table(rows, _common.stdout(file))


def _summary_rows(limit, collect, shortnames, sort):
    """summary()'s rows: snapshot().type_table()'s, counted in C++ without a graph (a snapshot where the count
    cannot read this CPython's gc lists)."""
    counts = _common.count_types(shortnames=shortnames, sizes=True, collect=collect, distinct_names=True)
    if counts is None:
        return snapshot(collect=collect, shortnames=shortnames).type_table(sort=sort, limit=limit)
    rows = [TypeRow(name, tracked + untracked, size) for name, (tracked, untracked, size) in counts.items()]
    if sort == "size":
        rows.sort(key=lambda r: (-r.size, -r.count, r.type))
    else:
        rows.sort(key=lambda r: (-r.count, -r.size, r.type))
    return rows[:limit] if limit else rows


def _allocation_sites(heap):
    def sites_of(hops):
        sites = {}
        for k, hop in enumerate(hops):
            try:
                tb = tracemalloc.get_object_traceback(heap.object(hop.id))
            except KeyError:
                tb = None
            if tb:
                frame = tb[-1]  # the most recent frame: where the object was made
                sites[k] = f"{frame.filename}:{frame.lineno}"
        return sites

    return sites_of


def chain_report(obj, max_depth=0):
    """Explain who keeps ``obj`` alive, as one line of text from a root to the object.

    For example ``module app.cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> User``: the root (a
    module, a thread's frame, or an object held from C), then each reference by its name in Python and the type
    it leads to. References from the caller's own frames are used only when nothing else holds the object.
    When ``tracemalloc`` is tracing, each hop is on its own line with the place its object was allocated.

    ``max_depth``: the longest chain searched (0: no limit).

    >>> import sys, types
    >>> app = sys.modules['app_cache'] = types.ModuleType('app_cache')
    >>> app.USERS = {'alice': [object() for _ in range(18)]}
    >>> chain_report(app.USERS['alice'][17])
    "module app_cache -> attr 'USERS' (dict) -> ['alice'] (list) -> [17] -> object"
    >>> del sys.modules['app_cache']
    """
    target = id(obj)
    if tracemalloc.is_tracing():
        heap = _common.pin_heap(keep=[obj])
        try:
            sites = _allocation_sites(heap)
            chain = _chain(heap.graph, target, max_depth, sites)
            if chain._sites is None:
                chain._sites = sites(chain.hops)
        finally:
            heap.release()
    else:
        chain = _chain(_common.capture(keep=[obj]), target, max_depth)
    if chain.root_kind is None and not chain.hops:
        return f"{_core.type_names([obj])[0]}: not in the captured heap"
    if chain.root_kind is None:
        return f"{chain.report()}: no chain to a root found"
    return chain.report()
