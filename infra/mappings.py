"""Apply the event-source settings Chalice cannot set to deployed functions.

After `chalice deploy`, each stream/SQS mapping Chalice created gets the
settings of .chalice/event-sources.json with update_event_source_mapping,
and each SNS-invoked function its async retry/on-failure configuration.
Only differences are sent, so a second run changes nothing (idempotent).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from infra.app_model import LambdaFunction
from infra.event_sources import CREATE_ONLY_KEYS, mapping_settings
from infra.policies import PolicyContext


@dataclass(frozen=True)
class Change:
    function: str
    target: str  # a mapping UUID or "event-invoke-config"
    settings: dict[str, Any]


class Arns:
    """Real ARNs of the stage's resources, for one account and region."""

    def __init__(self, ctx: PolicyContext, account: str, region: str, partition: str = "aws") -> None:
        self.ctx, self.account, self.region, self.partition = ctx, account, region, partition

    def of(self, logical: str) -> str:
        values = {"${AWS::Partition}": self.partition, "${AWS::Region}": self.region, "${AWS::AccountId}": self.account}
        arn = self.ctx.arn(logical)
        for placeholder, value in values.items():
            arn = arn.replace(placeholder, value)
        return arn


def _normalise(key: str, value: Any) -> Any:
    """Compare settings as Lambda means them, not as they are spelt."""
    if key == "FilterCriteria" and value:
        return sorted(json.dumps(json.loads(f["Pattern"]), sort_keys=True) for f in value.get("Filters", []))
    if key == "DestinationConfig" and value:
        return (value.get("OnFailure") or {}).get("Destination")
    if key == "FunctionResponseTypes":
        return sorted(value or [])
    return value


def desired_mapping(ctx: PolicyContext, arns: Arns, function: LambdaFunction) -> dict[str, Any]:
    settings = ctx.source_settings(function)
    desired = mapping_settings(function.kind, settings)
    if function.kind == "dynamodb" and settings.get("OnFailure"):
        desired["DestinationConfig"] = {"OnFailure": {"Destination": arns.of(str(settings["OnFailure"]))}}
    return desired


def mapping_difference(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in desired.items() if _normalise(k, current.get(k)) != _normalise(k, v)}


def _source_arn(ctx: PolicyContext, arns: Arns, function: LambdaFunction) -> str:
    source = ctx.source_resource(function)
    if function.kind == "dynamodb":
        return function.source  # the stream ARN the stage config names
    return arns.of(source) if source else ""


def apply_to_mappings(
    lambda_client: Any, ctx: PolicyContext, arns: Arns, function: LambdaFunction
) -> tuple[list[Change], list[str]]:
    """Update the function's mappings; return the changes made and warnings."""
    changes, warnings = [], []
    name = function.physical_name(ctx.stage)
    desired = desired_mapping(ctx, arns, function)
    source_arn = _source_arn(ctx, arns, function)
    # By ARN: Lambda accepts a name too, the emulator only what the mapping was created with.
    function_arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    mappings = lambda_client.list_event_source_mappings(FunctionName=function_arn)["EventSourceMappings"]
    for mapping in mappings:
        if source_arn and mapping["EventSourceArn"] != source_arn:
            continue
        for key in CREATE_ONLY_KEYS:
            wanted = ctx.source_settings(function).get(key)
            if function.kind == "dynamodb" and wanted and mapping.get(key) != wanted:
                warnings.append(
                    f"{name}: {key} is {mapping.get(key)}, event-sources.json says {wanted}; "
                    f"Lambda cannot change it on an existing mapping (set it in the decorator)"
                )
        difference = mapping_difference(mapping, desired)
        if difference:
            lambda_client.update_event_source_mapping(UUID=mapping["UUID"], **difference)
            changes.append(Change(function.name, mapping["UUID"], difference))
    if not mappings:
        warnings.append(f"{name}: no event source mapping found")
    return changes, warnings


def desired_invoke_config(ctx: PolicyContext, arns: Arns, function: LambdaFunction) -> dict[str, Any]:
    settings = ctx.source_settings(function)
    desired: dict[str, Any] = {}
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in settings:
            desired[key] = settings[key]
    if settings.get("OnFailure"):
        desired["DestinationConfig"] = {"OnFailure": {"Destination": arns.of(str(settings["OnFailure"]))}}
    return desired


def apply_invoke_config(lambda_client: Any, ctx: PolicyContext, arns: Arns, function: LambdaFunction) -> list[Change]:
    desired = desired_invoke_config(ctx, arns, function)
    if not desired:
        return []
    name = function.physical_name(ctx.stage)
    try:
        current = lambda_client.get_function_event_invoke_config(FunctionName=name)
    except lambda_client.exceptions.ResourceNotFoundException:
        current = {}
    if not mapping_difference(current, desired):
        return []
    lambda_client.put_function_event_invoke_config(FunctionName=name, **desired)
    return [Change(function.name, "event-invoke-config", desired)]


def apply_all(
    lambda_client: Any, ctx: PolicyContext, arns: Arns, functions: list[LambdaFunction]
) -> tuple[list[Change], list[str]]:
    changes: list[Change] = []
    warnings: list[str] = []
    for function in functions:
        if function.kind in ("dynamodb", "sqs"):
            made, warned = apply_to_mappings(lambda_client, ctx, arns, function)
            changes += made
            warnings += warned
        elif function.kind == "sns":
            changes += apply_invoke_config(lambda_client, ctx, arns, function)
    return changes, warnings
