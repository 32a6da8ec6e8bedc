"""Stream positions that survive a restart of the runtime.

One small JSON file per runtime state directory, keyed by handler, stream
ARN and shard: the sequence number of the last record whose batch is done.
On start a poller resumes after it, so a restart neither skips records nor
replays the whole stream (at most the batch in flight is delivered again, as
Lambda may). A recreated table has a new stream ARN and starts afresh.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


class CheckpointStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._positions: dict[str, str] = self._read()

    @staticmethod
    def key(handler: str, stream_arn: str, shard_id: str) -> str:
        return f"{handler}|{stream_arn}|{shard_id}"

    def _read(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._positions.get(key)

    def save(self, key: str, sequence_number: str) -> None:
        with self._lock:
            current = self._positions.get(key)
            if current is not None and int(current) >= int(sequence_number):
                return  # positions only move forward
            self._positions[key] = sequence_number
            self._write()

    def _write(self) -> None:
        # Keep positions another runtime process may have written to the same file.
        merged = {**self._read(), **self._positions}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(merged, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)
