"""What the interpreter and the standard library cache, put back between the runs of a leak check.

CPython's refleak hunter (``regrtest -R``: ``dash_R_cleanup`` and ``clear_caches`` in ``Lib/test/libregrtest``)
does this before it measures each repetition: some caches legitimately gain entries on every run (a finder in
``sys.path_importer_cache`` for each fresh directory put on ``sys.path``, the lines of each fresh file in
``linecache``), others fill up to a bound over the first runs (``re``'s compiled patterns, the standard library's
``functools.lru_cache`` caches). Neither is the test's leak, and both would read as growth run after run.

:class:`Cleanup` does it in two ways:

- the caches that are plain dicts (:data:`RESTORED`) are put back to the keys they had when the check started: the
  entries the runs added are dropped, those from before are kept (so the rest of the suite does not compile its
  patterns or list its directories again, and what a program registered, such as generated source in
  ``linecache``, stays);
- the ``lru_cache`` caches (:data:`CLEARED`), which cannot drop one entry, are emptied, as ``regrtest`` does, and so
  is the type attribute cache (which holds the names it caches), and the warnings registry of every module (keyed
  by message text, which may differ every run).

Only modules already imported are touched, read through their ``__dict__``: nothing is imported, no user code
runs. A cache that a Python version does not have is skipped.
"""

from __future__ import annotations

import sys

__all__ = ["CLEARED", "RESTORED", "Cleanup"]

_MODULE = type(sys)
_MODULE_DICT = _MODULE.__dict__["__dict__"]

# (module, dict attribute): put back to its keys at the check's start
RESTORED = (
    ("sys", "path_importer_cache"),
    ("linecache", "cache"),
    ("zipimport", "_zip_directory_cache"),
    ("re", "_cache"),
    ("re", "_cache2"),  # Python 3.12+
    ("inspect", "modulesbyfile"),
    ("inspect", "_filesbymodname"),
    ("_strptime", "_regex_cache"),
)

# (module, attribute path of an lru_cache'd function): emptied
CLEARED = (
    ("re", "_compile_repl"),
    ("fnmatch", "_compile_pattern"),
    ("importlib.metadata", "FastPath.__new__"),
    ("urllib.parse", "urlsplit"),
    ("urllib.parse", "_byte_quoter_factory"),
)


def _namespace(module):
    # a module's own namespace, read without attribute lookup on the module (no __getattr__ runs)
    return _MODULE_DICT.__get__(module) if issubclass(type(module), _MODULE) else None


def _lookup(module_name, path):
    namespace = _namespace(sys.modules.get(module_name))
    if namespace is None:
        return None
    head, _, rest = path.partition(".")
    value = namespace.get(head)
    for name in rest.split(".") if rest else ():  # a class's own attribute, as regrtest's FastPath.__new__
        value = value.__dict__.get(name) if isinstance(value, type) else None
    return value


def _restored():
    """{(module, attribute): dict} of the :data:`RESTORED` caches that exist now."""
    found = {}
    for module_name, attribute in RESTORED:
        cache = _lookup(module_name, attribute)
        if type(cache) is dict:
            found[module_name, attribute] = cache
    return found


def _clear():
    for module_name, path in CLEARED:
        clear = getattr(_lookup(module_name, path), "cache_clear", None)
        if clear is not None:
            clear()
    for module_name, clear_name in (("typing", "_cleanups"), ("struct", "_clearcache")):
        value = _lookup(module_name, clear_name)
        for clear in value if isinstance(value, list) else [value] if value is not None else ():
            clear()
    for module in list(sys.modules.values()):
        namespace = _namespace(module)
        registry = namespace.get("__warningregistry__") if namespace is not None else None
        if type(registry) is dict:
            registry.clear()
    sys._clear_type_cache()


class Cleanup:
    """``cleanup = Cleanup()`` when a check starts; ``cleanup()`` after each run, before measuring; ``close()``.

    Holds the keys that the :data:`RESTORED` caches had at the start (path strings, pattern keys), never a
    cached value.
    """

    __slots__ = ("_keys",)

    def __init__(self):
        self._keys = {name: set(cache) for name, cache in _restored().items()}

    def __call__(self):
        if self._keys is None:
            return
        for name, cache in _restored().items():
            kept = self._keys.get(name)
            if kept is None:  # its module was imported by a run: the cache is kept as it is from now on
                self._keys[name] = set(cache)
                continue
            for key in [key for key in cache if key not in kept]:
                cache.pop(key, None)
        _clear()

    def close(self):
        self._keys = None
