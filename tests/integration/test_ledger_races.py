"""The send ledger under concurrency, over HTTP against the emulator: the same
email job handed to several workers at once (a redelivered record, two copies
of one SNS message) goes out once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from chalicelib.core.states import DeliveryStatus
from chalicelib.pipeline.jobs import EmailJob
from chalicelib.pipeline.sending import RetryLater, send_job
from chalicelib.store import deliveries

WORKERS = 6
JOBS = 15


def job_for(ref_id: str) -> EmailJob:
    return EmailJob(
        ref_id=ref_id,
        kind="team_alert",
        recipient="team@leadflow.example",
        sender="leadflow <no-reply@leadflow.example>",
        context={"lead": {"id": ref_id, "name": "Ada", "email": "ada@example.com", "message": "Hi"}, "enrichment": {}},
    )


def outcome(job: EmailJob) -> str:
    try:
        return send_job(job)
    except RetryLater:
        return "retry later"


def test_one_job_handed_to_several_workers_at_once_is_sent_once(emulator):
    with ThreadPoolExecutor(WORKERS) as pool:
        for _ in range(JOBS):
            job = job_for(f"race-{uuid.uuid4()}")
            outcomes = sorted(pool.map(outcome, [job] * WORKERS))
            assert outcomes.count(DeliveryStatus.SENT) == 1, outcomes
            assert set(outcomes) <= {DeliveryStatus.SENT, "retry later", "duplicate"}
            row = deliveries.get(job.key.delivery_id)
            assert row is not None and row["status"] == DeliveryStatus.SENT and row["attempts"] == 1
