"""multipart/alternative messages (text + HTML) built with the standard library.

Header values are flattened to one line before they are set, so a CR/LF in
a lead's name can never start a new header or add a recipient.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, parseaddr

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")


def header_safe(value: str) -> str:
    return " ".join(_CONTROL_RE.sub(" ", value).split())


def mailbox(address: str, display_name: str = "") -> str:
    return formataddr((header_safe(display_name), header_safe(address)))


def split_mailbox(value: str) -> tuple[str, str]:
    """`Name <a@b.c>` -> ("Name", "a@b.c")."""
    name, address = parseaddr(header_safe(value))
    return name, address


def build_message(
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    reference: str | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = header_safe(sender)
    message["To"] = header_safe(recipient)
    if reply_to:
        message["Reply-To"] = header_safe(reply_to)
    message["Subject"] = header_safe(subject)
    message["MIME-Version"] = "1.0"
    if reference:
        # Lets support staff (and the soak's reconciliation) tie a mail to its ledger row.
        message["X-Leadflow-Ref"] = header_safe(reference)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()
