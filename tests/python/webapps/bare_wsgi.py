"""A bare WSGI callable with a leak, refgraph's pages around it, served by wsgiref with a thread per request.

    python bare_wsgi.py PORT [--ballast N] [--busy-timeout S] [--no-auth] [--interval S]

``--ballast N`` keeps N small objects alive, so a full capture takes long enough for concurrent ones to meet.
"""

import argparse
import os
import socketserver
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from refgraph.web import WSGIMiddleware


class Item:
    def __init__(self, n):
        self.n = n


RENDERED = []
TEXTS = []
BALLAST = []


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/items/"):
        RENDERED.append([Item(k) for k in range(10)])
    if path.startswith("/text/"):
        TEXTS.append(path * 100)  # a growing list of strings: untracked objects
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"app: {path} (worker {os.getpid()})\n".encode()]


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--ballast", type=int, default=0)
    parser.add_argument("--busy-timeout", type=float, default=1.0)
    parser.add_argument("--no-auth", action="store_true")
    # Long by default: a sampler tick between a test's two requests would move its "previous sample".
    parser.add_argument("--interval", type=float, default=3600.0)
    args = parser.parse_args()
    BALLAST.extend([k] for k in range(args.ballast))
    auth = None if args.no_auth else ("admin", "s3cret")
    if args.no_auth:
        os.environ.pop("REFGRAPH_WEB_AUTH", None)
    wrapped = WSGIMiddleware(app, auth=auth, busy_timeout=args.busy_timeout, workers=False, interval=args.interval)
    server = make_server("127.0.0.1", args.port, wrapped, server_class=ThreadingServer, handler_class=QuietHandler)
    print("serving", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
