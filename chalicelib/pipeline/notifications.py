"""The Notifications queue handler: every message's email jobs, with a partial
batch response so only the messages that must come back do."""

from __future__ import annotations

import contextvars
import json
from functools import cache
from typing import Any

from chalicelib.core import aws
from chalicelib.core.logs import get_logger
from chalicelib.core.settings import get_settings
from chalicelib.pipeline import notification_status
from chalicelib.pipeline.jobs import EmailJob, InvalidRequest, jobs_for_message
from chalicelib.pipeline.sending import Parked, RetryLater, send_job

MAX_BACKOFF_SECONDS = 30


@cache
def queue_url(name: str) -> str:
    return str(aws.sqs().get_queue_url(QueueName=name)["QueueUrl"])


def dead_letter(body: str, reason: str) -> None:
    """A message that can never succeed goes straight to the DLQ with its reason."""
    aws.sqs().send_message(
        QueueUrl=queue_url(get_settings().notifications_dlq),
        MessageBody=body,
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
    )
    get_logger().warning("notification moved to the DLQ: %s", reason)


def back_off(receipt_handle: str, receive_count: int) -> None:
    """Bring a retried message back sooner than the queue's visibility timeout."""
    try:
        aws.sqs().change_message_visibility(
            QueueUrl=queue_url(get_settings().notifications_queue),
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=min(2 ** max(receive_count, 1), MAX_BACKOFF_SECONDS),
        )
    except Exception:  # noqa: BLE001 - the queue's own timeout still applies
        get_logger().warning("could not shorten the retry delay")


def process_body(body: str) -> None:
    """Send every job of one message; raise RetryLater if any must come back. A job held
    for a redrive (a template or set-up fault) sends the message to the DLQ with the reason,
    once nothing else in it waits for a retry (a redrive sends only what is still unsent)."""
    try:
        jobs = jobs_for_message(json.loads(body))
    except (ValueError, InvalidRequest) as error:
        dead_letter(body, f"invalid notification message: {error}")
        return
    except RecursionError:  # nested deeper than the parser goes: no retry can help
        dead_letter(body, "invalid notification message: JSON nested too deeply")
        return
    outcomes = send_all(jobs)
    retry = next((error for error in outcomes if isinstance(error, RetryLater)), None)
    parked = next((error for error in outcomes if isinstance(error, Parked)), None)
    if retry is not None:
        raise retry  # the other jobs went out
    if parked is not None:
        dead_letter(body, str(parked))


def send_one(job: EmailJob) -> RetryLater | Parked | None:
    """Send one job and observe its status; what it must wait for, if anything."""
    outcome: RetryLater | Parked | None = None
    try:
        send_job(job)
    except (RetryLater, Parked) as error:
        outcome = error
    observe_job(job)
    return outcome


def send_all(jobs: list[EmailJob]) -> list[RetryLater | Parked | None]:
    """Every job of one message at the same time (a lead's alert and confirmation): each job
    has its own ledger row and claim, so they are independent, and the lead's last email
    goes out one send sooner. Every job finishes before any error is raised."""
    if len(jobs) < 2:
        return [send_one(job) for job in jobs]
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="send") as pool:
        futures = [pool.submit(contextvars.copy_context().run, send_one, job) for job in jobs]
        wait(futures)
    return [future.result() for future in futures]


def observe_job(job: EmailJob) -> None:
    """A notification's status, as its sender reads it and its callbacks report it."""
    if notification_status.is_notification(job.ref_id):
        notification_status.observe(job.key.delivery_id)


def _receive_count(record: Any) -> int:
    attributes = record.to_dict().get("attributes", {}) or {}
    return int(attributes.get("ApproximateReceiveCount", 1))


def handle_batch(event: Any) -> dict[str, list[dict[str, str]]]:
    failures: list[dict[str, str]] = []
    for record in event:
        message_id = record.to_dict().get("messageId", "")
        try:
            process_body(record.body)
        except RetryLater as error:
            get_logger().info("notification %s will be retried: %s", message_id, error)
            back_off(record.receipt_handle, _receive_count(record))
            failures.append({"itemIdentifier": message_id})
        except Exception:  # noqa: BLE001 - one bad message never fails the batch
            get_logger().exception("notification %s failed", message_id)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
