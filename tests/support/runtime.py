"""The event runtime's tests' helpers: per-test resources in an emulator of
their own, and the runtime as a subprocess running the fixture app in
tests/support/fixture_app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.endpoints import endpoint_env
from tests.support.aws import PROJECT_ROOT, Emulator
from tests.support.event_models import validate_lambda_event

FIXTURE_APP = Path(__file__).resolve().parent / "fixture_app"
# The kind of event each fixture handler is given (for the Powertools model check).
HANDLER_KINDS = {"on_stream": "dynamodb", "on_queue": "sqs", "on_topic": "sns"}
BASE_SETTINGS = json.loads((FIXTURE_APP / ".chalice" / "event-sources.json").read_text())
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def wait_until(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; fail with the last value at the deadline."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


@dataclass
class FixtureResources:
    """A streamed table, a queue with a short visibility timeout and its DLQ, a topic,
    and a stream DLQ, all named for one test."""

    emulator: Emulator
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    table: str = ""
    stream_arn: str = ""
    queue_url: str = ""
    queue_name: str = ""
    queue_dlq_url: str = ""
    stream_dlq_url: str = ""
    stream_dlq_arn: str = ""
    topic_arn: str = ""
    topic_dlq_url: str = ""
    topic_dlq_arn: str = ""

    def create(self, max_receive_count: int = 2) -> FixtureResources:
        dynamodb, sqs, sns = (self.emulator.client(s) for s in ("dynamodb", "sqs", "sns"))
        self.table = f"fixture-{self.suffix}"
        created = dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        self.stream_arn = created["TableDescription"]["LatestStreamArn"]
        self.queue_dlq_url = sqs.create_queue(QueueName=f"fixture-{self.suffix}-queue-dlq")["QueueUrl"]
        dlq_arn = self.queue_arn(self.queue_dlq_url)
        self.queue_name = f"fixture-{self.suffix}-queue"
        self.queue_url = sqs.create_queue(
            QueueName=self.queue_name,
            Attributes={
                "VisibilityTimeout": "1",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}),
            },
        )["QueueUrl"]
        self.stream_dlq_url = sqs.create_queue(QueueName=f"fixture-{self.suffix}-stream-dlq")["QueueUrl"]
        self.stream_dlq_arn = self.queue_arn(self.stream_dlq_url)
        self.topic_dlq_url = sqs.create_queue(QueueName=f"fixture-{self.suffix}-topic-dlq")["QueueUrl"]
        self.topic_dlq_arn = self.queue_arn(self.topic_dlq_url)
        self.topic_arn = sns.create_topic(Name=f"fixture-{self.suffix}-topic")["TopicArn"]
        return self

    def queue_arn(self, url: str) -> str:
        attributes = self.emulator.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def depth(self, url: str) -> int:
        """Messages in the queue, visible and in flight alike."""
        attributes = self.emulator.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def settings(self, **overrides: dict[str, Any]) -> dict[str, Any]:
        """The fixture app's settings file, with this test's on-failure destinations filled in."""
        settings = json.loads(json.dumps(BASE_SETTINGS))
        settings["on_stream"]["OnFailure"] = self.stream_dlq_arn
        settings["on_topic"]["OnFailure"] = self.topic_dlq_arn
        for handler, values in overrides.items():
            settings.setdefault(handler, {}).update(values)
        return settings

    def drain(self, queue_url: str, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Receive (and delete) until `expected` messages were seen."""
        sqs = self.emulator.client("sqs")
        seen: list[dict[str, Any]] = []

        def more() -> bool:
            response = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            )
            for message in response.get("Messages", []):
                seen.append(message)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return len(seen) >= expected

        wait_until(more, timeout=timeout, interval=0)
        return seen

    def put(self, item_id: str, **attributes: str) -> None:
        item = {"id": {"S": item_id}, **{k: {"S": v} for k, v in attributes.items()}}
        self.emulator.client("dynamodb").put_item(TableName=self.table, Item=item)


class RuntimeProcess:
    """`python -m devstack.runtime` on the fixture app, as `make run` starts it."""

    def __init__(self, emulator: Emulator, resources: FixtureResources, workdir: Path,
                 settings: dict[str, Any], handlers: tuple[str, ...]) -> None:
        self.workdir = workdir
        self.record_file = workdir / "records.jsonl"
        self.settings_file = workdir / "event-sources.json"
        self.settings_file.write_text(json.dumps(settings))
        self.log_file = workdir / "runtime.log"
        self.env = {
            **os.environ, **CREDENTIALS,
            **endpoint_env(emulator.endpoint),
            "FIXTURE_RECORD_FILE": str(self.record_file),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("AWS_PROFILE", None)
        wanted = {
            "stream": ("FIXTURE_STREAM_ARN", resources.stream_arn),
            "queue": ("FIXTURE_QUEUE", resources.queue_name),
            "topic": ("FIXTURE_TOPIC", resources.topic_arn),
        }
        for handler in handlers:
            key, value = wanted[handler]
            self.env[key] = value
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> RuntimeProcess:
        ready = self.workdir / "ready"
        ready.unlink(missing_ok=True)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack.runtime", "--stage", "local", "--project-dir", str(FIXTURE_APP),
             "--settings", str(self.settings_file), "--state-dir", str(self.workdir / "state"),
             "--ready-file", str(ready)],
            cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(lambda: ready.exists() or self.process.poll() is not None, timeout=timeout)
        assert self.process.poll() is None, self.log_text()
        return self

    def stop(self) -> None:
        """As `make run` stops it: SIGTERM, and the runtime winds down."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def kill(self) -> None:
        """Test teardown: nothing is left to wind down for."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)

    def records(self, handler: str | None = None) -> list[dict[str, Any]]:
        """Every invocation so far; each event checked against Powertools' parser model for its
        kind, so no test here can pass on an event Lambda would never send."""
        if not self.record_file.exists():
            return []
        lines = [json.loads(line) for line in self.record_file.read_text().splitlines() if line.strip()]
        for line in lines:
            validate_lambda_event(HANDLER_KINDS[line["handler"]], line["event"])
        return [r for r in lines if handler is None or r["handler"] == handler]

    def log_text(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""
