"""Deploy path 1: one CloudFormation (SAM) template holding everything.

    python -m infra.package --stage prod --out build/prod

writes build/prod/merge-template.json (the resources of infra/resources.py,
the event-source settings of .chalice/event-sources.json, per-function IAM
policies, resource-bound environment variables) and runs

    chalice package --stage prod --merge-template build/prod/merge-template.json build/prod

so build/prod/sam.json + deployment.zip deploy with `aws cloudformation
package` and `aws cloudformation deploy` (see infra/DEPLOY.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from infra import captcha_secret, gateway_responses, project, scan_skips
from infra.app_model import LambdaFunction, describe_app, function_kinds
from infra.bindings import ENV_BINDINGS
from infra.event_sources import sam_event_invoke_config, sam_event_properties
from infra.policies import PolicyContext, cfn_policy
from infra.resources import log_group
from infra.resources import template as resources_template

EVENT_SUFFIX = {"dynamodb": "-dynamodb-event-source", "sqs": "-sqs-event-source", "sns": "-sns-subscription"}


def cfn_name(name: str) -> str:
    """Chalice's logical id for a resource name (chalice.utils.to_cfn_resource_name)."""
    from chalice.utils import to_cfn_resource_name

    return str(to_cfn_resource_name(name))


def function_logical_id(function: LambdaFunction) -> str:
    return "APIHandler" if function.is_api else cfn_name(function.name)


def role_logical_id(function: LambdaFunction) -> str:
    return cfn_name(f"{function.name}_role")


def event_logical_id(function: LambdaFunction) -> str:
    return cfn_name(function.name + EVENT_SUFFIX[function.kind])


def log_group_logical_id(function: LambdaFunction) -> str:
    """The log group Chalice adds for a function when the stage sets log_retention_in_days."""
    return cfn_name(f"{function.name}-log-group")


# One line of JSON per request. resourcePath is the route template
# (/leads/{lead_id}), so no lead id, cursor or query string is logged.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


def rest_api_override() -> dict[str, Any]:
    """X-Ray tracing and the access log on the API stage; why it has no cache."""
    return {
        "Metadata": scan_skips.checkov_metadata(scan_skips.API_CACHE),
        "Properties": {
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                "Format": ACCESS_LOG_FORMAT,
            },
        },
    }


def _log_group_override(stage: str, function: LambdaFunction) -> dict[str, Any]:
    """Chalice's log group, named after the function's physical name (Chalice's own
    Fn::Sub names a resource that does not exist for the API handler) and encrypted."""
    group = log_group("/aws/lambda/" + function.physical_name(stage))
    group["Properties"].pop("RetentionInDays")  # the stage's log_retention_in_days, as Chalice set it
    return {"Metadata": group["Metadata"], "Properties": group["Properties"]}


def _queue_arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _event_override(ctx: PolicyContext, function: LambdaFunction) -> dict[str, Any] | None:
    """The function's mapping settings; a stream event is pointed at this stack's table.

    Chalice already names the queue and topic by ARN built from their names
    (an `Fn::Sub` the merge cannot replace, only extend), and those names are
    this stack's; the function's environment references the same resources,
    so CloudFormation creates them first. The stream ARN is only known once
    the table exists, so that one is replaced with the table's StreamArn.
    """
    if function.kind not in ("dynamodb", "sqs"):
        return None
    props = sam_event_properties(function.kind, ctx.source_settings(function), _queue_arn)
    if function.kind == "dynamodb":
        props["Stream"] = {"Fn::GetAtt": [ctx.streamed_table(function.source), "StreamArn"]}
    return {event_logical_id(function): {"Properties": props}}


def _function_override(ctx: PolicyContext, function: LambdaFunction) -> dict[str, Any]:
    metadata = scan_skips.checkov_metadata(*scan_skips.FUNCTION_SKIPS[function.kind])
    props: dict[str, Any] = {
        "FunctionName": function.physical_name(ctx.stage),
        "Environment": {"Variables": {env: b.cfn_value() for env, b in ENV_BINDINGS.items()}},
    }
    if function.kind == "api" and captcha_secret.required(ctx.env):
        props["Environment"]["Variables"][captcha_secret.FUNCTION_ENV] = {"Ref": captcha_secret.PARAMETER}
    events = _event_override(ctx, function)
    if events:
        props["Events"] = events
    if function.kind == "sns":
        invoke_config = sam_event_invoke_config(ctx.source_settings(function), _queue_arn)
        if invoke_config:
            props["EventInvokeConfig"] = invoke_config
    return {"Metadata": metadata, "Properties": props}


def merge_template(project_dir: Path, stage: str, functions: list[LambdaFunction]) -> dict[str, Any]:
    ctx = PolicyContext.for_project(project_dir, stage)
    base = resources_template(function_kinds(functions))
    resources: dict[str, Any] = dict(base["Resources"])
    for function in functions:
        resources[function_logical_id(function)] = _function_override(ctx, function)
        role = role_logical_id(function)
        resources[role] = {
            "Properties": {"Policies": [{"PolicyName": f"{role}Policy", "PolicyDocument": cfn_policy(ctx, function)}]}
        }
    resources.update(gateway_responses.cfn_resources())
    resources["RestAPI"] = rest_api_override()
    if project.stage_config(project_dir, stage).get("log_retention_in_days"):
        for function in functions:
            resources[log_group_logical_id(function)] = _log_group_override(stage, function)
    stage_parameter = {**base["Parameters"]["Stage"], "Default": stage, "AllowedValues": [stage]}
    parameters: dict[str, Any] = {"Stage": stage_parameter}
    if captcha_secret.required(ctx.env):
        parameters[captcha_secret.PARAMETER] = captcha_secret.parameter()
    return {
        "Description": f"leadflow {stage}: API, event handlers and every resource they use",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": base["Outputs"],
    }


def chalice_command() -> list[str]:
    script = Path(sys.executable).parent / "chalice"
    return [str(script)] if script.exists() else ["chalice"]


def run_chalice_package(project_dir: Path, stage: str, merge_file: Path, out: Path) -> None:
    env = {
        **os.environ,
        **project.DEPLOY_TOOL_ENV,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    command = [*chalice_command(), "package", "--stage", stage, "--merge-template", str(merge_file), str(out)]
    result = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chalice package failed:\n{result.stdout}\n{result.stderr}")


def package(project_dir: Path, stage: str, out: Path) -> Path:
    """Write out/sam.json, out/deployment.zip and out/merge-template.json; return sam.json."""
    functions = describe_app(project_dir, stage)
    merged = merge_template(project_dir, stage, functions)
    with tempfile.TemporaryDirectory() as scratch:
        merge_file = Path(scratch) / "merge-template.json"
        merge_file.write_text(json.dumps(merged, indent=2), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        run_chalice_package(project_dir, stage, merge_file, out)
        shutil.copy(merge_file, out / "merge-template.json")
    return out / "sam.json"


def main() -> None:
    parser = argparse.ArgumentParser(description="chalice package --merge-template, with leadflow's resources")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--project-dir", type=Path, default=project.PROJECT_ROOT)
    args = parser.parse_args()
    if args.stage in project.LOCAL_ONLY_STAGES:
        parser.error(f"stage {args.stage} is local-only")
    template = package(args.project_dir.resolve(), args.stage, args.out.resolve())
    print(template)


if __name__ == "__main__":
    main()
