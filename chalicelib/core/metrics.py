"""CloudWatch metrics as Embedded Metric Format log lines (no PutMetricData calls).

Hand-written instead of Powertools Metrics: one JSON line is all EMF needs,
and it keeps Powertools' import cost off every cold start.
"""

from __future__ import annotations

import json
import sys
import time

NAMESPACE = "leadflow"


def emit(name: str, value: float, unit: str = "Count", **dimensions: str) -> None:
    dims = {"service": "leadflow", **dimensions}
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [sorted(dims)],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        name: value,
        **dims,
    }
    # One write per line: print() writes the text and its newline apart, so two threads (a
    # message's parallel sends) could put two records on one line, which EMF cannot read.
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()
