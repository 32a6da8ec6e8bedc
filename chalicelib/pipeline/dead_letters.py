"""Dead letters: what each DLQ holds and why, and sending messages back where they came from.

Used by the admin API (GET /dead-letters, POST /dead-letters/{queue}/redrive),
by erasure (a lead's copies are deleted from the DLQs) and by the operator's
`make dlq` (ops/dlq/, which adds the stream replay on top). Queue names come
from the stage's variables (core/settings.py).

Per DLQ:
- notifications: queue messages the worker failed 3 times, or rejected with a
  `reason` attribute. Redrive sends each back to the notifications queue and
  then deletes it; a replay is safe because the send ledger refuses an email
  already sent.
- ses-feedback: SES feedback events whose handler kept failing, as Lambda's
  asynchronous DLQ message or on-failure destination record. Redrive
  publishes the SES record to the SesFeedback topic again; a duplicate
  changes nothing (statuses only move forward).
- lead-stream, lead-audit: Lambda's on-failure records of the Leads stream's
  two consumers. They hold only a shard and sequence range, so a replay
  means reading the stream and running the handler: ops/dlq/stream.py does
  that (`make dlq`); here they are listed and described only.

A message about an erased lead is never replayed (that would mail a person
who asked to be forgotten): redrive deletes it, since it holds their data.
Nothing here returns an address: summaries name lead ids, kinds and SES
message ids.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from chalicelib.core import aws
from chalicelib.core.settings import get_settings
from chalicelib.core.states import DeadLetterQueue, DeliveryStatus, LeadStatus, RedriveOutcome

RECEIVE_VISIBILITY_SECONDS = 60
# Long polling asks every SQS server, so a short poll's sampling cannot hide a message.
RECEIVE_WAIT_SECONDS = 1
MAX_MESSAGES = 1000


@dataclass(frozen=True)
class QueueSpec:
    name: DeadLetterQueue
    kind: str  # "sqs" | "sns" | "stream"
    setting: str  # the Settings field naming the DLQ
    source: str = ""  # for "sqs": the Settings field naming the queue a redrive sends back to

    @property
    def replayable_here(self) -> bool:
        """Redriven by this module (the stream DLQs need ops/dlq/stream.py)."""
        return self.kind != "stream"


QUEUES: dict[str, QueueSpec] = {
    DeadLetterQueue.NOTIFICATIONS: QueueSpec(
        DeadLetterQueue.NOTIFICATIONS, "sqs", "notifications_dlq", "notifications_queue"
    ),
    DeadLetterQueue.SES_FEEDBACK: QueueSpec(DeadLetterQueue.SES_FEEDBACK, "sns", "ses_feedback_dlq"),
    DeadLetterQueue.LEAD_STREAM: QueueSpec(DeadLetterQueue.LEAD_STREAM, "stream", "lead_stream_dlq"),
    DeadLetterQueue.LEAD_AUDIT: QueueSpec(DeadLetterQueue.LEAD_AUDIT, "stream", "lead_audit_dlq"),
    # Status callbacks to senders; a redriven one that is out of date by then is dropped by the worker.
    DeadLetterQueue.CALLBACKS: QueueSpec(DeadLetterQueue.CALLBACKS, "sqs", "callbacks_dlq", "callbacks_queue"),
}


@dataclass
class DeadLetter:
    queue: str
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, Any]
    payload: Any = None
    summary: str = ""
    reason: str = ""

    @property
    def sent_at(self) -> float | None:
        """When the message was first sent (epoch seconds); SQS keeps it through the move to the DLQ."""
        sent = self.attributes.get("SentTimestamp")
        return int(sent) / 1000 if sent and sent.isdigit() else None

    def age_seconds(self, now: float | None = None) -> int | None:
        sent = self.sent_at
        return None if sent is None else max(0, int((now or time.time()) - sent))


@dataclass
class RedriveResult:
    message_id: str
    outcome: RedriveOutcome
    detail: str = ""


@dataclass
class Report:
    results: list[RedriveResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.outcome == RedriveOutcome.FAILED for r in self.results)


# A redrive for the stream DLQs, given by ops/dlq (reads the stream, runs the handler).
StreamReplay = Callable[[DeadLetter], RedriveResult]

_DELETED = (RedriveOutcome.REDRIVEN, RedriveOutcome.DROPPED, RedriveOutcome.PURGED)


def dlq_name(queue: str) -> str:
    name = str(getattr(get_settings(), QUEUES[queue].setting))
    if not name:
        raise LookupError(f"the stage names no {queue} DLQ ({QUEUES[queue].setting.upper()} is empty)")
    return name


@cache
def _url_of(name: str) -> str:
    return str(aws.sqs().get_queue_url(QueueName=name)["QueueUrl"])


def queue_url(queue: str) -> str:
    return _url_of(dlq_name(queue))


def queue_facts(url: str) -> dict[str, str]:
    """The DLQ's ARN and approximate counts (visible, and held by a reader right now)."""
    return dict(
        aws.sqs().get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    )


# --- Reading a DLQ without consuming it ---------------------------------------


def receive_all(url: str, limit: int = MAX_MESSAGES, expected: int | None = None) -> list[dict[str, Any]]:
    """Every message (up to `limit`), each hidden while we hold it; release() makes the untouched
    ones visible again. With `expected` (the queue's count), stop once that many are in hand
    instead of waiting for an empty poll."""
    sqs = aws.sqs()
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit and (expected is None or len(seen) < expected):
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen.setdefault(message["MessageId"], message)
    return list(seen.values())


def release(url: str, letters: list[DeadLetter]) -> None:
    sqs = aws.sqs()
    for start in range(0, len(letters), 10):
        chunk = letters[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                for i, letter in enumerate(chunk)
            ],
        )


def delete(url: str, letter: DeadLetter) -> None:
    aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def to_letter(queue: str, message: dict[str, Any], with_ledger: bool = True) -> DeadLetter:
    letter = DeadLetter(
        queue=queue,
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        body=message.get("Body", ""),
        attributes=message.get("Attributes", {}),
        message_attributes=message.get("MessageAttributes", {}),
        payload=_json(message.get("Body", "")),
    )
    describe(QUEUES[queue], letter, with_ledger)
    return letter


def load(queue: str, limit: int = MAX_MESSAGES, with_ledger: bool = True) -> tuple[str, list[DeadLetter]]:
    """The DLQ's URL and its messages, held (invisible) until released or deleted."""
    url = queue_url(queue)
    facts = queue_facts(url)
    expected = int(facts.get("ApproximateNumberOfMessages", "0") or 0)
    if expected == 0 and int(facts.get("ApproximateNumberOfMessagesNotVisible", "0") or 0) == 0:
        return url, []
    messages = receive_all(url, limit, expected or None)
    return url, [to_letter(queue, m, with_ledger) for m in messages]


# --- Why a message is there ------------------------------------------------------


def _attribute(letter: DeadLetter, name: str) -> str:
    value = letter.message_attributes.get(name) or {}
    return str(value.get("StringValue", ""))


def lead_id_of(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("lead"), dict):
        return str(payload["lead"].get("id", ""))
    return ""


def _ledger_reason(lead_id: str) -> str:
    from chalicelib.store import deliveries

    try:
        found = deliveries.list_for_lead(lead_id)
    except Exception as error:  # noqa: BLE001 - the listing still shows the message
        return f"ledger unreadable ({type(error).__name__})"
    if not found:
        return "no email of it recorded in the ledger"
    parts = []
    for delivery in sorted(found, key=lambda d: str(d.get("kind", ""))):
        why = f" ({delivery['reason']})" if delivery.get("reason") else ""
        parts.append(f"{delivery.get('kind')}={DeliveryStatus(str(delivery.get('status'))).public}{why}")
    return "ledger: " + "; ".join(parts)


def describe_notification(letter: DeadLetter, with_ledger: bool = True) -> None:
    payload = letter.payload
    received = letter.attributes.get("ApproximateReceiveCount", "?")
    kind = str(payload.get("type", "?")) if isinstance(payload, dict) else "not JSON"
    lead_id = lead_id_of(payload)
    letter.summary = f"{kind} lead={lead_id}" if lead_id else kind
    # The worker dead-letters a message it can never process itself, with a `reason` attribute;
    # the others came from the queue's redrive policy after repeated failures.
    stated = _attribute(letter, "reason")
    base = f"worker: {stated}" if stated else f"the worker failed it (received {received} times in total)"
    letter.reason = f"{base}; {_ledger_reason(lead_id)}" if lead_id and with_ledger else base


def sns_records_of(payload: Any) -> list[dict[str, Any]]:
    """The SNS event inside a Lambda async DLQ message or on-failure destination record."""
    if isinstance(payload, dict) and isinstance(payload.get("requestPayload"), dict):
        payload = payload["requestPayload"]
    records = payload.get("Records") if isinstance(payload, dict) else None
    return [r["Sns"] for r in records or [] if isinstance(r, dict) and isinstance(r.get("Sns"), dict)]


def ses_records_of(letter: DeadLetter) -> list[dict[str, Any]]:
    """The SES feedback records a feedback dead letter carries (JSON objects only)."""
    return [ses for r in sns_records_of(letter.payload) if isinstance(ses := _json(str(r.get("Message", ""))), dict)]


def describe_feedback(letter: DeadLetter, with_ledger: bool = True) -> None:
    payload = letter.payload
    records = sns_records_of(payload)
    ses = _json(records[0].get("Message", "")) if records else None
    if isinstance(ses, dict):
        kind = ses.get("eventType") or ses.get("notificationType") or "?"
        message_id = (ses.get("mail") or {}).get("messageId", "?")
        letter.summary = f"SES {kind} for message {message_id}"
    else:
        letter.summary = "not an SNS event" if not records else "SNS message is not SES JSON"
    error = _attribute(letter, "ErrorMessage")
    if isinstance(payload, dict) and "requestContext" in payload:
        context = payload.get("requestContext") or {}
        response = payload.get("responsePayload") or {}
        error = str(response.get("errorMessage") or "") if isinstance(response, dict) else str(response)
        error = f"{context.get('condition', '?')}: {error}" if error else str(context.get("condition", "?"))
    letter.reason = error or "the handler failed (no error recorded)"


def stream_batch_info(payload: Any) -> dict[str, Any]:
    info = payload.get("DDBStreamBatchInfo") if isinstance(payload, dict) else None
    return info if isinstance(info, dict) else {}


def handler_of(payload: Any) -> str:
    """The app.py function an on-failure record came from: `<app>-<stage>-<function>` in Chalice."""
    arn = str(((payload or {}).get("requestContext") or {}).get("functionArn", ""))
    name = arn.split(":function:", 1)[-1].split(":", 1)[0]
    return "on_lead_audit" if name.endswith("on_lead_audit") else "on_lead_stream"


def describe_stream(letter: DeadLetter, with_ledger: bool = True) -> None:
    info = stream_batch_info(letter.payload)
    if not info:
        letter.summary, letter.reason = "not a stream on-failure record", "unknown"
        return
    letter.summary = (
        f"{handler_of(letter.payload)}: {info.get('batchSize', '?')} record(s) of {info.get('shardId')} "
        f"seq {info.get('startSequenceNumber')}..{info.get('endSequenceNumber')}"
    )
    context = letter.payload.get("requestContext") or {}
    response = letter.payload.get("responseContext") or {}
    letter.reason = (
        f"{context.get('condition', '?')} after {context.get('approximateInvokeCount', '?')} invocation(s)"
        f" (functionError={response.get('functionError', '-')}, status={response.get('statusCode', '-')})"
    )


def describe(spec: QueueSpec, letter: DeadLetter, with_ledger: bool = True) -> None:
    describers = {"sqs": describe_notification, "sns": describe_feedback, "stream": describe_stream}
    describers[spec.kind](letter, with_ledger)


# --- Redriving ---------------------------------------------------------------------


def is_erased_or_gone(lead_id: str) -> bool:
    from chalicelib.store import leads

    found = leads.get_lead(lead_id)
    return found is None or found.get("status") == LeadStatus.ERASED


def redrive_to_queue(letter: DeadLetter) -> RedriveResult:
    """An SQS dead letter back to the queue it failed on (notifications, callbacks)."""
    lead_id = lead_id_of(letter.payload)
    if lead_id and is_erased_or_gone(lead_id):
        return RedriveResult(letter.message_id, RedriveOutcome.DROPPED, f"lead {lead_id} is erased or gone")
    extra = {"MessageAttributes": letter.message_attributes} if letter.message_attributes else {}
    source = str(getattr(get_settings(), QUEUES[letter.queue].source))
    sent = aws.sqs().send_message(QueueUrl=_url_of(source), MessageBody=letter.body, **extra)
    return RedriveResult(letter.message_id, RedriveOutcome.REDRIVEN, f"as {sent['MessageId']}")


def feedback_topic_arn(record: dict[str, Any], dlq_arn: str) -> str:
    """The stage's SesFeedback topic: the record's own TopicArn when it names that topic, else
    built from the DLQ's region and account. Never another topic a message names."""
    name = get_settings().ses_feedback_topic
    stated = str(record.get("TopicArn") or "")
    if stated:
        if stated.rsplit(":", 1)[-1] != name:
            raise ValueError(f"the record names another topic ({stated.rsplit(':', 1)[-1]}), not {name}")
        return stated
    _, partition, _, region, account, _ = dlq_arn.split(":", 5)
    return f"arn:{partition}:sns:{region}:{account}:{name}"


def redrive_feedback(letter: DeadLetter, dlq_arn: str) -> RedriveResult:
    records = sns_records_of(letter.payload)
    if not records:
        return RedriveResult(letter.message_id, RedriveOutcome.FAILED, "no SNS record inside; left in the DLQ")
    topics = [feedback_topic_arn(record, dlq_arn) for record in records]
    for record, topic in zip(records, topics, strict=True):
        aws.sns().publish(TopicArn=topic, Message=str(record.get("Message", "")))
    return RedriveResult(letter.message_id, RedriveOutcome.REDRIVEN, f"{len(records)} SES record(s) republished")


STREAM_BY_COMMAND = "stream records are replayed with `make dlq` (they must be read back from the stream)"


def redrive_one(letter: DeadLetter, dlq_arn: str, stream_replay: StreamReplay | None = None) -> RedriveResult:
    kind = QUEUES[letter.queue].kind
    try:
        if kind == "sqs":
            return redrive_to_queue(letter)
        if kind == "sns":
            return redrive_feedback(letter, dlq_arn)
        if stream_replay is None:
            return RedriveResult(letter.message_id, RedriveOutcome.FAILED, STREAM_BY_COMMAND)
        return stream_replay(letter)
    except Exception as error:  # noqa: BLE001 - one bad letter must not stop the rest
        return RedriveResult(letter.message_id, RedriveOutcome.FAILED, f"{type(error).__name__}: {error}")


def _deleted(report: Report, letter: DeadLetter) -> bool:
    return any(r.message_id == letter.message_id and r.outcome in _DELETED for r in report.results)


def redrive(
    queues: Iterable[str], ids: set[str] | None, stream_replay: StreamReplay | None = None
) -> Report:
    """Redrive the chosen messages (ids) or all (None). Delete only after the replay succeeded:
    a crash in between leaves a duplicate, never a loss, and duplicates are harmless."""
    report = Report()
    for queue in queues:
        url, letters = load(queue, with_ledger=False)
        dlq_arn = queue_facts(url).get("QueueArn", "") if letters else ""
        chosen = [letter for letter in letters if ids is None or letter.message_id in ids]
        try:
            for letter in chosen:
                result = redrive_one(letter, dlq_arn, stream_replay)
                report.results.append(result)
                if result.outcome in _DELETED:
                    delete(url, letter)
        finally:
            # Make everything not deleted visible again (untouched and failed alike).
            release(url, [letter for letter in letters if not _deleted(report, letter)])
    _report_missing(report, ids)
    return report


def purge(queue: str, ids: set[str] | None) -> Report:
    """Delete the chosen messages (ids) or all (None) without replaying them: for messages
    that will never succeed. The caller confirms and audits."""
    report = Report()
    url, letters = load(queue, with_ledger=False)
    try:
        for letter in letters:
            if ids is None or letter.message_id in ids:
                delete(url, letter)
                report.results.append(RedriveResult(letter.message_id, RedriveOutcome.PURGED, letter.summary))
    finally:
        release(url, [letter for letter in letters if not _deleted(report, letter)])
    _report_missing(report, ids)
    return report


def _report_missing(report: Report, ids: set[str] | None) -> None:
    if ids is not None:
        missing = ids - {r.message_id for r in report.results}
        report.results.extend(
            RedriveResult(m, RedriveOutcome.SKIPPED, "not found in the chosen DLQs") for m in sorted(missing)
        )


# --- Erasure: the person's copies in the DLQs --------------------------------------


@dataclass(frozen=True)
class Person:
    """What identifies a person's messages: their leads, addresses and SES message ids."""

    lead_ids: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()  # lower-cased
    message_ids: frozenset[str] = frozenset()


def _addresses_in(value: Any) -> set[str]:
    """Every string in a JSON value that looks like an address, lower-cased."""
    found: set[str] = set()
    if isinstance(value, str):
        if "@" in value:
            found.add(value.strip().lower())
    elif isinstance(value, dict):
        for item in value.values():
            found |= _addresses_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= _addresses_in(item)
    return found


def concerns(letter: DeadLetter, person: Person) -> bool:
    """Whether the dead letter holds this person's data."""
    payload = letter.payload
    if QUEUES[letter.queue].kind == "sqs":
        if lead_id_of(payload) in person.lead_ids:
            return True
        return isinstance(payload, dict) and bool(_addresses_in(payload.get("recipient")) & person.addresses)
    if QUEUES[letter.queue].kind == "sns":
        for ses in ses_records_of(letter):
            mail: dict[str, Any] = ses["mail"] if isinstance(ses.get("mail"), dict) else {}
            tags: dict[str, Any] = mail["tags"] if isinstance(mail.get("tags"), dict) else {}
            if set(tags.get("lead_id") or []) & person.lead_ids:
                return True
            if str(mail.get("messageId", "")) in person.message_ids:
                return True
            if _addresses_in(ses) & person.addresses:
                return True
    return False  # the stream DLQs hold shard and sequence ranges only


def scrub(person: Person) -> int:
    """Delete every message of the person from the DLQs that can hold personal data; how many."""
    removed = 0
    for queue, spec in QUEUES.items():
        if spec.kind == "stream":
            continue
        url, letters = load(queue, with_ledger=False)
        mine = [letter for letter in letters if concerns(letter, person)]
        try:
            for letter in mine:
                delete(url, letter)
                removed += 1
        finally:
            release(url, [letter for letter in letters if letter not in mine])
    return removed
