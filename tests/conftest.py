"""Shared fixtures.

Two kinds of AWS for tests:
- `local_aws`: moto in-process (fast unit and route tests);
- `emulator`: the real emulator server on a free loopback port, reached over
  HTTP by the same boto3 code (integration and end-to-end tests).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devstack.lifeline import Lifeline
from devstack.provision import local_client, stage_environment
from devstack.stack import free_port
from infra.project import PROJECT_ROOT

ADMIN_TOKEN = "test-admin-token"


def stage_env(stage: str = "local") -> dict[str, str]:
    return stage_environment(stage)


def reset_app_caches() -> None:
    from chalicelib.core import aws, settings

    settings.get_settings.cache_clear()
    aws.client.cache_clear()


def apply_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_app_caches()


BASE_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ADMIN_TOKEN_SHA256": hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
}


@contextmanager
def provisioned_moto(monkeypatch: pytest.MonkeyPatch, outbox: Path) -> Iterator[dict[str, str]]:
    """In-process moto with every resource of infra/resources.py created; yields the app's env."""
    from moto import mock_aws

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


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """In-process moto with every resource of infra/resources.py created."""
    with provisioned_moto(monkeypatch, tmp_path / "outbox") as env:
        yield env


def stream_shard_records(streams: Any, stream_arn: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(shard id, record) for every record on every shard of a stream, from the trim horizon."""
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            yield from ((shard["ShardId"], record) for record in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")


def stream_records(streams: Any, stream_arn: str) -> Iterator[dict[str, Any]]:
    """Every record on every shard of a stream, from the trim horizon."""
    return (record for _, record in stream_shard_records(streams, stream_arn))


@dataclass
class Emulator:
    endpoint: str
    env: dict[str, str]

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint)


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The emulator as a separate server process, provisioned once per session."""
    from devstack.provision import provision
    from devstack.stack import wait_for_http

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    outbox = tmp_path_factory.mktemp("emulator-outbox")
    # The lifeline ends the emulator even if this test run is killed outright.
    lifeline = Lifeline()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.emulator", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "LEADFLOW_OUTBOX": str(outbox), **lifeline.child_env()},
        pass_fds=(lifeline.read_fd,),
    )
    try:
        wait_for_http(endpoint + "/moto-api/", 30, process)
        env = {**stage_env(), **BASE_TEST_ENV, "AWS_ENDPOINT_URL": endpoint}
        env.update(provision(endpoint))
        yield Emulator(endpoint=endpoint, env=env)
    finally:
        process.terminate()
        process.wait(timeout=10)
        lifeline.close()


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


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    return client.scan(TableName=table)["Items"]


os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


class _ListHandler(__import__("logging").Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: Any) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def app_logs() -> Iterator[_ListHandler]:
    """Lines logged on the app's logger ("leadflow", which Chalice keeps from propagating)."""
    import logging

    handler = _ListHandler()
    logger = logging.getLogger("leadflow")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)
