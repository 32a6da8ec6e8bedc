"""Least-privilege IAM policies, one per Lambda function: the single source.

Each function gets
- platform grants: its own log group, and what Lambda needs to read its event
  source and write its OnFailure destination (derived from the app's
  decorators and .chalice/event-sources.json);
- code grants: the AWS calls its code makes (CODE_GRANTS below), each on the
  named resources of infra/resources.py only. tests/deploy/test_iam.py walks
  every boto3 call site in chalicelib/ and checks this table against them.

Rendered two ways from the same statements: ARNs as `Fn::Sub` strings for the
packaged template (`${AWS::Region}`, `${AWS::AccountId}`), or substituted for
an account and region into .chalice/policy-<stage>-<function>.json for
`chalice deploy`. The committed files are written for no particular account:
`*` stands in the ARNs' region and account fields and the audit bucket's
account suffix only; `python -m infra.deploy` rewrites them with the
account's values before deploying.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from infra import project
from infra.app_model import LambdaFunction, describe_app
from infra.resources import STACK_KEY, lambda_function_name
from infra.resources import template as resources_template

PARTITION, REGION, ACCOUNT = "${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}"

# Actions that AWS only authorises on Resource "*" (no resource-level permissions).
WILDCARD_RESOURCE_ACTIONS = frozenset({"dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"})

LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
TRACE_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
SQS_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")  # SES v2 SendEmail with raw content checks both
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class Grant:
    """Actions on resources. A resource is `Logical[/suffix]` of infra/resources.py,
    `=<literal ARN>`, `@ses-senders` (sender identities and the configuration
    set, with a FromAddress condition), `@related-table` (RELATED_TABLE, if set) or
    `@stack-key` (the stack's KMS key, through SNS only; see derived_grants),
    and `@secret/<name>` (the Secrets Manager secret `leadflow/<stage>/<name>`)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def _ddb(sid: str, actions: Iterable[str], *resources: str) -> Grant:
    return Grant(sid, tuple(f"dynamodb:{a}" for a in actions), resources)


# What each function's code calls (see chalicelib/); the IAM walker is the judge.
CODE_GRANTS: dict[str, tuple[Grant, ...]] = {
    "api_handler": (
        _ddb(
            "Leads",
            ("GetItem", "PutItem", "Query", "BatchGetItem"),
            "LeadsTable",
            "LeadsTable/index/by_created",
            # Search by address (and enrichment on a lead's page), filter by source.
            "LeadsTable/index/by_email",
            "LeadsTable/index/by_source",
        ),
        # Scan + DeleteItem: erasure forgets a lead's idempotency records (no index by lead).
        _ddb("Idempotency", ("GetItem", "PutItem", "Scan", "DeleteItem"), "IdempotencyTable"),
        _ddb("RateLimits", ("UpdateItem",), "RateLimitTable"),
        _ddb(
            "Deliveries",
            ("GetItem", "BatchGetItem", "UpdateItem", "Query"),
            "DeliveriesTable",
            "DeliveriesTable/index/by_lead",
            # The dashboard's status filter and health counts; erasure by address.
            "DeliveriesTable/index/by_status",
            "DeliveriesTable/index/by_recipient",
        ),
        _ddb("Suppressions", ("GetItem", "Query", "DeleteItem"), "SuppressionTable", "SuppressionTable/index/by_since"),
        # A lead's page shows its enrichment, looked up as the stream handler does.
        _ddb("RelatedRecord", ("GetItem",), "@related-table"),
        # Operator actions (erasure by address, unblocking, redrives) are audited.
        Grant("AuditLog", ("s3:PutObject",), ("AuditBucket/*",)),
        Grant(
            "DeadLetters",
            (
                "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
            ),
            ("NotificationsDLQ", "SesFeedbackDLQ", "LeadStreamDLQ", "LeadAuditDLQ", "CallbacksDLQ"),
        ),
        Grant("RedriveQueues", ("sqs:GetQueueUrl", "sqs:SendMessage"), ("NotificationsQueue", "CallbacksQueue")),
        Grant("RedriveFeedback", ("sns:Publish",), ("SesFeedbackTopic",)),
        # POST /notifications: the record (with its idempotency record, in one transaction), then the topic.
        _ddb("Notifications", ("GetItem", "PutItem", "UpdateItem"), "NotificationsTable"),
        Grant("NotificationRequests", ("sns:Publish",), ("NotificationRequestsTopic",)),
        # The HMAC key scopes idempotency records and salts the rate limiter.
        Grant("HmacKey", ("secretsmanager:GetSecretValue",), ("HmacKeySecret",)),
    ),
    "on_lead_stream": (
        _ddb("LeadHistory", ("Query",), "LeadsTable/index/by_email"),
        _ddb("RelatedRecord", ("GetItem",), "@related-table"),
        Grant("LeadEvents", ("sns:Publish",), ("LeadEventsTopic",)),
        # The HMAC key signs lead events.
        Grant("HmacKey", ("secretsmanager:GetSecretValue",), ("HmacKeySecret",)),
    ),
    "on_notification": (
        Grant("NotificationsQueue", ("sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"), ("NotificationsQueue",)),
        Grant("BadRequestsToDLQ", ("sqs:GetQueueUrl", "sqs:SendMessage"), ("NotificationsDLQ",)),
        _ddb("Ledger", ("GetItem", "PutItem", "UpdateItem"), "DeliveriesTable"),
        # The claim transaction checks the suppression list and that the lead was not erased.
        _ddb("Suppression", ("ConditionCheckItem",), "SuppressionTable"),
        _ddb("LeadNotErased", ("ConditionCheckItem",), "LeadsTable"),
        # The per-recipient confirmation limit: an Update in the claim transaction; read and put to judge exactly.
        _ddb("ConfirmationLimit", ("GetItem", "PutItem", "UpdateItem"), "RateLimitTable"),
        Grant("SendMail", SES_SEND_ACTIONS, ("@ses-senders",)),
        # The HMAC key derives delivery ids and checks lead events' signatures.
        Grant("HmacKey", ("secretsmanager:GetSecretValue",), ("HmacKeySecret",)),
        # A notification's status as its sender sees it (pipeline/notification_status.py).
        _ddb("NotificationStatus", ("UpdateItem",), "NotificationsTable"),
        Grant("QueueCallbacks", ("sqs:GetQueueUrl", "sqs:SendMessage"), ("CallbacksQueue",)),
        # TEAM_WEBHOOK_URL=secretsmanager: the team's chat webhook URL.
        Grant("TeamWebhookSecret", ("secretsmanager:GetSecretValue",), ("@secret/team-webhook",)),
    ),
    "on_ses_feedback": (
        _ddb(
            "Deliveries",
            ("GetItem", "UpdateItem", "Query"),
            "DeliveriesTable",
            "DeliveriesTable/index/by_message_id",
        ),
        _ddb("Suppression", ("PutItem",), "SuppressionTable"),
        Grant("AuditLog", ("s3:PutObject",), ("AuditBucket/*",)),
        _ddb("NotificationStatus", ("UpdateItem",), "NotificationsTable"),
        Grant("QueueCallbacks", ("sqs:GetQueueUrl", "sqs:SendMessage"), ("CallbacksQueue",)),
    ),
    "on_callback": (
        _ddb("Notifications", ("GetItem", "UpdateItem"), "NotificationsTable"),
        Grant("CallbacksQueue", ("sqs:GetQueueUrl", "sqs:ChangeMessageVisibility"), ("CallbacksQueue",)),
        Grant("RefusedToDLQ", ("sqs:GetQueueUrl", "sqs:SendMessage"), ("CallbacksDLQ",)),
        # Each sender's signing secret (core/senders.py), created per infra/DEPLOY.md.
        Grant("SigningSecrets", ("secretsmanager:GetSecretValue",), ("@secret/senders/*",)),
    ),
    "on_lead_audit": (Grant("AuditLog", ("s3:PutObject",), ("AuditBucket/*",)),),
}

# Fallback async settings for SNS-invoked functions that event-sources.json
# does not mention: Lambda retries twice, then the event goes to the DLQ.
ASYNC_DEFAULTS: dict[str, dict[str, Any]] = {
    "on_ses_feedback": {"MaximumRetryAttempts": 2, "OnFailure": "SesFeedbackDLQ"},
}


@dataclass
class PolicyContext:
    """Everything a stage's policies depend on besides the grant tables."""

    stage: str
    env: dict[str, str]
    event_sources: dict[str, dict[str, Any]]
    template: dict[str, Any] = field(default_factory=resources_template)
    tracing: bool = False  # the stage's `xray`: Lambda sends traces with the function's role

    @classmethod
    def for_project(cls, project_dir: Path, stage: str) -> PolicyContext:
        return cls(
            stage=stage,
            env=project.stage_environment(project_dir, stage),
            event_sources=project.load_event_sources(project_dir),
            tracing=bool(project.stage_config(project_dir, stage).get("xray")),
        )

    # --- physical names and ARNs (with ${AWS::...} placeholders) -----------

    def physical_name(self, logical: str) -> str:
        props = self.template["Resources"][logical]["Properties"]
        for key in ("TableName", "QueueName", "TopicName", "BucketName", "Name"):
            if key in props:
                value = props[key]
                text = value["Fn::Sub"] if isinstance(value, dict) else value
                return str(text).replace("${Stage}", self.stage)
        raise KeyError(f"{logical} has no physical name")

    def arn(self, reference: str) -> str:
        logical, _, suffix = reference.partition("/")
        kind = self.template["Resources"][logical]["Type"]
        name = self.physical_name(logical)
        if kind == "AWS::DynamoDB::Table":
            return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}" + (f"/{suffix}" if suffix else "")
        if kind == "AWS::SQS::Queue":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{name}" + (f"/{suffix}" if suffix else "")
        if kind == "AWS::SES::ConfigurationSet":
            return f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:configuration-set/{name}"
        if kind == "AWS::SecretsManager::Secret":
            # Secrets Manager appends six random characters to the name in the ARN.
            return f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-??????"
        raise KeyError(f"no ARN form for {kind}")

    def logical_for_physical(self, name_or_arn: str, kind: str) -> str:
        """The resource a decorator names (by name or ARN)."""
        name = name_or_arn.rsplit(":", 1)[-1]
        for logical, resource in self.template["Resources"].items():
            if resource["Type"] == kind and self.physical_name(logical) == name:
                return str(logical)
        raise KeyError(f"no {kind} named {name_or_arn!r} in infra/resources.py for stage {self.stage}")

    def streamed_table(self, stream_arn: str) -> str:
        streamed = [
            logical
            for logical, r in self.template["Resources"].items()
            if r["Type"] == "AWS::DynamoDB::Table" and "StreamSpecification" in r["Properties"]
        ]
        for logical in streamed:
            if f":table/{self.physical_name(logical)}/stream/" in stream_arn:
                return str(logical)
        if len(streamed) == 1:  # before the first deploy the stage has no stream ARN yet
            return str(streamed[0])
        raise KeyError(f"which table streams to {stream_arn!r}?")

    # --- SES senders ------------------------------------------------------

    def sender_addresses(self) -> list[str]:
        senders = (self.env.get("TEAM_SENDER", ""), self.env.get("CUSTOMER_SENDER", ""))
        return sorted({parseaddr(s)[1].lower() for s in senders if parseaddr(s)[1]})

    def ses_identity_arns(self) -> list[str]:
        # SES authorises against the verified identity: the address or its domain.
        # In the SES sandbox it also checks the (verified) recipient identity.
        identities = set(self.sender_addresses()) | {a.rsplit("@", 1)[1] for a in self.sender_addresses()}
        sandbox = parseaddr(self.env.get("SANDBOX_ADDRESS", ""))[1].lower()
        if sandbox:
            identities |= {sandbox, sandbox.rsplit("@", 1)[1]}
        return [f"arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{i}" for i in sorted(identities)]

    # --- event sources ----------------------------------------------------

    def source_settings(self, function: LambdaFunction) -> dict[str, Any]:
        defaults = ASYNC_DEFAULTS.get(function.name, {}) if function.kind == "sns" else {}
        return {**defaults, **self.event_sources.get(function.name, {})}

    def source_resource(self, function: LambdaFunction) -> str | None:
        if function.kind == "dynamodb":
            return self.streamed_table(function.source)
        if function.kind == "sqs":
            return self.logical_for_physical(function.source, "AWS::SQS::Queue")
        if function.kind == "sns":
            return self.logical_for_physical(function.source, "AWS::SNS::Topic")
        return None

    def on_failure_queue(self, function: LambdaFunction) -> str | None:
        value = self.source_settings(function).get("OnFailure")
        return str(value) if value else None


def _resolve_resources(ctx: PolicyContext, grant: Grant) -> list[str]:
    arns: list[str] = []
    for reference in grant.resources:
        if reference.startswith("="):  # a literal ARN
            arns.append(reference[1:])
        elif reference == "@related-table":
            table = ctx.env.get("RELATED_TABLE", "")
            if table:
                arns.append(f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
        elif reference == "@stack-key":
            arns.append(f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/*")
        elif reference.startswith("@secret/"):
            # Secrets Manager adds six random characters to a secret's name in its ARN.
            name = f"leadflow/{ctx.stage}/{reference.removeprefix('@secret/')}"
            arns.append(f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}" +
                        ("" if name.endswith("*") else "-??????"))
        elif reference == "@ses-senders":
            arns += ctx.ses_identity_arns() + [ctx.arn("SesConfigurationSet")]
        else:
            arns.append(ctx.arn(reference))
    return arns


def _stack_key_topics(ctx: PolicyContext) -> set[str]:
    """The topics encrypted with the stack's own key (a publisher needs that key, through SNS)."""
    return {
        logical
        for logical, resource in ctx.template["Resources"].items()
        if resource["Type"] == "AWS::SNS::Topic" and resource["Properties"].get("KmsMasterKeyId") == STACK_KEY
    }


def derived_grants(ctx: PolicyContext, function: LambdaFunction) -> list[Grant]:
    """What a function's code grants imply: publishing to a topic encrypted with the stack key
    needs kms:GenerateDataKey and kms:Decrypt on that key, which SNS calls for the publisher."""
    encrypted = _stack_key_topics(ctx)
    publishes = any(
        "sns:Publish" in grant.actions and encrypted & set(grant.resources)
        for grant in CODE_GRANTS.get(function.name, ())
    )
    return [Grant("EncryptedTopicKey", KEY_ACTIONS, ("@stack-key",))] if publishes else []


def _key_condition() -> dict[str, Any]:
    # The key's id exists only once the resources stack does: any key of the account,
    # but only through SNS (kms:ViaService), which uses only the topic's own key.
    return {"StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}}


def _ses_condition(ctx: PolicyContext) -> dict[str, Any]:
    return {"StringEquals": {"ses:FromAddress": ctx.sender_addresses()}}


def platform_grants(ctx: PolicyContext, function: LambdaFunction) -> list[Grant]:
    """What Lambda itself does with the function's role."""
    log_group = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/" + lambda_function_name(
        ctx.stage, function.name
    )
    grants = [Grant("OwnLogs", LOG_ACTIONS, (f"={log_group}:*",))]
    if ctx.tracing:
        grants.append(Grant("Tracing", TRACE_ACTIONS, ("=*",)))
    source = ctx.source_resource(function)
    if function.kind == "dynamodb" and source:
        grants.append(Grant("ReadStream", STREAM_READ_ACTIONS, (f"{source}/stream/*",)))
        grants.append(Grant("ListStreams", ("dynamodb:ListStreams",), ("=*",)))
    if function.kind == "sqs" and source:
        grants.append(Grant("ReadQueue", SQS_SOURCE_ACTIONS, (source,)))
    dlq = ctx.on_failure_queue(function)
    if dlq:
        grants.append(Grant("OnFailureDestination", ("sqs:SendMessage",), (dlq,)))
    return grants


def statements(ctx: PolicyContext, function: LambdaFunction) -> list[dict[str, Any]]:
    """The function's policy statements, ARNs with ${AWS::...} placeholders."""
    result = []
    grants = [*platform_grants(ctx, function), *CODE_GRANTS.get(function.name, ()), *derived_grants(ctx, function)]
    for grant in grants:
        resources = _resolve_resources(ctx, grant)
        if not resources:  # e.g. no related table configured for this stage
            continue
        statement: dict[str, Any] = {
            "Sid": grant.sid,
            "Effect": "Allow",
            "Action": sorted(set(grant.actions)),
            "Resource": sorted(set(resources)),
        }
        if "@ses-senders" in grant.resources:
            statement["Condition"] = _ses_condition(ctx)
        if "@stack-key" in grant.resources:
            statement["Condition"] = _key_condition()
        result.append(statement)
    return result


def _substitute(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda m: values[m.group(1)], node)
    if isinstance(node, list):
        return [_substitute(item, values) for item in node]
    if isinstance(node, dict):
        return {key: _substitute(value, values) for key, value in node.items()}
    return node


def _to_cfn(node: Any, in_condition: bool = False) -> Any:
    if isinstance(node, str) and "${" in node:
        return {"Fn::Sub": node}
    if isinstance(node, list):
        return [_to_cfn(item, in_condition) for item in node]
    if isinstance(node, dict) and in_condition:
        return {key: _to_cfn(v, True) for key, v in node.items()}
    if isinstance(node, dict):
        # Placeholders stand in resources and in conditions (kms:ViaService names the region).
        return {key: (_to_cfn(v, key == "Condition") if key in ("Resource", "Condition") else v)
                for key, v in node.items()}
    return node


def policy_document(statements_: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements_}


def file_policy(
    ctx: PolicyContext, function: LambdaFunction, account: str = "*", region: str = "*", partition: str = "aws"
) -> dict[str, Any]:
    values = {"AWS::Partition": partition, "AWS::Region": region, "AWS::AccountId": account}
    return policy_document(_substitute(statements(ctx, function), values))


def cfn_policy(ctx: PolicyContext, function: LambdaFunction) -> dict[str, Any]:
    return policy_document([_to_cfn(s) for s in statements(ctx, function)])


def write_policy_files(
    project_dir: Path, stage: str, functions: list[LambdaFunction], account: str = "*", region: str = "*"
) -> list[Path]:
    ctx = PolicyContext.for_project(project_dir, stage)
    written = []
    for function in functions:
        path = project.policy_path(project_dir, stage, function.name)
        path.write_text(json.dumps(file_policy(ctx, function, account, region), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def configure_stage(project_dir: Path, stage: str, functions: list[LambdaFunction]) -> None:
    """Point each function of the stage at its policy file in .chalice/config.json."""
    config = project.load_config(project_dir)
    config["autogen_policy"] = False
    stage_config = config["stages"][stage]
    per_function = stage_config.setdefault("lambda_functions", {})
    for function in functions:
        per_function.setdefault(function.name, {})["iam_policy_file"] = project.policy_file_name(stage, function.name)
    project.save_config(project_dir, config)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write .chalice/policy-<stage>-<function>.json")
    parser.add_argument("--stage", action="append", help="default: every deployable stage")
    parser.add_argument("--account", default="*")
    parser.add_argument("--region", default="*")
    parser.add_argument("--project-dir", type=Path, default=project.PROJECT_ROOT)
    args = parser.parse_args()
    for stage in args.stage or project.deployable_stages(args.project_dir):
        functions = describe_app(args.project_dir, stage)
        configure_stage(args.project_dir, stage, functions)
        for path in write_policy_files(args.project_dir, stage, functions, args.account, args.region):
            print(path.relative_to(args.project_dir))


if __name__ == "__main__":
    main()
