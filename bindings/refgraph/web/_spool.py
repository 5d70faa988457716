"""How every worker of a pre-fork server answers for all of them: a private spool directory.

Each worker process publishes its report (``_history.report``) to ``w-<pid>.json`` in a directory shared by the
workers of one app: written to a temporary name and renamed, so a reader sees a whole file or the previous one.
To get fresh data, a worker writes a new token to ``refresh``; every worker's sampler thread polls that file
(``os.stat``, every ``poll`` seconds), takes a sample and publishes it with the token it answered; the asker waits,
bounded, for the tokens. Work that needs another worker's live objects (its dump, a chain) is posted as
``job-<pid>-<nonce>.json``; that worker runs it and leaves ``result-<nonce>``.

The directory is ``$REFGRAPH_WEB_SPOOL`` or, by default, ``<tmp>/refgraph-web-<uid>/<parent pid>-<app hash>``: the
workers of one server share their parent (gunicorn's arbiter, uvicorn's supervisor). It is made mode 0700 and
refused unless this user owns it and nobody else may write to it. Every file is read as untrusted input:
a regular file owned by this user, size-capped, parsed and checked field by field; a bad one is reported and
skipped. A worker whose process is gone (or whose pid now belongs to another process) is reported dead once and
its file removed; one that is alive but did not answer in time is shown with the age of its data.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import stat
import tempfile
import time

SCHEMA = "refgraph.web.worker/1"
MAX_RECORD = 16 << 20
MAX_RESULT_JSON = 4 << 20


class SpoolError(OSError):
    pass


def default_directory(identity):
    """The spool of this app's workers: per user, per parent process, per app."""
    digest = hashlib.sha256(identity.encode("utf-8", "replace")).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"refgraph-web-{os.getuid()}", f"{os.getppid()}-{digest}")


def process_start(pid):
    """The kernel's start time of a process (clock ticks since boot), to tell a pid reused from the same one;
    None if it is gone or unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        fields = data[data.rindex(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):  # a worker that exited and was not reaped yet
            return None
        return int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _private_dir(path):
    """Make (or accept) a directory only this user can use; SpoolError naming it otherwise."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
    except OSError as e:
        raise SpoolError(f"{path}: cannot use as spool directory: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise SpoolError(f"{path}: spool is not a directory")
    if st.st_uid != os.getuid():
        raise SpoolError(f"{path}: spool directory is owned by uid {st.st_uid}, not this user ({os.getuid()})")
    if st.st_mode & 0o022:
        raise SpoolError(f"{path}: spool directory is writable by others (mode {oct(st.st_mode & 0o777)})")


def _write_atomic(path, data):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _read_checked(path, limit):
    """The bytes of a regular file this user owns, at most ``limit`` bytes; ValueError saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ValueError(e.strerror) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_uid != os.getuid():
            raise ValueError(f"owned by uid {st.st_uid}")
        if st.st_size > limit:
            raise ValueError(f"{st.st_size} bytes, more than {limit}")
        return f.read(limit + 1)


def _is_int(x):
    return type(x) is int


def _is_num(x):
    return (type(x) is int or type(x) is float) and math.isfinite(x)


def check_report(r):
    """ValueError naming the first field of a published report that is not as ``_history.report`` makes it."""
    if not isinstance(r, dict):
        raise ValueError("report is not an object")
    for key in ("time", "started", "capture_seconds", "capture_seconds_max", "capture_cpu_seconds"):
        if not _is_num(r.get(key)):
            raise ValueError(f"report.{key} is not a number")
    for key in ("samples", "objects", "object_bytes"):
        if not _is_int(r.get(key)) or r[key] < 0:
            raise ValueError(f"report.{key} is not a count")
    if not isinstance(r.get("sample_times"), list) or not all(map(_is_num, r["sample_times"])):
        raise ValueError("report.sample_times is not a list of numbers")
    memory = r.get("memory")
    if not isinstance(memory, dict) or not all(isinstance(k, str) and _is_int(v) for k, v in memory.items()):
        raise ValueError("report.memory is not an object of byte counts")
    types = r.get("types")
    if not isinstance(types, list):
        raise ValueError("report.types is not a list")
    for k, row in enumerate(types):
        if not (isinstance(row, list) and len(row) == 7 and isinstance(row[0], str) and all(map(_is_int, row[1:]))):
            raise ValueError(f"report.types[{k}] is not [name, 6 integers]")
    spark = r.get("spark")
    if not isinstance(spark, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(map(_is_int, v)) for k, v in spark.items()
    ):
        raise ValueError("report.spark is not an object of integer lists")


class Worker:
    """One worker as read from the spool: ``status`` is 'live', 'stale', 'dead' or 'invalid'."""

    __slots__ = ("pid", "status", "report", "reason", "published", "answered")

    def __init__(self, pid, status, report=None, reason="", published=0.0, answered=0.0):
        self.pid = pid
        self.status = status
        self.report = report
        self.reason = reason
        self.published = published
        self.answered = answered


class Spool:
    def __init__(self, directory, check_parent=False):
        self.directory = directory
        if check_parent:  # the default's per-user parent in a shared /tmp must be this user's alone too
            _private_dir(os.path.dirname(directory))
        _private_dir(directory)

    def _path(self, name):
        return os.path.join(self.directory, name)

    # -- reports ------------------------------------------------------------------------------------------------
    def publish(self, pid, report, answered):
        record = {
            "schema": SCHEMA,
            "pid": pid,
            "proc_start": process_start(pid),
            "published": time.time(),
            "answered": answered,
            "report": report,
        }
        data = json.dumps(record, separators=(",", ":")).encode()
        try:
            _write_atomic(self._path(f"w-{pid}.json"), data)
        except FileNotFoundError:  # the last other worker exited and removed the spool: make it again
            _private_dir(self.directory)
            _write_atomic(self._path(f"w-{pid}.json"), data)

    def unpublish(self, pid):
        try:
            os.unlink(self._path(f"w-{pid}.json"))
        except OSError:
            pass

    def read(self, pid):
        """The :class:`Worker` record of one pid (its file checked), or a Worker with status 'invalid'/'dead'."""
        path = self._path(f"w-{pid}.json")
        try:
            record = json.loads(_read_checked(path, MAX_RECORD))
            if not isinstance(record, dict) or record.get("schema") != SCHEMA:
                raise ValueError(f"schema is not {SCHEMA}")
            if record.get("pid") != pid:
                raise ValueError("pid does not match the file name")
            if not _is_num(record.get("published")) or not _is_num(record.get("answered")):
                raise ValueError("published/answered are not numbers")
            start = record.get("proc_start")
            if start is not None and not _is_int(start):
                raise ValueError("proc_start is not an integer")
            check_report(record.get("report"))
        except ValueError as e:
            return Worker(pid, "invalid", reason=f"{os.path.basename(path)}: {' '.join(str(e).split())[:160]}")
        if not _alive(pid, start):
            self.unpublish(pid)
            return Worker(pid, "dead", record["report"], "process gone; its file was removed", record["published"])
        return Worker(pid, "live", record["report"], "", record["published"], record["answered"])

    def pids(self):
        out = []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return out
        for name in names:
            if name.startswith("w-") and name.endswith(".json") and name[2:-5].isdigit():
                out.append(int(name[2:-5]))
        return sorted(out)

    # -- wake-ups -----------------------------------------------------------------------------------------------
    def listen(self, pid):
        """A datagram socket ``s-<pid>.sock`` this worker's sampler waits on, or None where one cannot be bound
        (a spool path too long for a socket address): then the sampler polls the refresh file instead."""
        path = self._path(f"s-{pid}.sock")
        if len(path.encode()) >= 104:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            try:
                os.unlink(path)
            except OSError:
                pass
            sock.bind(path)
        except OSError:
            sock.close()
            return None
        return sock

    def close_listener(self, pid, sock):
        if sock is not None:
            sock.close()
        try:
            os.unlink(self._path(f"s-{pid}.sock"))
        except OSError:
            pass

    def wake(self, pids, message):
        """Send a short message to these workers' samplers; a worker without a socket polls and sees it later."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            for pid in pids:
                try:
                    sock.sendto(message, self._path(f"s-{pid}.sock"))
                except OSError:
                    pass

    # -- refresh ------------------------------------------------------------------------------------------------
    def ask_refresh_at(self, token):
        """Ask every worker for a sample newer than ``token`` (a time.time())."""
        _write_atomic(self._path("refresh"), repr(token).encode())

    def refresh_token(self, last_mtime):
        """(token, mtime) of the refresh file if it changed since ``last_mtime``, else (None, last_mtime)."""
        path = self._path("refresh")
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return None, last_mtime
        if mtime == last_mtime:
            return None, last_mtime
        try:
            token = float(_read_checked(path, 64).decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            return None, mtime
        return (token if math.isfinite(token) else None), mtime

    # -- jobs for one worker ------------------------------------------------------------------------------------
    def post_job(self, pid, kind, params):
        nonce = os.urandom(8).hex()
        job = {"kind": kind, "params": params, "posted": time.time(), "nonce": nonce}
        _write_atomic(self._path(f"job-{pid}-{nonce}.json"), json.dumps(job).encode())
        return nonce

    def take_jobs(self, pid):
        """The jobs posted for this pid (removed from the spool as they are taken); bad files are dropped."""
        prefix = f"job-{pid}-"
        jobs = []
        try:
            names = os.listdir(self.directory)
        except OSError:
            return jobs
        for name in names:
            if not (name.startswith(prefix) and name.endswith(".json")):
                continue
            path = self._path(name)
            try:
                job = json.loads(_read_checked(path, 4096))
                nonce = job["nonce"]
                if not (isinstance(nonce, str) and len(nonce) == 16 and all(c in "0123456789abcdef" for c in nonce)):
                    raise ValueError("bad nonce")
                if job.get("kind") not in ("dump", "chain", "retained") or not isinstance(job.get("params"), dict):
                    raise ValueError("bad job")
                jobs.append(job)
            except (ValueError, KeyError, TypeError):
                pass
            try:
                os.unlink(path)
            except OSError:
                pass
        return jobs

    def result_path(self, nonce, ext):
        return self._path(f"result-{nonce}.{ext}")

    def write_result(self, nonce, ext, data):
        _write_atomic(self.result_path(nonce, ext), data)

    def cancel_job(self, pid, nonce):
        for name in (f"job-{pid}-{nonce}.json",):
            try:
                os.unlink(self._path(name))
            except OSError:
                pass

    def remove_if_empty(self):
        """Remove the directory once no worker has anything in it (the last worker to exit does)."""
        try:
            names = os.listdir(self.directory)
            if set(names) <= {"refresh"}:
                for name in names:
                    os.unlink(self._path(name))
                os.rmdir(self.directory)
        except OSError:
            pass

    def sweep(self, max_age):
        """Remove leftovers (temporary files, results nobody collected) older than ``max_age`` seconds."""
        now = time.time()
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            if name.startswith((".tmp-", "result-", "job-", ".dump-")):
                path = self._path(name)
                try:
                    if now - os.lstat(path).st_mtime > max_age:
                        os.unlink(path)
                except OSError:
                    pass


def _alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process now has this pid
    return start is None or process_start(pid) == start
