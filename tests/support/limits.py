"""The submission rate limiter under test: its clock set by hand."""

from __future__ import annotations

import pytest

from chalicelib.store import rate_limits


def at(monkeypatch: pytest.MonkeyPatch, moment: float) -> None:
    monkeypatch.setattr(rate_limits, "now_epoch", lambda: moment)
