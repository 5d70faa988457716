"""Three snapshots of an app that leaks into two containers and fills a one-off cache; which new objects leak?

    python3 samples/leak_suspects.py [OUTDIR]

Serves batches of fake requests: each request appends a Session to a module-level list (leak 1) and registers an
event listener in a dict under the request's token (leak 2); the first batch also fills a lookup cache once, and
every batch makes temporary objects that die with it. Snapshots A (before), B (after one batch) and C (after
another) are saved to OUTDIR (default: a temporary folder) for `refgraph suspects A B C`, and the report printed.
"""

import os
import secrets
import sys
import tempfile

import refgraph

SESSIONS = []  # leak 1: never trimmed
LISTENERS = {}  # leak 2: never unregistered
LOOKUP = {}  # a cache filled once


class Session:
    def __init__(self, user):
        self.user = user
        self.history = [bytearray(512)]


class Listener:
    def __init__(self, session):
        self.session_user = session.user
        self.buffer = bytearray(2048)


def serve(batch, n=200):
    if not LOOKUP:
        LOOKUP.update({i: f"entry {i}" * 4 for i in range(300)})
    scratch = [object() for _ in range(50)]  # dies with the batch
    for i in range(n):
        s = Session(f"user{batch}-{i}")
        SESSIONS.append(s)
        LISTENERS[secrets.token_hex(16)] = Listener(s)
    del scratch


def main(outdir):
    a = refgraph.snapshot()
    serve(1)
    b = refgraph.snapshot()
    serve(2)
    c = refgraph.snapshot()
    for name, snap in zip("abc", (a, b, c)):
        snap.save(os.path.join(outdir, f"{name}.rgd"))
    print(refgraph.leak_suspects(a, b, c, limit=5))
    container = c.retained(SESSIONS)
    print(f"SESSIONS retains {container} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
