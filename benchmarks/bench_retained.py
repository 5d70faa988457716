#!/usr/bin/env python3
"""Times retained sizes (the dominator tree) and leak suspects, on dumps and on a live heap, against guppy3.

    python3 benchmarks/bench_retained.py [--nodes 1000000] [--live-objects 1000000] [--repeat 3] [--cli PATH]

Dumps: samples/gen_dump.py writes A (--nodes objects, 3 references each), B (1% more LeakedItems) and C (2% more);
`refgraph retained C` and `refgraph suspects A B C` run in fresh processes, the fastest of --repeat; the times
come from the CLI's --timing (load and query apart); the extra memory is the peak RSS of `retained` minus that of
`info` on the same dump, per object. Live: a child process builds a heap of about --live-objects objects (a cache
of sessions, each with a dict, a list and a payload) and times refgraph's snapshot + dominator tree, and guppy3's
heap + dominated size (`domisize`) of the cache, printing both values and the ratio. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import GEN, OUT, fastest, find_cli  # noqa: E402

TARGET_QUERY_1M_S = 0.5
TARGET_BYTES_PER_NODE = 16.0


def generate(cli: str, nodes: int, seed: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = [OUT / f"ret_{nodes}_{k}.rgd" for k in "abc"]
    if all(p.exists() for p in paths):
        return paths
    print(f"generating three dumps of {nodes:,} objects ...", file=sys.stderr)
    for grow, later in ((1, paths[1]), (2, paths[2])):
        jsonl = OUT / "ret_later.jsonl"
        gen = subprocess.Popen([sys.executable, str(GEN), "--nodes", str(nodes), "--leak", "1000", "--seed", str(seed),
                                "--grow", str(grow), "-o", "-", "--later", str(jsonl)], stdout=subprocess.PIPE)
        imp = subprocess.run([cli, "import", "-", "-o", str(paths[0])], stdin=gen.stdout, capture_output=True)
        gen.stdout.close()  # type: ignore[union-attr]
        if gen.wait() != 0 or imp.returncode != 0:
            sys.exit(f"bench_retained.py: generating failed: {imp.stderr.decode().strip()}")
        imp = subprocess.run([cli, "import", str(jsonl), "-o", str(later)], capture_output=True)
        if imp.returncode != 0:
            sys.exit(f"bench_retained.py: importing failed: {imp.stderr.decode().strip()}")
        jsonl.unlink()
    return paths


LIVE = textwrap.dedent("""
    import gc, json, sys, time
    n = int(sys.argv[1]) // 5
    class Session:
        def __init__(self, i):
            self.attrs = {"n": i}
            self.history = [float(i)]
            self.payload = bytearray(64)
    CACHE = [Session(i) for i in range(n)]
    gc.collect()
    tool = sys.argv[2]
    if tool == "refgraph":
        import refgraph
    else:
        import guppy
    t0 = time.perf_counter()
    if tool == "refgraph":
        snap = refgraph.snapshot()
        t1 = time.perf_counter()
        size = snap.retained(CACHE)
        snap.dominators(limit=20)
        objects = len(snap)
    else:
        hp = guppy.hpy()
        heap = hp.heap()
        t1 = time.perf_counter()
        size = hp.iso(CACHE).domisize
        objects = heap.count
    t2 = time.perf_counter()
    print(json.dumps({"capture": t1 - t0, "retained": t2 - t1, "total": t2 - t0, "size": size, "objects": objects}))
""")


def live(tool: str, objects: int) -> dict:
    p = subprocess.run([sys.executable, "-c", LIVE, str(objects), tool], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
    return json.loads(p.stdout)


def dominator_tree_seconds(dump: Path, repeat: int) -> float:
    code = ("import sys, time\nfrom refgraph import _core\ng = _core.load(sys.argv[1])\nbest = 1e9\n"
            "for _ in range(int(sys.argv[2])):\n    t = time.perf_counter(); _core.Dominators(g)\n"
            "    best = min(best, time.perf_counter() - t)\nprint(best)")
    p = subprocess.run([sys.executable, "-c", code, str(dump), str(repeat)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_retained.py: timing the dominator tree failed: {p.stderr.strip()}")
    return float(p.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--live-objects", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli")
    args = ap.parse_args()
    cli = find_cli(args.cli)
    a, b, c = generate(cli, args.nodes, args.seed)
    info = fastest(cli, ["info", str(c)], args.repeat)
    retained = fastest(cli, ["retained", str(c), "--top", "20"], args.repeat)
    suspects = fastest(cli, ["suspects", str(a), str(b), str(c), "--top", "5"], args.repeat)
    if "LeakedItem" not in suspects.stdout.splitlines()[0]:
        sys.exit("bench_retained.py: the planted leak is not the top suspect:\n" + suspects.stdout)
    nodes = json.loads(fastest(cli, ["info", str(c), "--json"], 1).stdout)["num_nodes"]
    tree_alone = dominator_tree_seconds(c, args.repeat)
    extra = max(0, retained.peak - info.peak) / nodes
    print(f"\n### Dumps: {nodes:,} objects, ~3 references each (`refgraph`, fastest of {args.repeat})\n")
    print("| command | load | query | peak RSS | target | ratio |")
    print("|---|---:|---:|---:|---|---:|")
    target = TARGET_QUERY_1M_S * nodes / 1_000_000
    print(f"| `retained --top 20` (dominator tree, per-type, chains) | {retained.load:.2f} s | {retained.query:.2f} s | "
          f"{retained.peak / 2**20:.0f} MiB | query < {target:.2f} s | {retained.query / target:.2f} |")
    print(f"| dominator tree alone (`_core.Dominators`, in process) | | {tree_alone:.2f} s | | < {target:.2f} s | "
          f"{tree_alone / target:.2f} |")
    print(f"| `suspects A B C` (three loads, two retainer trees, one dominator tree) | {suspects.load:.2f} s | "
          f"{suspects.query:.2f} s | {suspects.peak / 2**20:.0f} MiB | | |")
    print(f"| extra memory of `retained` over `info` | | | {extra:.1f} B/object | <= {TARGET_BYTES_PER_NODE:.0f} "
          f"B/object | {extra / TARGET_BYTES_PER_NODE:.2f} |")

    print(f"\n### Live heap: retained size of a cache of sessions (~{args.live_objects:,} objects)\n")
    print("| tool | objects seen | capture | retained size query | total | retained size of the cache |")
    print("|---|---:|---:|---:|---:|---:|")
    results = {tool: live(tool, args.live_objects) for tool in ("refgraph", "guppy3")}
    for tool, r in results.items():
        if "error" in r:
            print(f"| {tool} | failed: {r['error']} | | | | |")
        else:
            print(f"| {tool} | {r['objects']:,} | {r['capture']:.2f} s | {r['retained']:.2f} s | {r['total']:.2f} s | "
                  f"{r['size']:,} B |")
    if all("error" not in r for r in results.values()):
        print(f"\nguppy3 / refgraph, total time: {results['guppy3']['total'] / results['refgraph']['total']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
