"""refgraph.web under gunicorn: each page's latency, the longest stall a concurrent request sees, and the same
app's Pympler endpoint (the seed article's /debug/memory) and Dozer's page, as ratios in one run.

    python benchmarks/bench_web.py [--objects 1000000] [--repeat 5] [--pympler-repeat 2]

The app (benchmarks/web_bench_app.py) holds about --objects objects per worker. refgraph and Pympler are served by
gunicorn with 2 gthread workers of 4 threads (a concurrent request can then land in the process that is counting);
Dozer refuses to run with more than one process, so its page is served by 1 gthread worker (its sampler thread runs
every 5 s). A page's latency is the median of --repeat requests, each on a new connection. The stall: while the
main thread asks for a page, a second thread requests /ping back to back; the longest /ping is the stall (the
/ping latency of the idle server is printed beside it).
"""

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
AUTH = "Basic " + base64.b64encode(b"bench:bench").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=600):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": AUTH})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
        status = r.status
    elapsed = time.perf_counter() - t0
    if status != 200:
        raise RuntimeError(f"{path}: HTTP {status}")
    return elapsed, body


class Server:
    def __init__(self, objects, workers, dozer=False):
        import refgraph

        self.port = free_port()
        env = dict(os.environ, BENCH_OBJECTS=str(objects), BENCH_DOZER="1" if dozer else "0")
        env.pop("REFGRAPH_WEB_AUTH", None)
        parent = os.path.dirname(os.path.dirname(refgraph.__file__))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (parent, HERE, env.get("PYTHONPATH")) if p)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "gthread",
            "-w",
            str(workers),
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "600",
            "--log-level",
            "error",
            "web_bench_app:app",
        ]
        self.proc = subprocess.Popen(
            argv, env=env, cwd=HERE, start_new_session=True, stderr=subprocess.DEVNULL if dozer else None
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                get(self.port, "/ping", timeout=5)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark app did not start") from None
                time.sleep(0.5)

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def latency(port, path, repeat):
    return statistics.median(get(port, path)[0] for _ in range(repeat))


def stall(port, path, repeat):
    """(median latency of `path`, the longest /ping seen while it ran) with /ping requested back to back."""
    longest = [0.0]
    stop = threading.Event()

    def pinger():
        while not stop.is_set():
            longest[0] = max(longest[0], get(port, "/ping")[0])

    t = threading.Thread(target=pinger)
    t.start()
    try:
        time.sleep(0.2)
        took = latency(port, path, repeat)
    finally:
        stop.set()
        t.join()
    return took, longest[0]


def idle_ping(port, seconds=1.0):
    end = time.monotonic() + seconds
    worst = 0.0
    while time.monotonic() < end:
        worst = max(worst, get(port, "/ping")[0])
    return worst


def ms(x):
    return f"{x * 1000:.0f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pympler-repeat", type=int, default=2)
    args = parser.parse_args()
    server = Server(args.objects, workers=2)
    try:
        for k in range(20):
            get(server.port, f"/items/{k}")
        idle = idle_ping(server.port)
        pages = [
            "/debug/memory/summary",
            "/debug/memory/growth",
            "/debug/memory/metrics",
            "/debug/memory/",
            "/debug/memory/chain?type=Item",
            "/debug/memory/chain?type=Item&format=png",
            "/debug/memory/snapshot.rgd",
        ]
        counts = []
        for _ in range(args.repeat):
            doc = json.loads(get(server.port, "/debug/memory/summary?format=json&limit=1")[1])
            counts += [
                (w["capture_seconds"], w["capture_cpu_seconds"]) for w in doc["workers"] if w["status"] == "live"
            ]
        results = {}
        for page in pages:
            repeat = 2 if page.endswith(".rgd") else args.repeat
            results[page] = stall(server.port, page, repeat)
        results["/pympler"] = stall(server.port, "/pympler", args.pympler_repeat)
    finally:
        server.stop()
    dozer = Server(args.objects, workers=1, dozer=True)
    try:
        time.sleep(6)  # Dozer's sampler has run at least once
        results["/_dozer/index"] = stall(dozer.port, "/_dozer/index", args.repeat)
        dozer_idle_worst = idle_ping(dozer.port, seconds=11.0)  # two of Dozer's 5 s samples
    finally:
        dozer.stop()

    summary = results["/debug/memory/summary"][0]
    print(
        f"refgraph.web under gunicorn, about {args.objects} objects per worker (idle /ping: longest {ms(idle)}; "
        f"each worker's count held the GIL {ms(statistics.median(c[0] for c in counts))} and used "
        f"{ms(statistics.median(c[1] for c in counts))} of CPU (medians); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)\n"
    )
    print("| page | latency | longest concurrent /ping | Pympler's endpoint / this |")
    print("|---|---|---|---|")
    for page, (took, worst) in results.items():
        ratio = f"{results['/pympler'][0] / took:.1f}x" if page.startswith("/debug/memory") else ""
        print(f"| `{page}` | {ms(took)} | {ms(worst)} | {ratio} |")
    print(f"| Dozer's sampler (no page asked, 11 s) | | {ms(dozer_idle_worst)} | |")
    speedup = results["/pympler"][0] / summary
    worst_stall = results["/debug/memory/summary"][1]
    print()
    print(
        f"/summary vs Pympler's endpoint: {speedup:.1f}x faster (target >= 20x): "
        f"{'met' if speedup >= 20 else 'NOT met'}"
    )
    print(
        f"longest stall of a concurrent request while /summary runs: {ms(worst_stall)} (target <= 100 ms): "
        f"{'met' if worst_stall <= 0.1 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
