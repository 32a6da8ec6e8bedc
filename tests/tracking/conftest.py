"""Fixtures for the delivery-tracking tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_TEST_ENV, apply_env, reset_app_caches, stage_env


@pytest.fixture(scope="module")
def shared_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """In-process moto provisioned once per module (like local_aws, without the per-test setup cost).

    Tests that use it must not depend on an empty table: every test makes its
    own lead ids, message ids and addresses (helpers.new_id, helpers.address).
    """
    from moto import mock_aws

    outbox: Path = tmp_path_factory.mktemp("outbox")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        env = {**stage_env(), **BASE_TEST_ENV, "LEADFLOW_OUTBOX": str(outbox)}
        apply_env(monkeypatch, env)
        with mock_aws():
            from devstack.provision import provision_in_process

            env.update(provision_in_process())
            apply_env(monkeypatch, env)
            yield env
        reset_app_caches()


@pytest.fixture(scope="module")
def admin_client(shared_aws: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """chalice.test.Client over the app on the module's shared tables."""
    from chalice.test import Client

    import app as app_module

    with Client(app_module.app, stage_name="local", project_dir=str(tmp_path_factory.mktemp("proj"))) as client:
        yield client
