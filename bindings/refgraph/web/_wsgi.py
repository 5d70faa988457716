"""refgraph's debug pages in any WSGI app (Flask, Django, Pyramid, a bare callable)."""

from __future__ import annotations

from . import _service


class WSGIMiddleware(_service.Middleware):
    """Serve refgraph's memory pages under ``prefix``; every other request goes to ``app`` untouched.

    ``app``: the WSGI application to wrap. Flask: ``app.wsgi_app = WSGIMiddleware(app.wsgi_app, auth=...)``;
    Django: ``application = WSGIMiddleware(get_wsgi_application(), auth=...)``.

    ``prefix``: where the pages live (``/`` dashboard, ``/summary``, ``/growth``, ``/chain``, ``/snapshot.rgd``,
    ``/metrics``).

    ``auth``: ``(user, password)`` for HTTP basic authentication; None reads ``REFGRAPH_WEB_AUTH=user:password``.
    With neither, nothing is served (requests under the prefix go to the app) and one warning is logged.

    ``interval``: seconds between the background samples (the counting path, no graph). ``history``: samples
    kept per worker. ``top``: rows of the dashboard's tables. ``busy_timeout``: how long a request waits for
    another capture in the same process before a 503. ``refresh_wait``: how long a page waits for the other
    workers' fresh samples. ``spool``: the directory the workers share (default: see docs/web.md);
    ``workers=False`` shows this process only.

    >>> def app(environ, start_response):
    ...     start_response('200 OK', [('Content-Type', 'text/plain')])
    ...     return [b'hello']
    >>> wrapped = WSGIMiddleware(app, auth=('admin', 's3cret'), workers=False)
    >>> wrapped.close()
    """

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not self.service.serves(path):
            return self.app(environ, start_response)
        try:
            query = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            query = None
        if query is None:
            response = _service.error(400, "refgraph: the query string is not UTF-8")
        else:
            response = self.service.handle(
                environ.get("REQUEST_METHOD", "GET"),
                path,
                query,
                environ.get("HTTP_AUTHORIZATION", ""),
                environ.get("SCRIPT_NAME", ""),
            )
        reason = _service.STATUS_TEXT.get(response.status, "")
        start_response(f"{response.status} {reason}", response.headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            if response.stream is not None:
                _service.discard(response.stream)
            return [b""]
        return response.chunks()
