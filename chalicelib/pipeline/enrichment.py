"""Lead enrichment: contact history and an optional related record, on a budget.

Enrichment never blocks a notification: every failure is logged and skipped,
the whole of it is bounded by ENRICHMENT_BUDGET_SECONDS, and a circuit
breaker stops calling a related table that keeps failing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core import metrics
from chalicelib.core.digest import digest
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import get_settings
from chalicelib.store import leads, related

ENRICHMENT_BUDGET_SECONDS = 2.0
THROTTLE_RETRY_DELAY_SECONDS = 0.5
HISTORY_LIMIT = 20
EXCERPT_CHARS = 120
BREAKER_THRESHOLD = 3
BREAKER_COOLDOWN_SECONDS = 30.0
THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException"})


@dataclass
class CircuitBreaker:
    """Opens after consecutive failures; lets one call through after the cooldown."""

    failures: int = 0
    opened_at: float = 0.0

    def allows(self, now: float) -> bool:
        return self.failures < BREAKER_THRESHOLD or now - self.opened_at >= BREAKER_COOLDOWN_SECONDS

    def record(self, ok: bool, now: float) -> None:
        if ok:
            self.failures = 0
            return
        self.failures += 1
        if self.failures >= BREAKER_THRESHOLD:
            self.opened_at = now


# One breaker per container, like the client.
_related_breaker = CircuitBreaker()


@dataclass
class Budget:
    deadline: float = field(default_factory=lambda: time.monotonic() + ENRICHMENT_BUDGET_SECONDS)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def contact_history(lead: dict[str, Any]) -> dict[str, Any] | None:
    """Earlier leads from the same address, newest first."""
    earlier, more = leads.earlier_by_email(lead["email"], lead["created_at"], HISTORY_LIMIT)
    if not earlier:
        return None
    last = earlier[0]
    return {
        "count": len(earlier),
        "more": more,
        "last_at": str(last.get("created_at", ""))[:10],
        "last_excerpt": excerpt(str(last.get("message", ""))),
    }


def related_key(lead: dict[str, Any], key_fields: dict[str, str]) -> dict[str, Any] | None:
    """The related table's key, built from lead paths like `metadata.account`."""
    key: dict[str, Any] = {}
    for attribute, path in key_fields.items():
        value: Any = lead
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value:
            get_logger().warning("enrichment: related key field %s missing or not a string; skipped", path)
            return None
        key[attribute] = {"S": value}
    return key


def schema_fingerprint(record: dict[str, Any]) -> str:
    return digest(",".join(sorted(record)), 12)


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))


def _get_related(table: str, key: dict[str, Any], budget: Budget) -> dict[str, Any] | None:
    for attempt in (1, 2):
        started = time.monotonic()
        try:
            return related.get_record(table, key)
        except Exception as error:
            code = _error_code(error)
            retry = attempt == 1 and code in THROTTLING_CODES
            if retry and budget.remaining() > THROTTLE_RETRY_DELAY_SECONDS:
                get_logger().warning("enrichment: related table throttled; retrying once")
                time.sleep(THROTTLE_RETRY_DELAY_SECONDS)
                continue
            raise
        finally:
            metrics.emit("EnrichmentQueryLatencyMs", (time.monotonic() - started) * 1000, "Milliseconds")
    return None


def related_record(lead: dict[str, Any], budget: Budget) -> dict[str, Any] | None:
    settings = get_settings()
    if not settings.related_table or not settings.related_key_fields:
        return None
    key = related_key(lead, settings.related_key_fields)
    if key is None:
        return None
    now = time.monotonic()
    if not _related_breaker.allows(now):
        get_logger().warning("enrichment: related table circuit open; skipped")
        return None
    try:
        record = _get_related(settings.related_table, key, budget)
    except Exception as error:  # noqa: BLE001 - logged and skipped
        _related_breaker.record(False, time.monotonic())
        get_logger().warning("enrichment: related record lookup failed (%s); skipped", _error_code(error))
        return None
    _related_breaker.record(True, time.monotonic())
    if record is not None:
        get_logger().info("enrichment: related record schema %s", schema_fingerprint(record))
    return record


def enrich(lead: dict[str, Any]) -> dict[str, Any]:
    """Whatever enrichment can be found within the budget; never raises."""
    budget = Budget()
    result: dict[str, Any] = {}
    try:
        history = contact_history(lead)
    except Exception as error:  # noqa: BLE001
        get_logger().warning("enrichment: history lookup failed (%s); skipped", _error_code(error))
        history = None
    if history:
        result["history"] = history
    if budget.remaining() > 0:
        related = related_record(lead, budget)
        if related:
            result["related"] = {k: v for k, v in related.items() if isinstance(v, (str, int, float))}
    return result
