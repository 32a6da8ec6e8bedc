"""The mail viewer's pure parts: reading and filtering the outbox, the status cache, feedback events, binding."""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from devstack import outbox
from devstack.mailviewer import ledger
from devstack.mailviewer.__main__ import loopback_address
from devstack.mailviewer.feedback import FeedbackRefused, build_event, sent_mail
from devstack.mailviewer.ledger import StatusBook
from devstack.mailviewer.messages import Filters, Outbox, has_remote_images, parse_time
from tests.support.aws import PROJECT_ROOT

T0 = dt.datetime(2026, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def file_mail(directory: Path, message_id: str, sent_at: dt.datetime, to: str, subject: str,
              tags: dict[str, str] | None = None, html: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "leadflow alerts <alerts@leadflow.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("text body")
    if html is not None:
        message.add_alternative(html, subtype="html")
    envelope = {"message_id": message_id, "source": "alerts@leadflow.example", "destination": [to],
                "configuration_set": "leadflow-local", "tags": tags or {}, "account_id": "123456789012",
                "region": "us-east-1", "sent_at": sent_at.isoformat()}
    outbox.write(directory, message_id, outbox.stamp(message.as_bytes(), message_id, "us-east-1", sent_at), sent_at,
                 envelope)


@pytest.fixture
def filed(tmp_path: Path) -> Outbox:
    file_mail(tmp_path, "m1", T0, "Team <team@leadflow.example>", "New lead: Ada",
              {"kind": "team_alert", "lead_id": "L1"})
    file_mail(tmp_path, "m2", T0 + dt.timedelta(seconds=5), "ada@example.com", "We received your message",
              {"kind": "customer_confirmation", "lead_id": "L1"}, html="<p>Hi</p>")
    file_mail(tmp_path, "m3", T0 + dt.timedelta(minutes=1), "bea@example.com", "Order A-100",
              {"kind": "order_confirmation"})
    (tmp_path / "notes.txt").write_text("not mail")
    return Outbox(tmp_path)


def ids(mails: list) -> list[str]:
    return [m.message_id for m in mails]


def test_the_outbox_lists_newest_first_with_headers_and_envelope(filed: Outbox):
    mails = filed.scan()
    assert ids(mails) == ["m3", "m2", "m1"]
    alert = mails[2]
    assert alert.to == ("Team <team@leadflow.example>",) and alert.recipients == ("Team <team@leadflow.example>",)
    assert alert.subject == "New lead: Ada" and alert.kind == "team_alert" and alert.lead_id == "L1"
    assert alert.sent_at == T0 and alert.size == alert.path.stat().st_size
    assert filed.get("m2") is not None and filed.get("nope") is None


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ["m3", "m2", "m1"]),
    ({"to": ["TEAM@leadflow"]}, ["m1"]),
    ({"from": ["alerts@"]}, ["m3", "m2", "m1"]),
    ({"subject": ["order"]}, ["m3"]),
    ({"q": ["ada"]}, ["m2", "m1"]),
    ({"kind": ["customer_confirmation"]}, ["m2"]),
    ({"lead_id": ["L1"], "kind": ["team_alert"]}, ["m1"]),
    ({"since": ["2026-05-01T12:00:05Z"]}, ["m3", "m2"]),
    ({"since": [str(T0.timestamp() + 6)]}, ["m3"]),
])
def test_filters(filed: Outbox, query, expected):
    filters = Filters.from_query(query)
    assert ids([m for m in filed.scan() if filters.matches(m)]) == expected


def test_times_and_remote_images():
    assert parse_time("2026-05-01T12:00:00") == T0
    assert parse_time("2026-05-01T14:00:00+02:00") == T0
    with pytest.raises(ValueError):
        Filters.from_query({"since": ["yesterday"]})
    assert has_remote_images('<img src="https://tracker.example/p.gif">')
    assert has_remote_images("<div style=\"background: url('//cdn.example/x.png')\">")
    assert not has_remote_images('<img src="data:image/png;base64,AAAA"> see https://example.com')
    assert not has_remote_images(None)


def test_clear_removes_messages_and_envelopes_but_not_other_files(filed: Outbox):
    assert filed.clear() == 3
    assert filed.scan() == []
    assert not list(filed.directory.rglob("*.json"))
    assert (filed.directory / "notes.txt").exists()


class FakeLedger:
    def __init__(self) -> None:
        self.statuses: dict[str, str] = {}
        self.reads: list[str] = []
        self.broken = False

    def __call__(self, message_id: str) -> list[dict]:
        self.reads.append(message_id)
        if self.broken:
            raise ConnectionError("emulator gone")
        status = self.statuses.get(message_id)
        return [{"status": status, "kind": "team_alert", "lead_id": "L1"}] if status else []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def book_with(fake: FakeLedger, clock: Clock, started: dt.datetime | None = None) -> StatusBook:
    return StatusBook(stack_started=started, lookup=fake, clock=clock)


def test_status_book_reads_young_mail_every_refresh_then_now_and_then(filed: Outbox):
    fake, clock = FakeLedger(), Clock()
    fake.statuses = {"m1": "sent", "m2": "delivered", "m3": "complained"}
    book = book_with(fake, clock)
    mails = filed.scan()
    assert book.view(mails[2]).status == "sent" and book.view(mails[2]).lead_id == "L1"
    fake.reads.clear()

    assert book.refresh(mails) is True  # m1 read again (young); m2 and m3 are news
    assert sorted(fake.reads) == ["m1", "m2", "m3"]
    assert book.refresh(mails) is False
    fake.statuses["m1"] = "delivered"
    assert book.refresh(mails) is True and book.view(mails[2]).status == "delivered"

    clock.now += ledger.WATCH_SECONDS + 1  # no longer young: read once SLOW_SECONDS after the last read
    fake.reads.clear()
    book.refresh(mails)
    assert sorted(fake.reads) == ["m1", "m2"]  # m3 is complained: nothing moves it on
    fake.reads.clear()
    assert book.refresh(mails) is False and fake.reads == []
    clock.now += ledger.SLOW_SECONDS
    book.refresh(mails)
    assert sorted(fake.reads) == ["m1", "m2"]

    fake.reads.clear()
    book.watch("m3")
    book.refresh(mails)
    assert fake.reads == ["m3"]


def test_status_book_never_reads_mail_from_an_earlier_run_and_reports_a_broken_ledger(filed: Outbox):
    fake, clock = FakeLedger(), Clock()
    book = book_with(fake, clock, started=T0 + dt.timedelta(seconds=30))
    mails = filed.scan()
    assert book.view(mails[2]).note == ledger.EARLIER_RUN and book.view(mails[2]).status is None
    book.refresh(mails)
    assert fake.reads == ["m3"]
    assert book.view(mails[0]).note == ledger.NOT_IN_LEDGER
    fake.broken = True
    assert "ledger unavailable" in book.view(mails[0], fresh=True).note


def test_feedback_events_are_the_emulators_for_the_filed_message(filed: Outbox):
    sent = sent_mail(filed.get("m2"))
    assert sent.destination == ["ada@example.com"] and sent.tags["kind"] == "customer_confirmation"
    permanent = build_event(sent, "bounce")
    assert permanent["eventType"] == "Bounce" and permanent["bounce"]["bounceType"] == "Permanent"
    assert permanent["mail"]["messageId"] == "m2" and permanent["mail"]["tags"]["lead_id"] == ["L1"]
    assert permanent["mail"]["commonHeaders"]["subject"] == "We received your message"
    transient = build_event(sent, "bounce", "transient")["bounce"]
    assert transient["bounceType"] == "Transient" and transient["bounceSubType"] == "MailboxFull"
    assert transient["bouncedRecipients"][0]["emailAddress"] == "ada@example.com"
    assert transient["bouncedRecipients"][0]["status"] == "4.2.2"
    assert build_event(sent, "delivery")["delivery"]["recipients"] == ["ada@example.com"]
    assert build_event(sent, "complaint")["complaint"]["complainedRecipients"] == [{"emailAddress": "ada@example.com"}]
    with pytest.raises(FeedbackRefused):
        build_event(sent, "open")
    with pytest.raises(FeedbackRefused):
        build_event(sent, "bounce", "soft")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "localhost"])
def test_loopback_hosts_are_accepted(host):
    assert loopback_address(host).startswith("127.")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.2", "::", "example.com", ""])
def test_other_hosts_are_refused(host):
    with pytest.raises(argparse.ArgumentTypeError):
        loopback_address(host)


def test_the_viewer_refuses_to_start_on_every_address():
    started = subprocess.run([sys.executable, "-m", "devstack.mailviewer", "--host", "0.0.0.0", "--port", "0"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert started.returncode == 2
    assert "loopback only" in started.stderr


def test_a_large_outbox_costs_a_bounded_number_of_reads_per_refresh(tmp_path: Path):
    for i in range(ledger.SLOW_BATCH * 3):
        file_mail(tmp_path, f"m{i:02d}", T0 + dt.timedelta(seconds=i), "x@example.com", f"s{i}")
    fake, clock = FakeLedger(), Clock()
    fake.statuses = {f"m{i:02d}": "delivered" for i in range(ledger.SLOW_BATCH * 3)}
    book, mails = book_with(fake, clock), Outbox(tmp_path).scan()
    book.refresh(mails)
    clock.now += ledger.WATCH_SECONDS + ledger.SLOW_SECONDS
    fake.reads.clear()
    book.refresh(mails)
    assert len(fake.reads) == ledger.SLOW_BATCH
    book.refresh(mails)
    assert len(fake.reads) == 2 * ledger.SLOW_BATCH and len(set(fake.reads)) == 2 * ledger.SLOW_BATCH  # the next ones
