"""LEADFLOW_SMTP_RELAY: the emulator's SES relays every message it accepts to a local SMTP server."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.integration.test_runtime_ses_outbox import SENDER, mime
from tests.support.aws import emulator_process
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.integration


def test_an_accepted_message_reaches_the_relay_as_filed_in_the_outbox(tmp_path):
    with smtp_server() as (smtp_port, catcher), emulator_process(
        tmp_path, LEADFLOW_SMTP_RELAY=f"127.0.0.1:{smtp_port}"
    ) as emulator:
        emulator.client("ses").verify_domain_identity(Domain="leadflow.example")
        message_id = emulator.client("sesv2").send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": ["someone@example.com"], "BccAddresses": ["copy@example.com"]},
            Content={"Raw": {"Data": mime("someone@example.com", subject="Relayed")}},
        )["MessageId"]
        [received] = catcher.wait_for(1)
    assert received.sender == SENDER
    assert received.recipients == ["someone@example.com", "copy@example.com"]
    relayed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert relayed["Subject"] == "Relayed"
    assert relayed["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    [filed] = tmp_path.glob(f"*-{message_id}.eml")
    assert received.data.replace(b"\r\n", b"\n") == filed.read_bytes().replace(b"\r\n", b"\n")
