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
    result.stdout.fnmatch_lines([
        "*LeakError: refgraph: test_users.py::test_signup leaks: 1 type grew with 5 measured calls after 2 warm-up calls",
        "*User: +1 object/call, +* B/call",
        "*held by:  module test_users -> attr 'USERS' (list) -> [[]*[]] -> User  [[]root: module[]]",
    ])


def test_a_clean_test_passes_and_its_body_runs_warmup_plus_calls_times(pytester, run):
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
    result.stdout.fnmatch_lines([
        "*Session: +1 object/call*",
        "*held by:  module test_async -> attr 'OPEN' (dict) -> [[]*[]] -> Session*",
    ])


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
    result.stdout.fnmatch_lines([
        "*test_registry.py::TestHandler::test_start leaks*",
        "*held by:  module test_registry -> attr 'Handler' (type) -> attr 'registry' (list) -> [[]*[]] -> Handler*",
    ])


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
    result.stdout.fnmatch_lines([
        "*str: * objects/call, +*B/call",  # about 1 KiB per call, give or take a small str freed meanwhile
        "*held by:  module test_log -> attr 'LOG' -> str*",
    ])


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
    result.stdout.fnmatch_lines([
        "*= refgraph: leaking tests =*",
        "test_many.py::test_leaks: Order +1 object/call, +* B/call: "
        "module test_many -> attr 'ORDERS' (list) -> [[]*[]] -> Order",
    ])


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
    assert "refgraph: leaking tests" not in result.stdout.str()


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
    result.stdout.fnmatch_lines([
        "*LeakError: refgraph: test_fixture.py::test_block_leaks leaks: 1 type grew with the block",
        "*= refgraph: leaking tests =*",
        "test_fixture.py::test_block_leaks: Conn +1 object, +* B: module test_fixture -> attr 'POOL' (list) -> [[]0[]] -> Conn",
    ])


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
    result.stdout.fnmatch_lines([
        "*@pytest.mark.no_leaks: refgraph: calls must be an integer >= 1, got 0",
        "*@pytest.mark.no_leaks: *unexpected keyword argument 'cals'*",
    ])


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
