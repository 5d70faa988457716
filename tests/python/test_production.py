"""Production capture: `refgraph attach PID` (gdb), dump_on_signal, and the gunicorn hook.

The targets are real processes started here (a plain script, gunicorn serving a Flask app on 127.0.0.1); they
import refgraph only where the test says so. The dev build is found through PYTHONPATH, which the targets and
the command inherit; CI runs the same tests against the pip-installed package.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import refgraph
from test_cli import CLI, assert_clean_failure

LEAKY_SCRIPT = """
import sys, time
class LeakyThing:
    pass
LEAK = []
n = 0
print("ready", flush=True)
while True:
    LEAK.append(LeakyThing())
    n += 1
    if n % 10 == 0:
        print(n, time.time(), flush=True)
    time.sleep(0.005)
"""

SPIN_SCRIPT = """
class LeakyThing:
    pass
LEAK = [LeakyThing() for _ in range(500)]
print("ready", flush=True)
n = 0
while True:
    n += 1
"""

GIL_IN_C_SCRIPT = """
import ctypes
print("ready", flush=True)
ctypes.PyDLL(None).sleep(30)  # PyDLL keeps the GIL during the call
"""

FLASK_APP = """
from flask import Flask

app = Flask(__name__)
RECORDS = []


class RequestRecord:
    def __init__(self, path):
        self.path = path


@app.route("/")
def index():
    RECORDS.append(RequestRecord("/"))
    return "ok %d" % len(RECORDS)
"""


def start(script: str, tmp_path: Path, *python_args: str) -> subprocess.Popen:
    path = tmp_path / "target.py"
    path.write_text(textwrap.dedent(script))
    p = subprocess.Popen([sys.executable, *python_args, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert next_line(p) == "ready"
    return p


def next_line(p: subprocess.Popen, timeout: float = 60) -> str:
    """The target's next line of output, read from the pipe without Python's buffering (so select() tells the
    truth); fails if the target exits or says nothing for `timeout` seconds."""
    pending = p.__dict__.setdefault("_pending", b"")
    deadline = time.time() + timeout
    while b"\n" not in pending:
        ready, _, _ = select.select([p.stdout.fileno()], [], [], max(0.0, deadline - time.time()))
        assert ready, f"pid {p.pid} printed nothing for {timeout} s"
        chunk = os.read(p.stdout.fileno(), 65536)
        assert chunk, f"pid {p.pid} exited: {p.wait()}"
        pending += chunk
    line, _, p._pending = pending.partition(b"\n")
    return line.decode()


def stop(p: subprocess.Popen) -> str:
    """Kills the target; its stderr."""
    if p.poll() is None:
        p.kill()
    _, err = p.communicate(timeout=10)
    return (err or b"").decode()


def command_env(env: dict | None = None) -> dict:
    """`env` (default: this one) for the command, without LD_PRELOAD. `make asan` preloads ASan's runtime for the
    uninstrumented interpreter, and the targets inherit it, as they must to import the sanitized module; the
    command is linked with the runtime already, and gdb, which it runs, hangs at startup (in setlocale) with the
    runtime preloaded."""
    return {k: v for k, v in (os.environ if env is None else env).items() if k != "LD_PRELOAD"}


def attach(*args: object, env: dict | None = None, cli: str = CLI) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli, "attach", *map(str, args)], capture_output=True, text=True, timeout=120, env=command_env(env)
    )


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def leaky_count(dump: Path, typename: str) -> int:
    return refgraph.load(dump).count(typename)


def still_counting(p: subprocess.Popen) -> int:
    """The target is alive and its loop still runs: it prints a line stamped after this call. Its count."""
    asked = time.time()
    while True:
        n, stamp = next_line(p).split()
        if float(stamp) > asked:
            return int(n)


# ---- refgraph attach ----


def test_attach_dumps_a_plain_script_that_never_imported_refgraph(tmp_path):
    p = start(LEAKY_SCRIPT, tmp_path)
    try:
        while still_counting(p) < 50:  # 50 LeakyThing at least
            pass
        before = threads(p.pid)
        out = tmp_path / "x.rgd"
        r = attach(p.pid, "-o", out)
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
        assert re.fullmatch(rf"{re.escape(str(out))}: \d+ objects from pid {p.pid} in [\d.]+ s\n", r.stdout)
        assert leaky_count(out, "LeakyThing") >= 50
        assert refgraph.load(out).metadata["pid"] == p.pid
        info = subprocess.run([CLI, "summary", out, "--top", "0"], capture_output=True, text=True, timeout=60)
        assert info.returncode == 0 and "LeakyThing" in info.stdout
        assert threads(p.pid) == before  # the injected code leaves no thread behind
        still_counting(p)
        still_counting(p)
    finally:
        stop(p)


def test_attach_summary_prints_the_type_table(tmp_path):
    p = start(LEAKY_SCRIPT, tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    try:
        r = attach(p.pid, "--summary", "--top", "0", env=dict(os.environ, TMPDIR=str(work)))
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert re.fullmatch(rf"== pid {p.pid}: \d+ objects, [\d.]+ [KM]iB ==", lines[0])
        assert lines[1].split() == ["type", "count", "size"]
        rows = {line.split()[0]: line.split() for line in lines[2:]}
        assert int(rows["LeakyThing"][1]) >= 1
        assert os.listdir(work) == []  # the dump the table was made from is gone
        still_counting(p)
    finally:
        stop(p)


def test_attach_waits_for_a_safe_point_in_a_busy_process(tmp_path):
    p = start(SPIN_SCRIPT, tmp_path)  # runs bytecode without pause: the main thread holds the GIL
    try:
        r = attach(p.pid, "-o", tmp_path / "busy.rgd")
        assert r.returncode == 0, r.stderr
        assert leaky_count(tmp_path / "busy.rgd", "LeakyThing") == 500
        time.sleep(0.2)
        assert p.poll() is None
    finally:
        stop(p)


def test_attach_runs_nothing_while_a_thread_holds_the_gil_in_c(tmp_path):
    p = start(GIL_IN_C_SCRIPT, tmp_path)
    try:
        r = attach(p.pid, "-o", tmp_path / "never.rgd", "--timeout", "1")
        assert_clean_failure(r, 1, "no safe point", "--timeout")
        assert not (tmp_path / "never.rgd").exists()
        time.sleep(0.2)
        assert p.poll() is None
    finally:
        stop(p)


def test_attach_interrupted_while_waiting_detaches_and_runs_nothing(tmp_path):
    p = start(GIL_IN_C_SCRIPT, tmp_path)
    try:
        c = subprocess.Popen(
            [CLI, "attach", str(p.pid), "-o", str(tmp_path / "never.rgd"), "--timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=command_env(),
        )
        time.sleep(3)  # gdb attached and waits for a safe point
        c.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = c.communicate(timeout=60)
        r = subprocess.CompletedProcess(c.args, c.returncode, out, err)
        assert_clean_failure(r, 1, f"pid {p.pid}: interrupted; gdb detached, nothing was run")
        assert not (tmp_path / "never.rgd").exists()
        time.sleep(0.2)
        assert p.poll() is None
    finally:
        stop(p)


def test_attach_no_such_process():
    r = attach(2**22 + 12345)
    assert_clean_failure(r, 1, f"no process with pid {2**22 + 12345}")


def test_attach_not_cpython(tmp_path):
    p = subprocess.Popen(["sleep", "30"])
    try:
        r = attach(p.pid, "-o", tmp_path / "x.rgd")
        assert_clean_failure(r, 1, f"pid {p.pid} is not a CPython process")
        assert p.poll() is None
    finally:
        p.kill()
        p.wait(timeout=10)


def test_attach_without_gdb_names_the_package(tmp_path):
    p = start(LEAKY_SCRIPT, tmp_path)
    try:
        env = dict(os.environ, PATH=str(tmp_path))  # no gdb there
        r = attach(p.pid, "-o", tmp_path / "x.rgd", env=env)
        assert_clean_failure(r, 1, "gdb not found", "Debian package 'gdb'")
    finally:
        stop(p)


def test_attach_without_ptrace_permission_names_the_setting(tmp_path):
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run the command as another user"
    p = start(LEAKY_SCRIPT, tmp_path)  # runs as root; the command below as nobody
    public = Path(tempfile.mkdtemp(prefix="refgraph-test-", dir="/tmp"))  # pytest's tmp_path is root's only
    try:
        os.chmod(public, 0o755)
        cli = public / "refgraph"
        shutil.copy(CLI, cli)
        r = subprocess.run(
            [
                setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                str(cli),
                "attach",
                str(p.pid),
                "-o",
                str(public / "never.rgd"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=command_env(),
        )
        assert_clean_failure(r, 1, "not permitted to ptrace", "kernel.yama.ptrace_scope", "CAP_SYS_PTRACE")
        assert not (public / "never.rgd").exists()
        still_counting(p)
    finally:
        stop(p)
        shutil.rmtree(public)


def test_attach_refgraph_not_importable_in_the_target(tmp_path):
    # -I -S: the target's sys.path has neither site-packages nor PYTHONPATH; a copy of the command elsewhere and no
    # PYTHONPATH: nothing to offer it either.
    p = start(LEAKY_SCRIPT, tmp_path, "-I", "-S")
    try:
        cli = tmp_path / "refgraph"
        shutil.copy(CLI, cli)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        r = attach(p.pid, "-o", tmp_path / "x.rgd", env=env, cli=str(cli))
        assert_clean_failure(r, 1, "refgraph is not importable", f"pid {p.pid}", "ModuleNotFoundError")
        assert not (tmp_path / "x.rgd").exists()
        still_counting(p)
    finally:
        err = stop(p)
    assert err == ""  # the failed import printed nothing into the target's own log


# ---- gunicorn + Flask ----


class Gunicorn:
    """gunicorn with one sync worker serving the Flask app on 127.0.0.1, its log in a file."""

    def __init__(self, tmp_path: Path, *args: str, env: dict | None = None):
        (tmp_path / "leakyapp.py").write_text(FLASK_APP)
        self.log = tmp_path / "gunicorn.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                "1",
                "-b",
                "127.0.0.1:0",
                "--chdir",
                str(tmp_path),
                "--error-logfile",
                str(self.log),
                "--log-level",
                "info",
                *args,
                "leakyapp:app",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        self.port = self.worker = None
        while time.time() < deadline and (self.port is None or self.worker is None):
            text = self.log.read_text() if self.log.exists() else ""
            if m := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text):
                self.port = int(m.group(1))
            if m := re.search(r"Booting worker with pid: (\d+)", text):
                self.worker = int(m.group(1))
            assert self.proc.poll() is None, text
            time.sleep(0.1)
        assert self.port and self.worker, self.log.read_text()

    def get(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=30) as r:
            return r.read().decode()

    def workers_booted(self) -> int:
        return len(re.findall(r"Booting worker with pid", self.log.read_text()))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def test_attach_dumps_a_gunicorn_worker_serving_flask(tmp_path):
    g = Gunicorn(tmp_path)
    try:
        for _ in range(30):
            g.get()
        out = tmp_path / "worker.rgd"
        r = attach(g.worker, "-o", out)
        assert r.returncode == 0, r.stderr
        assert leaky_count(out, "RequestRecord") == 30
        assert g.get() == "ok 31"  # the same worker keeps serving, its state intact
        assert g.workers_booted() == 1
        assert os.path.exists(f"/proc/{g.worker}")
    finally:
        g.stop()


@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_sigusr2_dumps_a_gunicorn_worker_with_the_shipped_hook(tmp_path, preload):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    env = dict(os.environ, REFGRAPH_DUMP_DIR=str(dumps))
    g = Gunicorn(tmp_path, "-c", "python:refgraph.gunicorn", *(["--preload"] if preload else []), env=env)
    try:
        for _ in range(20):
            g.get()
        os.kill(g.worker, signal.SIGUSR2)
        dump = wait_for_dump(dumps, g.worker)
        s = subprocess.run([CLI, "summary", dump, "--top", "0", "--json"], capture_output=True, text=True, timeout=60)
        assert s.returncode == 0, s.stderr
        assert "RequestRecord" in s.stdout
        assert leaky_count(dump, "RequestRecord") == 20
        assert g.get() == "ok 21"
        assert g.workers_booted() == 1  # the worker was not killed and replaced
        assert f"refgraph: kill -USR2 {g.worker} writes a heap dump" in g.log.read_text()
    finally:
        g.stop()


def wait_for_dump(directory: Path, pid: int, timeout: float = 60) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [p for p in directory.glob(f"{pid}-*.rgd")]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no dump from pid {pid} in {directory}: {os.listdir(directory)}")


# ---- dump_on_signal ----

SIGNAL_SCRIPT = """
import os, signal, sys, time
import refgraph
from refgraph import _snapshot

class LeakyThing:
    pass
LEAK = [LeakyThing() for _ in range(321)]
refgraph.dump_on_signal(signal.SIGUSR2, sys.argv[1])
if len(sys.argv) > 2:
    # Test only: a second SIGUSR2 arrives while the first dump is being captured.
    real = _snapshot.snapshot
    def snapshot_signalled_again(**kw):
        os.kill(os.getpid(), signal.SIGUSR2)
        return real(**kw)
    _snapshot.snapshot = snapshot_signalled_again
print("ready", flush=True)
n = 0
while True:
    n += 1
    print(n, time.time(), flush=True)
    time.sleep(0.02)
"""


def start_signalled(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    script = tmp_path / "signalled.py"
    script.write_text(SIGNAL_SCRIPT)
    p = subprocess.Popen(
        [sys.executable, str(script), str(dumps), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert next_line(p) == "ready"
    return p, dumps


def test_sigusr2_writes_a_dump_the_cli_reads_and_the_process_runs_on(tmp_path):
    p, dumps = start_signalled(tmp_path)
    try:
        os.kill(p.pid, signal.SIGUSR2)
        dump = wait_for_dump(dumps, p.pid)
        assert re.fullmatch(rf"{p.pid}-\d{{8}}T\d{{6}}\.\d{{3}}Z\.rgd", dump.name)
        s = subprocess.run([CLI, "info", dump], capture_output=True, text=True, timeout=60)
        assert s.returncode == 0, s.stderr
        assert f"pid:            {p.pid}" in s.stdout
        assert leaky_count(dump, "LeakyThing") == 321
        still_counting(p)
        time.sleep(0.3)
        still_counting(p)
        assert not list(dumps.glob("*.tmp*")) and len(list(dumps.iterdir())) == 1  # atomic: no partial file
    finally:
        err = stop(p)
    assert f"refgraph: pid {p.pid}: wrote {dump} (" in err


def test_a_signal_during_a_dump_does_not_start_a_second_one(tmp_path):
    p, dumps = start_signalled(tmp_path, "signal-again")
    try:
        os.kill(p.pid, signal.SIGUSR2)
        wait_for_dump(dumps, p.pid)
        time.sleep(1.0)
        still_counting(p)
        assert len(list(dumps.glob("*.rgd"))) == 1
    finally:
        err = stop(p)
    assert f"refgraph: pid {p.pid}: SIGUSR2 ignored: a dump is already being written" in err
    assert err.count("wrote") == 1


def test_dump_on_signal_rejects_a_missing_directory(tmp_path):
    with pytest.raises(ValueError, match=r"dump_on_signal: .*nowhere: not an existing directory"):
        refgraph.dump_on_signal(signal.SIGUSR2, tmp_path / "nowhere")
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL
