"""A small Flask app with a leak, and refgraph's memory pages mounted in two lines (used by `make demo`).

Each request to /items renders ten Item objects and "caches" them in a module-level list that nothing empties.
Run it under gunicorn with two workers:

    REFGRAPH_WEB_AUTH=admin:secret python -m gunicorn -w 2 -b 127.0.0.1:8000 web_app:app

then open http://127.0.0.1:8000/debug/memory/ (user admin, password secret), or ask /debug/memory/growth.
"""

import os

from flask import Flask
from refgraph.web import WSGIMiddleware


class Item:
    def __init__(self, n, owner):
        self.n = n
        self.owner = owner


RENDERED = []  # the leak: every rendered page's items, never evicted

app = Flask(__name__)


@app.route("/items/<int:n>")
def items(n):
    page = [Item(k, n) for k in range(10)]
    RENDERED.append(page)
    return f"{len(page)} items for page {n} (worker {os.getpid()})\n"


@app.route("/")
def index():
    return f"hello from worker {os.getpid()}\n"


# The two lines: credentials from REFGRAPH_WEB_AUTH=user:password (without them nothing is served).
app.wsgi_app = WSGIMiddleware(
    app.wsgi_app,
    interval=float(os.environ.get("WEB_APP_INTERVAL", "60")),
    refresh_wait=float(os.environ.get("WEB_APP_REFRESH_WAIT", "2")),
)
