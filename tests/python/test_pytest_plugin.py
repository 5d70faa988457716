"""The pytest plugin, run on small test files in fresh pytest processes (pytester)."""

from __future__ import annotations

import importlib.metadata
import os

import pytest
import refgraph

pytest_plugins = ["pytester"]


def _installed_as_entry_point():
    try:
        points = importlib.metadata.entry_points(group="pytest11")
    except TypeError:  # Python < 3.10
        points = importlib.metadata.entry_points().get("pytest11", [])
    return any(point.value == "refgraph.pytest_plugin" for point in points)


# With `pip install .` pytest loads the plugin by itself; a dev checkout (PYTHONPATH=bindings) names it.
PLUGIN = [] if _installed_as_entry_point() else ["-p", "refgraph.pytest_plugin"]


@pytest.fixture
def run(pytester, monkeypatch):
    # the inner pytest imports the same refgraph as this one (a relative PYTHONPATH would not reach it)
    package_parent = os.path.dirname(os.path.dirname(refgraph.__file__))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))

    def run(*args):
        return pytester.runpytest_subprocess(*PLUGIN, "--strict-markers", "-p", "no:cacheprovider", *args)

    return run


def test_appending_to_a_module_list_fails_naming_type_list_and_module(pytester, run):
    pytester.makepyfile(
        test_users="""
        import pytest

        class User:
            pass

        USERS = []

        @pytest.mark.no_leaks
        def test_signup():
            USERS.append(User())
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            (
                "*LeakError: refgraph: test_users.py::test_signup leaks through 1 holder "
                "(1 type grew with 5 measured runs after 2 warm-up runs)"
            ),
            "*  module test_users -> attr 'USERS' (list) -> [[][*][]] -> User  [[]root: module[]]",
            "*    +1 object/run, +* B/run: User +1",
            "*details:",
            "*User: +1 object/run, +* B/run",
            "*held by:  module test_users -> attr 'USERS' (list) -> [[]*[]] -> User  [[]root: module[]]",
        ]
    )


def test_a_clean_test_passes_and_runs_until_no_type_can_leak(pytester, run):
    pytester.makepyfile(
        test_clean="""
        import pytest

        RUNS = []

        @pytest.mark.no_leaks(warmup=1, calls=3)
        def test_clean():
            RUNS.append(1)            # an int cached by the interpreter: no new object
            RUNS.pop()
            [object() for _ in range(100)]

        @pytest.mark.no_leaks(warmup=1, calls=3)
        def test_counted(tmp_path):
            runs = tmp_path / "runs"
            runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
            assert len(runs.read_text()) <= 4
        """
    )
    run().assert_outcomes(passed=2)


def test_an_async_test_that_leaks_fails_without_an_async_plugin(pytester, run):
    pytester.makepyfile(
        test_async="""
        import asyncio
        import pytest

        class Session:
            pass

        OPEN = {}

        @pytest.mark.no_leaks(calls=3)
        async def test_open():
            await asyncio.sleep(0)
            OPEN[len(OPEN)] = Session()
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Session: +1 object/run*",
            "*held by:  module test_async -> attr 'OPEN' (dict) -> [[]*[]] -> Session*",
        ]
    )


def test_a_method_storing_self_in_a_class_registry_fails_with_the_chain_through_the_class(pytester, run):
    pytester.makepyfile(
        test_registry="""
        import pytest

        class Handler:
            registry = []

            def start(self):
                Handler.registry.append(self)

        class TestHandler:
            @pytest.mark.no_leaks
            def test_start(self):
                Handler().start()
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_registry.py::TestHandler::test_start leaks*",
            "*held by:  module test_registry -> attr 'Handler' (type) -> attr 'registry' (list) -> [[]*[]] -> Handler*",
        ]
    )


def test_an_lru_cache_filled_during_warm_up_passes(pytester, run):
    pytester.makepyfile(
        test_cache="""
        import functools
        import pytest

        class Row:
            pass

        @functools.lru_cache(maxsize=None)
        def load_table():
            return [Row() for _ in range(1000)]

        @pytest.mark.no_leaks
        def test_lookup():
            assert len(load_table()) == 1000
        """
    )
    run().assert_outcomes(passed=1)


def test_a_growing_string_is_caught_by_size(pytester, run):
    pytester.makepyfile(
        test_log="""
        import pytest

        LOG = ""

        @pytest.mark.no_leaks
        def test_log():
            global LOG
            LOG += "request handled\\n" * 64      # 1 KiB more every call, no new object kept
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*str: * objects/run, +*B/run",  # about 1 KiB per run, give or take a small str freed meanwhile
            "*held by:  module test_log -> attr 'LOG' -> str*",
        ]
    )


def test_the_flag_checks_every_test_and_the_summary_lists_leaking_tests(pytester, run):
    pytester.makepyfile(
        test_many="""
        import pytest

        class Order:
            pass

        ORDERS = []

        def test_leaks():
            ORDERS.append(Order())

        def test_clean():
            Order()

        @pytest.mark.no_leaks(False)
        def test_opted_out():
            ORDERS.append(Order())
        """
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 1 leaking test, by holder (1) =*",
            "module test_many -> attr 'ORDERS' (list) -> [[][*][]] -> Order  [[]root: module[]]",
            "    1 test, growing Order: test_many.py::test_leaks",
            "refgraph: 2 tests leak-checked, 1 leaking, 0 not leak-checked (fail when repeated)",
        ]
    )


def test_images_go_to_the_directory_flag(pytester, run):
    pytester.makepyfile(
        test_img="""
        import pytest

        class Blob:
            pass

        BLOBS = []

        @pytest.mark.no_leaks(calls=3)
        def test_blob():
            BLOBS.append(Blob())
        """
    )
    result = run("--refgraph-leaks-dir", "leaks")
    result.assert_outcomes(failed=1)
    image = pytester.path / "leaks" / "test_img.py_test_blob-Blob.png"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result.stdout.fnmatch_lines(["*image:    leaks*test_img.py_test_blob-Blob.png"])


def test_inert_without_marker_or_flag(pytester, run):
    pytester.makepyfile(
        test_plain="""
        RUNS = []

        def test_once():
            RUNS.append(object())
            assert len(RUNS) == 1

        def test_runner_not_registered(request):
            assert not request.config.pluginmanager.has_plugin("refgraph-leak-runner")
            assert request.config.pluginmanager.has_plugin("refgraph.pytest_plugin") or \\
                request.config.pluginmanager.has_plugin("refgraph")
        """
    )
    result = run()
    result.assert_outcomes(passed=2)
    assert "refgraph:" not in result.stdout.str()  # no summary section, no count line


def test_the_leak_check_fixture(pytester, run):
    pytester.makepyfile(
        test_fixture="""
        class Conn:
            pass

        POOL = []

        def test_block_leaks(leak_check):
            with leak_check(types=[Conn]):
                POOL.append(Conn())

        def test_block_local_is_fine(leak_check):
            with leak_check(types=[Conn]):
                conn = Conn()
            assert conn
        """
    )
    result = run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LeakError: refgraph: test_fixture.py::test_block_leaks leaks through 1 holder "
            "(1 type grew with the block)",
            "*= refgraph: 1 leaking test, by holder (1) =*",
            "module test_fixture -> attr 'POOL' (list) -> [[][*][]] -> Conn  [[]root: module[]]",
            "    1 test, growing Conn: test_fixture.py::test_block_leaks",
        ]
    )


def test_bad_marker_options_are_reported(pytester, run):
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.no_leaks(calls=0)
        def test_zero():
            pass

        @pytest.mark.no_leaks(cals=3)
        def test_typo():
            pass
        """
    )
    result = run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.no_leaks: refgraph: calls must be an integer >= 1, got 0",
            "*@pytest.mark.no_leaks: *unexpected keyword argument 'cals'*",
        ]
    )


def test_logging_in_a_checked_test_is_not_a_leak_and_caplog_sees_one_run(pytester, run):
    # pytest keeps every log record of a test: without care, 7 runs that log look like a LogRecord leak
    pytester.makepyfile(
        test_logs="""
        import logging
        import pytest

        log = logging.getLogger("app")

        @pytest.mark.no_leaks
        def test_logs_a_warning():
            log.warning("disk %s almost full", "/")

        @pytest.mark.no_leaks
        def test_caplog(caplog):
            log.warning("once per run")
            assert [r.getMessage() for r in caplog.records] == ["once per run"]
        """
    )
    run().assert_outcomes(passed=2)


def test_a_test_that_fails_only_when_repeated_is_not_checked_and_keeps_its_outcome(pytester, run):
    pytester.makepyfile(
        test_once="""
        import pytest

        ROUTES = []

        @pytest.fixture(scope="module")
        def app():
            return {"started": False}

        def test_start(app):
            assert not app["started"], "The setup method 'route' can no longer be called on the application."
            app["started"] = True

        def test_fails_on_its_own():
            assert 1 == 2

        @pytest.mark.no_leaks
        def test_marked_once():
            ROUTES.append(1)
            if len(ROUTES) > 1:
                raise RuntimeError("already routed")
        """
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 2 tests not leak-checked: fail when repeated =*",
            "test_once.py::test_start: AssertionError: "
            "The setup method 'route' can no longer be called on the application.",
            "test_once.py::test_marked_once: RuntimeError: already routed",
            "refgraph: 0 tests leak-checked, 0 leaking, 2 not leak-checked (fail when repeated)",
            "FAILED test_once.py::test_fails_on_its_own - assert 1 == 2",
        ]
    )


def test_function_fixtures_are_set_up_and_torn_down_every_run_and_what_they_free_is_no_leak(pytester, run):
    pytester.makepyfile(
        test_fixtures="""
        import pytest

        class Conn:
            pass

        EVENTS = []

        @pytest.fixture
        def pool():
            EVENTS.append("setup")
            conns = []
            yield conns
            conns.clear()           # grows with every use, freed by the teardown: not a leak
            EVENTS.append("teardown")

        def test_uses_pool(pool):
            pool.append(Conn())
            pool.append(Conn())
            assert len(pool) == 2   # a fresh pool in every run

        def test_runs_were_paired():
            setups = EVENTS.count("setup")
            assert setups >= 3 and EVENTS == ["setup", "teardown"] * setups
            EVENTS.clear()
        """
    )
    run("--refgraph-leaks").assert_outcomes(passed=2)


def test_a_module_fixture_that_grows_with_every_test_run_is_a_leak(pytester, run):
    pytester.makepyfile(
        test_module_fixture="""
        import pytest

        class Session:
            pass

        @pytest.fixture(scope="module")
        def registry():
            return []

        def test_login(registry):
            registry.append(Session())
        """
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LeakError: refgraph: test_module_fixture.py::test_login leaks through 1 holder*",
            # through pytest's record of the fixture's value, whatever the label of its key
            "*  * (FixtureDef) -> attr 'cached_result' (tuple) -> [[][*][]] (list) -> [[][*][]] -> Session  "
            "[[]root: *[]]",
            "*    +1 object/run, +* B/run: Session +1",
        ]
    )


def test_twenty_tests_leaking_through_one_dict_make_one_group(pytester, run):
    pytester.makepyfile(
        test_twenty="""
        import pytest

        class Entry:
            pass

        CACHE = {}

        @pytest.mark.parametrize("n", range(20))
        def test_cached(n):
            CACHE[f"key {n} {len(CACHE)}"] = Entry()
        """
    )
    result = run("--refgraph-leaks", "--refgraph-leaks-runs", "2")  # 2 measured runs: twenty reports, sooner
    result.assert_outcomes(failed=20)
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 20 leaking tests, by holder (1) =*",
            "module test_twenty -> attr 'CACHE' (dict) -> [[][*][]] -> Entry  [[]root: module[]]",
            (
                "    20 tests, growing Entry, str: test_twenty.py::test_cached[[]0[]], "
                "test_twenty.py::test_cached[[]1[]], "
                "test_twenty.py::test_cached[[]2[]] and 17 more"
            ),
            "refgraph: 20 tests leak-checked, 20 leaking, 0 not leak-checked (fail when repeated)",
        ]
    )


def test_a_leak_through_a_traceback_leads_with_the_holder_and_the_user_type(pytester, run):
    pytester.makepyfile(
        test_traceback="""
        class Order:
            pass

        FAILURES = []

        def place(order):
            raise ValueError("out of stock")

        def test_place():
            order = Order()
            try:
                place(order)
            except ValueError as error:
                FAILURES.append(error)
        """
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   refgraph.leakcheck.LeakError: refgraph: test_traceback.py::test_place leaks through 1 holder (*)",
            "      module test_traceback -> attr 'FAILURES' (list) -> [[][*][]] -> ValueError  [[]root: module[]]",
            "        +* objects/run, +*/run: Order +1, *",
            "    details:",
            "      Order: +1 object/run, +* B/run",
        ]
    )


def test_runs_option_and_ini_ignore(pytester, run):
    pytester.makeini(
        """
        [pytest]
        refgraph_leaks_ignore = Token
        """
    )
    pytester.makepyfile(
        test_options="""
        class Token:
            pass

        class Order:
            pass

        TOKENS, ORDERS = [], []

        def test_tokens():
            TOKENS.append(Token())      # ignored suite-wide

        def test_orders():
            ORDERS.append(Order())
        """
    )
    result = run("--refgraph-leaks", "--refgraph-leaks-runs", "3")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*test_orders leaks through 1 holder (1 type grew with 3 measured runs after 2 warm-up runs)"]
    )
    result = run("--refgraph-leaks", "--refgraph-leaks-runs", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--refgraph-leaks-runs must be an integer >= 1, got 0"])


def _vendor_and_tests(pytester):
    pytester.makepyfile(
        vendorlib="""
        class Handle:
            pass

        CACHE = []  # a third-party library's cache that is never emptied

        def open_handle():
            CACHE.append(Handle())
        """,
        test_known="""
        import vendorlib

        class Order:
            pass

        ORDERS = []

        def test_uses_vendor():
            vendorlib.open_handle()

        def test_own_leak_beside_the_vendors():
            vendorlib.open_handle()
            ORDERS.append(Order())

        def test_clean():
            assert [1] * 2 == [1, 1]
        """,
    )


def test_a_holder_acknowledged_in_the_ini_is_a_known_leak_listed_not_a_failure(pytester, run):
    # GIVEN a test that leaks only through a library's cache, and one that also leaks through its own list
    _vendor_and_tests(pytester)
    # WHEN the suite is checked without acknowledging the library's holder: both fail
    result = run("--refgraph-leaks", "--refgraph-leaks-runs", "3")
    result.assert_outcomes(passed=1, failed=2)
    # WHEN the ini acknowledges it (a signature with the varying part starred; comments and blank lines allowed)
    pytester.makeini(
        """
        [pytest]
        refgraph_leaks_ignore_holders =
            # the vendor's cache, reported upstream
            module vendorlib -> attr 'CACHE' (list) -> [*] -> *

        """
    )
    result = run("--refgraph-leaks", "--refgraph-leaks-runs", "3")
    # THEN only the test with a leak of its own fails, and its message says what was ignored
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LeakError: refgraph: test_known.py::test_own_leak_beside_the_vendors leaks through 1 holder (*)",
            "      module test_known -> attr 'ORDERS' (list) -> [[][*][]] -> Order  [[]root: module[]]",
            "*",
            "      ignored, a known leak (ignore_holders): "
            "module vendorlib -> attr 'CACHE' (list) -> [[][*][]] -> Handle",
        ]
    )
    # AND the summary lists the known leak by holder, with both tests, and counts them
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 1 leaking test, by holder (1) =*",
            "module test_known -> attr 'ORDERS' (list) -> [[][*][]] -> Order  [[]root: module[]]",
            "*= refgraph: 2 tests growing through ignored holders (known leaks), by holder (1) =*",
            "module vendorlib -> attr 'CACHE' (list) -> [[][*][]] -> Handle  [[]root: module[]]",
            (
                "    2 tests, growing Handle: test_known.py::test_uses_vendor, "
                "test_known.py::test_own_leak_beside_the_vendors"
            ),
            (
                "refgraph: 3 tests leak-checked, 1 leaking, 2 growing through ignored holders only, "
                "0 not leak-checked (fail when repeated)"
            ),
        ]
    )


def test_a_known_leak_is_judged_without_capturing_the_heap_and_an_own_leak_with(pytester, run):
    # GIVEN the vendor's holder acknowledged, and every capture of the heap the check takes recorded by test
    _vendor_and_tests(pytester)
    pytester.makeini(
        """
        [pytest]
        refgraph_leaks_ignore_holders = module vendorlib -> attr 'CACHE' (list) -> [*] -> *
        """
    )
    pytester.makeconftest(
        """
        import pytest
        from refgraph import leakcheck

        CURRENT = ["?"]

        @pytest.hookimpl(wrapper=True, tryfirst=True)
        def pytest_runtest_protocol(item):
            CURRENT[0] = item.nodeid
            return (yield)

        def _recorded(capture):
            def recorded(*args, **kwargs):
                with open("captures.log", "a") as log:
                    log.write(CURRENT[0] + "\\n")
                return capture(*args, **kwargs)
            return recorded

        leakcheck._capture = _recorded(leakcheck._capture)
        leakcheck._pin_heap = _recorded(leakcheck._pin_heap)
        """
    )
    # WHEN the suite is checked
    result = run("--refgraph-leaks", "--refgraph-leaks-runs", "3")
    # THEN the outcome is the same as with the captures (see above)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 2 tests growing through ignored holders (known leaks), by holder (1) =*",
            "module vendorlib -> attr 'CACHE' (list) -> [[][*][]] -> Handle  [[]root: module[]]",
        ]
    )
    # AND the test that leaks only through the acknowledged holder took no capture; the one with a leak of its own
    # took the report's two
    captures = (pytester.path / "captures.log").read_text().split()
    assert "test_known.py::test_uses_vendor" not in captures
    assert captures.count("test_known.py::test_own_leak_beside_the_vendors") == 2


def test_a_pattern_that_matches_no_holder_ignores_nothing_and_a_bad_one_is_named(pytester, run):
    _vendor_and_tests(pytester)
    pytester.makepyfile(
        test_marker="""
        import pytest
        import vendorlib

        @pytest.mark.no_leaks(ignore_holders=["module vendor -> *"])    # not the module's name: no match
        def test_near_miss():
            vendorlib.open_handle()

        @pytest.mark.no_leaks(ignore_holders=["module vendorlib -> *"], calls=3)
        def test_marker_pattern():
            vendorlib.open_handle()

        @pytest.mark.no_leaks(ignore_holders=[3])
        def test_bad_pattern():
            pass
        """
    )
    result = run("test_marker.py")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_marker.py::test_near_miss leaks through 1 holder*",
            "*@pytest.mark.no_leaks: refgraph: a holder pattern must be a non-empty string, got 3",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 1 test growing through ignored holders (known leaks), by holder (1) =*",
            "    1 test, growing Handle: test_marker.py::test_marker_pattern",
        ]
    )


def test_the_wider_fixtures_are_torn_down_once_after_the_runs_and_their_errors_reported(pytester, run):
    pytester.makepyfile(
        test_wider="""
        import pytest

        LOG = []

        @pytest.fixture(scope="module")
        def db():
            LOG.append("db up")
            yield
            LOG.append("db down")
            raise RuntimeError("db would not close")

        def test_query(db):
            LOG.append("query")
        """,
        test_z_after="""
        from test_wider import LOG

        def test_order():
            assert LOG[0] == "db up" and LOG[-1] == "db down" and LOG.count("db up") == 1
            assert LOG.count("query") >= 3
        """,
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_query*", "*RuntimeError: db would not close"])


def test_under_xdist_each_worker_checks_and_the_summary_groups_all(pytester, run):
    pytest.importorskip("xdist")  # in the test extra: installed wherever `make test` runs
    pytester.makepyfile(
        test_workers="""
        import pytest

        class Entry:
            pass

        CACHE = {}

        @pytest.mark.parametrize("n", range(6))
        def test_cached(n):
            CACHE[f"key {n} {len(CACHE)}"] = Entry()

        def test_clean():
            Entry()
        """
    )
    result = run("--refgraph-leaks", "-n", "2")
    result.assert_outcomes(passed=1, failed=6)
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 6 leaking tests, by holder (1) =*",
            "module test_workers -> attr 'CACHE' (dict) -> [[][*][]] -> Entry  [[]root: module[]]",
            "    6 tests, growing Entry, str: *",
            "refgraph: 7 tests leak-checked, 6 leaking, 0 not leak-checked (fail when repeated)",
        ]
    )


def test_under_xdist_the_known_leaks_of_all_workers_are_listed(pytester, run):
    pytest.importorskip("xdist")
    _vendor_and_tests(pytester)
    pytester.makeini(
        """
        [pytest]
        refgraph_leaks_ignore_holders = module vendorlib -> *
        """
    )
    result = run("test_known.py", "--refgraph-leaks", "--refgraph-leaks-runs", "3", "-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= refgraph: 2 tests growing through ignored holders (known leaks), by holder (1) =*",
            "module vendorlib -> attr 'CACHE' (list) -> [[][*][]] -> Handle  [[]root: module[]]",
            "    2 tests, growing Handle: *",
            (
                "refgraph: 3 tests leak-checked, 1 leaking, 2 growing through ignored holders only, "
                "0 not leak-checked (fail when repeated)"
            ),
        ]
    )


def test_what_the_interpreter_caches_for_each_run_is_no_leak(pytester, run):
    pytester.makepyfile(
        test_caches="""
        import linecache
        import re
        import sys
        import uuid

        def test_imports_from_a_fresh_dir(tmp_path, monkeypatch):
            # sys.path_importer_cache gains a finder for each run's tmp_path
            (tmp_path / "fresh_module.py").write_text("VALUE = 1\\n")
            monkeypatch.syspath_prepend(str(tmp_path))
            try:
                import fresh_module
                assert fresh_module.VALUE == 1
            finally:
                sys.modules.pop("fresh_module", None)

        def test_compiles_and_reads_fresh_text(tmp_path):
            # re's cache and linecache gain an entry each run
            assert re.compile(f"x{uuid.uuid4().hex}")
            path = tmp_path / "lines.txt"
            path.write_text("one\\n")
            assert linecache.getline(str(path), 1) == "one\\n"
        """
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["refgraph: 2 tests leak-checked, 0 leaking, 0 not leak-checked (fail when repeated)"])


def test_a_fresh_dir_left_on_sys_path_every_run_is_a_leak(pytester, run):
    pytester.makepyfile(
        test_left="""
        import sys
        import pytest

        @pytest.mark.no_leaks
        def test_leaves_its_dir(tmp_path):
            sys.path.append(str(tmp_path))  # never removed: sys.path grows
        """
    )
    result = run()
    result.assert_outcomes(failed=1)
    # sys's namespace is held from C: the chain starts there
    result.stdout.fnmatch_lines(
        ["*  *[[]'path'[]] (list) -> [[][*][]] -> str  [[]root: *[]]", "*+1 object/run*: str +1"]
    )


_REPLUGGED = """
import pytest

@pytest.fixture
def without_logging_plugin(pytestconfig):
    # as Flask's logging tests do: pluggy records each registration in a historic hook's call history
    plugin = pytestconfig.pluginmanager.unregister(name="logging-plugin")
    yield
    if plugin:
        pytestconfig.pluginmanager.register(plugin, "logging-plugin")

class Handler:
    pass

HANDLERS = []
"""


def test_growth_kept_by_pytest_and_pluggy_themselves_is_no_leak(pytester, run):
    pytester.makepyfile(
        test_replugged=_REPLUGGED
        + """
def test_quiet(without_logging_plugin):
    pass
"""
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["refgraph: 1 test leak-checked, 0 leaking, 0 not leak-checked (fail when repeated)"])


def test_a_leak_of_the_test_beside_pytests_own_growth_is_still_caught(pytester, run):
    pytester.makepyfile(
        test_replugged=_REPLUGGED
        + """
def test_keeps_handlers(without_logging_plugin):
    HANDLERS.append(Handler())
"""
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*  module test_replugged -> attr 'HANDLERS' (list) -> [[][*][]] -> Handler  [[]root: module[]]"]
    )
    result.stdout.no_fnmatch_line("*_call_history*")


def test_what_a_test_adds_to_pytests_own_objects_is_no_leak(pytester, run):
    pytester.makepyfile(
        test_stash="""
        import pytest

        class Note:
            pass

        def test_notes(request):
            # a fresh key in pytest's stash every run: held by pytest's Stash, not by the program
            request.config.stash[pytest.StashKey()] = Note()
        """
    )
    result = run("--refgraph-leaks")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["refgraph: 1 test leak-checked, 0 leaking, 0 not leak-checked (fail when repeated)"])
