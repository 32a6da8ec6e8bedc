"""Each message's delivery status, from the app's send ledger (the Deliveries table).

`deliveries_for` is the viewer's one call into the app's code; when the ledger
module moves, only that function changes.

Statuses are read on demand and kept briefly: a message is checked on every
refresh while it is young or feedback was just asked for (that is when it
changes), then only now and then, a few at a time, so an outbox of thousands
costs a handful of reads per refresh. Nothing is read while nobody looks.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from devstack.mailviewer.messages import Mail

log = logging.getLogger("devstack.mailviewer")

# How long after it is filed, or after feedback is asked for, a message is checked on every refresh.
WATCH_SECONDS = 30.0
# After that: checked again this often, at most SLOW_BATCH of them per refresh.
SLOW_SECONDS = 20.0
SLOW_BATCH = 8
# Statuses nothing moves on from (see the app's status order).
FINAL = frozenset({"complained", "failed", "suppressed"})
EARLIER_RUN = "sent before this stack started; the local ledger does not outlive a run"
NOT_IN_LEDGER = "no delivery in the ledger for this message (not sent by the app)"


def configure_app_environment(stage: str) -> None:
    """The app reads its table names from the stage's variables, as under `chalice local`."""
    from devstack.provision import stage_environment

    for name, value in stage_environment(stage).items():
        os.environ.setdefault(name, value)


def deliveries_for(message_id: str) -> list[dict[str, Any]]:
    """The ledger rows that carry this SES message id."""
    from chalicelib.store.deliveries import find_by_message_id

    return find_by_message_id(message_id)


@dataclass(frozen=True)
class LedgerView:
    status: str | None
    note: str = ""
    deliveries: tuple[dict[str, Any], ...] = ()

    @property
    def lead_id(self) -> str | None:
        return next((str(d["lead_id"]) for d in self.deliveries if d.get("lead_id")), None)

    @property
    def kind(self) -> str | None:
        return next((str(d["kind"]) for d in self.deliveries if d.get("kind")), None)

    @property
    def reason(self) -> str:
        return next((str(d["reason"]) for d in self.deliveries if d.get("reason")), "")


PUBLIC_FIELDS = ("kind", "recipient", "status", "reason", "updated_at", "lead_id")


def view_of(rows: list[dict[str, Any]]) -> LedgerView:
    if not rows:
        return LedgerView(None, NOT_IN_LEDGER)
    public = tuple({k: row[k] for k in PUBLIC_FIELDS if row.get(k) is not None} for row in rows)
    statuses = sorted({str(row.get("status", "")) for row in rows})
    return LedgerView(statuses[0] if len(statuses) == 1 else "/".join(statuses), "", public)


@dataclass
class _Entry:
    view: LedgerView
    checked: float
    watch_until: float


@dataclass
class StatusBook:
    """Cached ledger views by SES message id."""

    stack_started: dt.datetime | None = None
    lookup: Callable[[str], list[dict[str, Any]]] = deliveries_for
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(4, thread_name_prefix="ledger"))

    def earlier_run(self, mail: Mail) -> bool:
        return self.stack_started is not None and mail.sent_at < self.stack_started

    def view(self, mail: Mail, fresh: bool = False) -> LedgerView:
        """The message's status: cached, or read now when `fresh` or never read."""
        if self.earlier_run(mail):
            return LedgerView(None, EARLIER_RUN)
        with self._lock:
            entry = self._entries.get(mail.message_id)
        if entry is None or fresh:
            self._check([mail])
            with self._lock:
                entry = self._entries[mail.message_id]
        return entry.view

    def watch(self, message_id: str) -> None:
        """Feedback was asked for: check this one on every refresh again for a while."""
        with self._lock:
            entry = self._entries.get(message_id)
            if entry is not None:
                entry.watch_until = self.clock() + WATCH_SECONDS

    def refresh(self, mails: Iterable[Mail]) -> bool:
        """Read the statuses that are due; True when any changed."""
        now = self.clock()
        watched: list[Mail] = []
        slow: list[tuple[float, Mail]] = []
        with self._lock:
            for mail in mails:
                if self.earlier_run(mail):
                    continue
                entry = self._entries.get(mail.message_id)
                if entry is None or now < entry.watch_until:
                    watched.append(mail)
                elif entry.view.status not in FINAL and now - entry.checked >= SLOW_SECONDS:
                    slow.append((entry.checked, mail))
            before = {m.message_id: self._entries.get(m.message_id) for m in watched}
            before.update({m.message_id: self._entries.get(m.message_id) for _, m in slow})
        due = watched + [mail for _, mail in sorted(slow, key=lambda pair: pair[0])[:SLOW_BATCH]]
        if not due:
            return False
        self._check(due)
        with self._lock:
            return any(
                (old := before.get(m.message_id)) is None or old.view != self._entries[m.message_id].view for m in due
            )

    def _check(self, mails: list[Mail]) -> None:
        views = list(self._pool.map(self._read, [m.message_id for m in mails]))
        now = self.clock()
        with self._lock:
            for mail, view in zip(mails, views, strict=True):
                entry = self._entries.get(mail.message_id)
                watch_until = entry.watch_until if entry else now + WATCH_SECONDS
                self._entries[mail.message_id] = _Entry(view, now, watch_until)

    def _read(self, message_id: str) -> LedgerView:
        try:
            return view_of(self.lookup(message_id))
        except Exception as error:  # noqa: BLE001 - an unreachable ledger shows as such, it does not break the page
            log.warning("ledger read for message %s failed: %s", message_id, type(error).__name__)
            return LedgerView(None, f"ledger unavailable ({type(error).__name__})")

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
