"""The row format every bench script reports in (see bench/run_all.py)."""

from __future__ import annotations

import json
import statistics
from typing import Any

ROW_PREFIX = "BENCH_ROW "


def emit_row(
    bench: str,
    metric: str,
    value: float,
    unit: str,
    goal: str,
    reference: str,
    reference_value: float | None = None,
    met: bool | None = None,
) -> None:
    """Print one machine-readable result row; run_all.py collects these lines."""
    row: dict[str, Any] = {
        "bench": bench,
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "goal": goal,
        "reference": reference,
        "reference_value": None if reference_value is None else round(reference_value, 3),
        "ratio": None if not reference_value else round(value / reference_value, 3),
        "met": met,
    }
    print(ROW_PREFIX + json.dumps(row, ensure_ascii=False), flush=True)


def median(samples: list[float]) -> float:
    return statistics.median(samples)
