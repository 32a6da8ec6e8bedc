"""Fixtures for the delivery-tracking tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.aws import provisioned_moto, reset_app_caches


@pytest.fixture(scope="module")
def shared_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """In-process moto provisioned once per module (like local_aws, without the per-test setup cost).

    Tests that use it must not depend on an empty table: every test makes its
    own lead ids, message ids and addresses (helpers.new_id, helpers.address).
    """
    outbox: Path = tmp_path_factory.mktemp("outbox")
    with pytest.MonkeyPatch.context() as monkeypatch, provisioned_moto(monkeypatch, outbox) as env:
        yield env


@pytest.fixture(scope="module")
def admin_client(shared_aws: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """chalice.test.Client over the app on the module's shared tables."""
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name="local", project_dir=str(tmp_path_factory.mktemp("proj"))) as client:
        yield client


@pytest.fixture
def five_per_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The submission rate limit at 5 per 10 minutes."""
    monkeypatch.setenv("RATE_LIMIT_MAX", "5")
    monkeypatch.setenv("RATE_LIMIT_WINDOW_SECONDS", "600")
    reset_app_caches()
