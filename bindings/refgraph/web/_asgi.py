"""refgraph's debug pages in any ASGI app (FastAPI, Starlette, Django's ASGI handler)."""

from __future__ import annotations

import asyncio

from . import _service


class ASGIMiddleware(_service.Middleware):
    """Serve refgraph's memory pages under ``prefix``; every other request (and every websocket or lifespan
    event) goes to ``app`` untouched. The pages' work runs on a worker thread, so the event loop waits only for
    the GIL the count itself holds.

    FastAPI/Starlette: ``app.add_middleware(ASGIMiddleware, auth=(user, password))``, or
    ``app = ASGIMiddleware(app, auth=...)``. The parameters are :class:`WSGIMiddleware`'s.
    """

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or not self.service.serves(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        authorization = ""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                authorization = value.decode("latin-1")
        try:
            query = scope.get("query_string", b"").decode("utf-8")
        except UnicodeDecodeError:
            query = None
        method = scope.get("method", "GET")
        loop = asyncio.get_running_loop()
        if query is None:
            response = _service.error(400, "refgraph: the query string is not UTF-8")
        else:
            response = await loop.run_in_executor(
                None, self.service.handle, method, scope["path"], query, authorization, scope.get("root_path", "")
            )
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers],
            }
        )
        if method == "HEAD":
            if response.stream is not None:
                _service.discard(response.stream)
            await send({"type": "http.response.body", "body": b""})
            return
        chunks = response.chunks()
        try:
            while True:
                piece = await loop.run_in_executor(None, next, chunks, None)
                if piece is None:
                    break
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            chunks.close()
