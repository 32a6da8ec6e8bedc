"""Dead letters: list what is in each DLQ and why, and redrive chosen or all messages.

    python -m ops.dlq list [--queue notifications|lead-stream|lead-audit|ses-feedback|callbacks] [--stage local]
    python -m ops.dlq redrive (--all | MESSAGE_ID ...) [--queue ...] [--stage ...] [--invoke-lambda]
    make dlq ARGS="redrive --all --queue notifications"

Per DLQ:
- notifications: SQS messages the worker failed 3 times. Redrive sends each
  back to the notifications queue, then deletes it from the DLQ. Replays are
  safe: the send ledger (store.ledger.claim) refuses an email already sent.
- ses-feedback: SES feedback events whose handler kept failing (usually a
  message id not recorded yet), as Lambda's asynchronous DLQ message or
  on-failure destination record. Redrive publishes the SES record to the
  SesFeedback topic again; duplicates change nothing (statuses only move
  forward).
- callbacks: status callbacks a sender's receiver refused (a 4xx) or kept
  failing. Redrive sends each back to the callbacks queue; the worker drops
  one whose status is no longer the latest or was acknowledged meanwhile.
- lead-stream, lead-audit: Lambda's on-failure records for the Leads stream's
  two consumers, which hold only the shard and sequence range. Redrive
  re-reads those records from the stream (DynamoDB Streams keeps them 24
  hours) and replays them through the handler named in the record
  (on_lead_stream or on_lead_audit), in this process, or with
  --invoke-lambda through the deployed function.

Messages about an erased lead are not replayed (that would mail a person who
asked to be forgotten); redrive deletes them, since they hold that person's
data. Nothing here prints an address: summaries name lead ids and kinds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from infra.resources import physical_name

RECEIVE_VISIBILITY_SECONDS = 60
# Long polling asks every SQS server, so a short poll's sampling cannot hide a message.
RECEIVE_WAIT_SECONDS = 1
MAX_MESSAGES = 1000


@dataclass(frozen=True)
class QueueSpec:
    name: str  # the option value
    dlq_suffix: str
    kind: str  # "sqs" | "sns" | "stream"
    source_suffix: str = ""


QUEUES: dict[str, QueueSpec] = {
    "notifications": QueueSpec("notifications", "notifications-dlq", "sqs", "notifications"),
    "ses-feedback": QueueSpec("ses-feedback", "ses-feedback-dlq", "sns", "ses-feedback"),
    "lead-stream": QueueSpec("lead-stream", "lead-stream-dlq", "stream"),
    "lead-audit": QueueSpec("lead-audit", "lead-audit-dlq", "stream"),
    # Status callbacks to senders; a redriven one that is out of date by then is dropped by the worker.
    "callbacks": QueueSpec("callbacks", "callbacks-dlq", "sqs", "callbacks"),
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


@dataclass
class RedriveResult:
    message_id: str
    outcome: str  # "redriven" | "dropped" | "failed" | "skipped"
    detail: str = ""


@dataclass
class Report:
    results: list[RedriveResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.outcome == "failed" for r in self.results)


def _sqs() -> Any:
    from chalicelib.core import aws

    return aws.sqs()


def queue_url(spec: QueueSpec, stage: str, suffix: str | None = None) -> str:
    return str(_sqs().get_queue_url(QueueName=physical_name(stage, suffix or spec.dlq_suffix))["QueueUrl"])


# --- Reading a DLQ without consuming it ---------------------------------------


def receive_all(url: str, limit: int = MAX_MESSAGES) -> list[dict[str, Any]]:
    """Every message, each hidden while we hold it; release() makes the untouched ones visible again."""
    sqs = _sqs()
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
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
    sqs = _sqs()
    for start in range(0, len(letters), 10):
        chunk = letters[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": letter.receipt_handle, "VisibilityTimeout": 0}
                for i, letter in enumerate(chunk)
            ],
        )


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def to_letter(queue: str, message: dict[str, Any]) -> DeadLetter:
    letter = DeadLetter(
        queue=queue,
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        body=message.get("Body", ""),
        attributes=message.get("Attributes", {}),
        message_attributes=message.get("MessageAttributes", {}),
        payload=_json(message.get("Body", "")),
    )
    describe(QUEUES[queue], letter)
    return letter


# --- Why a message is there ------------------------------------------------------


def _attribute(letter: DeadLetter, name: str) -> str:
    value = letter.message_attributes.get(name) or {}
    return str(value.get("StringValue", ""))


def lead_id_of(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("lead"), dict):
        return str(payload["lead"].get("id", ""))
    return ""


def _ledger_reason(lead_id: str) -> str:
    from chalicelib.core.states import DeliveryStatus
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


def describe_notification(letter: DeadLetter) -> None:
    payload = letter.payload
    received = letter.attributes.get("ApproximateReceiveCount", "?")
    kind = str(payload.get("type", "?")) if isinstance(payload, dict) else "not JSON"
    lead_id = lead_id_of(payload)
    letter.summary = f"{kind} lead={lead_id}" if lead_id else kind
    # The worker dead-letters a message it can never process itself, with a `reason` attribute;
    # the others came from the queue's redrive policy after repeated failures.
    stated = _attribute(letter, "reason")
    base = f"worker: {stated}" if stated else f"the worker failed it (received {received} times in total)"
    letter.reason = f"{base}; {_ledger_reason(lead_id)}" if lead_id else base


def sns_records_of(payload: Any) -> list[dict[str, Any]]:
    """The SNS event inside a Lambda async DLQ message or on-failure destination record."""
    if isinstance(payload, dict) and isinstance(payload.get("requestPayload"), dict):
        payload = payload["requestPayload"]
    records = payload.get("Records") if isinstance(payload, dict) else None
    return [r["Sns"] for r in records or [] if isinstance(r, dict) and isinstance(r.get("Sns"), dict)]


def describe_feedback(letter: DeadLetter) -> None:
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


def describe_stream(letter: DeadLetter) -> None:
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


def describe(spec: QueueSpec, letter: DeadLetter) -> None:
    {"sqs": describe_notification, "sns": describe_feedback, "stream": describe_stream}[spec.kind](letter)


# --- Redriving ---------------------------------------------------------------------


def is_erased_or_gone(lead_id: str) -> bool:
    from chalicelib.core.states import LeadStatus
    from chalicelib.store import leads

    found = leads.get_lead(lead_id)
    return found is None or found.get("status") == LeadStatus.ERASED


def redrive_notification(letter: DeadLetter, stage: str) -> RedriveResult:
    lead_id = lead_id_of(letter.payload)
    if lead_id and is_erased_or_gone(lead_id):
        return RedriveResult(letter.message_id, "dropped", f"lead {lead_id} is erased or gone")
    spec = QUEUES[letter.queue]
    extra = {"MessageAttributes": letter.message_attributes} if letter.message_attributes else {}
    sent = _sqs().send_message(QueueUrl=queue_url(spec, stage, spec.source_suffix), MessageBody=letter.body, **extra)
    return RedriveResult(letter.message_id, "redriven", f"as {sent['MessageId']}")


def feedback_topic_arn(record: dict[str, Any], stage: str) -> str:
    if record.get("TopicArn"):
        return str(record["TopicArn"])
    from chalicelib.core import aws

    account = aws.client("sts").get_caller_identity()["Account"]
    region = aws.sns().meta.region_name
    return f"arn:aws:sns:{region}:{account}:{physical_name(stage, 'ses-feedback')}"


def redrive_feedback(letter: DeadLetter, stage: str) -> RedriveResult:
    from chalicelib.core import aws

    records = sns_records_of(letter.payload)
    if not records:
        return RedriveResult(letter.message_id, "failed", "no SNS record inside; left in the DLQ")
    for record in records:
        aws.sns().publish(TopicArn=feedback_topic_arn(record, stage), Message=str(record.get("Message", "")))
    return RedriveResult(letter.message_id, "redriven", f"{len(records)} SES record(s) republished")


# Stream replay -------------------------------------------------------------------


class RecordsExpired(Exception):
    pass


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda hands a stream handler."""
    dynamodb = dict(record["dynamodb"])
    dynamodb["ApproximateCreationDateTime"] = _epoch(dynamodb.get("ApproximateCreationDateTime", 0))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def read_stream_range(stream_arn: str, shard_id: str, start: str, end: str) -> list[dict[str, Any]]:
    """The records of one shard from `start` to `end` inclusive, while the stream still has them."""
    from chalicelib.core import aws

    streams = aws.client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        )["ShardIterator"]
    except Exception as error:  # noqa: BLE001 - trimmed, expired or unknown shard
        raise RecordsExpired(f"{type(error).__name__}: {error}") from None
    found: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        records = page.get("Records", [])
        for record in records:
            if int(record["dynamodb"]["SequenceNumber"]) > int(end):
                return found
            found.append(record)
        if not records:
            return found
        iterator = page.get("NextShardIterator")
    return found


def _keep_for_replay(handler: str, record: dict[str, Any]) -> bool:
    """The notification consumer replays INSERTs of leads that still exist and are not erased."""
    if handler != "on_lead_stream":
        return True
    if record["eventName"] != "INSERT":
        return False
    lead_id = record["dynamodb"].get("Keys", {}).get("id", {}).get("S", "")
    return bool(lead_id) and not is_erased_or_gone(lead_id)


def invoke_in_process(handler: str, event: dict[str, Any]) -> dict[str, Any]:
    import app as app_module

    result = getattr(app_module, handler)(event, None)
    return result if isinstance(result, dict) else {}


def invoke_lambda(handler: str, event: dict[str, Any], stage: str) -> dict[str, Any]:
    from chalicelib.core import aws

    response = aws.client("lambda").invoke(
        FunctionName=f"leadflow-{stage}-{handler}", Payload=json.dumps(event).encode()
    )
    body = _json(response["Payload"].read().decode() or "null")
    if response.get("FunctionError"):
        raise RuntimeError(f"{handler} failed: {body}")
    return body if isinstance(body, dict) else {}


def redrive_stream(letter: DeadLetter, stage: str, use_lambda: bool) -> RedriveResult:
    info = stream_batch_info(letter.payload)
    if not info:
        return RedriveResult(letter.message_id, "failed", "not a stream on-failure record; left in the DLQ")
    from chalicelib.core import aws

    stream_arn = str(info.get("streamArn", ""))
    try:
        records = read_stream_range(
            stream_arn, str(info["shardId"]), str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
        )
    except RecordsExpired as error:
        return RedriveResult(letter.message_id, "failed", f"records no longer in the stream (24 h): {error}")
    if not records:
        return RedriveResult(letter.message_id, "failed", "records no longer in the stream (24 h)")
    handler = handler_of(letter.payload)
    region = aws.dynamodb().meta.region_name
    replay = [lambda_record(r, stream_arn, region) for r in records if _keep_for_replay(handler, r)]
    skipped = len(records) - len(replay)
    if replay:
        event = {"Records": replay}
        result = invoke_lambda(handler, event, stage) if use_lambda else invoke_in_process(handler, event)
        if result.get("batchItemFailures"):
            return RedriveResult(letter.message_id, "failed", f"{handler} failed again: {result['batchItemFailures']}")
    return RedriveResult(
        letter.message_id, "redriven", f"{len(replay)} record(s) replayed through {handler}, {skipped} skipped"
    )


def redrive_one(letter: DeadLetter, stage: str, use_lambda: bool) -> RedriveResult:
    kind = QUEUES[letter.queue].kind
    try:
        if kind == "sqs":
            return redrive_notification(letter, stage)
        if kind == "sns":
            return redrive_feedback(letter, stage)
        return redrive_stream(letter, stage, use_lambda)
    except Exception as error:  # noqa: BLE001 - one bad letter must not stop the rest
        return RedriveResult(letter.message_id, "failed", f"{type(error).__name__}: {error}")


# --- Commands -------------------------------------------------------------------------


def existing_queues(queues: list[str], stage: str) -> list[str]:
    """The chosen DLQs that exist in this account (an older stack may lack a newer one)."""
    sqs = _sqs()
    present = []
    for queue in queues:
        try:
            queue_url(QUEUES[queue], stage)
        except sqs.exceptions.QueueDoesNotExist:
            print(f"{queue}: no queue {physical_name(stage, QUEUES[queue].dlq_suffix)}; skipped", file=sys.stderr)
            continue
        present.append(queue)
    return present


def load(queue: str, stage: str) -> tuple[str, list[DeadLetter]]:
    url = queue_url(QUEUES[queue], stage)
    return url, [to_letter(queue, m) for m in receive_all(url)]


def list_letters(queues: list[str], stage: str) -> dict[str, list[DeadLetter]]:
    found: dict[str, list[DeadLetter]] = {}
    for queue in existing_queues(queues, stage):
        url, letters = load(queue, stage)
        release(url, letters)
        found[queue] = letters
    return found


def redrive(queues: list[str], stage: str, ids: set[str] | None, use_lambda: bool = False) -> Report:
    """Redrive the chosen messages (ids) or all (None). Delete only after the replay succeeded:
    a crash in between leaves a duplicate, never a loss, and duplicates are harmless."""
    report = Report()
    for queue in existing_queues(queues, stage):
        url, letters = load(queue, stage)
        chosen = [letter for letter in letters if ids is None or letter.message_id in ids]
        try:
            for letter in chosen:
                result = redrive_one(letter, stage, use_lambda)
                report.results.append(result)
                if result.outcome in ("redriven", "dropped"):
                    _sqs().delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
        finally:
            # Make everything not deleted visible again (untouched and failed alike).
            release(url, [letter for letter in letters if not _deleted(report, letter)])
    if ids is not None:
        missing = ids - {r.message_id for r in report.results}
        report.results.extend(RedriveResult(m, "skipped", "not found in the chosen DLQs") for m in sorted(missing))
    return report


def _deleted(report: Report, letter: DeadLetter) -> bool:
    return any(r.message_id == letter.message_id and r.outcome in ("redriven", "dropped") for r in report.results)


def _age(letter: DeadLetter) -> str:
    sent = letter.attributes.get("SentTimestamp")
    if not sent:
        return "?"
    seconds = max(0, int(time.time() - int(sent) / 1000))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def print_listing(found: dict[str, list[DeadLetter]], stage: str) -> None:
    for queue, letters in found.items():
        print(f"{queue} ({physical_name(stage, QUEUES[queue].dlq_suffix)}): {len(letters)} message(s)")
        for letter in letters:
            print(f"  {letter.message_id}  age {_age(letter)}  {letter.summary}")
            print(f"      reason: {letter.reason}")


def print_report(report: Report) -> None:
    for result in report.results:
        print(f"{result.message_id}  {result.outcome}  {result.detail}")
    if not report.results:
        print("nothing to redrive")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ops.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "redrive"])
    parser.add_argument("ids", nargs="*", help="message ids to redrive (as `list` shows them)")
    parser.add_argument("--all", action="store_true", help="redrive every message of the chosen DLQs")
    parser.add_argument("--queue", action="append", choices=sorted(QUEUES), help="default: every DLQ")
    parser.add_argument("--stage", default="local")
    parser.add_argument(
        "--invoke-lambda", action="store_true",
        help="replay stream records through the deployed function instead of in this process",
    )
    args = parser.parse_args(argv)
    if args.command == "redrive" and not args.all and not args.ids:
        parser.error("redrive needs message ids or --all")
    if args.all and args.ids:
        parser.error("give message ids or --all, not both")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from ops.env import configure

    configure(args.stage)
    queues = args.queue or list(QUEUES)
    if args.command == "list":
        print_listing(list_letters(queues, args.stage), args.stage)
        return 0
    report = redrive(queues, args.stage, None if args.all else set(args.ids), args.invoke_lambda)
    print_report(report)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
