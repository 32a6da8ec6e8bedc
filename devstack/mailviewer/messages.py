"""The outbox as the viewer sees it: one `Mail` per filed message, newest first, and the filters the API takes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from devstack import outbox

_REMOTE_IMAGE = re.compile(r"""(?:\bsrc\s*=\s*["']?|url\(\s*["']?)\s*(?:https?:)?//""", re.IGNORECASE)


def _addresses(values: list[str]) -> tuple[str, ...]:
    return tuple(f"{name} <{address}>" if name else address for name, address in getaddresses(values) if address)


@dataclass(frozen=True)
class Mail:
    """One filed message: what the list shows, read from its headers, name and envelope."""

    path: Path
    message_id: str
    sent_at: dt.datetime
    size: int
    sender: str
    to: tuple[str, ...]
    recipients: tuple[str, ...]
    subject: str
    date: str
    envelope: dict[str, Any] | None

    @property
    def tags(self) -> dict[str, str]:
        return dict((self.envelope or {}).get("tags") or {})

    @property
    def kind(self) -> str | None:
        return self.tags.get("kind")

    @property
    def lead_id(self) -> str | None:
        return self.tags.get("lead_id")

    def raw(self) -> bytes:
        return self.path.read_bytes()

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.raw(), policy=email.policy.default)


def load(path: Path) -> Mail | None:
    """A message file as a Mail; None when it is not one (or vanished meanwhile)."""
    named = outbox.parse_name(path.name)
    if named is None:
        return None
    message_id, sent_at = named
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    headers = email.message_from_bytes(raw, policy=email.policy.default)
    to = _addresses([str(v) for name in ("To", "Cc") for v in headers.get_all(name, [])])
    envelope = outbox.read_envelope(path)
    destination = tuple((envelope or {}).get("destination") or ()) or to
    return Mail(
        path=path,
        message_id=message_id,
        sent_at=sent_at,
        size=len(raw),
        sender=str(headers.get("From", "")),
        to=to,
        recipients=destination,
        subject=str(headers.get("Subject", "")),
        date=str(headers.get("Date", "")),
        envelope=envelope,
    )


def bodies(message: EmailMessage) -> tuple[str | None, str | None]:
    """(text, html): the message's plain-text and HTML bodies, decoded."""
    found: list[str | None] = []
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        found.append(str(part.get_content()) if part is not None else None)
    return found[0], found[1]


def headers(message: EmailMessage) -> list[list[str]]:
    """Every header in order, RFC 2047 words decoded."""
    return [[name, str(value)] for name, value in message.items()]


def has_remote_images(html: str | None) -> bool:
    return bool(html and _REMOTE_IMAGE.search(html))


# -- filters ---------------------------------------------------------------------


def parse_time(value: str) -> dt.datetime:
    """ISO 8601 (a trailing Z is fine; no zone means UTC) or seconds since the epoch."""
    text = value.strip()
    try:
        return dt.datetime.fromtimestamp(float(text), dt.UTC)
    except ValueError:
        pass
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Filters:
    """What a list (or wait) call asks for; text matches are case-insensitive substrings."""

    to: str = ""
    sender: str = ""
    subject: str = ""
    q: str = ""  # any of recipient, sender, subject
    kind: str = ""
    lead_id: str = ""
    status: str = ""
    since: dt.datetime | None = None

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> Filters:
        """From a URL query; raises ValueError for a `since` that is not a time."""
        def one(name: str) -> str:
            return (query.get(name) or [""])[-1].strip()

        since = one("since")
        return cls(
            to=one("to").lower(), sender=one("from").lower(), subject=one("subject").lower(), q=one("q").lower(),
            kind=one("kind"), lead_id=one("lead_id"), status=one("status"),
            since=parse_time(since) if since else None,
        )

    def matches(self, mail: Mail) -> bool:
        """Every filter but `status` (that one needs the ledger)."""
        recipients = " ".join(mail.to + mail.recipients).lower()
        sender = mail.sender.lower()
        subject = mail.subject.lower()
        return (
            (not self.to or self.to in recipients)
            and (not self.sender or self.sender in sender)
            and (not self.subject or self.subject in subject)
            and (not self.q or any(self.q in text for text in (recipients, sender, subject)))
            and (not self.kind or mail.kind == self.kind)
            and (not self.lead_id or mail.lead_id == self.lead_id)
            and (self.since is None or mail.sent_at >= self.since)
        )


# -- the outbox, indexed -----------------------------------------------------------


class Outbox:
    """The outbox directory, read incrementally: a filed message never changes, so each is parsed once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._by_name: dict[str, Mail] = {}
        self._by_id: dict[str, Mail] = {}

    def scan(self) -> list[Mail]:
        """Every message, newest first."""
        paths = outbox.message_files(self.directory)
        with self._lock:
            names = {p.name for p in paths}
            for gone in set(self._by_name) - names:
                self._by_id.pop(self._by_name.pop(gone).message_id, None)
            for path in paths:
                if path.name not in self._by_name:
                    mail = load(path)
                    if mail is not None:
                        self._by_name[path.name] = mail
                        self._by_id[mail.message_id] = mail
            return sorted(self._by_name.values(), key=lambda m: (m.sent_at, m.path.name), reverse=True)

    def get(self, message_id: str) -> Mail | None:
        self.scan()
        with self._lock:
            return self._by_id.get(message_id)

    def clear(self) -> int:
        """Remove every message (and its envelope); return how many."""
        removed = 0
        for path in outbox.message_files(self.directory):
            outbox.remove(path)
            removed += 1
        self.scan()
        return removed
