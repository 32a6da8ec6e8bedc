"""The team's operations views: the suppression list, the dead letters, and delivery health.

- GET /suppressions, DELETE /suppressions/{address}: list (newest first,
  the by_since index), look up one address, remove one with a reason
  (audited, address masked).
- GET /dead-letters, POST /dead-letters/{queue}/redrive: each DLQ's count,
  oldest message and reasons; redrive through pipeline/dead_letters.py (the
  same logic as `make dlq`, so a duplicate is harmless). The stream DLQs'
  records must be read back from the stream by the operator's tool: the
  answer names the command instead.
- GET /stats: the last 24 hours and 7 days of emails per status, and the
  bounce and complaint rates against SES's review thresholds, counted with
  Select=COUNT queries of the Deliveries table's by_status index.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalice.app import Response

from chalicelib.api.admin import parse_limit
from chalicelib.api.http import ApiError, Problem, json_response, validation_failed
from chalicelib.core.clock import iso_utc, now_epoch
from chalicelib.core.masking import mask_email, mask_text
from chalicelib.core.reputation import SES_BOUNCE_RATE_REVIEW, SES_COMPLAINT_RATE_REVIEW
from chalicelib.core.rules import has_control_chars, is_valid_email
from chalicelib.core.settings import get_settings
from chalicelib.core.states import DeadLetterQueue, DeliveryStatus, RedriveOutcome
from chalicelib.store import cursors, suppression

MAX_REASON = 500
# The dashboard lists at most this many messages per DLQ (the count is the queue's own).
DEAD_LETTER_LIST_LIMIT = 100
MAX_REDRIVE_IDS = 100
DAY_SECONDS = 86400
HEALTH_DAYS = 7
COUNTED = (
    DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED,
    DeliveryStatus.SUPPRESSED, DeliveryStatus.FAILED,
)
# Accepted by SES: what the rates are measured against.
REACHED_SES = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.BOUNCED, DeliveryStatus.COMPLAINED)


# --- Suppressions ------------------------------------------------------------------


def list_suppressions(params: Mapping[str, str] | None) -> Response:
    params = params or {}
    limit = parse_limit(params.get("limit"), 50)
    if limit is None:
        raise validation_failed([Problem("limit", "an integer from 1 to 100")])
    q = (params.get("q") or "").strip()
    if q:
        if not is_valid_email(q):
            raise validation_failed([Problem("q", "a whole email address (the search is exact)")])
        found = suppression.get(q)
        return json_response(200, {"items": [found] if found else [], "next_cursor": None})
    try:
        items, next_cursor = suppression.list_newest(limit, params.get("cursor") or None)
    except cursors.BadCursor:
        raise ApiError(400, "invalid_cursor", "the cursor is not one this API returned") from None
    return json_response(200, {"items": items, "next_cursor": next_cursor})


def remove_suppression(address: str, body: Any) -> Response:
    """Unblock an address an operator knows is fixed; the reason is required and audited."""
    from urllib.parse import unquote

    address = unquote(address).strip()
    reason = body.get("reason") if isinstance(body, dict) else None
    problems = []
    if not is_valid_email(address):
        problems.append(Problem("address", "an email address"))
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON or has_control_chars(reason):
        problems.append(Problem("reason", f"why the address may be mailed again: 1-{MAX_REASON} characters"))
    if problems:
        raise validation_failed(problems)
    assert isinstance(reason, str)
    removed = suppression.remove(address)
    if removed is None:
        raise ApiError(404, "not_found", "that address is not on the suppression list")
    from chalicelib.pipeline import audit

    audit.record_admin_action(
        audit.AuditAction.SUPPRESSION_REMOVED,
        str(uuid.uuid4()),
        {
            "recipient": mask_email(removed["address"]),
            "suppressed_since": removed["since"],
            "suppressed_for": mask_text(removed["reason"]),
            "reason": mask_text(reason.strip()),
        },
    )
    return json_response(200, {**removed, "removed": True, "removed_at": iso_utc()})


# --- Dead letters --------------------------------------------------------------------


def redrive_command(queue: str) -> str:
    stage = get_settings().stage
    return f'make dlq ARGS="redrive --all --queue {queue} --stage {stage}' + (
        '"' if stage == "local" else ' --invoke-lambda"'
    )


def _queue_view(queue: str, now: float) -> dict[str, Any]:
    from chalicelib.pipeline import dead_letters

    spec = dead_letters.QUEUES[queue]
    view: dict[str, Any] = {"queue": queue, "redrive": "api" if spec.replayable_here else "command"}
    if not spec.replayable_here:
        view["command"] = redrive_command(queue)
    try:
        name = dead_letters.dlq_name(queue)
        url, letters = dead_letters.load(queue, DEAD_LETTER_LIST_LIMIT)
    except LookupError as error:
        return {**view, "name": "", "count": 0, "messages": [], "error": str(error)}
    except Exception as error:  # noqa: BLE001 - one unreachable DLQ must not hide the others
        code = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
        return {**view, "name": "", "count": 0, "messages": [], "error": f"could not be read ({code})"}
    try:
        facts = dead_letters.queue_facts(url)
    finally:
        dead_letters.release(url, letters)
    ages = [age for letter in letters if (age := letter.age_seconds(now)) is not None]
    visible = int(facts.get("ApproximateNumberOfMessages", "0") or 0)
    messages = sorted(letters, key=lambda letter: letter.sent_at or 0)
    return {
        **view,
        "name": name,
        "count": max(len(letters), visible),
        "oldest_age_seconds": max(ages) if ages else None,
        "truncated": len(letters) >= DEAD_LETTER_LIST_LIMIT,
        "messages": [
            {
                "id": letter.message_id,
                "sent_at": iso_utc(letter.sent_at) if letter.sent_at else None,
                "age_seconds": letter.age_seconds(now),
                "summary": letter.summary,
                "reason": mask_text(letter.reason),
                "receive_count": letter.attributes.get("ApproximateReceiveCount"),
            }
            for letter in messages
        ],
    }


def list_dead_letters() -> Response:
    now = time.time()
    return json_response(200, {"queues": [_queue_view(queue, now) for queue in DeadLetterQueue]})


def redrive_dead_letters(queue: str, body: Any) -> Response:
    from chalicelib.pipeline import dead_letters

    if queue not in dead_letters.QUEUES:
        raise ApiError(404, "not_found", "no dead-letter queue of that name: " + ", ".join(DeadLetterQueue))
    if not dead_letters.QUEUES[queue].replayable_here:
        raise ApiError(
            409, "redrive_by_command",
            f"{dead_letters.STREAM_BY_COMMAND}: {redrive_command(queue)}",
        )
    body = body if isinstance(body, dict) else {}
    ids = body.get("ids")
    every = body.get("all") is True
    valid_ids = isinstance(ids, list) and 0 < len(ids) <= MAX_REDRIVE_IDS and all(
        isinstance(i, str) and 0 < len(i) <= 128 for i in ids
    )
    if every == (ids is not None) or (ids is not None and not valid_ids):
        raise validation_failed(
            [Problem("ids", f'either "ids": [1-{MAX_REDRIVE_IDS} message ids] or "all": true')]
        )
    report = dead_letters.redrive([queue], None if every else set(ids or []))
    results = [{"id": r.message_id, "outcome": r.outcome, "detail": mask_text(r.detail)} for r in report.results]
    if any(r.outcome != RedriveOutcome.SKIPPED for r in report.results):
        from chalicelib.pipeline import audit

        audit.record_admin_action(
            audit.AuditAction.DEAD_LETTERS_REDRIVEN, str(uuid.uuid4()),
            {"queue": queue, "results": [{"id": r["id"], "outcome": r["outcome"]} for r in results]},
        )
    return json_response(200, {"queue": queue, "results": results, "failed": report.failed})


# --- Health ----------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _window(counts: dict[str, int]) -> dict[str, Any]:
    reached = sum(counts[s] for s in REACHED_SES)
    return {
        "counts": counts,
        "sent": reached,
        "bounce_rate": _rate(counts[DeliveryStatus.BOUNCED], reached),
        "complaint_rate": _rate(counts[DeliveryStatus.COMPLAINED], reached),
    }


def stats() -> Response:
    """Counts per status for the last 24 hours and 7 days: 12 COUNT queries of by_status.

    A row is counted under the status it holds now, by the time of its last
    change (by_status is keyed on status and updated_at): an email delivered
    yesterday and complained about today counts once, as complained today.
    """
    from chalicelib.store import deliveries

    now = now_epoch()
    windows = {"24h": DAY_SECONDS, "7d": HEALTH_DAYS * DAY_SECONDS}
    jobs = [(window, status) for window in windows for status in COUNTED]

    def count(job: tuple[str, DeliveryStatus]) -> int:
        window, status = job
        return int(deliveries.count_by_status(status, iso_utc(now - windows[window]), iso_utc(now)))

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = dict(zip(jobs, pool.map(count, jobs), strict=True))
    return json_response(
        200,
        {
            "generated_at": iso_utc(now),
            "thresholds": {"bounce_rate": SES_BOUNCE_RATE_REVIEW, "complaint_rate": SES_COMPLAINT_RATE_REVIEW},
            "windows": {
                window: {"since": iso_utc(now - seconds), **_window({str(s): results[(window, s)] for s in COUNTED})}
                for window, seconds in windows.items()
            },
        },
    )
