"""A local SMTP server (aiosmtpd) that keeps what it receives, for the relay tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devstack.stack import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class CatchingHandler:
    messages: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, peer: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self.arrived:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < count and time.monotonic() < deadline:
                self.arrived.wait(max(0.0, deadline - time.monotonic()))
            return list(self.messages)


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[tuple[int, CatchingHandler]]:
    """An SMTP server on 127.0.0.1 (a free port unless given); yields (port, handler)."""
    from aiosmtpd.controller import Controller

    handler = CatchingHandler()
    chosen = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=chosen)
    controller.start()
    try:
        yield chosen, handler
    finally:
        controller.stop()
