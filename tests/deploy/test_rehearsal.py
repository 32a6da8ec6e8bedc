"""A deploy rehearsal against the emulator server, over HTTP: the resources stack
through the emulator's CloudFormation, `chalice deploy --stage local-rehearsal`
(through infra.emulator_chalice), the mapping-settings step, then a redeploy
that must change nothing. infra/DEPLOY.md says what this does not prove.

The emulator is this module's own process: an event source mapping on a
stream makes the emulator stop serving its records to other readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.stack import wait_for_http
from infra import project
from infra.app_model import LambdaFunction, describe_app
from infra.deploy import Aws, DeployReport, apply_mapping_settings, deploy, stack_name
from tests.support.aws import free_port
from tests.support.deploy import PROJECT_ROOT, copy_project

pytestmark = pytest.mark.integration

STAGE = "local-rehearsal"
ACCOUNT = "123456789012"


@dataclass
class Rehearsal:
    endpoint: str
    project_dir: Path
    first: DeployReport
    second: DeployReport
    state_after_first: dict[str, Any]
    functions: list[LambdaFunction]

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")

    def stage_env(self) -> dict[str, str]:
        return project.stage_environment(self.project_dir, STAGE)

    def function(self, name: str) -> LambdaFunction:
        return next(f for f in self.functions if f.name == name)


def deployed_state(endpoint: str) -> dict[str, Any]:
    """What exists in the emulator: functions, mappings, APIs, subscriptions, roles."""
    lam = boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1")
    apigw = boto3.client("apigateway", endpoint_url=endpoint, region_name="us-east-1")
    sns = boto3.client("sns", endpoint_url=endpoint, region_name="us-east-1")
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    return {
        "functions": sorted(f["FunctionArn"] for f in lam.list_functions()["Functions"]),
        "mappings": sorted(
            (m["UUID"], m["FunctionArn"], m["EventSourceArn"])
            for m in lam.list_event_source_mappings()["EventSourceMappings"]
        ),
        "apis": sorted(a["id"] for a in apigw.get_rest_apis()["items"]),
        "subscriptions": sorted(
            (s["TopicArn"], s["Protocol"], s["Endpoint"]) for s in sns.list_subscriptions()["Subscriptions"]
        ),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
    }


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory, dummy_aws: None, build_cache: Path) -> Iterator[Rehearsal]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # The request recorder (one test reads what `chalice deploy` sent) writes outside the project.
    recording = tmp_path_factory.mktemp("recording") / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.emulator", "--port", str(port)], cwd=PROJECT_ROOT,
        env={**os.environ, "MOTO_RECORDER_FILEPATH": str(recording)},
    )
    try:
        wait_for_http(endpoint + "/moto-api/", 30, process)
        project_dir = copy_project(tmp_path_factory.mktemp("rehearsal-project"), build_cache)
        aws = Aws("us-east-1", endpoint)
        first = deploy(project_dir, STAGE, aws)
        state = deployed_state(endpoint)
        second = deploy(project_dir, STAGE, aws)
        yield Rehearsal(endpoint, project_dir, first, second, state, describe_app(project_dir, STAGE))
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_resources_stack_deploys_through_the_emulators_cloudformation(rehearsal: Rehearsal) -> None:
    assert rehearsal.first.stack == "created"
    cfn = rehearsal.client("cloudformation")
    assert cfn.describe_stacks(StackName=stack_name(STAGE))["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    env = rehearsal.stage_env()
    table = rehearsal.client("dynamodb").describe_table(TableName=env["LEADS_TABLE"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    dlq = rehearsal.client("sqs").get_queue_url(QueueName="leadflow-local-rehearsal-lead-stream-dlq")["QueueUrl"]
    attributes = rehearsal.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_stack_outputs_are_recorded_into_the_stage_config(rehearsal: Rehearsal) -> None:
    env = rehearsal.stage_env()
    table = rehearsal.client("dynamodb").describe_table(TableName=env["LEADS_TABLE"])["Table"]
    assert env["LEADS_STREAM_ARN"] == table["LatestStreamArn"]
    topics = {t["TopicArn"] for t in rehearsal.client("sns").list_topics()["Topics"]}
    assert env["LEAD_EVENTS_TOPIC_ARN"] in topics
    assert env["NOTIFICATION_REQUESTS_TOPIC_ARN"] in topics
    assert env["AUDIT_BUCKET"] == f"leadflow-{STAGE}-audit-{ACCOUNT}"
    assert set(rehearsal.first.config_changes) >= {"LEADS_STREAM_ARN", "LEAD_EVENTS_TOPIC_ARN", "AUDIT_BUCKET"}
    # the local stage is left alone
    config = project.load_config(rehearsal.project_dir)
    assert config["stages"]["local"] == project.load_config(PROJECT_ROOT)["stages"]["local"]


def test_chalice_deploy_creates_functions_roles_api_and_event_sources(rehearsal: Rehearsal) -> None:
    state = rehearsal.state_after_first
    for function in rehearsal.functions:
        arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function.physical_name(STAGE)}"
        assert arn in state["functions"], function.name
        assert f"leadflow-{STAGE}-{function.name}" in state["roles"]
    assert len(state["apis"]) == 1
    sources = {(m[1].rsplit(":", 1)[-1], m[2].split(":")[2]) for m in state["mappings"]}
    assert (f"leadflow-{STAGE}-on_lead_stream", "dynamodb") in sources
    assert (f"leadflow-{STAGE}-on_notification", "sqs") in sources
    assert any(p == "lambda" and e.endswith(f"leadflow-{STAGE}-on_ses_feedback") for _, p, e in state["subscriptions"])


def test_each_role_has_its_policy_file_rendered_for_the_account(rehearsal: Rehearsal) -> None:
    iam = rehearsal.client("iam")
    for function in rehearsal.functions:
        role = f"leadflow-{STAGE}-{function.name}"
        (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        on_disk = json.loads(project.policy_path(rehearsal.project_dir, STAGE, function.name).read_text())
        assert (json.loads(document) if isinstance(document, str) else document) == on_disk
        assert f":{ACCOUNT}:" in json.dumps(on_disk)


def _mapping(rehearsal: Rehearsal, function: str) -> dict[str, Any]:
    lam = rehearsal.client("lambda")
    arn = lam.get_function(FunctionName=rehearsal.function(function).physical_name(STAGE))["Configuration"][
        "FunctionArn"
    ]
    (mapping,) = lam.list_event_source_mappings(FunctionName=arn)["EventSourceMappings"]
    return dict(lam.get_event_source_mapping(UUID=mapping["UUID"]))


def test_mapping_settings_step_applies_what_chalice_cannot(rehearsal: Rehearsal) -> None:
    stream = _mapping(rehearsal, "on_lead_stream")
    assert [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]] == [{"eventName": ["INSERT"]}]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["MaximumRetryAttempts"] == 3
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == (
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:leadflow-{STAGE}-lead-stream-dlq"
    )
    queue = _mapping(rehearsal, "on_notification")
    assert queue["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    invoke = rehearsal.client("lambda").get_function_event_invoke_config(
        FunctionName=f"leadflow-{STAGE}-on_ses_feedback"
    )
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"].endswith(f":leadflow-{STAGE}-ses-feedback-dlq")
    changed = {c.function for c in rehearsal.first.mapping_changes}
    assert {"on_lead_stream", "on_notification", "on_ses_feedback"} <= changed


def test_redeploy_is_idempotent(rehearsal: Rehearsal) -> None:
    assert rehearsal.second.stack == "unchanged"
    assert rehearsal.second.config_changes == {}
    assert rehearsal.second.mapping_changes == []
    assert deployed_state(rehearsal.endpoint) == rehearsal.state_after_first


def test_a_changed_setting_is_applied_alone(rehearsal: Rehearsal) -> None:
    path = rehearsal.project_dir / ".chalice" / "event-sources.json"
    original = path.read_text()
    settings = json.loads(original)
    settings["on_lead_stream"]["MaximumRetryAttempts"] = 2
    path.write_text(json.dumps(settings))
    try:
        changes, _ = apply_mapping_settings(
            rehearsal.project_dir, STAGE, Aws("us-east-1", rehearsal.endpoint), rehearsal.functions, ACCOUNT
        )
        assert [(c.function, c.settings) for c in changes] == [("on_lead_stream", {"MaximumRetryAttempts": 2})]
        assert _mapping(rehearsal, "on_lead_stream")["MaximumRetryAttempts"] == 2
    finally:
        path.write_text(original)
        apply_mapping_settings(
            rehearsal.project_dir, STAGE, Aws("us-east-1", rehearsal.endpoint), rehearsal.functions, ACCOUNT
        )


def test_api_stage_traces_and_logs_access_and_functions_keep_their_reservations(rehearsal: Rehearsal) -> None:
    from infra.gateway_responses import API_STAGE, deployed_rest_api_id
    from infra.package import ACCESS_LOG_FORMAT

    rest_api_id = deployed_rest_api_id(rehearsal.project_dir, STAGE)
    stage = rehearsal.client("apigateway").get_stage(restApiId=rest_api_id, stageName=API_STAGE)
    assert stage["tracingEnabled"] is True
    log_group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/apigateway/leadflow-{STAGE}/access"
    assert stage["accessLogSettings"] == {"destinationArn": log_group, "format": ACCESS_LOG_FORMAT}
    assert rehearsal.first.stage_settings is True  # read after the second deploy: still set
    lam = rehearsal.client("lambda")
    config = project.load_config(rehearsal.project_dir)["stages"][STAGE]["lambda_functions"]
    logs = rehearsal.client("logs")
    assert rehearsal.first.log_groups and rehearsal.second.log_groups == []
    for function in rehearsal.functions:
        name = "/aws/lambda/" + function.physical_name(STAGE)
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        [group] = [g for g in groups if g["logGroupName"] == name]
        assert group["retentionInDays"] == 90, name
    for function in rehearsal.functions:
        name = function.physical_name(STAGE)
        assert lam.get_function_configuration(FunctionName=name)["TracingConfig"]["Mode"] == "Active", name
        reserved = config[function.name].get("reserved_concurrency")
        if reserved is not None:
            assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == reserved


def _recorded(endpoint: str, path: str, method: str = "POST") -> bytes:
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/moto-api/recorder/{path}", method=method, data=b"" if method == "POST" else None
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return bytes(response.read())


def _body(entry: dict[str, Any]) -> str:
    import base64

    body = entry.get("body") or ""
    return base64.b64decode(body).decode() if entry.get("body_encoded") else str(body)


def test_a_plain_chalice_deploy_after_make_deploy_keeps_the_settings_chalice_cannot_express(rehearsal: Rehearsal):
    """What `chalice deploy` itself sends to Lambda, from the emulator's request recorder: on an
    existing mapping only BatchSize and MaximumBatchingWindowInSeconds, and nothing about the SNS
    handler's async config; so filter, partial batch responses, bisect, retries and on-failure stay."""
    env = {k: v for k, v in os.environ.items() if k != "LEADFLOW_DEPLOY_TOOL"}
    env.update(AWS_ENDPOINT_URL=rehearsal.endpoint, PYTHONPATH=str(PROJECT_ROOT))
    _recorded(rehearsal.endpoint, "reset-recording")
    _recorded(rehearsal.endpoint, "start-recording")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "infra.emulator_chalice", "deploy", "--stage", STAGE],
            cwd=rehearsal.project_dir, env=env, capture_output=True, text=True, check=False, timeout=300,
        )
    finally:
        _recorded(rehearsal.endpoint, "stop-recording")
    assert result.returncode == 0, result.stderr
    assert "make deploy STAGE=local-rehearsal" in result.stderr  # the one-line notice

    entries = [json.loads(line) for line in _recorded(rehearsal.endpoint, "download-recording", "GET").splitlines()
               if line.strip()]
    lambda_calls = [(e["method"], e["url"].split("?")[0], _body(e)) for e in entries
                    if "/event-source-mappings" in e["url"] or "/event-invoke-config" in e["url"]]
    writes = [(method, url) for method, url, _ in lambda_calls if method != "GET"]
    assert writes and all(method == "PUT" and "/event-source-mappings/" in url for method, url in writes), writes
    for method, _, body in lambda_calls:
        if method == "PUT":
            sent = json.loads(body or "{}")
            assert set(sent) <= {"BatchSize", "MaximumBatchingWindowInSeconds"}, sent

    # The mappings and the async config still say what event-sources.json says.
    changes, warnings = apply_mapping_settings(
        rehearsal.project_dir, STAGE, Aws("us-east-1", rehearsal.endpoint), rehearsal.functions, ACCOUNT
    )
    assert changes == [] and warnings == []
    stream = _mapping(rehearsal, "on_lead_stream")
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and stream["BisectBatchOnFunctionError"]
