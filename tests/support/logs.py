"""Capturing what the app logs."""

from __future__ import annotations

import logging
from typing import Any


class ListHandler(logging.Handler):
    """Keeps every formatted line (the app's logger does not propagate under Chalice)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: Any) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)
