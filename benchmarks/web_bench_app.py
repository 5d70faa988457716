"""The app bench_web.py serves: a leaking Flask app holding about BENCH_OBJECTS objects, with refgraph's pages,
the seed article's Pympler endpoint (/pympler), and, with BENCH_DOZER=1, Dozer's middleware (/_dozer)."""

import os

from flask import Flask
from refgraph.web import WSGIMiddleware


class Item:
    def __init__(self, n):
        self.name = "item-%d" % n  # a unique str
        self.value = 1_000_000 + n  # an int object of its own


# About 3 objects an item: the Item, its str and its int (the instance dict is inline on 3.11).
ITEMS = [Item(k) for k in range(int(os.environ.get("BENCH_OBJECTS", "1000000")) // 3)]
RENDERED = []

app = Flask(__name__)


@app.route("/items/<int:n>")
def items(n):
    RENDERED.append([Item(n) for _ in range(10)])
    return "ok\n"


@app.route("/ping")
def ping():
    return "pong\n"


@app.route("/pympler")
def pympler_summary():
    # "Debugging memory usage in a live Python web app": the whole endpoint.
    from pympler import muppy, summary

    rows = summary.format_(summary.summarize(muppy.get_objects()))
    return "\n".join(rows)


app.wsgi_app = WSGIMiddleware(app.wsgi_app, auth=("bench", "bench"))
if os.environ.get("BENCH_DOZER") == "1":
    from dozer import Dozer

    app.wsgi_app = Dozer(app.wsgi_app)
