#!/usr/bin/env python3
"""Times the `refgraph` CLI on a synthetic 1,000,000-object, 3,000,000-reference dump against the core targets.

    python3 benchmarks/bench_core.py [--nodes 1000000] [--edges-per-node 3] [--repeat 3] [--cli build/dev/refgraph]

Generates (once; reused while the parameters match) benchmarks/out/base.rgd and benchmarks/out/later.rgd (1% more
objects, all LeakedItems) with samples/gen_dump.py piped into `refgraph import`, then runs `info`, `summary`,
`growth`, `chain` and a depth-6 `backrefs` render to PNG, each in a fresh process, `--repeat` times, and reports
the fastest run. Load and query times come from the CLI's hidden `--timing` flag; peak memory is the child's own
maximum resident set size (os.wait4), which includes the executable and its libraries (shown as the baseline:
`refgraph --version`). Prints a markdown table with the targets and the ratio measured/target (< 1 meets it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
GEN = ROOT / "samples" / "gen_dump.py"

TARGET_LOAD_S = 0.5
TARGET_QUERY_S = 0.3
TARGET_DUMP_BYTES_PER_NODE = 20.0
TARGET_PEAK_BYTES_PER_NODE = 120.0


def find_cli(explicit: str | None) -> str:
    for c in (explicit, os.environ.get("REFGRAPH_CLI"), shutil.which("refgraph"), str(ROOT / "build/dev/refgraph")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    sys.exit("bench_core.py: refgraph not found (use --cli, REFGRAPH_CLI, PATH or build build/dev/refgraph)")


class Run:
    def __init__(self, wall: float, load: float, query: float, peak: int, stdout: str) -> None:
        self.wall, self.load, self.query, self.peak, self.stdout = wall, load, query, peak, stdout


def run_cli(cli: str, args: list[str], timing: bool = True) -> Run:
    """Runs one command in a fresh process; its own peak RSS comes from wait4, not from all children together."""
    out_path, err_path = OUT / "stdout.txt", OUT / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen([cli, *args, *(["--timing"] if timing else [])], stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_text(errors="replace")
    if p.returncode != 0:
        sys.exit(f"bench_core.py: `refgraph {' '.join(args)}` failed ({p.returncode}): {stderr.strip()}")
    m = re.search(r"timing: load ([0-9.]+) s, query ([0-9.]+) s", stderr)
    load, query = (float(m.group(1)), float(m.group(2))) if m else (0.0, 0.0)
    return Run(wall, load, query, usage.ru_maxrss * 1024, out_path.read_text(errors="replace"))


def fastest(cli: str, args: list[str], repeat: int, timing: bool = True) -> Run:
    return min((run_cli(cli, args, timing) for _ in range(repeat)), key=lambda r: r.wall)


def generate(cli: str, nodes: int, epn: float, leak: int, seed: int) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    base, later = OUT / "base.rgd", OUT / "later.rgd"
    stamp = OUT / "params.json"
    params = {"nodes": nodes, "edges_per_node": epn, "leak": leak, "seed": seed, "grow": 1}
    if base.exists() and later.exists() and stamp.exists() and json.loads(stamp.read_text()) == params:
        return base, later
    stamp.unlink(missing_ok=True)
    later_jsonl = OUT / "later.jsonl"
    t0 = time.perf_counter()
    print(f"generating {nodes:,} objects, {round(nodes * epn):,} references into {OUT} ...", file=sys.stderr)
    gen = subprocess.Popen(
        [
            sys.executable,
            str(GEN),
            "--nodes",
            str(nodes),
            "--edges-per-node",
            str(epn),
            "--leak",
            str(leak),
            "--seed",
            str(seed),
            "--grow",
            "1",
            "-o",
            "-",
            "--later",
            str(later_jsonl),
        ],
        stdout=subprocess.PIPE,
    )
    imp = subprocess.run([cli, "import", "-", "-o", str(base)], stdin=gen.stdout, capture_output=True, text=True)
    gen.stdout.close()  # type: ignore[union-attr]
    if gen.wait() != 0 or imp.returncode != 0:
        sys.exit(f"bench_core.py: generating the dump failed: {imp.stderr.strip()}")
    imp = subprocess.run([cli, "import", str(later_jsonl), "-o", str(later)], capture_output=True, text=True)
    if imp.returncode != 0:
        sys.exit(f"bench_core.py: importing the later dump failed: {imp.stderr.strip()}")
    later_jsonl.unlink()
    stamp.write_text(json.dumps(params))
    print(f"generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return base, later


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=1_000_000)
    ap.add_argument("--edges-per-node", type=float, default=3.0)
    ap.add_argument("--leak", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", help="the refgraph executable (default: REFGRAPH_CLI, PATH, build/dev/refgraph)")
    args = ap.parse_args()
    cli = find_cli(args.cli)
    base, later = generate(cli, args.nodes, args.edges_per_node, args.leak, args.seed)

    info = json.loads(run_cli(cli, ["info", str(base), "--json"]).stdout)
    nodes, edges = info["num_nodes"], info["num_edges"]
    later_nodes = json.loads(run_cli(cli, ["info", str(later), "--json"]).stdout)["num_nodes"]
    png = OUT / "backrefs.png"
    # An ordinary object a third of the way into the heap (ids are allocation-ordered in gen_dump.py): its chain
    # search and its depth-6 neighbourhood are not shaped by the planted leak. Informational, no target.
    mid = hex(0x7F3A00000000 + (nodes // 3) * 0x40)

    cases: list[tuple[str, list[str]]] = [
        ("load (`info`)", ["info", str(base)]),
        ("`summary`", ["summary", str(base)]),
        ("`growth` (1% more objects)", ["growth", str(base), str(later)]),
        ("`chain --type LeakedItem`", ["chain", str(base), "--type", "LeakedItem"]),
        (
            "`backrefs --depth 6` to PNG",
            ["backrefs", str(base), "--type", "LeakedItem", "--depth", "6", "-o", str(png)],
        ),
    ]
    extra_cases: list[tuple[str, list[str]]] = [
        ("`chain --id` of an ordinary object", ["chain", str(base), "--id", mid]),
        (
            "`backrefs --depth 6` of an ordinary object to PNG",
            ["backrefs", str(base), "--id", mid, "--depth", "6", "-o", str(OUT / "backrefs_mid.png")],
        ),
    ]
    baseline = fastest(cli, ["--version"], args.repeat, timing=False)
    results: dict[str, Run] = {}
    for name, cmd in cases + extra_cases:
        results[name] = fastest(cli, cmd, args.repeat)
        print(f"  {name}: {results[name].wall:.3f} s wall", file=sys.stderr)
    if png.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("bench_core.py: the backrefs render did not produce a PNG")

    rows: list[tuple[str, str, str, float]] = []
    dump_bpn = base.stat().st_size / nodes
    rows.append(
        (
            "dump size",
            f"{base.stat().st_size / 2**20:.1f} MiB = {dump_bpn:.1f} B/object",
            f"< {TARGET_DUMP_BYTES_PER_NODE:.0f} B/object",
            dump_bpn / TARGET_DUMP_BYTES_PER_NODE,
        )
    )
    load = results["load (`info`)"]
    rows.append(
        (
            "load time",
            f"{load.load:.3f} s (process wall {load.wall:.3f} s)",
            f"< {TARGET_LOAD_S} s",
            load.load / TARGET_LOAD_S,
        )
    )
    peak_bpn = load.peak / nodes
    rows.append(
        (
            "peak memory, one dump loaded",
            f"{load.peak / 2**20:.0f} MiB = {peak_bpn:.0f} B/object (process baseline {baseline.peak / 2**20:.0f} MiB)",
            f"<= {TARGET_PEAK_BYTES_PER_NODE:.0f} B/object",
            peak_bpn / TARGET_PEAK_BYTES_PER_NODE,
        )
    )
    for name, _ in cases[1:]:
        r = results[name]
        rows.append(
            (
                f"{name}, after load",
                f"{r.query:.3f} s (load {r.load:.3f} s, wall {r.wall:.3f} s)",
                f"< {TARGET_QUERY_S} s",
                r.query / TARGET_QUERY_S,
            )
        )
    g = results["`growth` (1% more objects)"]
    growth_bpn = g.peak / (nodes + later_nodes)
    rows.append(
        (
            "peak memory, `growth` (two dumps loaded)",
            f"{g.peak / 2**20:.0f} MiB = {growth_bpn:.0f} B/object",
            f"<= {TARGET_PEAK_BYTES_PER_NODE:.0f} B/object",
            growth_bpn / TARGET_PEAK_BYTES_PER_NODE,
        )
    )

    for name, _ in extra_cases:
        r = results[name]
        drawn = f"; {r.stdout.strip().split(': ', 1)[-1]}" if "backrefs" in name else ""
        rows.append(
            (
                f"{name}, after load (informational)",
                f"{r.query:.3f} s (load {r.load:.3f} s, wall {r.wall:.3f} s){drawn}",
                "-",
                r.query / TARGET_QUERY_S,
            )
        )

    print(
        f"\nrefgraph core benchmark: {nodes:,} objects, {edges:,} references (later dump: {later_nodes:,} "
        f"objects); fastest of {args.repeat} runs; {os.cpu_count()} CPUs\n"
    )
    print("| measure | measured | target | measured/target |")
    print("|---|---|---|---|")
    for name, measured, target, ratio in rows:
        verdict = "" if ratio < 1.0 or target == "-" else " (missed)"
        print(f"| {name} | {measured} | {target} | {ratio:.2f}{verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
