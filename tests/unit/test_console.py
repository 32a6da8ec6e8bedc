"""--quiet keeps warnings and drops the per-request lines (devstack/console.py)."""

from __future__ import annotations

import io
import logging
import sys

from devstack import console


def test_quiet_drops_metric_lines_and_info_but_keeps_the_rest(monkeypatch):
    monkeypatch.setenv(console.QUIET_ENV, "1")
    terminal = io.StringIO()
    monkeypatch.setattr("sys.stdout", terminal)
    logger = logging.getLogger("leadflow")
    monkeypatch.setattr(logger, "filters", [])
    console.quiet_app_output()

    print('{"_aws":{"Timestamp":1},"EmailsSent":1}', flush=True)  # written as the line, then its newline
    print("a line the app prints", flush=True)
    sys.stdout.write("no newline yet")
    assert terminal.getvalue() == "a line the app prints\n"
    assert not logger.filter(logging.LogRecord("leadflow", logging.INFO, "", 0, "sent", None, None))
    assert logger.filter(logging.LogRecord("leadflow", logging.WARNING, "", 0, "failed", None, None))


def test_verbose_changes_nothing(monkeypatch):
    monkeypatch.setenv(console.QUIET_ENV, "0")
    terminal = io.StringIO()
    monkeypatch.setattr("sys.stdout", terminal)
    console.quiet_app_output()
    assert sys.stdout is terminal
