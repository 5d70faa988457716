"""refgraph.web in real servers: gunicorn (2 sync workers, with and without --preload; 2 gthread workers) serving
a Flask app, uvicorn (2 workers) serving a FastAPI app; real HTTP requests on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from test_cli import CLI
from web_servers import PASSWORD, USER, request, start_gunicorn, start_uvicorn

LEAKY_REQUESTS = 40


def get_json(server, path):
    status, headers, body = request(server.url(path))
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def leak(server, n=LEAKY_REQUESTS):
    pids = set()
    for k in range(n):
        status, _, body = request(server.url(f"/items/{k}"), auth=None)
        assert status == 200, body
        pids.add(int(re.search(rb"worker (\d+)", body).group(1)))
    return pids


def item_counts(doc):
    """{pid: Item count} from a /summary JSON document."""
    out = {}
    for w in doc["workers"]:
        for row in w.get("types", []):
            if row["type"] == "Item":
                out[w["pid"]] = row["count"]
    return out


@pytest.fixture(scope="module", params=["sync", "sync-preload", "gthread"])
def gunicorn(request, tmp_path_factory):
    server = start_gunicorn(
        tmp_path_factory.mktemp(f"gunicorn-{request.param}"),
        preload=request.param.endswith("preload"),
        gthread=request.param == "gthread",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def uvicorn(tmp_path_factory):
    server = start_uvicorn(tmp_path_factory.mktemp("uvicorn"))
    yield server
    server.stop()


def check_every_worker(server, master_pid):
    # GIVEN warmed-up workers and a baseline, WHEN leaky requests are served by the workers
    # Every worker warm (its first requests import and cache things), however the server spreads connections.
    warm, warm_requests = set(), 0
    while len(warm) < 2 and warm_requests < 200:
        warm |= leak(server, 20)
        warm_requests += 20
    get_json(server, "/debug/memory/growth?format=json")
    served_by = leak(server) | warm
    # THEN /growth: Item on top of the total, grown by exactly ten per request, with its bytes
    doc = get_json(server, "/debug/memory/growth?format=json&limit=5")
    assert doc["schema"] == "refgraph.web.growth/1"
    top = doc["total"]["types"][0]
    assert top["type"] == "Item", (doc["total"], [(w["pid"], w.get("types", [])[:3]) for w in doc["workers"]])
    assert top["count_delta"] == 10 * LEAKY_REQUESTS
    assert top["size_delta"] >= 10 * LEAKY_REQUESTS * 16
    # ... and two live workers answered, neither of them the master process, the one that answered among them
    workers = [w for w in doc["workers"] if w["status"] == "live"]
    pids = {w["pid"] for w in workers}
    assert len(pids) == 2, doc["workers"]
    assert master_pid not in {w["pid"] for w in doc["workers"]}  # the arbiter (with --preload: it forked) is no worker
    assert served_by <= pids
    assert doc["pid"] in pids and [w["self"] for w in doc["workers"]].count(True) == 1
    # /summary: one section per worker and a total, in text and JSON
    summary = get_json(server, "/debug/memory/summary?format=json&sort=count&limit=0")
    assert {w["pid"] for w in summary["workers"] if w["status"] == "live"} == pids
    counts = item_counts(summary)
    assert sum(counts.values()) == 10 * (LEAKY_REQUESTS + warm_requests)
    total = {row["type"]: row for row in summary["total"]["types"]}
    assert total["Item"]["count"] == 10 * (LEAKY_REQUESTS + warm_requests)
    assert summary["total"]["objects"] == sum(w["objects"] for w in summary["workers"] if w["status"] == "live")
    status, _, text = request(server.url("/debug/memory/summary?limit=5"))
    text = text.decode()
    assert status == 200
    for pid in pids:
        assert re.search(rf"^== worker {pid}( \(this process\))? \| live \|", text, re.M), text
    assert "== total over 2 worker(s)" in text
    assert re.search(r"^ *types \| +# objects \| +total size$", text, re.M)
    return pids, counts


def test_gunicorn_every_worker(gunicorn, tmp_path):
    pids, counts = check_every_worker(gunicorn, gunicorn.proc.pid)
    # a chain image from a worker that holds Items, asked of whichever worker answers
    holder = max(counts, key=counts.get)
    status, headers, body = request(gunicorn.url(f"/debug/memory/chain?type=Item&format=png&worker={holder}"))
    assert status == 200, body
    assert headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG\r\n\x1a\n")
    chain = get_json(gunicorn, f"/debug/memory/chain?type=Item&format=json&worker={holder}")
    assert chain["schema"] == "refgraph.web.chain/1" and chain["pid"] == holder
    assert chain["root_kind"] == "module" and chain["hops"][-1]["type"] == "Item"
    assert chain["text"].startswith("module web_app -> attr 'RENDERED' (list)"), chain["text"]
    # retained sizes, asked of another worker
    other = get_json(gunicorn, f"/debug/memory/retained?format=json&limit=3&worker={holder}")
    assert other["schema"] == "refgraph.web.retained/1" and other["pid"] == holder
    assert len(other["dominators"]) == 3
    # every worker's dump, read by the CLI
    for pid in sorted(pids):
        status, _, dump = request(gunicorn.url(f"/debug/memory/snapshot.rgd?worker={pid}"))
        assert status == 200, dump
        path = tmp_path / f"w{pid}.rgd"
        path.write_bytes(dump)
        out = subprocess.run(
            [CLI, "summary", str(path), "--json", "--top", "0"], capture_output=True, text=True, check=True
        )
        doc = json.loads(out.stdout)
        assert doc["processes"][0]["pid"] == pid
        types = {row["type"]: row["count"] for row in doc["processes"][0]["types"]}
        assert types.get("Item", 0) == counts.get(pid, 0)


def test_gunicorn_metrics(gunicorn):
    from prometheus_client.parser import text_string_to_metric_families

    status, headers, body = request(gunicorn.url("/debug/memory/metrics?top=5"))
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    objects = families["refgraph_objects"].samples
    workers = {s.labels["worker"] for s in objects}
    assert len(workers) == 2
    for w in workers:
        types = [s.labels["type"] for s in objects if s.labels["worker"] == w]
        assert len(types) == 6 and types[-1] == "other"  # top 5 plus the rest: bounded labels
    rss = families["refgraph_rss_bytes"].samples
    assert len(rss) == 2 and all(s.value > 1e6 for s in rss)
    # refgraph.memory()'s accounting per worker: a bounded set of kinds that add up as it says
    memory = {}
    for s in families["refgraph_memory_bytes"].samples:
        memory.setdefault(s.labels["worker"], {})[s.labels["kind"]] = s.value
    assert set(memory) == workers
    for kinds in memory.values():
        assert len(kinds) == 11
        assert kinds["rss"] == kinds["rss_file"] + kinds["rss_anon"] + kinds["rss_shmem"]
        assert kinds["arenas_allocated"] == kinds["arenas_used"] + kinds["arenas_free"]
        # PYTHONMALLOC=malloc (`make asan`) turns the object allocator off: no arenas
        assert kinds["arenas_allocated"] > 0 or os.environ.get("PYTHONMALLOC") == "malloc"
    assert all(s.value > 0 for s in families["refgraph_python_object_bytes"].samples)
    assert all(0 < s.value < 60 for s in families["refgraph_capture_seconds"].samples)


def test_gunicorn_auth_and_pass_through(gunicorn):
    assert request(gunicorn.url("/debug/memory/summary"), auth=None)[0] == 401
    status, headers, _ = request(gunicorn.url("/debug/memory/"), auth=(USER, PASSWORD + "x"))
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
    status, _, body = request(gunicorn.url("/"), auth=None)
    assert status == 200 and body.startswith(b"hello from worker")


def test_uvicorn_fastapi(uvicorn, tmp_path):
    status, headers, _ = request(uvicorn.url("/debug/memory/growth"), auth=None)
    assert status == 401 and "WWW-Authenticate" in headers
    status, _, body = request(uvicorn.url("/"), auth=None)
    assert status == 200 and body.startswith(b"hello from worker")
    pids, counts = check_every_worker(uvicorn, uvicorn.proc.pid)
    holder = max(counts, key=counts.get)
    status, headers, body = request(uvicorn.url(f"/debug/memory/chain?type=Item&format=png&worker={holder}"))
    assert status == 200 and body.startswith(b"\x89PNG"), body[:200]
    # each worker's dump streamed through the ASGI middleware (at least one of them from the other worker)
    for pid in pids:
        status, _, dump = request(uvicorn.url(f"/debug/memory/snapshot.rgd?worker={pid}"))
        assert status == 200
        (tmp_path / "w.rgd").write_bytes(dump)
        out = subprocess.run(
            [CLI, "summary", str(tmp_path / "w.rgd"), "--json"], capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout)["processes"][0]["pid"] == pid
    status, _, body = request(uvicorn.url("/debug/memory/summary?sort=weight"))
    assert status == 400 and body.count(b"\n") == 1 and b"sort" in body
    status, _, body = request(uvicorn.url("/debug/memory/summary"), method="HEAD")
    assert status == 200 and body == b""
    status, _, body = request(uvicorn.url("/debug/memory/summary"), method="POST")
    assert status == 405


def test_stale_and_dead_workers_are_shown_and_cleaned_up(tmp_path):
    import signal
    import time

    server = start_gunicorn(tmp_path, extra_env={"WEB_APP_REFRESH_WAIT": "2"})  # a stopped worker: 2 s, not 15
    spool = tmp_path / "spool"
    try:
        doc = get_json(server, "/debug/memory/summary?format=json&limit=1")
        pids = sorted(w["pid"] for w in doc["workers"])
        # GIVEN one worker stopped, THEN the other answers and shows it stale, with the age of its data
        victim = pids[0]
        os.kill(victim, signal.SIGSTOP)
        try:
            time.sleep(0.5)
            doc = get_json(server, "/debug/memory/summary?format=json&limit=1")
            status = {w["pid"]: w for w in doc["workers"]}
            assert status[victim]["status"] == "stale" and "did not answer" in status[victim]["reason"]
            assert status[victim]["age_seconds"] > 0.4
            assert doc["total"]["workers"] == 2  # its last data still counts
        finally:
            os.kill(victim, signal.SIGCONT)
        # GIVEN one worker killed (gunicorn starts another), THEN it is shown dead once and its file removed
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (spool / f"w-{victim}.json").exists() and time.monotonic() < deadline:
            doc = get_json(server, "/debug/memory/summary?format=json&limit=1")
            time.sleep(0.2)
        assert not (spool / f"w-{victim}.json").exists()
        dead = [w for w in doc["workers"] if w["pid"] == victim]
        assert dead and dead[0]["status"] == "dead", doc["workers"]
        doc = get_json(server, "/debug/memory/summary?format=json&limit=1")
        assert victim not in {w["pid"] for w in doc["workers"]}
        # a file that is not a valid report is shown as invalid and not counted
        (spool / "w-4000000.json").write_text('{"schema": "refgraph.web.worker/1", "pid": 4000000, "report": 7}')
        os.chmod(spool / "w-4000000.json", 0o600)
        doc = get_json(server, "/debug/memory/summary?format=json&limit=1")
        bad = [w for w in doc["workers"] if w["pid"] == 4000000][0]
        assert bad["status"] == "invalid" and "w-4000000.json" in bad["reason"]
        assert "objects" not in bad
    finally:
        server.stop()
    # the spool is private to the user
    assert os.stat(spool).st_mode & 0o077 == 0
