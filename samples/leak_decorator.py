"""The `memory_leak(type)` decorator of "Finding memory leaks in Python" (objgraph growth + show_chain, by hand),
done with refgraph's own decorator: repeat the function, report a type that grows with every call, draw the chain.

Run: python samples/leak_decorator.py [--out DIR]      (the chain image goes to DIR, default: the current directory)
"""

import argparse

import refgraph


class MyLeakyObject:
    a = []


cache = []


def function_without_leak():
    a = MyLeakyObject()  # noqa: F841 - made and dropped: no leak


def function_with_leak():
    a = MyLeakyObject()
    cache.append(a)  # kept by a module-level list: a leak


def memory_leak(t, out="."):
    """The article's decorator: print "Memory leaks!" and the chain (drawn to a PNG), or "No leaks were found!"."""

    def inner(f):
        checked = refgraph.no_leaks(f, types=[t], images=out)

        def wrapper(*args):
            try:
                result = checked(*args)
            except refgraph.LeakError as error:
                print(f"Memory leaks!\n{error}")
                return None
            print("No leaks were found!")
            return result

        return wrapper

    return inner


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for the chain image")
    out = parser.parse_args().out
    memory_leak(MyLeakyObject, out)(function_without_leak)()
    memory_leak(MyLeakyObject, out)(function_with_leak)()
