"""`pytest --refgraph-leaks` on real test suites: Flask's own tests, and a suite of 700 tiny tests.

For Flask, the sdist of the installed version is downloaded with pip (its tests are not in the wheel) and unpacked in
a temporary directory; its tests run against the installed Flask (`pip install flask==3.1.3 asgiref python-dotenv`).
Each suite runs in fresh pytest processes, plain and with `--refgraph-leaks`; the script prints the wall and CPU
time of both, their ratio (target: at most 3x on a suite that does not leak), and the tests that fail in one run
only. A test that fails only under the flag is a leak the check found: its holder is printed. The ratio is then
taken again on the suite without those tests (deselected in both runs), which is a suite that does not leak, and
on the whole suite with the holders of a known third-party leak acknowledged (``refgraph_leaks_ignore_holders``,
KNOWN_LEAKS below: click's stream cache, see docs/leak-checks.md): then the failing sets must be equal.
Last, a copy of one Flask test changed to leak (it appends the app to a module-level list) is run under the flag:
its report must name that list.

Run: PYTHONPATH=bindings python3 benchmarks/bench_flask_suite.py [--suite flask|tiny|both] [--keep DIR]
"""

import argparse
import glob
import importlib.metadata
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

TARGET_RATIO = 3.0
TINY_TESTS = 700
# click (8.1 to 8.5 at least) keeps every stream CliRunner.invoke puts on sys.stdout/sys.stderr: a WeakKeyDictionary
# in click._compat whose value is its key, reached through whichever click module the shortest chain starts from
# (click._compat or click.utils, which imports the function). The decoder those streams hold is referenced only from
# C (an untracked IncrementalNewlineDecoder), so it has its own holder line.
KNOWN_LEAKS = ["module click* -> attr '_default_text_std*", "IncrementalDecoder (held from C)"]
LEAKY_COPY = """
APPS = []


def test_options_work_leaky(app, client):
    APPS.append(app)  # the leak: every run's app stays alive

    @app.route("/", methods=["GET", "POST"])
    def index():
        return "Hello World"

    rv = client.open("/", method="OPTIONS")
    assert sorted(rv.allow) == ["GET", "HEAD", "OPTIONS", "POST"]
    assert rv.data == b""
"""


CLICK_LEAK = """
import gc, importlib.metadata, tracemalloc
import click
from click import _compat
from click.testing import CliRunner

@click.command()
def hello():
    click.echo("hello")

def cache(func):
    return next(c.cell_contents for c in func.__closure__ if type(c.cell_contents).__name__ == "WeakKeyDictionary")

runner = CliRunner()
for _ in range(10):
    runner.invoke(hello)
del runner
gc.collect()
tracemalloc.start()
before, traced = len(cache(_compat._default_text_stdout)), tracemalloc.get_traced_memory()[0]
runner = CliRunner()
for _ in range(INVOKES):
    runner.invoke(hello)
del runner
gc.collect()
entries = cache(_compat._default_text_stdout)
print(f"click {importlib.metadata.version('click')}: {INVOKES:,} invokes of a command echoing a line, then the runner "
      f"deleted and gc.collect(): the stdout stream cache holds {len(entries) - before:+,} entries "
      f"(each value is its key: {all(k is v for k, v in entries.items())}), traced memory "
      f"{(tracemalloc.get_traced_memory()[0] - traced) / INVOKES:+,.0f} B per invoke")
"""


def click_leak(invokes=2000):
    """What click's CliRunner keeps per invoke, outside pytest (the leak the flagged Flask run reports)."""
    result = subprocess.run(
        [sys.executable, "-c", CLICK_LEAK.replace("INVOKES", str(invokes))], capture_output=True, text=True, check=False
    )
    print(f"  {(result.stdout or result.stderr).strip()}")


def pytest_run(cwd, *args):
    """(wall s, CPU s of the child, failing node ids, output) of one pytest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode not in (0, 1):
        sys.exit(
            f"pytest {' '.join(args)} in {cwd} exited with {result.returncode}:\n{result.stdout[-3000:]}"
            f"{result.stderr[-3000:]}"
        )
    failing = set(re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.MULTILINE))
    return wall, cpu, failing, result.stdout


def summary_line(output):
    lines = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1].strip("= ") if lines else "(no summary line)"


def holders(output):
    """The 'leaking tests, by holder' section of a flagged run."""
    section = re.search(
        r"=+ refgraph: \d+ leaking tests?, by holder.*?\n(.*?)(?=\n=+ |\nrefgraph: \d+ tests)", output, re.DOTALL
    )
    return section.group(1) if section else ""


def compare(name, cwd, args, deselect=(), known=(), plain=None):
    """Run plain (unless given) and flagged; print both, the ratio and the sets' difference. (tests failing only
    with the flag, flagged output, plain result)."""
    deselected = [arg for nodeid in deselect for arg in ("--deselect", nodeid)]
    plain = plain or pytest_run(cwd, *args, *deselected)
    acknowledged = ["-o", "refgraph_leaks_ignore_holders=" + "\n".join(known)] if known else []
    flagged = pytest_run(cwd, *args, *deselected, "--refgraph-leaks", *acknowledged)
    wall_ratio, cpu_ratio = flagged[0] / plain[0], flagged[1] / plain[1]
    print(f"{name}:")
    print(f"  plain:             {plain[0]:7.2f} s wall, {plain[1]:7.2f} s CPU   {summary_line(plain[3])}")
    print(f"  --refgraph-leaks:  {flagged[0]:7.2f} s wall, {flagged[1]:7.2f} s CPU   {summary_line(flagged[3])}")
    verdict = "OK" if cpu_ratio <= TARGET_RATIO else "MISSED"
    print(f"  ratio: {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (target <= {TARGET_RATIO:g}x: {verdict} on CPU)")
    only_flagged, only_plain = sorted(flagged[2] - plain[2]), sorted(plain[2] - flagged[2])
    print(
        f"  failing in both: {len(plain[2] & flagged[2])}; only with the flag: {len(only_flagged)}; "
        f"only without: {len(only_plain)}; the sets are {'equal' if plain[2] == flagged[2] else 'NOT equal'}"
    )
    for nodeid in only_plain:
        print(f"    only without the flag: {nodeid}")
    checked = re.search(r"^refgraph: \d+ tests? leak-checked.*$", flagged[3], re.MULTILINE)
    if checked:
        print(f"  {checked.group(0)}")
    return only_flagged, flagged[3], plain


def flask_suite(workdir):
    try:
        version = importlib.metadata.version("flask")
        for needed in ("asgiref", "python-dotenv"):
            importlib.metadata.version(needed)
    except importlib.metadata.PackageNotFoundError as error:
        sys.exit(
            f"Flask's suite needs flask, asgiref and python-dotenv installed: {error.name} is missing "
            "(pip install flask==3.1.3 asgiref python-dotenv)"
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"flask=={version}",
            "-d",
            workdir,
        ],
        check=True,
    )
    (sdist,) = glob.glob(os.path.join(workdir, f"flask-{version}.tar.gz"))
    with tarfile.open(sdist) as tar:
        tar.extractall(workdir, filter="data")
    root = os.path.join(workdir, f"flask-{version}")
    print(f"Flask {version}, tests from {os.path.basename(sdist)}, pytest {importlib.metadata.version('pytest')}")

    leaking, output, plain = compare("Flask's suite", root, ["tests"])
    if leaking:
        print("  leaks found (the tests failing only with the flag), by holder:")
        for line in holders(output).splitlines():
            print(f"    {line}")
        click_leak()
        compare("Flask's suite without those tests (both runs deselect them)", root, ["tests"], deselect=leaking)
    patterns = "; ".join(KNOWN_LEAKS)
    known_only, output, _ = compare(
        f"Flask's suite, click's leak acknowledged (refgraph_leaks_ignore_holders: {patterns})",
        root,
        ["tests"],
        known=KNOWN_LEAKS,
        plain=plain,
    )
    listed = re.search(r"^=+ refgraph: (\d+) tests? growing through ignored holders", output, re.MULTILINE)
    print(f"  known leaks listed in the summary: {listed.group(1) + ' tests' if listed else 'none'}")

    copy = os.path.join(root, "tests", "test_refgraph_leaky_copy.py")
    with open(copy, "w") as f:
        f.write(LEAKY_COPY)
    start = time.perf_counter()
    _, _, failing, output = pytest_run(root, copy, "--refgraph-leaks")
    wall = time.perf_counter() - start
    named = "attr 'APPS' (list)" in output
    print(
        f"a Flask test changed to leak (APPS.append(app)): {'caught' if failing else 'NOT caught'} in {wall:.2f} s; "
        f"the report {'names' if named else 'does NOT name'} the list:"
    )
    for line in output.splitlines():
        if "LeakError: refgraph:" in line or "attr 'APPS' (list) -> [*]" in line:
            print(f"    {line.strip()}")
    os.remove(copy)
    return bool(failing) and named and not known_only


def tiny_suite(workdir):
    root = os.path.join(workdir, "tiny")
    os.makedirs(root)
    for module in range(TINY_TESTS // 100):
        with open(os.path.join(root, f"test_tiny_{module}.py"), "w") as f:
            f.writelines(f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n\n\n" for i in range(100))
    compare(f"{TINY_TESTS} tiny tests", root, [])
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=("flask", "tiny", "both"), default="both")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary directory)")
    args = parser.parse_args()
    workdir = args.keep or tempfile.mkdtemp(prefix="refgraph-suites-")
    os.makedirs(workdir, exist_ok=True)
    try:
        ok = True
        if args.suite in ("tiny", "both"):
            ok = tiny_suite(workdir) and ok
        if args.suite in ("flask", "both"):
            ok = flask_suite(workdir) and ok
        load = os.getloadavg()[0]
        print(f"load average while measuring: {load:.2f} on {os.cpu_count()} CPUs")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
