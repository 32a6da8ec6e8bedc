"""DynamoDB Streams event source mapping: poll every shard, batch, invoke, checkpoint.

Per shard, one batch is in flight at a time, in sequence order (so order per
partition key holds). A batch is done when the function succeeds, or when its
records are given up (sent to OnFailure, or discarded without one); only
then does the checkpoint move past it. Semantics follow Lambda:

- FilterCriteria: records that match no pattern are skipped (and checkpointed).
- ReportBatchItemFailures: the lowest reported sequence number is the new
  start; earlier records are done, it and every later record of the batch
  are retried.
- BisectBatchOnFunctionError: a batch whose invocation fails is split in two
  and each half retried separately; splitting does not use the retry quota.
- MaximumRetryAttempts (-1: until expiry) and MaximumRecordAgeInSeconds:
  when exceeded, the batch's metadata goes to OnFailure (DDBStreamBatchInfo).

Local differences: retries back off briefly (100 ms doubling, at most 5 s)
instead of Lambda's unpublished schedule; positions live in a checkpoint file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devstack.events import clients, filtering, shapes, threads
from devstack.events.checkpoints import CheckpointStore
from devstack.events.destinations import Destinations
from devstack.events.invoker import Function, Outcome, busy, invoke
from devstack.events.settings import HandlerSettings

log = logging.getLogger("devstack.runtime")

MAX_RECORDS_PER_READ = 1000
SHARD_REFRESH_SECONDS = 30.0
RETRY_BASE_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
# When the emulator does not hold GetRecords (plain moto), poll at these rates.
IDLE_POLL_MIN_SECONDS = 0.05
IDLE_POLL_MAX_SECONDS = 0.25


@dataclass(frozen=True)
class StreamSource:
    function: Function
    stream_arn: str
    batch_size: int
    window_seconds: float
    starting_position: str
    settings: HandlerSettings


@dataclass
class Batch:
    records: list[dict[str, Any]]  # Lambda-shaped records that passed the filter
    end_sequence: str  # checkpoint once this batch is done (last record read for it)
    failed_attempts: int = 0
    invocations: int = 0


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class ShardPoller:
    def __init__(
        self,
        source: StreamSource,
        shard_id: str,
        checkpoints: CheckpointStore,
        destinations: Destinations,
        stop: threading.Event,
    ) -> None:
        self.source = source
        self.shard_id = shard_id
        self.checkpoints = checkpoints
        self.destinations = destinations
        self.stop = stop
        self.key = CheckpointStore.key(source.function.name, source.stream_arn, shard_id)
        self.wait_seconds = float(clients.LONG_POLL_SECONDS)
        self.streams = clients.streams_client(lambda: self.wait_seconds)
        self.iterator: str | None = None
        self.last_read: str | None = None  # sequence number of the last record read
        self.closed = False
        self.pending: deque[Batch] = deque()
        self._idle = IDLE_POLL_MIN_SECONDS

    # -- reading -----------------------------------------------------------

    def _new_iterator(self) -> str | None:
        position = self.last_read or self.checkpoints.get(self.key)
        if position is not None:
            kwargs: dict[str, Any] = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
        else:
            kwargs = {"ShardIteratorType": self.source.starting_position}
        response = self.streams.get_shard_iterator(StreamArn=self.source.stream_arn, ShardId=self.shard_id, **kwargs)
        iterator = response.get("ShardIterator")
        return str(iterator) if iterator else None

    def _get_records(self, limit: int, wait: float) -> list[dict[str, Any]]:
        if self.iterator is None:
            self.iterator = self._new_iterator()
            if self.iterator is None:
                self.closed = True
                return []
        self.wait_seconds = wait
        started = time.monotonic()
        response = self.streams.get_records(ShardIterator=self.iterator, Limit=limit)
        self.iterator = response.get("NextShardIterator")
        self.closed = self.iterator is None
        records: list[dict[str, Any]] = response.get("Records", [])
        if records:
            self.last_read = str(records[-1]["dynamodb"]["SequenceNumber"])
            self._idle = IDLE_POLL_MIN_SECONDS
        elif wait > 0 and time.monotonic() - started < min(wait, IDLE_POLL_MIN_SECONDS):
            # The emulator answered at once: it does not long-poll, so pace ourselves.
            self.stop.wait(min(self._idle, wait))
            self._idle = min(IDLE_POLL_MAX_SECONDS, self._idle * 1.5)
        return records

    def read_batch(self) -> Batch | None:
        """Gather up to batch_size matching records, within the batching window."""
        source = self.source
        matching: list[dict[str, Any]] = []
        last: str | None = None
        deadline: float | None = None
        while not self.stop.is_set() and not self.closed:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            wait = float(clients.LONG_POLL_SECONDS) if remaining is None else remaining
            limit = min(MAX_RECORDS_PER_READ, source.batch_size - len(matching))
            raw = self._get_records(limit, wait)
            if not raw:
                if deadline is None:
                    return None  # nothing yet: let the caller check for stop
                continue
            last = sequence(raw[-1])
            shaped = [shapes.dynamodb_record(r, source.stream_arn) for r in raw]
            matching.extend(r for r in shaped if filtering.passes(r, source.settings.filters))
            if deadline is None:
                deadline = time.monotonic() + source.window_seconds
            if len(matching) >= source.batch_size or source.window_seconds <= 0:
                break
        return Batch(matching, last) if last is not None else None

    # -- processing --------------------------------------------------------

    def _done(self, batch: Batch) -> None:
        self.pending.popleft()
        self.checkpoints.save(self.key, batch.end_sequence)

    def _give_up(self, batch: Batch, records: list[dict[str, Any]], condition: str, outcome: Outcome | None) -> None:
        destination = self.source.settings.on_failure
        if destination:
            record = shapes.stream_failure_record(
                function_arn=self.source.function.function_arn,
                condition=condition,
                invoke_count=batch.invocations,
                function_error=outcome.function_error if outcome else None,
                shard_id=self.shard_id,
                stream_arn=self.source.stream_arn,
                records=records,
            )
            self.destinations.send(destination, record)
        log.warning(
            "gave up handler=%s records=%d condition=%s destination=%s",
            self.source.function.name, len(records), condition, "on-failure" if destination else "none (discarded)",
        )

    def _drop_expired(self, batch: Batch) -> None:
        max_age = self.source.settings.maximum_record_age_seconds
        if max_age < 0:
            return
        cutoff = time.time() - max_age
        expired = [r for r in batch.records if r["dynamodb"]["ApproximateCreationDateTime"] < cutoff]
        if expired:
            self._give_up(batch, expired, "RecordAgeExceeded", None)
            batch.records = batch.records[len(expired):]
            self.checkpoints.save(self.key, sequence(expired[-1]))

    def _retry_or_give_up(self, batch: Batch, outcome: Outcome) -> None:
        batch.failed_attempts += 1
        allowed = self.source.settings.stream_retries()
        if 0 <= allowed < batch.failed_attempts:
            self._give_up(batch, batch.records, "RetryAttemptsExhausted", outcome)
            self._done(batch)
            return
        delay = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (batch.failed_attempts - 1))
        self.stop.wait(delay)

    def _after_partial(self, batch: Batch, outcome: Outcome) -> None:
        first_failed = min(outcome.failed_ids, key=int)
        index = next(i for i, r in enumerate(batch.records) if sequence(r) == first_failed)
        if index:
            self.checkpoints.save(self.key, sequence(batch.records[index - 1]))
            batch.records = batch.records[index:]
        self._retry_or_give_up(batch, outcome)

    def _after_error(self, batch: Batch, outcome: Outcome) -> None:
        if self.source.settings.bisect_on_error and len(batch.records) > 1:
            middle = len(batch.records) // 2
            first, second = batch.records[:middle], batch.records[middle:]
            halves = [
                Batch(first, sequence(first[-1]), batch.failed_attempts, batch.invocations),
                Batch(second, batch.end_sequence, batch.failed_attempts, batch.invocations),
            ]
            self.pending.popleft()
            self.pending.extendleft(reversed(halves))
            return
        self._retry_or_give_up(batch, outcome)

    def process_head(self) -> None:
        batch = self.pending[0]
        self._drop_expired(batch)
        if not batch.records:
            self._done(batch)
            return
        settings = self.source.settings
        outcome = invoke(
            self.source.function,
            {"Records": batch.records},
            source="dynamodb",
            batch_size=len(batch.records),
            report_failures=settings.report_batch_item_failures,
            valid_ids={sequence(r) for r in batch.records},
        )
        batch.invocations += 1
        if outcome.ok:
            self._done(batch)
        elif outcome.kind == "partial":
            self._after_partial(batch, outcome)
        else:
            self._after_error(batch, outcome)

    # -- loop ----------------------------------------------------------------

    def step(self) -> None:
        if not self.pending:
            batch = self.read_batch()
            if batch is None:
                return
            self.pending.append(batch)
        with busy():
            while self.pending and not self.stop.is_set():
                self.process_head()

    def run(self) -> None:
        log.info("polling stream handler=%s shard=%s", self.source.function.name, self.shard_id)
        backoff = 1.0
        while not self.stop.is_set() and not (self.closed and not self.pending):
            try:
                self.step()
                backoff = 1.0
            except (BotoCoreError, ClientError) as exc:
                log.error("stream read failed handler=%s: %s", self.source.function.name, exc)
                self.iterator = None  # start again from the last record read
                self.stop.wait(backoff)
                backoff = min(10.0, backoff * 2)


class StreamMapping:
    """All shards of one stream for one handler; new shards are picked up as they appear."""

    def __init__(
        self,
        source: StreamSource,
        checkpoints: CheckpointStore,
        destinations: Destinations,
        stop: threading.Event,
    ) -> None:
        self.source = source
        self.checkpoints = checkpoints
        self.destinations = destinations
        self.stop = stop
        self.streams = clients.client("dynamodbstreams")
        self.pollers: dict[str, threading.Thread] = {}

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        start: dict[str, str] = {}
        while True:
            description = self.streams.describe_stream(StreamArn=self.source.stream_arn, **start)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            start = {"ExclusiveStartShardId": last}

    def _ready(self, shard: dict[str, Any]) -> bool:
        """A child shard waits until its parent has been read to the end."""
        parent = self.pollers.get(shard.get("ParentShardId", ""))
        return parent is None or not parent.is_alive()

    def refresh(self) -> None:
        for shard in self._shards():
            shard_id = shard["ShardId"]
            if shard_id in self.pollers or not self._ready(shard):
                continue
            poller = ShardPoller(self.source, shard_id, self.checkpoints, self.destinations, self.stop)
            self.pollers[shard_id] = threads.start(f"shard-{self.source.function.name}", poller.run, self.stop)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.refresh()
            except (BotoCoreError, ClientError) as exc:
                log.error("describe stream failed handler=%s: %s", self.source.function.name, exc)
            self.stop.wait(SHARD_REFRESH_SECONDS)
