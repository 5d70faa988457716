"""The debug pages behind both middlewares: routing, authentication, the capture lock, sampling, the spool.

``Service.handle(method, path, query, authorization)`` answers a request under the prefix with a
:class:`Response`; the WSGI and ASGI classes only translate. One :class:`_Process` holds what belongs to one
process (history, lock, sampler thread, spool); it is made again in a child after ``fork``, so a pre-forking server
that imported the app first (gunicorn ``--preload``) gets a sampler per worker.
"""

from __future__ import annotations

import atexit
import base64
import gc
import json
import logging
import math
import os
import socket
import tempfile
import threading
import time
import weakref

from .. import _common, _core
from .._snapshot import Chain, Hop, Snapshot, _chain
from . import _auth, _history, _params, _render, _spool
from ._params import BadRequest

log = logging.getLogger("refgraph.web")

ENDPOINTS = ("", "summary", "growth", "chain", "retained", "snapshot.rgd", "metrics")
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


class Response:
    """status, headers [(name, value)], body bytes; or ``stream``: a file to send and then remove."""

    __slots__ = ("status", "headers", "body", "stream")

    def __init__(self, status, body=b"", content_type=TEXT, headers=(), stream=None):
        self.status = status
        self.body = body
        self.stream = stream
        self.headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *headers,
        ]
        size = os.path.getsize(stream) if stream is not None else len(body)
        self.headers.append(("Content-Length", str(size)))

    def chunks(self, size=1 << 20):
        """The body in pieces; a streamed file is removed once read (or if the reading stops)."""
        if self.stream is None:
            yield self.body
            return
        try:
            with open(self.stream, "rb") as f:
                while True:
                    piece = f.read(size)
                    if not piece:
                        break
                    yield piece
        finally:
            discard(self.stream)


def discard(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def error(status, reason, headers=()):
    return Response(status, (reason + "\n").encode(), TEXT, headers)


class Busy(Exception):
    pass


STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Service:
    def __init__(
        self,
        prefix="/debug/memory",
        auth=None,
        interval=60.0,
        history=60,
        top=40,
        busy_timeout=1.0,
        refresh_wait=2.0,
        spool=None,
        workers=True,
        identity="",
    ):
        if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/") or "?" in prefix:
            raise ValueError(
                f"prefix: expected a path like '/debug/memory' (leading '/', no trailing '/'), not {prefix!r}"
            )
        for name, value, low in (
            ("interval", interval, 0.05),
            ("busy_timeout", busy_timeout, 0.0),
            ("refresh_wait", refresh_wait, 0.0),
        ):
            if not isinstance(value, (int, float)) or not low <= value <= 86400:
                raise ValueError(f"{name}: expected seconds from {low} to 86400, not {value!r}")
        for name, value, low, high in (("history", history, 2, 10000), ("top", top, 1, 1000)):
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name}: expected a whole number from {low} to {high}, not {value!r}")
        self.prefix = prefix
        self.credentials = _auth.credentials(auth)
        self.interval = float(interval)
        self.history_size = history
        self.top = top
        self.busy_timeout = float(busy_timeout)
        self.refresh_wait = float(refresh_wait)
        self.spool_dir = spool if spool is not None else os.environ.get("REFGRAPH_WEB_SPOOL") or None
        self.workers = workers
        self.identity = f"{identity}|{prefix}|{os.getcwd()}"
        self.proc = None
        self.served = False  # set by the first request through the middleware, whatever its path
        if self.credentials is None:
            log.warning(
                "refgraph.web: no credentials configured (auth=(user, password) or %s=user:password): "
                "nothing is served under %s, requests there go to the app",
                _auth.ENV_VAR,
                prefix,
            )
            return
        self.proc = _Process(self)
        if hasattr(os, "register_at_fork"):
            me = weakref.ref(self)  # the hooks stay registered for good; they must not keep the service alive

            def call(method):
                return lambda: getattr(me(), method, lambda: None)()

            os.register_at_fork(
                before=call("_before_fork"),
                after_in_child=call("_after_fork_child"),
                after_in_parent=call("_after_fork_parent"),
            )

    # -- fork handling: one sampler per process that serves ---------------------------------------------------------
    def _before_fork(self):
        if self.proc is not None:
            self.proc.lock.acquire()  # no count or spool write is half done in the copy

    def _after_fork_parent(self):
        if self.proc is not None:
            self.proc.lock.release()
            # A process that forks copies of the app before serving any request (gunicorn's arbiter with --preload)
            # is not a worker: its children are. One that has served keeps its sampler (a worker's subprocess).
            if not self.served:
                self.proc.stop()

    def _after_fork_child(self):
        if self.proc is not None:
            self.proc = _Process(self)

    def close(self):
        if self.proc is not None:
            self.proc.stop()

    # -- requests ---------------------------------------------------------------------------------------------------
    def serves(self, path):
        """True for a path under the prefix, when credentials are configured (else the app gets it)."""
        self.served = True
        if self.credentials is None:
            return False
        return path == self.prefix or path.startswith(self.prefix + "/")

    def handle(self, method, path, query, authorization, script_name=""):
        if not _auth.authorized(authorization, self.credentials):
            return error(401, "refgraph: authentication required", [("WWW-Authenticate", _auth.CHALLENGE)])
        if method not in ("GET", "HEAD"):
            return error(405, f"refgraph: {method} not allowed (GET or HEAD only)", [("Allow", "GET, HEAD")])
        endpoint = path[len(self.prefix) :].lstrip("/")
        base = script_name + self.prefix
        proc = self.proc
        if proc is None or proc.pid != os.getpid():  # forked without the at-fork hook
            proc = self.proc = _Process(self)
        try:
            if endpoint not in ENDPOINTS:
                raise BadRequest(
                    f"refgraph: no page {endpoint!r} (pages: /, " + ", ".join("/" + e for e in ENDPOINTS if e) + ")",
                    404,
                )
            handler = getattr(proc, "page_" + (endpoint.replace(".rgd", "") or "dashboard"))
            return handler(query, base)
        except BadRequest as e:
            return error(e.status, " ".join(str(e).split()))
        except Busy:
            wait = max(1, round(self.busy_timeout + 1))
            return error(
                503, "refgraph: another capture is running in this process; retry shortly", [("Retry-After", str(wait))]
            )
        except Exception as e:  # a failure of the tool's own (disk full, say) is its answer, not the app's error
            log.exception("refgraph.web: %s failed", path)
            return error(500, f"refgraph: {path}: {type(e).__name__}: {' '.join(str(e).split())[:200]}")


class _Process:
    """What one process has: its history, its capture lock, its spool and the sampler thread."""

    def __init__(self, service):
        self.service = service
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.history = _history.History(service.history_size)
        self.answered = 0.0
        self.last_sample = 0.0
        self.spool = None
        self._stop = threading.Event()
        if service.workers:
            directory = service.spool_dir or _spool.default_directory(service.identity)
            try:
                self.spool = _spool.Spool(directory, check_parent=not service.spool_dir)
            except _spool.SpoolError as e:
                log.warning("refgraph.web: %s; showing this worker only", e)
        self.thread = threading.Thread(target=self._run, name="refgraph-web-sampler", daemon=True)
        self.thread.start()
        atexit.register(self._exit)

    def _exit(self):
        """At interpreter exit: this worker's files leave the spool, and the spool goes when it is empty."""
        if os.getpid() != self.pid or self.spool is None:
            return  # a forked child inherits its parent's exit handlers
        self._stop.set()
        self.spool.unpublish(self.pid)
        self.spool.close_listener(self.pid, None)
        self.spool.remove_if_empty()

    def stop(self):
        self._stop.set()
        if self.spool is not None:
            self.spool.wake([self.pid], b"s")
            self.spool.unpublish(self.pid)

    # -- sampling ---------------------------------------------------------------------------------------------------
    def _acquire(self):
        if not self.lock.acquire(timeout=self.service.busy_timeout):
            raise Busy()

    def _sample(self, answered=None):
        """Count the heap, keep the sample, publish the report; the lock is held by the caller."""
        # The two floats this object keeps are its own bookkeeping too (none before the first sample).
        self.history.take([x for x in (self.last_sample, self.answered) if x])
        self.last_sample = time.monotonic()
        if answered is not None:
            self.answered = max(self.answered, answered)
        report = _history.report(self.history)
        if self.spool is not None:
            try:
                self.spool.publish(self.pid, report, self.answered)
            except OSError as e:
                log.warning("refgraph.web: cannot publish to %s: %s", self.spool.directory, e)
        return report

    def _run(self):
        """Sample every ``interval`` seconds, and at once when a sibling asks (a datagram, or the refresh file
        where there is no socket); run the jobs posted for this worker."""
        sock = self.spool.listen(self.pid) if self.spool is not None else None
        mtime = None
        sweep_at = 0.0
        try:
            while not self._stop.is_set() and os.getpid() == self.pid:
                wait = self.service.interval - (time.monotonic() - self.last_sample) if self.last_sample else 0.0
                token, jobs = None, False
                if sock is not None:
                    sock.settimeout(min(max(wait, 0.001), 60.0))
                    try:
                        message = sock.recv(64)
                    except (socket.timeout, OSError):
                        message = b""
                    token, jobs = _parse_wake(message)
                    jobs = jobs or not message  # a lost wake-up delays a job to the next timeout, no more
                else:
                    self._stop.wait(min(max(wait, 0.0), 0.2))
                    if self.spool is not None:
                        token, mtime = self.spool.refresh_token(mtime)
                        jobs = True
                if self._stop.is_set():
                    break
                due = time.monotonic() - self.last_sample >= self.service.interval or not self.last_sample
                if (token is not None and token > self.answered) or due:
                    if self.lock.acquire(timeout=1.0):
                        try:
                            self._sample(token)
                        except Exception:  # the sampler must outlive one bad sample
                            log.exception("refgraph.web: sampling failed")
                        finally:
                            self.lock.release()
                if self.spool is not None:
                    if jobs:
                        for job in self.spool.take_jobs(self.pid):
                            self._run_job(job)
                    if time.monotonic() > sweep_at:
                        self.spool.sweep(max_age=600)
                        sweep_at = time.monotonic() + 60
        finally:
            if self.spool is not None and os.getpid() == self.pid:
                self.spool.close_listener(self.pid, sock)

    # -- every worker -----------------------------------------------------------------------------------------------
    def gather(self):
        """Fresh data from this process and (bounded wait) from every sibling: [spool.Worker], this one first.

        The siblings are woken first, so they count while this process counts."""
        token = time.time()
        others = []
        if self.spool is not None:
            others = [pid for pid in self.spool.pids() if pid != self.pid]
            if others:
                self.spool.ask_refresh_at(token)
                self.spool.wake(others, b"r " + repr(token).encode())
        self._acquire()
        try:
            report = self._sample(token)
        finally:
            self.lock.release()
        me = _spool.Worker(self.pid, "live", report, published=report["time"], answered=token)
        read = []
        if others:
            deadline = time.monotonic() + self.service.refresh_wait
            while True:
                read = [self.spool.read(pid) for pid in others]
                waiting = [w for w in read if w.status == "live" and w.answered < token]
                if not waiting or time.monotonic() >= deadline:
                    break
                time.sleep(0.005)
            for w in read:
                if w.status == "live" and w.answered < token:
                    w.status = "stale"
                    w.reason = f"did not answer within {self.service.refresh_wait:g} s"
        return [me, *read]

    # -- pages ------------------------------------------------------------------------------------------------------
    def page_dashboard(self, query, base):
        p = _params.parse(query, {"format", "limit"}, "/")
        fmt = _params.choice(p, "format", ("html", "json"), "html")
        limit = _params.integer(p, "limit", self.service.top, 1, 1000)
        workers = self.gather()
        if fmt == "json":
            return Response(200, _render.dashboard_json(workers, self.pid, limit), JSON)
        return Response(
            200,
            _render.dashboard_html(workers, self.pid, limit, base),
            "text/html; charset=utf-8",
            [("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")],
        )

    def page_summary(self, query, base):
        p = _params.parse(query, {"format", "limit", "sort"}, "/summary")
        fmt = _params.choice(p, "format", ("text", "json"), "text")
        sort = _params.choice(p, "sort", ("size", "count"), "size")
        limit = _params.integer(p, "limit", 15, 0, 100000)
        body = _render.summary(self.gather(), self.pid, sort, limit, fmt == "json")
        return Response(200, body, JSON if fmt == "json" else TEXT)

    def page_growth(self, query, base):
        p = _params.parse(query, {"format", "limit", "sort", "since"}, "/growth")
        fmt = _params.choice(p, "format", ("text", "json"), "text")
        sort = _params.choice(p, "sort", ("count", "size"), "count")
        since = _params.choice(p, "since", ("previous", "start"), "previous")
        limit = _params.integer(p, "limit", 20, 0, 100000)
        body = _render.growth(self.gather(), self.pid, since, sort, limit, fmt == "json")
        return Response(200, body, JSON if fmt == "json" else TEXT)

    def page_metrics(self, query, base):
        p = _params.parse(query, {"format", "top"}, "/metrics")
        fmt = _params.choice(p, "format", ("prometheus", "json"), "prometheus")
        top = _params.integer(p, "top", 20, 1, 200)
        if fmt == "json":
            return Response(200, _render.metrics(self.gather(), self.pid, top, True), JSON)
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            raise BadRequest(
                "refgraph: /metrics needs the prometheus_client package (pip install "
                "prometheus_client); /metrics?format=json works without it",
                501,
            ) from None
        return Response(
            200, _render.metrics(self.gather(), self.pid, top, False), "text/plain; version=0.0.4; charset=utf-8"
        )

    def _other_worker(self, p):
        pid = _params.integer(p, "worker", None, 1, _params.MAX_PID)
        if pid is None or pid == self.pid:
            return None
        if self.spool is None or pid not in self.spool.pids():
            raise BadRequest(f"worker: {pid} is not a worker of this app that refgraph knows", 404)
        if self.spool.read(pid).status != "live":
            raise BadRequest(f"worker: {pid} is not live", 409)
        return pid

    def _ask(self, pid, kind, params, wait):
        """Run a job in another worker and return its result file's path; 504 if it does not answer in time."""
        nonce = self.spool.post_job(pid, kind, params)
        self.spool.wake([pid], b"j")
        ext = "rgd" if kind == "dump" else "json"
        path = self.spool.result_path(nonce, ext)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if os.path.exists(path):
                return path
            time.sleep(0.05)
        self.spool.cancel_job(pid, nonce)
        raise BadRequest(f"worker {pid} did not answer within {wait:g} s", 504)

    def page_chain(self, query, base):
        p = _params.parse(query, {"format", "type", "id", "worker", "max_depth"}, "/chain")
        fmt = _params.choice(p, "format", ("text", "json", "png", "svg"), "text")
        typename = _params.type_name(p)
        target = _params.integer(p, "id", None, 1, _params.MAX_ID)
        if (typename is None) == (target is None):
            raise BadRequest("/chain: give exactly one of type=NAME or id=ID")
        max_depth = _params.integer(p, "max_depth", 64, 1, 1000)
        params = {"format": fmt, "type": typename, "id": target, "max_depth": max_depth}
        pid = self._other_worker(p)
        if pid is not None:
            return self._answer_of(pid, self._ask(pid, "chain", params, wait=max(10.0, self.service.refresh_wait)))
        return self.local_chain(params)

    def page_retained(self, query, base):
        p = _params.parse(query, {"format", "limit", "worker"}, "/retained")
        fmt = _params.choice(p, "format", ("text", "json"), "text")
        limit = _params.integer(p, "limit", 20, 1, 1000)
        params = {"format": fmt, "limit": limit}
        pid = self._other_worker(p)
        if pid is not None:
            return self._answer_of(pid, self._ask(pid, "retained", params, wait=120.0))
        return self.local_retained(params)

    def local_retained(self, params):
        """A full capture and its dominator tree: the biggest retainers and the types by retained size."""
        self._acquire()
        try:
            started = time.perf_counter()
            snap = Snapshot(_common.capture_collected(tag=f"refgraph.web worker {self.pid}"))
            rows = snap.dominators(limit=params["limit"])
            types = snap.type_table(retained=True, limit=params["limit"])
            seconds = time.perf_counter() - started
            total = snap._dominator_tree().total
            as_json = params["format"] == "json"
            body = _render.retained(self.pid, len(snap), total, seconds, rows, types, as_json)
            return Response(200, body, JSON if as_json else TEXT)
        finally:
            self.lock.release()

    def _answer_of(self, pid, path):
        try:
            data = _spool._read_checked(path, _spool.MAX_RESULT_JSON)
            answer = json.loads(data)
            return Response(int(answer["status"]), base64.b64decode(answer["body"]), str(answer["content_type"]))
        except (ValueError, KeyError, TypeError) as e:
            raise BadRequest(f"worker {pid}: unreadable answer ({e})", 502) from None
        finally:
            discard(path)

    def local_chain(self, params):
        self._acquire()
        try:
            return _chain_response(params, self.pid)
        finally:
            self.lock.release()

    def page_snapshot(self, query, base):
        p = _params.parse(query, {"format", "worker"}, "/snapshot.rgd")
        fmt = _params.choice(p, "format", ("rgd", "json"), "rgd")
        pid = self._other_worker(p)
        ctype = "application/x-ndjson" if fmt == "json" else "application/octet-stream"
        name = f"refgraph-{pid or self.pid}.{'jsonl' if fmt == 'json' else 'rgd'}"
        headers = [("Content-Disposition", f'attachment; filename="{name}"')]
        if pid is not None:
            path = self._ask(pid, "dump", {"format": fmt}, wait=120.0)
            return Response(200, content_type=ctype, headers=headers, stream=path)
        path = self.local_dump(fmt)
        return Response(200, content_type=ctype, headers=headers, stream=path)

    def local_dump(self, fmt, path=None):
        """Take a full capture and write it; the caller removes the file."""
        self._acquire()
        try:
            if path is None:
                directory = self.spool.directory if self.spool is not None else None
                fd, path = tempfile.mkstemp(
                    prefix=".dump-", suffix=".jsonl" if fmt == "json" else ".rgd", dir=directory
                )
                os.close(fd)
            graph = _common.capture_collected(tag=f"refgraph.web worker {self.pid}")
            try:
                if fmt == "json":
                    graph.save_jsonl(path)
                else:
                    graph.save(path)
            finally:
                del graph
            return path
        finally:
            self.lock.release()

    def _run_job(self, job):
        params = job["params"]
        try:
            if job["kind"] == "dump":
                fmt = "json" if params.get("format") == "json" else "rgd"
                self.local_dump(fmt, self.spool.result_path(job["nonce"], "rgd"))
                return
            if job["kind"] == "retained":
                fmt, limit = params.get("format"), params.get("limit")
                if fmt not in ("text", "json") or type(limit) is not int or not 1 <= limit <= 1000:
                    return  # not a job this middleware posted: the asker times out
                self._write_answer(job, lambda: self.local_retained({"format": fmt, "limit": limit}))
                return
            clean = {
                "format": params.get("format"),
                "type": params.get("type"),
                "id": params.get("id"),
                "max_depth": params.get("max_depth"),
            }
            typename, target, depth = clean["type"], clean["id"], clean["max_depth"]
            if (
                clean["format"] not in ("text", "json", "png", "svg")
                or type(depth) is not int
                or not 1 <= depth <= 1000
                or (typename is None) == (target is None)
                or (typename is not None and (type(typename) is not str or len(typename) > _params.MAX_TYPE_NAME))
                or (target is not None and (type(target) is not int or not 1 <= target <= _params.MAX_ID))
            ):
                return  # not a job this middleware posted: the asker times out
            self._write_answer(job, lambda: self.local_chain(clean))
        except Exception:
            log.exception("refgraph.web: a job for this worker failed")

    def _write_answer(self, job, respond):
        try:
            r = respond()
        except Busy:
            r = error(503, "refgraph: another capture is running in that worker; retry shortly")
        except BadRequest as e:
            r = error(e.status, str(e))
        content_type = dict(r.headers)["Content-Type"]
        answer = {"status": r.status, "content_type": content_type, "body": base64.b64encode(r.body).decode()}
        self.spool.write_result(job["nonce"], "json", json.dumps(answer).encode())


def _parse_wake(message):
    """(refresh token or None, whether jobs may be waiting) of a wake-up datagram: ``r <time>``, ``j`` or ``s``."""
    if message.startswith(b"r ") and len(message) < 40:
        try:
            token = float(message[2:].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None, False
        return (token if math.isfinite(token) else None), False
    return None, message == b"j"


# -- chains ---------------------------------------------------------------------------------------------------------
def _find_instance(typename):
    """A live gc-tracked object whose type's short name is ``typename``, the youngest generation first."""
    for generation in (0, 1, 2):
        objects = gc.get_objects(generation)
        try:
            for o in objects:
                if type(o).__name__ == typename:
                    return o
        finally:
            del objects
    return None


def _local_chain(target, max_depth):
    """(ids root first, Chain) by the local search: the references of the gc-tracked objects, then a capture of
    the chain's objects alone. None where that cannot answer (the caller then captures the whole heap)."""
    skip = list(_common.SKIP_FILES)
    ids = _core.local_backref_chain([target], ["module"], max_depth, [], skip)
    if not ids:
        return None
    graph = _core.local_capture(ids, skip)
    if graph is None:
        return None
    root = graph.find(ids[0])
    hops = graph.backref_chain([target], predicate=lambda index: index == root, max_depth=len(ids))
    if hops is None:
        return None
    chain = Chain(
        [Hop(i, t, graph.node(graph.find(i))["label"], edge) for i, t, edge in hops],
        graph.chain_root_kind([h[0] for h in hops]),
    )
    return ids, chain


def _chain_response(params, pid):
    fmt, typename, target, max_depth = params["format"], params["type"], params["id"], params["max_depth"]
    obj = None
    if typename is not None:
        obj = _find_instance(typename)
        if obj is not None:
            target = id(obj)
    try:
        found = _local_chain(target, max_depth) if target is not None else None
        graph = None
        if found is None and (target is not None or typename is not None):
            # Untracked objects (str...), or a root that is not a module: the whole capture.
            graph = _common.capture()
            if target is None:
                ids = graph.ids_of_type(typename)
                target = ids[-1] if ids else None
            if target is not None and graph.find(target) >= 0:
                chain = _chain(graph, target, max_depth)
                found = ([h.id for h in chain.hops], chain)
        if found is None:
            what = f"type {typename!r}" if typename is not None else f"id {target}"
            raise BadRequest(f"/chain: no live object of {what} in worker {pid}", 404)
        ids, chain = found
        if fmt in ("png", "svg"):
            dot = _core.local_chain_dot(ids, list(_common.SKIP_FILES)) if graph is None else None
            if dot is None:
                graph = graph if graph is not None else _common.capture()
                dot = graph.chain_dot(ids) if len(ids) > 1 else graph.neighbourhood_dot(ids, max_depth=1)
            image = _core.render(dot, fmt)
            return Response(200, image, "image/png" if fmt == "png" else "image/svg+xml")
        if fmt == "json":
            doc = {
                "schema": _render.CHAIN_SCHEMA,
                "pid": pid,
                "type": typename,
                "id": chain.hops[-1].id,
                "root_kind": chain.root_kind,
                "found": chain.found,
                "text": chain.report(),
                "hops": [h._asdict() for h in chain.hops],
            }
            return Response(200, _render.to_json(doc), JSON)
        head = f"chain to {chain.hops[-1].type} {chain.hops[-1].id:#x} in worker {pid} (root: {chain.root_kind}):\n"
        return Response(200, (head + chain.report() + "\n").encode(), TEXT)
    finally:
        del obj


class Middleware:
    """What the WSGI and ASGI middlewares share: the wrapped app and the service of its pages."""

    def __init__(
        self,
        app,
        prefix="/debug/memory",
        auth=None,
        interval=60.0,
        history=60,
        top=40,
        busy_timeout=1.0,
        refresh_wait=2.0,
        spool=None,
        workers=True,
    ):
        self.app = app
        identity = f"{getattr(app, '__module__', '')}.{getattr(app, '__qualname__', type(app).__qualname__)}"
        self.service = Service(
            prefix, auth, interval, history, top, busy_timeout, refresh_wait, spool, workers, identity
        )

    def close(self):
        """Stop this process's sampler (the middleware then answers from fresh counts only)."""
        self.service.close()
