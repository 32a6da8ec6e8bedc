"""The local outbox's layout, shared by the emulator's SES (which writes it) and the mail viewer (which reads it).

    <outbox>/<UTC time>-<SES message id>.eml         the message as SES sent it (RFC 5322)
    <outbox>/.envelope/<UTC time>-<SES message id>.json
                                                     what the raw file cannot tell: the envelope
                                                     sender and recipients (Bcc included), the
                                                     configuration set, the message tags, account,
                                                     region and the time SES accepted it

The envelope lets the viewer publish feedback for a message exactly as SES
would (same tags, same destination). It is written before the message, and
both are written aside and renamed, so a message file that can be seen is
complete and has its envelope.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from email.utils import format_datetime
from pathlib import Path
from typing import Any

NAME_TIME = "%Y%m%dT%H%M%S%fZ"
SUFFIX = ".eml"
ENVELOPE_DIR = ".envelope"
# SES's own domain for the Message-ID it writes: email.amazonses.com in us-east-1, <region>.amazonses.com elsewhere.
US_EAST_1 = "us-east-1"


def file_name(message_id: str, sent_at: dt.datetime) -> str:
    return f"{sent_at.astimezone(dt.UTC).strftime(NAME_TIME)}-{message_id}{SUFFIX}"


def parse_name(name: str) -> tuple[str, dt.datetime] | None:
    """(SES message id, time accepted) from a message file's name; None for any other file."""
    stamp, dash, rest = name.partition("-")
    if not dash or not rest.endswith(SUFFIX) or name.startswith("."):
        return None
    try:
        sent_at = dt.datetime.strptime(stamp, NAME_TIME).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return rest.removesuffix(SUFFIX), sent_at


def envelope_path(message_path: Path) -> Path:
    return message_path.parent / ENVELOPE_DIR / (message_path.stem + ".json")


def _write_atomically(path: Path, data: bytes) -> None:
    aside = path.parent / f".{path.name}.tmp"
    aside.write_bytes(data)
    os.replace(aside, path)


def write(directory: Path, message_id: str, raw: bytes, sent_at: dt.datetime, envelope: dict[str, Any]) -> Path:
    """File one accepted message and its envelope; return the message's path."""
    path = directory / file_name(message_id, sent_at)
    sidecar = envelope_path(path)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(sidecar, json.dumps(envelope, sort_keys=True).encode())
    _write_atomically(path, raw)
    return path


def read_envelope(message_path: Path) -> dict[str, Any] | None:
    """The envelope written with the message; None for mail filed without one."""
    try:
        found = json.loads(envelope_path(message_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def message_files(directory: Path) -> list[Path]:
    """Every message file, oldest first (names start with the time)."""
    try:
        names = sorted(entry.name for entry in os.scandir(directory) if entry.is_file())
    except FileNotFoundError:
        return []
    return [directory / name for name in names if parse_name(name) is not None]


def remove(message_path: Path) -> None:
    message_path.unlink(missing_ok=True)
    envelope_path(message_path).unlink(missing_ok=True)


# -- the headers SES adds ---------------------------------------------------------


def ses_message_id_header(message_id: str, region: str) -> str:
    domain = "email.amazonses.com" if region == US_EAST_1 else f"{region}.amazonses.com"
    return f"<{message_id}@{domain}>"


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_REPLACED = re.compile(rb"(?im)^(message-id|date)[ \t]*:.*(?:\r?\n[ \t].*)*(?:\r?\n|$)")


def stamp(raw: bytes, message_id: str, region: str, sent_at: dt.datetime) -> bytes:
    """The message as SES sends it: SES documents that it writes its own Message-ID and a Date of
    the moment it accepted the message, replacing any the sender gave.

    Edited as bytes rather than through the email package, whose generator would
    re-fold headers and re-encode parts: everything else must stay byte for byte
    what the app sent.
    """
    end = _HEADER_END.search(raw)
    head, body = (raw[: end.start()], raw[end.start():]) if end else (raw, b"")
    newline = b"\r\n" if b"\r\n" in (head + body[:4]) else b"\n"
    kept = _REPLACED.sub(b"", head + newline).removesuffix(newline)
    date = format_datetime(sent_at.astimezone(dt.UTC)).encode()
    added = b"Message-ID: " + ses_message_id_header(message_id, region).encode() + newline + b"Date: " + date
    return added + (newline + kept if kept else b"") + body
