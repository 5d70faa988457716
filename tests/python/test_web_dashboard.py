"""The dashboard in a real browser: headless Chromium loads it from gunicorn (2 workers) with credentials."""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess

import pytest
from web_servers import PASSWORD, USER, request, start_gunicorn

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_gunicorn(tmp_path_factory.mktemp("dashboard"))
    # Enough Items (10 a request) to lead "growing since start" in each worker over what a worker's first requests
    # import and cache (thousands of ints, strs and tuples on a busy machine's slower start).
    for k in range(300):
        request(s.url(f"/items/{k}"), auth=None)
    yield s
    s.stop()


def chromium(*args, timeout=120):
    assert CHROMIUM, "chromium is not installed (make deps installs it)"
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        *args,
    ]
    # Without LD_PRELOAD: `make asan` preloads ASan's runtime for the interpreter, and Chromium hangs with it.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)


class Dom(html.parser.HTMLParser):
    """What the test looks for in the rendered DOM: worker sections, type tables and their rows, sparklines."""

    def __init__(self):
        super().__init__()
        self.sections, self.tables, self.rows, self.sparks, self.polylines, self.links = [], 0, 0, 0, 0, []
        self.growth_tables, self.growth_first = 0, []
        self._in_growth = False
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "worker" in a.get("class", ""):
            self.sections.append(a)
        if tag == "table" and "types" in a.get("class", ""):
            self.tables += 1
        if tag == "table":
            self._in_growth = a.get("class") == "growth"
            self.growth_tables += self._in_growth
        if tag == "tr":
            self.rows += 1
        if tag == "svg" and "spark" in a.get("class", ""):
            self.sparks += 1
        if tag == "polyline":
            self.polylines += 1
        if tag == "a" and "grow" in a.get("class", ""):
            self.links.append(a["href"])
            if self._in_growth:
                self.growth_first.append(a["href"])
        for name in ("src", "href"):
            if a.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(a[name])
        if tag in ("script", "link", "iframe", "img"):
            self.external.append(tag)


def test_dashboard_renders_in_chromium(server, tmp_path):
    url = f"http://{USER}:{PASSWORD}@127.0.0.1:{server.port}/debug/memory/"
    result = chromium("--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Dom()
    dom.feed(result.stdout)
    # GIVEN two gunicorn workers, THEN a section per worker, each with its table of types and sparklines
    pids = {s["data-pid"] for s in dom.sections}
    assert len(pids) == 2, result.stdout[:3000]
    assert all(s["data-status"] == "live" for s in dom.sections)
    assert dom.tables == 3  # two workers and the total
    assert dom.rows > 40
    assert dom.sparks >= 2 * 20 and dom.polylines == dom.sparks - 0
    assert any("chain?type=Item" in href for href in dom.links), dom.links
    # each worker's table of growing types, the leaking Item among them, linked to its chain
    assert dom.growth_tables == 2
    assert any(href.endswith("/debug/memory/chain?type=Item") for href in dom.growth_first), dom.growth_first
    assert dom.external == []  # no scripts, fonts, stylesheets or images from anywhere
    # and a screenshot of what a person sees
    shot = tmp_path / "dashboard.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1280,1600", url)
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20000
    print(f"dashboard screenshot: {shot}")


def test_dashboard_without_credentials_is_refused_in_chromium(server):
    result = chromium("--dump-dom", f"http://127.0.0.1:{server.port}/debug/memory/")
    # headless Chromium has nobody to ask for a password: the 401's challenge ends the load
    assert 'class="worker"' not in result.stdout
    assert "authentication required" in result.stdout or "ERR_INVALID_AUTH_CREDENTIALS" in result.stderr
