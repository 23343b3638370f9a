"""Load a page in real headless Chromium and record what went wrong: the maps tests' harness.

Chromium is Debian's (`/usr/bin/chromium`), started with the flags the project's machines need
(DESIGN.md: no sandbox as root, no background networking); Playwright drives it and creates a
fresh profile for every launch. Every request to anything but the local test server is refused
and recorded, so a page that still reaches for a CDN fails its test.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socketserver
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def find_chromium() -> str | None:
    """Path of Debian's Chromium, or None."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serve a folder without logging every request to stderr."""

    extensions_map = {  # noqa: RUF012
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".geojson": "application/geo+json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 at a free port; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Visit:
    """A loaded page and what it did wrong."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Every JavaScript error, outside request and failed request."""
        return [
            *(f"console: {e}" for e in self.console_errors),
            *(f"page error: {e}" for e in self.page_errors),
            *(f"outside request: {u}" for u in self.blocked_requests),
            *(f"failed request: {u}" for u in self.failed_requests),
        ]


def open_page(context: Any, url: str, *, wait_selector: str = ".leaflet-container") -> Visit:
    """Open `url` in a new page; refuse and record requests that leave 127.0.0.1."""
    page = context.new_page()
    visit = Visit(page)
    local_host = urllib.parse.urlsplit(url).netloc

    def route(r: Any) -> None:
        target = urllib.parse.urlsplit(r.request.url)
        if target.scheme in ("data", "blob") or target.netloc == local_host:
            r.continue_()
        else:
            visit.blocked_requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
    page.on("requestfailed", lambda r: visit.failed_requests.append(r.url))
    page.goto(url, wait_until="load")
    page.wait_for_selector(wait_selector, state="attached", timeout=15_000)
    return visit
