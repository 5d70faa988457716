"""refgraph.web around a bare WSGI app served by wsgiref (a thread per request): authentication, pass-through,
parameters, the capture lock, and each page's formats; real HTTP requests on 127.0.0.1."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import subprocess

import pytest
from test_cli import CLI
from web_servers import PASSWORD, USER, request, start_bare

P = "/debug/memory"


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    server = start_bare(tmp_path_factory.mktemp("bare"))
    yield server
    server.stop()


@pytest.mark.parametrize("auth", [None, (USER, "wrong"), ("someone", PASSWORD), (USER, PASSWORD + PASSWORD)])
def test_wrong_or_missing_credentials_get_401(bare, auth):
    status, headers, body = request(bare.url(f"{P}/summary"), auth=auth)
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="refgraph", charset="UTF-8"'
    assert b"types" not in body


def test_malformed_authorization_gets_401(bare):
    for value in ("Basic !!!", "Bearer abc", "Basic " + "A" * 5000, "basic"):
        assert request(bare.url(f"{P}/"), auth=None, headers={"Authorization": value})[0] == 401


def test_requests_outside_the_prefix_pass_through(bare):
    status, _, body = request(bare.url("/debug/memoryx"), auth=None)
    assert status == 200 and body.startswith(b"app: /debug/memoryx")
    status, _, body = request(bare.url("/items/1"), auth=None)
    assert status == 200 and body.startswith(b"app: /items/1")


def test_without_credentials_nothing_is_served(tmp_path):
    server = start_bare(tmp_path, "--no-auth", auth=False)
    try:
        status, _, body = request(server.url(f"{P}/summary"), auth=None)
        assert status == 200 and body.startswith(b"app: /debug/memory/summary")
        status, _, body = request(server.url(f"{P}/"))
        assert status == 200 and body.startswith(b"app: /debug/memory/")
    finally:
        server.stop()
    log = server.output()
    assert log.count("no credentials configured") == 1, log


@pytest.mark.parametrize(
    "path, words",
    [
        ("/summary?limit=-1", "limit"),
        ("/summary?limit=abc", "limit"),
        ("/summary?limit=100001", "out of range"),
        ("/summary?sort=weight", "sort"),
        ("/summary?format=xml", "format"),
        ("/summary?limit=1&limit=2", "twice"),
        ("/summary?colour=red", "unknown parameter"),
        ("/growth?since=yesterday", "since"),
        ("/chain", "exactly one of"),
        ("/chain?type=Item&id=5", "exactly one of"),
        ("/chain?type=" + "x" * 300, "type"),
        ("/chain?id=0x10", "id"),
        ("/chain?id=99999999999999999999999", "id"),
        ("/chain?type=Item&format=gif", "format"),
        ("/metrics?top=0", "top"),
        ("/snapshot.rgd?worker=abc", "worker"),
        ("/retained?limit=0", "limit"),
        ("/retained?format=png", "format"),
        ("/?limit=%ff", "malformed"),
        ("/summary?" + "a=1&" * 600, "query string"),
    ],
)
def test_bad_parameters_get_400_with_one_line(bare, path, words):
    status, headers, body = request(bare.url(P + path))
    assert status == 400, body
    assert body.endswith(b"\n") and body.count(b"\n") == 1, body
    assert words in body.decode(), body
    assert headers["Content-Type"].startswith("text/plain")


def test_unknown_page_404_and_methods(bare):
    status, _, body = request(bare.url(f"{P}/secrets"))
    assert status == 404 and b"no page 'secrets'" in body
    status, headers, _ = request(bare.url(f"{P}/summary"), method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert request(bare.url(f"{P}/summary"), method="POST", auth=None)[0] == 401  # no hint without credentials
    status, headers, body = request(bare.url(f"{P}/summary"), method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    status, _, body = request(bare.url(f"{P}/chain?type=NoSuchType"))
    assert status == 404 and b"no live object" in body
    status, _, body = request(bare.url(f"{P}/snapshot.rgd?worker=1"))
    assert status == 404 and body.count(b"\n") == 1


def test_summary_growth_and_chain_of_one_process(bare, tmp_path):
    request(bare.url(f"{P}/growth"))
    for k in range(30):
        request(bare.url(f"/items/{k}"), auth=None)
    status, _, body = request(bare.url(f"{P}/growth"))
    text = body.decode()
    assert status == 200
    first_row = text.splitlines()[5]  # title, blank, heading, header, rule, first row
    assert first_row.split("|")[0].strip() == "Item", text
    assert "+300" in first_row and "+" in first_row.split("|")[4], text
    doc = json.loads(request(bare.url(f"{P}/summary?format=json&limit=3&sort=count"))[2])
    assert doc["schema"] == "refgraph.web.summary/1" and len(doc["workers"]) == 1
    assert len(doc["workers"][0]["types"]) == 3 and doc["total"]["workers"] == 1
    status, _, body = request(bare.url(f"{P}/chain?type=Item"))
    assert status == 200
    assert body.decode().splitlines()[1].startswith("module __main__ -> attr 'RENDERED' (list) -> ["), body
    status, headers, svg = request(bare.url(f"{P}/chain?type=Item&format=svg"))
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and b"<svg" in svg and b"Item" in svg
    chain = json.loads(request(bare.url(f"{P}/chain?type=Item&format=json"))[2])
    status, _, body = request(bare.url(f"{P}/chain?id={chain['id']}&format=json"))
    assert status == 200 and json.loads(body)["hops"] == chain["hops"]
    # an untracked type goes through the whole capture
    status, _, body = request(bare.url(f"{P}/chain?type=str&format=json"))
    assert status == 200 and json.loads(body)["hops"][-1]["type"] == "str"


def test_retained_sizes_of_one_process(bare):
    for k in range(30):
        request(bare.url(f"/items/{k}"), auth=None)
    doc = json.loads(request(bare.url(f"{P}/retained?format=json&limit=5"))[2])
    assert doc["schema"] == "refgraph.web.retained/1" and doc["pid"] == bare.proc.pid
    assert len(doc["dominators"]) == 5 and doc["total_size"] >= doc["dominators"][0]["retained"]
    assert [d["retained"] for d in doc["dominators"]] == sorted(
        (d["retained"] for d in doc["dominators"]), reverse=True
    )
    items = {t["type"]: t for t in json.loads(request(bare.url(f"{P}/retained?format=json&limit=1000"))[2])["types"]}
    assert items["Item"]["count"] >= 300 and items["Item"]["retained"] >= items["Item"]["size"]
    status, headers, body = request(bare.url(f"{P}/retained?limit=3"))
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert text.startswith(f"retained sizes in worker {bare.proc.pid}: ") and "types by retained size" in text


def test_growing_strings_show_in_growth(bare):
    request(bare.url(f"{P}/growth"))
    for k in range(50):
        request(bare.url(f"/text/{k:04d}"), auth=None)
    doc = json.loads(request(bare.url(f"{P}/growth?format=json&sort=size&limit=3"))[2])
    top = doc["total"]["types"][0]
    assert top["type"] == "str", doc["total"]
    assert top["count_delta"] >= 50 and top["size_delta"] >= 50 * len("/text/0000") * 100


def test_snapshot_is_a_dump_the_cli_reads(bare, tmp_path):
    status, headers, body = request(bare.url(f"{P}/snapshot.rgd"))
    assert status == 200 and headers["Content-Type"] == "application/octet-stream"
    path = tmp_path / "worker.rgd"
    path.write_bytes(body)
    out = subprocess.run([CLI, "summary", str(path), "--json"], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert doc["processes"][0]["pid"] == bare.proc.pid
    assert doc["processes"][0]["tag"] == f"refgraph.web worker {bare.proc.pid}"
    status, headers, body = request(bare.url(f"{P}/snapshot.rgd?format=json"))
    assert status == 200 and headers["Content-Type"] == "application/x-ndjson"
    assert json.loads(body.splitlines()[0])


def test_concurrent_captures_get_503_with_retry_after(tmp_path):
    server = start_bare(tmp_path, "--ballast", "300000", "--busy-timeout", "0")
    try:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda _: request(server.url(f"{P}/snapshot.rgd")), range(6)))
    finally:
        server.stop()
    statuses = sorted(a[0] for a in answers)
    assert 200 in statuses and 503 in statuses, statuses
    for status, headers, body in answers:
        if status == 503:
            assert int(headers["Retry-After"]) >= 1 and body.count(b"\n") == 1


def test_bad_configuration_is_a_clear_error(monkeypatch, caplog):
    from refgraph.web import WSGIMiddleware

    app = object()
    with pytest.raises(ValueError, match="prefix"):
        WSGIMiddleware(app, prefix="debug", auth=("a", "b"))
    with pytest.raises(ValueError, match="auth"):
        WSGIMiddleware(app, auth=("a:b", "c"))
    with pytest.raises(ValueError, match="interval"):
        WSGIMiddleware(app, auth=("a", "b"), interval=0)
    monkeypatch.setenv("REFGRAPH_WEB_AUTH", "nocolon")
    with pytest.raises(ValueError, match="REFGRAPH_WEB_AUTH"):
        WSGIMiddleware(app)
    monkeypatch.delenv("REFGRAPH_WEB_AUTH")
    with caplog.at_level(logging.WARNING, logger="refgraph.web"):
        m = WSGIMiddleware(app)
    assert [r.message for r in caplog.records if "no credentials" in r.message]
    assert not m.service.serves("/debug/memory/summary")


def call(app, path, query=""):
    """One request straight into a WSGI callable: (status, body)."""
    import base64

    answer = {}

    def start_response(status, headers):
        answer["status"] = int(status.split()[0])

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    }
    body = b"".join(app(environ, start_response))
    return answer["status"], body


def test_the_pages_own_bookkeeping_never_shows_as_growth():
    from refgraph.web import WSGIMiddleware

    def app(environ, start_response):
        start_response("200 OK", [])
        return [b"app"]

    middleware = WSGIMiddleware(app, auth=(USER, PASSWORD), workers=False, interval=3600, history=8)
    own_types = ("array", "float", "deque")  # what the history is made of (with tuples, ints and strs)
    try:
        for k in range(14):  # more samples than the ring keeps: it fills, then turns over
            status, body = call(middleware, f"{P}/growth", "format=json&limit=0")
            assert status == 200
            grown = json.loads(body)["total"]["types"]
            assert not [g for g in grown if g["type"] in own_types], grown
            if k >= 2:  # after the first requests' warm-up, at most noise of this test process
                assert all(g["count_delta"] <= 1 for g in grown), grown
            del grown, body  # not held by this frame during the next count
        status, body = call(middleware, f"{P}/growth", "format=json&limit=0&since=start")
        doc = json.loads(body)
        assert doc["workers"][0]["samples"] == 8
        assert not [g for g in doc["total"]["types"] if g["type"] in own_types], doc["total"]
    finally:
        middleware.close()


def test_spool_files_are_read_as_untrusted_input(tmp_path):
    from refgraph.web import _spool

    spool = _spool.Spool(str(tmp_path / "spool"))
    assert os.stat(spool.directory).st_mode & 0o777 == 0o700
    good = tmp_path / "elsewhere.json"
    good.write_text("{}")
    os.symlink(good, tmp_path / "spool" / "w-4000001.json")
    (tmp_path / "spool" / "w-4000002.json").write_bytes(b"[" * (_spool.MAX_RECORD + 1))
    (tmp_path / "spool" / "w-4000003.json").write_text('{"schema": "refgraph.web.worker/1", "pid": 7}')
    (tmp_path / "spool" / "w-4000004.json").write_text("not json")
    reasons = {pid: spool.read(pid) for pid in spool.pids()}
    assert set(reasons) == {4000001, 4000002, 4000003, 4000004}
    assert all(w.status == "invalid" for w in reasons.values())
    assert "w-4000001.json" in reasons[4000001].reason  # a symlink is not followed
    assert "more than" in reasons[4000002].reason
    assert "pid does not match" in reasons[4000003].reason
    # a directory others may write to is refused
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    os.chmod(open_dir, 0o777)
    with pytest.raises(_spool.SpoolError, match="writable by others"):
        _spool.Spool(str(open_dir))
