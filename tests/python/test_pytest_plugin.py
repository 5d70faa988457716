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
