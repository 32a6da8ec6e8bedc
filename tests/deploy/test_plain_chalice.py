"""Plain Chalice commands, as a new user would type them: each stops with one line
that points at the make target which does the job (chalicelib/core/plain_chalice.py, called from app.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.package import chalice_command
from tests.support.aws import free_port
from tests.support.deploy import copy_project


@pytest.fixture
def plain_env(dummy_aws: None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LEADFLOW_DEPLOY_TOOL"}
    # Should anything still reach for AWS, it meets a closed loopback port, not the network.
    env.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", AWS_EC2_METADATA_DISABLED="true")
    return env


def chalice(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*chalice_command(), *args], cwd=project, env=env, capture_output=True, text=True,
                          check=False, timeout=300)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_plain_chalice_package_stops_with_one_line_pointing_at_make_package(tmp_path, plain_env, stage):
    project = copy_project(tmp_path / "project")
    result = chalice(project, plain_env, "package", "--stage", stage, str(tmp_path / "out"))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"leadflow: use `make package STAGE={stage}`: plain `chalice package` leaves out the tables, queues and "
        "event-source settings (infra/DEPLOY.md)"
    ]
    assert not (tmp_path / "out").exists()


def test_plain_chalice_deploy_of_a_stage_without_resources_stops_before_touching_aws(tmp_path, plain_env):
    project = copy_project(tmp_path / "project")
    result = chalice(project, plain_env, "deploy", "--stage", "dev")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "leadflow: use `make deploy STAGE=dev`: stage dev has no resources yet, and plain `chalice deploy` "
        "cannot create them (infra/DEPLOY.md)"
    ]
    assert not (project / ".chalice" / "deployed").exists()
