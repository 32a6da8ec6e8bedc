"""Relay what the local SES accepts to a mail catcher the developer already runs.

`LEADFLOW_SMTP_RELAY=host:port` (Mailpit, MailHog and smtp4dev listen on
1025 by default): every message SES accepts is also sent over plain SMTP to
that server, with SES's envelope (sender and every recipient, Bcc included).

The relay never decides a send: SES has already accepted the message and the
outbox has it. Messages go out from one background thread, so a slow or absent
catcher never holds up SendEmail; a failure is logged once (not once per
message) until the relay works again.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import smtplib
import threading
from collections.abc import Sequence
from email.utils import parseaddr

RELAY_ENV = "LEADFLOW_SMTP_RELAY"
QUEUE_LIMIT = 1000
TIMEOUT_SECONDS = 10.0

log = logging.getLogger("devstack.ses.relay")


def parse_target(value: str) -> tuple[str, int]:
    """`host:port` or `[v6 address]:port`."""
    found = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", value.strip())
    if not found:
        raise ValueError(f"{RELAY_ENV} must be host:port, not {value!r}")
    host = found.group(1) or found.group(3)
    port = int(found.group(2) or found.group(4))
    if not 0 < port < 65536:
        raise ValueError(f"{RELAY_ENV}: port {port} is out of range")
    return host, port


def _crlf(raw: bytes) -> bytes:
    """SMTP wants CRLF line ends; smtplib sends bytes as they are."""
    return re.sub(rb"\r?\n", b"\r\n", raw)


class SmtpRelay:
    def __init__(self, host: str, port: int, timeout: float = TIMEOUT_SECONDS) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._queue: queue.Queue[tuple[bytes, str, tuple[str, ...]]] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._failing = False
        threading.Thread(target=self._run, name="smtp-relay", daemon=True).start()

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def forward(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        """Queue one message; returns at once."""
        addresses = tuple(a for a in (parseaddr(r)[1] for r in recipients) if a)
        try:
            self._queue.put_nowait((raw, sender, addresses))
        except queue.Full:
            self._failed(f"{QUEUE_LIMIT} messages already waiting")

    def pending(self) -> int:
        """Messages queued or being sent."""
        return self._queue.unfinished_tasks

    def join(self) -> None:
        """Wait until every queued message was tried (tests)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            raw, sender, recipients = self._queue.get()
            try:
                self._send(raw, sender, recipients)
            except (OSError, smtplib.SMTPException) as error:
                self._failed(f"{type(error).__name__}: {error}")
            else:
                if self._failing:
                    self._failing = False
                    log.warning("SMTP relay to %s works again", self.target)
            finally:
                self._queue.task_done()

    def _send(self, raw: bytes, sender: str, recipients: tuple[str, ...]) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") and not raw.isascii() else []
            smtp.sendmail(sender, list(recipients), _crlf(raw), mail_options=options)

    def _failed(self, why: str) -> None:
        if not self._failing:
            self._failing = True
            log.warning(
                "SMTP relay to %s failed (%s); the outbox still has every message, "
                "and further relay failures are not logged until it works again", self.target, why,
            )


_lock = threading.Lock()
_relay: SmtpRelay | None = None
_configured = False


def configured_relay() -> SmtpRelay | None:
    """The relay LEADFLOW_SMTP_RELAY asks for (read once per process), or None."""
    global _relay, _configured
    with _lock:
        if not _configured:
            _configured = True
            value = os.environ.get(RELAY_ENV, "").strip()
            if value:
                try:
                    _relay = SmtpRelay(*parse_target(value))
                except ValueError as error:
                    log.error("%s; not relaying", error)
        return _relay


def forward(raw: bytes, sender: str, recipients: Sequence[str]) -> None:
    """Relay one accepted message when a relay is configured; never raises for the relay's sake."""
    relay = configured_relay()
    if relay is not None:
        relay.forward(raw, sender, recipients)
