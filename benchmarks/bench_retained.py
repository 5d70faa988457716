#!/usr/bin/env python3
"""Times retained sizes (the dominator tree) and leak suspects, on dumps and on a live heap, against guppy3.

    python3 benchmarks/bench_retained.py [--nodes 1000000 10000000] [--live-objects 1000000 10000000] [--repeat 3]
                                         [--cli PATH] [--guppy-timeout 900]

Dumps (each --nodes size): samples/gen_dump.py writes A (N objects, 3 references each), B (1% more LeakedItems)
and C (2% more); `refgraph retained C` and `refgraph suspects A B C` run in fresh processes, the fastest of
--repeat (one run above 1M objects); load and query times come from the CLI's --timing, CPU time from wait4.
The dominator tree alone is timed in a process that loaded C, and its memory measured there: the peak resident
size during `_core.Dominators` over the size before it (the peak is reset through /proc/self/clear_refs first), per
object, with the graph's in-edge index built beforehand (chains need it anyway) and its own cost shown apart.
Live (each --live-objects size): a child process builds a heap of about that many objects (a cache of sessions,
each with a dict, a list and a payload) and times refgraph's snapshot, dominator tree and retained-size query, and
guppy3's heap and dominated size (`domisize`) of the cache, printing both sizes and the ratio. Then
`Snapshot.new_objects` with tracemalloc tracing against not tracing. Prints markdown tables, with the load
average: on a shared machine wall times stretch, CPU times less.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import GEN, OUT, find_cli  # noqa: E402

TARGET_QUERY_1M_S = 0.5
TARGET_LIVE_10M_S = 5.0
TARGET_BYTES_PER_NODE = 16.0
TARGET_TRACED_RATIO = 2.0


def generate(cli: str, nodes: int, seed: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = [OUT / f"ret_{nodes}_{k}.rgd" for k in "abc"]
    if all(p.exists() for p in paths):
        return paths
    print(f"generating three dumps of {nodes:,} objects ...", file=sys.stderr)
    for grow, later in ((1, paths[1]), (2, paths[2])):
        jsonl = OUT / "ret_later.jsonl"
        gen = subprocess.Popen(
            [
                sys.executable,
                str(GEN),
                "--nodes",
                str(nodes),
                "--leak",
                "1000",
                "--seed",
                str(seed),
                "--grow",
                str(grow),
                "-o",
                "-",
                "--later",
                str(jsonl),
            ],
            stdout=subprocess.PIPE,
        )
        imp = subprocess.run([cli, "import", "-", "-o", str(paths[0])], stdin=gen.stdout, capture_output=True)
        gen.stdout.close()  # type: ignore[union-attr]
        if gen.wait() != 0 or imp.returncode != 0:
            sys.exit(f"bench_retained.py: generating failed: {imp.stderr.decode().strip()}")
        imp = subprocess.run([cli, "import", str(jsonl), "-o", str(later)], capture_output=True)
        if imp.returncode != 0:
            sys.exit(f"bench_retained.py: importing failed: {imp.stderr.decode().strip()}")
        jsonl.unlink()
    return paths


class Run:
    def __init__(self, wall: float, cpu: float, load: float, query: float, peak: int, stdout: str) -> None:
        self.wall, self.cpu, self.load, self.query, self.peak, self.stdout = wall, cpu, load, query, peak, stdout


def run_cli(cli: str, args: list[str]) -> Run:
    """One command in a fresh process: wall, CPU (user + system, from wait4), --timing's load and query, peak RSS."""
    err_path = OUT / "stderr.txt"
    with open(OUT / "stdout.txt", "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([cli, *args, "--timing"], stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench_retained.py: `refgraph {' '.join(args)}` failed: {err_path.read_text(errors='replace')}")
    m = re.search(r"timing: load ([0-9.]+) s, query ([0-9.]+) s", err_path.read_text(errors="replace"))
    load, query = (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)
    return Run(
        wall,
        usage.ru_utime + usage.ru_stime,
        load,
        query,
        usage.ru_maxrss * 1024,
        (OUT / "stdout.txt").read_text(errors="replace"),
    )


def fastest(cli: str, args: list[str], repeat: int) -> Run:
    return min((run_cli(cli, args) for _ in range(repeat)), key=lambda r: r.wall)


TREE = textwrap.dedent("""
    import json, sys, time
    from refgraph import _core
    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))
    def reset_peak():
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    g = _core.load(sys.argv[1])
    n = len(g)
    reset_peak()
    rss0 = status("VmRSS:")
    g.in_edges(0)  # the in-edge index: built once per graph, by whichever query asks first
    index_bytes = status("VmHWM:") - rss0
    best = cpu = 1e9
    for _ in range(int(sys.argv[2])):
        reset_peak()
        rss0 = status("VmRSS:")
        t, c = time.perf_counter(), time.process_time()
        d = _core.Dominators(g)
        t, c = time.perf_counter() - t, time.process_time() - c
        peak, kept = status("VmHWM:") - rss0, status("VmRSS:") - rss0
        best, cpu = min(best, t), min(cpu, c)
        del d
    print(json.dumps({"nodes": n, "wall": best, "cpu": cpu, "peak": peak / n, "kept": kept / n,
                      "index": index_bytes / n}))
""")


def tree_alone(dump: Path, repeat: int) -> dict:
    p = subprocess.run([sys.executable, "-c", TREE, str(dump), str(repeat)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_retained.py: timing the dominator tree failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


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
        from refgraph import _core
    else:
        import guppy
    clock = lambda: (time.perf_counter(), time.process_time())
    t0 = clock()
    if tool == "refgraph":
        snap = refgraph.snapshot()
        t1 = clock()
        _core.Dominators(snap.graph)  # the tree alone
        t2 = clock()
        size = snap.retained(CACHE)  # a tree again, and the query
        snap.dominators(limit=20)
        objects = len(snap)
    else:
        hp = guppy.hpy()
        heap = hp.heap()
        t1 = t2 = clock()
        size = hp.iso(CACHE).domisize
        objects = heap.count
    t3 = clock()
    print(json.dumps({"capture": t1[0] - t0[0], "capture_cpu": t1[1] - t0[1], "tree": t2[0] - t1[0],
                      "tree_cpu": t2[1] - t1[1], "retained": t3[0] - t2[0], "total": t3[0] - t0[0],
                      "total_cpu": t3[1] - t0[1], "size": size, "objects": objects}))
""")


def live(tool: str, objects: int, timeout: float) -> dict:
    try:
        p = subprocess.run(
            [sys.executable, "-c", LIVE, str(objects), tool], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"gave up after {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
    return json.loads(p.stdout)


NEW_OBJECTS = textwrap.dedent("""
    import json, sys, time, tracemalloc
    import refgraph
    def once(frames):
        if frames:
            tracemalloc.start(frames)
        try:
            before = refgraph.snapshot()
            fresh = [{"i": i} for i in range(28000)] + [object() for _ in range(28000)]
            after = refgraph.snapshot()
            c = time.process_time()
            nodes = after.new_objects(before)
            return time.process_time() - c, len(nodes)
        finally:
            if frames:
                tracemalloc.stop()
    out = {}
    for frames in (0, 1, 25):
        out[frames] = min(once(frames) for _ in range(5))
    print(json.dumps(out))
""")


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--live-objects", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--guppy-timeout", type=float, default=900)
    ap.add_argument("--cli")
    args = ap.parse_args()
    cli = find_cli(args.cli)
    print(f"load average at the start (1, 5, 15 min): {load_average()} on {os.cpu_count()} CPUs")

    print("\n### Dumps: ~3 references an object (`refgraph`)\n")
    print("| objects | command | load | query (wall) | CPU, whole process | peak RSS | target | ratio |")
    print("|---:|---|---:|---:|---:|---:|---|---:|")
    memory_rows = []
    for size in args.nodes:
        repeat = args.repeat if size <= 1_000_000 else 1
        a, b, c = generate(cli, size, args.seed)
        retained = fastest(cli, ["retained", str(c), "--top", "20"], repeat)
        suspects = fastest(cli, ["suspects", str(a), str(b), str(c), "--top", "5"], repeat)
        if "LeakedItem" not in suspects.stdout.splitlines()[0]:
            sys.exit("bench_retained.py: the planted leak is not the top suspect:\n" + suspects.stdout)
        tree = tree_alone(c, repeat)
        nodes = tree["nodes"]
        target = TARGET_QUERY_1M_S * nodes / 1_000_000
        print(
            f"| {nodes:,} | dominator tree alone (`_core.Dominators`, in process) | | {tree['wall']:.2f} s | "
            f"{tree['cpu']:.2f} s (tree only) | | < {target:.2f} s | {tree['wall'] / target:.2f} "
            f"({tree['cpu'] / target:.2f} CPU) |"
        )
        print(
            f"| {nodes:,} | `retained C --top 20` (tree, per type, chains) | {retained.load:.2f} s | "
            f"{retained.query:.2f} s | {retained.cpu:.2f} s | {retained.peak / 2**20:.0f} MiB | | |"
        )
        print(
            f"| {nodes:,} | `suspects A B C` (three loads, two retainer trees, one dominator tree) | "
            f"{suspects.load:.2f} s | {suspects.query:.2f} s | {suspects.cpu:.2f} s | "
            f"{suspects.peak / 2**20:.0f} MiB | | |"
        )
        memory_rows.append(tree)

    print("\n### Memory of the dominator tree, per object (in process, on C)\n")
    print(
        "| objects | peak during the tree | kept (idom + retained) | target | ratio | "
        "the graph's in-edge index (built once, shared with chains) |"
    )
    print("|---:|---:|---:|---|---:|---:|")
    for tree in memory_rows:
        print(
            f"| {tree['nodes']:,} | {tree['peak']:.1f} B | {tree['kept']:.1f} B | <= {TARGET_BYTES_PER_NODE:.0f} B | "
            f"{tree['peak'] / TARGET_BYTES_PER_NODE:.2f} | {tree['index']:.1f} B |"
        )

    print("\n### Live heap: retained size of a cache of sessions\n")
    print(
        "| objects asked | tool | objects seen | capture | dominator tree (CPU) | retained size query | total (CPU) | "
        "retained size of the cache |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in args.live_objects:
        results = {
            tool: live(tool, size, args.guppy_timeout if tool == "guppy3" else 3600) for tool in ("refgraph", "guppy3")
        }
        for tool, r in results.items():
            if "error" in r:
                print(f"| {size:,} | {tool} | failed: {r['error']} | | | | | |")
                continue
            tree = f"{r['tree']:.2f} s ({r['tree_cpu']:.2f} s)" if tool == "refgraph" else "(in the query)"
            print(
                f"| {size:,} | {tool} | {r['objects']:,} | {r['capture']:.2f} s | {tree} | {r['retained']:.2f} s | "
                f"{r['total']:.2f} s ({r['total_cpu']:.2f} s) | {r['size']:,} B |"
            )
        if all("error" not in r for r in results.values()):
            g, r = results["guppy3"], results["refgraph"]
            print(
                f"| {size:,} | guppy3 / refgraph | | | | | {g['total'] / r['total']:.1f}x "
                f"({g['total_cpu'] / r['total_cpu']:.1f}x CPU) | sizes {g['size'] / r['size']:.3f}x |"
            )
        if "error" not in results["refgraph"] and size >= 10_000_000:
            r = results["refgraph"]
            print(
                f"\ntarget: the dominator tree of a {r['objects']:,}-object live capture < {TARGET_LIVE_10M_S:.0f} s: "
                f"{r['tree']:.2f} s wall, {r['tree_cpu']:.2f} s CPU (ratio {r['tree'] / TARGET_LIVE_10M_S:.2f})"
            )

    p = subprocess.run([sys.executable, "-c", NEW_OBJECTS], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_retained.py: timing new_objects failed: {p.stderr.strip()}")
    t = {int(k): v for k, v in json.loads(p.stdout).items()}
    print(f"\n### `Snapshot.new_objects` of {t[0][1]:,} new objects, CPU time (best of 5)\n")
    print("| tracemalloc | time | ratio to untraced | target |")
    print("|---|---:|---:|---|")
    print(f"| not tracing | {t[0][0] * 1000:.1f} ms | 1.00 | |")
    for frames in (1, 25):
        print(
            f"| tracing, {frames} frame{'s' if frames > 1 else ''} | {t[frames][0] * 1000:.1f} ms | "
            f"{t[frames][0] / t[0][0]:.2f} | <= {TARGET_TRACED_RATIO:.0f} |"
        )
    print(f"\nload average at the end (1, 5, 15 min): {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
