"""One in-process AWS + chalice.test.Client for the whole fuzz package.

Provisioning per example would cost more than the requests themselves, so
the tables live for the package and every property is stated relative to
what was stored before the request (counts and ids), never as absolutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.aws import BASE_TEST_ENV, apply_env, reset_app_caches, stage_env, with_emulator_writes
from tests.support.fuzz import profile
from tests.support.fuzz.harness import REQUESTS, FuzzApi


@pytest.fixture(scope="package")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzApi]:
    from chalice.test import Client
    from moto import mock_aws

    import app as app_module
    from devstack.provision import provision_in_process

    tmp = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        # The local stage's generous limit, raised further: the fuzzer is one client.
        env = {**stage_env(), **BASE_TEST_ENV, "LEADFLOW_OUTBOX": str(tmp / "outbox"), "RATE_LIMIT_MAX": "100000000"}
        apply_env(patch, env)
        # The emulator's TransactWriteItems (same semantics): moto's own deep-copies every table it
        # names, which over the long profile's ~13,000 requests grew the process past 20 GB.
        with_emulator_writes(patch)
        with mock_aws():
            env.update(provision_in_process())
            apply_env(patch, env)
            with Client(app_module.app, stage_name="local", project_dir=str(Path(tmp))) as client:
                yield FuzzApi(client=client, env=env, dynamodb=boto3.client("dynamodb"))
    reset_app_caches()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REQUESTS["count"]:
        terminalreporter.write_line(
            f"fuzz: {REQUESTS['count']} requests thrown at the API (profile {profile.PROFILE})"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    short = profile.PROFILE == "long" and REQUESTS["count"] < profile.LONG_RUN_MIN_REQUESTS
    if short and exitstatus == 0:
        print(f"\nfuzz: only {REQUESTS['count']} requests, the long profile needs {profile.LONG_RUN_MIN_REQUESTS}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
