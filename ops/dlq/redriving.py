"""Redriving (sending back) and purging (deleting for good) dead letters.

The SQS and SNS redrives are chalicelib's (the admin API runs the same code);
the stream DLQs' records are replayed by ops/dlq/stream.py. Purging is for
messages that will never succeed (a request for a template that does not
exist, say): it asks for confirmation and leaves an audit entry.
"""

from __future__ import annotations

import uuid

from chalicelib.core.states import RedriveOutcome
from chalicelib.pipeline import dead_letters
from chalicelib.pipeline.dead_letters import DeadLetter, RedriveResult, Report
from ops.dlq import stream
from ops.dlq.listing import existing_queues


def redrive(queues: list[str], stage: str, ids: set[str] | None, use_lambda: bool = False) -> Report:
    """Redrive the chosen messages (ids) or all (None) of these DLQs."""

    def replay(letter: DeadLetter) -> RedriveResult:
        return stream.redrive_stream(letter, stage, use_lambda)

    return dead_letters.redrive(existing_queues(queues), ids, replay)


def purge(queues: list[str], ids: set[str] | None) -> tuple[Report, str]:
    """Delete the chosen messages; the report and the audit entry's key ("" if nothing was deleted)."""
    report = Report()
    for queue in existing_queues(queues):
        part = dead_letters.purge(queue, ids)
        report.results.extend(r for r in part.results if r.outcome != RedriveOutcome.SKIPPED)
    if ids is not None:
        missing = ids - {r.message_id for r in report.results}
        report.results.extend(
            RedriveResult(m, RedriveOutcome.SKIPPED, "not found in the chosen DLQs") for m in sorted(missing)
        )
    purged = [r for r in report.results if r.outcome == RedriveOutcome.PURGED]
    if not purged:
        return report, ""
    from chalicelib.pipeline import audit

    key = audit.record_admin_action(
        audit.AuditAction.DEAD_LETTERS_PURGED,
        str(uuid.uuid4()),
        {"queues": sorted(queues), "message_ids": [r.message_id for r in purged], "by": "make dlq"},
    )
    return report, key


def print_report(report: Report) -> None:
    for result in report.results:
        print(f"{result.message_id}  {result.outcome}  {result.detail}")
    if not report.results:
        print("nothing to redrive")
