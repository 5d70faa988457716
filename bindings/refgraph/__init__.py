"""refgraph: find memory leaks in Python programs, with a C++ engine.

Two APIs over one native heap capture (``refgraph._core``):

* objgraph's, with the same names, signatures, defaults and return types, so ``import refgraph as objgraph``
  works: ``count``, ``typestats``, ``most_common_types``, ``show_most_common_types``, ``growth``,
  ``show_growth``, ``get_new_ids``, ``get_leaking_objects``, ``by_type``, ``at``, ``at_addrs``,
  ``find_ref_chain``, ``find_backref_chain``, ``show_backrefs``, ``show_refs``, ``show_chain``,
  ``is_proper_module``.
* refgraph's own: ``snapshot()`` -> ``Snapshot`` (``typestats``, ``growth``, ``new_objects``, ``chain``,
  ``save``), ``load``, ``summary`` and ``chain_report``; leak checks for tests: ``leak_check``, ``no_leaks``
  (see ``refgraph.leakcheck``); in production: ``dump_on_signal`` (and the gunicorn hook
  ``refgraph.gunicorn``), ``memory()`` (where the memory is: objects, allocator, C heap).

    >>> import refgraph
    >>> class Request: pass
    >>> LEAKED = [Request() for _ in range(3)]
    >>> refgraph.count('Request')
    3

Known differences from objgraph 3.x, one by one:

* ``typestats``, ``count``, ``growth``, ``show_growth``, ``most_common_types`` count exactly what objgraph counts
  (gc-tracked objects), in C++ without building a graph (the gc's own lists are read in place, the permanent
  generation of ``gc.freeze()`` included). ``typestats(untracked=True)``, ``count(..., untracked=True)``,
  ``Snapshot.typestats()`` and ``summary()`` count every object, untracked ones (``str``, ``bytes``, ``int``,
  ``float``...) included, ``summary()`` with sizes.
* ``growth`` and ``show_growth`` take an extra keyword, ``collect=True``. objgraph always runs ``gc.collect()``
  first; refgraph finds the cyclic garbage with the collector's own test and leaves it out of the counts without
  collecting it: the same counts as after a collection, except that a collection may also untrack some tuples
  and dicts, which refgraph still counts as tracked. ``collect=False`` counts the garbage. ``summary`` does the same;
  ``snapshot`` runs ``gc.collect()`` only when its capture finds garbage.
* With ``shortnames=False`` a type name is ``module.qualname`` in the native functions (``typestats``,
  ``count`` of a dotted name, ``growth``) where objgraph uses ``module.__name__``: the two differ only for
  nested classes.
* ``most_common_types`` breaks ties between equal counts by type name, not by the order of ``gc.get_objects()``.
* ``find_backref_chain`` and ``find_ref_chain`` search the captured graph, with ``gc.get_referrers``'s view of
  references plus references from untracked containers, and never follow weak references. A function's
  ``__globals__``, a type's ``__mro__``/``__bases__``, an instance's ``__class__`` and references from the
  caller's frames are used only when no other chain exists, so a returned chain can be longer than objgraph's
  shortest one but reads like the program (``module -> __dict__ -> USERS -> ...``). ``is_proper_module`` is
  searched natively: the predicate is not called on every object visited. Every object in a returned chain is alive.
  When ``find_backref_chain`` finds no chain it returns objgraph's ``[obj]`` as a ``ChainToRoot`` (a ``list``
  subclass) with ``root_kind`` and ``root_chain``: where the references to ``obj`` end (a thread's frame, C, a
  module beyond ``max_depth``, or nowhere but the caller: ``'unreachable'``); ``show_chain`` draws that chain.
* ``show_backrefs``, ``show_refs`` and ``show_chain`` draw in-process through Graphviz's library: no ``dot`` or
  ``xdot`` program is run, no viewer is spawned, and no ``graphviz.Source`` is returned in IPython. With neither
  ``filename`` nor ``output``, a temporary PNG is written and its name printed. ``output`` may also be a binary
  file object (``io.BytesIO()``): it gets the image, PNG unless the extra keyword ``format=`` says otherwise. A
  ``filename`` whose extension is not ``.dot``, ``.gv``, ``.png``, ``.svg`` or ``.pdf`` raises ``ValueError``
  before anything is done. After an image is drawn, one line is printed, ``Image generated as x.png (N nodes)``,
  where objgraph prints ``Graph written to /tmp/....dot (N nodes)`` and then ``Image generated as x.png``: no
  intermediate ``.dot`` file is written.
* In the drawings, nodes show type, label and shallow size (objgraph shows a ``repr``: refgraph never shows
  ``str``/``bytes`` values, nor dict keys that are data rather than names, unless asked), the chain to a root
  is highlighted, and a node with more than ``too_many`` neighbours shows a "+N more <type>" summary node. The
  chain to a root is drawn even past ``too_many``, so a drawing can have more nodes than objgraph's.
  ``show_backrefs`` does not stop expanding at modules; the depth limit applies. ``refcounts=True`` shows
  ``refcount N`` as an extra line.
* objgraph draws each reference as its own edge; refgraph draws the references from one object to another as one
  edge labelled with their labels in short and their number (``[0..799999] x800000`` for ``[0] * 800_000``), and
  a drawing shows at most 1000 objects, 500 "+N more" nodes and 3000 edges, with a line under the title counting
  what that left out: no heap can crash Graphviz or keep it busy for minutes.
* The objects given to ``show_backrefs``, ``show_refs``, ``show_chain`` and the chain searches are always in
  the graph they search, temporaries and untracked objects included. ``show_chain`` raises ``ValueError`` when
  given no non-empty chain; ``show_most_common_types`` prints nothing (objgraph raises) when there is nothing to show;
  ``get_new_ids`` raises ``ValueError`` for an unknown ``sortby``.
* ``at`` and ``at_addrs`` also find untracked objects (a ``str`` in a dict, say) when the gc-tracked objects do
  not include the address.
* ``get_leaking_objects``, ``by_type`` and ``get_new_ids`` work as objgraph's do, on ``gc.get_objects()``.
* ``tracemalloc.get_object_traceback`` cannot see instances of classes with a managed ``__dict__`` on Python
  3.11, so ``chain_report`` shows no allocation site for them there.
"""

from . import _core
from ._compat import (
    ChainToRoot,
    at,
    at_addrs,
    by_type,
    count,
    find_backref_chain,
    find_ref_chain,
    get_leaking_objects,
    get_new_ids,
    growth,
    is_proper_module,
    most_common_types,
    show_backrefs,
    show_chain,
    show_growth,
    show_most_common_types,
    show_refs,
    typestats,
)
from ._memory import Memory, memory
from ._retained import DominatorRow, RetainedTypeRow, SuspectGroup, Suspects, leak_suspects
from ._signal import dump_on_signal
from ._snapshot import Chain, GrowthRow, Hop, Node, Snapshot, TypeRow, chain_report, load, snapshot, summary
from .leakcheck import LeakError, leak_check, no_leaks

__version__ = _core.__version__

Error = _core.Error
DumpFormatError = _core.DumpFormatError

__all__ = [
    # objgraph-compatible
    "at",
    "at_addrs",
    "by_type",
    "count",
    "find_backref_chain",
    "find_ref_chain",
    "get_leaking_objects",
    "get_new_ids",
    "growth",
    "is_proper_module",
    "most_common_types",
    "show_backrefs",
    "show_chain",
    "show_growth",
    "show_most_common_types",
    "show_refs",
    "typestats",
    "ChainToRoot",
    # refgraph's own
    "Chain",
    "DominatorRow",
    "DumpFormatError",
    "Error",
    "GrowthRow",
    "Hop",
    "Node",
    "Snapshot",
    "RetainedTypeRow",
    "SuspectGroup",
    "Suspects",
    "TypeRow",
    "chain_report",
    "leak_suspects",
    "load",
    "snapshot",
    "summary",
    # leak checks (refgraph.leakcheck)
    "LeakError",
    "leak_check",
    "no_leaks",
    # production
    "Memory",
    "dump_on_signal",
    "memory",
]
