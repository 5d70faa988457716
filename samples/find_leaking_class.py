"""Find a leaking class with growth and draw its back-reference chain, as "Finding memory leaks in Python" does
with an objgraph-based decorator: the same decorator on refgraph, plus the chain as text.

Run: python samples/find_leaking_class.py [--out DIR]
"""

import argparse
import functools
import os
import random

import refgraph


def memory_leak(cls, out_dir="."):
    """Decorate a function that must not leave instances of `cls` behind: report, and draw the chain, if it does."""

    def inner(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            peak = {}
            refgraph.growth(limit=None, peak_stats=peak)
            result = f(*args, **kwargs)
            leaks = [row for row in refgraph.growth(limit=None, peak_stats=peak) if row[0] == cls.__name__]
            if leaks:
                print(f"Memory leaks! {f.__name__}: {leaks[0][2]} new {cls.__name__}")
                leaked = random.choice(refgraph.by_type(cls.__name__))
                print("  " + refgraph.chain_report(leaked))
                chain = refgraph.find_backref_chain(leaked, refgraph.is_proper_module)
                refgraph.show_chain(chain, filename=os.path.join(out_dir, f"chain-{f.__name__}.png"))
            else:
                print(f"No leaks were found in {f.__name__}")
            return result

        return wrapper

    return inner


class MyLeakyObject:
    a = []


cache = []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the chain images")
    args = parser.parse_args(argv)

    @memory_leak(MyLeakyObject, args.out)
    def function_without_leak():
        a = MyLeakyObject()
        return a is not None

    @memory_leak(MyLeakyObject, args.out)
    def function_with_leak():
        a = MyLeakyObject()
        cache.append(a)  # stored in a global cache: the leak

    function_without_leak()
    function_with_leak()


if __name__ == "__main__":
    main()
