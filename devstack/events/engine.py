"""Wire the app's handlers to their event sources and run them until stopped.

Concurrency follows Lambda's: a stream shard has one batch in flight at a
time (ParallelizationFactor 1), so records keep their order; an SQS queue
and an SNS subscription are served by several invocations at once (Lambda
starts five pollers for a queue; the decorator's maximum_concurrency caps
it). Locally that is LEADFLOW_RUNTIME_CONCURRENCY threads (default 5) per
queue or topic handler, all in this one process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import DynamoDBEventConfig, SNSEventConfig, SQSEventConfig

from devstack.events import clients, settings, threads
from devstack.events.checkpoints import CheckpointStore
from devstack.events.destinations import Destinations
from devstack.events.discovery import LoadedApp, event_sources, function_for, load_app
from devstack.events.invoker import wait_for_idle
from devstack.events.queues import QueueSource, queue_arn, queue_receiver
from devstack.events.receiver import RECEIVE_WAIT_SECONDS, Receiver
from devstack.events.streams import StreamMapping, StreamSource
from devstack.events.topics import TopicSource, TopicSubscriber
from devstack.provision import LOCAL_ACCOUNT

log = logging.getLogger("devstack.runtime")

CONCURRENCY_ENV = "LEADFLOW_RUNTIME_CONCURRENCY"
DEFAULT_CONCURRENCY = 5


def concurrency(cap: int | None = None) -> int:
    wanted = int(os.environ.get(CONCURRENCY_ENV) or DEFAULT_CONCURRENCY)
    return max(1, min(wanted, cap) if cap else wanted)


@dataclass(frozen=True)
class RuntimeOptions:
    project_dir: Path
    stage: str
    settings_path: Path
    state_dir: Path
    async_retry_delay_seconds: float = 1.0


def resolve_stream_arn(dynamodb: Any, declared: str) -> str:
    """The table's current stream: a recreated table (or emulator) has a new stream label."""
    resource = declared.split(":", 5)[5]  # table/NAME/stream/LABEL
    table = resource.split("/")[1]
    latest = dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
    if not latest:
        raise ValueError(f"table {table} has no stream")
    if latest != declared:
        log.warning("stream %s is not current; using %s", declared, latest)
    return str(latest)


def resolve_queue_url(sqs: Any, source: SQSEventConfig) -> str:
    if source.queue:
        return str(sqs.get_queue_url(QueueName=source.queue)["QueueUrl"])
    _, _, _, _, account, name = str(source.queue_arn).split(":", 5)
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def resolve_topic_arn(sns: Any, topic: str) -> str:
    if topic.startswith("arn:"):
        return topic
    for page in sns.get_paginator("list_topics").paginate():
        for entry in page.get("Topics", []):
            if entry["TopicArn"].rsplit(":", 1)[-1] == topic:
                return str(entry["TopicArn"])
    return f"arn:aws:sns:{clients.region()}:{LOCAL_ACCOUNT}:{topic}"


class EventRuntime:
    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
        self.stop_event = threading.Event()
        self.workers: list[threading.Thread] = []
        self.receivers: list[Receiver] = []
        self.destinations = Destinations()

    def _spawn(self, name: str, run: Callable[[], None]) -> None:
        self.workers.append(threads.start(name, run, self.stop_event))

    def _start_stream(self, loaded: LoadedApp, config: DynamoDBEventConfig, chosen: settings.HandlerSettings,
                      checkpoints: CheckpointStore) -> None:
        source = StreamSource(
            function=function_for(loaded, config.name),
            stream_arn=resolve_stream_arn(clients.client("dynamodb"), config.stream_arn),
            batch_size=config.batch_size,
            window_seconds=float(config.maximum_batching_window_in_seconds or 0),
            starting_position=chosen.starting_position or config.starting_position,
            settings=chosen,
        )
        mapping = StreamMapping(source, checkpoints, self.destinations, self.stop_event)
        mapping.refresh()  # the shards' pollers start now, not after the first refresh interval
        self._spawn(f"stream-{config.name}", mapping.run)

    def _start_queue(self, loaded: LoadedApp, config: SQSEventConfig, chosen: settings.HandlerSettings) -> None:
        sqs = clients.client("sqs")
        url = resolve_queue_url(sqs, config)
        source = QueueSource(
            function=function_for(loaded, config.name),
            queue_url=url,
            queue_arn=queue_arn(sqs, url),
            batch_size=config.batch_size,
            window_seconds=float(config.maximum_batching_window_in_seconds or 0),
            settings=chosen,
        )
        receiver = queue_receiver(source, concurrency(config.maximum_concurrency), self.stop_event)
        receiver.start()
        self.receivers.append(receiver)

    def _start_topic(self, loaded: LoadedApp, config: SNSEventConfig, chosen: settings.HandlerSettings) -> None:
        source = TopicSource(
            function=function_for(loaded, config.name),
            topic_arn=resolve_topic_arn(clients.client("sns"), config.topic),
            settings=chosen,
            app_name=loaded.app.app_name,
            stage=loaded.stage,
            retry_delay_seconds=self.options.async_retry_delay_seconds,
        )
        subscriber = TopicSubscriber(source, self.destinations, self.stop_event)
        subscriber.setup()  # subscribed before we report ready, so no publish is missed
        receiver = subscriber.receiver(concurrency())
        receiver.start()
        self.receivers.append(receiver)

    def start(self, prepare: Callable[[], None] | None = None) -> int:
        """Start every handler's source; return how many started.

        `prepare` runs once the app is loaded, before any polling (the soak's
        fault injection patches the app's seams there).
        """
        options = self.options
        clients.cheaper_user_agent()
        loaded = load_app(options.project_dir, options.stage)
        if prepare is not None:
            prepare()
        per_handler = settings.load(options.settings_path, options.stage)
        checkpoints = CheckpointStore(options.state_dir / f"checkpoints-{options.stage}.json")
        started = 0
        for config in event_sources(loaded.app):
            chosen = per_handler.get(config.name, settings.HandlerSettings())
            try:
                if isinstance(config, DynamoDBEventConfig):
                    self._start_stream(loaded, config, chosen, checkpoints)
                elif isinstance(config, SQSEventConfig):
                    self._start_queue(loaded, config, chosen)
                else:
                    self._start_topic(loaded, config, chosen)
                started += 1
            except (BotoCoreError, ClientError, ValueError, IndexError) as exc:
                log.error("handler=%s not started: %s", config.name, exc)
        log.info("event runtime up: %d handler(s) of %s, stage %s", started, loaded.app.app_name, options.stage)
        return started

    def stop(self, grace_seconds: float = 5.0, wait_for_receives: bool = True) -> None:
        """Stop polling and let work under way finish (up to `grace_seconds`).

        Queue receivers end their current receive and hand back what arrives
        after the stop, so nothing waits out a visibility timeout because of a
        restart; without `wait_for_receives` (the emulator stops too) their
        long polls are left to it. Stream pollers hold no messages: they simply
        stop; the checkpoint covers every batch that finished.
        """
        self.stop_event.set()
        deadline = time.monotonic() + max(grace_seconds, RECEIVE_WAIT_SECONDS + 1.0)
        if not wait_for_idle(grace_seconds):
            log.warning("stopping with a handler still running")
        if not wait_for_receives:
            return
        for receiver in self.receivers:
            receiver.join(deadline)
