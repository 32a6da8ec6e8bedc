"""The CAPTCHA secret reaches the API function from the deployer's environment, never from
.chalice/config.json: refused before deploying when missing or committed, written into
the function after `chalice deploy`, a NoEcho parameter of the packaged stack."""

from __future__ import annotations

import io
import zipfile

import pytest

from infra import captcha_secret, project
from infra.app_model import describe_app
from infra.deploy import stage_problems
from infra.package import merge_template
from tests.support.deploy import copy_project

SECRET_ENV = {captcha_secret.DEPLOY_ENV: "0x4AAAA-the-secret"}


def with_stage_env(tmp_path, **variables: str):
    project_dir = copy_project(tmp_path / "project")
    config = project.load_config(project_dir)
    config["stages"]["prod"]["environment_variables"].update(variables)
    project.save_config(project_dir, config)
    return project_dir


def test_a_stage_without_captcha_needs_no_secret():
    assert captcha_secret.problems({"CAPTCHA_PROVIDER": ""}, {}) == []


def test_a_stage_with_captcha_needs_the_secret_in_the_deploy_environment():
    stage = {"CAPTCHA_PROVIDER": "turnstile"}
    [problem] = captcha_secret.problems(stage, {})
    assert problem.startswith("CAPTCHA_PROVIDER is turnstile but LEADFLOW_CAPTCHA_SECRET is not set")
    assert captcha_secret.problems(stage, SECRET_ENV) == []


def test_a_committed_secret_is_refused():
    [problem] = captcha_secret.problems({"CAPTCHA_SECRET": "oops"}, SECRET_ENV)
    assert problem.startswith("CAPTCHA_SECRET is in .chalice/config.json")


def test_make_deploy_checks_the_secret_with_the_stage(tmp_path, monkeypatch):
    project_dir = with_stage_env(tmp_path, CAPTCHA_PROVIDER="hcaptcha")
    monkeypatch.delenv(captcha_secret.DEPLOY_ENV, raising=False)
    assert any(captcha_secret.DEPLOY_ENV in p for p in stage_problems(project_dir, "prod"))
    monkeypatch.setenv(captcha_secret.DEPLOY_ENV, "s3cret")
    assert not any("CAPTCHA" in p for p in stage_problems(project_dir, "prod"))


def test_the_secret_is_written_into_the_api_function_keeping_its_other_variables(monkeypatch):
    import boto3
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return None\n")
    with mock_aws():
        iam = boto3.client("iam", region_name="eu-west-1")
        role = iam.create_role(RoleName="api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lambda_client = boto3.client("lambda", region_name="eu-west-1")
        lambda_client.create_function(
            FunctionName="leadflow-prod", Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": archive.getvalue()}, Environment={"Variables": {"LEADS_TABLE": "leads"}},
        )
        assert captcha_secret.apply(lambda_client, "leadflow-prod", "s3cret") is True
        variables = lambda_client.get_function_configuration(FunctionName="leadflow-prod")["Environment"]["Variables"]
        assert variables == {"LEADS_TABLE": "leads", "CAPTCHA_SECRET": "s3cret"}
        assert captcha_secret.apply(lambda_client, "leadflow-prod", "s3cret") is False  # already there


@pytest.mark.parametrize("provider", ["", "recaptcha"])
def test_the_packaged_stack_takes_the_secret_as_a_noecho_parameter(tmp_path, provider):
    project_dir = with_stage_env(tmp_path, CAPTCHA_PROVIDER=provider)
    functions = describe_app(project_dir, "prod")
    template = merge_template(project_dir, "prod", functions)
    api = next(f for f in functions if f.kind == "api")
    from infra.package import function_logical_id

    variables = template["Resources"][function_logical_id(api)]["Properties"]["Environment"]["Variables"]
    others = [f for f in functions if f.kind != "api"]
    if not provider:
        assert captcha_secret.PARAMETER not in template["Parameters"]
        assert "CAPTCHA_SECRET" not in variables
        return
    assert template["Parameters"][captcha_secret.PARAMETER]["NoEcho"] is True
    assert variables["CAPTCHA_SECRET"] == {"Ref": captcha_secret.PARAMETER}
    for function in others:  # only the API checks CAPTCHAs
        other = template["Resources"][function_logical_id(function)]["Properties"]["Environment"]["Variables"]
        assert "CAPTCHA_SECRET" not in other
