"""pytest plugin for refgraph leak checks (inert unless asked).

    @pytest.mark.no_leaks                  # run this test up to 2 + 5 times; fail it if a type grows with every call
    @pytest.mark.no_leaks(calls=10, types=["User"], trace=True)
    def test_handler(): ...

    def test_block(leak_check):            # a block run once, compared before/after
        with leak_check():
            ...

    pytest --refgraph-leaks                # the check on every test (@pytest.mark.no_leaks(False) opts out)
    pytest --refgraph-leaks-dir=leaks      # a PNG of each leak's chain under leaks/

A checked test's body runs up to ``warmup + calls`` times (fewer once no type can still leak) with the same fixture
values; the fixtures are set up once.
The runner hook is only registered when a collected test carries the marker or the flag is given.
"""

from __future__ import annotations

import inspect

import pytest

MARKER = "no_leaks"
_FAILURES = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("refgraph", "refgraph leak checks")
    group.addoption("--refgraph-leaks", action="store_true", default=False,
                    help="check every test for leaks: run its body up to warm-up + measured times (see the no_leaks marker)")
    group.addoption("--refgraph-leaks-dir", metavar="DIR", default=None,
                    help="write a PNG of each leak's reference chain to DIR")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "no_leaks(types=None, ignore=(), warmup=2, calls=5, allowed=0, min_bytes_per_call=256, images=None, "
        "trace=False): run the test body up to warmup + calls times and fail it if a type grows with every call "
        "(refgraph); no_leaks(False) turns the check off under --refgraph-leaks.",
    )
    config.stash[_FAILURES] = []


def pytest_collection_modifyitems(session, config, items):
    if config.pluginmanager.has_plugin("refgraph-leak-runner"):
        return
    if config.getoption("refgraph_leaks") or any(item.get_closest_marker(MARKER) for item in items):
        config.pluginmanager.register(_Runner(config), "refgraph-leak-runner")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    failures = config.stash.get(_FAILURES, None)
    if failures:
        terminalreporter.write_sep("=", "refgraph: leaking tests")
        for nodeid, line in failures:
            terminalreporter.write_line(f"{nodeid}: {line}")


class _Runner:
    """Repeats marked test bodies (or every one, with --refgraph-leaks) under the leak check."""

    def __init__(self, config):
        self.every_test = config.getoption("refgraph_leaks")
        self.images = config.getoption("refgraph_leaks_dir")
        self.failures = config.stash[_FAILURES]

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        __tracebackhide__ = True
        from . import leakcheck

        marker = pyfuncitem.get_closest_marker(MARKER)
        if marker is None and not self.every_test:
            return None
        options = {}
        if marker is not None:
            if marker.args == (False,):
                return None
            if marker.args:
                pytest.fail(f"@pytest.mark.{MARKER}: takes keyword options only, or False; got {marker.args!r}",
                            pytrace=False)
            options = dict(marker.kwargs)
        if self.images is not None:
            options.setdefault("images", self.images)
        try:
            opts = leakcheck._Options.make(**options)
        except (TypeError, ValueError) as error:
            pytest.fail(f"@pytest.mark.{MARKER}: {error}", pytrace=False)
        test = pyfuncitem.obj
        kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        where = pyfuncitem.nodeid
        before_call = _log_capture_reset(pyfuncitem)
        try:
            if inspect.iscoroutinefunction(test):
                import asyncio

                asyncio.run(leakcheck._run_async(test, (), kwargs, opts, where, before_call=before_call))
            else:
                leakcheck._run_sync(test, (), kwargs, opts, where, before_call=before_call)
        except leakcheck.LeakError as error:
            self.failures.append((where, error.one_line()))
            raise
        return True


def _log_capture_reset(item):
    """A function that empties pytest's captured log records of this test, or None.

    pytest keeps every log record of a test for its report and for ``caplog``: a body run 7 times that logs would
    look like a leak of LogRecord. Emptying them before each run leaves each run what it would see alone, and the
    report the last run's log.
    """
    try:
        from _pytest.logging import caplog_handler_key  # private, hence the fallbacks
    except ImportError:
        return None
    logging_plugin = item.config.pluginmanager.get_plugin("logging-plugin")
    report_handler = getattr(logging_plugin, "report_handler", None)

    def reset():
        for handler in (item.stash.get(caplog_handler_key, None), report_handler):
            if handler is not None and hasattr(handler, "reset"):
                handler.reset()

    return reset


@pytest.fixture
def leak_check(request):
    """``with leak_check(**options):`` fails the test if the block leaves new objects alive.

    The options are those of :class:`refgraph.leak_check`; images go to ``--refgraph-leaks-dir`` by default and
    a leak is listed in the terminal summary.
    """
    from . import leakcheck

    images = request.config.getoption("refgraph_leaks_dir")
    failures = request.config.stash[_FAILURES]
    nodeid = request.node.nodeid

    class _FixtureCheck(leakcheck.leak_check):
        def __exit__(self, exc_type, exc, tb):
            __tracebackhide__ = True
            try:
                return super().__exit__(exc_type, exc, tb)
            except leakcheck.LeakError as error:
                failures.append((nodeid, error.one_line()))
                raise

    def factory(**options):
        options.setdefault("images", images)
        options.setdefault("where", nodeid)
        return _FixtureCheck(**options)

    return factory
