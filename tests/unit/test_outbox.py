"""The outbox's layout and the headers the local SES adds (devstack/outbox.py)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from devstack import outbox

SENT_AT = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)


def message(policy: email.policy.Policy = email.policy.SMTP, **headers: str) -> bytes:
    built = EmailMessage(policy=policy)
    built["From"] = "alerts@leadflow.example"
    built["To"] = "team@leadflow.example"
    for name, value in headers.items():
        built[name.replace("_", "-")] = value
    built["Subject"] = "A lead"
    built.set_content("Date: in the body is not a header\n")
    return built.as_bytes()


def test_names_carry_the_time_and_the_message_id():
    name = outbox.file_name("abc-def-000000", SENT_AT)
    assert name == "20260304T050607890123Z-abc-def-000000.eml"
    assert outbox.parse_name(name) == ("abc-def-000000", SENT_AT)
    for other in (".20260304T050607890123Z-x.eml.tmp", "notes.txt", "nodash.eml", "2026-x.eml"):
        assert outbox.parse_name(other) is None


def test_stamp_adds_ses_message_id_and_date_and_keeps_the_rest_byte_for_byte():
    raw = message()
    stamped = outbox.stamp(raw, "0100abc", "us-east-1", SENT_AT)
    assert stamped.endswith(raw)
    parsed = email.message_from_bytes(stamped, policy=email.policy.default)
    assert parsed["Message-ID"] == "<0100abc@email.amazonses.com>"
    assert parsed["Date"].datetime == SENT_AT.replace(microsecond=0)
    assert b"\r\n" in stamped.split(raw)[0] and b"\n" not in stamped.split(raw)[0].replace(b"\r\n", b"")


def test_stamp_replaces_a_senders_message_id_and_date_as_ses_does():
    raw = message(Message_ID="<mine@example.com>", Date="Mon, 01 Jan 2001 00:00:00 +0000", X_Keep="yes")
    stamped = outbox.stamp(raw, "0100abc", "eu-west-1", SENT_AT)
    parsed = email.message_from_bytes(stamped, policy=email.policy.default)
    assert parsed.get_all("Message-ID") == ["<0100abc@eu-west-1.amazonses.com>"]
    assert len(parsed.get_all("Date")) == 1 and parsed["Date"].datetime.year == 2026
    assert parsed["X-Keep"] == "yes" and parsed["Subject"] == "A lead"
    assert "Date: in the body" in parsed.get_content()


def test_stamp_keeps_lf_line_ends_and_folded_headers_intact():
    raw = b"From: a@example.com\nMessage-ID:\n <folded@example.com>\nSubject: s\n\nbody\n"
    stamped = outbox.stamp(raw, "m1", "us-east-1", SENT_AT)
    assert b"\r" not in stamped
    assert b"folded" not in stamped
    assert stamped.endswith(b"From: a@example.com\nSubject: s\n\nbody\n")


def test_write_files_message_and_envelope_and_lists_them_oldest_first(tmp_path: Path):
    later = outbox.write(tmp_path, "m2", b"raw 2", SENT_AT + dt.timedelta(seconds=1), {"message_id": "m2"})
    earlier = outbox.write(tmp_path, "m1", b"raw 1", SENT_AT, {"message_id": "m1", "tags": {"kind": "team_alert"}})
    assert outbox.message_files(tmp_path) == [earlier, later]
    assert outbox.read_envelope(earlier) == {"message_id": "m1", "tags": {"kind": "team_alert"}}
    assert not list(tmp_path.rglob("*.tmp"))
    outbox.remove(earlier)
    assert outbox.message_files(tmp_path) == [later]
    assert outbox.read_envelope(earlier) is None
