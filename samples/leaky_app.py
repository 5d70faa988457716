"""A tiny web-app-like module with a leak, used by samples/demo.py and samples/compare_requests.py.

`handle()` serves a request. To "speed up" later lookups it remembers every request of a user in the module-level
dict SEEN, which nothing ever empties: each request leaks a Request, its headers dict and its body.
"""


class Request:
    def __init__(self, path, user, body=b""):
        self.path = path
        self.user = user
        self.headers = {"User-Agent": "demo-client/1.0", "Accept": "text/html"}
        self.body = body


SEEN = {}  # user -> [Request, ...]: the leak


def handle(path, user, body=b""):
    request = Request(path, user, body)
    SEEN.setdefault(user, []).append(request)  # the bug: never evicted
    response = f"200 OK {request.path} for {request.user}"
    return response


def simulate_requests(n, users=("alice", "bob", "carol"), body_size=1024):
    """Serve n requests spread over a few users; return the responses' total length."""
    total = 0
    for i in range(n):
        total += len(handle(f"/items/{i}", users[i % len(users)], bytes(body_size)))
    return total
