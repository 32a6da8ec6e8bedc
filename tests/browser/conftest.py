"""Browser fixtures: one headless Chromium per test run, a fresh page per test (tests/support/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import browser
from tests.support.browser import BROWSER_SKIPPED, BROWSER_SKIPPED_OUTPUT


@pytest.fixture(scope="session")
def browser_context(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = browser.unavailable_reason()
    if reason is not None:
        if browser.required():
            pytest.fail(f"browser tests required ({browser.REQUIRE_ENV}=1) but {reason}", pytrace=False)
        request.config.stash[BROWSER_SKIPPED] = reason
        if hasattr(request.config, "workeroutput"):  # a pytest-xdist worker: tell the controller
            request.config.workeroutput[BROWSER_SKIPPED_OUTPUT] = reason
        pytest.skip(f"browser tests skipped: {reason}")
    with browser.launched(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    opened = browser_context.new_page()
    yield opened
    opened.close()

