"""Per-handler event-source settings that Chalice's decorators cannot express.

They come from one file, `.chalice/event-sources.json` (keyed by handler
function name), which the deploy tooling reads too, so local and AWS agree.
Stream and SQS keys are those of Lambda's CreateEventSourceMapping; SNS
handlers take the subscription's FilterPolicy/FilterPolicyScope and the
asynchronous-invocation keys (MaximumRetryAttempts, MaximumEventAgeInSeconds,
OnFailure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.provision import LOCAL_ACCOUNT, LOCAL_REGION, Resolver
from infra import resources

# Lambda's defaults when a key is absent.
STREAM_DEFAULT_RETRIES = -1  # infinite: until the record expires
ASYNC_DEFAULT_RETRIES = 2
ASYNC_DEFAULT_MAX_AGE = 6 * 3600


@dataclass(frozen=True)
class HandlerSettings:
    filters: tuple[dict[str, Any], ...] = ()
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    maximum_retry_attempts: int | None = None
    maximum_record_age_seconds: int = -1
    starting_position: str | None = None
    on_failure: str | None = None  # a queue/topic ARN, already resolved
    filter_policy: dict[str, Any] | None = None
    filter_policy_scope: str = "MessageAttributes"

    def stream_retries(self) -> int:
        return STREAM_DEFAULT_RETRIES if self.maximum_retry_attempts is None else self.maximum_retry_attempts

    def async_retries(self) -> int:
        return ASYNC_DEFAULT_RETRIES if self.maximum_retry_attempts is None else self.maximum_retry_attempts


def load_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("_")}


def _patterns(raw: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    filters = (raw.get("FilterCriteria") or {}).get("Filters") or []
    return tuple(json.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"] for f in filters)


def _filter_policy(raw: dict[str, Any]) -> dict[str, Any] | None:
    policy = raw.get("FilterPolicy")
    if isinstance(policy, str):
        return dict(json.loads(policy))
    return dict(policy) if policy else None


def resolve_destination(value: str | None, stage: str) -> str | None:
    """OnFailure may be an ARN, a logical id of infra/resources.py, or a queue name."""
    if not value:
        return None
    if value.startswith("arn:"):
        return value
    template = resources.template()
    if value in template["Resources"]:
        return Resolver(stage, template).arn(value)
    return f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{value}"


def parse(raw: dict[str, Any], stage: str) -> HandlerSettings:
    retries = raw.get("MaximumRetryAttempts")
    return HandlerSettings(
        filters=_patterns(raw),
        report_batch_item_failures="ReportBatchItemFailures" in (raw.get("FunctionResponseTypes") or []),
        bisect_on_error=bool(raw.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=None if retries is None else int(retries),
        maximum_record_age_seconds=int(raw.get("MaximumRecordAgeInSeconds", raw.get("MaximumEventAgeInSeconds", -1))),
        starting_position=raw.get("StartingPosition"),
        on_failure=resolve_destination(raw.get("OnFailure"), stage),
        filter_policy=_filter_policy(raw),
        filter_policy_scope=str(raw.get("FilterPolicyScope") or "MessageAttributes"),
    )


def load(path: Path, stage: str) -> dict[str, HandlerSettings]:
    return {name: parse(raw, stage) for name, raw in load_file(path).items()}
