"""Real servers on 127.0.0.1 for the refgraph.web tests: started in a subprocess, waited for, stopped by pid."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
APPS = os.path.join(HERE, "webapps")
SAMPLES = os.path.join(ROOT, "samples")
USER, PASSWORD = "admin", "s3cret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(extra=None, auth=True):
    import refgraph

    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(refgraph.__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, APPS, SAMPLES, env.get("PYTHONPATH")) if p)
    env.pop("REFGRAPH_WEB_AUTH", None)
    # A loaded test machine can keep a sibling worker from answering within the default 2 s; a test that needs an
    # answer from every worker waits longer (the stale-worker tests set their own).
    env.setdefault("WEB_APP_REFRESH_WAIT", "15")
    if auth:
        env["REFGRAPH_WEB_AUTH"] = f"{USER}:{PASSWORD}"
    env.update(extra or {})
    return env


class Server:
    """A server process; ``url(path)``, ``get(path)``; stopped (its process group) by ``stop()``."""

    def __init__(self, argv, port, env, cwd, log_path):
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                pytest.fail(f"server {argv} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            pytest.fail(f"server {argv} did not listen on {port} within 60 s:\n{self.output()}")

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)
        if not self.log.closed:
            self.log.close()


def request(url, auth=(USER, PASSWORD), method="GET", timeout=60, headers=None):
    """(status, headers, body) of one request; HTTP errors are answers too. A new connection each time."""
    req = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def start_gunicorn(tmp_path, app="web_app:app", workers=2, preload=False, gthread=False, extra_env=None):
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        "--timeout",
        "120",
    ]
    if gthread:
        argv += ["-k", "gthread", "--threads", "4"]
    if preload:
        argv.append("--preload")
    argv.append(app)
    env = env_for({"REFGRAPH_WEB_SPOOL": str(tmp_path / "spool"), **(extra_env or {})})
    server = Server(argv, port, env, str(tmp_path), str(tmp_path / "gunicorn.log"))
    wait_for_workers(server, workers)
    return server


def start_uvicorn(tmp_path, app="fastapi_app:app", workers=2, extra_env=None):
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        app,
    ]
    env = env_for({"REFGRAPH_WEB_SPOOL": str(tmp_path / "spool"), **(extra_env or {})})
    server = Server(argv, port, env, str(tmp_path), str(tmp_path / "uvicorn.log"))
    wait_for_workers(server, workers)
    return server


def start_bare(tmp_path, *args, auth=True):
    port = free_port()
    argv = [sys.executable, os.path.join(APPS, "bare_wsgi.py"), str(port), *args]
    return Server(argv, port, env_for(auth=auth), str(tmp_path), str(tmp_path / f"bare-{port}.log"))


def wait_for_workers(server, n, timeout=60):
    """Until /summary?format=json lists n live workers (each has published its first sample)."""
    import json

    deadline = time.monotonic() + timeout
    doc = None
    while time.monotonic() < deadline:
        status, _, body = request(server.url("/debug/memory/summary?format=json&limit=1"))
        if status == 200:
            doc = json.loads(body)
            if sum(w["status"] == "live" for w in doc["workers"]) >= n:
                return doc
        time.sleep(0.3)
    pytest.fail(f"{n} workers did not all publish within {timeout} s: {doc}\n{server.output()}")
