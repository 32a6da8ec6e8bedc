"""Deploy path 2: the resources stack, then `chalice deploy`, then the mapping settings.

    python -m infra.deploy --stage prod

1. deploys infra/resources.py as the stack `leadflow-<stage>-resources`
   (created, updated, or left alone when unchanged);
2. records its outputs (table names, stream ARN, topic ARNs, bucket, ...) into
   the stage's environment_variables in .chalice/config.json (the pattern of
   Chalice's media-query sample) and writes each function's IAM policy file
   for this account and region;
3. runs `chalice deploy --stage <stage>`;
4. applies what Chalice cannot set on the mappings (infra.mappings).
Every step is idempotent: run it again after any change.

With `--emulator URL` it rehearses all of this against the local emulator
(see infra.emulator_chalice for the one shim that needs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import boto3
from botocore import exceptions as aws_errors

from infra import captcha_secret, gateway_responses, project
from infra.app_model import LambdaFunction, describe_app, function_kinds
from infra.bindings import environment_from_outputs
from infra.mappings import Arns, Change, apply_all
from infra.package import ACCESS_LOG_FORMAT, chalice_command
from infra.policies import PolicyContext, configure_stage, write_policy_files
from infra.project import stack_name
from infra.resources import API_HANDLER, lambda_function_name
from infra.resources import template as resources_template


@dataclass
class DeployReport:
    stack: str = ""  # created | updated | unchanged
    config_changes: dict[str, str] = field(default_factory=dict)
    mapping_changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stage_settings: bool = False  # the API stage's tracing or access log was (re)applied
    log_groups: list[str] = field(default_factory=list)  # log groups given the stage's retention
    captcha_secret: bool = False  # the CAPTCHA secret was (re)written into the API function


class Aws:
    """boto3 clients for one account/region (or the emulator)."""

    def __init__(self, region: str, endpoint: str | None = None, profile: str | None = None) -> None:
        # Any: the services are chosen at run time.
        self.session: Any = boto3.session.Session(profile_name=profile, region_name=region)
        self.endpoint = endpoint
        self.region = region

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def account(self) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])


def _current_template(cloudformation: Any, name: str) -> dict[str, Any] | None:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except cloudformation.exceptions.ClientError:
        return None
    if not stacks or stacks[0]["StackStatus"].startswith("DELETE"):
        return None
    if stacks[0]["StackStatus"] == "ROLLBACK_COMPLETE":  # a failed create can only be deleted
        raise RuntimeError(f"stack {name} failed to create; delete it (aws cloudformation delete-stack) and retry")
    body = cloudformation.get_template(StackName=name)["TemplateBody"]
    return dict(json.loads(body) if isinstance(body, str) else body)


def deploy_resources_stack(cloudformation: Any, stage: str, template: dict[str, Any]) -> str:
    """Create or update the stack; unchanged when the template is the same."""
    name = stack_name(stage)
    current = _current_template(cloudformation, name)
    arguments = {
        "StackName": name,
        "TemplateBody": json.dumps(template),
        "Parameters": [{"ParameterKey": "Stage", "ParameterValue": stage}],
        "Tags": [{"Key": "app", "Value": "leadflow"}, {"Key": "stage", "Value": stage}],
    }
    if current is None:
        cloudformation.create_stack(**arguments)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name)
        return "created"
    if json.dumps(current, sort_keys=True) == json.dumps(template, sort_keys=True):
        return "unchanged"
    cloudformation.update_stack(**arguments)
    cloudformation.get_waiter("stack_update_complete").wait(StackName=name)
    return "updated"


def stack_outputs(cloudformation: Any, stage: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name(stage))["Stacks"][0]
    return {o["OutputKey"]: str(o["OutputValue"]) for o in stack.get("Outputs", [])}


def record_outputs(project_dir: Path, stage: str, outputs: dict[str, str]) -> dict[str, str]:
    """Write the stack's values into the stage's environment; return what changed."""
    config = project.load_config(project_dir)
    env = config["stages"][stage].setdefault("environment_variables", {})
    changed = {k: v for k, v in environment_from_outputs(outputs).items() if env.get(k) != v}
    if changed:
        env.update(changed)
        project.save_config(project_dir, config)
    return changed


def run_chalice_deploy(project_dir: Path, stage: str, aws: Aws, profile: str | None) -> None:
    env = {**os.environ, **project.DEPLOY_TOOL_ENV, "AWS_DEFAULT_REGION": aws.region}
    if aws.endpoint:
        env["AWS_ENDPOINT_URL"] = aws.endpoint
        command = [sys.executable, "-m", "infra.emulator_chalice", "deploy", "--stage", stage]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project.PROJECT_ROOT), env.get("PYTHONPATH")]))
    else:
        command = [*chalice_command(), "deploy", "--stage", stage]
        if profile:
            command += ["--profile", profile]
    result = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"chalice deploy failed:\n{result.stdout}\n{result.stderr}")
    print(result.stdout, end="")


def deploy(project_dir: Path, stage: str, aws: Aws, profile: str | None = None) -> DeployReport:
    report = DeployReport()
    functions = describe_app(project_dir, stage)
    cloudformation = aws.client("cloudformation")
    report.stack = deploy_resources_stack(cloudformation, stage, resources_template(function_kinds(functions)))
    report.config_changes = record_outputs(project_dir, stage, stack_outputs(cloudformation, stage))
    functions = describe_app(project_dir, stage)  # the decorators now see the stream ARN
    account = aws.account()
    configure_stage(project_dir, stage, functions)
    write_policy_files(project_dir, stage, functions, account=account, region=aws.region)
    run_chalice_deploy(project_dir, stage, aws, profile)
    if captcha_secret.required(project.stage_environment(project_dir, stage)):
        report.captcha_secret = captcha_secret.apply(
            aws.client("lambda"), lambda_function_name(stage, API_HANDLER), os.environ[captcha_secret.DEPLOY_ENV]
        )
    rest_api_id = gateway_responses.deployed_rest_api_id(project_dir, stage)
    if rest_api_id:
        apigateway = aws.client("apigateway")
        gateway_responses.apply(apigateway, rest_api_id)
        access_log = stack_outputs(cloudformation, stage)["ApiAccessLogGroupArn"]
        report.stage_settings = apply_stage_settings(apigateway, rest_api_id, access_log)
    retention = project.stage_config(project_dir, stage).get("log_retention_in_days")
    if retention:
        report.log_groups = apply_log_retention(aws.client("logs"), stage, functions, int(retention))
    report.mapping_changes, report.warnings = apply_mapping_settings(project_dir, stage, aws, functions, account)
    return report


def apply_log_retention(logs: Any, stage: str, functions: list[LambdaFunction], days: int) -> list[str]:
    """Each function's own log group with the stage's retention; the groups changed.

    `chalice deploy` names the API handler's group after its Chalice name
    (`leadflow-<stage>-api_handler`), not the function's (`leadflow-<stage>`),
    so without this the group Lambda really writes to would keep logs forever.
    """
    changed = []
    for function in functions:
        name = "/aws/lambda/" + function.physical_name(stage)
        groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == name), None)
        if group is None:
            logs.create_log_group(logGroupName=name)
        if group is None or group.get("retentionInDays") != days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
            changed.append(name)
    return changed


def apply_stage_settings(apigateway: Any, rest_api_id: str, log_group_arn: str) -> bool:
    """X-Ray tracing and the access log (to the resources stack's log group) on the API
    stage; True when something changed. Chalice's deploy sets tracing from `xray`, but
    a later create_deployment (the gateway responses') may not keep it everywhere."""
    wanted = {"destinationArn": log_group_arn.removesuffix(":*"), "format": ACCESS_LOG_FORMAT}
    stage = apigateway.get_stage(restApiId=rest_api_id, stageName=gateway_responses.API_STAGE)
    operations = []
    if stage.get("tracingEnabled") is not True:
        operations.append({"op": "replace", "path": "/tracingEnabled", "value": "true"})
    if stage.get("accessLogSettings") != wanted:
        operations += [
            {"op": "replace", "path": f"/accessLogSettings/{key}", "value": value} for key, value in wanted.items()
        ]
    if operations:
        apigateway.update_stage(
            restApiId=rest_api_id, stageName=gateway_responses.API_STAGE, patchOperations=operations
        )
    return bool(operations)


def apply_mapping_settings(
    project_dir: Path, stage: str, aws: Aws, functions: list[LambdaFunction], account: str
) -> tuple[list[Change], list[str]]:
    ctx = PolicyContext.for_project(project_dir, stage)
    return apply_all(aws.client("lambda"), ctx, Arns(ctx, account, aws.region), functions)


# Domains reserved for examples (RFC 2606, RFC 6761): a sender there is a placeholder.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "example")


def _is_placeholder(domain: str) -> bool:
    return any(domain == d or domain.endswith("." + d) for d in PLACEHOLDER_DOMAINS)


def stage_problems(project_dir: Path, stage: str) -> list[str]:
    """What in the stage's settings would deploy a broken stack (checked before any AWS call)."""
    env = project.stage_environment(project_dir, stage)
    problems = []
    token_hash = env.get("ADMIN_TOKEN_SHA256", "").strip()
    if not token_hash:
        problems.append('ADMIN_TOKEN_SHA256 is empty, so every admin request would be refused: set it to the '
                        'output of `printf %s "$TOKEN" | sha256sum`')
    elif not re.fullmatch(r"[0-9a-f]{64}", token_hash):
        problems.append("ADMIN_TOKEN_SHA256 is not a SHA-256 hex digest (64 characters 0-9a-f)")
    for key in ("TEAM_SENDER", "CUSTOMER_SENDER"):
        address = parseaddr(env.get(key, ""))[1].lower()
        if "@" not in address:
            problems.append(f"{key} has no address: set it to `Name <address>` on your SES-verified domain")
        elif _is_placeholder(address.rsplit("@", 1)[1]):
            problems.append(f"{key} is {address}, a placeholder: set a sender on your SES-verified domain")
    return problems + captcha_secret.problems(env)


def unverified_senders(ses: Any, addresses: list[str]) -> list[str]:
    """The addresses SES will not send from: neither they nor their domain is verified."""
    identities = sorted({*addresses, *(a.rsplit("@", 1)[1] for a in addresses)})
    if not identities:
        return []
    found = ses.get_identity_verification_attributes(Identities=identities)["VerificationAttributes"]

    def verified(identity: str) -> bool:
        return bool(found.get(identity, {}).get("VerificationStatus") == "Success")

    return [a for a in addresses if not (verified(a) or verified(a.rsplit("@", 1)[1]))]


class DeployStopped(Exception):
    """A reason not to deploy, said in one line."""


def preflight(project_dir: Path, stage: str, aws: Aws) -> None:
    """The stage's settings, then the credentials, then the senders' SES verification;
    nothing is created or changed before all three pass."""
    problems = stage_problems(project_dir, stage)
    if problems:
        raise DeployStopped("\n".join(f"stage {stage}: {p}" for p in problems))
    aws.account()  # the credentials (one read-only call)
    senders = PolicyContext.for_project(project_dir, stage).sender_addresses()
    missing = unverified_senders(aws.client("ses"), senders)
    if missing:
        raise DeployStopped(
            f"stage {stage}: not verified in SES in {aws.region}: {', '.join(missing)} "
            "(verify the address or its domain first, infra/DEPLOY.md)"
        )


CREDENTIAL_ERRORS = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
     "SignatureDoesNotMatch", "AccessDenied", "AccessDeniedException"}
)


def one_line(error: Exception) -> str | None:
    """The one-line answer to an ordinary AWS mistake (None: not one)."""
    if isinstance(error, aws_errors.NoCredentialsError):
        return ("no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or sign in with `aws sso login`), and AWS_REGION (infra/DEPLOY.md)")
    if isinstance(error, aws_errors.ProfileNotFound):
        return f"{error}: check AWS_PROFILE or --profile"
    if isinstance(error, (aws_errors.EndpointConnectionError, aws_errors.ConnectTimeoutError)):
        return f"cannot reach AWS ({error}); check the network and AWS_REGION"
    if isinstance(error, aws_errors.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in CREDENTIAL_ERRORS:
            message = error.response.get("Error", {}).get("Message", "")
            return f"AWS refused the credentials ({code}: {message}); refresh them or pick another profile"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description="Deploy leadflow with chalice deploy (resources stack first)")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--profile", default=None)
    parser.add_argument("--emulator", metavar="URL", help="rehearse against the local emulator at URL")
    parser.add_argument("--project-dir", type=Path, default=project.PROJECT_ROOT)
    args = parser.parse_args()
    if args.stage in project.LOCAL_ONLY_STAGES:
        parser.error(f"stage {args.stage} is local-only")
    if not args.region:
        parser.error("set AWS_REGION (or --region)")
    project_dir = args.project_dir.resolve()
    try:
        aws = Aws(args.region, args.emulator, args.profile)
        if not args.emulator:  # the rehearsal's stage is made of placeholders on purpose
            preflight(project_dir, args.stage, aws)
        report = deploy(project_dir, args.stage, aws, args.profile)
    except DeployStopped as stopped:
        sys.exit(f"make deploy: {stopped}")
    except (aws_errors.BotoCoreError, aws_errors.ClientError) as error:
        answer = one_line(error)
        if answer is None:
            raise
        sys.exit(f"make deploy: {answer}")
    print(f"resources stack: {report.stack}")
    for key, value in report.config_changes.items():
        print(f"config: {key} = {value}")
    if report.captcha_secret:
        function = lambda_function_name(args.stage, API_HANDLER)
        print(f"CAPTCHA secret: set on {function} from {captcha_secret.DEPLOY_ENV}")
    for change in report.mapping_changes:
        print(f"mapping settings: {change.function} {change.target} {sorted(change.settings)}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)


if __name__ == "__main__":
    main()
