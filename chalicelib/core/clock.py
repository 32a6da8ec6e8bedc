"""Time, in one place so tests and records agree on the format."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_epoch() -> float:
    return time.time()


def iso_utc(moment: float | datetime | None = None) -> str:
    """`2026-01-31T12:34:56.789Z`: now, an epoch, or a datetime (naive means UTC)."""
    if moment is None or isinstance(moment, int | float):
        moment = datetime.fromtimestamp(now_epoch() if moment is None else moment, tz=UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
