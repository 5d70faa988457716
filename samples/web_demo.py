"""refgraph's memory pages in a running web app: samples/web_app.py under gunicorn with two workers.

Starts the server on a free port of 127.0.0.1, sends leaking requests, prints what /debug/memory/growth and
/debug/memory/summary answer (a section per worker and a total), then stops the server. `samples/demo.py` runs it
last; alone: `python samples/web_demo.py`.
"""

import base64
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
USER, PASSWORD = "demo", "demo-password"


def _get(port, path, auth=True):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    missing = [m for m in ("gunicorn", "flask") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"(skipped: the web demo needs {' and '.join(missing)}: pip install {' '.join(missing)})")
        return 0
    import refgraph

    port = _free_port()
    spool = tempfile.mkdtemp(prefix="refgraph-web-demo-")
    env = dict(os.environ, REFGRAPH_WEB_AUTH=f"{USER}:{PASSWORD}", REFGRAPH_WEB_SPOOL=spool)
    package_parent = os.path.dirname(os.path.dirname(refgraph.__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, HERE, env.get("PYTHONPATH")) if p)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "web_app:app",
    ]
    print("$ REFGRAPH_WEB_AUTH=demo:... python -m gunicorn -w 2 -b 127.0.0.1:PORT web_app:app")
    server = subprocess.Popen(argv, env=env, cwd=HERE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            status, body = (0, "")
            try:
                status, body = _get(port, "/debug/memory/summary?format=json&limit=1")
            except OSError:
                pass
            if status == 200 and body.count('"status": "live"') >= 2:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                print(f"(the server did not start: status {status})")
                return 1
            time.sleep(0.3)
        status, _ = _get(port, "/debug/memory/summary", auth=False)
        print(f"GET /debug/memory/summary without credentials: {status}")
        for k in range(20):  # warm-up: each worker's first requests import and cache what Flask needs
            _get(port, f"/items/{k}", auth=False)
        _get(port, "/debug/memory/growth")  # the baseline
        for k in range(100):
            _get(port, f"/items/{k}", auth=False)
        print("after 100 requests to /items/N, each caching ten Item objects for good:\n")
        print("$ curl -u demo:... http://127.0.0.1:PORT/debug/memory/growth?limit=3")
        print(_get(port, "/debug/memory/growth?limit=3")[1])
        print("$ curl -u demo:... http://127.0.0.1:PORT/debug/memory/summary?limit=4")
        print(_get(port, "/debug/memory/summary?limit=4")[1])
        print("(also /debug/memory/ in a browser, /chain?type=Item&format=png, /metrics, /snapshot.rgd)")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        print("server stopped")
        shutil.rmtree(spool, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
