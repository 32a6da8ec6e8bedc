"""Browser fixtures: one headless Chromium per test run, a fresh page per test (tests/support/browser.py),
and a local stack with its mail viewer per test module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import LocalStack
from tests.support import browser
from tests.support.browser import BROWSER_SKIPPED, BROWSER_SKIPPED_OUTPUT
from tests.support.mailviewer import MailViewer
from tests.support.stack import local_stack, viewer


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



# A local stack per test module that asks for it (a module may define its own `stack`).
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, browser_context: Any) -> Iterator[LocalStack]:
    # browser_context first: without a browser the module is skipped before a stack is started.
    with local_stack(tmp_path_factory.mktemp("outbox")) as running:
        yield running


@pytest.fixture(scope="module")
def mail(stack: LocalStack) -> MailViewer:
    return viewer(stack)
