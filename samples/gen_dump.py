#!/usr/bin/env python3
"""Generate synthetic refgraph heap dumps (JSON Lines) with a planted leak.

The leak: a module root ``app.cache`` holds, through a chain of ten objects, a list that grows with every
"request" (``HistoryBuffer._items``); it holds ``LeakedItem`` objects. Around it: a realistic mix of dicts,
lists, tuples, strings, functions, cells, frames, weakrefs and instances of a few classes, with most references
pointing to objects allocated nearby (as in a real heap), plus module roots, thread frames and objects held
from C.

    python3 samples/gen_dump.py --nodes 300 --leak 40 --grow 10 -o before.jsonl --later after.jsonl
    python3 samples/gen_dump.py --nodes 1000000 --edges-per-node 3 -o - | refgraph import - -o big.rgd

Exactly ``--nodes`` objects and ``round(nodes * edges_per_node)`` references in the first dump. With ``--grow P``
the later dump holds every object of the first (same ids, same types) plus ``round(nodes * P / 100)`` new
``LeakedItem`` objects appended to the leaking list: ``refgraph growth`` then shows LeakedItem grown by exactly
that number and no other type grown. The same arguments and ``--seed`` always give the same files.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import IO

BASE_ADDRESS = 0x7F3A00000000
STRIDE = 0x40  # addresses grow with allocation order, as in a fresh arena

# (type, weight, shallow size, gc-tracked, may hold references)
TYPE_MIX = [
    ("dict", 22, 232, True, True),
    ("list", 9, 88, True, True),
    ("tuple", 13, 64, True, True),
    ("str", 20, 58, False, False),
    ("int", 5, 28, False, False),
    ("float", 2, 24, False, False),
    ("bytes", 2, 120, False, False),
    ("function", 7, 136, True, True),
    ("cell", 3, 40, True, True),
    ("set", 2, 216, True, True),
    ("weakref", 2, 80, True, True),
    ("method", 2, 64, True, True),
    ("Request", 3, 56, True, True),
    ("User", 3, 56, True, True),
    ("Session", 2, 56, True, True),
    ("code", 3, 192, True, True),
]
# How many references each kind tends to hold, relative to the others.
EDGE_WEIGHT = {
    "module": 1,
    "dict": 4,
    "list": 3,
    "tuple": 2,
    "set": 2,
    "function": 3,
    "cell": 1,
    "weakref": 1,
    "method": 2,
    "Request": 3,
    "User": 3,
    "Session": 3,
    "code": 2,
    "frame": 4,
}
DICT_KEYS = [
    "name",
    "id",
    "user",
    "request",
    "cache",
    "config",
    "items",
    "data",
    "handler",
    "timeout",
    "retries",
    "headers",
    "body",
    "path",
    "session",
    "token",
    "parent",
    "children",
    "value",
    "state",
]
ATTRS = ["name", "owner", "request", "session", "parent", "config", "callback", "data", "_cache", "handler"]
MODULES = [
    "sys",
    "os",
    "re",
    "json",
    "logging",
    "threading",
    "collections",
    "functools",
    "app",
    "app.views",
    "app.models",
    "app.db",
    "app.auth",
    "app.utils",
    "http.server",
    "socketserver",
    "email",
    "urllib.parse",
]

# The planted chain: (type, size, label, edge label to the next object). Ten objects from the module to the holder.
LEAK_CHAIN = [
    ("module", 72, "app.cache", "__dict__"),
    ("dict", 648, "", "['registry']"),
    ("Registry", 56, "", "__dict__"),
    ("dict", 232, "", "['handlers']"),
    ("list", 88, "", "[0]"),
    ("Handler", 56, "", "__dict__"),
    ("dict", 232, "", "['session']"),
    ("Session", 56, "", "__dict__"),
    ("dict", 232, "", "['history']"),
    ("HistoryBuffer", 56, "", "_items"),
]
LEAK_ITEM_TYPE = "LeakedItem"
LEAK_ITEM_SIZE = 72


class Node:
    __slots__ = ("id", "type", "size", "gc", "root", "label", "refs")

    def __init__(
        self, id_: int, type_: str, size: int, gc: bool = True, root: str | None = None, label: str = ""
    ) -> None:
        self.id = id_
        self.type = type_
        self.size = size
        self.gc = gc
        self.root = root
        self.label = label
        self.refs: list[tuple[int, str, bool, bool]] = []  # (target index, label, weak, deferred)


def build(nodes: int, edges_per_node: float, leak: int, seed: int) -> tuple[list[Node], int, int]:
    """Returns (nodes in id order, index of the leaking list, index of the shared 'state' str)."""
    fixed = len(LEAK_CHAIN) + 1 + 1  # the chain, the leaking list, a shared str
    roots_wanted = max(3, nodes // 2000)
    if nodes < fixed + leak + 2 * roots_wanted + 10:
        raise SystemExit(
            f"gen_dump.py: --nodes {nodes} is too small for --leak {leak}; "
            f"need at least {fixed + leak + 2 * roots_wanted + 10}"
        )
    rng = random.Random(seed)

    # Where the special objects live among the ids: the chain and the list in the middle, the leaked items
    # scattered (allocated over time, between everything else).
    middle = nodes // 2
    special = list(range(middle, middle + fixed))
    chain_at = special[: len(LEAK_CHAIN)]
    list_at = special[len(LEAK_CHAIN)]
    state_at = special[len(LEAK_CHAIN) + 1]
    others = [i for i in range(nodes) if i < middle or i >= middle + fixed]
    leaked_at = sorted(rng.sample(others, leak))
    taken = set(special) | set(leaked_at)
    free = [i for i in others if i not in taken]
    root_slots = rng.sample(free, 2 * roots_wanted)
    module_at = sorted(root_slots[:roots_wanted])
    frame_at = sorted(root_slots[roots_wanted : roots_wanted + max(1, roots_wanted // 2)])
    external_at = sorted(root_slots[roots_wanted + max(1, roots_wanted // 2) :])

    out: list[Node | None] = [None] * nodes
    addr = lambda i: BASE_ADDRESS + i * STRIDE  # noqa: E731
    for k, (i, (t, size, label, _)) in enumerate(zip(chain_at, LEAK_CHAIN)):
        out[i] = Node(addr(i), t, size, True, "module" if k == 0 else None, label)
    out[list_at] = Node(addr(list_at), "list", 56 + 8 * leak)
    out[state_at] = Node(addr(state_at), "str", 54, gc=False)
    for i in leaked_at:
        out[i] = Node(addr(i), LEAK_ITEM_TYPE, LEAK_ITEM_SIZE)
    for k, i in enumerate(module_at):
        out[i] = Node(
            addr(i), "module", 72, True, "module", MODULES[k % len(MODULES)] + ("" if k < len(MODULES) else f"_{k}")
        )
    for k, i in enumerate(frame_at):
        out[i] = Node(addr(i), "frame", 480, True, "thread frame", f"worker.py:{40 + k} in serve")
    for i in external_at:
        out[i] = Node(addr(i), "dict", 232, True, "external")

    types = [t for t, *_ in TYPE_MIX]
    weights = [w for _, w, *_ in TYPE_MIX]
    info = {t: (size, gc, holds) for t, _, size, gc, holds in TYPE_MIX}
    drawn = rng.choices(types, weights, k=nodes)
    for i in range(nodes):
        if out[i] is None:
            t = drawn[i]
            size, gc, _ = info[t]
            if t in ("str", "bytes", "list", "dict"):
                size += 8 * rng.randrange(0, 24)
            label = f"handler_{i % 97}" if t in ("function", "code") else ""
            out[i] = Node(addr(i), t, size, gc, None, label)
    graph: list[Node] = out  # type: ignore[assignment]

    # The planted structure.
    for a, b in zip(chain_at, chain_at[1:]):
        graph[a].refs.append((b, LEAK_CHAIN[chain_at.index(a)][3], False, False))
    graph[chain_at[-1]].refs.append((list_at, LEAK_CHAIN[-1][3], False, False))
    for k, i in enumerate(leaked_at):
        graph[list_at].refs.append((i, f"[{k}]", False, False))
        graph[i].refs.append((state_at, "state", False, False))
    structural = len(LEAK_CHAIN) + 2 * leak

    # Filler references: sources weighted by kind, targets mostly near the source. Nothing points into the
    # planted structure, so the chain from any LeakedItem to a root is exactly the planted one.
    forbidden = set(chain_at) | {list_at} | set(leaked_at)
    holders = [i for i in range(nodes) if i not in forbidden and EDGE_WEIGHT.get(graph[i].type, 0) > 0]
    holder_weights = [EDGE_WEIGHT[graph[i].type] for i in holders]
    budget = max(0, round(nodes * edges_per_node) - structural)
    sources = sorted(rng.choices(holders, holder_weights, k=budget)) if holders else []
    gauss = rng.gauss
    for s in sources:
        while True:
            if rng.random() < 0.9:
                t = s + int(gauss(0, 24))
            else:
                t = rng.randrange(nodes)
            if 0 <= t < nodes and t != s and t not in forbidden:
                break
        node = graph[s]
        kind = node.type
        n = len(node.refs)
        weak = deferred = False
        if kind == "dict":
            label = f"['{DICT_KEYS[(s + n) % len(DICT_KEYS)]}']" if node.root is None else f"['k{n}']"
        elif kind in ("list", "tuple"):
            label = f"[{n}]"
        elif kind == "function":
            label = ("__globals__", "__code__", "__closure__", "__defaults__")[n % 4]
            deferred = label == "__globals__"
        elif kind == "cell":
            label = "cell_contents"
        elif kind == "weakref":
            label, weak = "referent", True
        elif kind == "method":
            label = ("__self__", "__func__")[n % 2]
        elif kind == "frame":
            label = f"f_locals['v{n}']" if n % 3 else "f_back"
        elif kind == "code":
            label = ("co_consts", "co_names")[n % 2]
        elif kind == "module":
            label = "__dict__" if n == 0 else f"['attr{n}']"
        elif kind == "set":
            label = ""
        else:
            label = "__dict__" if n == 0 else ATTRS[n % len(ATTRS)]
        node.refs.append((t, label, weak, deferred))
    return graph, list_at, state_at


def write_jsonl(graph: list[Node], out: IO[str], tag: str, time: float, pid: int, rss: int) -> None:
    meta = {
        "pid": pid,
        "host": "synthetic",
        "python_version": "3.11.7",
        "time": time,
        "rss": rss,
        "tag": tag,
        "values_included": False,
        "extra": {"generator": "samples/gen_dump.py"},
    }
    out.write(json.dumps({"refgraph": "jsonl", "version": 1, "metadata": meta}) + "\n")
    ids = [n.id for n in graph]
    quote = json.dumps
    lines = []
    for n in graph:
        parts = [f'{{"id":{n.id},"type":{quote(n.type)},"size":{n.size}']
        if not n.gc:
            parts.append(',"gc":false')
        if n.root:
            parts.append(f',"root":{quote(n.root)}')
        if n.label:
            parts.append(f',"label":{quote(n.label)}')
        if n.refs:
            refs = []
            for t, label, weak, deferred in n.refs:
                r = f'{{"to":{ids[t]}'
                if label:
                    r += f',"label":{quote(label)}'
                if weak:
                    r += ',"weak":true'
                if deferred:
                    r += ',"deferred":true'
                refs.append(r + "}")
            parts.append(',"refs":[' + ",".join(refs) + "]")
        parts.append("}\n")
        lines.append("".join(parts))
        if len(lines) >= 10000:
            out.write("".join(lines))
            lines.clear()
    out.write("".join(lines))


def grow(graph: list[Node], list_at: int, state_at: int, extra: int) -> list[Node]:
    """The later snapshot: the same objects plus `extra` LeakedItems appended to the leaking list."""
    later = list(graph)
    holder = graph[list_at]
    grown = Node(holder.id, holder.type, holder.size + 8 * extra, holder.gc, holder.root, holder.label)
    grown.refs = list(holder.refs)
    later[list_at] = grown
    first = len(graph)
    for k in range(extra):
        item = Node(BASE_ADDRESS + (first + k) * STRIDE, LEAK_ITEM_TYPE, LEAK_ITEM_SIZE)
        item.refs.append((state_at, "state", False, False))
        later.append(item)
        grown.refs.append((first + k, f"[{len(grown.refs)}]", False, False))
    return later


def write_file(path: str, graph: list[Node], tag: str, time: float, pid: int) -> None:
    rss = 96 * len(graph)
    if path == "-":
        write_jsonl(graph, sys.stdout, tag, time, pid, rss)
        sys.stdout.flush()
    else:
        with open(path, "w", encoding="utf-8") as out:
            write_jsonl(graph, out, tag, time, pid, rss)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=300, help="objects in the first dump (default 300)")
    p.add_argument("--edges-per-node", type=float, default=3.0, help="references per object on average (default 3)")
    p.add_argument("--leak", type=int, default=40, help="LeakedItem objects in the first dump (default 40)")
    p.add_argument(
        "--grow",
        type=float,
        default=0.0,
        help="the later dump has this many percent more objects, all new LeakedItems (default 0)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--pid", type=int, default=4242, help="process id recorded in the metadata")
    p.add_argument("-o", "--output", default="-", help="JSON Lines output for the first dump, - for stdout")
    p.add_argument("--later", help="JSON Lines output for the later dump (needs --grow)")
    args = p.parse_args(argv)
    if args.nodes <= 0 or args.leak < 0 or args.edges_per_node < 0 or args.grow < 0:
        p.error("--nodes must be positive; --leak, --edges-per-node and --grow must not be negative")
    if args.later and args.grow <= 0:
        p.error("--later needs --grow PERCENT")

    graph, list_at, state_at = build(args.nodes, args.edges_per_node, args.leak, args.seed)
    base_time = 1_767_225_600.0  # 2026-01-01T00:00:00Z: fixed, so the files are reproducible
    write_file(args.output, graph, "before", base_time, args.pid)
    if args.later:
        extra = round(args.nodes * args.grow / 100)
        write_file(args.later, grow(graph, list_at, state_at, extra), "after", base_time + 600, args.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
