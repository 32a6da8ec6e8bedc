"""Headless Chromium for browser tests, driven by Playwright.

Playwright's own browser downloads are not used: the distribution's Chromium
(Debian's `chromium` package) is launched instead, so `make test` needs no
download beyond the Python packages. Without a Chromium the browser tests are
skipped and the run says so in one line; with LEADFLOW_REQUIRE_BROWSER=1 (CI)
that skip is an error instead.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
# Why the browser tests were skipped, for the run's last line (tests/conftest.py); under
# pytest-xdist a worker hands it to the controller in its workeroutput under this key.
BROWSER_SKIPPED = pytest.StashKey[str]()
BROWSER_SKIPPED_OUTPUT = "browser_skipped"
CHROMIUM_ENV = "LEADFLOW_CHROMIUM"
REQUIRE_ENV = "LEADFLOW_REQUIRE_BROWSER"
CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_HINT = "apt-get install -y chromium"
# Headless, and nothing that reaches out on its own (updates, sync, QUIC probes).
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    """LEADFLOW_CHROMIUM if set, else the distribution's Chromium."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def unavailable_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if find_chromium() is None:
        return f"no Chromium found ({INSTALL_HINT}, or set {CHROMIUM_ENV})"
    return None


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


@contextmanager
def launched(user_data_dir: Path) -> Iterator[BrowserContext]:
    """Chromium with the flags above and a fresh profile in `user_data_dir`."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError(unavailable_reason())
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=executable, headless=True, args=list(LAUNCH_ARGS),
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Page, name: str, full_page: bool = False) -> Path:
    """Save a PNG of the page as var/screenshots/<name>.png (for a person to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=full_page)
    return path
