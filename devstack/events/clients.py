"""boto3 clients for the runtime's own pollers.

Like the app, they find the emulator through AWS_ENDPOINT_URL. Read timeouts
outlast the long polls (SQS WaitTimeSeconds, the emulator's stream wait).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from botocore.config import Config

from chalicelib.core.aws import new_client
from devstack.provision import LOCAL_REGION

# Header the emulator (devstack.events.emulator_streams) honours on GetRecords:
# hold the request until the shard has new records, up to this many seconds.
STREAM_WAIT_HEADER = "X-Devstack-Wait-Seconds"
LONG_POLL_SECONDS = 20


# Distinct User-Agent components the sanitiser remembers (a process has a few dozen).
USER_AGENT_PARTS = 1024


def cheaper_user_agent() -> None:
    """botocore builds the User-Agent header again for every request (botocore/useragent.py:
    rebuild_and_replace_user_agent_handler -> UserAgentString.to_string), passing each of
    its ~20 components through sanitize_user_agent_string_component character by character,
    twice per component: an eighth of the event runtime's CPU in a burst, spent on the same
    few strings. The sanitiser is a pure function of its two arguments, so it is remembered;
    the header comes out byte for byte the same. Installed in the runtime process, where the
    app's handlers and the pollers make every call."""
    from botocore import useragent

    module: Any = useragent
    if not hasattr(module.sanitize_user_agent_string_component, "cache_info"):
        cached = functools.lru_cache(maxsize=USER_AGENT_PARTS)(module.sanitize_user_agent_string_component)
        setattr(module, "sanitize_user_agent_string_component", cached)  # noqa: B010 - typed as botocore's


def region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or LOCAL_REGION


def client(service: str) -> Any:
    config = Config(
        connect_timeout=3,
        read_timeout=LONG_POLL_SECONDS + 10,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    # From the process's one session, made under its lock (pollers start in threads of their own).
    return new_client(service, region_name=region(), config=config)


def streams_client(wait_seconds: Callable[[], float]) -> Any:
    """A DynamoDB Streams client whose GetRecords asks the emulator to long-poll."""
    streams = client("dynamodbstreams")

    def add_wait_header(request: Any, **_: Any) -> None:
        request.headers[STREAM_WAIT_HEADER] = f"{max(0.0, wait_seconds()):.3f}"

    streams.meta.events.register("before-sign.dynamodbstreams.GetRecords", add_wait_header)
    return streams
