"""The packaged template (`chalice package --merge-template`, via infra.package)
and its deployment zip."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from infra import project
from infra.bindings import ENV_BINDINGS
from infra.package import event_logical_id, function_logical_id, role_logical_id
from infra.policies import PolicyContext, cfn_policy
from infra.resources import SES_BOUNCE_RATE_REVIEW, SES_COMPLAINT_RATE_REVIEW, lambda_function_name
from tests.support.deploy import PACKAGED_STAGE, Packaged

FOURTEEN_DAYS = 14 * 24 * 3600
CFN_LINT = "import sys; from cfnlint.runner.cli import main; sys.exit(main())"


def of_type(packaged: Packaged, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in packaged.resources.items() if v["Type"] == kind}


def function_resource(packaged: Packaged, name: str) -> dict[str, Any]:
    function = next(f for f in packaged.functions if f.name == name)
    return dict(packaged.resources[function_logical_id(function)])


def event_properties(packaged: Packaged, name: str) -> dict[str, Any]:
    function = next(f for f in packaged.functions if f.name == name)
    events = packaged.resources[function_logical_id(function)]["Properties"]["Events"]
    return dict(events[event_logical_id(function)]["Properties"])


def test_packaged_template_has_no_cfn_lint_errors(packaged: Packaged) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CFN_LINT, "--format", "json", str(packaged.out / "sam.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f"{f['Rule']['Id']} {f['Message']}" for f in findings if f["Level"] == "Error"]
    assert errors == []
    assert result.returncode in (0, 4, 8, 12), result.stderr  # warnings/informational only


def test_one_template_holds_the_functions_and_every_resource(packaged: Packaged) -> None:
    from infra.resources import template

    assert packaged.template["Transform"] == "AWS::Serverless-2016-10-31"
    missing = set(template()["Resources"]) - set(packaged.resources)
    assert missing == set()
    names = {f.name for f in packaged.functions}
    assert {"api_handler", "on_lead_stream", "on_notification", "on_ses_feedback"} <= names
    for function in packaged.functions:
        props = packaged.resources[function_logical_id(function)]["Properties"]
        assert props["FunctionName"] == lambda_function_name(PACKAGED_STAGE, function.name)
    assert packaged.template["Parameters"]["Stage"]["AllowedValues"] == [PACKAGED_STAGE]


def test_lead_stream_mapping_carries_the_settings_chalice_cannot_set(packaged: Packaged) -> None:
    props = event_properties(packaged, "on_lead_stream")
    assert props["Stream"] == {"Fn::GetAtt": ["LeadsTable", "StreamArn"]}
    patterns = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    assert patterns == [{"eventName": ["INSERT"]}]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert props["MaximumRetryAttempts"] == 3
    assert 60 <= props["MaximumRecordAgeInSeconds"] <= 86400
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["LeadStreamDLQ", "Arn"]}}}


def test_every_mapping_has_exactly_the_event_sources_json_settings(packaged: Packaged) -> None:
    """The single source: what event-sources.json says is what the template says."""
    settings = project.load_event_sources(packaged.project_dir)
    for function in packaged.functions:
        if function.kind not in ("dynamodb", "sqs"):
            continue
        props = event_properties(packaged, function.name)
        for key, value in settings.get(function.name, {}).items():
            if key == "OnFailure":
                assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [value, "Arn"]}
            elif function.kind == "dynamodb" or key in ("FilterCriteria", "FunctionResponseTypes", "ScalingConfig"):
                assert props[key] == value, (function.name, key)


def test_notification_queue_mapping_reports_partial_batch_failures(packaged: Packaged) -> None:
    props = event_properties(packaged, "on_notification")
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_name = packaged.resources["NotificationsQueue"]["Properties"]["QueueName"]["Fn::Sub"]
    assert props["Queue"]["Fn::Sub"].endswith(":" + queue_name.replace("${Stage}", PACKAGED_STAGE))


def test_ses_feedback_failures_go_to_their_dead_letter_queue(packaged: Packaged) -> None:
    props = function_resource(packaged, "on_ses_feedback")["Properties"]
    config = props["EventInvokeConfig"]
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["SesFeedbackDLQ", "Arn"]},
    }
    assert 0 <= config["MaximumRetryAttempts"] <= 2


def test_queues_keep_messages_14_days_and_notifications_dead_letter_after_3(packaged: Packaged) -> None:
    queues = of_type(packaged, "AWS::SQS::Queue")
    dead_letter_queues = [k for k in queues if k.endswith("DLQ")]
    assert {"NotificationsDLQ", "LeadStreamDLQ", "SesFeedbackDLQ"} <= set(dead_letter_queues)
    for logical, queue in queues.items():
        assert queue["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS, logical
    redrive = queues["NotificationsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": ["NotificationsDLQ", "Arn"]}, "maxReceiveCount": 3}


def test_leads_stream_carries_new_images(packaged: Packaged) -> None:
    leads = packaged.resources["LeadsTable"]["Properties"]
    assert leads["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert {i["IndexName"] for i in leads["GlobalSecondaryIndexes"]} >= {"by_email", "by_created"}


def test_encryption_at_rest_everywhere_and_no_public_bucket(packaged: Packaged) -> None:
    for logical, table in of_type(packaged, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["SSESpecification"] == {"SSEEnabled": True}, logical
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical
    for logical, queue in of_type(packaged, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, logical
    for logical, topic in of_type(packaged, "AWS::SNS::Topic").items():
        assert topic["Properties"].get("KmsMasterKeyId"), logical
    # Topics SES and CloudWatch publish to need a key whose policy lets them.
    for logical in ("SesFeedbackTopic", "AlarmsTopic"):
        assert packaged.resources[logical]["Properties"]["KmsMasterKeyId"] == {
            "Fn::GetAtt": ["StackKey", "Arn"]
        }
    key_statements = packaged.resources["StackKey"]["Properties"]["KeyPolicy"]["Statement"]
    services = {s for st in key_statements for s in st["Principal"].get("Service", [])}
    assert {"ses.amazonaws.com", "cloudwatch.amazonaws.com"} <= services
    bucket = packaged.resources["AuditBucket"]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4


def _alarms(packaged: Packaged) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in of_type(packaged, "AWS::CloudWatch::Alarm").items()}


def _alarm_on(packaged: Packaged, metric: str, dimension_value: Any = None) -> dict[str, Any]:
    for props in _alarms(packaged).values():
        values = [d["Value"] for d in props["Dimensions"]]
        if props["MetricName"] == metric and (dimension_value is None or dimension_value in values):
            return props
    raise AssertionError(f"no alarm on {metric} {dimension_value}")


def test_every_function_has_error_and_throttle_alarms(packaged: Packaged) -> None:
    for function in packaged.functions:
        name = {"Fn::Sub": lambda_function_name("${Stage}", function.name)}
        assert _alarm_on(packaged, "Errors", name)["Namespace"] == "AWS/Lambda"
        assert _alarm_on(packaged, "Throttles", name)["Threshold"] >= 1
        if function.kind == "dynamodb":
            assert _alarm_on(packaged, "IteratorAge", name)["Statistic"] == "Maximum"


def test_dead_letter_queue_depth_alarms(packaged: Packaged) -> None:
    for queue in ("NotificationsDLQ", "LeadStreamDLQ", "LeadAuditDLQ", "SesFeedbackDLQ"):
        props = _alarm_on(packaged, "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [queue, "QueueName"]})
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_ses_bounce_and_complaint_rate_alarms_at_ses_review_levels(packaged: Packaged) -> None:
    assert SES_BOUNCE_RATE_REVIEW == 0.05 and SES_COMPLAINT_RATE_REVIEW == 0.001
    assert _alarm_on(packaged, "Reputation.BounceRate")["Threshold"] == 0.05
    assert _alarm_on(packaged, "Reputation.ComplaintRate")["Threshold"] == 0.001


def test_alarms_notify_the_alarms_topic_and_a_dashboard_exists(packaged: Packaged) -> None:
    for logical, props in _alarms(packaged).items():
        assert props["AlarmActions"] == [{"Ref": "AlarmsTopic"}], logical
    dashboard = of_type(packaged, "AWS::CloudWatch::Dashboard")["Dashboard"]["Properties"]
    body = json.loads(re.sub(r"\$\{[^}]+\}", "x", dashboard["DashboardBody"]["Fn::Sub"]))
    titles = " ".join(w["properties"]["title"] for w in body["widgets"])
    for word in ("errors", "throttles", "iterator age", "DLQ", "SES"):
        assert word.lower() in titles.lower()


def test_functions_read_resource_names_from_this_stack(packaged: Packaged) -> None:
    for function in packaged.functions:
        variables = function_resource(packaged, function.name)["Properties"]["Environment"]["Variables"]
        for env, binding in ENV_BINDINGS.items():
            assert variables[env] == binding.cfn_value(), (function.name, env)
        assert variables["LEADFLOW_STAGE"] == PACKAGED_STAGE


def test_each_function_role_has_its_least_privilege_policy(packaged: Packaged) -> None:
    ctx = PolicyContext.for_project(packaged.project_dir, PACKAGED_STAGE)
    roles = set()
    for function in packaged.functions:
        role = role_logical_id(function)
        roles.add(role)
        props = function_resource(packaged, function.name)["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        policies = packaged.resources[role]["Properties"]["Policies"]
        assert [p["PolicyDocument"] for p in policies] == [cfn_policy(ctx, function)]
    assert len(roles) == len(packaged.functions)  # no shared role


# --- the deployment zip ----------------------------------------------------------

DEV_ONLY_TOP_LEVEL = {
    "tests",
    "devstack",
    "infra",
    "bench",
    "ops",
    "moto",
    "pytest",
    "_pytest",
    "hypothesis",
    "cfnlint",
    "boto3",
    "botocore",
    "requirements-dev.txt",
}


def _runtime_distributions() -> set[str]:
    """requirements.txt and what those need (their non-extra requirements)."""
    wanted = [
        re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0]
        for line in (project.PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    found: set[str] = set()
    while wanted:
        name = wanted.pop().lower().replace("_", "-")
        if name in found:
            continue
        found.add(name)
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement:
                wanted.append(re.split(r"[<>=!~;\[ (]", requirement, maxsplit=1)[0])
    return found


def test_zip_ships_the_app_templates_and_runtime_dependencies(packaged: Packaged) -> None:
    names = set(packaged.zip_names())
    assert "app.py" in names
    for path in (project.PROJECT_ROOT / "chalicelib").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert str(path.relative_to(project.PROJECT_ROOT)) in names, path
    # The Chalice layout's top-level templates/ is the packaged folder the renderer reads.
    from chalicelib.email.rendering import TEMPLATES_DIR

    packaged_dir = TEMPLATES_DIR.relative_to(project.PROJECT_ROOT).as_posix()
    assert (project.PROJECT_ROOT / "templates").resolve() == TEMPLATES_DIR
    templates = [n for n in names if n.startswith(packaged_dir + "/")]
    kinds = {Path(n).relative_to(packaged_dir).parts[0] for n in templates}
    assert {"team_alert", "customer_confirmation", "order_confirmation"} <= kinds
    dist_infos = {n.split("/")[0].lower().split("-")[0].replace("_", "-") for n in names if ".dist-info/" in n}
    assert {"jinja2", "markupsafe"} <= _runtime_distributions()
    for distribution in _runtime_distributions():
        assert distribution in dist_infos, distribution


def test_zip_ships_nothing_dev_only(packaged: Packaged) -> None:
    top_level = {n.split("/")[0] for n in packaged.zip_names()}
    assert top_level & DEV_ONLY_TOP_LEVEL == set()
    shipped = {n.lower().split("-")[0].replace("_", "-") for n in top_level if n.endswith(".dist-info")}
    assert shipped <= _runtime_distributions()  # no distribution beyond requirements.txt's


@pytest.mark.parametrize("stage", ["local", "dev", "prod", "local-rehearsal"])
def test_every_stage_names_its_own_resources(stage: str) -> None:
    """Names known before deploying (not ARNs, not the account-suffixed bucket) match."""
    ctx = PolicyContext.for_project(project.PROJECT_ROOT, stage)
    for variable, binding in ENV_BINDINGS.items():
        physical = ctx.physical_name(binding.logical_id)
        if binding.output.endswith("Name") and "${AWS::AccountId}" not in physical:
            assert ctx.env[variable] == physical, (stage, variable)


def test_authorizer_401_and_403_use_the_api_error_shape(packaged: Packaged) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in of_type(packaged, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {
        "UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"
    }
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["ACCESS_DENIED"]["StatusCode"] == "403"
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"  # an unknown route
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN"):
        body = json.loads(responses[kind]["ResponseTemplates"]["application/json"])
        assert set(body) == {"error", "message"}
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):  # API Gateway's own message, as a VTL string
        template = responses[kind]["ResponseTemplates"]["application/json"]
        rendered = json.loads(template.replace("$context.error.messageString", '"Missing Authentication Token"'))
        assert set(rendered) == {"error", "message"}
    assert all(props["RestApiId"] == {"Ref": "RestAPI"} for props in responses.values())
    assert "RestAPI" in packaged.template["Resources"]
