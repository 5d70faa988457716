"""Count the instances of a class, and see them stop growing once the cache holds them weakly, as "Debugging
Memory Leaks in Python Web Applications" does with gc.get_objects() and objgraph.
"""

import weakref

import refgraph


class MyLeakyClass:
    pass


class Cache:
    """A cache that keeps its values alive: the leak."""

    def __init__(self):
        self._data = {}

    def add(self, key, obj):
        self._data[key] = obj


class WeakCache(Cache):
    """The fix: objects not referenced elsewhere are freed."""

    def __init__(self):
        self._data = weakref.WeakValueDictionary()


def serve(cache, requests, first_key):
    for key in range(first_key, first_key + requests):
        cache.add(key, MyLeakyClass())


def run(cache_class):
    global cache
    cache = cache_class()  # module-level, as a web app's cache would be
    for round_ in range(3):
        serve(cache, 100, first_key=100 * round_)
        print(
            f"{cache_class.__name__}: after {100 * (round_ + 1)} requests, "
            f"{refgraph.count('MyLeakyClass')} MyLeakyClass instances"
        )
    if refgraph.count("MyLeakyClass"):
        print("  held by: " + refgraph.chain_report(refgraph.by_type("MyLeakyClass")[0]))
    del cache


if __name__ == "__main__":
    run(Cache)
    run(WeakCache)
