"""Real headless Chromium, a local HTTP server and a simulated run for the map tests.

Chromium is Debian's package: found at /usr/bin/chromium, else installed with apt-get when the
tests run as root; missing, it fails the tests under CI=true and skips them elsewhere. Pages are
written into a temporary folder served on 127.0.0.1 at a free port; screenshots go to
``test-artifacts/maps/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.commands import _map_scene
from tests.conftest import REPO_ROOT
from tests.maps import browser

ARTIFACTS = REPO_ROOT / "test-artifacts" / "maps"
APT_PACKAGES = ("chromium", "fonts-wqy-microhei")  # the font draws the Chinese labels


def _apt_install() -> None:
    """Install Chromium (and a CJK font) from Debian's packages; root only."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *APT_PACKAGES], check=False, env=env,
        capture_output=True, timeout=900,
    )  # fmt: skip


def _missing(msg: str) -> None:
    """Fail under CI=true, skip elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium, installed on the fly when running as root."""
    path = browser.find_chromium()
    if path is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install()
        path = browser.find_chromium()
    if path is None:
        _missing("Debian's chromium is not installed (apt-get install -y chromium)")
    assert path is not None
    return path


@pytest.fixture(scope="package")
def chromium(chromium_path: str) -> Iterator[Any]:
    """A headless Chromium driven by Playwright (fresh profile per launch).

    Package-scoped: Playwright's sync API keeps an event loop running on the main thread while
    it is open, which would break later tests that call `asyncio.run`.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium_path, args=list(browser.CHROMIUM_FLAGS), headless=True
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on 127.0.0.1: (folder, base URL)."""
    folder = tmp_path_factory.mktemp("maps-site")
    with browser.serve_folder(folder) as base_url:
        yield folder, base_url


@pytest.fixture
def context(chromium: Any) -> Iterator[Any]:
    """A fresh browser context per test."""
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def scene() -> _map_scene.MapScene:
    """The demo's simulated run on the embedded network: six tankers with alerts."""
    return _map_scene.simulated_scene(vehicles=6, seed=808)


def screenshot(visit: browser.Visit, name: str) -> Path:
    """Save a screenshot of a page under test-artifacts/maps/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    visit.page.screenshot(path=str(path))
    return path
