"""refgraph's demo: find the leak in a small web-app-like program, live, then on saved dumps with the CLI.

Run it with `make demo` or `python samples/demo.py [--out DIR]` (images go to DIR, default ./out).
"""

import argparse
import io
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import leaky_app  # noqa: E402
import refgraph  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def section(title):
    print(f"\n== {title} ==")


def run_cli(*args):
    print("$ refgraph " + " ".join(args))
    result = subprocess.run(["refgraph", *args], capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stdout.write(result.stderr)
    return result.returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="directory for the images (default: ./out)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    print("refgraph demo: a web app whose request handler caches every request in a module-level dict")

    section("1. Serve requests and watch what grows (refgraph.show_growth, as objgraph's)")
    leaky_app.simulate_requests(30)  # warm-up: imports, caches, first users
    refgraph.show_growth(file=io.StringIO())  # the baseline
    leaky_app.simulate_requests(100)
    print("after 100 more requests:")
    refgraph.show_growth(limit=4)
    leaky_app.simulate_requests(100)
    print("after 100 more requests:")
    refgraph.show_growth(limit=4)

    section("2. Snapshots before and after 50 requests: what grew, in objects and bytes")
    before = refgraph.snapshot()
    leaky_app.simulate_requests(50)
    after = refgraph.snapshot()
    print(f"{'type':<10} {'objects':>8} {'new':>6} {'bytes':>10} {'new bytes':>10}")
    for row in after.growth(before, limit=4, by_size=True):
        print(f"{row.type:<10} {row.count:>8} {row.count_delta:>+6} {row.size:>10} {row.size_delta:>+10}")

    section("3. Who keeps a new Request alive? (refgraph.chain_report)")
    new_requests = [node.id for node in after.new_objects(before) if node.type == "Request"]
    del before, after
    leaked = refgraph.at(new_requests[0])
    print(refgraph.chain_report(leaked))

    section("4. The same chain as an image (refgraph.show_chain)")
    image = os.path.join(args.out, "leak-chain.png")
    refgraph.show_chain(refgraph.find_backref_chain(leaked, refgraph.is_proper_module), filename=image)
    print(f"open {os.path.abspath(image)} to see it")
    del leaked

    section("5. The heap by type, every object counted, with sizes (refgraph.summary)")
    refgraph.summary(limit=6)

    section("6. The same questions on saved dumps, with the refgraph command")
    dumps = os.path.join(HERE, "dumps")
    before_rgd, after_rgd = os.path.join(dumps, "before.rgd"), os.path.join(dumps, "after.rgd")
    if not shutil.which("refgraph"):
        print("(the refgraph command is not on PATH: `make install` puts it there)")
    elif not (os.path.exists(before_rgd) and os.path.exists(after_rgd)):
        print(f"(no sample dumps in {dumps})")
    else:

        def rel(path):
            relative = os.path.relpath(path)
            return path if relative.startswith("..") else relative

        run_cli("summary", rel(after_rgd), "--top", "5")
        run_cli("growth", rel(before_rgd), rel(after_rgd), "--top", "5")
        run_cli(
            "backrefs",
            rel(after_rgd),
            "--type",
            "LeakedItem",
            "--limit",
            "1",
            "--depth",
            "12",
            "-o",
            os.path.join(args.out, "dump-backrefs.png"),
        )

    section("7. The same leak in a running web app: refgraph.web under gunicorn with two workers")
    import web_demo

    return web_demo.main()


if __name__ == "__main__":
    sys.exit(main())
