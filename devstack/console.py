"""One switch for the local stack's per-request lines: LEADFLOW_QUIET=1 (`python -m devstack --quiet`).

Quiet leaves warnings, errors and the start-up banner; it drops the lines
each request or invocation prints: the API's access log, the runtime's
invocation lines, the app's INFO logs and its metric (EMF) lines, and the
emulator's "ses accepted"/"ses event" lines. Each process of the stack calls
the function for what it prints.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from typing import TextIO

QUIET_ENV = "LEADFLOW_QUIET"
# The app's CloudWatch metrics are JSON log lines (Embedded Metric Format) starting like this.
METRIC_LINE_START = '{"_aws":'


def quiet() -> bool:
    return os.environ.get(QUIET_ENV, "") not in ("", "0")


def _warnings_and_above(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


class _WithoutMetricLines(io.TextIOBase):
    """A text stream that passes every line on except the app's metric lines."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()  # print() writes the line and its newline separately
        for line in lines:
            if not line.startswith(METRIC_LINE_START):
                self._stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def quiet_app_output() -> None:
    """In a process that runs the app's code: when quiet, keep only its warnings and errors."""
    if not quiet():
        return
    # A filter on the logger itself holds whatever level the app (or Chalice) sets later.
    logging.getLogger("leadflow").addFilter(_warnings_and_above)
    sys.stdout = _WithoutMetricLines(sys.stdout)


def quiet_logger(name: str) -> None:
    """When quiet, keep only warnings and errors of this logger."""
    if quiet():
        logging.getLogger(name).addFilter(_warnings_and_above)
