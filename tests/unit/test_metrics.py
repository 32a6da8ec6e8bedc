"""Metrics are EMF lines: one JSON record per line, even when threads emit at once."""

from __future__ import annotations

import json
import threading

from chalicelib.core import metrics


def test_records_emitted_from_several_threads_stay_one_per_line(capfd):
    def emit_many(kind: str) -> None:
        for _ in range(300):
            metrics.emit("EmailsSent", 1, kind=kind)

    threads = [threading.Thread(target=emit_many, args=(f"kind{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 1800
    records = [json.loads(line) for line in lines]
    assert all(r["EmailsSent"] == 1 and r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "leadflow" for r in records)
    assert {r["kind"] for r in records} == {f"kind{i}" for i in range(6)}
