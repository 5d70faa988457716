"""pytest plugin for refgraph leak checks (inert unless asked).

    @pytest.mark.no_leaks                  # repeat this test; fail it if a type grows with every run
    @pytest.mark.no_leaks(calls=10, types=["User"], trace=True)
    def test_handler(): ...

    def test_block(leak_check):            # a block run once, compared before/after
        with leak_check():
            ...

    pytest --refgraph-leaks                # the check on every test (@pytest.mark.no_leaks(False) opts out)
    pytest --refgraph-leaks-runs=8         # measured runs per test (default 5)
    pytest --refgraph-leaks-dir=leaks      # a PNG of each leak's chain under leaks/
    [pytest] refgraph_leaks_ignore = Token Session      # type names never reported, in every test
    [pytest] refgraph_leaks_ignore_holders =            # known leaks (one glob pattern on a holder a line):
                 module click* -> attr '_default_text_std*   # listed in the summary, not failures

A checked test is repeated as a whole, as CPython's ``regrtest -R`` does: each run sets up its function-scoped
fixtures and tears them down, and the heap is measured after the teardown. Module-, class-, package- and
session-scoped fixtures stay set up across the runs, so what they gain run after run is the test's leak. The first
run is the test's own: its outcome is the test's, and a test that fails or errors only when repeated is reported
as not leak-checked instead of failing. A leak fails the test with a ``LeakError`` as its call's failure; the
terminal summary lists the leaking tests by holder, and those that could not be repeated.
The runner hook is only registered when a collected test carries the marker or the flag is given.
"""

from __future__ import annotations

import inspect
import re
import warnings

import pytest

MARKER = "no_leaks"
_BAD_OPTIONS = pytest.StashKey[str]()
_RESULTS = pytest.StashKey["_Results"]()
_REPEAT_RERAISE = (pytest.exit.Exception, KeyboardInterrupt)
_IDS_SHOWN = 3


def pytest_addoption(parser):
    group = parser.getgroup("refgraph", "refgraph leak checks")
    group.addoption(
        "--refgraph-leaks",
        action="store_true",
        default=False,
        help="check every test for leaks: repeat it (fixtures set up and torn down each run) and fail it "
        "if a type grows with every run (see the no_leaks marker)",
    )
    group.addoption(
        "--refgraph-leaks-runs",
        metavar="N",
        type=int,
        default=None,
        help="measured runs of a checked test once it grows (default 5; a marker's calls= wins)",
    )
    group.addoption(
        "--refgraph-leaks-dir", metavar="DIR", default=None, help="write a PNG of each leak's reference chain to DIR"
    )
    parser.addini(
        "refgraph_leaks_ignore",
        type="args",
        default=[],
        help="type names the leak checks never report, in every test (space separated)",
    )
    parser.addini(
        "refgraph_leaks_ignore_holders",
        type="linelist",
        default=[],
        help="known leaks, one glob pattern a line on a holder's signature as the summary prints it "
        '(* is any text), e.g. "module click* -> attr \'_default_text_std*": growth held only '
        "through such holders does not fail a test; the summary lists it as a known leak",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "no_leaks(types=None, ignore=(), warmup=2, calls=5, allowed=0, min_bytes_per_call=256, images=None, "
        "trace=False, ignore_holders=()): repeat the test (fixtures set up and torn down each run) and fail it if a "
        "type grows with every run (refgraph); no_leaks(False) turns the check off under --refgraph-leaks.",
    )
    runs = config.getoption("refgraph_leaks_runs")
    if runs is not None and runs < 1:
        raise pytest.UsageError(f"--refgraph-leaks-runs must be an integer >= 1, got {runs}")
    results = _Results()
    config.stash[_RESULTS] = results
    config.pluginmanager.register(results, "refgraph-leak-results")


def pytest_collection_modifyitems(session, config, items):
    if config.pluginmanager.has_plugin("refgraph-leak-runner"):
        return
    if config.getoption("refgraph_leaks") or any(item.get_closest_marker(MARKER) for item in items):
        config.pluginmanager.register(_Runner(config), "refgraph-leak-runner")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A LeakError raised in a test (the runner's, or the leak_check fixture's) goes on its report as data, so the
    summary can group it, also from pytest-xdist's workers (report attributes travel with the report)."""
    outcome = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if error is not None and type(error).__name__ == "LeakError" and hasattr(error, "holders"):
        report = outcome.get_result()
        report.refgraph_leak = [[h.key, h.signature, h.root_kind, list(h.types)] for h in error.holders]


class _Results:
    """What the leak checks found, for the terminal summary: read from the logged reports, so the tests run by
    pytest-xdist's workers count too (report attributes travel with the report)."""

    def __init__(self):
        self.checked = 0
        self.leaking = []  # [(nodeid, _HolderData)]
        self.known = []  # [(nodeid, _HolderData)]: growth through holders that refgraph_leaks_ignore_holders names
        self.not_checked = []  # [(nodeid, first error line)]

    def pytest_runtest_logreport(self, report):
        if getattr(report, "refgraph_checked", False):
            self.checked += 1
        line = getattr(report, "refgraph_not_checked", None)
        if line is not None:
            self.not_checked.append((report.nodeid, line))
        for key, signature, root_kind, types in getattr(report, "refgraph_leak", None) or ():
            self.leaking.append((report.nodeid, _HolderData(key, signature, root_kind, tuple(types))))
        for key, signature, root_kind, types in getattr(report, "refgraph_known", None) or ():
            self.known.append((report.nodeid, _HolderData(key, signature, root_kind, tuple(types))))


class _HolderData:
    __slots__ = ("key", "signature", "root_kind", "types")

    def __init__(self, key, signature, root_kind, types):
        self.key, self.signature, self.root_kind, self.types = key, signature, root_kind, types


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(_RESULTS, None)
    if results is None or not (results.leaking or results.not_checked or results.checked or results.known):
        return
    write = terminalreporter.write_line
    if results.leaking:
        tests = len({nodeid for nodeid, _ in results.leaking})
        _write_groups(terminalreporter, results.leaking, f"{tests} leaking test{'s' * (tests != 1)}")
    if results.known:
        tests = len({nodeid for nodeid, _ in results.known})
        _write_groups(
            terminalreporter,
            results.known,
            f"{tests} test{'s' * (tests != 1)} growing through ignored holders (known leaks)",
        )
    if results.not_checked:
        n = len(results.not_checked)
        terminalreporter.write_sep(
            "=", f"refgraph: {n} test{'s' * (n != 1)} not leak-checked: fail{'s' * (n == 1)} when repeated"
        )
        for nodeid, line in results.not_checked:
            write(f"{nodeid}: {line}")
    if not (results.checked or results.not_checked):
        return  # only the leak_check fixture was used
    leaking = len({nodeid for nodeid, _ in results.leaking})
    known = len({nodeid for nodeid, _ in results.known})
    write(
        f"refgraph: {results.checked} test{'s' * (results.checked != 1)} leak-checked, {leaking} leaking, "
        + (f"{known} growing through ignored holders only, " if results.known else "")
        + f"{len(results.not_checked)} not leak-checked (fail when repeated)"
    )


def _write_groups(terminalreporter, pairs, title):
    from ._signature import group_tests

    groups = group_tests(pairs)
    terminalreporter.write_sep("=", f"refgraph: {title}, by holder ({len(groups)})")
    for group in groups:
        n = len(group.tests)
        shown = ", ".join(group.tests[:_IDS_SHOWN])
        more = f" and {n - _IDS_SHOWN} more" if n > _IDS_SHOWN else ""
        terminalreporter.write_line(f"{group.signature}  [root: {group.root_kind}]")
        terminalreporter.write_line(f"    {n} test{'s' * (n != 1)}, growing {', '.join(group.types)}: {shown}{more}")


class _Runner:
    """Repeats marked tests (or every one, with --refgraph-leaks) under the leak check."""

    def __init__(self, config):
        self.config = config
        self.every_test = config.getoption("refgraph_leaks")
        self.images = config.getoption("refgraph_leaks_dir")
        self.runs = config.getoption("refgraph_leaks_runs")
        self.ignore = [
            name for value in config.getini("refgraph_leaks_ignore") for name in re.split(r"[\s,]+", value) if name
        ]
        self.ignore_holders = [
            line.strip()
            for line in config.getini("refgraph_leaks_ignore_holders")
            if line.strip() and not line.strip().startswith("#")
        ]
        self.not_repeatable_options = config.getoption("setuponly", False) or config.getoption("setupplan", False)

    def _options(self, item):
        """The check's options for `item`, or None if it is not checked (a bad marker is stashed for the call)."""
        marker = item.get_closest_marker(MARKER)
        if marker is None and not self.every_test:
            return None
        if self.not_repeatable_options or not isinstance(item, pytest.Function):
            return None
        options = {}
        if marker is not None:
            if marker.args == (False,):
                return None
            if marker.args:
                item.stash[_BAD_OPTIONS] = (
                    f"@pytest.mark.{MARKER}: takes keyword options only, or False; got {marker.args!r}"
                )
                return None
            options = dict(marker.kwargs)
        from . import leakcheck

        # every test of a suite: screened cheaply before counting; a marked test: counted after every run
        options.setdefault("screen", marker is None)
        if self.images is not None:
            options.setdefault("images", self.images)
        if self.runs is not None:
            options.setdefault("calls", self.runs)
        if self.ignore:
            ignore = options.get("ignore", ())
            ignore = [ignore] if isinstance(ignore, (str, type)) else list(ignore)
            options["ignore"] = ignore + self.ignore
        if self.ignore_holders:
            patterns = options.get("ignore_holders", ())
            patterns = [patterns] if isinstance(patterns, str) else list(patterns)
            options["ignore_holders"] = patterns + self.ignore_holders
        try:
            return leakcheck._Options.make(**options)
        except (TypeError, ValueError) as error:
            item.stash[_BAD_OPTIONS] = f"@pytest.mark.{MARKER}: {error}"
            return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        opts = self._options(item)
        if opts is None:
            return None
        _checked_protocol(item, nextitem, opts)
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        message = pyfuncitem.stash.get(_BAD_OPTIONS, None)
        if message is not None:
            pytest.fail(message, pytrace=False)
        test = pyfuncitem.obj
        if pyfuncitem.get_closest_marker(MARKER) is not None and inspect.iscoroutinefunction(test):
            import asyncio  # a marked async test needs no async plugin: each run in a fresh event loop

            kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
            asyncio.run(test(**kwargs))
            return True
        return None


# ---------------------------------------------------------------------------------------------------------------
# Repeating a test item


def _checked_protocol(item, nextitem, opts):
    """pytest's runtest protocol for `item`, repeated under the leak check; the first run's reports are logged."""
    from _pytest.runner import call_and_report, show_test_item  # private: the reports as pytest makes them

    from . import leakcheck

    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    check = None
    reports = []
    not_checked = error = None
    known = ()
    try:
        if opts.warmup <= 1:  # the screen freezes before the test's own run; else the check starts after it
            check = leakcheck._Check(opts, item.nodeid, unit="run")
            check.start()
        _init_request(item)
        reports.append(call_and_report(item, "setup", log=False))
        if reports[0].passed:
            if item.config.getoption("setupshow", False):
                show_test_item(item)
            reports.append(call_and_report(item, "call", log=False))
        passed = all(report.passed for report in reports)
        if not passed and (item.session.shouldfail or item.session.shouldstop):
            nextitem = None  # as pytest does: the session stops, everything is torn down
        # the function-scoped fixtures only: the runs that follow need the wider ones
        reports.append(call_and_report(item, "teardown", log=False, nextitem=item.parent if passed else nextitem))
        _drop_request(item)
        if passed and reports[-1].passed:
            if check is None:
                check = leakcheck._Check(opts, item.nodeid, unit="run")
                check.start()
            try:
                not_checked, error, known = _repeat_under(check, item)
            except Exception as failure:  # noqa: BLE001 - the check's own failure must not end the session
                not_checked = f"refgraph could not check it: {type(failure).__name__}: {failure}"
    finally:
        if check is not None:
            check.close()
    if len(reports) == 3 and reports[1].when == "call" and reports[1].passed:
        call_report = reports[1]
        if error is not None:
            reports[1] = call_report = _leak_report(item, error)
        call_report.refgraph_checked = not_checked is None
        if not_checked is not None:
            call_report.refgraph_not_checked = not_checked
        elif known:
            call_report.refgraph_known = [
                [h.key, h.signature, h.root_kind, list(h.types)] for h in _signature_holders(known)
            ]
    final = _teardown_wider_fixtures(item, nextitem)
    if final is not None and not final.passed:
        reports[-1] = final
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


def _repeat_under(check, item):
    """Repeat `item` until `check` is done: (first error line of a failed repeat or None, LeakError or None, the
    known leaks: leakcheck.Leak held through ignored holders)."""
    state = _ItemState(item)
    done = check.after_run()
    while not done:
        failure = _repeat(item)
        state.restore()
        if failure is not None:
            return failure, None, ()
        done = check.after_run()
    return None, (check.error() if check.leaks() else None), check.known_leaks()


def _signature_holders(leaks):
    from . import leakcheck

    return leakcheck._holders_of(leaks)


def _init_request(item):
    if hasattr(item, "_initrequest"):
        item._initrequest()


def _drop_request(item):
    # as runtestprotocol does after a teardown: the fixture values go away
    if hasattr(item, "_request"):
        item._request = False
        item.funcargs = None


class _ItemState:
    """What pytest keeps adding to on every run of an item; put back after each repetition, so that it is not
    measured as the test's growth: captured output sections, user properties, the finalizers that each
    function-scoped fixture registers with the wider-scoped fixtures it uses (pytest runs them once, at the wider
    teardown, as no-ops for a fixture already torn down), and pluggy's record of historic hook calls (a fixture
    that unregisters and re-registers a plugin adds a ``pytest_plugin_registered`` call every run; a plugin
    registered later still gets the calls of the first run). Growth that pytest or pluggy keep elsewhere is left
    out of the report by :func:`refgraph._signature.harness_held`; putting these back is cheaper: the runs screen
    clean instead of being counted and explained."""

    def __init__(self, item):
        self.item = item
        self.sections = len(getattr(item, "_report_sections", ()))
        self.properties = len(getattr(item, "user_properties", ()))
        self.lists = []  # [(list, its length before the repeats)]
        for caller in vars(item.config.pluginmanager.hook).values():
            history = getattr(caller, "_call_history", None)  # private: pluggy's list of historic calls
            if isinstance(history, list):
                self.lists.append((history, len(history)))
        info = getattr(item, "_fixtureinfo", None)
        for defs in getattr(info, "name2fixturedefs", {}).values():
            for fixturedef in defs:
                finalizers = getattr(fixturedef, "_finalizers", None)
                if getattr(fixturedef, "scope", "function") != "function" and isinstance(finalizers, list):
                    self.lists.append((finalizers, len(finalizers)))

    def restore(self):
        item = self.item
        if hasattr(item, "_report_sections"):
            del item._report_sections[self.sections :]
        if hasattr(item, "user_properties"):
            del item.user_properties[self.properties :]
        for appended, n in self.lists:
            del appended[n:]


def _repeat(item):
    """One more unlogged run of the item's protocol; None if it passed, else its first error line."""
    _init_request(item)
    with warnings.catch_warnings(record=True):  # the first run's warnings are reported; the repeats' dropped
        report = _run_phase(item, "setup")
        if report.passed:
            report = _run_phase(item, "call")
        failure = _failure_line(report)
        report = _run_phase(item, "teardown", nextitem=item.parent)
        if failure is None:
            failure = _failure_line(report)
        del report
    _drop_request(item)
    return failure


def _run_phase(item, when, **kwargs):
    hook = getattr(item.ihook, f"pytest_runtest_{when}")
    call = pytest.CallInfo.from_call(lambda: hook(item=item, **kwargs), when=when, reraise=_REPEAT_RERAISE)
    return item.ihook.pytest_runtest_makereport(item=item, call=call)


def _failure_line(report):
    """``AssertionError: ...`` (the first line of what failed), or ``skipped: reason``."""
    if report.passed:
        return None
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3:
        return f"skipped when repeated: {longrepr[2]}"
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    where = "" if report.when == "call" else f" (in {report.when})"
    return f"{first[:200]}{where}"


def _leak_report(item, error):
    """The call's report, failed with `error`, made by pytest's own hook (so it reads as any failure)."""

    def raise_leak():
        __tracebackhide__ = True
        raise error

    _init_request(item)
    call = pytest.CallInfo.from_call(raise_leak, when="call")
    report = item.ihook.pytest_runtest_makereport(item=item, call=call)
    _drop_request(item)
    return report


def _teardown_wider_fixtures(item, nextitem):
    """The teardown that the first run left out (module, class... fixtures that `nextitem` does not use), as the
    teardown report would show it; None if there is none."""
    session = item.session
    if session.shouldfail or session.shouldstop:
        nextitem = None
    setup_state = session._setupstate
    needed = nextitem.listchain() if nextitem is not None else []
    if list(setup_state.stack) == needed[: len(setup_state.stack)]:
        return None
    capture = item.config.pluginmanager.getplugin("capturemanager")

    def teardown():
        if capture is not None and hasattr(capture, "item_capture"):
            with capture.item_capture("teardown", item):
                setup_state.teardown_exact(nextitem)
        else:
            setup_state.teardown_exact(nextitem)

    _init_request(item)
    call = pytest.CallInfo.from_call(teardown, when="teardown", reraise=_REPEAT_RERAISE)
    report = item.ihook.pytest_runtest_makereport(item=item, call=call)
    _drop_request(item)
    return report


@pytest.fixture
def leak_check(request):
    """``with leak_check(**options):`` fails the test if the block leaves new objects alive.

    The options are those of :class:`refgraph.leak_check`; images go to ``--refgraph-leaks-dir`` by default and
    a leak is listed in the terminal summary with its holder.
    """
    from . import leakcheck

    images = request.config.getoption("refgraph_leaks_dir")
    nodeid = request.node.nodeid

    def factory(**options):
        options.setdefault("images", images)
        options.setdefault("where", nodeid)
        return leakcheck.leak_check(**options)

    return factory
