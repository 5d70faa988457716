"""Live-heap benchmark: refgraph against objgraph, Pympler and guppy3, each measurement in a fresh process.

    python benchmarks/bench_live.py [--sizes 1000000,3000000] [--timeout 120] [--only typestats,summary] [--repeat 1]

Every child process builds the same heap of about N objects (a web-app-like mix: instances with a unique name
string, an int and a small dict, all held in lists reachable from a module; plus two leaks), then times one
operation of one tool once and prints its time as JSON. The parent prints one markdown table a heap size with each
ratio (the other tool's time divided by refgraph's) and the target it is checked against. A run that exceeds the
timeout is reported as '>timeout'. With --repeat N each cell is the fastest of N runs, for both tools alike: on a
shared machine single runs of the same operation vary by a third or more. After each table, the find_backref_chain
rows are set against one gc.get_referrers call on the same heap (one pass over every gc-tracked object's references,
the floor of any backward search of a live heap).
"""

import argparse
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# ---------------------------------------------------------------------------------------------------------------
# The heap (child side)


class Item:
    REGISTRY = []  # a list that is a class attribute: where the second leak hides


class Link:
    def __init__(self, nxt):
        self.next = nxt


class Leaked:
    pass


def build_heap(n_objects):
    """About n_objects objects, reachable from the module `benchapp`; returns the two leaked objects."""
    app = types.ModuleType("benchapp")
    sys.modules["benchapp"] = app
    per_item = 4  # the Item, its name (str), its value (int) and its meta (dict)
    count = n_objects // per_item
    app.ITEMS = [Item() for _ in range(count)]
    for i, item in enumerate(app.ITEMS):
        item.name = "item-%d" % i
        item.value = 1_000_000 + i
        item.meta = {"owner": i & 7}
    # leak 1: 10 references below the module: module -> __dict__ -> ['ROOT'] -> Link -> ... -> Leaked
    deep = Leaked()
    node = deep
    for _ in range(8):
        node = Link(node)
    app.ROOT = node
    # leak 2: in a list that is a class attribute of a class with `count` instances
    wide = Leaked()
    Item.REGISTRY.append(wide)
    return deep, wide


# ---------------------------------------------------------------------------------------------------------------
# Operations (child side): each returns a callable to time


def op(tool, name, deep, wide, tmp):
    png = os.path.join(tmp, "graph.png")
    if tool == "objgraph":
        import objgraph

        return {
            "typestats": lambda: objgraph.typestats(),
            "show_growth": lambda: objgraph.show_growth(file=io.StringIO()),
            "chain_deep": lambda: objgraph.find_backref_chain(deep, objgraph.is_proper_module),
            "chain_class_attr": lambda: objgraph.find_backref_chain(wide, objgraph.is_proper_module),
            "show_backrefs_png": lambda: objgraph.show_backrefs([deep], filename=png),
        }[name]
    if tool == "refgraph":
        import refgraph

        return {
            "typestats": lambda: refgraph.typestats(),
            "show_growth": lambda: refgraph.show_growth(file=io.StringIO()),
            "chain_deep": lambda: refgraph.find_backref_chain(deep, refgraph.is_proper_module),
            "chain_class_attr": lambda: refgraph.find_backref_chain(wide, refgraph.is_proper_module),
            "show_backrefs_png": lambda: refgraph.show_backrefs([deep], filename=png),
            "summary": lambda: refgraph.summary(file=io.StringIO()),
            "heap": lambda: refgraph.snapshot(),
            "sp_deep": lambda: refgraph.chain_report(deep),
            "sp_class_attr": lambda: refgraph.chain_report(wide),
        }[name]
    if tool == "pympler":
        from pympler import muppy, summary

        return {"summary": lambda: summary.format_(summary.summarize(muppy.get_objects()))}[name]
    if tool == "gc":
        import gc

        # One gc.get_referrers call: a single pass over every gc-tracked object's references, the least any backward
        # search of a live heap must do.
        return {"referrers": lambda: gc.get_referrers(deep)}[name]
    if tool == "guppy3":
        from guppy import hpy

        return {
            "heap": lambda: hpy().heap(),
            "sp_deep": lambda: str(hpy().iso(deep).sp),
            "sp_class_attr": lambda: str(hpy().iso(wide).sp),
        }[name]
    raise KeyError(tool)


def child(tool, name, n_objects):
    deep, wide = build_heap(n_objects)
    import gc

    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        fn = op(tool, name, deep, wide, tmp)
        if name == "show_growth":
            fn()  # the first call reports everything; time the steady state
        sink = io.StringIO()
        stdout, sys.stdout = sys.stdout, sink  # the tools' own prints ("Image generated as ...")
        try:
            t0 = time.perf_counter()
            fn()
            seconds = time.perf_counter() - t0
        finally:
            sys.stdout = stdout
    objects = None
    if tool == "refgraph" and name == "heap":
        import refgraph

        objects = len(refgraph.snapshot())
    print(json.dumps({"seconds": seconds, "objects": objects, "gc_objects": len(gc.get_objects())}))


# ---------------------------------------------------------------------------------------------------------------
# The comparisons (parent side)

# (operation label, refgraph op, [(other tool, its op)], minimum ratio wanted or None, or an absolute limit)
COMPARISONS = [
    ("typestats", "typestats", [("objgraph", "typestats")], 4.0, None),
    ("show_growth", "show_growth", [("objgraph", "show_growth")], 3.0, None),
    ("find_backref_chain, 10 hops below a module", "chain_deep", [("objgraph", "chain_deep")], None, 0.3),
    (
        "find_backref_chain, list that is a class attribute",
        "chain_class_attr",
        [("objgraph", "chain_class_attr")],
        None,
        0.3,
    ),
    ("show_backrefs to PNG", "show_backrefs_png", [("objgraph", "show_backrefs_png")], 3.0, None),
    ("summary (Pympler: summarize(muppy.get_objects()))", "summary", [("pympler", "summary")], 20.0, None),
    ("whole heap (guppy3: hpy().heap(); refgraph: snapshot())", "heap", [("guppy3", "heap")], None, None),
    (
        "shortest path, 10 hops below a module (guppy3 .sp; refgraph chain_report)",
        "sp_deep",
        [("guppy3", "sp_deep")],
        None,
        None,
    ),
    (
        "shortest path, class-attribute list (guppy3 .sp; refgraph chain_report)",
        "sp_class_attr",
        [("guppy3", "sp_class_attr")],
        None,
        None,
    ),
]


def measure(tool, name, n_objects, timeout):
    env = dict(os.environ)
    bindings = os.path.join(REPO, "bindings")
    # The dev build's module beside the sources, if there is one; else the installed package (`make bench`).
    if glob.glob(os.path.join(bindings, "refgraph", "_core*.so")):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (bindings, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", tool, name, str(n_objects)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["exit %d" % result.returncode])[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def best_of(repeat, tool, name, n_objects, timeout):
    """The fastest of `repeat` runs, each in a fresh process (a run that times out or fails ends the series: the
    others would too)."""
    best = None
    for _ in range(repeat):
        m = measure(tool, name, n_objects, timeout)
        if "seconds" not in m:
            return m
        if best is None or m["seconds"] < best["seconds"]:
            best = m
    return best


def fmt(m):
    if "timeout" in m:
        return ">%gs (timeout)" % m["timeout"]
    if "error" in m:
        return "error: " + m["error"][:60]
    return "%.3f s" % m["seconds"]


def table(n_objects, timeout, only, repeat):
    runs = "one run in a fresh process" if repeat == 1 else f"the fastest of {repeat} runs, each in a fresh process"
    print(f"\n### Live heap of about {n_objects:,} objects (each cell: {runs})\n")
    print("| operation | other tool | other | refgraph | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    note = ""
    chains = []  # (label, refgraph's measurement) of the find_backref_chain rows
    for label, ours, others, min_ratio, limit in COMPARISONS:
        if only and ours not in only:
            continue
        mine = best_of(repeat, "refgraph", ours, n_objects, timeout)
        if ours.startswith("chain_"):
            chains.append((label, mine))
        for tool, theirs in others:
            other = best_of(repeat, tool, theirs, n_objects, timeout)
            ratio, met = "", ""
            if "seconds" in mine:
                base = other.get("seconds", other.get("timeout"))
                if base is not None:
                    ratio = "%s%.1fx" % (">" if "timeout" in other else "", base / mine["seconds"])
                if min_ratio is not None and base is not None:
                    met = "yes" if base / mine["seconds"] >= min_ratio else "NO"
                if limit is not None:
                    met = "yes" if mine["seconds"] < limit else "NO"
            target = (f">= {min_ratio:g}x" if min_ratio else "") + (f"< {limit:g} s" if limit else "")
            print(f"| {label} | {tool} | {fmt(other)} | {fmt(mine)} | {ratio} | {target} | {met} |", flush=True)
        if ours == "heap" and mine.get("objects"):
            note = f"(refgraph captured {mine['objects']:,} objects, {mine['gc_objects']:,} of them gc-tracked)"
    if note:
        print(f"\n{note}")  # after the table, which a line of text would cut in two
    if chains:
        floor_table(chains, n_objects, timeout, repeat)


# find_backref_chain against the least a backward search can cost: one scan of every gc-tracked object's references
CHAIN_FLOOR_TARGET = 1.5


def floor_table(chains, n_objects, timeout, repeat):
    floor = best_of(repeat, "gc", "referrers", n_objects, timeout)
    print(f"\nfind_backref_chain against one gc.get_referrers call on the same heap ({fmt(floor)}):\n")
    print("| operation | refgraph | ratio to gc.get_referrers | target | met |")
    print("|---|---|---|---|---|")
    for label, mine in chains:
        ratio, met = "", ""
        if "seconds" in mine and "seconds" in floor:
            r = mine["seconds"] / floor["seconds"]
            ratio, met = f"{r:.2f}x", ("yes" if r <= CHAIN_FLOOR_TARGET else "NO")
        print(f"| {label} | {fmt(mine)} | {ratio} | <= {CHAIN_FLOOR_TARGET:g}x | {met} |", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,3000000", help="heap sizes in objects, comma-separated")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a run is cut short")
    parser.add_argument("--only", default="", help="refgraph operations to run, comma-separated (default: all)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per cell, each in a fresh process, for both tools; the fastest is shown",
    )
    args = parser.parse_args()
    only = {s for s in args.only.split(",") if s}
    print("## bench_live: refgraph vs objgraph, Pympler and guppy3 on a live heap")
    for n in (int(s) for s in args.sizes.split(",")):
        table(n, args.timeout, only, max(1, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
