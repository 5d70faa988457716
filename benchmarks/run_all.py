"""Run every benchmarks/bench_*.py in turn and print their tables.

    python benchmarks/run_all.py

Each benchmark runs with its defaults in its own process; a failing one is named at the end.
"""

import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    failed = []
    for script in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        name = os.path.basename(script)
        print(f"\n# {name}\n", flush=True)
        result = subprocess.run([sys.executable, script])
        if result.returncode != 0:
            failed.append(name)
            print(f"\n{name} failed with exit status {result.returncode}", flush=True)
    if failed:
        print("\nfailed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
