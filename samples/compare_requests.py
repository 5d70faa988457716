"""Compare heap snapshots taken before and after a request, as "Tracking memory in FastAPI with tracemalloc" does
with tracemalloc snapshots: refgraph says which types grew, by how many objects and bytes, and who holds the new
objects. The snapshots are saved as dumps for the `refgraph` command.

Run: python samples/compare_requests.py [--out DIR]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import leaky_app  # noqa: E402
import refgraph  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the dumps")
    args = parser.parse_args(argv)

    leaky_app.simulate_requests(10)  # warm-up
    first = refgraph.snapshot(tag="before request")
    leaky_app.handle("/some/operation", "alice", bytes(4096))
    last = refgraph.snapshot(tag="after request")

    print("What one request left behind:")
    print(f"{'type':<12} {'new objects':>11} {'new bytes':>10}")
    for row in last.growth(first, by_size=True, limit=10):
        print(f"{row.type:<12} {row.count_delta:>+11} {row.size_delta:>+10}")

    new = [node for node in last.new_objects(first) if node.type == "Request"]
    for node in new:
        print("\nA new Request is held by:\n  " + str(last.chain(node.id)))

    for snap, name in ((first, "first.rgd"), (last, "last.rgd")):
        path = os.path.join(args.out, name)
        snap.save(path)
        print(f"saved {path}")
    print(f"try: refgraph growth {os.path.join(args.out, 'first.rgd')} {os.path.join(args.out, 'last.rgd')}")


if __name__ == "__main__":
    main()
