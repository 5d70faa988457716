"""refgraph inside a running web app: memory pages behind HTTP basic auth, for every worker of the server.

    # Flask (WSGI)
    from refgraph.web import WSGIMiddleware
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, auth=("admin", os.environ["DEBUG_PASSWORD"]))

    # FastAPI / Starlette (ASGI)
    from refgraph.web import ASGIMiddleware
    app.add_middleware(ASGIMiddleware, auth=("admin", os.environ["DEBUG_PASSWORD"]))

Under ``/debug/memory``: ``/`` a dashboard, ``/summary``, ``/growth``, ``/chain?type=T``, ``/snapshot.rgd`` and
``/metrics``, each also as ``?format=json``. docs/web.md describes the pages, their JSON schemas, how the workers
of a pre-fork server share their data, and the limits.
"""

from ._asgi import ASGIMiddleware
from ._wsgi import WSGIMiddleware

__all__ = ["ASGIMiddleware", "WSGIMiddleware"]
