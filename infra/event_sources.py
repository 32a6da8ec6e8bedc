"""The event-source settings of .chalice/event-sources.json, in each deploy form.

The file is keyed by handler function name and uses Lambda's own parameter
names, with one shorthand: `OnFailure` names a queue of infra/resources.py.
The local event runtime reads the same file, so local and AWS agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Settings of a stream/SQS event source mapping (CreateEventSourceMapping names).
MAPPING_KEYS = (
    "FilterCriteria",
    "FunctionResponseTypes",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "ScalingConfig",
)
# Settings only a stream mapping accepts.
STREAM_ONLY_KEYS = frozenset(
    {
        "BisectBatchOnFunctionError",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
        "ParallelizationFactor",
        "TumblingWindowInSeconds",
        "StartingPosition",
        "OnFailure",
    }
)
# Settings fixed when a mapping is created (update_event_source_mapping cannot change them).
CREATE_ONLY_KEYS = frozenset({"StartingPosition"})


def mapping_settings(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The mapping parameters that apply to this kind of source ("dynamodb" or "sqs")."""
    chosen = {k: settings[k] for k in MAPPING_KEYS if k in settings}
    if kind == "sqs":
        chosen = {k: v for k, v in chosen.items() if k not in STREAM_ONLY_KEYS}
    return chosen


def destination_config(settings: dict[str, Any], queue_arn: Callable[[str], Any]) -> dict[str, Any] | None:
    queue = settings.get("OnFailure")
    return {"OnFailure": {"Destination": queue_arn(str(queue))}} if queue else None


def sam_event_properties(kind: str, settings: dict[str, Any], queue_arn: Callable[[str], Any]) -> dict[str, Any]:
    """Properties of a SAM DynamoDB/SQS event that carry the settings."""
    props = mapping_settings(kind, settings)
    if kind == "dynamodb":
        if "StartingPosition" in settings:
            props["StartingPosition"] = settings["StartingPosition"]
        destination = destination_config(settings, queue_arn)
        if destination:
            props["DestinationConfig"] = destination
    return props


def sam_event_invoke_config(settings: dict[str, Any], queue_arn: Callable[[str], Any]) -> dict[str, Any] | None:
    """A SAM EventInvokeConfig for an asynchronously invoked (SNS) function."""
    config: dict[str, Any] = {}
    if "MaximumRetryAttempts" in settings:
        config["MaximumRetryAttempts"] = settings["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in settings:
        config["MaximumEventAgeInSeconds"] = settings["MaximumEventAgeInSeconds"]
    if settings.get("OnFailure"):
        config["DestinationConfig"] = {
            "OnFailure": {"Type": "SQS", "Destination": queue_arn(str(settings["OnFailure"]))}
        }
    return config or None
