"""Fixtures shared by every tier (helpers live in tests/support/)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import Emulator, apply_env, emulator_process, provisioned, provisioned_moto, reset_app_caches
from tests.support.browser import BROWSER_SKIPPED, BROWSER_SKIPPED_OUTPUT
from tests.support.logs import ListHandler

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    reason = getattr(node, "workeroutput", {}).get(BROWSER_SKIPPED_OUTPUT)
    if reason:
        node.config.stash[BROWSER_SKIPPED] = reason


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reason = config.stash.get(BROWSER_SKIPPED, None)
    if reason is not None:
        terminalreporter.write_line(f"BROWSER TESTS SKIPPED: {reason}", yellow=True, bold=True)


# Tiers whose files take longest, run first: on several workers (make test) the last file to
# start then is a short one, so no worker idles at the end while one file's minute-long
# soak still runs. The order within a tier, and of every other file, is unchanged.
SLOW_FIRST = ("tests/soak/", "tests/browser/", "tests/e2e/", "tests/deploy/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid
        return next((i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: each file's tests stay together, in their order


@pytest.fixture(scope="session", autouse=True)
def own_run_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every `python -m devstack` a test starts writes its run file here, not in the repo's var/
    where a developer's own `make run` (or another test worker's stack) keeps its."""
    previous = os.environ.get("LEADFLOW_RUN_FILE")
    os.environ["LEADFLOW_RUN_FILE"] = str(tmp_path_factory.mktemp("run") / "local-stack.json")
    yield
    if previous is None:
        os.environ.pop("LEADFLOW_RUN_FILE", None)
    else:
        os.environ["LEADFLOW_RUN_FILE"] = previous


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """In-process moto with every resource of infra/resources.py created."""
    with provisioned_moto(monkeypatch, tmp_path / "outbox") as env:
        yield env


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator as a separate server process, provisioned once per session."""
    with emulator_process(tmp_path_factory.mktemp("emulator-outbox")) as server:
        yield provisioned(server)


@pytest.fixture
def emulator(emulator_server: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The session's emulator, with the app's environment pointed at it."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    apply_env(monkeypatch, emulator_server.env)
    yield emulator_server
    reset_app_caches()


@pytest.fixture
def api_client(local_aws: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """chalice.test.Client over the app. The stage's variables are already in
    the environment (local_aws), so the Client gets an empty project dir and
    a test may change a setting with monkeypatch.setenv + reset_app_caches()."""
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name="local", project_dir=str(tmp_path)) as client:
        yield client


@pytest.fixture
def app_logs() -> Iterator[ListHandler]:
    """Lines logged on the app's logger ("leadflow", which Chalice keeps from propagating)."""
    handler = ListHandler()
    logger = logging.getLogger("leadflow")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)
