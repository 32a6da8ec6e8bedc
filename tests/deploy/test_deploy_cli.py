"""`make deploy` (python -m infra.deploy) before it touches AWS: ordinary mistakes get one
line, never a traceback; a stage with placeholders, or senders SES has not verified, is
refused before anything is created."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import project
from infra.deploy import stage_problems, unverified_senders
from tests.support.aws import free_port
from tests.support.deploy import copy_project

READY_SETTINGS = {
    "ADMIN_TOKEN_SHA256": hashlib.sha256(b"a token").hexdigest(),
    "TEAM_SENDER": "alerts <alerts@leadflow-customer.net>",
    "CUSTOMER_SENDER": "Leads <hello@leadflow-customer.net>",
}


def ready_project(tmp_path: Path, stage: str = "prod") -> Path:
    """A copy of the project whose stage has real-looking settings."""
    project_dir = copy_project(tmp_path / "project")
    config = project.load_config(project_dir)
    config["stages"][stage]["environment_variables"].update(READY_SETTINGS)
    project.save_config(project_dir, config)
    return project_dir


def no_credentials_env(**extra: str) -> dict[str, str]:
    """No credential source at all (and no instance metadata lookups off this machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", **extra)
    return env


def make_deploy(project_dir: Path, env: dict[str, str], stage: str = "prod") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra.deploy", "--stage", stage, "--project-dir", str(project_dir)],
                          cwd=project.PROJECT_ROOT, env=env, capture_output=True, text=True, check=False, timeout=120)


def test_with_only_aws_region_set_the_answer_is_one_line_about_credentials(tmp_path):
    result = make_deploy(ready_project(tmp_path), no_credentials_env(AWS_REGION="eu-west-1"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("make deploy: no AWS credentials found") and "AWS_PROFILE" in line


def test_without_a_region_the_answer_is_one_line(tmp_path):
    result = make_deploy(ready_project(tmp_path), no_credentials_env())
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("set AWS_REGION (or --region)")


def test_a_stage_with_placeholders_is_refused_before_any_aws_call(tmp_path):
    """The committed prod stage: no token hash, example.com senders."""
    project_dir = copy_project(tmp_path / "project")
    result = make_deploy(project_dir, no_credentials_env(AWS_REGION="eu-west-1"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "credentials" not in result.stderr  # refused before asking AWS
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("make deploy: stage prod: ADMIN_TOKEN_SHA256 is empty")
    assert any("TEAM_SENDER is alerts@example.com, a placeholder" in line for line in lines)
    assert any("CUSTOMER_SENDER is hello@example.com, a placeholder" in line for line in lines)


def test_stage_problems_passes_a_ready_stage_and_catches_a_malformed_hash(tmp_path):
    project_dir = ready_project(tmp_path)
    assert stage_problems(project_dir, "prod") == []
    config = project.load_config(project_dir)
    config["stages"]["prod"]["environment_variables"]["ADMIN_TOKEN_SHA256"] = "local-admin-token"
    project.save_config(project_dir, config)
    expected = "ADMIN_TOKEN_SHA256 is not a SHA-256 hex digest (64 characters 0-9a-f)"
    assert stage_problems(project_dir, "prod") == [expected]


def test_senders_whose_address_and_domain_are_unverified_in_ses_are_named(monkeypatch):
    import boto3
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ses = boto3.client("ses", region_name="eu-west-1")
        ses.verify_domain_identity(Domain="verified.net")
        ses.verify_email_identity(EmailAddress="me@address-only.net")
        senders = ["alerts@verified.net", "me@address-only.net", "hello@unverified.net"]
        assert unverified_senders(ses, senders) == ["hello@unverified.net"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_committed_deployable_stages_are_refused_until_filled_in(stage):
    assert any("ADMIN_TOKEN_SHA256" in p for p in stage_problems(project.PROJECT_ROOT, stage))
    assert json.loads(project.config_path(project.PROJECT_ROOT).read_text())["stages"][stage]


def test_preflight_refuses_a_ready_stage_whose_senders_ses_has_not_verified(tmp_path, monkeypatch):
    import boto3
    from moto import mock_aws

    from infra.deploy import Aws, DeployStopped, preflight

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    project_dir = ready_project(tmp_path)
    with mock_aws():
        with pytest.raises(DeployStopped) as stopped:
            preflight(project_dir, "prod", Aws("eu-west-1"))
        assert str(stopped.value) == (
            "stage prod: not verified in SES in eu-west-1: alerts@leadflow-customer.net, hello@leadflow-customer.net "
            "(verify the address or its domain first, infra/DEPLOY.md)"
        )
        boto3.client("ses", region_name="eu-west-1").verify_domain_identity(Domain="leadflow-customer.net")
        preflight(project_dir, "prod", Aws("eu-west-1"))  # nothing left to refuse
