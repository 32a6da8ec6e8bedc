"""Time helpers, in one place so tests and records agree on the format."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_epoch() -> float:
    return time.time()


def iso_utc(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(now_epoch() if epoch is None else epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
