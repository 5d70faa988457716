"""objgraph's API on refgraph's engine: same names, signatures, defaults and return types.

The counting functions count the heap in C++ without building a graph (``_core.count_types``), gc-tracked
objects by default, which is exactly what objgraph counts; the chain and graph functions search the captured
graph in C++. Where a user callable must see live objects (``filter``, ``predicate``, ``highlight``, ...), the
capture is pinned (``_core.pin_heap``) so every object handed to the callable, and every object returned, is
alive. The differences from objgraph are listed in
the package docstring.
"""

from __future__ import annotations

import collections
import gc
import operator
import os
import re
import sys
import tempfile
import types

from . import _common, _core, _snapshot

# Bound at import: the functions this module calls while it looks at the heap are the interpreter's own, not
# whatever user code later puts at gc.get_objects or sys.getrefcount.
_get_objects = gc.get_objects
_get_referents = gc.get_referents
_is_tracked = gc.is_tracked
_collect = gc.collect
_getrefcount = sys.getrefcount
_getframe = sys._getframe

__all__ = [
    "count",
    "typestats",
    "most_common_types",
    "show_most_common_types",
    "growth",
    "show_growth",
    "get_new_ids",
    "get_leaking_objects",
    "by_type",
    "at",
    "at_addrs",
    "find_ref_chain",
    "find_backref_chain",
    "show_backrefs",
    "show_refs",
    "show_chain",
    "is_proper_module",
    "ChainToRoot",
]


# ---------------------------------------------------------------------------------------------------------------
# Counting


def _tracked_counts(shortnames=True, collect=False, untracked=False):
    """{type name: count} of the gc-tracked objects (with ``untracked``: of every object), counted in C++
    without a graph (``_core.count_types``; a capture where that cannot read the gc's lists).

    With ``collect``, cyclic garbage is not counted: the count finds it with the collector's own test and leaves
    it out (and what only it holds), without collecting it.
    """
    counts = _common.count_types(shortnames=shortnames, collect=collect, tracked_only=not untracked)
    if counts is None:
        graph = _common.capture_collected(shortnames=shortnames) if collect else _common.capture(shortnames=shortnames)
        return {name: n for name, n, _size in graph.type_stats(gc_only=not untracked)}
    if untracked:
        return {name: t + u for name, (t, u, _size) in counts.items()}
    return {name: t for name, (t, _u, _size) in counts.items() if t}


def _as_sequence(objects):
    """``objects`` as a list or tuple whose items can be read in place (a list or tuple subclass is copied with
    the base type's own methods, so no ``__iter__`` of a subclass runs; any other iterable is the caller's own)."""
    if issubclass(type(objects), list):
        return list.copy(objects)
    if issubclass(type(objects), tuple):
        return tuple.__getitem__(objects, slice(None))
    return list(objects)


def _type_names(objects, shortnames):
    """objgraph's type name of each object, read natively from its type (no ``__class__`` or metaclass
    ``__getattribute__`` of the user's runs)."""
    return _core.type_names(objects, qualified=not shortnames)


def _python_typestats(objects, shortnames, filter):
    objects = _as_sequence(objects)
    stats = {}
    for o, name in zip(objects, _type_names(objects, shortnames)):
        if filter is not None and not filter(o):
            continue
        stats[name] = stats.get(name, 0) + 1
    return stats


def count(typename, objects=None, untracked=False):
    """Count objects tracked by the garbage collector with a given class name.

    ``typename`` is a short class name (``'dict'``, ``'MyClass'``) or, if it contains a dot, a fully
    qualified one (``'mymodule.MyClass'``).

    ``objects``: count among these objects instead of every gc-tracked object.

    ``untracked`` (refgraph only): also count the objects the garbage collector does not track, as
    ``refgraph.snapshot()`` does (``count('str', untracked=True)``); ignored with ``objects``.

    >>> class Widget: pass
    >>> widgets = [Widget() for _ in range(3)]
    >>> count('Widget')
    3
    """
    if objects is not None:
        return _type_names(_as_sequence(objects), "." not in typename).count(typename)
    return _tracked_counts(shortnames="." not in typename, untracked=untracked).get(typename, 0)


def typestats(objects=None, shortnames=True, filter=None, untracked=False):
    """Count the number of instances for each type tracked by the GC.

    Like objgraph, this counts gc-tracked objects only (``refgraph.snapshot().typestats()`` counts every object,
    ``str`` and ``int`` included).

    ``objects``: count among these objects instead of the whole heap.

    ``shortnames``: if False, type names are qualified with their module (``'mymodule.MyClass'``).

    ``filter``: a function of one object; objects for which it returns False are not counted.

    ``untracked`` (refgraph only): also count the objects the garbage collector does not track (``str``,
    ``int``, untracked ``dict`` and ``tuple``...), as ``refgraph.snapshot().typestats()`` does, without building
    a snapshot; ignored with ``objects`` or ``filter``.

    >>> class Widget: pass
    >>> widgets = [Widget(), Widget()]
    >>> typestats()['Widget']
    2
    """
    if objects is not None or filter is not None:
        if objects is None:
            objects = _get_objects()
        try:
            return _python_typestats(objects, shortnames, filter)
        finally:
            del objects
    return _tracked_counts(shortnames=shortnames, untracked=untracked)


def most_common_types(limit=10, objects=None, shortnames=True, filter=None):
    """Count the names of types with the most instances.

    Returns a list of ``(type_name, count)``, most frequent first, at most ``limit`` items (``None``: all).
    ``objects``, ``shortnames`` and ``filter`` are as for :func:`typestats`.

    >>> most_common_types(limit=2)  # doctest: +SKIP
    [('function', 6254), ('dict', 3187)]
    """
    stats = sorted(
        typestats(objects, shortnames=shortnames, filter=filter).items(), key=operator.itemgetter(1), reverse=True
    )
    if limit:
        stats = stats[:limit]
    return stats


def show_most_common_types(limit=10, objects=None, shortnames=True, file=None, filter=None):
    """Print the table of types of most common instances.

    ``file``: where to write (default ``sys.stdout``). The other parameters are as for :func:`most_common_types`.

    >>> show_most_common_types(limit=2)  # doctest: +SKIP
    function 6254
    dict     3187
    """
    file = _common.stdout(file)
    stats = most_common_types(limit, objects, shortnames=shortnames, filter=filter)
    if not stats:
        return
    width = max(len(name) for name, _ in stats)
    for name, n in stats:
        file.write("%-*s %i\n" % (width, name, n))


def growth(limit=10, peak_stats={}, shortnames=True, filter=None, collect=True):  # noqa: B006 (objgraph's state)
    """Count the increase in peak object counts since the last call.

    Returns a list of ``(type_name, total_count, increase_delta)``, largest delta first, at most ``limit`` items
    (``None``: all).

    ``peak_stats``: a dict from type names to the peak counts seen before; updated in place. The default is
    shared between calls, which is what makes successive calls report what is new.

    ``shortnames`` and ``filter`` are as for :func:`typestats`.

    ``collect`` (refgraph only): if True, cyclic garbage is not counted, as if ``gc.collect()`` had run: the count
    finds it with the collector's own test and leaves it out, without collecting it (no ``__del__`` runs, and a
    steady heap costs no collection); if False, uncollected garbage is counted. (With ``filter``, ``collect``
    runs ``gc.collect()``.)

    >>> class Leak: pass
    >>> _ = growth(limit=None)
    >>> leaks = [Leak() for _ in range(5)]
    >>> [row for row in growth(limit=None) if row[0] == 'Leak']
    [('Leak', 5, 5)]
    """
    if filter is not None:
        if collect:
            _collect()
        stats = typestats(shortnames=shortnames, filter=filter)
    else:
        stats = _tracked_counts(shortnames=shortnames, collect=collect)
    deltas = {}
    for name, n in stats.items():
        old = peak_stats.get(name, 0)
        if n > old:
            deltas[name] = n - old
            peak_stats[name] = n
    ranked = sorted(deltas.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        ranked = ranked[:limit]
    return [(name, stats[name], delta) for name, delta in ranked]


def show_growth(limit=10, peak_stats=None, shortnames=True, file=None, filter=None, collect=True):
    """Show the increase in peak object counts since the last call.

    ``peak_stats``: if None, the state kept by :func:`growth` is used; pass your own dict to keep your own.
    ``file``: where to write (default ``sys.stdout``). The other parameters are as for :func:`growth`.

    >>> show_growth()  # doctest: +SKIP
    function     6254     +6254
    dict         3187     +3187
    """
    if peak_stats is None:
        result = growth(limit, shortnames=shortnames, filter=filter, collect=collect)
    else:
        result = growth(limit, peak_stats, shortnames, filter, collect)
    if result:
        file = _common.stdout(file)
        width = max(len(name) for name, _, _ in result)
        for name, n, delta in result:
            file.write("%-*s%9d %+9d\n" % (width, name, n, delta))


def get_new_ids(skip_update=False, limit=10, sortby="deltas", shortnames=None, file=None, _state={}):  # noqa: B006
    """Find and display new objects allocated since the last call.

    Returns a dict from type names to sets of ids of gc-tracked objects created since the previous call, and
    prints a table of old, current and new ids per type.

    ``skip_update``: return the previous result without looking at the heap.

    ``limit``: the number of table rows to print (0: none, None: all).

    ``sortby``: the column to sort the table by, descending: ``'old'``, ``'current'``, ``'new'`` or ``'deltas'``.

    ``shortnames``: as for :func:`typestats`; None remembers the value of the previous call (initially True).

    ``file``: where to print (default ``sys.stdout``). ``_state`` keeps the state between calls: leave it alone.

    >>> _ = get_new_ids(limit=0)
    >>> fresh = [[], []]
    >>> new = get_new_ids(limit=0)
    >>> id(fresh) in new['list']
    True
    """
    columns = {"old": 1, "current": 2, "new": 3, "deltas": 4}
    if sortby not in columns:
        raise ValueError(f"get_new_ids: sortby must be one of {', '.join(columns)}, not {sortby!r}")
    if not _state:
        _state["old"] = collections.defaultdict(set)
        _state["current"] = collections.defaultdict(set)
        _state["new"] = collections.defaultdict(set)
        _state["shortnames"] = True
    new_ids = _state["new"]
    if skip_update:
        return new_ids
    old_ids, current_ids = _state["old"], _state["current"]
    if shortnames is None:
        shortnames = _state["shortnames"]
    else:
        _state["shortnames"] = shortnames
    _collect()
    objects = _get_objects()
    for ids in old_ids.values():
        ids.clear()
    for name, ids in current_ids.items():
        old_ids[name].update(ids)
    for ids in current_ids.values():
        ids.clear()
    for o, name in zip(objects, _type_names(objects, shortnames)):
        current_ids[name].add(id(o))
    del objects, o
    for ids in new_ids.values():
        ids.clear()
    rows = []
    for name in list(current_ids):
        n_old, n_current = len(old_ids[name]), len(current_ids[name])
        if n_old == 0 and n_current == 0:
            del old_ids[name], current_ids[name], new_ids[name]
            continue
        fresh = current_ids[name] - old_ids[name]
        new_ids[name].update(fresh)
        rows.append((name, n_old, n_current, len(fresh), n_current - n_old))
    rows.sort(key=operator.itemgetter(columns[sortby], 0), reverse=True)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return new_ids
    file = _common.stdout(file)
    width = max(len(row[0]) for row in rows)
    rule = "=" * (width + 13 * 4)
    print(rule, file=file)
    print("%-*s%13s%13s%13s%13s" % (width, "Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"), file=file)
    print(rule, file=file)
    for name, old, current, new, delta in rows:
        print("%-*s%13d%13d%+13d%+13d" % (width, name, old, current, new, delta), file=file)
    print(rule, file=file)
    return new_ids


def get_leaking_objects(objects=None):
    """Return gc-tracked objects that no gc-tracked object refers to.

    These are held from C: reference-counting bugs in extensions, or legitimate C globals.

    ``objects``: look among these objects (references from the ``objects`` list itself do not count).

    >>> import gc
    >>> all(gc.is_tracked(o) for o in get_leaking_objects())
    True
    """
    _collect()
    all_objects = _get_objects()
    candidates = all_objects if objects is None else objects
    try:
        ids = {id(o) for o in candidates}
        for o in all_objects:
            if o is not candidates:
                ids.difference_update(id(r) for r in _get_referents(o))
        return [o for o in candidates if id(o) in ids]
    finally:
        del all_objects, candidates, objects


# ---------------------------------------------------------------------------------------------------------------
# Objects by type or address


def by_type(typename, objects=None):
    """Return objects tracked by the garbage collector with a given class name.

    ``typename`` is a short or (with a dot) fully qualified class name, as for :func:`count`.
    ``objects``: look among these objects instead of every gc-tracked object.

    >>> class Widget: pass
    >>> w = Widget()
    >>> by_type('Widget') == [w]
    True
    """
    objects = _get_objects() if objects is None else _as_sequence(objects)
    try:
        return [o for o, name in zip(objects, _type_names(objects, "." not in typename)) if name == typename]
    finally:
        del objects


def at(addr):
    """Return the object at a memory address (the reverse of ``id(obj)``), or None.

    Unlike objgraph, this also finds objects the garbage collector does not track (``str``, ``int``, ...) as
    long as some object refers to them.

    >>> data = {'k': 'value'}
    >>> at(id(data)) is data
    True
    """
    for o in _get_objects():
        if id(o) == addr:
            return o
    found = _untracked_at([addr])
    return found[0] if found else None


def at_addrs(address_set):
    """Return the objects at a set of memory addresses, in arbitrary order.

    Addresses of objects no longer alive are skipped. Untracked objects are found as by :func:`at`.

    >>> a, b = [1], [2]
    >>> sorted(at_addrs({id(a), id(b)})) == [[1], [2]]
    True
    """
    wanted = set(address_set)
    res = []
    for o in _get_objects():
        if id(o) in wanted:
            res.append(o)
    found = {id(o) for o in res}
    missing = [a for a in wanted if a not in found]
    if missing:
        res.extend(_untracked_at(missing))
    return res


def _untracked_at(addrs):
    """Live objects at these addresses that only a full capture sees (untracked ones)."""
    with _common.pin_heap() as heap:
        out = []
        for a in addrs:
            try:
                out.append(heap.object(a))
            except KeyError:
                pass
        return out


# ---------------------------------------------------------------------------------------------------------------
# Chains


def is_proper_module(obj):
    """Return True if ``obj`` can be treated like a garbage collector root: a module that is in ``sys.modules``.

    >>> import types
    >>> is_proper_module(types), is_proper_module(types.ModuleType('foo')), is_proper_module([])
    (True, False, False)
    """
    return _core.is_proper_module(obj)


def _is_module_predicate(predicate):
    # objgraph's own is_proper_module means the same thing: a user mixing the two gets the fast search too.
    # Only a plain function's attributes are read: they are slots, no user code runs.
    return predicate is is_proper_module or (
        type(predicate) is types.FunctionType
        and predicate.__name__ == "is_proper_module"
        and predicate.__module__ == "objgraph"
    )


def _follow(first, ids):
    """[first, ...] following references to the objects with these ids, or None where one cannot be reached."""
    chain = [first]
    for wanted in ids:
        for ref in _get_referents(chain[-1]):
            if id(ref) == wanted:
                chain.append(ref)
                break
        else:
            return None
    return chain


def _module_chain(obj, predicate, max_depth, ignore, backward):
    """The chain to (or from) a proper module without pinning the heap: the search runs natively (backward on
    the references of the gc-tracked objects alone, see ``_core.local_backref_chain``; otherwise on a plain
    capture) and the hops are then looked up again from live objects (a module, then each one's referents). None
    if that fails, e.g. because a hop is a reference ``gc.get_referents`` does not show."""
    ids = None
    if backward:
        ids = _core.local_backref_chain([id(obj)], ["module"], max_depth, ignore, list(_common.SKIP_FILES))
    if ids is None:
        graph = _common.capture(keep=[obj])
        search = graph.backref_chain if backward else graph.ref_chain
        hops = search([id(obj)], types=("module",), max_depth=max_depth, ignore_ids=ignore)
        del graph
        ids = [hop[0] for hop in hops] if hops is not None else []
    if not ids:
        return [obj]
    if backward:
        root = next((m for m in list(sys.modules.values()) if id(m) == ids[0]), None)
        chain = _follow(root, ids[1:]) if root is not None else None
    else:
        chain = _follow(obj, ids[1:])
    if chain is None or chain[-1 if backward else 0] is not obj or not predicate(chain[0 if backward else -1]):
        return None
    return chain


class ChainToRoot(list):
    """What :func:`find_backref_chain` returns when no object satisfying the predicate refers to ``obj``: the
    list objgraph returns, ``[obj]``, plus where the references to ``obj`` really end.

    ``root_kind``: ``'module'`` (a chain to a module exists, beyond ``max_depth`` or through an ignored object),
    ``'thread frame'`` (a running frame of some thread holds it), ``'external'`` (held from C: no object the
    collector sees accounts for a reference), ``'unreachable'`` (no root reaches it except the caller's own
    frame: cyclic garbage, or an object only the caller's variables hold), or None (not in the heap).

    ``root_chain``: a :class:`refgraph.Chain` from that root to ``obj`` (root first; only ``obj`` when
    unreachable or external), in ids and labels: it keeps no object alive. :func:`show_chain` draws it.
    """

    __slots__ = ("root_chain", "root_kind")

    def __init__(self, obj, root_chain):
        super().__init__((obj,))
        self.root_kind = root_chain.root_kind
        self.root_chain = root_chain

    def __repr__(self):
        return f"ChainToRoot({list.__repr__(self)}, root_kind={self.root_kind!r})"


class _HeldByCaller(_snapshot.Chain):
    """An unreachable chain of one object that only the caller's own frame holds."""

    __slots__ = ()

    def report(self):
        return f"{_snapshot._describe(self.hops[-1])} (unreachable: held only by the caller's frame)"


def _caller_frame_id():
    """id of the innermost frame that is not refgraph's: the caller's."""
    frame = _getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_common.PACKAGE_DIR):
        frame = frame.f_back
    try:
        return id(frame) if frame is not None else None
    finally:
        del frame


def _chain_to_root(obj, graph, caller):
    """``[obj]`` as a :class:`ChainToRoot`, from the chain ``graph`` finds from a root to ``obj``."""
    if graph is None:
        graph = _common.capture(keep=[obj])
    root_chain = _snapshot._chain(graph, id(obj))
    hops = root_chain.hops
    if root_chain.root_kind == "thread frame" and len(hops) > 1 and hops[0].id == caller:
        # Held only by the frame that asks: once it lets go, the object is garbage (or freed).
        root_chain = _HeldByCaller(hops[-1:], _snapshot.UNREACHABLE)
    return ChainToRoot(obj, root_chain)


def _ignored_ids(extra_ignore):
    return [i for i in extra_ignore if issubclass(type(i), int)]


def _find_chain(obj, predicate, max_depth, extra_ignore, backward, caller=None):
    if predicate(obj):
        return [obj]
    ignore = _ignored_ids(extra_ignore)
    if _is_module_predicate(predicate):
        chain = _module_chain(obj, predicate, max_depth, ignore, backward)
        if chain is not None:
            return chain if len(chain) > 1 or not backward else _chain_to_root(obj, None, caller)
    with _common.pin_heap(keep=[obj]) as heap:
        graph = heap.graph
        start = id(obj)
        search = graph.backref_chain if backward else graph.ref_chain
        hops = None
        if graph.find(start) >= 0 and _is_module_predicate(predicate):
            # Searched natively without calling back into Python for each object visited: on a class with a
            # million instances the predicate would otherwise be called a million times.
            hops = search([start], types=("module",), max_depth=max_depth, ignore_ids=ignore)
            if hops is not None and not predicate(heap.object(hops[0][0] if backward else hops[-1][0])):
                hops = None
        elif graph.find(start) >= 0:
            node = graph.node
            lookup = heap.object

            def native_predicate(index):
                return bool(predicate(lookup(node(index)["id"])))

            hops = search([start], predicate=native_predicate, max_depth=max_depth, ignore_ids=ignore)
        if hops is not None:
            return [heap.object(hop[0]) for hop in hops]
        if not backward:
            return [obj]
        return _chain_to_root(obj, graph, caller)


def find_backref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """Find a shortest chain of references leading to ``obj``.

    Returns a list of live objects whose first item satisfies ``predicate``, each referring to the next, the
    last being ``obj``. If no chain is found: ``[obj]``, as a :class:`ChainToRoot` whose ``root_kind`` and
    ``root_chain`` say where the references to ``obj`` end instead (a thread's frame, C, or nowhere but the
    caller: ``'unreachable'``). Weak references are not followed, and a chain uses a function's ``__globals__``
    only when no other chain exists.

    ``predicate``: a function of one object; :func:`is_proper_module` is searched natively (fast).

    ``max_depth``: the longest chain searched, in references.

    ``extra_ignore``: ids of objects the chain must not pass through.

    >>> import sys
    >>> holder = sys.modules[__name__]
    >>> chain = find_backref_chain(is_proper_module, is_proper_module)
    >>> chain[-1] is is_proper_module and is_proper_module(chain[0])
    True
    """
    return _find_chain(obj, predicate, max_depth, extra_ignore, backward=True, caller=_caller_frame_id())


def find_ref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """Find a shortest chain of references leading from ``obj``.

    Returns a list of live objects starting with ``obj``, each referring to the next, the last satisfying
    ``predicate``; ``[obj]`` if no chain is found. Parameters are as for :func:`find_backref_chain`.

    >>> class Leaf: pass
    >>> tree = {'branch': [Leaf()]}
    >>> [type(o).__name__ for o in find_ref_chain(tree, lambda x: isinstance(x, Leaf))]
    ['dict', 'list', 'Leaf']
    """
    return _find_chain(obj, predicate, max_depth, extra_ignore, backward=False)


# ---------------------------------------------------------------------------------------------------------------
# Graphs

_NODE_STATEMENT = re.compile(r"^\s*(o[0-9a-f]+)\s*\[", re.M)  # the renderer names a node "o" + hex id


def _count_nodes(dot):
    return len(set(_NODE_STATEMENT.findall(dot)))


def _deliver(dot, filename, output, what, fmt):
    """Write DOT text to ``output`` (or the image in ``fmt`` to a binary ``output``), or render it to
    ``filename``, or to a temporary image whose name is printed."""
    if output is not None:
        if not _common.is_binary_file(output):
            output.write(dot)
        else:
            output.write(dot.encode() if fmt == "dot" else _core.render(dot, fmt))
        return
    nodes = _count_nodes(dot)
    if filename:
        _core.render_to_file(dot, filename, fmt)
        if fmt == "dot":
            print(f"Graph written to {filename} ({nodes} nodes)")
        else:
            print(f"Image generated as {filename} ({nodes} nodes)")
        return
    fd, path = tempfile.mkstemp(prefix="refgraph-", suffix="." + fmt)
    os.close(fd)
    _core.render_to_file(dot, path, fmt)
    print(f"{what} ({nodes} nodes): image generated as {path}")


def _show_graph(
    objs,
    direction,
    max_depth,
    extra_ignore,
    filter,
    too_many,
    highlight,
    filename,
    extra_info,
    refcounts,
    shortnames,
    output,
    extra_node_attrs,
    what,
    only_ids=None,
    format=None,
):
    ignore = [id(objs)] + _ignored_ids(extra_ignore)
    objs = _as_sequence(objs) if issubclass(type(objs), (list, tuple)) else [objs]
    ignore.append(id(objs))  # the copy is the tool's own, as the list given is
    fmt = _common.prepare_output(filename, output, format)  # a bad choice fails before the heap is captured
    start_ids = [id(o) for o in objs]
    needs_objects = any(f is not None for f in (filter, highlight, extra_info, extra_node_attrs)) or refcounts
    if direction == "back" and not needs_objects and only_ids is None and objs and all(map(_is_tracked, objs)):
        # Only the objects drawn are captured (see show_backrefs); None where that path cannot answer.
        dot = _core.local_backrefs_dot(
            start_ids,
            max_depth=max_depth,
            too_many=too_many,
            ignore_ids=ignore,
            skip_files=list(_common.SKIP_FILES),
            shortnames=shortnames,
        )
        if dot is not None:
            _deliver(dot, filename, output, what, fmt)
            return
    heap = _common.pin_heap(shortnames=shortnames, keep=objs) if needs_objects else None
    try:
        graph = heap.graph if heap is not None else _common.capture(shortnames=shortnames, keep=objs)
        missing = [o for o, i in zip(objs, start_ids) if graph.find(i) < 0]
        if len(missing) == len(objs):
            raise ValueError(
                f"{what}: none of the {len(objs)} objects is in the captured heap"
                + (" (no object given)" if not objs else "")
            )
        node = graph.node
        lookup = heap.object if heap is not None else None
        native_filter = None
        if only_ids is not None:
            allowed = {graph.find(i) for i in only_ids}

            def native_filter(index):
                return index in allowed
        elif filter is not None:

            def native_filter(index):
                return bool(filter(lookup(node(index)["id"])))

        native_extra = None
        if extra_info is not None or refcounts:

            def native_extra(index):
                obj = lookup(node(index)["id"])
                lines = []
                if refcounts:
                    # minus this frame's `obj`, the pinned heap's reference and getrefcount's argument
                    lines.append("refcount %d" % (_getrefcount(obj) - 3))
                if extra_info is not None:
                    lines.append(str(extra_info(obj)))
                return "\n".join(lines)

        native_attrs = None
        if highlight is not None or extra_node_attrs is not None:

            def native_attrs(index):
                """objgraph's per-object attributes: ``highlight`` in blue, then ``extra_node_attrs``."""
                obj = lookup(node(index)["id"])
                attrs = {}
                if highlight is not None and highlight(obj):
                    attrs.update(fillcolor="0.6,0.6,0.8", style="filled")
                if extra_node_attrs is not None:
                    attrs.update(extra_node_attrs(obj))
                return attrs

        dot = graph.neighbourhood_dot(
            [i for i in start_ids if graph.find(i) >= 0],
            direction=direction,
            max_depth=max_depth,
            too_many=too_many,
            ignore_ids=ignore,
            filter=native_filter,
            extra_info=native_extra,
            node_attrs=native_attrs,
        )
    finally:
        if heap is not None:
            heap.release()
    _deliver(dot, filename, output, what, fmt)


def show_backrefs(
    objs,
    max_depth=3,
    extra_ignore=(),
    filter=None,
    too_many=10,
    highlight=None,
    filename=None,
    extra_info=None,
    refcounts=False,
    shortnames=True,
    output=None,
    extra_node_attrs=None,
    format=None,
):
    """Draw the graph of objects that refer to ``objs``, directly and indirectly.

    The drawing is made in-process (no ``dot`` or ``xdot`` program needed). Nodes show type, label and size;
    the shortest chain to a root is highlighted; a node with more than ``too_many`` referrers shows the first
    ones and a "+N more" summary.

    ``objs``: an object or a list of objects.

    ``filename``: the file to write; its extension picks the format: ``.dot``, ``.png``, ``.svg`` or ``.pdf``.

    ``output``: a file object to write to instead of ``filename``: a text one gets the DOT source, a binary one
    (``io.BytesIO()``, ``open(..., 'wb')``) the image, PNG unless ``format`` says otherwise; so a web handler
    can serve the image without a temporary file. With neither, a temporary PNG is written and its name printed.

    ``format`` (refgraph only): ``'png'``, ``'svg'``, ``'pdf'`` or ``'dot'`` for a binary ``output``, or the
    format of ``filename`` (which must then match its extension).

    ``max_depth``, ``too_many``: limit the depth and the breadth of the graph.

    ``filter``: a function of one object; objects for which it returns False are not drawn.
    ``extra_ignore``: ids of objects not to draw.

    ``highlight``: a function of one object; objects for which it returns True are drawn in blue.

    ``extra_info``: a function of one object returning a string shown under it.
    ``extra_node_attrs``: a function of one object returning a dict of Graphviz node attributes.

    ``refcounts``: show each object's reference count. ``shortnames``: if False, qualify type names.

    Fast path: when every object in ``objs`` is gc-tracked and no ``filter``, ``highlight``, ``extra_info``,
    ``extra_node_attrs`` or ``refcounts`` is given, the heap is not captured whole: one scan of the references
    every gc-tracked object holds finds the referrers (as ``gc.get_referrers`` would, plus running frames' locals
    and static types), and only the objects drawn are captured. The drawing is the one the whole capture gives:
    the same nodes, labels, sizes, edges, roots, chain and "+N more" summaries. The one difference: a referrer
    the gc does not track and that is not a type (a code object's constants, a module definition) is not found,
    as with objgraph; it holds only constants.

    >>> import io
    >>> x = []
    >>> y = [x, [x], dict(x=x)]
    >>> out = io.StringIO()
    >>> show_backrefs([x], output=out)
    >>> out.getvalue().startswith('digraph')
    True
    >>> image = io.BytesIO()
    >>> show_backrefs([x], output=image, format='svg')
    >>> b'<svg' in image.getvalue()
    True
    """
    _show_graph(
        objs,
        "back",
        max_depth,
        extra_ignore,
        filter,
        too_many,
        highlight,
        filename,
        extra_info,
        refcounts,
        shortnames,
        output,
        extra_node_attrs,
        "show_backrefs",
        format=format,
    )


def show_refs(
    objs,
    max_depth=3,
    extra_ignore=(),
    filter=None,
    too_many=10,
    highlight=None,
    filename=None,
    extra_info=None,
    refcounts=False,
    shortnames=True,
    output=None,
    extra_node_attrs=None,
    format=None,
):
    """Draw the graph of objects that ``objs`` refer to, directly and indirectly.

    Parameters are as for :func:`show_backrefs`.

    >>> import os, tempfile
    >>> x = []
    >>> y = [x, [x], dict(x=x)]
    >>> path = os.path.join(tempfile.mkdtemp(), 'sample-graph.png')
    >>> show_refs([y], filename=path)  # doctest: +ELLIPSIS
    Image generated as ...sample-graph.png (... nodes)
    """
    _show_graph(
        objs,
        "forward",
        max_depth,
        extra_ignore,
        filter,
        too_many,
        highlight,
        filename,
        extra_info,
        refcounts,
        shortnames,
        output,
        extra_node_attrs,
        "show_refs",
        format=format,
    )


def show_chain(*chains, **kw):
    """Draw one or more chains of references, as returned by :func:`find_backref_chain` or :func:`find_ref_chain`.

    ``backrefs`` (keyword): True (default) to trace each chain back from its last object, False to trace it
    forward from its first. The other keywords (``filename``, ``output``, ``format``, ``highlight``,
    ``extra_info``, ``refcounts``, ``shortnames``, ``extra_node_attrs``) are as for :func:`show_backrefs`.

    One chain of gc-tracked objects, with none of those keywords, is drawn from a capture of its objects alone.
    A :class:`ChainToRoot` (``find_backref_chain`` found no chain) is drawn from the root its ``root_chain`` starts
    at: a thread's frame, or the module beyond ``max_depth``.

    >>> import io
    >>> class Leaf: pass
    >>> tree = {'branch': [Leaf()]}
    >>> out = io.StringIO()
    >>> show_chain(find_ref_chain(tree, lambda x: isinstance(x, Leaf)), backrefs=False, output=out)
    >>> 'digraph' in out.getvalue()
    True
    """
    backrefs = kw.pop("backrefs", True)
    unknown = set(kw) - {
        "highlight",
        "extra_info",
        "refcounts",
        "shortnames",
        "filename",
        "output",
        "extra_node_attrs",
        "too_many",
        "extra_ignore",
        "format",
    }
    if unknown:
        raise TypeError(f"show_chain() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    chains = [chain for chain in chains if chain]
    if not chains:
        raise ValueError("show_chain: no non-empty chain given")
    # A ChainToRoot ([obj], no chain found) is drawn from the root its references really end at.
    id_chains = [
        chain.root_chain.ids
        if backrefs and type(chain) is ChainToRoot and chain.root_chain.hops
        else [id(o) for o in chain]
        for chain in chains
    ]
    plain = not any(kw.get(k) for k in ("highlight", "extra_info", "refcounts", "extra_node_attrs", "extra_ignore"))
    if len(chains) == 1 and plain and kw.get("shortnames", True):
        fmt = _common.prepare_output(kw.get("filename"), kw.get("output"), kw.get("format"))
        # One chain: drawn exactly as given, each hop by the reference that joins it to the next. Only its objects
        # are captured when they are all gc-tracked (_core.local_chain_dot); otherwise, or if that cannot answer,
        # the whole heap.
        ids = id_chains[0]
        dot = None
        if len(ids) == len(chains[0]) and all(map(_is_tracked, chains[0])):
            dot = _core.local_chain_dot(ids, skip_files=list(_common.SKIP_FILES))
        if dot is None:
            graph = _common.capture(keep=_as_sequence(chains[0]))
            try:
                dot = graph.chain_dot(ids)
            except _core.Error:
                dot = None  # not a chain of references in this heap: draw the neighbourhood as objgraph does
            del graph
        if dot is not None:
            _deliver(dot, kw.get("filename"), kw.get("output"), "show_chain", fmt)
            return
    only_ids = {i for ids in id_chains for i in ids}
    max_depth = max(map(len, id_chains)) - 1
    if backrefs:
        starts, direction, what = [chain[-1] for chain in chains], "back", "show_chain"
    else:
        starts, direction, what = [chain[0] for chain in chains], "forward", "show_chain"
    _show_graph(
        starts,
        direction,
        max_depth,
        kw.get("extra_ignore", ()),
        None,
        kw.get("too_many", 10),
        kw.get("highlight"),
        kw.get("filename"),
        kw.get("extra_info"),
        kw.get("refcounts", False),
        kw.get("shortnames", True),
        kw.get("output"),
        kw.get("extra_node_attrs"),
        what,
        only_ids=only_ids,
        format=kw.get("format"),
    )
