"""Every sample under samples/ runs, in its own process, and prints what it promises."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "samples")


def run_sample(name, *args, cwd=None):
    env = dict(os.environ)
    import refgraph  # the package under test, wherever it comes from (PYTHONPATH or installed)

    package_parent = os.path.dirname(os.path.dirname(refgraph.__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, os.path.join(SAMPLES, name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_demo(tmp_path):
    out = run_sample("demo.py", "--out", str(tmp_path), cwd=tmp_path)
    # growth between rounds of requests
    assert re.search(r"^Request +\d+ +\+100$", out, re.M), out
    # the chain report of a leaked request, exact
    assert re.search(
        r"^module leaky_app -> attr 'SEEN' \(dict\) -> \['\w+'\] \(list\) -> \[\d+\] -> Request$", out, re.M
    ), out
    # the chain image, named, written
    image = tmp_path / "leak-chain.png"
    assert f"Image generated as {image}" in out
    assert image.read_bytes().startswith(b"\x89PNG")
    # the summary table
    assert re.search(r"^ *types \| +# objects \| +total size$", out, re.M)
    # the web app under gunicorn: 401 without credentials; /growth and /summary answer for both workers
    web = out[out.index("== 7. ") :]
    assert "without credentials: 401" in web
    growth, summary = web.split("/debug/memory/summary?limit=4")
    assert len(re.findall(r"^== worker \d+", growth, re.M)) == 2, web
    assert re.search(r"^== total over 2 worker\(s\) ==\n.*\n.*\n *Item \| +\d+ \| +\+1000 \|", growth, re.M), web
    assert len(re.findall(r"^== worker \d+", summary, re.M)) == 2
    assert "== total over 2 worker(s): " in summary and web.rstrip().endswith("server stopped")


def test_demo_runs_the_cli_when_installed(tmp_path):
    import shutil

    if not shutil.which("refgraph"):
        pytest.skip("the refgraph command is not installed (make install)")
    out = run_sample("demo.py", "--out", str(tmp_path), cwd=tmp_path)
    assert "$ refgraph summary" in out and "$ refgraph growth" in out and "$ refgraph backrefs" in out
    assert "LeakedItem" in out
    assert (tmp_path / "dump-backrefs.png").read_bytes().startswith(b"\x89PNG")


def test_memory_summary():
    out = run_sample("memory_summary.py")
    rows = {line.split("|")[0].strip(): line.split("|") for line in out.splitlines() if "|" in line}
    # the 64 MiB string shows up with its size (objgraph cannot see it)
    assert float(rows["str"][2].split()[0]) >= 64.0 and rows["str"][2].strip().endswith("MiB")
    assert int(rows["MyObject"][1]) == 65536


def test_find_leaking_class(tmp_path):
    out = run_sample("find_leaking_class.py", "--out", str(tmp_path))
    assert "No leaks were found in function_without_leak" in out
    assert "Memory leaks! function_with_leak: 1 new MyLeakyObject" in out
    assert "module __main__ -> attr 'cache' (list) -> [0] -> MyLeakyObject" in out
    assert (tmp_path / "chain-function_with_leak.png").read_bytes().startswith(b"\x89PNG")


def test_count_instances():
    out = run_sample("count_instances.py")
    assert "Cache: after 300 requests, 300 MyLeakyClass instances" in out
    assert "WeakCache: after 300 requests, 0 MyLeakyClass instances" in out
    assert "held by: module __main__ -> attr 'cache' (Cache) -> attr '_data' (dict) -> [" in out


def test_compare_requests(tmp_path):
    out = run_sample("compare_requests.py", "--out", str(tmp_path))
    assert re.search(r"^Request +\+1 +\+\d+$", out, re.M), out
    assert re.search(r"module leaky_app -> attr 'SEEN' \(dict\) -> \['alice'\] \(list\) -> \[\d+\] -> Request", out)
    for name in ("first.rgd", "last.rgd"):
        assert (tmp_path / name).stat().st_size > 0
