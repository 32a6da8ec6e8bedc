"""boto3 clients for the runtime's own pollers.

Like the app, they find the emulator through AWS_ENDPOINT_URL. Read timeouts
outlast the long polls (SQS WaitTimeSeconds, the emulator's stream wait).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from botocore.config import Config

from chalicelib.core.aws import new_session
from devstack.provision import LOCAL_REGION

# Header the emulator (devstack.events.emulator_streams) honours on GetRecords:
# hold the request until the shard has new records, up to this many seconds.
STREAM_WAIT_HEADER = "X-Devstack-Wait-Seconds"
LONG_POLL_SECONDS = 20


def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or LOCAL_REGION


def client(service: str) -> Any:
    config = Config(
        connect_timeout=3,
        read_timeout=LONG_POLL_SECONDS + 10,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    # A session per client (pollers run in threads of their own), reading botocore's data once.
    return new_session().client(service, region_name=region(), config=config)


def streams_client(wait_seconds: Callable[[], float]) -> Any:
    """A DynamoDB Streams client whose GetRecords asks the emulator to long-poll."""
    streams = client("dynamodbstreams")

    def add_wait_header(request: Any, **_: Any) -> None:
        request.headers[STREAM_WAIT_HEADER] = f"{max(0.0, wait_seconds()):.3f}"

    streams.meta.events.register("before-sign.dynamodbstreams.GetRecords", add_wait_header)
    return streams
