"""Emulator-side help for stream polling, installed into the emulator process.

- GetRecords long-poll: a request carrying the X-Devstack-Wait-Seconds header
  is held until the shard has a record past the iterator (or the wait ends),
  woken by the shard's append. Pollers then see a put_item within
  milliseconds without hammering the emulator; a request without the header
  behaves exactly as before.
- moto keeps every shard iterator it ever issued (each GetRecords issues
  one); real iterators expire after 15 minutes. The oldest are dropped past
  a cap so a long `make run` does not grow without bound.
"""

from __future__ import annotations

import threading
from typing import Any

from devstack.events.clients import STREAM_WAIT_HEADER

MAX_WAIT_SECONDS = 20.0
MAX_ITERATORS = 20_000

_arrivals = threading.Condition()
_trim_lock = threading.Lock()


def _requested_wait(headers: Any) -> float:
    try:
        return min(MAX_WAIT_SECONDS, max(0.0, float(headers.get(STREAM_WAIT_HEADER) or 0)))
    except (TypeError, ValueError):
        return 0.0


def _has_records_past(iterator: Any) -> bool:
    shard = iterator.stream_shard
    return bool(shard.starting_sequence_number + len(shard.items) > iterator.sequence_number)


def wait_for_records(backend: Any, iterator_arn: str, timeout: float) -> None:
    iterator = backend.shard_iterators.get(iterator_arn)
    if iterator is None:
        return
    with _arrivals:
        _arrivals.wait_for(lambda: _has_records_past(iterator), timeout=timeout)


def trim_iterators(iterators: dict[str, Any]) -> None:
    with _trim_lock:
        while len(iterators) > MAX_ITERATORS:
            try:
                iterators.pop(next(iter(iterators)), None)
            except (RuntimeError, StopIteration):  # changed under us by another request
                return


def install() -> None:
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(StreamShard.add, "_devstack_hook", False):
        return
    original_add = StreamShard.add
    original_handler = DynamoDBStreamsHandler.get_records
    original_backend = DynamoDBStreamsBackend.get_records

    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        with _arrivals:
            _arrivals.notify_all()

    def get_records_handler(self: Any) -> Any:
        wait = _requested_wait(self.headers)
        if wait > 0:
            wait_for_records(self.backend, self._get_param("ShardIterator"), wait)
        return original_handler(self)

    def get_records_backend(self: Any, iterator_arn: str, limit: int) -> Any:
        result = original_backend(self, iterator_arn, limit)
        trim_iterators(self.shard_iterators)
        return result

    add._devstack_hook = True  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]
    DynamoDBStreamsHandler.get_records = get_records_handler  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records_backend  # type: ignore[method-assign]
