"""A small Chalice app for the event runtime's tests and benchmark.

Its handlers record every event they receive (one JSON line per invocation
in FIXTURE_RECORD_FILE, with the time) and fail on command, the command
being part of the data:
- a stream record whose NewImage has `behaviour` = `report-failure` is
  reported in batchItemFailures, `raise` makes the invocation raise;
- an SQS body or SNS message that is JSON with `behaviour` does the same;
  `fail-times:N` fails the first N deliveries of that message, then succeeds.
A handler is declared only when its resource is given (FIXTURE_STREAM_ARN,
FIXTURE_QUEUE, FIXTURE_TOPIC).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from typing import Any

from chalice import Chalice

app = Chalice(app_name="runtime-fixture")

_lock = threading.Lock()
_attempts: Counter[str] = Counter()


class CommandedFailure(Exception):
    """The data asked this handler to fail."""


def record(handler: str, event: dict[str, Any], **extra: Any) -> None:
    line = json.dumps({"handler": handler, "time": time.time(), "event": event, **extra})
    with _lock, open(os.environ["FIXTURE_RECORD_FILE"], "a", encoding="utf-8") as out:
        out.write(line + "\n")


def behaviour_of(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    return str(data.get("behaviour", "")) if isinstance(data, dict) else ""


def fails_now(key: str, behaviour: str) -> bool:
    """`raise` always fails; `fail-times:N` fails the first N times `key` is seen."""
    if behaviour == "raise":
        return True
    if behaviour.startswith("fail-times:"):
        with _lock:
            _attempts[key] += 1
            return _attempts[key] <= int(behaviour.split(":", 1)[1])
    return False


if os.environ.get("FIXTURE_STREAM_ARN"):

    @app.on_dynamodb_record(
        stream_arn=os.environ["FIXTURE_STREAM_ARN"],
        batch_size=int(os.environ.get("FIXTURE_STREAM_BATCH_SIZE", "10")),
        starting_position="TRIM_HORIZON",
    )
    def on_stream(event: Any) -> dict[str, Any]:
        records = list(event)
        parsed = [{"name": r.event_name, "seq": r.sequence_number, "table": r.table_name,
                   "timestamp": r.timestamp.isoformat()} for r in records]
        record("on_stream", event.to_dict(), parsed=parsed)
        failures = []
        for item in records:
            behaviour = ((item.new_image or {}).get("behaviour") or {}).get("S", "")
            if fails_now(item.sequence_number, behaviour):
                raise CommandedFailure(f"record {item.sequence_number} for ada.lovelace@example.com")
            if behaviour == "report-failure":
                failures.append({"itemIdentifier": item.sequence_number})
        return {"batchItemFailures": failures}


if os.environ.get("FIXTURE_QUEUE"):

    @app.on_sqs_message(
        queue=os.environ["FIXTURE_QUEUE"], batch_size=int(os.environ.get("FIXTURE_QUEUE_BATCH_SIZE", "10"))
    )
    def on_queue(event: Any) -> dict[str, Any]:
        record("on_queue", event.to_dict())
        failures = []
        for message in event:
            raw = message.to_dict()
            behaviour = behaviour_of(message.body)
            if fails_now(raw["messageId"], behaviour):
                raise CommandedFailure("queue message failed on command")
            if behaviour == "report-failure":
                failures.append({"itemIdentifier": raw["messageId"]})
        return {"batchItemFailures": failures}


if os.environ.get("FIXTURE_TOPIC"):

    @app.on_sns_message(topic=os.environ["FIXTURE_TOPIC"])
    def on_topic(event: Any) -> None:
        record("on_topic", event.to_dict(), subject=event.subject)
        message_id = event.to_dict()["Records"][0]["Sns"]["MessageId"]
        if fails_now(message_id, behaviour_of(event.message)):
            raise CommandedFailure("topic message failed on command")
