"""multipart/alternative messages (text + HTML) whose header set no data can change.

Every header value is written here in a form a reader cannot decode into
anything but text: control characters are flattened to spaces first, and
any value that is not plain printable ASCII, or that holds the RFC 2047
opener `=?`, is encoded by this module as encoded words of its own making
(UTF-8, base64). An encoded word inside data is then only text inside ours:
RFC 2047 decodes once, so it cannot become a line break, a header or a
recipient. Addresses are checked to be exactly one plain address.

Built with the standard library's compat32 API (email.mime, email.header)
rather than EmailMessage: the modern API parses every header value it is
given, decoding encoded words, and its folder writes a decoded CR/LF out raw
(CPython issue 87720), even for Address objects, whose text it re-parses.
compat32 never decodes a value it is given; it only encodes and folds.
"""

from __future__ import annotations

import re
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, parseaddr
from typing import Any

from chalicelib.core.rules import ENCODED_WORD_OPENER, is_valid_email

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
# SMTP line endings; compat32 folds at 78 characters.
_WIRE_POLICY = compat32.clone(linesep="\r\n")
# Longest body line sent unencoded (RFC 5322 allows 998).
_MAX_PLAIN_LINE = 900

HeaderValue = str | Header


def _charset(*, header_encoding: int | None = None, body_encoding: int | None = None) -> Charset:
    charset = Charset("utf-8")
    if header_encoding is not None:
        charset.header_encoding = header_encoding
    if body_encoding is not None:
        charset.body_encoding = body_encoding
    return charset


# Base64 encoded words are safe in every header position, display names included;
# quoted-printable keeps a body readable in the raw message.
_HEADER_UTF8 = _charset(header_encoding=BASE64)
_BODY_UTF8 = _charset(body_encoding=QP)


class InvalidAddress(ValueError):
    """A recipient, sender or reply address that is not exactly one plain address."""


def header_safe(value: str) -> str:
    return " ".join(_CONTROL_RE.sub(" ", value).split())


# A word longer than this cannot be folded onto a 78-character line; encoded words can be split.
_MAX_PLAIN_WORD = 60


def is_plain(text: str) -> bool:
    """Text that may be written into a header as it is (and folded at its spaces)."""
    return (
        text.isascii() and text.isprintable() and ENCODED_WORD_OPENER not in text
        and all(len(word) <= _MAX_PLAIN_WORD for word in text.split())
    )


def header_text(value: str, name: str) -> HeaderValue:
    """An unstructured header value (a subject): as is when plain, else encoded by us."""
    flat = header_safe(value)
    return flat if is_plain(flat) else Header(flat, _HEADER_UTF8, header_name=name)


def checked_address(address: str) -> str:
    plain = address.strip()
    if not is_valid_email(plain):
        raise InvalidAddress("not exactly one plain email address")
    return plain


def mailbox(address: str, display_name: str = "", name: str = "To") -> HeaderValue:
    """`Name <address>` for header `name`: one checked address, the display name quoted
    (plain ASCII) or encoded by us (anything else)."""
    plain = checked_address(address)
    display = header_safe(display_name)
    if not display:
        return plain
    if is_plain(display):
        return formataddr((display, plain))
    value = Header(charset="us-ascii", header_name=name)
    value.append(display, _HEADER_UTF8)
    value.append(f" <{plain}>", "us-ascii")
    return value


def split_mailbox(value: str) -> tuple[str, str]:
    """`Name <a@b.c>` -> ("Name", "a@b.c")."""
    name, address = parseaddr(header_safe(value))
    return name, address


def _text_part(body: str, subtype: str) -> MIMEText:
    lines = body.splitlines()
    if body.isascii() and all(len(line) <= _MAX_PLAIN_LINE for line in lines):
        part = MIMEText(body, subtype, "us-ascii")
    else:
        charset: Any = _BODY_UTF8  # MIMEText takes a Charset too (its stubs say str only)
        part = MIMEText(body, subtype, charset)
    del part["MIME-Version"]  # the top level says it once
    return part


def build_message(
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    reply_to: tuple[str, str] | None = None,
    reference: str | None = None,
) -> bytes:
    """The raw message. `sender` is `Name <address>`; `reply_to` is (address, display name)."""
    sender_name, sender_address = split_mailbox(sender)
    # compat32 takes Header objects as values (its stubs say str only).
    message: Any = MIMEMultipart("alternative", policy=compat32)
    message["From"] = mailbox(sender_address, sender_name, "From")
    message["To"] = checked_address(recipient)
    if reply_to:
        message["Reply-To"] = mailbox(reply_to[0], reply_to[1], "Reply-To")
    message["Subject"] = header_text(subject, "Subject")
    if reference:
        # Lets support staff (and the soak's reconciliation) tie a mail to its ledger row.
        message["X-Leadflow-Ref"] = header_text(reference, "X-Leadflow-Ref")
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))
    return bytes(message.as_bytes(policy=_WIRE_POLICY))
