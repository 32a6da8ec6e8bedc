"""Invoke one handler of the Chalice app the way Lambda does, and judge the result.

Each invocation gets a fresh JSON copy of the event (Lambda serialises it) and
a Lambda-like context, and is logged on one line: handler, source, batch
size, outcome, duration. Exception messages are masked: they can carry
addresses.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chalice.local import LambdaContext

from devstack.events.masking import mask_text

log = logging.getLogger("devstack.runtime")

# Batches under way (invocation plus its checkpoint/delete), so a stop can let
# them finish rather than cut them off half way.
_in_flight = 0
_in_flight_changed = threading.Condition()


def wait_for_idle(timeout: float) -> bool:
    """Wait until no batch is being handled; False if one still is after `timeout`."""
    with _in_flight_changed:
        return _in_flight_changed.wait_for(lambda: _in_flight == 0, timeout=timeout)


@contextmanager
def busy() -> Iterator[None]:
    global _in_flight
    with _in_flight_changed:
        _in_flight += 1
    try:
        yield
    finally:
        with _in_flight_changed:
            _in_flight -= 1
            _in_flight_changed.notify_all()


@dataclass(frozen=True)
class Function:
    """One Lambda function of the app: a handler and its deployment settings."""

    name: str
    handler: Callable[[dict[str, Any], Any], Any]
    function_name: str
    function_arn: str
    timeout_seconds: int = 60
    memory_mb: int = 128


@dataclass(frozen=True)
class Outcome:
    kind: str  # "ok", "partial" or "error"
    failed_ids: tuple[str, ...] = ()
    error: dict[str, Any] | None = None
    function_error: str | None = None  # "Unhandled" when the function raised
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def _context(function: Function) -> LambdaContext:
    context = LambdaContext(function.function_name, function.memory_mb, function.timeout_seconds * 1000)
    context.invoked_function_arn = function.function_arn
    context.log_group_name = f"/aws/lambda/{function.function_name}"
    context.log_stream_name = "local"
    return context


def _error_payload(exc: BaseException) -> dict[str, Any]:
    frames = traceback.format_tb(exc.__traceback__)
    return {
        "errorMessage": mask_text(str(exc)),
        "errorType": type(exc).__name__,
        "stackTrace": [mask_text(frame) for frame in frames],
    }


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


def judge_batch_response(response: Any, valid_ids: Collection[str]) -> Outcome:
    """Read a partial batch response the way Lambda does.

    No response, an empty one, or an empty/null list is full success; an
    itemIdentifier that is missing, empty or names no record in the batch
    makes the whole batch a failure.
    """
    if not isinstance(response, dict):
        return Outcome("ok")
    failures = response.get("batchItemFailures")
    if not failures:
        return Outcome("ok")
    if not isinstance(failures, list):
        return Outcome("error", error={"errorType": "InvalidBatchItemFailures", "errorMessage": "not a list"})
    ids: list[str] = []
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in valid_ids:
            return Outcome(
                "error", error={"errorType": "InvalidBatchItemFailures", "errorMessage": "bad itemIdentifier"}
            )
        ids.append(identifier)
    return Outcome("partial", failed_ids=tuple(ids))


def invoke(
    function: Function,
    event: dict[str, Any],
    *,
    source: str,
    batch_size: int,
    report_failures: bool = False,
    valid_ids: Collection[str] = (),
) -> Outcome:
    payload = json.loads(json.dumps(event))
    started = time.perf_counter()
    try:
        response = function.handler(payload, _context(function))
    except BaseException as exc:  # noqa: BLE001 - even a "process crash" is an invocation error to Lambda
        outcome = Outcome("error", error=_error_payload(exc), function_error="Unhandled")
        _log(function, source, batch_size, outcome, started, f" error={type(exc).__name__} at={_where(exc)}"
             f" message={mask_text(str(exc))[:200]!r}")
        return outcome
    outcome = judge_batch_response(response, valid_ids) if report_failures else Outcome("ok")
    detail = f" failed={len(outcome.failed_ids)}" if outcome.kind == "partial" else ""
    if outcome.kind == "error" and outcome.error:
        detail = f" error={outcome.error['errorType']}"
    _log(function, source, batch_size, outcome, started, detail)
    return outcome


def _log(function: Function, source: str, batch_size: int, outcome: Outcome, started: float, detail: str) -> None:
    duration_ms = (time.perf_counter() - started) * 1000
    level = logging.INFO if outcome.ok else logging.WARNING
    log.log(
        level,
        "invoke handler=%s source=%s batch=%d outcome=%s duration_ms=%.1f%s",
        function.name, source, batch_size, outcome.kind, duration_ms, detail,
    )
