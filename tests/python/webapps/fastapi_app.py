"""A FastAPI app with the same leak as samples/web_app.py, refgraph's pages mounted as ASGI middleware."""

import contextlib
import os

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from refgraph.web import ASGIMiddleware


class Item:
    def __init__(self, n, owner):
        self.n = n
        self.owner = owner


RENDERED = []


@contextlib.asynccontextmanager
async def lifespan(app):
    # A sync endpoint runs in anyio's thread pool, whose first use imports anyio's asyncio backend (a dozen
    # modules): done here, in every worker, so that it is not growth in whichever worker serves its first request
    # after a test's baseline.
    await anyio.to_thread.run_sync(int)
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/items/{n}", response_class=PlainTextResponse)
def items(n: int):
    page = [Item(k, n) for k in range(10)]
    RENDERED.append(page)
    return f"{len(page)} items for page {n} (worker {os.getpid()})\n"


@app.get("/", response_class=PlainTextResponse)
def index():
    return f"hello from worker {os.getpid()}\n"


app.add_middleware(
    ASGIMiddleware,
    interval=float(os.environ.get("WEB_APP_INTERVAL", "60")),
    refresh_wait=float(os.environ.get("WEB_APP_REFRESH_WAIT", "2")),
)
