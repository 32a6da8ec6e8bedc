"""The AWS the tests run against, and the app's environment for it.

Two kinds:
- in-process moto (`provisioned_moto`): fast unit and route tests;
- the real emulator server (`emulator_process`) on a free loopback port,
  reached over HTTP by the same boto3 code (integration and end-to-end tests).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.core.aws import new_session
from devstack.endpoints import SERVICE_ENV_VARS, endpoint_env, forget
from devstack.lifeline import Lifeline
from devstack.provision import local_client, stage_environment
from devstack.stack import free_port, local_sender_keys, wait_for_http
from devstack.stage_env import without_stack_owned
from infra.project import PROJECT_ROOT
from ops.env import reset_app_caches  # the app's settings and clients, built again
from tests.support.moto_snapshot import Provisioned

ADMIN_TOKEN = "test-admin-token"
# The tests' sender (POST /notifications): its API key and callback signing secret.
SENDER_KEY = "test-sender-key"
SENDER_SECRET = "test-signing-secret"

BASE_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ADMIN_TOKEN_SHA256": hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest(),
    "SENDER_KEYS": local_sender_keys(SENDER_KEY, SENDER_SECRET),
}


def stage_env(stage: str = "local") -> dict[str, str]:
    """The stage's variables, without the emulator address and credentials each test sets itself."""
    return without_stack_owned(stage_environment(stage))


def apply_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_app_caches()


def _provision_in_process() -> dict[str, str]:
    from devstack.provision import provision_in_process

    return provision_in_process()


# One provisioning per test process, restored into each test's own mock (tests/support/moto_snapshot.py).
_provisioned = Provisioned(_provision_in_process)


def with_emulator_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process moto's DynamoDB writes as the emulator's (devstack/emulator_dynamodb.py):
    atomic across threads, as DynamoDB's are."""
    from moto.dynamodb.models import DynamoDBBackend

    from devstack import emulator_dynamodb

    for name, method in emulator_dynamodb.atomic_writes(DynamoDBBackend).items():
        monkeypatch.setattr(DynamoDBBackend, name, method)


@contextmanager
def provisioned_moto(monkeypatch: pytest.MonkeyPatch, outbox: Path) -> Iterator[dict[str, str]]:
    """In-process moto with every resource of infra/resources.py created; yields the app's env."""
    from moto import mock_aws

    for name in ("AWS_ENDPOINT_URL", *SERVICE_ENV_VARS.values(), "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    env = {**stage_env(), **BASE_TEST_ENV, "LEADFLOW_OUTBOX": str(outbox)}
    apply_env(monkeypatch, env)
    with_emulator_writes(monkeypatch)
    with mock_aws():
        # moto gives each mock a new boto3 default session, which would read and decode
        # botocore's JSON data again; this one shares the loader that has read it already.
        boto3.DEFAULT_SESSION = new_session()
        env.update(_provisioned())
        apply_env(monkeypatch, env)
        yield env
    reset_app_caches()


@dataclass
class Emulator:
    """An emulator server: its endpoint, its outbox, and (once provisioned) the app's env for it."""

    endpoint: str
    outbox: Path
    env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return local_client(service, self.endpoint)


@contextmanager
def emulator_process(outbox: Path, **env_overrides: str) -> Iterator[Emulator]:
    """An emulator server of its own on a free port, its outbox in `outbox`."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LEADFLOW_OUTBOX": str(outbox), **env_overrides}
    env.pop("SES_FEEDBACK_TOPIC", None)  # a test's setting must not leak into the emulator's
    # The lifeline ends the emulator even if this test run is killed outright.
    lifeline = Lifeline()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.emulator", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**env, **lifeline.child_env()},
        pass_fds=(lifeline.read_fd,),
    )
    try:
        wait_for_http(endpoint + "/moto-api/", 30, process)
        yield Emulator(endpoint=endpoint, outbox=outbox)
    finally:
        process.terminate()
        process.wait(timeout=10)
        lifeline.close()
        forget(endpoint)


def provisioned(emulator: Emulator, stage: str = "local") -> Emulator:
    """Create every resource in the emulator and record the app's env for it."""
    from devstack.provision import provision

    emulator.env = {**stage_env(stage), **BASE_TEST_ENV, **endpoint_env(emulator.endpoint)}
    emulator.env.update(provision(emulator.endpoint, stage))
    return emulator


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


def scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    return client.scan(TableName=table)["Items"]


__all__ = ["PROJECT_ROOT", "free_port"]  # re-exported for the suites
